/*
 * libFuzzer target for condition evaluation (proxy/ddb/ddb_eval.c, ddb_value.c, ddb_number.c)
 * on arbitrary expressions and items.  Input: an expression, a NUL, then the item as JSON
 * (when that part does not parse, a fixed item of every type is used); the values are fixed.
 * Properties: no crash, leak or out-of-bounds read; the answer is 1, 0 or -1 with a 400 or 500
 * that says why; and NOT (e) answers the opposite of e whenever e answers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/ddb/ddb_eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_item[] =
	"{\"a\":{\"N\":\"10\"},\"b\":{\"S\":\"h\\u00e9llo\"},\"c\":{\"B\":\"AAH/\"},"
	"\"d\":{\"SS\":[\"x\",\"y\"]},\"e\":{\"NS\":[\"1\",\"2.5\"]},\"f\":{\"BS\":[\"AQ==\"]},"
	"\"g\":{\"L\":[{\"S\":\"a\"},{\"M\":{\"k\":{\"N\":\"1\"}}}]},\"h\":{\"M\":{\"k\":{\"L\":[]}}},"
	"\"i\":{\"BOOL\":false},\"j\":{\"NULL\":true}}";
static const char values_json[] =
	"{\":a\":{\"N\":\"1E1\"},\":b\":{\"S\":\"h\"},\":c\":{\"B\":\"AA==\"},\":d\":{\"SS\":[\"y\"]},"
	"\":e\":{\"S\":\"N\"},\":f\":{\"L\":[{\"S\":\"a\"}]},\":g\":{\"NULL\":true},"
	"\":h\":{\"BOOL\":true},\":i\":{\"N\":\"-0.5\"},\":j\":{\"S\":\"SS\"}}";
static const char names_json[] = "{\"#a\":\"a\",\"#b\":\"g\",\"#k\":\"k\"}";

static cJSON *fixed, *values, *names;

static int eval(const char *expr, const cJSON *item)
{
	struct ds_error err = { 0 };
	struct ddb_expr e;
	int r = -1;

	if (ddb_expr_parse(DDB_EXPR_CONDITION, "ConditionExpression", expr, names, &e, &err) == 0)
		r = ddb_eval_condition(&e, "ConditionExpression", item, values, &err);
	ddb_expr_release(&e);
	if (r < -1 || r > 1)
		__builtin_trap();
	if (r < 0 && ((err.status != 400 && err.status != 500) || err.message[0] == '\0'))
		__builtin_trap();
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nul = memchr(data, '\0', size);
	size_t len = nul ? (size_t)(nul - (const char *)data) : size;
	char *expr, *negated;
	cJSON *item = NULL;
	int r;

	if (fixed == NULL) {
		fixed = cJSON_Parse(fixed_item);
		values = cJSON_Parse(values_json);
		names = cJSON_Parse(names_json);
		if (fixed == NULL || values == NULL || names == NULL)
			abort();
	}
	if (len > 4096)
		return 0;
	expr = malloc(len + 1);
	negated = malloc(len + 8);
	if (expr == NULL || negated == NULL)
		goto out;
	memcpy(expr, data, len);
	expr[len] = '\0';
	if (nul != NULL)
		item = cJSON_ParseWithLength(nul + 1, size - len - 1);
	r = eval(expr, item != NULL ? item : fixed);
	snprintf(negated, len + 8, "NOT (%s)", expr);
	if (r >= 0 && strlen(expr) == len) {
		int n = eval(negated, item != NULL ? item : fixed);
		if (n >= 0 && n != !r)
			__builtin_trap();
	}
out:
	cJSON_Delete(item);
	free(expr);
	free(negated);
	return 0;
}
