/*
 * Update expressions applied to an item (proxy/ddb/ddb_update.c): each action of DynamoDB's
 * "Update expressions" and its rules (values read from the item as it was, list indexes of
 * the list as it was, appends past the end, emptied sets removed), and each refusal in
 * DynamoDB's words and order.  tests/diff/test_updates.py checks the same against dynalite
 * and moto.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/ddb/ddb_update.h"

static const char item_json[] =
	"{\"a\":{\"S\":\"x\"},\"b\":{\"S\":\"y\"},\"n\":{\"N\":\"1.5\"},"
	"\"l\":{\"L\":[{\"N\":\"1\"},{\"N\":\"2\"},{\"N\":\"3\"}]},\"ss\":{\"SS\":[\"p\",\"q\"]},"
	"\"ns\":{\"NS\":[\"1\",\"2\"]},\"m\":{\"M\":{\"k\":{\"S\":\"v\"}}},\"big\":{\"N\":\"9e125\"}}";

static const char values_json[] =
	"{\":one\":{\"N\":\"1\"},\":s\":{\"S\":\"s\"},\":l\":{\"L\":[{\"S\":\"z\"}]},"
	"\":ss\":{\"SS\":[\"q\",\"r\"]},\":p\":{\"SS\":[\"p\",\"q\"]},\":ns\":{\"NS\":[\"2.0\",\"3\"]},"
	"\":m\":{\"M\":{}},\":big\":{\"N\":\"9e125\"}}";

/* The item after expr (on the item above, or none), applied with the n index keys given,
 * printed, or "ERR <message>". */
static char *apply_with(const char *expr, int with_item, const struct ddb_index_key *keys,
			size_t n)
{
	static char out[2048];
	cJSON *values = cJSON_Parse(values_json), *item = with_item ? cJSON_Parse(item_json) : NULL;
	struct ds_error err = { 0 };
	struct ddb_expr e;
	int r = -1;

	if (ddb_expr_parse(DDB_EXPR_UPDATE, "UpdateExpression", expr, NULL, &e, &err) == 0)
		r = keys == NULL ? ddb_update_apply(&e, values, &item, &err)
				 : ddb_update_apply_indexed(&e, values, keys, n, &item, &err);
	ddb_expr_release(&e);
	if (r != 0) {
		snprintf(out, sizeof(out), "ERR %s", err.message);
	} else {
		char *text = cJSON_PrintUnformatted(item);
		snprintf(out, sizeof(out), "%s", text);
		free(text);
	}
	cJSON_Delete(item);
	cJSON_Delete(values);
	return out;
}

/* The item after expr, printed, or "ERR <message>" (ddb_update_apply: no index keys). */
static char *apply(const char *expr, int with_item)
{
	return apply_with(expr, with_item, NULL, 0);
}

/* Whether the printed item holds the member text (e.g. "\"a\":{\"S\":\"y\"}"). */
#define HOLDS(expr, text) assert_non_null(strstr(apply(expr, 1), text))
#define LACKS(expr, text) assert_null(strstr(apply(expr, 1), text))
#define REFUSED(expr, msg) assert_string_equal(apply(expr, 1), "ERR " msg)

static void test_set(void **state)
{
	(void)state;
	HOLDS("SET a = b, b = a", "\"a\":{\"S\":\"y\"},\"b\":{\"S\":\"x\"}");   /* a swap */
	HOLDS("SET n = n + :one", "\"n\":{\"N\":\"2.5\"}");
	HOLDS("SET n = :one - n", "\"n\":{\"N\":\"-0.5\"}");
	HOLDS("SET c = if_not_exists(c, :one)", "\"c\":{\"N\":\"1\"}");
	HOLDS("SET a = if_not_exists(a, :s)", "\"a\":{\"S\":\"x\"}");
	HOLDS("SET l = list_append(l, :l)", "{\"N\":\"3\"},{\"S\":\"z\"}]");
	HOLDS("SET l = list_append(:l, l)", "[{\"S\":\"z\"},{\"N\":\"1\"}");
	HOLDS("SET l[1] = :s", "[{\"N\":\"1\"},{\"S\":\"s\"},{\"N\":\"3\"}]");
	HOLDS("SET l[9] = :s", "{\"N\":\"3\"},{\"S\":\"s\"}]");             /* past the end: appended */
	/* several past the end: appended in index order, whatever the order written */
	HOLDS("SET l[9] = :s, l[5] = :one", "{\"N\":\"3\"},{\"N\":\"1\"},{\"S\":\"s\"}]");
	HOLDS("SET l[5] = :one, l[9] = :s REMOVE l[0]", "\"l\":{\"L\":[{\"N\":\"2\"},{\"N\":\"3\"},"
	      "{\"N\":\"1\"},{\"S\":\"s\"}]}");
	HOLDS("SET m.k2 = :one", "\"k2\":{\"N\":\"1\"}");
	assert_string_equal(apply("SET a = :one", 0), "{\"a\":{\"N\":\"1\"}}"); /* a new item */
}

static void test_remove_add_delete(void **state)
{
	(void)state;
	LACKS("REMOVE a", "\"a\":");
	HOLDS("REMOVE zz", "\"a\":{\"S\":\"x\"}");                             /* nothing to remove */
	HOLDS("REMOVE l[0], l[1]", "\"l\":{\"L\":[{\"N\":\"3\"}]}");          /* the list as it was */
	HOLDS("REMOVE l[1], l[0]", "\"l\":{\"L\":[{\"N\":\"3\"}]}");
	HOLDS("REMOVE l[7]", "\"l\":{\"L\":[{\"N\":\"1\"},{\"N\":\"2\"},{\"N\":\"3\"}]}");
	HOLDS("SET l[1] = :s REMOVE l[0]", "\"l\":{\"L\":[{\"S\":\"s\"},{\"N\":\"3\"}]}");
	HOLDS("REMOVE m.k", "\"m\":{\"M\":{}}");
	HOLDS("ADD n :one", "\"n\":{\"N\":\"2.5\"}");
	HOLDS("ADD c :one", "\"c\":{\"N\":\"1\"}");
	HOLDS("ADD ss :ss", "\"ss\":{\"SS\":[\"p\",\"q\",\"r\"]}");
	HOLDS("ADD ns :ns", "\"ns\":{\"NS\":[\"1\",\"2\",\"3\"]}");          /* 2.0 is 2 */
	HOLDS("DELETE ss :ss", "\"ss\":{\"SS\":[\"p\"]}");
	LACKS("DELETE ss :p", "\"ss\"");                                       /* emptied: removed */
	HOLDS("DELETE zz :ss", "\"a\":{\"S\":\"x\"}");
}

static void test_refused(void **state)
{
	(void)state;
	REFUSED("SET a = zz", "The provided expression refers to an attribute that does not exist "
		"in the item");
	REFUSED("SET a = a + :one", "An operand in the update expression has an incorrect data type");
	REFUSED("SET a = list_append(a, :l)", "An operand in the update expression has an incorrect "
		"data type");
	REFUSED("ADD a :one", "An operand in the update expression has an incorrect data type");
	REFUSED("SET a.b = :one", "The document path provided in the update expression is invalid "
		"for update");
	REFUSED("REMOVE zz.b", "The document path provided in the update expression is invalid for "
		"update");
	REFUSED("SET big = big + :big", "Number overflow. Attempting to store a number with "
		"magnitude larger than supported range");
	REFUSED("SET a = :one REMOVE a.b", "Invalid UpdateExpression: Two document paths overlap with "
		"each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]");
	REFUSED("SET l[0] = :one REMOVE l.x", "Invalid UpdateExpression: Two document paths conflict "
		"with each other; must remove or rewrite one of these paths; path one: [l, [0]], path "
		"two: [l, x]");
	/* overlaps before conflicts, whatever their order */
	REFUSED("SET l[0] = :one REMOVE l.x, a, a", "Invalid UpdateExpression: Two document paths "
		"overlap with each other; must remove or rewrite one of these paths; path one: [a], path "
		"two: [a]");
	REFUSED("ADD ss :s", "Invalid UpdateExpression: Incorrect operand type for operator or "
		"function; operator: ADD, operand type: STRING");
	REFUSED("DELETE ns :one", "Invalid UpdateExpression: Incorrect operand type for operator or "
		"function; operator: DELETE, operand type: NUMBER");
	REFUSED("SET a = n + :s", "Invalid UpdateExpression: Incorrect operand type for operator or "
		"function; operator or function: +, operand type: S");
	REFUSED("SET a = list_append(:m, l)", "Invalid UpdateExpression: Incorrect operand type for "
		"operator or function; operator or function: list_append, operand type: M");
	REFUSED("SET a = :nope", "Invalid UpdateExpression: An expression attribute value used in "
		"expression is not defined; attribute value: :nope");
}

/* The table of dynalite's suite that DynamoDB's answers were taken on: key (a, b), global
 * indexes by_c (c) and by_cd (c, d), local ones lc (a, c) and ld (a, d), every key a string. */
static const struct ddb_index_key index_keys[] = {
	{ "c", DDB_T_S, "by_c" }, { "c", DDB_T_S, "by_cd" }, { "d", DDB_T_S, "by_cd" },
	{ "c", DDB_T_S, "lc" }, { "d", DDB_T_S, "ld" },
};

/* ddb_update_check_keys on expr with the keys above (index ones unknown when !indexed):
 * "OK" or the message. */
static const char *check_keys(const char *expr, int indexed)
{
	static char out[512];
	const struct ddb_update_keys keys = { { "a", "b" }, indexed ? index_keys : NULL,
					      indexed ? sizeof(index_keys) / sizeof(index_keys[0]) : 0 };
	cJSON *values = cJSON_Parse(values_json);
	struct ds_error err = { 0 };
	struct ddb_expr e;
	int r = -1;

	if (ddb_expr_parse(DDB_EXPR_UPDATE, "UpdateExpression", expr, NULL, &e, &err) == 0)
		r = ddb_update_check_keys(&e, values, &keys, &err);
	ddb_expr_release(&e);
	cJSON_Delete(values);
	snprintf(out, sizeof(out), "%s", r == 0 ? "OK" : err.message);
	return out;
}

#define MISMATCH(key, type, index) "One or more parameter values were invalid: Type mismatch " \
	"for Index Key " key " Expected: S Actual: " type " IndexName: " index
#define NOT_SCALAR(what) "Key attributes must be scalars; list random access '[]' and map lookup " \
	"'.' are not allowed: " what

static void test_index_keys_static(void **state)
{
	(void)state;
	/* A value whose type the request tells, of another type than the key's: the first index
	 * (in DynamoDB's order) keyed by the attribute names it. */
	assert_string_equal(check_keys("SET c = :one", 1), MISMATCH("c", "N", "by_c"));
	assert_string_equal(check_keys("SET d = :one", 1), MISMATCH("d", "N", "by_cd"));
	assert_string_equal(check_keys("SET x = :s ADD c :one", 1), MISMATCH("c", "N", "by_c"));
	assert_string_equal(check_keys("DELETE c :ss", 1), MISMATCH("c", "SS", "by_c"));
	assert_string_equal(check_keys("SET e = c[1], c = a + :one", 1), MISMATCH("c", "N", "by_c"));
	assert_string_equal(check_keys("SET c = list_append(:l, l)", 1), MISMATCH("c", "L", "by_c"));
	assert_string_equal(check_keys("SET c = if_not_exists(x, :m)", 1), MISMATCH("c", "M", "by_c"));
	/* c before d whatever the order written; the type before a path below a key */
	assert_string_equal(check_keys("SET d = :one, c = :one", 1), MISMATCH("c", "N", "by_c"));
	assert_string_equal(check_keys("SET d.a = a ADD c :one", 1), MISMATCH("c", "N", "by_c"));
	/* a type only the item tells, the right type, a removal, a nested write: not this check */
	assert_string_equal(check_keys("SET c = e, d = if_not_exists(d, e)", 1), "OK");
	assert_string_equal(check_keys("SET c = :s, d = if_not_exists(d, :s) REMOVE x", 1), "OK");
	assert_string_equal(check_keys("REMOVE c, d", 1), "OK");
	assert_string_equal(check_keys("SET c = :one", 0), "OK");       /* indexes unknown */
	/* a path below a key anywhere in the update: the table's keys first, then the indexes' */
	assert_string_equal(check_keys("ADD d.b :one", 1), NOT_SCALAR("IndexKey: d"));
	assert_string_equal(check_keys("SET d[1] = :one", 1), NOT_SCALAR("IndexKey: d"));
	assert_string_equal(check_keys("SET e = list_append(a, b), f = d[1]", 1), NOT_SCALAR("IndexKey: d"));
	assert_string_equal(check_keys("SET e = if_not_exists(x, c.y)", 1), NOT_SCALAR("IndexKey: c"));
	assert_string_equal(check_keys("REMOVE d.x, c[0]", 1), NOT_SCALAR("IndexKey: c"));
	assert_string_equal(check_keys("SET e = d.x + b.y", 1), NOT_SCALAR("Key: b"));
	assert_string_equal(check_keys("SET e = b.y, f = a[0]", 1), NOT_SCALAR("Key: a"));
	assert_string_equal(check_keys("SET e = a.b", 0), NOT_SCALAR("Key: a"));
	assert_string_equal(check_keys("SET e = d.x", 0), "OK");
	assert_string_equal(check_keys("SET cc.x = :one, e.d = :one", 1), "OK");
	/* what is wrong with the expression whatever the table comes first */
	assert_string_equal(check_keys("SET c = :one, c = :s", 1), "Invalid UpdateExpression: Two "
			    "document paths overlap with each other; must remove or rewrite one of these "
			    "paths; path one: [c], path two: [c]");
	assert_string_equal(check_keys("SET d.x = :one ADD c :s", 1), "Invalid UpdateExpression: "
			    "Incorrect operand type for operator or function; operator: ADD, operand type: "
			    "STRING");
}

/* The item after expr with the index keys above, or "ERR <message>". */
static const char *apply_indexed(const char *expr)
{
	return apply_with(expr, 1, index_keys, sizeof(index_keys) / sizeof(index_keys[0]));
}

#define UNSUPPORTED "ERR The update expression attempted to update the secondary index key to " \
	"unsupported type"

static void test_index_keys_dynamic(void **state)
{
	(void)state;
	/* The item tells the type: a number from n, a list from l */
	assert_string_equal(apply_indexed("SET c = n"), UNSUPPORTED);
	assert_string_equal(apply_indexed("SET x = :s, d = l"), UNSUPPORTED);
	assert_string_equal(apply_indexed("SET d = if_not_exists(n, :s)"), UNSUPPORTED);
	/* a string is the key's type; a nested write and another attribute are not keys */
	assert_non_null(strstr(apply_indexed("SET c = a, d = if_not_exists(zz, :s)"),
			       "\"c\":{\"S\":\"x\"},\"d\":{\"S\":\"s\"}"));
	assert_non_null(strstr(apply_indexed("SET m.c = n, cc = n"), "\"cc\":{\"N\":\"1.5\"}"));
	/* a value that cannot be read comes first, and so does a path invalid for update written
	 * before the key's SET */
	assert_string_equal(apply_indexed("SET c = n, x = zz"), "ERR The provided expression refers "
			    "to an attribute that does not exist in the item");
	assert_string_equal(apply_indexed("REMOVE a.b.c SET c = n"), "ERR The document path provided "
			    "in the update expression is invalid for update");
	/* without index keys the same update is applied */
	assert_non_null(strstr(apply("SET c = n", 1), "\"c\":{\"N\":\"1.5\"}"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_remove_add_delete),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_index_keys_static),
		cmocka_unit_test(test_index_keys_dynamic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
