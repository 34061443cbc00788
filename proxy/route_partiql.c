/*
 * PartiQL (ExecuteStatement, BatchExecuteStatement, ExecuteTransaction) when tables are
 * configured.  An ExecuteStatement on a configured table is read (ddb_partiql.c) into the
 * classic request that does the same -- Query or Scan, PutItem if absent, UpdateItem if
 * present, DeleteItem -- which then goes the way of any (encrypted, verified, carried out by
 * dynaseal where it must); its answer goes back in PartiQL's shape: Items, and a NextToken
 * that carries the LastEvaluatedKey with an HMAC under a key of this process, so that a
 * client cannot make dynaseal start from a key it did not give out.
 *
 * ExecuteTransaction becomes TransactWriteItems or TransactGetItems; BatchExecuteStatement of
 * SELECTs one BatchGetItem, of writes one ExecuteStatement per statement
 * (route_partiql_batch.c).  Refused: a request of another shape than the operation's (a member
 * it does not define, a statement list that is not a list of statements), which DynamoDB might
 * read where dynaseal did not look.
 */
#include "proxy/route_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "proxy/base/codec.h"
#include "proxy/base/json.h"
#include "proxy/ddb/ddb_partiql.h"
#include "proxy/route_partiql_batch.h"
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
const struct config_table *route_partiql_table(const struct route_state *st, const char *stmt)
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

/* ---- NextToken --------------------------------------------------------------------------- */

static unsigned char token_key[32];
static pthread_once_t token_once = PTHREAD_ONCE_INIT;

static void token_init(void)
{
	if (RAND_bytes(token_key, sizeof(token_key)) != 1)
		abort();        /* no randomness: nothing safe to do */
}

static void token_mac(const char *json, size_t n, char hex[65])
{
	unsigned char mac[32];
	unsigned int len = sizeof(mac);

	pthread_once(&token_once, token_init);
	HMAC(EVP_sha256(), token_key, sizeof(token_key), (const unsigned char *)json, n, mac, &len);
	codec_hex_encode(mac, sizeof(mac), hex);
}

/* NextToken for a LastEvaluatedKey: base64(JSON) "." hex(HMAC(JSON)); malloc'd or NULL. */
static char *token_of(const cJSON *lek)
{
	char *json = json_print(lek, NULL);
	size_t n = json != NULL ? strlen(json) : 0;
	char *tok = json != NULL ? malloc(CODEC_B64_ENC_LEN(n) + 66) : NULL;
	size_t b;

	if (tok != NULL) {
		b = codec_b64_encode((const unsigned char *)json, n, tok);
		tok[b] = '.';
		token_mac(json, n, tok + b + 1);
	}
	cJSON_free(json);
	return tok;
}

/* The LastEvaluatedKey a NextToken carries, or NULL when it is not one this process gave. */
static cJSON *key_of_token(const char *tok)
{
	const char *dot = strrchr(tok, '.');
	size_t n = dot != NULL ? (size_t)(dot - tok) : 0;
	unsigned char *json;
	char hex[65];
	long len;
	cJSON *key = NULL;

	if (dot == NULL || strlen(dot + 1) != 64 || (json = malloc(n + 1)) == NULL)
		return NULL;
	len = codec_b64_decode(tok, n, json);
	if (len >= 0) {
		json[len] = '\0';
		token_mac((const char *)json, (size_t)len, hex);
		if (CRYPTO_memcmp(hex, dot + 1, 64) == 0)
			key = json_parse((const char *)json, (size_t)len, NULL);
	}
	free(json);
	return key;
}

/* ---- ExecuteStatement ---------------------------------------------------------------------- */

static enum route_op classic_op(const char *op)
{
	return strcmp(op, "Query") == 0 ? ROUTE_QUERY : strcmp(op, "Scan") == 0 ? ROUTE_SCAN :
	       strcmp(op, "PutItem") == 0 ? ROUTE_PUT : strcmp(op, "UpdateItem") == 0 ? ROUTE_UPDATE :
	       ROUTE_DELETE;
}

/* Moves the members of from into to (emptied first). */
static void replace_members(cJSON *to, cJSON *from)
{
	cJSON *c;

	while (to->child != NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(to, to->child->string);
	while ((c = from->child) != NULL) {
		cJSON_DetachItemViaPointer(from, c);
		cJSON_AddItemToObject(to, c->string, c);
	}
}

/* The statement on configured table t becomes its classic request, in req's place.  Returns
 * ROUTE_PARTIQL_TRANSLATED, or -1 with st->err set. */
static int translate(struct route_state *st, cJSON *req, const struct ddb_partiql *pq,
		     const struct config_table *t)
{
	static const char *const carried[] = { "ReturnConsumedCapacity",
		"ReturnValuesOnConditionCheckFailure", NULL };
	const cJSON *next = cJSON_GetObjectItemCaseSensitive(req, "NextToken");
	const cJSON *consistent = cJSON_GetObjectItemCaseSensitive(req, "ConsistentRead");
	const cJSON *limit = cJSON_GetObjectItemCaseSensitive(req, "Limit");
	const char *op = NULL;
	struct ds_error e;
	cJSON *classic = ddb_partiql_request(pq, t->partition_key, t->sort_key, &op, &e);

	if (classic == NULL) {
		st->err = e;        /* DynamoDB's own words */
		return -1;
	}
	for (size_t i = 0; carried[i] != NULL; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, carried[i]);
		if (v != NULL)
			cJSON_AddItemToObject(classic, carried[i], cJSON_Duplicate(v, 1));
	}
	if (pq->kind == DDB_PQ_SELECT) {
		if (consistent != NULL)
			cJSON_AddItemToObject(classic, "ConsistentRead", cJSON_Duplicate(consistent, 1));
		if (limit != NULL)
			cJSON_AddItemToObject(classic, "Limit", cJSON_Duplicate(limit, 1));
		if (next != NULL) {
			cJSON *key = cJSON_IsString(next) ? key_of_token(next->valuestring) : NULL;
			if (key == NULL) {
				cJSON_Delete(classic);
				return route_refuse(st, "table \"%s\": ExecuteStatement: the NextToken is not "
						    "one dynaseal gave out (a token is good in the dynaseal "
						    "process that gave it)", t->name);
			}
			cJSON_AddItemToObject(classic, "ExclusiveStartKey", key);
		}
	}
	replace_members(req, classic);
	cJSON_Delete(classic);
	st->partiql_op = op;
	st->partiql_insert = pq->kind == DDB_PQ_INSERT;
	st->op = classic_op(op);
	st->index = pq->index != NULL;
	return ROUTE_PARTIQL_TRANSLATED;
}

/* Whether a statement names a configured table in another letter case: refused then. */
static int other_case(struct route_state *st, const char *name)
{
	const struct config *cfg = st->t->gen->cfg;

	for (size_t i = 0; i < cfg->tables_len; i++)
		if (strcasecmp(cfg->tables[i].name, name) == 0 && strcmp(cfg->tables[i].name, name) != 0)
			return refuse(st, "table \"%s\": %s names it \"%.64s\"; name the table as it is "
				      "spelt", cfg->tables[i].name, st->t->op, name);
	return 0;
}

/* A statement on another table that still mentions a configured one (in a string, a
 * name with bytes DynamoDB refuses in table names...) is refused rather than forwarded: what
 * dynaseal forwards unread names no table it encrypts. */
static int mentions_configured(struct route_state *st, const char *stmt, const char *table)
{
	const struct config_table *t = route_partiql_table(st, stmt);

	if (t == NULL)
		return 0;
	return refuse(st, "table \"%s\": %s: a statement on table \"%.64s\" that mentions \"%s\" "
		      "is refused, not forwarded unread; name the table it reads as it is spelt",
		      t->name, st->t->op, table, t->name);
}

static int execute_statement(struct route_state *st, cJSON *req)
{
	const cJSON *stmt = cJSON_GetObjectItemCaseSensitive(req, "Statement");
	struct ddb_partiql pq;
	struct ds_error e;
	const struct config_table *t;
	int rc;

	if (!cJSON_IsString(stmt))
		return refuse(st, "%s: request.Statement must be a string", st->t->op);
	if (ddb_partiql_parse(stmt->valuestring, cJSON_GetObjectItemCaseSensitive(req, "Parameters"),
			      &pq, &e) != 0) {
		/* Unread: refused if it may name a configured table, else DynamoDB's to answer;
		 * DynamoDB's own errors in its words, dynaseal's refusals naming the table. */
		int refused = pq.refused;
		t = route_partiql_table(st, stmt->valuestring);
		ddb_partiql_free(&pq);
		if (t == NULL)
			return 0;
		st->err = e;
		if (e.status == 400 && refused)
			snprintf(st->err.message, sizeof(st->err.message), "table \"%s\": ExecuteStatement: %s",
				 t->name, e.message);
		return -1;
	}
	t = route_table(st, pq.table);
	if (t == NULL && (other_case(st, pq.table) != 0 ||
			  mentions_configured(st, stmt->valuestring, pq.table) != 0)) {
		/* Refused rather than trusted to be another table: PartiQL reads unquoted names
		 * without regard to case. */
		ddb_partiql_free(&pq);
		return -1;
	}
	rc = t == NULL ? 0 : translate(st, req, &pq, t);
	ddb_partiql_free(&pq);
	if (rc == ROUTE_PARTIQL_TRANSLATED)
		st->involved = 1;
	return rc;
}

/* Sets obj's member name to the string value, in place of the one there or added. */
static void set_string(cJSON *obj, const char *name, const char *value)
{
	cJSON *v = cJSON_CreateString(value);
	int ok;

	if (v == NULL)
		return;
	ok = cJSON_GetObjectItemCaseSensitive(obj, name) != NULL
	     ? cJSON_ReplaceItemInObjectCaseSensitive(obj, name, v)
	     : cJSON_AddItemToObject(obj, name, v);
	if (!ok)
		cJSON_Delete(v);
}

/* An error's message member as the answer spells it: "message" (DynamoDB), else "Message". */
static const char *message_member(const cJSON *doc)
{
	return cJSON_GetObjectItemCaseSensitive(doc, "message") == NULL &&
	       cJSON_GetObjectItemCaseSensitive(doc, "Message") != NULL ? "Message" : "message";
}

/* ExecuteTransaction's cancellation: an INSERT's failed condition is its DuplicateItem, and
 * the message lists the codes as DynamoDB does. */
static void transaction_answer(struct route_state *st, cJSON *doc)
{
	cJSON *reasons = cJSON_GetObjectItemCaseSensitive(doc, "CancellationReasons");
	cJSON *r;
	char msg[512];
	size_t i = 0, len;

	cJSON_DeleteItemFromObjectCaseSensitive(doc, "ItemCollectionMetrics");
	if (!cJSON_IsArray(reasons))
		return;
	len = (size_t)snprintf(msg, sizeof(msg), "Transaction cancelled, please refer cancellation "
			       "reasons for specific reasons [");
	cJSON_ArrayForEach(r, reasons) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(r, "Code");
		if (i < st->partiql_n && st->partiql_inserts[i] && cJSON_IsString(code) &&
		    strcmp(code->valuestring, "ConditionalCheckFailed") == 0) {
			set_string(r, "Code", "DuplicateItem");
			set_string(r, "Message", "Duplicate primary key exists in table");
			cJSON_DeleteItemFromObjectCaseSensitive(r, "Item");
		}
		code = cJSON_GetObjectItemCaseSensitive(r, "Code");
		if (len < sizeof(msg))
			len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s%s", i ? ", " : "",
						cJSON_IsString(code) ? code->valuestring : "None");
		i++;
	}
	if (len < sizeof(msg))
		snprintf(msg + len, sizeof(msg) - len, "]");
	if (cJSON_GetObjectItemCaseSensitive(doc, "message") != NULL)
		set_string(doc, "message", msg);
	else if (cJSON_GetObjectItemCaseSensitive(doc, "Message") != NULL)
		set_string(doc, "Message", msg);
}

/* Whether item has the key key (every member of key, equal). */
static int has_key(const cJSON *item, const cJSON *key)
{
	const cJSON *k;

	cJSON_ArrayForEach(k, key)
		if (!cJSON_Compare(k, cJSON_GetObjectItemCaseSensitive(item, k->string), 1))
			return 0;
	return 1;
}

/* The first of list ([items] or [keys]) with the key key, or NULL. */
static const cJSON *find_key(const cJSON *list, const cJSON *key)
{
	const cJSON *x;

	cJSON_ArrayForEach(x, list)
		if (has_key(x, key))
			return x;
	return NULL;
}

/* BatchGetItem's answer as BatchExecuteStatement's: one response per statement, in order. */
static void batch_answer(struct route_state *st, cJSON *doc)
{
	const cJSON *got = cJSON_GetObjectItemCaseSensitive(doc, "Responses");
	const cJSON *left = cJSON_GetObjectItemCaseSensitive(doc, "UnprocessedKeys");
	cJSON *out = cJSON_CreateArray();
	const cJSON *q;

	if (out == NULL)
		return;
	cJSON_ArrayForEach(q, st->partiql_batch) {
		const char *t = cJSON_GetObjectItemCaseSensitive(q, "TableName")->valuestring;
		const cJSON *key = cJSON_GetObjectItemCaseSensitive(q, "Key");
		const cJSON *item = find_key(cJSON_GetObjectItemCaseSensitive(got, t), key);
		const cJSON *ka = cJSON_GetObjectItemCaseSensitive(left, t);
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "TableName", t);
		if (item != NULL) {
			cJSON *copy = cJSON_Duplicate(item, 1);
			const cJSON *k;
			cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(q, "Strip"))
				cJSON_DeleteItemFromObjectCaseSensitive(copy, k->valuestring);
			cJSON_AddItemToObject(r, "Item", copy);
		} else if (find_key(cJSON_GetObjectItemCaseSensitive(ka, "Keys"), key) != NULL) {
			cJSON *e = cJSON_AddObjectToObject(r, "Error");
			cJSON_AddStringToObject(e, "Code", "ThrottlingError");
			cJSON_AddStringToObject(e, "Message", "DynamoDB left this read unprocessed; "
						"retry the statement");
		}
		cJSON_AddItemToArray(out, r);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(doc, "UnprocessedKeys");
	cJSON_ReplaceItemInObjectCaseSensitive(doc, "Responses", out);
	if (cJSON_GetObjectItemCaseSensitive(doc, "Responses") != out)
		cJSON_AddItemToObject(doc, "Responses", out);
}

void route_partiql_answer(struct route_state *st, cJSON *doc)
{
	cJSON *items;
	cJSON *c;

	if (st->partiql_batch != NULL) {
		if (st->resp->status == 200)
			batch_answer(st, doc);
		return;
	}
	if (st->partiql_n > 0) {
		transaction_answer(st, doc);
		return;
	}
	if ((items = cJSON_CreateArray()) == NULL)
		return;
	if (st->resp->status != 200) {
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(doc, "__type");
		cJSON_Delete(items);
		if (st->partiql_insert && cJSON_IsString(type) &&
		    strstr(type->valuestring, "#ConditionalCheckFailedException") != NULL) {
			/* INSERT of a key that is there. */
			set_string(doc, "__type", "com.amazonaws.dynamodb.v20120810#DuplicateItemException");
			set_string(doc, message_member(doc), "Duplicate primary key exists in table");
			cJSON_DeleteItemFromObjectCaseSensitive(doc, "Item");
		}
		return;
	}
	if ((c = cJSON_DetachItemFromObjectCaseSensitive(doc, "Items")) != NULL) {
		cJSON_Delete(items);
		items = c;
	} else if ((c = cJSON_DetachItemFromObjectCaseSensitive(doc, "Attributes")) != NULL) {
		cJSON_AddItemToArray(items, c);
	}
	c = cJSON_DetachItemFromObjectCaseSensitive(doc, "LastEvaluatedKey");
	if (c != NULL) {
		char *tok = token_of(c);
		cJSON_Delete(c);
		if (tok != NULL)
			cJSON_AddStringToObject(doc, "NextToken", tok);
		free(tok);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(doc, "Count");
	cJSON_DeleteItemFromObjectCaseSensitive(doc, "ScannedCount");
	cJSON_DeleteItemFromObjectCaseSensitive(doc, "ItemCollectionMetrics");
	cJSON_AddItemToObject(doc, "Items", items);
}

/* A list of statements (ExecuteTransaction's, BatchExecuteStatement's), parsed. */
struct stmt_list {
	size_t n;
	struct ddb_partiql *pqs;
	const struct config_table **tables;   /* per statement: configured, or NULL */
	size_t configured, reads;
	int unread;                           /* a statement did not parse (on no configured table) */
	const struct config_table *named;     /* a configured table they name */
};

static void stmt_list_free(struct stmt_list *l)
{
	for (size_t i = 0; l->pqs != NULL && i < l->n; i++)
		ddb_partiql_free(&l->pqs[i]);
	free(l->pqs);
	free(l->tables);
}

/* Parses the statements of list (the member list_name of the operation).  -1 with st->err
 * set when one that may name a configured table is refused, else 0; l->configured == 0 means
 * the request is DynamoDB's to answer.  With several tables or reads and writes mixed beside
 * a configured table: refused, as dynaseal would need the other tables' keys. */
static int read_list(struct route_state *st, const cJSON *list, const char *list_name,
		     struct stmt_list *l)
{
	const char *op = st->t->op;
	const cJSON *s;
	struct ds_error e;
	size_t i = 0;

	memset(l, 0, sizeof(*l));
	l->n = (size_t)cJSON_GetArraySize(list);
	l->pqs = calloc(l->n ? l->n : 1, sizeof(*l->pqs));
	l->tables = calloc(l->n ? l->n : 1, sizeof(*l->tables));
	if (l->pqs == NULL || l->tables == NULL) {
		ds_error_set(&st->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		return -1;
	}
	cJSON_ArrayForEach(s, list) {
		const cJSON *stmt = cJSON_GetObjectItemCaseSensitive(s, "Statement");
		if (!cJSON_IsString(stmt))
			return refuse(st, "%s: %s[%zu].Statement must be a string", op, list_name, i);
		if (ddb_partiql_parse(stmt->valuestring, cJSON_GetObjectItemCaseSensitive(s, "Parameters"),
				      &l->pqs[i], &e) != 0) {
			const struct config_table *t = route_partiql_table(st, stmt->valuestring);
			if (t != NULL) {
				st->err = e;
				if (l->pqs[i].refused)
					snprintf(st->err.message, sizeof(st->err.message), "table \"%s\": "
						 "%s: %s[%zu]: %s", t->name, op, list_name, i, e.message);
				return -1;
			}
			l->unread = 1;
		} else if (other_case(st, l->pqs[i].table) != 0) {
			return -1;
		} else if ((l->tables[i] = route_table(st, l->pqs[i].table)) != NULL) {
			l->configured++;
			l->named = l->tables[i];
			l->reads += l->pqs[i].kind == DDB_PQ_SELECT;
		} else if (mentions_configured(st, stmt->valuestring, l->pqs[i].table) != 0) {
			return -1;
		}
		i++;
	}
	if (l->configured == 0)
		return 0;
	if (l->configured < l->n || l->unread)
		return refuse(st, "table \"%s\": %s has statements on it and on other tables; dynaseal "
			      "carries out a list whose statements are all on tables it encrypts: send "
			      "the others apart", l->named->name, op);
	if (l->reads != 0 && l->reads != l->n)
		return refuse(st, "table \"%s\": %s mixes SELECT with writes; a list reads only or "
			      "writes only", l->named->name, op);
	return 0;
}

/* The request becomes out (taken), a classic request of operation op. */
static int become(struct route_state *st, cJSON *req, cJSON *out, const cJSON *from,
		  enum route_op op, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, "ReturnConsumedCapacity");

	if (v != NULL)
		cJSON_AddItemToObject(out, "ReturnConsumedCapacity", cJSON_Duplicate(v, 1));
	replace_members(req, out);
	cJSON_Delete(out);
	st->op = op;
	st->partiql_op = name;
	st->involved = 1;
	return ROUTE_PARTIQL_TRANSLATED;
}

/*
 * ExecuteTransaction with statements on configured tables: its classic equivalent, in req's
 * place -- TransactWriteItems (INSERT as a Put if absent, UPDATE, DELETE) or, when every
 * statement is a SELECT of one item by its key, TransactGetItems.
 */
static int execute_transaction(struct route_state *st, cJSON *req, const cJSON *list)
{
	struct stmt_list l;
	cJSON *out = cJSON_CreateObject(), *items = out != NULL ? cJSON_AddArrayToObject(out, "TransactItems") : NULL;
	const cJSON *v;
	struct ds_error e;
	int rc = -1;

	if (read_list(st, list, "TransactStatements", &l) != 0 || l.configured == 0) {
		rc = l.configured == 0 && st->err.status == 0 ? 0 : -1;
		goto out;
	}
	st->partiql_inserts = calloc(l.n ? l.n : 1, 1);
	if (items == NULL || st->partiql_inserts == NULL) {
		ds_error_set(&st->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		cJSON *act = ddb_partiql_action(&l.pqs[i], l.tables[i]->partition_key,
						l.tables[i]->sort_key, &e);
		if (act == NULL) {
			st->err = e;
			goto out;
		}
		cJSON_AddItemToArray(items, act);
		st->partiql_inserts[i] = l.pqs[i].kind == DDB_PQ_INSERT;
	}
	if (l.reads == 0 && (v = cJSON_GetObjectItemCaseSensitive(req, "ClientRequestToken")) != NULL)
		cJSON_AddItemToObject(out, "ClientRequestToken", cJSON_Duplicate(v, 1));
	st->partiql_n = l.n;
	rc = become(st, req, out, req, l.reads ? ROUTE_TRANSACT_GET : ROUTE_TRANSACT_WRITE,
		    l.reads ? "TransactGetItems" : "TransactWriteItems");
	out = NULL;
out:
	stmt_list_free(&l);
	cJSON_Delete(out);
	return rc;
}

/* Whether the projection of ka (placeholders only, as ddb_partiql writes them) reads the
 * top-level attribute name. */
static int projects(const cJSON *ka, const char *name)
{
	const char *p = cJSON_GetObjectItemCaseSensitive(ka, "ProjectionExpression")->valuestring;
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(ka, "ExpressionAttributeNames");

	while (*p != '\0') {
		size_t n = strcspn(p, ".[, ");
		char ph[24];
		const cJSON *v;
		snprintf(ph, sizeof(ph), "%.*s", (int)(n < 23 ? n : 23), p);
		v = cJSON_GetObjectItemCaseSensitive(names, ph);
		if (cJSON_IsString(v) && strcmp(v->valuestring, name) == 0)
			return 1;
		p = strchr(p, ',');             /* the next path's first name */
		if (p == NULL)
			break;
		p += strspn(p, ", ");
	}
	return 0;
}

/* Whether a and b have equal members name (both absent counts as equal). */
static int same_member(const cJSON *a, const cJSON *b, const char *name)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, name);
	const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, name);

	return (x == NULL && y == NULL) || (x != NULL && y != NULL && cJSON_Compare(x, y, 1));
}

/* The key attributes a projection leaves out are read too, to tell the answers apart, and
 * noted ("Strip") to be removed once matched. */
static void add_keys(cJSON *ka, const struct config_table *t)
{
	const char *keys[] = { t->partition_key, t->sort_key };
	cJSON *expr = cJSON_GetObjectItemCaseSensitive(ka, "ProjectionExpression");
	cJSON *names = cJSON_GetObjectItemCaseSensitive(ka, "ExpressionAttributeNames");
	cJSON *strip = cJSON_AddArrayToObject(ka, "Strip");

	for (size_t i = 0; i < 2 && strip != NULL && names != NULL; i++) {
		char ph[8], *text;
		if (keys[i] == NULL || projects(ka, keys[i]))
			continue;
		snprintf(ph, sizeof(ph), "#k%zu", i);
		if (asprintf(&text, "%s, %s", expr->valuestring, ph) < 0)
			return;
		cJSON_SetValuestring(expr, text);
		free(text);
		cJSON_AddStringToObject(names, ph, keys[i]);
		cJSON_AddItemToArray(strip, cJSON_CreateString(keys[i]));
	}
}

/*
 * BatchExecuteStatement on configured tables: more than 25 statements refused whole, as
 * DynamoDB refuses them; writes carried out one by one (route_partiql_batch.c); SELECTs, each
 * of one item by its key, a BatchGetItem, its answer in the statements' order
 * (route_partiql_answer).
 */
static int batch_execute(struct route_state *st, cJSON *req, const cJSON *list)
{
	struct stmt_list l = { 0 };
	cJSON *out = NULL, *ri = NULL;
	struct ds_error e;
	const cJSON *s;
	int rc;

	if (cJSON_GetArraySize(list) > ROUTE_PARTIQL_BATCH_MAX) {
		cJSON_ArrayForEach(s, list) {
			const cJSON *stmt = cJSON_GetObjectItemCaseSensitive(s, "Statement");
			if (cJSON_IsString(stmt) && route_partiql_table(st, stmt->valuestring) != NULL)
				return refuse(st, "1 validation error detected: Value at 'statements' failed "
					      "to satisfy constraint: Member must have length less than or "
					      "equal to %d", ROUTE_PARTIQL_BATCH_MAX);
		}
	}
	rc = route_partiql_batch_prepare(st, req, list);
	if (rc != 0)
		return rc < 0 ? -1 : ROUTE_PARTIQL_BATCH;
	rc = -1;
	s = list->child;
	out = cJSON_CreateObject();
	ri = out != NULL ? cJSON_AddObjectToObject(out, "RequestItems") : NULL;
	if (read_list(st, list, "Statements", &l) != 0 || l.configured == 0) {
		rc = l.configured == 0 && st->err.status == 0 ? 0 : -1;
		goto out;
	}
	st->partiql_batch = cJSON_CreateArray();
	if (ri == NULL || st->partiql_batch == NULL) {
		ds_error_set(&st->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		goto out;
	}
	for (size_t i = 0; i < l.n; i++, s = s->next) {
		cJSON *act = ddb_partiql_action(&l.pqs[i], l.tables[i]->partition_key,
						l.tables[i]->sort_key, &e);
		cJSON *get = act != NULL ? cJSON_DetachItemFromObjectCaseSensitive(act, "Get") : NULL;
		cJSON *ka, *keys, *proj;
		const cJSON *cr = cJSON_GetObjectItemCaseSensitive(s, "ConsistentRead");
		cJSON_Delete(act);
		if (get == NULL) {
			st->err = e;
			goto out;
		}
		ka = cJSON_GetObjectItemCaseSensitive(ri, l.tables[i]->name);
		if (ka == NULL) {
			/* The first SELECT on a table sets what is read of its items. */
			ka = cJSON_AddObjectToObject(ri, l.tables[i]->name);
			cJSON_AddArrayToObject(ka, "Keys");
			/* What the statements ask for, to compare the next ones with. */
			cJSON_AddItemToObject(ka, "Asked", cJSON_Duplicate(get, 1));
			if ((proj = cJSON_GetObjectItemCaseSensitive(get, "ProjectionExpression")) != NULL) {
				cJSON_AddItemToObject(ka, "ProjectionExpression", cJSON_Duplicate(proj, 1));
				cJSON_AddItemToObject(ka, "ExpressionAttributeNames", cJSON_Duplicate(
					cJSON_GetObjectItemCaseSensitive(get, "ExpressionAttributeNames"), 1));
				add_keys(ka, l.tables[i]);
			}
		} else if (!same_member(cJSON_GetObjectItemCaseSensitive(ka, "Asked"), get, "ProjectionExpression") ||
			   !same_member(cJSON_GetObjectItemCaseSensitive(ka, "Asked"), get,
					"ExpressionAttributeNames")) {
			cJSON_Delete(get);
			refuse(st, "table \"%s\": BatchExecuteStatement selects different attributes of it "
			       "in Statements[%zu]; select the same ones in every statement on a table, or "
			       "send them apart", l.tables[i]->name, i);
			goto out;
		}
		if (cJSON_IsTrue(cr) && cJSON_GetObjectItemCaseSensitive(ka, "ConsistentRead") == NULL)
			cJSON_AddTrueToObject(ka, "ConsistentRead");
		if (cJSON_GetObjectItemCaseSensitive(ka, "Strip") != NULL)
			cJSON_AddItemToObject(get, "Strip", cJSON_Duplicate(
				cJSON_GetObjectItemCaseSensitive(ka, "Strip"), 1));
		keys = cJSON_GetObjectItemCaseSensitive(ka, "Keys");
		cJSON_AddItemToArray(keys, cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(get, "Key"), 1));
		/* What the answer is matched by: the table and the key. */
		cJSON_DeleteItemFromObjectCaseSensitive(get, "ProjectionExpression");
		cJSON_DeleteItemFromObjectCaseSensitive(get, "ExpressionAttributeNames");
		cJSON_AddItemToArray(st->partiql_batch, get);
	}
	for (cJSON *t = ri->child; t != NULL; t = t->next) {
		cJSON_DeleteItemFromObjectCaseSensitive(t, "Strip");
		cJSON_DeleteItemFromObjectCaseSensitive(t, "Asked");
	}
	rc = become(st, req, out, req, ROUTE_BATCH_GET, "BatchGetItem");
	out = NULL;
out:
	stmt_list_free(&l);
	cJSON_Delete(out);
	return rc;
}

int route_partiql_prepare(struct route_state *st, cJSON *req)
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
		return execute_statement(st, req);
	list = cJSON_GetObjectItemCaseSensitive(req, list_name);
	if (!cJSON_IsArray(list))
		return refuse(st, "%s: %s must be a list of statements", op, list_name);
	cJSON_ArrayForEach(s, list) {
		snprintf(where, sizeof(where), "%s[%d]", list_name, i++);
		if (!cJSON_IsObject(s))
			return refuse(st, "%s: %s must be an object with a Statement", op, where);
		if (check_partiql_members(st, s, inner, where) != 0)
			return -1;
	}
	return inner == params_transact_statement ? execute_transaction(st, req, list)
						  : batch_execute(st, req, list);
}
