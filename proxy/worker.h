/*
 * The server and its workers.  The server (main thread) owns what every worker reads and
 * nobody writes after start: the config, the TLS client context, the listening sockets.  Each
 * worker is a thread with its own event_base, resolver, upstream pools and client connections,
 * so a request is served start to finish on one thread with no lock.
 */
#ifndef DS_WORKER_H
#define DS_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/queue.h>

#include <openssl/ssl.h>

#include "config/config.h"
#include "crypto/aws/credentials.h"
#include "proxy/base/metrics.h"

struct event_base;
struct evdns_base;
struct event;
struct evconnlistener;
struct upstream_pool;
struct client_conn;
struct server;
struct keyring;
struct kms_client;
struct worker_gen;
struct worker;
struct cache;
struct cred_chain;

TAILQ_HEAD(client_list, client_conn);

/*
 * What a worker serves requests with: a config and the keyrings built from it on that worker.
 * A request (and a crypt batch it left behind) holds a reference, so SIGHUP can swap in a new
 * generation without disturbing requests in flight.  Used by its worker's thread only.
 */
struct worker_gen {
	struct config *cfg;                  /* held (config_hold) */
	struct keyring **keyrings;           /* parallel to cfg->keyrings */
	size_t keyrings_len;
	int refs;                            /* the worker while current, requests, batches */
};

/* Builds a generation for w from cfg (which it holds).  NULL on failure (logged). */
struct worker_gen *worker_gen_new(struct worker *w, struct config *cfg) __attribute__((warn_unused_result));
struct worker_gen *worker_gen_hold(struct worker_gen *g);
void worker_gen_release(struct worker_gen *g);
/* The worker's keyring for a configured table of generation g. */
struct keyring *worker_gen_keyring(const struct worker_gen *g, const struct config_table *t);

/* One worker thread. */
struct worker {
	int id;                              /* 0 .. workers-1 */
	struct server *server;               /* shared, read-only after start */
	pthread_t thread;
	struct event_base *base;             /* this worker's loop */
	struct evdns_base *dns;              /* this worker's resolver */
	struct evconnlistener **listeners;   /* one per listening socket */
	int listeners_len;
	struct upstream_pool *dynamodb;      /* pooled connections to the upstream */
	struct kms_client *kms;              /* this worker's KMS client, when a keyring needs KMS */
	struct cache *cache;                 /* this worker's key cache (L1, and Redis when shared) */
	struct worker_gen *gen;              /* the config and keyrings new requests use */
	int notify_fd[2];                    /* a pipe: other threads write 'r' (reload), 's'      */
	struct event *notify_ev;             /* (drain) or 'c' (cache key); open when set         */
	struct config *_Atomic pending_cfg;  /* the reloaded config, handed over with 'r' */
	struct client_list clients;          /* open client connections */
	unsigned long next_client_id;
	int draining;                        /* no new connections; exit when clients are idle */
	struct metrics metrics;              /* this worker's counters (it is the only writer) */
};

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
};

/* Sends every worker 'r' (reload), 's' (drain) or 'c' (the cache key is known now). */
void server_notify_workers(struct server *srv, char what);

/* Builds the server from a config (which it takes), binds the listeners, starts the workers and
 * runs until SIGTERM/SIGINT.  Returns the process exit status. */
int server_run(struct config *cfg, int workers);

/* Everything of a worker but its listeners and thread: loop, resolver, upstream pool, KMS
 * client, keyrings.  Also used by the one-shot commands (inspect, doctor).  0 or -1. */
int worker_setup(struct server *srv, struct worker *w, int id) __attribute__((warn_unused_result));
void worker_cleanup(struct worker *w);
/* A TLS server context from PEM files (TLS 1.2+).  NULL on failure (logged). */
SSL_CTX *server_tls_ctx_new(const char *cert_file, const char *key_file) __attribute__((warn_unused_result));
/* A new TLS session for an accepted connection, or NULL when the listener is plain http. */
SSL *server_tls_session(struct server *srv);
/* Sets srv->region: upstream.region, else AWS_REGION, else AWS_DEFAULT_REGION, else "". */
void server_pick_region(struct server *srv);

/* Worker side: called by a client connection when it closes, so draining can finish. */
void worker_client_closed(struct worker *w);

#endif
