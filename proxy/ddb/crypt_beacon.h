/*
 * The beacons of an item written to a table with a "search" block, as the DB-ESDK's DynamoDB
 * layer adds them (dynamodb-encryption-client/ddb-support.md, "AddSignedBeacons" and
 * "GetEncryptedBeacons"): for every standard beacon whose attribute the item has,
 * "aws_dbe_b_<name>" = {"S": the beacon of the plaintext value}, for every compound beacon
 * the item can build "aws_dbe_b_<name>" = {"S": its parts}, and the version tag
 * "aws_dbe_v_1" = {"S": " "}.  Both are outside the signature (the aws_dbe_ prefix is never
 * signed), so they are added after encryption; on reads every aws_dbe_ attribute is removed
 * ("RemoveBeacons").
 */
#ifndef DS_CRYPT_BEACON_H
#define DS_CRYPT_BEACON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "config/config.h"
#include "proxy/base/error.h"

#define CRYPT_BEACON_VERSION_TAG "aws_dbe_v_1"

/*
 * The beacon attributes of plain (a plaintext item of table t, which has a search block) under
 * beacon_key: a new object holding "aws_dbe_b_<name>" for each standard beacon the item can
 * build, "aws_dbe_b_<name>" for each compound beacon one of whose constructors it meets
 * (crypt_compound.h), and the version tag.  NULL with err (naming the table and attribute)
 * when a beaconed attribute is not a string, number or binary, a part of a compound beacon
 * holds its split character, or on a crypto or memory failure.
 */
cJSON *crypt_beacons_of(const struct config_table *t, const unsigned char *beacon_key,
			size_t key_len, const cJSON *plain, struct ds_error *err)
	__attribute__((warn_unused_result));

/*
 * Replaces av (an attribute value a request compares with beacon name of table t) by its
 * beacon, {"S": hex}.  0, or -1 with err when av is not a string, number or binary.  For a
 * compound beacon av is the plaintext virtual field and becomes its beacon form
 * (crypt_compound_query; prefix: compared by begins_with).
 */
int crypt_beacon_value(const struct config_table *t, const unsigned char *beacon_key, size_t key_len,
		       const char *name, int prefix, cJSON *av, struct ds_error *err)
	__attribute__((warn_unused_result));

/* Moves every attribute of beacons (which it frees) into item. */
void crypt_beacons_merge(cJSON *item, cJSON *beacons);

/* Removes every attribute whose name starts with aws_dbe_ from a decrypted item. */
void crypt_beacons_strip(cJSON *item);

/*
 * The value of attribute attr of plain (the branch_key_id_attribute that chooses the beacon
 * key) into out.  0, or -1 with err when the item lacks it or it is not a string of at most
 * cap - 1 bytes: without it no beacon key can be chosen.
 */
int crypt_beacon_tenant(const struct config_table *t, const char *attr, const cJSON *plain,
			char *out, size_t cap, struct ds_error *err) __attribute__((warn_unused_result));

#endif
