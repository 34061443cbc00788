/*
 * Conditions evaluated on an item (proxy/ddb/ddb_eval.c, ddb_value.c).  The expectations are
 * DynamoDB's documented and observed behaviour: a missing attribute equals nothing (another
 * missing one included) and orders against nothing, so <> is true and <, BETWEEN false;
 * values of other types compare unequal and unordered; numbers compare by value, sets without
 * order, maps and lists deeply; strings order by UTF-8 bytes; size() counts UTF-16 code units.
 * tests/diff/test_conditions.py checks the same against moto and dynalite.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/base/json.h"
#include "proxy/ddb/ddb_eval.h"

static const char item_json[] =
	"{\"n\":{\"N\":\"10\"}, \"m\":{\"N\":\"-2.5\"}, \"s\":{\"S\":\"hello\"},"
	" \"u\":{\"S\":\"\xc3\xa9\xf0\x9d\x84\x9e\"}, \"b\":{\"B\":\"AAH/\"},"
	" \"t\":{\"BOOL\":true}, \"f\":{\"BOOL\":false}, \"z\":{\"NULL\":true},"
	" \"ss\":{\"SS\":[\"x\",\"y\"]}, \"ns\":{\"NS\":[\"1\",\"2.50\"]}, \"bs\":{\"BS\":[\"AQ==\"]},"
	" \"l\":{\"L\":[{\"S\":\"a\"},{\"N\":\"1\"},{\"M\":{\"k\":{\"S\":\"v\"}}}]},"
	" \"mp\":{\"M\":{\"k\":{\"S\":\"v\"},\"deep\":{\"L\":[{\"N\":\"7\"}]}}}}";

static const char values_json[] =
	"{\":ten\":{\"N\":\"1E1\"}, \":nine\":{\"N\":\"9.99\"}, \":s\":{\"S\":\"hello\"},"
	" \":he\":{\"S\":\"he\"}, \":ll\":{\"S\":\"ll\"}, \":str10\":{\"S\":\"10\"},"
	" \":b\":{\"B\":\"AAE=\"}, \":b0\":{\"B\":\"AA==\"}, \":b1\":{\"B\":\"AQ==\"},"
	" \":yes\":{\"BOOL\":true}, \":null\":{\"NULL\":true}, \":x\":{\"S\":\"x\"},"
	" \":ss\":{\"SS\":[\"y\",\"x\"]}, \":ns\":{\"NS\":[\"2.5\",\"1.0\"]}, \":one\":{\"N\":\"1\"},"
	" \":two\":{\"N\":\"2\"}, \":three\":{\"N\":\"3\"}, \":five\":{\"N\":\"5\"},"
	" \":l\":{\"L\":[{\"S\":\"a\"},{\"N\":\"1.0\"},{\"M\":{\"k\":{\"S\":\"v\"}}}]},"
	" \":kv\":{\"M\":{\"k\":{\"S\":\"v\"}}}, \":tN\":{\"S\":\"N\"}, \":tSS\":{\"S\":\"SS\"},"
	" \":tX\":{\"S\":\"X\"}, \":tM\":{\"S\":\"M\"}}";

static cJSON *item, *values;

static int setup(void **state)
{
	(void)state;
	item = cJSON_Parse(item_json);
	values = cJSON_Parse(values_json);
	return item == NULL || values == NULL;
}

static int teardown(void **state)
{
	(void)state;
	cJSON_Delete(item);
	cJSON_Delete(values);
	return 0;
}

/* 1, 0, or -1 with the message in msg. */
static int eval_on(const cJSON *it, const char *expr, char *msg)
{
	struct ds_error err = { 0 };
	struct ddb_expr e;
	int r = -1;

	if (ddb_expr_parse(DDB_EXPR_CONDITION, "ConditionExpression", expr, NULL, &e, &err) == 0)
		r = ddb_eval_condition(&e, "ConditionExpression", it, values, &err);
	ddb_expr_release(&e);
	if (msg != NULL)
		strcpy(msg, err.message);
	return r;
}

#define TRUE(x) assert_int_equal(eval_on(item, x, NULL), 1)
#define FALSE(x) assert_int_equal(eval_on(item, x, NULL), 0)

static void test_comparisons(void **state)
{
	(void)state;
	TRUE("n = :ten");                 /* numbers by value */
	TRUE("n > :nine");
	FALSE("n = :str10");              /* another type: unequal */
	TRUE("n <> :str10");
	FALSE("n < :str10");              /* and unordered */
	FALSE("n >= :str10");
	TRUE("m < :one");
	TRUE("s = :s");
	TRUE("s > :he");                  /* "hello" after its prefix */
	TRUE(":he < s");
	TRUE("b > :b");                   /* 00 01 ff after 00 01 */
	TRUE("b >= :b0");
	FALSE("b > :b1");
	TRUE("ss = :ss");                 /* sets without order */
	TRUE("ns = :ns");                 /* number sets by value */
	TRUE("l = :l");                   /* lists deeply, numbers by value */
	TRUE("l[2] = :kv");              /* maps deeply */
	TRUE("z = :null");
	FALSE("t = :null");
	TRUE("t = :yes");
	FALSE("t < :yes");                /* booleans are not ordered */
	TRUE("n BETWEEN :nine AND :ten");
	FALSE("n BETWEEN :one AND :five");
	TRUE("n IN (:one, :ten)");
	FALSE("n IN (:one, :two)");
	TRUE("mp.deep[0] > :five");
	TRUE("NOT n = :one AND (s = :x OR s = :s)");
}

static void test_missing(void **state)
{
	(void)state;
	FALSE("nope = :one");
	TRUE("nope <> :one");
	FALSE("nope < :one");
	FALSE(":one > nope");
	FALSE("nope = nor");            /* two missing attributes are not equal */
	TRUE("nope <> nor");
	FALSE("nope <= nor");
	FALSE("nope BETWEEN :one AND :two");
	FALSE("nope IN (:one)");
	FALSE("s.x = :s");                /* a path through a string leads nowhere */
	FALSE("l[3] = :s");
	FALSE("nope = :null");            /* missing is not NULL */
	TRUE("attribute_not_exists(l[3])");
	TRUE("attribute_exists(l[2].k)");
	FALSE("size(nope) >= :one");
	assert_int_equal(eval_on(NULL, "attribute_not_exists(n)", NULL), 1);
	assert_int_equal(eval_on(NULL, "n <> :one", NULL), 1);
}

static void test_functions(void **state)
{
	(void)state;
	TRUE("begins_with(s, :he)");
	FALSE("begins_with(s, :ll)");
	TRUE("begins_with(b, :b)");
	FALSE("begins_with(b, :b1)");
	FALSE("begins_with(n, :one)");
	TRUE("contains(s, :ll)");
	TRUE("contains(ss, :x)");
	TRUE("contains(ns, :one)");       /* 1 is in {1, 2.50} */
	TRUE("contains(bs, :b1)");
	TRUE("contains(b, :b1)");
	TRUE("contains(l, :one)");        /* list elements compare like = */
	TRUE("contains(l, :kv)");
	FALSE("contains(l, :x)");
	FALSE("contains(mp, :kv)");
	TRUE("attribute_type(n, :tN)");
	TRUE("attribute_type(ss, :tSS)");
	TRUE("attribute_type(mp, :tM)");
	FALSE("attribute_type(s, :tN)");
	TRUE("size(s) = :five");
	TRUE("size(u) = :three");         /* é is one UTF-16 unit, U+1D11E two */
	TRUE("size(b) = :three");
	TRUE("size(l) = :three");
	TRUE("size(mp) = :two");
	TRUE("size(ss) = :two");
	FALSE("size(n) >= :one");         /* a number has no size: false, not an error */
	FALSE("size(t) >= :one");
}

/*
 * Strings holding U+0000, read by json_parse (the tree holds the stand-in of json_nul.h):
 * ordered as DynamoDB orders UTF-8 bytes, NUL before every other character; one character
 * for size(); found by begins_with and contains as the NUL it is.
 */
static void test_nul_strings(void **state)
{
	static const char nul_item[] =
		"{\"a\":{\"S\":\"ab\\u0000\"}, \"k\":{\"S\":\"\\u0000\"}, \"e\":{\"S\":\"abd\\u0000\"},"
		" \"ss\":{\"SS\":[\"x\\u0000\",\"x\"]}}";
	static const char nul_values[] =
		"{\":ab\":{\"S\":\"ab\"}, \":ab1\":{\"S\":\"ab\\u0001\"}, \":abn\":{\"S\":\"ab\\u0000\"},"
		" \":nul\":{\"S\":\"\\u0000\"}, \":abcy\":{\"S\":\"abc\\u00ff\"}, \":abd\":{\"S\":\"abd\"},"
		" \":x0\":{\"S\":\"x\\u0000\"}, \":x1\":{\"S\":\"x\\u0001\"}, \":one\":{\"N\":\"1\"},"
		" \":three\":{\"N\":\"3\"}, \":four\":{\"N\":\"4\"}}";
	cJSON *it = json_parse(nul_item, sizeof(nul_item) - 1, NULL);
	cJSON *saved = values;

	(void)state;
	assert_non_null(it);
	values = json_parse(nul_values, sizeof(nul_values) - 1, NULL);
	assert_non_null(values);
	assert_int_equal(eval_on(it, "a > :ab", NULL), 1);             /* after its prefix */
	assert_int_equal(eval_on(it, "a < :ab1", NULL), 1);            /* NUL before U+0001 */
	assert_int_equal(eval_on(it, "a = :abn", NULL), 1);
	assert_int_equal(eval_on(it, "a <= :abn", NULL), 1);
	assert_int_equal(eval_on(it, "a >= :ab1", NULL), 0);
	assert_int_equal(eval_on(it, "a BETWEEN :ab AND :ab1", NULL), 1);
	assert_int_equal(eval_on(it, "e > :abcy", NULL), 1);           /* "abd\0" after "abcÿ" */
	assert_int_equal(eval_on(it, "e > :abd", NULL), 1);
	assert_int_equal(eval_on(it, "k < :ab", NULL), 1);
	assert_int_equal(eval_on(it, "begins_with(a, :ab)", NULL), 1);
	assert_int_equal(eval_on(it, "begins_with(a, :abn)", NULL), 1);
	assert_int_equal(eval_on(it, "begins_with(a, :nul)", NULL), 0);
	assert_int_equal(eval_on(it, "contains(a, :nul)", NULL), 1);
	assert_int_equal(eval_on(it, "contains(ss, :x0)", NULL), 1);
	assert_int_equal(eval_on(it, "contains(ss, :x1)", NULL), 0);
	assert_int_equal(eval_on(it, "size(a) = :three", NULL), 1);    /* NUL is one character */
	assert_int_equal(eval_on(it, "size(e) = :four", NULL), 1);
	assert_int_equal(eval_on(it, "size(k) = :one", NULL), 1);
	cJSON_Delete(values);
	values = saved;
	cJSON_Delete(it);
}

static void test_errors(void **state)
{
	char msg[256];

	(void)state;
	assert_int_equal(eval_on(item, "n = :undefined", msg), -1);
	assert_string_equal(msg, "Invalid ConditionExpression: An expression attribute value used "
			    "in expression is not defined; attribute value: :undefined");
	/* whatever the item, and in a branch that is never evaluated */
	assert_int_equal(eval_on(item, "n = :ten OR n = :undefined", msg), -1);
	/* BETWEEN's value bounds, whatever the item: in order, of one type (numbers quoted in
	 * their canonical form). */
	assert_int_equal(eval_on(NULL, "n BETWEEN :ten AND :nine", msg), -1);
	assert_string_equal(msg, "Invalid ConditionExpression: The BETWEEN operator requires upper "
			    "bound to be greater than or equal to lower bound; lower bound operand: "
			    "AttributeValue: {N:10}, upper bound operand: AttributeValue: {N:9.99}");
	assert_int_equal(eval_on(item, "n BETWEEN :s AND :ten", msg), -1);
	assert_string_equal(msg, "Invalid ConditionExpression: The BETWEEN operator requires same "
			    "data type for lower and upper bounds; lower bound operand: AttributeValue: "
			    "{S:hello}, upper bound operand: AttributeValue: {N:10}");
	assert_int_equal(eval_on(item, "n BETWEEN :ten AND :ten", msg), 1);
	assert_int_equal(eval_on(item, "n BETWEEN n AND :nine", msg), 0);
	assert_int_equal(eval_on(NULL, "attribute_type(n, :tX)", msg), -1);
	assert_string_equal(msg, "Invalid ConditionExpression: Invalid attribute type name found; "
			    "type: X, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}");
}

/* The parts of item an update's paths reach, as UPDATED_* answers carry them. */
static void copied(const char *update, const char *want)
{
	struct ds_error err = { 0 };
	struct ddb_expr e;
	cJSON *out = cJSON_CreateObject();
	cJSON *expect = cJSON_Parse(want);
	char *got;

	assert_int_equal(ddb_expr_parse(DDB_EXPR_UPDATE, "UpdateExpression", update, NULL, &e, &err), 0);
	assert_int_equal(ddb_eval_copy_paths(item, &e, out), 0);
	got = cJSON_PrintUnformatted(out);
	if (!cJSON_Compare(out, expect, 1))
		fail_msg("%s: got %s, want %s", update, got, want);
	cJSON_free(got);
	cJSON_Delete(out);
	cJSON_Delete(expect);
	ddb_expr_release(&e);
}

/* The result of expr over many values :v0 .. :v<n-1> (:vK the number K), on item. */
static int eval_many(const char *expr, int n)
{
	struct ds_error err = { 0 };
	struct ddb_expr e;
	cJSON *many = cJSON_CreateObject();
	char name[16], num[16];
	int r = -1;

	for (int k = 0; k < n; k++) {
		cJSON *v = cJSON_CreateObject();

		snprintf(name, sizeof(name), ":v%d", k);
		snprintf(num, sizeof(num), "%d", k);
		cJSON_AddStringToObject(v, "N", num);
		cJSON_AddItemToObject(many, name, v);
	}
	if (ddb_expr_parse(DDB_EXPR_CONDITION, "ConditionExpression", expr, NULL, &e, &err) == 0 &&
	    ddb_eval_check_values(&e, "ConditionExpression", many, &err) == 0)
		r = ddb_eval_condition(&e, "ConditionExpression", item, many, &err);
	ddb_expr_release(&e);
	cJSON_Delete(many);
	return r;
}

/* An expression of n terms: head, then each of :v<from> .. in steps of step, joined by sep,
 * then tail. */
static char *terms(const char *head, const char *fmt, int n, int from, int step, const char *sep,
		   const char *tail)
{
	size_t cap = strlen(head) + strlen(tail) + (size_t)n * (strlen(fmt) + strlen(sep) + 16);
	char *out = malloc(cap);
	size_t len = (size_t)snprintf(out, cap, "%s", head);

	for (int k = 0; k < n; k++)
		len += (size_t)snprintf(out + len, cap - len, fmt, from + k * step, k + 1 < n ? sep : "");
	snprintf(out + len, cap - len, "%s", tail);
	return out;
}

/* IN lists and AND/OR chains of tens of thousands of terms (a legacy IN may hold that many):
 * the values are found whatever order they are used in. */
static void test_long_lists_and_chains(void **state)
{
	static const struct {
		const char *head, *fmt, *sep, *tail;
		int n, from, step, want;
	} cases[] = {
		{ "n IN (", ":v%d%s", ", ", ")", 30000, 0, 1, 1 },          /* :v10 */
		{ "n IN (", ":v%d%s", ", ", ")", 30000, 29999, -1, 1 },     /* backwards */
		{ "m IN (", ":v%d%s", ", ", ")", 30000, 0, 1, 0 },
		{ "n IN (", ":v%d%s", ", ", ")", 4000, 11, 7, 0 },          /* 11, 18, ...: never 10 */
		{ "", "n = :v%d%s", " OR ", "", 30000, 29999, -1, 1 },
		{ "", "n <> :v%d%s", " AND ", "", 29989, 11, 1, 1 },
		{ "", "n <> :v%d%s", " AND ", "", 30000, 0, 1, 0 },
		{ "NOT (", "n <> :v%d%s", " AND ", ")", 30000, 29999, -1, 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *expr = terms(cases[i].head, cases[i].fmt, cases[i].n, cases[i].from,
				   cases[i].step, cases[i].sep, cases[i].tail);

		assert_int_equal(eval_many(expr, 30000), cases[i].want);
		free(expr);
	}
}

static void test_copy_path(void **state)
{
	(void)state;
	copied("SET n = :x", "{\"n\":{\"N\":\"10\"}}");
	copied("SET n = :x, s = :y REMOVE t", "{\"n\":{\"N\":\"10\"},\"s\":{\"S\":\"hello\"},"
	       "\"t\":{\"BOOL\":true}}");
	copied("SET mp.k = :x", "{\"mp\":{\"M\":{\"k\":{\"S\":\"v\"}}}}");
	copied("SET mp.deep[0] = :x, mp.k = :y",
	       "{\"mp\":{\"M\":{\"deep\":{\"L\":[{\"N\":\"7\"}]},\"k\":{\"S\":\"v\"}}}}");
	/* List elements in index order, whatever the order of the paths. */
	copied("REMOVE l[2].k, l[0]", "{\"l\":{\"L\":[{\"S\":\"a\"},{\"M\":{\"k\":{\"S\":\"v\"}}}]}}");
	copied("SET mp.deep[0] = :x, l[1] = :y, l[0] = :z",
	       "{\"mp\":{\"M\":{\"deep\":{\"L\":[{\"N\":\"7\"}]}}},\"l\":{\"L\":[{\"S\":\"a\"},{\"N\":\"1\"}]}}");
	/* An index between two already copied goes between them. */
	copied("SET l[0] = :x, l[2] = :y, l[1] = :z",
	       "{\"l\":{\"L\":[{\"S\":\"a\"},{\"N\":\"1\"},{\"M\":{\"k\":{\"S\":\"v\"}}}]}}");
	/* Paths that lead nowhere copy nothing. */
	copied("SET nothere = :x, mp.nothere = :y, l[9] = :z", "{}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comparisons),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_functions),
		cmocka_unit_test(test_nul_strings),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_copy_path),
		cmocka_unit_test(test_long_lists_and_chains),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
