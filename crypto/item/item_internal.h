/*
 * Internals shared by item_context.c (encryption context, canonical paths, attribute
 * actions) and item_crypt.c (encrypt/decrypt).  Not for other modules.
 */
#ifndef DS_ITEM_INTERNAL_H
#define DS_ITEM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/item/item_crypt.h"

#define EC_TABLE_NAME "aws-crypto-table-name"
#define EC_PARTITION_NAME "aws-crypto-partition-name"
#define EC_SORT_NAME "aws-crypto-sort-name"
#define EC_ATTR_PREFIX "aws-crypto-attr."
#define EC_LEGEND "aws-crypto-legend"
#define EC_PUBLIC_KEY "aws-crypto-public-key"

/* The message for any verification failure: it names no value and says what to suspect. */
#define TAMPERED "the item was changed outside dynaseal or written under another configuration"

/* One top-level attribute taking part in encryption or verification. */
struct field {
	const char *name;            /* attribute name (cJSON's string) */
	size_t name_len;
	cJSON *node;                 /* the attribute's value in the item */
	char legend;                 /* 'e', 's' or 'c' */
	unsigned char *path;         /* canonical path, owned */
	size_t path_len;
	uint16_t type_id;            /* plaintext terminal type */
	struct bufwrite value;       /* plaintext terminal value, or the stored encrypted form */
	unsigned char *enc;          /* encrypted form (type id + ciphertext + tag), owned */
	size_t enc_len;
};

const char *item_table_label(const struct config_table *t);
const char *item_logical_name(const struct config_table *t);
int item_has_reserved_prefix(const char *name);
/* The action for an attribute, as config_table_action defines it; -1 when it has none. */
int item_table_action(const struct config_table *t, const char *name, enum attr_action *a);
/* decrypt-item.md#signature-scope */
int item_in_signature_scope(const struct config_table *t, const char *name);
/* ddb-table-encryption-config.md#configuration-version: 2 when any action is
 * SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT. */
int item_config_version(const struct config_table *t);
int item_canonical_path(const char *table, const char *name, size_t name_len,
			unsigned char **out, size_t *out_len) __attribute__((warn_unused_result));
/* qsort comparator putting fields in canonical path order. */
int item_field_cmp(const void *x, const void *y);
void item_fields_free(struct field *f, size_t n);
int item_field_serialize(const struct config_table *t, struct field *f, struct ds_error *err)
	__attribute__((warn_unused_result));
/* The base context for version 1 or 2 plus the version 2 context attributes ctx_names. */
int item_build_context(const struct config_table *t, const cJSON *item, int version,
		       const char **ctx_names, size_t nctx, struct enc_ctx *ec,
		       struct ds_error *err) __attribute__((warn_unused_result));

#endif
