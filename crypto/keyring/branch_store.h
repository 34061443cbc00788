/*
 * The branch key store (MPL framework/branch-key-store.md, hierarchy version 1): branch keys
 * live in a DynamoDB table with partition key "branch-key-id" and sort key "type", three kinds
 * of item per key — "branch:ACTIVE" (the version in use, with a "version" attribute),
 * "branch:version:<uuid>" (every version, DECRYPT_ONLY) and "beacon:ACTIVE" — each holding in
 * "enc" a KMS ciphertext whose encryption context is every other attribute of the item plus
 * "tablename" (the logical key store name; here the table name).
 *
 * The pure parts (encryption contexts, items to and from DynamoDB JSON) are separate from the
 * asynchronous operations so they can be tested without servers.
 */
#ifndef DS_BRANCH_STORE_H
#define DS_BRANCH_STORE_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "crypto/aws/ddb_client.h"
#include "crypto/keyring/keyring.h"
#include "crypto/aws/kms_client.h"
#include "crypto/item/materials.h"
#include "proxy/base/error.h"

/* Length of a UUID string without its NUL. */
#define BRANCH_UUID_STRLEN 36

/* The three kinds of key store item (branch-key-store.md#record-format). */
enum branch_item_kind {
	BRANCH_ITEM_ACTIVE = 0,     /* "branch:ACTIVE" */
	BRANCH_ITEM_VERSION,        /* "branch:version:<version>" (DECRYPT_ONLY) */
	BRANCH_ITEM_BEACON,         /* "beacon:ACTIVE" */
};

/* A key store item read from the table, checked against the record format. */
struct branch_item {
	enum branch_item_kind kind;
	char *branch_key_id;                      /* "branch-key-id", owned */
	char version[BRANCH_UUID_STRLEN + 1];     /* the branch key version; "" for a beacon item */
	char *kms_arn;                            /* "kms-arn", owned */
	struct enc_ctx ec;                        /* the KMS encryption context the item implies */
	unsigned char *enc;                       /* "enc": the KMS ciphertext, owned */
	size_t enc_len;
};

/* A branch key opened by KMS (structures.md#branch-key-materials); wipe with
 * branch_key_wipe. */
struct branch_key {
	char branch_key_id[256];                  /* its id */
	char version[BRANCH_UUID_STRLEN + 1];     /* version as a UUID string */
	unsigned char version_bin[BRANCH_VERSION_LEN]; /* the same as 16 bytes (the EDK's form) */
	unsigned char key[SUITE_KEY_LEN];         /* the branch key */
};

/* --- pure parts --- */

/* A fresh version 4 UUID string (RFC 4122) in out.  0 or -1 when randomness failed. */
int branch_store_uuid4(char out[BRANCH_UUID_STRLEN + 1]) __attribute__((warn_unused_result));
/* Formats 16 bytes as a UUID string. */
void branch_store_uuid_format(const unsigned char bin[BRANCH_VERSION_LEN],
			      char out[BRANCH_UUID_STRLEN + 1]);
/* ISO 8601 UTC with microseconds ("2024-01-02T03:04:05.123456Z"), as create-time is written. */
void branch_store_timestamp(const struct timespec *ts, char out[32]);
/*
 * The encryption context of an item (branch-key-store.md#encryption-context and the ACTIVE,
 * DECRYPT_ONLY and beacon sections), hierarchy version 1.  version is ignored for a beacon.
 * ec must be initialized and empty.  Returns 0 or -1.
 */
int branch_store_ec_build(enum branch_item_kind kind, const char *branch_key_id, const char *version,
			  const char *create_time, const char *logical_name, const char *kms_arn,
			  struct enc_ctx *ec) __attribute__((warn_unused_result));
/* The DynamoDB item (attribute-value JSON) for an encryption context and its enc ciphertext:
 * every pair but "tablename" as S ("hierarchy-version" as N), "enc" as B.  NULL on failure. */
cJSON *branch_store_item_to_json(const struct enc_ctx *ec, const unsigned char *enc, size_t enc_len)
	__attribute__((warn_unused_result));
/*
 * Reads a key store item (DynamoDB attribute-value JSON) into out, checking the record format:
 * the required attributes and their types, a known "type", the "version" attribute exactly on
 * ACTIVE items, hierarchy-version 1.  The encryption context is built from every attribute but
 * "enc", with "tablename" = logical_name.  Returns 0, or -1 with err naming what is wrong.
 */
int branch_store_item_parse(const cJSON *item, const char *logical_name, struct branch_item *out,
			    struct ds_error *err) __attribute__((warn_unused_result));
void branch_item_cleanup(struct branch_item *it);
void branch_key_wipe(struct branch_key *k);

/* --- the store and its operations (asynchronous, on the clients' event loop) --- */

struct branch_store;

/* A store on table (also its logical name) whose keys are protected by kms_arn.  The clients
 * are not owned. */
struct branch_store *branch_store_new(struct ddb_client *ddb, struct kms_client *kms,
				      const char *table, const char *kms_arn)
	__attribute__((warn_unused_result));
void branch_store_free(struct branch_store *s);
/* Branch keys protected by one of arns[0..n) (key ARNs, which must outlive the store) are read
 * too, each decrypted with its own key: the keys an alias named before (kms_alias.h). */
void branch_store_accept(struct branch_store *s, const char *const *arns, size_t n);
const char *branch_store_table(const struct branch_store *s);

/* Completion of create-store, create and rotate: text is the table status, the new branch key
 * id, or the new version; valid during the callback. */
typedef void (*branch_store_done_cb)(void *arg, const char *text, const struct ds_error *err);
/* Completion of a read: key is valid during the callback (and wiped after). */
typedef void (*branch_store_key_cb)(void *arg, const struct branch_key *key, const struct ds_error *err);

/* CreateKeyStore: DescribeTable; when missing CreateTable (branch-key-id HASH S, type RANGE
 * S) and wait until ACTIVE; an existing table with another key schema is an error. */
void branch_store_create_table(struct branch_store *s, branch_store_done_cb cb, void *arg);
/* CreateKey: a new branch key id with its version and beacon key. */
void branch_store_create_key(struct branch_store *s, branch_store_done_cb cb, void *arg);
/* VersionKey: a new ACTIVE version of branch_key_id; older versions stay readable. */
void branch_store_version_key(struct branch_store *s, const char *branch_key_id,
			      branch_store_done_cb cb, void *arg);
/* GetActiveBranchKey.  audit (copied, may be NULL) is who the read is for: its KMS Decrypt is
 * audited with it. */
void branch_store_get_active(struct branch_store *s, const char *branch_key_id,
			     const struct audit_ctx *audit, branch_store_key_cb cb, void *arg);
/* GetBranchKeyVersion (version is a UUID string); audit as above. */
void branch_store_get_version(struct branch_store *s, const char *branch_key_id, const char *version,
			      const struct audit_ctx *audit, branch_store_key_cb cb, void *arg);
/* GetBeaconKey: the "beacon:ACTIVE" key of branch_key_id, as a branch_key whose version is ""
 * (searchable-encryption/search-config.md#beacon-keys); audit as above. */
void branch_store_get_beacon(struct branch_store *s, const char *branch_key_id,
			     const struct audit_ctx *audit, branch_store_key_cb cb, void *arg);

#endif
