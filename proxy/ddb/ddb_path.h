/*
 * Document paths of one expression against each other, as DynamoDB checks them in update and
 * projection expressions: two paths "overlap" when one is the other or leads into it
 * ([a, b] and [a]), and "conflict" when at the same step one goes by name and the other by
 * index ([a, b] and [a, [1]]).
 */
#ifndef DS_DDB_PATH_H
#define DS_DDB_PATH_H

#include <stddef.h>

#include "proxy/ddb/ddb_expr.h"
#include "proxy/base/error.h"

/* A path as DynamoDB writes it in messages: "[a, b, [1]]". */
void ddb_path_text(const struct ddb_node *path, char *out, size_t cap);

/*
 * The paths under list (a projection's DDB_NODE_LIST, each kid a path; or an update's, each
 * kid an action whose first kid is its path when actions is 1), checked pair by pair in
 * DynamoDB's order: every overlap first, then every conflict.  0, or -1 with err set to the
 * 400 DynamoDB gives ("Invalid <param>: Two document paths overlap with each other; ...").
 */
int ddb_paths_check(const struct ddb_node *list, int actions, const char *param,
		    struct ds_error *err) __attribute__((warn_unused_result));

/* How the paths of a parsed expression reach an attribute (ddb_path_reach). */
#define DDB_REACH_NAMED 1   /* a path starts with it */
#define DDB_REACH_BELOW 2   /* a path goes below it ("attr.b", "attr[1]") */

/*
 * Whether the paths anywhere under n (an expression's root, or any node of it) start with the
 * attribute attr (NUL-terminated), and whether one goes below it: DDB_REACH_NAMED and
 * DDB_REACH_BELOW or'ed, 0 when none names it.  DynamoDB refuses a path below a key attribute
 * ("Key attributes must be scalars"), and a filter naming a queried key.
 */
int ddb_path_reach(const struct ddb_node *n, const char *attr);

#endif
