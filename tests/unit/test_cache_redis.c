/*
 * The L2 cache against a real redis-server (Debian's package) started on a free loopback port
 * for each test: sealed round trips seen raw (no plaintext, no id in Redis), a killed and
 * restarted Redis, a stopped one (SIGSTOP), garbage-answering fake servers, AUTH (default and
 * ACL users) and SELECT.  Also the URL parser and the RESP reply parser, without a server.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cache/cache.h"
#include "cache/cache_redis.h"
#include "cache/cache_redis_sync.h"
#include "cache/cache_resp.h"

#define PLAINTEXT "PLAINTEXT-KEY-0123456789abcdef!!"
#define ID "branch-key-id/7b7c1b6e-version"

static const uint8_t cache_key[32] = "0123456789abcdef0123456789abcde";

/* ---- helpers: clock, loop, servers ------------------------------------------------------ */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs base until done(arg) holds or timeout_ms passes; returns done(arg). */
static int run_until(struct event_base *base, int (*done)(void *), void *arg, int timeout_ms)
{
	int64_t end = mono_ms() + timeout_ms;

	while (!done(arg)) {
		struct timeval tv = { 0, 5000 };
		if (mono_ms() >= end)
			return 0;
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	return 1;
}

/* Runs base for ms milliseconds. */
static void run_for(struct event_base *base, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static int l2_ready(void *arg)
{
	return cache_l2_ready(arg) == 1;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static pid_t redis_start_opt(int port, const char *const *extra, int tls);

/* A redis-server on 127.0.0.1:port with extra arguments (NULL-terminated); waits until it
 * answers. */
static pid_t redis_start(int port, const char *const *extra)
{
	return redis_start_opt(port, extra, 0);
}

/* 1 when something accepts TCP connections on 127.0.0.1:port. */
static int tcp_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* tls: the port is a TLS port (only a TCP connect is waited for). */
static pid_t redis_start_opt(int port, const char *const *extra, int tls)
{
	char port_s[16];
	const char *argv[32];
	int n = 0;
	pid_t pid;

	snprintf(port_s, sizeof(port_s), "%d", port);
	argv[n++] = "redis-server";
	argv[n++] = tls ? "--tls-port" : "--port";
	argv[n++] = port_s;
	if (tls) {
		argv[n++] = "--port";
		argv[n++] = "0";
	}
	argv[n++] = "--bind";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--save";
	argv[n++] = "";
	argv[n++] = "--appendonly";
	argv[n++] = "no";
	argv[n++] = "--dir";
	argv[n++] = "/tmp";
	for (int i = 0; extra != NULL && extra[i] != NULL; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execvp("redis-server", (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; tls && i < 200; i++) {
		int status;
		if (tcp_open(port))
			return pid;
		assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
		usleep(25000);
	}
	for (int i = 0; !tls && i < 200; i++) {
		redisContext *rc = redisConnect("127.0.0.1", port);
		if (rc != NULL && rc->err == 0) {
			redisReply *rep = redisCommand(rc, "PING");
			int ok = rep != NULL;
			if (rep != NULL)
				freeReplyObject(rep);
			redisFree(rc);
			if (ok)
				return pid;
		} else if (rc != NULL) {
			redisFree(rc);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, WNOHANG), 0);   /* it must not have died */
		usleep(25000);
	}
	fail_msg("redis-server on port %d did not start (is the redis-server package installed?)",
		 port);
	return -1;
}

static void redis_stop(pid_t pid)
{
	int status;

	kill(pid, SIGCONT);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* A synchronous hiredis connection for looking at Redis raw, as redis-cli would. */
static redisContext *raw_connect(int port, const char *password, int db)
{
	redisContext *rc = redisConnect("127.0.0.1", port);
	redisReply *rep;

	assert_non_null(rc);
	assert_int_equal(rc->err, 0);
	if (password != NULL) {
		rep = redisCommand(rc, "AUTH %s", password);
		assert_non_null(rep);
		assert_int_equal(rep->type, REDIS_REPLY_STATUS);
		freeReplyObject(rep);
	}
	rep = redisCommand(rc, "SELECT %d", db);
	assert_non_null(rep);
	assert_int_equal(rep->type, REDIS_REPLY_STATUS);
	freeReplyObject(rep);
	return rc;
}

static long long raw_dbsize(redisContext *rc)
{
	redisReply *rep = redisCommand(rc, "DBSIZE");
	long long n;

	assert_non_null(rep);
	assert_int_equal(rep->type, REDIS_REPLY_INTEGER);
	n = rep->integer;
	freeReplyObject(rep);
	return n;
}

/* Waits (polling Redis) until the database holds n keys. */
static int raw_wait_dbsize(struct event_base *base, redisContext *rc, long long n)
{
	for (int i = 0; i < 200; i++) {
		if (raw_dbsize(rc) == n)
			return 1;
		run_for(base, 10);
	}
	return 0;
}

static struct cache *make_cache_stall(struct event_base *base, const char *url,
				      const uint8_t *key, int stall_ms)
{
	struct cache_options o = {
		.max_entries = 100, .ttl_s = 60, .redis_url = url, .cache_key = key,
		.redis = { .connect_timeout_ms = 300, .command_timeout_ms = 100,
			   .backoff_min_ms = 50, .backoff_max_ms = 200, .stall_ms = stall_ms },
	};
	struct cache *c = cache_new(base, &o);

	assert_non_null(c);
	return c;
}

static struct cache *make_cache(struct event_base *base, const char *url, const uint8_t *key)
{
	return make_cache_stall(base, url, key, 400);
}

/* A lookup's answer. */
struct answer {
	int called;
	int hit;
	char value[128];
	int64_t at_ms;
};

static void on_get(void *arg, const uint8_t *value, size_t len)
{
	struct answer *a = arg;

	a->called++;
	a->hit = value != NULL;
	a->at_ms = mono_ms();
	a->value[0] = '\0';
	if (value != NULL) {
		assert_true(len < sizeof(a->value));
		memcpy(a->value, value, len);
		a->value[len] = '\0';
	}
}

static int answered(void *arg)
{
	return ((struct answer *)arg)->called > 0;
}

/* cache_get, run to its answer (at most 2 s); returns 1 for a hit of want. */
static int get_value(struct event_base *base, struct cache *c, const char *id, const char *want,
		     int64_t *took_ms)
{
	struct answer a = { 0 };
	struct cache_op *op = NULL;
	int64_t start = mono_ms();

	(void)cache_get(c, id, strlen(id), on_get, &a, &op);
	assert_true(run_until(base, answered, &a, 2000));
	assert_int_equal(a.called, 1);
	if (took_ms != NULL)
		*took_ms = a.at_ms - start;
	if (a.hit && want != NULL)
		assert_string_equal(a.value, want);
	return a.hit;
}

#define STAT(c, f) cache_stat_read(&cache_get_stats(c)->f)

/* ---- round trip, raw view --------------------------------------------------------------- */

static void test_sealed_round_trip(void **state)
{
	int port = free_port();
	pid_t pid = redis_start(port, NULL);
	struct event_base *base = event_base_new();
	char url[64];
	struct cache *a;
	struct cache *b;
	struct cache *stranger;
	redisContext *raw;
	redisReply *keys;

	(void)state;
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
	a = make_cache(base, url, cache_key);
	b = make_cache(base, url, cache_key);
	assert_true(run_until(base, l2_ready, a, 2000));
	assert_true(run_until(base, l2_ready, b, 2000));
	raw = raw_connect(port, NULL, 0);
	cache_put(a, ID, strlen(ID), (const uint8_t *)PLAINTEXT, strlen(PLAINTEXT), 60);
	cache_put(a, "second-id", 9, (const uint8_t *)"second-plain", 12, 60);
	assert_true(raw_wait_dbsize(base, raw, 2));

	/* What anyone with access to Redis sees: opaque names, opaque values. */
	keys = redisCommand(raw, "KEYS *");
	assert_non_null(keys);
	assert_int_equal(keys->type, REDIS_REPLY_ARRAY);
	assert_int_equal(keys->elements, 2);
	for (size_t i = 0; i < keys->elements; i++) {
		const redisReply *k = keys->element[i];
		assert_int_equal(k->len, CACHE_ENTRY_NAME_LEN);
		assert_memory_equal(k->str, "dynaseal:v1:", 12);
		assert_null(memmem(k->str, k->len, ID, 6));
		assert_null(memmem(k->str, k->len, "second", 6));
		redisReply *v = redisCommand(raw, "GET %b", k->str, k->len);
		assert_non_null(v);
		assert_int_equal(v->type, REDIS_REPLY_STRING);
		assert_null(memmem(v->str, v->len, PLAINTEXT, 8));
		assert_null(memmem(v->str, v->len, "second-plain", 8));
		assert_null(memmem(v->str, v->len, ID, 6));
		assert_int_equal(v->str[0], CACHE_SEAL_VERSION);
		freeReplyObject(v);
		/* Redis expires it with the cache's TTL. */
		redisReply *ttl = redisCommand(raw, "PTTL %b", k->str, k->len);
		assert_non_null(ttl);
		assert_true(ttl->integer > 55000 && ttl->integer <= 60000);
		freeReplyObject(ttl);
	}
	freeReplyObject(keys);

	/* Another replica (empty L1) gets it from Redis, then from its own memory. */
	int64_t took = 0;
	assert_true(get_value(base, b, ID, PLAINTEXT, &took));
	assert_int_equal(STAT(b, l2_hits), 1);
	assert_int_equal(STAT(b, l1_misses), 1);
	assert_true(get_value(base, b, ID, PLAINTEXT, NULL));
	assert_int_equal(STAT(b, l1_hits), 1);
	assert_int_equal(STAT(b, l2_hits), 1);
	/* An id never stored is an L2 miss. */
	assert_false(get_value(base, b, "never", NULL, NULL));
	assert_int_equal(STAT(b, l2_misses), 1);

	/* A replica with another cache key finds nothing (other names) and opens nothing. */
	static const uint8_t other_key[32] = "another cache key, 32 bytes....";
	stranger = make_cache(base, url, other_key);
	assert_true(run_until(base, l2_ready, stranger, 2000));
	assert_false(get_value(base, stranger, ID, NULL, NULL));
	assert_int_equal(STAT(stranger, l2_misses), 1);

	/* An entry copied under another id's name, or garbage, does not open: a counted miss. */
	char name_a[CACHE_ENTRY_NAME_LEN + 1];
	char name_b[CACHE_ENTRY_NAME_LEN + 1];
	char name_c[CACHE_ENTRY_NAME_LEN + 1];
	struct cache_seal_keys sk;
	assert_int_equal(cache_seal_keys_derive(&sk, cache_key), 0);
	assert_int_equal(cache_seal_entry_name(&sk, ID, strlen(ID), name_a), 0);
	assert_int_equal(cache_seal_entry_name(&sk, "victim", 6, name_b), 0);
	assert_int_equal(cache_seal_entry_name(&sk, "garbage", 7, name_c), 0);
	cache_seal_keys_wipe(&sk);
	redisReply *v = redisCommand(raw, "GET %s", name_a);
	assert_non_null(v);
	assert_int_equal(v->type, REDIS_REPLY_STRING);
	redisReply *s = redisCommand(raw, "SET %s %b", name_b, v->str, v->len);
	freeReplyObject(s);
	freeReplyObject(v);
	s = redisCommand(raw, "SET %s %s", name_c, "\x01not a sealed entry at all, just bytes");
	freeReplyObject(s);
	struct cache *fresh = make_cache(base, url, cache_key);
	assert_true(run_until(base, l2_ready, fresh, 2000));
	assert_false(get_value(base, fresh, "victim", NULL, NULL));
	assert_false(get_value(base, fresh, "garbage", NULL, NULL));
	assert_int_equal(STAT(fresh, seal_failures), 2);
	assert_int_equal(STAT(fresh, l2_hits), 0);
	assert_true(get_value(base, fresh, ID, PLAINTEXT, NULL));

	cache_free(fresh);
	cache_free(stranger);
	cache_free(a);
	cache_free(b);
	redisFree(raw);
	event_base_free(base);
	redis_stop(pid);
}

/* ---- get-or-fetch across replicas ------------------------------------------------------- */

struct fetcher {
	int calls;
	struct cache_fetch *pending;
};

static void fetch_fn(void *arg, const uint8_t *id, size_t id_len, struct cache_fetch *fetch)
{
	struct fetcher *f = arg;

	(void)id;
	(void)id_len;
	f->calls++;
	f->pending = fetch;
}

struct value_answer {
	int called;
	int err;
	char value[64];
};

static void on_value(void *arg, const uint8_t *value, size_t len, int err)
{
	struct value_answer *a = arg;

	a->called++;
	a->err = err;
	if (value != NULL) {
		memcpy(a->value, value, len);
		a->value[len] = '\0';
	}
}

static int fetch_started(void *arg)
{
	return ((struct fetcher *)arg)->pending != NULL;
}

static int all_answered(void *arg)
{
	struct value_answer *a = arg;

	for (int i = 0; i < 5; i++)
		if (a[i].called == 0)
			return 0;
	return 1;
}

static void test_get_or_fetch_shared(void **state)
{
	int port = free_port();
	pid_t pid = redis_start(port, NULL);
	struct event_base *base = event_base_new();
	char url[64];
	struct cache *a;
	struct cache *b;
	struct fetcher fe = { 0 };
	struct value_answer ans[5];
	struct cache_op *op;
	redisContext *raw = raw_connect(port, NULL, 0);

	(void)state;
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
	a = make_cache(base, url, cache_key);
	b = make_cache(base, url, cache_key);
	assert_true(run_until(base, l2_ready, a, 2000));
	assert_true(run_until(base, l2_ready, b, 2000));
	memset(ans, 0, sizeof(ans));
	/* Five concurrent misses on one worker: one L2 lookup, then one fetch. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(cache_get_or_fetch(a, "edk-digest", 10, 0, fetch_fn, &fe, on_value,
						    &ans[i], &op), CACHE_PENDING);
	assert_true(run_until(base, fetch_started, &fe, 2000));
	run_for(base, 50);
	assert_int_equal(fe.calls, 1);
	assert_int_equal(STAT(a, l2_misses), 1);
	cache_fetch_done(fe.pending, (const uint8_t *)"unwrapped-data-key", 18, 0);
	assert_true(run_until(base, all_answered, ans, 1000));
	for (int i = 0; i < 5; i++)
		assert_string_equal(ans[i].value, "unwrapped-data-key");
	assert_true(raw_wait_dbsize(base, raw, 1));
	/* The other replica gets it from Redis: no second fetch. */
	memset(ans, 0, sizeof(ans));
	fe.pending = NULL;
	assert_int_equal(cache_get_or_fetch(b, "edk-digest", 10, 0, fetch_fn, &fe, on_value, &ans[0],
					    &op), CACHE_PENDING);
	assert_true(run_until(base, answered, &ans[0], 2000));
	assert_int_equal(ans[0].err, 0);
	assert_string_equal(ans[0].value, "unwrapped-data-key");
	assert_int_equal(fe.calls, 1);
	assert_int_equal(STAT(b, l2_hits), 1);
	assert_int_equal(STAT(b, fetches), 0);
	cache_free(a);
	cache_free(b);
	redisFree(raw);
	event_base_free(base);
	redis_stop(pid);
}

/* ---- Redis killed, then restarted ------------------------------------------------------- */

static void test_redis_killed_and_restarted(void **state)
{
	int port = free_port();
	pid_t pid = redis_start(port, NULL);
	struct event_base *base = event_base_new();
	char url[64];
	struct cache *a;
	struct cache *b;
	int64_t took = 0;

	(void)state;
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
	a = make_cache(base, url, cache_key);
	b = make_cache(base, url, cache_key);
	assert_true(run_until(base, l2_ready, a, 2000));
	assert_true(run_until(base, l2_ready, b, 2000));
	redis_stop(pid);
	/* Right after the kill: a miss, at once or within the command timeout, never a hang. */
	assert_false(get_value(base, b, "k1", NULL, &took));
	assert_true(took <= 100 + 400);   /* slack for a loaded machine */
	run_for(base, 100);
	assert_int_equal(cache_l2_ready(b), 0);
	/* While it is down every lookup is an immediate miss. */
	for (int i = 0; i < 20; i++) {
		assert_false(get_value(base, b, "k1", NULL, &took));
		assert_true(took <= 20);
	}
	/* Puts while down still fill L1 and do not fail. */
	cache_put(a, "k0", 2, (const uint8_t *)"v0", 2, 60);
	assert_true(get_value(base, a, "k0", "v0", NULL));
	/* Back on the same port: both reconnect (backoff is at most 200 ms here). */
	pid = redis_start(port, NULL);
	assert_true(run_until(base, l2_ready, a, 3000));
	assert_true(run_until(base, l2_ready, b, 3000));
	cache_put(a, "k2", 2, (const uint8_t *)"after-restart", 13, 60);
	redisContext *raw = raw_connect(port, NULL, 0);
	assert_true(raw_wait_dbsize(base, raw, 1));
	assert_true(get_value(base, b, "k2", "after-restart", NULL));
	assert_int_equal(STAT(b, l2_hits), 1);
	redisFree(raw);
	cache_free(a);
	cache_free(b);
	event_base_free(base);
	redis_stop(pid);
}

/* ---- a stopped (slow) Redis ------------------------------------------------------------- */

static void test_redis_stopped(void **state)
{
	int port = free_port();
	pid_t pid = redis_start(port, NULL);
	struct event_base *base = event_base_new();
	char url[64];
	struct cache *a;
	struct cache *b;
	redisContext *raw = raw_connect(port, NULL, 0);
	int64_t took = 0;

	(void)state;
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
	a = make_cache(base, url, cache_key);
	/* No reply for 1.5 s drops the link: well after the three timeouts below. */
	b = make_cache_stall(base, url, cache_key, 1500);
	assert_true(run_until(base, l2_ready, a, 2000));
	assert_true(run_until(base, l2_ready, b, 2000));
	cache_put(a, "slow", 4, (const uint8_t *)"slow-value", 10, 60);
	assert_true(raw_wait_dbsize(base, raw, 1));
	kill(pid, SIGSTOP);
	/* Each lookup misses within the command timeout (100 ms) plus scheduling slack. */
	for (int i = 0; i < 3; i++) {
		assert_false(get_value(base, b, "slow", NULL, &took));
		assert_true(took >= 90);
		assert_true(took <= 100 + 400);   /* slack for a loaded machine; no deadline would be 1.5 s */
	}
	assert_int_equal(STAT(b, l2_timeouts), 3);
	assert_int_equal(cache_l2_ready(b), 1);
	/* After stall_ms without any reply the link is dropped: misses become immediate. */
	run_for(base, 1600);
	assert_int_equal(cache_l2_ready(b), 0);
	assert_false(get_value(base, b, "slow", NULL, &took));
	assert_true(took <= 20);
	/* Resumed: the late replies are dropped with the old link, and lookups hit again. */
	kill(pid, SIGCONT);
	assert_true(run_until(base, l2_ready, b, 3000));
	assert_true(get_value(base, b, "slow", "slow-value", NULL));
	assert_int_equal(STAT(b, l2_hits), 1);
	redisFree(raw);
	cache_free(a);
	cache_free(b);
	event_base_free(base);
	redis_stop(pid);
}

/* A pause shorter than the stall: the late reply arrives on the same link and is ignored. */
static void test_late_reply_ignored(void **state)
{
	int port = free_port();
	pid_t pid = redis_start(port, NULL);
	struct event_base *base = event_base_new();
	char url[64];
	struct cache *a;
	struct cache *b;
	redisContext *raw = raw_connect(port, NULL, 0);
	struct answer ans = { 0 };
	struct cache_op *op = NULL;

	(void)state;
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
	a = make_cache(base, url, cache_key);
	/* The stall limit is far off: the late reply comes on the same link. */
	b = make_cache_stall(base, url, cache_key, 5000);
	assert_true(run_until(base, l2_ready, a, 2000));
	assert_true(run_until(base, l2_ready, b, 2000));
	cache_put(a, "late", 4, (const uint8_t *)"late-value", 10, 60);
	assert_true(raw_wait_dbsize(base, raw, 1));
	kill(pid, SIGSTOP);
	assert_int_equal(cache_get(b, "late", 4, on_get, &ans, &op), CACHE_PENDING);
	assert_true(run_until(base, answered, &ans, 1000));
	run_for(base, 50);
	assert_int_equal(ans.called, 1);
	assert_false(ans.hit);
	kill(pid, SIGCONT);
	/* The late hit is read and thrown away: the caller is not called twice, L1 stays empty. */
	run_for(base, 100);
	assert_int_equal(ans.called, 1);
	assert_int_equal(cache_l2_ready(b), 1);
	assert_int_equal(STAT(b, l1_hits), 0);
	assert_true(get_value(base, b, "late", "late-value", NULL));
	assert_int_equal(STAT(b, l2_hits), 1);
	/* A cancelled lookup is never answered. */
	memset(&ans, 0, sizeof(ans));
	assert_int_equal(cache_get(b, "other", 5, on_get, &ans, &op), CACHE_PENDING);
	cache_cancel(b, op);
	run_for(base, 150);
	assert_int_equal(ans.called, 0);
	redisFree(raw);
	cache_free(a);
	cache_free(b);
	event_base_free(base);
	redis_stop(pid);
}

/* ---- fake servers that answer garbage --------------------------------------------------- */

/* How a fake server answers. */
struct fake {
	const char *on_connect;    /* written as soon as a client connects, or NULL */
	const char *on_get;        /* the answer to each GET */
	size_t on_get_len;         /* its length (it may hold NUL bytes) */
	int pong;                  /* answer PING with +PONG */
	int connections;           /* accepted so far */
	struct evbuffer *seen;     /* bytes received, not yet matched to a command */
	struct bufferevent *open[64]; /* server ends still open, freed by fake_close */
};

static void fake_read(struct bufferevent *bev, void *arg)
{
	struct fake *f = arg;
	struct evbuffer_ptr p;

	evbuffer_add_buffer(f->seen, bufferevent_get_input(bev));
	for (;;) {
		size_t len = evbuffer_get_length(f->seen);
		const char *s = (const char *)evbuffer_pullup(f->seen, (ev_ssize_t)len);
		const char *ping = s != NULL ? memmem(s, len, "$4\r\nPING\r\n", 10) : NULL;
		const char *get = s != NULL ? memmem(s, len, "$3\r\nGET\r\n", 9) : NULL;
		if (ping != NULL && (get == NULL || ping < get)) {
			if (f->pong)
				bufferevent_write(bev, "+PONG\r\n", 7);
			evbuffer_drain(f->seen, (size_t)(ping - s) + 10);
		} else if (get != NULL) {
			bufferevent_write(bev, f->on_get, f->on_get_len);
			evbuffer_drain(f->seen, (size_t)(get - s) + 9);
		} else {
			break;
		}
	}
	(void)p;
}

static void fake_event(struct bufferevent *bev, short what, void *arg)
{
	struct fake *f = arg;

	(void)what;
	for (int i = 0; i < 64; i++)
		if (f->open[i] == bev)
			f->open[i] = NULL;
	bufferevent_free(bev);
}

/* Frees the listener and every server end still open. */
static void fake_close(struct fake *f, struct evconnlistener *l)
{
	for (int i = 0; i < 64; i++)
		if (f->open[i] != NULL)
			bufferevent_free(f->open[i]);
	evconnlistener_free(l);
	evbuffer_free(f->seen);
}

static void fake_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			int salen, void *arg)
{
	struct fake *f = arg;
	struct bufferevent *bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
							 BEV_OPT_CLOSE_ON_FREE);

	(void)sa;
	(void)salen;
	f->connections++;
	for (int i = 0; i < 64; i++) {
		if (f->open[i] == NULL) {
			f->open[i] = bev;
			break;
		}
	}
	bufferevent_setcb(bev, fake_read, NULL, fake_event, f);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	if (f->on_connect != NULL)
		bufferevent_write(bev, f->on_connect, strlen(f->on_connect));
}

static struct evconnlistener *fake_listen(struct event_base *base, struct fake *f, int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	struct evconnlistener *l;

	f->seen = evbuffer_new();
	l = evconnlistener_new_bind(base, fake_accept, f, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
				    16, (struct sockaddr *)&a, sizeof(a));
	assert_non_null(l);
	assert_int_equal(getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return l;
}

static int two_connections(void *arg)
{
	return ((struct fake *)arg)->connections >= 2;
}

static void test_garbage_handshake(void **state)
{
	struct event_base *base = event_base_new();
	struct fake f = { .on_connect = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" };
	int port;
	struct evconnlistener *l = fake_listen(base, &f, &port);
	char url[64];
	struct cache *c;
	int64_t took = 0;

	(void)state;
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
	c = make_cache(base, url, cache_key);
	/* It connects, reads garbage, drops the link and tries again later: never ready. */
	assert_true(run_until(base, two_connections, &f, 2000));
	assert_int_equal(cache_l2_ready(c), 0);
	assert_true(STAT(c, l2_errors) >= 1);
	assert_false(get_value(base, c, "x", NULL, &took));
	assert_true(took <= 20);
	cache_free(c);
	fake_close(&f, l);
	event_base_free(base);
}

/* A server that passes the handshake, then answers GET with the given bytes. */
static void garbage_get_case(const char *reply, size_t reply_len, int link_survives)
{
	struct event_base *base = event_base_new();
	struct fake f = { .pong = 1, .on_get = reply, .on_get_len = reply_len };
	int port;
	struct evconnlistener *l = fake_listen(base, &f, &port);
	char url[64];
	struct cache *c;
	int64_t took = 0;

	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
	c = make_cache(base, url, cache_key);
	assert_true(run_until(base, l2_ready, c, 2000));
	assert_false(get_value(base, c, "x", NULL, &took));
	assert_true(took <= 100 + 400);   /* slack for a loaded machine */
	assert_int_equal(STAT(c, l2_hits), 0);
	assert_true(STAT(c, l2_errors) + STAT(c, l2_timeouts) + STAT(c, seal_failures) >= 1);
	/* A dropped link shows as a second connection (after the backoff); a kept one does not. */
	if (link_survives) {
		run_for(base, 300);
		assert_int_equal(f.connections, 1);
		assert_int_equal(cache_l2_ready(c), 1);
	} else {
		assert_true(run_until(base, two_connections, &f, 2000));
	}
	/* And again, after any reconnect: still a miss, still no crash. */
	run_until(base, l2_ready, c, 1000);
	assert_false(get_value(base, c, "y", NULL, NULL));
	cache_free(c);
	fake_close(&f, l);
	event_base_free(base);
}

static void test_garbage_get_replies(void **state)
{
	static const char nul_bytes[] = "\0\0\0\xff\xfe garbage\r\n";

	(void)state;
	/* Protocol garbage: the link is dropped. */
	garbage_get_case("hello world\r\n", 13, 0);
	garbage_get_case(nul_bytes, sizeof(nul_bytes) - 1, 0);
	/* Huge announced lengths are refused without allocating or waiting for them. */
	garbage_get_case("$2000000000\r\n", 13, 0);
	garbage_get_case("*2000000000\r\n", 13, 0);
	/* Well-formed replies of the wrong type, or an error: a miss, the link stays. */
	garbage_get_case(":1\r\n", 4, 1);
	garbage_get_case("-ERR something odd\r\n", 20, 1);
	garbage_get_case("+OK\r\n", 5, 1);
	/* A well-formed bulk string that is not a sealed entry: a seal failure. */
	garbage_get_case("$20\r\n\x01zzzzzzzzzzzzzzzzzzz\r\n", 27, 1);
	/* An incomplete reply that never completes: a timeout. */
	garbage_get_case("$100\r\nabc", 9, 1);
}

/* Counts the lines of path that contain needle. */
static int count_lines(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return n;
}

static void test_flapping_warns_once(void **state)
{
	struct event_base *base = event_base_new();
	struct fake f = { .pong = 1, .on_get = "garbage\r\n", .on_get_len = 9 };
	int port;
	struct evconnlistener *l = fake_listen(base, &f, &port);
	char url[64];
	char path[] = "/tmp/test_cache_redis_log_XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(2);
	struct cache *c;

	(void)state;
	assert_true(fd >= 0 && saved >= 0);
	/* The log goes to stderr: catch it. */
	assert_int_equal(dup2(fd, 2), 2);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
	/* A link must stay up 2 * backoff_max_ms = 6 s to end an outage: far longer than this
	 * test takes, however loaded the machine. */
	struct cache_options o = {
		.max_entries = 100, .ttl_s = 60, .redis_url = url, .cache_key = cache_key,
		.redis = { .command_timeout_ms = 100, .backoff_min_ms = 50, .backoff_max_ms = 3000 },
	};
	c = cache_new(base, &o);
	assert_non_null(c);
	/* Every lookup breaks the link; it comes back after a backoff (50, 100, 200, 400 ms). */
	for (int i = 0; i < 5; i++) {
		assert_true(run_until(base, l2_ready, c, 3000));
		assert_false(get_value(base, c, "x", NULL, NULL));
	}
	/* Requests while it is down are misses and log nothing. */
	for (int i = 0; i < 50; i++)
		assert_false(get_value(base, c, "x", NULL, NULL));
	cache_free(c);
	dup2(saved, 2);
	close(saved);
	close(fd);
	assert_true(f.connections >= 5);
	assert_int_equal(count_lines(path, "warn  cache: Redis"), 1);
	assert_int_equal(count_lines(path, "is back after"), 1);
	unlink(path);
	fake_close(&f, l);
	event_base_free(base);
}

/* ---- AUTH and SELECT -------------------------------------------------------------------- */

static void test_auth_and_select(void **state)
{
	int port = free_port();
	const char *const extra[] = { "--requirepass", "s3cret", NULL };
	pid_t pid = redis_start(port, extra);
	struct event_base *base = event_base_new();
	char url[128];
	struct cache *good;
	struct cache *wrong;
	struct cache *none;
	struct cache *acl;
	redisContext *raw = raw_connect(port, "s3cret", 3);
	redisContext *raw0 = raw_connect(port, "s3cret", 0);

	(void)state;
	snprintf(url, sizeof(url), "redis://:s3cret@127.0.0.1:%d/3", port);
	good = make_cache(base, url, cache_key);
	assert_true(run_until(base, l2_ready, good, 2000));
	cache_put(good, "k", 1, (const uint8_t *)"in-db-3", 7, 60);
	assert_true(raw_wait_dbsize(base, raw, 1));
	assert_int_equal(raw_dbsize(raw0), 0);

	/* A wrong password or none: never ready, lookups are immediate misses. */
	snprintf(url, sizeof(url), "redis://:wrong@127.0.0.1:%d/3", port);
	wrong = make_cache(base, url, cache_key);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/3", port);
	none = make_cache(base, url, cache_key);
	run_for(base, 300);
	assert_int_equal(cache_l2_ready(wrong), 0);
	assert_int_equal(cache_l2_ready(none), 0);
	assert_false(get_value(base, wrong, "k", NULL, NULL));
	assert_false(get_value(base, none, "k", NULL, NULL));

	/* An ACL user (AUTH user password), with a %-escaped password. */
	redisReply *rep = redisCommand(raw, "ACL SETUSER cacheuser on >p@ss/w0rd ~* +@all");
	assert_non_null(rep);
	assert_int_equal(rep->type, REDIS_REPLY_STATUS);
	freeReplyObject(rep);
	snprintf(url, sizeof(url), "redis://cacheuser:p%%40ss%%2Fw0rd@127.0.0.1:%d/3", port);
	acl = make_cache(base, url, cache_key);
	assert_true(run_until(base, l2_ready, acl, 2000));
	assert_true(get_value(base, acl, "k", "in-db-3", NULL));
	assert_int_equal(STAT(acl, l2_hits), 1);

	cache_free(good);
	cache_free(wrong);
	cache_free(none);
	cache_free(acl);
	redisFree(raw);
	redisFree(raw0);
	event_base_free(base);
	redis_stop(pid);
}

/* ---- the synchronous session (cache_redis_sync.h) -------------------------------------- */

static void test_session(void **state)
{
	int port = free_port();
	const char *const extra[] = { "--requirepass", "s3cret", NULL };
	pid_t pid = redis_start(port, extra);
	struct cache_redis_session a, b;
	char url[128], why[300];
	uint8_t *v = NULL;
	size_t len = 0;

	(void)state;
	snprintf(url, sizeof(url), "redis://:s3cret@127.0.0.1:%d/2", port);
	assert_int_equal(cache_redis_session_open(&a, url, NULL, 2000, why, sizeof(why)), 0);
	assert_int_equal(cache_redis_session_open(&b, url, NULL, 2000, why, sizeof(why)), 0);
	assert_int_equal(cache_redis_session_get(&a, "ck", &v, &len, why, sizeof(why)), 0);
	assert_null(v);
	/* SET NX: the first writer stores, the second is told a value is there, and both read
	 * the first one's. */
	assert_int_equal(cache_redis_session_set_nx(&a, "ck", (const uint8_t *)"first\0bin", 9, why,
						    sizeof(why)), 1);
	assert_int_equal(cache_redis_session_set_nx(&b, "ck", (const uint8_t *)"second", 6, why,
						    sizeof(why)), 0);
	assert_int_equal(cache_redis_session_get(&b, "ck", &v, &len, why, sizeof(why)), 1);
	assert_int_equal(len, 9);
	assert_memory_equal(v, "first\0bin", 9);
	free(v);
	cache_redis_session_close(&a);
	cache_redis_session_close(&b);
	cache_redis_session_close(&b);   /* closing twice is harmless */

	/* Failures say where and why, never the password. */
	snprintf(url, sizeof(url), "redis://:wrong-one@127.0.0.1:%d/2", port);
	assert_int_equal(cache_redis_session_open(&a, url, NULL, 2000, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "cannot connect to Redis at 127.0.0.1:"));
	assert_non_null(strstr(why, "AUTH (check the password in cache.redis) was refused"));
	assert_null(strstr(why, "wrong-one"));
	redis_stop(pid);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
	assert_int_equal(cache_redis_session_open(&a, url, NULL, 500, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "cannot connect to Redis at 127.0.0.1:"));
	assert_int_equal(cache_redis_session_open(&a, "http://x", NULL, 500, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "cache.redis: "));
}

/* ---- rediss:// ------------------------------------------------------------------------- */

/* A self-signed certificate for IP 127.0.0.1 and its key, written as PEM to cert and key. */
static void make_cert(const char *cert, const char *key)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	X509_NAME *name;
	FILE *f;

	assert_non_null(pkey);
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	assert_int_equal(X509_set_pubkey(x, pkey), 1);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1",
				   -1, -1, 0);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);
	f = fopen(cert, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
	f = fopen(key, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pkey);
}

static struct cache *make_tls_cache(struct event_base *base, const char *url, SSL_CTX *ctx)
{
	struct cache_options o = {
		.max_entries = 100, .ttl_s = 60, .redis_url = url, .cache_key = cache_key,
		.redis = { .connect_timeout_ms = 1000, .command_timeout_ms = 200,
			   .backoff_min_ms = 50, .backoff_max_ms = 200, .ssl_ctx = ctx },
	};
	struct cache *c = cache_new(base, &o);

	assert_non_null(c);
	return c;
}

static void test_rediss(void **state)
{
	char dir[] = "/tmp/test_cache_tls_XXXXXX";
	char cert[64];
	char key[64];
	char url[64];
	int port = free_port();
	pid_t pid;
	struct event_base *base = event_base_new();
	SSL_CTX *trusting = SSL_CTX_new(TLS_client_method());
	SSL_CTX *untrusting = SSL_CTX_new(TLS_client_method());
	struct cache *a;
	struct cache *b;
	struct cache *refused;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	make_cert(cert, key);
	const char *const extra[] = { "--tls-cert-file", cert, "--tls-key-file", key,
				      "--tls-ca-cert-file", cert, "--tls-auth-clients", "no", NULL };
	pid = redis_start_opt(port, extra, 1);
	assert_int_equal(SSL_CTX_load_verify_locations(trusting, cert, NULL), 1);
	SSL_CTX_set_verify(trusting, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_verify(untrusting, SSL_VERIFY_PEER, NULL);
	snprintf(url, sizeof(url), "rediss://127.0.0.1:%d/0", port);
	a = make_tls_cache(base, url, trusting);
	b = make_tls_cache(base, url, trusting);
	refused = make_tls_cache(base, url, untrusting);
	assert_true(run_until(base, l2_ready, a, 3000));
	assert_true(run_until(base, l2_ready, b, 3000));
	cache_put(a, ID, strlen(ID), (const uint8_t *)PLAINTEXT, strlen(PLAINTEXT), 60);
	int hit = 0;
	for (int i = 0; i < 50 && !hit; i++) {
		run_for(base, 10);
		hit = get_value(base, b, ID, PLAINTEXT, NULL);
	}
	assert_true(hit);
	assert_int_equal(STAT(b, l2_hits), 1);
	/* A server whose certificate the client does not trust is never used. */
	assert_int_equal(cache_l2_ready(refused), 0);
	assert_true(STAT(refused, l2_hits) == 0);
	assert_false(get_value(base, refused, ID, NULL, NULL));
	cache_free(a);
	cache_free(b);
	cache_free(refused);
	SSL_CTX_free(trusting);
	SSL_CTX_free(untrusting);
	event_base_free(base);
	redis_stop(pid);
	unlink(cert);
	unlink(key);
	rmdir(dir);
}

/* ---- URL and reply parsing -------------------------------------------------------------- */

static void test_url_parse(void **state)
{
	struct cache_redis_url u;
	const char *why = "";

	(void)state;
	assert_int_equal(cache_redis_url_parse("redis://127.0.0.1:6380/2", &u, &why), 0);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 6380);
	assert_int_equal(u.db, 2);
	assert_int_equal(u.tls, 0);
	assert_string_equal(u.password, "");
	assert_int_equal(cache_redis_url_parse("rediss://cache.internal", &u, &why), 0);
	assert_int_equal(u.tls, 1);
	assert_int_equal(u.port, 6379);
	assert_int_equal(u.db, 0);
	assert_string_equal(u.host, "cache.internal");
	assert_int_equal(cache_redis_url_parse("redis://:pa@ss@h:1/", &u, &why), 0);
	assert_string_equal(u.password, "pa@ss");
	assert_string_equal(u.user, "");
	assert_string_equal(u.host, "h");
	assert_int_equal(cache_redis_url_parse("redis://bob:x%3Ay@[::1]:7000/15", &u, &why), 0);
	assert_string_equal(u.user, "bob");
	assert_string_equal(u.password, "x:y");
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 7000);
	assert_int_equal(u.db, 15);
	cache_redis_url_wipe(&u);
	assert_string_equal(u.password, "");

	assert_int_equal(cache_redis_url_parse("http://h", &u, &why), -1);
	assert_string_equal(why, "it must start with redis:// or rediss://");
	assert_int_equal(cache_redis_url_parse("redis://:pw@:6379", &u, &why), -1);
	assert_string_equal(why, "the host is missing");
	assert_string_equal(u.password, "");   /* wiped on failure */
	assert_int_equal(cache_redis_url_parse("redis://h:0", &u, &why), -1);
	assert_string_equal(why, "the port must be a number from 1 to 65535");
	assert_int_equal(cache_redis_url_parse("redis://h:70000", &u, &why), -1);
	assert_string_equal(why, "the port must be a number from 1 to 65535");
	assert_int_equal(cache_redis_url_parse("redis://h/x", &u, &why), -1);
	assert_string_equal(why, "the database after '/' must be a number");
	assert_int_equal(cache_redis_url_parse("redis://:a%zz@h", &u, &why), -1);
	assert_string_equal(why, "the password is too long or has a bad %-escape");
	assert_int_equal(cache_redis_url_parse("redis://[::1", &u, &why), -1);
	assert_string_equal(why, "an IPv6 address lacks its closing ']'");
	assert_int_equal(cache_redis_url_parse("redis://[::1]x", &u, &why), -1);
	assert_string_equal(why, "only ':PORT' may follow an IPv6 address");
}

static void resp_ok(const char *in, size_t len, enum cache_resp_type type, const char *str,
		    long long integer)
{
	struct cache_resp_reply rep;
	size_t used = 0;
	const char *why = "";

	assert_int_equal(cache_resp_parse((const uint8_t *)in, len, 1024, &rep, &used, &why),
			 CACHE_RESP_OK);
	assert_int_equal(rep.type, type);
	assert_int_equal(used, len);
	if (str != NULL) {
		assert_int_equal(rep.len, strlen(str));
		assert_memory_equal(rep.str, str, rep.len);
	}
	if (type == CACHE_RESP_INTEGER)
		assert_true(rep.integer == integer);
	/* Every strict prefix is incomplete, never bad. */
	for (size_t n = 0; n < len; n++)
		assert_int_equal(cache_resp_parse((const uint8_t *)in, n, 1024, &rep, &used, &why),
				 CACHE_RESP_INCOMPLETE);
}

static void resp_bad(const char *in, size_t len, const char *want_why)
{
	struct cache_resp_reply rep;
	size_t used = 0;
	const char *why = "";

	assert_int_equal(cache_resp_parse((const uint8_t *)in, len, 1024, &rep, &used, &why),
			 CACHE_RESP_BAD);
	assert_string_equal(why, want_why);
}

static void test_resp_parse(void **state)
{
	char longline[5000];

	(void)state;
	resp_ok("+OK\r\n", 5, CACHE_RESP_STATUS, "OK", 0);
	resp_ok("-ERR no\r\n", 9, CACHE_RESP_ERROR, "ERR no", 0);
	resp_ok(":-12\r\n", 6, CACHE_RESP_INTEGER, NULL, -12);
	resp_ok("$-1\r\n", 5, CACHE_RESP_NIL, NULL, 0);
	resp_ok("$0\r\n\r\n", 6, CACHE_RESP_BULK, "", 0);
	resp_ok("$5\r\na\r\nbc\r\n", 11, CACHE_RESP_BULK, "a\r\nbc", 0);
	/* A reply followed by more: only the first is consumed. */
	struct cache_resp_reply rep;
	size_t used = 0;
	const char *why = "";
	assert_int_equal(cache_resp_parse((const uint8_t *)"+A\r\n+B\r\n", 8, 10, &rep, &used, &why),
			 CACHE_RESP_OK);
	assert_int_equal(used, 4);

	resp_bad("*1\r\n", 4, "an array reply, which no command of the cache expects");
	resp_bad("hello", 5, "a reply that does not start with +, -, : or $");
	resp_bad("+OK\n", 4, "a line feed without a carriage return");
	resp_bad("+OK\rx", 5, "a carriage return without a line feed");
	resp_bad(":12a\r\n", 6, "an integer reply that is not a number");
	resp_bad("$\r\n", 3, "a bulk length that is not a number");
	resp_bad("$99999999999999999999\r\n", 23, "a bulk length that is not a number");
	resp_bad("$-2\r\n", 5, "a negative bulk length other than -1");
	resp_bad("$2000\r\n", 7, "a bulk string longer than any cache entry");
	resp_bad("$2\r\nabcd", 8, "a bulk string not followed by CRLF");
	longline[0] = '+';
	memset(longline + 1, 'a', sizeof(longline) - 1);
	resp_bad(longline, sizeof(longline), "a reply line longer than 4096 bytes");
	memcpy(longline + 4098, "\r\n", 2);
	resp_bad(longline, 4100, "a reply line longer than 4096 bytes");
	/* 4096 bytes of text is the longest line accepted. */
	memcpy(longline + 4097, "\r\n", 2);
	resp_ok(longline, 4099, CACHE_RESP_STATUS, NULL, 0);
}

/* ---- Redis added after start-up ---------------------------------------------------------- */

/* A cache made without Redis gets it with cache_attach_l2 (the cache key found later): what
 * one cache puts is then a hit for the other; a second attach and a missing key are refused. */
static void test_attach_later(void **state)
{
	int port = free_port();
	pid_t pid = redis_start(port, NULL);
	struct event_base *base = event_base_new();
	struct cache_options plain = { .max_entries = 100, .ttl_s = 60 };
	struct cache_redis_opts ro = { .connect_timeout_ms = 300, .command_timeout_ms = 100,
				       .backoff_min_ms = 50, .backoff_max_ms = 200, .stall_ms = 400 };
	char url[64];
	struct cache *a, *late;

	(void)state;
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
	a = make_cache(base, url, cache_key);
	late = cache_new(base, &plain);
	assert_non_null(late);
	assert_int_equal(cache_l2_ready(late), -1);
	assert_true(run_until(base, l2_ready, a, 2000));
	cache_put(a, ID, strlen(ID), (const uint8_t *)PLAINTEXT, strlen(PLAINTEXT), 60);
	run_for(base, 100);
	assert_int_equal(get_value(base, late, ID, NULL, NULL), 0);      /* no L2 yet: a miss */
	assert_int_equal(cache_attach_l2(late, url, NULL, &ro), -1);
	assert_int_equal(cache_attach_l2(late, url, cache_key, &ro), 0);
	assert_int_equal(cache_attach_l2(late, url, cache_key, &ro), -1);
	assert_true(run_until(base, l2_ready, late, 2000));
	assert_int_equal(get_value(base, late, ID, PLAINTEXT, NULL), 1);
	assert_int_equal(STAT(late, l2_hits), 1);
	cache_free(late);
	cache_free(a);
	event_base_free(base);
	redis_stop(pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_parse),
		cmocka_unit_test(test_resp_parse),
		cmocka_unit_test(test_sealed_round_trip),
		cmocka_unit_test(test_attach_later),
		cmocka_unit_test(test_get_or_fetch_shared),
		cmocka_unit_test(test_redis_killed_and_restarted),
		cmocka_unit_test(test_redis_stopped),
		cmocka_unit_test(test_late_reply_ignored),
		cmocka_unit_test(test_garbage_handshake),
		cmocka_unit_test(test_garbage_get_replies),
		cmocka_unit_test(test_flapping_warns_once),
		cmocka_unit_test(test_auth_and_select),
		cmocka_unit_test(test_rediss),
		cmocka_unit_test(test_session),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
