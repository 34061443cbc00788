/*
 * Process start-up and shutdown: listening sockets (SO_REUSEPORT, one per worker and address,
 * so the kernel spreads connections with no accept lock), worker threads, signals.
 */
#include "proxy/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "crypto/aws/cred_chain.h"
#include "crypto/keyring/keyring.h"
#include "crypto/keyring/keyring_aws_kms.h"
#include "crypto/keyring/keyring_hierarchy.h"
#include "crypto/aws/kms_client.h"
#include "proxy/admin.h"
#include "proxy/base/audit.h"
#include "cache/cache.h"
#include "proxy/client.h"
#include "proxy/keycache.h"
#include "proxy/base/log.h"
#include "proxy/net/upstream.h"

/* Binds one listening socket with SO_REUSEPORT.  Returns the fd or -1. */
static int bind_one(const struct sockaddr *sa, socklen_t len)
{
	int one = 1;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* A burst of connections waits in the accept queue (the kernel caps it at somaxconn). */
	if (bind(fd, sa, len) != 0 || listen(fd, 4096) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static uint16_t sockaddr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static void sockaddr_set_port(struct sockaddr *sa, uint16_t port)
{
	if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)sa)->sin_port = htons(port);
}

/*
 * Whether another socket already listens on sa: a bind without SO_REUSEPORT (but with
 * SO_REUSEADDR, which ignores connections in TIME_WAIT) fails only then.  Without this check a
 * second dynaseal would join the first's SO_REUSEPORT group silently, and the kernel would
 * split the applications' connections between two processes that may hold different configs.
 */
static int port_taken(const struct sockaddr *sa, socklen_t len)
{
	int one = 1;
	int taken;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;      /* the real bind reports it */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	taken = bind(fd, sa, len) != 0 && errno == EADDRINUSE;
	close(fd);
	return taken;
}

/*
 * Binds every address addr->host resolves to, once per worker.  Port 0 picks one port (the
 * first bind's) for all.  Fills srv->listen_fds.  Returns 0 or -1 (logged).
 */
static int bind_listeners(struct server *srv, const struct config_addr *addr)
{
	struct addrinfo hints = { 0 };
	struct addrinfo *res = NULL;
	struct addrinfo *ai;
	char port[8];
	uint16_t chosen = addr->port;
	int naddr = 0;
	int rc;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", addr->port);
	rc = getaddrinfo(addr->host[0] ? addr->host : NULL, port, &hints, &res);
	if (rc != 0) {
		log_error("listen: cannot resolve \"%s\": %s", addr->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next)
		naddr++;
	srv->listen_fds_per_worker = naddr;
	srv->listen_fds = malloc(sizeof(int) * (size_t)(naddr * srv->workers_len));
	if (srv->listen_fds == NULL)
		goto fail;
	for (int i = 0; i < naddr * srv->workers_len; i++)
		srv->listen_fds[i] = -1;
	naddr = 0;
	for (ai = res; ai != NULL; ai = ai->ai_next, naddr++) {
		for (int w = 0; w < srv->workers_len; w++) {
			int fd;
			if (chosen != 0)
				sockaddr_set_port(ai->ai_addr, chosen);
			if (w == 0 && chosen != 0 && port_taken(ai->ai_addr, ai->ai_addrlen)) {
				log_error("listen: another process already listens on %s:%u; dynaseal does "
					  "not share a port (the kernel would split the applications' "
					  "connections between the two): stop the other process or set "
					  "another \"listen\" port", addr->host, chosen);
				goto fail;
			}
			fd = bind_one(ai->ai_addr, ai->ai_addrlen);
			if (fd < 0) {
				log_error("listen: cannot listen on %s:%u: %s", addr->host, chosen,
					  strerror(errno));
				goto fail;
			}
			if (chosen == 0) {
				struct sockaddr_storage ss;
				socklen_t sl = sizeof(ss);
				getsockname(fd, (struct sockaddr *)&ss, &sl);
				chosen = sockaddr_port(&ss);
			}
			srv->listen_fds[w * srv->listen_fds_per_worker + naddr] = fd;
		}
	}
	freeaddrinfo(res);
	log_info("listening on %s:%u (%d address%s, %d worker%s)", addr->host, chosen,
		 srv->listen_fds_per_worker, srv->listen_fds_per_worker == 1 ? "" : "es",
		 srv->workers_len, srv->workers_len == 1 ? "" : "s");
	return 0;
fail:
	freeaddrinfo(res);
	return -1;
}

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

/* Every connection is a file descriptor: the soft limit on them goes up to the hard one. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == rl.rlim_max)
		return;
	was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		log_info("open files limit raised from %llu to %llu", (unsigned long long)was,
			 (unsigned long long)rl.rlim_cur);
	else
		log_warn("open files limit stays %llu: %s", (unsigned long long)was, strerror(errno));
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

static void *worker_main(void *arg)
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

/* A keyring for this worker: local ones are built from config, KMS ones get the worker's
 * KMS client. */
static struct keyring *worker_keyring_new(struct worker *w, const struct config_keyring *c)
{
	struct keyring *k = NULL;

	switch (c->type) {
	case KEYRING_RAW_AES:
	case KEYRING_STATIC_BRANCH_KEY:
		k = keyring_new_from_config(c);
		break;
	case KEYRING_AWS_KMS:
		if (w->kms == NULL) {
			struct ds_error err = { 0 };
			w->kms = worker_kms_new(w, &err);
			if (w->kms == NULL) {
				log_error("keyring \"%s\": %s", c->name, err.message);
				return NULL;
			}
		}
		k = keyring_aws_kms_new(c, w->kms);
		if (k != NULL)
			keyring_aws_kms_set_cache(k, w->cache, w->server->cfg->cache_ttl_s);
		break;
	case KEYRING_AWS_KMS_HIERARCHICAL: {
		/* Key store reads share the worker's DynamoDB pool and KMS client. */
		struct ds_error err = { 0 };
		struct ddb_client *ddb;
		if (w->kms == NULL)
			w->kms = worker_kms_new(w, &err);
		ddb = w->kms == NULL ? NULL : ddb_client_on_pool(w->base, w->dynamodb, w->server->region,
								 w->server->creds, &err);
		if (ddb == NULL) {
			log_error("keyring \"%s\": %s", c->name, err.message);
			return NULL;
		}
		k = keyring_hierarchy_new(c, w->base, ddb, w->kms);
		if (k != NULL)
			keycache_attach_hierarchy(w, k);
		break;
	}
	default:
		log_error("keyring \"%s\": this type is not available in this build of dynaseal",
			  c->name);
		return NULL;
	}
	if (k == NULL)
		log_error("worker %d: keyring \"%s\" could not be set up", w->id, c->name);
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
	config_release(g->cfg);
	free(g);
}

struct keyring *worker_gen_keyring(const struct worker_gen *g, const struct config_table *t)
{
	size_t i = (size_t)(t->keyring_ref - g->cfg->keyrings);

	return i < g->keyrings_len ? g->keyrings[i] : NULL;
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
}

/* The worker's end of its pipe from other threads: 's' drains it, 'r' reloads it, 'c' gives
 * its cache the Redis layer. */
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

/* Sends a worker 'r', 's' or 'c' from another thread (a byte on its pipe: never lost, since the
 * pipe holds far more than the few notifications that can be outstanding). */
static void worker_notify(struct worker *w, char what)
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

void server_notify_workers(struct server *srv, char what)
{
	for (int i = 0; i < srv->workers_len; i++)
		worker_notify(&srv->workers[i], what);
}

static int worker_init(struct server *srv, struct worker *w, int id)
{
	if (worker_setup(srv, w, id) != 0)
		return -1;
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
	cache_free(w->cache);
	w->cache = NULL;
	kms_client_free(w->kms);
	upstream_pool_free(w->dynamodb);
	if (w->dns != NULL)
		evdns_base_free(w->dns, 0);
	if (w->base != NULL)
		event_base_free(w->base);
}

static void signal_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	(void)what;
	log_info("received %s: finishing requests in flight (up to %d ms), then exiting",
		 sig == SIGINT ? "SIGINT" : "SIGTERM", srv->drain_deadline_ms);
	server_notify_workers(srv, 's');
	event_base_loopbreak(srv->main_base);
}

SSL_CTX *server_tls_ctx_new(const char *cert_file, const char *key_file)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		log_openssl_errors(LOG_ERROR, "tls.cert_file");
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		log_openssl_errors(LOG_ERROR, "tls.key_file");
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		log_openssl_errors(LOG_ERROR, "tls.key_file does not match tls.cert_file");
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL *server_tls_session(struct server *srv)
{
	SSL *ssl = NULL;

	pthread_mutex_lock(&srv->listen_ssl_lock);
	if (srv->listen_ssl != NULL)
		ssl = SSL_new(srv->listen_ssl);
	pthread_mutex_unlock(&srv->listen_ssl_lock);
	return ssl;
}

/* SIGHUP with tls.*: the certificate and key are loaded again (renewed certificates); new
 * connections use them, open ones keep theirs. */
static void reload_tls(struct server *srv, const struct config *cfg)
{
	SSL_CTX *fresh;
	SSL_CTX *old;

	if (srv->listen_ssl == NULL || cfg->tls_cert_file == NULL)
		return;
	fresh = server_tls_ctx_new(cfg->tls_cert_file, cfg->tls_key_file);
	if (fresh == NULL) {
		log_error("reload: the TLS certificate or key could not be loaded; keeping the previous ones");
		return;
	}
	pthread_mutex_lock(&srv->listen_ssl_lock);
	old = srv->listen_ssl;
	srv->listen_ssl = fresh;
	pthread_mutex_unlock(&srv->listen_ssl_lock);
	/* Sessions made from the old context hold references to it. */
	SSL_CTX_free(old);
	log_info("reload: TLS certificate reloaded from %s", cfg->tls_cert_file);
}

/*
 * SIGHUP: reads the config file again.  A file with problems changes nothing (each problem is
 * logged).  A good one applies what can change under running requests — the log level and
 * format, and the audit log, which is reopened (log rotation) — and names the settings that
 * differ and need a restart.
 */
static void signal_reload_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	struct config *old = srv->cfg;
	struct config_problems problems = { 0 };
	struct config *cfg;

	(void)sig;
	(void)what;
	log_info("received SIGHUP: reloading %s", old->path);
	cfg = config_load(old->path, &problems);
	if (cfg == NULL) {
		for (size_t i = 0; i < problems.len; i++)
			log_error("reload: %s", problems.msgs[i]);
		log_error("reload: %s has %zu problem%s; still serving with the config loaded before",
			  old->path, problems.len, problems.len == 1 ? "" : "s");
		config_problems_free(&problems);
		return;
	}
	config_problems_free(&problems);
	log_set_level((enum log_level)cfg->log_level);
	log_set_json(cfg->log_json);
	if (audit_open(cfg->audit_log) != 0)
		log_error("reload: the audit log could not be reopened; auditing is off until fixed");
	reload_tls(srv, cfg);
	if (!config_addr_equal(&cfg->listen, &old->listen) ||
	    !config_addr_equal(&cfg->admin_listen, &old->admin_listen))
		log_warn("reload: listen and admin_listen take effect at restart");
	if (strcmp(cfg->upstream_endpoint, old->upstream_endpoint) != 0)
		log_warn("reload: upstream.endpoint takes effect at restart");
	if (cfg->workers != old->workers)
		log_warn("reload: workers takes effect at restart");
	if (cfg->kms_connect_timeout_ms != old->kms_connect_timeout_ms ||
	    cfg->kms_response_timeout_ms != old->kms_response_timeout_ms ||
	    cfg->kms_max_attempts != old->kms_max_attempts)
		log_warn("reload: kms.* take effect at restart");
	/* Tables, keyrings, clients and limits: each worker switches to the new config for new
	 * requests, building its keyrings on its own thread. */
	for (int i = 0; i < srv->workers_len; i++) {
		struct worker *w = &srv->workers[i];
		config_release(atomic_exchange(&w->pending_cfg, config_hold(cfg)));
		worker_notify(w, 'r');
	}
	srv->cfg = cfg;
	config_release(old);
	log_info("reload: %zu table(s), %zu keyring(s), %zu client(s); log level %s, log format %s, "
		 "audit log %s", cfg->tables_len, cfg->keyrings_len, cfg->clients_len,
		 log_level_name(cfg->log_level), cfg->log_json ? "json" : "text",
		 cfg->audit_log ? cfg->audit_log : "off");
}

/* The region requests are signed for: config, then AWS_REGION / AWS_DEFAULT_REGION. */
void server_pick_region(struct server *srv)
{
	const char *r = srv->cfg->upstream_region;

	if (r == NULL || *r == '\0')
		r = getenv("AWS_REGION");
	if (r == NULL || *r == '\0')
		r = getenv("AWS_DEFAULT_REGION");
	snprintf(srv->region, sizeof(srv->region), "%s", r ? r : "");
}

int server_run(struct config *cfg, int workers)
{
	struct server srv = { 0 };
	struct event *sigterm = NULL;
	struct event *sigint = NULL;
	struct event *sighup = NULL;
	struct admin *admin = NULL;
	int status = 1;

	srv.cfg = cfg;
	srv.drain_deadline_ms = 20000;
	srv.workers_len = workers > 0 ? workers : (cfg->workers > 0 ? cfg->workers : (int)sysconf(_SC_NPROCESSORS_ONLN));
	if (srv.workers_len < 1)
		srv.workers_len = 1;
	/* Key material must never reach a core dump. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	log_hook_libevent();
	server_pick_region(&srv);
	if (audit_open(cfg->audit_log) != 0)
		goto cleanup;

	/* One client TLS context for the upstream, KMS and STS, whichever of them uses https. */
	srv.upstream_ssl = upstream_ssl_ctx_new(cfg->upstream_ca_file);
	if (srv.upstream_ssl == NULL)
		goto cleanup;
	/* The main loop runs signals, the admin listener and the credentials' refreshes. */
	srv.main_base = event_base_new();
	if (srv.main_base == NULL)
		goto cleanup;
	srv.main_dns = evdns_base_new(srv.main_base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (srv.main_dns == NULL && (srv.main_dns = evdns_base_new(srv.main_base, 0)) == NULL)
		goto cleanup;
	{
		struct ds_error err = { 0 };
		srv.chain = cred_chain_start(srv.main_base, srv.main_dns, srv.upstream_ssl, srv.region, &err);
		if (srv.chain == NULL) {
			log_error("%s; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with a role "
				  "(IRSA, ECS task role, instance profile)", err.message);
			goto cleanup;
		}
	}
	srv.creds = credentials_ref(cred_chain_credentials(srv.chain));
	log_info("credentials: from the %s (access key %.4s...)", srv.creds->source,
		 credentials_get(srv.creds)->access_key_id);
	pthread_mutex_init(&srv.listen_ssl_lock, NULL);
	if (cfg->tls_cert_file != NULL) {
		srv.listen_ssl = server_tls_ctx_new(cfg->tls_cert_file, cfg->tls_key_file);
		if (srv.listen_ssl == NULL)
			goto cleanup;
		log_info("listener serves https (certificate %s)", cfg->tls_cert_file);
	} else if (!config_host_is_loopback(cfg->listen.host)) {
		log_warn("listen %s:%u is not a loopback address and serves plain http: anyone who can "
			 "reach it can use dynaseal's credentials and keys; bind 127.0.0.1, or configure tls "
			 "and client authentication", cfg->listen.host, cfg->listen.port);
	}
	srv.kms_connect_timeout_ms = cfg->kms_connect_timeout_ms;
	srv.kms_response_timeout_ms = cfg->kms_response_timeout_ms;
	srv.kms_max_attempts = cfg->kms_max_attempts;
	if (keycache_bootstrap(&srv) != 0)
		goto cleanup;
	if (bind_listeners(&srv, &cfg->listen) != 0)
		goto cleanup;
	srv.workers = calloc((size_t)srv.workers_len, sizeof(*srv.workers));
	if (srv.workers == NULL)
		goto cleanup;
	for (int i = 0; i < srv.workers_len; i++) {
		if (worker_init(&srv, &srv.workers[i], i) != 0) {
			log_error("worker %d: cannot start", i);
			goto cleanup;
		}
	}
	sigterm = evsignal_new(srv.main_base, SIGTERM, signal_stop_cb, &srv);
	sigint = evsignal_new(srv.main_base, SIGINT, signal_stop_cb, &srv);
	sighup = evsignal_new(srv.main_base, SIGHUP, signal_reload_cb, &srv);
	if (sighup == NULL || evsignal_add(sighup, NULL) != 0)
		goto cleanup;
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) != 0 ||
	    evsignal_add(sigint, NULL) != 0)
		goto cleanup;
	if (cfg->has_admin_listen && (admin = admin_start(&srv)) == NULL)
		goto cleanup;
	for (int i = 0; i < srv.workers_len; i++) {
		if (pthread_create(&srv.workers[i].thread, NULL, worker_main, &srv.workers[i]) != 0) {
			log_error("worker %d: cannot start its thread", i);
			srv.workers_len = i;
			goto cleanup;
		}
	}
	keycache_retry_start(&srv);
	log_info("dynaseal serving; upstream %s (region %s)", cfg->upstream_endpoint,
		 srv.region[0] ? srv.region : "from each client's signature");
	event_base_dispatch(srv.main_base);
	for (int i = 0; i < srv.workers_len; i++)
		pthread_join(srv.workers[i].thread, NULL);
	log_info("dynaseal stopped");
	status = 0;
cleanup:
	keycache_retry_stop(&srv);
	admin_stop(admin);
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	if (sighup != NULL)
		event_free(sighup);
	if (srv.workers != NULL) {
		for (int i = 0; i < srv.workers_len; i++)
			worker_cleanup(&srv.workers[i]);
		free(srv.workers);
	}
	if (srv.listen_fds != NULL) {
		for (int i = 0; i < srv.listen_fds_per_worker * srv.workers_len; i++) {
			if (srv.listen_fds[i] >= 0)
				close(srv.listen_fds[i]);
		}
		free(srv.listen_fds);
	}
	credentials_unref(srv.creds);
	cred_chain_free(srv.chain);
	if (srv.main_dns != NULL)
		evdns_base_free(srv.main_dns, 0);
	if (srv.main_base != NULL)
		event_base_free(srv.main_base);
	if (srv.upstream_ssl != NULL)
		SSL_CTX_free(srv.upstream_ssl);
	if (srv.listen_ssl != NULL)
		SSL_CTX_free(srv.listen_ssl);
	pthread_mutex_destroy(&srv.listen_ssl_lock);
	audit_close();
	config_release(srv.cfg);
	OPENSSL_cleanse(srv.cache_key, sizeof(srv.cache_key));
	return status;
}
