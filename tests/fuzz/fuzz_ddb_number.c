/*
 * libFuzzer target for DynamoDB numbers (proxy/ddb/ddb_number.c).  Input: two texts separated
 * by the first NUL byte (or one).  Properties:
 *  - reading never reads past the text and never crashes; a number it accepts has at most 38
 *    significant digits, no leading or trailing zero digit, and its leading digit's exponent in
 *    [-130, 125];
 *  - the canonical text reads back to an equal number whose canonical text is the same;
 *  - comparison is antisymmetric and agrees with equality of canonical texts;
 *  - when x + y and (x + y) - y are both representable, the latter equals x.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/ddb/ddb_number.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(const char *text, size_t len, struct ddb_number *n, char *canon)
{
	struct ddb_number back;
	char again[DDB_NUMBER_TEXT_MAX];
	int lead, k;
	char *copy = malloc(len ? len : 1);  /* exactly len bytes: ASan sees any overread */

	if (copy == NULL)
		return 0;
	memcpy(copy, text, len);
	if (ddb_number_parse(copy, len, n) != DDB_NUMBER_OK) {
		free(copy);
		return 0;
	}
	free(copy);
	if (n->len < 0 || n->len > DDB_NUMBER_DIGITS)
		__builtin_trap();
	if (n->len > 0) {
		if (n->digits[0] == '0' || n->digits[n->len - 1] == '0')
			__builtin_trap();
		for (k = 0; k < n->len; k++) {
			if (n->digits[k] < '0' || n->digits[k] > '9')
				__builtin_trap();
		}
		lead = n->exp + n->len - 1;
		if (lead > DDB_NUMBER_EXP_MAX || lead < DDB_NUMBER_EXP_MIN)
			__builtin_trap();
	} else if (n->negative) {
		__builtin_trap();
	}
	if (ddb_number_format(n, canon, DDB_NUMBER_TEXT_MAX) < 0)
		__builtin_trap();
	if (ddb_number_parse(canon, strlen(canon), &back) != DDB_NUMBER_OK ||
	    ddb_number_cmp(n, &back) != 0)
		__builtin_trap();
	if (ddb_number_format(&back, again, sizeof(again)) < 0 || strcmp(again, canon) != 0)
		__builtin_trap();
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nul = memchr(data, '\0', size);
	size_t len_x = nul ? (size_t)(nul - text) : size;
	struct ddb_number x, y, s, d;
	char cx[DDB_NUMBER_TEXT_MAX], cy[DDB_NUMBER_TEXT_MAX];

	if (!check(text, len_x, &x, cx) || nul == NULL)
		return 0;
	if (!check(nul + 1, size - len_x - 1, &y, cy))
		return 0;
	if (ddb_number_cmp(&x, &y) != -ddb_number_cmp(&y, &x))
		__builtin_trap();
	if ((ddb_number_cmp(&x, &y) == 0) != (strcmp(cx, cy) == 0))
		__builtin_trap();
	if (ddb_number_add(&x, &y, &s) == DDB_NUMBER_OK &&
	    ddb_number_sub(&s, &y, &d) == DDB_NUMBER_OK && ddb_number_cmp(&d, &x) != 0)
		__builtin_trap();
	return 0;
}
