/*
 * Shared by the PartiQL reader's files (ddb_partiql_lex.c: tokens, errors, placeholders and
 * values; ddb_partiql.c: conditions and statements; ddb_partiql_request.c: the classic request).
 */
#ifndef DS_DDB_PARTIQL_LEX_H
#define DS_DDB_PARTIQL_LEX_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "proxy/ddb/ddb_partiql.h"

#define PQ_MAX_LEN 8192         /* DynamoDB accepts statements of up to 8 KiB */
#define PQ_MAX_DEPTH 32

enum tok_type {
	T_END, T_IDENT, T_QIDENT, T_STRING, T_NUMBER, T_PARAM, T_COMMA, T_DOT, T_LBRACK, T_RBRACK,
	T_LPAREN, T_RPAREN, T_LBRACE, T_RBRACE, T_COLON, T_CMP, T_PLUS, T_MINUS, T_STAR,
	T_SET_OPEN, T_SET_CLOSE, T_SEMI,
};

struct tok {
	enum tok_type type;
	size_t off, len;
};

/* A growing string; oom is sticky. */
struct sb {
	char *p;
	size_t len, cap;
	int oom;
};

struct pq {
	const char *s;
	size_t n, pos;
	struct tok cur;
	const cJSON *params;
	int next_param;
	int depth;
	struct ddb_partiql *out;
	struct ds_error *err;
	struct ddb_pq_conj *collect;   /* where top-level names read are noted */
	int nvalues;
};

/* Appends to b (sticky oom). */
void pq_sb_add(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Errors: DynamoDB's "Statement wasn't well formed", dynaseal's refusal of what it does not
 * carry out, an unexpected token, out of memory.  Each returns -1. */
int pq_fail(struct pq *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int pq_refuse(struct pq *q, const char *what, int len);
int pq_unexpected(struct pq *q, const char *wanted);
int pq_oom(struct pq *q);
/* The next token into q->cur.  0 or -1. */
int pq_lex(struct pq *q);
/* Whether the token is the word w (any case); pq_word also consumes it or fails. */
int pq_is_word(const struct pq *q, const char *w);
int pq_word(struct pq *q, const char *w);
/* The token's text, unquoted; malloc'd. */
char *pq_unquote(const struct pq *q);
/* Placeholders written to b: #qN for a name (one per name), :qN for a value (taken). */
int pq_name_ph(struct pq *q, const char *name, struct sb *b);
int pq_value_ph(struct pq *q, cJSON *v, struct sb *b);
/* Notes a top-level name the conjunct being read reads. */
void pq_note_name(struct pq *q, const char *name);
/* A literal or '?' parameter as an attribute value; NULL with the error set. */
cJSON *pq_parse_value(struct pq *q);

#endif
