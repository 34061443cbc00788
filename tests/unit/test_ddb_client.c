/*
 * crypto/aws/ddb_client.c: DynamoDB's error answers to dynaseal's own calls, mapped to what
 * callers act on (a retry, a permission to grant, the request's fault).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/aws/ddb_client.h"

static void map(int status, const char *body, char *type, struct ds_error *err)
{
	memset(err, 0, sizeof(*err));
	ddb_client_map_error("DescribeTable", status, body, strlen(body), type, 96, err);
}

static void test_map_error(void **state)
{
	char type[96];
	struct ds_error err;

	(void)state;
	map(400, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\","
	    "\"message\":\"Requested resource not found\"}", type, &err);
	assert_string_equal(type, "ResourceNotFoundException");
	assert_string_equal(err.type, DS_ERR_VALIDATION);
	assert_string_equal(err.message, "DynamoDB DescribeTable failed: ResourceNotFoundException: "
			    "Requested resource not found");
	map(400, "{\"__type\":\"com.amazon.coral.service#AccessDeniedException\",\"Message\":\"no\"}",
	    type, &err);
	assert_string_equal(err.type, DS_ERR_ACCESS_DENIED);
	assert_string_equal(err.message, "dynaseal's credentials may not call dynamodb:DescribeTable "
			    "(AccessDeniedException: no)");
	/* An IAM refusal answered in XML, before DynamoDB's JSON */
	map(403, "<ErrorResponse><Errors><Error><Code>AccessDenied</Code></Error></Errors></ErrorResponse>",
	    type, &err);
	assert_string_equal(type, "");
	assert_int_equal(err.status, 400);
	assert_string_equal(err.type, DS_ERR_ACCESS_DENIED);
	assert_string_equal(err.message, "dynaseal's credentials may not call dynamodb:DescribeTable "
			    "(HTTP 403)");
	map(500, "oops", type, &err);
	assert_int_equal(err.status, 503);
	map(400, "{\"__type\":\"x#ThrottlingException\"}", type, &err);
	assert_int_equal(err.status, 503);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
