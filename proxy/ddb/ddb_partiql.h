/*
 * DynamoDB's PartiQL statements (ExecuteStatement) read into the request of the classic API
 * that does the same (Developer Guide, "PartiQL - a SQL-compatible query language for Amazon
 * DynamoDB": its SELECT, INSERT, UPDATE and DELETE statements):
 *
 *   SELECT * | path, ... FROM "table"[."index"] [WHERE condition]   Query or Scan
 *   INSERT INTO "table" VALUE {'attr': value, ...}                  PutItem, if absent
 *   UPDATE "table" SET path = value ... REMOVE path ... WHERE key [AND condition]
 *          [RETURNING ALL|MODIFIED OLD|NEW *]                       UpdateItem, if present
 *   DELETE FROM "table" WHERE key [AND condition] [RETURNING ALL OLD *]   DeleteItem
 *
 * Names become #qN placeholders and values :qN ones, so the expressions are read and
 * evaluated by the same code as the application's own.  Values are PartiQL literals ('text',
 * numbers, TRUE, FALSE, NULL, [lists], {'maps'}, <<sets>>) or '?' parameters.  What has no
 * classic equivalent (EXISTS, aggregates, joins) is refused, naming it.
 */
#ifndef DS_DDB_PARTIQL_H
#define DS_DDB_PARTIQL_H

#include <cjson/cJSON.h>

#include "proxy/base/error.h"

enum ddb_partiql_kind { DDB_PQ_SELECT, DDB_PQ_INSERT, DDB_PQ_UPDATE, DDB_PQ_DELETE };

/* One conjunct of a WHERE clause's top-level AND: its text, and, when it is "name = value"
 * on a top-level attribute, that name and value (for keys). */
struct ddb_pq_conj {
	char *text;
	char *eq_name;           /* NULL unless name = value */
	cJSON *eq_value;         /* borrowed from values */
	char **names;            /* the top-level attributes it reads */
	size_t names_len;
};

struct ddb_partiql {
	enum ddb_partiql_kind kind;
	char *table;
	char *index;             /* SELECT ... FROM "t"."i", else NULL */
	char *projection;        /* SELECT's paths, NULL for * */
	struct ddb_pq_conj *where;
	size_t where_len;
	char *set;               /* UPDATE: "SET ..." clauses joined, NULL when none */
	char *remove;            /* UPDATE: "REMOVE ...", NULL when none */
	char *add;               /* UPDATE: set_add as "ADD ..." */
	char *del;               /* UPDATE: set_delete as "DELETE ..." */
	const char *returning;   /* ReturnValues, NULL when none */
	cJSON *item;             /* INSERT's value (a map of attribute values) */
	cJSON *names;            /* ExpressionAttributeNames: #qN -> name */
	cJSON *values;           /* ExpressionAttributeValues: :qN -> value */
	int refused;             /* the parse failed on what DynamoDB runs but dynaseal does not */
};

/*
 * Reads stmt with its Parameters (a list of attribute values, or NULL).  0, or -1 with err
 * set to DynamoDB's ValidationException for a statement it would not accept, or to a refusal
 * naming the clause dynaseal cannot carry out.
 */
int ddb_partiql_parse(const char *stmt, const cJSON *params, struct ddb_partiql *out,
		      struct ds_error *err);
/*
 * The classic request for out on a table with partition key pk and sort key sk (or NULL):
 * *op becomes its operation ("Query", "Scan", "PutItem", "UpdateItem", "DeleteItem").
 * NULL with err set when the statement cannot be carried out (an UPDATE or DELETE without
 * the whole key) or out of memory.
 */
cJSON *ddb_partiql_request(const struct ddb_partiql *pq, const char *pk, const char *sk,
			   const char **op, struct ds_error *err);
/*
 * The statement as one action of ExecuteTransaction's classic equivalent: {"Put": ...},
 * {"Update": ...} or {"Delete": ...} of TransactWriteItems, {"Get": ...} of TransactGetItems (a
 * SELECT of one item by its whole key).  NULL with err set when it cannot be one.
 */
cJSON *ddb_partiql_action(const struct ddb_partiql *pq, const char *pk, const char *sk,
			  struct ds_error *err);
void ddb_partiql_free(struct ddb_partiql *pq);

#endif
