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
#include "crypto/keyring.h"
#include "crypto/kms_client.h"

/* A keyring for c->key_id whose KMS calls go through client (not owned). */
struct keyring *keyring_aws_kms_new(const struct config_keyring *c, struct kms_client *client)
	__attribute__((warn_unused_result));

#endif
