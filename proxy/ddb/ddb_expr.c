/*
 * A tokenizer and a recursive-descent parser for DynamoDB's three expression grammars
 * (Developer Guide: "Condition and filter expressions, operators, and functions" for the
 * condition grammar, "Update expressions" for SET/REMOVE/ADD/DELETE, "Projection
 * expressions"; "Expression attribute names" for #placeholders).  Nothing is evaluated: the
 * parser finds each document path, resolves its first element through
 * ExpressionAttributeNames and tells whether an update writes it.
 *
 * Why a real parser and not a token scan: dynaseal fails closed.  Whatever the parser cannot
 * fit in the grammar is refused, so a path DynamoDB would see cannot hide in a construct the
 * scanner skipped.  Accepting a little more than DynamoDB does is harmless (DynamoDB refuses
 * it); accepting less only refuses a request.  Input is untrusted: it is read through
 * (ptr, len) with bounds checks, its length is capped at DDB_EXPR_MAX and recursion at
 * DDB_EXPR_MAX_DEPTH.
 */
#include "proxy/ddb/ddb_expr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* The parser's state over one expression. */
struct parser {
	enum ddb_expr_kind kind;     /* grammar */
	const char *param;           /* request parameter, for messages */
	const char *s;               /* the expression */
	size_t len;                  /* its length, at most DDB_EXPR_MAX */
	size_t pos;                  /* where lexing resumes, just after cur */
	struct tok cur;              /* the lookahead token */
	const cJSON *names;          /* ExpressionAttributeNames, or NULL */
	ddb_expr_name_cb cb;         /* told each path, or NULL */
	void *arg;                   /* cb's argument */
	struct ds_error *err;        /* where failures are described */
	int depth;                   /* current nesting, bounded by DDB_EXPR_MAX_DEPTH */
	struct ddb_projection *proj; /* ddb_projection_parse(): paths collected here, or NULL */
};

/* One function: where it may appear and what its arguments are. */
struct func_def {
	const char *name;          /* as DynamoDB spells it */
	enum ddb_expr_kind kind;   /* DDB_EXPR_CONDITION or DDB_EXPR_UPDATE */
	int condition;             /* a whole condition (1) rather than an operand (0) */
	int path_first;            /* the first argument must be a path */
	int args;                  /* number of arguments */
};

/* The functions of both grammars ("Comparison operator and function reference", "Update
 * expressions: SET").  Their names are case-sensitive. */
static const struct func_def funcs[] = {
	{ "attribute_exists", DDB_EXPR_CONDITION, 1, 1, 1 },
	{ "attribute_not_exists", DDB_EXPR_CONDITION, 1, 1, 1 },
	{ "attribute_type", DDB_EXPR_CONDITION, 1, 1, 2 },
	{ "begins_with", DDB_EXPR_CONDITION, 1, 1, 2 },
	{ "contains", DDB_EXPR_CONDITION, 1, 1, 2 },
	{ "size", DDB_EXPR_CONDITION, 0, 1, 1 },
	{ "if_not_exists", DDB_EXPR_UPDATE, 0, 1, 2 },
	{ "list_append", DDB_EXPR_UPDATE, 0, 0, 2 },
};

/* The grammar's own keywords (case-insensitive): never a bare attribute name.  DynamoDB's
 * full reserved-word list is longer; DynamoDB refuses the rest itself. */
static const char *const keywords[] = {
	"AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE",
};

/* The update clauses, in the bit order of parse_update()'s "seen" set. */
static const char *const clauses[] = { "SET", "REMOVE", "ADD", "DELETE" };

enum { CLAUSE_SET = 0, CLAUSE_REMOVE, CLAUSE_ADD, CLAUSE_DELETE };

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

/*
 * Reads the token starting at or after pos in s[0..len) into *t.  Pure, so that it can also
 * peek.  Returns 0, or -1 with t->off on a byte no token starts with (or a '#'/':' without a
 * name).
 */
static int lex_at(const char *s, size_t len, size_t pos, struct tok *t)
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

/* A syntax error at the lookahead token (quoted, cut at 32 bytes): what was expected there.
 * Returns -1. */
static int syntax_error(struct parser *p, const char *expected)
{
	const struct tok *t = &p->cur;
	char near[48];

	if (t->type == TOK_END)
		snprintf(near, sizeof(near), "the end of the expression");
	else
		snprintf(near, sizeof(near), "\"%.*s\"%s", (int)(t->len > 32 ? 32 : t->len),
			 p->s + t->off, t->len > 32 ? "..." : "");
	ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: Syntax error at offset %zu near %s: "
		     "expected %s", p->param, p->cur.off, near, expected);
	return -1;
}

/* Moves to the next token.  Returns 0, or -1 with err set on a byte that starts none. */
static int next(struct parser *p)
{
	struct tok t;

	if (lex_at(p->s, p->len, p->pos, &t) != 0) {
		unsigned char c = (unsigned char)p->s[t.off];
		char what[64];
		if (c == '#' || c == ':')
			snprintf(what, sizeof(what), "'%c' must be followed by letters, digits or '_'", c);
		else if (c >= 0x21 && c < 0x7f)
			snprintf(what, sizeof(what), "unexpected character '%c'", c);
		else
			snprintf(what, sizeof(what), "unexpected byte 0x%02x", c);
		ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: Syntax error at offset %zu: %s",
			     p->param, t.off, what);
		return -1;
	}
	p->cur = t;
	p->pos = t.off + t.len;
	return 0;
}

/* The type of the token after the lookahead (TOK_END when it would not lex). */
static enum tok_type peek_type(const struct parser *p)
{
	struct tok t;

	return lex_at(p->s, p->len, p->pos, &t) == 0 ? t.type : TOK_END;
}

/* Consumes a token of the given type, or fails naming what was expected. */
static int expect(struct parser *p, enum tok_type type, const char *expected)
{
	if (p->cur.type != type)
		return syntax_error(p, expected);
	return next(p);
}

/* Is the lookahead the bare word w (case-insensitive, as DynamoDB's keywords are)? */
static int is_word_tok(const struct parser *p, const char *w)
{
	return p->cur.type == TOK_IDENT && p->cur.len == strlen(w) &&
	       strncasecmp(p->s + p->cur.off, w, p->cur.len) == 0;
}

static int is_keyword(const struct parser *p)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (is_word_tok(p, keywords[i]))
			return 1;
	}
	return 0;
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

/* Appends a path to the projection being parsed. */
static int collect(struct parser *p, const char *name, size_t len, int nested, size_t start,
		   size_t end)
{
	struct ddb_projection *pr = p->proj;
	struct ddb_projection_path *n;

	if ((pr->len & (pr->len - 1)) == 0) {
		/* Grows at every power of two: 1, 2, 4, ... */
		n = realloc(pr->paths, (pr->len ? pr->len * 2 : 1) * sizeof(*n));
		if (n == NULL)
			goto oom;
		pr->paths = n;
	}
	n = &pr->paths[pr->len];
	n->name = strndup(name, len);
	n->text = strndup(p->s + start, end - start);
	n->nested = nested;
	if (n->name == NULL || n->text == NULL) {
		free(n->name);
		free(n->text);
		goto oom;
	}
	pr->len++;
	return 0;
oom:
	ds_error_set(p->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
	return -1;
}

/* Tells the caller about one path: collects it, calls cb, or both. */
static int report(struct parser *p, const char *name, size_t len, int written, int nested,
		  size_t start, size_t end)
{
	if (p->proj != NULL && collect(p, name, len, nested, start, end) != 0)
		return -1;
	if (p->cb != NULL && p->cb(p->arg, name, len, written, nested, p->err) != 0) {
		if (p->err->status == 0)
			ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: dynaseal refuses the "
				     "attribute \"%.*s\"", p->param, len > 64 ? 64 : (int)len, name);
		return -1;
	}
	return 0;
}

/*
 * path ::= element ( '.' element | '[' digits ']' )*, element ::= name | #placeholder
 * ("Specifying item attributes when using expressions": document paths).  Only the first
 * element is an attribute of the item; later #placeholders are still checked to exist.
 */
static int parse_path(struct parser *p, int written)
{
	struct tok first = p->cur;
	const char *name;
	const char *ignored;
	size_t name_len;
	size_t ignored_len;
	size_t end;
	int nested = 0;

	if (first.type == TOK_IDENT && is_keyword(p)) {
		ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: Attribute name is a reserved "
			     "keyword; reserved keyword: %.*s (at offset %zu; use an "
			     "ExpressionAttributeNames placeholder)", p->param, (int)first.len,
			     p->s + first.off, first.off);
		return -1;
	}
	if (first.type != TOK_IDENT && first.type != TOK_NAME_PH)
		return syntax_error(p, "a document path (an attribute name or #placeholder)");
	if (resolve(p, &first, &name, &name_len) != 0)
		return -1;
	end = first.off + first.len;
	if (next(p) != 0)
		return -1;
	for (;;) {
		if (p->cur.type == TOK_DOT) {
			if (next(p) != 0)
				return -1;
			if (p->cur.type != TOK_IDENT && p->cur.type != TOK_NAME_PH)
				return syntax_error(p, "a name or #placeholder after '.'");
			if (resolve(p, &p->cur, &ignored, &ignored_len) != 0)
				return -1;
		} else if (p->cur.type == TOK_LBRACKET) {
			if (next(p) != 0)
				return -1;
			if (p->cur.type != TOK_NUMBER)
				return syntax_error(p, "a list index (digits) after '['");
			if (next(p) != 0)
				return -1;
			if (p->cur.type != TOK_RBRACKET)
				return syntax_error(p, "']' after the list index");
		} else {
			break;
		}
		nested = 1;
		end = p->cur.off + p->cur.len;
		if (next(p) != 0)
			return -1;
	}
	return report(p, name, name_len, written, nested, first.off, end);
}

/* Finds the function named by the lookahead (an identifier followed by '('). */
static int find_func(struct parser *p, const struct func_def **f)
{
	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++) {
		if (p->cur.len == strlen(funcs[i].name) &&
		    memcmp(p->s + p->cur.off, funcs[i].name, p->cur.len) == 0) {
			if (funcs[i].kind != p->kind) {
				ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: the function %s "
					     "(at offset %zu) can only be used in %s", p->param,
					     funcs[i].name, p->cur.off, funcs[i].kind == DDB_EXPR_UPDATE ?
					     "an UpdateExpression" : "a condition, filter or key "
					     "condition expression");
				return -1;
			}
			*f = &funcs[i];
			return 0;
		}
	}
	ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: Invalid function name; function: "
		     "%.*s (at offset %zu; function names are case-sensitive)", p->param,
		     p->cur.len > 64 ? 64 : (int)p->cur.len, p->s + p->cur.off, p->cur.off);
	return -1;
}

static int parse_operand(struct parser *p);

/* function '(' args ')': the lookahead is the function's name. */
static int parse_call(struct parser *p, const struct func_def *f)
{
	int rc = -1;

	if (enter(p) != 0)
		return -1;
	if (next(p) != 0 || expect(p, TOK_LPAREN, "'('") != 0)
		goto out;
	for (int i = 0; i < f->args; i++) {
		if (i > 0 && expect(p, TOK_COMMA, "',' between the function's arguments") != 0)
			goto out;
		if ((i == 0 && f->path_first ? parse_path(p, 0) : parse_operand(p)) != 0)
			goto out;
	}
	if (p->cur.type != TOK_RPAREN) {
		char what[96];
		snprintf(what, sizeof(what), "')' closing %s(, which takes %d argument%s", f->name,
			 f->args, f->args > 1 ? "s" : "");
		syntax_error(p, what);
		goto out;
	}
	rc = next(p);
out:
	p->depth--;
	return rc;
}

/*
 * Condition operand ::= path | :value | size(path).  Update operand ::= path | :value |
 * if_not_exists(path, value) | list_append(value, value), and an update value is an operand
 * optionally followed by '+' or '-' and another operand ("Update expressions: SET").
 */
static int parse_single_operand(struct parser *p)
{
	const struct func_def *f;

	if (p->cur.type == TOK_VALUE_PH)
		return next(p);
	if (p->cur.type == TOK_IDENT && peek_type(p) == TOK_LPAREN) {
		if (find_func(p, &f) != 0)
			return -1;
		if (f->condition) {
			ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: the function %s (at "
				     "offset %zu) is a condition, not an operand", p->param, f->name,
				     p->cur.off);
			return -1;
		}
		return parse_call(p, f);
	}
	return parse_path(p, 0);
}

static int parse_operand(struct parser *p)
{
	if (parse_single_operand(p) != 0)
		return -1;
	if (p->kind == DDB_EXPR_UPDATE && (p->cur.type == TOK_PLUS || p->cur.type == TOK_MINUS)) {
		if (next(p) != 0)
			return -1;
		return parse_single_operand(p);
	}
	return 0;
}

static int parse_or(struct parser *p);

/*
 * A condition without AND/OR at its top: '(' condition ')', a boolean function, or an
 * operand followed by a comparator, BETWEEN or IN.
 */
static int parse_primary(struct parser *p)
{
	const struct func_def *f;

	if (p->cur.type == TOK_LPAREN) {
		size_t open = p->cur.off;
		int rc = -1;
		if (enter(p) != 0)
			return -1;
		if (next(p) == 0 && parse_or(p) == 0) {
			if (p->cur.type != TOK_RPAREN) {
				char what[64];
				snprintf(what, sizeof(what), "')' closing the '(' at offset %zu", open);
				syntax_error(p, what);
			} else {
				rc = next(p);
			}
		}
		p->depth--;
		return rc;
	}
	if (p->cur.type == TOK_IDENT && peek_type(p) == TOK_LPAREN) {
		if (find_func(p, &f) != 0)
			return -1;
		if (f->condition)
			return parse_call(p, f);
	}
	if (parse_operand(p) != 0)
		return -1;
	if (p->cur.type == TOK_CMP) {
		if (next(p) != 0)
			return -1;
		return parse_operand(p);
	}
	if (is_word_tok(p, "BETWEEN")) {
		if (next(p) != 0 || parse_operand(p) != 0)
			return -1;
		if (!is_word_tok(p, "AND"))
			return syntax_error(p, "AND in BETWEEN ... AND ...");
		if (next(p) != 0)
			return -1;
		return parse_operand(p);
	}
	if (is_word_tok(p, "IN")) {
		if (next(p) != 0 || expect(p, TOK_LPAREN, "'(' after IN") != 0)
			return -1;
		for (;;) {
			if (parse_operand(p) != 0)
				return -1;
			if (p->cur.type != TOK_COMMA)
				break;
			if (next(p) != 0)
				return -1;
		}
		return expect(p, TOK_RPAREN, "',' or ')' closing the IN list");
	}
	return syntax_error(p, "a comparator (=, <>, <, <=, >, >=), BETWEEN or IN");
}

/* NOT binds tighter than AND, which binds tighter than OR ("Precedence in conditions"). */
static int parse_not(struct parser *p)
{
	int rc;

	if (!is_word_tok(p, "NOT"))
		return parse_primary(p);
	if (enter(p) != 0)
		return -1;
	rc = next(p) == 0 ? parse_not(p) : -1;
	p->depth--;
	return rc;
}

static int parse_and(struct parser *p)
{
	if (parse_not(p) != 0)
		return -1;
	while (is_word_tok(p, "AND")) {
		if (next(p) != 0 || parse_not(p) != 0)
			return -1;
	}
	return 0;
}

static int parse_or(struct parser *p)
{
	if (parse_and(p) != 0)
		return -1;
	while (is_word_tok(p, "OR")) {
		if (next(p) != 0 || parse_and(p) != 0)
			return -1;
	}
	return 0;
}

/* One action of an update clause; the paths it acts on are written. */
static int parse_action(struct parser *p, int clause)
{
	if (parse_path(p, 1) != 0)
		return -1;
	switch (clause) {
	case CLAUSE_SET:
		if (p->cur.type != TOK_CMP || p->s[p->cur.off] != '=' || p->cur.len != 1)
			return syntax_error(p, "'=' after the path a SET action writes");
		if (next(p) != 0)
			return -1;
		return parse_operand(p);
	case CLAUSE_ADD:
	case CLAUSE_DELETE:
		return expect(p, TOK_VALUE_PH, clause == CLAUSE_ADD ?
			      "a :value to ADD after the path" : "a :value (a set) to DELETE after the path");
	default:
		return 0;
	}
}

/* update ::= clause+, each of SET, REMOVE, ADD, DELETE at most once, in any order. */
static int parse_update(struct parser *p)
{
	unsigned seen = 0;

	do {
		int clause = -1;
		for (int i = 0; i < (int)(sizeof(clauses) / sizeof(clauses[0])); i++) {
			if (is_word_tok(p, clauses[i]))
				clause = i;
		}
		if (clause < 0)
			return syntax_error(p, seen ? "',' or the next clause (SET, REMOVE, ADD or DELETE)" :
					    "SET, REMOVE, ADD or DELETE");
		if (seen & (1u << clause)) {
			ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: the %s clause appears "
				     "twice (again at offset %zu); each of SET, REMOVE, ADD and DELETE "
				     "may appear once", p->param, clauses[clause], p->cur.off);
			return -1;
		}
		seen |= 1u << clause;
		if (next(p) != 0)
			return -1;
		for (;;) {
			if (parse_action(p, clause) != 0)
				return -1;
			if (p->cur.type != TOK_COMMA)
				break;
			if (next(p) != 0)
				return -1;
		}
	} while (p->cur.type != TOK_END);
	return 0;
}

/* projection ::= path ( ',' path )* */
static int parse_projection(struct parser *p)
{
	for (;;) {
		if (parse_path(p, 0) != 0)
			return -1;
		if (p->cur.type != TOK_COMMA)
			return 0;
		if (next(p) != 0)
			return -1;
	}
}

/* Runs the grammar of p->kind over the whole expression. */
static int parse(struct parser *p, const char *expr)
{
	size_t n;
	int rc;

	if (p->param == NULL)
		p->param = "expression";
	n = expr != NULL ? strnlen(expr, DDB_EXPR_MAX + 1) : 0;
	if (n > DDB_EXPR_MAX) {
		ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: longer than %d bytes (DynamoDB "
			     "accepts 4 KiB)", p->param, DDB_EXPR_MAX);
		return -1;
	}
	p->s = expr != NULL ? expr : "";
	p->len = n;
	p->pos = 0;
	p->depth = 0;
	if (next(p) != 0)
		return -1;
	if (p->cur.type == TOK_END) {
		ds_error_set(p->err, 400, DS_ERR_VALIDATION, "Invalid %s: The expression can not be empty",
			     p->param);
		return -1;
	}
	switch (p->kind) {
	case DDB_EXPR_CONDITION:
		rc = parse_or(p);
		break;
	case DDB_EXPR_PROJECTION:
		rc = parse_projection(p);
		break;
	case DDB_EXPR_UPDATE:
		rc = parse_update(p);
		break;
	default:
		ds_error_set(p->err, 500, DS_ERR_INTERNAL, "dynaseal: unknown expression kind %d",
			     (int)p->kind);
		return -1;
	}
	if (rc != 0)
		return -1;
	if (p->cur.type == TOK_RPAREN)
		return syntax_error(p, "the end of the expression (this ')' closes nothing)");
	if (p->cur.type != TOK_END)
		return syntax_error(p, p->kind == DDB_EXPR_PROJECTION ? "',' between paths" :
				    p->kind == DDB_EXPR_CONDITION ? "AND, OR or the end of the expression" :
				    "the end of the expression");
	return 0;
}

int ddb_expr_scan(enum ddb_expr_kind kind, const char *param, const char *expr, const cJSON *names,
		  ddb_expr_name_cb cb, void *arg, struct ds_error *err)
{
	struct parser p = { .kind = kind, .param = param, .names = names, .cb = cb, .arg = arg,
			    .err = err };

	return parse(&p, expr);
}

int ddb_projection_parse(const char *expr, const cJSON *names, struct ddb_projection *out,
			 struct ds_error *err)
{
	struct parser p = { .kind = DDB_EXPR_PROJECTION, .param = "ProjectionExpression",
			    .names = names, .err = err, .proj = out };

	memset(out, 0, sizeof(*out));
	if (parse(&p, expr) != 0) {
		ddb_projection_cleanup(out);
		return -1;
	}
	return 0;
}
