/*
 * DynamoDB expressions, parsed far enough to know which attributes they touch: condition,
 * filter and key condition expressions, projection expressions and update expressions
 * (DynamoDB Developer Guide, "Using expressions in DynamoDB": "Condition and filter
 * expressions, operators, and functions", "Projection expressions", "Update expressions",
 * "Expression attribute names").  dynaseal refuses expressions that compare encrypted
 * attributes or write signed ones, and extends projections with what verification needs.
 *
 * Expressions come from the network: they are parsed with a bounded recursive-descent parser
 * (length at most DDB_EXPR_MAX, nesting at most DDB_EXPR_MAX_DEPTH) that rejects whatever it
 * does not fully understand, so that no attribute reference can slip past unreported.
 */
#ifndef DS_DDB_EXPR_H
#define DS_DDB_EXPR_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "proxy/base/error.h"
#include "proxy/ddb/ddb_projection.h"

/* Longest expression accepted, in bytes (DynamoDB's own limit is 4 KiB; be generous). */
#define DDB_EXPR_MAX 16384
/* Deepest nesting of parentheses, NOT and function calls accepted. */
#define DDB_EXPR_MAX_DEPTH 64

/* Which grammar an expression follows. */
enum ddb_expr_kind {
	DDB_EXPR_CONDITION = 0,   /* ConditionExpression, FilterExpression, KeyConditionExpression */
	DDB_EXPR_PROJECTION,      /* ProjectionExpression: paths separated by commas */
	DDB_EXPR_UPDATE,          /* UpdateExpression: SET, REMOVE, ADD, DELETE clauses */
};

/*
 * Called once per document path an expression references, in textual order (a name used
 * twice is reported twice).  name/len is the path's top-level attribute name, resolved
 * through ExpressionAttributeNames (not NUL-terminated when it comes from the expression
 * itself).  written is 1 for the paths an update writes (left of '=' in SET, and the paths
 * of REMOVE, ADD and DELETE), 0 for every path only read.  nested is 1 when the path goes
 * below the top-level attribute ("a.b", "a[1]").  Returns 0 to go on, or non-zero to stop
 * the scan, having set err (the scan's own err, passed through).
 */
typedef int (*ddb_expr_name_cb)(void *arg, const char *name, size_t len, int written, int nested,
				struct ds_error *err);

/*
 * Parses expr, the value of the request parameter param (e.g. "ConditionExpression", used in
 * messages), with the grammar kind, and calls cb for each path (cb may be NULL: only
 * validates).  names is the request's ExpressionAttributeNames object, or NULL.
 * Returns 0, or -1 with err set to 400
 * DS_ERR_VALIDATION naming param and the problem: empty, longer than DDB_EXPR_MAX, syntax
 * error at an offset, nested too deep, unknown #placeholder, a keyword used as a bare name;
 * or -1 with cb's own error when cb refused.
 */
int ddb_expr_scan(enum ddb_expr_kind kind, const char *param, const char *expr, const cJSON *names,
		  ddb_expr_name_cb cb, void *arg, struct ds_error *err)
	__attribute__((warn_unused_result));

/*
 * Parses a ProjectionExpression (resolved through names, which may be NULL) into out, which
 * the caller releases with ddb_projection_cleanup() on success; on failure out is left empty.
 * Returns 0, or -1 with err set as ddb_expr_scan() does for "ProjectionExpression".  What is
 * done with it afterwards is ddb_projection.h's.
 */
int ddb_projection_parse(const char *expr, const cJSON *names, struct ddb_projection *out,
			 struct ds_error *err) __attribute__((warn_unused_result));

#endif
