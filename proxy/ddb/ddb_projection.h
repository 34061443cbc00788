/*
 * A parsed ProjectionExpression (ddb_projection_parse in ddb_expr.h parses it) and what dynaseal
 * does with it: extends it with the attributes verification needs before the request goes
 * upstream, and trims the decrypted answer back to what the application asked for.
 */
#ifndef DS_DDB_PROJECTION_H
#define DS_DDB_PROJECTION_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "proxy/base/error.h"

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

/* Frees what ddb_projection_parse filled; p is left empty.  Safe on an empty p. */
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
