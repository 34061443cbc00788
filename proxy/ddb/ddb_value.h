/*
 * DynamoDB AttributeValues as the expression engine sees them (Developer Guide, "Supported
 * data types"; "Comparison operator and function reference"): their type, equality as
 * DynamoDB decides it (numbers by value, sets without order, maps and lists deeply, binaries
 * by their bytes), the order of numbers, strings (UTF-8 bytes) and binaries (unsigned bytes),
 * and what size() answers.  Values are cJSON objects in DynamoDB's JSON ({"S": "x"}); their
 * strings hold NUL as the stand-in of proxy/base/json_nul.h, ordered and counted as the NUL
 * it is.
 */
#ifndef DS_DDB_VALUE_H
#define DS_DDB_VALUE_H

#include <cjson/cJSON.h>

enum ddb_type {
	DDB_T_NONE = 0,  /* not an AttributeValue */
	DDB_T_S, DDB_T_N, DDB_T_B, DDB_T_BOOL, DDB_T_NULL,
	DDB_T_SS, DDB_T_NS, DDB_T_BS, DDB_T_L, DDB_T_M,
};

/*
 * The type of av, an object with exactly one member named for a type whose JSON is of that
 * type's shape; *inner (may be NULL) gets that member.  DDB_T_NONE for anything else.
 */
enum ddb_type ddb_value_type(const cJSON *av, const cJSON **inner);

/*
 * The member of object obj named name[0..len) (not NUL-terminated), or NULL.  With hint (may
 * be NULL), the search goes outward from *hint, a member of obj found before (or NULL: from the
 * first), and *hint gets the member found: names looked up in the order obj holds them, or in
 * reverse, are each found in a step or two.
 */
cJSON *ddb_value_member(const cJSON *obj, const char *name, size_t len, const cJSON **hint);

/* "S", "N", ... for a type; "" for DDB_T_NONE. */
const char *ddb_type_name(enum ddb_type t);
/* The type named name[0..len) exactly ("SS"), or DDB_T_NONE. */
enum ddb_type ddb_type_named(const char *name, size_t len);

/* Whether a and b are the same value: same type and equal.  Unreadable values are equal to
 * nothing. */
int ddb_value_equal(const cJSON *a, const cJSON *b);

/*
 * Orders a and b when both are numbers, both strings or both binaries: *out is -1, 0 or 1.
 * Returns 0, or -1 when they are not of one such type (or not readable).
 */
int ddb_value_order(const cJSON *a, const cJSON *b, int *out);

/* begins_with(x, y): both strings and y a prefix of x, or both binaries and y's bytes a
 * prefix of x's. */
int ddb_value_begins_with(const cJSON *x, const cJSON *y);

/*
 * contains(x, y): a string x holding the string y, a binary x holding y's bytes, a set x
 * holding y (an element of its type), or a list x holding an element equal to y.
 */
int ddb_value_contains(const cJSON *x, const cJSON *y);

/*
 * What size() answers for av: a string's length in UTF-16 code units (as DynamoDB counts),
 * a binary's bytes, the elements of a set, list or map.  Returns 0, or -1 for the other
 * types (size() of a number is no size).
 */
int ddb_value_size(const cJSON *av, unsigned long *out);

#endif
