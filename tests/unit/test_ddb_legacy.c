/*
 * Legacy conditional parameters written as condition expressions (proxy/ddb/ddb_legacy.c):
 * the expression each operator and Expected form becomes, and each refusal in DynamoDB's words.
 * tests/diff/test_legacy.py evaluates the translations against moto's and dynalite's own
 * handling of the legacy parameters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/ddb/ddb_legacy.h"

/* The expression for the legacy map json, or "ERR <message>". */
static const char *translate(enum ddb_legacy_kind kind, const char *json, const char *op)
{
	static char out[1024];
	cJSON *conds = cJSON_Parse(json), *names = NULL, *values = NULL;
	struct ds_error err = { 0 };
	char *expr = NULL;

	assert_non_null(conds);
	if (ddb_legacy_condition(kind, conds, op, &names, &values, &expr, &err) == 0)
		snprintf(out, sizeof(out), "%s", expr);
	else
		snprintf(out, sizeof(out), "ERR %s", err.message);
	free(expr);
	cJSON_Delete(names);
	cJSON_Delete(values);
	cJSON_Delete(conds);
	return out;
}

#define F(json, want) assert_string_equal(translate(DDB_LEGACY_FILTER, json, NULL), want)
#define E(json, want) assert_string_equal(translate(DDB_LEGACY_EXPECTED, json, NULL), want)

static void test_operators(void **state)
{
	(void)state;
	F("{\"a\":{\"ComparisonOperator\":\"EQ\",\"AttributeValueList\":[{\"S\":\"x\"}]}}", "#lg0 = :lg0");
	F("{\"a\":{\"ComparisonOperator\":\"NE\",\"AttributeValueList\":[{\"N\":\"1\"}]}}", "#lg0 <> :lg0");
	F("{\"a\":{\"ComparisonOperator\":\"GE\",\"AttributeValueList\":[{\"N\":\"1\"}]}}", "#lg0 >= :lg0");
	F("{\"a\":{\"ComparisonOperator\":\"NOT_NULL\"}}", "attribute_exists(#lg0)");
	F("{\"a\":{\"ComparisonOperator\":\"NULL\"}}", "attribute_not_exists(#lg0)");
	F("{\"a\":{\"ComparisonOperator\":\"CONTAINS\",\"AttributeValueList\":[{\"S\":\"x\"}]}}",
	  "contains(#lg0, :lg0)");
	F("{\"a\":{\"ComparisonOperator\":\"NOT_CONTAINS\",\"AttributeValueList\":[{\"S\":\"x\"}]}}",
	  "NOT contains(#lg0, :lg0)");
	F("{\"a\":{\"ComparisonOperator\":\"BEGINS_WITH\",\"AttributeValueList\":[{\"B\":\"AA==\"}]}}",
	  "begins_with(#lg0, :lg0)");
	F("{\"a\":{\"ComparisonOperator\":\"IN\",\"AttributeValueList\":[{\"N\":\"1\"},{\"N\":\"2\"}]}}",
	  "#lg0 IN (:lg0, :lg1)");
	F("{\"a\":{\"ComparisonOperator\":\"BETWEEN\",\"AttributeValueList\":[{\"N\":\"1\"},{\"N\":\"2\"}]},"
	  "\"b\":{\"ComparisonOperator\":\"NULL\"}}",
	  "#lg0 BETWEEN :lg0 AND :lg1 AND attribute_not_exists(#lg1)");
	assert_string_equal(translate(DDB_LEGACY_FILTER, "{\"a\":{\"ComparisonOperator\":\"NULL\"},"
				      "\"b\":{\"ComparisonOperator\":\"NOT_NULL\"}}", "OR"),
			    "attribute_not_exists(#lg0) OR attribute_exists(#lg1)");
	E("{\"a\":{\"Value\":{\"S\":\"x\"}}}", "#lg0 = :lg0");
	E("{\"a\":{\"Exists\":true,\"Value\":{\"S\":\"x\"}}}", "#lg0 = :lg0");
	E("{\"a\":{\"Exists\":false}}", "attribute_not_exists(#lg0)");
	E("{\"a\":{\"ComparisonOperator\":\"LT\",\"Value\":{\"N\":\"3\"}}}", "#lg0 < :lg0");
}

static void test_refused(void **state)
{
	(void)state;
	F("{\"a\":{\"ComparisonOperator\":\"EQ\"}}", "ERR One or more parameter values were invalid: "
	  "Invalid number of argument(s) for the EQ ComparisonOperator");
	F("{\"a\":{\"ComparisonOperator\":\"NULL\",\"AttributeValueList\":[{\"S\":\"x\"}]}}",
	  "ERR One or more parameter values were invalid: Invalid number of argument(s) for the NULL "
	  "ComparisonOperator");
	F("{\"a\":{\"ComparisonOperator\":\"IN\",\"AttributeValueList\":[{\"S\":\"x\"},{\"N\":\"1\"}]}}",
	  "ERR One or more parameter values were invalid: AttributeValues inside AttributeValueList "
	  "must be of same type");
	F("{\"a\":{\"ComparisonOperator\":\"BEGINS_WITH\",\"AttributeValueList\":[{\"N\":\"1\"}]}}",
	  "ERR One or more parameter values were invalid: ComparisonOperator BEGINS_WITH is not valid "
	  "for N AttributeValue type");
	F("{\"a\":{\"ComparisonOperator\":\"LT\",\"AttributeValueList\":[{\"SS\":[\"x\"]}]}}",
	  "ERR One or more parameter values were invalid: ComparisonOperator LT is not valid for SS "
	  "AttributeValue type");
	F("{\"a\":{\"ComparisonOperator\":\"BETWEEN\",\"AttributeValueList\":[{\"N\":\"5\"},{\"N\":\"1\"}]}}",
	  "ERR The BETWEEN condition was provided a range where the lower bound is greater than the "
	  "upper bound");
	E("{\"a\":{\"Exists\":true}}", "ERR One or more parameter values were invalid: Value must be "
	  "provided when Exists is true for Attribute: a");
	E("{\"a\":{}}", "ERR One or more parameter values were invalid: Value must be provided when "
	  "Exists is null for Attribute: a");
	E("{\"a\":{\"Exists\":false,\"Value\":{\"S\":\"x\"}}}", "ERR One or more parameter values were "
	  "invalid: Value cannot be used when Exists is false for Attribute: a");
	E("{\"a\":{\"Exists\":true,\"ComparisonOperator\":\"EQ\",\"Value\":{\"S\":\"x\"}}}", "ERR One or "
	  "more parameter values were invalid: Exists and ComparisonOperator cannot be used together "
	  "for Attribute: a");
	E("{\"a\":{\"Value\":{\"S\":\"x\"},\"AttributeValueList\":[]}}", "ERR One or more parameter "
	  "values were invalid: Value and AttributeValueList cannot be used together for Attribute: a");
	E("{\"a\":{\"ComparisonOperator\":\"GT\"}}", "ERR One or more parameter values were invalid: "
	  "Value or AttributeValueList must be used with ComparisonOperator: GT for Attribute: a");
	assert_string_equal(translate(DDB_LEGACY_FILTER, "{\"a\":{\"ComparisonOperator\":\"NULL\"}}",
				      "XOR"), "ERR 1 validation error detected: Value 'XOR' at "
			    "'conditionalOperator' failed to satisfy constraint: Member must satisfy enum "
			    "value set: [OR, AND]");
}

/* Placeholders go on from the largest #lgN and :lgN the request holds already; an IN takes
 * any number of values. */
static void test_placeholders(void **state)
{
	cJSON *conds = cJSON_Parse("{\"a\":{\"ComparisonOperator\":\"EQ\","
				   "\"AttributeValueList\":[{\"S\":\"x\"}]}}");
	cJSON *names = cJSON_Parse("{\"#lg7\":\"b\",\"#lgx\":\"c\",\"#lg2\":\"d\"}");
	cJSON *values = cJSON_Parse("{\":lg3\":{\"N\":\"1\"},\":lg99999999999\":{\"N\":\"1\"}}");
	struct ds_error err = { 0 };
	char *expr = NULL, *in;
	size_t n = 0;

	(void)state;
	assert_int_equal(ddb_legacy_free_placeholder(NULL, ":lg"), 0);
	assert_int_equal(ddb_legacy_free_placeholder(names, "#lg"), 8);
	assert_int_equal(ddb_legacy_condition(DDB_LEGACY_FILTER, conds, NULL, &names, &values, &expr,
					      &err), 0);
	assert_string_equal(expr, "#lg8 = :lg4");
	assert_string_equal(cJSON_GetObjectItem(names, "#lg8")->valuestring, "a");
	assert_non_null(cJSON_GetObjectItem(values, ":lg4"));
	free(expr);
	cJSON_Delete(conds);
	cJSON_Delete(names);
	cJSON_Delete(values);
	/* 27,500 values (DynamoDB takes them; dynalite's suite sends that many) */
	in = malloc(27500 * 12 + 100);
	assert_non_null(in);
	n += (size_t)sprintf(in, "{\"a\":{\"ComparisonOperator\":\"IN\",\"AttributeValueList\":[");
	for (int i = 0; i < 27500; i++)
		n += (size_t)sprintf(in + n, "%s{\"S\":\"a\"}", i ? "," : "");
	strcpy(in + n, "]}}");
	assert_int_equal(strncmp(translate(DDB_LEGACY_FILTER, in, NULL), "#lg0 IN (:lg0, :lg1, ", 21), 0);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_operators),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_placeholders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
