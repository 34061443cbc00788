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

#include "crypto/aws/sigv4.h"
#include "proxy/ddb/ddb.h"
#include "proxy/base/log.h"
#include "proxy/net/upstream.h"
#include "proxy/worker.h"

/* Per thread (so per worker) cache of the derived signing key: one derivation a day. */
static _Thread_local struct sigv4_key signing_key;

/* Headers that are replaced or describe the hop to dynaseal: never forwarded as sent. */
static int is_dropped_header(const struct http_header *h)
{
	static const struct {
		const char *name;
		size_t len;
	} dropped[] = {
#define DROPPED(s) { s, sizeof(s) - 1 }
		DROPPED("authorization"), DROPPED("x-amz-date"), DROPPED("x-amz-security-token"),
		DROPPED("x-amz-content-sha256"), DROPPED("host"), DROPPED("connection"),
		DROPPED("keep-alive"), DROPPED("transfer-encoding"), DROPPED("content-length"),
		DROPPED("expect"), DROPPED("te"), DROPPED("trailer"), DROPPED("upgrade"),
		DROPPED("proxy-connection"), DROPPED("proxy-authorization"),
#undef DROPPED
	};
	/* The length first: most headers are compared with no strcasecmp at all. */
	for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
		if (h->name_len == dropped[i].len && strcasecmp(h->name, dropped[i].name) == 0)
			return 1;
	}
	return 0;
}

/*
 * The request target without the parameters of a query-string signature (X-Amz-Algorithm,
 * -Credential, -Date, -Expires, -SignedHeaders, -Signature, -Security-Token; any X-Amz-*):
 * dynaseal signs in the headers, and the application's own access key id and signature go no
 * further.  Other parameters are kept in order.  A malloc'd string, or NULL when out of memory.
 */
static char *strip_query_signature(const char *url)
{
	const char *q = strchr(url, '?');
	size_t n = q != NULL ? (size_t)(q - url) : strlen(url);
	char *out = malloc(strlen(url) + 1);
	size_t len = n;
	int kept = 0;

	if (out == NULL)
		return NULL;
	memcpy(out, url, n);
	for (const char *p = q != NULL ? q + 1 : NULL; p != NULL;) {
		const char *amp = strchr(p, '&');
		size_t plen = amp != NULL ? (size_t)(amp - p) : strlen(p);
		if (plen > 0 && !(plen >= 6 && strncasecmp(p, "X-Amz-", 6) == 0)) {
			out[len++] = kept++ ? '&' : '?';
			memcpy(out + len, p, plen);
			len += plen;
		}
		p = amp != NULL ? amp + 1 : NULL;
	}
	out[len] = '\0';
	return out;
}

/* X-Amz-Date for now: formatted once a second per thread, not once per request. */
static int amz_date_now(char out[SIGV4_AMZ_DATE_LEN + 1])
{
	static _Thread_local time_t at = (time_t)-1;
	static _Thread_local char text[SIGV4_AMZ_DATE_LEN + 1];
	time_t now = time(NULL);

	if (now != at) {
		if (sigv4_amz_date(now, text) != 0)
			return -1;
		at = now;
	}
	memcpy(out, text, sizeof(text));
	return 0;
}

char *forward_build(struct worker *w, const struct http_msg *req, const char *region,
		    const char *body, size_t body_len, int identity_only, size_t *out_len,
		    struct ds_error *err)
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
	const char *host = t->authority;
	char amz_date[SIGV4_AMZ_DATE_LEN + 1], authz[512];
	const char *query;
	char *target_url = NULL;
	char *bytes = NULL;
	int rc;

	if (region == NULL || region[0] == '\0') {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "dynaseal cannot tell which AWS region to sign "
			     "for: set upstream.region in its config or AWS_REGION in its environment");
		return NULL;
	}
	if (amz_date_now(amz_date) != 0) {
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
	target_url = strip_query_signature(req->url ? req->url : "/");
	if (target_url == NULL)
		goto oom;
	sr.method = req->method;
	sr.path = target_url;
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
		free(target_url);
		return NULL;
	}

	/* The head is written straight into the allocation that also holds the body: sized
	 * first (every header counted, so dropped ones only make it an upper bound), then
	 * copied once, with no printf and no intermediate buffer. */
	{
		static const char identity[] = "Accept-Encoding: identity\r\n";
		const char *url = target_url;
		size_t method_len = strlen(req->method), url_len = strlen(url), host_len = strlen(host);
		size_t authz_len = strlen(authz);
		size_t token_len = sc.session_token != NULL ? strlen(sc.session_token) : 0;
		size_t cap = method_len + 1 + url_len + sizeof(" HTTP/1.1\r\nHost: \r\n") + host_len +
			     sizeof(identity) + sizeof("X-Amz-Date: \r\n") + SIGV4_AMZ_DATE_LEN +
			     sizeof("X-Amz-Security-Token: \r\n") + token_len +
			     sizeof("Authorization: \r\nContent-Length: \r\n\r\n") + authz_len +
			     20 /* Content-Length digits */;
		struct http_head_writer hw;

		for (size_t i = 0; i < req->headers_len; i++)
			cap += req->headers[i].name_len + req->headers[i].value_len + 4;
		bytes = malloc(cap + body_len);
		if (bytes == NULL)
			goto oom;
		http_head_writer_init(&hw, bytes, cap + body_len);
		http_head_put(&hw, req->method, method_len);
		HTTP_HEAD_PUT_LIT(&hw, " ");
		http_head_put(&hw, url, url_len);
		HTTP_HEAD_PUT_LIT(&hw, " HTTP/1.1\r\nHost: ");
		http_head_put(&hw, host, host_len);
		HTTP_HEAD_PUT_LIT(&hw, "\r\n");
		for (size_t i = 0; i < req->headers_len; i++) {
			const struct http_header *h = &req->headers[i];
			if (is_dropped_header(h))
				continue;
			if (identity_only && h->name_len == 15 && strcasecmp(h->name, "accept-encoding") == 0)
				continue;
			http_head_put(&hw, h->name, h->name_len);
			HTTP_HEAD_PUT_LIT(&hw, ": ");
			http_head_put(&hw, h->value, h->value_len);
			HTTP_HEAD_PUT_LIT(&hw, "\r\n");
		}
		if (identity_only)
			HTTP_HEAD_PUT_LIT(&hw, identity);
		HTTP_HEAD_PUT_LIT(&hw, "X-Amz-Date: ");
		http_head_put(&hw, amz_date, SIGV4_AMZ_DATE_LEN);
		HTTP_HEAD_PUT_LIT(&hw, "\r\n");
		if (sc.session_token != NULL) {
			HTTP_HEAD_PUT_LIT(&hw, "X-Amz-Security-Token: ");
			http_head_put(&hw, sc.session_token, token_len);
			HTTP_HEAD_PUT_LIT(&hw, "\r\n");
		}
		HTTP_HEAD_PUT_LIT(&hw, "Authorization: ");
		http_head_put(&hw, authz, authz_len);
		HTTP_HEAD_PUT_LIT(&hw, "\r\nContent-Length: ");
		http_head_put_uint(&hw, body_len);
		HTTP_HEAD_PUT_LIT(&hw, "\r\n\r\n");
		if (body_len > 0)
			http_head_put(&hw, body, body_len);
		if (hw.failed) {
			free(bytes);
			free(target_url);
			ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal sized the upstream request's "
				     "head too small; nothing was sent");
			return NULL;
		}
		*out_len = (size_t)(hw.p - bytes);
	}
	free(target_url);
	return bytes;
oom:
	free(target_url);
	ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
	return NULL;
}

struct upstream_call *forward_send(struct worker *w, const struct http_msg *req, const char *region,
				   const char *body, size_t body_len, int identity_only,
				   upstream_done_cb cb, void *arg, struct ds_error *err)
{
	size_t len = 0;
	char *bytes = forward_build(w, req, region, body, body_len, identity_only, &len, err);
	struct upstream_call *call;

	if (bytes == NULL)
		return NULL;
	call = upstream_call_start(w->dynamodb, bytes, len, cb, arg);
	if (call == NULL)
		ds_error_set(err, 503, DS_ERR_UNAVAILABLE, "dynaseal could not open a connection to "
			     "the DynamoDB endpoint; retry the request");
	return call;
}
