/*
 * proxy/table_schema.c: a table's keys and its indexes' keys read from DescribeTable's answer,
 * in the order DynamoDB checks writes against them; descriptions it cannot use (a table being
 * created or deleted, a key without a type) give no schema; a key DynamoDB would refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/table_schema.h"

/* dynalite's __dynalite_test_3 as DescribeTable answers it (local indexes listed first, as
 * JSON has them: the global ones still come first in the checks). */
static const char described[] =
	"{\"TableName\":\"t\",\"TableStatus\":\"ACTIVE\","
	"\"AttributeDefinitions\":[{\"AttributeName\":\"a\",\"AttributeType\":\"S\"},"
	"{\"AttributeName\":\"b\",\"AttributeType\":\"N\"},{\"AttributeName\":\"c\",\"AttributeType\":\"S\"},"
	"{\"AttributeName\":\"d\",\"AttributeType\":\"B\"}],"
	"\"KeySchema\":[{\"AttributeName\":\"b\",\"KeyType\":\"RANGE\"},{\"AttributeName\":\"a\",\"KeyType\":\"HASH\"}],"
	"\"LocalSecondaryIndexes\":[{\"IndexName\":\"index1\",\"KeySchema\":[{\"AttributeName\":\"a\",\"KeyType\":\"HASH\"},"
	"{\"AttributeName\":\"c\",\"KeyType\":\"RANGE\"}]},{\"IndexName\":\"index2\",\"KeySchema\":["
	"{\"AttributeName\":\"a\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"d\",\"KeyType\":\"RANGE\"}]}],"
	"\"GlobalSecondaryIndexes\":[{\"IndexName\":\"index3\",\"IndexStatus\":\"ACTIVE\",\"KeySchema\":["
	"{\"AttributeName\":\"c\",\"KeyType\":\"HASH\"}]},{\"IndexName\":\"index4\",\"IndexStatus\":\"CREATING\","
	"\"KeySchema\":[{\"AttributeName\":\"c\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"d\",\"KeyType\":\"RANGE\"}]}]}";

static struct table_schema *from(const char *json, struct ds_error *err)
{
	cJSON *doc = cJSON_Parse(json);
	struct table_schema *s = table_schema_from_description(doc, err);

	cJSON_Delete(doc);
	return s;
}

static void test_described(void **state)
{
	struct ds_error err = { 0 };
	struct table_schema *s = from(described, &err);
	static const char *const order[][2] = {
		{ "c", "index3" }, { "c", "index4" }, { "d", "index4" }, { "c", "index1" }, { "d", "index2" },
	};
	cJSON *doc = cJSON_Parse(described);

	(void)state;
	assert_non_null(s);
	assert_string_equal(s->keys[0], "a");
	assert_string_equal(s->keys[1], "b");
	assert_int_equal(s->key_types[1], DDB_T_N);
	assert_int_equal(s->indexes_len, 4);
	assert_int_equal(s->index_keys_len, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(s->index_keys[i].attr, order[i][0]);
		assert_string_equal(s->index_keys[i].index, order[i][1]);
	}
	assert_int_equal(s->index_keys[2].type, DDB_T_B);
	assert_non_null(table_schema_index(s, "index2"));
	assert_string_equal(table_schema_index(s, "index2")->keys[0], "a");
	assert_null(table_schema_index(s, "index9"));
	/* index4 is being created: the table is described again soon */
	assert_true(table_schema_changing(doc));
	cJSON_Delete(doc);
	table_schema_release(table_schema_hold(s));
	table_schema_release(s);
}

static void test_key_matches(void **state)
{
	struct ds_error err = { 0 };
	struct table_schema *s = from(described, &err);
	static const struct {
		const char *key;
		int ok;
	} keys[] = {
		{ "{\"a\":{\"S\":\"x\"},\"b\":{\"N\":\"1\"}}", 1 },
		{ "{\"a\":{\"S\":\"x\"}}", 0 },                                      /* no sort key */
		{ "{\"a\":{\"S\":\"x\"},\"b\":{\"S\":\"1\"}}", 0 },                  /* of another type */
		{ "{\"a\":{\"S\":\"\"},\"b\":{\"N\":\"1\"}}", 0 },                   /* an empty string */
		{ "{\"a\":{\"S\":\"x\"},\"b\":{\"N\":\"1\"},\"c\":{\"S\":\"y\"}}", 0 }, /* another attribute */
	};

	(void)state;
	assert_non_null(s);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		cJSON *k = cJSON_Parse(keys[i].key);
		assert_int_equal(table_schema_key_matches(s, k), keys[i].ok);
		cJSON_Delete(k);
	}
	table_schema_release(s);
}

static void test_unusable(void **state)
{
	struct ds_error err = { 0 };
	char text[sizeof(described) + 64];
	cJSON *doc;

	(void)state;
	/* Items of a table being created are refused as not found: no schema */
	snprintf(text, sizeof(text), "%s", described);
	memcpy(strstr(text, "\"ACTIVE\""), "\"DELETE\"", 8);
	assert_null(from(text, &err));
	assert_string_equal(err.message, "the table is DELETE");
	assert_null(from("{\"TableStatus\":\"UPDATING\",\"KeySchema\":[{\"AttributeName\":\"a\","
			 "\"KeyType\":\"HASH\"}]}", &err));                     /* no definition of a */
	assert_null(from("{\"TableStatus\":\"ACTIVE\",\"AttributeDefinitions\":[{\"AttributeName\":\"a\","
			 "\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"a\",\"KeyType\":\"HASH\"}],"
			 "\"GlobalSecondaryIndexes\":[{\"IndexName\":\"g\",\"KeySchema\":[{\"AttributeName\":\"z\","
			 "\"KeyType\":\"HASH\"}]}]}", &err));                       /* an index on no definition */
	assert_null(from("[]", &err));
	/* a plain table, ACTIVE, no index */
	doc = cJSON_Parse("{\"TableStatus\":\"ACTIVE\",\"AttributeDefinitions\":[{\"AttributeName\":\"a\","
			  "\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"a\",\"KeyType\":\"HASH\"}]}");
	{
		struct table_schema *s = table_schema_from_description(doc, &err);
		assert_non_null(s);
		assert_null(s->keys[1]);
		assert_int_equal(s->index_keys_len, 0);
		assert_false(table_schema_changing(doc));
		table_schema_release(s);
	}
	cJSON_Delete(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_described),
		cmocka_unit_test(test_key_matches),
		cmocka_unit_test(test_unusable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
