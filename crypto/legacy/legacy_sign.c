#include "crypto/legacy/legacy_sign.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include "crypto/legacy/legacy_attr.h"
#include "crypto/legacy/legacy_desc.h"
#include "proxy/base/json_nul.h"

static int listed(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

enum legacy_action legacy_action_of(const struct legacy_actions *a, const char *name)
{
	enum legacy_action act = a->default_action;

	if (listed(a->encrypt, a->n_encrypt, name))
		act = LEGACY_ENCRYPT_AND_SIGN;
	else if (listed(a->sign, a->n_sign, name))
		act = LEGACY_SIGN_ONLY;
	else if (listed(a->nothing, a->n_nothing, name))
		act = LEGACY_DO_NOTHING;
	if (act == LEGACY_ENCRYPT_AND_SIGN && listed(a->keys, a->n_keys, name))
		act = LEGACY_SIGN_ONLY;
	return act;
}

static int reserved(const char *name)
{
	return strcmp(name, LEGACY_DESC_ATTR) == 0 || strcmp(name, LEGACY_SIG_ATTR) == 0;
}

int legacy_actions_check(const struct legacy_actions *a, struct ds_error *err)
{
	const char *const *lists[3] = { a->encrypt, a->sign, a->nothing };
	size_t counts[3] = { a->n_encrypt, a->n_sign, a->n_nothing };

	for (int l = 0; l < 3; l++) {
		for (size_t i = 0; i < counts[l]; i++) {
			const char *name = lists[l][i];

			if (reserved(name)) {
				ds_error_set(err, 500, DS_ERR_INTERNAL, "legacy attribute actions: "
					     "\"%s\" is written by the legacy client itself and takes "
					     "no action", name);
				return -1;
			}
			for (int o = l; o < 3; o++) {
				size_t from = o == l ? i + 1 : 0;

				if (listed(lists[o] + from, counts[o] - from, name)) {
					ds_error_set(err, 500, DS_ERR_INTERNAL, "legacy attribute "
						     "actions: \"%.64s\" is listed twice", name);
					return -1;
				}
			}
		}
	}
	for (size_t i = 0; i < a->n_keys; i++) {
		if (listed(a->encrypt, a->n_encrypt, a->keys[i])) {
			ds_error_set(err, 500, DS_ERR_INTERNAL, "legacy attribute actions: key "
				     "attribute \"%.64s\" cannot be encrypted", a->keys[i]);
			return -1;
		}
	}
	return 0;
}

/* By the names' real bytes (a NUL is the tree's stand-in: json_nul.h). */
static int name_cmp(const void *x, const void *y)
{
	return json_nul_cmp((*(const cJSON *const *)x)->string, (*(const cJSON *const *)y)->string);
}

static void sha256_into(struct bufwrite *out, const void *p, size_t n)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(p, n, md);
	bufwrite_bytes(out, md, sizeof(md));
}

int legacy_string_to_sign(const char *table, const cJSON *item, const struct legacy_actions *a,
			  struct bufwrite *out, struct ds_error *err)
{
	static const char enc[] = "ENCRYPTED";
	static const char plain[] = "PLAINTEXT";
	const cJSON **attrs = NULL;
	struct bufwrite ser;
	struct bufwrite head;
	size_t n = 0;
	const cJSON *it;
	int rc = -1;

	bufwrite_init(&ser);
	bufwrite_init(&head);
	attrs = calloc((size_t)cJSON_GetArraySize(item) + 1, sizeof(*attrs));
	if (attrs == NULL)
		goto oom;
	cJSON_ArrayForEach(it, item) {
		if (!reserved(it->string) && legacy_action_of(a, it->string) != LEGACY_DO_NOTHING)
			attrs[n++] = it;
	}
	/* Python sorts the str names; for UTF-8 text code point order is byte order. */
	qsort(attrs, n, sizeof(*attrs), name_cmp);
	bufwrite_bytes(&head, "TABLE>", 6);
	bufwrite_bytes(&head, table, strlen(table));
	bufwrite_bytes(&head, "<TABLE", 6);
	if (head.failed)
		goto oom;
	sha256_into(out, head.buf, head.len);
	for (size_t i = 0; i < n; i++) {
		const char *why = "";
		int encrypted = legacy_action_of(a, attrs[i]->string) == LEGACY_ENCRYPT_AND_SIGN;
		unsigned char *name;
		size_t name_len;

		ser.len = 0;
		if (legacy_attr_serialize(attrs[i], &ser, &why) != 0) {
			ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": attribute \"%.64s\" "
				     "is not a valid value (%s); %s", table, attrs[i]->string, why,
				     LEGACY_TAMPERED);
			goto cleanup;
		}
		name = json_nul_bytes(attrs[i]->string, &name_len);
		if (ser.failed || name == NULL)
			goto oom;
		sha256_into(out, name, name_len);
		free(name);
		sha256_into(out, encrypted ? enc : plain, encrypted ? sizeof(enc) - 1
								   : sizeof(plain) - 1);
		sha256_into(out, ser.buf, ser.len);
	}
	if (out->failed)
		goto oom;
	rc = 0;
	goto cleanup;
oom:
	ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": out of memory", table);
cleanup:
	bufwrite_cleanup(&ser);
	bufwrite_cleanup(&head);
	free(attrs);
	return rc;
}

static int verify_hmac(const struct legacy_materials *m, const unsigned char *data, size_t len,
		       const unsigned char *sig, size_t sig_len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t mac_len = 0;
	int rc;

	if (EVP_Q_mac(NULL, "HMAC", NULL, m->sig->digest, NULL, m->mac_key, m->mac_key_len, data,
		      len, mac, sizeof(mac), &mac_len) == NULL)
		return -1;
	rc = sig_len == mac_len && CRYPTO_memcmp(mac, sig, mac_len) == 0;
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

static int verify_rsa(const struct legacy_materials *m, const unsigned char *data, size_t len,
		      const unsigned char *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = -1;
	int r;

	if (ctx == NULL)
		return -1;
	if (EVP_DigestVerifyInit_ex(ctx, NULL, m->sig->digest, NULL, NULL, m->verify_rsa,
				    NULL) != 1)
		goto cleanup;
	r = EVP_DigestVerify(ctx, sig, sig_len, data, len);
	/* 0 is a mismatch, a negative result a malformed signature: both are "does not match". */
	rc = r == 1;
cleanup:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int legacy_verify(const struct legacy_materials *m, const unsigned char *data, size_t len,
		  const unsigned char *sig, size_t sig_len)
{
	if (m->sig == NULL)
		return -1;
	if (m->sig->rsa)
		return m->verify_rsa != NULL ? verify_rsa(m, data, len, sig, sig_len) : -1;
	return m->mac_key_len != 0 ? verify_hmac(m, data, len, sig, sig_len) : -1;
}
