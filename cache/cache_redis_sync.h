/*
 * The Redis client (cache_redis.h) run to completion on a private event loop, for what happens
 * before the workers start or outside them: the shared cache key's bootstrap and `dynaseal
 * doctor`.  Same URL parser, AUTH, SELECT, TLS and timeouts as the workers' client, so what
 * start-up or doctor says about cache.redis is what the workers will see.
 */
#ifndef DS_CACHE_REDIS_SYNC_H
#define DS_CACHE_REDIS_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "cache/cache_redis.h"

/* One connection on its own loop. */
struct cache_redis_session {
	struct event_base *base;
	struct cache_redis *r;
	struct cache_stats stats;
	int timeout_ms;           /* per command */
	char where[300];          /* "host:port" for messages */
};

/*
 * Connects to url (ssl_ctx: for rediss://, not owned, may be NULL) and waits until it is ready
 * (AUTH, SELECT and PING answered) or its first attempt fails, at most timeout_ms.  0, or -1
 * with why ("cannot connect to Redis at HOST:PORT: ..."); s is closed on failure.
 */
int cache_redis_session_open(struct cache_redis_session *s, const char *url, SSL_CTX *ssl_ctx,
			     int timeout_ms, char *why, size_t cap) __attribute__((warn_unused_result));
/* GET name: 1 with *value (malloc'd, the caller frees) and *len, 0 when missing, -1 with why. */
int cache_redis_session_get(struct cache_redis_session *s, const char *name, uint8_t **value,
			    size_t *len, char *why, size_t cap) __attribute__((warn_unused_result));
/* SET name value NX: 1 when stored, 0 when name held a value already, -1 with why. */
int cache_redis_session_set_nx(struct cache_redis_session *s, const char *name,
			       const uint8_t *value, size_t len, char *why, size_t cap)
	__attribute__((warn_unused_result));
/* Closes the connection and the loop.  A session never opened or already closed is ignored. */
void cache_redis_session_close(struct cache_redis_session *s);

#endif
