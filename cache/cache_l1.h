/*
 * L1: one worker's in-process table of unwrapped keys (DESIGN.md "Cache": LRU + TTL in each
 * worker).  Each entry maps an id (bytes: a branch key id and version, an EDK digest) to a
 * value (the key, up to CACHE_VALUE_MAX bytes) with its own expiry on the monotonic clock.
 * Get and put are O(1): a SipHash-keyed chained table for lookup, an intrusive list for
 * recency.  Bounds on entry count and total bytes push out the least recently used entries.
 *
 * A value is wiped with OPENSSL_cleanse whenever it leaves the table (eviction, expiry,
 * overwrite, removal, free).  A wipe hook sees the wiped buffer just before it is freed, so
 * tests can prove the wipe happened.  Not thread-safe: one table per event loop.
 */
#ifndef DS_CACHE_L1_H
#define DS_CACHE_L1_H

#include <stddef.h>
#include <stdint.h>

#include "cache/cache_stats.h"

/* Largest id and value the cache holds (keys are 32 or 64 bytes; ids a few hundred). */
#define CACHE_ID_MAX 1024
#define CACHE_VALUE_MAX 1024

/* A clock in milliseconds that never goes back; arg is the clock's own state. */
typedef int64_t (*cache_clock_fn)(void *arg);
/* CLOCK_MONOTONIC in milliseconds (arg unused): the default clock. */
int64_t cache_clock_monotonic_ms(void *arg);

/* Why a value left the table, as the wipe hook is told. */
enum cache_l1_drop {
	CACHE_L1_EVICTED = 1,    /* pushed out by the count or byte bound (least recently used) */
	CACHE_L1_EXPIRED = 2,    /* its TTL passed (seen by a get or a sweep) */
	CACHE_L1_REPLACED = 3,   /* a put for the same id overwrote it */
	CACHE_L1_REMOVED = 4,    /* cache_l1_remove */
	CACHE_L1_FREED = 5,      /* cache_l1_free */
};

/* Called with a value's buffer after it was wiped and before it is freed (tests only). */
typedef void (*cache_l1_wipe_cb)(void *arg, const uint8_t *value, size_t len,
				 enum cache_l1_drop why);

struct cache_l1;

/*
 * A table of at most max_entries entries and max_bytes bytes (the sum of id and value
 * lengths).  clock NULL means cache_clock_monotonic_ms.  stats (not owned, may be NULL) gets
 * its evictions counter bumped.  NULL on a bad bound (0, or more than 2^24 entries) or when
 * out of memory.
 */
struct cache_l1 *cache_l1_new(size_t max_entries, size_t max_bytes, cache_clock_fn clock,
			      void *clock_arg, struct cache_stats *stats)
	__attribute__((warn_unused_result));
/* Wipes every value and frees the table; NULL is ignored. */
void cache_l1_free(struct cache_l1 *l1);
/* Installs the wipe hook (NULL removes it). */
void cache_l1_set_wipe_hook(struct cache_l1 *l1, cache_l1_wipe_cb cb, void *arg);

/*
 * Looks id up.  On a live entry copies its value to out (cap bytes, at least CACHE_VALUE_MAX
 * always suffices), sets *len and, when ttl_left_ms is not NULL, the time it has left, marks it
 * most recently used and returns 1.  Returns 0 on a miss (an expired entry is dropped here), or
 * -1 when cap is too small (nothing copied).
 */
int cache_l1_get(struct cache_l1 *l1, const void *id, size_t id_len, uint8_t *out, size_t cap,
		 size_t *len, int64_t *ttl_left_ms) __attribute__((warn_unused_result));
/*
 * Stores a copy of value under id for ttl_ms milliseconds, replacing any entry for id, then
 * evicts least recently used entries until both bounds hold.  ttl_ms <= 0 stores nothing and
 * drops any entry for id.  Returns 0, or -1 when the id or value is over its maximum, the entry
 * alone exceeds max_bytes, or memory runs out (the table is then unchanged but for id's old
 * entry, which is dropped: a stale key is never kept in place of a fresh one).
 */
int cache_l1_put(struct cache_l1 *l1, const void *id, size_t id_len, const uint8_t *value,
		 size_t len, int64_t ttl_ms) __attribute__((warn_unused_result));
/* Drops id's entry; returns 1 if there was one, 0 if not. */
int cache_l1_remove(struct cache_l1 *l1, const void *id, size_t id_len);
/* Drops every expired entry (O(entries)); returns how many. */
size_t cache_l1_sweep(struct cache_l1 *l1);
/* Entries held now (expired ones not yet seen included). */
size_t cache_l1_count(const struct cache_l1 *l1);
/* Bytes held now: the sum of id and value lengths. */
size_t cache_l1_bytes(const struct cache_l1 *l1);

#endif
