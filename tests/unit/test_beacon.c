/*
 * Standard beacons (crypto/item/beacon.c) against the AWS Database Encryption SDK's own known
 * answers (its Dafny tests: TestBeacon, TestOneBeaconValue, TestNumbersNormalize): the
 * truncated HMAC with and without a partition byte, and whole beacon values from a beacon key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/item/beacon.h"

static const unsigned char beacon_key[] = { 1, 2, 3, 4, 5 };

/* The beacon of value (DynamoDB JSON) named name, length bits, under beacon_key. */
static const char *value_of(const char *name, const char *json, unsigned int length)
{
	static char out[BEACON_HEX_MAX + 1];
	unsigned char key[BEACON_KEY_LEN];
	cJSON *av = cJSON_Parse(json);
	const char *why = NULL;

	assert_non_null(av);
	assert_int_equal(beacon_hmac_key(beacon_key, sizeof(beacon_key), name, key), 0);
	if (beacon_value(key, av, length, out, &why) != 0)
		snprintf(out, sizeof(out), "ERR");
	cJSON_Delete(av);
	return out;
}

static void test_basic_hash(void **state)
{
	static const unsigned char k[] = { 1, 2 }, data[] = { 1, 2, 3 };
	char out[BEACON_HEX_MAX + 1];

	(void)state;
	/* HMAC-SHA384 of 01 02 03 under 01 02 begins 27 93 93 8b 26 e9 52 7e. */
	assert_int_equal(beacon_hash(k, sizeof(k), data, sizeof(data), 8, 0, out), 0);
	assert_string_equal(out, "7e");
	assert_int_equal(beacon_hash(k, sizeof(k), data, sizeof(data), 63, 0, out), 0);
	assert_string_equal(out, "2793938b26e9527e");
	assert_int_equal(beacon_hash(k, sizeof(k), data, sizeof(data), 12, 0, out), 0);
	assert_string_equal(out, "27e");
	assert_int_equal(beacon_hash(k, sizeof(k), data, sizeof(data), 5, 0, out), 0);
	assert_string_equal(out, "1e");
	/* A partition appends its number as one byte: 01 02 03 01, 01 02 03 02. */
	assert_int_equal(beacon_hash(k, sizeof(k), data, sizeof(data), 8, 1, out), 0);
	assert_string_equal(out, "1d");
	assert_int_equal(beacon_hash(k, sizeof(k), data, sizeof(data), 8, 2, out), 0);
	assert_string_equal(out, "ef");
	/* The empty value and "123". */
	assert_int_equal(beacon_hash(k, sizeof(k), NULL, 0, 8, 0, out), 0);
	assert_string_equal(out, "80");
	assert_int_equal(beacon_hash(k, sizeof(k), (const unsigned char *)"123", 3, 8, 0, out), 0);
	assert_string_equal(out, "61");
	/* Lengths beyond 1..63 are refused. */
	assert_int_equal(beacon_hash(k, sizeof(k), data, sizeof(data), 0, 0, out), -1);
	assert_int_equal(beacon_hash(k, sizeof(k), data, sizeof(data), 64, 0, out), -1);
}

static void test_beacon_values(void **state)
{
	/* name, value, length, beacon ("ERR": none) */
	static const char *const cases[][4] = {
		{ "std2", "{\"N\":\"1.23\"}", "24", "ac6f5d" },
		{ "std2", "{\"N\":\"000001.23000000\"}", "24", "ac6f5d" },
		{ "Name", "{\"S\":\"MyName\"}", "32", "7d9bfa40" },
		{ "Title", "{\"S\":\"MyTitle\"}", "32", "e4feb833" },
		{ "std4", "{\"S\":\"abc\"}", "24", "0e9064" },
		{ "std6", "{\"S\":\"666\"}", "26", "2d99222" },
		{ "NameTitleField", "{\"S\":\"MyName__mytitle\"}", "28", "4c577d7" },
		{ "Name", "{\"S\":\"\"}", "32", "e0e88994" },
		{ "Title", "{\"S\":\"\"}", "32", "af34f26f" },
		/* A number is its normalized text: the same beacon as that string. */
		{ "std2", "{\"S\":\"1.23\"}", "24", "ac6f5d" },
		/* Neither a string, a number nor a binary: no beacon. */
		{ "std2", "{\"BOOL\":true}", "24", "ERR" },
		{ "std2", "{\"N\":\"one\"}", "24", "ERR" },
		{ "std2", "{\"B\":\"!!\"}", "24", "ERR" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(value_of(cases[i][0], cases[i][1], (unsigned int)atoi(cases[i][2])),
				    cases[i][3]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_hash),
		cmocka_unit_test(test_beacon_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
