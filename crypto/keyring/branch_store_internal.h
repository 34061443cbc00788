/*
 * Shared by branch_store.c (items, reads) and branch_store_admin.c (table, create, rotate):
 * the attribute names of MPL branch-key-store.md#record-format and the store's state.
 */
#ifndef DS_BRANCH_STORE_INTERNAL_H
#define DS_BRANCH_STORE_INTERNAL_H

#include "crypto/keyring/branch_store.h"

#define BS_ATTR_ID "branch-key-id"
#define BS_ATTR_TYPE "type"
#define BS_ATTR_CREATE_TIME "create-time"
#define BS_ATTR_HIERARCHY "hierarchy-version"
#define BS_ATTR_TABLE "tablename"
#define BS_ATTR_KMS "kms-arn"
#define BS_ATTR_ENC "enc"
#define BS_ATTR_VERSION "version"
#define BS_TYPE_ACTIVE "branch:ACTIVE"
#define BS_TYPE_BEACON "beacon:ACTIVE"
#define BS_VERSION_PREFIX "branch:version:"

/* A key store: where its items are and which KMS key protects them. */
struct branch_store {
	struct ddb_client *ddb;      /* not owned */
	struct kms_client *kms;      /* not owned */
	char *table;                 /* the table, also the logical key store name */
	char *kms_arn;               /* the configured KMS key (NULL: only create-store works) */
	const char *const *accept;   /* other KMS keys whose branch keys reads accept (not owned) */
	size_t accept_len;
};

/* {"branch-key-id": {"S": id}, "type": {"S": type}}; NULL on allocation failure. */
cJSON *bs_key_json(const char *branch_key_id, const char *type);
/* A strongly consistent GetItem of (branch_key_id, type). */
void bs_get_item(struct branch_store *s, const char *branch_key_id, const char *type,
		 ddb_done_cb cb, void *arg);

#endif
