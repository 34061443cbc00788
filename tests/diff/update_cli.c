/*
 * The update applier (proxy/ddb/ddb_update.c) on the command line, for the differential test
 * (tests/diff/test_updates.py).  One JSON object per line on stdin:
 *   {"expr": "...", "item": {AttributeValues} or null, "names": {...}, "values": {...}}
 * and one answer per line on stdout: the updated item as JSON, or "ERR <message>".
 */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "proxy/ddb/ddb_update.h"

int main(void)
{
	size_t cap = 1 << 20;
	char *line = malloc(cap);

	if (line == NULL)
		return 1;
	while (fgets(line, (int)cap, stdin) != NULL) {
		cJSON *req = cJSON_Parse(line);
		const cJSON *expr = cJSON_GetObjectItemCaseSensitive(req, "expr");
		cJSON *item = cJSON_DetachItemFromObjectCaseSensitive(req, "item");
		struct ds_error err = { 0 };
		struct ddb_expr e;
		int r = -1;

		if (cJSON_IsNull(item)) {
			cJSON_Delete(item);
			item = NULL;
		}
		if (!cJSON_IsString(expr)) {
			printf("ERR request\n");
		} else {
			if (ddb_expr_parse(DDB_EXPR_UPDATE, "UpdateExpression", expr->valuestring,
					   cJSON_GetObjectItemCaseSensitive(req, "names"), &e, &err) == 0)
				r = ddb_update_apply(&e, cJSON_GetObjectItemCaseSensitive(req, "values"),
						     &item, &err);
			ddb_expr_release(&e);
			if (r < 0) {
				printf("ERR %s\n", err.message);
			} else {
				char *text = cJSON_PrintUnformatted(item);
				printf("%s\n", text != NULL ? text : "ERR print");
				free(text);
			}
		}
		fflush(stdout);
		cJSON_Delete(item);
		cJSON_Delete(req);
	}
	free(line);
	return 0;
}
