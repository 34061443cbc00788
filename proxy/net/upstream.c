/*
 * Upstream connection pool.  Each worker owns its pools, so nothing here is shared between
 * threads.  A connection is either idle in the pool (reading, so that a close by the peer is
 * noticed at once) or carries exactly one call.
 */
#include "proxy/net/upstream.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "proxy/base/log.h"

struct upstream_conn;

/* One request in flight, and what to do with its response. */
struct upstream_call {
	struct upstream_pool *pool;   /* owner */
	struct upstream_conn *conn;   /* the connection carrying it, NULL between attempts */
	char *request;                /* the whole request, kept for the one retry */
	size_t request_len;
	upstream_done_cb cb;          /* completion */
	void *arg;                    /* cb's argument */
	int retried;                  /* the one retry has been spent */
};

/* One connection to the target. */
struct upstream_conn {
	struct upstream_pool *pool;   /* owner */
	struct bufferevent *bev;      /* socket or TLS bufferevent, closes the fd on free */
	struct http_parser parser;    /* response parser */
	struct upstream_call *call;   /* the call it carries, NULL when idle */
	unsigned long id;             /* for log lines */
	int reused;                   /* it has carried a call before this one */
	int got_bytes;                /* response bytes arrived for the current call */
	int in_idle;                  /* it sits in pool->idle */
	TAILQ_ENTRY(upstream_conn) idle_link; /* in pool->idle when idle */
};

TAILQ_HEAD(conn_list, upstream_conn);

struct upstream_pool {
	struct event_base *base;      /* the worker's loop */
	struct evdns_base *dns;       /* the worker's resolver */
	SSL_CTX *ssl_ctx;             /* shared client context, not owned */
	struct upstream_target target;
	char name[32];                /* "dynamodb", "kms", ... for logs */
	struct conn_list idle;        /* idle connections, most recent first */
	size_t idle_count;
	unsigned long next_id;
	struct upstream_stats stats;
	size_t open_count;            /* connections of this pool, idle or busy */
	size_t peak_busy;             /* most calls in flight at once lately (see conn_release) */
	time_t peak_at;               /* when peak_busy was last set */
	metrics_counter *opened;      /* upstream_pool_count_opens, or NULL */
};

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);
static int call_attempt(struct upstream_call *call);

/* How long a peak of calls in flight keeps that many idle connections open. */
#define UPSTREAM_PEAK_SECONDS 60

static struct timeval ms_to_tv(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	return tv;
}

struct upstream_pool *upstream_pool_new(struct event_base *base, struct evdns_base *dns,
					SSL_CTX *ssl_ctx, const struct upstream_target *target,
					const char *name)
{
	struct upstream_pool *pool;

	if (target->tls && ssl_ctx == NULL)
		return NULL;
	pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		return NULL;
	pool->base = base;
	pool->dns = dns;
	pool->ssl_ctx = ssl_ctx;
	pool->target = *target;
	{
		struct upstream_target *t = &pool->target;
		int bracket = strchr(t->host, ':') != NULL;
		int default_port = (t->tls && t->port == 443) || (!t->tls && t->port == 80);

		if (default_port)
			snprintf(t->authority, sizeof(t->authority), bracket ? "[%s]" : "%s", t->host);
		else
			snprintf(t->authority, sizeof(t->authority), bracket ? "[%s]:%u" : "%s:%u",
				 t->host, t->port);
	}
	snprintf(pool->name, sizeof(pool->name), "%s", name);
	TAILQ_INIT(&pool->idle);
	return pool;
}

static void conn_free(struct upstream_conn *conn)
{
	struct upstream_pool *pool = conn->pool;

	if (conn->in_idle) {
		TAILQ_REMOVE(&pool->idle, conn, idle_link);
		pool->idle_count--;
	}
	if (conn->bev != NULL)
		bufferevent_free(conn->bev);
	http_parser_cleanup(&conn->parser);
	free(conn);
	pool->open_count--;
}

void upstream_pool_set_timeouts(struct upstream_pool *pool, int connect_timeout_ms,
				int response_timeout_ms)
{
	pool->target.connect_timeout_ms = connect_timeout_ms;
	pool->target.response_timeout_ms = response_timeout_ms;
}

void upstream_pool_count_opens(struct upstream_pool *pool, metrics_counter *c)
{
	pool->opened = c;
}

void upstream_pool_free(struct upstream_pool *pool)
{
	struct upstream_conn *conn;

	if (pool == NULL)
		return;
	while ((conn = TAILQ_FIRST(&pool->idle)) != NULL)
		conn_free(conn);
	free(pool);
}

const struct upstream_target *upstream_pool_target(const struct upstream_pool *pool)
{
	return &pool->target;
}

void upstream_pool_stats(const struct upstream_pool *pool, struct upstream_stats *out)
{
	*out = pool->stats;
	out->idle = pool->idle_count;
}

static void call_free(struct upstream_call *call)
{
	free(call->request);
	free(call);
}

/* Ends a call with an error of DynamoDB's retryable shape. */
static void call_fail(struct upstream_call *call, const char *fmt, const char *detail)
{
	struct ds_error err;
	upstream_done_cb cb = call->cb;
	void *arg = call->arg;

	ds_error_set(&err, 503, DS_ERR_UNAVAILABLE, fmt, call->pool->name, detail);
	call->pool->stats.errors++;
	call_free(call);
	cb(arg, NULL, &err);
}

/* Opens a new connection; the caller attaches a call to it. */
static struct upstream_conn *conn_open(struct upstream_pool *pool)
{
	struct upstream_conn *conn = calloc(1, sizeof(*conn));
	const struct upstream_target *t = &pool->target;
	int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;

	if (conn == NULL)
		return NULL;
	conn->pool = pool;
	conn->id = ++pool->next_id;
	http_parser_init(&conn->parser, HTTP_RESPONSE, 64 * 1024, t->max_response_bytes);
	if (t->tls) {
		SSL *ssl = SSL_new(pool->ssl_ctx);
		if (ssl == NULL)
			goto fail;
		/* SNI and host name verification against the certificate. */
		SSL_set_tlsext_host_name(ssl, t->host);
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(ssl, t->host) != 1) {
			SSL_free(ssl);
			goto fail;
		}
		conn->bev = bufferevent_openssl_socket_new(pool->base, -1, ssl,
							   BUFFEREVENT_SSL_CONNECTING, opts);
		if (conn->bev == NULL) {
			SSL_free(ssl);
			goto fail;
		}
	} else {
		conn->bev = bufferevent_socket_new(pool->base, -1, opts);
		if (conn->bev == NULL)
			goto fail;
	}
	bufferevent_setcb(conn->bev, conn_read_cb, NULL, conn_event_cb, conn);
	{
		struct timeval rtv = ms_to_tv(t->response_timeout_ms);
		struct timeval ctv = ms_to_tv(t->connect_timeout_ms);
		bufferevent_set_timeouts(conn->bev, &rtv, &ctv);
	}
	if (bufferevent_socket_connect_hostname(conn->bev, pool->dns, AF_UNSPEC, t->host, t->port) != 0)
		goto fail;
	pool->stats.connects++;
	pool->open_count++;
	if (pool->opened != NULL)
		metrics_inc(pool->opened, 1);
	return conn;
fail:
	log_warn("upstream %s: cannot open a connection to %s:%u", pool->name, t->host, t->port);
	if (conn->bev != NULL)
		bufferevent_free(conn->bev);
	http_parser_cleanup(&conn->parser);
	free(conn);
	return NULL;
}

/* Puts a connection whose exchange finished back in the pool, or closes it. */
static void conn_release(struct upstream_conn *conn, int keep_alive)
{
	struct upstream_pool *pool = conn->pool;
	struct timeval idle = ms_to_tv(pool->target.idle_timeout_ms);

	conn->call = NULL;
	/* Idle connections beyond pool_size are kept up to the most calls in flight at once in
	 * the last minute or so: under load, answers come back in bursts larger than pool_size,
	 * and closing the excess meant a new connection (a TCP and TLS handshake) for each of the
	 * calls that followed.  The idle timeout closes what a past burst left. */
	if (!keep_alive ||
	    (pool->idle_count >= (size_t)pool->target.pool_size && pool->idle_count >= pool->peak_busy) ||
	    evbuffer_get_length(bufferevent_get_input(conn->bev)) > 0) {
		conn_free(conn);
		return;
	}
	conn->reused = 1;
	conn->got_bytes = 0;
	bufferevent_set_timeouts(conn->bev, &idle, NULL);
	bufferevent_enable(conn->bev, EV_READ);
	TAILQ_INSERT_HEAD(&pool->idle, conn, idle_link);
	conn->in_idle = 1;
	pool->idle_count++;
}

static void conn_deliver(struct upstream_conn *conn, struct http_msg *resp)
{
	struct upstream_call *call = conn->call;
	upstream_done_cb cb = call->cb;
	void *arg = call->arg;

	conn_release(conn, resp->keep_alive);
	call_free(call);
	cb(arg, resp, NULL);
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct upstream_conn *conn = arg;
	enum http_parse_result r;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (conn->call == NULL) {
		/* An idle connection must stay silent; anything it says ends it. */
		log_debug("upstream %s: conn %lu sent %zu bytes while idle; closing", conn->pool->name,
			  conn->id, evbuffer_get_length(in));
		conn_free(conn);
		return;
	}
	conn->got_bytes = 1;
	r = http_parser_feed_evbuffer(&conn->parser, in);
	switch (r) {
	case HTTP_PARSE_MORE:
	case HTTP_PARSE_HEADERS:
		return;
	case HTTP_PARSE_DONE:
		conn_deliver(conn, http_parser_take(&conn->parser));
		return;
	case HTTP_PARSE_TOO_LARGE_BODY:
	case HTTP_PARSE_TOO_LARGE_HEADER:
	case HTTP_PARSE_ERROR: {
		struct upstream_call *call = conn->call;
		const struct upstream_target *t = &conn->pool->target;
		char why[160];
		snprintf(why, sizeof(why), "%s from %s:%u", r == HTTP_PARSE_ERROR ?
			 http_parser_error(&conn->parser) : "response larger than the limit",
			 t->host, t->port);
		conn->call = NULL;
		conn_free(conn);
		call_fail(call, "The %s endpoint sent a response dynaseal could not read (%s); retry the request", why);
		return;
	}
	}
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct upstream_conn *conn = arg;
	struct upstream_call *call = conn->call;
	const struct upstream_target *t = &conn->pool->target;
	char detail[320];

	if (what & BEV_EVENT_CONNECTED) {
		log_debug("upstream %s: conn %lu connected to %s:%u", conn->pool->name, conn->id,
			  t->host, t->port);
		return;
	}
	if (call == NULL) {
		/* Idle connection closed by the peer or timed out: just drop it. */
		conn_free(conn);
		return;
	}
	if ((what & BEV_EVENT_EOF) && conn->got_bytes) {
		/* A response delimited by the connection's end. */
		if (http_parser_eof(&conn->parser) == HTTP_PARSE_DONE) {
			struct http_msg *resp = http_parser_take(&conn->parser);
			resp->keep_alive = 0;
			conn_deliver(conn, resp);
			return;
		}
	}
	if (!conn->got_bytes && conn->reused && !call->retried && !(what & BEV_EVENT_TIMEOUT)) {
		/* The pooled connection had been closed by the peer before we used it: the request
		 * never reached it, so one retry on a fresh connection is safe. */
		call->retried = 1;
		call->conn = NULL;
		conn->call = NULL;
		conn->pool->stats.retries++;
		log_debug("upstream %s: pooled conn %lu was closed; retrying on a new one",
			  conn->pool->name, conn->id);
		conn_free(conn);
		if (call_attempt(call) != 0)
			call_fail(call, "dynaseal could not reach the %s endpoint (%s); retry the request",
				  "cannot open a connection");
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		snprintf(detail, sizeof(detail), "%s %s:%u after %d ms",
			 (what & BEV_EVENT_WRITING) ? "connecting to" : "no response from",
			 t->host, t->port,
			 (what & BEV_EVENT_WRITING) ? t->connect_timeout_ms : t->response_timeout_ms);
	} else {
		int dns_err = bufferevent_socket_get_dns_error(bev);
		unsigned long ssl_err = t->tls ? bufferevent_get_openssl_error(bev) : 0;
		if (dns_err != 0) {
			snprintf(detail, sizeof(detail), "cannot resolve %s: %s", t->host,
				 evutil_gai_strerror(dns_err));
		} else if (ssl_err != 0) {
			char buf[200];
			ERR_error_string_n(ssl_err, buf, sizeof(buf));
			snprintf(detail, sizeof(detail), "TLS with %s:%u failed: %s", t->host, t->port, buf);
			while ((ssl_err = bufferevent_get_openssl_error(bev)) != 0) {
				ERR_error_string_n(ssl_err, buf, sizeof(buf));
				log_warn("upstream %s: conn %lu TLS: %s", conn->pool->name, conn->id, buf);
			}
		} else if (what & BEV_EVENT_EOF) {
			snprintf(detail, sizeof(detail), "%s:%u closed the connection %s", t->host, t->port,
				 conn->got_bytes ? "in the middle of the response" : "before responding");
		} else {
			snprintf(detail, sizeof(detail), "%s:%u: %s", t->host, t->port,
				 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		}
	}
	log_warn("upstream %s: conn %lu: %s", conn->pool->name, conn->id, detail);
	conn->call = NULL;
	conn_free(conn);
	call_fail(call, "dynaseal could not complete the call to the %s endpoint (%s); retry the request",
		  detail);
}

/* Puts the call on an idle connection, or a new one.  Returns 0, or -1 when none could be had. */
static int call_attempt(struct upstream_call *call)
{
	struct upstream_pool *pool = call->pool;
	struct upstream_conn *conn = TAILQ_FIRST(&pool->idle);
	struct timeval rtv = ms_to_tv(pool->target.response_timeout_ms);
	struct timeval ctv = ms_to_tv(pool->target.connect_timeout_ms);
	size_t sent = 0;

	if (conn != NULL) {
		TAILQ_REMOVE(&pool->idle, conn, idle_link);
		conn->in_idle = 0;
		pool->idle_count--;
		pool->stats.reuses++;
		bufferevent_set_timeouts(conn->bev, &rtv, &ctv);
	} else {
		conn = conn_open(pool);
		if (conn == NULL)
			return -1;
	}
	conn->call = call;
	conn->got_bytes = 0;
	call->conn = conn;
	{
		size_t busy = pool->open_count - pool->idle_count;
		struct timeval now;

		event_base_gettimeofday_cached(pool->base, &now);
		if (busy >= pool->peak_busy || now.tv_sec - pool->peak_at >= UPSTREAM_PEAK_SECONDS) {
			pool->peak_busy = busy;
			pool->peak_at = now.tv_sec;
		}
	}
	/* On an idle plain connection the request is sent now: arming the write event for it
	 * cost two epoll_ctl calls and a loop pass per call.  What the socket does not take
	 * (all of it on a TLS or new connection) goes through the bufferevent, which also
	 * reports a connection the peer closed, as before. */
	if (conn->reused && !pool->target.tls &&
	    evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0) {
		ssize_t n = send(bufferevent_getfd(conn->bev), call->request, call->request_len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			sent = (size_t)n;
	}
	if (sent < call->request_len &&
	    bufferevent_write(conn->bev, call->request + sent, call->request_len - sent) != 0) {
		conn->call = NULL;
		call->conn = NULL;
		conn_free(conn);
		return -1;
	}
	bufferevent_enable(conn->bev, sent == call->request_len ? EV_READ : EV_READ | EV_WRITE);
	return 0;
}

struct upstream_call *upstream_call_start(struct upstream_pool *pool, char *request, size_t len,
					  upstream_done_cb cb, void *arg)
{
	struct upstream_call *call = calloc(1, sizeof(*call));

	if (call == NULL) {
		free(request);
		return NULL;
	}
	call->pool = pool;
	call->request = request;
	call->request_len = len;
	call->cb = cb;
	call->arg = arg;
	if (call_attempt(call) != 0) {
		call_free(call);
		return NULL;
	}
	return call;
}

void upstream_call_cancel(struct upstream_call *call)
{
	if (call == NULL)
		return;
	if (call->conn != NULL) {
		/* The response would arrive for nobody; the connection cannot be reused. */
		call->conn->call = NULL;
		conn_free(call->conn);
	}
	call_free(call);
}

SSL_CTX *upstream_ssl_ctx_new(const char *ca_file)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		log_openssl_errors(LOG_ERROR, "TLS client context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_default_verify_paths(ctx) != 1)
		log_openssl_errors(LOG_WARN, "loading the system CA store");
	if (ca_file != NULL && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		log_openssl_errors(LOG_ERROR, "loading upstream.ca_file");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}
