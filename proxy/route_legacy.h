/*
 * DynamoDB's legacy parameters on configured tables, written as expressions (route_legacy.c).
 */
#ifndef DS_ROUTE_LEGACY_H
#define DS_ROUTE_LEGACY_H

#include <cjson/cJSON.h>

#include "proxy/route_internal.h"

/*
 * Rewrites the legacy parameters of obj (a request of operation op, or a BatchGetItem table's
 * KeysAndAttributes with op ROUTE_BATCH_GET) as the expression parameters that mean the same,
 * in place.  Returns 0 (also when obj holds none), or -1 with st->err set: DynamoDB's refusal
 * of a request that mixes both styles, or of a legacy parameter that is invalid.
 */
int route_legacy_translate(struct route_state *st, cJSON *obj, enum route_op op);
/* Whether obj's KeyConditions is a map naming no ENCRYPT_AND_SIGN attribute of t: it then goes
 * to DynamoDB untranslated. */
int route_legacy_key_conditions_plain(const struct config_table *t, const cJSON *obj);
/* The words DynamoDB uses for an error (dynaseal's own, or DynamoDB's answer to the expression
 * it was sent) when the request said it with a legacy parameter: "Type mismatch for attribute
 * to update" (AttributeUpdates), "QueryFilter can only contain ..." (QueryFilter); buf (cap
 * bytes) may hold them.  NULL when message stays as it is. */
const char *route_legacy_message(const struct route_state *st, const char *message, char *buf,
				 size_t cap);

#endif
