/*
 * Query and Scan whose FilterExpression reads an encrypted attribute: the filter is applied by
 * dynaseal to the decrypted page (route_filter.c).
 */
#ifndef DS_ROUTE_FILTER_H
#define DS_ROUTE_FILTER_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "config/config.h"

struct route_state;
struct route_filter;

/*
 * When the FilterExpression of req (a Query or Scan on table t) reads an encrypted attribute:
 * takes it out of req (with what only it used of ExpressionAttributeNames and Values, and
 * Select COUNT), keeps it in st->filter and returns 1.  Returns 0 when the filter reads none
 * (or cannot be read: route.c refuses it), -1 with st->err set when DynamoDB would refuse it.
 */
int route_filter_prepare(struct route_state *st, const struct config_table *t, cJSON *req);
/* The DO_NOTHING attributes the filter reads (a projection must fetch them too), n of them. */
const char *const *route_filter_attrs(const struct route_state *st, size_t *n);
/* Whether the application asked for Select COUNT (the page's items are to be dropped). */
int route_filter_count_only(const struct route_state *st);
/* After verification and decryption, before the projection is trimmed: drops from doc's Items
 * those the filter rejects, sets Count, drops Items for Select COUNT.  Returns 0, or -1 with
 * st->err set. */
int route_filter_apply(struct route_state *st, cJSON *doc);
void route_filter_free(struct route_filter *f);

#endif
