/*
 * The PartiQL reader's tokens, errors, placeholders and values (see ddb_partiql.h).
 */
#include "proxy/ddb/ddb_partiql_lex.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void pq_sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || b->len + (size_t)n + 1 > b->cap) {
		size_t cap = (b->len + (size_t)(n < 0 ? 0 : n) + 1) * 2;
		char *p = realloc(b->p, cap);
		if (n < 0 || p == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* ---- errors and tokens ------------------------------------------------------------------- */

int pq_fail(struct pq *q, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	if (q->err->status != 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ds_error_set(q->err, 400, DS_ERR_VALIDATION, "Statement wasn't well formed, can't be "
		     "processed: %s", msg);
	return -1;
}

/* A statement DynamoDB would run but dynaseal does not carry out on a table it encrypts. */
int pq_refuse(struct pq *q, const char *what, int len)
{
	if (q->err->status != 0)
		return -1;
	q->out->refused = 1;
	ds_error_set(q->err, 400, DS_ERR_VALIDATION, "dynaseal does not carry out %.*s in a PartiQL "
		     "statement on a table it encrypts; use the classic operations (GetItem, Query, "
		     "Scan, PutItem, UpdateItem, DeleteItem) for it", len, what);
	return -1;
}

int pq_unexpected(struct pq *q, const char *wanted)
{
	if (q->cur.type == T_END)
		return pq_fail(q, "expected %s at the end of the statement", wanted);
	return pq_fail(q, "expected %s near '%.*s' at offset %zu", wanted,
		    (int)(q->cur.len > 32 ? 32 : q->cur.len), q->s + q->cur.off, q->cur.off);
}

int pq_lex(struct pq *q)
{
	const char *s = q->s;
	size_t i = q->pos;

	while (i < q->n && isspace((unsigned char)s[i]))
		i++;
	q->cur.off = i;
	if (i >= q->n) {
		q->cur.type = T_END;
		q->cur.len = 0;
		q->pos = i;
		return 0;
	}
	if (isalpha((unsigned char)s[i]) || s[i] == '_') {
		size_t j = i;
		while (j < q->n && (isalnum((unsigned char)s[j]) || s[j] == '_'))
			j++;
		q->cur.type = T_IDENT;
		q->cur.len = j - i;
	} else if (isdigit((unsigned char)s[i])) {
		size_t j = i;
		while (j < q->n && (isdigit((unsigned char)s[j]) || s[j] == '.'))
			j++;
		if (j < q->n && (s[j] == 'e' || s[j] == 'E')) {
			j++;
			if (j < q->n && (s[j] == '+' || s[j] == '-'))
				j++;
			while (j < q->n && isdigit((unsigned char)s[j]))
				j++;
		}
		q->cur.type = T_NUMBER;
		q->cur.len = j - i;
	} else if (s[i] == '\'' || s[i] == '"') {
		size_t j = i + 1;
		for (;;) {
			if (j >= q->n)
				return pq_fail(q, "unterminated %s starting at offset %zu",
					    s[i] == '"' ? "quoted name" : "string", i);
			if (s[j] == s[i] && j + 1 < q->n && s[j + 1] == s[i]) {
				j += 2;
				continue;
			}
			if (s[j] == s[i])
				break;
			j++;
		}
		q->cur.type = s[i] == '"' ? T_QIDENT : T_STRING;
		q->cur.len = j + 1 - i;
	} else {
		static const struct { const char *text; enum tok_type type; } ops[] = {
			{ "<<", T_SET_OPEN }, { ">>", T_SET_CLOSE }, { "<>", T_CMP }, { "!=", T_CMP },
			{ "<=", T_CMP }, { ">=", T_CMP }, { "<", T_CMP }, { ">", T_CMP }, { "=", T_CMP },
			{ ",", T_COMMA }, { ".", T_DOT }, { "[", T_LBRACK }, { "]", T_RBRACK },
			{ "(", T_LPAREN }, { ")", T_RPAREN }, { "{", T_LBRACE }, { "}", T_RBRACE },
			{ ":", T_COLON }, { "+", T_PLUS }, { "-", T_MINUS }, { "*", T_STAR },
			{ "?", T_PARAM }, { ";", T_SEMI },
		};
		size_t k;
		for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
			if (strncmp(s + i, ops[k].text, strlen(ops[k].text)) == 0)
				break;
		if (k == sizeof(ops) / sizeof(ops[0]))
			return pq_fail(q, "unexpected character '%c' at offset %zu", s[i], i);
		q->cur.type = ops[k].type;
		q->cur.len = strlen(ops[k].text);
	}
	q->pos = q->cur.off + q->cur.len;
	return 0;
}

int pq_is_word(const struct pq *q, const char *w)
{
	return q->cur.type == T_IDENT && q->cur.len == strlen(w) &&
	       strncasecmp(q->s + q->cur.off, w, q->cur.len) == 0;
}

int pq_word(struct pq *q, const char *w)
{
	if (!pq_is_word(q, w))
		return pq_unexpected(q, w);
	return pq_lex(q);
}

/* The text of a quoted token, unquoted (doubled quotes made single); malloc'd. */
char *pq_unquote(const struct pq *q)
{
	const char *s = q->s + q->cur.off;
	size_t n = q->cur.len;
	char *out, *o;

	if (q->cur.type == T_IDENT)
		return strndup(s, n);
	out = o = malloc(n);
	if (out == NULL)
		return NULL;
	for (size_t i = 1; i + 1 < n; i++) {
		*o++ = s[i];
		if (s[i] == s[0])
			i++;
	}
	*o = '\0';
	return out;
}

int pq_oom(struct pq *q)
{
	if (q->err->status == 0)
		ds_error_set(q->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
	return -1;
}

/* ---- placeholders ------------------------------------------------------------------------ */

/* The #qN placeholder of name (the same one for the same name) written to b. */
int pq_name_ph(struct pq *q, const char *name, struct sb *b)
{
	cJSON *names = q->out->names;
	const cJSON *c;
	int n = 0;
	char ph[16];

	cJSON_ArrayForEach(c, names) {
		if (strcmp(c->valuestring, name) == 0) {
			pq_sb_add(b, "%s", c->string);
			return 0;
		}
		n++;
	}
	snprintf(ph, sizeof(ph), "#q%d", n);
	if (cJSON_AddStringToObject(names, ph, name) == NULL)
		return pq_oom(q);
	pq_sb_add(b, "%s", ph);
	return 0;
}

/* A :qN placeholder for v (taken) written to b. */
int pq_value_ph(struct pq *q, cJSON *v, struct sb *b)
{
	char ph[16];

	snprintf(ph, sizeof(ph), ":q%d", q->nvalues++);
	if (!cJSON_AddItemToObject(q->out->values, ph, v)) {
		cJSON_Delete(v);
		return pq_oom(q);
	}
	pq_sb_add(b, "%s", ph);
	return 0;
}

void pq_note_name(struct pq *q, const char *name)
{
	struct ddb_pq_conj *c = q->collect;
	char **more;

	if (c == NULL)
		return;
	for (size_t i = 0; i < c->names_len; i++)
		if (strcmp(c->names[i], name) == 0)
			return;
	more = realloc(c->names, (c->names_len + 1) * sizeof(*more));
	if (more == NULL)
		return;
	c->names = more;
	if ((c->names[c->names_len] = strdup(name)) != NULL)
		c->names_len++;
}

/* ---- values ------------------------------------------------------------------------------ */

cJSON *pq_parse_value(struct pq *q);

static cJSON *typed(const char *type, cJSON *v)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || v == NULL || !cJSON_AddItemToObject(o, type, v)) {
		cJSON_Delete(o);
		cJSON_Delete(v);
		return NULL;
	}
	return o;
}

/* <<v, ...>>: a set of strings, numbers or binaries, all of one type. */
static cJSON *parse_set(struct pq *q)
{
	cJSON *list = cJSON_CreateArray();
	const char *type = NULL;

	if (list == NULL || pq_lex(q) != 0)
		goto fail;
	while (q->cur.type != T_SET_CLOSE) {
		cJSON *v = pq_parse_value(q);
		const cJSON *kid = v != NULL ? v->child : NULL;
		const char *t = kid == NULL ? NULL : strcmp(kid->string, "S") == 0 ? "SS" :
				strcmp(kid->string, "N") == 0 ? "NS" : strcmp(kid->string, "B") == 0 ? "BS" : NULL;
		if (v == NULL)
			goto fail;
		if (t == NULL || (type != NULL && strcmp(type, t) != 0)) {
			cJSON_Delete(v);
			pq_fail(q, "a set holds strings, numbers or binaries, all of one type");
			goto fail;
		}
		type = t;
		cJSON_AddItemToArray(list, cJSON_Duplicate(kid, 1));
		cJSON_Delete(v);
		if (q->cur.type == T_COMMA) {
			if (pq_lex(q) != 0)
				goto fail;
		} else if (q->cur.type != T_SET_CLOSE) {
			pq_unexpected(q, "',' or '>>'");
			goto fail;
		}
	}
	if (type == NULL) {
		pq_fail(q, "a set cannot be empty");
		goto fail;
	}
	if (pq_lex(q) != 0)
		goto fail;
	return typed(type, list);
fail:
	cJSON_Delete(list);
	return NULL;
}

/* [v, ...] or {'k': v, ...} */
static cJSON *parse_collection(struct pq *q, int map)
{
	cJSON *c = map ? cJSON_CreateObject() : cJSON_CreateArray();
	enum tok_type close = map ? T_RBRACE : T_RBRACK;

	if (c == NULL || ++q->depth > PQ_MAX_DEPTH || pq_lex(q) != 0)
		goto fail;
	while (q->cur.type != close) {
		char *key = NULL;
		cJSON *v;
		if (map) {
			if (q->cur.type != T_STRING) {
				pq_unexpected(q, "a 'quoted' attribute name");
				goto fail;
			}
			if ((key = pq_unquote(q)) == NULL) {
				pq_oom(q);
				goto fail;
			}
			if (pq_lex(q) != 0 || (q->cur.type != T_COLON && pq_unexpected(q, "':'")) || pq_lex(q) != 0) {
				free(key);
				goto fail;
			}
		}
		v = pq_parse_value(q);
		if (v == NULL || (map ? (cJSON_GetObjectItemCaseSensitive(c, key) != NULL ?
					 (cJSON_Delete(v), pq_fail(q, "the name '%.64s' appears twice in a "
								"map", key), 0) :
					 cJSON_AddItemToObject(c, key, v)) : cJSON_AddItemToArray(c, v)) == 0) {
			free(key);
			goto fail;
		}
		free(key);
		if (q->cur.type == T_COMMA) {
			if (pq_lex(q) != 0)
				goto fail;
		} else if (q->cur.type != close) {
			pq_unexpected(q, map ? "',' or '}'" : "',' or ']'");
			goto fail;
		}
	}
	q->depth--;
	if (pq_lex(q) != 0)
		goto fail;
	return typed(map ? "M" : "L", c);
fail:
	if (q->depth > PQ_MAX_DEPTH)
		pq_fail(q, "values nested deeper than %d levels", PQ_MAX_DEPTH);
	cJSON_Delete(c);
	return NULL;
}

/* A literal or a '?' parameter, as an attribute value; NULL with the error set. */
cJSON *pq_parse_value(struct pq *q)
{
	cJSON *v = NULL;

	switch (q->cur.type) {
	case T_STRING: {
		char *s = pq_unquote(q);
		v = s != NULL ? typed("S", cJSON_CreateString(s)) : NULL;
		free(s);
		break;
	}
	case T_MINUS:
	case T_NUMBER: {
		size_t off = q->cur.off;
		char num[64];
		if (q->cur.type == T_MINUS && (pq_lex(q) != 0 || (q->cur.type != T_NUMBER &&
							      pq_unexpected(q, "a number") != 0)))
			return NULL;
		snprintf(num, sizeof(num), "%.*s", (int)(q->cur.off + q->cur.len - off), q->s + off);
		v = typed("N", cJSON_CreateString(num));
		break;
	}
	case T_PARAM: {
		const cJSON *p = cJSON_GetArrayItem(q->params, q->next_param);
		if (p == NULL) {
			ds_error_set(q->err, 400, DS_ERR_VALIDATION, "Number of parameters in request "
				     "and statement don't match.");
			return NULL;
		}
		q->next_param++;
		v = cJSON_Duplicate(p, 1);
		break;
	}
	case T_LBRACK:
	case T_LBRACE:
		return parse_collection(q, q->cur.type == T_LBRACE);
	case T_SET_OPEN:
		return parse_set(q);
	case T_IDENT:
		if (pq_is_word(q, "TRUE") || pq_is_word(q, "FALSE"))
			v = typed("BOOL", cJSON_CreateBool(pq_is_word(q, "TRUE")));
		else if (pq_is_word(q, "NULL"))
			v = typed("NULL", cJSON_CreateTrue());
		else {
			pq_unexpected(q, "a value");
			return NULL;
		}
		break;
	default:
		pq_unexpected(q, "a value");
		return NULL;
	}
	if (v == NULL) {
		pq_oom(q);
		return NULL;
	}
	if (pq_lex(q) != 0) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

