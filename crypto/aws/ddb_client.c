/*
 * DynamoDB's JSON 1.0 protocol (DynamoDB API reference, "Making HTTP requests"; "Error
 * handling"): POST / with X-Amz-Target DynamoDB_20120810.<Operation>, signed with SigV4 for
 * service "dynamodb".  Used for dynaseal's own key store calls, not the proxy path.
 */
#include "crypto/aws/ddb_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>

#include "config/config.h"
#include "crypto/aws/aws_request.h"
#include "crypto/aws/sigv4.h"
#include "proxy/base/json.h"
#include "proxy/base/log.h"
#include "proxy/net/upstream.h"

/* Largest response read: key store items are small. */
#define DDB_MAX_RESPONSE (4 * 1024 * 1024)

struct ddb_call;

struct ddb_client {
	struct event_base *base;        /* the loop calls complete on */
	struct upstream_pool *pool;     /* connections to DynamoDB */
	int owns_pool;                  /* made by ddb_client_new, freed with the client */
	struct credentials *creds;      /* referenced */
	char region[64];                /* signing region */
	struct sigv4_key key_cache;     /* signing key, one derivation a day */
	struct ddb_call *inflight;      /* calls not yet answered, cancelled by free */
};

/* One call in flight. */
struct ddb_call {
	struct ddb_client *client;
	char op[48];                    /* "GetItem", ... for messages */
	struct upstream_call *up;       /* the HTTP exchange */
	ddb_done_cb cb;
	void *arg;
	struct ddb_call *next;          /* in client->inflight */
	struct ddb_call *prev;
};

struct event_base *ddb_client_base(const struct ddb_client *c)
{
	return c->base;
}

struct ddb_client *ddb_client_on_pool(struct event_base *base, struct upstream_pool *pool, const char *region,
				      struct credentials *creds, struct ds_error *err)
{
	struct ddb_client *c;

	if (region == NULL || *region == '\0') {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "no AWS region for DynamoDB: set upstream.region "
			     "or AWS_REGION");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
		return NULL;
	}
	c->base = base;
	c->pool = pool;
	snprintf(c->region, sizeof(c->region), "%s", region);
	c->creds = credentials_ref(creds);
	return c;
}

struct ddb_client *ddb_client_new(struct event_base *base, struct evdns_base *dns, SSL_CTX *ssl_ctx,
				  const char *endpoint, const char *region, struct credentials *creds,
				  struct ds_error *err)
{
	struct upstream_target t = { 0 };
	struct config_addr addr;
	struct upstream_pool *pool;
	struct ddb_client *c;
	const char *why = NULL;
	int tls = 1;

	if (config_parse_endpoint(endpoint, &tls, &addr, &why) != 0) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "DynamoDB endpoint \"%s\": %s", endpoint, why);
		return NULL;
	}
	if (tls && ssl_ctx == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "DynamoDB endpoint %s needs TLS, which is not set up",
			     endpoint);
		return NULL;
	}
	snprintf(t.host, sizeof(t.host), "%s", addr.host);
	t.port = addr.port;
	t.tls = tls;
	t.connect_timeout_ms = 3000;
	t.response_timeout_ms = 15000;
	t.idle_timeout_ms = 50000;
	t.pool_size = 4;
	t.max_response_bytes = DDB_MAX_RESPONSE;
	pool = upstream_pool_new(base, dns, ssl_ctx, &t, "dynamodb");
	if (pool == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "cannot set up connections to DynamoDB at %s", endpoint);
		return NULL;
	}
	c = ddb_client_on_pool(base, pool, region, creds, err);
	if (c == NULL) {
		upstream_pool_free(pool);
		return NULL;
	}
	c->owns_pool = 1;
	return c;
}

static void call_unlink(struct ddb_call *call)
{
	struct ddb_client *c = call->client;

	if (call->prev != NULL)
		call->prev->next = call->next;
	else
		c->inflight = call->next;
	if (call->next != NULL)
		call->next->prev = call->prev;
}

void ddb_client_free(struct ddb_client *c)
{
	if (c == NULL)
		return;
	/* Calls still out are abandoned: their callers are going away with us. */
	while (c->inflight != NULL) {
		struct ddb_call *call = c->inflight;
		call_unlink(call);
		if (call->up != NULL)
			upstream_call_cancel(call->up);
		free(call);
	}
	if (c->owns_pool)
		upstream_pool_free(c->pool);
	credentials_unref(c->creds);
	sigv4_key_wipe(&c->key_cache);
	free(c);
}

void ddb_client_map_error(const char *op, int status, const char *body, size_t len, char *type_out,
			  size_t cap, struct ds_error *err)
{
	cJSON *doc = json_parse(body, len, NULL);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(doc, "__type");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(doc, "message");
	const char *t = "";

	if (!cJSON_IsString(msg))
		msg = cJSON_GetObjectItemCaseSensitive(doc, "Message");
	if (cJSON_IsString(type)) {
		const char *h = strrchr(type->valuestring, '#');
		t = h != NULL ? h + 1 : type->valuestring;
	}
	snprintf(type_out, cap, "%s", t);
	if (status >= 500 || strcmp(t, "ThrottlingException") == 0 ||
	    strcmp(t, "ProvisionedThroughputExceededException") == 0)
		ds_error_set(err, 503, DS_ERR_UNAVAILABLE, "DynamoDB answered %d %s to %s; retry", status,
			     *t ? t : "(no error type)", op);
	else if (strncmp(t, "AccessDenied", 12) == 0 || strcmp(t, "UnrecognizedClientException") == 0 ||
		 strcmp(t, "InvalidSignatureException") == 0)
		ds_error_set(err, 400, DS_ERR_ACCESS_DENIED, "dynaseal's credentials may not call "
			     "dynamodb:%s (%s: %s)", op, t, cJSON_IsString(msg) ? msg->valuestring : "");
	else if (status == 403 && *t == '\0')
		/* A refusal in front of DynamoDB's JSON (an IAM check answering in XML) */
		ds_error_set(err, 400, DS_ERR_ACCESS_DENIED, "dynaseal's credentials may not call "
			     "dynamodb:%s (HTTP 403)", op);
	else
		ds_error_set(err, 400, DS_ERR_VALIDATION, "DynamoDB %s failed: %s%s%s", op,
			     *t ? t : "HTTP error", cJSON_IsString(msg) ? ": " : "",
			     cJSON_IsString(msg) ? msg->valuestring : "");
	cJSON_Delete(doc);
}

static void response_cb(void *arg, struct http_msg *resp, const struct ds_error *uerr)
{
	struct ddb_call *call = arg;
	struct ds_error err = { 0 };
	char type[96] = "";
	struct json_read rd = { 0 };
	cJSON *doc = NULL;

	call->up = NULL;
	call_unlink(call);
	if (uerr != NULL) {
		ds_error_set(&err, 503, DS_ERR_UNAVAILABLE, "DynamoDB could not be reached for %s: %s",
			     call->op, uerr->message);
	} else {
		size_t len = evbuffer_get_length(resp->body);
		const char *body = (const char *)evbuffer_pullup(resp->body, -1);
		if (resp->status != 200)
			ddb_client_map_error(call->op, resp->status, body ? body : "", len, type,
					     sizeof(type), &err);
		else if ((doc = json_parse(body ? body : "", len, &rd)) == NULL)
			ds_error_set(&err, 502, DS_ERR_INTERNAL, "DynamoDB %s: the response is not JSON",
				     call->op);
		else if (rd.not_utf8) {
			/* A stand-in for NUL in the tree (json_nul.h) could be such a byte. */
			ds_error_set(&err, 502, DS_ERR_INTERNAL, "DynamoDB %s: the response holds a byte "
				     "0xFE or 0xFF, which is not UTF-8", call->op);
			cJSON_Delete(doc);
			doc = NULL;
		}
		http_msg_free(resp);
	}
	if (err.status != 0)
		log_debug("ddb: %s failed: %s", call->op, err.message);
	call->cb(call->arg, doc, type, err.status != 0 ? &err : NULL);
	cJSON_Delete(doc);
	free(call);
}

/* Signs and frames the request; returns the bytes (malloc'd) or NULL. */
static char *build_request(struct ddb_client *c, const char *op, const char *body, size_t body_len,
			   size_t *out_len)
{
	/* Host as signed: the pool's (the port only when not the scheme's default). */
	struct aws_json_service svc = { upstream_pool_target(c->pool)->authority, c->region, "dynamodb",
					 "application/x-amz-json-1.0" };
	char target[80];

	snprintf(target, sizeof(target), "DynamoDB_20120810.%s", op);
	return aws_json_request(&svc, target, c->creds, &c->key_cache, body, body_len, out_len);
}

void ddb_call(struct ddb_client *c, const char *op, cJSON *req, ddb_done_cb cb, void *arg)
{
	struct ddb_call *call = calloc(1, sizeof(*call));
	struct ds_error err = { 0 };
	char *body = req != NULL ? json_print(req, NULL) : NULL;
	char *bytes = NULL;
	size_t len = 0;

	cJSON_Delete(req);
	if (call == NULL || body == NULL ||
	    (bytes = build_request(c, op, body, strlen(body), &len)) == NULL) {
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "dynaseal could not build the DynamoDB %s request", op);
		goto fail;
	}
	call->client = c;
	snprintf(call->op, sizeof(call->op), "%s", op);
	call->cb = cb;
	call->arg = arg;
	call->next = c->inflight;
	if (c->inflight != NULL)
		c->inflight->prev = call;
	c->inflight = call;
	call->up = upstream_call_start(c->pool, bytes, len, response_cb, call);
	if (call->up == NULL) {
		call_unlink(call);
		ds_error_set(&err, 503, DS_ERR_UNAVAILABLE, "cannot open a connection to DynamoDB for %s", op);
		goto fail;
	}
	free(body);
	return;
fail:
	free(body);
	free(call);
	cb(arg, NULL, "", &err);
}
