/*
 * The condition evaluator (proxy/ddb/ddb_eval.c) on the command line, for the differential
 * test (tests/diff/test_conditions.py).  One JSON object per line on stdin:
 *   {"expr": "...", "item": {AttributeValues} or null, "names": {...}, "values": {...}}
 * or, for the legacy parameters (proxy/ddb/ddb_legacy.c),
 *   {"legacy": {attribute: condition}, "kind": "expected" or "filter", "op": "AND" or "OR",
 *    "item": ...}
 * and one answer per line on stdout: "true", "false" or "ERR <message>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "proxy/ddb/ddb_eval.h"
#include "proxy/ddb/ddb_legacy.h"

int main(void)
{
	size_t cap = 1 << 20;
	char *line = malloc(cap);

	if (line == NULL)
		return 1;
	while (fgets(line, (int)cap, stdin) != NULL) {
		cJSON *req = cJSON_Parse(line);
		const cJSON *expr = cJSON_GetObjectItemCaseSensitive(req, "expr");
		const cJSON *legacy = cJSON_GetObjectItemCaseSensitive(req, "legacy");
		struct ds_error err = { 0 };
		struct ddb_expr e;
		int r = -1;

		if (legacy != NULL) {
			const cJSON *kind = cJSON_GetObjectItemCaseSensitive(req, "kind");
			const cJSON *op = cJSON_GetObjectItemCaseSensitive(req, "op");
			cJSON *names = NULL, *values = NULL;
			char *text = NULL;

			if (ddb_legacy_condition(cJSON_IsString(kind) && strcmp(kind->valuestring, "expected") == 0 ?
						 DDB_LEGACY_EXPECTED : DDB_LEGACY_FILTER, legacy,
						 cJSON_IsString(op) ? op->valuestring : NULL, &names, &values,
						 &text, &err) == 0) {
				if (ddb_expr_parse(DDB_EXPR_CONDITION, "ConditionExpression", text, names,
						   &e, &err) == 0)
					r = ddb_eval_condition(&e, "ConditionExpression",
							       cJSON_GetObjectItemCaseSensitive(req, "item"),
							       values, &err);
				ddb_expr_release(&e);
			}
			if (r < 0)
				printf("ERR %s\n", err.message);
			else
				printf("%s\n", r ? "true" : "false");
			free(text);
			cJSON_Delete(names);
			cJSON_Delete(values);
		} else if (!cJSON_IsString(expr)) {
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
