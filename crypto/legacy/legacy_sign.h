/*
 * Attribute actions and item signatures of the legacy DynamoDB Encryption Client
 * (aws-dynamodb-encryption-python, structures.py AttributeActions and
 * internal/crypto/authentication.py).  The string to sign is
 *   SHA256("TABLE>" table "<TABLE")
 * then, for every attribute that is signed, in byte order of the names,
 *   SHA256(name) SHA256("ENCRYPTED" or "PLAINTEXT") SHA256(serialized stored value)
 * where the stored value of an encrypted attribute is its B ciphertext.  The material
 * description and the signature attributes are not part of it.
 */
#ifndef DS_LEGACY_SIGN_H
#define DS_LEGACY_SIGN_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "crypto/legacy/legacy_materials.h"
#include "proxy/base/bufread.h"
#include "proxy/base/error.h"

/* What the legacy client did to an attribute (identifiers.py CryptoAction), weakest first. */
enum legacy_action {
	LEGACY_DO_NOTHING = 0,      /* stored as given, not signed */
	LEGACY_SIGN_ONLY = 1,       /* stored as given, signed */
	LEGACY_ENCRYPT_AND_SIGN = 2, /* stored encrypted, signed */
};

/*
 * The attribute actions an item was written with: a default and names that override it.
 * The names are borrowed, not copied.
 */
struct legacy_actions {
	enum legacy_action default_action;  /* for attributes named in no list */
	const char *const *encrypt;         /* names encrypted and signed */
	size_t n_encrypt;
	const char *const *sign;            /* names signed only */
	size_t n_sign;
	const char *const *nothing;         /* names left alone */
	size_t n_nothing;
	const char *const *keys;            /* the table's key attributes: the legacy client never
					     * encrypts them (set_index_keys): at most SIGN_ONLY */
	size_t n_keys;
};

/* The action for name: its list's, else the default, lowered to SIGN_ONLY for a key. */
enum legacy_action legacy_action_of(const struct legacy_actions *a, const char *name);

/*
 * Checks a configuration: no name in two lists, no list naming *amzn-ddb-map-desc* or
 * *amzn-ddb-map-sig*, and no key attribute listed as encrypted.  0, or -1 with err set.
 */
int legacy_actions_check(const struct legacy_actions *a, struct ds_error *err)
	__attribute__((warn_unused_result));

/*
 * Appends the string to sign of a stored item (attributes as read from DynamoDB) to out.
 * Returns 0, or -1 with err set when an attribute that is signed is not a valid value.
 */
int legacy_string_to_sign(const char *table, const cJSON *item, const struct legacy_actions *a,
			  struct bufwrite *out, struct ds_error *err)
	__attribute__((warn_unused_result));

/*
 * Verifies sig over data with the materials' signing key: an HMAC compared in constant time,
 * or an RSA PKCS#1 v1.5 signature.  Returns 1 when it matches, 0 when it does not, -1 when
 * the materials have no signing key or OpenSSL failed.
 */
int legacy_verify(const struct legacy_materials *m, const unsigned char *data, size_t len,
		  const unsigned char *sig, size_t sig_len) __attribute__((warn_unused_result));

#endif
