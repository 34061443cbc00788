/*
 * Worker threads: accepting on the worker's own listening sockets, the config generations that
 * requests hold (and the keyrings built for each), reload and drain on a byte from the pipe.
 */
#include "proxy/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "cache/cache.h"
#include "crypto/aws/ddb_client.h"
#include "crypto/aws/kms_client.h"
#include "crypto/keyring/keyring.h"
#include "crypto/keyring/keyring_factory.h"
#include "crypto/keyring/keyring_fallback.h"
#include "crypto/keyring/legacy_reader.h"
#include "proxy/base/log.h"
#include "proxy/client.h"
#include "proxy/keycache.h"
#include "proxy/net/upstream.h"
#include "proxy/table_schema_cache.h"

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct worker *w = arg;

	(void)l;
	if (client_accept(w, fd, sa, salen) != 0)
		log_warn("worker %d: could not take a new connection", w->id);
}

/* Accepting again after a pause for want of file descriptors (unless draining by now). */
static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	if (w->draining)
		return;
	for (int i = 0; i < w->listeners_len; i++)
		evconnlistener_enable(w->listeners[i]);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
	static _Thread_local time_t last_warn;
	struct worker *w = arg;
	int e = EVUTIL_SOCKET_ERROR();
	int out_of_fds = e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
	time_t now = time(NULL);

	(void)l;
	/* Out of fds, the connection stays in the backlog and the listener would wake for it at
	 * once, forever: pause accepting for 100 ms (the backlog waits), warn once a second. */
	if (out_of_fds) {
		struct timeval pause = { 0, 100000 };
		for (int i = 0; i < w->listeners_len; i++)
			evconnlistener_disable(w->listeners[i]);
		if (event_base_once(w->base, -1, EV_TIMEOUT, accept_resume_cb, w, &pause) != 0)
			accept_resume_cb(-1, 0, w);
	}
	if (!out_of_fds || now != last_warn)
		log_warn("worker %d: accept: %s%s", w->id, evutil_socket_error_to_string(e),
			 out_of_fds ? "; accepting again in 100 ms (raise the open files limit)" : "");
	last_warn = now;
}

void worker_client_closed(struct worker *w)
{
	if (w->draining && TAILQ_EMPTY(&w->clients))
		event_base_loopbreak(w->base);
}

/* Runs on the worker's thread when the main thread asks it to drain. */
static void worker_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct timeval deadline;

	(void)fd;
	(void)what;
	if (w->draining)
		return;
	w->draining = 1;
	for (int i = 0; i < w->listeners_len; i++)
		evconnlistener_disable(w->listeners[i]);
	if (TAILQ_EMPTY(&w->clients)) {
		event_base_loopbreak(w->base);
		return;
	}
	deadline.tv_sec = w->server->drain_deadline_ms / 1000;
	deadline.tv_usec = (w->server->drain_deadline_ms % 1000) * 1000;
	event_base_loopexit(w->base, &deadline);
	client_close_idle(w);
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct client_conn *c;

	event_base_dispatch(w->base);
	/* Past the drain deadline: whatever is left is cut. */
	while ((c = TAILQ_FIRST(&w->clients)) != NULL) {
		if (client_busy(c))
			log_warn("worker %d: conn closed with a request in flight at shutdown", w->id);
		client_close(c);
	}
	return NULL;
}

/* The worker's KMS client, with the limits of the config it started with (kms.* take effect
 * at restart, like upstream.*). */
static struct kms_client *worker_kms_new(struct worker *w, struct ds_error *err)
{
	struct kms_client *k = kms_client_new(w->base, w->dns, w->server->upstream_ssl,
					      w->server->region, w->server->creds, err);

	if (k != NULL)
		kms_client_set_limits(k, w->server->kms_connect_timeout_ms,
				      w->server->kms_response_timeout_ms, w->server->kms_max_attempts);
	return k;
}

/* The worker's KMS client, made on first use (keyring_env.kms). */
static struct kms_client *env_kms(void *ctx, struct ds_error *err)
{
	struct worker *w = ctx;

	if (w->kms == NULL)
		w->kms = worker_kms_new(w, err);
	return w->kms;
}

/* A DynamoDB client on the worker's upstream pool for a key store (keyring_env.ddb). */
static struct ddb_client *env_ddb(void *ctx, struct ds_error *err)
{
	struct worker *w = ctx;

	return ddb_client_on_pool(w->base, w->dynamodb, w->server->region, w->server->creds, err);
}

/* A keyring for this worker, from the one factory, with the worker's clients and key cache. */
static struct keyring *worker_keyring_new(struct worker *w, const struct config_keyring *c)
{
	const struct keyring_env env = { env_kms, env_ddb, w->cache, w };
	struct ds_error err;
	struct keyring *k = keyring_new_from_config(c, &env, &err);

	if (k == NULL)
		log_error("worker %d: %s", w->id, err.message);
	return k;
}

struct worker_gen *worker_gen_new(struct worker *w, struct config *cfg)
{
	struct worker_gen *g = calloc(1, sizeof(*g));

	if (g == NULL) {
		config_release(cfg);
		return NULL;
	}
	g->cfg = cfg;
	g->refs = 1;
	g->keyrings = calloc(cfg->keyrings_len ? cfg->keyrings_len : 1, sizeof(*g->keyrings));
	if (g->keyrings == NULL)
		goto fail;
	g->keyrings_len = cfg->keyrings_len;
	for (size_t i = 0; i < cfg->keyrings_len; i++) {
		g->keyrings[i] = worker_keyring_new(w, &cfg->keyrings[i]);
		if (g->keyrings[i] == NULL)
			goto fail;
	}
	g->legacy = calloc(cfg->tables_len ? cfg->tables_len : 1, sizeof(*g->legacy));
	if (g->legacy == NULL)
		goto fail;
	g->table_keyrings = calloc(cfg->tables_len ? cfg->tables_len : 1, sizeof(*g->table_keyrings));
	if (g->table_keyrings == NULL)
		goto fail;
	for (size_t i = 0; i < cfg->tables_len; i++) {
		const struct config_table *t = &cfg->tables[i];
		struct keyring *readers[16];

		if (t->read_keyrings_len == 0)
			continue;
		if (t->read_keyrings_len > sizeof(readers) / sizeof(readers[0])) {
			log_error("worker %d: table \"%s\": more than 16 read_keyrings", w->id, t->name);
			goto fail;
		}
		for (size_t j = 0; j < t->read_keyrings_len; j++)
			readers[j] = g->keyrings[t->read_keyring_refs[j] - cfg->keyrings];
		g->table_keyrings[i] = keyring_fallback_new(g->keyrings[t->keyring_ref - cfg->keyrings],
							    readers, t->read_keyrings_len);
		if (g->table_keyrings[i] == NULL)
			goto fail;
	}
	for (size_t i = 0; i < cfg->tables_len; i++) {
		const struct config_table *t = &cfg->tables[i];
		const struct keyring_env env = { env_kms, env_ddb, w->cache, w };
		struct ds_error err;

		if (t->legacy == NULL || t->legacy->policy != LEGACY_POLICY_ALLOW_READ)
			continue;
		g->legacy[i] = legacy_reader_new(t, &env, &err);
		if (g->legacy[i] == NULL) {
			log_error("worker %d: %s", w->id, err.message);
			goto fail;
		}
	}
	return g;
fail:
	worker_gen_release(g);
	return NULL;
}

struct worker_gen *worker_gen_hold(struct worker_gen *g)
{
	g->refs++;
	return g;
}

void worker_gen_release(struct worker_gen *g)
{
	if (g == NULL || --g->refs > 0)
		return;
	for (size_t i = 0; i < g->keyrings_len; i++)
		keyring_free(g->keyrings[i]);
	free(g->keyrings);
	for (size_t i = 0; g->legacy != NULL && i < g->cfg->tables_len; i++)
		legacy_reader_free(g->legacy[i]);
	free(g->legacy);
	for (size_t i = 0; g->table_keyrings != NULL && i < g->cfg->tables_len; i++)
		keyring_free(g->table_keyrings[i]);
	free(g->table_keyrings);
	config_release(g->cfg);
	free(g);
}

struct keyring *worker_gen_keyring(const struct worker_gen *g, const struct config_table *t)
{
	size_t i = (size_t)(t->keyring_ref - g->cfg->keyrings);
	size_t ti = (size_t)(t - g->cfg->tables);

	if (ti < g->cfg->tables_len && g->table_keyrings[ti] != NULL)
		return g->table_keyrings[ti];
	return i < g->keyrings_len ? g->keyrings[i] : NULL;
}

struct keyring *worker_gen_search_keyring(const struct worker_gen *g, const struct config_table *t)
{
	size_t i;

	if (t->search == NULL || t->search->keyring_ref == NULL)
		return NULL;
	i = (size_t)(t->search->keyring_ref - g->cfg->keyrings);
	return i < g->keyrings_len ? g->keyrings[i] : NULL;
}

int worker_gen_legacy_open(const struct worker_gen *g, const struct config_table *t,
			   const cJSON *item, const struct audit_ctx *audit, legacy_reader_done_cb cb,
			   void *arg)
{
	size_t i = (size_t)(t - g->cfg->tables);
	struct legacy_reader *r = g->legacy != NULL && i < g->cfg->tables_len ? g->legacy[i] : NULL;

	if (r == NULL)
		return -1;
	legacy_reader_open(r, item, audit, cb, arg);
	return 0;
}

/* On the worker's thread after SIGHUP: new requests get the reloaded config and keyrings built
 * from it; requests in flight finish with the generation they started with. */
static void worker_reload_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct config *cfg = atomic_exchange(&w->pending_cfg, NULL);
	struct worker_gen *g;
	struct worker_gen *old;

	(void)fd;
	(void)what;
	if (cfg == NULL)
		return;
	g = worker_gen_new(w, cfg);
	if (g == NULL) {
		log_error("reload: worker %d keeps the previous config: a keyring of the new one could "
			  "not be set up (above)", w->id);
		return;
	}
	old = w->gen;
	w->gen = g;
	worker_gen_release(old);
	if (w->schemas != NULL)
		table_schemas_track(w->schemas, g->cfg);
}

/* The worker's end of its pipe from other threads: 's' drains it, 'r' reloads it, 'c' gives
 * its cache the Redis layer, 't' has it describe its tables again soon. */
static void worker_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	char buf[16];
	ssize_t n;

	(void)what;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == 'r')
				worker_reload_cb(-1, 0, w);
			else if (buf[i] == 's')
				worker_stop_cb(-1, 0, w);
			else if (buf[i] == 'c')
				keycache_worker_attach(w);
			else if (buf[i] == 't')
				table_schemas_soon(w->schemas);
		}
	}
}

int worker_setup(struct server *srv, struct worker *w, int id)
{
	const struct config *cfg = srv->cfg;
	struct upstream_target t = { 0 };

	w->id = id;
	w->server = srv;
	TAILQ_INIT(&w->clients);
	w->base = event_base_new();
	if (w->base == NULL)
		return -1;
	w->dns = evdns_base_new(w->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (w->dns == NULL) {
		/* No resolv.conf: numeric upstreams still work. */
		w->dns = evdns_base_new(w->base, 0);
		if (w->dns == NULL)
			return -1;
	}
	snprintf(t.host, sizeof(t.host), "%s", cfg->upstream_addr.host);
	t.port = cfg->upstream_addr.port;
	t.tls = cfg->upstream_tls;
	t.connect_timeout_ms = cfg->upstream_connect_timeout_ms;
	t.response_timeout_ms = cfg->upstream_response_timeout_ms;
	t.idle_timeout_ms = 50000;
	t.pool_size = cfg->upstream_pool_size;
	t.max_response_bytes = 64u * 1024 * 1024;
	w->dynamodb = upstream_pool_new(w->base, w->dns, srv->upstream_ssl, &t, "dynamodb");
	if (w->dynamodb == NULL)
		return -1;
	upstream_pool_count_opens(w->dynamodb, &w->metrics.upstream_opened);
	if (keycache_worker_init(w) != 0)
		return -1;
	w->gen = worker_gen_new(w, config_hold(srv->cfg));
	if (w->gen == NULL)
		return -1;
	/* The main thread's only way into a worker: no other thread ever touches a worker's
	 * event_base, so libevent runs without locks (no evthread_use_pthreads). */
	if (pipe2(w->notify_fd, O_NONBLOCK | O_CLOEXEC) != 0)
		return -1;
	w->notify_ev = event_new(w->base, w->notify_fd[0], EV_READ | EV_PERSIST, worker_notify_cb, w);
	if (w->notify_ev == NULL || event_add(w->notify_ev, NULL) != 0) {
		if (w->notify_ev != NULL)
			event_free(w->notify_ev);
		w->notify_ev = NULL;
		close(w->notify_fd[0]);
		close(w->notify_fd[1]);
		return -1;
	}
	return 0;
}

/* Sends a worker 'r', 's', 'c' or 't' from another thread (a byte on its pipe: never lost, since the
 * pipe holds far more than the few notifications that can be outstanding). */
void worker_notify(struct worker *w, char what)
{
	ssize_t n;

	if (w->notify_ev == NULL)
		return;
	do
		n = write(w->notify_fd[1], &what, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		log_error("worker %d: cannot be notified: %s", w->id, strerror(errno));
}


struct table_schema *worker_table_schema(const struct worker *w, const char *table)
{
	return table_schemas_get(w->schemas, table);
}

void worker_table_changed(struct worker *w, const char *table, int deleted)
{
	struct server *srv = w->server;

	table_schemas_changed(w->schemas, table, deleted);
	for (int i = 0; srv->workers != NULL && i < srv->workers_len; i++)
		if (&srv->workers[i] != w)
			worker_notify(&srv->workers[i], 't');
}

/* The key schemas of the configured tables, learned through a DynamoDB client of the worker's
 * own on its upstream pool.  Without a region to sign for (the clients' own then), or out of
 * memory, the worker serves without them. */
static void worker_schemas_start(struct worker *w)
{
	struct ds_error err = { 0 };
	struct ddb_client *c = ddb_client_on_pool(w->base, w->dynamodb, w->server->region,
						  w->server->creds, &err);

	if (c == NULL) {
		if (w->id == 0)
			log_info("tables' key schemas are not described: %s", err.message);
		return;
	}
	w->schemas = table_schemas_new(w->base, c, w->id);
	if (w->schemas != NULL)
		table_schemas_track(w->schemas, w->gen->cfg);
}

int worker_listen(struct server *srv, struct worker *w, int id)
{
	if (worker_setup(srv, w, id) != 0)
		return -1;
	worker_schemas_start(w);
	w->listeners_len = srv->listen_fds_per_worker;
	w->listeners = calloc((size_t)w->listeners_len, sizeof(*w->listeners));
	if (w->listeners == NULL)
		return -1;
	for (int i = 0; i < w->listeners_len; i++) {
		int *fd = &srv->listen_fds[id * srv->listen_fds_per_worker + i];
		/* Backlog 0: the socket listens already; -1 would make libevent listen() again with
		 * a backlog of 128. */
		w->listeners[i] = evconnlistener_new(w->base, accept_cb, w, LEV_OPT_CLOSE_ON_FREE, 0, *fd);
		if (w->listeners[i] == NULL)
			return -1;
		*fd = -1;  /* owned by the listener now */
		evconnlistener_set_error_cb(w->listeners[i], accept_error_cb);
	}
	return 0;
}

void worker_cleanup(struct worker *w)
{
	for (int i = 0; i < w->listeners_len; i++) {
		if (w->listeners[i] != NULL)
			evconnlistener_free(w->listeners[i]);
	}
	free(w->listeners);
	if (w->notify_ev != NULL) {
		event_free(w->notify_ev);
		w->notify_ev = NULL;
		close(w->notify_fd[0]);
		close(w->notify_fd[1]);
	}
	config_release(atomic_exchange(&w->pending_cfg, NULL));
	worker_gen_release(w->gen);
	w->gen = NULL;
	table_schemas_free(w->schemas);
	w->schemas = NULL;
	cache_free(w->cache);
	w->cache = NULL;
	kms_client_free(w->kms);
	upstream_pool_free(w->dynamodb);
	if (w->dns != NULL)
		evdns_base_free(w->dns, 0);
	if (w->base != NULL)
		event_base_free(w->base);
}
