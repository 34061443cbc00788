/*
 * The tokens of DynamoDB's expression grammars (ddb_expr.c parses them): names, #name and
 * :value placeholders, list indexes and punctuation.  ASCII only, whatever the locale.
 */
#ifndef DS_DDB_EXPR_LEX_H
#define DS_DDB_EXPR_LEX_H

#include <stddef.h>

/* Token types; the punctuation of all three grammars. */
enum tok_type {
	TOK_END = 0,      /* end of the expression */
	TOK_IDENT,        /* a bare name, keyword or function name */
	TOK_NAME_PH,      /* #placeholder (ExpressionAttributeNames) */
	TOK_VALUE_PH,     /* :placeholder (ExpressionAttributeValues) */
	TOK_NUMBER,       /* digits: a list index */
	TOK_LPAREN, TOK_RPAREN, TOK_COMMA, TOK_DOT, TOK_LBRACKET, TOK_RBRACKET, TOK_PLUS, TOK_MINUS,
	TOK_CMP,          /* = <> < <= > >= */
};

/* One token, as a view into the expression. */
struct tok {
	enum tok_type type;  /* what it is */
	size_t off;          /* first byte, from the start of the expression */
	size_t len;          /* bytes */
};

/*
 * Reads the token starting at or after pos in s[0..len) into *t.  Pure, so that it can also
 * peek.  Returns 0, or -1 with t->off on a byte no token starts with (or a '#'/':' without a
 * name).
 */
int ddb_expr_lex(const char *s, size_t len, size_t pos, struct tok *t)
	__attribute__((warn_unused_result));

/* Whether expr (NUL-terminated; NULL holds nothing) holds the placeholder ph ("#n", ":v") as
 * a token of its own.  An expression that does not lex is read up to where it stops. */
int ddb_expr_uses(const char *expr, const char *ph);

/* The placeholders several expressions hold, to look many up at once (ddb_expr_uses() reads
 * the expression for each). */
struct ddb_expr_refs {
	struct tok_ref {
		const char *s;          /* into the expression, which must outlive the set */
		size_t len;
	} *v;
	size_t n;
};

/* Fills r with the placeholders of exprs[0..n) (NULL ones hold none), read as
 * ddb_expr_uses() reads them.  Returns 0, or -1 when out of memory (r then empty). */
int ddb_expr_refs_collect(struct ddb_expr_refs *r, const char *const *exprs, size_t n)
	__attribute__((warn_unused_result));
/* Whether r holds ph. */
int ddb_expr_refs_has(const struct ddb_expr_refs *r, const char *ph);
void ddb_expr_refs_release(struct ddb_expr_refs *r);

#endif
