/*
 * Where the key cache meets the server: the cache key that seals Redis entries, each worker's
 * cache (cache/cache.h), and the adaptor that gives the hierarchical keyring that cache as its
 * shared layer.
 *
 * The cache key is a KMS data key: its wrapped form (KMS CiphertextBlob) is kept in Redis under
 * "dynaseal:v1:cache-key:<hash of the KMS key ARN>", made once by whichever replica comes first
 * (SET NX), and unwrapped once per replica at start-up.  Redis alone therefore holds nothing
 * usable: every entry is sealed under a key only holders of kms:Decrypt on that KMS key get.
 */
#ifndef DS_KEYCACHE_H
#define DS_KEYCACHE_H

struct server;
struct worker;
struct keyring;

/*
 * At start-up, with cache.redis configured: obtains srv->cache_key (blocking, bounded by
 * timeouts).  Without a KMS keyring the cache runs in process only (logged); when Redis or KMS
 * cannot be reached, it does so until keycache_retry_start's thread gets the key.  Returns 0
 * either way; -1 only when memory runs out.
 */
int keycache_bootstrap(struct server *srv) __attribute__((warn_unused_result));
/*
 * When keycache_bootstrap could not obtain the cache key (Redis or KMS unreachable at
 * start-up), a thread tries again with a backoff (1 s doubling to 30 s) until it succeeds or
 * keycache_retry_stop; on success every worker is sent 'c' and adds Redis to its cache
 * (keycache_worker_attach).  Start after the workers exist; stop before they are cleaned up.
 */
void keycache_retry_start(struct server *srv);
void keycache_retry_stop(struct server *srv);
/* Builds w->cache on the worker's loop.  0 or -1. */
int keycache_worker_init(struct worker *w) __attribute__((warn_unused_result));
/* On the worker's thread: adds the Redis layer to w->cache once the cache key is known. */
void keycache_worker_attach(struct worker *w);

#endif
