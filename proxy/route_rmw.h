/*
 * UpdateItem on protected attributes, carried out by dynaseal (read, verify, evaluate, apply,
 * encrypt, write back conditionally): see route_rmw.c.
 */
#ifndef DS_ROUTE_RMW_H
#define DS_ROUTE_RMW_H

#include <cjson/cJSON.h>

#include <event2/event.h>

#include "proxy/net/http.h"
#include "proxy/net/upstream.h"

#include "config/config.h"
#include "proxy/ddb/ddb_expr.h"
#include "proxy/route_internal.h"

struct route_state;
struct event;

enum rmw_return { RMW_NONE, RMW_ALL_OLD, RMW_ALL_NEW, RMW_UPDATED_OLD, RMW_UPDATED_NEW };

/* One write action dynaseal carries out: a single request's (route_rmw.c) or one of a
 * transaction's actions (route_tx.c). */
struct route_rmw {
	enum route_op op;           /* ROUTE_UPDATE, ROUTE_PUT, ROUTE_DELETE, ROUTE_CONDITION_CHECK */
	cJSON *req;                 /* the application's request or action (dynaseal's own copy) */
	cJSON *key;                 /* the item's key */
	int has_update;             /* update is parsed */
	const struct config_table *table;
	struct ddb_expr update;     /* its UpdateExpression, parsed */
	struct ddb_expr cond;       /* its ConditionExpression, parsed when has_cond */
	int has_cond;
	const cJSON *values;        /* ExpressionAttributeValues in req, or NULL */
	cJSON *written;             /* DO_NOTHING attributes the update writes (names: true) */
	cJSON *read;                /* DO_NOTHING attributes the request reads */
	enum rmw_return ret;        /* ReturnValues */
	int ccf_all_old;            /* ReturnValuesOnConditionCheckFailure is ALL_OLD */
	int attempts;               /* reads started */
	struct http_msg *read_resp; /* DynamoDB's answer to the last read (its head is reused) */
	cJSON *raw;                 /* the item as stored, NULL when missing */
	cJSON *plain;               /* the item verified and decrypted, NULL when missing */
	struct crypt_batch *batch;  /* the decryption or encryption under way */
	struct event *pause;        /* the wait before another attempt */
	int deferred;               /* forwarded first; carried out only if it found no item */
	struct table_schema *schema; /* a single UpdateItem: the table's key schema it was
				      * checked against (held), applied with its index keys */
};

/*
 * The action req (an UpdateItem, PutItem or DeleteItem request, or a transaction's action) on
 * table t, when dynaseal must or may carry it out: 1 with *out set (deferred when it may),
 * 0 when it is left to route.c's checks, -1 with st->err set (and *out, when set, the
 * caller's to free) when it is invalid as DynamoDB would find it.
 */
int route_rmw_new(struct route_state *st, const struct config_table *t, const cJSON *req,
		  enum route_op op, struct route_rmw **out);
/* Parses and checks r's expressions as DynamoDB would.  0, or -1 with st->err set. */
int route_rmw_parse(struct route_state *st, struct route_rmw *r);
/* With r->plain the item as read: the application's condition on it, and the item to write.
 * 1 with *out the new plaintext item (PutItem, UpdateItem; else NULL), 0 when the condition
 * is false, -1 with e set. */
int route_rmw_decide(struct route_state *st, struct route_rmw *r, cJSON **out, struct ds_error *e);
/* The write of r in place of the item read: TableName, Item (enc, for PutItem) or Key, and
 * the expressions of route_rmw_write_body.  NULL when out of memory. */
cJSON *route_rmw_action(const struct route_rmw *r, const cJSON *enc);

/* Ends the transaction with a copy of err (which may live in st); with "out of memory". */
void route_rmw_fail(struct route_state *st, const struct ds_error *err);
void route_rmw_fail_oom(struct route_state *st);
/* Sends body (taken) upstream as operation op ("GetItem", "TransactWriteItems"), signed as
 * the application's request; a failure ends the transaction. */
void route_send_as(struct route_state *st, const char *op, cJSON *body, upstream_done_cb cb);
/* DynamoDB's answer as JSON, or NULL. */
cJSON *route_answer_json(struct http_msg *resp);
/* Whether DynamoDB's answer is the error of that name ("ConditionalCheckFailedException"). */
int route_answer_is(struct http_msg *resp, const char *error);
/* A lost race, counted: cb(st) again after a random pause that grows with attempts, or after
 * RMW_ATTEMPTS attempts a 500 the SDKs retry, saying that what ("table \"T\": the item of
 * UpdateItem") changed that many times in a row. */
#define RMW_ATTEMPTS 8       /* attempts of a read-modify-write before it answers 500 */
void route_rmw_retry(struct route_state *st, struct event **pause, int attempts,
		    event_callback_fn cb, const char *what);

/*
 * Prepares the UpdateItem request req (op ROUTE_UPDATE) on table t to be carried out by
 * dynaseal; a PutItem or DeleteItem (ROUTE_PUT, ROUTE_DELETE) too when its
 * ConditionExpression reads an encrypted attribute (never deferred).  It must be
 * when its UpdateExpression writes an attribute that is not DO_NOTHING or reads an encrypted
 * one, or its ConditionExpression reads an encrypted one: route_rmw_start runs it.  Otherwise
 * it is deferred (route_rmw_deferred): the request is forwarded, conditioned on the item
 * existing, and carried out by dynaseal only when DynamoDB answers that the condition failed
 * (route_rmw_fallback): an upsert, or the application's own condition false.  Returns 1 with
 * st->rmw set, 0 when the request is left to route.c's checks (an expression it cannot read),
 * or -1 with st->err set when the request is invalid as DynamoDB would find it.
 */
int route_rmw_prepare(struct route_state *st, const struct config_table *t, const cJSON *req,
		      enum route_op op);
/* Whether the update prepared is deferred. */
int route_rmw_deferred(const struct route_state *st);
/* Starts the read of the item; the transaction ends in an answer or a refusal. */
void route_rmw_start(struct route_state *st);
/* DynamoDB's answer to a deferred update: when it is ConditionalCheckFailedException, takes
 * resp and carries the update out (returns 1); else returns 0 and resp is the caller's. */
int route_rmw_fallback(struct route_state *st, struct http_msg *resp);
/* After DynamoDB's answer to the write was verified and decrypted: cuts its Attributes to
 * what ReturnValues asked for (UPDATED_OLD, UPDATED_NEW: the paths the update wrote). */
void route_rmw_answer(struct route_state *st, cJSON *doc);
void route_rmw_free(struct route_rmw *r);

/* What the write-back of a carried-out update puts in place of what (route_rmw_write.c). */
struct route_rmw_write {
	const struct config_table *table;
	const cJSON *raw;           /* the item as read (stored form), NULL when it was missing */
	const cJSON *enc;           /* the new item, encrypted and signed */
	const cJSON *written;       /* the DO_NOTHING attributes the update writes (names) */
	const cJSON *read;          /* the DO_NOTHING attributes the request reads (names) */
	int cond_only;              /* PutItem, DeleteItem: only the condition */
};
/* The UpdateExpression (unless cond_only), ConditionExpression, ExpressionAttributeNames and
 * ExpressionAttributeValues of the write-back, as a new request object (the caller adds
 * TableName, Key or Item and the rest), or NULL when out of memory. */
cJSON *route_rmw_write_body(const struct route_rmw_write *it);

#endif
