/*
 * A table's key schema: its own keys and its secondary indexes' keys, with the types of
 * AttributeDefinitions (DynamoDB API reference, "DescribeTable", "KeySchemaElement",
 * "GlobalSecondaryIndexDescription").  DynamoDB checks writes and paths against them; when
 * dynaseal carries a request out itself (an update, a projection it widens, a filter it
 * applies), it checks the same to refuse in DynamoDB's words.  Each worker learns its tables'
 * in the background (table_schema_cache.h).
 */
#ifndef DS_TABLE_SCHEMA_H
#define DS_TABLE_SCHEMA_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "proxy/base/error.h"
#include "proxy/ddb/ddb_update.h"
#include "proxy/ddb/ddb_value.h"

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

#endif
