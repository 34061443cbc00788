/*
 * Single flight: concurrent misses for one id make one fetch (DESIGN.md "Cache": concurrent
 * misses for one key make one KMS call).  The first caller to join an id becomes the leader
 * and must fetch; later callers join as followers.  Every joiner, the leader included, is a
 * waiter whose callback runs exactly once, when cache_flight_finish delivers the result, or
 * never, if it was cancelled first.  Cancelling a waiter (its client went away) removes only
 * that waiter: the fetch goes on and the others still get the result, even when the leader is
 * the one cancelled.
 *
 * Callbacks may join (a new flight for the same id starts: the finished one is detached
 * before any callback runs), cancel other waiters not yet called, or finish other ids.  One
 * table per event loop; not thread-safe.
 */
#ifndef DS_CACHE_FLIGHT_H
#define DS_CACHE_FLIGHT_H

#include <stddef.h>
#include <stdint.h>

/* What cache_flight_join made of the caller. */
#define CACHE_FLIGHT_FOLLOWER 0   /* a fetch for this id is already running */
#define CACHE_FLIGHT_LEADER 1     /* the caller must fetch, then call cache_flight_finish */

/*
 * A waiter's result: err 0 with the value (valid only during the call; the callee copies what
 * it keeps), or err != 0 (the leader's error code, passed through) with the leader's detail of
 * the error as value (or NULL).
 */
typedef void (*cache_flight_cb)(void *arg, const uint8_t *value, size_t len, int err);

struct cache_flight;
struct cache_flight_waiter;

struct cache_flight *cache_flight_new(void) __attribute__((warn_unused_result));
/* Frees the table and every waiter without calling anyone. */
void cache_flight_free(struct cache_flight *f);

/*
 * Joins the flight for id (1 to CACHE_ID_MAX bytes) with a waiter (cb, arg).  Returns
 * CACHE_FLIGHT_LEADER or CACHE_FLIGHT_FOLLOWER and sets *waiter (the handle for
 * cache_flight_cancel, valid until cb runs), or -1 when id is empty or too long or memory runs
 * out (nobody joined, cb will never run).
 */
int cache_flight_join(struct cache_flight *f, const void *id, size_t id_len, cache_flight_cb cb,
		      void *arg, struct cache_flight_waiter **waiter)
	__attribute__((warn_unused_result));
/*
 * Ends the flight for id: calls every waiter still joined, in join order, with (value, len,
 * err).  Returns how many were called; 0 also when no flight for id exists.
 */
size_t cache_flight_finish(struct cache_flight *f, const void *id, size_t id_len,
			   const uint8_t *value, size_t len, int err);
/* Removes a waiter whose callback has not run yet; its callback will never run. */
void cache_flight_cancel(struct cache_flight *f, struct cache_flight_waiter *waiter);
/* Flights running now (ids with a leader that has not finished). */
size_t cache_flight_count(const struct cache_flight *f);
/* Waiters joined to id's running flight (0 when none). */
size_t cache_flight_waiters(struct cache_flight *f, const void *id, size_t id_len);

#endif
