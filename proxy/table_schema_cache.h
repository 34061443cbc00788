/*
 * The key schemas of a worker's configured tables (table_schema.h), learned with DescribeTable
 * through the worker's own DynamoDB client, in the background: at start, every few minutes,
 * and soon after a CreateTable, UpdateTable or DeleteTable passes through.  Never on a
 * request's path: a schema not known (not yet learned, DescribeTable refused, the table missing
 * or not ACTIVE) leaves requests as they are without it.  A cache is used by its worker's
 * thread only.
 */
#ifndef DS_TABLE_SCHEMA_CACHE_H
#define DS_TABLE_SCHEMA_CACHE_H

#include "config/config.h"
#include "proxy/table_schema.h"

struct event_base;
struct ddb_client;

/* A worker's schemas of its configured tables. */
struct table_schemas;

/*
 * A cache describing tables with client (taken) on base, the worker's loop; worker_id prefixes
 * its log lines (worker 0 alone warns of a refused DescribeTable, once per table).  Nothing is
 * described before table_schemas_track.  NULL when out of memory.
 */
struct table_schemas *table_schemas_new(struct event_base *base, struct ddb_client *client,
					int worker_id) __attribute__((warn_unused_result));
/* Cancels what is in flight and frees the cache (and the client); schemas held elsewhere stay
 * valid until released.  NULL is ignored. */
void table_schemas_free(struct table_schemas *c);
/* Learns the tables of cfg from now on (at start and after a reload; tables no longer
 * configured are no longer described). */
void table_schemas_track(struct table_schemas *c, const struct config *cfg);
/* The schema of table as last learned, or NULL when not known.  Valid until the worker's loop
 * runs again; table_schema_hold it to keep it longer. */
struct table_schema *table_schemas_get(const struct table_schemas *c, const char *table);
/* A CreateTable, UpdateTable or DeleteTable of table passed through: describes it again soon
 * (a deleted table's schema is forgotten at once). */
void table_schemas_changed(struct table_schemas *c, const char *table, int deleted);
/* Another worker saw such a change: describes every table again soon. */
void table_schemas_soon(struct table_schemas *c);

#endif
