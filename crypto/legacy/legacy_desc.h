/*
 * The legacy DynamoDB Encryption Client's material description: the binary attribute
 * "*amzn-ddb-map-desc*" that says how an item's attributes were encrypted and signed.
 * Format (aws-dynamodb-encryption-python, internal/formatting/material_description.py):
 * a 4-byte version (0), then pairs of (4-byte big-endian length, name bytes, 4-byte length,
 * value bytes) until the end.  Names and values are UTF-8 text.
 */
#ifndef DS_LEGACY_DESC_H
#define DS_LEGACY_DESC_H

#include <stddef.h>

#include "proxy/base/bufread.h"

/* The two attributes the legacy client adds to every item it protects. */
#define LEGACY_DESC_ATTR "*amzn-ddb-map-desc*"
#define LEGACY_SIG_ATTR "*amzn-ddb-map-sig*"

/* The names the legacy providers write into a description. */
#define LEGACY_DESC_ENV_KEY "amzn-ddb-env-key"          /* wrapped content key, base64 */
#define LEGACY_DESC_ENV_ALG "amzn-ddb-env-alg"          /* content key algorithm, "AES/256" */
#define LEGACY_DESC_WRAP_ALG "amzn-ddb-wrap-alg"        /* key wrapping transformation */
#define LEGACY_DESC_SYM_MODE "amzn-ddb-map-sym-mode"    /* attribute cipher mode */
#define LEGACY_DESC_SIGNING_ALG "amzn-ddb-map-signingAlg" /* signing key algorithm */
#define LEGACY_DESC_SIG_ALG "amzn-ddb-sig-alg"          /* AWS KMS provider's signing key */
#define LEGACY_DESC_META_ID "amzn-ddb-meta-id"          /* most-recent provider's version */
#define LEGACY_DESC_KMS_EC_ATTR "aws-kms-ec-attr"       /* AWS KMS provider's context scope */

/* One name/value pair of a description; both NUL-terminated copies. */
struct legacy_desc_pair {
	char *name;             /* owned; contains no NUL byte */
	size_t name_len;        /* bytes of name, without the NUL */
	char *value;            /* owned; contains no NUL byte */
	size_t value_len;       /* bytes of value, without the NUL */
};

/* A parsed material description: its pairs in the order they were read or added. */
struct legacy_desc {
	struct legacy_desc_pair *pairs;  /* owned array */
	size_t n;                        /* pairs in use */
	size_t cap;                      /* pairs allocated */
};

void legacy_desc_init(struct legacy_desc *d);
void legacy_desc_cleanup(struct legacy_desc *d);

/*
 * Parses an untrusted description (the bytes of the B attribute) into d (initialized by the
 * call).  Refuses another version, a truncated pair, a name or value that is not UTF-8 or
 * holds a NUL byte, and a name given twice.  Returns 0, or -1 with *why set to a static
 * reason and d empty.
 */
int legacy_desc_parse(const unsigned char *p, size_t len, struct legacy_desc *d,
		      const char **why) __attribute__((warn_unused_result));

/* Adds (copies) a pair; the name must not be present yet.  0, or -1 with *why set. */
int legacy_desc_add(struct legacy_desc *d, const char *name, const char *value,
		    const char **why) __attribute__((warn_unused_result));

/* The value of name, or NULL when d has no such pair. */
const struct legacy_desc_pair *legacy_desc_get(const struct legacy_desc *d, const char *name);

/*
 * Appends the serialized description to out: version 0, then the pairs sorted by name
 * (byte order), as the legacy client writes them.  out->failed reports allocation failure.
 */
void legacy_desc_serialize(const struct legacy_desc *d, struct bufwrite *out);

#endif
