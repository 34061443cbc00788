/*
 * The HTTP parser when memory runs out (proxy/net/http.c): every allocation of a request's
 * parse is made to fail in turn (malloc, calloc and realloc are wrapped at link time; see the
 * Makefile), and each failure must end in HTTP_PARSE_ERROR with http_parser_out_of_memory()
 * true, so that the connection answers 500 InternalServerError, which SDKs retry, rather than
 * 400 for a malformed request.  No failure may crash or leak (ASan in CI).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/net/http.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);

static long countdown = -1;   /* allocations left before one fails; -1 never */
static long made;             /* allocations made while counting */

static int fail_now(void)
{
	if (countdown < 0)
		return 0;
	made++;
	return countdown-- == 0;
}

void *__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
	return fail_now() ? NULL : __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __real_realloc(p, n);
}

static const char request[] =
	"POST / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\n"
	"Content-Type: application/x-amz-json-1.0\r\nX-Amz-Date: 20260101T000000Z\r\n"
	"Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, "
	"SignedHeaders=host;x-amz-date;x-amz-target, Signature=00\r\nContent-Length: 27\r\n\r\n"
	"{\"TableName\":\"users\",\"x\":1}";

/* Parses the request with the n-th allocation failing (n < 0: none); the result. */
static enum http_parse_result parse_failing(long n, int *oom)
{
	struct http_parser p;
	enum http_parse_result r;
	size_t off = 0, used;

	http_parser_init(&p, HTTP_REQUEST, 16384, 1 << 20);
	countdown = n;
	made = 0;
	do {
		r = http_parser_feed(&p, request + off, sizeof(request) - 1 - off, &used);
		off += used;
	} while ((r == HTTP_PARSE_HEADERS || r == HTTP_PARSE_MORE) && off < sizeof(request) - 1);
	countdown = -1;
	*oom = http_parser_out_of_memory(&p);
	if (r == HTTP_PARSE_DONE)
		http_msg_free(http_parser_take(&p));
	http_parser_cleanup(&p);
	return r;
}

static void test_each_allocation_fails(void **state)
{
	int oom;
	long total;

	(void)state;
	assert_int_equal(parse_failing(-1, &oom), HTTP_PARSE_DONE);
	assert_int_equal(oom, 0);
	/* count the allocations of a whole parse, then fail each in turn */
	countdown = 1L << 30;
	made = 0;
	assert_int_equal(parse_failing(1L << 30, &oom), HTTP_PARSE_DONE);
	total = made;
	assert_true(total > 0);
	for (long i = 0; i < total; i++) {
		enum http_parse_result r = parse_failing(i, &oom);

		assert_int_equal(r, HTTP_PARSE_ERROR);
		assert_int_equal(oom, 1);
	}
}

static void test_malformed_is_not_oom(void **state)
{
	struct http_parser p;
	size_t used;

	(void)state;
	http_parser_init(&p, HTTP_REQUEST, 16384, 1 << 20);
	assert_int_equal(http_parser_feed(&p, "BREW / HTCPCP/1.0\r\n\r\n", 21, &used), HTTP_PARSE_ERROR);
	assert_int_equal(http_parser_out_of_memory(&p), 0);
	http_parser_cleanup(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_allocation_fails),
		cmocka_unit_test(test_malformed_is_not_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
