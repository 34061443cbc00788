/*
 * Per-operation handling of requests on configured tables (request side).  What each
 * operation carries and where its items are:
 *
 *   PutItem              Item (encrypt); response Attributes (ALL_OLD)
 *   GetItem              response Item
 *   DeleteItem           response Attributes
 *   UpdateItem           writing DO_NOTHING attributes only: forwarded; writing or reading
 *                        protected ones: carried out by dynaseal (route_rmw.c); response
 *                        Attributes
 *   Query, Scan          response Items; an index entry without aws_dbe_head: its item,
 *                        read from the table (route_index.c)
 *   BatchGetItem         response Responses.<table>[]; UnprocessedKeys restored
 *   BatchWriteItem       RequestItems.<table>[].PutRequest.Item; UnprocessedItems restored
 *   TransactGetItems     response Responses[i].Item
 *   TransactWriteItems   TransactItems[i].Put.Item; CancellationReasons[i].Item
 *   PartiQL              read into the classic operations above (route_partiql.c); a
 *                        BatchExecuteStatement of writes statement by statement
 *                        (route_partiql_batch.c)
 *
 * Anything that cannot be rewritten safely is refused with a ValidationException that names
 * the table, the parameter and the attribute, and says what to do instead.
 */
#include "proxy/route.h"
#include "proxy/base/json.h"
#include "proxy/route_internal.h"
#include "proxy/route_beacon.h"
#include "proxy/route_filter.h"
#include "proxy/route_index.h"
#include "proxy/route_legacy.h"
#include "proxy/route_partiql_batch.h"
#include "proxy/route_rmw.h"
#include "proxy/route_table.h"
#include "proxy/route_tx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "crypto/item/item_crypt.h"
#include "proxy/ddb/ddb.h"
#include "proxy/ddb/ddb_expr.h"
#include "proxy/ddb/ddb_expr_lex.h"
#include "proxy/forward.h"
#include "proxy/base/log.h"
#include "proxy/net/upstream.h"
#include "proxy/worker.h"

/* The parameters of DynamoDB's legacy API: written as expressions (route_legacy.c); what is
 * left of them (a ConditionalOperator with no conditions) is refused. */
static const char *const legacy_params[] = {
	"Expected", "AttributeUpdates", "QueryFilter", "ScanFilter", "KeyConditions",
	"AttributesToGet", "ConditionalOperator",
};

static const struct {
	const char *name;
	enum route_op op;
} op_names[] = {
	{ "PutItem", ROUTE_PUT }, { "GetItem", ROUTE_GET }, { "DeleteItem", ROUTE_DELETE },
	{ "UpdateItem", ROUTE_UPDATE }, { "Query", ROUTE_QUERY }, { "Scan", ROUTE_SCAN },
	{ "BatchGetItem", ROUTE_BATCH_GET }, { "BatchWriteItem", ROUTE_BATCH_WRITE },
	{ "TransactGetItems", ROUTE_TRANSACT_GET }, { "TransactWriteItems", ROUTE_TRANSACT_WRITE },
	{ "ExecuteStatement", ROUTE_PARTIQL }, { "BatchExecuteStatement", ROUTE_PARTIQL },
	{ "ExecuteTransaction", ROUTE_PARTIQL }, { "CreateTable", ROUTE_TABLE_ADMIN },
	{ "UpdateTable", ROUTE_TABLE_ADMIN }, { "DescribeTable", ROUTE_TABLE_ADMIN },
};

static enum route_op op_of(const char *name)
{
	for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++) {
		if (strcmp(op_names[i].name, name) == 0)
			return op_names[i].op;
	}
	return ROUTE_OTHER;
}

const struct config_table *route_table(const struct route_state *st, const char *name)
{
	const struct config *cfg = st->t->gen->cfg;

	return name != NULL ? config_find_table(cfg, name, strlen(name)) : NULL;
}

struct table_schema *route_schema(const struct route_state *st, const struct config_table *t)
{
	return worker_table_schema(st->t->worker, t->name);
}

struct keyring *route_keyring(const struct route_state *st, const struct config_table *table)
{
	return worker_gen_keyring(st->t->gen, table);
}

int route_refuse(struct route_state *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ds_error_vset(&st->err, 400, DS_ERR_VALIDATION, fmt, ap);
	va_end(ap);
	return -1;
}

#define refuse route_refuse

/* Out of memory is dynaseal's failure, not the request's: a 500 the SDKs retry, counted as an
 * error and not as a refusal.  Returns -1. */
int route_oom(struct route_state *st)
{
	ds_error_set(&st->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
	return -1;
}

#define oom route_oom

/* Refuses JSON objects with a repeated key anywhere: DynamoDB may read the other copy than
 * ours, and a configured attribute could slip through in plaintext. */
static int check_duplicate_keys(struct route_state *st, const cJSON *node, int depth)
{
	const char *dup;

	if (depth > 64)
		return refuse(st, "The request nests JSON deeper than dynaseal accepts (64 levels)");
	dup = cJSON_IsObject(node) ? json_object_duplicate(node) : NULL;
	if (dup != NULL)
		return refuse(st, "The request repeats the JSON key \"%.64s\" in one object; send each "
			      "key once (JSON parsers disagree on which copy counts)", dup);
	for (const cJSON *c = node ? node->child : NULL; c != NULL; c = c->next) {
		if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && check_duplicate_keys(st, c, depth + 1) != 0)
			return -1;
	}
	return 0;
}

static int check_legacy(struct route_state *st, const struct config_table *t, const cJSON *obj,
			const char *where)
{
	for (size_t i = 0; i < sizeof(legacy_params) / sizeof(legacy_params[0]); i++) {
		if (strcmp(legacy_params[i], "KeyConditions") == 0 &&
		    route_legacy_key_conditions_plain(t, obj))
			continue;
		if (cJSON_GetObjectItemCaseSensitive(obj, legacy_params[i]) != NULL)
			return refuse(st, "table \"%s\": %s%suses the legacy parameter %s, which dynaseal "
				      "cannot check against encrypted attributes; use the expression "
				      "parameters (ConditionExpression, FilterExpression, "
				      "KeyConditionExpression, ProjectionExpression, UpdateExpression) instead",
				      t->name, where, *where ? " " : "", legacy_params[i]);
	}
	return 0;
}

/* RequestItems must be a map of table names; a list (whose members have no name) or anything
 * else cannot be checked table by table, so it is refused whatever tables it holds. */
static int check_request_items(struct route_state *st, const cJSON *items)
{
	if (items != NULL && !cJSON_IsObject(items) && !cJSON_IsNull(items)) {
		/* A member of the wrong JSON type: DynamoDB's deserializer answers first, naming
		 * the Java type it expected when it got a list. */
		if (!cJSON_IsArray(items))
			ds_error_set(&st->err, 400, DS_ERR_SERIALIZATION, "Unexpected field type");
		else
			ds_error_set(&st->err, 400, DS_ERR_SERIALIZATION, "Unrecognized collection type "
				     "java.util.Map<java.lang.String, %s>", st->op == ROUTE_BATCH_GET
				     ? "com.amazonaws.dynamodb.v20120810.KeysAndAttributes"
				     : "java.util.List<com.amazonaws.dynamodb.v20120810.WriteRequest>");
		return -1;
	}
	return 0;
}

/*
 * The parameters DynamoDB's API takes, per request shape (the API reference, 2012-08-10; the
 * legacy ones too, so that check_legacy names them).  On a configured table anything else is
 * refused: DynamoDB might ignore it, but it would still carry whatever it holds to AWS
 * unexamined -- an "Item" sent with UpdateItem would go out in plaintext.
 */
#define P_EXPR "ConditionExpression", "ExpressionAttributeNames", "ExpressionAttributeValues"
#define P_RET "ReturnValues", "ReturnConsumedCapacity", "ReturnItemCollectionMetrics", \
	"ReturnValuesOnConditionCheckFailure"
static const char *const params_put[] = { "TableName", "Item", P_EXPR, P_RET, "Expected",
					   "ConditionalOperator", NULL };
static const char *const params_update[] = { "TableName", "Key", "UpdateExpression", P_EXPR, P_RET,
					      "AttributeUpdates", "Expected", "ConditionalOperator", NULL };
static const char *const params_delete[] = { "TableName", "Key", P_EXPR, P_RET, "Expected",
					      "ConditionalOperator", NULL };
static const char *const params_get[] = { "TableName", "Key", "ConsistentRead", "ProjectionExpression",
					   "ExpressionAttributeNames", "ReturnConsumedCapacity",
					   "AttributesToGet", NULL };
#define P_READ "TableName", "IndexName", "Select", "Limit", "ConsistentRead", "ExclusiveStartKey", \
	"ReturnConsumedCapacity", "ProjectionExpression", "FilterExpression", \
	"ExpressionAttributeNames", "ExpressionAttributeValues", "AttributesToGet", \
	"ConditionalOperator"
static const char *const params_query[] = { P_READ, "KeyConditionExpression", "ScanIndexForward",
					     "KeyConditions", "QueryFilter", NULL };
static const char *const params_scan[] = { P_READ, "Segment", "TotalSegments", "ScanFilter", NULL };
#define P_TX "TableName", P_EXPR, "ReturnValuesOnConditionCheckFailure"
static const char *const params_tx_put[] = { P_TX, "Item", NULL };
static const char *const params_tx_update[] = { P_TX, "Key", "UpdateExpression", NULL };
static const char *const params_tx_keyed[] = { P_TX, "Key", NULL };    /* Delete, ConditionCheck */
static const char *const params_tx_get[] = { "TableName", "Key", "ProjectionExpression",
					      "ExpressionAttributeNames", NULL };
static const char *const params_transact_write[] = { "TransactItems", "ReturnConsumedCapacity",
						      "ReturnItemCollectionMetrics",
						      "ClientRequestToken", NULL };
static const char *const params_transact_get[] = { "TransactItems", "ReturnConsumedCapacity", NULL };
static const char *const params_tx_write_item[] = { "Put", "Update", "Delete", "ConditionCheck", NULL };
static const char *const params_tx_get_item[] = { "Get", NULL };
static const char *const params_batch_get[] = { "RequestItems", "ReturnConsumedCapacity", NULL };
static const char *const params_keys_and_attrs[] = { "Keys", "ConsistentRead", "ProjectionExpression",
						      "ExpressionAttributeNames", "AttributesToGet",
						      NULL };
static const char *const params_batch_write[] = { "RequestItems", "ReturnConsumedCapacity",
						   "ReturnItemCollectionMetrics", NULL };
static const char *const params_write_request[] = { "PutRequest", "DeleteRequest", NULL };
static const char *const params_put_request[] = { "Item", NULL };
static const char *const params_delete_request[] = { "Key", NULL };

/* Refuses a member of obj (a request, or a part of one on table t) that is not in allowed. */
static int check_params(struct route_state *st, const struct config_table *t, const cJSON *obj,
			const char *const *allowed, const char *where)
{
	const cJSON *m;

	if (obj == NULL)
		return 0;
	if (!cJSON_IsObject(obj))
		return refuse(st, "table \"%s\": %s%s%s must be a map of parameters", t->name, st->t->op,
			      *where ? " " : "", where);
	cJSON_ArrayForEach(m, obj) {
		size_t i;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(m->string, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return refuse(st, "table \"%s\": %s%s%s has the parameter \"%.64s\", which DynamoDB's "
				      "API does not define for it and dynaseal cannot check against "
				      "encrypted attributes; remove it", t->name, st->t->op,
				      *where ? " " : "", where, m->string);
	}
	return 0;
}

/* Adds an item to encrypt, checking it is an object first. */
static int add_write(struct route_state *st, const struct config_table *t, cJSON *item,
		     const char *where)
{
	struct keyring *k = route_keyring(st, t);

	if (!cJSON_IsObject(item))
		return refuse(st, "table \"%s\": %s must be a map of attribute values", t->name, where);
	if (k == NULL)
		return refuse(st, "table \"%s\": its keyring \"%s\" is not usable on this worker",
			      t->name, t->keyring);
	/* An item without its key: DynamoDB's refusal, in its words for the operation. */
	for (size_t i = 0; i < 2; i++) {
		const char *key = i == 0 ? t->partition_key : t->sort_key;
		if (key == NULL || cJSON_GetObjectItemCaseSensitive(item, key) != NULL)
			continue;
		if (st->op == ROUTE_BATCH_WRITE)
			return refuse(st, "The provided key element does not match the schema");
		return refuse(st, "One or more parameter values were invalid: Missing the key %.64s in "
			      "the item", key);
	}
	if (crypt_batch_add(st->batch, t, k, item, 1) != 0)
		return oom(st);
	return 0;
}

/* UpdateItem (and a transaction's Update) must never create an item without a head, which
 * no reader could verify: the update is made conditional on the item existing. */
static int require_existing_item(struct route_state *st, cJSON *obj)
{
	cJSON *names = cJSON_GetObjectItemCaseSensitive(obj, "ExpressionAttributeNames");
	cJSON *cond = cJSON_GetObjectItemCaseSensitive(obj, "ConditionExpression");
	char placeholder[32];
	char *expr;
	size_t len;

	for (int i = 0;; i++) {
		snprintf(placeholder, sizeof(placeholder), "#dshead%d", i);
		if (names == NULL || cJSON_GetObjectItemCaseSensitive(names, placeholder) == NULL)
			break;
	}
	if (names == NULL) {
		names = cJSON_AddObjectToObject(obj, "ExpressionAttributeNames");
		if (names == NULL)
			return oom(st);
	}
	cJSON_AddStringToObject(names, placeholder, ITEM_HEAD_ATTR);
	len = (cond && cJSON_IsString(cond) ? strlen(cond->valuestring) : 0) + 64;
	expr = malloc(len);
	if (expr == NULL)
		return oom(st);
	if (cond != NULL && cJSON_IsString(cond))
		snprintf(expr, len, "(%s) AND attribute_exists(%s)", cond->valuestring, placeholder);
	else
		snprintf(expr, len, "attribute_exists(%s)", placeholder);
	if (cond != NULL)
		cJSON_ReplaceItemInObjectCaseSensitive(obj, "ConditionExpression", cJSON_CreateString(expr));
	else
		cJSON_AddStringToObject(obj, "ConditionExpression", expr);
	free(expr);
	return 0;
}

/* The checks and rewrites of one single-table request object (also a transaction's part). */
static int prepare_one(struct route_state *st, enum route_op op, const struct config_table *t,
		       cJSON *obj, const char *where, struct route_proj *rp)
{
	if (check_legacy(st, t, obj, where) != 0 ||
	    (*where != '\0' && st->partiql_op == NULL && route_check_expr_sizes(st, obj) != 0))
		return -1;
	if (st->op == ROUTE_TRANSACT_WRITE && rp != NULL) {
		/* An action on protected attributes is carried out by dynaseal (route_tx.c). */
		int rc = route_tx_prepare(st, (size_t)(rp - st->projs), t, obj, op);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
	}
	if ((op == ROUTE_UPDATE || op == ROUTE_PUT || op == ROUTE_DELETE) && *where == '\0') {
		/* A single UpdateItem on protected attributes, a PutItem or DeleteItem whose
		 * condition reads an encrypted one, is carried out by dynaseal. */
		int rmw = route_rmw_prepare(st, t, obj, op);
		if (rmw < 0)
			return -1;
		if (rmw > 0 && !route_rmw_deferred(st))
			return 0;
	}
	if (route_check_exprs(st, t, obj) != 0)
		return -1;
	switch (op) {
	case ROUTE_PUT:
		return add_write(st, t, cJSON_GetObjectItemCaseSensitive(obj, "Item"), "Item");
	case ROUTE_UPDATE:
		return require_existing_item(st, obj);
	case ROUTE_QUERY:
	case ROUTE_SCAN:
		if (rp != NULL && route_extend_projection(st, t, obj, rp) != 0)
			return -1;
		return route_filter_check_keys(st, t, obj);
	case ROUTE_GET:
	case ROUTE_TRANSACT_GET:
		return rp != NULL ? route_extend_projection(st, t, obj, rp) : 0;
	default:
		return 0;
	}
}

static int prepare_batch_get(struct route_state *st, cJSON *req)
{
	cJSON *items = cJSON_GetObjectItemCaseSensitive(req, "RequestItems");
	cJSON *ka;
	size_t n = 0;
	const struct config_table *first = NULL;   /* a configured table the request names */

	if (check_request_items(st, items) != 0)
		return -1;
	cJSON_ArrayForEach(ka, items)
		n++;
	st->projs = calloc(n ? n : 1, sizeof(*st->projs));
	if (st->projs == NULL)
		return oom(st);
	cJSON_ArrayForEach(ka, items) {
		const struct config_table *t = route_table(st, ka->string);
		struct route_proj *rp = &st->projs[st->projs_len++];
		if (t == NULL)
			continue;
		st->involved = 1;
		/* UnprocessedKeys come back in our rewritten form: keep the original. */
		rp->original = cJSON_Duplicate(ka, 1);
		rp->name = strdup(ka->string);
		if (rp->original == NULL || rp->name == NULL)
			return oom(st);
		if (check_params(st, t, ka, params_keys_and_attrs, "RequestItems") != 0 ||
		    route_check_expr_sizes(st, ka) != 0 ||
		    route_legacy_translate(st, ka, ROUTE_BATCH_GET) != 0 ||
		    check_legacy(st, t, ka, "RequestItems") != 0 ||
		    route_check_expr(st, t, ka, "ProjectionExpression", DDB_EXPR_PROJECTION) != 0 ||
		    route_extend_projection(st, t, ka, rp) != 0)
			return -1;
		{
			const cJSON *key;
			cJSON_ArrayForEach(key, cJSON_GetObjectItemCaseSensitive(ka, "Keys"))
				if (route_check_key(st, t, key, 1) != 0)
					return -1;
		}
		if (first == NULL)
			first = t;
	}
	if (first != NULL && check_params(st, first, req, params_batch_get, "") != 0)
		return -1;
	return 0;
}

static int prepare_batch_write(struct route_state *st, cJSON *req)
{
	cJSON *items = cJSON_GetObjectItemCaseSensitive(req, "RequestItems");
	cJSON *list;

	const struct config_table *first = NULL;   /* a configured table the request names */

	if (check_request_items(st, items) != 0)
		return -1;

	cJSON_ArrayForEach(list, items) {
		const struct config_table *t = route_table(st, list->string);
		cJSON *wr;
		if (t == NULL)
			continue;
		st->involved = 1;
		if (first == NULL)
			first = t;
		if (!cJSON_IsArray(list))
			return refuse(st, "table \"%s\": BatchWriteItem RequestItems must map it to a list of "
				      "write requests", t->name);
		cJSON_ArrayForEach(wr, list) {
			cJSON *put = cJSON_GetObjectItemCaseSensitive(wr, "PutRequest");
			cJSON *del = cJSON_GetObjectItemCaseSensitive(wr, "DeleteRequest");
			if (check_params(st, t, wr, params_write_request, "RequestItems") != 0 ||
			    check_params(st, t, put, params_put_request, "RequestItems PutRequest") != 0 ||
			    check_params(st, t, del, params_delete_request, "RequestItems DeleteRequest") != 0 ||
			    route_check_key(st, t, cJSON_GetObjectItemCaseSensitive(del, "Key"), 1) != 0)
				return -1;
			if (put != NULL && add_write(st, t, cJSON_GetObjectItemCaseSensitive(put, "Item"),
						     "RequestItems PutRequest.Item") != 0)
				return -1;
		}
	}
	if (first != NULL && check_params(st, first, req, params_batch_write, "") != 0)
		return -1;
	if (st->involved) {
		/* UnprocessedItems must go back in the application's own plaintext form. */
		st->original = cJSON_Duplicate(items, 1);
		if (st->original == NULL && items != NULL)
			return oom(st);
	}
	return 0;
}

static int prepare_transact(struct route_state *st, cJSON *req)
{
	static const struct {
		const char *key;
		enum route_op op;
		const char *const *params;
	} parts[] = {
		{ "Get", ROUTE_TRANSACT_GET, params_tx_get }, { "Put", ROUTE_PUT, params_tx_put },
		{ "Update", ROUTE_UPDATE, params_tx_update }, { "Delete", ROUTE_DELETE, params_tx_keyed },
		{ "ConditionCheck", ROUTE_CONDITION_CHECK, params_tx_keyed },
	};
	const struct config_table *first = NULL;   /* a configured table the request names */
	cJSON *items = cJSON_GetObjectItemCaseSensitive(req, "TransactItems");
	size_t n = (size_t)cJSON_GetArraySize(items);
	cJSON *ti;
	size_t i = 0;

	if (items != NULL && !cJSON_IsArray(items))
		return refuse(st, "%s: TransactItems must be a list", st->t->op);

	st->projs = calloc(n ? n : 1, sizeof(*st->projs));
	if (st->projs == NULL)
		return oom(st);
	st->projs_len = n;
	cJSON_ArrayForEach(ti, items) {
		for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
			cJSON *obj = cJSON_GetObjectItemCaseSensitive(ti, parts[p].key);
			const cJSON *name = cJSON_GetObjectItemCaseSensitive(obj, "TableName");
			const struct config_table *t;
			char where[48];
			if (obj == NULL || !cJSON_IsString(name))
				continue;
			t = route_table(st, name->valuestring);
			if (t == NULL)
				continue;
			st->involved = 1;
			if (first == NULL)
				first = t;
			st->projs[i].table = t;
			snprintf(where, sizeof(where), "TransactItems[%zu].%s", i, parts[p].key);
			if (check_params(st, t, obj, parts[p].params, where) != 0 ||
			    route_check_key(st, t, cJSON_GetObjectItemCaseSensitive(obj, "Key"), 1) != 0 ||
			    prepare_one(st, parts[p].op, t, obj, where, &st->projs[i]) != 0)
				return -1;
		}
		i++;
	}
	if (first != NULL) {
		int get = st->op == ROUTE_TRANSACT_GET;
		if (check_params(st, first, req, get ? params_transact_get : params_transact_write, "") != 0)
			return -1;
		i = 0;
		cJSON_ArrayForEach(ti, items) {
			char where[48];
			snprintf(where, sizeof(where), "TransactItems[%zu]", i++);
			if (check_params(st, first, ti, get ? params_tx_get_item : params_tx_write_item,
					 where) != 0)
				return -1;
		}
	}
	return 0;
}

/* Parses and checks the request; fills st and the batch of items to encrypt. */
static int prepare(struct route_state *st)
{
	cJSON *req = st->req;
	const cJSON *name;
	const struct config_table *t;

	if (check_duplicate_keys(st, req, 0) != 0)
		return -1;
	switch (st->op) {
	case ROUTE_BATCH_GET:
		return prepare_batch_get(st, req);
	case ROUTE_BATCH_WRITE:
		return prepare_batch_write(st, req);
	case ROUTE_TRANSACT_GET:
	case ROUTE_TRANSACT_WRITE:
		return prepare_transact(st, req);
	case ROUTE_PARTIQL: {
		int rc = route_partiql_prepare(st, req);
		if (rc == ROUTE_PARTIQL_BATCH)
			return 0;       /* route_partiql_batch.c */
		if (rc != ROUTE_PARTIQL_TRANSLATED)
			return rc;
		if (st->op == ROUTE_TRANSACT_GET || st->op == ROUTE_TRANSACT_WRITE)
			return prepare_transact(st, req);
		if (st->op == ROUTE_BATCH_GET)
			return prepare_batch_get(st, req);
		break;          /* st->op is now the classic operation req holds */
	}
	default:
		break;
	}
	name = cJSON_GetObjectItemCaseSensitive(req, "TableName");
	if (!cJSON_IsString(name) || (t = route_table(st, name->valuestring)) == NULL)
		return 0;
	st->involved = 1;
	st->table = t;
	if (st->op == ROUTE_TABLE_ADMIN)
		return 0;       /* route_table.c */
	st->projs = calloc(1, sizeof(*st->projs));
	if (st->projs == NULL)
		return oom(st);
	st->projs_len = 1;
	st->projs[0].table = t;
	route_note_return_values(st, req);
	{
		static const char *const *const by_op[] = {
			[ROUTE_PUT] = params_put, [ROUTE_UPDATE] = params_update,
			[ROUTE_DELETE] = params_delete, [ROUTE_GET] = params_get,
			[ROUTE_QUERY] = params_query, [ROUTE_SCAN] = params_scan,
		};
		const char *const *allowed = (size_t)st->op < sizeof(by_op) / sizeof(by_op[0])
					     ? by_op[st->op] : NULL;
		if (allowed != NULL && check_params(st, t, req, allowed, "") != 0)
			return -1;
		if (route_check_key(st, t, cJSON_GetObjectItemCaseSensitive(req, "Key"), 1) != 0 ||
		    route_check_key(st, t, cJSON_GetObjectItemCaseSensitive(req, "ExclusiveStartKey"), 0) != 0)
			return -1;
	}
	/* Legacy parameters go the way of the expressions they mean (route_legacy.c). */
	if ((st->partiql_op == NULL && route_check_expr_sizes(st, req) != 0) ||
	    route_legacy_translate(st, req, st->op) != 0)
		return -1;
	if (st->op == ROUTE_QUERY || st->op == ROUTE_SCAN) {
		const cJSON *sel;
		if (route_beacon_prepare(st, t, req) != 0 || route_filter_prepare(st, t, req) < 0 ||
		    route_beacon_finish(st, req) != 0 || route_index_prepare(st, t, req) != 0)
			return -1;
		sel = cJSON_GetObjectItemCaseSensitive(req, "Select");
		if (cJSON_IsString(sel) && strcmp(sel->valuestring, "COUNT") == 0)
			return check_legacy(st, t, req, "") != 0 || route_check_exprs(st, t, req) != 0 ||
			       route_filter_check_keys(st, t, req) != 0 ? -1 : 0;
	}
	return prepare_one(st, st->op, t, req, "", &st->projs[0]);
}

static void route_state_free(struct route_state *st)
{
	if (st == NULL)
		return;
	crypt_batch_free(st->batch);
	route_rmw_free(st->rmw);
	route_tx_free(st->tx);
	route_filter_free(st->filter);
	route_beacon_free(st->beacon);
	route_index_free(st->idx);
	cJSON_Delete(st->original);
	for (size_t i = 0; i < st->projs_len; i++) {
		if (st->projs[i].has_proj)
			ddb_projection_cleanup(&st->projs[i].proj);
		cJSON_Delete(st->projs[i].original);
		free(st->projs[i].name);
		free(st->projs[i].nested);
		cJSON_Delete(st->projs[i].nested_names);
	}
	free(st->strips);
	free(st->projs);
	free(st->partiql_inserts);
	cJSON_Delete(st->partiql_batch);
	route_partiql_batch_free(st->pq_batch);
	http_msg_free(st->resp);
	free(st);
}

void route_free(struct txn *t)
{
	route_state_free(t->route);
	t->route = NULL;
}

static void route_fail(struct route_state *st, const struct ds_error *err)
{
	txn_fail(st->t, err);
}

/* The request's items are encrypted: send it. */
static void request_ready(void *arg, struct crypt_batch *b, const struct ds_error *err)
{
	struct route_state *st = arg;
	struct txn *t = st->t;
	struct ds_error ferr = { 0 };
	size_t blen = 0;
	char *body;

	if (err != NULL) {
		ferr = *err;
		route_fail(st, &ferr);
		return;
	}
	if (st->tx != NULL && route_tx_keep(st, crypt_batch_doc(b)) != 0) {
		ds_error_set(&ferr, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		route_fail(st, &ferr);
		return;
	}
	if (st->partiql_op != NULL) {
		/* The classic request a statement became goes as that operation. */
		cJSON *copy = cJSON_Duplicate(crypt_batch_doc(b), 1);
		crypt_batch_free(b);
		st->batch = NULL;
		st->req = NULL;
		if (copy == NULL) {
			ds_error_set(&ferr, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
			route_fail(st, &ferr);
			return;
		}
		route_send_as(st, st->partiql_op, copy, route_response_cb);
		return;
	}
	if (route_tx_active(st)) {
		crypt_batch_free(b);
		st->batch = NULL;
		st->req = NULL;
		route_tx_start(st);
		return;
	}
	body = json_print(crypt_batch_doc(b), &blen);
	/* The request tree is done with; the response gets its own batch. */
	crypt_batch_free(b);
	st->batch = NULL;
	st->req = NULL;
	if (body == NULL) {
		ds_error_set(&ferr, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		route_fail(st, &ferr);
		return;
	}
	t->call = forward_send(t->worker, t->req, t->region, body, blen, 1, route_response_cb,
				st, &ferr);
	cJSON_free(body);
	if (t->call == NULL)
		route_fail(st, &ferr);
}

/* A batch orphaned by its request keeps the generation whose keyrings it uses alive. */
static void gen_release(void *gen)
{
	worker_gen_release(gen);
}

static struct keyring *gen_search_keyring(void *gen, const struct config_table *t)
{
	return worker_gen_search_keyring(gen, t);
}

static int gen_legacy_open(void *gen, const struct config_table *t, const cJSON *item,
			   const struct audit_ctx *audit, legacy_reader_done_cb cb, void *cb_arg)
{
	return worker_gen_legacy_open(gen, t, item, audit, cb, cb_arg);
}

struct crypt_batch *route_batch_new(struct route_state *st, cJSON *doc)
{
	struct txn *t = st->t;
	struct crypt_batch *b = crypt_batch_new(doc);

	if (b == NULL) {
		cJSON_Delete(doc);
		return NULL;
	}
	crypt_batch_set_audit(b, &t->audit);
	crypt_batch_set_metrics(b, &t->worker->metrics);
	crypt_batch_set_search_keyring(b, gen_search_keyring, t->gen);
	crypt_batch_set_legacy_open(b, gen_legacy_open, t->gen);
	crypt_batch_set_owner(b, gen_release, worker_gen_hold(t->gen));
	return b;
}

int route_request(struct txn *t)
{
	const struct config *cfg = t->gen->cfg;
	struct evbuffer *body = t->req->body;
	size_t len = evbuffer_get_length(body);
	const char *data;
	struct route_state *st;
	struct json_read rd;
	enum route_op op;
	int rc;

	if (cfg->tables_len == 0)
		return 0;
	op = op_of(t->op);
	if (op == ROUTE_OTHER)
		return 0;
	data = (const char *)evbuffer_pullup(body, -1);
	if (op == ROUTE_GET || op == ROUTE_PUT || op == ROUTE_DELETE || op == ROUTE_UPDATE ||
	    op == ROUTE_QUERY || op == ROUTE_SCAN || op == ROUTE_TABLE_ADMIN) {
		/* A single-table request on an unconfigured table goes out untouched without a
		 * parse, but only when its one table name is beyond doubt (ddb_sole_table);
		 * anything less plain is parsed and checked below. */
		char name[256];

		/* t->table (ddb_peek_table's first guess) only spares the scan of a body that
		 * names a configured table and will be parsed anyway; it decides nothing. */
		if (config_find_table(cfg, t->table, strnlen(t->table, sizeof(t->table))) == NULL &&
		    ddb_sole_table(data != NULL ? data : "", len, name, sizeof(name)) == 0 &&
		    config_find_table(cfg, name, strlen(name)) == NULL)
			return 0;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		struct ds_error err;
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		txn_fail(t, &err);
		return 1;
	}
	st->t = t;
	st->op = op;
	t->route = st;
	st->req = json_parse(data, len, &rd);
	if (st->req == NULL || !cJSON_IsObject(st->req)) {
		ds_error_set(&st->err, 400, DS_ERR_SERIALIZATION,
			     "The request body of %s is not a JSON object; dynaseal refuses it rather than "
			     "forward what it cannot check", t->op);
		cJSON_Delete(st->req);
		st->req = NULL;
		route_fail(st, &st->err);
		return 1;
	}
	st->index = cJSON_GetObjectItemCaseSensitive(st->req, "IndexName") != NULL;
	/* The batch owns the tree from here; st->req stays a borrowed pointer into it. */
	st->batch = route_batch_new(st, st->req);
	if (st->batch == NULL) {
		st->req = NULL;
		ds_error_set(&st->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		route_fail(st, &st->err);
		return 1;
	}
	rc = prepare(st);
	if (rd.not_utf8 && (rc != 0 || st->involved)) {
		/* Read before anything else, as DynamoDB reads the text before it checks the
		 * request; the stand-in for NUL (json_nul.h) must mean NUL alone. */
		ds_error_set(&st->err, 400, DS_ERR_SERIALIZATION, "The request body of %s holds a byte "
			     "0xFE or 0xFF, which is not UTF-8; dynaseal refuses it rather than forward "
			     "what it cannot check", t->op);
		rc = -1;
	}
	if (rc != 0) {
		if (st->err.status == 400)
			metrics_inc(&t->worker->metrics.refused, 1);
		route_fail(st, &st->err);
		return 1;
	}
	if (!st->involved) {
		/* No configured table after all: forward the original bytes. */
		route_free(t);
		return 0;
	}
	if (st->op == ROUTE_TABLE_ADMIN) {
		if (strcmp(t->op, "DescribeTable") == 0 && st->table->search == NULL) {
			route_free(t);
			return 0;       /* nothing to rename */
		}
		if (route_table_request(st, st->req) != 0) {
			if (st->err.status == 400)
				metrics_inc(&t->worker->metrics.refused, 1);
			route_fail(st, &st->err);
		}
		return 1;
	}
	if (st->pq_batch != NULL) {
		/* Each statement is a request of its own (route_partiql_batch.c). */
		crypt_batch_free(st->batch);
		st->batch = NULL;
		st->req = NULL;
		route_partiql_batch_start(st);
		return 1;
	}
	if (st->rmw != NULL && !route_rmw_deferred(st)) {
		/* route_rmw.c works on its own copy of the request. */
		crypt_batch_free(st->batch);
		st->batch = NULL;
		st->req = NULL;
		route_rmw_start(st);
		return 1;
	}
	crypt_batch_run(st->batch, request_ready, st);
	return 1;
}
