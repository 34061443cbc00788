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
 * timeouts).  Without a KMS keyring, or when Redis or KMS cannot be reached, the cache runs in
 * process only (logged).  Returns 0 either way; -1 only when memory runs out.
 */
int keycache_bootstrap(struct server *srv) __attribute__((warn_unused_result));
/* Builds w->cache on the worker's loop.  0 or -1. */
int keycache_worker_init(struct worker *w) __attribute__((warn_unused_result));
/* Plugs w's cache into a hierarchical keyring as its shared layer. */
void keycache_attach_hierarchy(struct worker *w, struct keyring *k);

#endif
