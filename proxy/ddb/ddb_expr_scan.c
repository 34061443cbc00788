/*
 * ddb_expr_scan (ddb_expr.h): the attribute names an expression reads and writes, in textual
 * order, from its parsed tree -- how the router decides which attributes a request touches.
 */
#include "proxy/ddb/ddb_expr.h"

/* Whether a path goes below its attribute ("a.b", "a[1]"). */
static int path_nested(const struct ddb_node *path)
{
	return path->kids != NULL && path->kids->next != NULL;
}

/* Calls cb for each path under n, in textual order; written for the path an action acts on. */
static int walk(const struct ddb_node *n, int written, const char *param, ddb_expr_name_cb cb,
		void *arg, struct ds_error *err)
{
	if (n->kind == DDB_NODE_PATH) {
		const struct ddb_node *attr = n->kids;

		if (cb(arg, attr->name, attr->len, written, path_nested(n), err) == 0)
			return 0;
		if (err->status == 0)
			ds_error_set(err, 400, DS_ERR_VALIDATION, "Invalid %s: dynaseal refuses the "
				     "attribute \"%.*s\"", param, attr->len > 64 ? 64 : (int)attr->len,
				     attr->name);
		return -1;
	}
	for (const struct ddb_node *k = n->kids; k != NULL; k = k->next) {
		int w = n->kind == DDB_NODE_ACTION && k == n->kids;

		if (walk(k, w, param, cb, arg, err) != 0)
			return -1;
	}
	return 0;
}

int ddb_expr_scan(enum ddb_expr_kind kind, const char *param, const char *expr, const cJSON *names,
		  ddb_expr_name_cb cb, void *arg, struct ds_error *err)
{
	struct ddb_expr e;
	int rc = ddb_expr_parse(kind, param, expr, names, &e, err);

	if (rc == 0 && cb != NULL)
		rc = walk(e.root, 0, param != NULL ? param : "expression", cb, arg, err);
	ddb_expr_release(&e);
	return rc;
}
