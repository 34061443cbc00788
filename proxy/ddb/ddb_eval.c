/*
 * Conditions evaluated on an item (ddb_eval.h).  Two passes: the first checks what does not
 * depend on the item (every :value defined, attribute_type's type name), as DynamoDB refuses
 * such a request whatever the item holds; the second evaluates, AND and OR short-circuiting.
 */
#include "proxy/ddb/ddb_eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/ddb/ddb_number.h"
#include "proxy/ddb/ddb_value.h"

struct eval {
	const char *param;
	const cJSON *item;
	const cJSON *values;
	const cJSON *last;          /* the value found last: ddb_value_member's hint */
	struct ds_error *err;
};

/* An operand's value: an AttributeValue of the item or of the request, or a size() result
 * held in num (av then points to it), or missing (av NULL). */
struct operand {
	const cJSON *av;
	cJSON *num;
};

/* The value a :placeholder names, or NULL. */
static const cJSON *value_of(struct eval *ev, const struct ddb_node *v)
{
	return cJSON_IsObject(ev->values) ? ddb_value_member(ev->values, v->name, v->len, &ev->last)
	       : NULL;
}

const cJSON *ddb_eval_path(const cJSON *item, const struct ddb_node *path)
{
	const struct ddb_node *el = path->kids;
	const cJSON *cur = ddb_value_member(item, el->name, el->len, NULL), *inner;

	for (el = el->next; el != NULL && cur != NULL; el = el->next) {
		enum ddb_type t = ddb_value_type(cur, &inner);

		if (el->kind == DDB_NODE_NAME)
			cur = t == DDB_T_M ? ddb_value_member(inner, el->name, el->len, NULL) : NULL;
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
	case DDB_NODE_AND:          /* each kid, until one is not true */
	case DDB_NODE_OR:           /* each kid, until one is not false */
		r = n->kind == DDB_NODE_AND;
		for (const struct ddb_node *k = n->kids; k != NULL && r == (n->kind == DDB_NODE_AND);
		     k = k->next)
			r = eval(ev, k);
		return r;
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
static int check_values(struct eval *ev, const struct ddb_node *n)
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

static int check(struct eval *ev, const struct ddb_node *n);

int ddb_eval_check_values(const struct ddb_expr *e, const char *param, const cJSON *values,
			  struct ds_error *err)
{
	struct eval ev = { .param = param, .values = values, .err = err };

	return e->root != NULL && (check_values(&ev, e->root) != 0 || check(&ev, e->root) != 0) ? -1 : 0;
}

/* The text of a scalar (S, N or B) value as DynamoDB quotes it in a message (a number in its
 * canonical form, written into buf); NULL for others. */
static const char *scalar_text(const cJSON *v, enum ddb_type *t, char buf[DDB_NUMBER_TEXT_MAX])
{
	const cJSON *inner;
	struct ddb_number n;

	*t = v != NULL ? ddb_value_type(v, &inner) : DDB_T_NONE;
	if ((*t != DDB_T_S && *t != DDB_T_N && *t != DDB_T_B) || !cJSON_IsString(inner))
		return NULL;
	if (*t == DDB_T_N && ddb_number_parse(inner->valuestring, strlen(inner->valuestring), &n) ==
	    DDB_NUMBER_OK && ddb_number_format(&n, buf, DDB_NUMBER_TEXT_MAX) >= 0)
		return buf;
	return inner->valuestring;
}

/* BETWEEN with both bounds given as values: DynamoDB refuses bounds of two types, or in the
 * wrong order, whatever the item. */
static int check_between(struct eval *ev, const struct ddb_node *n)
{
	const struct ddb_node *lo = n->kids->next, *hi = lo->next;
	enum ddb_type tl, th;
	const char *l, *h, *why;
	char lbuf[DDB_NUMBER_TEXT_MAX], hbuf[DDB_NUMBER_TEXT_MAX];
	int c;

	if (lo->kind != DDB_NODE_VALUE || hi->kind != DDB_NODE_VALUE)
		return 0;
	l = scalar_text(value_of(ev, lo), &tl, lbuf);
	h = scalar_text(value_of(ev, hi), &th, hbuf);
	if (l == NULL || h == NULL)
		return 0;
	if (tl != th)
		why = "requires same data type for lower and upper bounds";
	else if (ddb_value_order(value_of(ev, lo), value_of(ev, hi), &c) == 0 && c > 0)
		why = "requires upper bound to be greater than or equal to lower bound";
	else
		return 0;
	ds_error_set(ev->err, 400, DS_ERR_VALIDATION, "Invalid %s: The BETWEEN operator %s; lower "
		     "bound operand: AttributeValue: {%s:%.120s}, upper bound operand: "
		     "AttributeValue: {%s:%.120s}", ev->param, why, ddb_type_name(tl), l,
		     ddb_type_name(th), h);
	return -1;
}

/* The first pass: what is wrong whatever the item (beyond undefined values). */
static int check(struct eval *ev, const struct ddb_node *n)
{
	if (n->kind == DDB_NODE_BETWEEN && check_between(ev, n) != 0)
		return -1;
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

/*
 * Copies of parts of an item.  While a copy is built, the elements of its lists carry their
 * index in ->string, so that they stay in index order and two paths through one index share
 * its element ("l[1].a, l[1].b"); unname() clears those names when the copy is done.
 */

/* The member of container at (an object of AttributeValues, or an "L" array, of the copy) for
 * path element el, made when missing: a copy of v when el is the path's last element, else
 * {"M": {}} or {"L": []} for what follows.  NULL when out of memory. */
static cJSON *slot_of(cJSON *at, const struct ddb_node *el, const cJSON *v)
{
	int last = el->next == NULL;
	char key[256];
	cJSON *s, *before = NULL, *c;

	if (el->kind == DDB_NODE_NAME)
		snprintf(key, sizeof(key), "%.*s", (int)(el->len < 255 ? el->len : 255), el->name);
	else
		snprintf(key, sizeof(key), "%lu", el->index);
	for (s = at->child; s != NULL; s = s->next) {
		if (s->string != NULL && strcmp(s->string, key) == 0)
			break;
		if (el->kind == DDB_NODE_INDEX && s->string != NULL &&
		    strtoul(s->string, NULL, 10) > el->index && before == NULL)
			before = s;
	}
	if (s != NULL && !last)
		return s;
	c = last ? cJSON_Duplicate(v, 1) : cJSON_CreateObject();
	if (c != NULL && c->string != NULL) {
		/* a copy of a member carries its name: the copy's own replaces it */
		if (!(c->type & cJSON_StringIsConst))
			cJSON_free(c->string);
		c->string = NULL;
	}
	if (c == NULL || (c->string = strdup(key)) == NULL ||
	    (!last && (el->next->kind == DDB_NODE_NAME ? cJSON_AddObjectToObject(c, "M")
						       : cJSON_AddArrayToObject(c, "L")) == NULL)) {
		cJSON_Delete(c);
		return NULL;
	}
	if (s != NULL) {
		cJSON_ReplaceItemViaPointer(at, s, c);
		return c;
	}
	/* c goes before `before`: the members from there on move behind it (cJSON's own insert
	 * loses an element in the middle of an array with named members). */
	cJSON_AddItemToArray(at, c);
	while (before != NULL && before != c) {
		cJSON *next = before->next;
		cJSON_AddItemToArray(at, cJSON_DetachItemViaPointer(at, before));
		before = next;
	}
	return c;
}

static int copy_path(const cJSON *item, const struct ddb_node *path, cJSON *out)
{
	const cJSON *v = ddb_eval_path(item, path);
	cJSON *at = out;

	if (v == NULL)
		return 0;
	for (const struct ddb_node *el = path->kids; el != NULL; el = el->next) {
		cJSON *s = slot_of(at, el, v);
		if (s == NULL)
			return -1;
		if (el->next == NULL)
			return 0;
		at = cJSON_GetObjectItemCaseSensitive(s, "M");
		if (at == NULL)
			at = cJSON_GetObjectItemCaseSensitive(s, "L");
		if (at == NULL)
			return 0;   /* the value is not of the path's shape */
	}
	return 0;
}

/* Clears the index names of the list elements of an AttributeValue (or object of them). */
static void unname(cJSON *v)
{
	for (cJSON *c = v != NULL ? v->child : NULL; c != NULL; c = c->next) {
		if (cJSON_IsArray(v) && c->string != NULL) {
			free(c->string);
			c->string = NULL;
		}
		unname(c);
	}
}

int ddb_eval_copy_paths(const cJSON *item, const struct ddb_expr *e, cJSON *out)
{
	int rc = 0;

	for (const struct ddb_node *k = e->root != NULL ? e->root->kids : NULL; k != NULL && rc == 0;
	     k = k->next) {
		const struct ddb_node *path = k->kind == DDB_NODE_ACTION ? k->kids : k;
		if (path != NULL && path->kind == DDB_NODE_PATH)
			rc = copy_path(item, path, out);
	}
	unname(out);
	return rc;
}

int ddb_eval_project(const struct ddb_expr *proj, cJSON *item)
{
	cJSON *out = cJSON_CreateObject();

	if (out == NULL || ddb_eval_copy_paths(item, proj, out) != 0) {
		cJSON_Delete(out);
		return -1;
	}
	/* item takes out's members, in place. */
	while (item->child != NULL)
		cJSON_Delete(cJSON_DetachItemViaPointer(item, item->child));
	while (out->child != NULL) {
		cJSON *m = cJSON_DetachItemViaPointer(out, out->child);
		cJSON_AddItemToObject(item, m->string, m);
	}
	cJSON_Delete(out);
	return 0;
}
