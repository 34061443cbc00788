/*
 * The server: the process and what every worker reads and nobody writes after start (the
 * config, the TLS contexts, the credentials, the listening sockets).  It binds the listeners,
 * starts one worker thread per core (worker.h) and handles the signals: SIGTERM/SIGINT drain,
 * SIGHUP reloads.
 */
#ifndef DS_SERVER_H
#define DS_SERVER_H

#include <pthread.h>
#include <stdatomic.h>

#include <openssl/ssl.h>

#include "config/config.h"
#include "crypto/aws/credentials.h"

struct evdns_base;
struct event_base;
struct cred_chain;
struct keycache_retry;
struct worker;

/* The whole process. */
struct server {
	struct config *cfg;                  /* the config in force */
	SSL_CTX *upstream_ssl;               /* client TLS context for https upstreams and KMS */
	SSL_CTX *listen_ssl;                 /* server TLS context (tls.*), or NULL for http; replaced
					      * on SIGHUP under listen_ssl_lock */
	pthread_mutex_t listen_ssl_lock;     /* guards listen_ssl while a connection takes it */
	struct credentials *creds;           /* the sidecar's own credentials (refreshed by chain) */
	struct cred_chain *chain;            /* where creds come from and are refreshed */
	struct evdns_base *main_dns;         /* the main loop's resolver (STS, IMDS names) */
	char region[64];                     /* signing region: config, AWS_REGION, or "" */
	int *listen_fds;                     /* bound sockets (SO_REUSEPORT), one set per worker */
	int listen_fds_per_worker;
	struct worker *workers;
	int workers_len;
	struct event_base *main_base;        /* signals */
	int drain_deadline_ms;               /* how long SIGTERM waits for in-flight requests */
	unsigned char cache_key[32];         /* seals Redis entries (keycache.c); wiped at exit */
	_Atomic int cache_key_ok;            /* cache_key holds a key: Redis is shared */
	struct keycache_retry *cache_retry;  /* keycache.c: finding the key after start-up */
	int kms_connect_timeout_ms;          /* config "kms" at start-up: every KMS client's */
	int kms_response_timeout_ms;         /* limits (kms_client_set_limits) */
	int kms_max_attempts;
	struct kms_alias_seen *kms_aliases;  /* the keys each configured alias named so far */
};

/*
 * Pins the KMS keyrings of cfg named by alias to the keys their aliases name now (kms_alias.h),
 * remembering them in srv->kms_aliases when it is set.  Returns 0, or -1 with one message per
 * alias that cannot be used in problems.
 */
int server_resolve_aliases(struct server *srv, struct config *cfg, struct config_problems *problems)
	__attribute__((warn_unused_result));

/* Builds the server from a config (which it takes), binds the listeners, starts the workers and
 * runs until SIGTERM/SIGINT.  Returns the process exit status. */
int server_run(struct config *cfg, int workers);

/* Sends every worker 'r' (reload), 's' (drain) or 'c' (the cache key is known now). */
void server_notify_workers(struct server *srv, char what);
/* A TLS server context from PEM files (TLS 1.2+).  NULL on failure (logged). */
SSL_CTX *server_tls_ctx_new(const char *cert_file, const char *key_file) __attribute__((warn_unused_result));
/* A new TLS session for an accepted connection, or NULL when the listener is plain http. */
SSL *server_tls_session(struct server *srv);
/* Sets srv->region: upstream.region, else AWS_REGION, else AWS_DEFAULT_REGION, else "". */
void server_pick_region(struct server *srv);

#endif
