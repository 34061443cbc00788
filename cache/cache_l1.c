#include "cache/cache_l1.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <openssl/crypto.h>

#include "cache/cache_hash.h"

/* The most entries a table may be sized for (its bucket array is allocated up front). */
#define L1_MAX_ENTRIES_BOUND ((size_t)1 << 24)

/* One cached value with its id, in a single allocation so one wipe covers both. */
struct l1_entry {
	struct l1_entry *chain;            /* next entry in the same bucket */
	TAILQ_ENTRY(l1_entry) lru;         /* recency list: the head is the most recently used */
	uint64_t hash;                     /* SipHash of the id under the table's key */
	int64_t expires_ms;                /* clock value at which the entry stops being served */
	size_t id_len;                     /* bytes of id at data[0] */
	size_t value_len;                  /* bytes of value at data[id_len] */
	uint8_t data[];                    /* id then value */
};

TAILQ_HEAD(l1_lru, l1_entry);

/* The table. */
struct cache_l1 {
	struct l1_entry **buckets;         /* chains, indexed by hash & mask */
	size_t mask;                       /* bucket count - 1 (a power of two) */
	struct l1_lru lru;                 /* every entry, most recently used first */
	size_t count;                      /* entries held */
	size_t bytes;                      /* sum of id_len + value_len */
	size_t max_entries;                /* count bound */
	size_t max_bytes;                  /* byte bound */
	struct cache_hash_key hash_key;    /* random per table, so bucket choice cannot be aimed */
	cache_clock_fn clock;              /* monotonic milliseconds */
	void *clock_arg;                   /* the clock's state */
	struct cache_stats *stats;         /* evictions are counted here */
	struct cache_stats own_stats;      /* used when the caller passed no stats */
	cache_l1_wipe_cb wipe_cb;          /* test hook: sees each wiped value before free */
	void *wipe_arg;                    /* the hook's state */
};

int64_t cache_clock_monotonic_ms(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct cache_l1 *cache_l1_new(size_t max_entries, size_t max_bytes, cache_clock_fn clock,
			      void *clock_arg, struct cache_stats *stats)
{
	struct cache_l1 *l1 = NULL;
	size_t nb = 16;

	if (max_entries == 0 || max_bytes == 0 || max_entries > L1_MAX_ENTRIES_BOUND)
		return NULL;
	/* Load factor at most 1 when full keeps chains about one entry long. */
	while (nb < max_entries)
		nb <<= 1;
	l1 = calloc(1, sizeof(*l1));
	if (l1 == NULL)
		goto cleanup;
	l1->buckets = calloc(nb, sizeof(*l1->buckets));
	if (l1->buckets == NULL)
		goto cleanup;
	if (cache_hash_key_random(&l1->hash_key) != 0)
		goto cleanup;
	l1->mask = nb - 1;
	TAILQ_INIT(&l1->lru);
	l1->max_entries = max_entries;
	l1->max_bytes = max_bytes;
	l1->clock = clock != NULL ? clock : cache_clock_monotonic_ms;
	l1->clock_arg = clock_arg;
	l1->stats = stats != NULL ? stats : &l1->own_stats;
	return l1;
cleanup:
	if (l1 != NULL)
		free(l1->buckets);
	free(l1);
	return NULL;
}

void cache_l1_set_wipe_hook(struct cache_l1 *l1, cache_l1_wipe_cb cb, void *arg)
{
	l1->wipe_cb = cb;
	l1->wipe_arg = arg;
}

/* Finds id's entry (h is its hash), or NULL. */
static struct l1_entry *l1_find(struct cache_l1 *l1, const void *id, size_t id_len, uint64_t h)
{
	for (struct l1_entry *e = l1->buckets[h & l1->mask]; e != NULL; e = e->chain) {
		if (e->hash == h && e->id_len == id_len && memcmp(e->data, id, id_len) == 0)
			return e;
	}
	return NULL;
}

/* Unlinks e from its bucket and the recency list, wipes it and frees it. */
static void l1_drop(struct cache_l1 *l1, struct l1_entry *e, enum cache_l1_drop why)
{
	struct l1_entry **link = &l1->buckets[e->hash & l1->mask];
	size_t total = e->id_len + e->value_len;

	while (*link != e)
		link = &(*link)->chain;
	*link = e->chain;
	TAILQ_REMOVE(&l1->lru, e, lru);
	l1->count--;
	l1->bytes -= total;
	OPENSSL_cleanse(e->data, total);
	if (l1->wipe_cb != NULL)
		l1->wipe_cb(l1->wipe_arg, e->data + e->id_len, e->value_len, why);
	free(e);
}

void cache_l1_free(struct cache_l1 *l1)
{
	if (l1 == NULL)
		return;
	while (!TAILQ_EMPTY(&l1->lru))
		l1_drop(l1, TAILQ_FIRST(&l1->lru), CACHE_L1_FREED);
	free(l1->buckets);
	free(l1);
}

int cache_l1_get(struct cache_l1 *l1, const void *id, size_t id_len, uint8_t *out, size_t cap,
		 size_t *len, int64_t *ttl_left_ms)
{
	uint64_t h = cache_hash(&l1->hash_key, id, id_len);
	struct l1_entry *e = l1_find(l1, id, id_len, h);
	int64_t now;

	if (e == NULL)
		return 0;
	now = l1->clock(l1->clock_arg);
	if (now >= e->expires_ms) {
		l1_drop(l1, e, CACHE_L1_EXPIRED);
		return 0;
	}
	if (e->value_len > cap)
		return -1;
	memcpy(out, e->data + e->id_len, e->value_len);
	*len = e->value_len;
	if (ttl_left_ms != NULL)
		*ttl_left_ms = e->expires_ms - now;
	TAILQ_REMOVE(&l1->lru, e, lru);
	TAILQ_INSERT_HEAD(&l1->lru, e, lru);
	return 1;
}

int cache_l1_put(struct cache_l1 *l1, const void *id, size_t id_len, const uint8_t *value,
		 size_t len, int64_t ttl_ms)
{
	uint64_t h = cache_hash(&l1->hash_key, id, id_len);
	struct l1_entry *old = l1_find(l1, id, id_len, h);
	struct l1_entry *e;
	size_t bucket;

	/* The old value goes first whatever happens next: it must not outlive a newer one. */
	if (old != NULL)
		l1_drop(l1, old, CACHE_L1_REPLACED);
	if (ttl_ms <= 0)
		return 0;
	if (id_len > CACHE_ID_MAX || len > CACHE_VALUE_MAX || id_len + len > l1->max_bytes)
		return -1;
	e = malloc(sizeof(*e) + id_len + len);
	if (e == NULL)
		return -1;
	while (l1->count + 1 > l1->max_entries || l1->bytes + id_len + len > l1->max_bytes) {
		l1_drop(l1, TAILQ_LAST(&l1->lru, l1_lru), CACHE_L1_EVICTED);
		cache_stat_bump(&l1->stats->evictions);
	}
	e->hash = h;
	e->expires_ms = l1->clock(l1->clock_arg) + ttl_ms;
	e->id_len = id_len;
	e->value_len = len;
	memcpy(e->data, id, id_len);
	memcpy(e->data + id_len, value, len);
	bucket = h & l1->mask;
	e->chain = l1->buckets[bucket];
	l1->buckets[bucket] = e;
	TAILQ_INSERT_HEAD(&l1->lru, e, lru);
	l1->count++;
	l1->bytes += id_len + len;
	return 0;
}

int cache_l1_remove(struct cache_l1 *l1, const void *id, size_t id_len)
{
	uint64_t h = cache_hash(&l1->hash_key, id, id_len);
	struct l1_entry *e = l1_find(l1, id, id_len, h);

	if (e == NULL)
		return 0;
	l1_drop(l1, e, CACHE_L1_REMOVED);
	return 1;
}

size_t cache_l1_sweep(struct cache_l1 *l1)
{
	int64_t now = l1->clock(l1->clock_arg);
	struct l1_entry *e = TAILQ_FIRST(&l1->lru);
	size_t n = 0;

	while (e != NULL) {
		struct l1_entry *next = TAILQ_NEXT(e, lru);
		if (now >= e->expires_ms) {
			l1_drop(l1, e, CACHE_L1_EXPIRED);
			n++;
		}
		e = next;
	}
	return n;
}

size_t cache_l1_count(const struct cache_l1 *l1)
{
	return l1->count;
}

size_t cache_l1_bytes(const struct cache_l1 *l1)
{
	return l1->bytes;
}
