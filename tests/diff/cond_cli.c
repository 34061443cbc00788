/*
 * The condition evaluator (proxy/ddb/ddb_eval.c) on the command line, for the differential
 * test (tests/diff/test_conditions.py).  One JSON object per line on stdin:
 *   {"expr": "...", "item": {AttributeValues} or null, "names": {...}, "values": {...}}
 * and one answer per line on stdout: "true", "false" or "ERR <message>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "proxy/ddb/ddb_eval.h"

int main(void)
{
	size_t cap = 1 << 20;
	char *line = malloc(cap);

	if (line == NULL)
		return 1;
	while (fgets(line, (int)cap, stdin) != NULL) {
		cJSON *req = cJSON_Parse(line);
		const cJSON *expr = cJSON_GetObjectItemCaseSensitive(req, "expr");
		struct ds_error err = { 0 };
		struct ddb_expr e;
		int r = -1;

		if (!cJSON_IsString(expr)) {
			printf("ERR request\n");
		} else {
			if (ddb_expr_parse(DDB_EXPR_CONDITION, "FilterExpression", expr->valuestring,
					   cJSON_GetObjectItemCaseSensitive(req, "names"), &e, &err) == 0)
				r = ddb_eval_condition(&e, "FilterExpression",
						       cJSON_GetObjectItemCaseSensitive(req, "item"),
						       cJSON_GetObjectItemCaseSensitive(req, "values"),
						       &err);
			ddb_expr_release(&e);
			if (r < 0)
				printf("ERR %s\n", err.message);
			else
				printf("%s\n", r ? "true" : "false");
		}
		fflush(stdout);
		cJSON_Delete(req);
	}
	free(line);
	return 0;
}
