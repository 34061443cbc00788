/*
 * The write-back of an update dynaseal carried out (route_rmw.c): the one UpdateItem that puts
 * the new item in place of the one read, and only of that one.
 *
 * It sets every signed attribute of the new item, aws_dbe_head and aws_dbe_foot, and the
 * DO_NOTHING attributes the update wrote; it removes those of them the new item no longer
 * holds.  DO_NOTHING attributes the update did not write are left to whoever writes them, so
 * a concurrent "ADD visits :one" is never undone.  It is conditioned on the item being the one
 * read: the stored aws_dbe_foot unchanged (it signs every signed attribute), or the item
 * still missing, or -- for an item read without a head, under plaintext_policy or written by
 * the legacy client -- every attribute unchanged; and on every DO_NOTHING attribute the request reads or writes still
 * holding the value read.  Names and values go through #rN and :rN placeholders.
 */
#include "proxy/route_rmw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "crypto/item/item_crypt.h"
#include "crypto/legacy/legacy_item.h"
#include "proxy/base/json.h"

struct text_parts {
	struct evbuffer *set, *remove, *cond;
	cJSON *names, *values;
	int n;
};

/* Names attribute name (and value v, copied, when not NULL) as #rN (:rN) into out. */
static int placeholder(struct text_parts *w, const char *name, const cJSON *v, char out[16])
{
	char val[16];

	snprintf(out, 16, "#r%d", w->n);
	snprintf(val, sizeof(val), ":r%d", w->n);
	w->n++;
	if (cJSON_AddStringToObject(w->names, out, name) == NULL)
		return -1;
	if (v != NULL) {
		cJSON *c = cJSON_Duplicate(v, 1);
		if (c == NULL || !cJSON_AddItemToObject(w->values, val, c)) {
			cJSON_Delete(c);
			return -1;
		}
	}
	return 0;
}

/* Adds "#rN = :rN" (or attribute_not_exists(#rN) when v is NULL) to the condition. */
static int guard(struct text_parts *w, const char *name, const cJSON *v)
{
	char ph[16];

	if (placeholder(w, name, v, ph) != 0)
		return -1;
	if (evbuffer_get_length(w->cond) > 0)
		evbuffer_add_printf(w->cond, " AND ");
	if (v != NULL)
		evbuffer_add_printf(w->cond, "%s = :r%s", ph, ph + 2);
	else
		evbuffer_add_printf(w->cond, "attribute_not_exists(%s)", ph);
	return 0;
}

/* Whether the write sets or removes attribute name.  An item the legacy client wrote is
 * rewritten whole: its DO_NOTHING attributes may hold legacy ciphertext, and its
 * *amzn-ddb-map-desc* and *amzn-ddb-map-sig* go. */
static int rewritten(const struct route_rmw_write *it, const char *name)
{
	enum attr_action action;

	if (config_table_is_key(it->table, name, strlen(name)))
		return 0;
	if (item_name_is_reserved(name, strlen(name)) || legacy_item_is_legacy(it->raw))
		return 1;
	if (config_table_action(it->table, name, strlen(name), &action) != 0 ||
	    action != ACTION_DO_NOTHING)
		return 1;
	return cJSON_GetObjectItemCaseSensitive(it->written, name) != NULL;
}

static int build(const struct route_rmw_write *it, struct text_parts *w)
{
	const cJSON *foot = cJSON_GetObjectItemCaseSensitive(it->raw, ITEM_FOOT_ATTR);
	const cJSON *sets[] = { it->written, it->read };
	const cJSON *set_from = it->cond_only ? NULL : it->enc;
	const cJSON *removed_from = it->cond_only ? NULL : it->raw;
	const cJSON *a;
	char ph[16];

	cJSON_ArrayForEach(a, set_from) {
		if (!rewritten(it, a->string))
			continue;
		if (placeholder(w, a->string, a, ph) != 0)
			return -1;
		evbuffer_add_printf(w->set, "%s%s = :r%s", evbuffer_get_length(w->set) ? ", " : "SET ",
				    ph, ph + 2);
	}
	cJSON_ArrayForEach(a, removed_from) {
		if (!rewritten(it, a->string) || cJSON_GetObjectItemCaseSensitive(it->enc, a->string) != NULL)
			continue;
		if (placeholder(w, a->string, NULL, ph) != 0)
			return -1;
		evbuffer_add_printf(w->remove, "%s%s", evbuffer_get_length(w->remove) ? ", " : " REMOVE ",
				    ph);
	}
	/* The item is still the one read ... */
	if (it->raw == NULL)
		return guard(w, it->table->partition_key, NULL);
	if (foot != NULL) {
		if (guard(w, ITEM_FOOT_ATTR, foot) != 0)
			return -1;
	} else {
		if (guard(w, ITEM_HEAD_ATTR, NULL) != 0)
			return -1;
		cJSON_ArrayForEach(a, it->raw)
			if (!config_table_is_key(it->table, a->string, strlen(a->string)) &&
			    guard(w, a->string, a) != 0)
				return -1;
	}
	/* ... and so is every DO_NOTHING attribute the request reads or writes. */
	for (size_t i = 0; i < 2; i++) {
		cJSON_ArrayForEach(a, sets[i]) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(it->raw, a->string);
			if ((i == 1 && cJSON_GetObjectItemCaseSensitive(it->written, a->string) != NULL) ||
			    (foot == NULL && v != NULL))
				continue;       /* guarded already */
			if (guard(w, a->string, v) != 0)
				return -1;
		}
	}
	return 0;
}

static int add_text(cJSON *body, const char *name, struct evbuffer *b)
{
	char *s = json_buffer_text(b);
	int ok;

	if (s == NULL)
		return -1;
	ok = cJSON_AddStringToObject(body, name, s) != NULL;
	free(s);
	return ok ? 0 : -1;
}

cJSON *route_rmw_write_body(const struct route_rmw_write *it)
{
	struct text_parts w = { 0 };
	cJSON *body = cJSON_CreateObject();
	int ok;

	w.set = evbuffer_new();
	w.remove = evbuffer_new();
	w.cond = evbuffer_new();
	w.names = cJSON_CreateObject();
	w.values = cJSON_CreateObject();
	ok = body && w.set && w.remove && w.cond && w.names && w.values && build(it, &w) == 0 &&
	     evbuffer_add_buffer(w.set, w.remove) == 0 &&
	     (it->cond_only || add_text(body, "UpdateExpression", w.set) == 0) &&
	     add_text(body, "ConditionExpression", w.cond) == 0 &&
	     cJSON_AddItemToObject(body, "ExpressionAttributeNames", w.names);
	if (ok) {
		w.names = NULL;
		/* DynamoDB refuses an empty map (a condition of attribute_not_exists only). */
		if (w.values->child != NULL) {
			ok = cJSON_AddItemToObject(body, "ExpressionAttributeValues", w.values);
			if (ok)
				w.values = NULL;
		}
	}
	cJSON_Delete(w.names);
	cJSON_Delete(w.values);
	if (w.set)
		evbuffer_free(w.set);
	if (w.remove)
		evbuffer_free(w.remove);
	if (w.cond)
		evbuffer_free(w.cond);
	if (!ok) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}
