/*
 * Paths that overlap or conflict: see ddb_path.h.
 */
#include "proxy/ddb/ddb_path.h"

#include <stdio.h>
#include <string.h>

void ddb_path_text(const struct ddb_node *path, char *out, size_t cap)
{
	size_t w = 0;

	w += (size_t)snprintf(out, cap, "[");
	for (const struct ddb_node *el = path->kids; el != NULL && w < cap; el = el->next) {
		const char *sep = el == path->kids ? "" : ", ";

		if (el->kind == DDB_NODE_NAME)
			w += (size_t)snprintf(out + w, cap - w, "%s%.*s", sep,
					      el->len > 64 ? 64 : (int)el->len, el->name);
		else
			w += (size_t)snprintf(out + w, cap - w, "%s[%lu]", sep, el->index);
	}
	if (w < cap)
		snprintf(out + w, cap - w, "]");
}

/* Whether two path elements are the same step. */
static int same_step(const struct ddb_node *a, const struct ddb_node *b)
{
	if (a->kind != b->kind)
		return 0;
	if (a->kind == DDB_NODE_INDEX)
		return a->index == b->index;
	return a->len == b->len && memcmp(a->name, b->name, a->len) == 0;
}

/* Whether p and q clash the way kind asks (0 overlap, 1 conflict); err names them then. */
static int clash(const struct ddb_node *p, const struct ddb_node *q, int kind, const char *param,
		 struct ds_error *err)
{
	const struct ddb_node *a = p->kids, *b = q->kids;
	char one[160], two[160];

	for (; a != NULL && b != NULL; a = a->next, b = b->next) {
		if (a->kind != b->kind) {
			if (kind != 1)
				return 0;
			ddb_path_text(p, one, sizeof(one));
			ddb_path_text(q, two, sizeof(two));
			ds_error_set(err, 400, DS_ERR_VALIDATION, "Invalid %s: Two document paths conflict "
				     "with each other; must remove or rewrite one of these paths; path "
				     "one: %s, path two: %s", param, one, two);
			return 1;
		}
		if (!same_step(a, b))
			return 0;
	}
	if (kind != 0)
		return 0;
	ddb_path_text(p, one, sizeof(one));
	ddb_path_text(q, two, sizeof(two));
	ds_error_set(err, 400, DS_ERR_VALIDATION, "Invalid %s: Two document paths overlap with each "
		     "other; must remove or rewrite one of these paths; path one: %s, path two: %s",
		     param, one, two);
	return 1;
}

int ddb_paths_check(const struct ddb_node *list, int actions, const char *param,
		    struct ds_error *err)
{
	for (int kind = 0; kind < 2; kind++) {
		for (const struct ddb_node *a = list->kids; a != NULL; a = a->next) {
			for (const struct ddb_node *b = list->kids; b != a; b = b->next) {
				if (clash(actions ? b->kids : b, actions ? a->kids : a, kind, param, err))
					return -1;
			}
		}
	}
	return 0;
}

int ddb_path_reach(const struct ddb_node *n, const char *attr)
{
	size_t len = strlen(attr);
	int reach = 0;

	if (n == NULL)
		return 0;
	if (n->kind == DDB_NODE_PATH) {
		const struct ddb_node *head = n->kids;

		if (head == NULL || head->kind != DDB_NODE_NAME || head->len != len ||
		    memcmp(head->name, attr, len) != 0)
			return 0;
		return DDB_REACH_NAMED | (head->next != NULL ? DDB_REACH_BELOW : 0);
	}
	/* As deep as the tree: DDB_EXPR_MAX_DEPTH bounds its nesting, chains are flat. */
	for (const struct ddb_node *k = n->kids; k != NULL; k = k->next)
		reach |= ddb_path_reach(k, attr);
	return reach;
}
