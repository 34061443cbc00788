/*
 * Conditions evaluated on an item (ddb_eval.h).  Two passes: the first checks what does not
 * depend on the item (every :value defined, attribute_type's type name), as DynamoDB refuses
 * such a request whatever the item holds; the second evaluates, AND and OR short-circuiting.
 */
#include "proxy/ddb/ddb_eval.h"

#include <stdio.h>
#include <string.h>

#include "proxy/ddb/ddb_value.h"

struct eval {
	const char *param;
	const cJSON *item;
	const cJSON *values;
	struct ds_error *err;
};

/* An operand's value: an AttributeValue of the item or of the request, or a size() result
 * held in num (av then points to it), or missing (av NULL). */
struct operand {
	const cJSON *av;
	cJSON *num;
};

/* The member name[0..len) of object obj, or NULL. */
static const cJSON *member(const cJSON *obj, const char *name, size_t len)
{
	for (const cJSON *c = obj != NULL ? obj->child : NULL; c != NULL; c = c->next) {
		if (c->string != NULL && strlen(c->string) == len && memcmp(c->string, name, len) == 0)
			return c;
	}
	return NULL;
}

/* The value a :placeholder names, or NULL. */
static const cJSON *value_of(const struct eval *ev, const struct ddb_node *v)
{
	return cJSON_IsObject(ev->values) ? member(ev->values, v->name, v->len) : NULL;
}

const cJSON *ddb_eval_path(const cJSON *item, const struct ddb_node *path)
{
	const struct ddb_node *el = path->kids;
	const cJSON *cur = member(item, el->name, el->len), *inner;

	for (el = el->next; el != NULL && cur != NULL; el = el->next) {
		enum ddb_type t = ddb_value_type(cur, &inner);

		if (el->kind == DDB_NODE_NAME)
			cur = t == DDB_T_M ? member(inner, el->name, el->len) : NULL;
		else
			cur = t == DDB_T_L && el->index < (unsigned long)cJSON_GetArraySize(inner) ?
			      cJSON_GetArrayItem(inner, (int)el->index) : NULL;
	}
	return cur;
}

/* Fills *o with what operand node n stands for.  0, or -1 with err set (out of memory). */
static int operand(struct eval *ev, const struct ddb_node *n, struct operand *o)
{
	struct operand arg = { 0 };
	unsigned long size;
	char text[24];

	o->av = NULL;
	o->num = NULL;
	switch (n->kind) {
	case DDB_NODE_PATH:
		o->av = ddb_eval_path(ev->item, n);
		return 0;
	case DDB_NODE_VALUE:
		o->av = value_of(ev, n);
		return 0;
	case DDB_NODE_CALL:      /* size(), the only function that is an operand of a condition */
		if (operand(ev, n->kids, &arg) != 0)
			return -1;
		if (arg.av != NULL && ddb_value_size(arg.av, &size) == 0) {
			snprintf(text, sizeof(text), "%lu", size);
			o->num = cJSON_CreateObject();
			if (o->num == NULL || cJSON_AddStringToObject(o->num, "N", text) == NULL) {
				cJSON_Delete(o->num);
				cJSON_Delete(arg.num);
				ds_error_set(ev->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
				return -1;
			}
			o->av = o->num;
		}
		cJSON_Delete(arg.num);
		return 0;
	default:
		ds_error_set(ev->err, 500, DS_ERR_INTERNAL, "dynaseal: node %d is no operand",
			     (int)n->kind);
		return -1;
	}
}

/* Whether x op y, for a comparator. */
static int compare(enum ddb_cmp op, const cJSON *x, const cJSON *y)
{
	int c;

	if (op == DDB_CMP_EQ)
		return x != NULL && y != NULL && ddb_value_equal(x, y);
	if (op == DDB_CMP_NE)
		return !(x != NULL && y != NULL && ddb_value_equal(x, y));
	if (x == NULL || y == NULL || ddb_value_order(x, y, &c) != 0)
		return 0;
	switch (op) {
	case DDB_CMP_LT: return c < 0;
	case DDB_CMP_LE: return c <= 0;
	case DDB_CMP_GT: return c > 0;
	default: return c >= 0;
	}
}

static int eval(struct eval *ev, const struct ddb_node *n);

/* A function that is a condition. */
static int call(struct eval *ev, const struct ddb_node *n)
{
	struct operand a = { 0 }, b = { 0 };
	int r = -1;

	if (operand(ev, n->kids, &a) != 0)
		return -1;
	if (n->kids->next != NULL && operand(ev, n->kids->next, &b) != 0)
		goto out;
	switch ((enum ddb_func)n->op) {
	case DDB_FN_ATTRIBUTE_EXISTS:
		r = a.av != NULL;
		break;
	case DDB_FN_ATTRIBUTE_NOT_EXISTS:
		r = a.av == NULL;
		break;
	case DDB_FN_ATTRIBUTE_TYPE: {
		const cJSON *name;
		r = a.av != NULL && b.av != NULL && ddb_value_type(b.av, &name) == DDB_T_S &&
		    strcmp(ddb_type_name(ddb_value_type(a.av, NULL)), name->valuestring) == 0;
		break;
	}
	case DDB_FN_BEGINS_WITH:
		r = a.av != NULL && b.av != NULL && ddb_value_begins_with(a.av, b.av);
		break;
	case DDB_FN_CONTAINS:
		r = a.av != NULL && b.av != NULL && ddb_value_contains(a.av, b.av);
		break;
	default:
		ds_error_set(ev->err, 500, DS_ERR_INTERNAL, "dynaseal: function %d is no condition",
			     n->op);
		break;
	}
out:
	cJSON_Delete(a.num);
	cJSON_Delete(b.num);
	return r;
}

static int eval(struct eval *ev, const struct ddb_node *n)
{
	struct operand x = { 0 }, y = { 0 }, z = { 0 };
	int r = -1;

	switch (n->kind) {
	case DDB_NODE_AND:
		r = eval(ev, n->kids);
		return r == 1 ? eval(ev, n->kids->next) : r;
	case DDB_NODE_OR:
		r = eval(ev, n->kids);
		return r == 0 ? eval(ev, n->kids->next) : r;
	case DDB_NODE_NOT:
		r = eval(ev, n->kids);
		return r < 0 ? r : !r;
	case DDB_NODE_CALL:
		return call(ev, n);
	case DDB_NODE_CMP:
		if (operand(ev, n->kids, &x) == 0 && operand(ev, n->kids->next, &y) == 0)
			r = compare((enum ddb_cmp)n->op, x.av, y.av);
		break;
	case DDB_NODE_BETWEEN:
		if (operand(ev, n->kids, &x) == 0 && operand(ev, n->kids->next, &y) == 0 &&
		    operand(ev, n->kids->next->next, &z) == 0)
			r = compare(DDB_CMP_GE, x.av, y.av) && compare(DDB_CMP_LE, x.av, z.av);
		break;
	case DDB_NODE_IN:
		if (operand(ev, n->kids, &x) != 0)
			break;
		r = 0;
		for (const struct ddb_node *k = n->kids->next; k != NULL && r == 0; k = k->next) {
			if (operand(ev, k, &y) != 0) {
				r = -1;
				break;
			}
			r = compare(DDB_CMP_EQ, x.av, y.av);
			cJSON_Delete(y.num);
			y.num = NULL;
		}
		break;
	default:
		ds_error_set(ev->err, 500, DS_ERR_INTERNAL, "dynaseal: node %d is no condition",
			     (int)n->kind);
		break;
	}
	cJSON_Delete(x.num);
	cJSON_Delete(y.num);
	cJSON_Delete(z.num);
	return r;
}

/* Every :placeholder under n defined. */
static int check_values(const struct eval *ev, const struct ddb_node *n)
{
	if (n->kind == DDB_NODE_VALUE && value_of(ev, n) == NULL) {
		ds_error_set(ev->err, 400, DS_ERR_VALIDATION, "Invalid %s: An expression attribute "
			     "value used in expression is not defined; attribute value: %.*s",
			     ev->param, n->len > 64 ? 64 : (int)n->len, n->name);
		return -1;
	}
	for (const struct ddb_node *k = n->kids; k != NULL; k = k->next) {
		if (check_values(ev, k) != 0)
			return -1;
	}
	return 0;
}

int ddb_eval_check_values(const struct ddb_expr *e, const char *param, const cJSON *values,
			  struct ds_error *err)
{
	struct eval ev = { .param = param, .values = values, .err = err };

	return e->root != NULL ? check_values(&ev, e->root) : 0;
}

/* The first pass: what is wrong whatever the item (beyond undefined values). */
static int check(struct eval *ev, const struct ddb_node *n)
{
	if (n->kind == DDB_NODE_CALL && n->op == DDB_FN_ATTRIBUTE_TYPE &&
	    n->kids->next->kind == DDB_NODE_VALUE) {
		const cJSON *t = value_of(ev, n->kids->next), *name;

		if (t != NULL && ddb_value_type(t, &name) == DDB_T_S &&
		    ddb_type_named(name->valuestring, strlen(name->valuestring)) == DDB_T_NONE) {
			ds_error_set(ev->err, 400, DS_ERR_VALIDATION, "Invalid %s: Invalid attribute "
				     "type name found; type: %.32s, valid types: "
				     "{B,NULL,SS,BOOL,L,BS,N,NS,S,M}", ev->param, name->valuestring);
			return -1;
		}
	}
	for (const struct ddb_node *k = n->kids; k != NULL; k = k->next) {
		if (check(ev, k) != 0)
			return -1;
	}
	return 0;
}

int ddb_eval_condition(const struct ddb_expr *e, const char *param, const cJSON *item,
		       const cJSON *values, struct ds_error *err)
{
	struct eval ev = { .param = param, .item = item, .values = values, .err = err };

	if (e->root == NULL || e->kind != DDB_EXPR_CONDITION) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal: no condition to evaluate");
		return -1;
	}
	if (check_values(&ev, e->root) != 0 || check(&ev, e->root) != 0)
		return -1;
	return eval(&ev, e->root);
}

int ddb_eval_copy_path(const cJSON *item, const struct ddb_node *path, cJSON *out)
{
	const cJSON *v = ddb_eval_path(item, path);
	const struct ddb_node *el = path->kids;
	cJSON *at = out;            /* an object of AttributeValues, or a list's "L" array */
	char name[256];

	if (v == NULL)
		return 0;
	for (; el != NULL; el = el->next) {
		int last = el->next == NULL;
		cJSON *slot = NULL;
		if (el->kind == DDB_NODE_NAME) {
			snprintf(name, sizeof(name), "%.*s", (int)(el->len < 255 ? el->len : 255), el->name);
			slot = cJSON_GetObjectItemCaseSensitive(at, name);
			if (last) {
				cJSON *c = cJSON_Duplicate(v, 1);
				if (c == NULL)
					return -1;
				if (slot != NULL)
					cJSON_ReplaceItemViaPointer(at, slot, c);
				else
					cJSON_AddItemToObject(at, name, c);
				return 0;
			}
			if (slot == NULL) {
				slot = cJSON_CreateObject();
				if (slot == NULL || !cJSON_AddItemToObject(at, name, slot))
					return -1;
				if (el->next->kind == DDB_NODE_NAME ? cJSON_AddObjectToObject(slot, "M") == NULL
								     : cJSON_AddArrayToObject(slot, "L") == NULL)
					return -1;
			}
		} else {
			/* A list element: appended in the order the update names them. */
			cJSON *c = last ? cJSON_Duplicate(v, 1) : cJSON_CreateObject();
			if (c == NULL || !cJSON_AddItemToArray(at, c))
				return -1;
			if (last)
				return 0;
			slot = c;
			if (el->next->kind == DDB_NODE_NAME ? cJSON_AddObjectToObject(slot, "M") == NULL
							     : cJSON_AddArrayToObject(slot, "L") == NULL)
				return -1;
		}
		at = cJSON_GetObjectItemCaseSensitive(slot, "M");
		if (at == NULL)
			at = cJSON_GetObjectItemCaseSensitive(slot, "L");
		if (at == NULL)
			return 0;   /* the answer's value is not of the path's shape */
	}
	return 0;
}
