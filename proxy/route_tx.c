/*
 * TransactWriteItems whose actions touch protected attributes: an Update that writes a signed
 * or encrypted attribute (or reads an encrypted one), a Put, Delete or ConditionCheck whose
 * condition reads an encrypted one.  DynamoDB cannot evaluate those, so dynaseal does, and
 * still lets DynamoDB commit the transaction atomically:
 *
 *   1. read the items of those actions in one TransactGetItems (one consistent snapshot);
 *   2. verify and decrypt them (a missing item is an upsert: it starts as its key);
 *   3. evaluate each action's condition on the plaintext, apply its update, encrypt and sign;
 *   4. send one TransactWriteItems: the application's other actions as route.c rewrote them,
 *      and each carried-out action as a write (route_rmw_action) conditioned on its item being
 *      the one read -- its aws_dbe_foot unchanged or the item still missing, and the
 *      DO_NOTHING attributes the action reads or writes unchanged.  When an action's own
 *      condition was false, every carried-out action becomes a ConditionCheck instead (the
 *      false one a check that cannot pass, the others their guard), so that DynamoDB cancels
 *      the transaction and gives every other action's reason itself;
 *   5. a cancellation whose reason at a carried-out action shows its item changed since the
 *      read starts everything over, at most RMW_ATTEMPTS times with a growing random pause;
 *      otherwise the reasons go back to the application as DynamoDB gave them, the item
 *      (decrypted by route_resp.c) only where the application asked for it.
 *
 * A transaction whose only such actions are Updates of DO_NOTHING attributes is forwarded
 * first, each of those conditioned on its item existing (route.c); only when DynamoDB cancels
 * it for one of them (an upsert, or its condition false) is it carried out here.
 *
 * A ClientRequestToken goes with the first attempt; a later attempt sends a token derived from
 * it and the attempt's number, since its actions differ from the first's.
 */
#include "proxy/route_tx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/sha.h>

#include "crypto/item/item_crypt.h"
#include "proxy/base/codec.h"
#include "proxy/route_rmw.h"
#include "proxy/worker.h"

struct route_tx {
	size_t n;                   /* TransactItems */
	struct route_rmw **acts;    /* per index: an action dynaseal carries out, or NULL */
	unsigned char *cond_false;  /* per index: its condition was false in this attempt */
	cJSON **enc;                /* per index: its new item, encrypted, in this attempt */
	int any;                    /* some action is carried out or deferred */
	int wanted;                 /* some action must be carried out (not only deferred) */
	int active;                 /* dynaseal carries the transaction out */
	int failed;                 /* some condition was false in this attempt */
	int attempts;               /* reads started */
	cJSON *body;                /* the request as route.c rewrote it */
	struct crypt_batch *batch;  /* the decryption or encryption under way */
	struct event *pause;        /* the wait before another attempt */
};

static const char *const action_key[] = {
	[ROUTE_PUT] = "Put", [ROUTE_UPDATE] = "Update", [ROUTE_DELETE] = "Delete",
	[ROUTE_CONDITION_CHECK] = "ConditionCheck",
};

void route_tx_free(struct route_tx *x)
{
	if (x == NULL)
		return;
	for (size_t i = 0; i < x->n; i++) {
		route_rmw_free(x->acts[i]);
		cJSON_Delete(x->enc[i]);
	}
	if (x->pause != NULL)
		event_free(x->pause);
	crypt_batch_free(x->batch);
	cJSON_Delete(x->body);
	free(x->acts);
	free(x->cond_false);
	free(x->enc);
	free(x);
}

int route_tx_prepare(struct route_state *st, size_t i, const struct config_table *t,
		     const cJSON *obj, enum route_op op)
{
	struct route_tx *x = st->tx;
	struct route_rmw *r;
	int rc;

	if (x == NULL) {
		x = st->tx = calloc(1, sizeof(*x));
		if (x == NULL)
			goto oom;
		x->n = st->projs_len;
		x->acts = calloc(x->n ? x->n : 1, sizeof(*x->acts));
		x->cond_false = calloc(x->n ? x->n : 1, 1);
		x->enc = calloc(x->n ? x->n : 1, sizeof(*x->enc));
		if (x->acts == NULL || x->cond_false == NULL || x->enc == NULL)
			goto oom;
	}
	rc = route_rmw_new(st, t, obj, op, &r);
	if (i < x->n)
		x->acts[i] = r;
	else
		route_rmw_free(r);
	if (rc <= 0 || i >= x->n)
		return rc < 0 ? -1 : 0;
	x->any = 1;
	if (r->deferred)
		return 0;
	x->wanted = 1;
	return 1;
oom:
	ds_error_set(&st->err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
	return -1;
}

int route_tx_active(const struct route_state *st)
{
	return st->tx != NULL && st->tx->wanted;
}

int route_tx_keep(struct route_state *st, const cJSON *doc)
{
	struct route_tx *x = st->tx;

	if (!x->any)
		return 0;       /* nothing dynaseal may carry out: the request goes as it is */
	cJSON_Delete(x->body);
	x->body = cJSON_Duplicate(doc, 1);
	return x->body != NULL ? 0 : -1;
}

/* ---- the read ---------------------------------------------------------------------------- */

static void read_cb(void *arg, struct http_msg *resp, const struct ds_error *err);

static void send_read(struct route_state *st)
{
	struct route_tx *x = st->tx;
	cJSON *body = cJSON_CreateObject();
	cJSON *list = body != NULL ? cJSON_AddArrayToObject(body, "TransactItems") : NULL;

	x->attempts++;
	x->failed = 0;
	for (size_t i = 0; list != NULL && i < x->n; i++) {
		struct route_rmw *r = x->acts[i];
		cJSON *get, *one;
		x->cond_false[i] = 0;
		cJSON_Delete(x->enc[i]);
		x->enc[i] = NULL;
		if (r == NULL)
			continue;
		cJSON_Delete(r->raw);
		cJSON_Delete(r->plain);
		r->raw = r->plain = NULL;
		one = cJSON_CreateObject();
		get = one != NULL ? cJSON_AddObjectToObject(one, "Get") : NULL;
		if (get == NULL || !cJSON_AddItemToArray(list, one) ||
		    cJSON_AddStringToObject(get, "TableName", r->table->name) == NULL ||
		    !cJSON_AddItemToObject(get, "Key", cJSON_Duplicate(r->key, 1))) {
			if (get == NULL)
				cJSON_Delete(one);
			list = NULL;
		}
	}
	if (list == NULL) {
		cJSON_Delete(body);
		route_rmw_fail_oom(st);
		return;
	}
	route_send_as(st, "TransactGetItems", body, read_cb);
}

void route_tx_start(struct route_state *st)
{
	struct route_tx *x = st->tx;

	x->active = 1;
	/* A deferred action is parsed only now that dynaseal carries it out. */
	for (size_t i = 0; i < x->n; i++)
		if (x->acts[i] != NULL && x->acts[i]->deferred) {
			x->acts[i]->deferred = 0;
			if (route_rmw_parse(st, x->acts[i]) != 0) {
				route_rmw_fail(st, &st->err);
				return;
			}
		}
	send_read(st);
}

static void pause_done(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	send_read(arg);
}

/* An item changed between the read and the write: start over after a pause. */
static void conflict(struct route_state *st)
{
	route_rmw_retry(st, &st->tx->pause, st->tx->attempts, pause_done,
			"TransactWriteItems: the items it writes");
}

static void read_ready(void *arg, struct crypt_batch *b, const struct ds_error *err);

static void read_cb(void *arg, struct http_msg *resp, const struct ds_error *err)
{
	struct route_state *st = arg;
	struct route_tx *x = st->tx;
	struct txn *t = st->t;
	struct ds_error e = { 0 };
	cJSON *doc, *list, *one;
	size_t i = 0;

	t->call = NULL;
	if (err != NULL) {
		metrics_inc(&t->worker->metrics.upstream_errors, 1);
		txn_fail(t, err);
		return;
	}
	if (resp->status != 200) {
		if (route_answer_is(resp, "TransactionCanceledException")) {
			/* Another transaction holds one of the items: as a conflict. */
			http_msg_free(resp);
			conflict(st);
			return;
		}
		/* DynamoDB refused a table or a key: as it would refuse the transaction. */
		txn_respond(t, resp, 0);
		return;
	}
	doc = route_answer_json(resp);
	http_msg_free(resp);
	list = cJSON_GetObjectItemCaseSensitive(doc, "Responses");
	x->batch = route_batch_new(st, doc);
	if (x->batch == NULL) {
		route_rmw_fail_oom(st);
		return;
	}
	one = cJSON_IsArray(list) ? list->child : NULL;
	for (; i < x->n; i++) {
		struct route_rmw *r = x->acts[i];
		cJSON *item;
		char where[80];
		if (r == NULL)
			continue;
		item = cJSON_GetObjectItemCaseSensitive(one, "Item");
		if (one == NULL || !cJSON_IsObject(one) || (item != NULL && !cJSON_IsObject(item)))
			break;
		one = one->next;
		if (item == NULL)
			continue;
		snprintf(where, sizeof(where), "TransactWriteItems' read of TransactItems[%zu]", i);
		r->raw = cJSON_Duplicate(item, 1);
		if (r->raw == NULL || route_keyring(st, r->table) == NULL ||
		    crypt_batch_add_read_at(x->batch, r->table, route_keyring(st, r->table), item,
					    where) != 0) {
			ds_error_set(&e, 500, DS_ERR_INTERNAL, "table \"%s\": dynaseal is out of memory "
				     "or its keyring \"%s\" is not usable on this worker",
				     r->table->name, r->table->keyring);
			route_rmw_fail(st, &e);
			return;
		}
	}
	if (i < x->n || one != NULL) {
		ds_error_set(&e, 502, DS_ERR_INTERNAL, "DynamoDB's answer to the read of the items of "
			     "TransactWriteItems is not one item per action; retry the request");
		route_rmw_fail(st, &e);
		return;
	}
	crypt_batch_run(x->batch, read_ready, st);
}

/* ---- evaluation and the write ------------------------------------------------------------ */

static void write_ready(void *arg, struct crypt_batch *b, const struct ds_error *err);

static void read_ready(void *arg, struct crypt_batch *b, const struct ds_error *err)
{
	struct route_state *st = arg;
	struct route_tx *x = st->tx;
	const cJSON *one;
	struct ds_error e = { 0 };
	cJSON *doc;

	if (err != NULL) {
		route_rmw_fail(st, err);
		return;
	}
	one = cJSON_GetObjectItemCaseSensitive(crypt_batch_doc(b), "Responses")->child;
	for (size_t i = 0; i < x->n; i++) {
		struct route_rmw *r = x->acts[i];
		const cJSON *item;
		int rc;
		if (r == NULL)
			continue;
		item = cJSON_GetObjectItemCaseSensitive(one, "Item");
		one = one->next;
		if (item != NULL && (r->plain = cJSON_Duplicate(item, 1)) == NULL) {
			route_rmw_fail_oom(st);
			return;
		}
		cJSON_DeleteItemFromObjectCaseSensitive(r->plain, ITEM_HEAD_ATTR);
		cJSON_DeleteItemFromObjectCaseSensitive(r->plain, ITEM_FOOT_ATTR);
		rc = route_rmw_decide(st, r, &x->enc[i], &e);
		if (rc < 0) {
			route_rmw_fail(st, &e);
			return;
		}
		x->cond_false[i] = rc == 0;
		x->failed |= rc == 0;
	}
	crypt_batch_free(b);
	x->batch = NULL;
	/* The new items move into the batch's tree, by index: {"3": item}.  A false condition
	 * cancels the transaction: then nothing needs encrypting. */
	doc = cJSON_CreateObject();
	x->batch = route_batch_new(st, doc);
	if (x->batch == NULL) {
		route_rmw_fail_oom(st);
		return;
	}
	for (size_t i = 0; !x->failed && i < x->n; i++) {
		struct keyring *k;
		cJSON *item = x->enc[i];
		char idx[24];
		if (item == NULL)
			continue;
		k = route_keyring(st, x->acts[i]->table);
		if (k == NULL) {
			ds_error_set(&e, 400, DS_ERR_VALIDATION, "table \"%s\": its keyring \"%s\" is not "
				     "usable on this worker", x->acts[i]->table->name,
				     x->acts[i]->table->keyring);
			route_rmw_fail(st, &e);
			return;
		}
		snprintf(idx, sizeof(idx), "%zu", i);
		x->enc[i] = NULL;
		if (!cJSON_AddItemToObject(doc, idx, item)) {
			cJSON_Delete(item);
			route_rmw_fail_oom(st);
			return;
		}
		if (crypt_batch_add(x->batch, x->acts[i]->table, k, item, 1) != 0) {
			route_rmw_fail_oom(st);
			return;
		}
	}
	crypt_batch_run(x->batch, write_ready, st);
}

/* A ConditionCheck of r's item: its guard, or (impossible) one that cannot pass. */
static cJSON *check_of(const struct route_rmw *r, int impossible)
{
	cJSON *c;

	if (!impossible) {
		struct route_rmw_write w = { r->table, r->raw, NULL, r->written, r->read, 1 };
		c = route_rmw_write_body(&w);
	} else {
		cJSON *names;
		c = cJSON_CreateObject();
		names = c != NULL ? cJSON_AddObjectToObject(c, "ExpressionAttributeNames") : NULL;
		if (names == NULL || cJSON_AddStringToObject(names, "#k", r->table->partition_key) == NULL ||
		    cJSON_AddStringToObject(c, "ConditionExpression",
					    "attribute_exists(#k) AND attribute_not_exists(#k)") == NULL) {
			cJSON_Delete(c);
			return NULL;
		}
	}
	if (c != NULL && (cJSON_AddStringToObject(c, "TableName", r->table->name) == NULL ||
			  !cJSON_AddItemToObject(c, "Key", cJSON_Duplicate(r->key, 1)))) {
		cJSON_Delete(c);
		return NULL;
	}
	return c;
}

/* Replaces the token of a later attempt by one derived from it and the attempt. */
static int derive_token(cJSON *body, int attempt)
{
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(body, "ClientRequestToken");
	unsigned char h[SHA256_DIGEST_LENGTH];
	char in[128], hex[37];
	int n;

	if (attempt <= 1 || !cJSON_IsString(tok))
		return 0;
	/* DynamoDB takes tokens of at most 36 characters: the input is never cut. */
	n = snprintf(in, sizeof(in), "%.64s\n%d", tok->valuestring, attempt);
	SHA256((const unsigned char *)in, (size_t)n, h);
	codec_hex_encode(h, 18, hex);
	return cJSON_ReplaceItemInObjectCaseSensitive(body, "ClientRequestToken",
						      cJSON_CreateString(hex)) ? 0 : -1;
}

static void write_cb(void *arg, struct http_msg *resp, const struct ds_error *err);

static void write_ready(void *arg, struct crypt_batch *b, const struct ds_error *err)
{
	struct route_state *st = arg;
	struct route_tx *x = st->tx;
	cJSON *body, *list;
	size_t i;

	if (err != NULL) {
		route_rmw_fail(st, err);
		return;
	}
	body = cJSON_Duplicate(x->body, 1);
	list = cJSON_GetObjectItemCaseSensitive(body, "TransactItems");
	if (body == NULL || derive_token(body, x->attempts) != 0) {
		cJSON_Delete(body);
		route_rmw_fail_oom(st);
		return;
	}
	for (i = 0; i < x->n; i++) {
		struct route_rmw *r = x->acts[i];
		cJSON *act, *wrap;
		char idx[24];
		if (r == NULL)
			continue;
		snprintf(idx, sizeof(idx), "%zu", i);
		act = x->failed ? check_of(r, x->cond_false[i])
				: route_rmw_action(r, cJSON_GetObjectItemCaseSensitive(crypt_batch_doc(b), idx));
		wrap = cJSON_CreateObject();
		if (act == NULL || wrap == NULL ||
		    cJSON_AddStringToObject(act, "ReturnValuesOnConditionCheckFailure", "ALL_OLD") == NULL ||
		    !cJSON_AddItemToObject(wrap, x->failed ? "ConditionCheck" : action_key[r->op], act) ||
		    !cJSON_ReplaceItemInArray(list, (int)i, wrap)) {
			cJSON_Delete(act);
			cJSON_Delete(wrap);
			break;
		}
	}
	crypt_batch_free(x->batch);
	x->batch = NULL;
	if (i < x->n) {
		cJSON_Delete(body);
		route_rmw_fail_oom(st);
		return;
	}
	route_send_as(st, "TransactWriteItems", body, write_cb);
}

/* Whether the item DynamoDB gave with a cancellation is still the one r read. */
static int unchanged(const struct route_rmw *r, const cJSON *item)
{
	const cJSON *foot = cJSON_GetObjectItemCaseSensitive(r->raw, ITEM_FOOT_ATTR);
	const cJSON *a;

	if (r->raw == NULL || item == NULL)
		return r->raw == NULL && item == NULL;
	if (foot == NULL)
		return cJSON_Compare(r->raw, item, 1);
	if (!cJSON_Compare(foot, cJSON_GetObjectItemCaseSensitive(item, ITEM_FOOT_ATTR), 1))
		return 0;
	cJSON_ArrayForEach(a, r->read) {
		const cJSON *was = cJSON_GetObjectItemCaseSensitive(r->raw, a->string);
		const cJSON *is = cJSON_GetObjectItemCaseSensitive(item, a->string);
		if ((was == NULL) != (is == NULL) || (was != NULL && !cJSON_Compare(was, is, 1)))
			return 0;
	}
	return 1;
}

/* Whether a cancellation tells that an item changed since the read. */
static int changed(const struct route_tx *x, struct http_msg *resp)
{
	cJSON *doc = route_answer_json(resp);
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(doc, "CancellationReasons");
	int found = 0;

	reason = cJSON_IsArray(reason) ? reason->child : NULL;
	for (size_t i = 0; !found && reason != NULL && i < x->n; i++, reason = reason->next) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(reason, "Code");
		if (x->acts[i] == NULL || !cJSON_IsString(code) ||
		    strcmp(code->valuestring, "ConditionalCheckFailed") != 0)
			continue;
		/* A guard failed, or the item of a false condition is no longer the one read. */
		found = !x->cond_false[i] ||
			!unchanged(x->acts[i], cJSON_GetObjectItemCaseSensitive(reason, "Item"));
	}
	cJSON_Delete(doc);
	return found;
}

static void write_cb(void *arg, struct http_msg *resp, const struct ds_error *err)
{
	struct route_state *st = arg;
	struct txn *t = st->t;

	t->call = NULL;
	if (err != NULL) {
		metrics_inc(&t->worker->metrics.upstream_errors, 1);
		txn_fail(t, err);
		return;
	}
	if (route_answer_is(resp, "TransactionCanceledException") && changed(st->tx, resp)) {
		http_msg_free(resp);
		conflict(st);
		return;
	}
	if (resp->status == 200)
		metrics_rmw(&t->worker->metrics, "TransactWriteItems");
	route_response_cb(st, resp, NULL);
}

/* ---- the answer -------------------------------------------------------------------------- */

int route_tx_fallback(struct route_state *st, struct http_msg *resp)
{
	struct route_tx *x = st->tx;
	cJSON *doc;
	const cJSON *reason;
	int deferred_failed = 0;

	if (x == NULL || x->active || !route_answer_is(resp, "TransactionCanceledException"))
		return 0;
	doc = route_answer_json(resp);
	reason = cJSON_GetObjectItemCaseSensitive(doc, "CancellationReasons");
	reason = cJSON_IsArray(reason) ? reason->child : NULL;
	for (size_t i = 0; reason != NULL && i < x->n; i++, reason = reason->next) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(reason, "Code");
		if (x->acts[i] != NULL && cJSON_IsString(code) &&
		    strcmp(code->valuestring, "ConditionalCheckFailed") == 0)
			deferred_failed = 1;
	}
	cJSON_Delete(doc);
	if (!deferred_failed || x->body == NULL)
		return 0;
	/* An upsert, or the action's own condition false: the read tells which. */
	http_msg_free(resp);
	route_tx_start(st);
	return 1;
}

int route_tx_reasons(struct route_state *st, cJSON *doc)
{
	struct route_tx *x = st->tx;
	cJSON *reason = cJSON_GetObjectItemCaseSensitive(doc, "CancellationReasons");
	int changed_doc = 0;

	if (x == NULL || !x->active || !cJSON_IsArray(reason))
		return 0;
	reason = reason->child;
	for (size_t i = 0; reason != NULL && i < x->n; i++, reason = reason->next) {
		if (x->acts[i] == NULL || x->acts[i]->ccf_all_old ||
		    cJSON_GetObjectItemCaseSensitive(reason, "Item") == NULL)
			continue;
		/* dynaseal asked for it to tell a conflict; the application did not. */
		cJSON_DeleteItemFromObjectCaseSensitive(reason, "Item");
		changed_doc = 1;
	}
	return changed_doc;
}
