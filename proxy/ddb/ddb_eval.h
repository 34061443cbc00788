/*
 * Evaluating a parsed condition (ConditionExpression, FilterExpression) on an item, as
 * DynamoDB does (Developer Guide, "Comparison operator and function reference"): a path that
 * leads nowhere is missing, and every comparison with a missing value or a value of another
 * type is false (so <> is true); <, <=, >, >= and BETWEEN order numbers by value, strings by
 * their UTF-8 bytes and binaries by their bytes; size() counts a string's UTF-16 code units.
 */
#ifndef DS_DDB_EVAL_H
#define DS_DDB_EVAL_H

#include <cjson/cJSON.h>

#include "proxy/base/error.h"
#include "proxy/ddb/ddb_expr.h"

/*
 * Evaluates e (parsed as DDB_EXPR_CONDITION from request parameter param) on item, an object
 * of AttributeValues (NULL when there is no item), with values, the request's
 * ExpressionAttributeValues (NULL when absent).  Returns 1 when the condition holds, 0 when it
 * does not, or -1 with err set: 400 ValidationException for what is wrong whatever the item
 * (a :value that values does not define, attribute_type naming no type), 500 when out of
 * memory.
 */
int ddb_eval_condition(const struct ddb_expr *e, const char *param, const cJSON *item,
		       const cJSON *values, struct ds_error *err) __attribute__((warn_unused_result));

/* The AttributeValue path leads to in item (an object of AttributeValues, may be NULL), or
 * NULL when it leads nowhere. */
const cJSON *ddb_eval_path(const cJSON *item, const struct ddb_node *path);

/*
 * Copies the parts of item (an object of AttributeValues) that the paths of e reach into out,
 * an object of AttributeValues: e is a ProjectionExpression (its paths) or an UpdateExpression
 * (the paths its actions write).  The maps and lists on the way are made ("a.b[2]" gives
 * {"a": {"M": {"b": {"L": [v]}}}}); list elements keep their order, and two paths through one
 * element share it.  A path that leads nowhere copies nothing.  This is how DynamoDB answers a
 * projection, and UPDATED_OLD and UPDATED_NEW.  Returns 0, or -1 when out of memory.
 */
int ddb_eval_copy_paths(const cJSON *item, const struct ddb_expr *e, cJSON *out)
	__attribute__((warn_unused_result));
/*
 * Trims item (an object of AttributeValues) to what the ProjectionExpression proj (parsed as
 * DDB_EXPR_PROJECTION) names, nested paths included ("profile.city", "tags[1]"), as DynamoDB
 * answers a projection.  Returns 0, or -1 when out of memory (item then unchanged).
 */
int ddb_eval_project(const struct ddb_expr *proj, cJSON *item) __attribute__((warn_unused_result));
/*
 * Checks that every :placeholder of e is defined in values.  Returns 0, or -1 with err set to
 * DynamoDB's 400 ("Invalid <param>: An expression attribute value used in expression is not
 * defined; attribute value: :x").
 */
int ddb_eval_check_values(const struct ddb_expr *e, const char *param, const cJSON *values,
			  struct ds_error *err) __attribute__((warn_unused_result));

#endif
