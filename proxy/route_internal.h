/*
 * Shared by route.c (requests) and route_resp.c (responses): the state a transaction on a
 * configured table carries from its request to its response.
 */
#ifndef DS_ROUTE_INTERNAL_H
#define DS_ROUTE_INTERNAL_H

#include <cjson/cJSON.h>

#include "config/config.h"
#include "crypto/keyring/keyring.h"
#include "proxy/ddb/crypt_batch.h"
#include "proxy/ddb/ddb_expr.h"
#include "proxy/base/error.h"
#include "proxy/net/http.h"
#include "proxy/txn.h"

/* The operations that carry items, and PartiQL, which is refused on configured tables. */
enum route_op {
	ROUTE_OTHER = 0,
	ROUTE_PUT,
	ROUTE_GET,
	ROUTE_DELETE,
	ROUTE_UPDATE,
	ROUTE_QUERY,
	ROUTE_SCAN,
	ROUTE_BATCH_GET,
	ROUTE_BATCH_WRITE,
	ROUTE_TRANSACT_GET,
	ROUTE_TRANSACT_WRITE,
	ROUTE_PARTIQL,
	ROUTE_CONDITION_CHECK,             /* a transaction's ConditionCheck action */
	ROUTE_TABLE_ADMIN,                 /* CreateTable, UpdateTable, DescribeTable */
};

/* What a single-item write's ReturnValues asked back, which decides how the answer's
 * Attributes are read (route_resp.c). */
enum route_return {
	ROUTE_RETURN_NONE = 0,             /* absent, NONE, or a value DynamoDB refuses: nothing */
	ROUTE_RETURN_ALL,                  /* ALL_OLD, ALL_NEW: a whole item */
	ROUTE_RETURN_UPDATED,              /* UPDATED_OLD, UPDATED_NEW: the attributes written */
};

/* A read's table and its original projection, to strip what verification added. */
struct route_proj {
	const struct config_table *table;  /* NULL when the part names no configured table */
	struct ddb_projection proj;        /* the application's ProjectionExpression */
	int has_proj;                      /* proj is filled */
	char *name;                        /* BatchGetItem: the RequestItems key (table name) */
	cJSON *original;                   /* BatchGetItem: the KeysAndAttributes as sent */
	char *nested;                      /* a projection with nested paths: its text and */
	cJSON *nested_names;               /* names, to cut the answer to them (whole signed
					    * attributes are fetched and verified) */
};

/* A response item and the projection it must be trimmed to after decryption. */
struct route_strip {
	cJSON *item;
	const struct route_proj *rp;
};

/* One transaction's state between its request and its response. */
struct route_state {
	struct txn *t;                     /* the exchange */
	enum route_op op;
	cJSON *req;                        /* the parsed request (owned by batch) */
	struct crypt_batch *batch;         /* the items being encrypted or decrypted */
	int involved;                      /* a configured table is concerned */
	const struct config_table *table;  /* single-table operations */
	int index;                         /* Query/Scan: the request names an IndexName */
	int legacy_updates;                /* UpdateItem: written from AttributeUpdates */
	int legacy_expected;               /* Put, Update, Delete: ConditionExpression from Expected */
	int legacy_query_filter;           /* Query: its FilterExpression was a QueryFilter */
	int legacy_filter;                 /* Query, Scan: ... a QueryFilter or a ScanFilter */
	enum route_return ret;             /* single-table operations: the request's ReturnValues */
	const char *ret_name;              /* its value as DynamoDB spells it (static), "NONE" */
	struct route_proj *projs;          /* one per read part: [0] for single-table reads,
					    * per RequestItems entry, per TransactItems index */
	size_t projs_len;
	cJSON *original;                   /* BatchWriteItem: RequestItems before encryption */
	struct http_msg *resp;             /* the upstream response being decrypted */
	struct route_strip *strips;        /* decrypted items to trim to their projection */
	size_t strips_len, strips_cap;
	struct route_rmw *rmw;             /* UpdateItem carried out by dynaseal (route_rmw.c) */
	struct route_tx *tx;               /* TransactWriteItems actions it carries out (route_tx.c) */
	struct route_filter *filter;       /* a filter dynaseal applies (route_filter.c) */
	struct route_beacon *beacon;       /* conditions in beacon form (route_beacon.c) */
	struct route_index *idx;           /* Query/Scan of an index: its entries' items
					    * read from the table (route_index.c) */
	const char *partiql_op;            /* ExecuteStatement carried out as this operation */
	int partiql_insert;                /* ... for an INSERT */
	unsigned char *partiql_inserts;    /* ExecuteTransaction: which statements are INSERTs */
	size_t partiql_n;                  /* ... of how many (0: not a transaction) */
	cJSON *partiql_batch;              /* BatchExecuteStatement: each statement's table and key */
	struct route_partiql_batch *pq_batch; /* BatchExecuteStatement writes, carried out one by
					    * one (route_partiql_batch.c) */
	struct ds_error err;               /* the refusal being answered */
};

/* Sets st->err to dynaseal's out-of-memory 500 (retryable); returns -1. */
int route_oom(struct route_state *st);
/* Widens obj's ProjectionExpression (a read of table t) to what verification needs, keeping
 * the application's in rp to cut the answer back (route_proj.c).  0, or -1 with st->err set;
 * nothing to do without a projection. */
int route_extend_projection(struct route_state *st, const struct config_table *t, cJSON *obj,
			    struct route_proj *rp);
/* Sets st->err to a 400 ValidationException with the message; returns -1. */
int route_refuse(struct route_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Checks a PartiQL request (route_partiql.c): 0 when it names no configured table, -1 with
 * st->err set when it is refused, ROUTE_PARTIQL_TRANSLATED when req now holds the classic
 * request that does what the statement does (st->op, st->partiql_op set). */
#define ROUTE_PARTIQL_TRANSLATED 2
/* ... or ROUTE_PARTIQL_BATCH when st->pq_batch carries the statements out. */
#define ROUTE_PARTIQL_BATCH 3
int route_partiql_prepare(struct route_state *st, cJSON *req);
/* The configured table a PartiQL statement mentions (its name as a word, in any letter case),
 * or NULL: coarser than a parser on purpose. */
const struct config_table *route_partiql_table(const struct route_state *st, const char *stmt);
/* A translated statement's answer (st->resp) in PartiQL's shape. */
void route_partiql_answer(struct route_state *st, cJSON *doc);
/* DynamoDB refuses an ExpressionAttributeNames or ExpressionAttributeValues (param) that is
 * empty or holds a placeholder none of the n expressions uses: refuses it in its words ("Value
 * provided in ExpressionAttributeValues unused in expressions: keys: {:a, :b}"); map may be
 * NULL.  Returns 0 or -1. */
int route_check_unused(struct route_state *st, const cJSON *map, const char *param,
		       const char *const *exprs, size_t n);
/* A key (Key, Keys[], DeleteRequest.Key: primary_only; ExclusiveStartKey) holds key
 * attributes only, never an encrypted one: else refused in DynamoDB's words for such a key
 * ("The provided key element does not match the schema").  0 or -1. */
int route_check_key(struct route_state *st, const struct config_table *t, const cJSON *key,
		    int primary_only);
/* The expression parameter param of obj, of grammar kind, if present: refused when it cannot
 * be read, references a reserved attribute, compares an encrypted one or (an update) writes a
 * signed one.  0 or -1. */
int route_check_expr(struct route_state *st, const struct config_table *t, const cJSON *obj,
		     const char *param, enum ddb_expr_kind kind);
/* DynamoDB's limit on an application's own expressions (DDB_EXPR_APP_MAX bytes each, as sent):
 * refused in its words.  Called before the legacy parameters become expressions, which may be
 * longer (dynaseal evaluates those it cannot send).  0 or -1. */
int route_check_expr_sizes(struct route_state *st, const cJSON *obj);
/* Every expression parameter of obj (route_check_expr).  0 or -1. */
int route_check_exprs(struct route_state *st, const struct config_table *t, const cJSON *obj);
/* The key schema the worker learned for configured table t (table_schema_cache.h), or NULL
 * when not known: valid while the request is being prepared (table_schema_hold it for longer). */
struct table_schema;
struct table_schema *route_schema(const struct route_state *st, const struct config_table *t);
/* DynamoDB's refusal of a path below a key attribute: below one of t's own keys ("Key
 * attributes must be scalars; ...: Key: pk"), then below one of the index keys of s (may be
 * NULL: not known) ("...: IndexKey: c").  The paths are those of the parsed expression tree
 * expr, or of the projection proj (one of them NULL).  0 or -1. */
struct ddb_projection;
int route_check_key_paths(struct route_state *st, const struct config_table *t,
			  const struct table_schema *s, const struct ddb_node *expr,
			  const struct ddb_projection *proj);
/* The configured table of that name, or NULL. */
const struct config_table *route_table(const struct route_state *st, const char *name);
/* The worker's keyring for a configured table. */
struct keyring *route_keyring(const struct route_state *st, const struct config_table *table);
/* A crypt batch over doc (which it takes, also on failure: NULL when out of memory) that
 * audits, counts and holds the configuration as the transaction's. */
struct crypt_batch *route_batch_new(struct route_state *st, cJSON *doc);
/* Records the ReturnValues of a single-table request in st (route_resp.c). */
void route_note_return_values(struct route_state *st, const cJSON *req);
/* The upstream's answer to a rewritten request (route_resp.c). */
void route_response_cb(void *arg, struct http_msg *resp, const struct ds_error *err);
/* Answers with doc (taken), the JSON of st->resp (success: a 2xx), once its items are
 * verified, decrypted, filtered and cut to their projection (route_resp.c). */
void route_answer_items(struct route_state *st, cJSON *doc, int success);

#endif
