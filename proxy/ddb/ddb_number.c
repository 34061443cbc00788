/*
 * DynamoDB numbers (ddb_number.h): reading, the canonical text, comparison, exact sums.
 */
#include "proxy/ddb/ddb_number.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <gmp.h>

/* Exponents beyond this are out of range whatever the digits; reading stops growing them. */
#define EXP_SATURATE 1000000000L

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Checks the limits of a value whose significant digits run from place value 10^first down to
 * 10^last (first >= last), in DynamoDB's order.
 */
static enum ddb_number_status limits(long first, long last)
{
	if (first > DDB_NUMBER_EXP_MAX)
		return DDB_NUMBER_OVERFLOW;
	if (first < DDB_NUMBER_EXP_MIN)
		return DDB_NUMBER_UNDERFLOW;
	if (first - last + 1 > DDB_NUMBER_DIGITS)
		return DDB_NUMBER_PRECISION;
	return DDB_NUMBER_OK;
}

enum ddb_number_status ddb_number_parse(const char *text, size_t len, struct ddb_number *n)
{
	size_t i = 0, mant_start, mant_end, point = (size_t)-1;
	size_t first_nz = (size_t)-1, last_nz = 0, int_digits;
	long exp = 0, first, last;
	int negative = 0, any = 0;
	enum ddb_number_status st;

	if (len == 0)
		return DDB_NUMBER_EMPTY;
	if (text[i] == '+' || text[i] == '-')
		negative = text[i++] == '-';
	mant_start = i;
	for (; i < len; i++) {
		if (text[i] == '.' && point == (size_t)-1) {
			point = i;
			continue;
		}
		if (!is_digit(text[i]))
			break;
		any = 1;
		if (text[i] != '0') {
			if (first_nz == (size_t)-1)
				first_nz = i;
			last_nz = i;
		}
	}
	mant_end = i;
	if (!any)
		return DDB_NUMBER_SYNTAX;
	if (i < len) {
		int exp_negative = 0, exp_any = 0;

		if (text[i] != 'e' && text[i] != 'E')
			return DDB_NUMBER_SYNTAX;
		i++;
		if (i < len && (text[i] == '+' || text[i] == '-'))
			exp_negative = text[i++] == '-';
		for (; i < len && is_digit(text[i]); i++) {
			exp_any = 1;
			if (exp < EXP_SATURATE)
				exp = exp * 10 + (text[i] - '0');
		}
		if (!exp_any || i < len)
			return DDB_NUMBER_SYNTAX;
		if (exp_negative)
			exp = -exp;
	}
	if (first_nz == (size_t)-1) {
		memset(n, 0, sizeof(*n));
		return DDB_NUMBER_OK;
	}

	/* Place value of a mantissa digit at index k: digits before the point count down to 0,
	 * digits after it from -1. */
	int_digits = (point == (size_t)-1 ? mant_end : point) - mant_start;
#define PLACE(k) ((point == (size_t)-1 || (k) < point) ? \
		  (long)int_digits - 1 - (long)((k) - mant_start) : -(long)((k) - point))
	first = PLACE(first_nz) + exp;
	last = PLACE(last_nz) + exp;
#undef PLACE
	st = limits(first, last);
	if (st != DDB_NUMBER_OK)
		return st;
	n->negative = negative;
	n->len = 0;
	for (size_t k = first_nz; k <= last_nz; k++) {
		if (k != point)
			n->digits[n->len++] = text[k];
	}
	n->exp = (int)last;
	return DDB_NUMBER_OK;
}

const char *ddb_number_message(enum ddb_number_status st)
{
	switch (st) {
	case DDB_NUMBER_OK:
		return "";
	case DDB_NUMBER_EMPTY:
		return "The parameter cannot be converted to a numeric value";
	case DDB_NUMBER_SYNTAX:
		return "The parameter cannot be converted to a numeric value: ";
	case DDB_NUMBER_OVERFLOW:
		return "Number overflow. Attempting to store a number with magnitude larger than "
		       "supported range";
	case DDB_NUMBER_UNDERFLOW:
		return "Number underflow. Attempting to store a number with magnitude smaller than "
		       "supported range";
	case DDB_NUMBER_PRECISION:
		return "Attempting to store more than 38 significant digits in a Number";
	}
	return "The parameter cannot be converted to a numeric value";
}

int ddb_number_format(const struct ddb_number *n, char *out, size_t cap)
{
	size_t w = 0;
	int lead = n->exp + n->len - 1;     /* place value of the first digit */

#define PUT(c) do { if (w + 1 >= cap) return -1; out[w++] = (c); } while (0)
	if (n->len == 0) {
		PUT('0');
		out[w] = '\0';
		return (int)w;
	}
	if (n->negative)
		PUT('-');
	if (lead < 0) {
		PUT('0');
		PUT('.');
		for (int z = -1; z > lead; z--)
			PUT('0');
		for (int k = 0; k < n->len; k++)
			PUT(n->digits[k]);
	} else {
		for (int k = 0; k < n->len; k++) {
			if (k == lead + 1)
				PUT('.');
			PUT(n->digits[k]);
		}
		for (int z = 0; z < n->exp; z++)
			PUT('0');
	}
#undef PUT
	out[w] = '\0';
	return (int)w;
}

/* Compares magnitudes. */
static int cmp_abs(const struct ddb_number *a, const struct ddb_number *b)
{
	int lead_a = a->exp + a->len - 1, lead_b = b->exp + b->len - 1;
	int common = a->len < b->len ? a->len : b->len;
	int c;

	if (a->len == 0 || b->len == 0)
		return (a->len != 0) - (b->len != 0);
	if (lead_a != lead_b)
		return lead_a < lead_b ? -1 : 1;
	c = memcmp(a->digits, b->digits, (size_t)common);
	if (c != 0)
		return c < 0 ? -1 : 1;
	return (a->len > b->len) - (a->len < b->len);
}

int ddb_number_cmp(const struct ddb_number *a, const struct ddb_number *b)
{
	int sa = a->len == 0 ? 0 : a->negative ? -1 : 1;
	int sb = b->len == 0 ? 0 : b->negative ? -1 : 1;

	if (sa != sb)
		return sa < sb ? -1 : 1;
	return sa >= 0 ? cmp_abs(a, b) : cmp_abs(b, a);
}

/* z = n's signed digits as an integer (n = z * 10^n->exp). */
static void to_mpz(mpz_t z, const struct ddb_number *n)
{
	char text[DDB_NUMBER_DIGITS + 1];

	if (n->len == 0) {
		mpz_set_ui(z, 0);
		return;
	}
	memcpy(text, n->digits, (size_t)n->len);
	text[n->len] = '\0';
	mpz_set_str(z, text, 10);
	if (n->negative)
		mpz_neg(z, z);
}

static enum ddb_number_status sum(const struct ddb_number *a, const struct ddb_number *b,
				  int subtract, struct ddb_number *out)
{
	mpz_t x, y, scale;
	char *text;
	size_t len, end;
	long exp, first, last;
	enum ddb_number_status st = DDB_NUMBER_OK;
	const struct ddb_number *hi = a, *lo = b;
	int swapped = 0;

	/* Align on the smaller exponent: the one with the larger exponent is scaled up (by at most
	 * about 300 digits, the width of the range). */
	if (a->len != 0 && b->len != 0 && a->exp < b->exp) {
		hi = b;
		lo = a;
		swapped = 1;
	}
	mpz_inits(x, y, scale, NULL);
	to_mpz(x, hi);
	to_mpz(y, lo);
	exp = lo->len != 0 ? lo->exp : hi->exp;
	if (hi->len != 0 && lo->len != 0) {
		mpz_ui_pow_ui(scale, 10, (unsigned long)(hi->exp - lo->exp));
		mpz_mul(x, x, scale);
	}
	/* x belongs to a unless swapped; the result is a +/- b. */
	if (!subtract)
		mpz_add(x, x, y);
	else if (!swapped)
		mpz_sub(x, x, y);
	else
		mpz_sub(x, y, x);
	if (mpz_sgn(x) == 0) {
		memset(out, 0, sizeof(*out));
		goto done;
	}
	text = mpz_get_str(NULL, 10, x);
	if (text == NULL) {
		st = DDB_NUMBER_OVERFLOW;
		goto done;
	}
	{
		const char *digits = text[0] == '-' ? text + 1 : text;

		len = strlen(digits);
		for (end = len; end > 1 && digits[end - 1] == '0'; end--)
			;
		last = exp + (long)(len - end);
		first = exp + (long)len - 1;
		st = limits(first, last);
		if (st == DDB_NUMBER_PRECISION)
			st = DDB_NUMBER_OVERFLOW;
		if (st == DDB_NUMBER_OK) {
			out->negative = text[0] == '-';
			out->len = (int)end;
			memcpy(out->digits, digits, end);
			out->exp = (int)last;
		}
	}
	{
		void (*free_fn)(void *, size_t);

		mp_get_memory_functions(NULL, NULL, &free_fn);
		free_fn(text, strlen(text) + 1);
	}
done:
	mpz_clears(x, y, scale, NULL);
	return st;
}

enum ddb_number_status ddb_number_add(const struct ddb_number *a, const struct ddb_number *b,
				      struct ddb_number *out)
{
	return sum(a, b, 0, out);
}

enum ddb_number_status ddb_number_sub(const struct ddb_number *a, const struct ddb_number *b,
				      struct ddb_number *out)
{
	return sum(a, b, 1, out);
}
