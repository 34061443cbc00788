/*
 * The "compound_beacons" of a table's "search" block, checked with the DB-ESDK's rules
 * (searchable-encryption/beacons.md#compound-beacon-initialization):
 *
 *   { "name": "addr", "split": ".",
 *     "encrypted": [ { "name": "city", "prefix": "C-" } ],      standard beacons
 *     "signed": [ { "name": "country", "prefix": "K-" } ],      signed attributes
 *     "constructors": [ [ "city", "country" ] ] }               optional
 *
 * The name is a virtual field's, so neither an attribute of the table nor another beacon's;
 * the split is one character; each part has a non-empty prefix that is no prefix of another
 * part's; a constructor lists part names, all required.  Without constructors the default one
 * is used: every signed part, then every encrypted part.  A compound beacon with no encrypted
 * part (stored under its own name by the SDK) is refused.
 */
#include "config/config.h"
#include "config/config_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const compound_keys[] = {
	"name", "split", "encrypted", "signed", "constructors", NULL,
};
static const char *const part_keys[] = { "name", "prefix", NULL };

void cfg_compound_cleanup(struct config_search *s)
{
	for (size_t i = 0; i < s->compound_len; i++) {
		struct config_compound *c = &s->compound[i];
		free(c->name);
		for (size_t p = 0; p < c->parts_len; p++) {
			free(c->parts[p].name);
			free(c->parts[p].prefix);
		}
		free(c->parts);
		for (size_t k = 0; k < c->constructors_len; k++)
			free(c->constructors[k]);
		free(c->constructors);
		free(c->constructor_lens);
	}
	free(s->compound);
	s->compound = NULL;
	s->compound_len = 0;
}

static int is_standard(const struct config_search *s, const char *name)
{
	for (size_t i = 0; i < s->standard_len; i++)
		if (s->standard[i].name != NULL && strcmp(s->standard[i].name, name) == 0)
			return 1;
	return 0;
}

/* One part of list "encrypted" or "signed" into c->parts. */
static void parse_part(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
		       const struct config_table *t, struct config_compound *c, int encrypted)
{
	struct config_compound_part *p = &c->parts[c->parts_len];
	const char *name, *prefix;
	enum attr_action action;
	char q[128];

	if (!cJSON_IsObject(obj)) {
		cfg_problem(ctx, path, "expected an object, got %s", cfg_type_name(obj));
		return;
	}
	cfg_check_keys(ctx, obj, path, part_keys);
	if (cfg_get_string(ctx, obj, path, "name", 1, &name) != CFG_OK ||
	    cfg_get_string(ctx, obj, path, "prefix", 1, &prefix) != CFG_OK)
		return;
	cfg_quote(q, sizeof(q), name);
	if (encrypted && !is_standard(t->search, name)) {
		cfg_problem(ctx, path, "encrypted part \"%s\" must be the name of a standard beacon "
			    "(search.standard_beacons)", q);
		return;
	}
	if (!encrypted && !config_table_is_key(t, name, strlen(name)) &&
	    (config_table_action(t, name, strlen(name), &action) != 0 ||
	     (action != ACTION_SIGN_ONLY && action != ACTION_SIGN_AND_INCLUDE_IN_EC))) {
		cfg_problem(ctx, path, "signed part \"%s\" must be the name of a key attribute or a "
			    "SIGN_ONLY or SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT attribute of the table", q);
		return;
	}
	for (size_t i = 0; i < c->parts_len; i++)
		if (strcmp(c->parts[i].name, name) == 0) {
			cfg_problem(ctx, path, "part \"%s\" is listed twice", q);
			return;
		}
	p->name = cfg_strdup(ctx, name);
	p->prefix = cfg_strdup(ctx, prefix);
	p->encrypted = encrypted;
	if (p->name == NULL || p->prefix == NULL) {
		free(p->name);
		free(p->prefix);
		return;
	}
	c->parts_len++;
}

/* No part's prefix may start another part's (beacons.md#prefix). */
static void check_prefixes(struct cfg_ctx *ctx, const char *path, const struct config_compound *c)
{
	for (size_t i = 0; i < c->parts_len; i++)
		for (size_t j = 0; j < c->parts_len; j++) {
			const char *a = c->parts[i].prefix, *b = c->parts[j].prefix;
			char qa[128], qb[128], na[128], nb[128];
			if (i == j || strncmp(a, b, strlen(a)) != 0 || (strcmp(a, b) == 0 && j < i))
				continue;
			cfg_quote(qa, sizeof(qa), a);
			cfg_quote(qb, sizeof(qb), b);
			cfg_quote(na, sizeof(na), c->parts[i].name);
			cfg_quote(nb, sizeof(nb), c->parts[j].name);
			cfg_problem(ctx, path, "the prefix \"%s\" of part \"%s\" is a prefix of the prefix "
				    "\"%s\" of part \"%s\"; no part's prefix may start another's", qa, na,
				    qb, nb);
		}
}

/* The constructors of c: as configured, or the default one. */
static void parse_constructors(struct cfg_ctx *ctx, const cJSON *list, const char *path,
			       struct config_compound *c)
{
	size_t n = list != NULL ? (size_t)cJSON_GetArraySize(list) : 1, k = 0;

	if (list != NULL && (!cJSON_IsArray(list) || n == 0)) {
		cfg_problem(ctx, path, "expected a non-empty list of constructors (lists of part names)");
		return;
	}
	if ((c->constructors = calloc(n, sizeof(*c->constructors))) == NULL ||
	    (c->constructor_lens = calloc(n, sizeof(*c->constructor_lens))) == NULL) {
		ctx->oom = 1;
		return;
	}
	c->constructors_len = n;
	if (list == NULL) {
		/* The default: the signed parts, then the encrypted ones (parts' order). */
		if ((c->constructors[0] = calloc(c->parts_len + 1, sizeof(size_t))) == NULL) {
			ctx->oom = 1;
			return;
		}
		for (size_t p = 0; p < c->parts_len; p++)
			c->constructors[0][p] = p;
		c->constructor_lens[0] = c->parts_len;
		return;
	}
	for (const cJSON *con = list->child; con != NULL; con = con->next, k++) {
		size_t m = (size_t)cJSON_GetArraySize(con);
		char cp[CFG_PATH_MAX], idx[24];
		snprintf(idx, sizeof(idx), "%zu", k);
		cfg_path(cp, sizeof(cp), path, idx);
		if (!cJSON_IsArray(con) || m == 0) {
			cfg_problem(ctx, cp, "expected a non-empty list of part names");
			continue;
		}
		if ((c->constructors[k] = calloc(m, sizeof(size_t))) == NULL) {
			ctx->oom = 1;
			return;
		}
		for (const cJSON *e = con->child; e != NULL; e = e->next) {
			size_t p;
			char q[128];
			if (!cJSON_IsString(e)) {
				cfg_problem(ctx, cp, "expected a list of part names, got %s", cfg_type_name(e));
				break;
			}
			for (p = 0; p < c->parts_len && strcmp(c->parts[p].name, e->valuestring) != 0; p++)
				;
			cfg_quote(q, sizeof(q), e->valuestring);
			if (p == c->parts_len) {
				cfg_problem(ctx, cp, "\"%s\" is not a part of this compound beacon", q);
				break;
			}
			c->constructors[k][c->constructor_lens[k]++] = p;
		}
	}
}

static void parse_compound(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
			   const struct config_table *t, struct config_compound *c)
{
	static const char *const lists[] = { "signed", "encrypted" };
	const char *name, *split = NULL;
	enum attr_action action;
	size_t n = 0;
	char q[128], lp[CFG_PATH_MAX];

	if (!cJSON_IsObject(obj)) {
		cfg_problem(ctx, path, "expected an object, got %s", cfg_type_name(obj));
		return;
	}
	cfg_check_keys(ctx, obj, path, compound_keys);
	if (cfg_get_string(ctx, obj, path, "name", 1, &name) != CFG_OK)
		return;
	cfg_quote(q, sizeof(q), name);
	if (config_table_action(t, name, strlen(name), &action) == 0 ||
	    config_table_is_key(t, name, strlen(name))) {
		cfg_problem(ctx, path, "compound beacon \"%s\" must not be the name of an attribute of "
			    "the table: it names a virtual field made of its parts", q);
		return;
	}
	if (is_standard(t->search, name)) {
		cfg_problem(ctx, path, "beacon \"%s\" is defined twice", q);
		return;
	}
	if (cfg_get_string(ctx, obj, path, "split", 1, &split) == CFG_OK && strlen(split) != 1) {
		cfg_path(lp, sizeof(lp), path, "split");
		cfg_problem(ctx, lp, "expected exactly one character");
		return;
	}
	if (cJSON_GetArraySize(cfg_member(obj, "encrypted")) == 0) {
		cfg_problem(ctx, path, "compound beacon \"%s\" has no encrypted part; a compound beacon "
			    "of signed parts only is not carried out by this dynaseal", q);
		return;
	}
	for (size_t l = 0; l < 2; l++)
		n += (size_t)cJSON_GetArraySize(cfg_member(obj, lists[l]));
	if ((c->parts = calloc(n + 1, sizeof(*c->parts))) == NULL) {
		ctx->oom = 1;
		return;
	}
	c->name = cfg_strdup(ctx, name);
	c->split = split != NULL ? split[0] : '.';
	for (size_t l = 0; l < 2; l++) {
		const cJSON *list = cfg_member(obj, lists[l]);
		size_t i = 0;
		cfg_path(lp, sizeof(lp), path, lists[l]);
		if (list != NULL && !cJSON_IsArray(list)) {
			cfg_problem(ctx, lp, "expected a list of parts");
			continue;
		}
		for (const cJSON *p = list != NULL ? list->child : NULL; p != NULL; p = p->next, i++) {
			char pp[CFG_PATH_MAX], idx[24];
			snprintf(idx, sizeof(idx), "%zu", i);
			cfg_path(pp, sizeof(pp), lp, idx);
			parse_part(ctx, p, pp, t, c, l == 1);
		}
	}
	check_prefixes(ctx, path, c);
	cfg_path(lp, sizeof(lp), path, "constructors");
	parse_constructors(ctx, cfg_member(obj, "constructors"), lp, c);
}

void cfg_parse_compound(struct cfg_ctx *ctx, const cJSON *list, const char *path,
			struct config_table *t)
{
	struct config_search *s = t->search;
	size_t n = (size_t)cJSON_GetArraySize(list), i = 0;

	if (!cJSON_IsArray(list)) {
		cfg_problem(ctx, path, "expected a list of compound beacons");
		return;
	}
	if (n == 0)
		return;
	if ((s->compound = calloc(n, sizeof(*s->compound))) == NULL) {
		ctx->oom = 1;
		return;
	}
	for (const cJSON *b = list->child; b != NULL; b = b->next, i++) {
		char bp[CFG_PATH_MAX], idx[24];
		snprintf(idx, sizeof(idx), "%zu", i);
		cfg_path(bp, sizeof(bp), path, idx);
		parse_compound(ctx, b, bp, t, &s->compound[s->compound_len]);
		s->compound_len++;       /* even half made: cfg_compound_cleanup frees it */
		for (size_t j = 0; j + 1 < s->compound_len; j++)
			if (s->compound[j].name != NULL && s->compound[s->compound_len - 1].name != NULL &&
			    strcmp(s->compound[j].name, s->compound[s->compound_len - 1].name) == 0) {
				char q[128];
				cfg_quote(q, sizeof(q), s->compound[j].name);
				cfg_problem(ctx, bp, "beacon \"%s\" is defined twice", q);
			}
	}
}
