/*
 * DynamoDB's front door (proxy/front_door.c): the verdict on each kind of request it answers
 * before the signature, and on requests it lets through.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/front_door.h"

#define UNKNOWN_OP "com.amazon.coral.service#UnknownOperationException"

/* A request: method, Content-Type and X-Amz-Target (NULL: absent), Authorization or not. */
static struct http_msg *req_of(const char *method, const char *type, const char *target, int sign)
{
	struct http_msg *m = http_msg_new();

	assert_non_null(m);
	snprintf(m->method, sizeof(m->method), "%s", method);
	m->url = strdup("/");
	if (type != NULL)
		assert_int_equal(http_msg_add_header(m, "Content-Type", 12, type, strlen(type)), 0);
	if (target != NULL)
		assert_int_equal(http_msg_add_header(m, "X-Amz-Target", 12, target, strlen(target)), 0);
	if (sign)
		assert_int_equal(http_msg_add_header(m, "Authorization", 13, "AWS4-HMAC-SHA256 x", 18), 0);
	return m;
}

static enum front_answer verdict(const char *method, const char *type, const char *target, int sign,
				 const char *body, const char *want_type)
{
	struct http_msg *m = req_of(method, type, target, sign);
	struct ds_error err = { 0 };
	enum front_answer a = front_door_check(m, body, strlen(body), &err);

	if (a == FRONT_ERROR) {
		assert_int_equal(err.status, 400);
		assert_string_equal(err.type, want_type);
		assert_string_equal(err.message, "");     /* DynamoDB's carry no message */
	}
	http_msg_free(m);
	return a;
}

static void test_front_door(void **state)
{
	const char *lt = "DynamoDB_20120810.ListTables", *json = "application/x-amz-json-1.0";

	(void)state;
	assert_int_equal(verdict("GET", NULL, NULL, 0, "", NULL), FRONT_HEALTH);
	assert_int_equal(verdict("PUT", json, lt, 1, "{}", NULL), FRONT_NOT_FOUND);
	assert_int_equal(verdict("OPTIONS", NULL, NULL, 0, "", NULL), FRONT_NOT_FOUND);
	{
		/* A CORS preflight: any origin is allowed. */
		struct http_msg *m = req_of("OPTIONS", NULL, NULL, 0);
		struct ds_error err = { 0 };
		assert_int_equal(http_msg_add_header(m, "Origin", 6, "https://a", 9), 0);
		assert_int_equal(front_door_check(m, "", 0, &err), FRONT_CORS_PREFLIGHT);
		http_msg_free(m);
	}
	assert_int_equal(verdict("POST", NULL, lt, 1, "{}", NULL), FRONT_NOT_FOUND);
	assert_int_equal(verdict("POST", "application/x-amz-json-1.1", lt, 1, "{}", NULL), FRONT_NOT_FOUND);
	assert_int_equal(verdict("POST", "text/plain", lt, 1, "{}", NULL), FRONT_NOT_FOUND);
	/* Without a body the media type does not matter. */
	assert_int_equal(verdict("POST", NULL, lt, 1, "", NULL), FRONT_PASS);
	assert_int_equal(verdict("POST", "  Application/JSON ; charset=x", lt, 1, "{}", NULL), FRONT_PASS);
	assert_int_equal(verdict("POST", json, lt, 1, " \r\n{\"a\":1}", NULL), FRONT_PASS);
	assert_int_equal(verdict("POST", json, lt, 0, "hi", DS_ERR_SERIALIZATION), FRONT_ERROR);
	assert_int_equal(verdict("POST", json, lt, 1, "[1]", DS_ERR_SERIALIZATION), FRONT_ERROR);
	assert_int_equal(verdict("POST", json, lt, 1, "   ", DS_ERR_SERIALIZATION), FRONT_ERROR);
	/* A body cJSON cannot read but DynamoDB can goes on (refused later as unreadable). */
	assert_int_equal(verdict("POST", json, lt, 1, "{\"x\":\"\\ud800\"}", NULL), FRONT_PASS);
	assert_int_equal(verdict("POST", json, NULL, 1, "{}", UNKNOWN_OP), FRONT_ERROR);
	assert_int_equal(verdict("POST", json, "whatever", 1, "{}", UNKNOWN_OP), FRONT_ERROR);
	assert_int_equal(verdict("POST", json, "DynamoDB_20120810.", 1, "{}", UNKNOWN_OP), FRONT_ERROR);
	assert_int_equal(verdict("POST", json, "DynamoDB_20120810.a.b", 1, "{}", UNKNOWN_OP), FRONT_ERROR);
	assert_int_equal(verdict("POST", json, "DynamoDB_20990101.ListTables", 1, "{}", UNKNOWN_OP), FRONT_ERROR);
	assert_int_equal(verdict("POST", json, "DynamoDB_20111205.ListTables", 0, "{}", NULL), FRONT_PASS);
	/* An operation this list does not know: unsigned, unknown; signed, DynamoDB's to judge. */
	assert_int_equal(verdict("POST", json, "DynamoDB_20120810.ListTable", 0, "{}", UNKNOWN_OP), FRONT_ERROR);
	assert_int_equal(verdict("POST", json, "DynamoDB_20120810.SomeNewOperation", 1, "{}", NULL), FRONT_PASS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_front_door),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
