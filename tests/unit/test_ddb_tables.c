/*
 * Which tables a DynamoDB request names (proxy/ddb/ddb_tables.c): every operation's members, ARNs
 * reduced to their table, and one case per refusal with its exact reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "proxy/ddb/ddb_tables.h"

#define ARN "arn:aws:dynamodb:us-east-1:123456789012:table/"

/* The tables named, as "member=table;..." */
static int collect(void *arg, const char *table, const char *member)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 512 - n, "%s=%s;", member, table);
	return 0;
}

static enum ddb_tables_result run(const char *op, const char *body, char *named, char *why)
{
	cJSON *doc = cJSON_Parse(body);
	enum ddb_tables_result r;

	assert_non_null(doc);
	named[0] = why[0] = '\0';
	r = ddb_request_tables(op, doc, collect, named, why, 200);
	cJSON_Delete(doc);
	return r;
}

static void test_names(void **state)
{
	static const struct {
		const char *op, *body, *named;
	} cases[] = {
		{ "GetItem", "{\"TableName\":\"users\",\"Key\":{}}", "TableName=users;" },
		{ "PutItem", "{\"TableName\":\"" ARN "users\"}", "TableName=users;" },
		{ "BatchGetItem", "{\"RequestItems\":{\"a\":{},\"" ARN "b\":{}}}",
		  "RequestItems=a;RequestItems=b;" },
		{ "TransactWriteItems", "{\"TransactItems\":[{\"Put\":{\"TableName\":\"a\"}},"
		  "{\"ConditionCheck\":{\"TableName\":\"b\"}}]}",
		  "TransactItems[0].Put.TableName=a;TransactItems[1].ConditionCheck.TableName=b;" },
		{ "DeleteBackup", "{\"BackupArn\":\"" ARN "users/backup/0148-b3\"}", "BackupArn=users;" },
		{ "GetResourcePolicy", "{\"ResourceArn\":\"" ARN "t.1/stream/2024\"}", "ResourceArn=t.1;" },
		{ "RestoreTableToPointInTime", "{\"TargetTableName\":\"a\",\"SourceTableArn\":\"" ARN "b\"}",
		  "TargetTableName=a;SourceTableArn=b;" },
		{ "RestoreTableFromBackup", "{\"TargetTableName\":\"a\",\"BackupArn\":\"" ARN "b/backup/1\"}",
		  "TargetTableName=a;BackupArn=b;" },
		{ "ImportTable", "{\"TableCreationParameters\":{\"TableName\":\"t\"}}",
		  "TableCreationParameters.TableName=t;" },
		{ "CreateGlobalTable", "{\"GlobalTableName\":\"g\",\"ReplicationGroup\":[]}",
		  "GlobalTableName=g;" },
		{ "ListTables", "{\"Limit\":3}", "" },
		{ "DescribeEndpoints", "{}", "" },
		{ "GetItem", "{\"TableName\":\"arn:aws-cn:dynamodb:cn-north-1:1:table/x\"}", "TableName=x;" },
	};
	char named[512], why[200];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(run(cases[i].op, cases[i].body, named, why), DDB_TABLES_OK);
		assert_string_equal(named, cases[i].named);
	}
}

static void test_refusals(void **state)
{
	static const struct {
		const char *op, *body, *why;
	} cases[] = {
		{ "GetItem", "[1]", "the request body is not a JSON object" },
		{ "GetItem", "{}", "TableName is missing" },
		{ "GetItem", "{\"TableName\":1}", "TableName is not a string" },
		{ "GetItem", "{\"TableName\":\"a\",\"tablename\":\"b\"}",
		  "the member \"tablename\" differs from TableName only in letter case" },
		{ "GetItem", "{\"TableName\":\"a\",\"TargetTableName\":\"b\"}",
		  "it has the member \"TargetTableName\", which names tables in other operations but "
		  "not in GetItem" },
		{ "ListTables", "{\"TableName\":\"b\"}",
		  "it has the member \"TableName\", which names tables in other operations but not in "
		  "ListTables" },
		{ "BatchGetItem", "{\"RequestItems\":[{}]}", "RequestItems is not a map of table names" },
		{ "BatchWriteItem", "{}", "RequestItems is missing" },
		{ "TransactGetItems", "{\"TransactItems\":{}}", "TransactItems is not a list" },
		{ "TransactGetItems", "{\"TransactItems\":[1]}",
		  "an entry of TransactItems is not an object with an action" },
		{ "TransactGetItems", "{\"TransactItems\":[{}]}",
		  "an entry of TransactItems is not an object with an action" },
		{ "TransactGetItems", "{\"TransactItems\":[{\"Get\":1}]}",
		  "TransactItems[0].Get is not an object" },
		{ "TransactWriteItems", "{\"TransactItems\":[{\"Put\":{\"TableName\":\"a\"}},{\"Put\":{}}]}",
		  "TransactItems[1].Put.TableName is missing" },
		{ "TransactWriteItems", "{\"TransactItems\":[{\"Put\":{\"TableName\":[]}}]}",
		  "TransactItems[0].Put.TableName is not a string" },
		{ "ImportTable", "{\"TableCreationParameters\":[]}", "TableCreationParameters is not an object" },
		{ "ImportTable", "{\"TableCreationParameters\":{}}", "TableCreationParameters.TableName is missing" },
		{ "ListBackups", "{}", "TableName is missing" },
		{ "RestoreTableToPointInTime", "{\"SourceTableName\":\"a\"}", "TargetTableName is missing" },
		{ "TagResource", "{\"ResourceArn\":\"arn:aws:s3:::table/x\"}",
		  "ResourceArn holds an ARN that is not a DynamoDB table's (or one of its resources')" },
		{ "TagResource", "{\"ResourceArn\":\"arn:aws:dynamodb:us-east-1:table/1:table/x\"}",
		  "ResourceArn holds an ARN that is not a DynamoDB table's (or one of its resources')" },
		{ "TagResource", "{\"ResourceArn\":\"arn:aws:dynamodb:us-east-1:1:global-table/x\"}",
		  "ResourceArn holds an ARN that is not a DynamoDB table's (or one of its resources')" },
		{ "TagResource", "{\"ResourceArn\":\"" ARN "\"}",
		  "ResourceArn holds an ARN that is not a DynamoDB table's (or one of its resources')" },
		{ "GetItem", "{\"TableName\":\"" ARN "a b\"}",
		  "TableName holds an ARN that is not a DynamoDB table's (or one of its resources')" },
	};
	char named[512], why[200];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum ddb_tables_result r = run(cases[i].op, cases[i].body, named, why);
		if (r != DDB_TABLES_UNREADABLE || strcmp(why, cases[i].why) != 0)
			fail_msg("case %zu (%s %s): %d \"%s\"", i, cases[i].op, cases[i].body, r, why);
	}
}

static void test_unknown_operations(void **state)
{
	static const char *const ops[] = { "ListGlobalTables", "DescribeStream", "", "getitem",
					   "ExecuteStatement", "BatchExecuteStatement",
					   "ExecuteTransaction" };
	char named[512], why[200];

	(void)state;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		assert_int_equal(run(ops[i], "{\"TableName\":\"a\"}", named, why), DDB_TABLES_UNKNOWN_OP);
}

static int stop_at_b(void *arg, const char *table, const char *member)
{
	(void)arg;
	(void)member;
	return strcmp(table, "b") == 0;
}

static void test_callback_stops(void **state)
{
	cJSON *doc = cJSON_Parse("{\"RequestItems\":{\"a\":{},\"b\":{},\"c\":{}}}");

	(void)state;
	assert_int_equal(ddb_request_tables("BatchGetItem", doc, stop_at_b, NULL, NULL, 0),
			 DDB_TABLES_STOPPED);
	cJSON_Delete(doc);
}

static void test_table_of(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(ddb_table_of("users", out, sizeof(out)), 0);
	assert_string_equal(out, "users");
	assert_int_equal(ddb_table_of(ARN "users/index/byEmail", out, sizeof(out)), 0);
	assert_string_equal(out, "users");
	assert_int_equal(ddb_table_of("arn:aws:dynamodb::123:table/g", out, sizeof(out)), 0);
	assert_string_equal(out, "g");
	assert_int_equal(ddb_table_of("a-name-longer-than-16", out, sizeof(out)), -1);
	assert_int_equal(ddb_table_of("arn:aws:dynamodb:us-east-1:123", out, sizeof(out)), -1);
	assert_int_equal(ddb_table_of("arn:AWS:dynamodb:us-east-1:1:table/x", out, sizeof(out)), -1);
	assert_int_equal(ddb_table_of("arn:aws:dynamodbx:us-east-1:1:table/x", out, sizeof(out)), -1);

	/* what follows the name is one of the table's resources, in its own characters */
	assert_int_equal(ddb_table_of(ARN "users/backup/01489602797149-73d8d5bc", out,
				      sizeof(out)), 0);
	assert_string_equal(out, "users");
	assert_int_equal(ddb_table_of(ARN "users/stream/2015-05-11T21:21:33.291", out,
				      sizeof(out)), 0);
	assert_int_equal(ddb_table_of(ARN "users/export/01695353076000-a1b2c3d4", out,
				      sizeof(out)), 0);
	assert_int_equal(ddb_table_of(ARN "users/import/0123456789abcdef", out, sizeof(out)), 0);
	assert_int_equal(ddb_table_of(ARN "users/", out, sizeof(out)), -1);
	assert_int_equal(ddb_table_of(ARN "users/backup/", out, sizeof(out)), -1);
	assert_int_equal(ddb_table_of(ARN "users/replica/x", out, sizeof(out)), -1);
	assert_int_equal(ddb_table_of(ARN "users/index/a:b", out, sizeof(out)), -1);
	/* a second ARN behind the first one's backup id is not read as the first table's */
	assert_int_equal(ddb_table_of(ARN "users/backup/01\xdd" "aws:dynamodb:us-east-1:1:table/other",
				      out, sizeof(out)), -1);
	assert_int_equal(ddb_table_of(ARN "users/backup/01:" ARN "other", out, sizeof(out)), -1);
	assert_int_equal(ddb_table_of(ARN "users/stream/2015:" ARN "other", out, sizeof(out)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_unknown_operations),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_table_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
