/*
 * DynamoDB attribute values (DynamoDB JSON, cJSON) <-> DB-ESDK terminal bytes:
 * a 2-byte type id and a value, as specified in
 * dynamodb-encryption-client/ddb-attribute-serialization.md.  Numbers are normalized the
 * way DynamoDB normalizes them, sets are sorted, maps sorted by UTF-16 key order.  Strings
 * and map keys of the tree hold NUL as the stand-in of proxy/base/json_nul.h: serialized,
 * they are their real bytes ("a\u0000b" is 61 00 62), and a NUL read back is the stand-in.
 */
#ifndef DS_ATTR_SERIAL_H
#define DS_ATTR_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "proxy/base/bufread.h"

/* Terminal type ids (ddb-attribute-serialization.md#type-id). */
#define ATTR_TYPE_NULL   0x0000
#define ATTR_TYPE_S      0x0001
#define ATTR_TYPE_N      0x0002
#define ATTR_TYPE_BOOL   0x0004
#define ATTR_TYPE_SS     0x0101
#define ATTR_TYPE_NS     0x0102
#define ATTR_TYPE_BS     0x01FF
#define ATTR_TYPE_M      0x0200
#define ATTR_TYPE_L      0x0300
#define ATTR_TYPE_B      0xFFFF

/* DynamoDB allows 32 levels of nested documents; deeper input is refused. */
#define ATTR_MAX_DEPTH 32

/*
 * Serializes one AttributeValue (e.g. {"N":"1.50"}): sets *type_id and appends the value
 * bytes to out.  Returns 0, or -1 with *why set to a static reason (no value content) when the
 * value is not a valid DynamoDB attribute value.  out->failed reports allocation failure.
 */
int attr_serialize(const cJSON *av, uint16_t *type_id, struct bufwrite *out, const char **why)
	__attribute__((warn_unused_result));

/*
 * Builds the AttributeValue for a serialized (type_id, value) taken from untrusted bytes.
 * Returns a new cJSON object the caller frees, or NULL with *why set.
 */
cJSON *attr_deserialize(uint16_t type_id, const unsigned char *p, size_t len, const char **why)
	__attribute__((warn_unused_result));

/*
 * Normalizes a DynamoDB number string ("00.0011" -> "0.0011", "1E3" -> "1000").  Returns a
 * malloc'ed NUL-terminated string, or NULL with *why set when the text is not a number.
 */
char *attr_normalize_number(const char *in, size_t len, const char **why)
	__attribute__((warn_unused_result));

/* Orders two UTF-8 tree strings (JSON_NUL is U+0000) by their UTF-16 code units
 * (string-ordering.md); <0, 0, >0. */
int attr_utf16_cmp(const char *a, size_t alen, const char *b, size_t blen);

/*
 * 1 when a and b are the same DynamoDB value (numbers compared after normalization, sets as
 * sets), 0 when not, -1 when either is not a valid attribute value.
 */
int attr_value_equal(const cJSON *a, const cJSON *b);

#endif
