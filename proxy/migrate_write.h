/*
 * The one UpdateItem that puts a converted item in place of the item read, and only of it
 * (migrate.h explains why no concurrent write is lost).  It sets every attribute whose value
 * changed or that is new, removes every attribute of the item read that the converted item does
 * not hold (the legacy client's *amzn-ddb-map-desc* and *amzn-ddb-map-sig*), and is
 * conditioned on the item read:
 *
 *   - a plaintext or legacy item: attribute_not_exists(aws_dbe_head), the partition key
 *     present, every signed attribute read (the legacy signature among them) still holding the
 *     value read, every signed attribute the table configures that the item did not hold still
 *     missing;
 *   - a v3 item (re-encryption): the partition key present and aws_dbe_head and aws_dbe_foot
 *     still the ones read; the footer signs every signed attribute, so a write through dynaseal
 *     that changes one changes it.
 */
#ifndef DS_MIGRATE_WRITE_H
#define DS_MIGRATE_WRITE_H

#include <cjson/cJSON.h>

#include "config/config.h"

/* The UpdateItem request (a new tree) for table t: enc in place of raw.  NULL when out of
 * memory. */
cJSON *migrate_write_body(const struct config_table *t, const cJSON *raw, const cJSON *enc)
	__attribute__((warn_unused_result));

#endif
