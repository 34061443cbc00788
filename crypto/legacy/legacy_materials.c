#include "crypto/legacy/legacy_materials.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "proxy/base/codec.h"

/* jce_bridge/authentication.py, JAVA_AUTHENTICATOR: the signature algorithms by JCE name. */
static const struct legacy_sig_alg sig_algs[] = {
	{ "HmacSHA224", "SHA224", 0 },
	{ "HmacSHA256", "SHA256", 0 },
	{ "HmacSHA384", "SHA384", 0 },
	{ "HmacSHA512", "SHA512", 0 },
	{ "SHA224withRSA", "SHA224", 1 },
	{ "SHA256withRSA", "SHA256", 1 },
	{ "SHA384withRSA", "SHA384", 1 },
	{ "SHA512withRSA", "SHA512", 1 },
};

/* aws_kms.py: the provider's defaults when the description names no algorithm. */
#define KMS_DEFAULT_ENV_ALG "AES/256"
#define KMS_DEFAULT_SIG_ALG "HmacSHA256/256"
#define KMS_WRAP_ALG "kms"

const struct legacy_sig_alg *legacy_sig_alg_find(const char *name)
{
	for (size_t i = 0; i < sizeof(sig_algs) / sizeof(sig_algs[0]); i++)
		if (strcmp(sig_algs[i].name, name) == 0)
			return &sig_algs[i];
	return NULL;
}

void legacy_materials_init(struct legacy_materials *m, enum legacy_provider provider)
{
	memset(m, 0, sizeof(*m));
	m->provider = provider;
}

void legacy_materials_cleanup(struct legacy_materials *m)
{
	EVP_PKEY_free(m->unwrap_rsa);
	EVP_PKEY_free(m->verify_rsa);
	OPENSSL_cleanse(m, sizeof(*m));
}

static int aes_len_ok(size_t len)
{
	return len == 16 || len == 24 || len == 32;
}

int legacy_materials_set_content_key(struct legacy_materials *m, const unsigned char *key,
				     size_t len, struct ds_error *err)
{
	if (!aes_len_ok(len)) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "legacy materials: the AES content key has "
			     "%zu bytes; it must have 16, 24 or 32", len);
		return -1;
	}
	memcpy(m->content_key, key, len);
	m->content_key_len = len;
	return 0;
}

int legacy_materials_set_wrap_aes(struct legacy_materials *m, const unsigned char *key,
				  size_t len, struct ds_error *err)
{
	if (!aes_len_ok(len)) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "legacy materials: the AES wrapping key has "
			     "%zu bytes; it must have 16, 24 or 32", len);
		return -1;
	}
	memcpy(m->wrap_key, key, len);
	m->wrap_key_len = len;
	return 0;
}

int legacy_materials_set_wrap_rsa(struct legacy_materials *m, const unsigned char *der,
				  size_t len, struct ds_error *err)
{
	const unsigned char *p = der;
	EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, (long)len);

	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		EVP_PKEY_free(k);
		ds_error_set(err, 500, DS_ERR_INTERNAL, "legacy materials: the wrapping key is not a "
			     "DER RSA private key");
		return -1;
	}
	EVP_PKEY_free(m->unwrap_rsa);
	m->unwrap_rsa = k;
	return 0;
}

int legacy_materials_set_hmac(struct legacy_materials *m, const char *alg,
			      const unsigned char *key, size_t len, struct ds_error *err)
{
	const struct legacy_sig_alg *a = legacy_sig_alg_find(alg);

	if (a == NULL || a->rsa) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "legacy materials: \"%.40s\" is not an HMAC "
			     "algorithm of the legacy client (HmacSHA224/256/384/512)", alg);
		return -1;
	}
	if (len == 0 || len > sizeof(m->mac_key)) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "legacy materials: the HMAC key has %zu "
			     "bytes; it must have 1 to %zu", len, sizeof(m->mac_key));
		return -1;
	}
	memcpy(m->mac_key, key, len);
	m->mac_key_len = len;
	m->sig = a;
	return 0;
}

int legacy_materials_set_rsa_verify(struct legacy_materials *m, const char *alg,
				    const unsigned char *der, size_t len, struct ds_error *err)
{
	const struct legacy_sig_alg *a = legacy_sig_alg_find(alg);
	const unsigned char *p = der;
	EVP_PKEY *k;

	if (a == NULL || !a->rsa) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "legacy materials: \"%.40s\" is not an RSA "
			     "signature algorithm of the legacy client (SHA224/256/384/512withRSA)",
			     alg);
		return -1;
	}
	k = d2i_PUBKEY(NULL, &p, (long)len);
	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		EVP_PKEY_free(k);
		ds_error_set(err, 500, DS_ERR_INTERNAL, "legacy materials: the verification key is "
			     "not a DER RSA public key");
		return -1;
	}
	EVP_PKEY_free(m->verify_rsa);
	m->verify_rsa = k;
	m->sig = a;
	return 0;
}

/*
 * A key description "ALG/BITS" or "ALG" (aws_kms.py, KeyInfo.from_description).  Writes
 * ALG into alg (cap bytes) and the length in bytes: 0 when the description has none.
 */
static int key_info(const char *desc, char *alg, size_t cap, size_t *bytes)
{
	const char *slash = strchr(desc, '/');
	size_t alen = slash != NULL ? (size_t)(slash - desc) : strlen(desc);
	unsigned long bits = 0;

	if (alen == 0 || alen >= cap)
		return -1;
	memcpy(alg, desc, alen);
	alg[alen] = '\0';
	if (slash != NULL) {
		const char *b = slash + 1;

		/* Decimal digits only, no sign, no leading zero: one spelling per length. */
		if (*b < '1' || *b > '9' || strlen(b) > 4)
			return -1;
		bits = 0;
		for (; *b != '\0'; b++) {
			if (*b < '0' || *b > '9')
				return -1;
			bits = bits * 10 + (unsigned long)(*b - '0');
		}
	}
	if (bits % 8 != 0)
		return -1;
	*bytes = bits / 8;
	return 0;
}

/* HKDF-SHA256 with no salt (RFC 5869; aws_kms.py _hkdf). */
static int hkdf_sha256(const unsigned char *ikm, size_t ikm_len, const char *info,
		       unsigned char *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[4];
	int rc = -1;

	if (ctx == NULL)
		goto cleanup;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
						      strlen(info));
	params[3] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, out_len, params) == 1)
		rc = 0;
cleanup:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

/* The description's value of name, or def when it has none. */
static const char *desc_or(const struct legacy_desc *d, const char *name, const char *def)
{
	const struct legacy_desc_pair *p = legacy_desc_get(d, name);

	return p != NULL ? p->value : def;
}

int legacy_materials_from_kms(struct legacy_materials *m, const unsigned char *data_key,
			      size_t len, const struct legacy_desc *d, struct ds_error *err)
{
	const char *env = desc_or(d, LEGACY_DESC_ENV_ALG, KMS_DEFAULT_ENV_ALG);
	const char *sig = desc_or(d, LEGACY_DESC_SIG_ALG, KMS_DEFAULT_SIG_ALG);
	char alg[32];
	size_t enc_len;
	size_t mac_len;
	const struct legacy_sig_alg *a;

	if (key_info(env, alg, sizeof(alg), &enc_len) != 0 || strcmp(alg, "AES") != 0 ||
	    (enc_len != 0 && !aes_len_ok(enc_len))) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "the legacy material description names "
			     "a content key algorithm (%s) that is not AES/128, AES/192 or AES/256; "
			     "%s", LEGACY_DESC_ENV_ALG, LEGACY_TAMPERED);
		return -1;
	}
	if (key_info(sig, alg, sizeof(alg), &mac_len) != 0 || (a = legacy_sig_alg_find(alg)) == NULL ||
	    a->rsa || mac_len > sizeof(m->mac_key)) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "the legacy material description names "
			     "a signing key algorithm (%s) that is not an HMAC; %s",
			     LEGACY_DESC_SIG_ALG, LEGACY_TAMPERED);
		return -1;
	}
	/* aws_kms.py: 256 bits when the description gives no length. */
	if (enc_len == 0)
		enc_len = 32;
	if (mac_len == 0)
		mac_len = 32;
	if (hkdf_sha256(data_key, len, "Encryption", m->content_key, enc_len) != 0 ||
	    hkdf_sha256(data_key, len, "Signing", m->mac_key, mac_len) != 0) {
		OPENSSL_cleanse(m->content_key, sizeof(m->content_key));
		OPENSSL_cleanse(m->mac_key, sizeof(m->mac_key));
		ds_error_set(err, 500, DS_ERR_INTERNAL, "legacy materials: HKDF-SHA256 failed");
		return -1;
	}
	m->content_key_len = enc_len;
	m->mac_key_len = mac_len;
	m->sig = a;
	return 0;
}

/* RFC 3394 key unwrap (JCE "AESWrap"). */
static int unwrap_aes(const struct legacy_materials *m, const unsigned char *in, size_t in_len,
		      unsigned char *out, size_t *out_len)
{
	const EVP_CIPHER *c = m->wrap_key_len == 16 ? EVP_aes_128_wrap()
			      : m->wrap_key_len == 24 ? EVP_aes_192_wrap() : EVP_aes_256_wrap();
	EVP_CIPHER_CTX *ctx;
	unsigned char buf[LEGACY_AES_KEY_MAX + 8];
	int n = 0;
	int fin = 0;
	int rc = -1;

	/* The longest content key wrapped is 32 bytes: 40 bytes wrapped. */
	if (in_len < 24 || in_len > sizeof(buf) || in_len % 8 != 0)
		return -1;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		return -1;
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_DecryptInit_ex(ctx, c, NULL, m->wrap_key, NULL) == 1 &&
	    EVP_DecryptUpdate(ctx, buf, &n, in, (int)in_len) == 1 &&
	    EVP_DecryptFinal_ex(ctx, buf + n, &fin) == 1 && (size_t)(n + fin) <= LEGACY_AES_KEY_MAX) {
		memcpy(out, buf, (size_t)(n + fin));
		*out_len = (size_t)(n + fin);
		rc = 0;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/*
 * RSA decryption of the wrapped key: OAEP with the named hash and MGF1-SHA1 (as JCE's
 * "OAEPWith<hash>AndMGF1Padding" means) or PKCS#1 v1.5 when oaep_md is NULL.
 */
static int unwrap_rsa(const struct legacy_materials *m, const char *oaep_md,
		      const unsigned char *in, size_t in_len, unsigned char *out, size_t *out_len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, m->unwrap_rsa, NULL);
	unsigned char *buf = NULL;
	size_t n = 0;
	int rc = -1;

	if (ctx == NULL || EVP_PKEY_decrypt_init(ctx) != 1)
		goto cleanup;
	if (oaep_md != NULL) {
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, oaep_md, NULL) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, "SHA1", NULL) != 1)
			goto cleanup;
	} else if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) {
		goto cleanup;
	}
	if (EVP_PKEY_decrypt(ctx, NULL, &n, in, in_len) != 1)
		goto cleanup;
	buf = OPENSSL_malloc(n);
	if (buf == NULL || EVP_PKEY_decrypt(ctx, buf, &n, in, in_len) != 1 ||
	    n > LEGACY_AES_KEY_MAX)
		goto cleanup;
	memcpy(out, buf, n);
	*out_len = n;
	rc = 0;
cleanup:
	if (buf != NULL)
		OPENSSL_clear_free(buf, n);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* JCE RSA transformations the legacy client wraps with, and the OAEP hash of each. */
static const struct {
	const char *name;      /* "amzn-ddb-wrap-alg" value */
	const char *oaep_md;   /* OAEP hash, or NULL for PKCS#1 v1.5 */
} rsa_wraps[] = {
	{ "RSA/ECB/OAEPWithSHA-256AndMGF1Padding", "SHA256" },
	{ "RSA/ECB/OAEPWithSHA-384AndMGF1Padding", "SHA384" },
	{ "RSA/ECB/OAEPWithSHA-512AndMGF1Padding", "SHA512" },
	{ "RSA/ECB/OAEPWithSHA-1AndMGF1Padding", "SHA1" },
	{ "RSA/ECB/PKCS1Padding", NULL },
	{ "RSA", NULL },
};

/* Java's MIME base64: lines of 76 characters, each line ended by CR LF. */
#define MIME_LINE 76

/*
 * Decodes the text of a wrapped key into out, in one of the two spellings the legacy clients
 * write: plain base64 (Python) or MIME base64 (Java).  Text that decodes but is not exactly
 * how its bytes encode in either spelling is refused (-1), so that every changed character
 * shows.  scratch holds 2 * len + 2 bytes: the text without line ends, then its re-encoding.
 */
static long decode_key_text(const char *text, size_t len, unsigned char *out, char *scratch)
{
	int mime = memchr(text, '\r', len) != NULL;
	size_t o = 0;
	size_t line = 0;
	long n;
	size_t el;

	/* Drop the CR LF at the end of every line, and only there. */
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\r') {
			if (i + 1 >= len || text[i + 1] != '\n' || (line != MIME_LINE && i + 2 != len))
				return -1;
			i++;
			line = 0;
			continue;
		}
		scratch[o++] = text[i];
		if (++line > MIME_LINE && mime)
			return -1;
	}
	/* MIME text ends with CR LF; plain text has none. */
	if (o != len && (len < 2 || text[len - 1] != '\n'))
		return -1;
	n = codec_b64_decode(scratch, o, out);
	if (n <= 0)
		return -1;
	el = codec_b64_encode(out, (size_t)n, scratch + o + 1);
	if (el != o || memcmp(scratch, scratch + o + 1, o) != 0)
		return -1;
	return n;
}

/* Wrapped provider: decodes and unwraps "amzn-ddb-env-key". */
static int unwrap_content_key(const struct legacy_materials *m, const struct legacy_desc *d,
			      const char *table, unsigned char *key, size_t *key_len,
			      struct ds_error *err)
{
	const struct legacy_desc_pair *env = legacy_desc_get(d, LEGACY_DESC_ENV_KEY);
	/* wrapped.py: the unwrapping key's own algorithm when the description names none. */
	const char *wrap = desc_or(d, LEGACY_DESC_WRAP_ALG, m->wrap_key_len != 0 ? "AESWrap" : "RSA");
	const char *env_alg = desc_or(d, LEGACY_DESC_ENV_ALG, "AES");
	unsigned char *wrapped = NULL;
	char *again = NULL;
	char alg[32];
	size_t want = 0;
	long wl;
	int rc = -1;
	int r = -1;

	if (env == NULL) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the legacy material "
			     "description has no wrapped content key (%s): the item was not written "
			     "by a wrapped materials provider", table, LEGACY_DESC_ENV_KEY);
		return -1;
	}
	if (key_info(env_alg, alg, sizeof(alg), &want) != 0 || strcmp(alg, "AES") != 0 ||
	    (want != 0 && !aes_len_ok(want))) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the legacy material "
			     "description names a content key algorithm (%s) that is not AES, "
			     "AES/128, AES/192 or AES/256; %s", table, LEGACY_DESC_ENV_ALG,
			     LEGACY_TAMPERED);
		return -1;
	}
	wrapped = malloc(CODEC_B64_DEC_MAX(env->value_len) + 1);
	again = malloc(2 * env->value_len + 2);
	if (wrapped == NULL || again == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": out of memory", table);
		goto cleanup;
	}
	wl = decode_key_text(env->value, env->value_len, wrapped, again);
	if (wl <= 0) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the wrapped content key "
			     "(%s) is not base64; %s", table, LEGACY_DESC_ENV_KEY, LEGACY_TAMPERED);
		goto cleanup;
	}
	if (strcmp(wrap, "AESWrap") == 0) {
		if (m->wrap_key_len == 0) {
			ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the content key is "
				     "wrapped with AESWrap but the configured unwrapping key is RSA",
				     table);
			goto cleanup;
		}
		r = unwrap_aes(m, wrapped, (size_t)wl, key, key_len);
	} else {
		size_t i;

		for (i = 0; i < sizeof(rsa_wraps) / sizeof(rsa_wraps[0]); i++)
			if (strcmp(wrap, rsa_wraps[i].name) == 0)
				break;
		if (i == sizeof(rsa_wraps) / sizeof(rsa_wraps[0])) {
			ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the legacy material "
				     "description names a key wrapping algorithm (%s) that is not "
				     "AESWrap or an RSA transformation; %s", table, LEGACY_DESC_WRAP_ALG,
				     LEGACY_TAMPERED);
			goto cleanup;
		}
		if (m->unwrap_rsa == NULL) {
			ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the content key is "
				     "wrapped with RSA but the configured unwrapping key is AES", table);
			goto cleanup;
		}
		r = unwrap_rsa(m, rsa_wraps[i].oaep_md, wrapped, (size_t)wl, key, key_len);
	}
	if (r != 0) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the wrapped content key "
			     "(%s) does not unwrap with the configured key; %s", table,
			     LEGACY_DESC_ENV_KEY, LEGACY_TAMPERED);
		goto cleanup;
	}
	if (!aes_len_ok(*key_len) || (want != 0 && *key_len != want)) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the unwrapped content key "
			     "has %zu bytes, not the length %s names; %s", table, *key_len,
			     LEGACY_DESC_ENV_ALG, LEGACY_TAMPERED);
		OPENSSL_cleanse(key, LEGACY_AES_KEY_MAX);
		goto cleanup;
	}
	rc = 0;
cleanup:
	free(wrapped);
	free(again);
	return rc;
}

int legacy_materials_content_key(const struct legacy_materials *m, const struct legacy_desc *d,
				 const char *table, unsigned char *key, size_t *key_len,
				 struct ds_error *err)
{
	const char *wrap = desc_or(d, LEGACY_DESC_WRAP_ALG, NULL);

	if (m->provider == LEGACY_PROVIDER_WRAPPED)
		return unwrap_content_key(m, d, table, key, key_len, err);
	if (m->provider == LEGACY_PROVIDER_KMS && (wrap == NULL || strcmp(wrap, KMS_WRAP_ALG) != 0)) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the item was not written "
			     "by the AWS KMS materials provider (its %s is not \"kms\")", table,
			     LEGACY_DESC_WRAP_ALG);
		return -1;
	}
	if (m->provider == LEGACY_PROVIDER_STATIC && legacy_desc_get(d, LEGACY_DESC_ENV_KEY) != NULL) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the legacy material "
			     "description holds a wrapped content key (%s): the item was written by "
			     "a wrapped or AWS KMS provider, not the static one configured", table,
			     LEGACY_DESC_ENV_KEY);
		return -1;
	}
	if (m->content_key_len == 0) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": the legacy materials have "
			     "no content key", table);
		return -1;
	}
	memcpy(key, m->content_key, m->content_key_len);
	*key_len = m->content_key_len;
	return 0;
}
