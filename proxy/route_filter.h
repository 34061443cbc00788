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
/*
 * What DynamoDB refuses of the filter dynaseal applies, req being the request as prepared (its
 * IndexName), in DynamoDB's order after the projection's check: for a Query, a filter naming a
 * key of what is queried (the table, or the index: its keys known from the table's key schema)
 * ("Filter Expression can only contain non-primary key attributes: Primary key attribute: sk",
 * said of QueryFilter when it came as one); then a path below a key of the table or of an index
 * (route_check_key_paths).  0 (also without such a filter) or -1 with st->err set.
 */
int route_filter_check_keys(struct route_state *st, const struct config_table *t, const cJSON *req);
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
