/*
 * Encrypt and decrypt one item: structured-encryption/encrypt-structure.md and
 * decrypt-structure.md applied to the top-level attributes of a DynamoDB item.
 */
#include "crypto/item/item_crypt.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/item/attr_serial.h"
#include "proxy/base/codec.h"
#include "crypto/item/item_footer.h"
#include "crypto/item/item_internal.h"
#include "proxy/base/json.h"

/* The i-th encrypted field's key and nonce: 44 bytes of AES-256-CTR under the root key from
 * the block "AwsDbeField" || 0x2c || be32(3 * i). */
static int field_key(const unsigned char root[SUITE_KEY_LEN], uint32_t i,
		     unsigned char key[SUITE_KEY_LEN + SUITE_IV_LEN])
{
	unsigned char iv[16];
	uint32_t ctr = i * 3;

	memcpy(iv, "AwsDbeField", 11);
	iv[11] = SUITE_KEY_LEN + SUITE_IV_LEN;
	iv[12] = (unsigned char)(ctr >> 24);
	iv[13] = (unsigned char)(ctr >> 16);
	iv[14] = (unsigned char)(ctr >> 8);
	iv[15] = (unsigned char)ctr;
	return suite_ctr_stream(root, iv, key, SUITE_KEY_LEN + SUITE_IV_LEN);
}

/* Fills the canonical-hash view of the fields in order. */
static struct canon_field *canon_view(const struct field *f, size_t n)
{
	struct canon_field *c = calloc(n ? n : 1, sizeof(*c));

	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		c[i].path = f[i].path;
		c[i].path_len = f[i].path_len;
		c[i].encrypted = f[i].legend == LEGEND_ENCRYPT;
		c[i].type_id = f[i].type_id;
		c[i].value = c[i].encrypted ? f[i].enc : f[i].value.buf;
		c[i].value_len = c[i].encrypted ? f[i].enc_len : f[i].value.len;
	}
	return c;
}

/* A {"B": base64} attribute value for bytes. */
static cJSON *binary_value(const unsigned char *p, size_t n)
{
	char *t = malloc(CODEC_B64_ENC_LEN(n));
	cJSON *av = NULL;

	if (t == NULL)
		return NULL;
	codec_b64_encode(p, n, t);
	av = cJSON_CreateObject();
	if (av != NULL && cJSON_AddStringToObject(av, "B", t) == NULL) {
		cJSON_Delete(av);
		av = NULL;
	}
	free(t);
	return av;
}

/* Checks that m's context is the one item_encryption_context gives for this item, so
 * materials prepared for one item cannot sign another. */
static int check_context(const struct config_table *t, const struct materials *m,
			 const cJSON *item, struct ds_error *err)
{
	struct enc_ctx ec;
	int rc = 0;

	ec_init(&ec);
	if (item_encryption_context(t, item, &ec, err) != 0) {
		ec_cleanup(&ec);
		return -1;
	}
	for (size_t i = 0; i < ec.len && rc == 0; i++) {
		const struct ec_entry *e = ec_get(&m->ec, ec.entries[i].key, ec.entries[i].key_len);

		if (e == NULL || e->value_len != ec.entries[i].value_len ||
		    memcmp(e->value, ec.entries[i].value, e->value_len) != 0) {
			ds_error_set(err, 500, DS_ERR_INTERNAL,
				     "table \"%s\": the materials were prepared for another item",
				     item_table_label(t));
			rc = -1;
		}
	}
	ec_cleanup(&ec);
	return rc;
}

/* Collects the signed attributes of a write, in canonical order, serialized. */
static int collect_for_encrypt(const struct config_table *t, cJSON *item, struct field **out,
			       size_t *nout, struct ds_error *err)
{
	struct field *f = calloc((size_t)cJSON_GetArraySize(item) + 1, sizeof(*f));
	size_t n = 0;
	cJSON *a;

	if (f == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
		return -1;
	}
	cJSON_ArrayForEach(a, item) {
		enum attr_action act;

		if (item_has_reserved_prefix(a->string)) {
			ds_error_set(err, 400, DS_ERR_VALIDATION,
				     "table \"%s\": attribute \"%s\" uses the reserved prefix "
				     "\"aws_dbe_\"; rename the attribute", item_table_label(t), a->string);
			goto fail;
		}
		if (item_table_action(t, a->string, &act) != 0) {
			ds_error_set(err, 400, DS_ERR_VALIDATION,
				     "table \"%s\": attribute \"%s\" has no action in "
				     "attribute_actions and is not in allowed_unsigned_attributes; "
				     "add it to one of them", item_table_label(t), a->string);
			goto fail;
		}
		if (act == ACTION_DO_NOTHING)
			continue;
		f[n].name = a->string;
		f[n].name_len = strlen(a->string);
		f[n].node = a;
		f[n].legend = act == ACTION_ENCRYPT_AND_SIGN ? LEGEND_ENCRYPT
			      : act == ACTION_SIGN_ONLY ? LEGEND_SIGN : LEGEND_CONTEXT;
		n++;
	}
	if (n == 0) {
		ds_error_set(err, 400, DS_ERR_VALIDATION,
			     "table \"%s\": the item has no signed attribute", item_table_label(t));
		goto fail;
	}
	qsort(f, n, sizeof(*f), item_field_cmp);
	for (size_t i = 0; i < n; i++) {
		if (item_field_serialize(t, &f[i], err) != 0)
			goto fail;
		if (item_canonical_path(item_logical_name(t), f[i].name, f[i].name_len, &f[i].path,
					&f[i].path_len) != 0) {
			ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
			goto fail;
		}
	}
	*out = f;
	*nout = n;
	return 0;
fail:
	item_fields_free(f, n + 1);
	return -1;
}

/* Encrypts the 'e' fields (encrypt-structure.md#terminal-data-encryption) under the field
 * root key (item_header_keys). */
static int encrypt_fields(const unsigned char root[SUITE_KEY_LEN], struct field *f, size_t n)
{
	unsigned char fk[SUITE_KEY_LEN + SUITE_IV_LEN];
	uint32_t idx = 0;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		if (f[i].legend != LEGEND_ENCRYPT)
			continue;
		f[i].enc_len = 2 + f[i].value.len + SUITE_TAG_LEN;
		f[i].enc = malloc(f[i].enc_len);
		if (f[i].enc == NULL || field_key(root, idx++, fk) != 0)
			goto cleanup;
		f[i].enc[0] = (unsigned char)(f[i].type_id >> 8);
		f[i].enc[1] = (unsigned char)f[i].type_id;
		if (suite_gcm_encrypt(fk, fk + SUITE_KEY_LEN, SUITE_IV_LEN, f[i].path, f[i].path_len,
				      f[i].value.buf, f[i].value.len, f[i].enc + 2,
				      f[i].enc + 2 + f[i].value.len) != 0)
			goto cleanup;
	}
	rc = 0;
cleanup:
	OPENSSL_cleanse(fk, sizeof(fk));
	return rc;
}

/*
 * An item (or a map in it) with the same name twice: only one of the two would be encrypted
 * or verified, and DynamoDB might keep the other.
 */
static int refuse_duplicates(const struct config_table *t, const cJSON *item, struct ds_error *err)
{
	const char *dup = json_duplicate_key(item);

	if (dup == NULL)
		return 0;
	ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the item has the name \"%.64s\" "
		     "twice in one map; send each attribute once", item_table_label(t), dup);
	return -1;
}

int item_encrypt(const struct config_table *t, struct materials *m, cJSON *item,
		 struct ds_error *err)
{
	struct field *f = NULL;
	size_t n = 0;
	unsigned char msgid[ITEM_MSGID_LEN];
	unsigned char *legend = NULL;
	struct canon_field *cf = NULL;
	unsigned char commit[ITEM_COMMITMENT_LEN];
	unsigned char commit_key[SUITE_KEY_LEN];
	unsigned char root[SUITE_KEY_LEN];
	unsigned char hash[SUITE_HASH_LEN];
	struct bufwrite head;
	struct bufwrite foot;
	cJSON *head_av = NULL;
	cJSON *foot_av = NULL;
	cJSON **repl = NULL;    /* the {"B": ...} values that replace encrypted attributes */
	uint8_t version = 1;
	int rc = -1;

	bufwrite_init(&head);
	bufwrite_init(&foot);
	if (!cJSON_IsObject(item)) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the item is not a map",
			     item_table_label(t));
		goto cleanup;
	}
	if (refuse_duplicates(t, item, err) != 0)
		goto cleanup;
	if (collect_for_encrypt(t, item, &f, &n, err) != 0 || check_context(t, m, item, err) != 0)
		goto cleanup;
	if (!m->has_data_key || m->edks_len == 0 || m->edks_len > 255 ||
	    m->signing_keys_len != m->edks_len || (m->suite->ecdsa && m->ecdsa == NULL)) {
		ds_error_set(err, 500, DS_ERR_INTERNAL,
			     "table \"%s\": the keyring did not complete the encryption materials",
			     item_table_label(t));
		goto cleanup;
	}
	legend = malloc(n);
	if (legend == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		legend[i] = (unsigned char)f[i].legend;
		if (f[i].legend == LEGEND_CONTEXT)
			version = 2;
	}
	if (materials_random(m, msgid, sizeof(msgid)) != 0)
		goto crypto;
	item_header_write_partial(version, m, msgid, legend, n, &head);
	if (head.failed)
		goto oom;
	if (item_header_keys(m->data_key, msgid, commit_key, root) != 0 ||
	    item_header_commitment(commit_key, head.buf, head.len, commit) != 0)
		goto crypto;
	bufwrite_bytes(&head, commit, sizeof(commit));
	if (head.failed)
		goto oom;
	if (encrypt_fields(root, f, n) != 0)
		goto crypto;
	cf = canon_view(f, n);
	if (cf == NULL)
		goto oom;
	if (item_footer_canonical_hash(head.buf, head.len, &m->ec, cf, n, hash) != 0 ||
	    item_footer_write(m, hash, &foot) != 0)
		goto crypto;
	head_av = binary_value(head.buf, head.len);
	foot_av = binary_value(foot.buf, foot.len);
	repl = calloc(n, sizeof(*repl));
	if (head_av == NULL || foot_av == NULL || repl == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++)
		if (f[i].legend == LEGEND_ENCRYPT &&
		    (repl[i] = binary_value(f[i].enc, f[i].enc_len)) == NULL)
			goto oom;
	/* Nothing fails past this point, so an error leaves the item as it was. */
	for (size_t i = 0; i < n; i++) {
		if (repl[i] == NULL)
			continue;
		cJSON_ReplaceItemInObjectCaseSensitive(item, f[i].name, repl[i]);
		repl[i] = NULL;
	}
	cJSON_AddItemToObject(item, ITEM_HEAD_ATTR, head_av);
	cJSON_AddItemToObject(item, ITEM_FOOT_ATTR, foot_av);
	head_av = foot_av = NULL;
	rc = 0;
	goto cleanup;
oom:
	ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": out of memory", item_table_label(t));
	goto cleanup;
crypto:
	ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": a cryptographic operation failed",
		     item_table_label(t));
cleanup:
	OPENSSL_cleanse(commit_key, sizeof(commit_key));
	OPENSSL_cleanse(root, sizeof(root));
	cJSON_Delete(head_av);
	cJSON_Delete(foot_av);
	if (repl != NULL)
		for (size_t i = 0; i < n; i++)
			cJSON_Delete(repl[i]);
	free(repl);
	free(cf);
	free(legend);
	item_fields_free(f, n);
	bufwrite_cleanup(&head);
	bufwrite_cleanup(&foot);
	return rc;
}

int item_binary_bytes(const cJSON *av, struct bufwrite *out)
{
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(av, "B");
	size_t tl;
	long n;

	if (!cJSON_IsObject(av) || cJSON_GetArraySize(av) != 1 || !cJSON_IsString(b))
		return -1;
	tl = strlen(b->valuestring);
	if (bufwrite_reserve(out, CODEC_B64_DEC_MAX(tl) + 1) != 0)
		return -1;
	n = codec_b64_decode(b->valuestring, tl, out->buf + out->len);
	if (n < 0)
		return -1;
	out->len += (size_t)n;
	return 0;
}

/*
 * Collects the signed attributes of a read (decrypt-structure.md#calculate-signed-and-
 * encrypted-field-lists) in canonical order, matched against the header's legend.  The
 * fields own nothing yet (load_fields gives them their terminals).
 */
static int collect_for_decrypt(const struct config_table *t, const cJSON *item,
			       const struct item_header *h, struct field **out, size_t *nout,
			       struct ds_error *err)
{
	struct field *f = calloc((size_t)cJSON_GetArraySize(item) + 1, sizeof(*f));
	size_t n = 0;
	cJSON *a;

	if (f == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
		return -1;
	}
	cJSON_ArrayForEach(a, item) {
		if (!item_in_signature_scope(t, a->string))
			continue;
		f[n].name = a->string;
		f[n].name_len = strlen(a->string);
		f[n].node = a;
		n++;
	}
	if (n != h->legend_len) {
		ds_error_set(err, 400, DS_ERR_VALIDATION,
			     n < h->legend_len
			     ? "table \"%s\": the item has fewer signed attributes than when it was "
			       "written: a signed attribute was removed or is now allowed unsigned; %s"
			     : "table \"%s\": the item has more signed attributes than when it was "
			       "written: an attribute was added, or one that was unsigned is now "
			       "signed; %s", item_table_label(t), TAMPERED);
		free(f);
		return -1;
	}
	qsort(f, n, sizeof(*f), item_field_cmp);
	for (size_t i = 0; i < n; i++)
		f[i].legend = (char)h->legend[i];
	*out = f;
	*nout = n;
	return 0;
}

/*
 * Gives each collected field its canonical path and stored terminal: 'e' the encrypted
 * bytes, others their serialization.  On error the caller frees f with item_fields_free.
 */
static int load_fields(const struct config_table *t, struct field *f, size_t n,
		       struct ds_error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (item_canonical_path(item_logical_name(t), f[i].name, f[i].name_len, &f[i].path,
					&f[i].path_len) != 0) {
			ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
			return -1;
		}
		if (f[i].legend != LEGEND_ENCRYPT) {
			if (item_field_serialize(t, &f[i], err) != 0)
				return -1;
			continue;
		}
		if (item_binary_bytes(f[i].node, &f[i].value) != 0 ||
		    f[i].value.len < 2 + SUITE_TAG_LEN) {
			ds_error_set(err, 400, DS_ERR_VALIDATION,
				     "table \"%s\": attribute \"%s\" failed verification: it should "
				     "be encrypted but is not; %s", item_table_label(t), f[i].name,
				     TAMPERED);
			return -1;
		}
		/* The decoded bytes are the encrypted form: moved, not copied. */
		f[i].enc = f[i].value.buf;
		f[i].enc_len = f[i].value.len;
		bufwrite_init(&f[i].value);
	}
	return 0;
}

int item_read_header(const struct config_table *t, const cJSON *item, struct item_header *h,
		     struct ds_error *err)
{
	struct bufwrite raw;
	struct field *f = NULL;
	size_t n = 0;
	const char **ctx = NULL;
	size_t nctx = 0;
	struct enc_ctx rebuilt;
	const char *why = "";
	int rc = -1;

	memset(h, 0, sizeof(*h));
	ec_init(&rebuilt);
	bufwrite_init(&raw);
	if (!cJSON_IsObject(item) ||
	    cJSON_GetObjectItemCaseSensitive(item, ITEM_HEAD_ATTR) == NULL) {
		ds_error_set(err, 400, DS_ERR_VALIDATION,
			     "table \"%s\": the item has no aws_dbe_head attribute: it is not "
			     "encrypted, or its header was removed", item_table_label(t));
		goto cleanup;
	}
	if (refuse_duplicates(t, item, err) != 0)
		goto cleanup;
	if (cJSON_GetObjectItemCaseSensitive(item, ITEM_FOOT_ATTR) == NULL) {
		ds_error_set(err, 400, DS_ERR_VALIDATION,
			     "table \"%s\": the item has no aws_dbe_foot attribute: its signature "
			     "was removed; %s", item_table_label(t), TAMPERED);
		goto cleanup;
	}
	if (item_binary_bytes(cJSON_GetObjectItemCaseSensitive(item, ITEM_HEAD_ATTR), &raw) != 0 ||
	    raw.failed) {
		ds_error_set(err, 400, DS_ERR_VALIDATION,
			     "table \"%s\": attribute \"aws_dbe_head\" is not a binary value; %s",
			     item_table_label(t), TAMPERED);
		goto cleanup;
	}
	if (item_header_parse(raw.buf, raw.len, h, &why) != 0) {
		ds_error_set(err, 400, DS_ERR_VALIDATION,
			     "table \"%s\": attribute \"aws_dbe_head\" is malformed (%s); %s",
			     item_table_label(t), why, TAMPERED);
		goto cleanup;
	}
	if (collect_for_decrypt(t, item, h, &f, &n, err) != 0)
		goto cleanup;
	ctx = calloc(n + 1, sizeof(*ctx));
	if (ctx == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++)
		if (f[i].legend == LEGEND_CONTEXT)
			ctx[nctx++] = f[i].name;
	/* decrypt-item.md#dynamodb-item-base-context: the header's version picks the context. */
	if (item_build_context(t, item, h->version, ctx, nctx, &rebuilt, err) != 0)
		goto cleanup;
	for (size_t i = 0; i < rebuilt.len; i++) {
		const struct ec_entry *e = &rebuilt.entries[i];
		int prc = ec_put(&h->ec, e->key, e->key_len, e->value, e->value_len, 1);

		if (prc == -2) {
			ds_error_set(err, 400, DS_ERR_VALIDATION,
				     "table \"%s\": the encryption context stored in aws_dbe_head "
				     "does not match the item; %s", item_table_label(t), TAMPERED);
			goto cleanup;
		}
		if (prc != 0)
			goto oom;
	}
	/* Kept for item_decrypt of this item: it needs the same list, in the same order. */
	h->fields = f;
	h->fields_len = n;
	h->fields_item = item;
	f = NULL;
	rc = 0;
	goto cleanup;
oom:
	ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
cleanup:
	if (rc != 0)
		item_header_cleanup(h);
	free(ctx);
	free(f); /* unloaded: owns nothing but itself */
	ec_cleanup(&rebuilt);
	bufwrite_cleanup(&raw);
	return rc;
}

int item_decrypt_materials(const struct config_table *t, const struct item_header *h,
			   struct materials *m, struct ds_error *err)
{
	const struct ec_entry *pk;
	unsigned char pt[CODEC_B64_DEC_MAX(128)];
	long n;

	materials_init(m, h->suite);
	if (ec_copy(&m->ec, &h->ec) != 0) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
		return -1;
	}
	if (!h->suite->ecdsa)
		return 0;
	pk = ec_get(&h->ec, EC_PUBLIC_KEY, sizeof(EC_PUBLIC_KEY) - 1);
	if (pk == NULL || pk->value_len > 128 ||
	    (n = codec_b64_decode(pk->value, pk->value_len, pt)) < 0 ||
	    (m->ecdsa = suite_ecdsa_from_public(pt, (size_t)n)) == NULL) {
		ds_error_set(err, 400, DS_ERR_VALIDATION,
			     "table \"%s\": aws_dbe_head has no valid ECDSA public key for its "
			     "signed algorithm suite; %s", item_table_label(t), TAMPERED);
		return -1;
	}
	return 0;
}

/* Decrypts the 'e' fields into new attribute values (decrypt-structure.md) under the field
 * root key (item_header_keys). */
static int decrypt_fields(const struct config_table *t, const unsigned char root[SUITE_KEY_LEN],
			  struct field *f, size_t n, cJSON **plain, struct ds_error *err)
{
	unsigned char fk[SUITE_KEY_LEN + SUITE_IV_LEN];
	unsigned char *pt = NULL;
	uint32_t idx = 0;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		size_t clen;
		const char *why = "";

		if (f[i].legend != LEGEND_ENCRYPT)
			continue;
		clen = f[i].enc_len - 2 - SUITE_TAG_LEN;
		pt = malloc(clen ? clen : 1);
		if (pt == NULL || field_key(root, idx++, fk) != 0)
			goto crypto;
		if (suite_gcm_decrypt(fk, fk + SUITE_KEY_LEN, SUITE_IV_LEN, f[i].path, f[i].path_len,
				      f[i].enc + 2, clen, f[i].enc + 2 + clen, pt) != 0) {
			ds_error_set(err, 400, DS_ERR_VALIDATION,
				     "table \"%s\": attribute \"%s\" failed verification: it does "
				     "not decrypt; %s", item_table_label(t), f[i].name, TAMPERED);
			goto cleanup;
		}
		plain[i] = attr_deserialize((uint16_t)(f[i].enc[0] << 8 | f[i].enc[1]), pt, clen, &why);
		if (plain[i] == NULL) {
			ds_error_set(err, 400, DS_ERR_VALIDATION,
				     "table \"%s\": attribute \"%s\" decrypted to a malformed value "
				     "(%s)", item_table_label(t), f[i].name, why);
			goto cleanup;
		}
		OPENSSL_cleanse(pt, clen);
		free(pt);
		pt = NULL;
	}
	rc = 0;
	goto cleanup;
crypto:
	ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": a cryptographic operation failed",
		     item_table_label(t));
cleanup:
	free(pt);
	OPENSSL_cleanse(fk, sizeof(fk));
	return rc;
}

int item_decrypt(const struct config_table *t, const struct materials *m,
		 const struct item_header *h, cJSON *item, struct ds_error *err)
{
	struct field *f = NULL;
	size_t n = 0;
	struct canon_field *cf = NULL;
	cJSON **plain = NULL;
	unsigned char commit[ITEM_COMMITMENT_LEN];
	unsigned char commit_key[SUITE_KEY_LEN];
	unsigned char root[SUITE_KEY_LEN];
	unsigned char hash[SUITE_HASH_LEN];
	struct bufwrite foot;
	enum footer_fail ff;
	int rc = -1;

	bufwrite_init(&foot);
	if (!m->has_data_key || m->signing_keys_len == 0 || h->raw_len < ITEM_COMMITMENT_LEN) {
		ds_error_set(err, 500, DS_ERR_INTERNAL,
			     "table \"%s\": the keyring did not complete the decryption materials",
			     item_table_label(t));
		goto cleanup;
	}
	if (item_header_keys(m->data_key, h->message_id, commit_key, root) != 0) {
		ds_error_set(err, 500, DS_ERR_INTERNAL,
			     "table \"%s\": a cryptographic operation failed", item_table_label(t));
		goto cleanup;
	}
	/* header.md#commitment-verification binds the data key to this header. */
	if (item_header_commitment(commit_key, h->raw, h->raw_len - ITEM_COMMITMENT_LEN,
				   commit) != 0 ||
	    CRYPTO_memcmp(commit, h->raw + h->raw_len - ITEM_COMMITMENT_LEN, sizeof(commit)) != 0) {
		ds_error_set(err, 400, DS_ERR_VALIDATION,
			     "table \"%s\": attribute \"aws_dbe_head\" failed verification "
			     "(header commitment); %s", item_table_label(t), TAMPERED);
		goto cleanup;
	}
	if (h->fields != NULL && h->fields_item == item) {
		/* Shallow copy: unloaded fields own nothing, and h stays as the caller gave it. */
		n = h->fields_len;
		f = malloc((n + 1) * sizeof(*f));
		if (f == NULL) {
			n = 0;
			ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
			goto cleanup;
		}
		memcpy(f, h->fields, n * sizeof(*f));
	} else if (collect_for_decrypt(t, item, h, &f, &n, err) != 0) {
		goto cleanup;
	}
	if (load_fields(t, f, n, err) != 0)
		goto cleanup;
	cf = canon_view(f, n);
	plain = calloc(n + 1, sizeof(*plain));
	if (cf == NULL || plain == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
		goto cleanup;
	}
	if (item_binary_bytes(cJSON_GetObjectItemCaseSensitive(item, ITEM_FOOT_ATTR), &foot) != 0) {
		ds_error_set(err, 400, DS_ERR_VALIDATION,
			     "table \"%s\": attribute \"aws_dbe_foot\" is not a binary value; %s",
			     item_table_label(t), TAMPERED);
		goto cleanup;
	}
	if (item_footer_canonical_hash(h->raw, h->raw_len, &m->ec, cf, n, hash) != 0) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": hashing failed",
			     item_table_label(t));
		goto cleanup;
	}
	ff = item_footer_verify(m, h->edks_len, foot.buf, foot.len, hash);
	if (ff != FOOTER_OK) {
		ds_error_set(err, ff == FOOTER_INTERNAL ? 500 : 400,
			     ff == FOOTER_INTERNAL ? DS_ERR_INTERNAL : DS_ERR_VALIDATION,
			     "table \"%s\": attribute \"aws_dbe_foot\" failed verification (%s); %s",
			     item_table_label(t),
			     ff == FOOTER_BAD_LENGTH ? "wrong length"
			     : ff == FOOTER_NO_TAG_MATCH ? "no recipient tag matches: a signed "
							   "attribute or the header differs"
			     : ff == FOOTER_BAD_SIGNATURE ? "the ECDSA signature does not verify"
							  : "internal error", TAMPERED);
		goto cleanup;
	}
	if (decrypt_fields(t, root, f, n, plain, err) != 0)
		goto cleanup;
	/* Verified and decrypted: now change the item. */
	for (size_t i = 0; i < n; i++) {
		if (plain[i] == NULL)
			continue;
		cJSON_ReplaceItemInObjectCaseSensitive(item, f[i].name, plain[i]);
		plain[i] = NULL;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(item, ITEM_HEAD_ATTR);
	cJSON_DeleteItemFromObjectCaseSensitive(item, ITEM_FOOT_ATTR);
	rc = 0;
cleanup:
	OPENSSL_cleanse(commit_key, sizeof(commit_key));
	OPENSSL_cleanse(root, sizeof(root));
	if (plain != NULL)
		for (size_t i = 0; i < n; i++)
			cJSON_Delete(plain[i]);
	free(plain);
	free(cf);
	item_fields_free(f, n);
	bufwrite_cleanup(&foot);
	return rc;
}
