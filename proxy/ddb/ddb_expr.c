/*
 * A tokenizer and a recursive-descent parser for DynamoDB's three expression grammars
 * (Developer Guide: "Condition and filter expressions, operators, and functions" for the
 * condition grammar, "Update expressions" for SET/REMOVE/ADD/DELETE, "Projection
 * expressions"; "Expression attribute names" for #placeholders), into a tree of nodes
 * (ddb_expr.h) whose names are resolved through ExpressionAttributeNames.  Nothing is
 * evaluated here; ddb_expr_scan() walks the tree to tell each document path and whether an
 * update writes it, ddb_projection_parse() to list a projection's paths.
 *
 * Why a real parser and not a token scan: dynaseal fails closed.  Whatever the parser cannot
 * fit in the grammar is refused, so a path DynamoDB would see cannot hide in a construct the
 * scanner skipped.  Accepting a little more than DynamoDB does is harmless (DynamoDB refuses
 * it); accepting less only refuses a request.  Input is untrusted: it is read through
 * (ptr, len) with bounds checks, its length is capped at DDB_EXPR_MAX and recursion at
 * DDB_EXPR_MAX_DEPTH.
 */
#include "proxy/ddb/ddb_expr.h"
#include "proxy/ddb/ddb_expr_lex.h"
#include "proxy/ddb/ddb_reserved.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/base/json_nul.h"

/* The parser's state over one expression. */
struct parser {
	enum ddb_expr_kind kind;     /* grammar */
	const char *param;           /* request parameter, for messages */
	const char *s;               /* the expression */
	size_t len;                  /* its length, at most DDB_EXPR_MAX */
	size_t pos;                  /* where lexing resumes, just after cur */
	struct tok cur;              /* the lookahead token */
	struct tok prev;             /* the token before it, when has_prev (for messages) */
	int has_prev, started;
	const cJSON *names;          /* ExpressionAttributeNames, or NULL */
	struct ds_error *err;        /* where failures are described */
	int depth;                   /* current nesting, bounded by DDB_EXPR_MAX_DEPTH */
	struct arena *arena;         /* where nodes are made */
	size_t group_open;           /* the '(' of the last parenthesized condition closed */
	size_t group_close;          /* its ')' */
	size_t reserved_off;         /* the first reserved word used as a name, */
	size_t reserved_len;         /* refused once the expression parsed (reserved_len > 0) */
};

/* One function: where it may appear and what its arguments are. */
struct func_def {
	const char *name;          /* as DynamoDB spells it */
	enum ddb_func id;
	enum ddb_expr_kind kind;   /* DDB_EXPR_CONDITION or DDB_EXPR_UPDATE */
	int condition;             /* a whole condition (1) rather than an operand (0) */
	int path_first;            /* the first argument must be a path */
	int args;                  /* number of arguments */
};

/* The functions of both grammars ("Comparison operator and function reference", "Update
 * expressions: SET").  Their names are case-sensitive. */
static const struct func_def funcs[] = {
	{ "attribute_exists", DDB_FN_ATTRIBUTE_EXISTS, DDB_EXPR_CONDITION, 1, 1, 1 },
	{ "attribute_not_exists", DDB_FN_ATTRIBUTE_NOT_EXISTS, DDB_EXPR_CONDITION, 1, 1, 1 },
	{ "attribute_type", DDB_FN_ATTRIBUTE_TYPE, DDB_EXPR_CONDITION, 1, 1, 2 },
	{ "begins_with", DDB_FN_BEGINS_WITH, DDB_EXPR_CONDITION, 1, 1, 2 },
	{ "contains", DDB_FN_CONTAINS, DDB_EXPR_CONDITION, 1, 1, 2 },
	{ "size", DDB_FN_SIZE, DDB_EXPR_CONDITION, 0, 1, 1 },
	{ "if_not_exists", DDB_FN_IF_NOT_EXISTS, DDB_EXPR_UPDATE, 0, 1, 2 },
	{ "list_append", DDB_FN_LIST_APPEND, DDB_EXPR_UPDATE, 0, 0, 2 },
};

/* The grammar's own keywords (case-insensitive): never a bare attribute name.  DynamoDB's
 * full reserved-word list is longer; DynamoDB refuses the rest itself. */
/* The update clauses, indexed by enum ddb_clause (and its bit in parse_update()'s "seen"). */
static const char *const clauses[] = { "SET", "REMOVE", "ADD", "DELETE" };

/* Refuses the expression in DynamoDB's words for a syntax error: the token (len bytes at
 * off; "<EOF>" when len is 0) and the text near it, from..to.  Returns -1. */
static int refuse_near(struct parser *p, size_t off, size_t len, size_t from, size_t to)
{
	if (to - from > 160)
		to = from + 160;
	ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: Syntax error; token: \"%.*s\", "
		     "near: \"%.*s\"", p->param, len ? (int)(len > 64 ? 64 : len) : 5,
		     len ? p->s + off : "<EOF>", (int)(to - from), p->s + from);
	return -1;
}

/* A syntax error at the lookahead token: near is the text from the token before it through
 * the token after it (at the end: the token before). */
static int syntax_error(struct parser *p)
{
	const struct tok *t = &p->cur;
	size_t from = p->has_prev ? p->prev.off : t->off;
	struct tok nx;

	if (t->type == TOK_END)
		return refuse_near(p, 0, 0, from, p->has_prev ? p->prev.off + p->prev.len : from);
	if (ddb_expr_lex(p->s, p->len, p->pos, &nx) == 0 && nx.type != TOK_END)
		return refuse_near(p, t->off, t->len, from, nx.off + nx.len);
	return refuse_near(p, t->off, t->len, from, t->off + t->len);
}

/* Moves to the next token.  Returns 0, or -1 with err set on a byte that starts none. */
static int next(struct parser *p)
{
	struct tok t;

	if (ddb_expr_lex(p->s, p->len, p->pos, &t) != 0) {
		/* A byte no token starts with is the token (a whole UTF-8 character; a NUL's
		 * stand-in, json_nul.h, is one). */
		unsigned char c = (unsigned char)p->s[t.off];
		size_t n = c < 0xc0 || c == JSON_NUL ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		if (t.off + n > p->len)
			n = p->len - t.off;
		return refuse_near(p, t.off, n, p->started ? p->cur.off : t.off, t.off + n);
	}
	if (p->started) {
		p->prev = p->cur;
		p->has_prev = 1;
	}
	p->started = 1;
	p->cur = t;
	p->pos = t.off + t.len;
	return 0;
}

/* The type of the token after the lookahead (TOK_END when it would not lex). */
static enum tok_type peek_type(const struct parser *p)
{
	struct tok t;

	return ddb_expr_lex(p->s, p->len, p->pos, &t) == 0 ? t.type : TOK_END;
}

/* Consumes a token of the given type, or fails on the lookahead. */
static int expect(struct parser *p, enum tok_type type)
{
	if (p->cur.type != type)
		return syntax_error(p);
	return next(p);
}

/* Is the lookahead the bare word w (case-insensitive, as DynamoDB's keywords are)? */
static int is_word_tok(const struct parser *p, const char *w)
{
	return p->cur.type == TOK_IDENT && p->cur.len == strlen(w) &&
	       strncasecmp(p->s + p->cur.off, w, p->cur.len) == 0;
}

/* Notes a bare name that DynamoDB reserves: the expression is refused for it once it parsed
 * (a syntax error is told first, as DynamoDB does). */
static void note_reserved(struct parser *p)
{
	if (p->cur.type == TOK_IDENT && p->reserved_len == 0 &&
	    ddb_reserved(p->s + p->cur.off, p->cur.len)) {
		p->reserved_off = p->cur.off;
		p->reserved_len = p->cur.len;
	}
}

/* Bounds the recursion: every nested construct enters once and leaves once. */
static int enter(struct parser *p)
{
	if (++p->depth > DDB_EXPR_MAX_DEPTH) {
		ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: nested deeper than %d levels "
			     "at offset %zu", p->param, DDB_EXPR_MAX_DEPTH, p->cur.off);
		return -1;
	}
	return 0;
}

/* A new node of the given kind starting at the lookahead; NULL (err set) when out of memory. */
static struct ddb_node *node(struct parser *p, enum ddb_node_kind kind)
{
	struct ddb_node *n = arena_alloc(p->arena, sizeof(*n));

	if (n == NULL) {
		ds_error_set(p->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		return NULL;
	}
	n->kind = kind;
	n->off = p->cur.off;
	n->end = p->cur.off + p->cur.len;
	return n;
}

/* Appends kid to parent's children and extends parent's text over it. */
static void adopt(struct ddb_node *parent, struct ddb_node *kid)
{
	if (parent->tail == NULL)
		parent->kids = kid;
	else
		parent->tail->next = kid;
	parent->tail = kid;
	if (kid->off < parent->off)
		parent->off = kid->off;
	if (kid->end > parent->end)
		parent->end = kid->end;
}

/* A node of the given kind over the given children (NULL ends the list). */
static struct ddb_node *join(struct parser *p, enum ddb_node_kind kind, int op,
			     struct ddb_node *a, struct ddb_node *b, struct ddb_node *c)
{
	struct ddb_node *n = node(p, kind);

	if (n == NULL)
		return NULL;
	n->op = op;
	n->off = a->off;
	n->end = a->end;
	adopt(n, a);
	if (b != NULL)
		adopt(n, b);
	if (c != NULL)
		adopt(n, c);
	return n;
}

/*
 * Resolves a name element: a bare name is itself, a #placeholder is looked up (case-
 * sensitively, as DynamoDB does) in ExpressionAttributeNames.
 */
static int resolve(struct parser *p, const struct tok *t, const char **name, size_t *len)
{
	const char *ph = p->s + t->off;
	int shown = t->len > 64 ? 64 : (int)t->len;

	if (t->type == TOK_IDENT) {
		*name = ph;
		*len = t->len;
		return 0;
	}
	for (const cJSON *v = cJSON_IsObject(p->names) ? p->names->child : NULL; v; v = v->next) {
		if (v->string == NULL || strlen(v->string) != t->len || memcmp(v->string, ph, t->len) != 0)
			continue;
		if (!cJSON_IsString(v) || v->valuestring == NULL) {
			ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: ExpressionAttributeNames "
				     "entry %.*s must be a string (an attribute name)", p->param, shown, ph);
			return -1;
		}
		*name = v->valuestring;
		*len = strlen(v->valuestring);
		return 0;
	}
	ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: An expression attribute name used "
		     "in the document path is not defined; attribute name: %.*s", p->param, shown, ph);
	return -1;
}

/* A NAME node for the lookahead (an identifier or #placeholder), resolved. */
static struct ddb_node *name_node(struct parser *p)
{
	struct ddb_node *n = node(p, DDB_NODE_NAME);

	if (n == NULL || resolve(p, &p->cur, &n->name, &n->len) != 0)
		return NULL;
	return next(p) == 0 ? n : NULL;
}

/*
 * path ::= element ( '.' element | '[' digits ']' )*, element ::= name | #placeholder
 * ("Specifying item attributes when using expressions": document paths).  Only the first
 * element is an attribute of the item; every #placeholder must be defined.
 */
static struct ddb_node *parse_path(struct parser *p)
{
	struct ddb_node *path, *el;

	note_reserved(p);
	if (p->cur.type != TOK_IDENT && p->cur.type != TOK_NAME_PH) {
		syntax_error(p);
		return NULL;
	}
	path = node(p, DDB_NODE_PATH);
	if (path == NULL || (el = name_node(p)) == NULL)
		return NULL;
	adopt(path, el);
	for (;;) {
		if (p->cur.type == TOK_DOT) {
			if (next(p) != 0)
				return NULL;
			if (p->cur.type != TOK_IDENT && p->cur.type != TOK_NAME_PH) {
				syntax_error(p);
				return NULL;
			}
			note_reserved(p);
			if ((el = name_node(p)) == NULL)
				return NULL;
		} else if (p->cur.type == TOK_LBRACKET) {
			if (next(p) != 0)
				return NULL;
			if (p->cur.type != TOK_NUMBER) {
				syntax_error(p);
				return NULL;
			}
			if ((el = node(p, DDB_NODE_INDEX)) == NULL)
				return NULL;
			for (size_t i = 0; i < p->cur.len; i++) {
				unsigned long d = (unsigned long)(p->s[p->cur.off + i] - '0');
				/* Saturates: DynamoDB refuses indexes this large anyway. */
				el->index = el->index > (~0UL - d) / 10 ? ~0UL : el->index * 10 + d;
			}
			if (next(p) != 0)
				return NULL;
			if (p->cur.type != TOK_RBRACKET) {
				syntax_error(p);
				return NULL;
			}
			el->end = p->cur.off + p->cur.len;
			if (next(p) != 0)
				return NULL;
		} else {
			break;
		}
		adopt(path, el);
	}
	return path;
}

/* A function used where DynamoDB's grammar does not take it, in its words. */
static int misused(struct parser *p, const char *name)
{
	ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: The function is not allowed to be "
		     "used this way in an expression; function: %s", p->param, name);
	return -1;
}

/* Finds the function named by the lookahead (an identifier followed by '('): names are
 * case-sensitive and each grammar knows its own; a condition's function in an update is a
 * syntax error at its '(' (as DynamoDB answers). */
static int find_func(struct parser *p, const struct func_def **f)
{
	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++) {
		if (p->cur.len == strlen(funcs[i].name) &&
		    memcmp(p->s + p->cur.off, funcs[i].name, p->cur.len) == 0) {
			if (funcs[i].kind == p->kind) {
				*f = &funcs[i];
				return 0;
			}
			if (p->kind == DDB_EXPR_UPDATE)
				return next(p) != 0 ? -1 : syntax_error(p);
			break;
		}
	}
	ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: Invalid function name; function: "
		     "%.*s", p->param, p->cur.len > 64 ? 64 : (int)p->cur.len, p->s + p->cur.off);
	return -1;
}

static struct ddb_node *parse_paren_operand(struct parser *p);
static struct ddb_node *parse_sum(struct parser *p, struct ddb_node *a);

/* A document path, or one in one pair of parentheses (a function's path argument). */
static struct ddb_node *parse_paren_path(struct parser *p)
{
	struct ddb_node *a;

	if (p->cur.type != TOK_LPAREN)
		return parse_path(p);
	if (next(p) != 0 || (a = parse_path(p)) == NULL)
		return NULL;
	return expect(p, TOK_RPAREN) == 0 ? a : NULL;
}

/* function '(' args ')': the lookahead is the function's name. */
static struct ddb_node *parse_call(struct parser *p, const struct func_def *f)
{
	struct ddb_node *call, *arg, *out = NULL;
	int n = 0;

	if (enter(p) != 0)
		return NULL;
	call = node(p, DDB_NODE_CALL);
	if (call == NULL || next(p) != 0 || expect(p, TOK_LPAREN) != 0)
		goto out;
	call->op = (int)f->id;
	for (int i = 0; p->cur.type != TOK_RPAREN || i == 0; i++) {
		if (i > 0 && expect(p, TOK_COMMA) != 0)
			goto out;
		if (i == 0 && f->path_first && p->cur.type == TOK_VALUE_PH) {
			ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: Operator or function "
				     "requires a document path; operator or function: %s", p->param, f->name);
			goto out;
		}
		/* Each argument an operand, in one pair of parentheses or not (in an update, a
		 * sum of two too: "if_not_exists(b, c + :one)"). */
		arg = i == 0 && f->path_first ? parse_paren_path(p)
					      : parse_sum(p, parse_paren_operand(p));
		if (arg == NULL)
			goto out;
		adopt(call, arg);
		n++;
	}
	if (n != f->args) {
		ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: Incorrect number of operands "
			     "for operator or function; operator or function: %s, number of operands: %d",
			     p->param, f->name, n);
		goto out;
	}
	call->end = p->cur.off + p->cur.len;
	if (next(p) == 0)
		out = call;
out:
	p->depth--;
	return out;
}

/*
 * Condition operand ::= path | :value | size(path).  Update operand ::= path | :value |
 * if_not_exists(path, value) | list_append(value, value), and an update value is an operand
 * optionally followed by '+' or '-' and another operand ("Update expressions: SET").
 */
static struct ddb_node *parse_single_operand(struct parser *p)
{
	const struct func_def *f;

	if (p->cur.type == TOK_VALUE_PH) {
		struct ddb_node *v = node(p, DDB_NODE_VALUE);

		if (v == NULL)
			return NULL;
		v->name = p->s + p->cur.off;
		v->len = p->cur.len;
		return next(p) == 0 ? v : NULL;
	}
	if (p->cur.type == TOK_IDENT && peek_type(p) == TOK_LPAREN) {
		if (find_func(p, &f) != 0)
			return NULL;
		if (f->condition) {
			misused(p, f->name);
			return NULL;
		}
		return parse_call(p, f);
	}
	return parse_path(p);
}

/* An operand, or one in one pair of parentheses ("(size(a)) = :n", "SET a = (b) + (c)");
 * two pairs DynamoDB refuses as redundant. */
static struct ddb_node *parse_paren_operand(struct parser *p)
{
	struct ddb_node *a;

	if (p->cur.type != TOK_LPAREN)
		return parse_single_operand(p);
	if (next(p) != 0)
		return NULL;
	if (p->cur.type == TOK_LPAREN) {
		ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: The expression has redundant "
			     "parentheses;", p->param);
		return NULL;
	}
	a = parse_single_operand(p);
	return a != NULL && expect(p, TOK_RPAREN) == 0 ? a : NULL;
}

/* operand, and in an update value optionally '+' or '-' and another operand. */
static struct ddb_node *parse_sum(struct parser *p, struct ddb_node *a)
{
	struct ddb_node *b;
	enum ddb_node_kind kind;

	if (a == NULL)
		return NULL;
	if (p->kind != DDB_EXPR_UPDATE || (p->cur.type != TOK_PLUS && p->cur.type != TOK_MINUS))
		return a;
	kind = p->cur.type == TOK_PLUS ? DDB_NODE_PLUS : DDB_NODE_MINUS;
	if (next(p) != 0 || (b = parse_paren_operand(p)) == NULL)
		return NULL;
	return join(p, kind, 0, a, b, NULL);
}

/* The value of a SET action: a sum of operands in parentheses or not, the whole of it in one
 * pair of parentheses or not ("SET b = ((c[1]) + (d))"). */
static struct ddb_node *parse_set_value(struct parser *p)
{
	struct ddb_node *v;

	if (p->cur.type != TOK_LPAREN)
		return parse_sum(p, parse_paren_operand(p));
	if (enter(p) != 0)
		return NULL;
	v = next(p) == 0 ? parse_sum(p, parse_paren_operand(p)) : NULL;
	if (v != NULL && expect(p, TOK_RPAREN) != 0)
		v = NULL;
	/* "(a) + b": the parentheses held one operand of the sum. */
	if (v != NULL && v->kind != DDB_NODE_PLUS && v->kind != DDB_NODE_MINUS)
		v = parse_sum(p, v);
	p->depth--;
	return v;
}

/* Whether the lookahead '(' opens an operand in parentheses (a comparator, BETWEEN or IN
 * follows its ')') rather than a condition. */
static int operand_in_parens(const struct parser *p)
{
	size_t pos = p->cur.off, len = strlen(p->s);
	int depth = 0;
	struct tok t;

	for (;;) {
		if (ddb_expr_lex(p->s, len, pos, &t) != 0 || t.type == TOK_END)
			return 0;
		pos = t.off + t.len;
		if (t.type == TOK_LPAREN)
			depth++;
		else if (t.type == TOK_RPAREN && --depth == 0)
			break;
	}
	if (ddb_expr_lex(p->s, len, pos, &t) != 0)
		return 0;
	return t.type == TOK_CMP ||
	       (t.type == TOK_IDENT && ((t.len == 7 && strncasecmp(p->s + t.off, "BETWEEN", 7) == 0) ||
					(t.len == 2 && strncasecmp(p->s + t.off, "IN", 2) == 0)));
}

static struct ddb_node *parse_or(struct parser *p);

/* The comparator of the lookahead (a TOK_CMP). */
static enum ddb_cmp cmp_of(const struct parser *p)
{
	const char *c = p->s + p->cur.off;

	if (p->cur.len == 1)
		return c[0] == '=' ? DDB_CMP_EQ : c[0] == '<' ? DDB_CMP_LT : DDB_CMP_GT;
	if (c[1] == '>')
		return DDB_CMP_NE;
	return c[0] == '<' ? DDB_CMP_LE : DDB_CMP_GE;
}

/* The white space just before the lookahead token. */
static size_t trailing_space(const struct parser *p)
{
	size_t n = 0;

	while (n < p->cur.off && (p->s[p->cur.off - n - 1] == ' ' || p->s[p->cur.off - n - 1] == '\t' ||
				  p->s[p->cur.off - n - 1] == '\n' || p->s[p->cur.off - n - 1] == '\r'))
		n++;
	return n;
}

/* '(' condition ')' */
static struct ddb_node *parse_parens(struct parser *p)
{
	size_t open = p->cur.off;
	struct ddb_node *c = NULL;

	if (enter(p) != 0)
		return NULL;
	if (next(p) == 0) {
		size_t first = p->cur.off;
		c = parse_or(p);
		if (c == NULL) {
			/* failed: err is set */
		} else if (p->cur.type != TOK_RPAREN) {
			syntax_error(p);
			c = NULL;
		} else if (p->group_open == first && p->group_close + 1 == p->cur.off - trailing_space(p)) {
			/* ((condition)): DynamoDB refuses it (observed; moto does the same). */
			ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: The expression has "
				     "redundant parentheses;", p->param);
			c = NULL;
		} else {
			p->group_open = open;
			p->group_close = p->cur.off;
			if (next(p) != 0)
				c = NULL;
		}
	}
	p->depth--;
	return c;
}

/* IN '(' operand (',' operand)* ')' after the operand a; the lookahead is IN. */
static struct ddb_node *parse_in(struct parser *p, struct ddb_node *a)
{
	struct ddb_node *in = join(p, DDB_NODE_IN, 0, a, NULL, NULL), *el;

	if (in == NULL || next(p) != 0 || expect(p, TOK_LPAREN) != 0)
		return NULL;
	for (;;) {
		if ((el = parse_paren_operand(p)) == NULL)
			return NULL;
		adopt(in, el);
		if (p->cur.type != TOK_COMMA)
			break;
		if (next(p) != 0)
			return NULL;
	}
	in->end = p->cur.off + p->cur.len;
	return expect(p, TOK_RPAREN) == 0 ? in : NULL;
}

/*
 * A condition without AND/OR at its top: '(' condition ')', a boolean function, or an
 * operand followed by a comparator, BETWEEN or IN.
 */
static struct ddb_node *parse_primary(struct parser *p)
{
	const struct func_def *f;
	struct ddb_node *a, *b, *c;

	if (p->cur.type == TOK_LPAREN && !operand_in_parens(p))
		return parse_parens(p);
	if (p->cur.type == TOK_IDENT && peek_type(p) == TOK_LPAREN) {
		if (find_func(p, &f) != 0)
			return NULL;
		if (f->condition)
			return parse_call(p, f);
	}
	if ((a = parse_paren_operand(p)) == NULL)
		return NULL;
	if (p->cur.type == TOK_CMP) {
		enum ddb_cmp op = cmp_of(p);

		if (next(p) != 0 || (b = parse_paren_operand(p)) == NULL)
			return NULL;
		return join(p, DDB_NODE_CMP, (int)op, a, b, NULL);
	}
	if (is_word_tok(p, "BETWEEN")) {
		if (next(p) != 0 || (b = parse_paren_operand(p)) == NULL)
			return NULL;
		if (!is_word_tok(p, "AND")) {
			syntax_error(p);
			return NULL;
		}
		if (next(p) != 0 || (c = parse_paren_operand(p)) == NULL)
			return NULL;
		return join(p, DDB_NODE_BETWEEN, 0, a, b, c);
	}
	if (is_word_tok(p, "IN"))
		return parse_in(p, a);
	if (a->kind == DDB_NODE_CALL)
		misused(p, "size");     /* size() compares; alone it is no condition */
	else
		syntax_error(p);
	return NULL;
}

/* NOT binds tighter than AND, which binds tighter than OR ("Precedence in conditions"). */
static struct ddb_node *parse_not(struct parser *p)
{
	struct ddb_node *n, *c = NULL;

	if (!is_word_tok(p, "NOT"))
		return parse_primary(p);
	if (enter(p) != 0)
		return NULL;
	n = node(p, DDB_NODE_NOT);
	if (n != NULL && next(p) == 0 && (c = parse_not(p)) != NULL)
		adopt(n, c);
	p->depth--;
	return c != NULL ? n : NULL;
}

/* cond (WORD cond)*; WORD is AND or OR.  A chain is one node with a kid per operand, so that
 * walking the tree never goes deeper for a longer chain (AND and OR are associative). */
static struct ddb_node *parse_chain(struct parser *p, const char *word, enum ddb_node_kind kind,
				    struct ddb_node *(*sub)(struct parser *))
{
	struct ddb_node *a = sub(p), *chain = NULL, *b;

	while (a != NULL && is_word_tok(p, word)) {
		if (next(p) != 0 || (b = sub(p)) == NULL)
			return NULL;
		if (chain == NULL)
			a = chain = join(p, kind, 0, a, b, NULL);
		else
			adopt(chain, b);
	}
	return a;
}

static struct ddb_node *parse_and(struct parser *p)
{
	return parse_chain(p, "AND", DDB_NODE_AND, parse_not);
}

static struct ddb_node *parse_or(struct parser *p)
{
	return parse_chain(p, "OR", DDB_NODE_OR, parse_and);
}

/* One action of an update clause. */
static struct ddb_node *parse_action(struct parser *p, enum ddb_clause clause)
{
	struct ddb_node *path = parse_path(p), *v;

	if (path == NULL)
		return NULL;
	switch (clause) {
	case DDB_CLAUSE_SET:
		if (p->cur.type != TOK_CMP || p->s[p->cur.off] != '=' || p->cur.len != 1) {
			syntax_error(p);
			return NULL;
		}
		if (next(p) != 0 || (v = parse_set_value(p)) == NULL)
			return NULL;
		break;
	case DDB_CLAUSE_ADD:
	case DDB_CLAUSE_DELETE:
		if (p->cur.type != TOK_VALUE_PH) {
			syntax_error(p);
			return NULL;
		}
		if ((v = parse_single_operand(p)) == NULL)
			return NULL;
		break;
	default:
		v = NULL;
		break;
	}
	return join(p, DDB_NODE_ACTION, (int)clause, path, v, NULL);
}

/* update ::= clause+, each of SET, REMOVE, ADD, DELETE at most once, in any order. */
static struct ddb_node *parse_update(struct parser *p)
{
	struct ddb_node *list = node(p, DDB_NODE_LIST), *action;
	unsigned seen = 0;

	if (list == NULL)
		return NULL;
	do {
		int clause = -1;
		for (int i = 0; i < (int)(sizeof(clauses) / sizeof(clauses[0])); i++) {
			if (is_word_tok(p, clauses[i]))
				clause = i;
		}
		if (clause < 0) {
			syntax_error(p);
			return NULL;
		}
		if (seen & (1u << clause)) {
			ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: The \"%s\" section "
				     "can only be used once in an update expression;", p->param,
				     clauses[clause]);
			return NULL;
		}
		seen |= 1u << clause;
		if (next(p) != 0)
			return NULL;
		for (;;) {
			if ((action = parse_action(p, (enum ddb_clause)clause)) == NULL)
				return NULL;
			adopt(list, action);
			if (p->cur.type != TOK_COMMA)
				break;
			if (next(p) != 0)
				return NULL;
		}
	} while (p->cur.type != TOK_END);
	return list;
}

/* projection ::= path ( ',' path )* */
static struct ddb_node *parse_projection(struct parser *p)
{
	struct ddb_node *list = node(p, DDB_NODE_LIST), *path;

	if (list == NULL)
		return NULL;
	for (;;) {
		if ((path = parse_path(p)) == NULL)
			return NULL;
		adopt(list, path);
		if (p->cur.type != TOK_COMMA)
			return list;
		if (next(p) != 0)
			return NULL;
	}
}

int ddb_expr_parse(enum ddb_expr_kind kind, const char *param, const char *expr,
		   const cJSON *names, struct ddb_expr *out, struct ds_error *err)
{
	struct parser p = { .kind = kind, .param = param != NULL ? param : "expression",
			    .names = names, .err = err, .arena = &out->arena };
	struct ddb_node *root;
	size_t n;

	memset(out, 0, sizeof(*out));
	out->kind = kind;
	n = expr != NULL ? strnlen(expr, DDB_EXPR_MAX + 1) : 0;
	if (n > DDB_EXPR_MAX) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "Invalid %s: longer than %d bytes (DynamoDB "
			     "accepts %d)", p.param, DDB_EXPR_MAX, DDB_EXPR_APP_MAX);
		return -1;
	}
	p.s = expr != NULL ? expr : "";
	p.len = n;
	if (next(&p) != 0)
		return -1;
	if (p.cur.type == TOK_END) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "Invalid %s: The expression can not be empty",
			     p.param);
		return -1;
	}
	switch (kind) {
	case DDB_EXPR_CONDITION:
		root = parse_or(&p);
		break;
	case DDB_EXPR_PROJECTION:
		root = parse_projection(&p);
		break;
	case DDB_EXPR_UPDATE:
		root = parse_update(&p);
		break;
	default:
		ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal: unknown expression kind %d",
			     (int)kind);
		return -1;
	}
	if (root == NULL)
		return -1;
	if (p.cur.type == TOK_RPAREN)
		return syntax_error(&p);
	if (p.cur.type != TOK_END)
		return syntax_error(&p);
	if (p.reserved_len > 0) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "Invalid %s: Attribute name is a reserved "
			     "keyword; reserved keyword: %.*s", p.param, (int)p.reserved_len,
			     p.s + p.reserved_off);
		return -1;
	}
	out->root = root;
	return 0;
}

void ddb_expr_release(struct ddb_expr *e)
{
	arena_release(&e->arena);
	e->root = NULL;
}
