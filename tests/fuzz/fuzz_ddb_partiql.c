/*
 * libFuzzer target for PartiQL statements (proxy/ddb/ddb_partiql.c).  Input: the statement, a
 * NUL byte, then its Parameters as JSON (absent: none).  Properties: no crash, leak or
 * out-of-bounds read; a refusal is a 400 or 500 that says why; and whatever is accepted becomes
 * a classic request (on a table keyed pk, sk) whose every expression parses (ddb_expr.c) with
 * its names and values, and uses only placeholders the request defines; and as a transaction's
 * action, one action object or a refusal that says why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/ddb/ddb_expr.h"
#include "proxy/ddb/ddb_partiql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_expr(const cJSON *req, const char *param, enum ddb_expr_kind kind)
{
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(req, param);
	const cJSON *values = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeValues");
	struct ds_error err = { 0 };
	struct ddb_expr e;
	const cJSON *v;

	if (text == NULL)
		return;
	if (!cJSON_IsString(text))
		__builtin_trap();
	if (ddb_expr_parse(kind, param, text->valuestring,
			   cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeNames"), &e, &err) != 0) {
		/* What the statement itself asks wrongly (a reserved word, a function misused) is
		 * DynamoDB's refusal too; a syntax error means the translation wrote an expression
		 * it should not have. */
		if (strstr(err.message, "reserved keyword") == NULL && strstr(err.message, "nested deeper") == NULL &&
		    strstr(err.message, "longer than") == NULL && strstr(err.message, "redundant parentheses") == NULL &&
		    strstr(err.message, "Invalid function name") == NULL &&
		    strstr(err.message, "The function is not allowed") == NULL &&
		    strstr(err.message, "requires a document path") == NULL &&
		    strstr(err.message, "Incorrect number of operands") == NULL)
			__builtin_trap();
		ddb_expr_release(&e);
		return;
	}
	ddb_expr_release(&e);
	cJSON_ArrayForEach(v, values)
		if (!cJSON_IsObject(v) || v->child == NULL)
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t n = nul != NULL ? (size_t)(nul - data) : size;
	char *stmt = malloc(n + 1);
	cJSON *params = NULL, *req;
	struct ddb_partiql pq;
	struct ds_error err;
	const char *op = NULL;

	if (stmt == NULL)
		return 0;
	memcpy(stmt, data, n);
	stmt[n] = '\0';
	if (nul != NULL)
		params = cJSON_ParseWithLength((const char *)nul + 1, size - n - 1);
	if (ddb_partiql_parse(stmt, params, &pq, &err) != 0) {
		if ((err.status != 400 && err.status != 500) || err.message[0] == '\0')
			__builtin_trap();
	} else if ((req = ddb_partiql_request(&pq, "pk", data[0] & 1 ? "sk" : NULL, &op, &err)) == NULL) {
		if (err.status != 400 || err.message[0] == '\0')
			__builtin_trap();
	} else {
		if (op == NULL || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(req, "TableName")))
			__builtin_trap();
		check_expr(req, "KeyConditionExpression", DDB_EXPR_CONDITION);
		check_expr(req, "FilterExpression", DDB_EXPR_CONDITION);
		check_expr(req, "ConditionExpression", DDB_EXPR_CONDITION);
		check_expr(req, "UpdateExpression", DDB_EXPR_UPDATE);
		check_expr(req, "ProjectionExpression", DDB_EXPR_PROJECTION);
		cJSON_Delete(req);
	}
	if (err.status == 0 || pq.table != NULL) {
		/* As a transaction's action: an object of one action, or a refusal. */
		cJSON *act = pq.table != NULL ? ddb_partiql_action(&pq, "pk", "sk", &err) : NULL;
		if (pq.table != NULL && act == NULL && (err.status == 0 || err.message[0] == '\0'))
			__builtin_trap();
		if (act != NULL && (act->child == NULL || act->child->next != NULL ||
				    !cJSON_IsObject(act->child)))
			__builtin_trap();
		cJSON_Delete(act);
	}
	ddb_partiql_free(&pq);
	cJSON_Delete(params);
	free(stmt);
	return 0;
}
