/*
 * The one keyring factory: every keyring type is built from its config here, so a new type
 * is added in one place.  The local keyrings (raw-aes, static-branch-key) need nothing more;
 * the KMS ones get an event loop's clients and key cache through keyring_env.
 */
#ifndef DS_KEYRING_FACTORY_H
#define DS_KEYRING_FACTORY_H

#include "config/config.h"
#include "crypto/keyring/keyring.h"
#include "proxy/base/error.h"

struct cache;
struct ddb_client;
struct kms_client;

/*
 * What the keyrings that call AWS are built with, on one event loop (a worker's).  kms gives
 * the loop's KMS client (made on first use; not owned by the keyring); ddb makes a DynamoDB
 * client for key store reads (owned by the keyring); cache (not owned, may be NULL) keeps
 * unwrapped keys.  ctx is handed to kms and ddb.
 */
struct keyring_env {
	struct kms_client *(*kms)(void *ctx, struct ds_error *err);
	struct ddb_client *(*ddb)(void *ctx, struct ds_error *err);
	struct cache *cache;
	void *ctx;
};

/*
 * The one factory: builds c's keyring, whatever its type.  env is needed by aws-kms and
 * aws-kms-hierarchical (NULL builds the local ones only: raw-aes, static-branch-key).  NULL
 * with err set when c cannot be built.
 */
struct keyring *keyring_new_from_config(const struct config_keyring *c,
					const struct keyring_env *env, struct ds_error *err)
	__attribute__((warn_unused_result));

#endif
