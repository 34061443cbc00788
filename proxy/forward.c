/*
 * Re-signing and forwarding.  The client's own credentials never go upstream: Authorization,
 * X-Amz-Date, X-Amz-Security-Token and X-Amz-Content-Sha256 are dropped and replaced by
 * dynaseal's.  Headers signed: host, x-amz-date, x-amz-target, content-type and the session
 * token when there is one (what the AWS SDKs sign for DynamoDB).
 */
#include "proxy/forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "crypto/sigv4.h"
#include "proxy/ddb.h"
#include "proxy/log.h"
#include "proxy/route.h"
#include "proxy/txn.h"
#include "proxy/upstream.h"
#include "proxy/worker.h"

/* Per thread (so per worker) cache of the derived signing key: one derivation a day. */
static _Thread_local struct sigv4_key signing_key;

/* Headers that are replaced or describe the hop to dynaseal: never forwarded as sent. */
static int is_dropped_header(const char *name)
{
	static const char *const dropped[] = {
		"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256",
		"host", "connection", "keep-alive", "transfer-encoding", "content-length", "expect",
		"te", "trailer", "upgrade", "proxy-connection", "proxy-authorization",
	};
	for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
		if (strcasecmp(name, dropped[i]) == 0)
			return 1;
	}
	return 0;
}

int forward_region(struct worker *w, const struct http_msg *req, char *out, size_t cap)
{
	const struct http_header *authz;
	const char *cred;
	const char *p;
	int slash = 0;

	if (w->server->region[0] != '\0') {
		snprintf(out, cap, "%s", w->server->region);
		return 0;
	}
	/* Credential=AKID/DATE/REGION/SERVICE/aws4_request */
	authz = http_msg_header(req, "authorization");
	if (authz == NULL || (cred = strstr(authz->value, "Credential=")) == NULL)
		return -1;
	for (p = cred; *p && *p != ',' && *p != ' '; p++) {
		if (*p == '/' && ++slash == 2) {
			const char *end = strchr(p + 1, '/');
			size_t n;
			if (end == NULL)
				return -1;
			n = (size_t)(end - p - 1);
			if (n == 0 || n >= cap)
				return -1;
			memcpy(out, p + 1, n);
			out[n] = '\0';
			return 0;
		}
	}
	return -1;
}

/* The Host header value for the upstream: the port only when it is not the scheme's default. */
static void upstream_host(const struct upstream_target *t, char *out, size_t cap)
{
	int bracket = strchr(t->host, ':') != NULL;
	int default_port = (t->tls && t->port == 443) || (!t->tls && t->port == 80);

	if (default_port)
		snprintf(out, cap, bracket ? "[%s]" : "%s", t->host);
	else
		snprintf(out, cap, bracket ? "[%s]:%u" : "%s:%u", t->host, t->port);
}

char *forward_build(struct worker *w, const struct http_msg *req, const char *body, size_t body_len,
		    int identity_only, size_t *out_len, struct ds_error *err)
{
	const struct upstream_target *t = upstream_pool_target(w->dynamodb);
	const struct cred_values *creds = credentials_get(w->server->creds);
	struct sigv4_credentials sc = { creds->access_key_id, creds->secret_access_key,
					creds->session_token };
	struct sigv4_header sh[5];
	size_t nsh = 0;
	struct sigv4_request sr = { 0 };
	struct sigv4_scope scope;
	const struct http_header *target = http_msg_header(req, "x-amz-target");
	const struct http_header *ctype = http_msg_header(req, "content-type");
	char host[300], amz_date[SIGV4_AMZ_DATE_LEN + 1], region[64], authz[512];
	const char *query;
	struct evbuffer *out = NULL;
	char *bytes = NULL;
	int rc;

	if (forward_region(w, req, region, sizeof(region)) != 0) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "dynaseal cannot tell which AWS region to sign "
			     "for: set upstream.region in its config or AWS_REGION in its environment");
		return NULL;
	}
	upstream_host(t, host, sizeof(host));
	if (sigv4_amz_date(time(NULL), amz_date) != 0) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal's clock is outside the years SigV4 can sign");
		return NULL;
	}
	sh[nsh++] = (struct sigv4_header){ "host", 4, host, strlen(host) };
	sh[nsh++] = (struct sigv4_header){ "x-amz-date", 10, amz_date, SIGV4_AMZ_DATE_LEN };
	if (target != NULL)
		sh[nsh++] = (struct sigv4_header){ "x-amz-target", 12, target->value, target->value_len };
	if (ctype != NULL)
		sh[nsh++] = (struct sigv4_header){ "content-type", 12, ctype->value, ctype->value_len };
	if (sc.session_token != NULL)
		sh[nsh++] = (struct sigv4_header){ "x-amz-security-token", 20, sc.session_token,
						   strlen(sc.session_token) };
	sr.method = req->method;
	sr.path = req->url ? req->url : "/";
	query = strchr(sr.path, '?');
	sr.path_len = query ? (size_t)(query - sr.path) : strlen(sr.path);
	if (query != NULL) {
		sr.query = query + 1;
		sr.query_len = strlen(query + 1);
	}
	sr.headers = sh;
	sr.headers_len = nsh;
	sr.payload = (const unsigned char *)body;
	sr.payload_len = body_len;
	scope.region = region;
	scope.service = "dynamodb";
	scope.amz_date = amz_date;
	rc = sigv4_sign(&sr, &sc, &scope, &signing_key, authz, sizeof(authz), NULL);
	if (rc != 0) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal could not sign the request: %s",
			     sigv4_strerror(rc));
		return NULL;
	}

	out = evbuffer_new();
	if (out == NULL)
		goto oom;
	evbuffer_add_printf(out, "%s %s HTTP/1.1\r\nHost: %s\r\n", req->method,
			    req->url ? req->url : "/", host);
	for (size_t i = 0; i < req->headers_len; i++) {
		const struct http_header *h = &req->headers[i];
		if (is_dropped_header(h->name))
			continue;
		if (identity_only && strcasecmp(h->name, "accept-encoding") == 0)
			continue;
		evbuffer_add(out, h->name, h->name_len);
		evbuffer_add(out, ": ", 2);
		evbuffer_add(out, h->value, h->value_len);
		evbuffer_add(out, "\r\n", 2);
	}
	if (identity_only)
		evbuffer_add_printf(out, "Accept-Encoding: identity\r\n");
	evbuffer_add_printf(out, "X-Amz-Date: %s\r\n", amz_date);
	if (sc.session_token != NULL)
		evbuffer_add_printf(out, "X-Amz-Security-Token: %s\r\n", sc.session_token);
	evbuffer_add_printf(out, "Authorization: %s\r\nContent-Length: %zu\r\n\r\n", authz, body_len);
	/* One allocation holding the header block and the body, copied once each. */
	{
		size_t head_len = evbuffer_get_length(out);
		*out_len = head_len + body_len;
		bytes = malloc(*out_len ? *out_len : 1);
		if (bytes == NULL)
			goto oom;
		evbuffer_copyout(out, bytes, head_len);
		if (body_len > 0)
			memcpy(bytes + head_len, body, body_len);
	}
	evbuffer_free(out);
	return bytes;
oom:
	if (out != NULL)
		evbuffer_free(out);
	ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
	return NULL;
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

void txn_forward(struct txn *t)
{
	struct ds_error err = { 0 };
	struct evbuffer *body = t->req->body;
	size_t len = evbuffer_get_length(body);
	const char *data = (const char *)evbuffer_pullup(body, -1);
	size_t req_len = 0;
	char *bytes;

	if (route_request(t))
		return;
	bytes = forward_build(t->worker, t->req, data, len, 0, &req_len, &err);
	if (bytes == NULL) {
		txn_fail(t, &err);
		return;
	}
	t->call = upstream_call_start(t->worker->dynamodb, bytes, req_len, relay_cb, t);
	if (t->call == NULL) {
		ds_error_set(&err, 503, DS_ERR_UNAVAILABLE, "dynaseal could not open a connection to "
			     "the DynamoDB endpoint; retry the request");
		txn_fail(t, &err);
	}
}
