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

/* One path of a ProjectionExpression. */
struct ddb_projection_path {
	char *name;               /* top-level attribute name, resolved through the names */
	char *text;               /* the path as written, placeholders included, to re-emit it */
	int nested;               /* the path goes below the top-level attribute */
};

/* A parsed ProjectionExpression.  Zero-initialized means "no projection". */
struct ddb_projection {
	struct ddb_projection_path *paths;  /* in the order written */
	size_t len;                         /* number of paths */
};

/*
 * Parses a ProjectionExpression (resolved through names, which may be NULL) into out, which
 * the caller releases with ddb_projection_cleanup() on success; on failure out is left empty.
 * Returns 0, or -1 with err set as ddb_expr_scan() does for "ProjectionExpression".
 */
int ddb_projection_parse(const char *expr, const cJSON *names, struct ddb_projection *out,
			 struct ds_error *err) __attribute__((warn_unused_result));
void ddb_projection_cleanup(struct ddb_projection *p);

/*
 * Builds the ProjectionExpression to send upstream: p's paths, plus every name of extra[]
 * that p does not already project whole.  Each added name goes into *names (the request's
 * ExpressionAttributeNames, owned by the caller; created when *names is NULL) under a new
 * placeholder "#dsN" that *names does not already hold.  Paths of p that go inside an added
 * attribute ("tags[1]" when "tags" is added) are left out, since DynamoDB refuses
 * overlapping paths and the whole attribute covers them.  Duplicates in extra[] are added
 * once.  Returns a malloc'd expression, or NULL with err set (500 when out of memory, 400
 * when *names is not an object).
 */
char *ddb_projection_extend(const struct ddb_projection *p, const char *const *extra, size_t n_extra,
			    cJSON **names, struct ds_error *err) __attribute__((warn_unused_result));

/*
 * After decryption: removes from item (a map of attribute name to value) every top-level
 * attribute that the ORIGINAL projection p did not name.  An attribute that p reached only
 * through nested paths ("tags[1]", "profile.city") is kept WHOLE, not trimmed to those paths:
 * callers that must not disclose the rest of a signed or encrypted attribute refuse nested
 * projections into it instead.  An empty p (no projection) keeps everything.
 */
void ddb_projection_strip(const struct ddb_projection *p, cJSON *item);

#endif
