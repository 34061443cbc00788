/*
 * Query and Scan on a table with beacons (a "search" block), as the DB-ESDK's
 * QueryInputForBeacons and ScanInputForBeacons do it (dynamodb-encryption-client/
 * ddb-support.md): an operand naming a beaconed attribute becomes its beacon attribute
 * (aws_dbe_b_<name>) and the value it is compared with becomes that value's beacon, so that
 * DynamoDB finds the items -- through a global secondary index keyed by the beacon, or a filter.
 * A beacon is a truncated HMAC, so DynamoDB's answer may hold false positives: the ORIGINAL
 * conditions are evaluated again by dynaseal on the decrypted items (route_filter.c), which
 * drops them and sets Count (and, for a key condition, ScannedCount) to what DynamoDB would
 * have answered on the plaintext.
 *
 * A standard beacon answers equality; a compound beacon (a virtual field such as
 * "C-Seattle.K-US", crypt_compound.h) answers equality and begins_with, its value's encrypted
 * parts becoming their standard beacons.  In a KeyConditionExpression, "name = :v" (and
 * "begins_with(name, :v)" on a compound beacon) is rewritten and any other use of a beacon is
 * refused; in a FilterExpression whose top level is a conjunction, each such conjunct is also
 * sent upstream in beacon form, the whole filter staying dynaseal's to evaluate (a compound
 * beacon there is the virtual field built from the decrypted item).  With per-tenant beacon keys, the
 * request must name its tenant by equality ("tenant = :t") in either expression.
 */
#include "proxy/route_beacon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "crypto/item/beacon.h"
#include "crypto/item/item_crypt.h"
#include "proxy/base/json.h"
#include "proxy/ddb/crypt_compound.h"
#include "proxy/ddb/ddb_expr_lex.h"
#include "proxy/route_internal.h"
#include "proxy/worker.h"

#define MAX_CONJ 32                     /* conjuncts of one expression dynaseal looks at */

/* One conjunct of an expression's top-level AND chain. */
struct conj {
	size_t off, len;                    /* its text */
	struct tok toks[6];                 /* its first tokens */
	size_t ntok;                        /* how many tokens it has (counted up to 7) */
};

/* An expression split at its top-level ANDs. */
struct split {
	struct conj c[MAX_CONJ];
	size_t n;
	int has_or;                         /* an OR (or too many conjuncts) at the top level */
};

/* A filter conjunct to send upstream in beacon form: its beacon and the value's placeholder. */
struct pending {
	const char *beacon;                 /* the beacon's name (config) */
	int prefix;                         /* begins_with (a compound beacon), else equality */
	cJSON *value;                       /* a copy of the value compared with it */
};

struct route_beacon {
	char *key_part;                     /* the key condition's beacon conjuncts, as written */
	struct evbuffer *upstream;          /* the filter's beacon conjuncts, rewritten */
	struct pending pending[MAX_CONJ];   /* ... before route_beacon_finish writes them */
	size_t pending_len;
	const struct config_table *table;
	char tenant[256];                   /* what chooses the beacon key, or "" */
	int next;                           /* the next placeholder number */
};

static int word_is(const char *s, const struct tok *t, const char *w)
{
	return t->type == TOK_IDENT && strlen(w) == t->len && strncasecmp(s + t->off, w, t->len) == 0;
}

/* Splits s at the ANDs of its top level (not the AND of a BETWEEN). */
static int split_and(const char *s, struct split *out)
{
	size_t len = strlen(s), pos = 0;
	int depth = 0, between = 0;
	struct tok t;
	struct conj *c;

	memset(out, 0, sizeof(*out));
	c = &out->c[0];
	c->off = 0;
	for (;;) {
		if (ddb_expr_lex(s, len, pos, &t) != 0)
			return -1;
		if (t.type == TOK_END || (depth == 0 && word_is(s, &t, "AND") && !between)) {
			size_t end = t.type == TOK_END ? len : t.off;
			c->len = end - c->off;
			if (t.type == TOK_END)
				break;
			if (++out->n >= MAX_CONJ) {
				out->has_or = 1;
				return 0;
			}
			c = &out->c[out->n];
			c->off = t.off + t.len;
			pos = t.off + t.len;
			continue;
		}
		if (depth == 0 && word_is(s, &t, "BETWEEN"))
			between = 1;
		else if (depth == 0 && between && word_is(s, &t, "AND"))
			between = 0;
		if (depth == 0 && word_is(s, &t, "OR"))
			out->has_or = 1;
		if (t.type == TOK_LPAREN || t.type == TOK_LBRACKET)
			depth++;
		else if (t.type == TOK_RPAREN || t.type == TOK_RBRACKET)
			depth--;
		if (c->ntok < 6)
			c->toks[c->ntok] = t;
		if (c->ntok < 7)
			c->ntok++;
		pos = t.off + t.len;
	}
	out->n++;
	return 0;
}

/* The attribute name a name token stands for (through names), or NULL. */
static const char *name_of(const char *s, const struct tok *t, const cJSON *names, char *buf,
			   size_t cap)
{
	const cJSON *v;

	if (t->type == TOK_IDENT) {
		if (t->len >= cap)
			return NULL;
		memcpy(buf, s + t->off, t->len);
		buf[t->len] = '\0';
		return buf;
	}
	if (t->type != TOK_NAME_PH || t->len >= cap)
		return NULL;
	memcpy(buf, s + t->off, t->len);
	buf[t->len] = '\0';
	v = cJSON_GetObjectItemCaseSensitive(names, buf);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The name (config's) of the standard or compound beacon named name, or NULL. */
static const char *beacon_named(const struct config_table *t, const char *name)
{
	const struct config_compound *c = crypt_compound_named(t, name);

	for (size_t i = 0; name != NULL && i < t->search->standard_len; i++)
		if (strcmp(t->search->standard[i].name, name) == 0)
			return t->search->standard[i].name;
	return c != NULL ? c->name : NULL;
}

/*
 * Whether conjunct c is "name = :v" (either way round) with :v defined in values: sets
 * *name_tok and *value_tok.
 */
static int is_equality(const char *s, const struct conj *c, const cJSON *values,
		       const struct tok **name_tok, const struct tok **value_tok)
{
	char vname[64];
	int name_first;

	if (c->ntok != 3 || c->toks[1].type != TOK_CMP || c->toks[1].len != 1 || s[c->toks[1].off] != '=')
		return 0;
	name_first = c->toks[2].type == TOK_VALUE_PH;
	*name_tok = &c->toks[name_first ? 0 : 2];
	*value_tok = &c->toks[name_first ? 2 : 0];
	if ((*value_tok)->type != TOK_VALUE_PH ||
	    ((*name_tok)->type != TOK_IDENT && (*name_tok)->type != TOK_NAME_PH) ||
	    (*value_tok)->len >= sizeof(vname))
		return 0;
	memcpy(vname, s + (*value_tok)->off, (*value_tok)->len);
	vname[(*value_tok)->len] = '\0';
	return cJSON_GetObjectItemCaseSensitive(values, vname) != NULL;
}

/* Whether conjunct c is "begins_with(name, :v)" with :v defined in values. */
static int is_begins_with(const char *s, const struct conj *c, const cJSON *values,
			  const struct tok **name_tok, const struct tok **value_tok)
{
	char vname[64];

	if (c->ntok != 6 || !word_is(s, &c->toks[0], "begins_with") || c->toks[1].type != TOK_LPAREN ||
	    (c->toks[2].type != TOK_IDENT && c->toks[2].type != TOK_NAME_PH) ||
	    c->toks[3].type != TOK_COMMA || c->toks[4].type != TOK_VALUE_PH ||
	    c->toks[5].type != TOK_RPAREN || c->toks[4].len >= sizeof(vname))
		return 0;
	*name_tok = &c->toks[2];
	*value_tok = &c->toks[4];
	memcpy(vname, s + c->toks[4].off, c->toks[4].len);
	vname[c->toks[4].len] = '\0';
	return cJSON_GetObjectItemCaseSensitive(values, vname) != NULL;
}

/*
 * The beacon (config's name) conjunct c asks about in a form a beacon answers -- equality on
 * any beacon, begins_with on a compound one (*prefix set) -- with *name_tok and *value_tok;
 * NULL for any other conjunct.
 */
static const char *beacon_conj(const struct config_table *t, const char *s, const struct conj *c,
			       const cJSON *req, const struct tok **nt, const struct tok **vt,
			       int *prefix)
{
	const cJSON *vals = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeValues");
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeNames");
	char buf[256];
	const char *b;

	*prefix = 0;
	if (is_equality(s, c, vals, nt, vt))
		return beacon_named(t, name_of(s, *nt, names, buf, sizeof(buf)));
	if (!is_begins_with(s, c, vals, nt, vt))
		return NULL;
	b = beacon_named(t, name_of(s, *nt, names, buf, sizeof(buf)));
	*prefix = 1;
	return crypt_compound_named(t, b) != NULL ? b : NULL;
}

/* The text of token t of s, as a C string in out. */
static int token_text(const char *s, const struct tok *t, char *out, size_t cap)
{
	if (t->len >= cap)
		return -1;
	memcpy(out, s + t->off, t->len);
	out[t->len] = '\0';
	return 0;
}

/* Refuses an expression that names a reserved (aws_dbe_) attribute: the placeholders dynaseal
 * adds name them, so the application's own must not. */
static int check_reserved(struct route_state *st, const struct config_table *t, const cJSON *req,
			  const char *param)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(req, param);
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeNames");
	size_t pos = 0, len;
	struct tok tk;
	char buf[256];

	if (!cJSON_IsString(e))
		return 0;
	len = strlen(e->valuestring);
	while (ddb_expr_lex(e->valuestring, len, pos, &tk) == 0 && tk.type != TOK_END) {
		const char *n = name_of(e->valuestring, &tk, names, buf, sizeof(buf));
		if (n != NULL && item_name_is_reserved(n, strlen(n)))
			return route_refuse(st, "table \"%s\": %s references \"%.64s\"; attributes starting "
					    "with aws_dbe_ are reserved for the encryption format",
					    t->name, param, n);
		pos = tk.off + tk.len;
	}
	return 0;
}

/* A placeholder (prefix "#" or ":") number the request does not use yet, in out. */
static void fresh_placeholder(struct route_beacon *b, const cJSON *req, char out[32])
{
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeNames");
	const cJSON *values = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeValues");

	for (;;) {
		char n[32], v[32];
		snprintf(n, sizeof(n), "#aws_dbe_b%d", b->next);
		snprintf(v, sizeof(v), ":aws_dbe_b%d", b->next);
		b->next++;
		if (cJSON_GetObjectItemCaseSensitive(names, n) == NULL &&
		    cJSON_GetObjectItemCaseSensitive(values, v) == NULL) {
			snprintf(out, 32, "aws_dbe_b%d", b->next - 1);
			return;
		}
	}
}

/* Adds "#ph" -> aws_dbe_b_<beacon> and ":ph" -> the beacon of the value value_tok names (a job
 * of the request's batch), for placeholder number ph. */
static int add_placeholders(struct route_state *st, const struct config_table *t, cJSON *req,
			    const cJSON *v, const char *bc, int prefix, const char *ph,
			    const char *tenant)
{
	cJSON *names = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeNames");
	cJSON *values = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeValues");
	char key[300], vname[64];
	cJSON *copy;

	if (names == NULL && (names = cJSON_AddObjectToObject(req, "ExpressionAttributeNames")) == NULL)
		return -1;
	if (values == NULL && (values = cJSON_AddObjectToObject(req, "ExpressionAttributeValues")) == NULL)
		return -1;
	snprintf(key, sizeof(key), "#%s", ph);
	snprintf(vname, sizeof(vname), ":%s", ph);
	{
		char attr[300];
		snprintf(attr, sizeof(attr), "%s%s", BEACON_ATTR_PREFIX, bc);
		if (cJSON_AddStringToObject(names, key, attr) == NULL)
			return -1;
	}
	if ((copy = cJSON_Duplicate(v, 1)) == NULL || !cJSON_AddItemToObject(values, vname, copy)) {
		cJSON_Delete(copy);
		return -1;
	}
	return crypt_batch_add_beacon(st->batch, t, copy, bc, prefix, tenant);
}

/* The tenant (value of the search keyring's branch_key_id_attribute) the request names by
 * equality in one of the splits; "" when the keyring has one branch key. */
static int find_tenant(struct route_state *st, const struct config_table *t, const cJSON *req,
		       const char *const *texts, const struct split *splits, size_t nsplits,
		       char *out, size_t cap)
{
	struct keyring *k = worker_gen_search_keyring(st->t->gen, t);
	const char *attr = k != NULL ? keyring_tenant_attr(k) : NULL;
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeNames");
	const cJSON *values = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeValues");
	char buf[256], vname[64];

	out[0] = '\0';
	if (attr == NULL)
		return 0;
	for (size_t e = 0; e < nsplits; e++) {
		if (texts[e] == NULL || (e > 0 && splits[e].has_or))
			continue;
		for (size_t i = 0; i < splits[e].n; i++) {
			const struct tok *nt, *vt;
			const char *n;
			const cJSON *v;
			if (!is_equality(texts[e], &splits[e].c[i], values, &nt, &vt))
				continue;
			n = name_of(texts[e], nt, names, buf, sizeof(buf));
			if (n == NULL || strcmp(n, attr) != 0 || vt->len >= sizeof(vname))
				continue;
			memcpy(vname, texts[e] + vt->off, vt->len);
			vname[vt->len] = '\0';
			v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(values, vname), "S");
			if (cJSON_IsString(v) && strlen(v->valuestring) < cap) {
				memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
				return 0;
			}
		}
	}
	return route_refuse(st, "table \"%s\": beacon keys are chosen per tenant by attribute \"%s\" "
			    "(branch_key_id_attribute of keyring \"%s\"): a request comparing a beaconed "
			    "attribute must also say which tenant, with \"%s = :value\" (a string) in its "
			    "KeyConditionExpression or at the top level of its FilterExpression",
			    t->name, attr, t->search->keyring, attr);
}

/* Appends s[from..to) to b. */
static void put_slice(struct evbuffer *b, const char *s, size_t from, size_t to)
{
	evbuffer_add(b, s + from, to - from);
}

/* The KeyConditionExpression: its beacon conjuncts rewritten; the originals kept to be
 * checked on the decrypted items. */
static int rewrite_key_condition(struct route_state *st, const struct config_table *t, cJSON *req,
				 const char *kc, const struct split *sp, const char *tenant)
{
	const cJSON *vals = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeValues");
	struct route_beacon *b = st->beacon;
	struct evbuffer *out = evbuffer_new(), *kp = evbuffer_new();
	size_t copied = 0;
	char ph[32], vname[64];
	char *text = NULL;
	int rc = -1;

	if (out == NULL || kp == NULL)
		goto cleanup;
	for (size_t i = 0; i < sp->n; i++) {
		const struct conj *c = &sp->c[i];
		const struct tok *nt, *vt;
		const char *bc;
		int prefix;

		if ((bc = beacon_conj(t, kc, c, req, &nt, &vt, &prefix)) == NULL)
			continue;
		fresh_placeholder(b, req, ph);
		if (token_text(kc, vt, vname, sizeof(vname)) != 0 ||
		    add_placeholders(st, t, req, cJSON_GetObjectItemCaseSensitive(vals, vname), bc,
				     prefix, ph, tenant) != 0)
			goto cleanup;
		vals = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeValues");
		/* The conjunct with "#ph" and ":ph" in place of its name and value. */
		{
			int name_first = nt->off < vt->off;
			const struct tok *first = name_first ? nt : vt, *second = name_first ? vt : nt;
			put_slice(out, kc, copied, first->off);
			evbuffer_add_printf(out, "%s%s", name_first ? "#" : ":", ph);
			put_slice(out, kc, first->off + first->len, second->off);
			evbuffer_add_printf(out, "%s%s", name_first ? ":" : "#", ph);
			copied = second->off + second->len;
		}
		evbuffer_add_printf(kp, "%s(", evbuffer_get_length(kp) ? " AND " : "");
		put_slice(kp, kc, c->off, c->off + c->len);
		evbuffer_add_printf(kp, ")");
	}
	if (evbuffer_get_length(kp) == 0) {
		rc = 0;
		goto cleanup;
	}
	put_slice(out, kc, copied, strlen(kc));
	if ((text = json_buffer_text(out)) == NULL || (b->key_part = json_buffer_text(kp)) == NULL ||
	    cJSON_ReplaceItemInObjectCaseSensitive(req, "KeyConditionExpression",
						   cJSON_CreateString(text)) == 0)
		goto cleanup;
	rc = 0;
cleanup:
	free(text);
	if (out != NULL)
		evbuffer_free(out);
	if (kp != NULL)
		evbuffer_free(kp);
	return rc;
}

/* Refuses a use of a beaconed attribute in the key condition that a beacon cannot answer. */
static int check_key_uses(struct route_state *st, const struct config_table *t, const cJSON *req,
			  const char *kc, const struct split *sp)
{
	const cJSON *vals = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeValues");
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeNames");
	char buf[256];

	for (size_t i = 0; i < sp->n; i++) {
		const struct conj *c = &sp->c[i];
		const struct tok *nt, *vt;
		size_t pos = c->off;
		struct tok tk;
		int prefix;

		if (is_equality(kc, c, vals, &nt, &vt) || beacon_conj(t, kc, c, req, &nt, &vt, &prefix))
			continue;
		while (ddb_expr_lex(kc, c->off + c->len, pos, &tk) == 0 && tk.type != TOK_END) {
			const char *bc = beacon_named(t, name_of(kc, &tk, names, buf, sizeof(buf)));
			if (bc != NULL && crypt_compound_named(t, bc) != NULL)
				return route_refuse(st, "table \"%s\": KeyConditionExpression compares \"%s\" "
						    "other than by equality or begins_with; its compound "
						    "beacon (search.compound_beacons) finds equal values and "
						    "prefixes only: use \"%s = :value\" or "
						    "\"begins_with(%s, :value)\"", t->name, bc, bc, bc);
			if (bc != NULL)
				return route_refuse(st, "table \"%s\": KeyConditionExpression compares \"%s\" "
						    "other than by equality; its beacon "
						    "(search.standard_beacons) finds equal values only: use "
						    "\"%s = :value\"", t->name, bc, bc);
			pos = tk.off + tk.len;
		}
	}
	return 0;
}

int route_beacon_prepare(struct route_state *st, const struct config_table *t, cJSON *req)
{
	const cJSON *vals = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeValues");
	static const char *const params[] = { "KeyConditionExpression", "FilterExpression",
					       "ProjectionExpression" };
	const cJSON *kce = cJSON_GetObjectItemCaseSensitive(req, "KeyConditionExpression");
	const cJSON *fe = cJSON_GetObjectItemCaseSensitive(req, "FilterExpression");
	/* A beaconed attribute is never a key of the table: only an index's key condition may
	 * name one (else route_check.c refuses it as any encrypted attribute). */
	int index = cJSON_GetObjectItemCaseSensitive(req, "IndexName") != NULL;
	const char *texts[2] = { cJSON_IsString(kce) && index ? kce->valuestring : NULL,
				 cJSON_IsString(fe) ? fe->valuestring : NULL };
	struct split *sp = NULL;
	char tenant[256];
	int rc = -1, any = 0;

	if (t->search == NULL)
		return 0;
	for (size_t i = 0; i < 3; i++)
		if (check_reserved(st, t, req, params[i]) != 0)
			return -1;
	sp = calloc(2, sizeof(*sp));
	if (sp == NULL)
		goto oom;
	for (size_t e = 0; e < 2; e++) {
		if (texts[e] != NULL && split_and(texts[e], &sp[e]) != 0)
			texts[e] = NULL;    /* unreadable: ddb_expr's refusal in DynamoDB's words */
		for (size_t i = 0; texts[e] != NULL && i < sp[e].n; i++) {
			const struct tok *nt, *vt;
			int prefix;
			if (beacon_conj(t, texts[e], &sp[e].c[i], req, &nt, &vt, &prefix) != NULL &&
			    (e == 0 || !sp[e].has_or))
				any = 1;
		}
	}
	if (texts[0] != NULL && check_key_uses(st, t, req, texts[0], &sp[0]) != 0)
		goto fail;
	if (!any) {
		free(sp);
		return 0;
	}
	if ((st->beacon = calloc(1, sizeof(*st->beacon))) == NULL ||
	    (st->beacon->upstream = evbuffer_new()) == NULL)
		goto oom;
	if (find_tenant(st, t, req, texts, sp, 2, tenant, sizeof(tenant)) != 0)
		goto fail;
	st->beacon->table = t;
	snprintf(st->beacon->tenant, sizeof(st->beacon->tenant), "%s", tenant);
	/* The filter's beacon conjuncts, rewritten, for upstream (route_beacon_finish). */
	if (texts[1] != NULL && !sp[1].has_or) {
		for (size_t i = 0; i < sp[1].n; i++) {
			const struct tok *nt, *vt;
			const char *bc;
			int prefix;
			if ((bc = beacon_conj(t, texts[1], &sp[1].c[i], req, &nt, &vt, &prefix)) == NULL)
				continue;
			struct pending *p = &st->beacon->pending[st->beacon->pending_len];
			char vname[64];
			if (token_text(texts[1], vt, vname, sizeof(vname)) != 0)
				continue;
			p->value = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(vals, vname), 1);
			if (p->value == NULL)
				goto oom;
			p->beacon = bc;
			p->prefix = prefix;
			st->beacon->pending_len++;
		}
	}
	if (texts[0] != NULL && rewrite_key_condition(st, t, req, texts[0], &sp[0], tenant) != 0)
		goto fail;
	if (st->beacon->key_part != NULL) {
		/* The original key conjuncts join the filter dynaseal evaluates. */
		struct evbuffer *f = evbuffer_new();
		char *text;
		if (f == NULL)
			goto oom;
		evbuffer_add_printf(f, "%s", st->beacon->key_part);
		if (texts[1] != NULL)
			evbuffer_add_printf(f, " AND (%s)", texts[1]);
		text = json_buffer_text(f);
		evbuffer_free(f);
		if (text == NULL)
			goto oom;
		if (fe != NULL)
			cJSON_DeleteItemFromObjectCaseSensitive(req, "FilterExpression");
		if (cJSON_AddStringToObject(req, "FilterExpression", text) == NULL) {
			free(text);
			goto oom;
		}
		free(text);
	}
	rc = 0;
	goto done;
oom:
fail:
	if (st->err.status == 0)
		ds_error_set(&st->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
	rc = -1;
done:
	free(sp);
	return rc;
}

int route_beacon_finish(struct route_state *st, cJSON *req)
{
	struct route_beacon *b = st->beacon;
	char *text;

	if (b == NULL || b->pending_len == 0)
		return 0;
	for (size_t i = 0; i < b->pending_len; i++) {
		char ph[32];
		fresh_placeholder(b, req, ph);
		if (add_placeholders(st, b->table, req, b->pending[i].value, b->pending[i].beacon,
				     b->pending[i].prefix, ph, b->tenant[0] != '\0' ? b->tenant : NULL) != 0)
			goto oom;
		evbuffer_add_printf(b->upstream, b->pending[i].prefix ? "%sbegins_with(#%s, :%s)" :
				    "%s#%s = :%s", i > 0 ? " AND " : "", ph, ph);
	}
	if ((text = json_buffer_text(b->upstream)) == NULL)
		goto oom;
	cJSON_DeleteItemFromObjectCaseSensitive(req, "FilterExpression");
	if (cJSON_AddStringToObject(req, "FilterExpression", text) == NULL) {
		free(text);
		goto oom;
	}
	free(text);
	return 0;
oom:
	ds_error_set(&st->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
	return -1;
}

const char *route_beacon_key_part(const struct route_state *st)
{
	return st->beacon != NULL ? st->beacon->key_part : NULL;
}

int route_beacon_active(const struct route_state *st)
{
	return st->beacon != NULL;
}

void route_beacon_free(struct route_beacon *b)
{
	if (b == NULL)
		return;
	free(b->key_part);
	for (size_t i = 0; i < b->pending_len; i++)
		cJSON_Delete(b->pending[i].value);
	if (b->upstream != NULL)
		evbuffer_free(b->upstream);
	free(b);
}

int route_beacon_is_attr(const struct config_table *t, const char *name)
{
	size_t n = sizeof(BEACON_ATTR_PREFIX) - 1;

	return t->search != NULL && strncmp(name, BEACON_ATTR_PREFIX, n) == 0 &&
	       beacon_named(t, name + n) != NULL;
}
