/*
 * Compound beacons of a table's "search" block, as the DB-ESDK builds them
 * (searchable-encryption/beacons.md, "value for a compound beacon" and "getPart for a compound
 * beacon"): the parts of the first constructor whose attributes the item has, each its prefix
 * then its value -- a signed attribute's plaintext, or the standard beacon of an encrypted
 * attribute's plaintext -- joined by the split character.  A value of a part is its string, or
 * its number normalized.  Without a beacon key the same construction gives the plaintext
 * virtual field ("C-Seattle.K-US"), which is what an application's condition compares.
 */
#ifndef DS_CRYPT_COMPOUND_H
#define DS_CRYPT_COMPOUND_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "config/config.h"
#include "proxy/base/error.h"

/* The compound beacon named name of table t, or NULL. */
const struct config_compound *crypt_compound_named(const struct config_table *t, const char *name);

/*
 * The value of compound beacon c for plain (a plaintext item of t) into *out (malloc'd): with
 * beacon_key, the stored beacon; with beacon_key NULL, the plaintext virtual field.  1 when a
 * constructor succeeded, 0 when none did (*out NULL), -1 with err: with a key, a part value
 * holding the split character or of another type than string or number is refused (naming
 * table, attribute and beacon); without one such an item has no virtual field.
 */
int crypt_compound_of(const struct config_table *t, const struct config_compound *c,
		      const unsigned char *beacon_key, size_t key_len, const cJSON *plain, char **out,
		      struct ds_error *err) __attribute__((warn_unused_result));

/*
 * Replaces av (a plaintext virtual field an application compares with compound beacon c:
 * {"S": "C-Seattle.K-US"}) by its beacon form: each piece is identified by its prefix, and an
 * encrypted part's value becomes its standard beacon.  With prefix (begins_with), a last piece
 * that is only a prefix stays as is.  0, or -1 with err when av is not a string or a piece
 * matches no part's prefix.
 */
int crypt_compound_query(const struct config_table *t, const struct config_compound *c,
			 const unsigned char *beacon_key, size_t key_len, cJSON *av, int prefix,
			 struct ds_error *err) __attribute__((warn_unused_result));

/*
 * Adds to item (decrypted, of t) the plaintext virtual field of each compound beacon of t it
 * can build and does not have, setting added[i] (t->search->compound_len flags) for each.
 * 0, or -1 when out of memory.
 */
int crypt_compound_add_virtual(const struct config_table *t, cJSON *item, unsigned char *added)
	__attribute__((warn_unused_result));

/* Removes what crypt_compound_add_virtual added. */
void crypt_compound_remove_virtual(const struct config_table *t, cJSON *item,
				   const unsigned char *added);

#endif
