/*
 * A read's ProjectionExpression on a configured table, widened to what verification needs:
 * every signed attribute whole, aws_dbe_head and aws_dbe_foot, the attributes a filter
 * dynaseal applies reads, and on an index the beacons; a part of a protected attribute ("profile.city") is read whole and
 * the answer cut back to the part after decryption (route_resp.c).
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/item/beacon.h"
#include "crypto/item/item_crypt.h"
#include "proxy/ddb/ddb_expr_lex.h"
#include "proxy/ddb/ddb_projection.h"
#include "proxy/route_filter.h"
#include "proxy/route_internal.h"
#include "proxy/table_schema.h"

/* The key schema a read's projection is checked against: GetItem, Query and Scan are where
 * DynamoDB is known to refuse a path below an index key; GetItem's key, and the index a Query
 * or Scan names, are checked before (NULL: DynamoDB's refusal of them comes first). */
static const struct table_schema *projection_schema(const struct route_state *st,
						    const struct config_table *t, const cJSON *obj)
{
	const struct table_schema *s = route_schema(st, t);
	const cJSON *index = cJSON_GetObjectItemCaseSensitive(obj, "IndexName");

	if (s == NULL || st->partiql_op != NULL ||
	    (st->op != ROUTE_GET && st->op != ROUTE_QUERY && st->op != ROUTE_SCAN))
		return NULL;
	if (st->op == ROUTE_GET &&
	    !table_schema_key_matches(s, cJSON_GetObjectItemCaseSensitive(obj, "Key")))
		return NULL;
	if (index != NULL && (!cJSON_IsString(index) || table_schema_index(s, index->valuestring) == NULL))
		return NULL;
	return s;
}

/* The names the application's projection used that its widening left unused by every
 * expression of obj: dropped (DynamoDB refuses unused names, but these the application did
 * use).  Names it never used stay, for DynamoDB to refuse. */
static void prune_projection_names(cJSON *obj, const char *original)
{
	static const char *const params[] = { "ProjectionExpression", "KeyConditionExpression",
					       "FilterExpression", "ConditionExpression",
					       "UpdateExpression" };
	cJSON *names = cJSON_GetObjectItemCaseSensitive(obj, "ExpressionAttributeNames");
	cJSON *m = cJSON_IsObject(names) ? names->child : NULL;

	while (m != NULL) {
		cJSON *next = m->next;
		int used = 0;
		for (size_t i = 0; i < sizeof(params) / sizeof(params[0]) && !used; i++) {
			const cJSON *e = cJSON_GetObjectItemCaseSensitive(obj, params[i]);
			used = cJSON_IsString(e) && ddb_expr_uses(e->valuestring, m->string);
		}
		if (!used && ddb_expr_uses(original, m->string))
			cJSON_Delete(cJSON_DetachItemViaPointer(names, m));
		m = next;
	}
	if (cJSON_IsObject(names) && names->child == NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "ExpressionAttributeNames");
}

/*
 * A read that projects: adds what verification needs (every signed attribute, the head and
 * the foot) and remembers the original projection to strip the answer.  proj is filled when
 * obj had a ProjectionExpression.
 */
int route_extend_projection(struct route_state *st, const struct config_table *t, cJSON *obj,
			    struct route_proj *rp)
{
	cJSON *pe = cJSON_GetObjectItemCaseSensitive(obj, "ProjectionExpression");
	cJSON *names;
	const char **extra;
	size_t n = 0, n_filter;
	const char *const *filter = route_filter_attrs(st, &n_filter);
	const struct config_search *search = st->index ? t->search : NULL;
	size_t n_beacons = search != NULL ? search->standard_len + search->compound_len : 0;
	char **beacons = NULL;
	char *expr, *original;

	rp->table = t;
	if (pe == NULL)
		return 0;
	names = cJSON_GetObjectItemCaseSensitive(obj, "ExpressionAttributeNames");
	if (ddb_projection_parse(pe->valuestring, names, &rp->proj, &st->err) != 0)
		return -1;
	rp->has_proj = 1;
	/* DynamoDB's refusal, before the paths are widened to their attributes. */
	if (route_check_key_paths(st, t, projection_schema(st, t, obj), NULL, &rp->proj) != 0)
		return -1;
	for (size_t i = 0; i < rp->proj.len; i++) {
		if (!rp->proj.paths[i].nested)
			continue;
		/* A part of an attribute: the whole one is fetched (and verified, when signed),
		 * and the answer cut to the part after decryption. */
		if (rp->nested != NULL)
			continue;
		rp->nested = strdup(pe->valuestring);
		rp->nested_names = names != NULL ? cJSON_Duplicate(names, 1) : NULL;
		if (rp->nested == NULL || (names != NULL && rp->nested_names == NULL))
			return route_oom(st);
	}
	extra = calloc(t->actions_len + n_filter + rp->proj.len + n_beacons + 2, sizeof(*extra));
	beacons = calloc(n_beacons + 1, sizeof(*beacons));
	if (extra == NULL || beacons == NULL) {
		free(extra);
		free(beacons);
		return route_oom(st);
	}
	/* Every attribute a nested path names, unsigned ones too: the cut after decryption
	 * applies each path to the whole attribute (a list element cut twice would be another). */
	for (size_t i = 0; i < rp->proj.len; i++)
		if (rp->proj.paths[i].nested)
			extra[n++] = rp->proj.paths[i].name;
	for (size_t i = 0; i < t->actions_len; i++) {
		if (t->actions[i].action != ACTION_DO_NOTHING)
			extra[n++] = t->actions[i].name;
	}
	/* What a filter dynaseal applies reads (route_filter.c). */
	for (size_t i = 0; i < n_filter; i++)
		extra[n++] = filter[i];
	extra[n++] = ITEM_HEAD_ATTR;
	extra[n++] = ITEM_FOOT_ATTR;
	/* An index keyed by a beacon holds it where a plaintext index would hold the attribute:
	 * asked for, it shows which attributes the index has (route_index.c). */
	for (size_t i = 0; i < n_beacons; i++) {
		const char *b = i < search->standard_len ? search->standard[i].name
			      : search->compound[i - search->standard_len].name;
		size_t len = sizeof(BEACON_ATTR_PREFIX) + strlen(b);
		if ((beacons[i] = malloc(len)) == NULL)
			break;
		snprintf(beacons[i], len, "%s%s", BEACON_ATTR_PREFIX, b);
		extra[n++] = beacons[i];
	}
	if (n_beacons > 0 && beacons[n_beacons - 1] == NULL) {
		for (size_t i = 0; i < n_beacons; i++)
			free(beacons[i]);
		free(beacons);
		free(extra);
		return route_oom(st);
	}
	if (names != NULL)
		cJSON_DetachItemViaPointer(obj, names);
	expr = ddb_projection_extend(&rp->proj, extra, n, &names, &st->err);
	for (size_t i = 0; i < n_beacons; i++)
		free(beacons[i]);
	free(beacons);
	free(extra);
	if (names != NULL)
		cJSON_AddItemToObject(obj, "ExpressionAttributeNames", names);
	if (expr == NULL)
		return -1;
	original = strdup(pe->valuestring);
	if (original == NULL) {
		free(expr);
		return route_oom(st);
	}
	cJSON_ReplaceItemInObjectCaseSensitive(obj, "ProjectionExpression", cJSON_CreateString(expr));
	free(expr);
	prune_projection_names(obj, original);
	free(original);
	return 0;
}
