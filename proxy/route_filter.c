/*
 * Query and Scan whose FilterExpression reads an encrypted attribute (or, written from a
 * QueryFilter or ScanFilter, is longer than DynamoDB takes).  DynamoDB cannot compare
 * ciphertext, but it applies a filter only after it has read a page (Limit items, or 1 MB),
 * and the filter changes nothing but which of the page's items come back and Count (Developer
 * Guide, "Filter expressions for Query": "A filter expression is applied after a Query
 * finishes, but before the results are returned"; ScannedCount and LastEvaluatedKey are the
 * page's).  So the request goes upstream without its filter, and dynaseal applies it to the
 * page after verification and decryption (ddb_eval.c): the application gets the same Items,
 * Count, ScannedCount and LastEvaluatedKey DynamoDB would have given it.  With Select COUNT the
 * page's items are asked for and dropped once counted.
 */
#include "proxy/route_filter.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/item/item_crypt.h"
#include "proxy/ddb/crypt_compound.h"
#include "proxy/ddb/ddb_eval.h"
#include "proxy/ddb/ddb_expr_lex.h"
#include "proxy/ddb/ddb_path.h"
#include "proxy/route_beacon.h"
#include "proxy/route_internal.h"
#include "proxy/table_schema.h"

struct route_filter {
	char *text;                 /* the FilterExpression (own copy: the request is sent) */
	cJSON *names, *values;      /* the request's ExpressionAttributeNames and Values (copies) */
	struct ddb_expr expr;       /* text, parsed */
	int parsed;
	char *key_text;             /* a key condition's beacon conjuncts (route_beacon.c), or NULL */
	struct ddb_expr key_expr;   /* key_text, parsed: an item failing it was never scanned */
	int key_parsed;
	int count_only;             /* Select: COUNT */
	char **attrs;               /* the DO_NOTHING attributes it reads: projected too */
	size_t attrs_len;
};

struct filter_scan {
	const struct config_table *t;
	int encrypted;              /* it reads an encrypted attribute */
	int reserved;               /* an aws_dbe_ name: left to route.c's refusal */
	struct route_filter *f;
};

static int scan_cb(void *arg, const char *name, size_t len, int written, int nested,
		   struct ds_error *err)
{
	struct filter_scan *s = arg;
	enum attr_action action;
	char **grown;

	(void)written;
	(void)nested;
	(void)err;
	if (item_name_is_reserved(name, len)) {
		s->reserved = 1;
		return 0;
	}
	if (s->t->search != NULL) {
		/* A compound beacon names a virtual field made of encrypted attributes. */
		for (size_t i = 0; i < s->t->search->compound_len; i++)
			if (strlen(s->t->search->compound[i].name) == len &&
			    memcmp(s->t->search->compound[i].name, name, len) == 0)
				s->encrypted = 1;
	}
	if (config_table_action(s->t, name, len, &action) != 0)
		return 0;
	if (action == ACTION_ENCRYPT_AND_SIGN)
		s->encrypted = 1;
	if (action != ACTION_DO_NOTHING || s->f == NULL)
		return 0;
	for (size_t i = 0; i < s->f->attrs_len; i++)
		if (strlen(s->f->attrs[i]) == len && memcmp(s->f->attrs[i], name, len) == 0)
			return 0;
	grown = realloc(s->f->attrs, (s->f->attrs_len + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	s->f->attrs = grown;
	if ((grown[s->f->attrs_len] = strndup(name, len)) == NULL)
		return -1;
	s->f->attrs_len++;
	return 0;
}

void route_filter_free(struct route_filter *f)
{
	if (f == NULL)
		return;
	if (f->parsed)
		ddb_expr_release(&f->expr);
	if (f->key_parsed)
		ddb_expr_release(&f->key_expr);
	free(f->key_text);
	free(f->text);
	cJSON_Delete(f->names);
	cJSON_Delete(f->values);
	for (size_t i = 0; i < f->attrs_len; i++)
		free(f->attrs[i]);
	free(f->attrs);
	free(f);
}

/* Removes from the request's map (names or values) what no remaining expression uses; the
 * map itself when it is left empty. */
static void prune(cJSON *req, const char *param)
{
	static const char *const params[] = { "KeyConditionExpression", "ProjectionExpression" };
	cJSON *map = cJSON_GetObjectItemCaseSensitive(req, param);
	cJSON *m = map != NULL ? map->child : NULL;

	while (m != NULL) {
		cJSON *next = m->next;
		int used = 0;
		for (size_t i = 0; i < 2; i++) {
			const cJSON *e = cJSON_GetObjectItemCaseSensitive(req, params[i]);
			used |= cJSON_IsString(e) && ddb_expr_uses(e->valuestring, m->string);
		}
		if (!used)
			cJSON_DeleteItemFromObjectCaseSensitive(map, m->string);
		m = next;
	}
	if (map != NULL && map->child == NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(req, param);
}

int route_filter_prepare(struct route_state *st, const struct config_table *t, cJSON *req)
{
	const cJSON *fe = cJSON_GetObjectItemCaseSensitive(req, "FilterExpression");
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeNames");
	const cJSON *values = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeValues");
	const cJSON *sel = cJSON_GetObjectItemCaseSensitive(req, "Select");
	static const char *const params[] = { "KeyConditionExpression", "FilterExpression",
					       "ProjectionExpression" };
	const char *exprs[3];
	struct filter_scan s = { t, 0, 0, NULL };
	struct ds_error ignored = { 0 };
	struct route_filter *f;

	/* A filter written from a QueryFilter or ScanFilter may be longer than DynamoDB takes. */
	if (!cJSON_IsString(fe) ||
	    ddb_expr_scan(DDB_EXPR_CONDITION, "FilterExpression", fe->valuestring, names, scan_cb, &s,
			  &ignored) != 0 || s.reserved ||
	    !(s.encrypted || (st->legacy_filter && strlen(fe->valuestring) > DDB_EXPR_APP_MAX)))
		return 0;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		goto oom;
	st->filter = f;
	s.f = f;
	f->text = strdup(fe->valuestring);
	f->names = names != NULL ? cJSON_Duplicate(names, 1) : NULL;
	f->values = values != NULL ? cJSON_Duplicate(values, 1) : NULL;
	if (f->text == NULL || (names != NULL && f->names == NULL) || (values != NULL && f->values == NULL) ||
	    ddb_expr_scan(DDB_EXPR_CONDITION, "FilterExpression", fe->valuestring, names, scan_cb, &s,
			  &ignored) != 0)
		goto oom;
	if (ddb_expr_parse(DDB_EXPR_CONDITION, "FilterExpression", f->text, f->names, &f->expr,
			   &st->err) != 0)
		return -1;
	f->parsed = 1;
	if (route_beacon_key_part(st) != NULL) {
		if ((f->key_text = strdup(route_beacon_key_part(st))) == NULL)
			goto oom;
		if (ddb_expr_parse(DDB_EXPR_CONDITION, "KeyConditionExpression", f->key_text, f->names,
				   &f->key_expr, &st->err) != 0)
			return -1;
		f->key_parsed = 1;
	}
	/* What DynamoDB would refuse whatever the items: in its words, before anything is sent. */
	for (size_t i = 0; i < 3; i++) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(req, params[i]);
		exprs[i] = cJSON_IsString(e) ? e->valuestring : NULL;
	}
	if ((values != NULL && !cJSON_IsObject(values)) ||
	    route_check_unused(st, names, "ExpressionAttributeNames", exprs, 3) != 0 ||
	    route_check_unused(st, values, "ExpressionAttributeValues", exprs, 3) != 0 ||
	    ddb_eval_check_values(&f->expr, "FilterExpression", f->values, &st->err) != 0) {
		if (st->err.status == 0)
			route_refuse(st, "ExpressionAttributeValues must be a map");
		return -1;
	}
	f->count_only = cJSON_IsString(sel) && strcmp(sel->valuestring, "COUNT") == 0;
	/* Upstream: the page without the filter, with its items when only a count was asked. */
	cJSON_DeleteItemFromObjectCaseSensitive(req, "FilterExpression");
	if (f->count_only)
		cJSON_DeleteItemFromObjectCaseSensitive(req, "Select");
	prune(req, "ExpressionAttributeNames");
	prune(req, "ExpressionAttributeValues");
	return 1;
oom:
	ds_error_set(&st->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
	return -1;
}

int route_filter_check_keys(struct route_state *st, const struct config_table *t, const cJSON *req)
{
	const struct route_filter *f = st->filter;
	const struct table_schema *s = route_schema(st, t);
	const cJSON *index = cJSON_GetObjectItemCaseSensitive(req, "IndexName");
	const char *keys[2] = { t->partition_key, t->sort_key };

	if (f == NULL || !f->parsed || st->partiql_op != NULL ||
	    (st->op != ROUTE_QUERY && st->op != ROUTE_SCAN))
		return 0;
	if (index != NULL) {
		const struct table_index *ix = s != NULL && cJSON_IsString(index)
					       ? table_schema_index(s, index->valuestring) : NULL;
		if (ix == NULL)
			return 0;       /* the index is not known: as without the schema */
		keys[0] = ix->keys[0];
		keys[1] = ix->keys[1];
	}
	for (size_t i = 0; st->op == ROUTE_QUERY && i < 2; i++) {
		/* A beacon's attribute is dynaseal's, not the application's */
		if (keys[i] == NULL || item_name_is_reserved(keys[i], strlen(keys[i])) ||
		    !(ddb_path_reach(f->expr.root, keys[i]) & DDB_REACH_NAMED))
			continue;
		return route_refuse(st, "%s can only contain non-primary key attributes: Primary key "
				    "attribute: %.255s", st->legacy_query_filter ? "QueryFilter"
				    : "Filter Expression", keys[i]);
	}
	return route_check_key_paths(st, t, s, f->expr.root, NULL);
}

const char *const *route_filter_attrs(const struct route_state *st, size_t *n)
{
	*n = st->filter != NULL ? st->filter->attrs_len : 0;
	return st->filter != NULL ? (const char *const *)st->filter->attrs : NULL;
}

int route_filter_count_only(const struct route_state *st)
{
	return st->filter != NULL && st->filter->count_only;
}

int route_filter_apply(struct route_state *st, cJSON *doc)
{
	struct route_filter *f = st->filter;
	const struct config_table *t = st->table;
	cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "Items");
	cJSON *it, *scanned;
	int kept = 0, unscanned = 0;
	unsigned char *added = NULL;

	if (f == NULL)
		return 0;
	if (t != NULL && t->search != NULL && t->search->compound_len > 0 &&
	    (added = calloc(t->search->compound_len, 1)) == NULL) {
		ds_error_set(&st->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		return -1;
	}
	it = cJSON_IsArray(items) ? items->child : NULL;
	while (it != NULL) {
		cJSON *next = it->next;
		int rc = 1;
		/* Compound beacons are compared as their plaintext virtual fields. */
		if (added != NULL && crypt_compound_add_virtual(t, it, added) != 0) {
			ds_error_set(&st->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
			rc = -1;
		}
		/* A beacon's false positive does not meet the key condition: not scanned. */
		if (rc > 0 && f->key_parsed) {
			rc = ddb_eval_condition(&f->key_expr, "KeyConditionExpression", it, f->values,
						&st->err);
			if (rc == 0)
				unscanned++;
		}
		if (rc > 0)
			rc = ddb_eval_condition(&f->expr, "FilterExpression", it, f->values, &st->err);
		if (added != NULL)
			crypt_compound_remove_virtual(t, it, added);
		if (rc < 0) {
			free(added);
			return -1;
		}
		if (rc == 0) {
			/* Dropped: whatever was to trim it goes too. */
			for (size_t i = 0; i < st->strips_len; i++)
				if (st->strips[i].item == it)
					st->strips[i].item = NULL;
			cJSON_Delete(cJSON_DetachItemViaPointer(items, it));
		} else {
			kept++;
		}
		it = next;
	}
	if (cJSON_GetObjectItemCaseSensitive(doc, "Count") != NULL)
		cJSON_ReplaceItemInObjectCaseSensitive(doc, "Count", cJSON_CreateNumber(kept));
	scanned = cJSON_GetObjectItemCaseSensitive(doc, "ScannedCount");
	if (unscanned > 0 && cJSON_IsNumber(scanned))
		cJSON_ReplaceItemInObjectCaseSensitive(doc, "ScannedCount",
						       cJSON_CreateNumber(scanned->valuedouble - unscanned));
	if (f->count_only)
		cJSON_DeleteItemFromObjectCaseSensitive(doc, "Items");
	free(added);
	return 0;
}
