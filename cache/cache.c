#include "cache/cache.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "cache/cache_flight.h"
#include "proxy/base/log.h"

/* A lookup flight's "error" when both layers missed (cache_get's waiters see NULL). */
#define LOOKUP_MISS 1
/* Bytes before the value in a sealed L2 plaintext: its expiry, big-endian Unix milliseconds. */
#define L2_EXPIRY_LEN 8

/* A caller waiting for a lookup or a fetch. */
struct cache_op {
	LIST_ENTRY(cache_op) link;           /* in the cache's ops, so cache_free frees it */
	struct cache_flight *flight;         /* the table its waiter is in */
	struct cache_flight_waiter *waiter;  /* its place in the flight */
	cache_get_cb get_cb;                 /* set for cache_get callers */
	cache_value_cb value_cb;             /* set for cache_get_or_fetch callers */
	void *arg;                           /* the caller's state */
	int *done_now;                       /* while the creating call runs: set when answered */
};

/* The leader's work for one id: an L2 GET, then (get-or-fetch only) the caller's fetch. */
struct cache_fetch {
	LIST_ENTRY(cache_fetch) link;        /* in the cache's jobs, while the cache lives */
	struct cache *c;                     /* NULL once the cache is freed: the job is orphaned */
	struct cache_flight *flight;         /* c->lookups or c->fetches */
	struct cache_redis_cmd *cmd;         /* the L2 GET under way, or NULL */
	cache_fetch_fn fetch_fn;             /* NULL for a plain lookup */
	void *fetch_arg;                     /* the fetch function's state */
	int fetching;                        /* fetch_fn runs: waiting for cache_fetch_done */
	int ttl_s;                           /* how long a fetched value is kept */
	char name[CACHE_ENTRY_NAME_LEN + 1]; /* the L2 entry name */
	size_t id_len;                       /* bytes of id */
	uint8_t id[];                        /* the id */
};

LIST_HEAD(job_list, cache_fetch);
LIST_HEAD(op_list, cache_op);

/* One worker's cache. */
struct cache {
	struct event_base *base;             /* the worker's loop */
	struct cache_l1 *l1;                 /* in-process entries */
	struct cache_redis *redis;           /* L2, or NULL */
	struct cache_seal_keys keys;         /* L2 sealing and naming keys (key material) */
	struct cache_flight *lookups;        /* single flight for cache_get's L2 GETs */
	struct cache_flight *fetches;        /* single flight for cache_get_or_fetch */
	struct job_list jobs;                /* leaders' work under way */
	struct op_list ops;                  /* callers waiting */
	struct event *sweep_ev;              /* wipes expired L1 entries periodically */
	int ttl_s;                           /* TTL of fetched values */
	struct cache_stats stats;            /* counters, read by the metrics endpoint */
};

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cache *c = arg;

	(void)fd;
	(void)what;
	cache_l1_sweep(c->l1);
}

struct cache *cache_new(struct event_base *base, const struct cache_options *opts)
{
	struct cache *c = calloc(1, sizeof(*c));
	size_t entries = opts->max_entries != 0 ? opts->max_entries : 10000;
	size_t bytes = opts->max_bytes != 0 ? opts->max_bytes : entries * 1024;
	int sweep_ms = opts->sweep_interval_ms > 0 ? opts->sweep_interval_ms : 30000;
	struct timeval tv = { sweep_ms / 1000, (sweep_ms % 1000) * 1000 };

	if (c == NULL) {
		log_error("cache: out of memory");
		return NULL;
	}
	c->base = base;
	c->ttl_s = opts->ttl_s > 0 ? opts->ttl_s : 300;
	LIST_INIT(&c->jobs);
	LIST_INIT(&c->ops);
	c->l1 = cache_l1_new(entries, bytes, opts->clock, opts->clock_arg, &c->stats);
	if (c->l1 == NULL) {
		log_error("cache: cannot make a table of %zu entries and %zu bytes", entries, bytes);
		goto cleanup;
	}
	c->lookups = cache_flight_new();
	c->fetches = cache_flight_new();
	c->sweep_ev = event_new(base, -1, EV_PERSIST, sweep_cb, c);
	if (c->lookups == NULL || c->fetches == NULL || c->sweep_ev == NULL) {
		log_error("cache: out of memory");
		goto cleanup;
	}
	event_add(c->sweep_ev, &tv);
	if (opts->redis_url != NULL &&
	    cache_attach_l2(c, opts->redis_url, opts->cache_key, &opts->redis) != 0)
		goto cleanup;
	return c;
cleanup:
	cache_free(c);
	return NULL;
}

int cache_attach_l2(struct cache *c, const char *redis_url, const uint8_t *cache_key,
		    const struct cache_redis_opts *ro)
{
	if (c->redis != NULL)
		return -1;
	if (cache_key == NULL) {
		log_error("cache.redis: a cache key is needed to seal Redis entries");
		return -1;
	}
	if (cache_seal_keys_derive(&c->keys, cache_key) != 0)
		return -1;
	c->redis = cache_redis_new(c->base, redis_url, ro, &c->stats);
	if (c->redis == NULL) {
		cache_seal_keys_wipe(&c->keys);
		return -1;
	}
	return 0;
}

void cache_free(struct cache *c)
{
	struct cache_fetch *j;
	struct cache_op *op;

	if (c == NULL)
		return;
	/* Redis first: no L2 callback may run into the jobs freed below. */
	cache_redis_free(c->redis);
	while ((j = LIST_FIRST(&c->jobs)) != NULL) {
		LIST_REMOVE(j, link);
		if (j->fetching)
			j->c = NULL;   /* its fetch_fn still holds it: cache_fetch_done frees it */
		else
			free(j);
	}
	while ((op = LIST_FIRST(&c->ops)) != NULL) {
		LIST_REMOVE(op, link);
		free(op);
	}
	cache_flight_free(c->lookups);
	cache_flight_free(c->fetches);
	if (c->sweep_ev != NULL)
		event_free(c->sweep_ev);
	cache_l1_free(c->l1);
	cache_seal_keys_wipe(&c->keys);
	free(c);
}

const struct cache_stats *cache_get_stats(const struct cache *c)
{
	return &c->stats;
}

int cache_l2_ready(const struct cache *c)
{
	if (c->redis == NULL)
		return -1;
	return cache_redis_ready(c->redis);
}

/* A flight's answer to one waiter: free the op, then call its caller. */
static void op_answer(void *arg, const uint8_t *value, size_t len, int err)
{
	struct cache_op *op = arg;
	cache_get_cb get_cb = op->get_cb;
	cache_value_cb value_cb = op->value_cb;
	void *cb_arg = op->arg;

	if (op->done_now != NULL)
		*op->done_now = 1;
	LIST_REMOVE(op, link);
	free(op);
	if (get_cb != NULL)
		get_cb(cb_arg, err == 0 ? value : NULL, err == 0 ? len : 0);
	else
		value_cb(cb_arg, value, len, err);
}

/* Ends a leader's job: every waiter gets (value, len, err), then the job is freed. */
static void job_finish(struct cache_fetch *j, const uint8_t *value, size_t len, int err)
{
	LIST_REMOVE(j, link);
	cache_flight_finish(j->flight, j->id, j->id_len, value, len, err);
	free(j);
}

/* Both layers missed: a lookup ends with a miss; a get-or-fetch calls the fetch function. */
static void job_miss(struct cache_fetch *j)
{
	if (j->fetch_fn == NULL) {
		job_finish(j, NULL, 0, LOOKUP_MISS);
		return;
	}
	j->fetching = 1;
	cache_stat_bump(&j->c->stats.fetches);
	j->fetch_fn(j->fetch_arg, j->id, j->id_len, j);
}

/* Redis answered the leader's GET (cache_redis.h). */
static void l2_answer(void *arg, enum cache_redis_result res, const uint8_t *sealed, size_t len)
{
	struct cache_fetch *j = arg;
	struct cache *c = j->c;
	uint8_t plain[L2_EXPIRY_LEN + CACHE_VALUE_MAX];
	size_t plain_len = 0;
	int64_t expires = 0;
	int64_t left;
	int rc;

	j->cmd = NULL;
	if (res != CACHE_REDIS_HIT) {
		/* Timeouts and errors are counted by the client; a nil is a plain miss. */
		if (res == CACHE_REDIS_MISS)
			cache_stat_bump(&c->stats.l2_misses);
		job_miss(j);
		return;
	}
	rc = cache_seal_open(&c->keys, j->name, sealed, len, plain, sizeof(plain), &plain_len);
	if (rc != 0 || plain_len < L2_EXPIRY_LEN) {
		/* Tampered, sealed under another cache key, or moved from another name. */
		cache_stat_bump(&c->stats.seal_failures);
		log_debug("cache: an L2 entry did not open (code %d); counted as a miss", rc);
		OPENSSL_cleanse(plain, sizeof(plain));
		job_miss(j);
		return;
	}
	for (int i = 0; i < L2_EXPIRY_LEN; i++)
		expires = (int64_t)((uint64_t)expires << 8 | plain[i]);
	left = expires - wall_ms();
	if (left <= 0) {
		cache_stat_bump(&c->stats.l2_misses);
		OPENSSL_cleanse(plain, sizeof(plain));
		job_miss(j);
		return;
	}
	cache_stat_bump(&c->stats.l2_hits);
	if (left > (int64_t)j->ttl_s * 1000 && j->fetch_fn != NULL)
		left = (int64_t)j->ttl_s * 1000;
	if (cache_l1_put(c->l1, j->id, j->id_len, plain + L2_EXPIRY_LEN, plain_len - L2_EXPIRY_LEN,
			 left) != 0)
		log_debug("cache: an L2 value could not be kept in L1");
	job_finish(j, plain + L2_EXPIRY_LEN, plain_len - L2_EXPIRY_LEN, 0);
	OPENSSL_cleanse(plain, sizeof(plain));
}

/* The leader's work for id: L2 if connected, else straight to the miss path. */
static int job_start(struct cache *c, struct cache_flight *flight, const void *id, size_t id_len,
		     int ttl_s, cache_fetch_fn fetch_fn, void *fetch_arg)
{
	struct cache_fetch *j = calloc(1, sizeof(*j) + id_len);
	enum cache_redis_result res;

	if (j == NULL)
		return -1;
	j->c = c;
	j->flight = flight;
	j->fetch_fn = fetch_fn;
	j->fetch_arg = fetch_arg;
	j->ttl_s = ttl_s > 0 ? ttl_s : c->ttl_s;
	j->id_len = id_len;
	memcpy(j->id, id, id_len);
	LIST_INSERT_HEAD(&c->jobs, j, link);
	if (c->redis == NULL) {
		job_miss(j);
		return 0;
	}
	if (cache_seal_entry_name(&c->keys, id, id_len, j->name) != 0) {
		cache_stat_bump(&c->stats.l2_errors);
		job_miss(j);
		return 0;
	}
	res = cache_redis_get(c->redis, j->name, CACHE_ENTRY_NAME_LEN, l2_answer, j, &j->cmd);
	if (res != CACHE_REDIS_PENDING) {
		/* Down or saturated: an immediate miss, nothing waits on Redis. */
		if (res == CACHE_REDIS_ERROR)
			cache_stat_bump(&c->stats.l2_errors);
		else
			cache_stat_bump(&c->stats.l2_misses);
		job_miss(j);
	}
	return 0;
}

/* The shared path of cache_get and cache_get_or_fetch after an L1 miss. */
static int cache_wait(struct cache *c, struct cache_flight *flight, const void *id,
		      size_t id_len, int ttl_s, cache_fetch_fn fetch_fn, void *fetch_arg,
		      struct cache_op *op, struct cache_op **op_out)
{
	int done_now = 0;
	int role;

	op->flight = flight;
	op->done_now = &done_now;
	role = cache_flight_join(flight, id, id_len, op_answer, op, &op->waiter);
	if (role < 0) {
		free(op);
		return -1;
	}
	LIST_INSERT_HEAD(&c->ops, op, link);
	if (role == CACHE_FLIGHT_LEADER &&
	    job_start(c, flight, id, id_len, ttl_s, fetch_fn, fetch_arg) != 0) {
		/* No job, so no answer would ever come: end the flight with an error now. */
		cache_flight_finish(flight, id, id_len, NULL, 0, LOOKUP_MISS);
	}
	if (done_now) {
		*op_out = NULL;
		return CACHE_DONE;
	}
	op->done_now = NULL;
	*op_out = op;
	return CACHE_PENDING;
}

/* Answers from L1 when it can; returns 1 when cb (get_cb or value_cb) was called. */
static int l1_answer(struct cache *c, const void *id, size_t id_len, cache_get_cb get_cb,
		     cache_value_cb value_cb, void *arg)
{
	uint8_t value[CACHE_VALUE_MAX];
	size_t len = 0;

	if (cache_l1_get(c->l1, id, id_len, value, sizeof(value), &len, NULL) != 1) {
		cache_stat_bump(&c->stats.l1_misses);
		return 0;
	}
	cache_stat_bump(&c->stats.l1_hits);
	if (get_cb != NULL)
		get_cb(arg, value, len);
	else
		value_cb(arg, value, len, 0);
	OPENSSL_cleanse(value, len);
	return 1;
}

int cache_get(struct cache *c, const void *id, size_t id_len, cache_get_cb cb, void *arg,
	      struct cache_op **op_out)
{
	struct cache_op *op;

	*op_out = NULL;
	if (id_len == 0 || id_len > CACHE_ID_MAX) {
		cb(arg, NULL, 0);
		return CACHE_DONE;
	}
	if (l1_answer(c, id, id_len, cb, NULL, arg))
		return CACHE_DONE;
	op = calloc(1, sizeof(*op));
	if (c->redis == NULL || !cache_redis_ready(c->redis) || op == NULL) {
		/* No L2 to ask: a miss now, without a flight. */
		if (c->redis != NULL && op != NULL)
			cache_stat_bump(&c->stats.l2_misses);
		free(op);
		cb(arg, NULL, 0);
		return CACHE_DONE;
	}
	op->get_cb = cb;
	op->arg = arg;
	if (cache_wait(c, c->lookups, id, id_len, 0, NULL, NULL, op, op_out) < 0) {
		cb(arg, NULL, 0);
		return CACHE_DONE;
	}
	return *op_out != NULL ? CACHE_PENDING : CACHE_DONE;
}

void cache_put(struct cache *c, const void *id, size_t id_len, const uint8_t *value, size_t len,
	       int ttl_s)
{
	uint8_t plain[L2_EXPIRY_LEN + CACHE_VALUE_MAX];
	uint8_t sealed[L2_EXPIRY_LEN + CACHE_VALUE_MAX + CACHE_SEAL_OVERHEAD];
	char name[CACHE_ENTRY_NAME_LEN + 1];
	size_t sealed_len = 0;
	int64_t ttl_ms = (int64_t)ttl_s * 1000;
	uint64_t expires;

	if (id_len == 0 || id_len > CACHE_ID_MAX || len > CACHE_VALUE_MAX || ttl_s <= 0)
		return;
	if (cache_l1_put(c->l1, id, id_len, value, len, ttl_ms) != 0)
		log_debug("cache: a value of %zu bytes could not be kept in L1", len);
	if (c->redis == NULL || !cache_redis_ready(c->redis))
		return;
	expires = (uint64_t)(wall_ms() + ttl_ms);
	for (int i = 0; i < L2_EXPIRY_LEN; i++)
		plain[i] = (uint8_t)(expires >> (56 - 8 * i));
	memcpy(plain + L2_EXPIRY_LEN, value, len);
	if (cache_seal_entry_name(&c->keys, id, id_len, name) != 0 ||
	    cache_seal(&c->keys, name, plain, L2_EXPIRY_LEN + len, sealed, sizeof(sealed),
		       &sealed_len) != 0) {
		cache_stat_bump(&c->stats.l2_errors);
		goto cleanup;
	}
	if (cache_redis_set(c->redis, name, CACHE_ENTRY_NAME_LEN, sealed, sealed_len, ttl_ms) != 0)
		log_debug("cache: an L2 write was dropped (Redis busy or down)");
cleanup:
	OPENSSL_cleanse(plain, sizeof(plain));
}

int cache_get_or_fetch(struct cache *c, const void *id, size_t id_len, int ttl_s,
		       cache_fetch_fn fetch_fn, void *fetch_arg, cache_value_cb cb, void *arg,
		       struct cache_op **op_out)
{
	struct cache_op *op;

	*op_out = NULL;
	if (id_len == 0 || id_len > CACHE_ID_MAX) {
		cb(arg, NULL, 0, -1);
		return CACHE_DONE;
	}
	if (l1_answer(c, id, id_len, NULL, cb, arg))
		return CACHE_DONE;
	op = calloc(1, sizeof(*op));
	if (op == NULL) {
		cb(arg, NULL, 0, -1);
		return CACHE_DONE;
	}
	op->value_cb = cb;
	op->arg = arg;
	if (cache_wait(c, c->fetches, id, id_len, ttl_s, fetch_fn, fetch_arg, op, op_out) < 0) {
		cb(arg, NULL, 0, -1);
		return CACHE_DONE;
	}
	return *op_out != NULL ? CACHE_PENDING : CACHE_DONE;
}

void cache_fetch_done(struct cache_fetch *fetch, const uint8_t *value, size_t len, int err)
{
	struct cache *c = fetch->c;

	if (c == NULL) {
		/* The cache went away while the fetch ran: nobody is waiting. */
		free(fetch);
		return;
	}
	if (err == 0 && (value == NULL || len > CACHE_VALUE_MAX)) {
		err = -1;
		value = NULL;
	}
	if (err == 0)
		cache_put(c, fetch->id, fetch->id_len, value, len, fetch->ttl_s);
	/* An error's detail goes to the waiters as it is and is never stored. */
	job_finish(fetch, value, value != NULL ? len : 0, err);
}

void cache_cancel(struct cache *c, struct cache_op *op)
{
	(void)c;
	if (op == NULL)
		return;
	cache_flight_cancel(op->flight, op->waiter);
	LIST_REMOVE(op, link);
	free(op);
}
