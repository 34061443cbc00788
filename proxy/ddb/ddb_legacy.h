/*
 * DynamoDB's legacy conditional parameters (Developer Guide, "Legacy conditional parameters":
 * Expected, QueryFilter, ScanFilter, with ConditionalOperator) written as the condition
 * expression that means the same (ConditionExpression, FilterExpression), so that one
 * evaluator (ddb_eval.h) serves both styles.  The legacy parameters' own validation is done
 * here, with DynamoDB's messages.
 */
#ifndef DS_DDB_LEGACY_H
#define DS_DDB_LEGACY_H

#include <cjson/cJSON.h>

#include "proxy/base/error.h"

/* Which legacy map is translated: Expected has Exists/Value forms besides ComparisonOperator. */
enum ddb_legacy_kind {
	DDB_LEGACY_EXPECTED,
	DDB_LEGACY_FILTER,        /* QueryFilter, ScanFilter (and KeyConditions) */
};

/*
 * Writes conds (the legacy map, attribute name to condition), joined by conditional_operator
 * ("AND" when NULL, or "OR"), as a condition expression: a malloc'd string in *expr, whose
 * names and values are added to *names and *values (objects created when NULL; the caller owns
 * them) under placeholders #lgN and :lgN that they do not hold yet.  Returns 0, or -1 with err set: 400
 * ValidationException in DynamoDB's words (a form the operator does not take, the wrong number
 * of values, values of mixed or unsupported types, a BETWEEN whose bounds are reversed, an
 * unknown operator), or 500 when out of memory.
 */
int ddb_legacy_condition(enum ddb_legacy_kind kind, const cJSON *conds,
			 const char *conditional_operator, cJSON **names, cJSON **values, char **expr,
			 struct ds_error *err) __attribute__((warn_unused_result));

/*
 * The first N from which the placeholders prefix N ("#lg", ":lg") are all free in map (may be
 * NULL): one past the largest such member.  Whoever adds several counts on from it.
 */
int ddb_legacy_free_placeholder(const cJSON *map, const char *prefix);

#endif
