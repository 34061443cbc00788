#include "crypto/suite.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

/* MPL framework/algorithm-suites.md: both use AES-256-GCM, HKDF-SHA512 for the data key and
 * the commit key, HMAC-SHA384 recipient tags and intermediate key wrapping. */
static const struct suite suites[] = {
	{ SUITE_ID_SYMSIG, 0x00, 0, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384" },
	{ SUITE_ID_ECDSA_SYMSIG, 0x01, 1,
	  "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384" },
};

const struct suite *suite_by_id(uint16_t id)
{
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (suites[i].id == id)
			return &suites[i];
	return NULL;
}

const struct suite *suite_by_flavor(uint8_t flavor)
{
	return suite_by_id((uint16_t)(0x6700 | flavor));
}

/*
 * HMAC with a context kept per thread and per digest: OpenSSL 3 looks algorithms up by name
 * on every one-shot HMAC() or EVP_PKEY HKDF call, which cost more than the hashing itself
 * (about half of an item's encryption).  A kept EVP_MAC_CTX is only re-keyed.
 */
struct hmac_slot {
	EVP_MAC_CTX *ctx;           /* keyed per call; digest set once */
	int md_type;                /* EVP_MD_get_type of its digest */
};

#define HMAC_SLOTS 3
static EVP_MAC *hmac_alg;
static pthread_key_t hmac_key;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

/* Frees a thread's contexts when it exits. */
static void hmac_slots_free(void *p)
{
	struct hmac_slot *slots = p;

	for (size_t i = 0; i < HMAC_SLOTS; i++)
		EVP_MAC_CTX_free(slots[i].ctx);
	free(slots);
}

static void hmac_fetch(void)
{
	hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (pthread_key_create(&hmac_key, hmac_slots_free) != 0) {
		EVP_MAC_free(hmac_alg);
		hmac_alg = NULL;
	}
}

/* The thread's HMAC context for md, made on first use (freed when the thread exits). */
static EVP_MAC_CTX *hmac_ctx(const EVP_MD *md)
{
	int type = EVP_MD_get_type(md);
	OSSL_PARAM params[2];
	struct hmac_slot *slots;

	pthread_once(&hmac_once, hmac_fetch);
	if (hmac_alg == NULL)
		return NULL;
	slots = pthread_getspecific(hmac_key);
	if (slots == NULL) {
		slots = calloc(HMAC_SLOTS, sizeof(*slots));
		if (slots == NULL || pthread_setspecific(hmac_key, slots) != 0) {
			free(slots);
			return NULL;
		}
	}
	for (size_t i = 0; i < HMAC_SLOTS; i++) {
		struct hmac_slot *sl = &slots[i];
		if (sl->ctx != NULL && sl->md_type == type)
			return sl->ctx;
		if (sl->ctx != NULL)
			continue;
		if ((sl->ctx = EVP_MAC_CTX_new(hmac_alg)) == NULL)
			return NULL;
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)EVP_MD_get0_name(md), 0);
		params[1] = OSSL_PARAM_construct_end();
		if (EVP_MAC_CTX_set_params(sl->ctx, params) != 1) {
			EVP_MAC_CTX_free(sl->ctx);
			sl->ctx = NULL;
			return NULL;
		}
		sl->md_type = type;
		return sl->ctx;
	}
	return NULL;
}

/* HMAC over two parts (msg2 may be NULL); out holds the digest size. */
static int hmac2(const EVP_MD *md, const unsigned char *key, size_t key_len, const unsigned char *msg,
		 size_t msg_len, const unsigned char *msg2, size_t msg2_len, unsigned char *out, size_t *out_len)
{
	EVP_MAC_CTX *ctx = hmac_ctx(md);
	size_t n = 0;

	if (ctx == NULL)
		return -1;
	if (EVP_MAC_init(ctx, key, key_len, NULL) != 1 || EVP_MAC_update(ctx, msg, msg_len) != 1 ||
	    (msg2 != NULL && EVP_MAC_update(ctx, msg2, msg2_len) != 1) ||
	    EVP_MAC_final(ctx, out, &n, EVP_MAX_MD_SIZE) != 1)
		return -1;
	if (out_len != NULL)
		*out_len = n;
	return 0;
}

/* RFC 5869 with SHA-512 and no salt (HashLen zero bytes, what the SDK passes). */
int suite_hkdf_sha512(const unsigned char *ikm, size_t ikm_len, const unsigned char *info,
		      size_t info_len, unsigned char *out, size_t out_len)
{
	static const unsigned char zero_salt[64];
	unsigned char prk[64], t[64];
	size_t t_len = 0, done = 0;
	int rc = -1;

	if (out_len > 255 * sizeof(t) || hmac2(EVP_sha512(), zero_salt, sizeof(zero_salt), ikm, ikm_len,
					       NULL, 0, prk, NULL) != 0)
		goto cleanup;
	for (unsigned char i = 1; done < out_len; i++) {
		EVP_MAC_CTX *ctx = hmac_ctx(EVP_sha512());
		size_t n = 0;
		if (ctx == NULL || EVP_MAC_init(ctx, prk, sizeof(prk), NULL) != 1 ||
		    EVP_MAC_update(ctx, t, t_len) != 1 || EVP_MAC_update(ctx, info, info_len) != 1 ||
		    EVP_MAC_update(ctx, &i, 1) != 1 || EVP_MAC_final(ctx, t, &n, sizeof(t)) != 1)
			goto cleanup;
		t_len = n;
		memcpy(out + done, t, out_len - done < n ? out_len - done : n);
		done += out_len - done < n ? out_len - done : n;
	}
	rc = 0;
cleanup:
	OPENSSL_cleanse(prk, sizeof(prk));
	OPENSSL_cleanse(t, sizeof(t));
	return rc;
}

int suite_hmac(const EVP_MD *md, const unsigned char *key, size_t key_len,
	       const unsigned char *msg, size_t msg_len, unsigned char *out)
{
	return hmac2(md, key, key_len, msg, msg_len, NULL, 0, out, NULL);
}

int suite_gcm_encrypt(const unsigned char key[32], const unsigned char *iv, size_t iv_len,
		      const unsigned char *aad, size_t aad_len, const unsigned char *in, size_t len,
		      unsigned char *out, unsigned char tag[16])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0;
	int rc = -1;

	if (ctx == NULL || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len, NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, key, iv) != 1)
		goto cleanup;
	if (aad_len > 0 && EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1)
		goto cleanup;
	if (len > 0 && EVP_EncryptUpdate(ctx, out, &n, in, (int)len) != 1)
		goto cleanup;
	if (EVP_EncryptFinal_ex(ctx, out + (len > 0 ? n : 0), &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
		goto cleanup;
	rc = 0;
cleanup:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int suite_gcm_decrypt(const unsigned char key[32], const unsigned char *iv, size_t iv_len,
		      const unsigned char *aad, size_t aad_len, const unsigned char *in, size_t len,
		      const unsigned char tag[16], unsigned char *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	unsigned char t[16];
	int n = 0;
	int rc = -1;

	memcpy(t, tag, 16);
	if (ctx == NULL || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len, NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, key, iv) != 1)
		goto cleanup;
	if (aad_len > 0 && EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1)
		goto cleanup;
	if (len > 0 && EVP_DecryptUpdate(ctx, out, &n, in, (int)len) != 1)
		goto cleanup;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, t) != 1 ||
	    EVP_DecryptFinal_ex(ctx, out + (len > 0 ? n : 0), &n) != 1) {
		if (len > 0)
			OPENSSL_cleanse(out, len);
		goto cleanup;
	}
	rc = 0;
cleanup:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int suite_ctr_stream(const unsigned char key[32], const unsigned char iv[16], unsigned char *out,
		     size_t out_len)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0;
	int rc = -1;

	memset(out, 0, out_len);
	if (ctx == NULL || EVP_EncryptInit_ex(ctx, EVP_aes_256_ctr(), NULL, key, iv) != 1 ||
	    EVP_EncryptUpdate(ctx, out, &n, out, (int)out_len) != 1 || (size_t)n != out_len)
		goto cleanup;
	rc = 0;
cleanup:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int suite_random(unsigned char *out, size_t len)
{
	return RAND_bytes(out, (int)len) == 1 ? 0 : -1;
}

EVP_PKEY *suite_ecdsa_generate(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
}

int suite_ecdsa_public_compressed(EVP_PKEY *key, unsigned char out[49])
{
	unsigned char pt[97];
	size_t n = 0;

	/* Uncompressed is 0x04 || X || Y; compressed is 0x02 + (Y odd) || X (SEC 1 2.3.3). */
	if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &n) != 1)
		return -1;
	if (n == 49 && (pt[0] == 0x02 || pt[0] == 0x03)) {
		memcpy(out, pt, 49);
		return 0;
	}
	if (n != 97 || pt[0] != 0x04)
		return -1;
	out[0] = (unsigned char)(0x02 | (pt[96] & 1));
	memcpy(out + 1, pt + 1, 48);
	return 0;
}

EVP_PKEY *suite_ecdsa_from_public(const unsigned char *pt, size_t len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY *key = NULL;

	if (ctx == NULL || bld == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-384", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, len) != 1)
		goto cleanup;
	params = OSSL_PARAM_BLD_to_param(bld);
	if (params == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
		key = NULL;
cleanup:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

int suite_ecdsa_sign(EVP_PKEY *key, const unsigned char *msg, size_t msg_len,
		     unsigned char sig[SUITE_ECDSA_SIG_LEN])
{
	unsigned char buf[128];

	/* DER length varies with leading zero bytes of r and s; the SDK's footer has a fixed
	 * 103-byte slot, so it signs again until the encoding fits exactly (footer.md). */
	for (int attempt = 0; attempt < 64; attempt++) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		size_t n = sizeof(buf);
		int ok = md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key) == 1 &&
			 EVP_DigestSign(md, buf, &n, msg, msg_len) == 1;

		EVP_MD_CTX_free(md);
		if (!ok)
			return -1;
		if (n == SUITE_ECDSA_SIG_LEN) {
			memcpy(sig, buf, n);
			return 0;
		}
	}
	return -1;
}

int suite_ecdsa_verify(EVP_PKEY *key, const unsigned char *msg, size_t msg_len,
		       const unsigned char *sig, size_t sig_len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, key) == 1 &&
		 EVP_DigestVerify(md, sig, sig_len, msg, msg_len) == 1;

	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}
