/*
 * Query and Scan of a secondary index that does not project the whole item (KEYS_ONLY,
 * INCLUDE) on a configured table: each entry's item is read from the table, verified and
 * decrypted, and answered cut to the attributes the entry had (route_index.c).
 */
#ifndef DS_ROUTE_INDEX_H
#define DS_ROUTE_INDEX_H

#include <cjson/cJSON.h>

#include "config/config.h"

struct route_state;
struct route_index;

/* Base-table keys in one BatchGetItem (DynamoDB's limit). */
#define ROUTE_INDEX_BATCH 100
/* Answers of one BatchGetItem that leave keys unprocessed before dynaseal gives up. */
#define ROUTE_INDEX_ATTEMPTS 8

/*
 * A Query or Scan req on table t, as it goes upstream (after route_filter_prepare): when it
 * names an index and may answer items, keeps in st what reading their items takes, and asks
 * DynamoDB for the consumed capacity by index when that tells the index's kind (unless the
 * request asked a consistent read, which only a local index allows).  0, or -1 with st->err
 * set (out of memory).
 */
int route_index_prepare(struct route_state *st, const struct config_table *t, cJSON *req);
/*
 * DynamoDB's successful answer doc to that request (st->resp holds its message): gives the
 * application back the consumed capacity it asked for, and when some of Items are index
 * entries without aws_dbe_head, starts reading their items.  Returns 1 when it took doc (the
 * transaction goes on in route_answer_items, or ends in a refusal), 0 when doc stays the
 * caller's (perhaps changed: route_index_changed), -1 with st->err set (doc the caller's).
 */
int route_index_answer(struct route_state *st, cJSON *doc);
/* Whether the answer was changed here (it must be printed again). */
int route_index_changed(const struct route_state *st);
/* After verification and decryption, before a filter or projection: cuts every item read for
 * an entry to the attribute names the entry had. */
void route_index_cut(struct route_state *st);
void route_index_free(struct route_index *x);

#endif
