/*
 * CreateTable, UpdateTable and DescribeTable of a configured table: its indexes as the
 * application sees them.  DynamoDB cannot index ciphertext, so an index keyed by an attribute
 * with a standard beacon, or by a compound beacon's name, is made on the beacon attribute
 * (aws_dbe_b_<name>, a string), and
 * every table description DynamoDB answers with names the attribute again: the application
 * creates, describes and queries an index on "email" (route_beacon.c rewrites the queries).
 * An index keyed by an encrypted attribute without a beacon could never hold an item written
 * through dynaseal, and is refused.
 */
#include "proxy/route_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "crypto/item/beacon.h"
#include "proxy/base/json.h"
#include "proxy/forward.h"
#include "proxy/route_beacon.h"
#include "proxy/route_internal.h"
#include "proxy/route_rmw.h"

/* The number of beacons of t: its standard ones, then its compound ones. */
static size_t beacons_len(const struct config_table *t)
{
	return t->search != NULL ? t->search->standard_len + t->search->compound_len : 0;
}

/* The index of the beacon named name on t (standard, then compound), or beacons_len(t). */
static size_t beacon_of(const struct config_table *t, const char *name)
{
	size_t i;

	for (i = 0; t->search != NULL && i < t->search->standard_len; i++)
		if (strcmp(t->search->standard[i].name, name) == 0)
			return i;
	for (size_t c = 0; t->search != NULL && c < t->search->compound_len; c++)
		if (strcmp(t->search->compound[c].name, name) == 0)
			return i + c;
	return beacons_len(t);
}

/* Renames an attribute name value (a cJSON string) to to. */
static int rename_to(cJSON *s, const char *to)
{
	return cJSON_SetValuestring(s, to) != NULL ? 0 : -1;
}

/*
 * The KeySchema of an index in the request: a beaconed attribute becomes its beacon attribute
 * (noted in *renamed); an encrypted one without a beacon is refused.
 */
static int rewrite_key_schema(struct route_state *st, const struct config_table *t, const char *op,
			      const cJSON *index, unsigned char *renamed)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(index, "IndexName");
	const cJSON *ks = cJSON_GetObjectItemCaseSensitive(index, "KeySchema");
	cJSON *k;

	cJSON_ArrayForEach(k, ks) {
		cJSON *a = cJSON_GetObjectItemCaseSensitive(k, "AttributeName");
		enum attr_action action;
		char beacon[300];
		size_t i;

		if (!cJSON_IsString(a))
			continue;       /* DynamoDB's refusal */
		if ((i = beacon_of(t, a->valuestring)) < beacons_len(t)) {
			snprintf(beacon, sizeof(beacon), "%s%s", BEACON_ATTR_PREFIX, a->valuestring);
			renamed[i] = 1;
			if (rename_to(a, beacon) != 0)
				return -1;
			continue;
		}
		if (config_table_action(t, a->valuestring, strlen(a->valuestring), &action) == 0 &&
		    action == ACTION_ENCRYPT_AND_SIGN)
			return route_refuse(st, "table \"%s\": %s: index \"%.64s\" is keyed by \"%.64s\", which "
					    "dynaseal encrypts (ENCRYPT_AND_SIGN), and DynamoDB cannot index "
					    "ciphertext; add a standard beacon for it (search.standard_beacons) "
					    "to index it, or key the index by a signed attribute", t->name, op,
					    cJSON_IsString(name) ? name->valuestring : "?", a->valuestring);
	}
	return 0;
}

/* The request's AttributeDefinitions of beaconed attributes an index is keyed by: renamed,
 * of type S (a beacon is a string of hex digits). */
static int rewrite_definitions(const struct config_table *t, cJSON *req, const unsigned char *renamed)
{
	cJSON *defs = cJSON_GetObjectItemCaseSensitive(req, "AttributeDefinitions");
	cJSON *d;

	cJSON_ArrayForEach(d, defs) {
		cJSON *a = cJSON_GetObjectItemCaseSensitive(d, "AttributeName");
		cJSON *type = cJSON_GetObjectItemCaseSensitive(d, "AttributeType");
		size_t b;
		char beacon[300];

		if (!cJSON_IsString(a) || (b = beacon_of(t, a->valuestring)) >= beacons_len(t) ||
		    !renamed[b])
			continue;
		snprintf(beacon, sizeof(beacon), "%s%s", BEACON_ATTR_PREFIX, a->valuestring);
		if (rename_to(a, beacon) != 0 || (cJSON_IsString(type) && rename_to(type, "S") != 0))
			return -1;
	}
	return 0;
}

/* Each index of list (an array of index descriptions or of UpdateTable's updates, each under
 * member when not NULL) through rewrite_key_schema. */
static int rewrite_indexes(struct route_state *st, const struct config_table *t, const char *op,
			   const cJSON *list, const char *member, unsigned char *renamed)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, list) {
		const cJSON *index = member != NULL ? cJSON_GetObjectItemCaseSensitive(it, member) : it;
		if (index != NULL && rewrite_key_schema(st, t, op, index, renamed) != 0)
			return -1;
	}
	return 0;
}

/* A table description (TableDescription, Table): beacon attributes named as the application
 * knows them. */
static int describe_back(const struct config_table *t, cJSON *desc)
{
	static const char *const lists[] = { "GlobalSecondaryIndexes", "LocalSecondaryIndexes" };
	cJSON *d, *idx, *k;

	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(desc, "AttributeDefinitions")) {
		cJSON *a = cJSON_GetObjectItemCaseSensitive(d, "AttributeName");
		if (cJSON_IsString(a) && route_beacon_is_attr(t, a->valuestring) &&
		    rename_to(a, a->valuestring + sizeof(BEACON_ATTR_PREFIX) - 1) != 0)
			return -1;
	}
	for (size_t l = 0; l < 2; l++)
		cJSON_ArrayForEach(idx, cJSON_GetObjectItemCaseSensitive(desc, lists[l]))
			cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(idx, "KeySchema")) {
				cJSON *a = cJSON_GetObjectItemCaseSensitive(k, "AttributeName");
				if (cJSON_IsString(a) && route_beacon_is_attr(t, a->valuestring) &&
				    rename_to(a, a->valuestring + sizeof(BEACON_ATTR_PREFIX) - 1) != 0)
					return -1;
			}
	return 0;
}

static void answer_cb(void *arg, struct http_msg *resp, const struct ds_error *err)
{
	struct route_state *st = arg;
	struct txn *t = st->t;
	struct ds_error e = { 0 };
	cJSON *doc;
	char *body;

	t->call = NULL;
	if (err != NULL) {
		txn_fail(t, err);
		return;
	}
	if (resp->status < 200 || resp->status >= 300 || (doc = route_answer_json(resp)) == NULL) {
		txn_respond(t, resp, 0);
		return;
	}
	if (describe_back(st->table, cJSON_GetObjectItemCaseSensitive(doc, "TableDescription")) != 0 ||
	    describe_back(st->table, cJSON_GetObjectItemCaseSensitive(doc, "Table")) != 0 ||
	    (body = json_print(doc, NULL)) == NULL) {
		cJSON_Delete(doc);
		http_msg_free(resp);
		ds_error_set(&e, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		txn_fail(t, &e);
		return;
	}
	cJSON_Delete(doc);
	evbuffer_drain(resp->body, evbuffer_get_length(resp->body));
	evbuffer_add(resp->body, body, strlen(body));
	cJSON_free(body);
	txn_respond(t, resp, 1);
}

int route_table_request(struct route_state *st, cJSON *req)
{
	struct txn *t = st->t;
	const struct config_table *tb = st->table;
	unsigned char *renamed = NULL;
	struct ds_error err = { 0 };
	char *body;
	int rc = -1;

	if (strcmp(t->op, "DescribeTable") != 0) {
		renamed = calloc(beacons_len(tb) + 1, 1);
		if (renamed == NULL)
			goto oom;
		if (rewrite_indexes(st, tb, t->op, cJSON_GetObjectItemCaseSensitive(req, "GlobalSecondaryIndexes"),
				    NULL, renamed) != 0 ||
		    rewrite_indexes(st, tb, t->op, cJSON_GetObjectItemCaseSensitive(req, "LocalSecondaryIndexes"),
				    NULL, renamed) != 0 ||
		    rewrite_indexes(st, tb, t->op,
				    cJSON_GetObjectItemCaseSensitive(req, "GlobalSecondaryIndexUpdates"),
				    "Create", renamed) != 0) {
			if (st->err.status == 0)
				goto oom;
			goto done;
		}
		if (rewrite_definitions(tb, req, renamed) != 0)
			goto oom;
	}
	if ((body = json_print(req, NULL)) == NULL)
		goto oom;
	t->call = forward_send(t->worker, t->req, t->region, body, strlen(body), 1, answer_cb, st, &err);
	cJSON_free(body);
	if (t->call == NULL) {
		st->err = err;
		goto done;
	}
	rc = 0;
	goto done;
oom:
	ds_error_set(&st->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
done:
	free(renamed);
	return rc;
}
