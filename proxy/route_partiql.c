/*
 * PartiQL (ExecuteStatement, BatchExecuteStatement, ExecuteTransaction) when tables are
 * configured: dynaseal cannot rewrite statements, so a statement that names a configured table
 * is refused, and so is a request of another shape than the operation's (a member it does not
 * define, a statement list that is not a list of statements), which DynamoDB might read where
 * dynaseal did not look.
 */
#include "proxy/route_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proxy/worker.h"

#define refuse route_refuse

/* A character that continues a table name (DynamoDB's [A-Za-z0-9_.-], less the '.' that in
 * PartiQL also joins a table and its index: "users.byEmail" reads table users). */
static int partiql_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/*
 * Whether a PartiQL statement mentions a configured table: its name as a word (or a quoted
 * identifier), in any letter case, followed or not by an index.  Coarser than a parser on
 * purpose: a statement that only might name the table is refused, never sent unread.
 */
static const struct config_table *partiql_table(const struct route_state *st, const char *stmt)
{
	const struct config *cfg = st->t->gen->cfg;

	for (size_t i = 0; i < cfg->tables_len; i++) {
		const char *name = cfg->tables[i].name;
		size_t n = strlen(name);
		for (const char *p = stmt; *p != '\0'; p++) {
			if (strncasecmp(p, name, n) != 0)
				continue;
			if ((p == stmt || !partiql_name_char(p[-1])) && !partiql_name_char(p[n]))
				return &cfg->tables[i];
		}
	}
	return NULL;
}

/*
 * The members of the PartiQL operations (API reference): anything else is refused, whatever
 * it holds, because a statement list DynamoDB reads and dynaseal does not would carry
 * plaintext past it.
 */
static const char *const params_execute_statement[] = { "Statement", "Parameters", "ConsistentRead",
	"NextToken", "ReturnConsumedCapacity", "Limit", "ReturnValuesOnConditionCheckFailure", NULL };
static const char *const params_batch_execute[] = { "Statements", "ReturnConsumedCapacity", NULL };
static const char *const params_batch_statement[] = { "Statement", "Parameters", "ConsistentRead",
	"ReturnValuesOnConditionCheckFailure", NULL };
static const char *const params_execute_transaction[] = { "TransactStatements",
	"ClientRequestToken", "ReturnConsumedCapacity", NULL };
static const char *const params_transact_statement[] = { "Statement", "Parameters", NULL };

/* Refuses a member of obj that is not in allowed (NULL-terminated). */
static int check_partiql_members(struct route_state *st, const cJSON *obj, const char *const *allowed,
				 const char *where)
{
	for (const cJSON *c = obj->child; c != NULL; c = c->next) {
		size_t i = 0;
		while (allowed[i] != NULL && strcmp(allowed[i], c->string) != 0)
			i++;
		if (allowed[i] == NULL)
			return refuse(st, "%s%s%s has the member \"%.64s\", which the operation does "
				      "not define; dynaseal refuses it rather than forward what it has not "
				      "read: remove it", st->t->op, *where ? " " : "", where, c->string);
	}
	return 0;
}

/* One statement: a string that names no configured table. */
static int check_statement(struct route_state *st, const cJSON *stmt, const char *where)
{
	const struct config_table *t;

	if (!cJSON_IsString(stmt))
		return refuse(st, "%s: %s.Statement must be a string", st->t->op, where);
	t = partiql_table(st, stmt->valuestring);
	if (t == NULL)
		return 0;
	return refuse(st, "table \"%s\": %s (PartiQL) cannot be used on a table dynaseal encrypts, "
		      "because dynaseal cannot rewrite statements; use PutItem, GetItem, UpdateItem, "
		      "DeleteItem, Query, Scan and their batch and transaction forms",
		      t->name, st->t->op);
}

int route_partiql_prepare(struct route_state *st, const cJSON *req)
{
	const char *op = st->t->op;
	const char *list_name = NULL;
	const char *const *outer;
	const char *const *inner = NULL;
	const cJSON *list;
	const cJSON *s;
	char where[64];
	int i = 0;

	if (strcmp(op, "ExecuteStatement") == 0) {
		outer = params_execute_statement;
	} else if (strcmp(op, "BatchExecuteStatement") == 0) {
		outer = params_batch_execute;
		inner = params_batch_statement;
		list_name = "Statements";
	} else {
		outer = params_execute_transaction;
		inner = params_transact_statement;
		list_name = "TransactStatements";
	}
	if (check_partiql_members(st, req, outer, "") != 0)
		return -1;
	if (list_name == NULL)
		return check_statement(st, cJSON_GetObjectItemCaseSensitive(req, "Statement"), "request");
	list = cJSON_GetObjectItemCaseSensitive(req, list_name);
	if (!cJSON_IsArray(list))
		return refuse(st, "%s: %s must be a list of statements", op, list_name);
	cJSON_ArrayForEach(s, list) {
		snprintf(where, sizeof(where), "%s[%d]", list_name, i++);
		if (!cJSON_IsObject(s))
			return refuse(st, "%s: %s must be an object with a Statement", op, where);
		if (check_partiql_members(st, s, inner, where) != 0 ||
		    check_statement(st, cJSON_GetObjectItemCaseSensitive(s, "Statement"), where) != 0)
			return -1;
	}
	return 0;
}

