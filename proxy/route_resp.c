/*
 * Responses to requests on configured tables: every item in the answer is verified and
 * decrypted, projections are trimmed back to what the application asked for, and the parts
 * DynamoDB hands back for a retry (UnprocessedKeys, UnprocessedItems) are restored to the
 * application's own form so the SDKs' automatic retries keep working.
 *
 * Items are looked for wherever an SDK reads them (the API reference, 2012-08-10): Item,
 * Items, Attributes, Responses, and in errors Item and CancellationReasons[i].Item.  An item
 * that fails verification is refused as GetItem's is (item_crypt.h); an answer whose shape
 * hides an item, or holds one dynaseal cannot attribute to a table or verify (an UpdateItem
 * UPDATED_NEW answer with a signed attribute), is refused whole with a 502: nothing reaches
 * the application unverified.
 */
#include "proxy/ddb/ddb_eval.h"
#include "proxy/route_beacon.h"
#include "proxy/route_internal.h"
#include "proxy/route_filter.h"
#include "proxy/route_index.h"
#include "proxy/route_legacy.h"
#include "proxy/route_rmw.h"
#include "proxy/route_tx.h"
#include "proxy/base/json.h"
#include "proxy/route.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "crypto/item/item_crypt.h"
#include "proxy/ddb/ddb.h"
#include "proxy/base/log.h"
#include "proxy/worker.h"

/* An answer dynaseal cannot read with certainty: refused as the upstream's fault (502), as
 * every malformed answer is.  Always -1. */
static int answer_refused(struct route_state *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int answer_refused(struct route_state *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ds_error_vset(&st->err, 502, DS_ERR_INTERNAL, fmt, ap);
	va_end(ap);
	return -1;
}

static int out_of_memory(struct route_state *st)
{
	ds_error_set(&st->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
	return -1;
}

/* Refuses a member where the API puts an item (or a list of them) that is not one. */
static int not_a_map(struct route_state *st, const struct config_table *t, const char *where)
{
	return answer_refused(st, "table \"%s\": DynamoDB's answer to %s holds %s that is not a map "
			      "of attributes; dynaseal cannot verify it; retry the request",
			      t->name, st->t->op, where);
}

static int not_a_list(struct route_state *st, const char *where)
{
	return answer_refused(st, "DynamoDB's answer to %s holds %s that is not a list; dynaseal "
			      "cannot verify the items in it; retry the request", st->t->op, where);
}

/*
 * Adds an item of an answer to verify and decrypt: item may be absent (NULL), else it must be
 * a map.  where names its place ("Item", "Items[3]") for refusals; with has_where the place
 * goes in the item's refusal too, after the table's name.
 */
static int add_read(struct route_state *st, struct crypt_batch *b, const struct route_proj *rp,
		    cJSON *item, const char *where, int has_where)
{
	struct keyring *k;
	int rc;

	if (rp == NULL || rp->table == NULL || item == NULL)
		return 0;
	if (!cJSON_IsObject(item))
		return not_a_map(st, rp->table, where);
	k = route_keyring(st, rp->table);
	if (k == NULL) {
		ds_error_set(&st->err, 500, DS_ERR_INTERNAL, "table \"%s\": its keyring \"%s\" is not "
			     "usable on this worker", rp->table->name, rp->table->keyring);
		return -1;
	}
	rc = has_where ? crypt_batch_add_read_at(b, rp->table, k, item, where)
		       : crypt_batch_add(b, rp->table, k, item, 0);
	if (rc != 0)
		return out_of_memory(st);
	if (!rp->has_proj)
		return 0;
	if (st->strips_len == st->strips_cap) {
		size_t cap = st->strips_cap ? st->strips_cap * 2 : 16;
		struct route_strip *n = realloc(st->strips, cap * sizeof(*n));
		if (n == NULL)
			return out_of_memory(st);
		st->strips = n;
		st->strips_cap = cap;
	}
	st->strips[st->strips_len++] = (struct route_strip){ item, rp };
	return 0;
}

/* The projection entry of a BatchGetItem table: the RequestItems key the answer repeats, else
 * (a table asked by its ARN, answered by its name) the entry of the same configured table.
 * NULL when the request did not ask for that table. */
static const struct route_proj *batch_get_proj(const struct route_state *st, const char *table)
{
	const struct config_table *t = route_table(st, table);

	for (size_t i = 0; table != NULL && i < st->projs_len; i++) {
		if (st->projs[i].name != NULL && strcmp(st->projs[i].name, table) == 0)
			return &st->projs[i];
	}
	for (size_t i = 0; t != NULL && i < st->projs_len; i++) {
		if (st->projs[i].table == t)
			return &st->projs[i];
	}
	return NULL;
}

/* A name for an attribute's action in messages. */
static const char *action_label(enum attr_action a)
{
	switch (a) {
	case ACTION_ENCRYPT_AND_SIGN:
		return "encrypted (ENCRYPT_AND_SIGN)";
	case ACTION_SIGN_ONLY:
		return "signed (SIGN_ONLY)";
	case ACTION_SIGN_AND_INCLUDE_IN_EC:
		return "signed (SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT)";
	default:
		return "unsigned (DO_NOTHING)";
	}
}

void route_note_return_values(struct route_state *st, const cJSON *req)
{
	static const struct {
		const char *name;
		enum route_return ret;
	} values[] = {
		{ "ALL_OLD", ROUTE_RETURN_ALL }, { "ALL_NEW", ROUTE_RETURN_ALL },
		{ "UPDATED_OLD", ROUTE_RETURN_UPDATED }, { "UPDATED_NEW", ROUTE_RETURN_UPDATED },
	};
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(req, "ReturnValues");

	st->ret = ROUTE_RETURN_NONE;
	st->ret_name = "NONE";
	for (size_t i = 0; cJSON_IsString(rv) && i < sizeof(values) / sizeof(values[0]); i++) {
		if (strcmp(rv->valuestring, values[i].name) == 0) {
			st->ret = values[i].ret;
			st->ret_name = values[i].name;
		}
	}
}

/*
 * A single-item write's Attributes, read by what its ReturnValues asked for.  ALL_OLD and
 * ALL_NEW return a whole item: verified and decrypted like any item read (an item without
 * aws_dbe_head follows plaintext_policy).  UPDATED_OLD and UPDATED_NEW return the attributes
 * the update wrote, and route.c lets an update write DO_NOTHING attributes only: anything
 * else there is no answer DynamoDB gives, and nothing dynaseal could verify.  NONE returns
 * no attributes.
 */
static int collect_attributes(struct route_state *st, struct crypt_batch *b, cJSON *doc)
{
	cJSON *attrs = cJSON_GetObjectItemCaseSensitive(doc, "Attributes");
	const struct config_table *t = st->table;
	const char *rv = st->ret_name != NULL ? st->ret_name : "NONE";
	char where[48];
	const cJSON *a;

	if (attrs == NULL || t == NULL)
		return 0;
	if (!cJSON_IsObject(attrs))
		return not_a_map(st, t, "Attributes");
	if (st->ret == ROUTE_RETURN_ALL) {
		snprintf(where, sizeof(where), "%s Attributes", st->t->op);
		return add_read(st, b, &st->projs[0], attrs, where, 1);
	}
	cJSON_ArrayForEach(a, attrs) {
		enum attr_action action;
		const char *why;
		if (st->ret == ROUTE_RETURN_NONE)
			return answer_refused(st, "table \"%s\": in DynamoDB's answer to %s, Attributes "
					      "holds \"%.64s\" although the request asked for none "
					      "(ReturnValues NONE); dynaseal cannot verify it; retry the "
					      "request", t->name, st->t->op, a->string);
		if (item_name_is_reserved(a->string, strlen(a->string)))
			why = "reserved for the encryption format (aws_dbe_*)";
		else if (config_table_action(t, a->string, strlen(a->string), &action) != 0)
			why = "not in attribute_actions (nor allowed unsigned)";
		else if (action != ACTION_DO_NOTHING)
			why = action_label(action);
		else
			continue;
		return answer_refused(st, "table \"%s\": in DynamoDB's answer to %s (ReturnValues %s), "
				      "Attributes holds \"%.64s\", which is %s; that answer holds only "
				      "the attributes the update wrote, all DO_NOTHING, so dynaseal "
				      "cannot verify it; retry the request", t->name, st->t->op, rv,
				      a->string, why);
	}
	return 0;
}

/* A list of items (Query and Scan's Items, a BatchGetItem table's answer), each verified. */
static int collect_list(struct route_state *st, struct crypt_batch *b, const struct route_proj *rp,
			cJSON *list, const char *name)
{
	char where[320];
	cJSON *x;
	size_t i = 0;

	if (list == NULL || rp == NULL || rp->table == NULL)
		return 0;
	if (!cJSON_IsArray(list))
		return not_a_list(st, name);
	cJSON_ArrayForEach(x, list) {
		snprintf(where, sizeof(where), "%s[%zu]", name, i++);
		if (add_read(st, b, rp, x, where, 0) != 0)
			return -1;
	}
	return 0;
}

/* Finds every item of a successful response and adds it to the batch: 0, or -1 with st->err
 * set (out of memory, or an answer dynaseal cannot read). */
/* DynamoDB's answer to the expression dynaseal wrote from a legacy parameter, in the words it
 * uses for that parameter (route_legacy_message).  1 when the message changed. */
static int reword_legacy_error(const struct route_state *st, cJSON *doc)
{
	cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "message");
	char buf[512];
	const char *words;

	if (m == NULL)
		m = cJSON_GetObjectItemCaseSensitive(doc, "Message");
	if (!cJSON_IsString(m) ||
	    (words = route_legacy_message(st, m->valuestring, buf, sizeof(buf))) == NULL)
		return 0;
	return cJSON_SetValuestring(m, words) != NULL;
}

/*
 * A key DynamoDB hands back beside the items (LastEvaluatedKey, ItemCollectionKey) is relayed
 * without a signature to check, so it may hold key attributes only: those of the table
 * (partition_only: its partition key alone), or with an index also the index's, which are
 * never encrypted.  Anything else (an encrypted or reserved attribute, a value that is not a
 * key's S, N or B) is refused rather than handed to the application unverified.
 */
static int check_answer_key(struct route_state *st, const struct config_table *t,
			    const cJSON *key, const char *where, int index, int partition_only)
{
	const cJSON *a;

	if (key == NULL || t == NULL)
		return 0;
	if (!cJSON_IsObject(key))
		return not_a_map(st, t, where);
	cJSON_ArrayForEach(a, key) {
		size_t n = strlen(a->string);
		enum attr_action act = ACTION_DO_NOTHING;
		int is_key = partition_only ? strcmp(a->string, t->partition_key) == 0
					    : config_table_is_key(t, a->string, n);
		const cJSON *v = a->child;
		int scalar = cJSON_IsObject(a) && v != NULL && v->next == NULL &&
			     (strcmp(v->string, "S") == 0 || strcmp(v->string, "N") == 0 ||
			      strcmp(v->string, "B") == 0) && cJSON_IsString(v);

		/* An index keyed by a beacon pages by it: an HMAC, not the value. */
		if (!is_key && index && route_beacon_is_attr(t, a->string) && scalar &&
		    strcmp(v->string, "S") == 0)
			continue;
		if (!is_key && (!index || item_name_is_reserved(a->string, n) ||
				config_table_action(t, a->string, n, &act) != 0 ||
				act == ACTION_ENCRYPT_AND_SIGN))
			return answer_refused(st, "table \"%s\": DynamoDB's answer to %s holds %s with "
					      "\"%.64s\", which is not a key attribute; dynaseal cannot "
					      "pass on what it cannot verify; retry the request",
					      t->name, st->t->op, where, a->string);
		if (!scalar)
			return answer_refused(st, "table \"%s\": DynamoDB's answer to %s holds %s whose "
					      "\"%.64s\" is not a key value (S, N or B); retry the request",
					      t->name, st->t->op, where, a->string);
	}
	return 0;
}

/* The ItemCollectionMetrics of a write: {ItemCollectionKey: {pk}, ...}, or per table for
 * BatchWriteItem and TransactWriteItems. */
static int check_collection_keys(struct route_state *st, const cJSON *doc)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "ItemCollectionMetrics"), *tbl, *x;

	if (m == NULL)
		return 0;
	if (st->table != NULL)
		return check_answer_key(st, st->table,
					cJSON_GetObjectItemCaseSensitive(m, "ItemCollectionKey"),
					"ItemCollectionMetrics.ItemCollectionKey", 0, 1);
	cJSON_ArrayForEach(tbl, m) {
		const struct config_table *t = route_table(st, tbl->string);
		cJSON_ArrayForEach(x, tbl)
			if (check_answer_key(st, t, cJSON_GetObjectItemCaseSensitive(x, "ItemCollectionKey"),
					     "ItemCollectionMetrics[].ItemCollectionKey", 0, 1) != 0)
				return -1;
	}
	return 0;
}

static int collect_items(struct route_state *st, struct crypt_batch *b, cJSON *doc)
{
	cJSON *x, *responses;
	char where[320];
	size_t i = 0;

	switch (st->op) {
	case ROUTE_GET:
		return add_read(st, b, &st->projs[0], cJSON_GetObjectItemCaseSensitive(doc, "Item"),
				"Item", 0);
	case ROUTE_PUT:
	case ROUTE_DELETE:
	case ROUTE_UPDATE:
		if (check_collection_keys(st, doc) != 0)
			return -1;
		return collect_attributes(st, b, doc);
	case ROUTE_QUERY:
	case ROUTE_SCAN:
		if (check_answer_key(st, st->table, cJSON_GetObjectItemCaseSensitive(doc,
				     "LastEvaluatedKey"), "LastEvaluatedKey", st->index, 0) != 0)
			return -1;
		return collect_list(st, b, &st->projs[0], cJSON_GetObjectItemCaseSensitive(doc, "Items"),
				    "Items");
	case ROUTE_BATCH_WRITE:
	case ROUTE_TRANSACT_WRITE:
		return check_collection_keys(st, doc);
	case ROUTE_BATCH_GET:
		responses = cJSON_GetObjectItemCaseSensitive(doc, "Responses");
		/* Items are told apart by their table's name: without names, none is checked. */
		if (responses != NULL && !cJSON_IsObject(responses))
			return answer_refused(st, "DynamoDB's answer to %s holds Responses that is not a "
					      "map of tables; dynaseal cannot verify the items in it; "
					      "retry the request", st->t->op);
		cJSON_ArrayForEach(x, responses) {
			const struct route_proj *rp = batch_get_proj(st, x->string);
			const struct config_table *t = route_table(st, x->string);
			if (rp == NULL && t != NULL)
				return answer_refused(st, "table \"%s\": DynamoDB's answer to %s holds "
						      "Responses for it, but the request did not ask for "
						      "it; dynaseal cannot verify them; retry the request",
						      t->name, st->t->op);
			snprintf(where, sizeof(where), "Responses.%.255s", x->string);
			if (collect_list(st, b, rp, x, where) != 0)
				return -1;
		}
		return 0;
	case ROUTE_TRANSACT_GET:
		responses = cJSON_GetObjectItemCaseSensitive(doc, "Responses");
		if (responses != NULL && !cJSON_IsArray(responses))
			return not_a_list(st, "Responses");
		cJSON_ArrayForEach(x, responses) {
			/* Answers are matched to the request's actions by position. */
			if (i >= st->projs_len)
				return answer_refused(st, "DynamoDB's answer to %s holds Responses[%zu], but "
						      "the request had %zu action%s; dynaseal cannot tell "
						      "which table it belongs to; retry the request",
						      st->t->op, i, st->projs_len,
						      st->projs_len == 1 ? "" : "s");
			snprintf(where, sizeof(where), "Responses[%zu].Item", i);
			if (add_read(st, b, &st->projs[i], cJSON_GetObjectItemCaseSensitive(x, "Item"),
				     where, 0) != 0)
				return -1;
			i++;
		}
		return 0;
	default:
		return 0;
	}
}

/*
 * Items inside an error: ConditionalCheckFailedException's Item (single-item writes with
 * ReturnValuesOnConditionCheckFailure) and TransactionCanceledException's reasons.  An SDK
 * reads these members by the error's __type whatever the operation, so every operation's
 * errors are searched: an item is verified with the table it can only belong to, and refused
 * when dynaseal cannot tell which table that is.
 */
static int collect_error_items(struct route_state *st, struct crypt_batch *b, cJSON *doc)
{
	int transact = st->op == ROUTE_TRANSACT_WRITE || st->op == ROUTE_TRANSACT_GET;
	cJSON *x, *item = cJSON_GetObjectItemCaseSensitive(doc, "Item");
	cJSON *reasons = cJSON_GetObjectItemCaseSensitive(doc, "CancellationReasons");
	char where[64];
	size_t i = 0;

	if (item != NULL && st->table == NULL)
		return answer_refused(st, "DynamoDB's error answer to %s holds an Item; dynaseal cannot "
				      "tell which table it belongs to; retry the request", st->t->op);
	if (item != NULL) {
		/* No projection applies to these items. */
		struct route_proj whole = { .table = st->table };
		snprintf(where, sizeof(where), "%s Item (ReturnValuesOnConditionCheckFailure)", st->t->op);
		if (add_read(st, b, &whole, item, where, 1) != 0)
			return -1;
	}
	if (reasons != NULL && !cJSON_IsArray(reasons))
		return not_a_list(st, "CancellationReasons");
	cJSON_ArrayForEach(x, reasons) {
		/* A transaction's reasons match its actions by position. */
		const struct config_table *t = !transact ? st->table :
					       i < st->projs_len ? st->projs[i].table : NULL;
		item = cJSON_GetObjectItemCaseSensitive(x, "Item");
		if (item != NULL && transact && i >= st->projs_len)
			return answer_refused(st, "DynamoDB's error answer to %s holds an Item in "
					      "CancellationReasons[%zu], but the request had %zu "
					      "action%s; dynaseal cannot tell which table it belongs to; "
					      "retry the request", st->t->op, i, st->projs_len,
					      st->projs_len == 1 ? "" : "s");
		if (item != NULL && !transact && t == NULL)
			return answer_refused(st, "DynamoDB's error answer to %s holds an Item in "
					      "CancellationReasons[%zu]; dynaseal cannot tell which table "
					      "it belongs to; retry the request", st->t->op, i);
		if (t != NULL) {
			struct route_proj whole = { .table = t };
			snprintf(where, sizeof(where), "%s CancellationReasons[%zu].Item", st->t->op, i);
			if (add_read(st, b, &whole, item, where, 1) != 0)
				return -1;
		}
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

/* Whether [data, data + len) holds a byte below 0x20 that JSON allows nowhere unescaped
 * (all but tab, line feed and carriage return). */
static int has_control_bytes(const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			return 1;
	}
	return 0;
}

/* Whether a body begins, past whitespace, NUL bytes and byte order marks (UTF-8, UTF-16),
 * with '{' or '[': what a JSON parser that detects its encoding would read as JSON. */
static int starts_as_json(const char *data, size_t len)
{
	for (size_t i = 0; data != NULL && i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c == '{' || c == '[')
			return 1;
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != 0 && c != 0xEF &&
		    c != 0xBB && c != 0xBF && c != 0xFE && c != 0xFF)
			return 0;
	}
	return 0;
}

/*
 * An answer's body as JSON dynaseal reads exactly as the application's parser would, or NULL:
 * with err set when the answer must be refused (a success that is not such JSON, an error
 * that starts as JSON and is not, bytes after the value, a key twice), without when it is no
 * JSON at all and may be relayed as it came.
 */
static cJSON *read_answer(const struct route_state *st, struct http_msg *resp, int success,
			  struct ds_error *err)
{
	const char *op = st->t->op;
	const char *data = (const char *)evbuffer_pullup(resp->body, -1);
	size_t len = evbuffer_get_length(resp->body);
	struct json_read rd = { 0 };
	const char *dup;
	cJSON *doc;

	/* cJSON skips NUL and other control bytes as whitespace and ends a name at a NUL, so a
	 * UTF-16 body reads to it as an object of empty names, not as to a parser that detects
	 * the encoding; DynamoDB's UTF-8 JSON holds none (RFC 8259 sections 2 and 7). */
	doc = data != NULL && !has_control_bytes(data, len) ? json_parse(data, len, &rd) : NULL;
	if (doc != NULL && rd.not_utf8) {
		/* Not UTF-8: a stand-in for NUL in the tree (json_nul.h) could be such a byte. */
		ds_error_set(err, 502, DS_ERR_INTERNAL, "DynamoDB's answer to %s holds a byte 0xFE or "
			     "0xFF, which is not UTF-8; dynaseal cannot read it; retry the request",
			     op[0] ? op : "the request");
		cJSON_Delete(doc);
		return NULL;
	}
	if (doc == NULL && success) {
		/* A success dynaseal cannot parse cannot be verified and decrypted: never relayed. */
		ds_error_set(err, 502, DS_ERR_INTERNAL, "DynamoDB's answer to %s on table \"%s\" is not "
			     "JSON; dynaseal cannot verify or decrypt it; retry the request",
			     op[0] ? op : "the request", st->t->table);
		return NULL;
	}
	if (doc == NULL && starts_as_json(data, len)) {
		/* An error body cJSON cannot read but another parser may (one that reads UTF-16,
		 * or nests deeper than cJSON) could hold an Item. */
		ds_error_set(err, 502, DS_ERR_INTERNAL, "DynamoDB's error answer to %s (status %d) "
			     "starts as JSON but dynaseal cannot read it, so cannot tell whether it holds "
			     "an item; retry the request", op, resp->status);
		return NULL;
	}
	if (doc == NULL)
		return NULL;
	if (rd.trailing) {
		/* cJSON read the first value; a parser that reads on may find an item after it
		 * that nobody verified. */
		if (st->table != NULL)
			ds_error_set(err, 502, DS_ERR_INTERNAL, "table \"%s\": DynamoDB's answer to %s "
				     "has bytes after its JSON value; dynaseal cannot tell what the "
				     "application would read; retry the request", st->table->name, op);
		else
			ds_error_set(err, 502, DS_ERR_INTERNAL, "DynamoDB's answer to %s has bytes after "
				     "its JSON value; dynaseal cannot tell what the application would "
				     "read; retry the request", op);
		cJSON_Delete(doc);
		return NULL;
	}
	/* cJSON reads the first copy of a repeated key, the application's parser may read the
	 * last: an answer with a key twice could carry an item nobody verified. */
	dup = json_duplicate_key(doc);
	if (dup != NULL) {
		ds_error_set(err, 502, DS_ERR_INTERNAL, "DynamoDB's answer to %s repeats the JSON key "
			     "\"%.64s\" in one object; dynaseal cannot tell which copy the application "
			     "would read; retry the request", op, dup);
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

/* Trims a decrypted item to the application's projection: its attributes, and within them
 * the parts a nested path names. */
static int cut(struct route_state *st, const struct route_proj *rp, cJSON *item)
{
	struct ddb_expr e;
	int rc;

	ddb_projection_strip(&rp->proj, item);
	if (rp->nested == NULL)
		return 0;
	if (ddb_expr_parse(DDB_EXPR_PROJECTION, "ProjectionExpression", rp->nested, rp->nested_names,
			   &e, &st->err) != 0) {
		ddb_expr_release(&e);
		return -1;
	}
	rc = ddb_eval_project(&e, item);
	ddb_expr_release(&e);
	return rc == 0 ? 0 : out_of_memory(st);
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
	route_index_cut(st);
	if (st->filter != NULL && route_filter_apply(st, doc) != 0) {
		e = st->err;
		txn_fail(t, &e);
		return;
	}
	for (size_t i = 0; i < st->strips_len; i++)
		if (st->strips[i].item != NULL && cut(st, st->strips[i].rp, st->strips[i].item) != 0) {
			e = st->err;
			txn_fail(t, &e);
			return;
		}
	if (st->rmw != NULL)
		route_rmw_answer(st, doc);
	if (st->op == ROUTE_BATCH_GET)
		restore_unprocessed_keys(st, doc);
	if (st->partiql_op != NULL)
		route_partiql_answer(st, doc);
	if (st->op == ROUTE_BATCH_WRITE && restore_unprocessed_items(st, doc) != 0) {
		e = st->err;
		txn_fail(t, &e);
		return;
	}
	body = json_print(doc, NULL);
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
	cJSON *doc;
	int success, rc;

	t->call = NULL;
	if (err != NULL) {
		metrics_inc(&t->worker->metrics.upstream_errors, 1);
		txn_fail(t, err);
		return;
	}
	if (route_rmw_fallback(st, resp) || route_tx_fallback(st, resp))
		return;
	enc = http_msg_header(resp, "content-encoding");
	if (enc != NULL && strcasecmp(enc->value, "identity") != 0) {
		http_msg_free(resp);
		ds_error_set(&e, 502, DS_ERR_INTERNAL, "DynamoDB answered with Content-Encoding \"%s\" "
			     "although dynaseal asked for identity; dynaseal cannot read it",
			     enc->value);
		txn_fail(t, &e);
		return;
	}
	/* An SDK reads any 2xx as the operation's output, and a modeled error's members (an
	 * Item) whatever the error status: every answer that parses is searched for items. */
	success = resp->status >= 200 && resp->status < 300;
	doc = read_answer(st, resp, success, &e);
	if (doc == NULL && e.status != 0) {
		http_msg_free(resp);
		txn_fail(t, &e);
		return;
	}
	if (doc == NULL) {
		/* Not JSON at all (an HTML or text error page): it holds no item. */
		txn_respond(t, resp, 0);
		return;
	}
	st->resp = resp;
	if (success) {
		/* Entries of an index that does not project whole items: their items are read
		 * first (route_index.c), and the answer goes on from route_answer_items. */
		rc = route_index_answer(st, doc);
		if (rc != 0) {
			if (rc < 0) {
				cJSON_Delete(doc);
				e = st->err;
				txn_fail(t, &e);
			}
			return;
		}
	}
	route_answer_items(st, doc, success);
}

void route_answer_items(struct route_state *st, cJSON *doc, int success)
{
	struct txn *t = st->t;
	struct http_msg *resp = st->resp;
	struct ds_error e = { 0 };
	int rc, changed;

	st->batch = route_batch_new(st, doc);
	if (st->batch == NULL) {
		ds_error_set(&e, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		txn_fail(t, &e);
		return;
	}
	changed = !success && route_tx_reasons(st, doc);
	rc = success ? collect_items(st, st->batch, doc) : collect_error_items(st, st->batch, doc);
	if (rc != 0) {
		e = st->err;
		txn_fail(t, &e);
		return;
	}
	if ((!success && (st->legacy_updates || st->legacy_query_filter) &&
	     reword_legacy_error(st, doc)) || changed || route_index_changed(st))
		rc = 1;         /* the answer changes: it goes through response_ready */
	if (rc == 0 && crypt_batch_len(st->batch) == 0 && st->partiql_op == NULL &&
	    !(success && route_filter_count_only(st)) &&
	    !(success && st->op == ROUTE_BATCH_WRITE &&
	    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "UnprocessedItems")) > 0) &&
	    !(success && st->op == ROUTE_BATCH_GET &&
	    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "UnprocessedKeys")) > 0)) {
		/* Nothing to decrypt: the answer goes back byte for byte. */
		st->resp = NULL;
		txn_respond(t, resp, 0);
		return;
	}
	crypt_batch_run(st->batch, response_ready, st);
}
