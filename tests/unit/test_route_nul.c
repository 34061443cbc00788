/*
 * Strings holding U+0000 through a configured table (proxy/route*.c with the stand-in of
 * proxy/base/json_nul.h), with the network stood in for by tests/harness/route_stubs.h: what
 * goes upstream carries \u0000 where the application sent it (keys, signed and unsigned
 * values, sets, condition values) and never the raw stand-in nor the plaintext of an encrypted
 * value; what comes back decrypts to the very item written; a raw byte 0xFF is refused on a
 * configured table and forwarded untouched on another.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proxy/base/json.h"
#include "tests/harness/route_stubs.h"

#define ITEM "{\"pk\":{\"S\":\"p\\u0000\"},\"sk\":{\"S\":\"\\u0000s\"}," \
	     "\"secret\":{\"S\":\"x\\u0000y-hidden\"},\"note\":{\"S\":\"n\\u0000\"}," \
	     "\"free\":{\"SS\":[\"\\u0000\",\"a\\u0000\"]},\"m\\u0000\":{\"S\":\"u\"}}"
#define KEY "{\"pk\":{\"S\":\"p\\u0000\"},\"sk\":{\"S\":\"\\u0000s\"}}"

/* Answers the call in flight with 200 and body. */
static void answer(const char *body)
{
	harness_answer(200, body, strlen(body));
}

/* Sends body as op; it must go upstream.  Returns the request (finish() it). */
static struct http_msg *send_one(struct txn *t, const char *op, const char *body)
{
	struct http_msg *req = start(t, op, (const uint8_t *)body, strlen(body));

	assert_int_equal(route_request(t), 1);
	if (failed)
		fail_msg("%s refused: %s", op, last_error);
	assert_int_equal(sent, 1);
	/* JSON text for DynamoDB: NUL as its escape, never the stand-in. */
	assert_null(memchr(sent_body, 0xFF, strlen(sent_body)));
	return req;
}

static void test_put_then_get(void **state)
{
	const char *put = "{\"TableName\":\"users\",\"Item\":" ITEM ","
			  "\"ConditionExpression\":\"attribute_not_exists(pk) OR note <> :n\","
			  "\"ExpressionAttributeValues\":{\":n\":{\"S\":\"n\\u0000\"}}}";
	const char *get = "{\"TableName\":\"users\",\"Key\":" KEY "}";
	struct http_msg *req;
	struct txn t;
	cJSON *sent_doc, *stored, *want, *got;
	char *text, *reply;
	size_t n;

	(void)state;
	req = send_one(&t, "PutItem", put);
	assert_non_null(strstr(sent_body, "\"pk\":{\"S\":\"p\\u0000\"}"));
	assert_non_null(strstr(sent_body, "\"sk\":{\"S\":\"\\u0000s\"}"));
	assert_non_null(strstr(sent_body, "\"note\":{\"S\":\"n\\u0000\"}"));
	assert_non_null(strstr(sent_body, "\"free\":{\"SS\":[\"\\u0000\",\"a\\u0000\"]}"));
	assert_non_null(strstr(sent_body, "\"m\\u0000\":{\"S\":\"u\"}"));
	assert_non_null(strstr(sent_body, "\":n\":{\"S\":\"n\\u0000\"}"));
	assert_null(strstr(sent_body, "y-hidden"));
	assert_non_null(strstr(sent_body, "aws_dbe_foot"));
	sent_doc = json_parse(sent_body, strlen(sent_body), NULL);
	assert_non_null(sent_doc);
	stored = cJSON_DetachItemFromObjectCaseSensitive(sent_doc, "Item");
	assert_non_null(stored);
	cJSON_Delete(sent_doc);
	answer("{}");
	assert_int_equal(responded, 1);
	finish(&t, req);

	/* The stored item, read back: verified and decrypted to the very item written. */
	req = send_one(&t, "GetItem", get);
	assert_non_null(strstr(sent_body, "\"Key\":" KEY));
	text = json_print(stored, NULL);
	reply = malloc(strlen(text) + 16);
	n = (size_t)sprintf(reply, "{\"Item\":%s}", text);
	(void)n;
	answer(reply);
	if (failed)
		fail_msg("GetItem refused: %s", last_error);
	assert_int_equal(responded, 1);
	assert_null(memchr(replied, 0xFF, replied_len));
	got = json_parse(replied, replied_len, NULL);
	want = json_parse(ITEM, strlen(ITEM), NULL);
	assert_non_null(got);
	assert_non_null(want);
	if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(got, "Item"), want, 1))
		fail_msg("read back %s", replied);
	assert_non_null(strstr(replied, "\"secret\":{\"S\":\"x\\u0000y-hidden\"}"));
	cJSON_Delete(got);
	cJSON_Delete(want);
	cJSON_free(text);
	free(reply);
	cJSON_Delete(stored);
	finish(&t, req);
}

static void test_not_utf8(void **state)
{
	const char *plain = "{\"TableName\":\"other\",\"Item\":{\"pk\":{\"S\":\"\xff\"}}}";
	const char *ours = "{\"TableName\":\"users\",\"Item\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"},"
			   "\"note\":{\"S\":\"\xfe\"}}}";
	struct http_msg *req;
	struct txn t;

	(void)state;
	/* Another table's request goes out as it came: not dynaseal's to judge. */
	req = start(&t, "PutItem", (const uint8_t *)plain, strlen(plain));
	assert_int_equal(route_request(&t), 0);
	finish(&t, req);
	req = start(&t, "PutItem", (const uint8_t *)ours, strlen(ours));
	assert_int_equal(route_request(&t), 1);
	assert_int_equal(failed, 1);
	assert_int_equal(sent, 0);
	assert_string_equal(last_type, DS_ERR_SERIALIZATION);
	finish(&t, req);
}

/* The harness's table, with unsigned attributes named "m..." allowed (an attribute name
 * holding NUL among them). */
static int group_setup(void **state)
{
	(void)state;
	setup();
	cfg->tables[0].allowed_unsigned_prefix = strdup("m");
	return cfg->tables[0].allowed_unsigned_prefix == NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_then_get),
		cmocka_unit_test(test_not_utf8),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
