/*
 * Beacons of the AWS Database Encryption SDK's searchable encryption
 * (specification/searchable-encryption/beacons.md and search-config.md): a truncated HMAC of
 * an attribute's plaintext stored beside its ciphertext, so that DynamoDB can find equal values
 * without seeing them.
 *
 *   HMAC key of a beacon = HKDF-SHA512(ikm: the beacon key, no salt,
 *                                      info: "AWS_DBE_SCAN_BEACON" || beacon name, 64 bytes)
 *   beacon = the rightmost `length` bits of the first 8 bytes of HMAC-SHA384(HMAC key, value),
 *            as ceil(length / 4) lower-case hex digits
 *
 * where the value is the attribute's serialization without its type id (a string's UTF-8,
 * its NUL the byte 0x00 and not the tree's stand-in of proxy/base/json_nul.h; a number
 * normalized; a binary's bytes), with the partition number appended as one byte when it is
 * not 0.  Pure computation: no I/O, no key caching.
 */
#ifndef DS_BEACON_H
#define DS_BEACON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define BEACON_KEY_LEN       64     /* a beacon's HMAC key */
#define BEACON_MAX_LENGTH    63     /* bits; the DB-ESDK's bounds are 1..63 */
#define BEACON_HEX_MAX       16     /* hex digits of the longest beacon */
#define BEACON_ATTR_PREFIX   "aws_dbe_b_"

/* The HMAC key of beacon name from the beacon key.  0, or -1 on a crypto failure. */
int beacon_hmac_key(const unsigned char *beacon_key, size_t key_len, const char *name,
		    unsigned char out[BEACON_KEY_LEN]) __attribute__((warn_unused_result));

/* The DB-ESDK's basicHash of data (with the partition byte when partition is not 0) under
 * key (a beacon's HMAC key: BEACON_KEY_LEN bytes), length bits (1..63) as hex into out
 * (BEACON_HEX_MAX + 1 bytes).  0, or -1. */
int beacon_hash(const unsigned char *key, size_t key_len, const unsigned char *data, size_t len,
		unsigned int length, uint8_t partition, char out[BEACON_HEX_MAX + 1])
	__attribute__((warn_unused_result));

/* The beacon of an attribute value (DynamoDB JSON: {"S": ...}, {"N": ...} or {"B": ...}).
 * 0, or -1 with *why set to a static reason (another type, a malformed value). */
int beacon_value(const unsigned char key[BEACON_KEY_LEN], const cJSON *av, unsigned int length,
		 char out[BEACON_HEX_MAX + 1], const char **why) __attribute__((warn_unused_result));

#endif
