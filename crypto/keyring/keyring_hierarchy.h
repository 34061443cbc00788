/*
 * The AWS KMS hierarchical keyring (MPL framework/aws-kms/aws-kms-hierarchical-keyring.md):
 * item data keys are wrapped under a branch key (keyring_branch_wrap), and branch keys come
 * from the key store (branch_store.h), opened by one KMS Decrypt and then cached for ttl_s
 * seconds in the worker, so a million writes cost about one KMS call per TTL per worker.
 *
 * The branch key id is fixed, or chosen per item from an attribute of the encryption context
 * through the "branch_key_ids" map (one key per tenant): deleting a tenant's key from the
 * store makes its items unreadable once caches expire.  Concurrent misses for one branch key
 * (id and version) make a single key store read.
 */
#ifndef DS_KEYRING_HIERARCHY_H
#define DS_KEYRING_HIERARCHY_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "crypto/keyring/branch_store.h"
#include "crypto/keyring/keyring.h"

struct event_base;

/* Completion of a shared-cache lookup: key NULL on a miss (or any cache failure). */
typedef void (*hierarchy_shared_get_cb)(void *arg, const struct branch_key *key);

/*
 * The hook for a cache shared beyond one worker (L2: Redis under cache/, sealed).  On a miss of
 * the worker's own cache, get is asked before the key store; after a key store read, put is
 * given the key.  cache_id names the entry: "<key store table>/<branch key id>/ACTIVE" or
 * ".../<version uuid>".  get must call cb exactly once; a failure is a miss, never an error.
 */
struct hierarchy_shared_cache {
	void (*get)(void *ctx, const char *cache_id, hierarchy_shared_get_cb cb, void *arg);
	void (*put)(void *ctx, const char *cache_id, const struct branch_key *key, int ttl_s);
};

/*
 * A keyring for c (type aws-kms-hierarchical) on a worker: key store reads go through ddb (the
 * keyring takes ownership) and kms (not owned); base runs the cache's expiry sweep.
 */
struct keyring *keyring_hierarchy_new(const struct config_keyring *c, struct event_base *base,
				      struct ddb_client *ddb, struct kms_client *kms)
	__attribute__((warn_unused_result));
/* Plugs a shared cache in (ops and ctx outlive the keyring); NULL ops unplugs it. */
void keyring_hierarchy_set_shared_cache(struct keyring *k, const struct hierarchy_shared_cache *ops,
					void *ctx);
/* Key store reads (one KMS Decrypt each) this keyring has made, for tests and metrics. */
uint64_t keyring_hierarchy_store_reads(const struct keyring *k);

/*
 * The string value of attribute attr as the item's encryption context holds it
 * ("aws-crypto-attr.<attr>": version 1 base64 of type and value, version 2 the string itself
 * per "aws-crypto-legend"), copied to out.  Only string (S) attributes name a branch key.
 * Returns 0, or -1 with err naming the attribute.
 */
int keyring_hierarchy_attr_value(const struct enc_ctx *ec, const char *attr, char *out, size_t cap,
				 struct ds_error *err) __attribute__((warn_unused_result));

#endif
