/*
 * Branch key store writes (MPL framework/branch-key-store.md): CreateKeyStore, CreateKey
 * ("Wrapped Branch Key Creation v1", "Wrapped Beacon Key Creation v1", "Writing Branch Key and
 * Beacon Key to Keystore") and VersionKey (with "Authenticating a Keystore item" and the
 * conditional write that keeps two rotations from racing).  Each operation is a small state
 * machine of KMS and DynamoDB calls; the plaintext branch key never leaves KMS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "crypto/keyring/branch_store_internal.h"
#include "proxy/base/codec.h"
#include "proxy/base/log.h"

/* How long create-store waits for a new table to become ACTIVE. */
#define BS_TABLE_WAIT_S 120

/* One write operation in flight. */
struct admin_op {
	struct branch_store *store;
	int rotate;                                /* VersionKey rather than CreateKey */
	char branch_key_id[256];
	char version[BRANCH_UUID_STRLEN + 1];      /* the new version */
	char create_time[32];
	struct enc_ctx ec_version;                 /* DECRYPT_ONLY context of the new version */
	struct enc_ctx ec_active;                  /* ACTIVE context of the new version */
	struct enc_ctx ec_beacon;                  /* beacon context (CreateKey) */
	unsigned char *enc_version;                /* wrapped DECRYPT_ONLY branch key */
	size_t enc_version_len;
	unsigned char *enc_active;                 /* wrapped ACTIVE branch key */
	size_t enc_active_len;
	unsigned char *enc_beacon;                 /* wrapped beacon key */
	size_t enc_beacon_len;
	struct branch_item old_active;             /* VersionKey: the ACTIVE item replaced */
	struct event *timer;                       /* create-store: DescribeTable polling */
	int polls;
	branch_store_done_cb cb;
	void *arg;
};

static void op_end(struct admin_op *op, const char *text, const struct ds_error *err)
{
	branch_store_done_cb cb = op->cb;
	void *arg = op->arg;
	struct ds_error copy;
	char out[300];

	snprintf(out, sizeof(out), "%s", text != NULL ? text : "");
	if (err != NULL)
		copy = *err;
	ec_cleanup(&op->ec_version);
	ec_cleanup(&op->ec_active);
	ec_cleanup(&op->ec_beacon);
	free(op->enc_version);
	free(op->enc_active);
	free(op->enc_beacon);
	branch_item_cleanup(&op->old_active);
	if (op->timer != NULL)
		event_free(op->timer);
	free(op);
	cb(arg, err != NULL ? NULL : out, err != NULL ? &copy : NULL);
}

static struct admin_op *op_new(struct branch_store *s, branch_store_done_cb cb, void *arg)
{
	struct admin_op *op = calloc(1, sizeof(*op));

	if (op == NULL)
		return NULL;
	op->store = s;
	ec_init(&op->ec_version);
	ec_init(&op->ec_active);
	ec_init(&op->ec_beacon);
	ec_init(&op->old_active.ec);
	op->cb = cb;
	op->arg = arg;
	return op;
}

static int copy_blob(const struct kms_result *res, unsigned char **out, size_t *len)
{
	*out = malloc(res->ciphertext_len ? res->ciphertext_len : 1);
	if (*out == NULL)
		return -1;
	memcpy(*out, res->ciphertext, res->ciphertext_len);
	*len = res->ciphertext_len;
	return 0;
}

/* ---- CreateKeyStore ---- */

static void describe_cb(void *arg, const cJSON *resp, const char *error_type, const struct ds_error *derr);

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admin_op *op = arg;
	cJSON *req = cJSON_CreateObject();

	(void)fd;
	(void)what;
	if (req != NULL)
		cJSON_AddStringToObject(req, "TableName", op->store->table);
	ddb_call(op->store->ddb, "DescribeTable", req, describe_cb, op);
}

/* #keyschema: branch-key-id (HASH, S) and type (RANGE, S). */
static int schema_ok(const cJSON *table)
{
	const cJSON *ks = cJSON_GetObjectItemCaseSensitive(table, "KeySchema");
	const cJSON *e;
	int hash = 0, range = 0, n = 0;

	cJSON_ArrayForEach(e, ks) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "AttributeName");
		const cJSON *kt = cJSON_GetObjectItemCaseSensitive(e, "KeyType");
		n++;
		if (!cJSON_IsString(name) || !cJSON_IsString(kt))
			return 0;
		hash |= strcmp(name->valuestring, BS_ATTR_ID) == 0 && strcmp(kt->valuestring, "HASH") == 0;
		range |= strcmp(name->valuestring, BS_ATTR_TYPE) == 0 && strcmp(kt->valuestring, "RANGE") == 0;
	}
	return n == 2 && hash && range;
}

static void created_table_cb(void *arg, const cJSON *resp, const char *error_type,
			     const struct ds_error *derr)
{
	struct admin_op *op = arg;
	struct timeval tv = { 1, 0 };

	(void)resp;
	(void)error_type;
	if (derr != NULL) {
		op_end(op, NULL, derr);
		return;
	}
	op->timer = evtimer_new(ddb_client_base(op->store->ddb), poll_cb, op);
	if (op->timer == NULL || evtimer_add(op->timer, &tv) != 0) {
		struct ds_error err;
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "out of memory");
		op_end(op, NULL, &err);
	}
}

static void create_table(struct admin_op *op)
{
	cJSON *req = cJSON_Parse("{\"AttributeDefinitions\":[{\"AttributeName\":\"" BS_ATTR_ID "\","
				 "\"AttributeType\":\"S\"},{\"AttributeName\":\"" BS_ATTR_TYPE "\","
				 "\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\""
				 BS_ATTR_ID "\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"" BS_ATTR_TYPE
				 "\",\"KeyType\":\"RANGE\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}");

	if (req != NULL)
		cJSON_AddStringToObject(req, "TableName", op->store->table);
	ddb_call(op->store->ddb, "CreateTable", req, created_table_cb, op);
}

static void describe_cb(void *arg, const cJSON *resp, const char *error_type, const struct ds_error *derr)
{
	struct admin_op *op = arg;
	struct ds_error err = { 0 };
	const cJSON *table, *status;

	if (derr != NULL) {
		/* #createkeystore: a missing table is created; any other error ends the operation. */
		if (strcmp(error_type, "ResourceNotFoundException") == 0 && op->timer == NULL) {
			create_table(op);
			return;
		}
		op_end(op, NULL, derr);
		return;
	}
	table = cJSON_GetObjectItemCaseSensitive(resp, "Table");
	status = cJSON_GetObjectItemCaseSensitive(table, "TableStatus");
	if (!schema_ok(table)) {
		ds_error_set(&err, 400, DS_ERR_VALIDATION, "table \"%s\" exists but its key schema is not "
			     "a key store's (partition key \"branch-key-id\" S, sort key \"type\" S)",
			     op->store->table);
		op_end(op, NULL, &err);
		return;
	}
	if (cJSON_IsString(status) && strcmp(status->valuestring, "ACTIVE") == 0) {
		op_end(op, op->timer != NULL ? "created" : "exists", NULL);
		return;
	}
	if (op->timer == NULL || ++op->polls > BS_TABLE_WAIT_S) {
		if (op->timer == NULL)
			op->timer = evtimer_new(ddb_client_base(op->store->ddb), poll_cb, op);
		if (op->timer == NULL || op->polls > BS_TABLE_WAIT_S) {
			ds_error_set(&err, 503, DS_ERR_UNAVAILABLE, "table \"%s\" is not ACTIVE after %d s",
				     op->store->table, BS_TABLE_WAIT_S);
			op_end(op, NULL, &err);
			return;
		}
	}
	{
		struct timeval tv = { 1, 0 };
		if (evtimer_add(op->timer, &tv) != 0) {
			ds_error_set(&err, 500, DS_ERR_INTERNAL, "cannot arm a timer");
			op_end(op, NULL, &err);
		}
	}
}

void branch_store_create_table(struct branch_store *s, branch_store_done_cb cb, void *arg)
{
	struct admin_op *op = op_new(s, cb, arg);
	cJSON *req = cJSON_CreateObject();
	struct ds_error err;

	if (op == NULL || req == NULL || cJSON_AddStringToObject(req, "TableName", s->table) == NULL) {
		free(op);
		cJSON_Delete(req);
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "out of memory");
		cb(arg, NULL, &err);
		return;
	}
	ddb_call(s->ddb, "DescribeTable", req, describe_cb, op);
}

/* ---- CreateKey and VersionKey ---- */

/* One Put of a TransactWriteItems with its condition. */
static cJSON *put_json(const char *table, const struct enc_ctx *ec, const unsigned char *enc,
		       size_t enc_len, const char *condition, const struct branch_item *old)
{
	cJSON *w = cJSON_CreateObject();
	cJSON *put = w ? cJSON_AddObjectToObject(w, "Put") : NULL;
	cJSON *item = branch_store_item_to_json(ec, enc, enc_len);
	cJSON *names;

	if (put == NULL || item == NULL)
		goto fail;
	cJSON_AddItemToObject(put, "Item", item);
	item = NULL;
	names = cJSON_AddObjectToObject(put, "ExpressionAttributeNames");
	if (cJSON_AddStringToObject(put, "TableName", table) == NULL ||
	    cJSON_AddStringToObject(put, "ConditionExpression", condition) == NULL || names == NULL ||
	    cJSON_AddStringToObject(names, "#bkid", BS_ATTR_ID) == NULL)
		goto fail;
	if (old != NULL) {
		/* VersionKey: the ACTIVE item must still be the one read (#versionkey). */
		char *b64 = malloc(CODEC_B64_ENC_LEN(old->enc_len));
		cJSON *vals = cJSON_AddObjectToObject(put, "ExpressionAttributeValues");
		cJSON *v = vals ? cJSON_AddObjectToObject(vals, ":encOld") : NULL;
		if (b64 != NULL)
			codec_b64_encode(old->enc, old->enc_len, b64);
		if (b64 == NULL || v == NULL || cJSON_AddStringToObject(v, "B", b64) == NULL ||
		    cJSON_AddStringToObject(names, "#enc", BS_ATTR_ENC) == NULL) {
			free(b64);
			goto fail;
		}
		free(b64);
	}
	return w;
fail:
	cJSON_Delete(item);
	cJSON_Delete(w);
	return NULL;
}

static void written_cb(void *arg, const cJSON *resp, const char *error_type, const struct ds_error *derr)
{
	struct admin_op *op = arg;
	struct ds_error err;

	(void)resp;
	if (derr != NULL) {
		if (strcmp(error_type, "TransactionCanceledException") == 0 ||
		    strcmp(error_type, "ConditionalCheckFailedException") == 0) {
			ds_error_set(&err, 400, DS_ERR_VALIDATION, op->rotate
				     ? "branch key \"%s\" was rotated by someone else at the same time; "
				       "nothing was written, run rotate again"
				     : "branch key \"%s\" already exists in key store table \"%s\"; nothing "
				       "was written", op->branch_key_id, op->store->table);
			op_end(op, NULL, &err);
		} else {
			op_end(op, NULL, derr);
		}
		return;
	}
	log_info("branch store: %s branch key \"%s\" version %s in table \"%s\"",
		 op->rotate ? "rotated" : "created", op->branch_key_id, op->version, op->store->table);
	op_end(op, op->rotate ? op->version : op->branch_key_id, NULL);
}

/* #writing-branch-key-and-beacon-key-to-keystore and #versionkey. */
static void write_items(struct admin_op *op)
{
	const char *t = op->store->table;
	cJSON *req = cJSON_CreateObject();
	cJSON *list = req ? cJSON_AddArrayToObject(req, "TransactItems") : NULL;
	cJSON *a = put_json(t, &op->ec_version, op->enc_version, op->enc_version_len,
			    "attribute_not_exists(#bkid)", NULL);
	cJSON *b = op->rotate
		   ? put_json(t, &op->ec_active, op->enc_active, op->enc_active_len,
			      "attribute_exists(#bkid) AND #enc = :encOld", &op->old_active)
		   : put_json(t, &op->ec_active, op->enc_active, op->enc_active_len,
			      "attribute_not_exists(#bkid)", NULL);
	cJSON *c = op->rotate ? NULL
		   : put_json(t, &op->ec_beacon, op->enc_beacon, op->enc_beacon_len,
			      "attribute_not_exists(#bkid)", NULL);

	if (list == NULL || a == NULL || b == NULL || (!op->rotate && c == NULL)) {
		cJSON_Delete(a);
		cJSON_Delete(b);
		cJSON_Delete(c);
		cJSON_Delete(req);
		req = NULL;
	} else {
		cJSON_AddItemToArray(list, a);
		cJSON_AddItemToArray(list, b);
		if (c != NULL)
			cJSON_AddItemToArray(list, c);
	}
	ddb_call(op->store->ddb, "TransactWriteItems", req, written_cb, op);
}

static void beacon_cb(void *arg, const struct kms_result *res, const struct ds_error *kerr)
{
	struct admin_op *op = arg;
	struct ds_error err;

	if (kerr != NULL) {
		op_end(op, NULL, kerr);
		return;
	}
	if (copy_blob(res, &op->enc_beacon, &op->enc_beacon_len) != 0) {
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "out of memory");
		op_end(op, NULL, &err);
		return;
	}
	write_items(op);
}

static void active_cb(void *arg, const struct kms_result *res, const struct ds_error *kerr)
{
	struct admin_op *op = arg;
	struct ds_error err;

	if (kerr != NULL) {
		op_end(op, NULL, kerr);
		return;
	}
	if (copy_blob(res, &op->enc_active, &op->enc_active_len) != 0) {
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "out of memory");
		op_end(op, NULL, &err);
		return;
	}
	if (op->rotate) {
		write_items(op);
		return;
	}
	/* #wrapped-beacon-key-creation-v1. */
	kms_generate_data_key_without_plaintext(op->store->kms, op->store->kms_arn, &op->ec_beacon,
						SUITE_KEY_LEN, NULL, beacon_cb, op);
}

static void version_generated_cb(void *arg, const struct kms_result *res, const struct ds_error *kerr)
{
	struct admin_op *op = arg;
	struct ds_error err;

	if (kerr != NULL) {
		op_end(op, NULL, kerr);
		return;
	}
	if (copy_blob(res, &op->enc_version, &op->enc_version_len) != 0) {
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "out of memory");
		op_end(op, NULL, &err);
		return;
	}
	/* #wrapped-branch-key-creation-v1: the ACTIVE copy is the same key under its context. */
	kms_re_encrypt(op->store->kms, op->store->kms_arn, &op->ec_version, op->enc_version,
		       op->enc_version_len, op->store->kms_arn, &op->ec_active, NULL, active_cb, op);
}

/* A new version: fresh uuid and time, its contexts, then GenerateDataKeyWithoutPlaintext. */
static void new_version(struct admin_op *op)
{
	struct ds_error err;
	struct timespec ts;
	const char *id = op->branch_key_id;
	const char *t = op->store->table;
	const char *arn = op->store->kms_arn;

	clock_gettime(CLOCK_REALTIME, &ts);
	branch_store_timestamp(&ts, op->create_time);
	if (branch_store_uuid4(op->version) != 0 ||
	    branch_store_ec_build(BRANCH_ITEM_VERSION, id, op->version, op->create_time, t, arn,
				  &op->ec_version) != 0 ||
	    branch_store_ec_build(BRANCH_ITEM_ACTIVE, id, op->version, op->create_time, t, arn,
				  &op->ec_active) != 0 ||
	    (!op->rotate && branch_store_ec_build(BRANCH_ITEM_BEACON, id, NULL, op->create_time, t, arn,
						  &op->ec_beacon) != 0)) {
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "branch key \"%s\": building its encryption "
			     "context failed", id);
		op_end(op, NULL, &err);
		return;
	}
	kms_generate_data_key_without_plaintext(op->store->kms, arn, &op->ec_version, SUITE_KEY_LEN,
						NULL, version_generated_cb, op);
}

static int need_kms_arn(struct branch_store *s, branch_store_done_cb cb, void *arg)
{
	struct ds_error err;

	if (s->kms_arn != NULL)
		return 0;
	ds_error_set(&err, 400, DS_ERR_VALIDATION, "creating or rotating a branch key needs the KMS "
		     "key ARN (--kms-key)");
	cb(arg, NULL, &err);
	return -1;
}

void branch_store_create_key(struct branch_store *s, branch_store_done_cb cb, void *arg)
{
	struct admin_op *op;
	struct ds_error err;

	if (need_kms_arn(s, cb, arg) != 0)
		return;
	op = op_new(s, cb, arg);
	if (op == NULL || branch_store_uuid4(op->branch_key_id) != 0) {
		free(op);
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "cannot make a branch key id");
		cb(arg, NULL, &err);
		return;
	}
	new_version(op);
}

static void authenticated_cb(void *arg, const struct kms_result *res, const struct ds_error *kerr)
{
	struct admin_op *op = arg;
	struct ds_error err;

	(void)res;
	if (kerr != NULL) {
		ds_error_set(&err, kerr->status, kerr->type, "the ACTIVE item of branch key \"%s\" does not "
			     "authenticate with KMS: %s", op->branch_key_id, kerr->message);
		op_end(op, NULL, &err);
		return;
	}
	new_version(op);
}

static void active_read_cb(void *arg, const cJSON *resp, const char *error_type, const struct ds_error *derr)
{
	struct admin_op *op = arg;
	struct ds_error err = { 0 };
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(resp, "Item");

	(void)error_type;
	if (derr != NULL) {
		op_end(op, NULL, derr);
		return;
	}
	if (item == NULL) {
		ds_error_set(&err, 400, DS_ERR_VALIDATION, "branch key \"%s\" has no ACTIVE item in key "
			     "store table \"%s\"", op->branch_key_id, op->store->table);
		op_end(op, NULL, &err);
		return;
	}
	if (branch_store_item_parse(item, op->store->table, &op->old_active, &err) != 0) {
		op_end(op, NULL, &err);
		return;
	}
	if (op->old_active.kind != BRANCH_ITEM_ACTIVE || strcmp(op->old_active.kms_arn, op->store->kms_arn) != 0) {
		ds_error_set(&err, 400, DS_ERR_VALIDATION, "branch key \"%s\" is protected by KMS key %s, "
			     "not %s; rotate it with that key", op->branch_key_id, op->old_active.kms_arn,
			     op->store->kms_arn);
		op_end(op, NULL, &err);
		return;
	}
	/* #authenticating-a-keystore-item: ReEncrypt to the same key and context proves KMS
	 * wrapped this item's attributes without handing out the key. */
	kms_re_encrypt(op->store->kms, op->store->kms_arn, &op->old_active.ec, op->old_active.enc,
		       op->old_active.enc_len, op->store->kms_arn, &op->old_active.ec, NULL, authenticated_cb, op);
}

void branch_store_version_key(struct branch_store *s, const char *branch_key_id,
			      branch_store_done_cb cb, void *arg)
{
	struct admin_op *op;
	struct ds_error err;

	if (need_kms_arn(s, cb, arg) != 0)
		return;
	op = op_new(s, cb, arg);
	if (op == NULL || branch_key_id == NULL || *branch_key_id == '\0' ||
	    strlen(branch_key_id) >= sizeof(op->branch_key_id)) {
		free(op);
		ds_error_set(&err, 400, DS_ERR_VALIDATION, "rotate needs a branch key id (--id) of at most "
			     "255 bytes");
		cb(arg, NULL, &err);
		return;
	}
	op->rotate = 1;
	snprintf(op->branch_key_id, sizeof(op->branch_key_id), "%s", branch_key_id);
	bs_get_item(s, branch_key_id, BS_TYPE_ACTIVE, active_read_cb, op);
}
