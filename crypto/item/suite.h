/*
 * The two DB-ESDK algorithm suites (MPL framework/algorithm-suites.md, "DBE" suites) and the
 * primitives they name: HKDF-SHA512, HMAC-SHA384/512, AES-256-GCM, AES-256-CTR as a KDF and
 * ECDSA P-384.  Thin wrappers over OpenSSL 3 so the format code reads like the spec.
 */
#ifndef DS_SUITE_H
#define DS_SUITE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define SUITE_ID_SYMSIG        0x6700   /* ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384 */
#define SUITE_ID_ECDSA_SYMSIG  0x6701   /* ..._ECDSA_P384_SYMSIG_HMAC_SHA384 */

#define SUITE_KEY_LEN      32   /* data key, field root key, commit key, signing key */
#define SUITE_IV_LEN       12   /* AES-GCM nonce */
#define SUITE_TAG_LEN      16   /* AES-GCM tag */
#define SUITE_HMAC_LEN     48   /* HMAC-SHA384 recipient tag */
#define SUITE_HASH_LEN     48   /* SHA-384 canonical hash */
#define SUITE_ECDSA_SIG_LEN 103 /* DER ECDSA P-384 signature as the SDK writes it */

/* One DBE algorithm suite. */
struct suite {
	uint16_t id;            /* 0x6700 or 0x6701 */
	uint8_t flavor;         /* the header's format flavor: the id's low byte */
	int ecdsa;              /* 1 when the footer carries an ECDSA P-384 signature */
	const char *name;       /* the SDK's enum name */
};

/* The suite for an id, or NULL when it is not a DBE suite. */
const struct suite *suite_by_id(uint16_t id);
/* The suite for a header flavor byte, or NULL. */
const struct suite *suite_by_flavor(uint8_t flavor);

#define SUITE_PRK_LEN      64   /* HKDF-SHA512 pseudorandom key */

/* HKDF (RFC 5869) with SHA-512 and no salt: out = HKDF(ikm, info), out_len bytes. */
int suite_hkdf_sha512(const unsigned char *ikm, size_t ikm_len, const unsigned char *info,
		      size_t info_len, unsigned char *out, size_t out_len)
	__attribute__((warn_unused_result));
/* Two HKDF-SHA512 outputs of out_len bytes each from one IKM, for info1 and info2: the same
 * bytes as two suite_hkdf_sha512 calls, with one extract and the PRK keyed once. */
int suite_hkdf_sha512_pair(const unsigned char *ikm, size_t ikm_len,
			   const unsigned char *info1, size_t info1_len, unsigned char *out1,
			   const unsigned char *info2, size_t info2_len, unsigned char *out2,
			   size_t out_len) __attribute__((warn_unused_result));
/* SHA-256 and SHA-384, fetched once per process (for callers that stream a digest), or NULL
 * when the fetch failed.  EVP_sha256() and friends are looked up again on every init. */
const EVP_MD *suite_sha256(void);
const EVP_MD *suite_sha384(void);
/* A plain hash on the calling thread's kept context for md (SHA-256/384/512; no allocation
 * per hash): suite_digest_begin returns the context, already initialised (NULL on failure or
 * while another hash with the same digest is open on this thread); feed it with
 * EVP_DigestUpdate, then suite_digest_end writes the digest to out (out == NULL abandons it)
 * and readies the context again.  For public or signed data: nothing is wiped. */
EVP_MD_CTX *suite_digest_begin(const EVP_MD *md);
int suite_digest_end(EVP_MD_CTX *ctx, unsigned char *out, unsigned int *out_len);
/* One-shot form of the above; out receives the digest size. */
int suite_digest(const EVP_MD *md, const void *msg, size_t msg_len, unsigned char *out)
	__attribute__((warn_unused_result));
/* HMAC with SHA-256, SHA-384 or SHA-512 (md = EVP_sha256() / EVP_sha384() / EVP_sha512());
 * out holds the full MAC. */
int suite_hmac(const EVP_MD *md, const unsigned char *key, size_t key_len,
	       const unsigned char *msg, size_t msg_len, unsigned char *out)
	__attribute__((warn_unused_result));
/* AES-256-GCM; out receives len bytes of ciphertext and tag receives 16 bytes. */
int suite_gcm_encrypt(const unsigned char key[32], const unsigned char *iv, size_t iv_len,
		      const unsigned char *aad, size_t aad_len, const unsigned char *in, size_t len,
		      unsigned char *out, unsigned char tag[16]) __attribute__((warn_unused_result));
/* AES-256-GCM open; returns -1 when the tag does not verify (out is then wiped). */
int suite_gcm_decrypt(const unsigned char key[32], const unsigned char *iv, size_t iv_len,
		      const unsigned char *aad, size_t aad_len, const unsigned char *in, size_t len,
		      const unsigned char tag[16], unsigned char *out) __attribute__((warn_unused_result));
/* AES-256-CTR keystream of out_len bytes from a 16-byte initial counter block. */
int suite_ctr_stream(const unsigned char key[32], const unsigned char iv[16], unsigned char *out,
		     size_t out_len) __attribute__((warn_unused_result));
/* Cryptographically secure random bytes. */
int suite_random(unsigned char *out, size_t len) __attribute__((warn_unused_result));

/* A fresh ECDSA P-384 key pair, or NULL. */
EVP_PKEY *suite_ecdsa_generate(void) __attribute__((warn_unused_result));
/* The compressed public point (49 bytes) of a P-384 key. */
int suite_ecdsa_public_compressed(EVP_PKEY *key, unsigned char out[49])
	__attribute__((warn_unused_result));
/* A verification key from a compressed or uncompressed P-384 point, or NULL. */
EVP_PKEY *suite_ecdsa_from_public(const unsigned char *pt, size_t len)
	__attribute__((warn_unused_result));
/* ECDSA-SHA384 over msg, DER encoded, retried until it is exactly 103 bytes (as the SDK does). */
int suite_ecdsa_sign(EVP_PKEY *key, const unsigned char *msg, size_t msg_len,
		     unsigned char sig[SUITE_ECDSA_SIG_LEN]) __attribute__((warn_unused_result));
/* 0 when sig verifies over msg with ECDSA-SHA384, -1 otherwise. */
int suite_ecdsa_verify(EVP_PKEY *key, const unsigned char *msg, size_t msg_len,
		       const unsigned char *sig, size_t sig_len) __attribute__((warn_unused_result));

#endif
