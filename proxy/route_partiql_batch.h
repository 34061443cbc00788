/*
 * BatchExecuteStatement writes (INSERT, UPDATE, DELETE) naming a configured table, carried out
 * statement by statement, each as the ExecuteStatement it is (route_partiql_batch.c).
 */
#ifndef DS_ROUTE_PARTIQL_BATCH_H
#define DS_ROUTE_PARTIQL_BATCH_H

#include <cjson/cJSON.h>

#include "proxy/route_internal.h"

/* BatchExecuteStatement's limit on its statements (API reference, BatchExecuteStatement). */
#define ROUTE_PARTIQL_BATCH_MAX 25

struct route_partiql_batch;

/*
 * The BatchExecuteStatement request req with its statement list list (its members checked):
 * 1 when its statements are writes and one mentions a configured table (st->pq_batch set,
 * st->involved; route_partiql_batch_start carries them out), 0 when it is not such a batch
 * (reads, or no configured table: the caller goes on), -1 with st->err set when the whole
 * request is refused (reads and writes mixed; a statement that is not a string).
 */
int route_partiql_batch_prepare(struct route_state *st, const cJSON *req, const cJSON *list)
	__attribute__((warn_unused_result));
/* Carries the statements out one after another; the transaction ends in the answer that
 * holds each statement's outcome, in order. */
void route_partiql_batch_start(struct route_state *st);
/* Frees b, and the statement in flight with it (its upstream call cancelled).  NULL is
 * ignored. */
void route_partiql_batch_free(struct route_partiql_batch *b);

#endif
