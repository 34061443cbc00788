/*
 * DynamoDB's legacy parameters on configured tables, written as the expressions that mean the
 * same (Developer Guide, "Legacy conditional parameters"): Expected (with ConditionalOperator)
 * as ConditionExpression, AttributeUpdates as UpdateExpression, KeyConditions as
 * KeyConditionExpression, QueryFilter and ScanFilter (with ConditionalOperator) as
 * FilterExpression, AttributesToGet as ProjectionExpression.  The request then goes the way
 * every expression request goes: checked, rewritten, or carried out by dynaseal when it reads
 * or writes protected attributes.  Names and values go through #lgN and :lgN placeholders.
 */
#include "proxy/route_legacy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "proxy/ddb/ddb_legacy.h"
#include "proxy/route_internal.h"

/* The parameters of each style, in the order DynamoDB lists them in its refusal. */
static const char *const legacy[] = {
	"AttributesToGet", "QueryFilter", "ScanFilter", "KeyConditions", "Expected",
	"AttributeUpdates", "ConditionalOperator",
};
static const char *const modern[] = {
	"ProjectionExpression", "FilterExpression", "KeyConditionExpression", "ConditionExpression",
	"UpdateExpression", "ExpressionAttributeNames", "ExpressionAttributeValues",
};

/* DynamoDB refuses a request that mixes the styles (KeyConditions may go with the other
 * expressions when there is no KeyConditionExpression). */
static int check_mixed(struct route_state *st, const cJSON *req)
{
	char old[160] = "", new[200] = "";
	size_t no = 0, nn = 0;
	int key_alone = cJSON_GetObjectItemCaseSensitive(req, "KeyConditionExpression") == NULL;

	for (size_t i = 0; i < sizeof(modern) / sizeof(modern[0]); i++)
		if (cJSON_GetObjectItemCaseSensitive(req, modern[i]) != NULL)
			nn += (size_t)snprintf(new + nn, sizeof(new) - nn, "%s%s", nn ? ", " : "", modern[i]);
	if (nn == 0)
		return 0;
	for (size_t i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++) {
		if (cJSON_GetObjectItemCaseSensitive(req, legacy[i]) == NULL ||
		    (key_alone && strcmp(legacy[i], "KeyConditions") == 0))
			continue;
		no += (size_t)snprintf(old + no, sizeof(old) - no, "%s%s", no ? ", " : "", legacy[i]);
	}
	if (no == 0)
		return 0;
	return route_refuse(st, "Can not use both expression and non-expression parameters in the "
			    "same request: Non-expression parameters: {%s} Expression parameters: {%s}",
			    old, new);
}

/* The request's names and values objects, detached (NULL when absent), to be added to. */
struct placeholders {
	cJSON *names, *values;
	int next_name, next_value;   /* the next free #lgN and :lgN; -1 until needed */
};

static void take(cJSON *req, struct placeholders *p)
{
	p->names = cJSON_DetachItemFromObjectCaseSensitive(req, "ExpressionAttributeNames");
	p->values = cJSON_DetachItemFromObjectCaseSensitive(req, "ExpressionAttributeValues");
}

/* Puts them back, leaving out what is empty (DynamoDB refuses an empty map). */
static void give_back(cJSON *req, struct placeholders *p)
{
	if (p->names != NULL && p->names->child != NULL)
		cJSON_AddItemToObject(req, "ExpressionAttributeNames", p->names);
	else
		cJSON_Delete(p->names);
	if (p->values != NULL && p->values->child != NULL)
		cJSON_AddItemToObject(req, "ExpressionAttributeValues", p->values);
	else
		cJSON_Delete(p->values);
	p->names = p->values = NULL;
}

/* Replaces the legacy map param of req by expression param. */
static int condition(struct route_state *st, cJSON *req, struct placeholders *p, const char *param,
		     enum ddb_legacy_kind kind, const char *expr_param, int with_operator)
{
	const cJSON *conds = cJSON_GetObjectItemCaseSensitive(req, param);
	const cJSON *op = with_operator ? cJSON_GetObjectItemCaseSensitive(req, "ConditionalOperator") : NULL;
	char *expr = NULL;
	size_t len;

	if (conds == NULL)
		return 0;
	if (cJSON_IsObject(conds) && conds->child == NULL && op == NULL) {
		/* An empty map is no condition at all: DynamoDB goes on to the rest. */
		cJSON_DeleteItemFromObjectCaseSensitive(req, param);
		return 0;
	}
	if (op != NULL && !cJSON_IsString(op))
		return route_refuse(st, "ConditionalOperator must be a string");
	if (ddb_legacy_condition(kind, conds, op != NULL ? op->valuestring : NULL, &p->names,
				 &p->values, &expr, &st->err) != 0)
		return -1;
	p->next_name = p->next_value = -1;      /* it added some */
	len = strlen(expr);
	if (len > DDB_EXPR_MAX) {
		route_refuse(st, "One or more parameter values were invalid: %s holds more values than "
			     "dynaseal evaluates (its conditions make an expression of %zu bytes, at most "
			     "%d); split the request", param, len, DDB_EXPR_MAX);
		free(expr);
		return -1;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(req, param);
	if (op != NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(req, "ConditionalOperator");
	if (cJSON_AddStringToObject(req, expr_param, expr) == NULL) {
		free(expr);
		ds_error_set(&st->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		return -1;
	}
	free(expr);
	return 0;
}

/* A name placeholder of p for attribute name (a fresh #lgN). */
static int name_ph(struct placeholders *p, const char *name, char out[24])
{
	if (p->names == NULL && (p->names = cJSON_CreateObject()) == NULL)
		return -1;
	if (p->next_name < 0)
		p->next_name = ddb_legacy_free_placeholder(p->names, "#lg");
	snprintf(out, 24, "#lg%d", p->next_name++);
	return cJSON_AddStringToObject(p->names, out, name) != NULL ? 0 : -1;
}

/* A value placeholder of p for a copy of v (a fresh :lgN). */
static int value_ph(struct placeholders *p, const cJSON *v, char out[24])
{
	cJSON *c;

	if (p->values == NULL && (p->values = cJSON_CreateObject()) == NULL)
		return -1;
	if (p->next_value < 0)
		p->next_value = ddb_legacy_free_placeholder(p->values, ":lg");
	snprintf(out, 24, ":lg%d", p->next_value++);
	c = cJSON_Duplicate(v, 1);
	if (c == NULL || !cJSON_AddItemToObject(p->values, out, c)) {
		cJSON_Delete(c);
		return -1;
	}
	return 0;
}

/* AttributesToGet as a ProjectionExpression. */
static int projection(struct route_state *st, cJSON *obj, struct placeholders *p)
{
	const cJSON *atg = cJSON_GetObjectItemCaseSensitive(obj, "AttributesToGet");
	struct evbuffer *b;
	const cJSON *a;
	char ph[24];
	int rc = 0;

	if (atg == NULL)
		return 0;
	if (!cJSON_IsArray(atg))
		return route_refuse(st, "AttributesToGet must be a list of attribute names");
	if (atg->child == NULL)
		return route_refuse(st, "1 validation error detected: Value '[]' at 'attributesToGet' "
				    "failed to satisfy constraint: Member must have length greater than "
				    "or equal to 1");
	if ((b = evbuffer_new()) == NULL)
		goto oom;
	cJSON_ArrayForEach(a, atg) {
		if (!cJSON_IsString(a)) {
			evbuffer_free(b);
			return route_refuse(st, "AttributesToGet must be a list of attribute names");
		}
		if (name_ph(p, a->valuestring, ph) != 0) {
			evbuffer_free(b);
			goto oom;
		}
		evbuffer_add_printf(b, "%s%s", evbuffer_get_length(b) ? ", " : "", ph);
	}
	evbuffer_add(b, "", 1);
	if (cJSON_AddStringToObject(obj, "ProjectionExpression",
				    (const char *)evbuffer_pullup(b, -1)) == NULL)
		rc = -1;
	evbuffer_free(b);
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "AttributesToGet");
	if (rc == 0)
		return 0;
oom:
	ds_error_set(&st->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
	return -1;
}

/* Whether DynamoDB takes a Value of this type for an ADD (numbers, sets, lists) or a DELETE
 * (sets) of AttributeUpdates. */
static int update_type_ok(const char *action, const cJSON *v)
{
	static const char *const add[] = { "N", "SS", "NS", "BS", "L" };
	const char *t = cJSON_IsObject(v) && v->child != NULL ? v->child->string : "";

	for (size_t i = action[0] == 'D' ? 1 : 0; i < (action[0] == 'D' ? 4u : 5u); i++)
		if (strcmp(t, add[i]) == 0)
			return 1;
	return 0;
}

/* AttributeUpdates as an UpdateExpression (API reference, UpdateItem, AttributeUpdates):
 * PUT sets, DELETE without a value removes, DELETE with one takes elements from a set, ADD
 * adds to a number or a set and appends to a list. */
static int updates(struct route_state *st, cJSON *req, struct placeholders *p)
{
	const cJSON *ups = cJSON_GetObjectItemCaseSensitive(req, "AttributeUpdates");
	struct evbuffer *parts[4];   /* SET, REMOVE, ADD, DELETE */
	static const char *const words[] = { "SET", "REMOVE", "ADD", "DELETE" };
	struct evbuffer *all;
	const cJSON *u;
	int rc = -1;

	if (ups == NULL)
		return 0;
	if (!cJSON_IsObject(ups))
		return route_refuse(st, "AttributeUpdates must be a map of attribute names to updates");
	for (int i = 0; i < 4; i++)
		parts[i] = evbuffer_new();
	all = evbuffer_new();
	if (parts[0] == NULL || parts[1] == NULL || parts[2] == NULL || parts[3] == NULL || all == NULL)
		goto oom;
	cJSON_ArrayForEach(u, ups) {
		const cJSON *act = cJSON_GetObjectItemCaseSensitive(u, "Action");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(u, "Value");
		const char *a = cJSON_IsString(act) ? act->valuestring : "PUT";
		char n[24], val[24], empty[24];
		int which;

		if (act != NULL && (!cJSON_IsString(act) || (strcmp(a, "PUT") != 0 &&
		    strcmp(a, "ADD") != 0 && strcmp(a, "DELETE") != 0))) {
			route_refuse(st, "1 validation error detected: Value '%.32s' at "
				     "'attributeUpdates.%.64s.member.action' failed to satisfy constraint: "
				     "Member must satisfy enum value set: [ADD, PUT, DELETE]",
				     cJSON_IsString(act) ? act->valuestring : "", u->string);
			goto out;
		}
		if (v == NULL && strcmp(a, "DELETE") != 0) {
			route_refuse(st, "One or more parameter values were invalid: Only DELETE action is "
				     "allowed when no attribute value is specified");
			goto out;
		}
		if (v != NULL && strcmp(a, "PUT") != 0 && !update_type_ok(a, v)) {
			route_refuse(st, "One or more parameter values were invalid: %s action %sis not "
				     "supported for the type %.8s", a, a[0] == 'D' ? "with value " : "",
				     cJSON_IsObject(v) && v->child != NULL ? v->child->string : "");
			goto out;
		}
		if (name_ph(p, u->string, n) != 0 || (v != NULL && value_ph(p, v, val) != 0))
			goto oom;
		if (strcmp(a, "PUT") == 0) {
			which = 0;
			evbuffer_add_printf(parts[0], "%s%s = %s", evbuffer_get_length(parts[0]) ? ", " : "",
					    n, val);
		} else if (strcmp(a, "DELETE") == 0) {
			which = v == NULL ? 1 : 3;
			evbuffer_add_printf(parts[which], "%s%s%s%s",
					    evbuffer_get_length(parts[which]) ? ", " : "", n,
					    v != NULL ? " " : "", v != NULL ? val : "");
		} else if (cJSON_GetObjectItemCaseSensitive(v, "L") != NULL) {
			static const char empty_list[] = "{\"L\":[]}";
			cJSON *e = cJSON_Parse(empty_list);
			int bad = e == NULL || value_ph(p, e, empty) != 0;
			cJSON_Delete(e);
			if (bad)
				goto oom;
			evbuffer_add_printf(parts[0], "%s%s = list_append(if_not_exists(%s, %s), %s)",
					    evbuffer_get_length(parts[0]) ? ", " : "", n, n, empty, val);
		} else {
			evbuffer_add_printf(parts[2], "%s%s %s", evbuffer_get_length(parts[2]) ? ", " : "",
					    n, val);
		}
	}
	for (int i = 0; i < 4; i++) {
		if (evbuffer_get_length(parts[i]) == 0)
			continue;
		evbuffer_add_printf(all, "%s%s ", evbuffer_get_length(all) ? " " : "", words[i]);
		evbuffer_add_buffer(all, parts[i]);
	}
	evbuffer_add(all, "", 1);
	if (evbuffer_get_length(all) > 1 &&
	    cJSON_AddStringToObject(req, "UpdateExpression", (const char *)evbuffer_pullup(all, -1)) == NULL)
		goto oom;
	cJSON_DeleteItemFromObjectCaseSensitive(req, "AttributeUpdates");
	st->legacy_updates = 1;
	rc = 0;
	goto out;
oom:
	ds_error_set(&st->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
out:
	for (int i = 0; i < 4; i++)
		if (parts[i] != NULL)
			evbuffer_free(parts[i]);
	if (all != NULL)
		evbuffer_free(all);
	return rc;
}

const char *route_legacy_message(const struct route_state *st, const char *message, char *buf,
				 size_t cap)
{
	static const char key_filter[] = "Filter Expression can only contain non-primary key "
					 "attributes";

	/* DynamoDB's words for the update expression's type error, said of AttributeUpdates. */
	if (st->legacy_updates &&
	    strcmp(message, "An operand in the update expression has an incorrect data type") == 0)
		return "Type mismatch for attribute to update";
	/* ... and for a filter on the key, said of QueryFilter. */
	if (st->legacy_query_filter &&
	    strncmp(message, key_filter, sizeof(key_filter) - 1) == 0) {
		snprintf(buf, cap, "QueryFilter%s", message + sizeof("Filter Expression") - 1);
		return buf;
	}
	return NULL;
}

int route_legacy_key_conditions_plain(const struct config_table *t, const cJSON *obj)
{
	const cJSON *kc = cJSON_GetObjectItemCaseSensitive(obj, "KeyConditions");
	const cJSON *c;

	if (t == NULL || !cJSON_IsObject(kc))
		return 0;
	cJSON_ArrayForEach(c, kc) {
		enum attr_action action;
		if (c->string == NULL ||
		    (config_table_action(t, c->string, strlen(c->string), &action) == 0 &&
		     action == ACTION_ENCRYPT_AND_SIGN))
			return 0;
	}
	return 1;
}

int route_legacy_translate(struct route_state *st, cJSON *obj, enum route_op op)
{
	struct placeholders p = { .next_name = -1, .next_value = -1 };
	size_t i;
	int rc;

	for (i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++)
		if (cJSON_GetObjectItemCaseSensitive(obj, legacy[i]) != NULL)
			break;
	if (!cJSON_IsObject(obj) || i == sizeof(legacy) / sizeof(legacy[0]))
		return 0;
	if (check_mixed(st, obj) != 0)
		return -1;
	take(obj, &p);
	rc = projection(st, obj, &p);
	if (rc == 0 && (op == ROUTE_PUT || op == ROUTE_UPDATE || op == ROUTE_DELETE) &&
	    cJSON_GetObjectItemCaseSensitive(obj, "Expected") != NULL) {
		rc = condition(st, obj, &p, "Expected", DDB_LEGACY_EXPECTED, "ConditionExpression", 1);
		st->legacy_expected = cJSON_GetObjectItemCaseSensitive(obj, "Expected") == NULL;
	}
	if (rc == 0 && op == ROUTE_UPDATE)
		rc = updates(st, obj, &p);
	if (rc == 0 && op == ROUTE_QUERY) {
		/* KeyConditions on attributes kept in plaintext go to DynamoDB as they are (they may
		 * go with expressions), so that it validates them in its own words. */
		if (!route_legacy_key_conditions_plain(st->table, obj))
			rc = condition(st, obj, &p, "KeyConditions", DDB_LEGACY_FILTER,
				       "KeyConditionExpression", 0);
		if (rc == 0 && cJSON_GetObjectItemCaseSensitive(obj, "QueryFilter") != NULL) {
			rc = condition(st, obj, &p, "QueryFilter", DDB_LEGACY_FILTER, "FilterExpression", 1);
			st->legacy_query_filter = cJSON_GetObjectItemCaseSensitive(obj, "QueryFilter") == NULL;
		}
	}
	if (rc == 0 && op == ROUTE_SCAN &&
	    cJSON_GetObjectItemCaseSensitive(obj, "ScanFilter") != NULL) {
		rc = condition(st, obj, &p, "ScanFilter", DDB_LEGACY_FILTER, "FilterExpression", 1);
		st->legacy_filter = cJSON_GetObjectItemCaseSensitive(obj, "ScanFilter") == NULL;
	}
	st->legacy_filter |= st->legacy_query_filter;
	give_back(obj, &p);
	return rc;
}
