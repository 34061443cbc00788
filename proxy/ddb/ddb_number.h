/*
 * DynamoDB numbers, exact (Developer Guide, "Supported data types": up to 38 significant
 * digits; positive magnitudes from 1E-130 to 9.9999999999999999999999999999999999999E+125, the
 * same negative).  A number is read from its text form as DynamoDB reads it, kept as its
 * significant digits and an exponent, written back in DynamoDB's canonical form (plain
 * decimal, no exponent, no leading or trailing zeros, no sign on zero), compared, added and
 * subtracted without rounding: a sum that needs more than 38 digits is refused, as DynamoDB
 * refuses it.  The arithmetic runs on GMP integers; no value ever goes through a double.
 */
#ifndef DS_DDB_NUMBER_H
#define DS_DDB_NUMBER_H

#include <stddef.h>

/* Significant digits a number may have. */
#define DDB_NUMBER_DIGITS 38
/* Largest and smallest decimal exponent of a number's leading digit. */
#define DDB_NUMBER_EXP_MAX 125
#define DDB_NUMBER_EXP_MIN (-130)
/* Room for the canonical text of any number, NUL included. */
#define DDB_NUMBER_TEXT_MAX (2 + DDB_NUMBER_EXP_MAX + 1 + 2 - DDB_NUMBER_EXP_MIN + DDB_NUMBER_DIGITS)

/* value = (negative ? -1 : 1) * digits * 10^exp; zero has len 0 and is never negative. */
struct ddb_number {
	int negative;
	int len;                           /* significant digits in digits[], 0 for zero */
	char digits[DDB_NUMBER_DIGITS];    /* ASCII; the first and the last are not '0' */
	int exp;                           /* exponent of the last digit */
};

/* Why a text is not a number DynamoDB stores. */
enum ddb_number_status {
	DDB_NUMBER_OK = 0,
	DDB_NUMBER_EMPTY,       /* "" */
	DDB_NUMBER_SYNTAX,      /* not a decimal number ("dog", " 1", "NaN", "0x1") */
	DDB_NUMBER_OVERFLOW,    /* magnitude of 1E+126 or more */
	DDB_NUMBER_UNDERFLOW,   /* non-zero magnitude below 1E-130 */
	DDB_NUMBER_PRECISION,   /* more than 38 significant digits */
};

/*
 * Reads text[0..len) (no NUL needed): an optional sign, digits with at most one '.', at least
 * one digit, and an optional exponent (e or E, optional sign, digits).  Fills *n only on
 * DDB_NUMBER_OK.  The limits are checked in DynamoDB's order: overflow, underflow, digits.
 */
enum ddb_number_status ddb_number_parse(const char *text, size_t len, struct ddb_number *n)
	__attribute__((warn_unused_result));

/*
 * DynamoDB's message for a status other than DDB_NUMBER_OK.  For DDB_NUMBER_SYNTAX the message
 * ends with ": " and DynamoDB appends the text given; the caller does that (it knows how much
 * of the text a message may quote).
 */
const char *ddb_number_message(enum ddb_number_status st);

/* Writes n's canonical text into out (cap bytes, DDB_NUMBER_TEXT_MAX is always enough);
 * returns its length, or -1 when it does not fit. */
int ddb_number_format(const struct ddb_number *n, char *out, size_t cap);

/* -1, 0 or 1 as a is less than, equal to or greater than b, by value ("1E3" equals "1000"). */
int ddb_number_cmp(const struct ddb_number *a, const struct ddb_number *b);

/*
 * *out = a + b, or a - b, exactly.  DDB_NUMBER_OVERFLOW or DDB_NUMBER_UNDERFLOW when the
 * result leaves the range, and DDB_NUMBER_OVERFLOW too when it needs more than 38 digits
 * (DynamoDB words an inexact sum as an overflow).  *out is written only on DDB_NUMBER_OK.
 * Operands hold at most 38 digits within the range, so the work is bounded (a few hundred
 * digits).
 */
enum ddb_number_status ddb_number_add(const struct ddb_number *a, const struct ddb_number *b,
				      struct ddb_number *out) __attribute__((warn_unused_result));
enum ddb_number_status ddb_number_sub(const struct ddb_number *a, const struct ddb_number *b,
				      struct ddb_number *out) __attribute__((warn_unused_result));

#endif
