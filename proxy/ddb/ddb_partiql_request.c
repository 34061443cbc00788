/*
 * A parsed PartiQL statement as the classic request that does the same (see ddb_partiql.h).
 */
#include "proxy/ddb/ddb_partiql_lex.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the classic request ----------------------------------------------------------------- */

/* Whether placeholder ph appears, as a whole, in text. */
static int uses(const char *text, const char *ph)
{
	size_t n = strlen(ph);

	for (const char *p = text != NULL ? strstr(text, ph) : NULL; p != NULL; p = strstr(p + 1, ph))
		if (!isalnum((unsigned char)p[n]) && p[n] != '_')
			return 1;
	return 0;
}

/* Copies the entries of map the texts use into req as param (none: left out). */
static int add_used(cJSON *req, const char *param, const cJSON *map, const char *const *texts,
		    size_t n)
{
	cJSON *out = NULL;
	const cJSON *e;

	cJSON_ArrayForEach(e, map) {
		size_t i = 0;
		while (i < n && !uses(texts[i], e->string))
			i++;
		if (i == n)
			continue;
		if (out == NULL && (out = cJSON_AddObjectToObject(req, param)) == NULL)
			return -1;
		if (!cJSON_AddItemToObject(out, e->string, cJSON_Duplicate(e, 1)))
			return -1;
	}
	return 0;
}

/* The placeholder of name in pq's names ("#qN"), adding one if needed. */
static const char *ph_of(const struct ddb_partiql *pq, const char *name)
{
	const cJSON *c;
	char ph[16];
	int n = 0;

	cJSON_ArrayForEach(c, pq->names) {
		if (strcmp(c->valuestring, name) == 0)
			return c->string;
		n++;
	}
	snprintf(ph, sizeof(ph), "#q%d", n);
	c = cJSON_AddStringToObject(pq->names, ph, name);
	return c != NULL ? c->string : NULL;
}

/* The conjunct that is "name = value", if it is the only one to read name; -1 if none. */
static long key_conj(const struct ddb_partiql *pq, const char *name, int *read_elsewhere)
{
	long found = -1;

	*read_elsewhere = 0;
	for (size_t i = 0; i < pq->where_len; i++) {
		const struct ddb_pq_conj *c = &pq->where[i];
		int reads = 0;
		for (size_t k = 0; k < c->names_len; k++)
			reads |= strcmp(c->names[k], name) == 0;
		if (found < 0 && c->eq_name != NULL && strcmp(c->eq_name, name) == 0)
			found = (long)i;
		else if (reads)
			*read_elsewhere = 1;
	}
	return found;
}

/* Whether text is "#qN op :qM" (op not <>), "#qN BETWEEN :qA AND :qB" or
 * "begins_with(#qN, :qM)": the form of a sort key condition. */
static int range_form(const char *t)
{
	char op[3] = "";
	int n = -1;

	if (sscanf(t, "begins_with(#q%*d, :q%*d)%n", &n) >= 0 && n > 0 && t[n] == '\0')
		return 1;
	n = -1;
	if (sscanf(t, "#q%*d BETWEEN :q%*d AND :q%*d%n", &n) >= 0 && n > 0 && t[n] == '\0')
		return 1;
	n = -1;
	if (sscanf(t, "#q%*d %2[<>=] :q%*d%n", op, &n) == 1 && n > 0 && t[n] == '\0')
		return strcmp(op, "<>") != 0;
	return 0;
}

/* The one conjunct that reads the sort key sk and nothing else, in a key condition's form;
 * -1 when there is none such (or another conjunct reads sk too). */
static long range_conj(const struct ddb_partiql *pq, const char *sk)
{
	long found = -1;

	for (size_t i = 0; i < pq->where_len; i++) {
		const struct ddb_pq_conj *c = &pq->where[i];
		for (size_t k = 0; k < c->names_len; k++) {
			if (strcmp(c->names[k], sk) != 0)
				continue;
			if (found >= 0 || c->names_len != 1 || !range_form(c->text))
				return -1;
			found = (long)i;
		}
	}
	return found;
}

/* The conjuncts but skip_a and skip_b, joined by AND (NULL when none); *head put first. */
static char *join_conj(const struct ddb_partiql *pq, long skip_a, long skip_b, const char *head)
{
	struct sb b = { 0 };

	if (head != NULL)
		pq_sb_add(&b, "%s", head);
	for (size_t i = 0; i < pq->where_len; i++) {
		if ((long)i == skip_a || (long)i == skip_b)
			continue;
		pq_sb_add(&b, "%s%s", b.len ? " AND " : "", pq->where[i].text);
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

cJSON *ddb_partiql_request(const struct ddb_partiql *pq, const char *pk, const char *sk,
			   const char **op, struct ds_error *err)
{
	cJSON *req = cJSON_CreateObject();
	char *texts[3] = { NULL, NULL, NULL };
	const char *pk_ph = ph_of(pq, pk);
	int pk_else = 0, sk_else = 0, ok;
	long kp = key_conj(pq, pk, &pk_else), ks = sk != NULL ? key_conj(pq, sk, &sk_else) : -1;

	memset(err, 0, sizeof(*err));
	ok = req != NULL && pk_ph != NULL && cJSON_AddStringToObject(req, "TableName", pq->table) != NULL;
	switch (pq->kind) {
	case DDB_PQ_SELECT: {
		if (pq->projection != NULL)
			ok = ok && cJSON_AddStringToObject(req, "ProjectionExpression", pq->projection);
		texts[0] = pq->projection != NULL ? strdup(pq->projection) : NULL;
		long kr = sk != NULL && ks < 0 && sk_else ? range_conj(pq, sk) : -1;
		if (pq->index == NULL && kp >= 0 && !pk_else && (!sk_else || kr >= 0)) {
			/* pk = v [AND a condition on sk]: a Query; the rest filters (which may not
			 * read a key: when it would, a Scan). */
			struct sb kc = { 0 };
			*op = "Query";
			/* Written name first, as a key condition must be. */
			pq_sb_add(&kc, "%s = %s", pk_ph, pq->where[kp].eq_value->string);
			if (ks >= 0)
				pq_sb_add(&kc, " AND %s = %s", ph_of(pq, sk), pq->where[ks].eq_value->string);
			if (kr >= 0) {
				pq_sb_add(&kc, " AND %s", pq->where[kr].text);
				ks = kr;
			}
			texts[1] = kc.oom ? (free(kc.p), NULL) : kc.p;
			texts[2] = join_conj(pq, kp, ks, NULL);
			ok = ok && texts[1] != NULL &&
			     cJSON_AddStringToObject(req, "KeyConditionExpression", texts[1]) != NULL &&
			     (texts[2] == NULL || cJSON_AddStringToObject(req, "FilterExpression", texts[2]));
		} else {
			*op = "Scan";
			if (pq->index != NULL)
				ok = ok && cJSON_AddStringToObject(req, "IndexName", pq->index) != NULL;
			texts[2] = join_conj(pq, -1, -1, NULL);
			ok = ok && (texts[2] == NULL ||
				    cJSON_AddStringToObject(req, "FilterExpression", texts[2]) != NULL);
		}
		break;
	}
	case DDB_PQ_INSERT: {
		char cond[64];
		*op = "PutItem";
		snprintf(cond, sizeof(cond), "attribute_not_exists(%s)", pk_ph);
		texts[0] = strdup(cond);
		ok = ok && texts[0] != NULL &&
		     cJSON_AddItemToObject(req, "Item", cJSON_Duplicate(pq->item, 1)) &&
		     cJSON_AddStringToObject(req, "ConditionExpression", cond) != NULL;
		break;
	}
	case DDB_PQ_UPDATE:
	case DDB_PQ_DELETE: {
		cJSON *key;
		if (kp < 0 || (sk != NULL && ks < 0)) {
			cJSON_Delete(req);
			ds_error_set(err, 400, DS_ERR_VALIDATION, "Where clause does not contain a "
				     "mandatory equality on all key attributes");
			return NULL;
		}
		key = cJSON_AddObjectToObject(req, "Key");
		ok = ok && key != NULL &&
		     cJSON_AddItemToObject(key, pk, cJSON_Duplicate(pq->where[kp].eq_value, 1)) &&
		     (ks < 0 || cJSON_AddItemToObject(key, sk, cJSON_Duplicate(pq->where[ks].eq_value, 1)));
		if (pq->kind == DDB_PQ_UPDATE) {
			const char *parts[] = { pq->set, pq->remove, pq->add, pq->del };
			char head[64];
			struct sb ue = { 0 };
			*op = "UpdateItem";
			for (size_t i = 0; i < 4; i++)
				if (parts[i] != NULL)
					pq_sb_add(&ue, "%s%s", ue.len ? " " : "", parts[i]);
			texts[0] = ue.oom ? (free(ue.p), NULL) : ue.p;
			/* UPDATE changes an item that exists. */
			snprintf(head, sizeof(head), "attribute_exists(%s)", pk_ph);
			texts[1] = join_conj(pq, kp, ks, head);
			ok = ok && texts[0] != NULL && texts[1] != NULL &&
			     cJSON_AddStringToObject(req, "UpdateExpression", texts[0]) != NULL &&
			     cJSON_AddStringToObject(req, "ConditionExpression", texts[1]) != NULL;
		} else {
			*op = "DeleteItem";
			texts[1] = join_conj(pq, kp, ks, NULL);
			ok = ok && (texts[1] == NULL ||
				    cJSON_AddStringToObject(req, "ConditionExpression", texts[1]) != NULL);
		}
		if (pq->returning != NULL)
			ok = ok && cJSON_AddStringToObject(req, "ReturnValues", pq->returning) != NULL;
		break;
	}
	}
	ok = ok && add_used(req, "ExpressionAttributeNames", pq->names, (const char *const *)texts, 3) == 0 &&
	     add_used(req, "ExpressionAttributeValues", pq->values, (const char *const *)texts, 3) == 0;
	for (size_t i = 0; i < 3; i++)
		free(texts[i]);
	if (!ok) {
		cJSON_Delete(req);
		ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		return NULL;
	}
	return req;
}

void ddb_partiql_free(struct ddb_partiql *pq)
{
	for (size_t i = 0; i < pq->where_len; i++) {
		free(pq->where[i].text);
		free(pq->where[i].eq_name);
		for (size_t k = 0; k < pq->where[i].names_len; k++)
			free(pq->where[i].names[k]);
		free(pq->where[i].names);
	}
	free(pq->where);
	free(pq->table);
	free(pq->index);
	free(pq->projection);
	free(pq->set);
	free(pq->remove);
	free(pq->add);
	free(pq->del);
	cJSON_Delete(pq->item);
	cJSON_Delete(pq->names);
	cJSON_Delete(pq->values);
	memset(pq, 0, sizeof(*pq));
}

cJSON *ddb_partiql_action(const struct ddb_partiql *pq, const char *pk, const char *sk,
			  struct ds_error *err)
{
	const char *op = NULL;
	cJSON *act = cJSON_CreateObject(), *body;
	int pk_else, sk_else;
	long kp = key_conj(pq, pk, &pk_else), ks = sk != NULL ? key_conj(pq, sk, &sk_else) : -1;

	memset(err, 0, sizeof(*err));
	if (act == NULL)
		goto oom;
	if (pq->returning != NULL) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "RETURNING is not allowed in a statement of "
			     "ExecuteTransaction");
		goto fail;
	}
	if (pq->kind != DDB_PQ_SELECT) {
		body = ddb_partiql_request(pq, pk, sk, &op, err);
		if (body == NULL)
			goto fail;
		if (!cJSON_AddItemToObject(act, strcmp(op, "PutItem") == 0 ? "Put" :
					   strcmp(op, "UpdateItem") == 0 ? "Update" : "Delete", body)) {
			cJSON_Delete(body);
			goto oom;
		}
		return act;
	}
	/* A read: one item by its whole key, nothing else. */
	if (kp < 0 || (sk != NULL && ks < 0) || pq->index != NULL) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "Where clause does not contain a mandatory "
			     "equality on all key attributes");
		goto fail;
	}
	if (pq->where_len != (sk != NULL ? 2u : 1u)) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "A SELECT in ExecuteTransaction reads one item "
			     "by its key; remove the other conditions");
		goto fail;
	}
	{
		const char *text[1] = { pq->projection };
		cJSON *get = cJSON_AddObjectToObject(act, "Get");
		cJSON *key = get != NULL ? cJSON_AddObjectToObject(get, "Key") : NULL;
		if (key == NULL || cJSON_AddStringToObject(get, "TableName", pq->table) == NULL ||
		    !cJSON_AddItemToObject(key, pk, cJSON_Duplicate(pq->where[kp].eq_value, 1)) ||
		    (ks >= 0 && !cJSON_AddItemToObject(key, sk, cJSON_Duplicate(pq->where[ks].eq_value, 1))) ||
		    (pq->projection != NULL &&
		     (cJSON_AddStringToObject(get, "ProjectionExpression", pq->projection) == NULL ||
		      add_used(get, "ExpressionAttributeNames", pq->names, text, 1) != 0)))
			goto oom;
	}
	return act;
oom:
	ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
fail:
	cJSON_Delete(act);
	return NULL;
}
