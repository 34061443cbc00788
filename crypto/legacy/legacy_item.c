#include "crypto/legacy/legacy_item.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "crypto/item/item_crypt.h"
#include "crypto/legacy/legacy_attr.h"
#include "proxy/base/codec.h"

/* AES block and IV size: the IV precedes the ciphertext (jce_bridge/primitives.py). */
#define AES_BLOCK 16

/* Every name the legacy providers write into a description; any other is refused, so that
 * a changed byte of a name cannot pass unnoticed (the description is not signed). */
static const char *const known_names[] = {
	LEGACY_DESC_ENV_KEY, LEGACY_DESC_ENV_ALG, LEGACY_DESC_WRAP_ALG, LEGACY_DESC_SYM_MODE,
	LEGACY_DESC_SIGNING_ALG, LEGACY_DESC_SIG_ALG, LEGACY_DESC_META_ID, LEGACY_DESC_KMS_EC_ATTR,
};

int legacy_item_is_legacy(const cJSON *item)
{
	return cJSON_IsObject(item) &&
	       (cJSON_GetObjectItemCaseSensitive(item, LEGACY_SIG_ATTR) != NULL ||
		cJSON_GetObjectItemCaseSensitive(item, LEGACY_DESC_ATTR) != NULL);
}

static int check_desc(const char *table, const struct legacy_desc *d, struct ds_error *err)
{
	const struct legacy_desc_pair *p;

	for (size_t i = 0; i < d->n; i++) {
		size_t k;

		for (k = 0; k < sizeof(known_names) / sizeof(known_names[0]); k++)
			if (strcmp(d->pairs[i].name, known_names[k]) == 0)
				break;
		if (k == sizeof(known_names) / sizeof(known_names[0])) {
			ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the legacy material "
				     "description (%s) has a name the legacy providers do not write; %s",
				     table, LEGACY_DESC_ATTR, LEGACY_TAMPERED);
			return -1;
		}
	}
	p = legacy_desc_get(d, LEGACY_DESC_SYM_MODE);
	if (p != NULL && strcmp(p->value, LEGACY_SYM_MODE_CBC) != 0) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the legacy material "
			     "description names an attribute mode (%s) other than %s; %s", table,
			     LEGACY_DESC_SYM_MODE, LEGACY_SYM_MODE_CBC, LEGACY_TAMPERED);
		return -1;
	}
	p = legacy_desc_get(d, LEGACY_DESC_KMS_EC_ATTR);
	if (p != NULL && strcmp(p->value, "*keys*") != 0) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the legacy material "
			     "description's %s is not \"*keys*\"; %s", table, LEGACY_DESC_KMS_EC_ATTR,
			     LEGACY_TAMPERED);
		return -1;
	}
	return 0;
}

int legacy_item_read_desc(const char *table, const cJSON *item, struct legacy_desc *d,
			  struct ds_error *err)
{
	const cJSON *av = cJSON_GetObjectItemCaseSensitive(item, LEGACY_DESC_ATTR);
	struct bufwrite raw;
	const char *why = "";
	int rc = -1;

	legacy_desc_init(d);
	bufwrite_init(&raw);
	if (av == NULL) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the item has no %s "
			     "attribute: it was not written by the legacy client, or its material "
			     "description was removed", table, LEGACY_DESC_ATTR);
		goto cleanup;
	}
	if (item_binary_bytes(av, &raw) != 0) {
		ds_error_set(err, raw.failed ? 500 : 400,
			     raw.failed ? DS_ERR_INTERNAL : DS_ERR_VALIDATION,
			     "table \"%s\": attribute \"%s\" is not a binary value; %s", table,
			     LEGACY_DESC_ATTR, LEGACY_TAMPERED);
		goto cleanup;
	}
	if (legacy_desc_parse(raw.buf, raw.len, d, &why) != 0) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": attribute \"%s\" is "
			     "malformed (%s); %s", table, LEGACY_DESC_ATTR, why, LEGACY_TAMPERED);
		goto cleanup;
	}
	if (check_desc(table, d, err) != 0) {
		legacy_desc_cleanup(d);
		goto cleanup;
	}
	rc = 0;
cleanup:
	bufwrite_cleanup(&raw);
	return rc;
}

/* AES/CBC/PKCS5Padding decryption of IV || ciphertext into out. */
static int aes_cbc_decrypt(const unsigned char *key, size_t key_len, const unsigned char *in,
			   size_t len, struct bufwrite *out)
{
	const EVP_CIPHER *c = key_len == 16 ? EVP_aes_128_cbc()
			      : key_len == 24 ? EVP_aes_192_cbc() : EVP_aes_256_cbc();
	EVP_CIPHER_CTX *ctx;
	int n = 0;
	int fin = 0;
	int rc = -1;

	if (len < 2 * AES_BLOCK || len % AES_BLOCK != 0 || len > 0x7fffffff)
		return -1;
	if (bufwrite_reserve(out, len) != 0)
		return -1;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		return -1;
	if (EVP_DecryptInit_ex(ctx, c, NULL, key, in) == 1 &&
	    EVP_DecryptUpdate(ctx, out->buf, &n, in + AES_BLOCK, (int)(len - AES_BLOCK)) == 1 &&
	    EVP_DecryptFinal_ex(ctx, out->buf + n, &fin) == 1) {
		out->len = (size_t)(n + fin);
		rc = 0;
	}
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* Replaces the value of every ENCRYPT_AND_SIGN attribute of copy by its plaintext. */
static int decrypt_attrs(const char *table, const struct legacy_actions *a,
			 const unsigned char *key, size_t key_len, cJSON *copy,
			 struct ds_error *err)
{
	struct bufwrite ct;
	struct bufwrite pt;
	cJSON *it;
	int rc = -1;

	bufwrite_init(&ct);
	bufwrite_init(&pt);
	cJSON_ArrayForEach(it, copy) {
		const char *why = "";
		cJSON *plain;

		if (legacy_action_of(a, it->string) != LEGACY_ENCRYPT_AND_SIGN)
			continue;
		ct.len = 0;
		pt.len = 0;
		if (item_binary_bytes(it, &ct) != 0) {
			if (ct.failed)
				goto oom;
			ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": attribute \"%.64s\" "
				     "should be encrypted but is not a binary value; %s", table,
				     it->string, LEGACY_TAMPERED);
			goto cleanup;
		}
		if (aes_cbc_decrypt(key, key_len, ct.buf, ct.len, &pt) != 0) {
			if (pt.failed)
				goto oom;
			ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": attribute \"%.64s\" "
				     "does not decrypt; %s", table, it->string, LEGACY_TAMPERED);
			goto cleanup;
		}
		plain = legacy_attr_deserialize(pt.buf, pt.len, &why);
		if (plain == NULL) {
			ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": attribute \"%.64s\" "
				     "decrypts to a malformed value (%s); %s", table, it->string, why,
				     LEGACY_TAMPERED);
			goto cleanup;
		}
		/* plain takes over the name and it's place in the list, so iteration goes on. */
		plain->string = it->string;
		it->string = NULL;
		if (!cJSON_ReplaceItemViaPointer(copy, it, plain)) {
			it->string = plain->string;
			plain->string = NULL;
			cJSON_Delete(plain);
			goto oom;
		}
		it = plain;
	}
	rc = 0;
	goto cleanup;
oom:
	ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": out of memory", table);
cleanup:
	bufwrite_cleanup(&ct);
	bufwrite_cleanup(&pt);
	return rc;
}

/* Python's AttributeActions.take_no_actions: every action is DO_NOTHING. */
static int takes_no_action(const struct legacy_actions *a)
{
	return a->default_action == LEGACY_DO_NOTHING && a->n_encrypt == 0 && a->n_sign == 0;
}

/* The signing algorithm the description names must be the configured one. */
static int check_signing_alg(const struct legacy_materials *m, const struct legacy_desc *d,
			     const char *table, struct ds_error *err)
{
	const struct legacy_desc_pair *p = legacy_desc_get(d, LEGACY_DESC_SIGNING_ALG);

	if (m->sig == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": the legacy materials have no "
			     "signing key", table);
		return -1;
	}
	if (p != NULL && strcmp(p->value, m->sig->name) != 0) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the legacy material "
			     "description names a signing algorithm (%s) other than the configured "
			     "%s; %s", table, LEGACY_DESC_SIGNING_ALG, m->sig->name, LEGACY_TAMPERED);
		return -1;
	}
	return 0;
}

int legacy_item_open(const struct legacy_materials *m, const char *table,
		     const struct legacy_actions *a, const cJSON *item, cJSON **out,
		     struct ds_error *err)
{
	struct legacy_desc d;
	struct bufwrite sig;
	struct bufwrite sts;
	unsigned char key[LEGACY_AES_KEY_MAX];
	size_t key_len = 0;
	cJSON *copy = NULL;
	int v;
	int rc = -1;

	*out = NULL;
	legacy_desc_init(&d);
	bufwrite_init(&sig);
	bufwrite_init(&sts);
	if (!cJSON_IsObject(item)) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the item is not a map",
			     table);
		goto cleanup;
	}
	if (takes_no_action(a)) {
		copy = cJSON_Duplicate(item, 1);
		if (copy == NULL)
			goto oom;
		goto done;
	}
	if (cJSON_GetObjectItemCaseSensitive(item, LEGACY_SIG_ATTR) == NULL) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the item has no %s "
			     "attribute: it was not written by the legacy client, or its signature "
			     "was removed", table, LEGACY_SIG_ATTR);
		goto cleanup;
	}
	if (item_binary_bytes(cJSON_GetObjectItemCaseSensitive(item, LEGACY_SIG_ATTR), &sig) != 0) {
		if (sig.failed)
			goto oom;
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": attribute \"%s\" is not a "
			     "binary value; %s", table, LEGACY_SIG_ATTR, LEGACY_TAMPERED);
		goto cleanup;
	}
	if (legacy_item_read_desc(table, item, &d, err) != 0 ||
	    check_signing_alg(m, &d, table, err) != 0)
		goto cleanup;
	/* The legacy client builds its materials, unwrapping the content key, before it checks
	 * the signature; here too, so that a changed description is refused on every item. */
	if (legacy_materials_content_key(m, &d, table, key, &key_len, err) != 0)
		goto cleanup;
	if (legacy_string_to_sign(table, item, a, &sts, err) != 0)
		goto cleanup;
	v = legacy_verify(m, sts.buf, sts.len, sig.buf, sig.len);
	ERR_clear_error();
	if (v < 0) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": the legacy signature could "
			     "not be checked (a cryptographic operation failed)", table);
		goto cleanup;
	}
	if (v == 0) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the legacy signature (%s) "
			     "does not match the item; %s", table, LEGACY_SIG_ATTR, LEGACY_TAMPERED);
		goto cleanup;
	}
	copy = cJSON_Duplicate(item, 1);
	if (copy == NULL)
		goto oom;
	cJSON_DeleteItemFromObjectCaseSensitive(copy, LEGACY_SIG_ATTR);
	cJSON_DeleteItemFromObjectCaseSensitive(copy, LEGACY_DESC_ATTR);
	if (decrypt_attrs(table, a, key, key_len, copy, err) != 0)
		goto cleanup;
done:
	*out = copy;
	copy = NULL;
	rc = 0;
	goto cleanup;
oom:
	ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": out of memory", table);
cleanup:
	OPENSSL_cleanse(key, sizeof(key));
	cJSON_Delete(copy);
	legacy_desc_cleanup(&d);
	bufwrite_cleanup(&sig);
	bufwrite_cleanup(&sts);
	return rc;
}
