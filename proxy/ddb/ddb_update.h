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

#endif
