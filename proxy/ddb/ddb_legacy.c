/*
 * Legacy conditions as condition expressions (ddb_legacy.h).  Each operator has the expression
 * the Developer Guide gives for it: EQ a = :v, NE a <> :v, LE/LT/GE/GT, NOT_NULL
 * attribute_exists(a), NULL attribute_not_exists(a), CONTAINS contains(a, :v), NOT_CONTAINS
 * NOT contains(a, :v), BEGINS_WITH begins_with(a, :v), IN a IN (...), BETWEEN a BETWEEN :x AND
 * :y; Expected's {Value} and {Exists: true, Value} are EQ, {Exists: false} is NULL.
 */
#include "proxy/ddb/ddb_legacy.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/ddb/ddb_value.h"

#define INVALID "One or more parameter values were invalid: "

struct op_def {
	const char *name;
	int min, max;              /* values it takes */
	unsigned types;            /* bit per enum ddb_type its values may have */
};

#define T(t) (1u << (t))
#define SCALARS (T(DDB_T_S) | T(DDB_T_N) | T(DDB_T_B))
#define SETS (T(DDB_T_SS) | T(DDB_T_NS) | T(DDB_T_BS))

static const struct op_def ops[] = {
	{ "EQ", 1, 1, SCALARS | SETS }, { "NE", 1, 1, SCALARS | SETS },
	{ "LE", 1, 1, SCALARS }, { "LT", 1, 1, SCALARS }, { "GE", 1, 1, SCALARS },
	{ "GT", 1, 1, SCALARS }, { "NOT_NULL", 0, 0, 0 }, { "NULL", 0, 0, 0 },
	{ "CONTAINS", 1, 1, SCALARS }, { "NOT_CONTAINS", 1, 1, SCALARS },
	{ "BEGINS_WITH", 1, 1, T(DDB_T_S) | T(DDB_T_B) }, { "IN", 1, INT_MAX, SCALARS },
	{ "BETWEEN", 2, 2, SCALARS },
};

/* A growing expression text. */
struct text {
	char *buf;
	size_t len, cap;
	int failed;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf != NULL ? t->buf + t->len : NULL, t->buf != NULL ? t->cap - t->len : 0,
			      fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = 1;
			return;
		}
		if (t->buf != NULL && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		{
			size_t cap = (t->cap ? t->cap : 64) * 2 + (size_t)n;
			char *b = realloc(t->buf, cap);

			if (b == NULL) {
				t->failed = 1;
				return;
			}
			t->buf = b;
			t->cap = cap;
		}
	}
}

static int invalid(struct ds_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int invalid(struct ds_error *err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ds_error_set(err, 400, DS_ERR_VALIDATION, "%s", msg);
	return -1;
}

int ddb_legacy_free_placeholder(const cJSON *map, const char *prefix)
{
	size_t plen = strlen(prefix);
	long next = 0;
	const cJSON *m;

	cJSON_ArrayForEach(m, map) {
		const char *s = m->string;
		char *end;
		long n;

		if (s == NULL || strncmp(s, prefix, plen) != 0 || s[plen] < '0' || s[plen] > '9')
			continue;
		/* numbers past a request's worth of placeholders are never reached counting up */
		n = strtol(s + plen, &end, 10);
		if (*end == '\0' && n >= next && n < 1000000000L)
			next = n + 1;
	}
	return (int)next;
}

/* Adds a copy of v under the placeholder :lgN, N the next free number *n, and writes it. */
static int add_value(cJSON *values, const cJSON *v, struct text *t, int *n)
{
	char ph[24];
	cJSON *c = cJSON_Duplicate(v, 1);

	snprintf(ph, sizeof(ph), ":lg%d", (*n)++);
	if (c == NULL || !cJSON_AddItemToObject(values, ph, c)) {
		cJSON_Delete(c);
		return -1;
	}
	put(t, "%s", ph);
	return 0;
}

/* Checks one condition's values against its operator; the number of values, or -1. */
static int check_values(const struct op_def *op, const cJSON *list, struct ds_error *err)
{
	int n = cJSON_GetArraySize(list);
	enum ddb_type first = DDB_T_NONE;
	const cJSON *v;
	int c;

	if (list != NULL && !cJSON_IsArray(list))
		return invalid(err, INVALID "AttributeValueList must be a list");
	if (n < op->min || n > op->max)
		return invalid(err, INVALID "Invalid number of argument(s) for the %s ComparisonOperator",
			       op->name);
	cJSON_ArrayForEach(v, list) {
		enum ddb_type t = ddb_value_type(v, NULL);

		if (t == DDB_T_NONE)
			return invalid(err, "Supplied AttributeValue is empty, must contain exactly one of "
				       "the supported datatypes");
		if (first != DDB_T_NONE && t != first)
			return invalid(err, INVALID "AttributeValues inside AttributeValueList must be of "
				       "same type");
		first = t;
	}
	cJSON_ArrayForEach(v, list) {
		enum ddb_type t = ddb_value_type(v, NULL);

		if (!(op->types & T(t)))
			return invalid(err, INVALID "ComparisonOperator %s is not valid for %s "
				       "AttributeValue type", op->name, ddb_type_name(t));
	}
	if (n == 2 && strcmp(op->name, "BETWEEN") == 0 &&
	    ddb_value_order(list->child, list->child->next, &c) == 0 && c > 0)
		return invalid(err, "The BETWEEN condition was provided a range where the lower bound is "
			       "greater than the upper bound");
	return n;
}

/* Writes one attribute's condition. */
static int one(enum ddb_legacy_kind kind, const cJSON *cond, const char *attr_ph, cJSON *values,
	       struct text *t, int *nv, struct ds_error *err)
{
	const cJSON *opj = cJSON_GetObjectItemCaseSensitive(cond, "ComparisonOperator");
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(cond, "AttributeValueList");
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(cond, "Value");
	const cJSON *exists = cJSON_GetObjectItemCaseSensitive(cond, "Exists");
	const struct op_def *op = NULL;
	const char *key = cond->string;
	cJSON *single = NULL;
	const cJSON *v;
	int rc = -1;

	if (!cJSON_IsObject(cond))
		return invalid(err, INVALID "the condition for Attribute: %.64s must be a map", key);
	if (kind == DDB_LEGACY_EXPECTED && list != NULL && value != NULL)
		return invalid(err, INVALID "Value and AttributeValueList cannot be used together for "
			       "Attribute: %.64s", key);
	if (opj == NULL && kind == DDB_LEGACY_EXPECTED) {
		int want = exists == NULL || cJSON_IsTrue(exists);

		if (list != NULL)
			return invalid(err, INVALID "AttributeValueList can only be used with a "
				       "ComparisonOperator for Attribute: %.64s", key);
		if (want && value == NULL)
			return invalid(err, INVALID "Value must be provided when Exists is %s for "
				       "Attribute: %.64s", exists == NULL ? "null" : "true", key);
		if (!want && value != NULL)
			return invalid(err, INVALID "Value cannot be used when Exists is false for "
				       "Attribute: %.64s", key);
		if (!want) {
			put(t, "attribute_not_exists(%s)", attr_ph);
			return 0;
		}
		if (ddb_value_type(value, NULL) == DDB_T_NONE)
			return invalid(err, "Supplied AttributeValue is empty, must contain exactly one of "
				       "the supported datatypes");
		put(t, "%s = ", attr_ph);
		return add_value(values, value, t, nv) == 0 ? 0 : -2;
	}
	if (!cJSON_IsString(opj))
		return invalid(err, INVALID "ComparisonOperator must be given for Attribute: %.64s", key);
	if (kind == DDB_LEGACY_EXPECTED && exists != NULL)
		return invalid(err, INVALID "Exists and ComparisonOperator cannot be used together for "
			       "Attribute: %.64s", key);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(ops[i].name, opj->valuestring) == 0)
			op = &ops[i];
	}
	if (op == NULL)
		return invalid(err, "1 validation error detected: Value '%.32s' at 'comparisonOperator' "
			       "failed to satisfy constraint: Member must satisfy enum value set: [IN, "
			       "NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, "
			       "CONTAINS]", opj->valuestring);
	if (kind == DDB_LEGACY_EXPECTED && value != NULL) {
		/* Expected's Value with a ComparisonOperator: a list of one */
		single = cJSON_CreateArray();
		if (single == NULL || !cJSON_AddItemReferenceToArray(single, (cJSON *)value)) {
			cJSON_Delete(single);
			return -2;
		}
		list = single;
	}
	if (kind == DDB_LEGACY_EXPECTED && list == NULL && op->min > 0) {
		rc = invalid(err, INVALID "Value or AttributeValueList must be used with "
			     "ComparisonOperator: %s for Attribute: %.64s", op->name, key);
		goto out;
	}
	if (check_values(op, list, err) < 0)
		goto out;
	v = list != NULL ? list->child : NULL;
	if (strcmp(op->name, "NOT_NULL") == 0 || strcmp(op->name, "NULL") == 0) {
		put(t, "attribute_%sexists(%s)", op->name[0] == 'N' && op->name[1] == 'O' ? "" : "not_",
		    attr_ph);
	} else if (strcmp(op->name, "CONTAINS") == 0 || strcmp(op->name, "NOT_CONTAINS") == 0 ||
		   strcmp(op->name, "BEGINS_WITH") == 0) {
		put(t, "%s%s(%s, ", op->name[0] == 'N' ? "NOT " : "",
		    op->name[0] == 'B' ? "begins_with" : "contains", attr_ph);
		if (add_value(values, v, t, nv) != 0)
			goto oom;
		put(t, ")");
	} else if (strcmp(op->name, "IN") == 0) {
		put(t, "%s IN (", attr_ph);
		for (; v != NULL; v = v->next) {
			if (add_value(values, v, t, nv) != 0)
				goto oom;
			put(t, "%s", v->next != NULL ? ", " : ")");
		}
	} else if (strcmp(op->name, "BETWEEN") == 0) {
		put(t, "%s BETWEEN ", attr_ph);
		if (add_value(values, v, t, nv) != 0)
			goto oom;
		put(t, " AND ");
		if (add_value(values, v->next, t, nv) != 0)
			goto oom;
	} else {
		static const char *const cmp[][2] = {
			{ "EQ", "=" }, { "NE", "<>" }, { "LE", "<=" }, { "LT", "<" }, { "GE", ">=" },
			{ "GT", ">" },
		};
		for (size_t i = 0; i < sizeof(cmp) / sizeof(cmp[0]); i++) {
			if (strcmp(cmp[i][0], op->name) == 0)
				put(t, "%s %s ", attr_ph, cmp[i][1]);
		}
		if (add_value(values, v, t, nv) != 0)
			goto oom;
	}
	rc = 0;
	goto out;
oom:
	rc = -2;
out:
	cJSON_Delete(single);
	return rc;
}

int ddb_legacy_condition(enum ddb_legacy_kind kind, const cJSON *conds,
			 const char *conditional_operator, cJSON **names, cJSON **values, char **expr,
			 struct ds_error *err)
{
	struct text t = { 0 };
	int nn = 0, nv = 0, rc;
	const char *join = conditional_operator != NULL ? conditional_operator : "AND";

	*expr = NULL;
	if (strcmp(join, "AND") != 0 && strcmp(join, "OR") != 0)
		return invalid(err, "1 validation error detected: Value '%.32s' at "
			       "'conditionalOperator' failed to satisfy constraint: Member must satisfy "
			       "enum value set: [OR, AND]", join);
	if (!cJSON_IsObject(conds) || conds->child == NULL)
		return invalid(err, INVALID "the legacy conditions must be a map of attribute names "
			       "to conditions");
	if (*names == NULL && (*names = cJSON_CreateObject()) == NULL)
		goto oom;
	if (*values == NULL && (*values = cJSON_CreateObject()) == NULL)
		goto oom;
	/* placeholders the request does not use yet (several maps may share names and values) */
	nn = ddb_legacy_free_placeholder(*names, "#lg");
	nv = ddb_legacy_free_placeholder(*values, ":lg");
	for (const cJSON *c = conds->child; c != NULL; c = c->next) {
		char ph[24];
		cJSON *name;

		snprintf(ph, sizeof(ph), "#lg%d", nn++);
		name = cJSON_CreateString(c->string);
		if (name == NULL || !cJSON_AddItemToObject(*names, ph, name)) {
			cJSON_Delete(name);
			goto oom;
		}
		if (c != conds->child)
			put(&t, " %s ", join);
		rc = one(kind, c, ph, *values, &t, &nv, err);
		if (rc == -2)
			goto oom;
		if (rc != 0) {
			free(t.buf);
			return -1;
		}
	}
	if (t.failed)
		goto oom;
	*expr = t.buf;
	return 0;
oom:
	free(t.buf);
	ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
	return -1;
}
