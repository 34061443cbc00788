/*
 * The key cache's counters, one set per worker (its cache is the only writer) read by the
 * metrics endpoint from another thread: relaxed atomics, bumped with a load and a store since
 * there is a single writer (no locked read-modify-write on the hot path).
 */
#ifndef DS_CACHE_STATS_H
#define DS_CACHE_STATS_H

#include <stdatomic.h>
#include <stdint.h>

typedef atomic_uint_least64_t cache_counter;

/* What the cache did, since the worker started. */
struct cache_stats {
	cache_counter l1_hits;        /* lookups answered by the worker's own table */
	cache_counter l1_misses;      /* lookups the worker's table could not answer */
	cache_counter l2_hits;        /* Redis answered with an entry that opened */
	cache_counter l2_misses;      /* Redis had no entry, or was down (no command sent) */
	cache_counter l2_errors;      /* Redis answered an error or garbage, or the link broke */
	cache_counter l2_timeouts;    /* a Redis command outlived its deadline */
	cache_counter seal_failures;  /* an L2 entry did not open: tampered, wrong key, wrong name */
	cache_counter evictions;      /* L1 entries pushed out by the count or byte bound */
	cache_counter fetches;        /* fetches started by cache_get_or_fetch (KMS calls made) */
};

/* Adds one; only the owning worker calls this. */
static inline void cache_stat_bump(cache_counter *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* Reads a counter from any thread. */
static inline uint64_t cache_stat_read(const cache_counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

#endif
