/*
 * A worker: one thread with its own event_base, resolver, upstream pool, KMS client, key cache
 * and client connections, so a request is served start to finish on one thread with no lock.
 * It reads what the server (server.h) shares and hears from other threads only through its
 * pipe.  Its config and the keyrings built from it form a generation, swapped on reload.
 */
#ifndef DS_WORKER_H
#define DS_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/queue.h>

#include <openssl/ssl.h>

#include "config/config.h"
#include "crypto/keyring/legacy_reader.h"
#include "crypto/aws/credentials.h"
#include "proxy/base/metrics.h"
#include "proxy/server.h"

struct event_base;
struct evdns_base;
struct event;
struct evconnlistener;
struct upstream_pool;
struct client_conn;
struct server;
struct keyring;
struct legacy_reader;
struct kms_client;
struct worker_gen;
struct worker;
struct cache;
struct cred_chain;
struct table_schemas;
struct table_schema;

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
	struct legacy_reader **legacy;       /* parallel to cfg->tables: the reader of a table's
					      * legacy items, NULL where it reads none */
	struct keyring **table_keyrings;     /* parallel to cfg->tables: the keyring of a table
					      * with read_keyrings (keyring_fallback.h) */
	int refs;                            /* the worker while current, requests, batches */
};

/* Builds a generation for w from cfg (which it holds).  NULL on failure (logged). */
struct worker_gen *worker_gen_new(struct worker *w, struct config *cfg) __attribute__((warn_unused_result));
struct worker_gen *worker_gen_hold(struct worker_gen *g);
void worker_gen_release(struct worker_gen *g);
/* The worker's keyring for a configured table of generation g. */
struct keyring *worker_gen_keyring(const struct worker_gen *g, const struct config_table *t);
/* The keyring of t's search block (its beacon keys) in generation g, or NULL. */
struct keyring *worker_gen_search_keyring(const struct worker_gen *g, const struct config_table *t);

/* Opens item, written by the legacy client, with the reader of t's legacy items in generation
 * g (legacy_reader_open: cb is called): 0, or -1 when t reads none. */
struct audit_ctx;
int worker_gen_legacy_open(const struct worker_gen *g, const struct config_table *t,
			   const cJSON *item, const struct audit_ctx *audit, legacy_reader_done_cb cb,
			   void *arg) __attribute__((warn_unused_result));

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
	struct table_schemas *schemas;       /* its configured tables' key schemas, learned in the
					      * background (serving workers only; may be NULL) */
	struct worker_gen *gen;              /* the config and keyrings new requests use */
	int notify_fd[2];                    /* a pipe: other threads write 'r' (reload), 's'      */
	struct event *notify_ev;             /* (drain), 'c' (cache key) or 't' (a table changed); */
					     /* open when set                                      */
	struct config *_Atomic pending_cfg;  /* the reloaded config, handed over with 'r' */
	struct client_list clients;          /* open client connections */
	unsigned long next_client_id;
	int draining;                        /* no new connections; exit when clients are idle */
	struct metrics metrics;              /* this worker's counters (it is the only writer) */
};




/* Everything of a worker but its listeners and thread: loop, resolver, upstream pool, KMS
 * client, keyrings.  Also used by the one-shot commands (inspect, doctor).  0 or -1. */
int worker_setup(struct server *srv, struct worker *w, int id) __attribute__((warn_unused_result));
void worker_cleanup(struct worker *w);
/* worker_setup, then a listener on each of the worker's listening sockets (which it takes). */
int worker_listen(struct server *srv, struct worker *w, int id) __attribute__((warn_unused_result));
/* The worker's thread: runs its loop until drained, then closes what is left. */
void *worker_main(void *arg);
/* Sends w 'r', 's', 'c' or 't' from another thread (a byte on its pipe). */
void worker_notify(struct worker *w, char what);
/* The key schema w learned for table (table_schema_cache.h), or NULL when not known. */
struct table_schema *worker_table_schema(const struct worker *w, const char *table);
/* Worker side: a CreateTable, UpdateTable or DeleteTable (deleted) of table passed through w:
 * its key schema is described again soon by w, every table's by the other workers. */
void worker_table_changed(struct worker *w, const char *table, int deleted);

/* Worker side: called by a client connection when it closes, so draining can finish. */
void worker_client_closed(struct worker *w);

#endif
