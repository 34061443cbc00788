#include "cache/cache_redis.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "cache/cache_l1.h"
#include "cache/cache_resp.h"
#include "proxy/base/log.h"

/* The largest bulk reply accepted: a sealed entry is about CACHE_VALUE_MAX + 40 bytes. */
#define REDIS_MAX_BULK 16384

/* Where the link is. */
enum redis_state {
	REDIS_WAITING = 0,      /* no link; the retry timer will connect */
	REDIS_CONNECTING = 1,   /* TCP/TLS under way, or AUTH/SELECT/PING not answered yet */
	REDIS_READY = 2,        /* PING answered: commands are accepted */
};

/* What a queued command was, to know what its reply means. */
enum cmd_kind {
	CMD_GET = 1,
	CMD_SET = 2,
	CMD_AUTH = 3,
	CMD_SELECT = 4,
	CMD_PING = 5,
	CMD_SETNX = 6,
};

/* One command sent and not answered yet. */
struct cache_redis_cmd {
	TAILQ_ENTRY(cache_redis_cmd) link;   /* in the FIFO, send order = reply order */
	struct cache_redis *r;               /* its client */
	enum cmd_kind kind;                  /* how to read its reply */
	cache_redis_get_cb cb;               /* a get's caller; NULL once timed out or cancelled */
	void *arg;                           /* the caller's state */
	struct event *timer;                 /* the command's deadline (GET and SET only) */
};

TAILQ_HEAD(cmd_fifo, cache_redis_cmd);

/* The client. */
struct cache_redis {
	struct event_base *base;             /* the worker's loop */
	struct cache_redis_url url;          /* where and how to connect (holds the password) */
	struct cache_redis_opts opts;        /* tuning with defaults filled in */
	SSL_CTX *ssl_ctx;                    /* rediss:// context, or NULL */
	int own_ssl_ctx;                     /* we made ssl_ctx and free it */
	struct cache_stats *stats;           /* l2_errors and l2_timeouts go here */
	struct cache_stats own_stats;        /* used when the caller passed none */
	enum redis_state state;              /* where the link is */
	struct bufferevent *bev;             /* the link, NULL while waiting */
	struct cmd_fifo cmds;                /* outstanding commands */
	size_t ncmds;                        /* their count */
	struct event *retry_ev;              /* fires to reconnect after a backoff */
	struct event *connect_ev;            /* connect deadline */
	struct event *stall_ev;              /* checks for a server that stopped answering */
	int64_t last_progress_ms;            /* last reply, or when the FIFO became non-empty */
	int backoff_ms;                      /* the next reconnect delay (before jitter) */
	int outage;                          /* 1 once this outage was warned about */
	int back_logged;                     /* 1 once its end was announced */
	int64_t ready_at_ms;                 /* when the link last became ready, 0 if it is not */
	int stable_ms;                       /* up this long ends an outage: a flapping link is
					      * one outage, warned once, with a growing backoff */
	unsigned failures;                   /* failed attempts in this outage */
	uint64_t rng;                        /* xorshift state for jitter */
	char last_error[200];                /* why the last attempt or link failed, "" while up */
};

static void redis_connect(struct cache_redis *r);

static int64_t now_ms(void)
{
	return cache_clock_monotonic_ms(NULL);
}

static void msec_tv(int ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/* Copies untrusted text from Redis (an error reply) for a log line: printable, at most 120. */
static void printable(const uint8_t *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < cap && o < 120; i++)
		out[o++] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	out[o] = '\0';
}

/* A command and its timer, freed; its callback is not called. */
static void cmd_free(struct cache_redis_cmd *c)
{
	if (c->timer != NULL)
		event_free(c->timer);
	free(c);
}

/*
 * Drops the link: every outstanding get is told ERROR, then a reconnect is scheduled after the
 * backoff.  The first failure of an outage is a warning; later ones are debug lines.
 */
static void link_failed(struct cache_redis *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void link_failed(struct cache_redis *r, const char *fmt, ...)
{
	struct cmd_fifo dead = TAILQ_HEAD_INITIALIZER(dead);
	struct cache_redis_cmd *c;
	char why[300];
	va_list ap;
	int delay;
	double jitter;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(r->last_error, sizeof(r->last_error), "%s", why);
	if (r->bev != NULL)
		bufferevent_free(r->bev);
	r->bev = NULL;
	r->state = REDIS_WAITING;
	event_del(r->connect_ev);
	event_del(r->stall_ev);
	TAILQ_CONCAT(&dead, &r->cmds, link);
	r->ncmds = 0;
	if (r->outage && r->ready_at_ms != 0 && now_ms() - r->ready_at_ms >= r->stable_ms) {
		/* The link had been up long enough: this failure starts a new outage. */
		r->outage = 0;
		r->failures = 0;
		r->backoff_ms = r->opts.backoff_min_ms;
	}
	r->ready_at_ms = 0;
	r->failures++;
	if (!r->outage) {
		r->outage = 1;
		r->back_logged = 0;
		log_warn("cache: Redis at %s:%u: %s; unwrapped keys come from the worker's memory "
			 "and KMS until it is back (retrying every %d to %d ms)", r->url.host,
			 r->url.port, why, r->opts.backoff_min_ms, r->opts.backoff_max_ms);
	} else {
		log_debug("cache: Redis at %s:%u: %s (attempt %u)", r->url.host, r->url.port, why,
			  r->failures);
	}
	/* Jitter of +-20% so that replicas that lost Redis together do not retry together. */
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	jitter = 0.8 + 0.4 * (double)(r->rng >> 11) / (double)(UINT64_C(1) << 53);
	delay = (int)(r->backoff_ms * jitter);
	r->backoff_ms = r->backoff_ms >= r->opts.backoff_max_ms / 2 ? r->opts.backoff_max_ms
		: r->backoff_ms * 2;
	struct timeval tv;
	msec_tv(delay, &tv);
	evtimer_add(r->retry_ev, &tv);
	/* Callbacks last: the client is consistent (waiting, no link) if they call back in. */
	while ((c = TAILQ_FIRST(&dead)) != NULL) {
		TAILQ_REMOVE(&dead, c, link);
		if (c->cb != NULL) {
			cache_stat_bump(&r->stats->l2_errors);
			c->cb(c->arg, CACHE_REDIS_ERROR, NULL, 0);
		}
		cmd_free(c);
	}
}

/* Called when a GET or SET outlives its deadline. */
static void cmd_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cache_redis_cmd *c = arg;
	struct cache_redis *r = c->r;
	cache_redis_get_cb cb = c->cb;

	(void)fd;
	(void)what;
	cache_stat_bump(&r->stats->l2_timeouts);
	if (!evtimer_pending(r->stall_ev, NULL)) {
		struct timeval tv;
		msec_tv(r->opts.stall_ms, &tv);
		evtimer_add(r->stall_ev, &tv);
	}
	/* The command stays in the FIFO: its late reply must still be matched, then ignored. */
	c->cb = NULL;
	if (cb != NULL)
		cb(c->arg, CACHE_REDIS_TIMEOUT, NULL, 0);
}

/* Drops the link when nothing at all was answered for stall_ms. */
static void stall_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cache_redis *r = arg;
	int64_t quiet = now_ms() - r->last_progress_ms;

	(void)fd;
	(void)what;
	if (r->ncmds == 0)
		return;
	if (quiet >= r->opts.stall_ms) {
		link_failed(r, "no reply for %lld ms", (long long)quiet);
		return;
	}
	struct timeval tv;
	msec_tv((int)(r->opts.stall_ms - quiet), &tv);
	evtimer_add(r->stall_ev, &tv);
}

static void connect_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cache_redis *r = arg;

	(void)fd;
	(void)what;
	link_failed(r, "not connected and answering PING within %d ms (connect_timeout_ms)",
		    r->opts.connect_timeout_ms);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	redis_connect(arg);
}

/*
 * Queues one command: formats it (binary-safe), writes it and appends it to the FIFO.  GET and
 * SET get a deadline.  NULL when out of memory (nothing sent).
 */
static struct cache_redis_cmd *redis_send(struct cache_redis *r, enum cmd_kind kind, int argc,
					  const char **argv, const size_t *argvlen)
{
	struct cache_redis_cmd *c = calloc(1, sizeof(*c));
	char *wire = NULL;
	int wire_len = 0;

	if (c == NULL)
		goto cleanup;
	c->r = r;
	c->kind = kind;
	if (kind == CMD_GET || kind == CMD_SET || kind == CMD_SETNX) {
		struct timeval tv;
		c->timer = evtimer_new(r->base, cmd_timeout_cb, c);
		if (c->timer == NULL)
			goto cleanup;
		msec_tv(r->opts.command_timeout_ms, &tv);
		evtimer_add(c->timer, &tv);
	}
	wire_len = redisFormatCommandArgv(&wire, argc, argv, argvlen);
	if (wire_len < 0 || bufferevent_write(r->bev, wire, (size_t)wire_len) != 0)
		goto cleanup;
	/* AUTH carries the password: no copy of it is left in freed memory. */
	OPENSSL_cleanse(wire, (size_t)wire_len);
	redisFreeCommand(wire);
	if (r->ncmds == 0)
		r->last_progress_ms = now_ms();
	TAILQ_INSERT_TAIL(&r->cmds, c, link);
	r->ncmds++;
	return c;
cleanup:
	if (wire != NULL) {
		if (wire_len > 0)
			OPENSSL_cleanse(wire, (size_t)wire_len);
		redisFreeCommand(wire);
	}
	if (c != NULL)
		cmd_free(c);
	return NULL;
}

/* Handles the reply to c (already out of the FIFO).  Returns -1 when the link was dropped. */
static int cmd_reply(struct cache_redis *r, struct cache_redis_cmd *c,
		     const struct cache_resp_reply *rep)
{
	char text[128];

	if (c->kind == CMD_GET) {
		cache_redis_get_cb cb = c->cb;
		if (rep->type != CACHE_RESP_BULK && rep->type != CACHE_RESP_NIL) {
			printable(rep->str, rep->type == CACHE_RESP_INTEGER ? 0 : rep->len, text,
				  sizeof(text));
			cache_stat_bump(&r->stats->l2_errors);
			log_debug("cache: Redis answered GET with reply type %d: %s", (int)rep->type,
				  text);
		}
		if (cb == NULL)
			return 0;
		if (rep->type == CACHE_RESP_BULK)
			cb(c->arg, CACHE_REDIS_HIT, rep->str, rep->len);
		else if (rep->type == CACHE_RESP_NIL)
			cb(c->arg, CACHE_REDIS_MISS, NULL, 0);
		else
			cb(c->arg, CACHE_REDIS_ERROR, NULL, 0);
		return 0;
	}
	if (c->kind == CMD_SETNX) {
		cache_redis_get_cb cb = c->cb;
		/* +OK: stored; nil: the name holds a value already. */
		if (cb == NULL)
			return 0;
		if (rep->type == CACHE_RESP_STATUS)
			cb(c->arg, CACHE_REDIS_HIT, NULL, 0);
		else if (rep->type == CACHE_RESP_NIL)
			cb(c->arg, CACHE_REDIS_MISS, NULL, 0);
		else
			cb(c->arg, CACHE_REDIS_ERROR, NULL, 0);
		return 0;
	}
	if (c->kind == CMD_SET) {
		if (rep->type != CACHE_RESP_STATUS) {
			printable(rep->str, rep->type == CACHE_RESP_INTEGER ? 0 : rep->len, text,
				  sizeof(text));
			cache_stat_bump(&r->stats->l2_errors);
			log_debug("cache: Redis refused SET: %s", text);
		}
		return 0;
	}
	/* Handshake: AUTH and SELECT answer +OK, PING +PONG; anything else ends the attempt. */
	if (rep->type == CACHE_RESP_STATUS &&
	    (c->kind != CMD_PING || (rep->len == 4 && memcmp(rep->str, "PONG", 4) == 0))) {
		if (c->kind == CMD_PING) {
			r->state = REDIS_READY;
			r->last_error[0] = '\0';
			event_del(r->connect_ev);
			r->ready_at_ms = now_ms();
			if (r->outage && !r->back_logged) {
				log_info("cache: Redis at %s:%u is back after %u failed attempts",
					 r->url.host, r->url.port, r->failures);
				r->back_logged = 1;
			}
		}
		return 0;
	}
	printable(rep->str, rep->type == CACHE_RESP_INTEGER ? 0 : rep->len, text, sizeof(text));
	link_failed(r, "%s was refused: %s", c->kind == CMD_AUTH ? "AUTH (check the password in "
		    "cache.redis)" : c->kind == CMD_SELECT ? "SELECT of the database in cache.redis"
		    : "PING", text[0] != '\0' ? text : "an unexpected reply");
	return -1;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct cache_redis *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		size_t len = evbuffer_get_length(in);
		struct cache_resp_reply rep;
		size_t used = 0;
		const char *why = "";
		struct cache_redis_cmd *c;
		const uint8_t *p;
		int rc;

		if (len == 0)
			return;
		p = evbuffer_pullup(in, (ev_ssize_t)len);
		if (p == NULL) {
			link_failed(r, "out of memory reading a reply");
			return;
		}
		rc = cache_resp_parse(p, len, REDIS_MAX_BULK, &rep, &used, &why);
		if (rc == CACHE_RESP_INCOMPLETE)
			return;
		if (rc == CACHE_RESP_BAD) {
			cache_stat_bump(&r->stats->l2_errors);
			link_failed(r, "it sent something that is not a Redis reply (%s)", why);
			return;
		}
		c = TAILQ_FIRST(&r->cmds);
		if (c == NULL) {
			cache_stat_bump(&r->stats->l2_errors);
			link_failed(r, "it sent a reply to no command");
			return;
		}
		TAILQ_REMOVE(&r->cmds, c, link);
		r->ncmds--;
		r->last_progress_ms = now_ms();
		if (c->timer != NULL)
			evtimer_del(c->timer);
		rc = cmd_reply(r, c, &rep);
		cmd_free(c);
		if (rc != 0)
			return;
		evbuffer_drain(in, used);
	}
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct cache_redis *r = arg;
	unsigned long ssl_err;
	char buf[160];

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (r->ssl_ctx != NULL && (ssl_err = bufferevent_get_openssl_error(bev)) != 0) {
		ERR_error_string_n(ssl_err, buf, sizeof(buf));
		ERR_clear_error();
		link_failed(r, "TLS failed: %s", buf);
	} else if (what & BEV_EVENT_EOF) {
		link_failed(r, "the connection was closed by the server");
	} else {
		int err = EVUTIL_SOCKET_ERROR();
		int dns = bufferevent_socket_get_dns_error(bev);
		if (dns != 0)
			link_failed(r, "cannot resolve the host: %s", evutil_gai_strerror(dns));
		else
			link_failed(r, "%s", err != 0 ? evutil_socket_error_to_string(err)
				    : "the connection failed");
	}
}

/* A TLS session for the link, verifying the server's certificate for the URL's host. */
static SSL *redis_ssl_new(struct cache_redis *r)
{
	SSL *ssl = SSL_new(r->ssl_ctx);
	unsigned char addr[16];
	int is_ip;

	if (ssl == NULL)
		return NULL;
	is_ip = inet_pton(AF_INET, r->url.host, addr) == 1 || inet_pton(AF_INET6, r->url.host, addr) == 1;
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), r->url.host) != 1
	    : SSL_set_tlsext_host_name(ssl, r->url.host) != 1 || SSL_set1_host(ssl, r->url.host) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

/* Starts one connection attempt: TCP (and TLS), then AUTH, SELECT and PING pipelined. */
static void redis_connect(struct cache_redis *r)
{
	const int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	struct timeval tv;

	r->state = REDIS_CONNECTING;
	if (r->ssl_ctx != NULL) {
		SSL *ssl = redis_ssl_new(r);
		if (ssl == NULL) {
			log_openssl_errors(LOG_DEBUG, "cache: a TLS session for Redis");
			link_failed(r, "cannot set up a TLS session");
			return;
		}
		r->bev = bufferevent_openssl_socket_new(r->base, -1, ssl,
							BUFFEREVENT_SSL_CONNECTING, opts);
		if (r->bev == NULL)
			SSL_free(ssl);
	} else {
		r->bev = bufferevent_socket_new(r->base, -1, opts);
	}
	if (r->bev == NULL) {
		link_failed(r, "out of memory for a connection");
		return;
	}
	bufferevent_setcb(r->bev, read_cb, NULL, event_cb, r);
	bufferevent_enable(r->bev, EV_READ | EV_WRITE);
	msec_tv(r->opts.connect_timeout_ms, &tv);
	evtimer_add(r->connect_ev, &tv);
	if (bufferevent_socket_connect_hostname(r->bev, r->opts.dns, AF_UNSPEC, r->url.host,
						r->url.port) != 0) {
		link_failed(r, "cannot start connecting");
		return;
	}
	/* Written now, sent once connected; the replies are read in this order. */
	if (r->url.password[0] != '\0') {
		/* AUTH PASSWORD for the default user, AUTH USER PASSWORD for an ACL user. */
		const char *argv[3];
		size_t lens[3];
		int argc = 0;
		argv[argc] = "AUTH";
		lens[argc++] = 4;
		if (r->url.user[0] != '\0') {
			argv[argc] = r->url.user;
			lens[argc++] = strlen(r->url.user);
		}
		argv[argc] = r->url.password;
		lens[argc++] = strlen(r->url.password);
		if (redis_send(r, CMD_AUTH, argc, argv, lens) == NULL)
			goto cleanup;
	}
	if (r->url.db != 0) {
		char db[8];
		int n = snprintf(db, sizeof(db), "%d", r->url.db);
		const char *argv[2] = { "SELECT", db };
		size_t lens[2] = { 6, (size_t)n };
		if (redis_send(r, CMD_SELECT, 2, argv, lens) == NULL)
			goto cleanup;
	}
	const char *ping[1] = { "PING" };
	size_t ping_len[1] = { 4 };
	if (redis_send(r, CMD_PING, 1, ping, ping_len) == NULL)
		goto cleanup;
	return;
cleanup:
	link_failed(r, "out of memory for the handshake");
}

struct cache_redis *cache_redis_new(struct event_base *base, const char *url,
				    const struct cache_redis_opts *opts, struct cache_stats *stats)
{
	struct cache_redis *r = calloc(1, sizeof(*r));
	const char *why = "";

	if (r == NULL) {
		log_error("cache.redis: out of memory");
		return NULL;
	}
	if (cache_redis_url_parse(url, &r->url, &why) != 0) {
		log_error("cache.redis: not a Redis URL: %s (the value is not shown: it may hold a "
			  "password)", why);
		goto cleanup;
	}
	if (opts != NULL)
		r->opts = *opts;
	if (r->opts.connect_timeout_ms <= 0)
		r->opts.connect_timeout_ms = 500;
	if (r->opts.command_timeout_ms <= 0)
		r->opts.command_timeout_ms = 100;
	if (r->opts.stall_ms <= 0)
		r->opts.stall_ms = r->opts.command_timeout_ms * 5 > 1000
			? r->opts.command_timeout_ms * 5 : 1000;
	if (r->opts.backoff_min_ms <= 0)
		r->opts.backoff_min_ms = 100;
	if (r->opts.backoff_max_ms < r->opts.backoff_min_ms)
		r->opts.backoff_max_ms = r->opts.backoff_min_ms > 5000 ? r->opts.backoff_min_ms : 5000;
	if (r->opts.max_pending == 0)
		r->opts.max_pending = 1024;
	r->stable_ms = r->opts.backoff_max_ms * 2 > 1000 ? r->opts.backoff_max_ms * 2 : 1000;
	r->base = base;
	r->stats = stats != NULL ? stats : &r->own_stats;
	r->backoff_ms = r->opts.backoff_min_ms;
	TAILQ_INIT(&r->cmds);
	if (RAND_bytes((unsigned char *)&r->rng, sizeof(r->rng)) != 1 || r->rng == 0)
		r->rng = UINT64_C(0x9e3779b97f4a7c15);
	if (r->url.tls) {
		r->ssl_ctx = r->opts.ssl_ctx;
		if (r->ssl_ctx == NULL) {
			r->ssl_ctx = SSL_CTX_new(TLS_client_method());
			r->own_ssl_ctx = 1;
			if (r->ssl_ctx == NULL ||
			    SSL_CTX_set_min_proto_version(r->ssl_ctx, TLS1_2_VERSION) != 1 ||
			    SSL_CTX_set_default_verify_paths(r->ssl_ctx) != 1) {
				log_openssl_errors(LOG_ERROR, "cache.redis: a TLS context for rediss://");
				goto cleanup;
			}
			SSL_CTX_set_verify(r->ssl_ctx, SSL_VERIFY_PEER, NULL);
		}
	}
	r->retry_ev = evtimer_new(base, retry_cb, r);
	r->connect_ev = evtimer_new(base, connect_timeout_cb, r);
	r->stall_ev = evtimer_new(base, stall_cb, r);
	if (r->retry_ev == NULL || r->connect_ev == NULL || r->stall_ev == NULL) {
		log_error("cache.redis: out of memory");
		goto cleanup;
	}
	redis_connect(r);
	return r;
cleanup:
	cache_redis_free(r);
	return NULL;
}

void cache_redis_free(struct cache_redis *r)
{
	struct cache_redis_cmd *c;

	if (r == NULL)
		return;
	if (r->bev != NULL)
		bufferevent_free(r->bev);
	while ((c = TAILQ_FIRST(&r->cmds)) != NULL) {
		TAILQ_REMOVE(&r->cmds, c, link);
		cmd_free(c);
	}
	if (r->retry_ev != NULL)
		event_free(r->retry_ev);
	if (r->connect_ev != NULL)
		event_free(r->connect_ev);
	if (r->stall_ev != NULL)
		event_free(r->stall_ev);
	if (r->own_ssl_ctx)
		SSL_CTX_free(r->ssl_ctx);
	cache_redis_url_wipe(&r->url);
	free(r);
}

/* Sends a command whose answer goes to cb (a GET, a SET NX): PENDING with *cmd set, or DOWN,
 * BUSY or ERROR with nothing sent. */
static enum cache_redis_result send_answered(struct cache_redis *r, enum cmd_kind kind, int argc,
					     const char **argv, const size_t *lens,
					     cache_redis_get_cb cb, void *arg,
					     struct cache_redis_cmd **cmd)
{
	struct cache_redis_cmd *c;

	if (r->state != REDIS_READY)
		return CACHE_REDIS_DOWN;
	if (r->ncmds >= r->opts.max_pending)
		return CACHE_REDIS_BUSY;
	c = redis_send(r, kind, argc, argv, lens);
	if (c == NULL)
		return CACHE_REDIS_ERROR;
	c->cb = cb;
	c->arg = arg;
	*cmd = c;
	return CACHE_REDIS_PENDING;
}

enum cache_redis_result cache_redis_get(struct cache_redis *r, const char *name, size_t name_len,
					cache_redis_get_cb cb, void *arg,
					struct cache_redis_cmd **cmd)
{
	const char *argv[2] = { "GET", name };
	size_t lens[2] = { 3, name_len };

	return send_answered(r, CMD_GET, 2, argv, lens, cb, arg, cmd);
}

void cache_redis_cancel(struct cache_redis *r, struct cache_redis_cmd *cmd)
{
	(void)r;
	if (cmd == NULL)
		return;
	cmd->cb = NULL;
	if (cmd->timer != NULL)
		evtimer_del(cmd->timer);
}

int cache_redis_set(struct cache_redis *r, const char *name, size_t name_len,
		    const uint8_t *value, size_t len, int64_t ttl_ms)
{
	char px[24];
	int n;

	if (r->state != REDIS_READY || r->ncmds >= r->opts.max_pending || ttl_ms <= 0)
		return -1;
	n = snprintf(px, sizeof(px), "%lld", (long long)ttl_ms);
	const char *argv[5] = { "SET", name, (const char *)value, "PX", px };
	size_t lens[5] = { 3, name_len, len, 2, (size_t)n };
	return redis_send(r, CMD_SET, 5, argv, lens) != NULL ? 0 : -1;
}

enum cache_redis_result cache_redis_set_nx(struct cache_redis *r, const char *name, size_t name_len,
					   const uint8_t *value, size_t len, cache_redis_get_cb cb,
					   void *arg, struct cache_redis_cmd **cmd)
{
	const char *argv[4] = { "SET", name, (const char *)value, "NX" };
	size_t lens[4] = { 3, name_len, len, 2 };

	return send_answered(r, CMD_SETNX, 4, argv, lens, cb, arg, cmd);
}

const char *cache_redis_last_error(const struct cache_redis *r)
{
	return r->last_error[0] != '\0' ? r->last_error : NULL;
}

int cache_redis_ready(const struct cache_redis *r)
{
	return r->state == REDIS_READY;
}

size_t cache_redis_pending(const struct cache_redis *r)
{
	return r->ncmds;
}
