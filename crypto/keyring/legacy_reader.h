/*
 * Reading one table's legacy items (those the legacy DynamoDB Encryption Client wrote) with
 * the keys of its "legacy" block, on one worker: the static and wrapped providers' materials
 * are built once from the config; the AWS KMS provider's are made per item from a KMS Decrypt
 * of the item's "amzn-ddb-env-key" under the legacy provider's encryption context
 * (aws-dynamodb-encryption-python, material_providers/aws_kms.py _kms_encryption_context):
 *   "*amzn-ddb-env-alg*"  the description's amzn-ddb-env-alg
 *   "*amzn-ddb-sig-alg*"  the description's amzn-ddb-sig-alg
 *   partition and sort key names  their values (S and N as stored, B in base64)
 *   "*aws-kms-table*"     the table name
 * The table name the legacy client signed with is the table's logical_name (as the DB-ESDK's
 * legacy override, which passes its logicalTableName); errors name the physical table.
 */
#ifndef DS_LEGACY_READER_H
#define DS_LEGACY_READER_H

#include <cjson/cJSON.h>

#include "config/config.h"
#include "crypto/keyring/keyring_factory.h"
#include "proxy/base/error.h"

struct legacy_reader;
struct audit_ctx;

/* Called once: plain is a new plaintext item (the callee's to free) or NULL with err set. */
typedef void (*legacy_reader_done_cb)(void *arg, cJSON *plain, const struct ds_error *err);

/*
 * The reader of table t (which has a legacy block with a provider and attribute actions).
 * env gives the KMS client for the aws-kms provider (made on its first item).  t and its
 * config must outlive the reader.  NULL with err set when the keys cannot be used.
 */
struct legacy_reader *legacy_reader_new(const struct config_table *t, const struct keyring_env *env,
					struct ds_error *err) __attribute__((warn_unused_result));
void legacy_reader_free(struct legacy_reader *r);

/*
 * Verifies and decrypts item (a legacy item as stored, borrowed until cb is called); audit
 * (may be NULL) is handed to the KMS call.  cb may be called before this returns.
 */
void legacy_reader_open(struct legacy_reader *r, const cJSON *item, const struct audit_ctx *audit,
			legacy_reader_done_cb cb, void *arg);

#endif
