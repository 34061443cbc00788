#include "crypto/item/item_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/item/attr_serial.h"
#include "proxy/base/codec.h"
#include "proxy/base/json_nul.h"
#include "crypto/item/item_footer.h"

const char *item_table_label(const struct config_table *t)
{
	return t->name != NULL ? t->name : "";
}

const char *item_logical_name(const struct config_table *t)
{
	return t->logical_name != NULL ? t->logical_name : item_table_label(t);
}

int item_name_is_reserved(const char *name, size_t len)
{
	return len >= sizeof(ITEM_RESERVED_PREFIX) - 1 &&
	       memcmp(name, ITEM_RESERVED_PREFIX, sizeof(ITEM_RESERVED_PREFIX) - 1) == 0;
}

int item_has_reserved_prefix(const char *name)
{
	return item_name_is_reserved(name, strlen(name));
}

/*
 * The action for an attribute (DB-ESDK attributeActionsOnEncrypt), with the semantics of
 * config_table_action: a listed attribute has its action, an allowed-unsigned one is
 * DO_NOTHING, any other returns -1.  Kept here so hand-built tables work the same.
 */
int item_table_action(const struct config_table *t, const char *name, enum attr_action *a)
{
	/* The first byte is compared inline: most names differ there, and a strcmp call per
	 * configured attribute per attribute read was most of this function's cost. */
	for (size_t i = 0; i < t->actions_len; i++)
		if (t->actions[i].name[0] == name[0] && strcmp(t->actions[i].name, name) == 0) {
			*a = t->actions[i].action;
			return 0;
		}
	for (size_t i = 0; i < t->allowed_unsigned_len; i++)
		if (strcmp(t->allowed_unsigned[i], name) == 0) {
			*a = ACTION_DO_NOTHING;
			return 0;
		}
	if (t->allowed_unsigned_prefix != NULL &&
	    strncmp(name, t->allowed_unsigned_prefix, strlen(t->allowed_unsigned_prefix)) == 0) {
		*a = ACTION_DO_NOTHING;
		return 0;
	}
	return -1;
}

/* decrypt-item.md#signature-scope: everything is signed but allowed-unsigned attributes,
 * attributes configured DO_NOTHING and the reserved aws_dbe_ ones. */
int item_in_signature_scope(const struct config_table *t, const char *name)
{
	enum attr_action a;

	if (item_has_reserved_prefix(name))
		return 0;
	return !(item_table_action(t, name, &a) == 0 && a == ACTION_DO_NOTHING);
}

int item_config_version(const struct config_table *t)
{
	for (size_t i = 0; i < t->actions_len; i++)
		if (t->actions[i].action == ACTION_SIGN_AND_INCLUDE_IN_EC)
			return 2;
	return 1;
}

/* header.md#canonical-path for a top-level attribute: table name, depth 1, '$', u64 length
 * and the name (as shipped, the length comes before the name). */
int item_canonical_path(const char *table, const char *name, size_t name_len,
			  unsigned char **out, size_t *out_len)
{
	struct bufwrite w;

	bufwrite_init(&w);
	bufwrite_bytes(&w, table, strlen(table));
	bufwrite_u64(&w, 1);
	bufwrite_u8(&w, '$');
	bufwrite_u64(&w, name_len);
	json_nul_write(&w, name, name_len);     /* a name's real bytes (json_nul.h) */
	if (w.failed) {
		bufwrite_cleanup(&w);
		return -1;
	}
	*out = w.buf;
	*out_len = w.len;
	return 0;
}

/* Canonical order: as the paths share their prefix, by name length, then name bytes (the
 * real ones: json_nul.h). */
int item_field_cmp(const void *x, const void *y)
{
	const struct field *a = x;
	const struct field *b = y;

	if (a->name_len != b->name_len)
		return a->name_len < b->name_len ? -1 : 1;
	return json_nul_memcmp(a->name, a->name_len, b->name, b->name_len);
}

void item_fields_free(struct field *f, size_t n)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(f[i].path);
		bufwrite_cleanup(&f[i].value);
		if (f[i].enc != NULL)
			OPENSSL_cleanse(f[i].enc, f[i].enc_len);
		free(f[i].enc);
	}
	free(f);
}

/*
 * Serializes a field's plaintext value; the error names the attribute, not the value.  On
 * failure the partial value is wiped and freed (a later bufwrite_cleanup is then a no-op).
 */
int item_field_serialize(const struct config_table *t, struct field *f, struct ds_error *err)
{
	const char *why = "out of memory";

	if (attr_serialize(f->node, &f->type_id, &f->value, &why) != 0 || f->value.failed) {
		bufwrite_cleanup(&f->value);
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": attribute \"%s\": %s",
			     item_table_label(t), f->name, why);
		return -1;
	}
	return 0;
}

/* base64(type id + value): encrypt-item.md#base-context-value-version-1. */
static char *encode_terminal(uint16_t type_id, const struct bufwrite *v)
{
	struct bufwrite w;
	char *out;

	bufwrite_init(&w);
	bufwrite_u16(&w, type_id);
	bufwrite_bytes(&w, v->buf, v->len);
	out = w.failed ? NULL : malloc(CODEC_B64_ENC_LEN(w.len));
	if (out != NULL)
		codec_b64_encode(w.buf, w.len, out);
	bufwrite_cleanup(&w);
	return out;
}

/* Adds "aws-crypto-attr.<name>" = value to ec, marked required. */
static int ec_put_attr(struct enc_ctx *ec, const char *name, const char *value, size_t vlen)
{
	size_t nl = strlen(name);
	char *key = malloc(sizeof(EC_ATTR_PREFIX) + nl);
	int rc;

	if (key == NULL)
		return -1;
	memcpy(key, EC_ATTR_PREFIX, sizeof(EC_ATTR_PREFIX) - 1);
	memcpy(key + sizeof(EC_ATTR_PREFIX) - 1, name, nl + 1);
	rc = ec_put(ec, key, strlen(key), value, vlen, 1);
	free(key);
	return rc;
}

static int ec_put_str(struct enc_ctx *ec, const char *key, const char *value)
{
	return ec_put(ec, key, strlen(key), value, strlen(value), 1);
}

/* Version 1 value of a key attribute (partition or sort key). */
static int ec_put_key_v1(const struct config_table *t, const cJSON *item, const char *name,
			 struct enc_ctx *ec, struct ds_error *err)
{
	struct field f;
	char *v;
	int rc = -1;

	memset(&f, 0, sizeof(f));
	f.name = name;
	f.node = cJSON_GetObjectItemCaseSensitive(item, name);
	if (item_field_serialize(t, &f, err) != 0)
		goto cleanup;
	v = encode_terminal(f.type_id, &f.value);
	if (v == NULL || ec_put_attr(ec, name, v, strlen(v)) != 0) {
		free(v);
		ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
		goto cleanup;
	}
	free(v);
	rc = 0;
cleanup:
	bufwrite_cleanup(&f.value);
	return rc;
}

/*
 * The version 2 entries (structured-encryption/encrypt-structure.md#create-new-encryption-
 * context-and-cmm, encrypt-item.md#base-context-value-version-2) for the context attributes
 * names[0..n): one "aws-crypto-attr.<name>" each, plus "aws-crypto-legend" with one type
 * letter per entry in key order.
 */
static int ec_put_v2_attrs(const struct config_table *t, const cJSON *item, const char **names,
			   size_t n, struct enc_ctx *ec, struct ds_error *err)
{
	struct enc_ctx tmp;
	char *legend = malloc(n + 1);
	size_t li = 0;
	int rc = -1;

	ec_init(&tmp);
	if (legend == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		struct field f;
		char *enc = NULL;
		const char *val;
		size_t vlen;
		char letter;

		memset(&f, 0, sizeof(f));
		f.name = names[i];
		f.node = cJSON_GetObjectItemCaseSensitive(item, names[i]);
		if (item_field_serialize(t, &f, err) != 0)
			goto cleanup;
		if (f.type_id == ATTR_TYPE_S || f.type_id == ATTR_TYPE_N) {
			letter = f.type_id == ATTR_TYPE_S ? 'S' : 'N';
			val = f.value.len ? (const char *)f.value.buf : "";
			vlen = f.value.len;
		} else if (f.type_id == ATTR_TYPE_NULL) {
			letter = 'L';
			val = "null";
			vlen = 4;
		} else if (f.type_id == ATTR_TYPE_BOOL) {
			letter = 'L';
			val = f.value.buf[0] ? "true" : "false";
			vlen = strlen(val);
		} else {
			letter = 'B';
			enc = encode_terminal(f.type_id, &f.value);
			val = enc;
			vlen = enc != NULL ? strlen(enc) : 0;
		}
		/* The letter rides in the value's slot of tmp so it sorts with its key. */
		if (val == NULL || ec_put_attr(ec, names[i], val, vlen) != 0 ||
		    ec_put_attr(&tmp, names[i], &letter, 1) != 0) {
			free(enc);
			bufwrite_cleanup(&f.value);
			goto oom;
		}
		free(enc);
		bufwrite_cleanup(&f.value);
	}
	for (size_t i = 0; i < tmp.len; i++)
		legend[li++] = tmp.entries[i].value[0];
	if (ec_put(ec, EC_LEGEND, sizeof(EC_LEGEND) - 1, legend, li, 1) != 0)
		goto oom;
	rc = 0;
	goto cleanup;
oom:
	ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
cleanup:
	free(legend);
	ec_cleanup(&tmp);
	return rc;
}

/* The DynamoDB item base context (version 1 or 2) plus the version 2 context attributes. */
int item_build_context(const struct config_table *t, const cJSON *item, int version,
			 const char **ctx_names, size_t nctx, struct enc_ctx *ec,
			 struct ds_error *err)
{
	if (t->partition_key == NULL ||
	    cJSON_GetObjectItemCaseSensitive(item, t->partition_key) == NULL) {
		ds_error_set(err, 400, DS_ERR_VALIDATION,
			     "table \"%s\": the item has no partition key attribute \"%s\"",
			     item_table_label(t), t->partition_key != NULL ? t->partition_key : "");
		return -1;
	}
	if (t->sort_key != NULL && cJSON_GetObjectItemCaseSensitive(item, t->sort_key) == NULL) {
		ds_error_set(err, 400, DS_ERR_VALIDATION,
			     "table \"%s\": the item has no sort key attribute \"%s\"", item_table_label(t),
			     t->sort_key);
		return -1;
	}
	if (ec_put_str(ec, EC_TABLE_NAME, item_logical_name(t)) != 0 ||
	    ec_put_str(ec, EC_PARTITION_NAME, t->partition_key) != 0 ||
	    (t->sort_key != NULL && ec_put_str(ec, EC_SORT_NAME, t->sort_key) != 0))
		goto conflict;
	if (version == 1) {
		if (ec_put_key_v1(t, item, t->partition_key, ec, err) != 0 ||
		    (t->sort_key != NULL && ec_put_key_v1(t, item, t->sort_key, ec, err) != 0))
			return -1;
	} else if (nctx > 0 && ec_put_v2_attrs(t, item, ctx_names, nctx, ec, err) != 0) {
		return -1;
	}
	return 0;
conflict:
	ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": building the encryption context failed",
		     item_table_label(t));
	return -1;
}

int item_encryption_context(const struct config_table *t, const cJSON *item, struct enc_ctx *ec,
			    struct ds_error *err)
{
	const char **names = NULL;
	size_t n = 0;
	int version = item_config_version(t);
	int rc;

	if (version == 2) {
		names = calloc(t->actions_len ? t->actions_len : 1, sizeof(*names));
		if (names == NULL) {
			ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
			return -1;
		}
		for (size_t i = 0; i < t->actions_len; i++) {
			if (t->actions[i].action != ACTION_SIGN_AND_INCLUDE_IN_EC)
				continue;
			if (cJSON_GetObjectItemCaseSensitive(item, t->actions[i].name) == NULL) {
				ds_error_set(err, 400, DS_ERR_VALIDATION,
					     "table \"%s\": attribute \"%s\" is configured "
					     "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT but the item does "
					     "not have it", item_table_label(t), t->actions[i].name);
				free(names);
				return -1;
			}
			names[n++] = t->actions[i].name;
		}
	}
	rc = item_build_context(t, item, version, names, n, ec, err);
	free(names);
	return rc;
}

int item_encrypt_materials(const struct config_table *t, const cJSON *item, struct materials *m,
			   struct ds_error *err)
{
	const struct suite *s = suite_by_id(t->algorithm_suite ? t->algorithm_suite : SUITE_ID_SYMSIG);
	unsigned char pub[49];
	char pub64[CODEC_B64_ENC_LEN(49)];

	materials_init(m, s);   /* first, so the caller can always clean m up */
	if (s == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": unknown algorithm suite 0x%04x",
			     item_table_label(t), t->algorithm_suite);
		return -1;
	}
	if (!cJSON_IsObject(item)) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the item is not a map",
			     item_table_label(t));
		return -1;
	}
	if (item_encryption_context(t, item, &m->ec, err) != 0)
		return -1;
	if (!s->ecdsa)
		return 0;
	/* MPL default CMM: the signing key is made per item and its public half is bound in the
	 * context (stored in the header) so readers can verify. */
	m->ecdsa = suite_ecdsa_generate();
	if (m->ecdsa == NULL || suite_ecdsa_public_compressed(m->ecdsa, pub) != 0) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": ECDSA key generation failed",
			     item_table_label(t));
		return -1;
	}
	codec_b64_encode(pub, sizeof(pub), pub64);
	if (ec_put(&m->ec, EC_PUBLIC_KEY, sizeof(EC_PUBLIC_KEY) - 1, pub64, strlen(pub64), 0) != 0) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
		return -1;
	}
	return 0;
}

int item_is_plaintext(const cJSON *item)
{
	return cJSON_GetObjectItemCaseSensitive(item, ITEM_HEAD_ATTR) == NULL &&
	       cJSON_GetObjectItemCaseSensitive(item, ITEM_FOOT_ATTR) == NULL;
}

