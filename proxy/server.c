/*
 * Process start-up and shutdown: listening sockets (SO_REUSEPORT, one per worker and address,
 * so the kernel spreads connections with no accept lock), worker threads, signals.
 */
#include "proxy/server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "crypto/aws/cred_chain.h"
#include "crypto/aws/kms_alias.h"
#include "proxy/admin.h"
#include "proxy/base/audit.h"
#include "proxy/keycache.h"
#include "proxy/base/log.h"
#include "proxy/net/upstream.h"
#include "proxy/worker.h"

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

void server_notify_workers(struct server *srv, char what)
{
	for (int i = 0; i < srv->workers_len; i++)
		worker_notify(&srv->workers[i], what);
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

int server_resolve_aliases(struct server *srv, struct config *cfg, struct config_problems *problems)
{
	const struct kms_alias_env env = { srv->upstream_ssl, srv->region, srv->creds,
					   srv->kms_connect_timeout_ms, srv->kms_response_timeout_ms,
					   srv->kms_max_attempts };

	return kms_alias_resolve(cfg, &env, srv->kms_aliases, problems);
}

/* One line per keyring named by alias: the key it writes with, and the older keys it reads
 * (what a re-pointed alias means after a reload).  old is the config before, or NULL. */
static void log_aliases(const char *prefix, const struct config *cfg, const struct config *old)
{
	for (size_t i = 0; i < cfg->keyrings_len; i++) {
		const struct config_keyring *kr = &cfg->keyrings[i];
		const struct config_keyring *was = NULL;
		enum config_kms_ref ref = config_kms_ref(config_keyring_kms_name(kr));
		if ((ref != KMS_REF_ALIAS_NAME && ref != KMS_REF_ALIAS_ARN) || kr->kms_arn == NULL)
			continue;
		for (size_t j = 0; old != NULL && j < old->keyrings_len; j++) {
			if (strcmp(old->keyrings[j].name, kr->name) == 0)
				was = &old->keyrings[j];
		}
		if (was != NULL && was->kms_arn != NULL && strcmp(was->kms_arn, kr->kms_arn) != 0)
			log_warn("%skeyring %s: alias %s now names %s (was %s): new items use it; reads "
				 "still accept %zu other key(s)", prefix, kr->name,
				 config_keyring_kms_name(kr), kr->kms_arn, was->kms_arn,
				 kr->accept_arns_len - 1);
		else
			log_info("%skeyring %s: alias %s names %s; reads accept %zu key(s)", prefix,
				 kr->name, config_keyring_kms_name(kr), kr->kms_arn, kr->accept_arns_len);
	}
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
	if (server_resolve_aliases(srv, cfg, &problems) != 0) {
		for (size_t i = 0; i < problems.len; i++)
			log_error("reload: %s", problems.msgs[i]);
		log_error("reload: a KMS alias of %s cannot be used; still serving with the config "
			  "loaded before", old->path);
		config_problems_free(&problems);
		config_release(cfg);
		return;
	}
	config_problems_free(&problems);
	log_aliases("reload: ", cfg, old);
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
	srv.kms_aliases = kms_alias_seen_new();
	if (srv.kms_aliases == NULL)
		goto cleanup;
	{
		struct config_problems problems = { 0 };
		int rc = server_resolve_aliases(&srv, cfg, &problems);
		for (size_t i = 0; i < problems.len; i++)
			log_error("%s", problems.msgs[i]);
		config_problems_free(&problems);
		if (rc != 0)
			goto cleanup;
		log_aliases("", cfg, NULL);
	}
	if (keycache_bootstrap(&srv) != 0)
		goto cleanup;
	if (bind_listeners(&srv, &cfg->listen) != 0)
		goto cleanup;
	srv.workers = calloc((size_t)srv.workers_len, sizeof(*srv.workers));
	if (srv.workers == NULL)
		goto cleanup;
	for (int i = 0; i < srv.workers_len; i++) {
		if (worker_listen(&srv, &srv.workers[i], i) != 0) {
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
	kms_alias_seen_free(srv.kms_aliases);
	OPENSSL_cleanse(srv.cache_key, sizeof(srv.cache_key));
	return status;
}
