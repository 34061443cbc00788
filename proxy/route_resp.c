/*
 * Responses to requests on configured tables: every item in the answer is verified and
 * decrypted, projections are trimmed back to what the application asked for, and the parts
 * DynamoDB hands back for a retry (UnprocessedKeys, UnprocessedItems) are restored to the
 * application's own form so the SDKs' automatic retries keep working.
 */
#include "proxy/route_internal.h"
#include "proxy/route.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "crypto/item_crypt.h"
#include "proxy/ddb.h"
#include "proxy/log.h"
#include "proxy/worker.h"

static int add_read(struct route_state *st, struct crypt_batch *b, const struct route_proj *rp,
		    cJSON *item)
{
	struct keyring *k;

	if (rp == NULL || rp->table == NULL || !cJSON_IsObject(item))
		return 0;
	k = route_keyring(st, rp->table);
	if (k == NULL || crypt_batch_add(b, rp->table, k, item, 0) != 0)
		return -1;
	if (!rp->has_proj)
		return 0;
	if (st->strips_len == st->strips_cap) {
		size_t cap = st->strips_cap ? st->strips_cap * 2 : 16;
		struct route_strip *n = realloc(st->strips, cap * sizeof(*n));
		if (n == NULL)
			return -1;
		st->strips = n;
		st->strips_cap = cap;
	}
	st->strips[st->strips_len++] = (struct route_strip){ item, rp };
	return 0;
}

/* The projection entry of a BatchGetItem table. */
static const struct route_proj *batch_get_proj(const struct route_state *st, const char *table)
{
	for (size_t i = 0; table != NULL && i < st->projs_len; i++) {
		if (st->projs[i].name != NULL && strcmp(st->projs[i].name, table) == 0)
			return &st->projs[i];
	}
	return NULL;
}

/* collect_items: an answer whose shape is not DynamoDB's (its items could not be found). */
#define COLLECT_MALFORMED (-2)

/* Finds every item of a successful response and adds it to the batch: 0, -1 out of memory,
 * or COLLECT_MALFORMED. */
static int collect_items(struct route_state *st, struct crypt_batch *b, cJSON *doc)
{
	cJSON *x;
	size_t i = 0;

	switch (st->op) {
	case ROUTE_GET:
		return add_read(st, b, &st->projs[0], cJSON_GetObjectItemCaseSensitive(doc, "Item"));
	case ROUTE_PUT:
	case ROUTE_DELETE:
		return add_read(st, b, &st->projs[0], cJSON_GetObjectItemCaseSensitive(doc, "Attributes"));
	case ROUTE_UPDATE:
		/* ALL_OLD / ALL_NEW return whole items; UPDATED_* only the DO_NOTHING attributes. */
		x = cJSON_GetObjectItemCaseSensitive(doc, "Attributes");
		if (x != NULL && cJSON_GetObjectItemCaseSensitive(x, ITEM_HEAD_ATTR) == NULL)
			return 0;
		return add_read(st, b, &st->projs[0], x);
	case ROUTE_QUERY:
	case ROUTE_SCAN:
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(doc, "Items")) {
			if (add_read(st, b, &st->projs[0], x) != 0)
				return -1;
		}
		return 0;
	case ROUTE_BATCH_GET: {
		cJSON *list, *responses = cJSON_GetObjectItemCaseSensitive(doc, "Responses");
		/* Items are told apart by their table's name: without names, none is checked. */
		if (responses != NULL && !cJSON_IsObject(responses))
			return COLLECT_MALFORMED;
		cJSON_ArrayForEach(list, responses) {
			const struct route_proj *rp = batch_get_proj(st, list->string);
			cJSON_ArrayForEach(x, list) {
				if (add_read(st, b, rp, x) != 0)
					return -1;
			}
		}
		return 0;
	}
	case ROUTE_TRANSACT_GET:
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(doc, "Responses")) {
			if (i < st->projs_len &&
			    add_read(st, b, &st->projs[i], cJSON_GetObjectItemCaseSensitive(x, "Item")) != 0)
				return -1;
			i++;
		}
		return 0;
	default:
		return 0;
	}
}

/* Items inside an error: ConditionalCheckFailedException's Item (single-item writes with
 * ReturnValuesOnConditionCheckFailure) and TransactionCanceledException's reasons. */
static int collect_error_items(struct route_state *st, struct crypt_batch *b, cJSON *doc)
{
	cJSON *x;
	size_t i = 0;

	x = cJSON_GetObjectItemCaseSensitive(doc, "Item");
	if (x != NULL && st->table != NULL) {
		/* No projection applies to these items. */
		if (crypt_batch_add(b, st->table, route_keyring(st, st->table), x, 0) != 0)
			return -1;
	}
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(doc, "CancellationReasons")) {
		cJSON *item = cJSON_GetObjectItemCaseSensitive(x, "Item");
		if (item != NULL && i < st->projs_len && st->projs[i].table != NULL &&
		    crypt_batch_add(b, st->projs[i].table, route_keyring(st, st->projs[i].table),
				    item, 0) != 0)
			return -1;
		i++;
	}
	return 0;
}

/* Whether two items have the same key attribute values for table t. */
static int same_key(const struct config_table *t, const cJSON *a, const cJSON *b)
{
	const cJSON *pa = cJSON_GetObjectItemCaseSensitive(a, t->partition_key);
	const cJSON *pb = cJSON_GetObjectItemCaseSensitive(b, t->partition_key);

	if (pa == NULL || pb == NULL || !cJSON_Compare(pa, pb, 1))
		return 0;
	if (t->sort_key == NULL)
		return 1;
	pa = cJSON_GetObjectItemCaseSensitive(a, t->sort_key);
	pb = cJSON_GetObjectItemCaseSensitive(b, t->sort_key);
	return pa != NULL && pb != NULL && cJSON_Compare(pa, pb, 1);
}

/* BatchWriteItem: puts the application's plaintext items back into UnprocessedItems. */
static int restore_unprocessed_items(struct route_state *st, cJSON *doc)
{
	cJSON *list;

	cJSON_ArrayForEach(list, cJSON_GetObjectItemCaseSensitive(doc, "UnprocessedItems")) {
		const struct config_table *t = route_table(st, list->string);
		const cJSON *orig = cJSON_GetObjectItemCaseSensitive(st->original, list->string);
		cJSON *wr;
		if (t == NULL)
			continue;
		cJSON_ArrayForEach(wr, list) {
			cJSON *put = cJSON_GetObjectItemCaseSensitive(wr, "PutRequest");
			cJSON *item = cJSON_GetObjectItemCaseSensitive(put, "Item");
			const cJSON *o;
			int found = 0;
			if (item == NULL)
				continue;
			cJSON_ArrayForEach(o, orig) {
				const cJSON *oitem = cJSON_GetObjectItemCaseSensitive(
					cJSON_GetObjectItemCaseSensitive(o, "PutRequest"), "Item");
				if (oitem != NULL && same_key(t, oitem, item)) {
					cJSON_ReplaceItemInObjectCaseSensitive(put, "Item", cJSON_Duplicate(oitem, 1));
					found = 1;
					break;
				}
			}
			if (!found) {
				ds_error_set(&st->err, 500, DS_ERR_INTERNAL, "table \"%s\": DynamoDB returned "
					     "an unprocessed item dynaseal cannot match to the request; retry "
					     "the whole BatchWriteItem", t->name);
				return -1;
			}
		}
	}
	return 0;
}

/* BatchGetItem: UnprocessedKeys get the application's own projection back. */
static void restore_unprocessed_keys(struct route_state *st, cJSON *doc)
{
	cJSON *ka;

	cJSON_ArrayForEach(ka, cJSON_GetObjectItemCaseSensitive(doc, "UnprocessedKeys")) {
		const struct route_proj *rp = batch_get_proj(st, ka->string);
		cJSON *orig;
		cJSON *keys;
		if (rp == NULL || rp->original == NULL)
			continue;
		orig = cJSON_Duplicate(rp->original, 1);
		keys = cJSON_DetachItemFromObjectCaseSensitive(ka, "Keys");
		if (orig == NULL || keys == NULL) {
			cJSON_Delete(orig);
			cJSON_Delete(keys);
			continue;
		}
		cJSON_ReplaceItemInObjectCaseSensitive(orig, "Keys", keys);
		cJSON_ReplaceItemViaPointer(cJSON_GetObjectItemCaseSensitive(doc, "UnprocessedKeys"), ka, orig);
		ka = orig;
	}
}

static void response_ready(void *arg, struct crypt_batch *b, const struct ds_error *err)
{
	struct route_state *st = arg;
	struct txn *t = st->t;
	struct ds_error e = { 0 };
	cJSON *doc = crypt_batch_doc(b);
	struct http_msg *resp;
	char *body;

	if (err != NULL) {
		e = *err;
		txn_fail(t, &e);
		return;
	}
	for (size_t i = 0; i < st->strips_len; i++)
		ddb_projection_strip(&st->strips[i].rp->proj, st->strips[i].item);
	if (st->op == ROUTE_BATCH_GET)
		restore_unprocessed_keys(st, doc);
	if (st->op == ROUTE_BATCH_WRITE && restore_unprocessed_items(st, doc) != 0) {
		e = st->err;
		txn_fail(t, &e);
		return;
	}
	body = cJSON_PrintUnformatted(doc);
	if (body == NULL) {
		ds_error_set(&e, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		txn_fail(t, &e);
		return;
	}
	resp = st->resp;
	st->resp = NULL;
	evbuffer_drain(resp->body, evbuffer_get_length(resp->body));
	evbuffer_add(resp->body, body, strlen(body));
	cJSON_free(body);
	txn_respond(t, resp, 1);
}

void route_response_cb(void *arg, struct http_msg *resp, const struct ds_error *err)
{
	struct route_state *st = arg;
	struct txn *t = st->t;
	const struct http_header *enc;
	struct ds_error e = { 0 };
	struct evbuffer *body;
	cJSON *doc;
	int rc;

	t->call = NULL;
	if (err != NULL) {
		metrics_inc(&t->worker->metrics.upstream_errors, 1);
		txn_fail(t, err);
		return;
	}
	enc = http_msg_header(resp, "content-encoding");
	if (enc != NULL && strcasecmp(enc->value, "identity") != 0) {
		http_msg_free(resp);
		ds_error_set(&e, 502, DS_ERR_INTERNAL, "DynamoDB answered with Content-Encoding \"%s\" "
			     "although dynaseal asked for identity; dynaseal cannot read it",
			     enc->value);
		txn_fail(t, &e);
		return;
	}
	if (resp->status != 200 && resp->status != 400) {
		txn_respond(t, resp, 0);
		return;
	}
	body = resp->body;
	doc = cJSON_ParseWithLength((const char *)evbuffer_pullup(body, -1), evbuffer_get_length(body));
	if (doc == NULL && resp->status == 200) {
		/* A success dynaseal cannot parse cannot be verified and decrypted: never relayed. */
		http_msg_free(resp);
		ds_error_set(&e, 502, DS_ERR_INTERNAL, "DynamoDB's answer to %s on table \"%s\" is not "
			     "JSON; dynaseal cannot verify or decrypt it; retry the request",
			     t->op[0] ? t->op : "the request", t->table);
		txn_fail(t, &e);
		return;
	}
	if (doc == NULL) {
		txn_respond(t, resp, 0);
		return;
	}
	{
		/* cJSON reads the first copy of a repeated key, the application's parser may read
		 * the last: an answer with a key twice could carry an item nobody verified. */
		const char *dup = ddb_json_duplicate_key(doc);
		if (dup != NULL) {
			ds_error_set(&e, 502, DS_ERR_INTERNAL, "DynamoDB's answer to %s repeats the JSON "
				     "key \"%.64s\" in one object; dynaseal cannot tell which copy the "
				     "application would read; retry the request", t->op, dup);
			cJSON_Delete(doc);
			http_msg_free(resp);
			txn_fail(t, &e);
			return;
		}
	}
	st->resp = resp;
	st->batch = crypt_batch_new(doc);
	if (st->batch != NULL) {
		crypt_batch_set_audit(st->batch, &t->audit);
		crypt_batch_set_metrics(st->batch, &t->worker->metrics);
		crypt_batch_set_owner(st->batch, route_gen_release, worker_gen_hold(t->gen));
	}
	if (st->batch == NULL) {
		cJSON_Delete(doc);
		ds_error_set(&e, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		txn_fail(t, &e);
		return;
	}
	rc = resp->status == 200 ? collect_items(st, st->batch, doc) : collect_error_items(st, st->batch, doc);
	if (rc == COLLECT_MALFORMED) {
		ds_error_set(&e, 502, DS_ERR_INTERNAL, "DynamoDB's answer to %s is not shaped as its API "
			     "defines; dynaseal cannot verify or decrypt it; retry the request", t->op);
		txn_fail(t, &e);
		return;
	}
	if (rc != 0) {
		ds_error_set(&e, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		txn_fail(t, &e);
		return;
	}
	if (crypt_batch_len(st->batch) == 0 && !(st->op == ROUTE_BATCH_WRITE &&
	    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "UnprocessedItems")) > 0) &&
	    !(st->op == ROUTE_BATCH_GET &&
	    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "UnprocessedKeys")) > 0)) {
		/* Nothing to decrypt: the answer goes back byte for byte. */
		st->resp = NULL;
		txn_respond(t, resp, 0);
		return;
	}
	crypt_batch_run(st->batch, response_ready, st);
}
