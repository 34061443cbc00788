/*
 * The number module (proxy/ddb/ddb_number.c) on the command line, for the differential test
 * (tests/diff/test_numbers.py).  One request per line on stdin, one answer per line on stdout:
 *
 *   P <text>        ->  OK <canonical text>  |  ERR <DynamoDB's message>
 *   A <x> <y>       ->  the same for x + y
 *   S <x> <y>       ->  the same for x - y
 *   C <x> <y>       ->  -1, 0 or 1
 *
 * Operands of A, S and C are valid numbers (the test sends only those).
 */
#include <stdio.h>
#include <string.h>

#include "proxy/ddb/ddb_number.h"

static void answer(enum ddb_number_status st, const struct ddb_number *n, const char *text)
{
	char out[DDB_NUMBER_TEXT_MAX];

	if (st != DDB_NUMBER_OK) {
		printf("ERR %s%s\n", ddb_number_message(st), st == DDB_NUMBER_SYNTAX ? text : "");
		return;
	}
	if (ddb_number_format(n, out, sizeof(out)) < 0)
		printf("ERR format\n");
	else
		printf("OK %s\n", out);
}

int main(void)
{
	char line[4096];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		struct ddb_number x, y, r;
		char *a, *b;
		size_t len = strcspn(line, "\n");

		line[len] = '\0';
		a = line + 2;
		if (line[0] == 'P' && line[1] == ' ') {
			answer(ddb_number_parse(a, strlen(a), &x), &x, a);
		} else if ((b = strchr(a, ' ')) != NULL) {
			*b++ = '\0';
			if (ddb_number_parse(a, strlen(a), &x) != DDB_NUMBER_OK ||
			    ddb_number_parse(b, strlen(b), &y) != DDB_NUMBER_OK)
				printf("ERR operand\n");
			else if (line[0] == 'A')
				answer(ddb_number_add(&x, &y, &r), &r, "");
			else if (line[0] == 'S')
				answer(ddb_number_sub(&x, &y, &r), &r, "");
			else
				printf("%d\n", ddb_number_cmp(&x, &y));
		} else {
			printf("ERR request\n");
		}
		fflush(stdout);
	}
	return 0;
}
