/*
 * The key cache of one worker (DESIGN.md "Cache"): unwrapped keys by id, first in the worker's
 * own table (L1, cache_l1.h), then in Redis (L2, cache_redis.h) shared by every replica with
 * the same TTL, sealed under the cache key (cache_seal.h) so Redis never holds a usable key.
 * Concurrent misses for one id on this worker make one L2 lookup and one fetch (single flight,
 * cache_flight.h).  Any L2 trouble is a miss: the caller goes to KMS, the request never fails.
 *
 * An L2 entry also carries its absolute expiry (wall clock, sealed with the value), so a key
 * filled into L1 from Redis lives only what is left of the TTL: one KMS call per TTL per
 * cluster, and no key outlives the TTL by hopping from one layer to the other.
 *
 * One cache per event loop (worker): no locks.  Callbacks run on that loop; none may free the
 * cache.  The counters are read from other threads with cache_stat_read.
 */
#ifndef DS_CACHE_H
#define DS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "cache/cache_l1.h"
#include "cache/cache_redis.h"
#include "cache/cache_seal.h"
#include "cache/cache_stats.h"

struct event_base;

/* How cache_get and cache_get_or_fetch ended. */
#define CACHE_DONE 0       /* the callback already ran, inside the call */
#define CACHE_PENDING 1    /* the callback will run later (*op is the handle to cancel it) */

/* Building a cache; fields left 0 take the default named beside them. */
struct cache_options {
	size_t max_entries;            /* L1 entries (config cache.max_entries), default 10000 */
	size_t max_bytes;              /* L1 bytes of ids and values, default 1 KiB per entry */
	int ttl_s;                     /* default TTL of what cache_get_or_fetch fetches, 300 */
	const char *redis_url;         /* L2 (config cache.redis); NULL: L1 only */
	const uint8_t *cache_key;      /* 32 bytes sealing L2 (copied, derived at once); required
					* with redis_url */
	struct cache_redis_opts redis; /* L2 tuning (cache_redis.h) */
	cache_clock_fn clock;          /* L1's monotonic clock; NULL: the real one */
	void *clock_arg;               /* the clock's state */
	int sweep_interval_ms;         /* how often expired L1 keys are wiped, default 30000 */
};

struct cache;
struct cache_op;
struct cache_fetch;

/* A plain lookup's answer: value NULL on a miss; value is valid during the call only. */
typedef void (*cache_get_cb)(void *arg, const uint8_t *value, size_t len);
/* A get-or-fetch answer: err 0 with the value (valid during the call), or the fetch's error
 * (err != 0) with the detail the fetch gave cache_fetch_done (valid during the call), or NULL. */
typedef void (*cache_value_cb)(void *arg, const uint8_t *value, size_t len, int err);
/*
 * Fetches id's value on a miss of both layers (a KMS call).  It must end, now or later, with
 * exactly one cache_fetch_done(fetch, ...).  fetch_arg is the one given to cache_get_or_fetch
 * by the leader and must outlive the fetch: a keyring, or the leader's own request when that
 * request never cancels its wait (its answer then comes from this very fetch).
 */
typedef void (*cache_fetch_fn)(void *fetch_arg, const uint8_t *id, size_t id_len,
			       struct cache_fetch *fetch);

/* A cache on base.  NULL when an option is wrong or memory runs out (logged). */
struct cache *cache_new(struct event_base *base, const struct cache_options *opts)
	__attribute__((warn_unused_result));
/*
 * Wipes and frees everything.  Pending callbacks never run; fetches still running are
 * orphaned (their cache_fetch_done only frees them).  NULL is ignored.
 */
void cache_free(struct cache *c);
/* Adds the Redis layer to a cache made without one (the cache key became known after start-up),
 * as cache_new would have with opts->redis_url, cache_key and redis.  0, or -1 (it already has
 * one, or the link could not be set up: the cache goes on in process only). */
int cache_attach_l2(struct cache *c, const char *redis_url, const uint8_t *cache_key,
		    const struct cache_redis_opts *ro) __attribute__((warn_unused_result));
/* The counters (owned by the cache; read them with cache_stat_read from any thread). */
const struct cache_stats *cache_get_stats(const struct cache *c);
/* 1 when Redis is connected, 0 when it is configured but not connected, -1 when not used. */
int cache_l2_ready(const struct cache *c);

/*
 * Looks id (1 to CACHE_ID_MAX bytes) up: an L1 hit calls cb at once (CACHE_DONE); otherwise
 * Redis is asked (CACHE_PENDING, *op set until cb runs) and a hit there also fills L1.  A miss
 * of both layers, or any Redis trouble, calls cb with NULL.  Concurrent lookups of one id make
 * one Redis GET.
 */
int cache_get(struct cache *c, const void *id, size_t id_len, cache_get_cb cb, void *arg,
	      struct cache_op **op);
/*
 * Stores value under id for ttl_s seconds in L1 and, when connected, sealed in L2.  A value
 * over CACHE_VALUE_MAX, or ttl_s <= 0, is not stored.
 */
void cache_put(struct cache *c, const void *id, size_t id_len, const uint8_t *value, size_t len,
	       int ttl_s);
/*
 * L1, then (once per id on this worker) L2, then (once per id) fetch_fn; the fetched value is
 * put in both layers for ttl_s seconds (0: the cache's ttl_s) and handed to every caller
 * waiting on id; a value found in L2 lives in L1 no longer than ttl_s either.  Fetch errors
 * are handed on and not cached.  Returns CACHE_DONE or CACHE_PENDING like cache_get.
 */
int cache_get_or_fetch(struct cache *c, const void *id, size_t id_len, int ttl_s,
		       cache_fetch_fn fetch_fn, void *fetch_arg, cache_value_cb cb, void *arg,
		       struct cache_op **op);
/*
 * Ends a fetch: err 0 with the value (copied), or an error code != 0 handed to the waiters,
 * with value (may be NULL) as the error's detail: handed on as it is, never stored.  fetch is
 * freed.
 */
void cache_fetch_done(struct cache_fetch *fetch, const uint8_t *value, size_t len, int err);
/* Withdraws a pending caller (its client went away): its callback will not run.  The lookup
 * or fetch goes on for the others. */
void cache_cancel(struct cache *c, struct cache_op *op);

#endif
