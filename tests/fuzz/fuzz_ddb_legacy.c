/*
 * libFuzzer target for the legacy conditional parameters (proxy/ddb/ddb_legacy.c).  Input: the
 * first byte picks Expected or a filter and AND or OR; the rest is the legacy map as JSON.
 * Properties: no crash, leak or out-of-bounds read; a refusal is a 400 or 500 that says why; and
 * whatever is accepted becomes an expression that parses (ddb_expr.c) and evaluates on an item
 * (ddb_eval.c) without an error, since its names and values are all defined.
 */
#include <stdint.h>
#include <stdlib.h>

#include "proxy/ddb/ddb_eval.h"
#include "proxy/ddb/ddb_legacy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char item_json[] =
	"{\"a\":{\"N\":\"10\"},\"b\":{\"S\":\"hello\"},\"c\":{\"B\":\"AAH/\"},\"d\":{\"SS\":[\"x\"]},"
	"\"e\":{\"L\":[{\"S\":\"a\"}]},\"f\":{\"M\":{}},\"g\":{\"BOOL\":false},\"h\":{\"NULL\":true}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cJSON *item;
	cJSON *conds, *names = NULL, *values = NULL;
	struct ds_error err = { 0 };
	struct ddb_expr e;
	char *expr = NULL;
	int r;

	if (item == NULL && (item = cJSON_Parse(item_json)) == NULL)
		abort();
	if (size < 1)
		return 0;
	conds = cJSON_ParseWithLength((const char *)data + 1, size - 1);
	if (conds == NULL)
		return 0;
	r = ddb_legacy_condition(data[0] & 1 ? DDB_LEGACY_EXPECTED : DDB_LEGACY_FILTER, conds,
				 data[0] & 2 ? "OR" : NULL, &names, &values, &expr, &err);
	if (r != 0) {
		if ((err.status != 400 && err.status != 500) || err.message[0] == '\0' || expr != NULL)
			__builtin_trap();
	} else {
		if (ddb_expr_parse(DDB_EXPR_CONDITION, "ConditionExpression", expr, names, &e, &err) != 0)
			__builtin_trap();
		if (ddb_eval_condition(&e, "ConditionExpression", item, values, &err) < 0 &&
		    err.status != 500)
			__builtin_trap();
		ddb_expr_release(&e);
	}
	free(expr);
	cJSON_Delete(names);
	cJSON_Delete(values);
	cJSON_Delete(conds);
	return 0;
}
