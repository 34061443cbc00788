/* DynamoDB's reserved words, which an expression cannot use as attribute names. */
#ifndef DS_DDB_RESERVED_H
#define DS_DDB_RESERVED_H

#include <stddef.h>

/* Whether s[0..len) is a reserved word, in any letter case. */
int ddb_reserved(const char *s, size_t len);

#endif
