/* Attribute value serialization (ddb-attribute-serialization.md): known answers, number
 * normalization, set and map ordering, round trips and malformed input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "crypto/item/attr_serial.h"
#include "proxy/base/json.h"

/* Serializes json (read as dynaseal reads a body) and checks the type id and exact bytes, that
 * deserializing gives the value back and, with printed, that a string prints as json did. */
static void check_bytes(const char *json, uint16_t type, const char *bytes, size_t n, int printed)
{
	cJSON *av = json_parse(json, strlen(json), NULL);
	struct bufwrite w;
	uint16_t t = 0;
	const char *why = NULL;
	cJSON *back;

	assert_non_null(av);
	bufwrite_init(&w);
	if (attr_serialize(av, &t, &w, &why) != 0)
		fail_msg("%s: %s", json, why);
	assert_int_equal(t, type);
	assert_int_equal(w.len, n);
	if (n)
		assert_memory_equal(w.buf, bytes, n);
	back = attr_deserialize(t, w.buf, w.len, &why);
	assert_non_null(back);
	assert_int_equal(attr_value_equal(av, back), 1);
	if (printed && type == ATTR_TYPE_S) {
		char *text = json_print(back, NULL);
		assert_non_null(text);
		assert_string_equal(text, json);
		cJSON_free(text);
	}
	cJSON_Delete(back);
	bufwrite_cleanup(&w);
	cJSON_Delete(av);
}

static void expect_bytes(const char *json, uint16_t type, const char *bytes, size_t n)
{
	check_bytes(json, type, bytes, n, 0);
}

static void test_scalars(void **s)
{
	(void)s;
	expect_bytes("{\"S\":\"abc\"}", ATTR_TYPE_S, "abc", 3);
	expect_bytes("{\"S\":\"\"}", ATTR_TYPE_S, "", 0);
	expect_bytes("{\"S\":\"\\u00e9\"}", ATTR_TYPE_S, "\xc3\xa9", 2);
	expect_bytes("{\"N\":\"0042.500\"}", ATTR_TYPE_N, "42.5", 4);
	expect_bytes("{\"B\":\"AAECAw==\"}", ATTR_TYPE_B, "\x00\x01\x02\x03", 4);
	expect_bytes("{\"B\":\"\"}", ATTR_TYPE_B, "", 0);
	expect_bytes("{\"BOOL\":true}", ATTR_TYPE_BOOL, "\x01", 1);
	expect_bytes("{\"BOOL\":false}", ATTR_TYPE_BOOL, "\x00", 1);
	expect_bytes("{\"NULL\":true}", ATTR_TYPE_NULL, "", 0);
}

static void test_sets(void **s)
{
	(void)s;
	expect_bytes("{\"SS\":[\"b\",\"a\"]}", ATTR_TYPE_SS,
		     "\0\0\0\x02" "\0\0\0\x01" "a" "\0\0\0\x01" "b", 14);
	/* Normalized first, then ordered as strings. */
	expect_bytes("{\"NS\":[\"10\",\"2\",\"-3.50\"]}", ATTR_TYPE_NS,
		     "\0\0\0\x03" "\0\0\0\x04" "-3.5" "\0\0\0\x02" "10" "\0\0\0\x01" "2", 23);
	expect_bytes("{\"BS\":[\"AQ==\",\"AAE=\",\"AA==\"]}", ATTR_TYPE_BS,
		     "\0\0\0\x03" "\0\0\0\x01" "\x00" "\0\0\0\x02" "\x00\x01" "\0\0\0\x01" "\x01", 20);
	/* UTF-16 order puts U+1D7C1 (a surrogate pair) before U+FFFF; UTF-8 order would not. */
	expect_bytes("{\"SS\":[\"\\uffff\",\"\\ud835\\udfc1\"]}", ATTR_TYPE_SS,
		     "\0\0\0\x02" "\0\0\0\x04" "\xf0\x9d\x9f\x81" "\0\0\0\x03" "\xef\xbf\xbf", 19);
}

static void test_map_and_list(void **s)
{
	(void)s;
	expect_bytes("{\"M\":{\"b\":{\"S\":\"x\"},\"a\":{\"N\":\"1\"}}}", ATTR_TYPE_M,
		     "\0\0\0\x02"
		     "\x00\x01" "\0\0\0\x01" "a" "\x00\x02" "\0\0\0\x01" "1"
		     "\x00\x01" "\0\0\0\x01" "b" "\x00\x01" "\0\0\0\x01" "x", 32);
	expect_bytes("{\"L\":[{\"S\":\"x\"},{\"BOOL\":false}]}", ATTR_TYPE_L,
		     "\0\0\0\x02" "\x00\x01" "\0\0\0\x01" "x" "\x00\x04" "\0\0\0\x01" "\x00", 18);
	expect_bytes("{\"M\":{}}", ATTR_TYPE_M, "\0\0\0\0", 4);
	expect_bytes("{\"L\":[]}", ATTR_TYPE_L, "\0\0\0\0", 4);
	expect_bytes("{\"L\":[{\"L\":[{\"M\":{\"k\":{\"NULL\":true}}}]}]}", ATTR_TYPE_L,
		     "\0\0\0\x01" "\x03\x00" "\0\0\0\x1b"
		     "\0\0\0\x01" "\x02\x00" "\0\0\0\x11"
		     "\0\0\0\x01" "\x00\x01" "\0\0\0\x01" "k" "\x00\x00" "\0\0\0\0", 37);
}

static void expect_number(const char *in, const char *want)
{
	const char *why = NULL;
	char *got = attr_normalize_number(in, strlen(in), &why);

	if (want == NULL) {
		if (got != NULL)
			fail_msg("\"%s\" normalized to \"%s\", expected an error", in, got);
		assert_non_null(why);
		return;
	}
	if (got == NULL)
		fail_msg("\"%s\": %s", in, why);
	assert_string_equal(got, want);
	free(got);
}

static void test_numbers(void **s)
{
	(void)s;
	expect_number("00.0011", "0.0011");
	expect_number("0000", "0");
	expect_number("2000.000", "2000");
	expect_number("10.01", "10.01");
	expect_number("1E3", "1000");
	expect_number("1.5e-3", "0.0015");
	expect_number("-0.000120E+3", "-0.12");
	expect_number("+5", "5");
	expect_number("-0", "0");
	expect_number(".5", "0.5");
	expect_number("5.", "5");
	expect_number("123.456e1", "1234.56");
	expect_number("12345678901234567890.123", "12345678901234567890.123");
	expect_number("", NULL);
	expect_number("abc", NULL);
	expect_number("1e", NULL);
	expect_number("1.2.3", NULL);
	expect_number("--1", NULL);
	expect_number("1e999", NULL);
	expect_number("1 ", NULL);
}

static void expect_serialize_error(const char *json, const char *frag)
{
	cJSON *av = cJSON_Parse(json);
	struct bufwrite w;
	uint16_t t;
	const char *why = NULL;

	assert_non_null(av);
	bufwrite_init(&w);
	assert_int_not_equal(attr_serialize(av, &t, &w, &why), 0);
	if (why == NULL || strstr(why, frag) == NULL)
		fail_msg("%s: unexpected reason %s", json, why ? why : "(none)");
	bufwrite_cleanup(&w);
	cJSON_Delete(av);
}

static void test_serialize_errors(void **s)
{
	(void)s;
	expect_serialize_error("{\"SS\":[]}", "empty");
	expect_serialize_error("{\"SS\":[\"a\",\"a\"]}", "twice");
	expect_serialize_error("{\"NS\":[\"1\",\"1.0\"]}", "twice");
	expect_serialize_error("{\"B\":\"###\"}", "base64");
	expect_serialize_error("{\"X\":\"1\"}", "unknown type");
	expect_serialize_error("{\"S\":\"a\",\"N\":\"1\"}", "exactly one");
	expect_serialize_error("{\"S\":1}", "unknown type");
	expect_serialize_error("{\"NULL\":false}", "unknown type");
	expect_serialize_error("{\"M\":{\"a\":{\"Q\":1}}}", "unknown type");
}

static void expect_deserialize_error(uint16_t type, const char *bytes, size_t n, const char *frag)
{
	const char *why = NULL;
	cJSON *v = attr_deserialize(type, (const unsigned char *)bytes, n, &why);

	assert_null(v);
	if (why == NULL || strstr(why, frag) == NULL)
		fail_msg("unexpected reason %s", why ? why : "(none)");
}

static void test_deserialize_errors(void **s)
{
	unsigned char deep[33 * 10 + 4];
	size_t o = 0;
	const char *why = NULL;

	(void)s;
	expect_deserialize_error(ATTR_TYPE_SS, "\0\0\0\x01" "\0\0\0\x05" "ab", 10, "past the end");
	expect_deserialize_error(ATTR_TYPE_L, "\0\0\0\x02" "\x00\x01" "\0\0\0\x01" "x", 11, "past the end");
	expect_deserialize_error(0x1234, "", 0, "unknown type id");
	expect_deserialize_error(ATTR_TYPE_BOOL, "\x02", 1, "boolean");
	expect_deserialize_error(ATTR_TYPE_NULL, "\x00", 1, "NULL");
	expect_deserialize_error(ATTR_TYPE_M, "\0\0\0\x01" "\x00\x02" "\0\0\0\x01" "a" "\x00\x00" "\0\0\0\0",
				 17, "not a string");
	expect_deserialize_error(ATTR_TYPE_S, "a\xff", 2, "0xFE or 0xFF");
	expect_deserialize_error(ATTR_TYPE_SS, "\0\0\0\x01" "\0\0\0\x01" "\xfe", 9, "0xFE or 0xFF");
	expect_deserialize_error(ATTR_TYPE_N, "1\0", 2, "NUL");
	expect_deserialize_error(ATTR_TYPE_NS, "\0\0\0\x01" "\0\0\0\x02" "1\0", 10, "NUL");
	expect_deserialize_error(ATTR_TYPE_L, "\0\0\0\0" "x", 5, "trailing");
	expect_deserialize_error(ATTR_TYPE_M, "\0\0\0\x02"
				 "\x00\x01" "\0\0\0\x01" "a" "\x00\x00" "\0\0\0\0"
				 "\x00\x01" "\0\0\0\x01" "a" "\x00\x00" "\0\0\0\0", 32, "twice");
	/* 33 nested lists: deeper than DynamoDB allows. */
	for (int i = 0; i < 33; i++) {
		size_t left = (size_t)(33 - i - 1) * 10 + 4;

		memcpy(deep + o, "\0\0\0\x01" "\x03\x00", 6);
		deep[o + 6] = (unsigned char)(left >> 24);
		deep[o + 7] = (unsigned char)(left >> 16);
		deep[o + 8] = (unsigned char)(left >> 8);
		deep[o + 9] = (unsigned char)left;
		o += 10;
	}
	memcpy(deep + o, "\0\0\0\0", 4);
	o += 4;
	assert_null(attr_deserialize(ATTR_TYPE_L, deep, o, &why));
	assert_non_null(strstr(why, "32 levels"));
}

static void test_value_equal(void **s)
{
	cJSON *a = cJSON_Parse("{\"NS\":[\"1.0\",\"2\"]}");
	cJSON *b = cJSON_Parse("{\"NS\":[\"2\",\"1\"]}");
	cJSON *c = cJSON_Parse("{\"SS\":[\"2\",\"1\"]}");
	cJSON *d = cJSON_Parse("{\"N\":\"x\"}");

	(void)s;
	assert_int_equal(attr_value_equal(a, b), 1);
	assert_int_equal(attr_value_equal(b, c), 0);
	assert_int_equal(attr_value_equal(a, d), -1);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
	cJSON_Delete(d);
}

static void test_utf16_order(void **s)
{
	(void)s;
	assert_true(attr_utf16_cmp("a", 1, "b", 1) < 0);
	assert_true(attr_utf16_cmp("a", 1, "ab", 2) < 0);
	assert_true(attr_utf16_cmp("\xef\xbf\xbf", 3, "\xf0\x9d\x9f\x81", 4) > 0);
	assert_true(attr_utf16_cmp("\xf0\x9d\x9f\x81", 4, "\xf0\x9d\x9f\x82", 4) < 0);
	assert_int_equal(attr_utf16_cmp("", 0, "", 0), 0);
}

/* Strings holding U+0000: the tree holds the stand-in (json_nul.h), the serialization the
 * real bytes, in DynamoDB's order (NUL first), and deserializing gives the tree back. */
static void expect_nul_bytes(const char *json, uint16_t type, const char *bytes, size_t n)
{
	check_bytes(json, type, bytes, n, 1);
}

static void test_nul_strings(void **s)
{
	(void)s;
	expect_nul_bytes("{\"S\":\"a\\u0000b\"}", ATTR_TYPE_S, "a\0b", 3);
	expect_nul_bytes("{\"S\":\"\\u0000\"}", ATTR_TYPE_S, "\0", 1);
	expect_nul_bytes("{\"SS\":[\"a\\u0000\",\"a\",\"\\u0000\",\"\\u0001\"]}", ATTR_TYPE_SS,
			 "\0\0\0\x04" "\0\0\0\x01" "\0" "\0\0\0\x01" "\x01" "\0\0\0\x01" "a"
			 "\0\0\0\x02" "a\0", 25);
	expect_nul_bytes("{\"M\":{\"k\\u0000\":{\"S\":\"\\u0000\"},\"k\":{\"NULL\":true}}}", ATTR_TYPE_M,
			 "\0\0\0\x02"
			 "\x00\x01" "\0\0\0\x01" "k" "\x00\x00" "\0\0\0\0"
			 "\x00\x01" "\0\0\0\x02" "k\0" "\x00\x01" "\0\0\0\x01" "\0", 32);
	/* Two members that differ only after a NUL are two members. */
	expect_nul_bytes("{\"SS\":[\"\\u0000b\",\"\\u0000a\"]}", ATTR_TYPE_SS,
			 "\0\0\0\x02" "\0\0\0\x02" "\0a" "\0\0\0\x02" "\0b", 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_sets),
		cmocka_unit_test(test_map_and_list),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_serialize_errors),
		cmocka_unit_test(test_deserialize_errors),
		cmocka_unit_test(test_value_equal),
		cmocka_unit_test(test_utf16_order),
		cmocka_unit_test(test_nul_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
