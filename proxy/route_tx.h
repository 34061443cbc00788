/*
 * TransactWriteItems whose actions touch protected attributes, carried out by dynaseal (read
 * the items together, verify, evaluate, encrypt, write in one guarded transaction): see
 * route_tx.c.
 */
#ifndef DS_ROUTE_TX_H
#define DS_ROUTE_TX_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "proxy/net/http.h"
#include "proxy/route_internal.h"

struct route_tx;

/*
 * The action obj (TransactItems[i]: op ROUTE_PUT, ROUTE_UPDATE, ROUTE_DELETE or
 * ROUTE_CONDITION_CHECK on table t): 1 when dynaseal carries it out (route.c checks it no
 * further), 0 when route.c goes on as for any action (perhaps deferred: carried out only if
 * DynamoDB cancels the transaction for it), -1 with st->err set when it is invalid.
 */
int route_tx_prepare(struct route_state *st, size_t i, const struct config_table *t,
		     const cJSON *obj, enum route_op op);
/* Whether dynaseal carries the transaction out (route_tx_start) rather than forward it. */
int route_tx_active(const struct route_state *st);
/* Keeps the request as route.c rewrote it (its other actions), before it is sent or carried
 * out.  0, or -1 when out of memory. */
int route_tx_keep(struct route_state *st, const cJSON *doc);
/* Reads the items; the transaction ends in an answer or a refusal. */
void route_tx_start(struct route_state *st);
/* DynamoDB's answer to a forwarded transaction with deferred actions: when it cancelled the
 * transaction for one of them, takes resp and carries it out (returns 1); else 0. */
int route_tx_fallback(struct route_state *st, struct http_msg *resp);
/* Before the reasons of a cancellation are decrypted: removes the items dynaseal asked for
 * and the application did not.  Returns 1 when doc changed. */
int route_tx_reasons(struct route_state *st, cJSON *doc);
void route_tx_free(struct route_tx *x);

#endif
