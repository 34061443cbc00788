/*
 * Reading an item the legacy DynamoDB Encryption Client wrote (aws-dynamodb-encryption-python,
 * encrypted/item.py decrypt_dynamodb_item): parse "*amzn-ddb-map-desc*", verify
 * "*amzn-ddb-map-sig*" over the stored item, find the content key and decrypt every
 * ENCRYPT_AND_SIGN attribute (AES, the mode the description names: "/CBC/PKCS5Padding",
 * the IV in the first 16 bytes of the ciphertext).
 *
 * Static and wrapped materials:  legacy_item_open(m, ...)
 * AWS KMS materials:             legacy_item_read_desc() -> KMS Decrypt of "amzn-ddb-env-key"
 *                                -> legacy_materials_from_kms() -> legacy_item_open()
 * Errors name the table, the attribute and the problem, never a value or a key.
 */
#ifndef DS_LEGACY_ITEM_H
#define DS_LEGACY_ITEM_H

#include <cjson/cJSON.h>

#include "crypto/legacy/legacy_desc.h"
#include "crypto/legacy/legacy_materials.h"
#include "crypto/legacy/legacy_sign.h"
#include "proxy/base/error.h"

/* The only attribute mode the legacy client writes (MaterialDescriptionValues). */
#define LEGACY_SYM_MODE_CBC "/CBC/PKCS5Padding"

/* 1 when item (DynamoDB JSON) carries the legacy signature or material description. */
int legacy_item_is_legacy(const cJSON *item);

/*
 * Parses the item's "*amzn-ddb-map-desc*" into d (initialized by the call) and checks that it
 * names only what the legacy providers write, with values dynaseal can read.  The caller
 * cleans d up.
 */
int legacy_item_read_desc(const char *table, const cJSON *item, struct legacy_desc *d,
			  struct ds_error *err) __attribute__((warn_unused_result));

/*
 * Verifies and decrypts a stored legacy item: *out is a new item (the caller frees it) with
 * the encrypted attributes decrypted and the two legacy attributes removed.  With actions
 * that take no action at all the item is copied as it is, as the legacy client does.
 * Any changed byte of a signed value, the signature or the description is refused.
 */
int legacy_item_open(const struct legacy_materials *m, const char *table,
		     const struct legacy_actions *a, const cJSON *item, cJSON **out,
		     struct ds_error *err) __attribute__((warn_unused_result));

#endif
