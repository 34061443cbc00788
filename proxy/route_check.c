/*
 * What a request on a configured table may name, checked before it is rewritten: its keys hold
 * key attributes only, its expressions reference no reserved attribute and compare no encrypted
 * one where DynamoDB would have to (key conditions; conditions of transactions), and its
 * ExpressionAttributeNames and Values are all used, as DynamoDB requires.
 */
#include <stdio.h>
#include <string.h>

#include "crypto/item/beacon.h"
#include "crypto/item/item_crypt.h"
#include "proxy/ddb/ddb_expr.h"
#include "proxy/ddb/ddb_expr_lex.h"
#include "proxy/ddb/ddb_path.h"
#include "proxy/route_beacon.h"
#include "proxy/route_internal.h"
#include "proxy/table_schema.h"

int route_check_unused(struct route_state *st, const cJSON *map, const char *param,
		       const char *const *exprs, size_t n)
{
	struct ddb_expr_refs used;
	char keys[256] = "";
	size_t len = 0;
	const cJSON *m;

	if (map == NULL)
		return 0;
	if (!cJSON_IsObject(map) || map->child == NULL)
		return route_refuse(st, "%s must not be empty", param);
	if (ddb_expr_refs_collect(&used, exprs, n) != 0)
		return route_oom(st);
	cJSON_ArrayForEach(m, map) {
		if (m->string == NULL || ddb_expr_refs_has(&used, m->string))
			continue;
		len += (size_t)snprintf(keys + len, len < sizeof(keys) ? sizeof(keys) - len : 0,
					"%s%.64s", len ? ", " : "", m->string);
		if (len >= sizeof(keys))
			break;
	}
	ddb_expr_refs_release(&used);
	if (len > 0)
		return route_refuse(st, "Value provided in %s unused in expressions: keys: {%s}", param, keys);
	return 0;
}

/*
 * A key holds key attributes, which are never encrypted.  A primary key (Key, Keys[],
 * DeleteRequest.Key: primary_only) names the table's partition and sort key only; an
 * ExclusiveStartKey may also hold an index's keys, but no ENCRYPT_AND_SIGN attribute.  What
 * else a key holds DynamoDB would refuse, but only after it had reached AWS in plaintext: so
 * dynaseal refuses it, in DynamoDB's words for it.
 */
int route_check_key(struct route_state *st, const struct config_table *t, const cJSON *key,
		    int primary_only)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, key) {
		enum attr_action action;
		if (m->string == NULL)
			continue;
		if (primary_only && strcmp(m->string, t->partition_key) != 0 &&
		    (t->sort_key == NULL || strcmp(m->string, t->sort_key) != 0))
			return route_refuse(st, "The provided key element does not match the schema");
		if (config_table_action(t, m->string, strlen(m->string), &action) == 0 &&
		    action == ACTION_ENCRYPT_AND_SIGN)
			return route_refuse(st, "The provided starting key is invalid%s",
					    st->index ? "" : ": The provided key element does not match "
					    "the schema");
	}
	return 0;
}

/* What an expression scan checks, for the callback. */
struct expr_check {
	struct route_state *st;
	const struct config_table *table;
	const char *param;
	int update;                 /* UpdateExpression: writes must be DO_NOTHING */
	int projection;             /* ProjectionExpression: only reads */
};

static int expr_name_cb(void *arg, const char *name, size_t len, int written, int nested,
			struct ds_error *err)
{
	struct expr_check *x = arg;
	enum attr_action action;
	int known = config_table_action(x->table, name, len, &action) == 0;

	(void)err;
	(void)nested;       /* a part of a signed attribute is read from the whole (extend_projection) */
	/* dynaseal's own placeholders name beacons (route_beacon.c, which refused the
	 * application's own uses of aws_dbe_ names before adding them). */
	if (route_beacon_active(x->st) && len > sizeof(BEACON_ATTR_PREFIX) - 1 &&
	    memcmp(name, BEACON_ATTR_PREFIX, sizeof(BEACON_ATTR_PREFIX) - 1) == 0)
		return 0;
	if (item_name_is_reserved(name, len))
		return route_refuse(x->st, "table \"%s\": %s references \"%.*s\"; attributes starting with "
			      "aws_dbe_ are reserved for the encryption format", x->table->name,
			      x->param, (int)len, name);
	if (x->update && written && (!known || action != ACTION_DO_NOTHING))
		return route_refuse(x->st, "table \"%s\": UpdateExpression writes \"%.*s\", which is %s; "
			      "an update would break the item's signature. Write the whole item with "
			      "PutItem instead, or configure the attribute as DO_NOTHING",
			      x->table->name, (int)len, name,
			      !known ? "not in attribute_actions (nor allowed unsigned)" :
			      action == ACTION_ENCRYPT_AND_SIGN ? "encrypted (ENCRYPT_AND_SIGN)" : "signed");
	if (!x->projection && known && action == ACTION_ENCRYPT_AND_SIGN)
		return route_refuse(x->st, "table \"%s\": %s references \"%.*s\", which dynaseal encrypts "
			      "(ENCRYPT_AND_SIGN): DynamoDB cannot compare encrypted values. Use a "
			      "SIGN_ONLY attribute in the expression, or filter in the application",
			      x->table->name, x->param, (int)len, name);
	return 0;
}

/* Scans one expression parameter of obj, if present. */
int route_check_expr(struct route_state *st, const struct config_table *t, const cJSON *obj,
		      const char *param, enum ddb_expr_kind kind)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(obj, param);
	struct expr_check x = { st, t, param, kind == DDB_EXPR_UPDATE, kind == DDB_EXPR_PROJECTION };

	if (e == NULL)
		return 0;
	if (!cJSON_IsString(e))
		return route_refuse(st, "table \"%s\": %s must be a string", t->name, param);
	if (ddb_expr_scan(kind, param, e->valuestring,
			  cJSON_GetObjectItemCaseSensitive(obj, "ExpressionAttributeNames"),
			  expr_name_cb, &x, &st->err) != 0) {
		if (st->err.status == 0)
			route_refuse(st, "table \"%s\": %s could not be read", t->name, param);
		return -1;
	}
	return 0;
}

int route_check_expr_sizes(struct route_state *st, const cJSON *obj)
{
	static const char *const params[] = { "ConditionExpression", "FilterExpression",
					       "KeyConditionExpression", "UpdateExpression",
					       "ProjectionExpression" };

	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(obj, params[i]);
		size_t n = cJSON_IsString(e) ? strlen(e->valuestring) : 0;

		if (n > DDB_EXPR_APP_MAX)
			return route_refuse(st, "Invalid %s: Expression size has exceeded the maximum "
					    "allowed size; expression size: %zu", params[i], n);
	}
	return 0;
}

/* The expressions every single-item or read operation may carry. */
int route_check_exprs(struct route_state *st, const struct config_table *t, const cJSON *obj)
{
	if (route_check_expr(st, t, obj, "ConditionExpression", DDB_EXPR_CONDITION) != 0 ||
	    route_check_expr(st, t, obj, "FilterExpression", DDB_EXPR_CONDITION) != 0 ||
	    route_check_expr(st, t, obj, "KeyConditionExpression", DDB_EXPR_CONDITION) != 0 ||
	    route_check_expr(st, t, obj, "UpdateExpression", DDB_EXPR_UPDATE) != 0 ||
	    route_check_expr(st, t, obj, "ProjectionExpression", DDB_EXPR_PROJECTION) != 0)
		return -1;
	return 0;
}


/* Whether a path of expr, or of proj, goes below attribute attr. */
static int reaches_below(const struct ddb_node *expr, const struct ddb_projection *proj,
			 const char *attr)
{
	if (expr != NULL)
		return (ddb_path_reach(expr, attr) & DDB_REACH_BELOW) != 0;
	for (size_t i = 0; proj != NULL && i < proj->len; i++)
		if (proj->paths[i].nested && strcmp(proj->paths[i].name, attr) == 0)
			return 1;
	return 0;
}

int route_check_key_paths(struct route_state *st, const struct config_table *t,
			  const struct table_schema *s, const struct ddb_node *expr,
			  const struct ddb_projection *proj)
{
	const char *keys[2] = { t->partition_key, t->sort_key };

	for (size_t i = 0; i < 2; i++)
		if (keys[i] != NULL && reaches_below(expr, proj, keys[i]))
			return route_refuse(st, "Key attributes must be scalars; list random access '[]' and "
					    "map lookup '.' are not allowed: Key: %.255s", keys[i]);
	for (size_t i = 0; s != NULL && i < s->index_keys_len; i++)
		if (reaches_below(expr, proj, s->index_keys[i].attr))
			return route_refuse(st, "Key attributes must be scalars; list random access '[]' and "
					    "map lookup '.' are not allowed: IndexKey: %.255s",
					    s->index_keys[i].attr);
	return 0;
}
