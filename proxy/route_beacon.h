/*
 * Query and Scan on a table with beacons: conditions on beaconed attributes rewritten into
 * beacon form for DynamoDB, the originals evaluated by dynaseal on the decrypted items
 * (route_beacon.c).
 */
#ifndef DS_ROUTE_BEACON_H
#define DS_ROUTE_BEACON_H

#include <cjson/cJSON.h>

#include "config/config.h"

struct route_state;
struct route_beacon;

/*
 * Before route_filter_prepare, on a Query or Scan of table t: refuses expressions naming
 * aws_dbe_ attributes or comparing a beaconed attribute in a key condition other than by
 * equality; rewrites the key condition's equalities on beaconed attributes (their values
 * become jobs of st->batch) and moves the originals into the FilterExpression; notes the
 * filter's own such equalities for route_beacon_finish.  0 (also when nothing is beaconed),
 * or -1 with st->err set.
 */
int route_beacon_prepare(struct route_state *st, const struct config_table *t, cJSON *req);
/* After route_filter_prepare took the filter out: sends its beacon equalities upstream as the
 * FilterExpression.  0 or -1 (out of memory). */
int route_beacon_finish(struct route_state *st, cJSON *req);
/* The key condition's original beacon conjuncts ("(email = :e)"), or NULL: items the
 * filter drops for them were never the key condition's, so ScannedCount counts them out. */
const char *route_beacon_key_part(const struct route_state *st);
/* Whether names dynaseal added (#aws_dbe_bN -> aws_dbe_b_<name>) are in the request. */
int route_beacon_active(const struct route_state *st);
/* Whether name is the beacon attribute (aws_dbe_b_<name>) of a standard beacon of t. */
int route_beacon_is_attr(const struct config_table *t, const char *name);
void route_beacon_free(struct route_beacon *b);

#endif
