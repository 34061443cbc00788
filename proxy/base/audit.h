/*
 * The audit trail: one JSON line per use of a key-protecting service (every KMS call, every
 * branch key use), with the time, the operation, the key, the table and the application's
 * identity and request id that caused it, and the outcome.  Never a key or a value.
 *
 * The context travels explicitly: a request's is copied into each item's materials
 * (crypt_batch.c), keyrings hand it to the KMS client and the branch key store, which copy it
 * when a call starts, so an entry names its request even after asynchronous steps (a Redis
 * lookup, a flight joined by other requests).
 */
#ifndef DS_AUDIT_H
#define DS_AUDIT_H

/* Who and what a key use is for. */
struct audit_ctx {
	char table[256];        /* the DynamoDB table of the item */
	char client[136];       /* the application's access key id (from its signature) */
	char request_id[56];    /* dynaseal's id of the request, also in the access log */
};

/* Opens the sink: a file path (appended) or "-" for stderr; NULL turns auditing off.
 * Returns 0 or -1 (logged). */
int audit_open(const char *path) __attribute__((warn_unused_result));
void audit_close(void);
int audit_enabled(void);

/*
 * Writes one entry.  event: "kms" or "branch-key"; operation: "Decrypt", ...; key: key ARN or
 * branch key id; outcome: "ok" or an error type; ctx may be NULL.
 */
void audit_event(const char *event, const char *operation, const char *key,
		 const struct audit_ctx *ctx, const char *outcome);

#endif
