/*
 * UpdateItem on protected attributes, carried out by dynaseal (read, verify, evaluate, apply,
 * encrypt, write back conditionally): see route_rmw.c.
 */
#ifndef DS_ROUTE_RMW_H
#define DS_ROUTE_RMW_H

#include <cjson/cJSON.h>

#include "proxy/net/http.h"

#include "config/config.h"
#include "proxy/route_internal.h"

struct route_state;
struct route_rmw;

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
