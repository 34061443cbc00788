/*
 * The key schemas of a worker's configured tables: their own keys and their secondary
 * indexes' keys, with the types of AttributeDefinitions (DynamoDB API reference,
 * "DescribeTable", "KeySchemaElement", "GlobalSecondaryIndexDescription").  DynamoDB checks
 * writes and paths against them; when dynaseal carries a request out itself (an update, a
 * projection it widens, a filter it applies), it checks the same to refuse in DynamoDB's words.
 *
 * A worker learns them with DescribeTable through its own DynamoDB client, in the background:
 * at start, every few minutes, and soon after a CreateTable, UpdateTable or DeleteTable passes
 * through.  Never on a request's path: a schema not known (not yet learned, DescribeTable
 * refused, the table missing or not ACTIVE) leaves requests as they are without it.  A cache
 * is used by its worker's thread only.
 */
#ifndef DS_TABLE_SCHEMA_H
#define DS_TABLE_SCHEMA_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "config/config.h"
#include "proxy/base/error.h"
#include "proxy/ddb/ddb_update.h"
#include "proxy/ddb/ddb_value.h"

struct event_base;
struct ddb_client;

/* One secondary index. */
struct table_index {
	char *name;                       /* IndexName */
	int global;                       /* a global secondary index, else a local one */
	char *keys[2];                    /* its partition and sort key (keys[1] NULL when none) */
};

/* One table's keys, as DescribeTable described them.  Reference-counted: a request that
 * checked against it holds it until it has applied its update. */
struct table_schema {
	int refs;                         /* the cache while current, requests */
	char *keys[2];                    /* the table's partition and sort key (keys[1] NULL
					   * when none) */
	enum ddb_type key_types[2];       /* their types: S, N or B */
	struct table_index *indexes;      /* global ones first, then local ones, as described */
	size_t indexes_len;
	struct ddb_index_key *index_keys; /* the index keys writes are checked against, in
					   * DynamoDB's order: every key of each global index,
					   * then the sort key of each local one (strings point
					   * into indexes) */
	size_t index_keys_len;
};

/*
 * The schema DescribeTable's "Table" describes: NULL with err set (400) when it is not a
 * description of keys dynaseal can read (a key or index without its attribute's type, a type
 * other than S, N or B), or when the table is not ACTIVE or UPDATING (DynamoDB then refuses
 * its items anyway, in its own words); 500 when out of memory.  The result holds one reference.
 */
struct table_schema *table_schema_from_description(const cJSON *table, struct ds_error *err)
	__attribute__((warn_unused_result));
struct table_schema *table_schema_hold(struct table_schema *s);
/* Drops a reference; NULL is ignored. */
void table_schema_release(struct table_schema *s);
/* Whether key (a request's Key) is one DynamoDB would accept for s: exactly its key
 * attributes, each of its type, no empty string or binary.  DynamoDB checks the key before
 * what depends on the indexes. */
int table_schema_key_matches(const struct table_schema *s, const cJSON *key);
/* The index of s named name, or NULL. */
const struct table_index *table_schema_index(const struct table_schema *s, const char *name);
/* Whether DescribeTable's "Table" describes a table or index still changing (not ACTIVE):
 * worth describing again soon. */
int table_schema_changing(const cJSON *table);

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
