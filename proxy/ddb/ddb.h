/*
 * What a DynamoDB request is, read cheaply: the operation from X-Amz-Target and, for logs and
 * routing, the table a single-table request names, without building a JSON tree.
 */
#ifndef DS_DDB_H
#define DS_DDB_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* The JSON protocol's target prefix: "DynamoDB_20120810.<Operation>". */
#define DDB_TARGET_PREFIX "DynamoDB_20120810."

/*
 * Copies the operation name from an X-Amz-Target value into out (cap bytes).  Returns 0, or -1
 * when the value is not a DynamoDB target (then out is "").
 */
int ddb_operation(const char *target, char *out, size_t cap);
/*
 * Finds the top-level "TableName" string of a JSON object body and copies it (unescaped
 * only for plain names; DynamoDB table names are [a-zA-Z0-9_.-]) into out.  Returns 0, or -1
 * when there is none (out is "").  Reads only body[0..len).
 */
int ddb_peek_table(const char *body, size_t len, char *out, size_t cap);
/*
 * The one table a single-table request (GetItem, PutItem, Query...) names, read without a
 * parse, for route.c to forward a request on an unconfigured table untouched.  Returns 0
 * with the name in out (cap >= 256) only when every parser must read the same name: body is
 * one JSON object whose bytes outside strings are JSON's own (no comments, single quotes or
 * bare words but true/false/null), whose brackets match, whose top-level keys hold no escape,
 * with "TableName" exactly once and its value a plain DynamoDB table name (3-255 of
 * [A-Za-z0-9_.-]: no ARN, no escape).  Otherwise -1, and the caller parses the body.
 */
int ddb_sole_table(const char *body, size_t len, char *out, size_t cap);

#endif
