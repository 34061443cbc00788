/*
 * Application connections.  A failure on one connection is answered (when HTTP still makes
 * sense), logged with the connection's id and peer, and closes only that connection.
 */
#include "proxy/client.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "proxy/base/log.h"
#include "proxy/net/reply.h"
#include "proxy/txn.h"
#include "proxy/worker.h"

/* Bytes read ahead from a connection while a request is in flight (pipelining). */
#define CLIENT_READ_AHEAD (256 * 1024)
/*
 * Lingering close after an error answered mid-request (a body over the limit, a bad head): the
 * rest of what the client sends is read and thrown away, so the kernel does not answer it with
 * a reset that destroys the error before the client reads it.  It ends when the client closes,
 * sends nothing for LINGER_IDLE_MS, or after LINGER_MAX_MS or LINGER_MAX_BYTES.
 */
#define CLIENT_LINGER_IDLE_MS 2000
#define CLIENT_LINGER_MAX_MS 10000
#define CLIENT_LINGER_MAX_BYTES ((size_t)64 * 1024 * 1024)

struct client_conn {
	struct worker *worker;          /* owner */
	struct bufferevent *bev;        /* the socket */
	unsigned long id;               /* for log lines */
	char peer[64];                  /* "addr:port" */
	struct http_parser parser;      /* request parser */
	struct txn *txn;                /* the exchange in flight, or NULL */
	int closing;                    /* close once the output is flushed */
	int receiving;                  /* a request has begun and is not complete */
	struct timespec request_start;  /* when its first byte was parsed */
	int direct;                     /* plain socket: answers are written at once (client_send) */
	int linger;                     /* closing after an error: read and discard first */
	struct timespec linger_start;   /* when the discarding began */
	size_t lingered;                /* bytes discarded */
	TAILQ_ENTRY(client_conn) link;  /* in worker->clients */
};

static void client_read_cb(struct bufferevent *bev, void *arg);
static void client_written_cb(struct bufferevent *bev, void *arg);
static void client_event_cb(struct bufferevent *bev, short what, void *arg);
static void client_process(struct client_conn *c);

static void set_idle_timeout(struct client_conn *c, int on)
{
	const struct config *cfg = c->worker->gen->cfg;
	struct timeval tv = { cfg->client_idle_timeout_ms / 1000,
			      (cfg->client_idle_timeout_ms % 1000) * 1000 };

	bufferevent_set_timeouts(c->bev, on ? &tv : NULL, NULL);
}

static void format_peer(const struct sockaddr *sa, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(out, cap, "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(out, cap, "[%s]:%u", host, port);
	} else {
		snprintf(out, cap, "unix");
	}
}

int client_accept(struct worker *w, int fd, const struct sockaddr *addr, int addrlen)
{
	struct client_conn *c = calloc(1, sizeof(*c));
	const struct config *cfg = w->gen->cfg;

	(void)addrlen;
	if (c == NULL) {
		evutil_closesocket(fd);
		return -1;
	}
	c->worker = w;
	c->id = ++w->next_client_id * 64 + (unsigned long)w->id;
	format_peer(addr, c->peer, sizeof(c->peer));
	{
		SSL *ssl = server_tls_session(w->server);
		if (ssl != NULL)
			c->bev = bufferevent_openssl_socket_new(w->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
								BEV_OPT_CLOSE_ON_FREE);
		else
			c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL) {
			if (ssl != NULL)
				SSL_free(ssl);
			evutil_closesocket(fd);
			free(c);
			return -1;
		}
		c->direct = ssl == NULL;
	}
	http_parser_init(&c->parser, HTTP_REQUEST, cfg->max_header_bytes, cfg->max_body_bytes);
	bufferevent_setcb(c->bev, client_read_cb, client_written_cb, client_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, CLIENT_READ_AHEAD);
	set_idle_timeout(c, 1);
	/* On a plain socket the write event stays off until a write falls short (client_send):
	 * armed for every answer it cost two epoll_ctl calls and a loop pass per request. */
	bufferevent_enable(c->bev, c->direct ? EV_READ : EV_READ | EV_WRITE);
	if (c->direct)
		bufferevent_disable(c->bev, EV_WRITE);    /* a new bufferevent starts with it on */
	TAILQ_INSERT_TAIL(&w->clients, c, link);
	atomic_fetch_add(&w->metrics.connections, 1);
	log_debug("conn %lu %s: accepted", c->id, c->peer);
	return 0;
}

/*
 * Sends what the output buffer holds now, on a plain socket, instead of waiting for the
 * write event the next loop pass would bring; what the socket does not take (or a TLS
 * connection's output) is left to the bufferevent, whose write event is then armed until
 * the buffer drains (client_written_cb).  The buffer is written from its start, so the
 * order of bytes is the bufferevent's own.
 */
void client_send(struct client_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (!c->direct || evbuffer_get_length(out) == 0)
		return;
	/* A socket bufferevent keeps its output frozen at the start but for its own writes. */
	if (!(bufferevent_get_enabled(c->bev) & EV_WRITE) && evbuffer_unfreeze(out, 1) == 0) {
		(void)evbuffer_write(out, bufferevent_getfd(c->bev));
		evbuffer_freeze(out, 1);
	}
	/* Short, would block or failed: the bufferevent writes the rest or reports the error. */
	if (evbuffer_get_length(out) > 0)
		bufferevent_enable(c->bev, EV_WRITE);
}

/* Write callback: the output drained; a plain socket goes back to writing at once. */
static void client_written_cb(struct bufferevent *bev, void *arg)
{
	struct client_conn *c = arg;

	if (c->direct && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_disable(bev, EV_WRITE);
}

void client_close(struct client_conn *c)
{
	struct worker *w = c->worker;

	log_debug("conn %lu %s: closed", c->id, c->peer);
	txn_free(c->txn);
	http_parser_cleanup(&c->parser);
	bufferevent_free(c->bev);
	TAILQ_REMOVE(&w->clients, c, link);
	atomic_fetch_sub(&w->metrics.connections, 1);
	free(c);
	worker_client_closed(w);
}

void client_close_idle(struct worker *w)
{
	struct client_conn *c;
	struct client_conn *next;

	for (c = TAILQ_FIRST(&w->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (!client_busy(c))
			client_close(c);
	}
}

int client_busy(const struct client_conn *c)
{
	return c->txn != NULL || http_parser_in_message(&c->parser);
}

/* Read callback while lingering: what arrives is thrown away, within the limits. */
static void client_linger_cb(struct bufferevent *bev, void *arg)
{
	struct client_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	c->lingered += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (c->lingered > CLIENT_LINGER_MAX_BYTES ||
	    metrics_elapsed_ms(&c->linger_start) > CLIENT_LINGER_MAX_MS)
		client_close(c);
}

/* The error answer is sent: say so to the client (end of our side), then discard what it
 * still sends until it stops. */
static void client_linger(struct client_conn *c)
{
	struct timeval idle = { CLIENT_LINGER_IDLE_MS / 1000, (CLIENT_LINGER_IDLE_MS % 1000) * 1000 };
	struct evbuffer *in = bufferevent_get_input(c->bev);

	clock_gettime(CLOCK_MONOTONIC, &c->linger_start);
	if (c->direct)
		(void)shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	c->lingered = evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	bufferevent_setcb(c->bev, client_linger_cb, NULL, client_event_cb, c);
	bufferevent_set_timeouts(c->bev, &idle, NULL);
	bufferevent_disable(c->bev, EV_WRITE);
	bufferevent_enable(c->bev, EV_READ);
}

/* Write callback used once the connection is closing: close (or linger) when all is
 * flushed. */
static void client_flushed_cb(struct bufferevent *bev, void *arg)
{
	struct client_conn *c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	if (c->linger)
		client_linger(c);
	else
		client_close(c);
}

/* Stops reading and closes once what was written has been sent. */
static void client_close_after_flush(struct client_conn *c)
{
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, client_flushed_cb, client_event_cb, c);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		client_flushed_cb(c->bev, c);
	else
		bufferevent_enable(c->bev, EV_WRITE);
}

/* Answers an error that is not tied to a parsed request (bad HTTP, limits) and closes. */
static void client_reject(struct client_conn *c, int status, const char *type, const char *msg)
{
	struct ds_error err;

	ds_error_set(&err, status, type, "%s", msg);
	log_info("conn %lu %s: %d %s", c->id, c->peer, status, msg);
	metrics_inc(&c->worker->metrics.errors_own, 1);
	reply_error(bufferevent_get_output(c->bev), &err, 0, NULL, NULL);
	client_send(c);
	c->linger = 1;
	client_close_after_flush(c);
}

struct evbuffer *client_output(struct client_conn *c)
{
	return bufferevent_get_output(c->bev);
}

unsigned long client_id(const struct client_conn *c)
{
	return c->id;
}

const char *client_peer(const struct client_conn *c)
{
	return c->peer;
}

void client_txn_done(struct client_conn *c, int keep_alive)
{
	c->txn = NULL;
	if (!keep_alive || c->worker->draining) {
		client_close_after_flush(c);
		return;
	}
	set_idle_timeout(c, 1);
	/* A pipelined request may already be waiting. */
	client_process(c);
}

/* Starts the exchange for a complete request (txn.h carries it to its end). */
static void client_dispatch(struct client_conn *c, struct http_msg *req)
{
	c->txn = txn_new(c, c->worker, req);
	if (c->txn == NULL) {
		http_msg_free(req);
		client_reject(c, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		return;
	}
	/* No idle timeout while the upstream works; the upstream has its own. */
	set_idle_timeout(c, 0);
	txn_run(c->txn);
}

/*
 * A client that keeps sending a byte now and then is never idle: the request as a whole must
 * arrive within limits.client_request_timeout_ms of its first byte (slow-loris).  Checked as
 * bytes arrive; a client that goes silent meets the idle timeout instead.
 */
static void client_check_request_time(struct client_conn *c)
{
	int limit = c->worker->gen->cfg->client_request_timeout_ms;
	char msg[160];

	if (!http_parser_in_message(&c->parser))
		return;
	if (!c->receiving) {
		c->receiving = 1;
		clock_gettime(CLOCK_MONOTONIC, &c->request_start);
		return;
	}
	if (metrics_elapsed_ms(&c->request_start) <= limit)
		return;
	snprintf(msg, sizeof(msg), "The request was not completed within %d ms of its first byte "
		 "(limits.client_request_timeout_ms)", limit);
	client_reject(c, 408, DS_ERR_VALIDATION, msg);
}

/* Parses what the input buffer holds and starts the next exchange if a request is complete. */
static void client_process(struct client_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	char msg[160];

	if (c->txn != NULL || c->closing)
		return;
	switch (http_parser_feed_evbuffer(&c->parser, in)) {
	case HTTP_PARSE_MORE:
		client_check_request_time(c);
		return;
	case HTTP_PARSE_HEADERS:
		if (c->parser.msg != NULL && c->parser.msg->expect_continue) {
			evbuffer_add_printf(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n");
			client_send(c);
		}
		client_check_request_time(c);
		return;
	case HTTP_PARSE_DONE:
		c->receiving = 0;
		client_dispatch(c, http_parser_take(&c->parser));
		return;
	case HTTP_PARSE_TOO_LARGE_HEADER:
		snprintf(msg, sizeof(msg), "The request's header block is larger than %zu bytes "
			 "(limits.max_header_bytes)", c->parser.max_header_bytes);
		client_reject(c, 431, DS_ERR_VALIDATION, msg);
		return;
	case HTTP_PARSE_TOO_LARGE_BODY:
		if (c->parser.max_body_bytes >= DDB_MAX_REQUEST_BYTES) {
			/* DynamoDB's own limit: its own answer, an empty chunked 413. */
			char id[53];
			reply_request_id(id);
			log_info("conn %lu %s: 413 request body over 16 MiB", c->id, c->peer);
			metrics_inc(&c->worker->metrics.errors_own, 1);
			evbuffer_add_printf(bufferevent_get_output(c->bev), "HTTP/1.1 413 Request Entity "
					    "Too Large\r\nx-amzn-RequestId: %s\r\nTransfer-Encoding: "
					    "chunked\r\nConnection: close\r\n\r\n0\r\n\r\n", id);
			client_send(c);
			c->linger = 1;
			client_close_after_flush(c);
			return;
		}
		snprintf(msg, sizeof(msg), "Request body is larger than %zu bytes "
			 "(limits.max_body_bytes); DynamoDB accepts at most 16 MiB",
			 c->parser.max_body_bytes);
		client_reject(c, 413, DS_ERR_TOO_LARGE, msg);
		return;
	case HTTP_PARSE_ERROR:
		if (http_parser_out_of_memory(&c->parser)) {
			/* dynaseal's failure, not the request's: a 500 the SDKs retry */
			client_reject(c, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
			return;
		}
		snprintf(msg, sizeof(msg), "Malformed HTTP request (%s); dynaseal speaks HTTP/1.1 "
			 "to AWS SDKs", http_parser_error(&c->parser));
		client_reject(c, 400, DS_ERR_SERIALIZATION, msg);
		return;
	}
}

static void client_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	client_process(arg);
}

static void client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client_conn *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		/* The TLS handshake of an https listener completed. */
		log_debug("conn %lu %s: TLS established", c->id, c->peer);
		return;
	}
	if (c->closing) {
		/* Closing already (the client stopped sending, went away, or the last bytes could
		 * not be sent): nothing more to answer. */
		client_close(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (http_parser_in_message(&c->parser) && c->txn == NULL) {
			client_reject(c, 408, DS_ERR_VALIDATION,
				      "The request was not completed within limits.client_idle_timeout_ms");
			return;
		}
		log_debug("conn %lu %s: idle timeout", c->id, c->peer);
	} else if (what & BEV_EVENT_EOF) {
		if (c->txn != NULL)
			log_info("conn %lu %s: client closed with op=%s in flight", c->id, c->peer, c->txn->op);
		else if (http_parser_in_message(&c->parser))
			log_info("conn %lu %s: client closed in the middle of a request", c->id, c->peer);
	} else if (what & BEV_EVENT_ERROR) {
		unsigned long e = bufferevent_get_openssl_error(bev);
		if (e != 0) {
			char buf[200];
			ERR_error_string_n(e, buf, sizeof(buf));
			log_info("conn %lu %s: TLS: %s", c->id, c->peer, buf);
		} else {
			log_info("conn %lu %s: %s", c->id, c->peer,
				 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		}
	}
	client_close(c);
}
