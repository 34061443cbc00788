/*
 * Branch key store items and reads (MPL framework/branch-key-store.md: "Encryption Context",
 * "Record Format", "GetActiveBranchKey", "GetBranchKeyVersion", "AWS KMS Branch Key
 * Decryption").  The writes (CreateKeyStore, CreateKey, VersionKey) are in
 * branch_store_admin.c.
 */
#include "crypto/keyring/branch_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/keyring/branch_store_internal.h"
#include "proxy/base/audit.h"
#include "proxy/base/codec.h"
#include "crypto/item/suite.h"
#include "proxy/base/log.h"

int branch_store_uuid4(char out[BRANCH_UUID_STRLEN + 1])
{
	unsigned char b[BRANCH_VERSION_LEN];

	if (suite_random(b, sizeof(b)) != 0)
		return -1;
	/* RFC 4122 section 4.4: version 4, variant 10xx. */
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	branch_store_uuid_format(b, out);
	return 0;
}

void branch_store_uuid_format(const unsigned char bin[BRANCH_VERSION_LEN],
			      char out[BRANCH_UUID_STRLEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < BRANCH_VERSION_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[bin[i] >> 4];
		out[o++] = hex[bin[i] & 0x0f];
	}
	out[o] = '\0';
}

void branch_store_timestamp(const struct timespec *ts, char out[32])
{
	struct tm tm;
	time_t t = ts->tv_sec;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%06uZ", (unsigned)((ts->tv_nsec / 1000) % 1000000));
}

static int put(struct enc_ctx *ec, const char *k, const char *v)
{
	return ec_put(ec, k, strlen(k), v, strlen(v), 0);
}

int branch_store_ec_build(enum branch_item_kind kind, const char *branch_key_id, const char *version,
			  const char *create_time, const char *logical_name, const char *kms_arn,
			  struct enc_ctx *ec)
{
	char tagged[sizeof(BS_VERSION_PREFIX) + BRANCH_UUID_STRLEN];

	if (branch_key_id == NULL || *branch_key_id == '\0')
		return -1;
	if (kind != BRANCH_ITEM_BEACON) {
		if (version == NULL || strlen(version) != BRANCH_UUID_STRLEN)
			return -1;
		snprintf(tagged, sizeof(tagged), "%s%s", BS_VERSION_PREFIX, version);
	}
	if (put(ec, BS_ATTR_ID, branch_key_id) != 0 || put(ec, BS_ATTR_CREATE_TIME, create_time) != 0 ||
	    put(ec, BS_ATTR_HIERARCHY, "1") != 0 || put(ec, BS_ATTR_TABLE, logical_name) != 0 ||
	    put(ec, BS_ATTR_KMS, kms_arn) != 0)
		return -1;
	switch (kind) {
	case BRANCH_ITEM_ACTIVE:
		/* #active-encryption-context: type "branch:ACTIVE" and the version attribute. */
		return put(ec, BS_ATTR_TYPE, BS_TYPE_ACTIVE) != 0 || put(ec, BS_ATTR_VERSION, tagged) != 0
			       ? -1 : 0;
	case BRANCH_ITEM_VERSION:
		/* #decrypt_only-encryption-context: the version is in type, no version attribute. */
		return put(ec, BS_ATTR_TYPE, tagged);
	case BRANCH_ITEM_BEACON:
		return put(ec, BS_ATTR_TYPE, BS_TYPE_BEACON);
	}
	return -1;
}

cJSON *branch_store_item_to_json(const struct enc_ctx *ec, const unsigned char *enc, size_t enc_len)
{
	cJSON *item = cJSON_CreateObject();
	char *b64 = malloc(CODEC_B64_ENC_LEN(enc_len));

	if (item == NULL || b64 == NULL)
		goto fail;
	for (size_t i = 0; i < ec->len; i++) {
		const struct ec_entry *e = &ec->entries[i];
		cJSON *v;
		/* "tablename" is the logical name: bound by KMS, never stored (Structure ToAttributeMap). */
		if (strcmp(e->key, BS_ATTR_TABLE) == 0)
			continue;
		v = cJSON_AddObjectToObject(item, e->key);
		if (v == NULL || cJSON_AddStringToObject(v, strcmp(e->key, BS_ATTR_HIERARCHY) == 0 ? "N" : "S",
							 e->value) == NULL)
			goto fail;
	}
	codec_b64_encode(enc, enc_len, b64);
	{
		cJSON *v = cJSON_AddObjectToObject(item, BS_ATTR_ENC);
		if (v == NULL || cJSON_AddStringToObject(v, "B", b64) == NULL)
			goto fail;
	}
	free(b64);
	return item;
fail:
	free(b64);
	cJSON_Delete(item);
	return NULL;
}

void branch_item_cleanup(struct branch_item *it)
{
	free(it->branch_key_id);
	free(it->kms_arn);
	free(it->enc);
	ec_cleanup(&it->ec);
	memset(it, 0, sizeof(*it));
	ec_init(&it->ec);
}

void branch_key_wipe(struct branch_key *k)
{
	OPENSSL_cleanse(k->key, sizeof(k->key));
}

/* The value of a string attribute {"S": "..."} of item, or NULL. */
static const char *item_s(const cJSON *item, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(item, name), "S");

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A version string "branch:version:<uuid>" → the uuid, or NULL. */
static const char *tagged_version(const char *s)
{
	unsigned char bin[BRANCH_VERSION_LEN];

	if (s == NULL || strncmp(s, BS_VERSION_PREFIX, sizeof(BS_VERSION_PREFIX) - 1) != 0)
		return NULL;
	s += sizeof(BS_VERSION_PREFIX) - 1;
	return keyring_uuid_parse(s, bin) == 0 ? s : NULL;
}

int branch_store_item_parse(const cJSON *item, const char *logical_name, struct branch_item *out,
			    struct ds_error *err)
{
	static const char *const required[] = { BS_ATTR_ID, BS_ATTR_TYPE, BS_ATTR_CREATE_TIME, BS_ATTR_KMS };
	const char *id, *type, *ver = NULL;
	const cJSON *a, *enc, *hv;
	long n;

	memset(out, 0, sizeof(*out));
	ec_init(&out->ec);
	if (!cJSON_IsObject(item)) {
		ds_error_set(err, 502, DS_ERR_INTERNAL, "key store table \"%s\": the item is not a "
			     "DynamoDB item", logical_name);
		return -1;
	}
	id = item_s(item, BS_ATTR_ID);
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		const char *v = item_s(item, required[i]);
		if (v == NULL || *v == '\0') {
			ds_error_set(err, 502, DS_ERR_INTERNAL, "key store table \"%s\": item of branch key "
				     "\"%s\" has no string attribute \"%s\"", logical_name, id ? id : "?",
				     required[i]);
			goto fail;
		}
	}
	type = item_s(item, BS_ATTR_TYPE);
	hv = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(item, BS_ATTR_HIERARCHY), "N");
	if (!cJSON_IsString(hv) || strcmp(hv->valuestring, "1") != 0) {
		ds_error_set(err, 502, DS_ERR_INTERNAL, "key store table \"%s\": branch key \"%s\" has "
			     "hierarchy-version %s; dynaseal reads version 1 only", logical_name, id,
			     cJSON_IsString(hv) ? hv->valuestring : "(missing or not a number)");
		goto fail;
	}
	enc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(item, BS_ATTR_ENC), "B");
	if (!cJSON_IsString(enc)) {
		ds_error_set(err, 502, DS_ERR_INTERNAL, "key store table \"%s\": item \"%s\" of branch "
			     "key \"%s\" has no binary attribute \"enc\"", logical_name, type, id);
		goto fail;
	}
	/* #record-format: "version" exists exactly when type is "branch:ACTIVE". */
	if (strcmp(type, BS_TYPE_ACTIVE) == 0) {
		out->kind = BRANCH_ITEM_ACTIVE;
		ver = tagged_version(item_s(item, BS_ATTR_VERSION));
		if (ver == NULL) {
			ds_error_set(err, 502, DS_ERR_INTERNAL, "key store table \"%s\": the ACTIVE item of "
				     "branch key \"%s\" has no attribute \"version\" of the form "
				     "\"branch:version:<uuid>\"", logical_name, id);
			goto fail;
		}
	} else if (strcmp(type, BS_TYPE_BEACON) == 0) {
		out->kind = BRANCH_ITEM_BEACON;
	} else if ((ver = tagged_version(type)) != NULL) {
		out->kind = BRANCH_ITEM_VERSION;
	} else {
		ds_error_set(err, 502, DS_ERR_INTERNAL, "key store table \"%s\": branch key \"%s\" has an "
			     "item of unknown type \"%s\"", logical_name, id, type);
		goto fail;
	}
	if (out->kind != BRANCH_ITEM_ACTIVE && cJSON_GetObjectItemCaseSensitive(item, BS_ATTR_VERSION)) {
		ds_error_set(err, 502, DS_ERR_INTERNAL, "key store table \"%s\": item \"%s\" of branch key "
			     "\"%s\" has a \"version\" attribute, which only the ACTIVE item may have",
			     logical_name, type, id);
		goto fail;
	}
	/* #encryption-context: every attribute but enc, all strings, plus the logical name. */
	cJSON_ArrayForEach(a, item) {
		const char *s;
		if (strcmp(a->string, BS_ATTR_ENC) == 0)
			continue;
		if (strcmp(a->string, BS_ATTR_TABLE) == 0) {
			ds_error_set(err, 502, DS_ERR_INTERNAL, "key store table \"%s\": item \"%s\" of branch "
				     "key \"%s\" stores \"tablename\", which is never stored", logical_name,
				     type, id);
			goto fail;
		}
		s = strcmp(a->string, BS_ATTR_HIERARCHY) == 0 ? hv->valuestring : item_s(item, a->string);
		if (s == NULL) {
			ds_error_set(err, 502, DS_ERR_INTERNAL, "key store table \"%s\": attribute \"%s\" of "
				     "branch key \"%s\" is not a string", logical_name, a->string, id);
			goto fail;
		}
		if (put(&out->ec, a->string, s) != 0)
			goto oom;
	}
	if (put(&out->ec, BS_ATTR_TABLE, logical_name) != 0)
		goto oom;
	out->enc = malloc(CODEC_B64_DEC_MAX(strlen(enc->valuestring)) + 1);
	if (out->enc == NULL)
		goto oom;
	n = codec_b64_decode(enc->valuestring, strlen(enc->valuestring), out->enc);
	if (n <= 0) {
		ds_error_set(err, 502, DS_ERR_INTERNAL, "key store table \"%s\": \"enc\" of item \"%s\" of "
			     "branch key \"%s\" is empty or not base64", logical_name, type, id);
		goto fail;
	}
	out->enc_len = (size_t)n;
	if ((out->branch_key_id = strdup(id)) == NULL ||
	    (out->kms_arn = strdup(item_s(item, BS_ATTR_KMS))) == NULL)
		goto oom;
	if (ver != NULL)
		snprintf(out->version, sizeof(out->version), "%s", ver);
	return 0;
oom:
	ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
fail:
	branch_item_cleanup(out);
	return -1;
}

/* ---- the store ---- */

struct branch_store *branch_store_new(struct ddb_client *ddb, struct kms_client *kms,
				      const char *table, const char *kms_arn)
{
	struct branch_store *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->ddb = ddb;
	s->kms = kms;
	s->table = strdup(table);
	s->kms_arn = kms_arn != NULL ? strdup(kms_arn) : NULL;
	if (s->table == NULL || (kms_arn != NULL && s->kms_arn == NULL)) {
		branch_store_free(s);
		return NULL;
	}
	return s;
}

void branch_store_accept(struct branch_store *s, const char *const *arns, size_t n)
{
	s->accept = arns;
	s->accept_len = n;
}

/* Whether reads may decrypt a branch key protected by arn: the configured key or an accepted
 * one (any, when the store has no configured key). */
static int store_accepts(const struct branch_store *s, const char *arn)
{
	if (s->kms_arn == NULL || strcmp(arn, s->kms_arn) == 0)
		return 1;
	for (size_t i = 0; i < s->accept_len; i++) {
		if (strcmp(arn, s->accept[i]) == 0)
			return 1;
	}
	return 0;
}

void branch_store_free(struct branch_store *s)
{
	if (s == NULL)
		return;
	free(s->table);
	free(s->kms_arn);
	free(s);
}

const char *branch_store_table(const struct branch_store *s)
{
	return s->table;
}

cJSON *bs_key_json(const char *branch_key_id, const char *type)
{
	cJSON *key = cJSON_CreateObject();
	cJSON *a, *b;

	if (key == NULL || (a = cJSON_AddObjectToObject(key, BS_ATTR_ID)) == NULL ||
	    cJSON_AddStringToObject(a, "S", branch_key_id) == NULL ||
	    (b = cJSON_AddObjectToObject(key, BS_ATTR_TYPE)) == NULL ||
	    cJSON_AddStringToObject(b, "S", type) == NULL) {
		cJSON_Delete(key);
		return NULL;
	}
	return key;
}

void bs_get_item(struct branch_store *s, const char *branch_key_id, const char *type,
		 ddb_done_cb cb, void *arg)
{
	cJSON *req = cJSON_CreateObject();
	cJSON *key = bs_key_json(branch_key_id, type);

	if (req == NULL || key == NULL || cJSON_AddStringToObject(req, "TableName", s->table) == NULL) {
		cJSON_Delete(key);
		cJSON_Delete(req);
		req = NULL;
	} else {
		cJSON_AddItemToObject(req, "Key", key);
		/* VersionKey reads the ACTIVE item it will replace: it must be the latest. */
		cJSON_AddBoolToObject(req, "ConsistentRead", 1);
	}
	ddb_call(s->ddb, "GetItem", req, cb, arg);
}

/* One GetActiveBranchKey / GetBranchKeyVersion in flight. */
struct get_op {
	struct branch_store *store;
	enum branch_item_kind want;               /* ACTIVE, VERSION or BEACON */
	char branch_key_id[256];
	char version[BRANCH_UUID_STRLEN + 1];     /* asked for (VERSION) */
	struct branch_item item;                  /* what was read */
	struct audit_ctx audit;                   /* who the read is for */
	int has_audit;
	branch_store_key_cb cb;
	void *arg;
};

static void get_end(struct get_op *op, const struct branch_key *key, const struct ds_error *err)
{
	branch_store_key_cb cb = op->cb;
	void *arg = op->arg;
	struct ds_error copy;

	if (err != NULL)
		copy = *err;
	branch_item_cleanup(&op->item);
	free(op);
	cb(arg, key, err != NULL ? &copy : NULL);
}

static void get_decrypted_cb(void *arg, const struct kms_result *res, const struct ds_error *kerr)
{
	struct get_op *op = arg;
	struct branch_key key;
	struct ds_error err = { 0 };

	memset(&key, 0, sizeof(key));
	if (kerr != NULL) {
		ds_error_set(&err, kerr->status, kerr->type, "branch key \"%s\" in key store table \"%s\": %s",
			     op->branch_key_id, op->store->table, kerr->message);
		get_end(op, NULL, &err);
		return;
	}
	if (res->plaintext_len != SUITE_KEY_LEN) {
		ds_error_set(&err, 502, DS_ERR_INTERNAL, "branch key \"%s\": KMS returned %zu bytes, not %d",
			     op->branch_key_id, res->plaintext_len, SUITE_KEY_LEN);
		get_end(op, NULL, &err);
		return;
	}
	/* #branch-key-materials-from-authenticated-encryption-context: id and version come from
	 * the context KMS just authenticated. */
	snprintf(key.branch_key_id, sizeof(key.branch_key_id), "%s", op->item.branch_key_id);
	snprintf(key.version, sizeof(key.version), "%s", op->item.version);
	/* A beacon key has no version (#getbeaconkey): version stays "" and its bytes zero. */
	if (op->want != BRANCH_ITEM_BEACON && keyring_uuid_parse(key.version, key.version_bin) != 0) {
		ds_error_set(&err, 502, DS_ERR_INTERNAL, "branch key \"%s\": bad version", op->branch_key_id);
		get_end(op, NULL, &err);
		return;
	}
	memcpy(key.key, res->plaintext, SUITE_KEY_LEN);
	log_debug("branch store: KMS Decrypt opened branch key \"%s\" version %s", key.branch_key_id,
		  key.version);
	get_end(op, &key, NULL);
	branch_key_wipe(&key);
}

static void get_item_cb(void *arg, const cJSON *resp, const char *error_type, const struct ds_error *derr)
{
	struct get_op *op = arg;
	struct ds_error err = { 0 };
	const cJSON *item;

	(void)error_type;
	if (derr != NULL) {
		ds_error_set(&err, derr->status, derr->type, "reading branch key \"%s\" from key store "
			     "table \"%s\": %s", op->branch_key_id, op->store->table, derr->message);
		get_end(op, NULL, &err);
		return;
	}
	item = cJSON_GetObjectItemCaseSensitive(resp, "Item");
	if (item == NULL) {
		if (op->want == BRANCH_ITEM_BEACON)
			ds_error_set(&err, 400, DS_ERR_VALIDATION, "branch key \"%s\" has no beacon key "
				     "(\"beacon:ACTIVE\" item) in key store table \"%s\": it was deleted or "
				     "never created (create one with dynaseal branch-key create)",
				     op->branch_key_id, op->store->table);
		else if (op->want == BRANCH_ITEM_ACTIVE)
			ds_error_set(&err, 400, DS_ERR_VALIDATION, "branch key \"%s\" has no ACTIVE item in "
				     "key store table \"%s\": it was deleted or never created (create one "
				     "with dynaseal branch-key create)", op->branch_key_id, op->store->table);
		else
			ds_error_set(&err, 400, DS_ERR_VALIDATION, "branch key \"%s\" version %s is not in "
				     "key store table \"%s\": the key was deleted, so items written under "
				     "it cannot be decrypted", op->branch_key_id, op->version, op->store->table);
		get_end(op, NULL, &err);
		return;
	}
	if (branch_store_item_parse(item, op->store->table, &op->item, &err) != 0) {
		get_end(op, NULL, &err);
		return;
	}
	if (op->item.kind != op->want || strcmp(op->item.branch_key_id, op->branch_key_id) != 0 ||
	    (op->want == BRANCH_ITEM_VERSION && strcmp(op->item.version, op->version) != 0)) {
		ds_error_set(&err, 502, DS_ERR_INTERNAL, "key store table \"%s\" answered another item "
			     "than branch key \"%s\" asked for", op->store->table, op->branch_key_id);
		get_end(op, NULL, &err);
		return;
	}
	/* #aws-kms-branch-key-decryption: the stored kms-arn must be the configured key (or one
	 * its alias named before); it is decrypted with that key. */
	if (!store_accepts(op->store, op->item.kms_arn)) {
		ds_error_set(&err, 400, DS_ERR_VALIDATION, "branch key \"%s\" is protected by KMS key %s, "
			     "not the configured kms_key_id %s", op->branch_key_id, op->item.kms_arn,
			     op->store->kms_arn);
		get_end(op, NULL, &err);
		return;
	}
	kms_decrypt(op->store->kms, op->item.kms_arn,
		    op->item.enc, op->item.enc_len, &op->item.ec, op->has_audit ? &op->audit : NULL,
		    get_decrypted_cb, op);
}

static void get_start(struct branch_store *s, enum branch_item_kind want, const char *branch_key_id,
		      const char *version, const struct audit_ctx *audit, branch_store_key_cb cb,
		      void *arg)
{
	struct get_op *op = calloc(1, sizeof(*op));
	char type[sizeof(BS_VERSION_PREFIX) + BRANCH_UUID_STRLEN];
	struct ds_error err = { 0 };

	if (op == NULL || strlen(branch_key_id) >= sizeof(op->branch_key_id) ||
	    (version != NULL && strlen(version) != BRANCH_UUID_STRLEN)) {
		free(op);
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "branch key \"%s\": cannot start a key store read",
			     branch_key_id);
		cb(arg, NULL, &err);
		return;
	}
	op->store = s;
	op->want = want;
	snprintf(op->branch_key_id, sizeof(op->branch_key_id), "%s", branch_key_id);
	if (version != NULL)
		snprintf(op->version, sizeof(op->version), "%s", version);
	ec_init(&op->item.ec);
	if (audit != NULL) {
		op->audit = *audit;
		op->has_audit = 1;
	}
	op->cb = cb;
	op->arg = arg;
	if (want == BRANCH_ITEM_ACTIVE)
		snprintf(type, sizeof(type), "%s", BS_TYPE_ACTIVE);
	else if (want == BRANCH_ITEM_BEACON)
		snprintf(type, sizeof(type), "%s", BS_TYPE_BEACON);
	else
		snprintf(type, sizeof(type), "%s%s", BS_VERSION_PREFIX, version);
	bs_get_item(s, branch_key_id, type, get_item_cb, op);
}

void branch_store_get_active(struct branch_store *s, const char *branch_key_id,
			     const struct audit_ctx *audit, branch_store_key_cb cb, void *arg)
{
	get_start(s, BRANCH_ITEM_ACTIVE, branch_key_id, NULL, audit, cb, arg);
}

void branch_store_get_version(struct branch_store *s, const char *branch_key_id, const char *version,
			      const struct audit_ctx *audit, branch_store_key_cb cb, void *arg)
{
	get_start(s, BRANCH_ITEM_VERSION, branch_key_id, version, audit, cb, arg);
}

void branch_store_get_beacon(struct branch_store *s, const char *branch_key_id,
			     const struct audit_ctx *audit, branch_store_key_cb cb, void *arg)
{
	get_start(s, BRANCH_ITEM_BEACON, branch_key_id, NULL, audit, cb, arg);
}
