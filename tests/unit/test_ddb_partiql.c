/*
 * PartiQL statements read into classic requests (proxy/ddb/ddb_partiql*.c): the request each
 * statement becomes on a table keyed pk (and sk), and each refusal.  test_partiql.py runs the
 * requests against moto beside their documented classic equivalents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/ddb/ddb_partiql.h"

/* "Op {request}" for stmt with params (JSON or NULL), or "ERR <message>". */
static const char *translate(const char *stmt, const char *params, const char *sk)
{
	static char out[2048];
	cJSON *p = params != NULL ? cJSON_Parse(params) : NULL;
	struct ddb_partiql pq;
	struct ds_error err;
	const char *op = NULL;
	cJSON *req = NULL;

	if (ddb_partiql_parse(stmt, p, &pq, &err) != 0 ||
	    (req = ddb_partiql_request(&pq, "pk", sk, &op, &err)) == NULL) {
		snprintf(out, sizeof(out), "ERR %s", err.message);
	} else {
		char *text = cJSON_PrintUnformatted(req);
		snprintf(out, sizeof(out), "%s %s", op, text);
		free(text);
	}
	cJSON_Delete(req);
	ddb_partiql_free(&pq);
	cJSON_Delete(p);
	return out;
}

#define T(stmt, want) assert_string_equal(translate(stmt, NULL, "sk"), want)

static void test_select(void **state)
{
	(void)state;
	T("SELECT * FROM \"t\" WHERE pk = 'a'",
	  "Query {\"TableName\":\"t\",\"KeyConditionExpression\":\"#q0 = :q0\",\"ExpressionAttributeNames\":"
	  "{\"#q0\":\"pk\"},\"ExpressionAttributeValues\":{\":q0\":{\"S\":\"a\"}}}");
	/* Key first whatever the side; the rest filters. */
	T("select email FROM t WHERE 'a' = pk AND sk = 2 AND n <> 1",
	  "Query {\"TableName\":\"t\",\"ProjectionExpression\":\"#q0\",\"KeyConditionExpression\":"
	  "\"#q1 = :q0 AND #q2 = :q1\",\"FilterExpression\":\"#q3 <> :q2\",\"ExpressionAttributeNames\":"
	  "{\"#q0\":\"email\",\"#q1\":\"pk\",\"#q2\":\"sk\",\"#q3\":\"n\"},\"ExpressionAttributeValues\":"
	  "{\":q0\":{\"S\":\"a\"},\":q1\":{\"N\":\"2\"},\":q2\":{\"N\":\"1\"}}}");
	/* One condition of a key condition's form on the sort key joins the key condition. */
	T("SELECT * FROM t WHERE pk = 'a' AND sk > 3",
	  "Query {\"TableName\":\"t\",\"KeyConditionExpression\":\"#q0 = :q0 AND #q1 > :q1\","
	  "\"ExpressionAttributeNames\":{\"#q0\":\"pk\",\"#q1\":\"sk\"},\"ExpressionAttributeValues\":"
	  "{\":q0\":{\"S\":\"a\"},\":q1\":{\"N\":\"3\"}}}");
	T("SELECT * FROM t WHERE sk BETWEEN 1 AND 5 AND pk = 'a'",
	  "Query {\"TableName\":\"t\",\"KeyConditionExpression\":\"#q1 = :q2 AND #q0 BETWEEN :q0 AND "
	  ":q1\",\"ExpressionAttributeNames\":{\"#q0\":\"sk\",\"#q1\":\"pk\"},"
	  "\"ExpressionAttributeValues\":{\":q0\":{\"N\":\"1\"},\":q1\":{\"N\":\"5\"},\":q2\":"
	  "{\"S\":\"a\"}}}");
	/* A filter that would read a key attribute, an OR, or an index: a Scan. */
	T("SELECT * FROM t WHERE pk = 'a' AND sk <> 3",
	  "Scan {\"TableName\":\"t\",\"FilterExpression\":\"#q0 = :q0 AND #q1 <> :q1\","
	  "\"ExpressionAttributeNames\":{\"#q0\":\"pk\",\"#q1\":\"sk\"},\"ExpressionAttributeValues\":"
	  "{\":q0\":{\"S\":\"a\"},\":q1\":{\"N\":\"3\"}}}");
	T("SELECT pk FROM t WHERE pk = 'a' AND sk > 3 AND sk < 9",
	  "Scan {\"TableName\":\"t\",\"ProjectionExpression\":\"#q0\",\"FilterExpression\":\"#q0 = :q0 "
	  "AND #q1 > :q1 AND #q1 < :q2\",\"ExpressionAttributeNames\":{\"#q0\":\"pk\",\"#q1\":\"sk\"},"
	  "\"ExpressionAttributeValues\":{\":q0\":{\"S\":\"a\"},\":q1\":{\"N\":\"3\"},\":q2\":"
	  "{\"N\":\"9\"}}}");
	T("SELECT pk FROM t WHERE pk = 'a' AND 3 < sk",
	  "Scan {\"TableName\":\"t\",\"ProjectionExpression\":\"#q0\",\"FilterExpression\":\"#q0 = :q0 "
	  "AND :q1 < #q1\",\"ExpressionAttributeNames\":{\"#q0\":\"pk\",\"#q1\":\"sk\"},"
	  "\"ExpressionAttributeValues\":{\":q0\":{\"S\":\"a\"},\":q1\":{\"N\":\"3\"}}}");
	T("SELECT a.b[2], \"c d\" FROM \"t\".\"i\" WHERE x IS NOT MISSING OR begins_with(e, 'q')",
	  "Scan {\"TableName\":\"t\",\"ProjectionExpression\":\"#q0.#q1[2], #q2\",\"IndexName\":\"i\","
	  "\"FilterExpression\":\"(attribute_exists(#q3)) OR (begins_with(#q4, :q0))\","
	  "\"ExpressionAttributeNames\":{\"#q0\":\"a\",\"#q1\":\"b\",\"#q2\":\"c d\",\"#q3\":\"x\","
	  "\"#q4\":\"e\"},\"ExpressionAttributeValues\":{\":q0\":{\"S\":\"q\"}}}");
	assert_string_equal(translate("SELECT * FROM t WHERE pk = ? AND n IN [1, ?]",
				      "[{\"S\":\"p\"},{\"N\":\"5\"}]", NULL),
			    "Query {\"TableName\":\"t\",\"KeyConditionExpression\":\"#q0 = :q0\","
			    "\"FilterExpression\":\"#q1 IN (:q1, :q2)\",\"ExpressionAttributeNames\":"
			    "{\"#q0\":\"pk\",\"#q1\":\"n\"},\"ExpressionAttributeValues\":{\":q0\":{\"S\":\"p\"},"
			    "\":q1\":{\"N\":\"1\"},\":q2\":{\"N\":\"5\"}}}");
}

static void test_writes(void **state)
{
	(void)state;
	T("INSERT INTO t VALUE {'pk': 'a', 'sk': -1.5, 's': <<'x','y'>>, 'l': [1, 'b', true, null], 'm': {'k': {}}}",
	  "PutItem {\"TableName\":\"t\",\"Item\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"-1.5\"},\"s\":{\"SS\":"
	  "[\"x\",\"y\"]},\"l\":{\"L\":[{\"N\":\"1\"},{\"S\":\"b\"},{\"BOOL\":true},{\"NULL\":true}]},\"m\":"
	  "{\"M\":{\"k\":{\"M\":{}}}}},\"ConditionExpression\":\"attribute_not_exists(#q0)\","
	  "\"ExpressionAttributeNames\":{\"#q0\":\"pk\"}}");
	T("UPDATE t SET n = n + 1 SET q = 'z', w = list_append(w, [1]) REMOVE l, m.k "
	  "SET s = set_add(s, <<2>>) WHERE pk = 'a' AND sk = 2 AND e = 'x' RETURNING MODIFIED OLD *",
	  "UpdateItem {\"TableName\":\"t\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"2\"}},"
	  "\"UpdateExpression\":\"SET #q0 = #q0 + :q0, #q1 = :q1, #q2 = list_append(#q2, :q2) REMOVE #q3, "
	  "#q4.#q5 ADD #q6 :q3\",\"ConditionExpression\":\"attribute_exists(#q7) AND #q9 = :q6\","
	  "\"ReturnValues\":\"UPDATED_OLD\",\"ExpressionAttributeNames\":{\"#q0\":\"n\",\"#q1\":\"q\","
	  "\"#q2\":\"w\",\"#q3\":\"l\",\"#q4\":\"m\",\"#q5\":\"k\",\"#q6\":\"s\",\"#q7\":\"pk\",\"#q9\":\"e\"},"
	  "\"ExpressionAttributeValues\":{\":q0\":{\"N\":\"1\"},\":q1\":{\"S\":\"z\"},\":q2\":{\"L\":"
	  "[{\"N\":\"1\"}]},\":q3\":{\"NS\":[\"2\"]},\":q6\":{\"S\":\"x\"}}}");
	T("DELETE FROM t WHERE pk = 'a' AND sk = 'b' RETURNING ALL OLD *",
	  "DeleteItem {\"TableName\":\"t\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},"
	  "\"ReturnValues\":\"ALL_OLD\"}");
}

static void test_refused(void **state)
{
	(void)state;
	T("UPDATE t SET n = 1 WHERE pk = 'a'",
	  "ERR Where clause does not contain a mandatory equality on all key attributes");
	T("DELETE FROM t WHERE pk = 'a' OR sk = 1",
	  "ERR Where clause does not contain a mandatory equality on all key attributes");
	T("SELECT COUNT(*) FROM t", "ERR dynaseal does not carry out COUNT in a PartiQL statement on "
	  "a table it encrypts; use the classic operations (GetItem, Query, Scan, PutItem, UpdateItem, "
	  "DeleteItem) for it");
	T("SELECT * FROM t WHERE EXISTS (SELECT * FROM u)", "ERR dynaseal does not carry out EXISTS "
	  "in a PartiQL statement on a table it encrypts; use the classic operations (GetItem, Query, "
	  "Scan, PutItem, UpdateItem, DeleteItem) for it");
	T("SELEC * FROM t", "ERR Statement wasn't well formed, can't be processed: expected SELECT, "
	  "INSERT, UPDATE or DELETE near 'SELEC' at offset 0");
	T("SELECT * FROM t WHERE a = 'open", "ERR Statement wasn't well formed, can't be processed: "
	  "unterminated string starting at offset 26");
	T("SELECT * FROM t WHERE a[1.5] = 1", "ERR Statement wasn't well formed, can't be processed: "
	  "expected a list index (digits) near '1.5' at offset 24");
	T("INSERT INTO t VALUE {'pk': <<'a', 1>>}", "ERR Statement wasn't well formed, can't be "
	  "processed: a set holds strings, numbers or binaries, all of one type");
	T("UPDATE t SET a = set_add(b, <<1>>) WHERE pk = 'a' AND sk = 1", "ERR Statement wasn't well "
	  "formed, can't be processed: set_add and set_delete apply to the path SET writes");
	T("SELECT * FROM t WHERE pk = ?", "ERR Number of parameters in request and statement don't match.");
	assert_string_equal(translate("SELECT * FROM t", "[{\"S\":\"x\"}]", NULL),
			    "ERR Number of parameters in request and statement don't match.");
	assert_string_equal(translate("SELECT * FROM t WHERE a = ?", "[{}]", NULL),
			    "ERR Parameters must be a list of attribute values, each a map of one type to its value");
}

/* The action of a transaction a statement becomes, or "ERR <message>". */
static const char *action(const char *stmt)
{
	static char out[1024];
	struct ddb_partiql pq;
	struct ds_error err;
	cJSON *act = NULL;

	if (ddb_partiql_parse(stmt, NULL, &pq, &err) != 0 ||
	    (act = ddb_partiql_action(&pq, "pk", "sk", &err)) == NULL) {
		snprintf(out, sizeof(out), "ERR %s", err.message);
	} else {
		char *text = cJSON_PrintUnformatted(act);
		snprintf(out, sizeof(out), "%s", text);
		free(text);
	}
	cJSON_Delete(act);
	ddb_partiql_free(&pq);
	return out;
}

static void test_transaction_actions(void **state)
{
	(void)state;
	assert_string_equal(action("SELECT a FROM t WHERE sk = 1 AND pk = 'x'"),
			    "{\"Get\":{\"Key\":{\"pk\":{\"S\":\"x\"},\"sk\":{\"N\":\"1\"}},\"TableName\":"
			    "\"t\",\"ProjectionExpression\":\"#q0\",\"ExpressionAttributeNames\":{\"#q0\":\"a\"}}}");
	assert_string_equal(action("DELETE FROM t WHERE pk = 'x' AND sk = 1"),
			    "{\"Delete\":{\"TableName\":\"t\",\"Key\":{\"pk\":{\"S\":\"x\"},\"sk\":"
			    "{\"N\":\"1\"}}}}");
	assert_string_equal(action("INSERT INTO t VALUE {'pk': 'x', 'sk': 1}"),
			    "{\"Put\":{\"TableName\":\"t\",\"Item\":{\"pk\":{\"S\":\"x\"},\"sk\":{\"N\":"
			    "\"1\"}},\"ConditionExpression\":\"attribute_not_exists(#q0)\","
			    "\"ExpressionAttributeNames\":{\"#q0\":\"pk\"}}}");
	assert_string_equal(action("SELECT * FROM t WHERE pk = 'x' AND sk = 1 AND a = 2"),
			    "ERR A SELECT in ExecuteTransaction reads one item by its key; remove the other "
			    "conditions");
	assert_string_equal(action("SELECT * FROM t WHERE pk = 'x'"),
			    "ERR Where clause does not contain a mandatory equality on all key attributes");
	assert_string_equal(action("DELETE FROM t WHERE pk = 'x' AND sk = 1 RETURNING ALL OLD *"),
			    "ERR RETURNING is not allowed in a statement of ExecuteTransaction");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_writes),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_transaction_actions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
