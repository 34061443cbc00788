#include "cache/cache_flight.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "cache/cache_hash.h"
#include "cache/cache_l1.h"

/* One waiter of one flight. */
struct cache_flight_waiter {
	TAILQ_ENTRY(cache_flight_waiter) link;   /* in its flight, join order */
	struct flight *flight;                   /* the flight it waits on */
	cache_flight_cb cb;                      /* called once with the result */
	void *arg;                               /* the callback's state */
};

TAILQ_HEAD(waiter_list, cache_flight_waiter);

/* One running fetch and the callers waiting on it. */
struct flight {
	struct flight *chain;                    /* next flight in the same bucket */
	uint64_t hash;                           /* SipHash of the id */
	struct waiter_list waiters;              /* who gets the result, join order */
	size_t id_len;                           /* bytes of id */
	uint8_t id[];                            /* the id */
};

/* The table of running flights. */
struct cache_flight {
	struct flight **buckets;                 /* chains indexed by hash & mask */
	size_t mask;                             /* bucket count - 1 (a power of two) */
	size_t count;                            /* flights in the table */
	struct cache_hash_key hash_key;          /* random, so ids cannot be aimed at one bucket */
};

#define FLIGHT_INITIAL_BUCKETS 64

struct cache_flight *cache_flight_new(void)
{
	struct cache_flight *f = calloc(1, sizeof(*f));

	if (f == NULL)
		goto cleanup;
	f->buckets = calloc(FLIGHT_INITIAL_BUCKETS, sizeof(*f->buckets));
	if (f->buckets == NULL || cache_hash_key_random(&f->hash_key) != 0)
		goto cleanup;
	f->mask = FLIGHT_INITIAL_BUCKETS - 1;
	return f;
cleanup:
	if (f != NULL)
		free(f->buckets);
	free(f);
	return NULL;
}

static void flight_free_one(struct flight *fl)
{
	while (!TAILQ_EMPTY(&fl->waiters)) {
		struct cache_flight_waiter *w = TAILQ_FIRST(&fl->waiters);
		TAILQ_REMOVE(&fl->waiters, w, link);
		free(w);
	}
	free(fl);
}

void cache_flight_free(struct cache_flight *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i <= f->mask; i++) {
		while (f->buckets[i] != NULL) {
			struct flight *fl = f->buckets[i];
			f->buckets[i] = fl->chain;
			flight_free_one(fl);
		}
	}
	free(f->buckets);
	free(f);
}

/* The link pointing at id's flight (*link NULL when there is none). */
static struct flight **flight_link(struct cache_flight *f, const void *id, size_t id_len,
				   uint64_t h)
{
	struct flight **link = &f->buckets[h & f->mask];

	for (; *link != NULL; link = &(*link)->chain) {
		struct flight *fl = *link;
		if (fl->hash == h && fl->id_len == id_len && memcmp(fl->id, id, id_len) == 0)
			break;
	}
	return link;
}

/* Doubles the bucket array when flights outnumber buckets; a failure keeps longer chains. */
static void flight_grow(struct cache_flight *f)
{
	size_t n = (f->mask + 1) * 2;
	struct flight **b;

	if (f->count <= f->mask + 1)
		return;
	b = calloc(n, sizeof(*b));
	if (b == NULL)
		return;
	for (size_t i = 0; i <= f->mask; i++) {
		while (f->buckets[i] != NULL) {
			struct flight *fl = f->buckets[i];
			f->buckets[i] = fl->chain;
			fl->chain = b[fl->hash & (n - 1)];
			b[fl->hash & (n - 1)] = fl;
		}
	}
	free(f->buckets);
	f->buckets = b;
	f->mask = n - 1;
}

int cache_flight_join(struct cache_flight *f, const void *id, size_t id_len, cache_flight_cb cb,
		      void *arg, struct cache_flight_waiter **waiter)
{
	uint64_t h;
	struct flight **link;
	struct flight *fl;
	struct cache_flight_waiter *w = NULL;
	int role = CACHE_FLIGHT_FOLLOWER;

	if (id_len == 0 || id_len > CACHE_ID_MAX)
		return -1;
	h = cache_hash(&f->hash_key, id, id_len);
	link = flight_link(f, id, id_len, h);
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -1;
	fl = *link;
	if (fl == NULL) {
		fl = malloc(sizeof(*fl) + id_len);
		if (fl == NULL) {
			free(w);
			return -1;
		}
		fl->chain = NULL;
		fl->hash = h;
		TAILQ_INIT(&fl->waiters);
		fl->id_len = id_len;
		memcpy(fl->id, id, id_len);
		*link = fl;
		f->count++;
		flight_grow(f);
		role = CACHE_FLIGHT_LEADER;
	}
	w->flight = fl;
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&fl->waiters, w, link);
	*waiter = w;
	return role;
}

size_t cache_flight_finish(struct cache_flight *f, const void *id, size_t id_len,
			   const uint8_t *value, size_t len, int err)
{
	uint64_t h;
	struct flight **link;
	struct flight *fl;
	size_t called = 0;

	if (id_len == 0 || id_len > CACHE_ID_MAX)
		return 0;
	h = cache_hash(&f->hash_key, id, id_len);
	link = flight_link(f, id, id_len, h);
	fl = *link;
	if (fl == NULL)
		return 0;
	/* Out of the table before any callback, so a callback that joins starts a new flight. */
	*link = fl->chain;
	f->count--;
	/* One waiter at a time: a callback may cancel waiters that have not been called yet. */
	while (!TAILQ_EMPTY(&fl->waiters)) {
		struct cache_flight_waiter *w = TAILQ_FIRST(&fl->waiters);
		cache_flight_cb cb = w->cb;
		void *arg = w->arg;

		TAILQ_REMOVE(&fl->waiters, w, link);
		free(w);
		called++;
		cb(arg, value, value != NULL ? len : 0, err);
	}
	free(fl);
	return called;
}

void cache_flight_cancel(struct cache_flight *f, struct cache_flight_waiter *waiter)
{
	(void)f;
	if (waiter == NULL)
		return;
	/* The flight itself stays even with no waiter left: its fetch is still running, and a
	 * caller joining now must follow it rather than start a second fetch. */
	TAILQ_REMOVE(&waiter->flight->waiters, waiter, link);
	free(waiter);
}

size_t cache_flight_count(const struct cache_flight *f)
{
	return f->count;
}

size_t cache_flight_waiters(struct cache_flight *f, const void *id, size_t id_len)
{
	struct flight *fl;
	struct cache_flight_waiter *w;
	size_t n = 0;

	if (id_len == 0 || id_len > CACHE_ID_MAX)
		return 0;
	fl = *flight_link(f, id, id_len, cache_hash(&f->hash_key, id, id_len));
	if (fl == NULL)
		return 0;
	TAILQ_FOREACH(w, &fl->waiters, link)
		n++;
	return n;
}
