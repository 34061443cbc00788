/*
 * libFuzzer target for update expressions (proxy/ddb/ddb_update.c) on arbitrary expressions
 * and items, checked against table and index keys, then applied with index keys.  Input: an
 * expression, a NUL, then the item as JSON (when that part does not parse, a fixed item of
 * every type is used); the values and keys are fixed.  Properties: no crash, leak or
 * out-of-bounds read; a refusal is a 400 or 500 that says why and leaves the item as it was;
 * an update leaves an object whose every member is an AttributeValue.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/ddb/ddb_update.h"
#include "proxy/ddb/ddb_value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_item[] =
	"{\"a\":{\"N\":\"10\"},\"b\":{\"S\":\"hello\"},\"c\":{\"B\":\"AAH/\"},"
	"\"d\":{\"SS\":[\"x\",\"y\"]},\"e\":{\"NS\":[\"1\",\"2.5\"]},\"f\":{\"BS\":[\"AQ==\"]},"
	"\"g\":{\"L\":[{\"S\":\"a\"},{\"M\":{\"k\":{\"N\":\"1\"}}},{\"L\":[]}]},"
	"\"h\":{\"M\":{\"k\":{\"L\":[{\"N\":\"9e125\"}]}}},\"i\":{\"BOOL\":false},\"j\":{\"NULL\":true}}";
static const char values_json[] =
	"{\":a\":{\"N\":\"1E1\"},\":b\":{\"S\":\"h\"},\":c\":{\"B\":\"AA==\"},\":d\":{\"SS\":[\"y\",\"z\"]},"
	"\":e\":{\"NS\":[\"2.50\",\"7\"]},\":f\":{\"L\":[{\"S\":\"a\"}]},\":g\":{\"NULL\":true},"
	"\":h\":{\"BOOL\":true},\":i\":{\"N\":\"9e125\"},\":j\":{\"M\":{}},\":k\":{\"BS\":[\"AQ==\"]}}";
static const char names_json[] = "{\"#a\":\"a\",\"#g\":\"g\",\"#k\":\"k\"}";

static cJSON *fixed, *values, *names;
/* Keys of a table (a, b) and its indexes (b a string; c, a binary, in two). */
static const struct ddb_index_key index_keys[] = {
	{ "b", DDB_T_S, "gb" }, { "c", DDB_T_B, "gbc" }, { "b", DDB_T_S, "gbc" }, { "c", DDB_T_B, "lc" },
};
static const struct ddb_update_keys keys = { { "a", "h" }, index_keys,
					     sizeof(index_keys) / sizeof(index_keys[0]) };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nul = memchr(data, '\0', size);
	size_t len = nul ? (size_t)(nul - (const char *)data) : size;
	struct ds_error err = { 0 };
	struct ddb_expr e;
	char *expr, *before = NULL, *after = NULL;
	cJSON *item = NULL, *parsed = NULL;
	int r;

	if (fixed == NULL) {
		fixed = cJSON_Parse(fixed_item);
		values = cJSON_Parse(values_json);
		names = cJSON_Parse(names_json);
		if (fixed == NULL || values == NULL || names == NULL)
			abort();
	}
	if (len > 4096 || (expr = malloc(len + 1)) == NULL)
		return 0;
	memcpy(expr, data, len);
	expr[len] = '\0';
	if (nul != NULL)
		parsed = cJSON_ParseWithLength(nul + 1, size - len - 1);
	item = cJSON_Duplicate(cJSON_IsObject(parsed) ? parsed : fixed, 1);
	if (item == NULL)
		goto out;
	before = cJSON_PrintUnformatted(item);
	if (ddb_expr_parse(DDB_EXPR_UPDATE, "UpdateExpression", expr, names, &e, &err) == 0) {
		r = ddb_update_check_keys(&e, values, &keys, &err);
		if (r != 0 && (err.status != 400 || err.message[0] == '\0'))
			__builtin_trap();
		r = ddb_update_apply_indexed(&e, values, index_keys,
					     sizeof(index_keys) / sizeof(index_keys[0]), &item, &err);
		if (r != 0) {
			if ((err.status != 400 && err.status != 500) || err.message[0] == '\0')
				__builtin_trap();
			after = cJSON_PrintUnformatted(item);
			if (before != NULL && after != NULL && strcmp(before, after) != 0)
				__builtin_trap();
		} else {
			const cJSON *m;

			if (!cJSON_IsObject(item))
				__builtin_trap();
			cJSON_ArrayForEach(m, item) {
				/* what the update wrote is well formed; what the input held may not be */
				if (ddb_value_type(m, NULL) == DDB_T_NONE &&
				    (parsed == NULL || cJSON_GetObjectItemCaseSensitive(parsed, m->string) == NULL))
					__builtin_trap();
			}
		}
	}
	ddb_expr_release(&e);
out:
	free(before);
	free(after);
	cJSON_Delete(item);
	cJSON_Delete(parsed);
	free(expr);
	return 0;
}
