/*
 * UpdateItem on protected attributes.  DynamoDB sees only ciphertext and signatures: it can
 * neither compare an encrypted value nor change a signed one without breaking the item's
 * signature.  So an update that writes a signed or encrypted attribute (or reads an encrypted
 * one), or whose condition reads an encrypted attribute, is carried out here, as DynamoDB
 * would carry it out (Developer Guide, "Update expressions", "Condition expressions"):
 *
 *   1. read the item: GetItem with ConsistentRead;
 *   2. verify and decrypt it (a missing item is an upsert: it starts as its key);
 *   3. evaluate the ConditionExpression on the plaintext (ddb_eval.c): false answers
 *      ConditionalCheckFailedException, with the item when ReturnValuesOnConditionCheckFailure
 *      is ALL_OLD;
 *   4. apply the UpdateExpression (ddb_update.c), encrypt and sign the result;
 *   5. write it back in one UpdateItem that sets every signed attribute, the head and the foot,
 *      sets or removes the DO_NOTHING attributes the update wrote, and leaves the others to
 *      whoever else writes them -- conditioned on the item being the one read: its
 *      aws_dbe_foot unchanged (or the item still missing), and every DO_NOTHING attribute the
 *      request reads or writes still holding the value read.
 *
 * A write that finds the item changed lost a race with another writer: the whole exchange
 * starts over, at most RMW_ATTEMPTS times with a growing random pause, and then answers a 500
 * the SDKs retry.  ReturnValues come from DynamoDB's answer to the write (ALL_OLD or ALL_NEW),
 * verified and decrypted like any item, and cut to the paths the update wrote for UPDATED_*.
 */
#include "proxy/route_rmw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/rand.h>

#include "crypto/item/item_crypt.h"
#include "proxy/base/json.h"
#include "proxy/ddb/ddb_eval.h"
#include "proxy/ddb/ddb_update.h"
#include "proxy/forward.h"
#include "proxy/net/upstream.h"
#include "proxy/route_internal.h"
#include "proxy/route_legacy.h"
#include "proxy/table_schema.h"
#include "proxy/worker.h"

#define CCF_TYPE "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"

/* What the scan of a request's expressions found. */
struct rmw_scan {
	const struct config_table *t;
	int wanted;                 /* dynaseal must carry the update out */
	int reserved;               /* an aws_dbe_ name: left to route.c's refusal */
	const char *key_written;    /* a key attribute the update writes */
	cJSON *written, *read;      /* DO_NOTHING names written and read */
};

static void note_name(cJSON *set, const char *name, size_t len)
{
	char buf[256];

	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, name, len);
	buf[len] = '\0';
	if (set != NULL && cJSON_GetObjectItemCaseSensitive(set, buf) == NULL)
		cJSON_AddTrueToObject(set, buf);
}

static int scan_cb(void *arg, const char *name, size_t len, int written, int nested,
		   struct ds_error *err)
{
	struct rmw_scan *s = arg;
	enum attr_action action;
	int known = config_table_action(s->t, name, len, &action) == 0;

	(void)nested;
	(void)err;
	if (item_name_is_reserved(name, len)) {
		s->reserved = 1;
		return 0;
	}
	if (written && config_table_is_key(s->t, name, len))
		s->key_written = strlen(s->t->partition_key) == len &&
				 memcmp(s->t->partition_key, name, len) == 0 ? s->t->partition_key
									   : s->t->sort_key;
	if (written && (!known || action != ACTION_DO_NOTHING))
		s->wanted = 1;
	if (!written && known && action == ACTION_ENCRYPT_AND_SIGN)
		s->wanted = 1;
	if (known && action == ACTION_DO_NOTHING && !config_table_is_key(s->t, name, len))
		note_name(written ? s->written : s->read, name, len);
	return 0;
}

static int read_return_values(struct route_state *st, struct route_rmw *r, const cJSON *req)
{
	static const char *const names[] = { "NONE", "ALL_OLD", "ALL_NEW", "UPDATED_OLD", "UPDATED_NEW" };
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(req, "ReturnValues");
	const cJSON *ccf = cJSON_GetObjectItemCaseSensitive(req, "ReturnValuesOnConditionCheckFailure");
	size_t i;

	r->ret = RMW_NONE;
	if (rv != NULL) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (cJSON_IsString(rv) && strcmp(rv->valuestring, names[i]) == 0)
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return route_refuse(st, "1 validation error detected: Value '%.64s' at 'returnValues' "
					    "failed to satisfy constraint: Member must satisfy enum value set: "
					    "[ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]",
					    cJSON_IsString(rv) ? rv->valuestring : "");
		r->ret = (enum rmw_return)i;
		if (r->op != ROUTE_UPDATE && r->ret != RMW_NONE && r->ret != RMW_ALL_OLD)
			return route_refuse(st, "One or more parameter values were invalid: Return values "
					    "set to invalid value");
	}
	if (ccf != NULL) {
		if (!cJSON_IsString(ccf) || (strcmp(ccf->valuestring, "ALL_OLD") != 0 &&
					     strcmp(ccf->valuestring, "NONE") != 0))
			return route_refuse(st, "1 validation error detected: Value '%.64s' at "
					    "'returnValuesOnConditionCheckFailure' failed to satisfy "
					    "constraint: Member must satisfy enum value set: [ALL_OLD, NONE]",
					    cJSON_IsString(ccf) ? ccf->valuestring : "");
		r->ccf_all_old = strcmp(ccf->valuestring, "ALL_OLD") == 0;
	}
	return 0;
}

void route_rmw_free(struct route_rmw *r)
{
	if (r == NULL)
		return;
	if (r->has_update)
		ddb_expr_release(&r->update);
	if (r->has_cond)
		ddb_expr_release(&r->cond);
	if (r->pause != NULL)
		event_free(r->pause);
	crypt_batch_free(r->batch);
	http_msg_free(r->read_resp);
	cJSON_Delete(r->raw);
	cJSON_Delete(r->plain);
	cJSON_Delete(r->written);
	cJSON_Delete(r->read);
	cJSON_Delete(r->req);
	cJSON_Delete(r->key);
	table_schema_release(r->schema);
	free(r);
}

/* The key of the item a PutItem writes: its Item's key attributes. */
static cJSON *key_of_item(const struct config_table *t, const cJSON *item)
{
	cJSON *key = cJSON_CreateObject();
	const char *names[] = { t->partition_key, t->sort_key };

	for (size_t i = 0; key != NULL && i < 2; i++) {
		const cJSON *v = names[i] != NULL ? cJSON_GetObjectItemCaseSensitive(item, names[i]) : NULL;
		cJSON *c = v != NULL ? cJSON_Duplicate(v, 1) : NULL;
		if (v != NULL && (c == NULL || !cJSON_AddItemToObject(key, names[i], c))) {
			cJSON_Delete(c);
			cJSON_Delete(key);
			key = NULL;
		}
	}
	return key;
}

/* Parses and checks the copy of the request (r->req) as DynamoDB would: its expressions,
 * placeholders and ReturnValues.  0, or -1 with st->err set. */
int route_rmw_parse(struct route_state *st, struct route_rmw *r)
{
	const cJSON *ue, *ce, *names;
	const char *exprs[2];

	ue = cJSON_GetObjectItemCaseSensitive(r->req, "UpdateExpression");
	ce = cJSON_GetObjectItemCaseSensitive(r->req, "ConditionExpression");
	names = cJSON_GetObjectItemCaseSensitive(r->req, "ExpressionAttributeNames");
	r->values = cJSON_GetObjectItemCaseSensitive(r->req, "ExpressionAttributeValues");
	if (r->op == ROUTE_UPDATE && ue != NULL) {
		r->has_update = 1;
		if (ddb_expr_parse(DDB_EXPR_UPDATE, "UpdateExpression", ue->valuestring, names,
				   &r->update, &st->err) != 0)
			return -1;
	}
	if (ce != NULL) {
		r->has_cond = 1;
		if (ddb_expr_parse(DDB_EXPR_CONDITION, "ConditionExpression", ce->valuestring, names,
				   &r->cond, &st->err) != 0)
			return -1;
	}
	if (r->values != NULL && !cJSON_IsObject(r->values))
		return route_refuse(st, "ExpressionAttributeValues must be a map");
	exprs[0] = ue != NULL ? ue->valuestring : NULL;
	exprs[1] = ce != NULL ? ce->valuestring : NULL;
	if (route_check_unused(st, names, "ExpressionAttributeNames", exprs, 2) != 0 ||
	    route_check_unused(st, r->values, "ExpressionAttributeValues", exprs, 2) != 0 ||
	    (r->has_update && ddb_eval_check_values(&r->update, "UpdateExpression", r->values,
						    &st->err) != 0) ||
	    (r->has_cond && ddb_eval_check_values(&r->cond, "ConditionExpression", r->values,
						  &st->err) != 0) ||
	    read_return_values(st, r, r->req) != 0)
		return -1;
	return 0;
}

/*
 * A single UpdateItem dynaseal carries out: what DynamoDB refuses of it after reading its key
 * and before reading the item, the update against the keys of the table and of its indexes
 * (ddb_update_check_keys), when the key is one DynamoDB accepts.  The schema checked against is
 * kept to apply the update with (route_rmw_decide).  0, or -1 with st->err set.
 */
static int check_keys(struct route_state *st, struct route_rmw *r)
{
	struct table_schema *s = route_schema(st, r->table);
	struct ddb_update_keys keys = { { r->table->partition_key, r->table->sort_key }, NULL, 0 };

	if (!r->has_update || st->op != ROUTE_UPDATE || st->partiql_op != NULL)
		return 0;
	if (s != NULL) {
		if (!table_schema_key_matches(s, r->key))
			return 0;       /* DynamoDB refuses the key first: the read will say how */
		keys.index = s->index_keys;
		keys.index_len = s->index_keys_len;
		r->schema = table_schema_hold(s);
	}
	return ddb_update_check_keys(&r->update, r->values, &keys, &st->err);
}

int route_rmw_new(struct route_state *st, const struct config_table *t, const cJSON *req,
		  enum route_op op, struct route_rmw **out)
{
	const cJSON *ue = cJSON_GetObjectItemCaseSensitive(req, "UpdateExpression");
	const cJSON *ce = cJSON_GetObjectItemCaseSensitive(req, "ConditionExpression");
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeNames");
	struct rmw_scan s = { t, 0, 0, NULL, NULL, NULL };
	struct ds_error ignored = { 0 };
	struct route_rmw *r;

	*out = NULL;
	/* What is malformed is left to route.c, which refuses it in its own words.  An update
	 * with no UpdateExpression writes nothing, but still creates a missing item. */
	if ((op == ROUTE_UPDATE ? ue != NULL && !cJSON_IsString(ue) : !cJSON_IsString(ce)) ||
	    (ce != NULL && !cJSON_IsString(ce)))
		return 0;
	/* An Expected whose expression is longer than DynamoDB takes is dynaseal's to evaluate. */
	s.wanted = st->legacy_expected && ce != NULL && strlen(ce->valuestring) > DDB_EXPR_APP_MAX;
	s.written = cJSON_CreateObject();
	s.read = cJSON_CreateObject();
	if (s.written == NULL || s.read == NULL)
		goto oom;
	if ((op == ROUTE_UPDATE && ue != NULL &&
	     ddb_expr_scan(DDB_EXPR_UPDATE, "UpdateExpression", ue->valuestring, names, scan_cb,
			   &s, &ignored) != 0) ||
	    (ce != NULL && ddb_expr_scan(DDB_EXPR_CONDITION, "ConditionExpression", ce->valuestring,
					 names, scan_cb, &s, &ignored) != 0) || s.reserved ||
	    (op != ROUTE_UPDATE && !s.wanted)) {
		cJSON_Delete(s.written);
		cJSON_Delete(s.read);
		return 0;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		goto oom;
	*out = r;
	r->op = op;
	r->deferred = !s.wanted;
	r->table = t;
	r->written = s.written;
	r->read = s.read;
	if (s.key_written != NULL)
		return route_refuse(st, "One or more parameter values were invalid: Cannot update "
				    "attribute %s. This attribute is part of the key", s.key_written);
	r->req = cJSON_Duplicate(req, 1);
	if (r->req == NULL)
		goto oom_st;
	/* A deferred update is forwarded, and DynamoDB checks it itself: it is parsed only if
	 * dynaseal has to carry it out (route_rmw_fallback). */
	if (!r->deferred && route_rmw_parse(st, r) != 0)
		return -1;
	if (op == ROUTE_PUT) {
		const cJSON *item = cJSON_GetObjectItemCaseSensitive(r->req, "Item");
		if (!cJSON_IsObject(item))
			return route_refuse(st, "table \"%s\": Item must be a map of attribute values",
					    t->name);
		r->key = key_of_item(t, item);
	} else {
		if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r->req, "Key")))
			return route_refuse(st, "1 validation error detected: Value null at 'key' failed "
					    "to satisfy constraint: Member must not be null");
		r->key = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(r->req, "Key"), 1);
	}
	if (r->key == NULL)
		goto oom_st;
	if (!r->deferred && check_keys(st, r) != 0)
		return -1;
	return 1;
oom:
	cJSON_Delete(s.written);
	cJSON_Delete(s.read);
oom_st:
	ds_error_set(&st->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
	return -1;
}

int route_rmw_prepare(struct route_state *st, const struct config_table *t, const cJSON *req,
		      enum route_op op)
{
	struct route_rmw *r;
	int rc = route_rmw_new(st, t, req, op, &r);

	st->rmw = r;
	return rc;
}

/* ---- the exchange ------------------------------------------------------------------------ */

void route_rmw_fail(struct route_state *st, const struct ds_error *err)
{
	struct ds_error e = *err;

	txn_fail(st->t, &e);
}

void route_rmw_fail_oom(struct route_state *st)
{
	struct ds_error e;

	ds_error_set(&e, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
	txn_fail(st->t, &e);
}

void route_send_as(struct route_state *st, const char *op, cJSON *body, upstream_done_cb cb)
{
	struct txn *t = st->t;
	struct http_msg m = *t->req;
	struct http_header *hs;
	char target[64];
	struct ds_error err = { 0 };
	char *text;

	text = json_print(body, NULL);
	cJSON_Delete(body);
	hs = malloc((t->req->headers_len + 1) * sizeof(*hs));
	if (text == NULL || hs == NULL) {
		free(hs);
		cJSON_free(text);
		route_rmw_fail_oom(st);
		return;
	}
	/* The application's request with its X-Amz-Target replaced. */
	snprintf(target, sizeof(target), "DynamoDB_20120810.%s", op);
	m.headers = hs;
	m.headers_len = 0;
	for (size_t i = 0; i < t->req->headers_len; i++) {
		hs[m.headers_len] = t->req->headers[i];
		if (strcasecmp(hs[m.headers_len].name, "x-amz-target") == 0) {
			hs[m.headers_len].value = target;
			hs[m.headers_len].value_len = strlen(target);
		}
		m.headers_len++;
	}
	t->call = forward_send(t->worker, &m, t->region, text, strlen(text), 1, cb, st, &err);
	free(hs);
	cJSON_free(text);
	if (t->call == NULL)
		route_rmw_fail(st, &err);
}

static cJSON *copy_member(cJSON *to, const cJSON *from, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, name);
	cJSON *c;

	if (v == NULL)
		return to;
	c = cJSON_Duplicate(v, 1);
	if (c == NULL || !cJSON_AddItemToObject(to, name, c)) {
		cJSON_Delete(c);
		return NULL;
	}
	return to;
}

cJSON *route_answer_json(struct http_msg *resp)
{
	size_t n = evbuffer_get_length(resp->body);
	const char *p = (const char *)evbuffer_pullup(resp->body, -1);
	struct json_read rd;
	cJSON *doc = p != NULL ? json_parse(p, n, &rd) : NULL;

	if (doc != NULL && rd.not_utf8) {
		/* Not UTF-8, so not DynamoDB's: a stand-in for NUL (json_nul.h) would be ambiguous. */
		cJSON_Delete(doc);
		doc = NULL;
	}
	return doc;
}

int route_answer_is(struct http_msg *resp, const char *error)
{
	cJSON *doc;
	const cJSON *type;
	const char *hash;
	int is;

	if (resp->status != 400)
		return 0;
	doc = route_answer_json(resp);
	type = cJSON_GetObjectItemCaseSensitive(doc, "__type");
	hash = cJSON_IsString(type) ? strrchr(type->valuestring, '#') : NULL;
	is = hash != NULL && strcmp(hash + 1, error) == 0;
	cJSON_Delete(doc);
	return is;
}

static void read_cb(void *arg, struct http_msg *resp, const struct ds_error *err);

static void send_read(struct route_state *st)
{
	struct route_rmw *r = st->rmw;
	cJSON *body = cJSON_CreateObject();

	r->attempts++;
	if (body == NULL || copy_member(body, r->req, "TableName") == NULL ||
	    !cJSON_AddItemToObject(body, "Key", cJSON_Duplicate(r->key, 1)) ||
	    cJSON_AddTrueToObject(body, "ConsistentRead") == NULL) {
		cJSON_Delete(body);
		route_rmw_fail_oom(st);
		return;
	}
	route_send_as(st, "GetItem", body, read_cb);
}

void route_rmw_start(struct route_state *st)
{
	send_read(st);
}

int route_rmw_deferred(const struct route_state *st)
{
	return st->rmw != NULL && st->rmw->deferred;
}

int route_rmw_fallback(struct route_state *st, struct http_msg *resp)
{
	if (!route_rmw_deferred(st) || !route_answer_is(resp, "ConditionalCheckFailedException"))
		return 0;
	/* The item is missing (an upsert) or the application's condition is false: which, and
	 * what to answer, the read tells. */
	http_msg_free(resp);
	st->rmw->deferred = 0;
	if (route_rmw_parse(st, st->rmw) != 0 || check_keys(st, st->rmw) != 0) {
		struct ds_error e = st->err;
		txn_fail(st->t, &e);
		return 1;
	}
	send_read(st);
	return 1;
}


/* The application's condition is false: DynamoDB's refusal, with the item when asked. */
static void answer_condition_failed(struct route_state *st)
{
	struct route_rmw *r = st->rmw;
	struct http_msg *resp = r->read_resp;
	cJSON *body = cJSON_CreateObject();
	char *text;

	if (body == NULL || cJSON_AddStringToObject(body, "__type", CCF_TYPE) == NULL ||
	    cJSON_AddStringToObject(body, "message", "The conditional request failed") == NULL ||
	    (r->ccf_all_old && r->plain != NULL &&
	     !cJSON_AddItemToObject(body, "Item", cJSON_Duplicate(r->plain, 1))) ||
	    (text = json_print(body, NULL)) == NULL) {
		cJSON_Delete(body);
		route_rmw_fail_oom(st);
		return;
	}
	cJSON_Delete(body);
	r->read_resp = NULL;
	resp->status = 400;
	free(resp->reason);
	resp->reason = NULL;
	evbuffer_drain(resp->body, evbuffer_get_length(resp->body));
	evbuffer_add(resp->body, text, strlen(text));
	cJSON_free(text);
	txn_respond(st->t, resp, 1);
}

static void write_ready(void *arg, struct crypt_batch *b, const struct ds_error *err);
static void send_write(struct route_state *st, struct crypt_batch *b);

int route_rmw_decide(struct route_state *st, struct route_rmw *r, cJSON **out, struct ds_error *e)
{
	cJSON *item;

	*out = NULL;
	if (r->has_cond) {
		int rc = ddb_eval_condition(&r->cond, "ConditionExpression", r->plain, r->values, e);
		if (rc <= 0)
			return rc;
	}
	if (r->op != ROUTE_PUT && r->op != ROUTE_UPDATE)
		return 1;
	/* PutItem writes its Item; UpdateItem the item read (or its key) updated. */
	item = cJSON_Duplicate(r->op == ROUTE_PUT ? cJSON_GetObjectItemCaseSensitive(r->req, "Item")
			       : r->plain != NULL ? r->plain : r->key, 1);
	if (item == NULL) {
		ds_error_set(e, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		return -1;
	}
	if (r->has_update &&
	    ddb_update_apply_indexed(&r->update, r->values, r->schema ? r->schema->index_keys : NULL,
				     r->schema ? r->schema->index_keys_len : 0, &item, e) != 0) {
		char buf[sizeof(e->message)];
		const char *words = route_legacy_message(st, e->message, buf, sizeof(buf));
		cJSON_Delete(item);
		if (words != NULL)
			snprintf(e->message, sizeof(e->message), "%s", words);
		return -1;
	}
	*out = item;
	return 1;
}

/* The item as it was (r->plain) is known: evaluate, apply, encrypt. */
static void evaluate(struct route_state *st)
{
	struct route_rmw *r = st->rmw;
	const struct config_table *t = r->table;
	struct ds_error e = { 0 };
	struct keyring *k = route_keyring(st, t);
	cJSON *item, *doc;
	int rc = route_rmw_decide(st, r, &item, &e);

	if (rc < 0) {
		route_rmw_fail(st, &e);
		return;
	}
	if (rc == 0) {
		answer_condition_failed(st);
		return;
	}
	if (item == NULL) {
		send_write(st, NULL);
		return;
	}
	if (k == NULL) {
		cJSON_Delete(item);
		ds_error_set(&e, 400, DS_ERR_VALIDATION, "table \"%s\": its keyring \"%s\" is not "
			     "usable on this worker", t->name, t->keyring);
		route_rmw_fail(st, &e);
		return;
	}
	doc = cJSON_CreateObject();
	if (doc == NULL || !cJSON_AddItemToObject(doc, "Item", item)) {
		cJSON_Delete(doc);
		cJSON_Delete(item);
		route_rmw_fail_oom(st);
		return;
	}
	r->batch = route_batch_new(st, doc);
	if (r->batch == NULL || crypt_batch_add(r->batch, t, k, item, 1) != 0) {
		route_rmw_fail_oom(st);
		return;
	}
	crypt_batch_run(r->batch, write_ready, st);
}

static void read_ready(void *arg, struct crypt_batch *b, const struct ds_error *err)
{
	struct route_state *st = arg;
	struct route_rmw *r = st->rmw;

	if (err != NULL) {
		route_rmw_fail(st, err);
		return;
	}
	r->plain = cJSON_DetachItemFromObjectCaseSensitive(crypt_batch_doc(b), "Item");
	crypt_batch_free(b);
	r->batch = NULL;
	cJSON_DeleteItemFromObjectCaseSensitive(r->plain, ITEM_HEAD_ATTR);
	cJSON_DeleteItemFromObjectCaseSensitive(r->plain, ITEM_FOOT_ATTR);
	evaluate(st);
}

static void read_cb(void *arg, struct http_msg *resp, const struct ds_error *err)
{
	struct route_state *st = arg;
	struct route_rmw *r = st->rmw;
	struct txn *t = st->t;
	struct ds_error e = { 0 };
	struct keyring *k;
	cJSON *doc, *item;

	t->call = NULL;
	if (err != NULL) {
		metrics_inc(&t->worker->metrics.upstream_errors, 1);
		txn_fail(t, err);
		return;
	}
	if (resp->status != 200) {
		/* DynamoDB refused the table or the key: as it would refuse the update. */
		txn_respond(t, resp, 0);
		return;
	}
	http_msg_free(r->read_resp);
	r->read_resp = resp;
	cJSON_Delete(r->raw);
	cJSON_Delete(r->plain);
	r->raw = r->plain = NULL;
	doc = route_answer_json(resp);
	item = cJSON_GetObjectItemCaseSensitive(doc, "Item");
	if (doc == NULL || !cJSON_IsObject(doc) || (item != NULL && !cJSON_IsObject(item))) {
		cJSON_Delete(doc);
		ds_error_set(&e, 502, DS_ERR_INTERNAL, "table \"%s\": DynamoDB's answer to the read "
			     "of the item to update is not an item; retry the request", r->table->name);
		txn_fail(t, &e);
		return;
	}
	if (item == NULL) {
		cJSON_Delete(doc);
		evaluate(st);
		return;
	}
	k = route_keyring(st, r->table);
	if (k == NULL) {
		cJSON_Delete(doc);
		ds_error_set(&e, 400, DS_ERR_VALIDATION, "table \"%s\": its keyring \"%s\" is not "
			     "usable on this worker", r->table->name, r->table->keyring);
		txn_fail(t, &e);
		return;
	}
	r->raw = cJSON_Duplicate(item, 1);
	r->batch = route_batch_new(st, doc);
	if (r->raw == NULL || r->batch == NULL ||
	    crypt_batch_add_read_at(r->batch, r->table, k, item, "UpdateItem's read of the item") != 0) {
		route_rmw_fail_oom(st);
		return;
	}
	crypt_batch_run(r->batch, read_ready, st);
}

static void write_cb(void *arg, struct http_msg *resp, const struct ds_error *err);

/* The operation of a single request carried out, by r->op. */
static const char *const ops[] = { [ROUTE_PUT] = "PutItem", [ROUTE_UPDATE] = "UpdateItem",
				   [ROUTE_DELETE] = "DeleteItem" };

/* The ReturnValues the write asks for: whole items, cut for UPDATED_* (route_rmw_answer). */
static const char *const write_return[] = {
	[RMW_NONE] = "NONE", [RMW_ALL_OLD] = "ALL_OLD", [RMW_ALL_NEW] = "ALL_NEW",
	[RMW_UPDATED_OLD] = "ALL_OLD", [RMW_UPDATED_NEW] = "ALL_NEW",
};

cJSON *route_rmw_action(const struct route_rmw *r, const cJSON *enc)
{
	struct route_rmw_write w = { r->table, r->raw, enc, r->written, r->read, r->op != ROUTE_UPDATE };
	cJSON *body = route_rmw_write_body(&w);
	int ok = body != NULL && copy_member(body, r->req, "TableName") != NULL;

	if (ok && r->op == ROUTE_PUT)
		ok = cJSON_AddItemToObject(body, "Item", cJSON_Duplicate(enc, 1));
	else if (ok)
		ok = cJSON_AddItemToObject(body, "Key", cJSON_Duplicate(r->key, 1));
	if (!ok) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

/* Sends the write: the new item (encrypted in b; none for DeleteItem) in place of the one read. */
static void send_write(struct route_state *st, struct crypt_batch *b)
{
	struct route_rmw *r = st->rmw;
	const cJSON *enc = b != NULL ? cJSON_GetObjectItemCaseSensitive(crypt_batch_doc(b), "Item") : NULL;
	cJSON *body = route_rmw_action(r, enc);
	int ok = body != NULL &&
		 cJSON_AddStringToObject(body, "ReturnValues", write_return[r->ret]) != NULL &&
		 copy_member(body, r->req, "ReturnConsumedCapacity") != NULL &&
		 copy_member(body, r->req, "ReturnItemCollectionMetrics") != NULL;

	if (b != NULL) {
		crypt_batch_free(b);
		r->batch = NULL;
	}
	if (!ok) {
		cJSON_Delete(body);
		route_rmw_fail_oom(st);
		return;
	}
	route_send_as(st, ops[r->op], body, write_cb);
}

static void write_ready(void *arg, struct crypt_batch *b, const struct ds_error *err)
{
	struct route_state *st = arg;

	if (err != NULL) {
		route_rmw_fail(st, err);
		return;
	}
	send_write(st, b);
}

static void pause_done(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	send_read(arg);
}

void route_rmw_retry(struct route_state *st, struct event **pause, int attempts,
		    event_callback_fn cb, const char *what)
{
	struct txn *t = st->t;
	unsigned int rnd = 0;
	struct timeval tv;
	long cap_us = 2000L << (attempts < 7 ? attempts : 7);
	struct ds_error e;

	metrics_inc(&t->worker->metrics.rmw_conflicts, 1);
	if (attempts >= RMW_ATTEMPTS) {
		ds_error_set(&e, 500, DS_ERR_INTERNAL, "%s changed under dynaseal's read-modify-write "
			     "%d times in a row (other writers); retry the request", what, attempts);
		txn_fail(t, &e);
		return;
	}
	if (*pause == NULL)
		*pause = evtimer_new(t->worker->base, cb, st);
	if (*pause == NULL) {
		route_rmw_fail_oom(st);
		return;
	}
	(void)RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
	tv.tv_sec = 0;
	tv.tv_usec = (long)(rnd % (unsigned long)cap_us);
	evtimer_add(*pause, &tv);
}

/* The item changed between the read and the write: start over after a pause. */
static void conflict(struct route_state *st)
{
	struct route_rmw *r = st->rmw;
	char what[300];

	snprintf(what, sizeof(what), "table \"%s\": the item of %s", r->table->name, ops[r->op]);
	route_rmw_retry(st, &r->pause, r->attempts, pause_done, what);
}

static void write_cb(void *arg, struct http_msg *resp, const struct ds_error *err)
{
	struct route_state *st = arg;
	struct route_rmw *r = st->rmw;
	struct txn *t = st->t;

	t->call = NULL;
	if (err != NULL) {
		metrics_inc(&t->worker->metrics.upstream_errors, 1);
		txn_fail(t, err);
		return;
	}
	if (route_answer_is(resp, "ConditionalCheckFailedException")) {
		http_msg_free(resp);
		conflict(st);
		return;
	}
	metrics_rmw(&t->worker->metrics, ops[r->op]);
	/* The answer is read as any UpdateItem's with what the write asked back. */
	st->ret = r->ret == RMW_NONE ? ROUTE_RETURN_NONE : ROUTE_RETURN_ALL;
	st->ret_name = write_return[r->ret];
	route_response_cb(st, resp, NULL);
}

/* ---- the answer -------------------------------------------------------------------------- */

void route_rmw_answer(struct route_state *st, cJSON *doc)
{
	struct route_rmw *r = st->rmw;
	cJSON *attrs = cJSON_GetObjectItemCaseSensitive(doc, "Attributes");
	cJSON *out;

	if (r == NULL || attrs == NULL || (r->ret != RMW_UPDATED_OLD && r->ret != RMW_UPDATED_NEW))
		return;
	out = cJSON_CreateObject();
	if (out == NULL)
		return;
	if (ddb_eval_copy_paths(attrs, &r->update, out) != 0) {
		cJSON_Delete(out);
		return;     /* out of memory: the whole item stays (its paths are in it) */
	}
	if (out->child == NULL) {
		/* DynamoDB leaves Attributes out when none of them is there. */
		cJSON_Delete(out);
		cJSON_DeleteItemFromObjectCaseSensitive(doc, "Attributes");
		return;
	}
	cJSON_ReplaceItemInObjectCaseSensitive(doc, "Attributes", out);
}
