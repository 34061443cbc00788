/*
 * One request's life, in order: made from a complete request (txn_new), checked (repeated
 * headers, DynamoDB's signature rules, client authentication: txn_run), routed through the
 * rewriting of configured tables or relayed as is (txn_forward), answered (txn_respond,
 * txn_fail), logged and accounted (txn_end), then handed back to its connection.
 */
#include "proxy/txn.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "proxy/base/log.h"
#include "proxy/client.h"
#include "proxy/client_auth.h"
#include "proxy/ddb/ddb.h"
#include "proxy/forward.h"
#include "proxy/front_door.h"
#include "proxy/net/reply.h"
#include "proxy/net/upstream.h"
#include "proxy/route.h"
#include "proxy/worker.h"

/*
 * Headers that say what a request is and who sends it: each may come once.  With two, the
 * operation checked, the one signed and the one forwarded could be read from different copies;
 * such a request is refused rather than guessed at.
 */
static int repeated_header(const struct http_msg *req, struct ds_error *err)
{
	static const char *const once[] = {
		"host", "x-amz-target", "x-amz-date", "authorization", "x-amz-security-token",
		"content-type", "x-amz-content-sha256",
	};

	for (size_t i = 0; i < sizeof(once) / sizeof(once[0]); i++) {
		if (http_msg_header_count(req, once[i]) > 1) {
			ds_error_set(err, 400, DS_ERR_SERIALIZATION, "The request repeats the header %s; "
				     "send it once", once[i]);
			return -1;
		}
	}
	return 0;
}

/* s into out[cap], cut to fit (no printf on the hot path). */
static void copy_string(char *out, size_t cap, const char *s)
{
	size_t n = strnlen(s, cap - 1);

	memcpy(out, s, n);
	out[n] = '\0';
}

struct txn *txn_new(struct client_conn *c, struct worker *w, struct http_msg *req)
{
	struct txn *t = malloc(sizeof(*t));
	const struct http_header *authz = http_msg_header(req, "authorization");

	if (t == NULL)
		return NULL;
	memset(t, 0, offsetof(struct txn, authz));
	t->client = c;
	t->worker = w;
	t->gen = worker_gen_hold(w->gen);
	t->req = req;
	t->bytes_in = evbuffer_get_length(req->body);
	reply_request_id(t->audit.request_id);
	sigv4_authz_parse(authz != NULL ? authz->value : NULL, &t->authz);
	/* Who signed (unverified without clients), for the logs. */
	copy_string(t->audit.client, sizeof(t->audit.client), t->authz.akid);
	/* "" when neither is known: forward_build refuses to sign, saying what to set. */
	copy_string(t->region, sizeof(t->region), w->server->region[0] != '\0' ?
		    w->server->region : t->authz.region);
	clock_gettime(CLOCK_MONOTONIC, &t->start);
	return t;
}

/* The head of the request from (method, target, headers) with X-Amz-Target naming op, and
 * body[0..len): a part's request.  NULL when out of memory. */
static struct http_msg *part_request(const struct http_msg *from, const char *op, const char *body,
				     size_t len)
{
	struct http_msg *req = http_msg_new();
	char target[80];
	int n = snprintf(target, sizeof(target), "DynamoDB_20120810.%s", op);

	if (req == NULL || n < 0 || (size_t)n >= sizeof(target))
		goto fail;
	memcpy(req->method, from->method, sizeof(req->method));
	req->url = strdup(from->url != NULL ? from->url : "/");
	if (req->url == NULL)
		goto fail;
	req->url_len = strlen(req->url);
	req->http_major = from->http_major;
	req->http_minor = from->http_minor;
	req->keep_alive = from->keep_alive;
	for (size_t i = 0; i < from->headers_len; i++) {
		const struct http_header *h = &from->headers[i];
		int target_header = strcasecmp(h->name, "x-amz-target") == 0;
		if (http_msg_add_header(req, h->name, h->name_len, target_header ? target : h->value,
					target_header ? (size_t)n : h->value_len) != 0)
			goto fail;
	}
	if (evbuffer_add(req->body, body, len) != 0)
		goto fail;
	return req;
fail:
	http_msg_free(req);
	return NULL;
}

struct txn *txn_new_part(struct txn *parent, const char *op, const char *body, size_t len,
			 txn_done_cb cb, void *arg)
{
	struct http_msg *req = part_request(parent->req, op, body, len);
	struct txn *t = req != NULL ? malloc(sizeof(*t)) : NULL;

	if (t == NULL) {
		http_msg_free(req);
		return NULL;
	}
	/* The parent's connection (for the logs), worker, caller, signature and region. */
	*t = *parent;
	t->req = req;
	t->call = NULL;
	t->route = NULL;
	t->gen = worker_gen_hold(parent->gen);
	t->bytes_in = len;
	t->done = cb;
	t->done_arg = arg;
	copy_string(t->op, sizeof(t->op), op);
	ddb_peek_table(body, len, t->table, sizeof(t->table));
	clock_gettime(CLOCK_MONOTONIC, &t->start);
	return t;
}

static void txn_answer_text(struct txn *t, int status, const char *text);

void txn_run(struct txn *t)
{
	const struct http_header *target = http_msg_header(t->req, "x-amz-target");
	size_t len = evbuffer_get_length(t->req->body);
	const char *body = (const char *)evbuffer_pullup(t->req->body, -1);
	struct ds_error err = { 0 };
	char health[128];

	switch (front_door_check(t->req, body ? body : "", len, &err)) {
	case FRONT_HEALTH:
		snprintf(health, sizeof(health), "healthy: dynamodb.%s.amazonaws.com ",
			 t->region[0] != '\0' ? t->region : "us-east-1");
		txn_answer_text(t, 200, health);
		return;
	case FRONT_NOT_FOUND:
		txn_answer_text(t, 404, FRONT_NOT_FOUND_BODY);
		return;
	case FRONT_CORS_PREFLIGHT:
		txn_answer_text(t, 200, NULL);
		return;
	case FRONT_ERROR:
		txn_fail(t, &err);
		return;
	case FRONT_PASS:
		break;
	}
	if (repeated_header(t->req, &err) != 0) {
		txn_fail(t, &err);
		return;
	}
	if (target != NULL)
		ddb_operation(target->value, t->op, sizeof(t->op));
	ddb_peek_table(body ? body : "", len, t->table, sizeof(t->table));
	if (client_auth_precheck(t->req, &t->authz, &err) != 0 ||
	    client_auth_check(t->gen->cfg, t->req, &t->authz, t->op, body ? body : "", len,
			      time(NULL), &err) != 0) {
		txn_fail(t, &err);
		return;
	}
	txn_forward(t);
}

/* The upstream's answer to a forwarded request, relayed as is. */
static void relay_cb(void *arg, struct http_msg *resp, const struct ds_error *err)
{
	struct txn *t = arg;

	t->call = NULL;
	if (err != NULL) {
		metrics_inc(&t->worker->metrics.upstream_errors, 1);
		txn_fail(t, err);
		return;
	}
	txn_respond(t, resp, 0);
}

/* Configured tables go through route.c; anything else is re-signed and relayed. */
void txn_forward(struct txn *t)
{
	struct ds_error err = { 0 };
	struct evbuffer *body = t->req->body;
	size_t len = evbuffer_get_length(body);
	const char *data = (const char *)evbuffer_pullup(body, -1);
	if (route_request(t))
		return;
	t->call = forward_send(t->worker, t->req, t->region, data, len, 0, relay_cb, t, &err);
	if (t->call == NULL)
		txn_fail(t, &err);
}

/* The access log line and the counters of an answered exchange: before the answer is sent, so
 * that an application holding its answer finds it counted. */
static void txn_account(struct txn *t, int status, size_t bytes_out)
{
	struct client_conn *c = t->client;
	double ms = metrics_elapsed_ms(&t->start);
	char table[sizeof(t->table) * 4 + 8], client[sizeof(t->audit.client) * 4 + 8];

	/* The table and the access key id are the client's words: quoted and escaped. */
	log_info("conn %lu %s: op=%s table=%s status=%d ms=%.2f in=%zu out=%zu client=%s id=%s",
		 client_id(c), client_peer(c), t->op[0] ? t->op : "-",
		 log_value(t->table, table, sizeof(table)), status, ms, t->bytes_in, bytes_out,
		 log_value(t->audit.client, client, sizeof(client)), t->audit.request_id);
	metrics_request(&t->worker->metrics, t->op, status, ms, t->bytes_in, bytes_out);
}

/* Sends the answer written to the connection's output, frees t, and goes on with the
 * connection. */
static void txn_end(struct txn *t, int keep_alive)
{
	struct client_conn *c = t->client;

	client_send(c);
	t->call = NULL;
	txn_free(t);
	client_txn_done(c, keep_alive);
}

/* A part's answer goes to its callback (one debug line, no access line: the request it is a
 * part of has that), and the part is done. */
static void part_done(struct txn *t, struct http_msg *resp, const struct ds_error *err)
{
	struct client_conn *c = t->client;

	log_debug("conn %lu %s: op=%s (a part of a request, id=%s) status=%d ms=%.2f", client_id(c),
		  client_peer(c), t->op, t->audit.request_id, resp != NULL ? resp->status : err->status,
		  metrics_elapsed_ms(&t->start));
	t->call = NULL;
	t->done(t->done_arg, resp, err);
	txn_free(t);
}

/* A table operation DynamoDB accepted on a configured table changes what the workers know of
 * its keys (table_schema_cache.h).  The table is the one the request names at first sight: a guess
 * only decides which table is described again. */
static void note_table_change(struct txn *t, int status)
{
	int deleted = strcmp(t->op, "DeleteTable") == 0;

	if (status != 200 || (!deleted && strcmp(t->op, "CreateTable") != 0 &&
			      strcmp(t->op, "UpdateTable") != 0) ||
	    config_find_table(t->gen->cfg, t->table, strnlen(t->table, sizeof(t->table))) == NULL)
		return;
	worker_table_changed(t->worker, t->table, deleted);
}

void txn_respond(struct txn *t, struct http_msg *resp, int body_changed)
{
	int keep_alive = t->req->keep_alive;
	size_t out;

	if (t->done != NULL) {
		part_done(t, resp, NULL);
		return;
	}
	note_table_change(t, resp->status);
	out = reply_relay(client_output(t->client), resp, body_changed, keep_alive);
	txn_account(t, resp->status, out);
	http_msg_free(resp);
	txn_end(t, keep_alive);
}

/* An answer of the front door's (front_door.h): a plain body (NULL: a CORS preflight), no item
 * in it. */
static void txn_answer_text(struct txn *t, int status, const char *text)
{
	int keep_alive = t->req->keep_alive;
	size_t out = text == NULL
		     ? reply_cors_preflight(client_output(t->client), t->req, keep_alive,
					    t->audit.request_id)
		     : reply_text(client_output(t->client), status, text, keep_alive,
				  t->audit.request_id, t->req);

	txn_account(t, status, out);
	txn_end(t, keep_alive);
}

void txn_fail(struct txn *t, const struct ds_error *err)
{
	struct client_conn *c = t->client;
	int keep_alive = t->req->keep_alive;
	size_t out;

	if (t->done != NULL) {
		/* err may live in the part's route state, which goes with it. */
		struct ds_error copy = *err;
		part_done(t, NULL, &copy);
		return;
	}
	if (err->status >= 500)
		log_warn("conn %lu %s: op=%s: %s", client_id(c), client_peer(c), t->op, err->message);
	metrics_inc(&t->worker->metrics.errors_own, 1);
	out = reply_error(client_output(c), err, keep_alive, t->audit.request_id, t->req);
	txn_account(t, err->status, out);
	txn_end(t, keep_alive);
}

void txn_free(struct txn *t)
{
	if (t == NULL)
		return;
	upstream_call_cancel(t->call);
	route_free(t);
	worker_gen_release(t->gen);
	http_msg_free(t->req);
	free(t);
}

