/*
 * Encrypt and decrypt one DynamoDB item (cJSON, DynamoDB JSON) in the DB-ESDK v3 format
 * (dynamodb-encryption-client/encrypt-item.md, decrypt-item.md; structured-encryption/)..
 *
 * Write:  item_encrypt_materials() -> keyring_on_encrypt() -> item_encrypt()
 * Read:   item_read_header() -> item_decrypt_materials() -> keyring_on_decrypt()
 *         -> item_decrypt()
 * Errors name the table, the attribute and the problem, never a value.
 */
#ifndef DS_ITEM_CRYPT_H
#define DS_ITEM_CRYPT_H

#include <cjson/cJSON.h>

#include "config/config.h"
#include "crypto/item/item_header.h"
#include "crypto/item/materials.h"
#include "proxy/base/error.h"

#define ITEM_HEAD_ATTR "aws_dbe_head"
#define ITEM_FOOT_ATTR "aws_dbe_foot"
#define ITEM_RESERVED_PREFIX "aws_dbe_"

/* Whether the attribute name (len bytes, not necessarily NUL-terminated) starts with the
 * prefix the encryption format reserves. */
int item_name_is_reserved(const char *name, size_t len);

/*
 * The encryption context a write of item gets (encrypt-item.md#dynamodb-item-base-context,
 * plus the SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT attributes and "aws-crypto-legend" for a
 * version 2 configuration).  Every pair is marked required: it is rebuilt from the item on
 * read and never stored in the header.  ec must be initialized (ec_init).
 */
int item_encryption_context(const struct config_table *t, const cJSON *item, struct enc_ctx *ec,
			    struct ds_error *err) __attribute__((warn_unused_result));

/*
 * Prepares m for a write: materials_init with the table's suite (default 0x6700), the
 * encryption context of item and, for 0x6701, a fresh ECDSA P-384 key whose compressed public
 * key goes in the context as "aws-crypto-public-key".  The caller cleans m up.
 */
int item_encrypt_materials(const struct config_table *t, const cJSON *item, struct materials *m,
			   struct ds_error *err) __attribute__((warn_unused_result));

/*
 * Encrypts and signs item in place with materials a keyring has completed: ENCRYPT_AND_SIGN
 * attributes become {"B": type id + ciphertext}, aws_dbe_head and aws_dbe_foot are added.
 * Refuses attributes named aws_dbe_*, attributes with no action that are not allowed
 * unsigned, and an item without its key attributes.  On error the item is unchanged.
 */
int item_encrypt(const struct config_table *t, struct materials *m, cJSON *item,
		 struct ds_error *err) __attribute__((warn_unused_result));

/* Appends the bytes of a {"B": base64} attribute value to out; -1 when av is missing, not
 * exactly one binary value, or out of memory (out->failed). */
int item_binary_bytes(const cJSON *av, struct bufwrite *out) __attribute__((warn_unused_result));

/* 1 when item has neither aws_dbe_head nor aws_dbe_foot (a plaintext item). */
int item_is_plaintext(const cJSON *item);

/*
 * Parses item's aws_dbe_head and computes the full encryption context (stored + rebuilt
 * from the item) into h->ec.  The caller cleans h up with item_header_cleanup.
 */
int item_read_header(const struct config_table *t, const cJSON *item, struct item_header *h,
		     struct ds_error *err) __attribute__((warn_unused_result));

/* Prepares m for a read: suite, context and, for 0x6701, the verification key from h. */
int item_decrypt_materials(const struct config_table *t, const struct item_header *h,
			   struct materials *m, struct ds_error *err)
	__attribute__((warn_unused_result));

/*
 * Verifies (commitment, recipient tag, ECDSA signature) and decrypts item in place with the
 * materials a keyring opened: attributes get their original types back and aws_dbe_head and
 * aws_dbe_foot are removed.  Any tampering is refused; on error the item is unchanged.
 */
int item_decrypt(const struct config_table *t, const struct materials *m,
		 const struct item_header *h, cJSON *item, struct ds_error *err)
	__attribute__((warn_unused_result));

#endif
