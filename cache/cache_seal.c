#include "cache/cache_seal.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "proxy/base/bufread.h"
#include "proxy/base/log.h"

/* RFC 5869 HKDF-SHA256 of ikm with an empty salt and the given info, 32 bytes out. */
static int seal_hkdf(const uint8_t *ikm, const char *info, uint8_t out[32])
{
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t out_len = 32;
	int rc = CACHE_SEAL_ERR_INTERNAL;

	if (pctx == NULL)
		goto cleanup;
	if (EVP_PKEY_derive_init(pctx) != 1 ||
	    EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set1_hkdf_key(pctx, ikm, CACHE_SEAL_KEY_LEN) != 1 ||
	    EVP_PKEY_CTX_add1_hkdf_info(pctx, (const unsigned char *)info, (int)strlen(info)) != 1 ||
	    EVP_PKEY_derive(pctx, out, &out_len) != 1 || out_len != 32) {
		log_openssl_errors(LOG_ERROR, "cache: deriving the cache's keys (HKDF-SHA256)");
		goto cleanup;
	}
	rc = 0;
cleanup:
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

int cache_seal_keys_derive(struct cache_seal_keys *keys, const uint8_t cache_key[CACHE_SEAL_KEY_LEN])
{
	if (seal_hkdf(cache_key, "dynaseal cache seal v1", keys->seal_key) != 0 ||
	    seal_hkdf(cache_key, "dynaseal cache name v1", keys->name_key) != 0) {
		cache_seal_keys_wipe(keys);
		return CACHE_SEAL_ERR_INTERNAL;
	}
	return 0;
}

void cache_seal_keys_wipe(struct cache_seal_keys *keys)
{
	OPENSSL_cleanse(keys, sizeof(*keys));
}

int cache_seal_entry_name(const struct cache_seal_keys *keys, const void *id, size_t id_len,
			  char out[CACHE_ENTRY_NAME_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[32];
	unsigned int mac_len = 0;
	size_t p = sizeof(CACHE_ENTRY_PREFIX) - 1;

	if (HMAC(EVP_sha256(), keys->name_key, sizeof(keys->name_key), id, id_len, mac,
		 &mac_len) == NULL || mac_len != sizeof(mac)) {
		log_openssl_errors(LOG_ERROR, "cache: naming an entry (HMAC-SHA256)");
		return CACHE_SEAL_ERR_INTERNAL;
	}
	memcpy(out, CACHE_ENTRY_PREFIX, p);
	for (size_t i = 0; i < sizeof(mac); i++) {
		out[p++] = hex[mac[i] >> 4];
		out[p++] = hex[mac[i] & 15];
	}
	out[p] = '\0';
	return 0;
}

/* Starts an AES-256-GCM context for key and nonce and feeds the AAD (version || name). */
static EVP_CIPHER_CTX *seal_start(const struct cache_seal_keys *keys, const uint8_t *nonce,
				  const char *name, int encrypt)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	const unsigned char version = CACHE_SEAL_VERSION;
	int n;

	if (ctx == NULL)
		return NULL;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, CACHE_SEAL_NONCE_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, keys->seal_key, nonce, encrypt) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, &version, 1) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)name, (int)strlen(name)) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int cache_seal(const struct cache_seal_keys *keys, const char *name, const uint8_t *value,
	       size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *nonce = out + 1;
	uint8_t *ct = out + 1 + CACHE_SEAL_NONCE_LEN;
	int n = 0;
	int fin = 0;
	int rc = CACHE_SEAL_ERR_INTERNAL;

	if (len > (size_t)1 << 20 || cap < len + CACHE_SEAL_OVERHEAD)
		return CACHE_SEAL_ERR_SPACE;
	out[0] = CACHE_SEAL_VERSION;
	if (RAND_bytes(nonce, CACHE_SEAL_NONCE_LEN) != 1)
		goto cleanup;
	ctx = seal_start(keys, nonce, name, 1);
	if (ctx == NULL ||
	    EVP_EncryptUpdate(ctx, ct, &n, value, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, ct + n, &fin) != 1 || (size_t)(n + fin) != len ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CACHE_SEAL_TAG_LEN, ct + len) != 1)
		goto cleanup;
	*out_len = len + CACHE_SEAL_OVERHEAD;
	rc = 0;
cleanup:
	if (rc != 0) {
		log_openssl_errors(LOG_ERROR, "cache: sealing an entry (AES-256-GCM)");
		OPENSSL_cleanse(out, cap < len + CACHE_SEAL_OVERHEAD ? cap : len + CACHE_SEAL_OVERHEAD);
	}
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int cache_seal_open(const struct cache_seal_keys *keys, const char *name, const uint8_t *sealed,
		    size_t sealed_len, uint8_t *out, size_t cap, size_t *out_len)
{
	struct bufread r;
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t version = 0;
	const unsigned char *nonce;
	const unsigned char *ct;
	const unsigned char *tag;
	size_t ct_len;
	int n = 0;
	int fin = 0;
	int rc = CACHE_SEAL_ERR_FORMAT;

	bufread_init(&r, sealed, sealed_len);
	if (sealed_len < CACHE_SEAL_OVERHEAD || bufread_u8(&r, &version) != 0 ||
	    version != CACHE_SEAL_VERSION)
		return CACHE_SEAL_ERR_FORMAT;
	ct_len = sealed_len - CACHE_SEAL_OVERHEAD;
	if (bufread_view(&r, CACHE_SEAL_NONCE_LEN, &nonce) != 0 ||
	    bufread_view(&r, ct_len, &ct) != 0 ||
	    bufread_view(&r, CACHE_SEAL_TAG_LEN, &tag) != 0 || bufread_left(&r) != 0)
		return CACHE_SEAL_ERR_FORMAT;
	if (ct_len > cap || ct_len > (size_t)1 << 20)
		return CACHE_SEAL_ERR_SPACE;
	rc = CACHE_SEAL_ERR_INTERNAL;
	ctx = seal_start(keys, nonce, name, 0);
	if (ctx == NULL || EVP_DecryptUpdate(ctx, out, &n, ct, (int)ct_len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CACHE_SEAL_TAG_LEN, (void *)tag) != 1) {
		log_openssl_errors(LOG_ERROR, "cache: opening an entry (AES-256-GCM)");
		goto cleanup;
	}
	/* The tag is checked here; nothing decrypted is used unless it verifies. */
	if (EVP_DecryptFinal_ex(ctx, out + n, &fin) != 1) {
		ERR_clear_error();
		rc = CACHE_SEAL_ERR_AUTH;
		goto cleanup;
	}
	*out_len = (size_t)(n + fin);
	rc = 0;
cleanup:
	if (rc != 0)
		OPENSSL_cleanse(out, ct_len);
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}
