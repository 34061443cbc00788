/*
 * DynamoDB expressions, read far enough to know which attributes they touch: condition,
 * filter and key condition expressions, projection expressions and update expressions
 * (DynamoDB Developer Guide, "Using expressions in DynamoDB").  dynaseal refuses expressions
 * that compare encrypted attributes or update signed ones, and extends projections with what
 * verification needs.
 */
#ifndef DS_DDB_EXPR_H
#define DS_DDB_EXPR_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "proxy/error.h"

/* Longest expression accepted (DynamoDB's own limit is 4 KiB). */
#define DDB_EXPR_MAX 16384

/* Which grammar an expression follows. */
enum ddb_expr_kind {
	DDB_EXPR_CONDITION = 0,   /* ConditionExpression, FilterExpression, KeyConditionExpression */
	DDB_EXPR_PROJECTION,      /* ProjectionExpression: paths separated by commas */
	DDB_EXPR_UPDATE,          /* UpdateExpression: SET, REMOVE, ADD, DELETE clauses */
};

/*
 * Called for every path an expression references, with its top-level attribute name resolved
 * through ExpressionAttributeNames; written is 1 for paths an update writes (left of '=' in
 * SET, REMOVE, ADD, DELETE); nested is 1 when the path goes below the top-level attribute.
 * Returns 0 to go on, or non-zero to stop (having set err).
 */
typedef int (*ddb_expr_name_cb)(void *arg, const char *name, size_t len, int written, int nested,
				struct ds_error *err);

/*
 * Scans expr (parameter param, for messages) and calls cb for each path.  names is the
 * request's ExpressionAttributeNames object or NULL.  Returns 0, or -1 with err set: a syntax
 * error (naming param and the offset), an unknown #placeholder, or cb's refusal.
 */
int ddb_expr_scan(enum ddb_expr_kind kind, const char *param, const char *expr, const cJSON *names,
		  ddb_expr_name_cb cb, void *arg, struct ds_error *err)
	__attribute__((warn_unused_result));

/* One path of a projection. */
struct ddb_projection_path {
	char *name;               /* top-level attribute name, resolved */
	char *text;               /* the path as written (with its placeholders) */
	int nested;               /* goes below the top-level attribute */
};

/* A parsed ProjectionExpression. */
struct ddb_projection {
	struct ddb_projection_path *paths;
	size_t len;
};

int ddb_projection_parse(const char *expr, const cJSON *names, struct ddb_projection *out,
			 struct ds_error *err) __attribute__((warn_unused_result));
void ddb_projection_cleanup(struct ddb_projection *p);
/*
 * The projection's text plus every name of extra[] not already projected whole, each added to
 * *names (created when NULL) under a new placeholder "#dsN" that the request does not use.
 * Returns a malloc'd expression, or NULL with err set.
 */
char *ddb_projection_extend(const struct ddb_projection *p, const char *const *extra, size_t n_extra,
			    cJSON **names, struct ds_error *err) __attribute__((warn_unused_result));
/* Removes from item every top-level attribute the projection did not name. */
void ddb_projection_strip(const struct ddb_projection *p, cJSON *item);

#endif
