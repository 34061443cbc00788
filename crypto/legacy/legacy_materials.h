/*
 * The keys a read of legacy items needs, as the legacy DynamoDB Encryption Client's
 * materials providers hold them (aws-dynamodb-encryption-python, material_providers/):
 *   static   an AES content key and a signing key (static.py, materials/raw.py);
 *   wrapped  a key that unwraps the content key stored in the material description
 *            ("amzn-ddb-env-key", by "amzn-ddb-wrap-alg": AESWrap or RSA) and a signing key
 *            (wrapped.py, materials/wrapped.py);
 *   aws-kms  content and signing keys derived with HKDF-SHA256 from the KMS data key
 *            ("Encryption" / "Signing", aws_kms.py); the KMS call itself is not made here.
 * Signing keys are JCE-named: HmacSHA224/256/384/512 or SHA224/256/384/512withRSA.
 */
#ifndef DS_LEGACY_MATERIALS_H
#define DS_LEGACY_MATERIALS_H

#include <stddef.h>

#include <openssl/evp.h>

#include "crypto/legacy/legacy_desc.h"
#include "proxy/base/error.h"

/* What any failed check of a legacy item adds: it names no value and says what to suspect. */
#define LEGACY_TAMPERED "the item was changed after the legacy client wrote it, or is read " \
	"with other keys or attribute actions than it was written with"

/* Longest symmetric key accepted: AES-256 content keys; HMAC keys up to a SHA-512 block. */
#define LEGACY_AES_KEY_MAX 32
#define LEGACY_MAC_KEY_MAX 128

/* Which legacy materials provider the keys stand for. */
enum legacy_provider {
	LEGACY_PROVIDER_STATIC,   /* content key given directly */
	LEGACY_PROVIDER_WRAPPED,  /* content key unwrapped from the description */
	LEGACY_PROVIDER_KMS,      /* content and signing keys derived from a KMS data key */
};

/* A JCE signature algorithm the legacy client signs items with. */
struct legacy_sig_alg {
	const char *name;         /* JCE name, e.g. "HmacSHA256", "SHA256withRSA" */
	const char *digest;       /* OpenSSL digest name, e.g. "SHA256" */
	int rsa;                  /* 1 for an RSA PKCS#1 v1.5 signature, 0 for an HMAC */
};

/* The keys of one legacy table.  Zeroed by _init; key bytes wiped by _cleanup. */
struct legacy_materials {
	enum legacy_provider provider;            /* how the content key is found */
	unsigned char content_key[LEGACY_AES_KEY_MAX]; /* static and aws-kms: the AES key */
	size_t content_key_len;                   /* 16, 24 or 32; 0 when not set */
	unsigned char wrap_key[LEGACY_AES_KEY_MAX]; /* wrapped: the AESWrap key */
	size_t wrap_key_len;                      /* 0 when the unwrapping key is RSA */
	EVP_PKEY *unwrap_rsa;                     /* wrapped: RSA private key, owned, or NULL */
	const struct legacy_sig_alg *sig;         /* signing algorithm; NULL until set */
	unsigned char mac_key[LEGACY_MAC_KEY_MAX]; /* HMAC verification key */
	size_t mac_key_len;                       /* 0 when the signature is RSA */
	EVP_PKEY *verify_rsa;                     /* RSA public verification key, owned, or NULL */
};

void legacy_materials_init(struct legacy_materials *m, enum legacy_provider provider);
void legacy_materials_cleanup(struct legacy_materials *m);

/* The algorithm named (e.g. "HmacSHA256"), or NULL when the legacy client knows no such. */
const struct legacy_sig_alg *legacy_sig_alg_find(const char *name);

/* Static provider: the AES content key (16, 24 or 32 bytes). */
int legacy_materials_set_content_key(struct legacy_materials *m, const unsigned char *key,
				     size_t len, struct ds_error *err)
	__attribute__((warn_unused_result));
/* Wrapped provider: an AES key-wrapping key (16, 24 or 32 bytes). */
int legacy_materials_set_wrap_aes(struct legacy_materials *m, const unsigned char *key,
				  size_t len, struct ds_error *err)
	__attribute__((warn_unused_result));
/* Wrapped provider: an RSA private key, DER (PKCS#8 or PKCS#1). */
int legacy_materials_set_wrap_rsa(struct legacy_materials *m, const unsigned char *der,
				  size_t len, struct ds_error *err)
	__attribute__((warn_unused_result));
/* The HMAC verification key of algorithm alg ("HmacSHA256"). */
int legacy_materials_set_hmac(struct legacy_materials *m, const char *alg,
			      const unsigned char *key, size_t len, struct ds_error *err)
	__attribute__((warn_unused_result));
/* The RSA public verification key (DER SubjectPublicKeyInfo) of alg ("SHA256withRSA"). */
int legacy_materials_set_rsa_verify(struct legacy_materials *m, const char *alg,
				    const unsigned char *der, size_t len, struct ds_error *err)
	__attribute__((warn_unused_result));

/*
 * AWS KMS provider: derives the content key and the HMAC key from the plaintext data key KMS
 * returned for the description's "amzn-ddb-env-key", with HKDF-SHA256 (no salt; info
 * "Encryption" and "Signing"), the lengths and algorithms named by "amzn-ddb-env-alg"
 * ("AES/256") and "amzn-ddb-sig-alg" ("HmacSHA256/256") or the provider's defaults.
 * m must have been initialized for LEGACY_PROVIDER_KMS.
 */
int legacy_materials_from_kms(struct legacy_materials *m, const unsigned char *data_key,
			      size_t len, const struct legacy_desc *d, struct ds_error *err)
	__attribute__((warn_unused_result));

/*
 * The AES content key of an item with description d: the static or derived key, or the
 * stored key unwrapped.  Checks the description against the keys (wrapping algorithm,
 * content key algorithm and length).  key holds LEGACY_AES_KEY_MAX bytes; the caller wipes it.
 */
int legacy_materials_content_key(const struct legacy_materials *m, const struct legacy_desc *d,
				 const char *table, unsigned char *key, size_t *key_len,
				 struct ds_error *err) __attribute__((warn_unused_result));

#endif
