/*
 * Applying a parsed UpdateExpression to an item, as DynamoDB does (Developer Guide, "Update
 * expressions"): every value is read from the item as it was before the update (so SET a = b,
 * b = a swaps), then SET, REMOVE, ADD and DELETE act in the order written; list indexes name
 * the elements of the list before the update (REMOVE l[0], l[1] removes the first two), and a
 * SET past a list's end appends (several, in index order).  Numbers are summed exactly (ddb_number.h).
 */
#ifndef DS_DDB_UPDATE_H
#define DS_DDB_UPDATE_H

#include <cjson/cJSON.h>

#include "proxy/base/error.h"
#include "proxy/ddb/ddb_expr.h"
#include "proxy/ddb/ddb_value.h"

/* A key attribute of one of a table's secondary indexes, as DynamoDB checks writes against it
 * (DescribeTable: the index's KeySchema, the type from AttributeDefinitions). */
struct ddb_index_key {
	const char *attr;           /* the attribute's name */
	enum ddb_type type;         /* its type: S, N or B */
	const char *index;          /* the index's name, for messages */
};

/* The key attributes an update is checked against, in the order DynamoDB checks them. */
struct ddb_update_keys {
	const char *table[2];       /* the table's partition and sort key (NULL when none) */
	const struct ddb_index_key *index;  /* every key of each global secondary index, then the
					     * sort key of each local one; NULL when unknown */
	size_t index_len;
};

/*
 * Applies e (parsed as DDB_EXPR_UPDATE) to *item, an object of AttributeValues (NULL when the
 * item does not exist: it is created), with values, the request's ExpressionAttributeValues.
 * On success *item is the updated item: the object passed is freed and replaced by a new one,
 * which the caller owns.  Returns 0, or -1 with *item unchanged and err set:
 * 400 ValidationException in DynamoDB's words (for the expression whatever the item: a :value
 * not defined, ADD or DELETE with a value of another type, two paths that overlap or conflict;
 * for this item: a path through something that is not a map or list, a value read from an
 * attribute that does not exist, an operand of another type, a sum out of range), or 500 when
 * out of memory.
 */
int ddb_update_apply(const struct ddb_expr *e, const cJSON *values, cJSON **item,
		     struct ds_error *err) __attribute__((warn_unused_result));

/*
 * ddb_update_apply, also refusing what DynamoDB refuses of a table with secondary indexes
 * while it applies the update: a SET of a top-level attribute that keys one of the index[]
 * (index_len of them) to a value of another type ("The update expression attempted to update
 * the secondary index key to unsupported type"), a type that only the item tells (SET c = e).
 */
int ddb_update_apply_indexed(const struct ddb_expr *e, const cJSON *values,
			     const struct ddb_index_key *index, size_t index_len, cJSON **item,
			     struct ds_error *err) __attribute__((warn_unused_result));

/*
 * What DynamoDB refuses of an update before it reads the item, after its own check that no key
 * attribute is written, in its order and words: first what is wrong with the expression
 * whatever the table (as ddb_update_apply refuses it: a :value not defined, paths that overlap
 * or conflict, operands of another type), then against the keys of the table and its indexes:
 *  1. a SET, ADD or DELETE of a top-level attribute that keys an index, with a value whose type
 *     the request tells (a :value, a sum, list_append, if_not_exists' fallback) and that is not
 *     the key's ("One or more parameter values were invalid: Type mismatch for Index Key c
 *     Expected: S Actual: N IndexName: by_c"), the index keys taken in keys' order;
 *  2. a path anywhere in the update below a key attribute of the table ("Key attributes must be
 *     scalars; list random access '[]' and map lookup '.' are not allowed: Key: pk"), then below
 *     one of an index ("...: IndexKey: c").
 * e is parsed as DDB_EXPR_UPDATE, its :values defined in values.  Returns 0, or -1 with err set
 * to that 400.
 */
int ddb_update_check_keys(const struct ddb_expr *e, const cJSON *values,
			  const struct ddb_update_keys *keys, struct ds_error *err)
	__attribute__((warn_unused_result));

#endif
