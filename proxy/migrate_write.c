/* The conditioned write-back of one converted item (migrate_write.h). */
#include "proxy/migrate_write.h"

#include <string.h>

#include <event2/buffer.h>

#include "crypto/item/item_crypt.h"

/* Names attribute name as #mN (and value v, copied, as :mN). */
static int placeholder(cJSON *names, cJSON *values, int n, const char *name, const cJSON *v)
{
	char ph[16];

	snprintf(ph, sizeof(ph), "#m%d", n);
	if (cJSON_AddStringToObject(names, ph, name) == NULL)
		return -1;
	if (v != NULL) {
		cJSON *c = cJSON_Duplicate(v, 1);
		ph[0] = ':';
		if (c == NULL || !cJSON_AddItemToObject(values, ph, c)) {
			cJSON_Delete(c);
			return -1;
		}
	}
	return 0;
}

/* Whether attribute name is signed by the table's configuration, or reserved; an attribute the
 * table does not configure (the legacy client's own among them) counts as signed. */
static int is_signed(const struct config_table *t, const char *name)
{
	enum attr_action a;

	if (item_name_is_reserved(name, strlen(name)))
		return 1;
	return config_table_action(t, name, strlen(name), &a) != 0 || a != ACTION_DO_NOTHING;
}

/* The condition that the plaintext or legacy item raw is still the one read. */
static int guard_unprotected(const struct config_table *t, const cJSON *raw, cJSON *names,
			     cJSON *values, struct evbuffer *cond, int *n)
{
	const cJSON *a;

	if (placeholder(names, values, *n, ITEM_HEAD_ATTR, NULL) != 0 ||
	    placeholder(names, values, *n + 1, t->partition_key, NULL) != 0)
		return -1;
	evbuffer_add_printf(cond, "attribute_not_exists(#m%d) AND attribute_exists(#m%d)", *n, *n + 1);
	*n += 2;
	/* Every signed attribute read still holds its value ... */
	cJSON_ArrayForEach(a, raw) {
		if (config_table_is_key(t, a->string, strlen(a->string)) || !is_signed(t, a->string))
			continue;
		if (placeholder(names, values, *n, a->string, a) != 0)
			return -1;
		evbuffer_add_printf(cond, " AND #m%d = :m%d", *n, *n);
		(*n)++;
	}
	/* ... and every configured signed attribute it did not hold is still missing. */
	for (size_t i = 0; i < t->actions_len; i++) {
		const char *name = t->actions[i].name;
		if (t->actions[i].action == ACTION_DO_NOTHING || config_table_is_key(t, name, strlen(name)) ||
		    cJSON_GetObjectItemCaseSensitive(raw, name) != NULL)
			continue;
		if (placeholder(names, values, *n, name, NULL) != 0)
			return -1;
		evbuffer_add_printf(cond, " AND attribute_not_exists(#m%d)", *n);
		(*n)++;
	}
	return 0;
}

/* The condition that the v3 item raw is still the one read: its header and footer. */
static int guard_v3(const struct config_table *t, const cJSON *raw, cJSON *names, cJSON *values,
		    struct evbuffer *cond, int *n)
{
	const cJSON *head = cJSON_GetObjectItemCaseSensitive(raw, ITEM_HEAD_ATTR);
	const cJSON *foot = cJSON_GetObjectItemCaseSensitive(raw, ITEM_FOOT_ATTR);

	if (placeholder(names, values, *n, t->partition_key, NULL) != 0 ||
	    placeholder(names, values, *n + 1, ITEM_HEAD_ATTR, head) != 0 ||
	    placeholder(names, values, *n + 2, ITEM_FOOT_ATTR, foot) != 0)
		return -1;
	evbuffer_add_printf(cond, "attribute_exists(#m%d) AND #m%d = :m%d AND #m%d = :m%d", *n,
			    *n + 1, *n + 1, *n + 2, *n + 2);
	*n += 3;
	return 0;
}

cJSON *migrate_write_body(const struct config_table *t, const cJSON *raw, const cJSON *enc)
{
	cJSON *body = cJSON_CreateObject(), *key = cJSON_CreateObject();
	cJSON *names = cJSON_CreateObject(), *values = cJSON_CreateObject();
	struct evbuffer *set = evbuffer_new(), *rm = evbuffer_new(), *cond = evbuffer_new();
	const cJSON *a, *head = cJSON_GetObjectItemCaseSensitive(raw, ITEM_HEAD_ATTR);
	const cJSON *foot = cJSON_GetObjectItemCaseSensitive(raw, ITEM_FOOT_ATTR);
	char *s_upd = NULL, *s_cond = NULL;
	int n = 0, ok = 0;

	if (!body || !key || !names || !values || !set || !rm || !cond)
		goto cleanup;
	if ((head != NULL && foot != NULL ? guard_v3(t, raw, names, values, cond, &n) :
	     guard_unprotected(t, raw, names, values, cond, &n)) != 0)
		goto cleanup;
	cJSON_ArrayForEach(a, enc) {
		const cJSON *old = cJSON_GetObjectItemCaseSensitive(raw, a->string);
		if (config_table_is_key(t, a->string, strlen(a->string))) {
			if (!cJSON_AddItemToObject(key, a->string, cJSON_Duplicate(a, 1)))
				goto cleanup;
			continue;
		}
		if (old != NULL && cJSON_Compare(old, a, 1))
			continue;
		if (placeholder(names, values, n, a->string, a) != 0)
			goto cleanup;
		evbuffer_add_printf(set, "%s#m%d = :m%d", evbuffer_get_length(set) ? ", " : "SET ", n, n);
		n++;
	}
	cJSON_ArrayForEach(a, raw) {
		if (config_table_is_key(t, a->string, strlen(a->string)) ||
		    cJSON_GetObjectItemCaseSensitive(enc, a->string) != NULL)
			continue;
		if (placeholder(names, values, n, a->string, NULL) != 0)
			goto cleanup;
		evbuffer_add_printf(rm, "%s#m%d", evbuffer_get_length(rm) ? ", " : " REMOVE ", n);
		n++;
	}
	evbuffer_add_buffer(set, rm);
	evbuffer_add(set, "", 1);
	evbuffer_add(cond, "", 1);
	s_upd = (char *)evbuffer_pullup(set, -1);
	s_cond = (char *)evbuffer_pullup(cond, -1);
	if (cJSON_AddStringToObject(body, "TableName", t->name) == NULL ||
	    !cJSON_AddItemToObject(body, "Key", key))
		goto cleanup;
	key = NULL;
	if (cJSON_AddStringToObject(body, "UpdateExpression", s_upd[0] == ' ' ? s_upd + 1 : s_upd) == NULL ||
	    cJSON_AddStringToObject(body, "ConditionExpression", s_cond) == NULL ||
	    !cJSON_AddItemToObject(body, "ExpressionAttributeNames", names))
		goto cleanup;
	names = NULL;
	if (values->child != NULL) {
		if (!cJSON_AddItemToObject(body, "ExpressionAttributeValues", values))
			goto cleanup;
		values = NULL;
	}
	ok = cJSON_AddStringToObject(body, "ReturnConsumedCapacity", "TOTAL") != NULL;
cleanup:
	cJSON_Delete(key);
	cJSON_Delete(names);
	cJSON_Delete(values);
	if (set)
		evbuffer_free(set);
	if (rm)
		evbuffer_free(rm);
	if (cond)
		evbuffer_free(cond);
	if (!ok) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}
