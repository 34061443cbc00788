/*
 * DynamoDB numbers (proxy/ddb/ddb_number.c): what is read and how it is written back, the
 * limits in DynamoDB's order and words, comparison by value, exact sums.  The expected texts
 * follow DynamoDB's documented behaviour (Developer Guide, "Supported data types") and its
 * observed canonical form; tests/integration/test_number_differential.py checks the same
 * module against dynalite over generated cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/ddb/ddb_number.h"

static enum ddb_number_status parse(const char *text, struct ddb_number *n)
{
	return ddb_number_parse(text, strlen(text), n);
}

/* The canonical text of text, or the status's message. */
static const char *canon(const char *text)
{
	static char out[DDB_NUMBER_TEXT_MAX];
	struct ddb_number n;
	enum ddb_number_status st = parse(text, &n);

	if (st != DDB_NUMBER_OK)
		return ddb_number_message(st);
	assert_true(ddb_number_format(&n, out, sizeof(out)) > 0);
	return out;
}

static void test_canonical(void **state)
{
	static const char *const cases[][2] = {
		{ "1", "1" }, { "-5", "-5" }, { "0", "0" }, { "1000", "1000" },
		{ "007", "7" }, { "001.23", "1.23" }, { "00", "0" },
		{ "+3", "3" }, { "+0", "0" }, { "+1.5", "1.5" },
		{ "1.0", "1" }, { "1.10", "1.1" }, { "100.000", "100" }, { "0.0", "0" }, { "0.10", "0.1" },
		{ "1e3", "1000" }, { "1E+3", "1000" }, { "-3e2", "-300" }, { "1.23e4", "12300" },
		{ "1e-3", "0.001" }, { "123e-2", "1.23" }, { "1.23e-1", "0.123" }, { "1.0e-1", "0.1" },
		{ "-0", "0" }, { "-0.0", "0" }, { "0e5", "0" }, { "0e-500", "0" }, { "0e99999999999", "0" },
		{ ".5", "0.5" }, { "-.5", "-0.5" }, { "5.", "5" }, { "1e-20", "0.00000000000000000001" },
		{ "1e125", "1" "0000000000" "0000000000" "0000000000" "0000000000" "0000000000"
			   "0000000000" "0000000000" "0000000000" "0000000000" "0000000000"
			   "0000000000" "0000000000" "00000" },
		{ "12345678901234567890123456789012345678", "12345678901234567890123456789012345678" },
		{ "1234567890123456789012345678901234567800000", "1234567890123456789012345678901234567800000" },
		{ "0.00000000000000000000000000000000000000000000000012345678901234567890123456789012345678",
		  "0.00000000000000000000000000000000000000000000000012345678901234567890123456789012345678" },
		{ "1e-130", "0." "0000000000" "0000000000" "0000000000" "0000000000" "0000000000"
			    "0000000000" "0000000000" "0000000000" "0000000000" "0000000000"
			    "0000000000" "0000000000" "000000000" "1" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(canon(cases[i][0]), cases[i][1]);
}

static void test_refused(void **state)
{
	static const char *const syntax[] = {
		"NaN", "Infinity", "-Infinity", "dog", " 1", "1 ", "-", "+", ".", "e5", "1e", "1e+",
		"1.2.3", "0x10", "1,5", "--1", "+-1", "1e5.0", "1_000", "\xef\xbc\x91",
	};
	struct ddb_number n;

	(void)state;
	for (size_t i = 0; i < sizeof(syntax) / sizeof(syntax[0]); i++)
		assert_int_equal(parse(syntax[i], &n), DDB_NUMBER_SYNTAX);
	assert_int_equal(ddb_number_parse("1\0", 2, &n), DDB_NUMBER_SYNTAX);
	assert_int_equal(parse("", &n), DDB_NUMBER_EMPTY);
	assert_string_equal(canon(""), "The parameter cannot be converted to a numeric value");
	assert_string_equal(canon("b"), "The parameter cannot be converted to a numeric value: ");
	assert_string_equal(canon("123456789012345678901234567890123456789"),
			    "Attempting to store more than 38 significant digits in a Number");
	assert_string_equal(canon("-1.23456789012345678901234567890123456789"),
			    "Attempting to store more than 38 significant digits in a Number");
	assert_string_equal(canon("1e126"), "Number overflow. Attempting to store a number with "
			    "magnitude larger than supported range");
	assert_string_equal(canon("-9.99e125"), "-999" "0000000000" "0000000000" "0000000000"
			    "0000000000" "0000000000" "0000000000" "0000000000" "0000000000"
			    "0000000000" "0000000000" "0000000000" "0000000000" "000");
	assert_string_equal(canon("1e-131"), "Number underflow. Attempting to store a number with "
			    "magnitude smaller than supported range");
	assert_string_equal(canon("-0.1e-130"), "Number underflow. Attempting to store a number "
			    "with magnitude smaller than supported range");
	assert_string_equal(canon("1e99999999999999999999"), ddb_number_message(DDB_NUMBER_OVERFLOW));
	assert_string_equal(canon("1e-99999999999999999999"), ddb_number_message(DDB_NUMBER_UNDERFLOW));
	/* the range is checked before the digits */
	assert_string_equal(canon("123456789012345678901234567890123456789e200"),
			    ddb_number_message(DDB_NUMBER_OVERFLOW));
}

static int cmp(const char *a, const char *b)
{
	struct ddb_number x, y;

	assert_int_equal(parse(a, &x), DDB_NUMBER_OK);
	assert_int_equal(parse(b, &y), DDB_NUMBER_OK);
	return ddb_number_cmp(&x, &y);
}

static void test_compare(void **state)
{
	(void)state;
	assert_int_equal(cmp("1000", "1e3"), 0);
	assert_int_equal(cmp("-0", "0"), 0);
	assert_int_equal(cmp("1", "2"), -1);
	assert_int_equal(cmp("10", "9"), 1);
	assert_int_equal(cmp("-10", "-9"), -1);
	assert_int_equal(cmp("-1", "0"), -1);
	assert_int_equal(cmp("0", "0.0001"), -1);
	assert_int_equal(cmp("1.5", "1.25"), 1);
	assert_int_equal(cmp("1.25", "1.250000001"), -1);
	assert_int_equal(cmp("9e125", "1e-130"), 1);
	assert_int_equal(cmp("-9e125", "-1e-130"), -1);
	assert_int_equal(cmp("12345678901234567890123456789012345678",
			     "12345678901234567890123456789012345677"), 1);
}

/* a op b as canonical text, or the status's message. */
static const char *arith(const char *a, char op, const char *b)
{
	static char out[DDB_NUMBER_TEXT_MAX];
	struct ddb_number x, y, r;
	enum ddb_number_status st;

	assert_int_equal(parse(a, &x), DDB_NUMBER_OK);
	assert_int_equal(parse(b, &y), DDB_NUMBER_OK);
	st = op == '+' ? ddb_number_add(&x, &y, &r) : ddb_number_sub(&x, &y, &r);
	if (st != DDB_NUMBER_OK)
		return ddb_number_message(st);
	assert_true(ddb_number_format(&r, out, sizeof(out)) > 0);
	return out;
}

static void test_arithmetic(void **state)
{
	(void)state;
	assert_string_equal(arith("1", '+', "10000000000000000000000"), "10000000000000000000001");
	assert_string_equal(arith("10000000000000000000000", '-', "1"), "9999999999999999999999");
	assert_string_equal(arith("0.1", '+', "0.2"), "0.3");
	assert_string_equal(arith("1.5", '-', "1.5"), "0");
	assert_string_equal(arith("-1.5", '+', "1.5"), "0");
	assert_string_equal(arith("0", '-', "7"), "-7");
	assert_string_equal(arith("7", '-', "0"), "7");
	assert_string_equal(arith("0", '+', "0"), "0");
	assert_string_equal(arith("1e-5", '-', "1e5"), "-99999.99999");
	assert_string_equal(arith("1e5", '-', "1e-5"), "99999.99999");
	assert_string_equal(arith("9e125", '+', "9e124"), "99" "0000000000" "0000000000"
			    "0000000000" "0000000000" "0000000000" "0000000000" "0000000000"
			    "0000000000" "0000000000" "0000000000" "0000000000" "0000000000" "0000");
	assert_string_equal(arith("99999999999999999999999999999999999999", '+', "1"),
			    "100000000000000000000000000000000000000");
	/* out of range, and inexact: DynamoDB answers both as an overflow */
	assert_string_equal(arith("9e125", '+', "9e125"), ddb_number_message(DDB_NUMBER_OVERFLOW));
	assert_string_equal(arith("9e125", '-', "-9e125"), ddb_number_message(DDB_NUMBER_OVERFLOW));
	assert_string_equal(arith("1e50", '+', "1"), ddb_number_message(DDB_NUMBER_OVERFLOW));
	assert_string_equal(arith("1e50", '-', "1"), ddb_number_message(DDB_NUMBER_OVERFLOW));
	assert_string_equal(arith("99999999999999999999999999999999999999", '+', "0.1"),
			    ddb_number_message(DDB_NUMBER_OVERFLOW));
	assert_string_equal(arith("1.1e-130", '-', "1e-130"), ddb_number_message(DDB_NUMBER_UNDERFLOW));
	assert_string_equal(arith("9e125", '+', "1e-130"), ddb_number_message(DDB_NUMBER_OVERFLOW));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_arithmetic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
