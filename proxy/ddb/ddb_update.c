/*
 * Update expressions applied to an item (ddb_update.h).  Three steps: what is wrong whatever
 * the item (undefined values, ADD/DELETE operand types, paths that overlap); the value of every
 * SET, read from the item as it was; then the actions on a copy, list removals last (highest
 * index first) so that every index names an element of the list as it was.
 */
#include "proxy/ddb/ddb_update.h"
#include "proxy/ddb/ddb_path.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/ddb/ddb_eval.h"
#include "proxy/ddb/ddb_number.h"
#include "proxy/ddb/ddb_value.h"

#define INVALID_PATH "The document path provided in the update expression is invalid for update"
#define WRONG_TYPE "An operand in the update expression has an incorrect data type"
#define NO_ATTRIBUTE "The provided expression refers to an attribute that does not exist in the item"
#define INDEX_KEY_TYPE "The update expression attempted to update the secondary index key to " \
	"unsupported type"
#define NOT_SCALAR "Key attributes must be scalars; list random access '[]' and map lookup '.' " \
	"are not allowed"

/* A list element REMOVE takes out at the end, or one SET appends at the end (an index past
 * the list's end: appended in index order, as DynamoDB does). */
struct removal {
	cJSON *list;        /* the L member's array */
	int index;
	cJSON *value;       /* an append's value (owned), else NULL */
};

struct upd {
	const cJSON *values;
	const cJSON *last;          /* the value found last: ddb_value_member's hint */
	const cJSON *old;           /* the item before the update, or NULL */
	const struct ddb_index_key *index;  /* the table's index keys (may be none) */
	size_t index_len;
	struct ds_error *err;
	struct removal *removals;
	size_t removals_len;
	struct removal *appends;
	size_t appends_len;
};

static int fail(struct ds_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct ds_error *err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ds_error_set(err, 400, DS_ERR_VALIDATION, "%s", msg);
	return -1;
}

static int oom(struct ds_error *err)
{
	ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
	return -1;
}

/* The value of :placeholder n (defined: checked first). */
static const cJSON *value_of(struct upd *u, const struct ddb_node *n)
{
	return ddb_value_member(u->values, n->name, n->len, &u->last);
}

/* DynamoDB's word for a type in ADD/DELETE operand messages. */
static const char *type_word(enum ddb_type t)
{
	switch (t) {
	case DDB_T_S: return "STRING";
	case DDB_T_N: return "NUMBER";
	case DDB_T_B: return "BINARY";
	case DDB_T_NULL: return "NULL";
	case DDB_T_BOOL: return "BOOLEAN";
	case DDB_T_L: return "LIST";
	case DDB_T_M: return "MAP";
	default: return ddb_type_name(t);
	}
}

/* The :values given straight to +, - or list_append under n: numbers for the first two,
 * lists for the last. */
static int check_operands(struct upd *u, const struct ddb_node *n)
{
	int math = n->kind == DDB_NODE_PLUS || n->kind == DDB_NODE_MINUS;
	int append = n->kind == DDB_NODE_CALL && n->op == DDB_FN_LIST_APPEND;

	for (const struct ddb_node *k = n->kids; k != NULL; k = k->next) {
		if ((math || append) && k->kind == DDB_NODE_VALUE) {
			enum ddb_type t = ddb_value_type(value_of(u, k), NULL);

			if (t != (math ? DDB_T_N : DDB_T_L))
				return fail(u->err, "Invalid UpdateExpression: Incorrect operand type for "
					    "operator or function; operator or function: %s, operand type: %s",
					    append ? "list_append" : n->kind == DDB_NODE_PLUS ? "+" : "-",
					    ddb_type_name(t));
		}
		if (check_operands(u, k) != 0)
			return -1;
	}
	return 0;
}

/* What is wrong with the expression whatever the item, in DynamoDB's order: paths that
 * overlap, then paths that conflict, then ADD and DELETE operands, then the operands of +, -
 * and list_append. */
static int check(struct upd *u, const struct ddb_expr *e)
{
	if (ddb_paths_check(e->root, 1, "UpdateExpression", u->err) != 0)
		return -1;
	for (const struct ddb_node *a = e->root->kids; a != NULL; a = a->next) {
		const struct ddb_node *v = a->kids->next;
		enum ddb_type t;

		if ((a->op != DDB_CLAUSE_ADD && a->op != DDB_CLAUSE_DELETE) || v == NULL)
			continue;
		t = ddb_value_type(value_of(u, v), NULL);
		if (t != DDB_T_SS && t != DDB_T_NS && t != DDB_T_BS &&
		    !(a->op == DDB_CLAUSE_ADD && t == DDB_T_N))
			return fail(u->err, "Invalid UpdateExpression: Incorrect operand type for "
				    "operator or function; operator: %s, operand type: %s",
				    a->op == DDB_CLAUSE_ADD ? "ADD" : "DELETE", type_word(t));
	}
	for (const struct ddb_node *a = e->root->kids; a != NULL; a = a->next) {
		if (a->op == DDB_CLAUSE_SET && check_operands(u, a) != 0)
			return -1;
	}
	return 0;
}

/* x +/- y for two N values, as a new AttributeValue. */
static cJSON *sum(struct upd *u, const cJSON *x, const cJSON *y, int subtract)
{
	const cJSON *a, *b;
	struct ddb_number m, n, r;
	enum ddb_number_status st;
	char text[DDB_NUMBER_TEXT_MAX];
	cJSON *out;

	if (ddb_value_type(x, &a) != DDB_T_N || ddb_value_type(y, &b) != DDB_T_N) {
		fail(u->err, WRONG_TYPE);
		return NULL;
	}
	st = ddb_number_parse(a->valuestring, strlen(a->valuestring), &m);
	if (st == DDB_NUMBER_OK)
		st = ddb_number_parse(b->valuestring, strlen(b->valuestring), &n);
	if (st == DDB_NUMBER_OK)
		st = subtract ? ddb_number_sub(&m, &n, &r) : ddb_number_add(&m, &n, &r);
	if (st != DDB_NUMBER_OK) {
		fail(u->err, "%s", ddb_number_message(st));
		return NULL;
	}
	if (ddb_number_format(&r, text, sizeof(text)) < 0) {
		fail(u->err, "%s", ddb_number_message(DDB_NUMBER_OVERFLOW));
		return NULL;
	}
	out = cJSON_CreateObject();
	if (out == NULL || cJSON_AddStringToObject(out, "N", text) == NULL) {
		cJSON_Delete(out);
		oom(u->err);
		return NULL;
	}
	return out;
}

/* A copy of v, or NULL with err set. */
static cJSON *dup(struct upd *u, const cJSON *v)
{
	cJSON *c = cJSON_Duplicate(v, 1);

	if (c == NULL)
		oom(u->err);
	return c;
}

/* The value a SET operand stands for, read from the item before the update: a new
 * AttributeValue, or NULL with err set. */
static cJSON *value(struct upd *u, const struct ddb_node *n)
{
	const cJSON *found, *l1, *l2, *e;
	cJSON *x, *y, *out;

	switch (n->kind) {
	case DDB_NODE_VALUE:
		return dup(u, value_of(u, n));
	case DDB_NODE_PATH:
		found = ddb_eval_path(u->old, n);
		if (found == NULL) {
			fail(u->err, NO_ATTRIBUTE);
			return NULL;
		}
		return dup(u, found);
	case DDB_NODE_PLUS:
	case DDB_NODE_MINUS:
		x = value(u, n->kids);
		y = x != NULL ? value(u, n->kids->next) : NULL;
		out = y != NULL ? sum(u, x, y, n->kind == DDB_NODE_MINUS) : NULL;
		cJSON_Delete(x);
		cJSON_Delete(y);
		return out;
	case DDB_NODE_CALL:
		if (n->op == DDB_FN_IF_NOT_EXISTS) {
			found = ddb_eval_path(u->old, n->kids);
			return found != NULL ? dup(u, found) : value(u, n->kids->next);
		}
		x = value(u, n->kids);
		y = x != NULL ? value(u, n->kids->next) : NULL;
		out = NULL;
		if (y == NULL) {
			/* err set */
		} else if (ddb_value_type(x, &l1) != DDB_T_L || ddb_value_type(y, &l2) != DDB_T_L) {
			fail(u->err, WRONG_TYPE);
		} else {
			/* list_append(x, y): x's elements, then y's */
			cJSON_ArrayForEach(e, l2) {
				cJSON *c = cJSON_Duplicate(e, 1);
				if (c == NULL || !cJSON_AddItemToArray((cJSON *)l1, c)) {
					cJSON_Delete(c);
					oom(u->err);
					break;
				}
			}
			if (e == NULL) {
				out = x;
				x = NULL;
			}
		}
		cJSON_Delete(x);
		cJSON_Delete(y);
		return out;
	default:
		ds_error_set(u->err, 500, DS_ERR_INTERNAL, "dynaseal: node %d is no update value",
			     (int)n->kind);
		return NULL;
	}
}

/*
 * Where path's last step acts: *obj (an object of attributes or a map's members) for a name,
 * *arr (a list's elements) for an index.  -1 (err set) when a step before it is missing or is
 * not the map or list it steps into.
 */
static int locate(struct upd *u, cJSON *item, const struct ddb_node *path, cJSON **obj, cJSON **arr)
{
	cJSON *container = item, *inner;
	const struct ddb_node *el;

	for (el = path->kids; el->next != NULL; el = el->next) {
		cJSON *av = el->kind == DDB_NODE_NAME ? ddb_value_member(container, el->name, el->len, NULL) :
			    el->index < (unsigned long)cJSON_GetArraySize(container) ?
			    cJSON_GetArrayItem(container, (int)el->index) : NULL;
		enum ddb_type t = av != NULL ? ddb_value_type(av, (const cJSON **)&inner) : DDB_T_NONE;

		if ((el->next->kind == DDB_NODE_NAME && t != DDB_T_M) ||
		    (el->next->kind == DDB_NODE_INDEX && t != DDB_T_L))
			return fail(u->err, INVALID_PATH);
		container = inner;
	}
	*obj = el->kind == DDB_NODE_NAME ? container : NULL;
	*arr = el->kind == DDB_NODE_INDEX ? container : NULL;
	return 0;
}

/* The value at path's last step, or NULL. */
static cJSON *current(cJSON *obj, cJSON *arr, const struct ddb_node *last)
{
	if (obj != NULL)
		return ddb_value_member(obj, last->name, last->len, NULL);
	return last->index < (unsigned long)cJSON_GetArraySize(arr) ?
	       cJSON_GetArrayItem(arr, (int)last->index) : NULL;
}

/* Notes (list, index, value) in *list_of; value is taken.  0, or -1 (err set). */
static int note(struct upd *u, struct removal **list_of, size_t *len, cJSON *list,
		unsigned long index, cJSON *value)
{
	struct removal *r = realloc(*list_of, (*len + 1) * sizeof(*r));

	if (r == NULL) {
		cJSON_Delete(value);
		return oom(u->err);
	}
	*list_of = r;
	r[*len].list = list;
	r[*len].index = index > (unsigned long)INT32_MAX ? INT32_MAX : (int)index;
	r[*len].value = value;
	(*len)++;
	return 0;
}

/* Puts v (taken) at path's last step: a name is added or replaced, an index replaced or, past
 * the list's end, appended at the end of the update. */
static int put(struct upd *u, cJSON *obj, cJSON *arr, const struct ddb_node *last, cJSON *v)
{
	int ok;

	if (obj != NULL) {
		char *name = strndup(last->name, last->len);

		ok = name != NULL && (ddb_value_member(obj, last->name, last->len, NULL) != NULL ?
				      cJSON_ReplaceItemInObjectCaseSensitive(obj, name, v) :
				      cJSON_AddItemToObject(obj, name, v));
		free(name);
	} else if (last->index < (unsigned long)cJSON_GetArraySize(arr)) {
		ok = cJSON_ReplaceItemInArray(arr, (int)last->index, v);
	} else {
		return note(u, &u->appends, &u->appends_len, arr, last->index, v);
	}
	if (!ok) {
		cJSON_Delete(v);
		return oom(u->err);
	}
	return 0;
}

/* Takes out what is at path's last step: a name now, a list element at the end. */
static int take_out(struct upd *u, cJSON *obj, cJSON *arr, const struct ddb_node *last)
{
	if (obj != NULL) {
		char *name = strndup(last->name, last->len);

		if (name == NULL)
			return oom(u->err);
		cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
		free(name);
		return 0;
	}
	if (last->index >= (unsigned long)cJSON_GetArraySize(arr))
		return 0;
	return note(u, &u->removals, &u->removals_len, arr, last->index, NULL);
}

/* The element of a set's array whose value is that of elem (of the set's element type). */
static cJSON *set_find(cJSON *arr, enum ddb_type elem_type, const cJSON *elem)
{
	cJSON *e;

	cJSON_ArrayForEach(e, arr) {
		cJSON *probe = cJSON_CreateObject();
		int same = probe != NULL &&
			   cJSON_AddStringToObject(probe, ddb_type_name(elem_type), e->valuestring) != NULL &&
			   ddb_value_equal(probe, elem);

		cJSON_Delete(probe);
		if (same)
			return e;
	}
	return NULL;
}

/* ADD or DELETE of set v to/from the set existing (same type). */
static int set_merge(struct upd *u, cJSON *existing, const cJSON *v, int add)
{
	cJSON *have, *e;
	const cJSON *give;
	enum ddb_type t = ddb_value_type(existing, (const cJSON **)&have);
	enum ddb_type elem = t == DDB_T_SS ? DDB_T_S : t == DDB_T_NS ? DDB_T_N : DDB_T_B;

	(void)ddb_value_type(v, &give);
	cJSON_ArrayForEach(e, give) {
		cJSON *probe = cJSON_CreateObject(), *hit;

		if (probe == NULL || cJSON_AddStringToObject(probe, ddb_type_name(elem), e->valuestring) == NULL) {
			cJSON_Delete(probe);
			return oom(u->err);
		}
		hit = set_find(have, elem, probe);
		cJSON_Delete(probe);
		if (add && hit == NULL) {
			cJSON *c = cJSON_CreateString(e->valuestring);
			if (c == NULL || !cJSON_AddItemToArray(have, c)) {
				cJSON_Delete(c);
				return oom(u->err);
			}
		} else if (!add && hit != NULL) {
			cJSON_Delete(cJSON_DetachItemViaPointer(have, hit));
		}
	}
	return 0;
}

/* Whether the attribute name names a key of one of the table's indexes of another type than
 * v's. */
static int index_key_mismatch(const struct upd *u, const struct ddb_node *name, const cJSON *v)
{
	enum ddb_type t = ddb_value_type(v, NULL);

	for (size_t i = 0; i < u->index_len; i++) {
		const struct ddb_index_key *k = &u->index[i];

		if (strlen(k->attr) == name->len && memcmp(k->attr, name->name, name->len) == 0 &&
		    t != k->type)
			return 1;
	}
	return 0;
}

/* One action on the working item; set_value is the SET's value (taken), else NULL. */
static int act(struct upd *u, cJSON *item, const struct ddb_node *a, cJSON *set_value)
{
	const struct ddb_node *path = a->kids, *last = path->tail;
	cJSON *obj = NULL, *arr = NULL, *existing;
	const cJSON *v;
	enum ddb_type te, tv;

	if (locate(u, item, path, &obj, &arr) != 0) {
		cJSON_Delete(set_value);
		return -1;
	}
	if (a->op == DDB_CLAUSE_SET) {
		if (path->kids == last && last->kind == DDB_NODE_NAME &&
		    index_key_mismatch(u, last, set_value)) {
			cJSON_Delete(set_value);
			return fail(u->err, INDEX_KEY_TYPE);
		}
		return put(u, obj, arr, last, set_value);
	}
	if (a->op == DDB_CLAUSE_REMOVE)
		return take_out(u, obj, arr, last);
	v = value_of(u, a->kids->next);
	tv = ddb_value_type(v, NULL);
	existing = current(obj, arr, last);
	if (existing == NULL) {
		cJSON *c;

		if (a->op == DDB_CLAUSE_DELETE)
			return 0;
		c = dup(u, v);
		return c != NULL ? put(u, obj, arr, last, c) : -1;
	}
	te = ddb_value_type(existing, NULL);
	if (te != tv)
		return fail(u->err, WRONG_TYPE);
	if (tv == DDB_T_N) {
		cJSON *s = sum(u, existing, v, 0);
		return s != NULL ? put(u, obj, arr, last, s) : -1;
	}
	if (set_merge(u, existing, v, a->op == DDB_CLAUSE_ADD) != 0)
		return -1;
	if (cJSON_GetArraySize(existing->child) == 0)      /* an emptied set goes */
		return take_out(u, obj, arr, last);
	return 0;
}

static int cmp_removal(const void *x, const void *y)
{
	const struct removal *a = x, *b = y;

	if (a->list != b->list)
		return (uintptr_t)a->list < (uintptr_t)b->list ? -1 : 1;
	return b->index - a->index;             /* highest index first */
}

static int cmp_append(const void *x, const void *y)
{
	const struct removal *a = x, *b = y;

	if (a->list != b->list)
		return (uintptr_t)a->list < (uintptr_t)b->list ? -1 : 1;
	return (a->index > b->index) - (a->index < b->index);   /* lowest index first */
}

int ddb_update_apply(const struct ddb_expr *e, const cJSON *values, cJSON **item,
		     struct ds_error *err)
{
	return ddb_update_apply_indexed(e, values, NULL, 0, item, err);
}

int ddb_update_apply_indexed(const struct ddb_expr *e, const cJSON *values,
			     const struct ddb_index_key *index, size_t index_len, cJSON **item,
			     struct ds_error *err)
{
	struct upd u = { .values = values, .old = *item, .index = index, .index_len = index_len,
			 .err = err };
	cJSON **set_values = NULL, *work = NULL;
	size_t n = 0, i = 0;
	int rc = -1;

	if (e->root == NULL || e->kind != DDB_EXPR_UPDATE) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal: no update to apply");
		return -1;
	}
	if (ddb_eval_check_values(e, "UpdateExpression", values, err) != 0 || check(&u, e) != 0)
		return -1;
	for (const struct ddb_node *a = e->root->kids; a != NULL; a = a->next)
		n++;
	set_values = calloc(n, sizeof(*set_values));
	work = *item != NULL ? cJSON_Duplicate(*item, 1) : cJSON_CreateObject();
	if (set_values == NULL || work == NULL) {
		oom(err);
		goto out;
	}
	for (const struct ddb_node *a = e->root->kids; a != NULL; a = a->next, i++) {
		if (a->op == DDB_CLAUSE_SET && (set_values[i] = value(&u, a->kids->next)) == NULL)
			goto out;
	}
	i = 0;
	for (const struct ddb_node *a = e->root->kids; a != NULL; a = a->next, i++) {
		cJSON *v = set_values[i];

		set_values[i] = NULL;
		if (act(&u, work, a, v) != 0)
			goto out;
	}
	if (u.removals_len > 1)
		qsort(u.removals, u.removals_len, sizeof(*u.removals), cmp_removal);
	for (i = 0; i < u.removals_len; i++) {
		if (i > 0 && u.removals[i].list == u.removals[i - 1].list &&
		    u.removals[i].index == u.removals[i - 1].index)
			continue;
		cJSON_DeleteItemFromArray(u.removals[i].list, u.removals[i].index);
	}
	if (u.appends_len > 1)
		qsort(u.appends, u.appends_len, sizeof(*u.appends), cmp_append);
	for (i = 0; i < u.appends_len; i++) {
		if (!cJSON_AddItemToArray(u.appends[i].list, u.appends[i].value)) {
			oom(err);
			goto out;
		}
		u.appends[i].value = NULL;
	}
	cJSON_Delete(*item);
	*item = work;
	work = NULL;
	rc = 0;
out:
	for (i = 0; set_values != NULL && i < n; i++)
		cJSON_Delete(set_values[i]);
	free(set_values);
	free(u.removals);
	for (i = 0; i < u.appends_len; i++)
		cJSON_Delete(u.appends[i].value);
	free(u.appends);
	cJSON_Delete(work);
	return rc;
}

/* The type of a SET value (or an ADD/DELETE :value) as the request tells it: a :value's, a sum's,
 * list_append's, if_not_exists' fallback's; DDB_T_NONE when only the item can tell (a path). */
static enum ddb_type stated_type(const cJSON *values, const struct ddb_node *v)
{
	switch (v->kind) {
	case DDB_NODE_VALUE:
		return ddb_value_type(ddb_value_member(values, v->name, v->len, NULL), NULL);
	case DDB_NODE_PLUS:
	case DDB_NODE_MINUS:
		return DDB_T_N;
	case DDB_NODE_CALL:
		if (v->op == DDB_FN_LIST_APPEND)
			return DDB_T_L;
		if (v->op == DDB_FN_IF_NOT_EXISTS && v->kids != NULL && v->kids->next != NULL)
			return stated_type(values, v->kids->next);
		return DDB_T_NONE;
	default:
		return DDB_T_NONE;
	}
}

/* The first action (in the order written) whose path is the top-level attribute attr alone. */
static const struct ddb_node *action_on(const struct ddb_expr *e, const char *attr)
{
	size_t len = strlen(attr);

	for (const struct ddb_node *a = e->root->kids; a != NULL; a = a->next) {
		const struct ddb_node *head = a->kids->kids;

		if (head->next == NULL && head->kind == DDB_NODE_NAME && head->len == len &&
		    memcmp(head->name, attr, len) == 0)
			return a;
	}
	return NULL;
}

int ddb_update_check_keys(const struct ddb_expr *e, const cJSON *values,
			  const struct ddb_update_keys *keys, struct ds_error *err)
{
	struct upd u = { .values = values, .err = err };

	if (e->root == NULL || e->kind != DDB_EXPR_UPDATE)
		return 0;
	/* DynamoDB finds these while it parses the expression, before it looks at the table. */
	if (ddb_eval_check_values(e, "UpdateExpression", values, err) != 0 || check(&u, e) != 0)
		return -1;
	for (size_t i = 0; i < keys->index_len; i++) {
		const struct ddb_index_key *k = &keys->index[i];
		const struct ddb_node *a = action_on(e, k->attr);
		enum ddb_type t;

		if (a == NULL || a->op == DDB_CLAUSE_REMOVE || a->kids->next == NULL)
			continue;
		t = stated_type(values, a->kids->next);
		if (t != DDB_T_NONE && t != k->type)
			return fail(err, "One or more parameter values were invalid: Type mismatch for "
				    "Index Key %.255s Expected: %s Actual: %s IndexName: %.255s", k->attr,
				    ddb_type_name(k->type), ddb_type_name(t), k->index);
	}
	for (size_t i = 0; i < 2; i++)
		if (keys->table[i] != NULL && (ddb_path_reach(e->root, keys->table[i]) & DDB_REACH_BELOW))
			return fail(err, NOT_SCALAR ": Key: %.255s", keys->table[i]);
	for (size_t i = 0; i < keys->index_len; i++)
		if (ddb_path_reach(e->root, keys->index[i].attr) & DDB_REACH_BELOW)
			return fail(err, NOT_SCALAR ": IndexKey: %.255s", keys->index[i].attr);
	return 0;
}
