/*
 * A tokenizer and a small state machine over DynamoDB's expression grammars.  It does not
 * evaluate anything: it finds each document path, resolves its first element through
 * ExpressionAttributeNames, and tells whether an update writes it.  Input is untrusted: the
 * scan is iterative, bounded by DDB_EXPR_MAX, and never reads past the string's NUL.
 */
#include "proxy/ddb_expr.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

enum tok_type {
	TOK_END = 0,
	TOK_IDENT,        /* a bare name, keyword or function name */
	TOK_NAME_PH,      /* #placeholder */
	TOK_VALUE_PH,     /* :placeholder */
	TOK_NUMBER,       /* digits, inside [] */
	TOK_PUNCT,        /* ( ) , . [ ] = + - */
	TOK_CMP,          /* < <= > >= <> */
};

/* One token, as a view into the expression. */
struct tok {
	enum tok_type type;
	const char *p;     /* first byte */
	size_t len;
	size_t offset;     /* from the start of the expression, for messages */
};

/* Scanner state. */
struct lexer {
	const char *expr;
	size_t pos;
	struct tok cur;    /* the token at pos */
};

static int is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Reads the next token into lx->cur.  Returns 0, or -1 on a byte no token starts with. */
static int lex_next(struct lexer *lx)
{
	const char *e = lx->expr;
	size_t i = lx->pos;
	struct tok *t = &lx->cur;

	while (e[i] == ' ' || e[i] == '\t' || e[i] == '\n' || e[i] == '\r')
		i++;
	t->p = e + i;
	t->offset = i;
	t->len = 1;
	if (e[i] == '\0') {
		t->type = TOK_END;
		t->len = 0;
	} else if (e[i] == '#' || e[i] == ':') {
		size_t j = i + 1;
		while (is_name_char(e[j]))
			j++;
		if (j == i + 1)
			return -1;
		t->type = e[i] == '#' ? TOK_NAME_PH : TOK_VALUE_PH;
		t->len = j - i;
	} else if (isalpha((unsigned char)e[i]) || e[i] == '_') {
		size_t j = i;
		while (is_name_char(e[j]))
			j++;
		t->type = TOK_IDENT;
		t->len = j - i;
	} else if (isdigit((unsigned char)e[i])) {
		size_t j = i;
		while (isdigit((unsigned char)e[j]))
			j++;
		t->type = TOK_NUMBER;
		t->len = j - i;
	} else if (strchr("(),.[]=+-", e[i]) != NULL) {
		t->type = TOK_PUNCT;
	} else if (e[i] == '<' || e[i] == '>') {
		t->type = TOK_CMP;
		if (e[i + 1] == '=' || (e[i] == '<' && e[i + 1] == '>'))
			t->len = 2;
	} else {
		return -1;
	}
	lx->pos = i + t->len;
	return 0;
}

static int tok_is(const struct tok *t, char c)
{
	return t->type == TOK_PUNCT && t->p[0] == c;
}

static int tok_word(const struct tok *t, const char *w)
{
	return t->type == TOK_IDENT && t->len == strlen(w) && strncasecmp(t->p, w, t->len) == 0;
}

static int syntax_error(struct ds_error *err, const char *param, const struct tok *t, const char *what)
{
	ds_error_set(err, 400, DS_ERR_VALIDATION, "Invalid %s: %s at offset %zu", param, what, t->offset);
	return -1;
}

/* Resolves a path's first element: a bare name, or a placeholder looked up in names. */
static int resolve(const struct tok *t, const cJSON *names, const char *param, const char **name,
		   size_t *len, struct ds_error *err)
{
	const cJSON *v;
	char ph[256];

	if (t->type == TOK_IDENT) {
		*name = t->p;
		*len = t->len;
		return 0;
	}
	if (t->len >= sizeof(ph)) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "Invalid %s: placeholder too long at offset %zu",
			     param, t->offset);
		return -1;
	}
	memcpy(ph, t->p, t->len);
	ph[t->len] = '\0';
	v = names ? cJSON_GetObjectItemCaseSensitive(names, ph) : NULL;
	if (!cJSON_IsString(v)) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "Invalid %s: An expression attribute name used "
			     "in the document path is not defined; attribute name: %s", param, ph);
		return -1;
	}
	*name = v->valuestring;
	*len = strlen(v->valuestring);
	return 0;
}

/*
 * Reads the rest of a path whose first element is lx->cur (already consumed by the caller):
 * .name, .#ph and [n] elements.  Sets *nested when there are any.  Leaves lx->cur on the
 * token after the path.
 */
static int read_path_tail(struct lexer *lx, const cJSON *names, const char *param, int *nested,
			  struct ds_error *err)
{
	*nested = 0;
	for (;;) {
		if (lex_next(lx) != 0)
			return syntax_error(err, param, &lx->cur, "unexpected character");
		if (tok_is(&lx->cur, '.')) {
			const char *n;
			size_t l;
			if (lex_next(lx) != 0 || (lx->cur.type != TOK_IDENT && lx->cur.type != TOK_NAME_PH))
				return syntax_error(err, param, &lx->cur, "a name must follow '.'");
			if (lx->cur.type == TOK_NAME_PH && resolve(&lx->cur, names, param, &n, &l, err) != 0)
				return -1;
			*nested = 1;
		} else if (tok_is(&lx->cur, '[')) {
			if (lex_next(lx) != 0 || lx->cur.type != TOK_NUMBER)
				return syntax_error(err, param, &lx->cur, "a list index must follow '['");
			if (lex_next(lx) != 0 || !tok_is(&lx->cur, ']'))
				return syntax_error(err, param, &lx->cur, "expected ']'");
			*nested = 1;
		} else {
			return 0;
		}
	}
}

static int is_keyword(const struct tok *t)
{
	static const char *const words[] = { "AND", "OR", "NOT", "BETWEEN", "IN" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (tok_word(t, words[i]))
			return 1;
	}
	return 0;
}

/* Update clause keywords. */
enum clause { CLAUSE_NONE = 0, CLAUSE_SET, CLAUSE_REMOVE, CLAUSE_ADD, CLAUSE_DELETE };

static enum clause clause_of(const struct tok *t)
{
	if (tok_word(t, "SET"))
		return CLAUSE_SET;
	if (tok_word(t, "REMOVE"))
		return CLAUSE_REMOVE;
	if (tok_word(t, "ADD"))
		return CLAUSE_ADD;
	if (tok_word(t, "DELETE"))
		return CLAUSE_DELETE;
	return CLAUSE_NONE;
}

int ddb_expr_scan(enum ddb_expr_kind kind, const char *param, const char *expr, const cJSON *names,
		  ddb_expr_name_cb cb, void *arg, struct ds_error *err)
{
	struct lexer lx = { expr, 0, { 0 } };
	int depth = 0;
	enum clause clause = CLAUSE_NONE;
	unsigned seen = 0;          /* clauses seen, as bits */
	int expect_lhs = 0;         /* the next path is what an update element writes */
	int element_has_eq = 1;     /* the current SET element had its '=' */
	int expect_path = 1;        /* projection: a path is due */
	size_t n = strnlen(expr, DDB_EXPR_MAX + 1);

	if (n > DDB_EXPR_MAX) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "Invalid %s: longer than %d bytes", param, DDB_EXPR_MAX);
		return -1;
	}
	if (lex_next(&lx) != 0)
		return syntax_error(err, param, &lx.cur, "unexpected character");
	if (lx.cur.type == TOK_END) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "Invalid %s: The expression can not be empty", param);
		return -1;
	}
	while (lx.cur.type != TOK_END) {
		struct tok t = lx.cur;

		if (kind == DDB_EXPR_UPDATE && depth == 0 && clause_of(&t) != CLAUSE_NONE) {
			enum clause c = clause_of(&t);
			if (clause == CLAUSE_SET && !element_has_eq)
				return syntax_error(err, param, &t, "a SET action needs '='");
			if (seen & (1u << c))
				return syntax_error(err, param, &t, "a clause appears twice");
			seen |= 1u << c;
			clause = c;
			expect_lhs = 1;
			element_has_eq = c != CLAUSE_SET;
			if (lex_next(&lx) != 0)
				return syntax_error(err, param, &lx.cur, "unexpected character");
			if (lx.cur.type == TOK_END || tok_is(&lx.cur, ','))
				return syntax_error(err, param, &lx.cur, "a clause needs at least one action");
			continue;
		}
		if (kind == DDB_EXPR_UPDATE && clause == CLAUSE_NONE)
			return syntax_error(err, param, &t, "expected SET, REMOVE, ADD or DELETE");
		if (t.type == TOK_IDENT || t.type == TOK_NAME_PH) {
			const char *name;
			size_t len;
			int nested;
			if (t.type == TOK_IDENT && kind != DDB_EXPR_PROJECTION && is_keyword(&t)) {
				if (lex_next(&lx) != 0)
					return syntax_error(err, param, &lx.cur, "unexpected character");
				continue;
			}
			if (t.type == TOK_IDENT && kind != DDB_EXPR_PROJECTION) {
				/* A function name is followed by '('. */
				struct lexer peek = lx;
				if (lex_next(&peek) == 0 && tok_is(&peek.cur, '(')) {
					lx = peek;
					depth++;
					if (lex_next(&lx) != 0)
						return syntax_error(err, param, &lx.cur, "unexpected character");
					continue;
				}
			}
			if (kind == DDB_EXPR_PROJECTION && !expect_path)
				return syntax_error(err, param, &t, "expected ',' between paths");
			if (resolve(&t, names, param, &name, &len, err) != 0)
				return -1;
			if (read_path_tail(&lx, names, param, &nested, err) != 0)
				return -1;
			if (cb(arg, name, len, kind == DDB_EXPR_UPDATE && expect_lhs && depth == 0, nested, err) != 0)
				return -1;
			expect_lhs = 0;
			expect_path = 0;
			continue;
		}
		if (kind == DDB_EXPR_PROJECTION) {
			if (!tok_is(&t, ',') || expect_path)
				return syntax_error(err, param, &t, "expected a path");
			expect_path = 1;
		} else if (tok_is(&t, '(')) {
			if (++depth > 64)
				return syntax_error(err, param, &t, "parentheses nested too deep");
		} else if (tok_is(&t, ')')) {
			if (--depth < 0)
				return syntax_error(err, param, &t, "unbalanced ')'");
		} else if (tok_is(&t, ',') && depth == 0) {
			if (kind != DDB_EXPR_UPDATE)
				return syntax_error(err, param, &t, "unexpected ','");
			if (clause == CLAUSE_SET && !element_has_eq)
				return syntax_error(err, param, &t, "a SET action needs '='");
			expect_lhs = 1;
			element_has_eq = clause != CLAUSE_SET;
		} else if (tok_is(&t, '=') && kind == DDB_EXPR_UPDATE && depth == 0) {
			if (clause != CLAUSE_SET || element_has_eq)
				return syntax_error(err, param, &t, "unexpected '='");
			element_has_eq = 1;
		} else if (t.type == TOK_NUMBER || tok_is(&t, '.') || tok_is(&t, '[') || tok_is(&t, ']')) {
			return syntax_error(err, param, &t, "unexpected token");
		}
		if (lex_next(&lx) != 0)
			return syntax_error(err, param, &lx.cur, "unexpected character");
	}
	if (depth != 0)
		return syntax_error(err, param, &lx.cur, "unbalanced '('");
	if (kind == DDB_EXPR_UPDATE && clause == CLAUSE_SET && !element_has_eq)
		return syntax_error(err, param, &lx.cur, "a SET action needs '='");
	if (kind == DDB_EXPR_PROJECTION && expect_path)
		return syntax_error(err, param, &lx.cur, "expected a path");
	return 0;
}

/* Collects projection paths through the scanner's callback. */
struct proj_collect {
	struct ddb_projection *p;
	const char *expr;
};

static int proj_add(struct ddb_projection *p, const char *name, size_t len, int nested)
{
	struct ddb_projection_path *n = realloc(p->paths, (p->len + 1) * sizeof(*n));

	if (n == NULL)
		return -1;
	p->paths = n;
	n = &p->paths[p->len];
	n->name = strndup(name, len);
	n->text = NULL;
	n->nested = nested;
	if (n->name == NULL)
		return -1;
	p->len++;
	return 0;
}

static int proj_cb(void *arg, const char *name, size_t len, int written, int nested, struct ds_error *err)
{
	struct proj_collect *c = arg;

	(void)written;
	if (proj_add(c->p, name, len, nested) != 0) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		return -1;
	}
	return 0;
}

int ddb_projection_parse(const char *expr, const cJSON *names, struct ddb_projection *out,
			 struct ds_error *err)
{
	struct proj_collect c = { out, expr };
	const char *p = expr;

	memset(out, 0, sizeof(*out));
	if (ddb_expr_scan(DDB_EXPR_PROJECTION, "ProjectionExpression", expr, names, proj_cb, &c, err) != 0)
		goto fail;
	/* The scan accepted "path (, path)*": the texts are the comma-separated pieces. */
	for (size_t i = 0; i < out->len; i++) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		while (len > 0 && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)p[len - 1]))
			len--;
		out->paths[i].text = strndup(p, len);
		if (out->paths[i].text == NULL) {
			ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
			goto fail;
		}
		p = end ? end + 1 : p + len;
	}
	return 0;
fail:
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

static int projected_whole(const struct ddb_projection *p, const char *name)
{
	for (size_t i = 0; i < p->len; i++) {
		if (!p->paths[i].nested && strcmp(p->paths[i].name, name) == 0)
			return 1;
	}
	return 0;
}

char *ddb_projection_extend(const struct ddb_projection *p, const char *const *extra, size_t n_extra,
			    cJSON **names, struct ds_error *err)
{
	struct evbuffer *out = evbuffer_new();
	unsigned next = 0;
	char *text = NULL;
	size_t len;

	if (out == NULL)
		goto oom;
	for (size_t i = 0; i < p->len; i++)
		evbuffer_add_printf(out, "%s%s", i ? ", " : "", p->paths[i].text);
	for (size_t i = 0; i < n_extra; i++) {
		char ph[24];
		if (projected_whole(p, extra[i]))
			continue;
		if (*names == NULL && (*names = cJSON_CreateObject()) == NULL)
			goto oom;
		do
			snprintf(ph, sizeof(ph), "#ds%u", next++);
		while (cJSON_GetObjectItemCaseSensitive(*names, ph) != NULL);
		if (cJSON_AddStringToObject(*names, ph, extra[i]) == NULL)
			goto oom;
		evbuffer_add_printf(out, "%s%s", evbuffer_get_length(out) ? ", " : "", ph);
	}
	len = evbuffer_get_length(out);
	text = malloc(len + 1);
	if (text == NULL)
		goto oom;
	evbuffer_copyout(out, text, len);
	text[len] = '\0';
	evbuffer_free(out);
	return text;
oom:
	if (out != NULL)
		evbuffer_free(out);
	ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
	return NULL;
}

void ddb_projection_strip(const struct ddb_projection *p, cJSON *item)
{
	cJSON *a = item ? item->child : NULL;

	while (a != NULL) {
		cJSON *next = a->next;
		int keep = 0;
		for (size_t i = 0; i < p->len && !keep; i++)
			keep = a->string != NULL && strcmp(p->paths[i].name, a->string) == 0;
		if (!keep)
			cJSON_Delete(cJSON_DetachItemViaPointer(item, a));
		a = next;
	}
}
