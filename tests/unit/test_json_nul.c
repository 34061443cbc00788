/*
 * Strings holding U+0000 in cJSON trees (proxy/base/json_nul.h) and the JSON reader and writer
 * that carry them (json_parse, json_print, json_escape): escapes at the edges of a buffer, an
 * escaped backslash before "u0000" left alone, the round trip text -> tree -> text, raw 0xFE
 * and 0xFF reported, the real bytes of a tree string and back, and DynamoDB's order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <event2/buffer.h>

#include "proxy/base/json.h"
#include "proxy/base/json_nul.h"

/* json_nul_unescape of text[0..len) is want[0..wn), and json_nul_scan counts escapes. */
static void expect_unescape(const char *text, size_t len, const char *want, size_t wn,
			    size_t escapes)
{
	char *out = malloc(len + 1);
	struct json_nul_scan scan;
	size_t n;

	assert_non_null(out);
	n = json_nul_unescape(text, len, out);
	assert_int_equal(n, wn);
	if (wn)
		assert_memory_equal(out, want, wn);
	json_nul_scan(text, len, &scan);
	assert_int_equal(scan.escapes, escapes);
	assert_int_equal(scan.not_utf8, 0);
	free(out);
}

static void test_unescape_edges(void **state)
{
	(void)state;
	expect_unescape("\\u0000", 6, "\xff", 1, 1);                    /* the whole buffer */
	expect_unescape("\\u0000ab", 8, "\xff" "ab", 3, 1);             /* at its start */
	expect_unescape("ab\\u0000", 8, "ab\xff", 3, 1);                /* at its end */
	expect_unescape("\\u0000\\u0000", 12, "\xff\xff", 2, 2);         /* two in a row */
	expect_unescape("a\\u000", 6, "a\\u000", 6, 0);                 /* cut short */
	expect_unescape("a\\u0000b", 6, "a\\u000", 6, 0);               /* cut by len, not NUL */
	expect_unescape("a\\", 2, "a\\", 2, 0);                         /* a lone last backslash */
	expect_unescape("", 0, "", 0, 0);
	/* An escaped backslash, then the text "u0000": no escape. */
	expect_unescape("\\\\u0000", 7, "\\\\u0000", 7, 0);
	/* Three backslashes: an escaped one, then a real escape. */
	expect_unescape("\\\\\\u0000", 8, "\\\\\xff", 3, 1);
	/* Other escapes stay for cJSON, whatever they hold. */
	expect_unescape("\\u0001\\u00000\\n", 15, "\\u0001\xff" "0\\n", 10, 1);
	expect_unescape("\\U0000", 6, "\\U0000", 6, 0);                 /* JSON's u is lower case */
}

static void test_scan_not_utf8(void **state)
{
	struct json_nul_scan scan;

	(void)state;
	json_nul_scan("{\"S\":\"a\xff\"}", 10, &scan);
	assert_int_equal(scan.not_utf8, 1);
	json_nul_scan("{\"S\":\"a\xfe\"}", 10, &scan);
	assert_int_equal(scan.not_utf8, 1);
	json_nul_scan("{\"S\":\"\\\xff\"}", 10, &scan);                /* escaped: still there */
	assert_int_equal(scan.not_utf8, 1);
	json_nul_scan("{\"S\":\"\xc3\xbf\xf4\x8f\xbf\xbf\"}", 14, &scan); /* U+00FF, U+10FFFF */
	assert_int_equal(scan.not_utf8, 0);
}

/* text parses to a tree whose S value is want[0..wn), and prints back as printed. */
static void expect_round_trip(const char *text, const char *want, size_t wn, const char *printed)
{
	struct json_read rd;
	cJSON *doc = json_parse(text, strlen(text), &rd);
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, "S");
	size_t n = 0;
	char *out;

	assert_non_null(doc);
	assert_int_equal(rd.not_utf8, 0);
	assert_int_equal(rd.trailing, 0);
	assert_true(cJSON_IsString(s));
	assert_int_equal(strlen(s->valuestring), wn);
	assert_memory_equal(s->valuestring, want, wn);
	out = json_print(doc, &n);
	assert_non_null(out);
	assert_string_equal(out, printed);
	assert_int_equal(n, strlen(printed));
	cJSON_free(out);
	cJSON_Delete(doc);
}

static void test_parse_print(void **state)
{
	struct json_read rd;
	cJSON *doc;
	char *out;

	(void)state;
	expect_round_trip("{\"S\":\"a\\u0000b\"}", "a\xff" "b", 3, "{\"S\":\"a\\u0000b\"}");
	expect_round_trip("{\"S\":\"\\u0000\"}", "\xff", 1, "{\"S\":\"\\u0000\"}");
	expect_round_trip("{\"S\":\"a\\\\u0000b\"}", "a\\u0000b", 8, "{\"S\":\"a\\\\u0000b\"}");
	expect_round_trip("{\"S\":\"\\u00ff\\u0001\"}", "\xc3\xbf\x01", 3, "{\"S\":\"\xc3\xbf\\u0001\"}");
	/* Names hold it too, and two names differing after a NUL are two names. */
	doc = json_parse("{\"a\\u0000b\":1,\"a\\u0000c\":2}", 27, &rd);
	assert_non_null(doc);
	assert_null(json_duplicate_key(doc));
	assert_non_null(cJSON_GetObjectItemCaseSensitive(doc, "a\xff" "c"));
	out = json_print(doc, NULL);
	assert_string_equal(out, "{\"a\\u0000b\":1,\"a\\u0000c\":2}");
	cJSON_free(out);
	cJSON_Delete(doc);
	/* What follows the value, and raw bytes no UTF-8 holds, are reported. */
	doc = json_parse("{\"S\":\"\\u0000\"} x", 16, &rd);
	assert_non_null(doc);
	assert_int_equal(rd.trailing, 1);
	cJSON_Delete(doc);
	doc = json_parse("{\"S\":\"\\u0000\"} \n", 16, &rd);
	assert_int_equal(rd.trailing, 0);
	cJSON_Delete(doc);
	doc = json_parse("{\"S\":\"a\xff\"}", 10, &rd);
	assert_non_null(doc);
	assert_int_equal(rd.not_utf8, 1);
	cJSON_Delete(doc);
	assert_null(json_parse("{\"S\":\\u0000}", 12, &rd));  /* outside a string: not JSON */
	assert_null(json_parse(NULL, 0, &rd));
}

static void test_escape(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char *text;

	(void)state;
	json_escape(b, "a\xff" "b\x01\"");
	text = json_buffer_text(b);
	assert_string_equal(text, "a\\u0000b\\u0001\\\"");
	free(text);
	evbuffer_free(b);
}

static void test_bytes(void **state)
{
	struct bufwrite w;
	unsigned char *b;
	const char *why = NULL;
	char *s;
	size_t n = 0;

	(void)state;
	bufwrite_init(&w);
	json_nul_write(&w, "a\xff" "b\xff", 4);
	assert_int_equal(w.len, 4);
	assert_memory_equal(w.buf, "a\0b\0", 4);
	bufwrite_cleanup(&w);
	b = json_nul_bytes("\xff" "x", &n);
	assert_int_equal(n, 2);
	assert_memory_equal(b, "\0x", 2);
	free(b);
	s = json_nul_string((const unsigned char *)"a\0b", 3, &why);
	assert_string_equal(s, "a\xff" "b");
	free(s);
	assert_null(json_nul_string((const unsigned char *)"a\xff", 2, &why));
	assert_string_equal(why, "a string holds the byte 0xFE or 0xFF, which UTF-8 text never holds");
	assert_null(json_nul_string((const unsigned char *)"\xfe", 1, &why));
}

static int sign(int c)
{
	return c < 0 ? -1 : c > 0;
}

static void test_order(void **state)
{
	(void)state;
	/* NUL sorts before every other character, as in UTF-8 byte order. */
	assert_int_equal(sign(json_nul_cmp("a\xff", "a\x01")), -1);
	assert_int_equal(sign(json_nul_cmp("a", "a\xff")), -1);
	assert_int_equal(sign(json_nul_cmp("a\xff", "a")), 1);
	assert_int_equal(sign(json_nul_cmp("abd\xff", "abc\xc3\xbf")), 1);
	assert_int_equal(sign(json_nul_cmp("abc\xc3\xbf", "abd")), -1);
	assert_int_equal(sign(json_nul_cmp("a\xff" "b", "a\xff" "b")), 0);
	assert_int_equal(sign(json_nul_cmp("", "")), 0);
	assert_int_equal(sign(json_nul_memcmp("a\xff", 2, "a\x7f", 2)), -1);
	assert_int_equal(sign(json_nul_memcmp("ab", 2, "a", 1)), 1);
	assert_int_equal(sign(json_nul_memcmp("\xc3\xbf", 2, "\xff\xff", 2)), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unescape_edges),
		cmocka_unit_test(test_scan_not_utf8),
		cmocka_unit_test(test_parse_print),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
