/*
 * DynamoDB attribute values (DynamoDB JSON, cJSON) <-> the legacy DynamoDB Encryption
 * Client's attribute serialization, the bytes it encrypts and hashes into a signature
 * (aws-dynamodb-encryption-python, internal/formatting/serialize/attribute.py and
 * deserialize/attribute.py).  Every value starts with a reserved 0 byte and a one-byte tag:
 *   NULL 0x00   BOOL '?' + 1 byte      N 'n', S 's', B 'b' + 4-byte length + bytes
 *   NS 'N', SS 'S', BS 'B' + 4-byte count + members (length + bytes) sorted by their bytes
 *   L 'L' + count + serialized members   M 'M' + count + (serialized S key, value) pairs
 *   sorted by the key's UTF-8 bytes.
 * Numbers are normalized first ("55.00" -> "55"); lengths and counts are big-endian.  A
 * string or map key of the tree holds NUL as the stand-in of proxy/base/json_nul.h: it is
 * serialized, sorted and hashed as its real bytes, and a NUL read back is the stand-in.
 */
#ifndef DS_LEGACY_ATTR_H
#define DS_LEGACY_ATTR_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "proxy/base/bufread.h"

/* The tag byte of each type (internal/identifiers.py, Tag). */
#define LEGACY_TAG_NULL 0x00
#define LEGACY_TAG_BOOL '?'
#define LEGACY_TAG_N    'n'
#define LEGACY_TAG_S    's'
#define LEGACY_TAG_B    'b'
#define LEGACY_TAG_NS   'N'
#define LEGACY_TAG_SS   'S'
#define LEGACY_TAG_BS   'B'
#define LEGACY_TAG_L    'L'
#define LEGACY_TAG_M    'M'

/* Deeper nesting is refused, as DynamoDB refuses documents deeper than 32 levels. */
#define LEGACY_ATTR_MAX_DEPTH 32

/*
 * Appends the serialization of one AttributeValue (e.g. {"N":"1.50"}) to out.  Returns 0, or
 * -1 with *why set to a static reason (naming no value) when av is not a valid DynamoDB
 * attribute value.  out->failed reports allocation failure.
 */
int legacy_attr_serialize(const cJSON *av, struct bufwrite *out, const char **why)
	__attribute__((warn_unused_result));

/*
 * Builds the AttributeValue of serialized untrusted bytes, which must hold exactly one
 * value.  Returns a new cJSON object the caller frees, or NULL with *why set.
 */
cJSON *legacy_attr_deserialize(const unsigned char *p, size_t len, const char **why)
	__attribute__((warn_unused_result));

/* 1 when p[0..n) is well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF), else 0. */
int legacy_utf8_valid(const unsigned char *p, size_t n);

#endif
