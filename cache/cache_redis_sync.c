#include "cache/cache_redis_sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

/* One command's answer. */
struct answer {
	int done;
	enum cache_redis_result res;
	uint8_t *value;
	size_t len;
};

static void answered(void *arg, enum cache_redis_result res, const uint8_t *value, size_t len)
{
	struct answer *a = arg;

	a->done = 1;
	a->res = res;
	if (res == CACHE_REDIS_HIT && value != NULL && (a->value = malloc(len ? len : 1)) != NULL) {
		memcpy(a->value, value, len);
		a->len = len;
	}
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Runs s's loop until done() says so or ms pass; 1 when done. */
static int run_until(struct cache_redis_session *s, int ms, int (*done)(void *), void *arg)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	int late = 0;
	struct event *t = evtimer_new(s->base, deadline_cb, &late);

	if (t == NULL)
		return done(arg);
	evtimer_add(t, &tv);
	while (!done(arg) && !late)
		event_base_loop(s->base, EVLOOP_ONCE);
	event_free(t);
	return done(arg);
}

static int ready_or_failed(void *arg)
{
	const struct cache_redis *r = arg;

	return cache_redis_ready(r) || cache_redis_last_error(r) != NULL;
}

static int answer_done(void *arg)
{
	return ((const struct answer *)arg)->done;
}

int cache_redis_session_open(struct cache_redis_session *s, const char *url, SSL_CTX *ssl_ctx,
			     int timeout_ms, char *why, size_t cap)
{
	struct cache_redis_opts o;
	struct cache_redis_url u;
	const char *bad = NULL;

	memset(s, 0, sizeof(*s));
	s->timeout_ms = timeout_ms;
	if (cache_redis_url_parse(url, &u, &bad) != 0) {
		snprintf(why, cap, "cache.redis: %s", bad);
		return -1;
	}
	snprintf(s->where, sizeof(s->where), "%s:%u", u.host, u.port);
	cache_redis_url_wipe(&u);
	memset(&o, 0, sizeof(o));
	o.ssl_ctx = ssl_ctx;
	o.connect_timeout_ms = timeout_ms;
	o.command_timeout_ms = timeout_ms;
	o.stall_ms = 2 * timeout_ms;
	if ((s->base = event_base_new()) == NULL ||
	    (s->r = cache_redis_new(s->base, url, &o, &s->stats)) == NULL) {
		snprintf(why, cap, "cannot set up a Redis client (out of memory?)");
		cache_redis_session_close(s);
		return -1;
	}
	if (!run_until(s, timeout_ms + 500, ready_or_failed, s->r) || !cache_redis_ready(s->r)) {
		const char *e = cache_redis_last_error(s->r);
		snprintf(why, cap, "cannot connect to Redis at %s: %s", s->where,
			 e != NULL ? e : "no answer");
		cache_redis_session_close(s);
		return -1;
	}
	return 0;
}

/* Waits for a sent command's answer. */
static int wait_answer(struct cache_redis_session *s, struct cache_redis_cmd *cmd,
		       struct answer *a, const char *what, char *why, size_t cap)
{
	if (!run_until(s, s->timeout_ms + 500, answer_done, a)) {
		cache_redis_cancel(s->r, cmd);
		snprintf(why, cap, "Redis at %s did not answer %s", s->where, what);
		return -1;
	}
	if (a->res != CACHE_REDIS_HIT && a->res != CACHE_REDIS_MISS) {
		const char *e = cache_redis_last_error(s->r);
		snprintf(why, cap, "Redis at %s failed %s%s%s", s->where, what, e ? ": " : "",
			 e ? e : "");
		return -1;
	}
	return 0;
}

int cache_redis_session_get(struct cache_redis_session *s, const char *name, uint8_t **value,
			    size_t *len, char *why, size_t cap)
{
	struct answer a = { 0 };
	struct cache_redis_cmd *cmd;

	*value = NULL;
	*len = 0;
	if (cache_redis_get(s->r, name, strlen(name), answered, &a, &cmd) != CACHE_REDIS_PENDING) {
		snprintf(why, cap, "Redis at %s is not connected", s->where);
		return -1;
	}
	if (wait_answer(s, cmd, &a, "GET", why, cap) != 0) {
		free(a.value);
		return -1;
	}
	if (a.res == CACHE_REDIS_MISS)
		return 0;
	if (a.value == NULL) {
		snprintf(why, cap, "out of memory");
		return -1;
	}
	*value = a.value;
	*len = a.len;
	return 1;
}

int cache_redis_session_set_nx(struct cache_redis_session *s, const char *name,
			       const uint8_t *value, size_t len, char *why, size_t cap)
{
	struct answer a = { 0 };
	struct cache_redis_cmd *cmd;

	if (cache_redis_set_nx(s->r, name, strlen(name), value, len, answered, &a, &cmd) !=
	    CACHE_REDIS_PENDING) {
		snprintf(why, cap, "Redis at %s is not connected", s->where);
		return -1;
	}
	if (wait_answer(s, cmd, &a, "SET NX", why, cap) != 0)
		return -1;
	return a.res == CACHE_REDIS_HIT ? 1 : 0;
}

void cache_redis_session_close(struct cache_redis_session *s)
{
	cache_redis_free(s->r);
	s->r = NULL;
	if (s->base != NULL)
		event_base_free(s->base);
	s->base = NULL;
}
