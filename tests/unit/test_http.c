/*
 * The HTTP message parser: requests in pieces, pipelining, chunked bodies, limits; and the
 * cheap DynamoDB request readers (operation, table name) and DynamoDB-shaped replies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <zlib.h>

#include "proxy/ddb/ddb.h"
#include "proxy/base/json.h"
#include "proxy/net/http.h"
#include "proxy/net/reply.h"

static const char put_req[] =
	"POST / HTTP/1.1\r\n"
	"Host: 127.0.0.1:8000\r\n"
	"X-Amz-Target: DynamoDB_20120810.PutItem\r\n"
	"Content-Type: application/x-amz-json-1.0\r\n"
	"Content-Length: 27\r\n"
	"\r\n"
	"{\"TableName\":\"users\",\"x\":1}";

static char *body_of(struct http_msg *m)
{
	size_t n = evbuffer_get_length(m->body);
	char *s = malloc(n + 1);
	evbuffer_copyout(m->body, s, n);
	s[n] = '\0';
	return s;
}

static void test_whole_request(void **state)
{
	struct http_parser p;
	size_t used;
	struct http_msg *m;
	char *b;

	(void)state;
	http_parser_init(&p, HTTP_REQUEST, 8192, 1 << 20);
	assert_int_equal(http_parser_feed(&p, put_req, strlen(put_req), &used), HTTP_PARSE_DONE);
	assert_int_equal(used, strlen(put_req));
	m = http_parser_take(&p);
	assert_non_null(m);
	assert_string_equal(m->method, "POST");
	assert_string_equal(m->url, "/");
	assert_true(m->keep_alive);
	assert_string_equal(http_msg_header(m, "x-amz-target")->value, "DynamoDB_20120810.PutItem");
	b = body_of(m);
	assert_string_equal(b, "{\"TableName\":\"users\",\"x\":1}");
	free(b);
	http_msg_free(m);
	http_parser_cleanup(&p);
}

/* One byte at a time, as a slow client's TCP segments would arrive. */
/* Many headers (past the inline array), one longer than a header block, headers split across
 * reads, and a second message on the same parser: each name and value exactly as sent. */
static void test_many_and_long_headers(void **state)
{
	struct http_parser p;
	char *req = malloc(64 * 1024), *big = malloc(5001);
	size_t n = 0, used;
	struct http_msg *m;

	(void)state;
	memset(big, 'v', 5000);
	big[5000] = '\0';
	n += (size_t)sprintf(req + n, "POST / HTTP/1.1\r\nHost: h\r\n");
	for (int i = 0; i < 40; i++)
		n += (size_t)sprintf(req + n, "X-H%02d:  value-%02d-%s \r\n", i, i, i == 20 ? big : "x");
	n += (size_t)sprintf(req + n, "Content-Length: 2\r\n\r\n{}");
	http_parser_init(&p, HTTP_REQUEST, 16384, 1 << 20);
	for (int round = 0; round < 2; round++) {
		/* Round 0 whole; round 1 seven bytes at a time (values and names span feeds). */
		size_t off = 0;
		enum http_parse_result r = HTTP_PARSE_MORE;
		while (off < n && r != HTTP_PARSE_DONE) {
			size_t chunk = round == 0 ? n : (n - off < 7 ? n - off : 7);
			r = http_parser_feed(&p, req + off, chunk, &used);
			off += used;
		}
		assert_int_equal(r, HTTP_PARSE_DONE);
		m = http_parser_take(&p);
		assert_non_null(m);
		assert_int_equal(m->headers_len, 42);
		for (int i = 0; i < 40; i++) {
			char name[8], want[5100];
			snprintf(name, sizeof(name), "x-h%02d", i);
			snprintf(want, sizeof(want), "value-%02d-%s", i, i == 20 ? big : "x");
			assert_non_null(http_msg_header(m, name));
			assert_string_equal(http_msg_header(m, name)->value, want);
			assert_int_equal(http_msg_header(m, name)->value_len, strlen(want));
		}
		assert_string_equal(m->headers[41].name, "Content-Length");
		http_msg_remove_header(m, "x-h20");
		assert_null(http_msg_header(m, "x-h20"));
		assert_string_equal(http_msg_header(m, "x-h21")->value, "value-21-x");
		assert_int_equal(m->headers_len, 41);
		http_msg_free(m);
	}
	/* Past the header limit: refused, and the parser's scratch is released by cleanup. */
	http_parser_cleanup(&p);
	http_parser_init(&p, HTTP_REQUEST, 4096, 1 << 20);
	assert_int_equal(http_parser_feed(&p, req, n, &used), HTTP_PARSE_TOO_LARGE_HEADER);
	http_parser_cleanup(&p);
	free(big);
	free(req);
}

static void test_byte_by_byte(void **state)
{
	struct http_parser p;
	size_t used;
	enum http_parse_result r = HTTP_PARSE_MORE;
	struct http_msg *m;

	(void)state;
	http_parser_init(&p, HTTP_REQUEST, 8192, 1 << 20);
	for (size_t i = 0; i < strlen(put_req); i++) {
		r = http_parser_feed(&p, put_req + i, 1, &used);
		assert_int_equal(used, 1);
		if (i + 1 < strlen(put_req))
			assert_true(r == HTTP_PARSE_MORE || r == HTTP_PARSE_HEADERS);
	}
	assert_int_equal(r, HTTP_PARSE_DONE);
	m = http_parser_take(&p);
	assert_int_equal(evbuffer_get_length(m->body), 27);
	http_msg_free(m);
	http_parser_cleanup(&p);
}

/* Two requests in one buffer: the parser stops after the first and keeps the second. */
static void test_pipelined(void **state)
{
	struct http_parser p;
	struct evbuffer *in = evbuffer_new();
	struct http_msg *m;

	(void)state;
	evbuffer_add(in, put_req, strlen(put_req));
	evbuffer_add(in, put_req, strlen(put_req));
	http_parser_init(&p, HTTP_REQUEST, 8192, 1 << 20);
	assert_int_equal(http_parser_feed_evbuffer(&p, in), HTTP_PARSE_DONE);
	assert_int_equal(evbuffer_get_length(in), strlen(put_req));
	http_msg_free(http_parser_take(&p));
	assert_int_equal(http_parser_feed_evbuffer(&p, in), HTTP_PARSE_DONE);
	assert_int_equal(evbuffer_get_length(in), 0);
	m = http_parser_take(&p);
	assert_non_null(m);
	http_msg_free(m);
	assert_false(http_parser_in_message(&p));
	http_parser_cleanup(&p);
	evbuffer_free(in);
}

static void test_chunked_and_expect(void **state)
{
	static const char req[] =
		"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
		"Transfer-Encoding: chunked\r\n\r\n"
		"5\r\n{\"a\":\r\n3\r\n12}\r\n0\r\n\r\n";
	struct http_parser p;
	size_t used;
	struct http_msg *m;
	char *b;
	size_t head = strstr(req, "\r\n\r\n") + 4 - req;

	(void)state;
	http_parser_init(&p, HTTP_REQUEST, 8192, 1 << 20);
	assert_int_equal(http_parser_feed(&p, req, head, &used), HTTP_PARSE_HEADERS);
	assert_true(p.msg->expect_continue);
	assert_int_equal(http_parser_feed(&p, req + head, strlen(req) - head, &used), HTTP_PARSE_DONE);
	m = http_parser_take(&p);
	assert_true(m->chunked);
	b = body_of(m);
	assert_string_equal(b, "{\"a\":12}");
	free(b);
	http_msg_free(m);
	http_parser_cleanup(&p);
}

static void test_limits(void **state)
{
	struct http_parser p;
	size_t used;
	char big[600];

	(void)state;
	/* The header block is over 256 bytes. */
	memset(big, 'a', sizeof(big));
	http_parser_init(&p, HTTP_REQUEST, 256, 1 << 20);
	assert_int_equal(http_parser_feed(&p, "POST / HTTP/1.1\r\nX-Big: ", 24, &used), HTTP_PARSE_MORE);
	assert_int_equal(http_parser_feed(&p, big, sizeof(big), &used), HTTP_PARSE_TOO_LARGE_HEADER);
	http_parser_cleanup(&p);
	/* Content-Length over the body limit is refused before any body byte. */
	http_parser_init(&p, HTTP_REQUEST, 8192, 10);
	assert_int_equal(http_parser_feed(&p, put_req, strlen(put_req), &used), HTTP_PARSE_TOO_LARGE_BODY);
	http_parser_cleanup(&p);
	/* A chunked body grows past the limit. */
	http_parser_init(&p, HTTP_REQUEST, 8192, 4);
	{
		static const char req[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
					  "5\r\nabcde\r\n0\r\n\r\n";
		assert_int_equal(http_parser_feed(&p, req, strlen(req), &used), HTTP_PARSE_TOO_LARGE_BODY);
	}
	http_parser_cleanup(&p);
}

static void test_garbage(void **state)
{
	struct http_parser p;
	size_t used;
	static const char junk[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n";

	(void)state;
	http_parser_init(&p, HTTP_REQUEST, 8192, 1 << 20);
	assert_int_equal(http_parser_feed(&p, junk, sizeof(junk) - 1, &used), HTTP_PARSE_ERROR);
	assert_non_null(http_parser_error(&p));
	assert_string_not_equal(http_parser_error(&p), "HPE_OK");
	http_parser_cleanup(&p);
}

static void test_response_until_eof(void **state)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello";
	struct http_parser p;
	size_t used;
	struct http_msg *m;

	(void)state;
	http_parser_init(&p, HTTP_RESPONSE, 8192, 1 << 20);
	assert_int_equal(http_parser_feed(&p, resp, strlen(resp), &used), HTTP_PARSE_HEADERS);
	assert_int_equal(http_parser_eof(&p), HTTP_PARSE_DONE);
	m = http_parser_take(&p);
	assert_int_equal(m->status, 200);
	assert_string_equal(m->reason, "OK");
	assert_int_equal(evbuffer_get_length(m->body), 5);
	http_msg_free(m);
	http_parser_cleanup(&p);
}

static void test_ddb_operation_and_table(void **state)
{
	char out[64];
	static const char body[] =
		"{\"Key\":{\"TableName\":{\"S\":\"decoy\"}},\"TableName\" : \"users-1.x\",\"N\":[\"TableName\"]}";

	(void)state;
	assert_int_equal(ddb_operation("DynamoDB_20120810.GetItem", out, sizeof(out)), 0);
	assert_string_equal(out, "GetItem");
	assert_int_equal(ddb_operation("TrentService.Decrypt", out, sizeof(out)), -1);
	assert_string_equal(out, "");
	assert_int_equal(ddb_operation("DynamoDB_20120810.Get Item", out, sizeof(out)), -1);
	/* Only the top-level key counts, not one nested in an item. */
	assert_int_equal(ddb_peek_table(body, strlen(body), out, sizeof(out)), 0);
	assert_string_equal(out, "users-1.x");
	assert_int_equal(ddb_peek_table("{\"Limit\":1}", 11, out, sizeof(out)), -1);
	/* A cut body never reads past its end. */
	assert_int_equal(ddb_peek_table("{\"TableName\":\"us", 16, out, sizeof(out)), -1);
}

static void expect_sole(const char *json, const char *table)
{
	char out[256];

	if (table == NULL) {
		assert_int_equal(ddb_sole_table(json, strlen(json), out, sizeof(out)), -1);
		assert_string_equal(out, "");
		return;
	}
	assert_int_equal(ddb_sole_table(json, strlen(json), out, sizeof(out)), 0);
	assert_string_equal(out, table);
}

/* ddb_sole_table answers only when every parser reads the same one table; anything else is
 * left to the full parse (which refuses keys twice and checks configured tables). */
static void test_ddb_sole_table(void **state)
{
	char out[256];

	(void)state;
	expect_sole("{\"TableName\":\"plain\",\"Key\":{\"pk\":{\"S\":\"a\"}}}", "plain");
	expect_sole(" {\"Key\":{\"TableName\":{\"S\":\"decoy\"}},\"TableName\" : \"users-1.x\","
		    "\"N\":[\"TableName\", {\"a\":[1,-2.5e3,true,false,null]}]} \n", "users-1.x");
	/* Braces and quotes inside strings are not structure. */
	expect_sole("{\"k\":\"}{][\\\"\",\"TableName\":\"plain\"}", "plain");
	/* The table named twice, or a key that could spell TableName through an escape. */
	expect_sole("{\"TableName\":\"plain\",\"TableName\":\"users\"}", NULL);
	expect_sole("{\"TableName\":\"plain\",\"Table\\u004eame\":\"users\"}", NULL);
	/* Names that are not plain: escaped, an ARN, too short, not a string. */
	expect_sole("{\"TableName\":\"user\\u0073\"}", NULL);
	expect_sole("{\"TableName\":\"arn:aws:dynamodb:us-east-1:1:table/users\"}", NULL);
	expect_sole("{\"TableName\":\"ab\"}", NULL);
	expect_sole("{\"TableName\":[\"users\"]}", NULL);
	expect_sole("{\"Limit\":1}", NULL);
	/* What lenient parsers might read otherwise: comments, single quotes, bare words. */
	expect_sole("{\"TableName\":\"plain\"/*,\"TableName\":\"users\"*/}", NULL);
	expect_sole("{\"TableName\":\"plain\",'TableName':'users'}", NULL);
	expect_sole("{\"TableName\":\"plain\",TableName:\"users\"}", NULL);
	/* Not one balanced object. */
	expect_sole("[{\"TableName\":\"plain\"}]", NULL);
	expect_sole("{\"TableName\":\"plain\"]", NULL);
	expect_sole("{\"TableName\":\"plain\",\"a\":[}", NULL);
	expect_sole("{\"TableName\":\"plain\"}{\"TableName\":\"users\"}", NULL);
	expect_sole("{\"TableName\":\"plain\"", NULL);
	expect_sole("{\"TableName\":\"plain\",\"a\":\"x\\", NULL);
	expect_sole("", NULL);
	/* A cut body never reads past its end. */
	assert_int_equal(ddb_sole_table("{\"TableName\":\"plain\"}", 20, out, sizeof(out)), -1);
	assert_int_equal(ddb_sole_table("{\"TableName\":\"plain\"}", 19, out, sizeof(out)), -1);
	/* Nesting deeper than 64 is left to the parser. */
	{
		char deep[200];
		size_t n = 0;

		n += (size_t)snprintf(deep, sizeof(deep), "{\"TableName\":\"plain\",\"a\":");
		for (int d = 0; d < 64; d++)
			deep[n++] = '[';
		for (int d = 0; d < 64; d++)
			deep[n++] = ']';
		deep[n++] = '}';
		assert_int_equal(ddb_sole_table(deep, n, out, sizeof(out)), -1);
		assert_int_equal(ddb_sole_table(deep + 0, n, out, 10), -1);
	}
}

static void expect_duplicate(const char *json, const char *key)
{
	cJSON *doc = cJSON_Parse(json);
	const char *dup;

	assert_non_null(doc);
	dup = json_duplicate_key(doc);
	if (key == NULL)
		assert_null(dup);
	else if (dup == NULL || strcmp(dup, key) != 0)
		fail_msg("%s: expected duplicate \"%s\", got %s", json, key, dup ? dup : "none");
	cJSON_Delete(doc);
}

/* What cJSON and DynamoDB would read differently is found wherever it is. */
static void test_json_ambiguity(void **state)
{
	char big[2048];
	size_t n = 0;

	(void)state;
	expect_duplicate("{\"TableName\":\"plain\",\"Item\":{},\"TableName\":\"users\"}", "TableName");
	expect_duplicate("{\"TableName\":\"t\",\"Item\":{\"ssn\":{\"S\":\"a\"},\"ssn\":{\"S\":\"b\"}}}", "ssn");
	expect_duplicate("{\"TransactItems\":[{\"Put\":{\"Item\":{\"m\":{\"M\":{\"x\":{},\"x\":{}}}}}}]}", "x");
	/* An escaped name that decodes to another spelling of the same key. */
	expect_duplicate("{\"TableName\":\"a\",\"\\u0054ableName\":\"b\"}", "TableName");
	expect_duplicate("{\"a\":1,\"A\":2,\"b\":{\"a\":1},\"c\":[{\"a\":1},{\"a\":2}]}", NULL);
	/* A large object (sorted, not compared pairwise), duplicate at its far ends. */
	n += (size_t)snprintf(big + n, sizeof(big) - n, "{\"dup\":0");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, ",\"k%d\":%d", i, i);
	snprintf(big + n, sizeof(big) - n, ",\"dup\":1}");
	expect_duplicate(big, "dup");
	big[n] = '}';
	big[n + 1] = '\0';
	expect_duplicate(big, NULL);
}

static void test_reply_error_shape(void **state)
{
	struct evbuffer *out = evbuffer_new();
	struct ds_error err;
	char *text;
	size_t n;
	const char *body;

	(void)state;
	ds_error_set(&err, 400, DS_ERR_VALIDATION, "attribute \"ssn\" is \\ bad\n");
	reply_error(out, &err, 1, "REQ1", NULL);
	n = evbuffer_get_length(out);
	text = malloc(n + 1);
	evbuffer_copyout(out, text, n);
	text[n] = '\0';
	assert_non_null(strstr(text, "HTTP/1.1 400 Bad Request\r\n"));
	assert_non_null(strstr(text, "x-amzn-RequestId: REQ1\r\n"));
	body = strstr(text, "\r\n\r\n") + 4;
	assert_string_equal(body, "{\"__type\":\"com.amazon.coral.validate#ValidationException\","
			    "\"message\":\"attribute \\\"ssn\\\" is \\\\ bad\\u000a\"}");
	{
		char want[64];
		snprintf(want, sizeof(want), "x-amz-crc32: %lu\r\n",
			 crc32(0, (const unsigned char *)body, (unsigned)strlen(body)));
		assert_non_null(strstr(text, want));
	}
	free(text);
	evbuffer_free(out);
}

/* The head writer stops at its end: nothing past it is written, and the failure sticks. */
static void test_head_writer_bounded(void **state)
{
	char buf[16];
	struct http_head_writer w;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	http_head_writer_init(&w, buf, 10);
	HTTP_HEAD_PUT_LIT(&w, "HTTP/1.1 ");
	http_head_put_uint(&w, 7);
	assert_false(w.failed);
	assert_memory_equal(buf, "HTTP/1.1 7", 10);
	http_head_put(&w, "!", 1);                  /* one byte past the end */
	assert_true(w.failed);
	assert_int_equal(w.p - buf, 10);
	assert_memory_equal(buf + 10, "xxxxxx", 6);
	http_head_writer_init(&w, buf, 4);
	http_head_put_uint(&w, 123456);              /* wider than the space: nothing written */
	assert_true(w.failed);
	assert_int_equal(w.p - buf, 0);
	http_head_put(&w, "ab", 2);                  /* later writes that would fit are ignored */
	assert_int_equal(w.p - buf, 0);
	assert_memory_equal(buf, "HTTP", 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_request),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_many_and_long_headers),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_chunked_and_expect),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_response_until_eof),
		cmocka_unit_test(test_ddb_operation_and_table),
		cmocka_unit_test(test_ddb_sole_table),
		cmocka_unit_test(test_json_ambiguity),
		cmocka_unit_test(test_reply_error_shape),
		cmocka_unit_test(test_head_writer_bounded),
	};
	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
