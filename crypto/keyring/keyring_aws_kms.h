/*
 * The AWS KMS keyring (MPL framework/aws-kms/aws-kms-keyring.md) with the intermediate key
 * wrapping the DB-ESDK suites use: the item's data key is sealed under a key derived from an
 * intermediate key that KMS generates (GenerateDataKey) and later opens (Decrypt).  The EDK is
 * provider id "aws-kms", provider info the key ARN, ciphertext = sealed data key (48 bytes) ||
 * KMS CiphertextBlob.
 */
#ifndef DS_KEYRING_AWS_KMS_H
#define DS_KEYRING_AWS_KMS_H

#include "config/config.h"
#include "crypto/keyring/keyring.h"
#include "crypto/aws/kms_client.h"

/* A keyring for c->key_id whose KMS calls go through client (not owned). */
struct keyring *keyring_aws_kms_new(const struct config_keyring *c, struct kms_client *client)
	__attribute__((warn_unused_result));

struct cache;
/*
 * Caches the keys KMS unwraps (per item: the intermediate key of its EDK) in cache (not owned;
 * the worker's, with its TTL), by SHA-256 of the KMS ciphertext and the encryption context, so
 * reading the same items again does not call KMS, and concurrent first reads of one item on a
 * worker make one Decrypt (cache_get_or_fetch).  NULL turns caching off.
 */
void keyring_aws_kms_set_cache(struct keyring *k, struct cache *cache);

#endif
