/*
 * PartiQL statements read into classic requests: see ddb_partiql.h.  A recursive-descent
 * parser (tokens and values in ddb_partiql_lex.c); conditions and updates are written out in
 * the classic expression syntax with every name and value a placeholder.
 */
#include "proxy/ddb/ddb_partiql_lex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- paths and conditions ---------------------------------------------------------------- */

/* A name (bare or "quoted"); malloc'd into *name. */
static int take_name(struct pq *q, char **name)
{
	if (q->cur.type != T_IDENT && q->cur.type != T_QIDENT)
		return pq_unexpected(q, "a name");
	if ((*name = pq_unquote(q)) == NULL)
		return pq_oom(q);
	if (pq_lex(q) != 0) {
		free(*name);
		*name = NULL;
		return -1;
	}
	return 0;
}

/* path ::= name ( '.' name | '[' digits ']' )*, written to b; *top the first name
 * (malloc'd, when top is not NULL), *nested whether more follows. */
static int parse_path(struct pq *q, struct sb *b, char **top, int *nested)
{
	char *first = NULL, *name = NULL;

	if (top != NULL)
		*top = NULL;
	*nested = 0;
	if (take_name(q, &first) != 0)
		return -1;
	pq_note_name(q, first);
	if (pq_name_ph(q, first, b) != 0)
		goto fail;
	for (;;) {
		if (q->cur.type == T_DOT) {
			if (pq_lex(q) != 0 || take_name(q, &name) != 0)
				goto fail;
			pq_sb_add(b, ".");
			if (pq_name_ph(q, name, b) != 0)
				goto fail;
			free(name);
			name = NULL;
		} else if (q->cur.type == T_LBRACK) {
			if (pq_lex(q) != 0)
				goto fail;
			if (q->cur.type != T_NUMBER || strspn(q->s + q->cur.off, "0123456789") < q->cur.len) {
				pq_unexpected(q, "a list index (digits)");
				goto fail;
			}
			pq_sb_add(b, "[%.*s]", (int)q->cur.len, q->s + q->cur.off);
			if (pq_lex(q) != 0 || (q->cur.type != T_RBRACK && pq_unexpected(q, "']'") != 0) ||
			    pq_lex(q) != 0)
				goto fail;
		} else {
			break;
		}
		*nested = 1;
	}
	if (top != NULL)
		*top = first;
	else
		free(first);
	return 0;
fail:
	free(first);
	free(name);
	return -1;
}

struct operand {
	int is_value;
	cJSON *value;       /* the value placed (borrowed from values) */
	char *top;          /* a path's first name */
	int nested;
};

static int parse_operand(struct pq *q, struct sb *b, struct operand *o)
{
	memset(o, 0, sizeof(*o));
	if (pq_is_word(q, "size") && q->s[q->pos] == '(') {
		int nested;
		pq_sb_add(b, "size(");
		if (pq_lex(q) != 0 || pq_lex(q) != 0 || parse_path(q, b, NULL, &nested) != 0)
			return -1;
		if (q->cur.type != T_RPAREN)
			return pq_unexpected(q, "')'");
		pq_sb_add(b, ")");
		return pq_lex(q);
	}
	if ((q->cur.type == T_IDENT && !pq_is_word(q, "TRUE") && !pq_is_word(q, "FALSE") &&
	     !pq_is_word(q, "NULL")) || q->cur.type == T_QIDENT)
		return parse_path(q, b, &o->top, &o->nested);
	{
		cJSON *v = pq_parse_value(q);
		if (v == NULL)
			return -1;
		o->is_value = 1;
		o->value = v;
		return pq_value_ph(q, v, b);
	}
}

static int parse_or(struct pq *q, struct sb *b);

/* begins_with(path, v), contains(path, v), attribute_type(path, v) */
static int parse_function(struct pq *q, struct sb *b)
{
	static const char *const fns[] = { "begins_with", "contains", "attribute_type" };
	struct operand a, c;
	size_t i;

	for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		if (pq_is_word(q, fns[i]))
			break;
	if (i == sizeof(fns) / sizeof(fns[0]))
		return pq_refuse(q, q->s + q->cur.off, (int)q->cur.len);
	pq_sb_add(b, "%s(", fns[i]);
	if (pq_lex(q) != 0 || pq_lex(q) != 0 || parse_operand(q, b, &a) != 0)
		return -1;
	free(a.top);
	if (q->cur.type != T_COMMA)
		return pq_unexpected(q, "','");
	pq_sb_add(b, ", ");
	if (pq_lex(q) != 0 || parse_operand(q, b, &c) != 0)
		return -1;
	free(c.top);
	if (q->cur.type != T_RPAREN)
		return pq_unexpected(q, "')'");
	pq_sb_add(b, ")");
	return pq_lex(q);
}

/* A predicate; when it is "name = value" on a top-level name, *eq_name and *eq_value. */
static int parse_pred(struct pq *q, struct sb *b, char **eq_name, cJSON **eq_value)
{
	struct operand l, r;
	size_t start;
	int rc = -1;

	if (q->cur.type == T_LPAREN) {
		pq_sb_add(b, "(");
		if (pq_lex(q) != 0 || parse_or(q, b) != 0)
			return -1;
		if (q->cur.type != T_RPAREN)
			return pq_unexpected(q, "')'");
		pq_sb_add(b, ")");
		return pq_lex(q);
	}
	if (pq_is_word(q, "EXISTS"))
		return pq_refuse(q, "EXISTS", 6);
	if (q->cur.type == T_IDENT && q->s[q->pos] == '(' && !pq_is_word(q, "size"))
		return parse_function(q, b);
	start = b->len;
	if (parse_operand(q, b, &l) != 0)
		return -1;
	if (pq_is_word(q, "IS")) {
		/* path IS [NOT] MISSING: the path written is wrapped in the function. */
		char *path;
		int not;
		if (pq_lex(q) != 0)
			goto out;
		not = pq_is_word(q, "NOT");
		if ((not && pq_lex(q) != 0) || pq_word(q, "MISSING") != 0)
			goto out;
		if (l.is_value) {
			pq_fail(q, "IS MISSING applies to a path");
			goto out;
		}
		if (b->oom || (path = strndup(b->p + start, b->len - start)) == NULL) {
			pq_oom(q);
			goto out;
		}
		b->len = start;
		pq_sb_add(b, "attribute_%sexists(%s)", not ? "" : "not_", path);
		free(path);
		rc = 0;
		goto out;
	}
	if (pq_is_word(q, "BETWEEN")) {
		pq_sb_add(b, " BETWEEN ");
		if (pq_lex(q) != 0 || parse_operand(q, b, &r) != 0)
			goto out;
		free(r.top);
		if (pq_word(q, "AND") != 0)
			goto out;
		pq_sb_add(b, " AND ");
		if (parse_operand(q, b, &r) != 0)
			goto out;
		free(r.top);
		rc = 0;
		goto out;
	}
	if (pq_is_word(q, "IN")) {
		enum tok_type close;
		if (pq_lex(q) != 0)
			goto out;
		if (q->cur.type != T_LBRACK && q->cur.type != T_LPAREN) {
			pq_unexpected(q, "'[' or '(' after IN");
			goto out;
		}
		close = q->cur.type == T_LBRACK ? T_RBRACK : T_RPAREN;
		pq_sb_add(b, " IN (");
		if (pq_lex(q) != 0)
			goto out;
		for (int first = 1;; first = 0) {
			if (!first)
				pq_sb_add(b, ", ");
			if (parse_operand(q, b, &r) != 0)
				goto out;
			free(r.top);
			if (q->cur.type == close)
				break;
			if (q->cur.type != T_COMMA || pq_lex(q) != 0) {
				pq_unexpected(q, "',' or the end of the IN list");
				goto out;
			}
		}
		pq_sb_add(b, ")");
		rc = pq_lex(q);
		goto out;
	}
	if (q->cur.type != T_CMP) {
		pq_unexpected(q, "a comparison (=, <>, <, <=, >, >=, BETWEEN, IN, IS MISSING)");
		goto out;
	}
	{
		int eq = q->s[q->cur.off] == '=';
		int ne = q->s[q->cur.off] == '!';
		pq_sb_add(b, " %.*s ", ne ? 2 : (int)q->cur.len, ne ? "<>" : q->s + q->cur.off);
		if (pq_lex(q) != 0 || parse_operand(q, b, &r) != 0)
			goto out;
		if (eq && eq_name != NULL && l.top != NULL && !l.nested && r.is_value) {
			*eq_name = l.top;
			*eq_value = r.value;
			l.top = NULL;
		} else if (eq && eq_name != NULL && r.top != NULL && !r.nested && l.is_value) {
			*eq_name = r.top;
			*eq_value = l.value;
			r.top = NULL;
		}
		free(r.top);
		rc = 0;
	}
out:
	free(l.top);
	return rc;
}

static int parse_not(struct pq *q, struct sb *b, char **eq_name, cJSON **eq_value)
{
	int rc;

	if (!pq_is_word(q, "NOT"))
		return parse_pred(q, b, eq_name, eq_value);
	if (++q->depth > PQ_MAX_DEPTH)
		return pq_fail(q, "a condition nested deeper than %d levels", PQ_MAX_DEPTH);
	pq_sb_add(b, "NOT ");
	rc = pq_lex(q) != 0 ? -1 : parse_not(q, b, NULL, NULL);
	q->depth--;
	return rc;
}

static int parse_and(struct pq *q, struct sb *b)
{
	if (parse_not(q, b, NULL, NULL) != 0)
		return -1;
	while (pq_is_word(q, "AND")) {
		pq_sb_add(b, " AND ");
		if (pq_lex(q) != 0 || parse_not(q, b, NULL, NULL) != 0)
			return -1;
	}
	return 0;
}

static int parse_or(struct pq *q, struct sb *b)
{
	int rc = 0;

	if (++q->depth > PQ_MAX_DEPTH)
		return pq_fail(q, "a condition nested deeper than %d levels", PQ_MAX_DEPTH);
	if (parse_and(q, b) != 0)
		rc = -1;
	while (rc == 0 && pq_is_word(q, "OR")) {
		pq_sb_add(b, " OR ");
		if (pq_lex(q) != 0 || parse_and(q, b) != 0)
			rc = -1;
	}
	q->depth--;
	return rc;
}

/* A new conjunct of the WHERE clause, where names read are noted. */
static struct ddb_pq_conj *new_conj(struct pq *q)
{
	struct ddb_partiql *o = q->out;
	struct ddb_pq_conj *more = realloc(o->where, (o->where_len + 1) * sizeof(*more));

	if (more == NULL)
		return NULL;
	o->where = more;
	memset(&more[o->where_len], 0, sizeof(*more));
	q->collect = &more[o->where_len++];
	return q->collect;
}

/* WHERE: its top-level conjuncts; a top-level OR makes the whole one conjunct. */
static int parse_where(struct pq *q)
{
	struct ddb_partiql *o = q->out;
	struct sb b = { 0 };
	struct ddb_pq_conj *c;

	if (pq_lex(q) != 0)
		return -1;
	for (;;) {
		if ((c = new_conj(q)) == NULL)
			return pq_oom(q);
		b = (struct sb){ 0 };
		if (parse_not(q, &b, &c->eq_name, &c->eq_value) != 0) {
			free(b.p);
			return -1;
		}
		if (b.oom)
			return pq_oom(q);
		c->text = b.p;
		if (!pq_is_word(q, "AND"))
			break;
		if (pq_lex(q) != 0)
			return -1;
	}
	if (!pq_is_word(q, "OR"))
		return 0;
	/* (c1 AND c2 ...) OR ...: one conjunct, which reads every name. */
	b = (struct sb){ 0 };
	pq_sb_add(&b, "(");
	for (size_t i = 0; i < o->where_len; i++)
		pq_sb_add(&b, "%s%s", i ? " AND " : "", o->where[i].text);
	pq_sb_add(&b, ")");
	for (size_t i = 1; i < o->where_len; i++)
		for (size_t k = 0; k < o->where[i].names_len; k++) {
			q->collect = &o->where[0];
			pq_note_name(q, o->where[i].names[k]);
		}
	q->collect = &o->where[0];
	while (pq_is_word(q, "OR")) {
		pq_sb_add(&b, " OR (");
		if (pq_lex(q) != 0 || parse_and(q, &b) != 0) {
			free(b.p);
			return -1;
		}
		pq_sb_add(&b, ")");
	}
	if (b.oom)
		return pq_oom(q);
	for (size_t i = 0; i < o->where_len; i++) {
		free(o->where[i].text);
		free(o->where[i].eq_name);
		o->where[i].text = o->where[i].eq_name = NULL;
		o->where[i].eq_value = NULL;
		if (i > 0) {
			for (size_t k = 0; k < o->where[i].names_len; k++)
				free(o->where[i].names[k]);
			free(o->where[i].names);
		}
	}
	o->where[0].text = b.p;
	o->where_len = 1;
	return 0;
}

/* FROM/INTO/UPDATE's table, and for SELECT an index after a dot. */
static int parse_table(struct pq *q, int index_ok)
{
	if (take_name(q, &q->out->table) != 0)
		return -1;
	if (q->cur.type == T_DOT) {
		if (!index_ok)
			return pq_unexpected(q, "the statement to go on after the table");
		if (pq_lex(q) != 0 || take_name(q, &q->out->index) != 0)
			return -1;
	}
	return 0;
}

static int parse_select(struct pq *q)
{
	struct ddb_partiql *o = q->out;
	struct sb b = { 0 };
	int nested;

	if (pq_lex(q) != 0)
		return -1;
	if (q->cur.type == T_STAR) {
		if (pq_lex(q) != 0)
			return -1;
	} else {
		for (;;) {
			if (q->cur.type == T_IDENT && q->s[q->pos] == '(') {
				free(b.p);
				return pq_refuse(q, q->s + q->cur.off, (int)q->cur.len);
			}
			if (parse_path(q, &b, NULL, &nested) != 0) {
				free(b.p);
				return -1;
			}
			if (q->cur.type != T_COMMA)
				break;
			pq_sb_add(&b, ", ");
			if (pq_lex(q) != 0) {
				free(b.p);
				return -1;
			}
		}
		if (b.oom)
			return pq_oom(q);
		o->projection = b.p;
	}
	if (pq_word(q, "FROM") != 0 || parse_table(q, 1) != 0)
		return -1;
	if (pq_is_word(q, "WHERE"))
		return parse_where(q);
	return 0;
}

/* SET's value: operand [(+|-) operand] | list_append(a, b); set_add and set_delete of the
 * path itself are ADD and DELETE. */
static int parse_set_action(struct pq *q, struct sb *set, struct sb *add, struct sb *del)
{
	struct sb path = { 0 };
	struct operand o;
	int nested, rc = -1;

	if (parse_path(q, &path, NULL, &nested) != 0)
		goto out;
	if (q->cur.type != T_CMP || q->s[q->cur.off] != '=' || q->cur.len != 1) {
		pq_unexpected(q, "'=' after the path SET writes");
		goto out;
	}
	if (pq_lex(q) != 0)
		goto out;
	if ((pq_is_word(q, "set_add") || pq_is_word(q, "set_delete")) && q->s[q->pos] == '(') {
		struct sb *to = pq_is_word(q, "set_add") ? add : del;
		struct sb arg = { 0 };
		if (pq_lex(q) != 0 || pq_lex(q) != 0 || parse_path(q, &arg, NULL, &nested) != 0 ||
		    arg.oom || path.oom || strcmp(arg.p, path.p) != 0) {
			if (q->err->status == 0)
				pq_fail(q, "set_add and set_delete apply to the path SET writes");
			free(arg.p);
			goto out;
		}
		free(arg.p);
		if (q->cur.type != T_COMMA) {
			pq_unexpected(q, "','");
			goto out;
		}
		pq_sb_add(to, "%s%s ", to->len ? ", " : "", path.p);
		if (pq_lex(q) != 0 || parse_operand(q, to, &o) != 0)
			goto out;
		free(o.top);
		if (q->cur.type != T_RPAREN) {
			pq_unexpected(q, "')'");
			goto out;
		}
		rc = pq_lex(q);
		goto out;
	}
	pq_sb_add(set, "%s%s = ", set->len ? ", " : "", path.p);
	if (pq_is_word(q, "list_append") && q->s[q->pos] == '(') {
		pq_sb_add(set, "list_append(");
		if (pq_lex(q) != 0 || pq_lex(q) != 0 || parse_operand(q, set, &o) != 0)
			goto out;
		free(o.top);
		if (q->cur.type != T_COMMA) {
			pq_unexpected(q, "','");
			goto out;
		}
		pq_sb_add(set, ", ");
		if (pq_lex(q) != 0 || parse_operand(q, set, &o) != 0)
			goto out;
		free(o.top);
		if (q->cur.type != T_RPAREN) {
			pq_unexpected(q, "')'");
			goto out;
		}
		pq_sb_add(set, ")");
		rc = pq_lex(q);
		goto out;
	}
	if (parse_operand(q, set, &o) != 0)
		goto out;
	free(o.top);
	if (q->cur.type == T_PLUS || q->cur.type == T_MINUS) {
		pq_sb_add(set, " %c ", q->cur.type == T_PLUS ? '+' : '-');
		if (pq_lex(q) != 0 || parse_operand(q, set, &o) != 0)
			goto out;
		free(o.top);
	}
	rc = 0;
out:
	free(path.p);
	return rc;
}

static char *clause(struct sb *b, const char *word_)
{
	char *s;

	if (b->len == 0 || b->oom)
		return NULL;
	if (asprintf(&s, "%s %s", word_, b->p) < 0)
		return NULL;
	return s;
}

static int parse_returning(struct pq *q)
{
	static const struct { const char *a, *b, *rv; } forms[] = {
		{ "ALL", "OLD", "ALL_OLD" }, { "ALL", "NEW", "ALL_NEW" },
		{ "MODIFIED", "OLD", "UPDATED_OLD" }, { "MODIFIED", "NEW", "UPDATED_NEW" },
	};
	size_t i;

	if (pq_lex(q) != 0)
		return -1;
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		if (pq_is_word(q, forms[i].a) && q->pos < q->n) {
			struct pq save = *q;
			if (pq_lex(q) != 0)
				return -1;
			if (pq_is_word(q, forms[i].b))
				break;
			*q = save;
		}
	if (i == sizeof(forms) / sizeof(forms[0]))
		return pq_unexpected(q, "ALL OLD *, ALL NEW *, MODIFIED OLD * or MODIFIED NEW *");
	if (q->out->kind == DDB_PQ_DELETE && i != 0)
		return pq_fail(q, "DELETE returns ALL OLD * only");
	q->out->returning = forms[i].rv;
	if (pq_lex(q) != 0)
		return -1;
	if (q->cur.type != T_STAR)
		return pq_unexpected(q, "'*'");
	return pq_lex(q);
}

static int parse_update(struct pq *q)
{
	struct ddb_partiql *o = q->out;
	struct sb set = { 0 }, rem = { 0 }, add = { 0 }, del = { 0 };
	int rc = -1, nested;

	if (pq_lex(q) != 0 || parse_table(q, 0) != 0)
		goto out;
	while (pq_is_word(q, "SET") || pq_is_word(q, "REMOVE")) {
		int is_set = pq_is_word(q, "SET");
		do {
			if (pq_lex(q) != 0)
				goto out;
			if (is_set ? parse_set_action(q, &set, &add, &del) != 0 :
			    (pq_sb_add(&rem, "%s", rem.len ? ", " : ""), parse_path(q, &rem, NULL, &nested)) != 0)
				goto out;
		} while (q->cur.type == T_COMMA);
	}
	if (set.len + rem.len + add.len + del.len == 0) {
		pq_unexpected(q, "SET or REMOVE");
		goto out;
	}
	if (set.oom || rem.oom || add.oom || del.oom) {
		pq_oom(q);
		goto out;
	}
	o->set = clause(&set, "SET");
	o->remove = clause(&rem, "REMOVE");
	o->add = clause(&add, "ADD");
	o->del = clause(&del, "DELETE");
	if (!pq_is_word(q, "WHERE")) {
		pq_unexpected(q, "WHERE");
		goto out;
	}
	if (parse_where(q) != 0)
		goto out;
	rc = pq_is_word(q, "RETURNING") ? parse_returning(q) : 0;
out:
	free(set.p);
	free(rem.p);
	free(add.p);
	free(del.p);
	return rc;
}

static int parse_statement(struct pq *q)
{
	struct ddb_partiql *o = q->out;

	if (pq_is_word(q, "SELECT")) {
		o->kind = DDB_PQ_SELECT;
		if (parse_select(q) != 0)
			return -1;
	} else if (pq_is_word(q, "INSERT")) {
		cJSON *v;
		o->kind = DDB_PQ_INSERT;
		if (pq_lex(q) != 0 || pq_word(q, "INTO") != 0 || parse_table(q, 0) != 0 || pq_word(q, "VALUE") != 0)
			return -1;
		if (q->cur.type != T_LBRACE)
			return pq_unexpected(q, "a {map} of the item's attributes");
		if ((v = pq_parse_value(q)) == NULL)
			return -1;
		o->item = cJSON_DetachItemFromObjectCaseSensitive(v, "M");
		cJSON_Delete(v);
	} else if (pq_is_word(q, "UPDATE")) {
		o->kind = DDB_PQ_UPDATE;
		if (parse_update(q) != 0)
			return -1;
	} else if (pq_is_word(q, "DELETE")) {
		o->kind = DDB_PQ_DELETE;
		if (pq_lex(q) != 0 || pq_word(q, "FROM") != 0 || parse_table(q, 0) != 0)
			return -1;
		if (!pq_is_word(q, "WHERE"))
			return pq_unexpected(q, "WHERE");
		if (parse_where(q) != 0 || (pq_is_word(q, "RETURNING") && parse_returning(q) != 0))
			return -1;
	} else {
		return pq_unexpected(q, "SELECT, INSERT, UPDATE or DELETE");
	}
	if (q->cur.type == T_SEMI && pq_lex(q) != 0)
		return -1;
	if (q->cur.type != T_END)
		return pq_unexpected(q, "the end of the statement");
	if (q->next_param < cJSON_GetArraySize(q->params)) {
		ds_error_set(q->err, 400, DS_ERR_VALIDATION, "Number of parameters in request and "
			     "statement don't match.");
		return -1;
	}
	return 0;
}

int ddb_partiql_parse(const char *stmt, const cJSON *params, struct ddb_partiql *out,
		      struct ds_error *err)
{
	struct pq q = { .s = stmt != NULL ? stmt : "", .params = params, .out = out, .err = err };

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	q.n = strnlen(q.s, PQ_MAX_LEN + 1);
	if (q.n > PQ_MAX_LEN)
		return pq_fail(&q, "longer than %d bytes", PQ_MAX_LEN);
	if (params != NULL) {
		const cJSON *p;
		int ok = cJSON_IsArray(params);
		cJSON_ArrayForEach(p, params)
			ok = ok && cJSON_IsObject(p) && p->child != NULL && p->child->next == NULL;
		if (!ok) {
			ds_error_set(err, 400, DS_ERR_VALIDATION, "Parameters must be a list of attribute "
				     "values, each a map of one type to its value");
			return -1;
		}
	}
	out->names = cJSON_CreateObject();
	out->values = cJSON_CreateObject();
	if (out->names == NULL || out->values == NULL)
		return pq_oom(&q);
	if (pq_lex(&q) != 0 || parse_statement(&q) != 0)
		return -1;
	return 0;
}

