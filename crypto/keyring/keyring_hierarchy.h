/*
 * The AWS KMS hierarchical keyring (MPL framework/aws-kms/aws-kms-hierarchical-keyring.md):
 * item data keys are wrapped under a branch key (keyring_branch_wrap), and branch keys come
 * from the key store (branch_store.h), opened by one KMS Decrypt and then cached for ttl_s
 * seconds (keyring_hierarchy_set_cache), so a million writes cost about one KMS call per TTL.
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

struct cache;

/*
 * A keyring for c (type aws-kms-hierarchical) on a worker: key store reads go through ddb (the
 * keyring takes ownership) and kms (not owned).
 */
struct keyring *keyring_hierarchy_new(const struct config_keyring *c, struct ddb_client *ddb,
				      struct kms_client *kms) __attribute__((warn_unused_result));
/*
 * Keeps branch keys in cache (not owned; the worker's: in process, then sealed in Redis) for the
 * keyring's ttl_s under "<key store table>/<branch key id>/ACTIVE" or ".../<version uuid>";
 * concurrent misses for one key on a worker make one key store read.  NULL (the default): every
 * operation reads the store.
 */
void keyring_hierarchy_set_cache(struct keyring *k, struct cache *cache);
/*
 * The string value of attribute attr as the item's encryption context holds it
 * ("aws-crypto-attr.<attr>": version 1 base64 of type and value, version 2 the string itself
 * per "aws-crypto-legend"), copied to out.  Only string (S) attributes name a branch key.
 * Returns 0, or -1 with err naming the attribute.
 */
int keyring_hierarchy_attr_value(const struct enc_ctx *ec, const char *attr, char *out, size_t cap,
				 struct ds_error *err) __attribute__((warn_unused_result));


#endif
