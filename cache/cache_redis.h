/*
 * L2: an asynchronous Redis client on one worker's event loop, for the shared key cache
 * (DESIGN.md "Cache": L2 Redis shared by every replica; Redis down, slow or flapping costs KMS
 * calls, never a failed request).  It speaks GET name, SET name value PX ttl_ms, and (for the
 * cache key every replica shares, cache_redis_sync.h) SET name value NX.
 *
 * Design.  hiredis 0.14's async context has no timeouts and no TLS, so this client owns its
 * connection: a libevent bufferevent (a plain socket, or an OpenSSL bufferevent for
 * rediss://), hiredis' redisFormatCommandArgv to write binary-safe commands, and a small
 * bounded reply parser of its own (cache_resp.h says why not hiredis' reader).  Commands are
 * pipelined and answered in order, so a FIFO matches each reply to its command.  Over TLS the
 * server's certificate is always verified (SSL_VERIFY_PEER) against the URL's host name or IP
 * address, whatever context the caller passes.
 *
 * Failure policy, every case a miss for the caller:
 * - each command has a deadline (command_timeout_ms): on expiry its caller gets TIMEOUT at
 *   once, and the late reply, when it comes, is read and thrown away;
 * - when no reply at all arrives for stall_ms while commands are outstanding (a stopped or
 *   wedged server), the connection is dropped;
 * - connecting (TCP, TLS, AUTH, SELECT, PING) has its own deadline (connect_timeout_ms);
 * - after any failure the client reconnects after a backoff that doubles from backoff_min_ms
 *   to backoff_max_ms (with jitter, so replicas do not reconnect in step), and returns to the
 *   minimum once connected;
 * - while not connected, a get is answered DOWN at once and a set is dropped: nothing queues;
 * - at most max_pending commands are outstanding; beyond that gets answer BUSY, sets drop;
 * - one warning per outage (when the link first fails) and one notice when it is back; a link
 *   that fails again within stable period (2 * backoff_max_ms, at least 1 s) of coming back is
 *   the same outage (a flapping Redis is warned about once, and its backoff keeps growing);
 *   the per-request story is in the counters (l2_errors, l2_timeouts) and at debug level.
 * Never logged: the password, entry names, values.
 */
#ifndef DS_CACHE_REDIS_H
#define DS_CACHE_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "cache/cache_stats.h"

struct event_base;
struct evdns_base;

/* A parsed cache.redis URL: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], or rediss:// (TLS). */
struct cache_redis_url {
	int tls;                /* 1 for rediss:// */
	char host[256];         /* name or address; an IPv6 address without its brackets */
	uint16_t port;          /* default 6379 */
	char user[128];         /* ACL user name, "" for the default user */
	char password[256];     /* "" for none; a secret: wiped by cache_redis_url_wipe */
	int db;                 /* SELECT after connecting when not 0 */
};

/*
 * Parses url into out.  Returns 0, or -1 with *why saying what is wrong (never quoting the
 * URL, which may hold a password).
 */
int cache_redis_url_parse(const char *url, struct cache_redis_url *out, const char **why)
	__attribute__((warn_unused_result));
void cache_redis_url_wipe(struct cache_redis_url *u);

/* Tuning; a field left 0 takes the default named beside it. */
struct cache_redis_opts {
	int connect_timeout_ms;   /* TCP + TLS + AUTH/SELECT/PING, default 500 */
	int command_timeout_ms;   /* per GET/SET, default 100 */
	int stall_ms;             /* no reply at all for this long drops the link, default
				   * max(1000, 5 * command_timeout_ms) */
	int backoff_min_ms;       /* first reconnect delay, default 100 */
	int backoff_max_ms;       /* largest reconnect delay, default 5000 */
	size_t max_pending;       /* commands outstanding at most, default 1024 */
	SSL_CTX *ssl_ctx;         /* rediss://: client context (not owned; it must verify the
				   * peer); NULL makes one trusting the system's CAs */
	struct evdns_base *dns;   /* resolver for host names; NULL resolves with getaddrinfo */
};

/* What became of a get. */
enum cache_redis_result {
	CACHE_REDIS_PENDING = 0,   /* sent: the callback will tell (return value of get only) */
	CACHE_REDIS_HIT = 1,       /* the entry's bytes */
	CACHE_REDIS_MISS = 2,      /* Redis has no such entry */
	CACHE_REDIS_DOWN = 3,      /* not connected: nothing was sent */
	CACHE_REDIS_BUSY = 4,      /* max_pending commands outstanding: nothing was sent */
	CACHE_REDIS_TIMEOUT = 5,   /* no answer within command_timeout_ms */
	CACHE_REDIS_ERROR = 6,     /* an error reply, a reply of the wrong type, or the link broke */
};

/* A get's answer: value and len only for HIT, valid during the call. */
typedef void (*cache_redis_get_cb)(void *arg, enum cache_redis_result res, const uint8_t *value,
				   size_t len);

struct cache_redis;
struct cache_redis_cmd;

/*
 * A client for url on base, connecting at once in the background.  stats (not owned) gets
 * l2_errors and l2_timeouts.  NULL when the URL does not parse or memory runs out (logged,
 * without the URL).
 */
struct cache_redis *cache_redis_new(struct event_base *base, const char *url,
				    const struct cache_redis_opts *opts, struct cache_stats *stats)
	__attribute__((warn_unused_result));
/* Closes the link and frees everything; no callback runs.  NULL is ignored. */
void cache_redis_free(struct cache_redis *r);

/*
 * GET name.  Returns CACHE_REDIS_PENDING and sets *cmd (the handle for cache_redis_cancel,
 * valid until cb runs): cb will run exactly once, never from inside this call.  Otherwise
 * returns CACHE_REDIS_DOWN or CACHE_REDIS_BUSY (or ERROR when out of memory) and cb never runs.
 */
enum cache_redis_result cache_redis_get(struct cache_redis *r, const char *name, size_t name_len,
					cache_redis_get_cb cb, void *arg,
					struct cache_redis_cmd **cmd)
	__attribute__((warn_unused_result));
/* Drops a pending get's callback (its reply will be read and ignored). */
void cache_redis_cancel(struct cache_redis *r, struct cache_redis_cmd *cmd);
/*
 * SET name value PX ttl_ms, fire and forget.  Returns 0 when sent, -1 when dropped (not
 * connected, too many pending, ttl_ms <= 0, or out of memory).
 */
int cache_redis_set(struct cache_redis *r, const char *name, size_t name_len,
		    const uint8_t *value, size_t len, int64_t ttl_ms);
/*
 * SET name value NX (no expiry), for values every replica must agree on.  Returns and calls
 * back like cache_redis_get, with CACHE_REDIS_HIT when this value was stored and
 * CACHE_REDIS_MISS when name already held one (read it with a get); value is never passed.
 */
enum cache_redis_result cache_redis_set_nx(struct cache_redis *r, const char *name, size_t name_len,
					   const uint8_t *value, size_t len, cache_redis_get_cb cb,
					   void *arg, struct cache_redis_cmd **cmd)
	__attribute__((warn_unused_result));
/* 1 when connected and ready for commands, else 0. */
int cache_redis_ready(const struct cache_redis *r);
/* Why the last connection attempt or link failed (no secret in it), or NULL while none has
 * failed since the link was last ready. */
const char *cache_redis_last_error(const struct cache_redis *r);
/* Commands sent and not yet answered (timed-out ones included). */
size_t cache_redis_pending(const struct cache_redis *r);

#endif
