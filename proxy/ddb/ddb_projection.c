/*
 * A ProjectionExpression (ddb_projection.h): read into its paths, extended with the
 * attributes verification needs before it goes upstream, and the answer trimmed back to it.
 */
#include "proxy/ddb/ddb_projection.h"
#include "proxy/ddb/ddb_path.h"

#include "proxy/ddb/ddb_expr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ddb_projection_parse(const char *expr, const cJSON *names, struct ddb_projection *out,
			 struct ds_error *err)
{
	struct ddb_expr e;
	size_t n = 0, i = 0;

	memset(out, 0, sizeof(*out));
	if (ddb_expr_parse(DDB_EXPR_PROJECTION, "ProjectionExpression", expr, names, &e, err) != 0 ||
	    ddb_paths_check(e.root, 0, "ProjectionExpression", err) != 0)
		goto fail;
	for (const struct ddb_node *k = e.root->kids; k != NULL; k = k->next)
		n++;
	out->paths = calloc(n, sizeof(*out->paths));
	if (out->paths == NULL)
		goto oom;
	for (const struct ddb_node *k = e.root->kids; k != NULL; k = k->next, i++) {
		struct ddb_projection_path *pp = &out->paths[i];

		pp->name = strndup(k->kids->name, k->kids->len);
		pp->text = strndup(expr + k->off, k->end - k->off);
		pp->nested = k->kids->next != NULL;   /* more than the attribute */
		out->len = i + 1;
		if (pp->name == NULL || pp->text == NULL)
			goto oom;
	}
	ddb_expr_release(&e);
	return 0;
oom:
	ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
fail:
	ddb_expr_release(&e);
	ddb_projection_cleanup(out);
	return -1;
}

void ddb_projection_cleanup(struct ddb_projection *p)
{
	for (size_t i = 0; i < p->len; i++) {
		free(p->paths[i].name);
		free(p->paths[i].text);
	}
	free(p->paths);
	memset(p, 0, sizeof(*p));
}

/* A growing string for ddb_projection_extend(); failed records an allocation failure. */
struct strbuf {
	char *buf;      /* NUL-terminated once anything was added */
	size_t len;     /* bytes, without the NUL */
	size_t cap;     /* allocated bytes */
	int failed;     /* out of memory: later appends do nothing */
};

static void strbuf_add(struct strbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		/* Doubles, or grows to fit a long piece. */
		size_t cap = b->cap * 2 > b->len + n + 1 ? b->cap * 2 : b->len + n + 64;
		char *nb = realloc(b->buf, cap);
		if (nb == NULL) {
			b->failed = 1;
			return;
		}
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, s, n + 1);
	b->len += n;
}

/* Does p project the attribute name whole (a path with no element below it)? */
static int projected_whole(const struct ddb_projection *p, const char *name)
{
	for (size_t i = 0; i < p->len; i++) {
		if (!p->paths[i].nested && strcmp(p->paths[i].name, name) == 0)
			return 1;
	}
	return 0;
}

/* Is extra[i] to be added: not projected whole already, not NULL, not a repeat? */
static int extra_added(const struct ddb_projection *p, const char *const *extra, size_t i)
{
	if (extra[i] == NULL || projected_whole(p, extra[i]))
		return 0;
	for (size_t j = 0; j < i; j++) {
		if (extra[j] != NULL && strcmp(extra[j], extra[i]) == 0)
			return 0;
	}
	return 1;
}

char *ddb_projection_extend(const struct ddb_projection *p, const char *const *extra, size_t n_extra,
			    cJSON **names, struct ds_error *err)
{
	struct strbuf b = { 0 };
	unsigned next_ph = 0;

	if (*names != NULL && !cJSON_IsObject(*names)) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "ExpressionAttributeNames must be a map of "
			     "#placeholders to attribute names");
		return NULL;
	}
	strbuf_add(&b, "");
	/* The application's paths, except those inside an attribute added whole below. */
	for (size_t i = 0; i < p->len; i++) {
		int covered = 0;
		for (size_t j = 0; j < n_extra && !covered && p->paths[i].nested; j++)
			covered = extra[j] != NULL && strcmp(extra[j], p->paths[i].name) == 0;
		if (covered)
			continue;
		strbuf_add(&b, b.len ? ", " : "");
		strbuf_add(&b, p->paths[i].text);
	}
	for (size_t i = 0; i < n_extra; i++) {
		char ph[24];
		if (!extra_added(p, extra, i))
			continue;
		if (*names == NULL && (*names = cJSON_CreateObject()) == NULL)
			goto oom;
		/* Terminates: each round skips one of the finitely many keys *names holds. */
		do
			snprintf(ph, sizeof(ph), "#ds%u", next_ph++);
		while (cJSON_GetObjectItemCaseSensitive(*names, ph) != NULL);
		if (cJSON_AddStringToObject(*names, ph, extra[i]) == NULL)
			goto oom;
		strbuf_add(&b, b.len ? ", " : "");
		strbuf_add(&b, ph);
	}
	if (b.failed)
		goto oom;
	return b.buf;
oom:
	free(b.buf);
	ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
	return NULL;
}

void ddb_projection_strip(const struct ddb_projection *p, cJSON *item)
{
	cJSON *a;

	if (p->len == 0 || !cJSON_IsObject(item))
		return;
	a = item->child;
	while (a != NULL) {
		cJSON *next_attr = a->next;
		int keep = 0;
		for (size_t i = 0; i < p->len && !keep; i++)
			keep = a->string != NULL && strcmp(p->paths[i].name, a->string) == 0;
		if (!keep)
			cJSON_Delete(cJSON_DetachItemViaPointer(item, a));
		a = next_attr;
	}
}
