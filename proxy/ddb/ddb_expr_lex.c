/*
 * The expression tokenizer (ddb_expr_lex.h).
 */
#include "proxy/ddb/ddb_expr_lex.h"

#include <stdlib.h>
#include <string.h>

/* ASCII only, whatever the locale: DynamoDB wants other names behind placeholders. */
static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int ddb_expr_lex(const char *s, size_t len, size_t pos, struct tok *t)
{
	size_t i = pos;
	size_t j;

	while (i < len && is_space(s[i]))
		i++;
	t->off = i;
	t->len = 1;
	if (i >= len) {
		t->type = TOK_END;
		t->len = 0;
		return 0;
	}
	switch (s[i]) {
	case '#':
	case ':':
		for (j = i + 1; j < len && is_word(s[j]); j++)
			;
		if (j == i + 1)
			return -1;
		t->type = s[i] == '#' ? TOK_NAME_PH : TOK_VALUE_PH;
		t->len = j - i;
		return 0;
	case '(': t->type = TOK_LPAREN; return 0;
	case ')': t->type = TOK_RPAREN; return 0;
	case ',': t->type = TOK_COMMA; return 0;
	case '.': t->type = TOK_DOT; return 0;
	case '[': t->type = TOK_LBRACKET; return 0;
	case ']': t->type = TOK_RBRACKET; return 0;
	case '+': t->type = TOK_PLUS; return 0;
	case '-': t->type = TOK_MINUS; return 0;
	case '=': t->type = TOK_CMP; return 0;
	case '<':
	case '>':
		t->type = TOK_CMP;
		if (i + 1 < len && (s[i + 1] == '=' || (s[i] == '<' && s[i + 1] == '>')))
			t->len = 2;
		return 0;
	default:
		break;
	}
	if (!is_word(s[i]))
		return -1;
	/* A name starts with a letter or '_'; digits alone are a list index. */
	t->type = is_digit(s[i]) ? TOK_NUMBER : TOK_IDENT;
	for (j = i; j < len && (t->type == TOK_IDENT ? is_word(s[j]) : is_digit(s[j])); j++)
		;
	t->len = j - i;
	return 0;
}

int ddb_expr_uses(const char *expr, const char *ph)
{
	size_t len = expr != NULL ? strlen(expr) : 0, n = strlen(ph), pos = 0;
	struct tok t;

	while (expr != NULL && ddb_expr_lex(expr, len, pos, &t) == 0 && t.type != TOK_END) {
		if ((t.type == TOK_NAME_PH || t.type == TOK_VALUE_PH) && t.len == n &&
		    memcmp(expr + t.off, ph, n) == 0)
			return 1;
		pos = t.off + t.len;
	}
	return 0;
}

static int ref_order(const void *a, const void *b)
{
	const struct tok_ref *x = a, *y = b;
	int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);

	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

int ddb_expr_refs_collect(struct ddb_expr_refs *r, const char *const *exprs, size_t n)
{
	size_t cap = 0;

	r->v = NULL;
	r->n = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = exprs[i] != NULL ? strlen(exprs[i]) : 0, pos = 0;
		struct tok t;

		while (ddb_expr_lex(exprs[i], len, pos, &t) == 0 && t.type != TOK_END) {
			pos = t.off + t.len;
			if (t.type != TOK_NAME_PH && t.type != TOK_VALUE_PH)
				continue;
			if (r->n == cap) {
				size_t c = cap ? cap * 2 : 16;
				struct tok_ref *v = realloc(r->v, c * sizeof(*v));

				if (v == NULL) {
					ddb_expr_refs_release(r);
					return -1;
				}
				r->v = v;
				cap = c;
			}
			r->v[r->n].s = exprs[i] + t.off;
			r->v[r->n++].len = t.len;
		}
	}
	if (r->n > 1)
		qsort(r->v, r->n, sizeof(*r->v), ref_order);
	return 0;
}

int ddb_expr_refs_has(const struct ddb_expr_refs *r, const char *ph)
{
	struct tok_ref key = { ph, strlen(ph) };

	return r->n > 0 && bsearch(&key, r->v, r->n, sizeof(*r->v), ref_order) != NULL;
}

void ddb_expr_refs_release(struct ddb_expr_refs *r)
{
	free(r->v);
	r->v = NULL;
	r->n = 0;
}
