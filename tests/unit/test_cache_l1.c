/* The key cache without Redis: L1 (TTL on a fake clock, LRU order, count and byte bounds,
 * overwrite, wipe on every way out), single flight (one leader, cancellation, errors,
 * re-entrant callbacks), sealing (round trip and every tamper), SipHash known answers and the
 * facade's get-or-fetch with L1 only. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "cache/cache.h"
#include "cache/cache_flight.h"
#include "cache/cache_hash.h"
#include "cache/cache_l1.h"
#include "cache/cache_seal.h"

/* ---- helpers ---------------------------------------------------------------------------- */

struct fake_clock {
	int64_t now;
};

static int64_t fake_now(void *arg)
{
	return ((struct fake_clock *)arg)->now;
}

/* What the wipe hook saw. */
struct wipes {
	int count;
	int nonzero;                  /* a wiped buffer still held a non-zero byte */
	enum cache_l1_drop last_why;
	size_t last_len;
	int by_why[6];
};

static void on_wipe(void *arg, const uint8_t *value, size_t len, enum cache_l1_drop why)
{
	struct wipes *w = arg;

	w->count++;
	w->last_why = why;
	w->last_len = len;
	w->by_why[why]++;
	for (size_t i = 0; i < len; i++)
		if (value[i] != 0)
			w->nonzero = 1;
}

static int l1_has(struct cache_l1 *l1, const char *id, const char *want)
{
	uint8_t out[CACHE_VALUE_MAX];
	size_t len = 0;
	int rc = cache_l1_get(l1, id, strlen(id), out, sizeof(out), &len, NULL);

	if (rc != 1)
		return 0;
	assert_int_equal(len, strlen(want));
	assert_memory_equal(out, want, len);
	return 1;
}

static void put(struct cache_l1 *l1, const char *id, const char *v, int64_t ttl_ms)
{
	assert_int_equal(cache_l1_put(l1, id, strlen(id), (const uint8_t *)v, strlen(v), ttl_ms), 0);
}

/* ---- SipHash ---------------------------------------------------------------------------- */

static void test_siphash_known_answers(void **state)
{
	struct cache_hash_key k = { UINT64_C(0x0706050403020100), UINT64_C(0x0f0e0d0c0b0a0908) };
	uint8_t msg[15];

	(void)state;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	/* The paper's appendix A example, and the first entry of the reference vectors. */
	assert_true(cache_hash(&k, msg, 15) == UINT64_C(0xa129ca6149be45e5));
	assert_true(cache_hash(&k, msg, 0) == UINT64_C(0x726fdb47dd0e0e31));
	assert_true(cache_hash(&k, msg, 8) != cache_hash(&k, msg, 9));
}

/* ---- L1 --------------------------------------------------------------------------------- */

static void test_l1_ttl_expiry(void **state)
{
	struct fake_clock clk = { 1000 };
	struct cache_stats st = { 0 };
	struct wipes w = { 0 };
	struct cache_l1 *l1 = cache_l1_new(10, 4096, fake_now, &clk, &st);
	uint8_t out[64];
	size_t len = 0;
	int64_t left = 0;

	(void)state;
	assert_non_null(l1);
	cache_l1_set_wipe_hook(l1, on_wipe, &w);
	put(l1, "k", "secret-key-bytes", 500);
	clk.now = 1499;
	assert_int_equal(cache_l1_get(l1, "k", 1, out, sizeof(out), &len, &left), 1);
	assert_int_equal(left, 1);
	assert_int_equal(w.count, 0);
	clk.now = 1500;
	assert_int_equal(cache_l1_get(l1, "k", 1, out, sizeof(out), &len, &left), 0);
	assert_int_equal(w.count, 1);
	assert_int_equal(w.last_why, CACHE_L1_EXPIRED);
	assert_int_equal(w.last_len, 16);
	assert_false(w.nonzero);
	assert_int_equal(cache_l1_count(l1), 0);
	assert_int_equal(cache_l1_bytes(l1), 0);
	/* Expiry is not eviction. */
	assert_int_equal(cache_stat_read(&st.evictions), 0);
	/* A sweep drops expired entries nobody asked for, and only those. */
	put(l1, "a", "1", 100);
	put(l1, "b", "2", 300);
	clk.now += 200;
	assert_int_equal(cache_l1_sweep(l1), 1);
	assert_int_equal(w.by_why[CACHE_L1_EXPIRED], 2);
	assert_int_equal(cache_l1_count(l1), 1);
	assert_true(l1_has(l1, "b", "2"));
	cache_l1_free(l1);
}

static void test_l1_lru_order(void **state)
{
	struct fake_clock clk = { 0 };
	struct cache_stats st = { 0 };
	struct wipes w = { 0 };
	struct cache_l1 *l1 = cache_l1_new(3, 4096, fake_now, &clk, &st);

	(void)state;
	assert_non_null(l1);
	cache_l1_set_wipe_hook(l1, on_wipe, &w);
	put(l1, "a", "va", 1000);
	put(l1, "b", "vbb", 1000);
	put(l1, "c", "vc", 1000);
	/* Touching a makes b the least recently used. */
	assert_true(l1_has(l1, "a", "va"));
	put(l1, "d", "vd", 1000);
	assert_int_equal(w.count, 1);
	assert_int_equal(w.last_why, CACHE_L1_EVICTED);
	assert_int_equal(w.last_len, 3);
	assert_false(w.nonzero);
	assert_false(l1_has(l1, "b", "vbb"));
	assert_true(l1_has(l1, "c", "vc"));
	assert_true(l1_has(l1, "a", "va"));
	assert_true(l1_has(l1, "d", "vd"));
	/* Now the order is d, a, c (c touched first): e pushes c out. */
	put(l1, "e", "ve", 1000);
	assert_false(l1_has(l1, "c", "vc"));
	assert_true(l1_has(l1, "d", "vd"));
	assert_int_equal(cache_stat_read(&st.evictions), 2);
	assert_int_equal(cache_l1_count(l1), 3);
	cache_l1_free(l1);
}

static void test_l1_byte_bound(void **state)
{
	struct fake_clock clk = { 0 };
	struct cache_stats st = { 0 };
	struct wipes w = { 0 };
	struct cache_l1 *l1 = cache_l1_new(100, 100, fake_now, &clk, &st);
	char v[31];
	uint8_t big[100];

	(void)state;
	assert_non_null(l1);
	cache_l1_set_wipe_hook(l1, on_wipe, &w);
	memset(v, 'x', 30);
	v[30] = '\0';
	/* Each entry is 2 + 30 = 32 bytes: three fit in 100, the fourth evicts the oldest. */
	put(l1, "k1", v, 1000);
	put(l1, "k2", v, 1000);
	put(l1, "k3", v, 1000);
	assert_int_equal(cache_l1_bytes(l1), 96);
	assert_int_equal(w.count, 0);
	put(l1, "k4", v, 1000);
	assert_int_equal(cache_l1_bytes(l1), 96);
	assert_int_equal(cache_l1_count(l1), 3);
	assert_int_equal(w.by_why[CACHE_L1_EVICTED], 1);
	assert_false(l1_has(l1, "k1", v));
	/* An entry larger than the whole bound is refused and changes nothing. */
	memset(big, 7, sizeof(big));
	assert_int_equal(cache_l1_put(l1, "k5", 2, big, 99, 1000), -1);
	assert_int_equal(cache_l1_count(l1), 3);
	assert_int_equal(cache_stat_read(&st.evictions), 1);
	/* Values over CACHE_VALUE_MAX and ids over CACHE_ID_MAX are refused. */
	uint8_t *huge = calloc(1, CACHE_ID_MAX + 1);
	assert_non_null(huge);
	struct cache_l1 *l1b = cache_l1_new(4, 1 << 20, fake_now, &clk, NULL);
	assert_non_null(l1b);
	assert_int_equal(cache_l1_put(l1b, "x", 1, huge, CACHE_VALUE_MAX + 1, 1000), -1);
	assert_int_equal(cache_l1_put(l1b, huge, CACHE_ID_MAX + 1, big, 1, 1000), -1);
	assert_int_equal(cache_l1_put(l1b, "x", 1, huge, CACHE_VALUE_MAX, 1000), 0);
	free(huge);
	cache_l1_free(l1b);
	/* Bad bounds. */
	assert_null(cache_l1_new(0, 100, NULL, NULL, NULL));
	assert_null(cache_l1_new(10, 0, NULL, NULL, NULL));
	cache_l1_free(l1);
}

static void test_l1_overwrite_and_remove(void **state)
{
	struct fake_clock clk = { 0 };
	struct wipes w = { 0 };
	struct cache_l1 *l1 = cache_l1_new(10, 4096, fake_now, &clk, NULL);
	uint8_t small[2];
	size_t len = 0;

	(void)state;
	assert_non_null(l1);
	cache_l1_set_wipe_hook(l1, on_wipe, &w);
	put(l1, "id", "first-value", 1000);
	put(l1, "id", "second", 5000);
	assert_int_equal(w.count, 1);
	assert_int_equal(w.last_why, CACHE_L1_REPLACED);
	assert_int_equal(w.last_len, 11);
	assert_false(w.nonzero);
	assert_int_equal(cache_l1_count(l1), 1);
	assert_int_equal(cache_l1_bytes(l1), 2 + 6);
	/* The new TTL applies, not the old one. */
	clk.now = 2000;
	assert_true(l1_has(l1, "id", "second"));
	/* A buffer too small gets nothing and keeps the entry. */
	assert_int_equal(cache_l1_get(l1, "id", 2, small, sizeof(small), &len, NULL), -1);
	assert_int_equal(cache_l1_count(l1), 1);
	/* ttl 0 drops the entry. */
	assert_int_equal(cache_l1_put(l1, "id", 2, (const uint8_t *)"x", 1, 0), 0);
	assert_int_equal(cache_l1_count(l1), 0);
	assert_int_equal(w.last_why, CACHE_L1_REPLACED);
	put(l1, "gone", "soon", 1000);
	assert_int_equal(cache_l1_remove(l1, "gone", 4), 1);
	assert_int_equal(cache_l1_remove(l1, "gone", 4), 0);
	assert_int_equal(w.last_why, CACHE_L1_REMOVED);
	/* Ids that share a prefix or differ in length are different entries. */
	put(l1, "ab", "1", 1000);
	put(l1, "abc", "2", 1000);
	assert_true(l1_has(l1, "ab", "1"));
	assert_true(l1_has(l1, "abc", "2"));
	assert_false(l1_has(l1, "a", "1"));
	cache_l1_free(l1);
	assert_int_equal(w.by_why[CACHE_L1_FREED], 2);
	assert_false(w.nonzero);
}

static void test_l1_many_entries(void **state)
{
	struct cache_l1 *l1 = cache_l1_new(1000, 1 << 20, NULL, NULL, NULL);
	char id[16];
	char v[16];

	(void)state;
	assert_non_null(l1);
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof(id), "id-%d", i);
		snprintf(v, sizeof(v), "v-%d", i);
		put(l1, id, v, 60000);
	}
	assert_int_equal(cache_l1_count(l1), 1000);
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof(id), "id-%d", i);
		snprintf(v, sizeof(v), "v-%d", i);
		assert_int_equal(l1_has(l1, id, v), i >= 2000);
	}
	cache_l1_free(l1);
}

/* ---- single flight ---------------------------------------------------------------------- */

struct waiter_rec {
	int called;
	int err;
	char value[32];
	int order;
	struct cache_flight *f;                  /* for re-entrant tests */
	struct cache_flight_waiter *to_cancel;   /* cancelled from inside the callback */
	int rejoin;                              /* join the same id again from the callback */
	int rejoin_role;
	struct cache_flight_waiter *rejoin_w;
};

static int call_seq;

static void on_flight(void *arg, const uint8_t *value, size_t len, int err)
{
	struct waiter_rec *w = arg;

	w->called++;
	w->err = err;
	w->order = ++call_seq;
	if (value != NULL) {
		assert_true(len < sizeof(w->value));
		memcpy(w->value, value, len);
		w->value[len] = '\0';
	} else {
		assert_int_equal(len, 0);
	}
	if (w->to_cancel != NULL)
		cache_flight_cancel(w->f, w->to_cancel);
	if (w->rejoin)
		w->rejoin_role = cache_flight_join(w->f, "id", 2, on_flight, w, &w->rejoin_w);
}

static void test_flight_one_leader(void **state)
{
	struct cache_flight *f = cache_flight_new();
	struct waiter_rec w[5];
	struct cache_flight_waiter *h[5];

	(void)state;
	assert_non_null(f);
	memset(w, 0, sizeof(w));
	call_seq = 0;
	for (int i = 0; i < 5; i++) {
		int role = cache_flight_join(f, "id", 2, on_flight, &w[i], &h[i]);
		assert_int_equal(role, i == 0 ? CACHE_FLIGHT_LEADER : CACHE_FLIGHT_FOLLOWER);
	}
	/* Another id is its own flight. */
	struct waiter_rec other = { 0 };
	struct cache_flight_waiter *oh;
	assert_int_equal(cache_flight_join(f, "id2", 3, on_flight, &other, &oh), CACHE_FLIGHT_LEADER);
	assert_int_equal(cache_flight_count(f), 2);
	assert_int_equal(cache_flight_waiters(f, "id", 2), 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(w[i].called, 0);
	assert_int_equal(cache_flight_finish(f, "id", 2, (const uint8_t *)"value", 5, 0), 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(w[i].called, 1);
		assert_int_equal(w[i].err, 0);
		assert_string_equal(w[i].value, "value");
		assert_int_equal(w[i].order, i + 1);
	}
	assert_int_equal(other.called, 0);
	assert_int_equal(cache_flight_count(f), 1);
	/* Finishing again, or an unknown id, calls nobody. */
	assert_int_equal(cache_flight_finish(f, "id", 2, (const uint8_t *)"value", 5, 0), 0);
	assert_int_equal(cache_flight_finish(f, "nope", 4, NULL, 0, 3), 0);
	/* The next join after a finish leads again. */
	assert_int_equal(cache_flight_join(f, "id", 2, on_flight, &w[0], &h[0]), CACHE_FLIGHT_LEADER);
	/* Empty and oversized ids are refused. */
	assert_int_equal(cache_flight_join(f, "", 0, on_flight, &w[1], &h[1]), -1);
	cache_flight_free(f);
	assert_int_equal(w[0].called, 1);
	assert_int_equal(other.called, 0);
}

static void test_flight_cancel(void **state)
{
	struct cache_flight *f = cache_flight_new();
	struct waiter_rec w[4];
	struct cache_flight_waiter *h[4];

	(void)state;
	assert_non_null(f);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < 4; i++)
		assert_true(cache_flight_join(f, "id", 2, on_flight, &w[i], &h[i]) >= 0);
	/* The leader's client went away, and a follower's: the fetch goes on for the others. */
	cache_flight_cancel(f, h[0]);
	cache_flight_cancel(f, h[2]);
	assert_int_equal(cache_flight_waiters(f, "id", 2), 2);
	/* With everyone gone the flight stays: a new caller must not start a second fetch. */
	cache_flight_cancel(f, h[1]);
	cache_flight_cancel(f, h[3]);
	assert_int_equal(cache_flight_count(f), 1);
	struct waiter_rec late = { 0 };
	struct cache_flight_waiter *lh;
	assert_int_equal(cache_flight_join(f, "id", 2, on_flight, &late, &lh), CACHE_FLIGHT_FOLLOWER);
	assert_int_equal(cache_flight_finish(f, "id", 2, (const uint8_t *)"v", 1, 0), 1);
	for (int i = 0; i < 4; i++)
		assert_int_equal(w[i].called, 0);
	assert_int_equal(late.called, 1);
	assert_string_equal(late.value, "v");
	cache_flight_free(f);
}

static void test_flight_error_and_reentry(void **state)
{
	struct cache_flight *f = cache_flight_new();
	struct waiter_rec w[3];
	struct cache_flight_waiter *h[3];

	(void)state;
	assert_non_null(f);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < 3; i++) {
		w[i].f = f;
		assert_true(cache_flight_join(f, "id", 2, on_flight, &w[i], &h[i]) >= 0);
	}
	/* The first callback cancels the third waiter and joins the id again. */
	w[0].to_cancel = h[2];
	w[0].rejoin = 1;
	/* An error's detail reaches every waiter as it is. */
	assert_int_equal(cache_flight_finish(f, "id", 2, (const uint8_t *)"why", 3, -42), 2);
	assert_int_equal(w[0].called, 1);
	assert_int_equal(w[0].err, -42);
	assert_string_equal(w[0].value, "why");
	assert_string_equal(w[1].value, "why");
	assert_int_equal(w[1].called, 1);
	assert_int_equal(w[1].err, -42);
	assert_int_equal(w[2].called, 0);
	/* The rejoin started a new flight (the finished one was already out of the table). */
	assert_int_equal(w[0].rejoin_role, CACHE_FLIGHT_LEADER);
	assert_int_equal(cache_flight_count(f), 1);
	w[0].rejoin = 0;
	w[0].to_cancel = NULL;
	assert_int_equal(cache_flight_finish(f, "id", 2, (const uint8_t *)"ok", 2, 0), 1);
	assert_int_equal(w[0].called, 2);
	assert_int_equal(w[0].err, 0);
	assert_string_equal(w[0].value, "ok");
	cache_flight_free(f);
}

static void test_flight_many_ids(void **state)
{
	struct cache_flight *f = cache_flight_new();
	static struct waiter_rec w[500];
	struct cache_flight_waiter *h;
	char id[16];

	(void)state;
	assert_non_null(f);
	memset(w, 0, sizeof(w));
	/* Enough flights to make the table grow while they run. */
	for (int i = 0; i < 500; i++) {
		snprintf(id, sizeof(id), "id-%d", i);
		assert_int_equal(cache_flight_join(f, id, strlen(id), on_flight, &w[i], &h),
				 CACHE_FLIGHT_LEADER);
	}
	assert_int_equal(cache_flight_count(f), 500);
	for (int i = 499; i >= 0; i--) {
		snprintf(id, sizeof(id), "id-%d", i);
		assert_int_equal(cache_flight_finish(f, id, strlen(id), (const uint8_t *)id,
						     strlen(id), 0), 1);
		assert_string_equal(w[i].value, id);
	}
	assert_int_equal(cache_flight_count(f), 0);
	cache_flight_free(f);
}

/* ---- sealing ---------------------------------------------------------------------------- */

static void make_keys(struct cache_seal_keys *k, uint8_t seed)
{
	uint8_t ck[CACHE_SEAL_KEY_LEN];

	for (int i = 0; i < CACHE_SEAL_KEY_LEN; i++)
		ck[i] = (uint8_t)(seed + i);
	assert_int_equal(cache_seal_keys_derive(k, ck), 0);
	/* Neither derived key is the cache key, nor each other. */
	assert_memory_not_equal(k->seal_key, ck, 32);
	assert_memory_not_equal(k->name_key, ck, 32);
	assert_memory_not_equal(k->seal_key, k->name_key, 32);
}

static void test_seal_names(void **state)
{
	struct cache_seal_keys k1;
	struct cache_seal_keys k2;
	char n1[CACHE_ENTRY_NAME_LEN + 1];
	char n2[CACHE_ENTRY_NAME_LEN + 1];
	char n3[CACHE_ENTRY_NAME_LEN + 1];
	const char *id = "branch-key-1/version-uuid";

	(void)state;
	make_keys(&k1, 1);
	make_keys(&k2, 2);
	assert_int_equal(cache_seal_entry_name(&k1, id, strlen(id), n1), 0);
	assert_int_equal(strlen(n1), CACHE_ENTRY_NAME_LEN);
	assert_int_equal(strncmp(n1, "dynaseal:v1:", 12), 0);
	for (size_t i = 12; i < CACHE_ENTRY_NAME_LEN; i++)
		assert_non_null(strchr("0123456789abcdef", n1[i]));
	assert_null(strstr(n1, "branch"));
	/* Stable for one key, different for another id or another cache key. */
	assert_int_equal(cache_seal_entry_name(&k1, id, strlen(id), n2), 0);
	assert_string_equal(n1, n2);
	assert_int_equal(cache_seal_entry_name(&k1, id, strlen(id) - 1, n2), 0);
	assert_string_not_equal(n1, n2);
	assert_int_equal(cache_seal_entry_name(&k2, id, strlen(id), n3), 0);
	assert_string_not_equal(n1, n3);
	cache_seal_keys_wipe(&k1);
	for (size_t i = 0; i < sizeof(k1); i++)
		assert_int_equal(((uint8_t *)&k1)[i], 0);
	cache_seal_keys_wipe(&k2);
}

static void test_seal_round_trip_and_tamper(void **state)
{
	struct cache_seal_keys k;
	struct cache_seal_keys other;
	const uint8_t value[32] = "0123456789abcdef0123456789abcdef";
	uint8_t sealed[32 + CACHE_SEAL_OVERHEAD];
	uint8_t sealed2[32 + CACHE_SEAL_OVERHEAD];
	uint8_t bad[32 + CACHE_SEAL_OVERHEAD];
	uint8_t out[64];
	size_t slen = 0;
	size_t slen2 = 0;
	size_t olen = 0;
	char name[CACHE_ENTRY_NAME_LEN + 1];
	char name2[CACHE_ENTRY_NAME_LEN + 1];

	(void)state;
	make_keys(&k, 9);
	make_keys(&other, 10);
	assert_int_equal(cache_seal_entry_name(&k, "a", 1, name), 0);
	assert_int_equal(cache_seal_entry_name(&k, "b", 1, name2), 0);
	assert_int_equal(cache_seal(&k, name, value, sizeof(value), sealed, sizeof(sealed), &slen), 0);
	assert_int_equal(slen, sizeof(value) + CACHE_SEAL_OVERHEAD);
	assert_int_equal(sealed[0], CACHE_SEAL_VERSION);
	/* The ciphertext does not hold the value. */
	assert_null(memmem(sealed, slen, value, 8));
	/* Two seals of one value differ (random nonce) and both open. */
	assert_int_equal(cache_seal(&k, name, value, sizeof(value), sealed2, sizeof(sealed2), &slen2), 0);
	assert_memory_not_equal(sealed, sealed2, slen);
	assert_int_equal(cache_seal_open(&k, name, sealed, slen, out, sizeof(out), &olen), 0);
	assert_int_equal(olen, sizeof(value));
	assert_memory_equal(out, value, sizeof(value));
	assert_int_equal(cache_seal_open(&k, name, sealed2, slen2, out, sizeof(out), &olen), 0);
	/* Every single bit flip anywhere fails: version byte as format, the rest as auth. */
	for (size_t i = 0; i < slen; i++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(bad, sealed, slen);
			bad[i] ^= (uint8_t)(1 << bit);
			int rc = cache_seal_open(&k, name, bad, slen, out, sizeof(out), &olen);
			assert_int_equal(rc, i == 0 ? CACHE_SEAL_ERR_FORMAT : CACHE_SEAL_ERR_AUTH);
		}
	}
	/* Wrong cache key, and an entry moved under another id's name. */
	assert_int_equal(cache_seal_open(&other, name, sealed, slen, out, sizeof(out), &olen),
			 CACHE_SEAL_ERR_AUTH);
	assert_int_equal(cache_seal_open(&k, name2, sealed, slen, out, sizeof(out), &olen),
			 CACHE_SEAL_ERR_AUTH);
	/* On failure, out holds nothing of the value. */
	assert_null(memmem(out, sizeof(out), value, 8));
	/* Every truncation fails. */
	for (size_t n = 0; n < slen; n++) {
		int rc = cache_seal_open(&k, name, sealed, n, out, sizeof(out), &olen);
		assert_int_equal(rc, n < CACHE_SEAL_OVERHEAD ? CACHE_SEAL_ERR_FORMAT : CACHE_SEAL_ERR_AUTH);
	}
	/* Appended bytes fail too. */
	uint8_t longer[32 + CACHE_SEAL_OVERHEAD + 1];
	memcpy(longer, sealed, slen);
	longer[slen] = 0;
	assert_int_equal(cache_seal_open(&k, name, longer, slen + 1, out, sizeof(out), &olen),
			 CACHE_SEAL_ERR_AUTH);
	/* Output space is checked both ways. */
	assert_int_equal(cache_seal_open(&k, name, sealed, slen, out, 31, &olen), CACHE_SEAL_ERR_SPACE);
	assert_int_equal(cache_seal(&k, name, value, sizeof(value), bad, slen - 1, &slen2),
			 CACHE_SEAL_ERR_SPACE);
	/* An empty value seals and opens. */
	assert_int_equal(cache_seal(&k, name, value, 0, bad, sizeof(bad), &slen2), 0);
	assert_int_equal(slen2, CACHE_SEAL_OVERHEAD);
	assert_int_equal(cache_seal_open(&k, name, bad, slen2, out, sizeof(out), &olen), 0);
	assert_int_equal(olen, 0);
	cache_seal_keys_wipe(&k);
	cache_seal_keys_wipe(&other);
}

/* ---- facade, L1 only -------------------------------------------------------------------- */

struct fetcher {
	int calls;
	struct cache_fetch *pending;   /* deferred fetches are completed by the test */
	int sync;                      /* complete at once */
	int sync_err;
};

static void fetch_fn(void *arg, const uint8_t *id, size_t id_len, struct cache_fetch *fetch)
{
	struct fetcher *f = arg;

	(void)id;
	(void)id_len;
	f->calls++;
	if (f->sync) {
		cache_fetch_done(fetch, (const uint8_t *)"sync-key", 8, f->sync_err);
		return;
	}
	f->pending = fetch;
}

struct answer {
	int called;
	int err;
	char value[64];
};

static void on_value(void *arg, const uint8_t *value, size_t len, int err)
{
	struct answer *a = arg;

	a->called++;
	a->err = err;
	a->value[0] = '\0';
	if (value != NULL) {
		memcpy(a->value, value, len);
		a->value[len] = '\0';
	}
}

static void on_get(void *arg, const uint8_t *value, size_t len)
{
	on_value(arg, value, len, value == NULL ? 1 : 0);
}

static void test_facade_get_or_fetch(void **state)
{
	struct event_base *base = event_base_new();
	struct fake_clock clk = { 0 };
	struct cache_options o = { .max_entries = 16, .ttl_s = 60, .clock = fake_now, .clock_arg = &clk };
	struct cache *c;
	struct fetcher fe = { 0 };
	struct answer a[4];
	struct cache_op *op[4];
	const struct cache_stats *st;

	(void)state;
	assert_non_null(base);
	c = cache_new(base, &o);
	assert_non_null(c);
	st = cache_get_stats(c);
	assert_int_equal(cache_l2_ready(c), -1);
	memset(a, 0, sizeof(a));
	/* Four concurrent callers, one fetch. */
	for (int i = 0; i < 4; i++)
		assert_int_equal(cache_get_or_fetch(c, "edk", 3, 0, fetch_fn, &fe, on_value, &a[i], &op[i]),
				 CACHE_PENDING);
	assert_int_equal(fe.calls, 1);
	assert_int_equal(cache_stat_read(&st->fetches), 1);
	assert_int_equal(cache_stat_read(&st->l1_misses), 4);
	/* One caller leaves: the others are answered, it is not. */
	cache_cancel(c, op[2]);
	cache_fetch_done(fe.pending, (const uint8_t *)"data-key", 8, 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(a[i].called, i == 2 ? 0 : 1);
		if (i != 2) {
			assert_int_equal(a[i].err, 0);
			assert_string_equal(a[i].value, "data-key");
		}
	}
	/* Now an L1 hit, answered inside the call. */
	memset(&a[0], 0, sizeof(a[0]));
	assert_int_equal(cache_get_or_fetch(c, "edk", 3, 0, fetch_fn, &fe, on_value, &a[0], &op[0]),
			 CACHE_DONE);
	assert_null(op[0]);
	assert_int_equal(a[0].called, 1);
	assert_string_equal(a[0].value, "data-key");
	assert_int_equal(fe.calls, 1);
	assert_int_equal(cache_stat_read(&st->l1_hits), 1);
	/* cache_get sees it too; after the TTL it is gone and the next caller fetches again. */
	memset(&a[1], 0, sizeof(a[1]));
	assert_int_equal(cache_get(c, "edk", 3, on_get, &a[1], &op[1]), CACHE_DONE);
	assert_string_equal(a[1].value, "data-key");
	clk.now = 60 * 1000;
	memset(&a[1], 0, sizeof(a[1]));
	assert_int_equal(cache_get(c, "edk", 3, on_get, &a[1], &op[1]), CACHE_DONE);
	assert_int_equal(a[1].called, 1);
	assert_int_equal(a[1].err, 1);
	assert_int_equal(cache_get_or_fetch(c, "edk", 3, 0, fetch_fn, &fe, on_value, &a[2], &op[2]),
			 CACHE_PENDING);
	assert_int_equal(fe.calls, 2);
	/* A fetch error reaches every waiter with its detail and is not cached. */
	memset(a, 0, sizeof(a));
	assert_int_equal(cache_get_or_fetch(c, "edk", 3, 0, fetch_fn, &fe, on_value, &a[3], &op[3]),
			 CACHE_PENDING);
	cache_fetch_done(fe.pending, (const uint8_t *)"denied", 6, -13);
	assert_int_equal(a[2].called, 1);
	assert_int_equal(a[2].err, -13);
	assert_string_equal(a[2].value, "denied");
	assert_int_equal(a[3].called, 1);
	assert_int_equal(a[3].err, -13);
	assert_string_equal(a[3].value, "denied");
	memset(&a[1], 0, sizeof(a[1]));
	assert_int_equal(cache_get(c, "edk", 3, on_get, &a[1], &op[1]), CACHE_DONE);
	assert_int_equal(a[1].err, 1);
	/* A fetch that answers at once: CACHE_DONE, no handle, value cached. */
	fe.sync = 1;
	memset(a, 0, sizeof(a));
	assert_int_equal(cache_get_or_fetch(c, "edk", 3, 0, fetch_fn, &fe, on_value, &a[0], &op[0]),
			 CACHE_DONE);
	assert_null(op[0]);
	assert_int_equal(a[0].called, 1);
	assert_string_equal(a[0].value, "sync-key");
	assert_int_equal(fe.calls, 3);
	/* A caller's own TTL (here 600 s, the cache's is 60 s) is what the fetched value lives. */
	memset(a, 0, sizeof(a));
	assert_int_equal(cache_get_or_fetch(c, "long", 4, 600, fetch_fn, &fe, on_value, &a[0], &op[0]),
			 CACHE_DONE);
	assert_int_equal(fe.calls, 4);
	clk.now += 300 * 1000;
	assert_int_equal(cache_get(c, "long", 4, on_get, &a[1], &op[1]), CACHE_DONE);
	assert_string_equal(a[1].value, "sync-key");
	clk.now += 301 * 1000;
	memset(&a[1], 0, sizeof(a[1]));
	assert_int_equal(cache_get(c, "long", 4, on_get, &a[1], &op[1]), CACHE_DONE);
	assert_int_equal(a[1].err, 1);
	/* cache_put then cache_get; a value over the maximum is not stored. */
	cache_put(c, "put-id", 6, (const uint8_t *)"put-value", 9, 10);
	assert_int_equal(cache_get(c, "put-id", 6, on_get, &a[1], &op[1]), CACHE_DONE);
	assert_string_equal(a[1].value, "put-value");
	uint8_t big[CACHE_VALUE_MAX + 1] = { 0 };
	cache_put(c, "big", 3, big, sizeof(big), 10);
	memset(&a[1], 0, sizeof(a[1]));
	assert_int_equal(cache_get(c, "big", 3, on_get, &a[1], &op[1]), CACHE_DONE);
	assert_int_equal(a[1].err, 1);
	/* A fetch still running when the cache is freed is orphaned, then freed by its done. */
	fe.sync = 0;
	assert_int_equal(cache_get_or_fetch(c, "other", 5, 0, fetch_fn, &fe, on_value, &a[2], &op[2]),
			 CACHE_PENDING);
	cache_free(c);
	cache_fetch_done(fe.pending, (const uint8_t *)"late", 4, 0);
	event_base_free(base);
}

static void test_facade_bad_options(void **state)
{
	struct event_base *base = event_base_new();
	struct cache_options o = { .redis_url = "redis://127.0.0.1:1/0" };

	(void)state;
	/* Redis without a cache key would store keys unsealed: refused. */
	assert_null(cache_new(base, &o));
	o.redis_url = "http://127.0.0.1";
	uint8_t key[32] = { 0 };
	o.cache_key = key;
	assert_null(cache_new(base, &o));
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_known_answers),
		cmocka_unit_test(test_l1_ttl_expiry),
		cmocka_unit_test(test_l1_lru_order),
		cmocka_unit_test(test_l1_byte_bound),
		cmocka_unit_test(test_l1_overwrite_and_remove),
		cmocka_unit_test(test_l1_many_entries),
		cmocka_unit_test(test_flight_one_leader),
		cmocka_unit_test(test_flight_cancel),
		cmocka_unit_test(test_flight_error_and_reentry),
		cmocka_unit_test(test_flight_many_ids),
		cmocka_unit_test(test_seal_names),
		cmocka_unit_test(test_seal_round_trip_and_tamper),
		cmocka_unit_test(test_facade_get_or_fetch),
		cmocka_unit_test(test_facade_bad_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
