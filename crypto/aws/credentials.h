/*
 * The sidecar's own AWS credentials, used to sign what it sends upstream (DynamoDB, KMS, STS).
 *
 * A struct credentials is a slot that may be refreshed (temporary credentials from STS, a
 * container endpoint or IMDS): its current values are an immutable struct cred_values that
 * signers read with one atomic load and no lock; a refresh publishes new values and keeps the
 * replaced ones for CRED_GRACE_S before freeing them, far longer than any signing takes.
 */
#ifndef DS_CREDENTIALS_H
#define DS_CREDENTIALS_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

/* How long replaced values stay readable. */
#define CRED_GRACE_S 300

/* One set of values; never changed once published. */
struct cred_values {
	char *access_key_id;
	char *secret_access_key;         /* wiped on free */
	char *session_token;             /* NULL without one; wiped on free */
	time_t expiration;               /* 0 for credentials that do not expire */
	time_t retired_at;               /* when replaced */
	struct cred_values *next;        /* in the retired list */
};

/* The slot. */
struct credentials {
	atomic_int refs;                 /* owners of the slot */
	struct cred_values *_Atomic current;
	pthread_mutex_t lock;            /* serialises replacements and the retired list */
	struct cred_values *retired;     /* replaced values, newest first */
	char source[48];                 /* "environment", "web identity", ... for logs */
};

/*
 * Reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (AWS_SECRET_KEY and AWS_ACCESS_KEY as older
 * spellings) and AWS_SESSION_TOKEN.  Returns NULL when they are not set.
 */
struct credentials *credentials_from_env(void) __attribute__((warn_unused_result));
/* Makes a slot holding values (copied).  token may be NULL. */
struct credentials *credentials_new(const char *akid, const char *secret, const char *token,
				    time_t expiration, const char *source)
	__attribute__((warn_unused_result));
struct credentials *credentials_ref(struct credentials *c);
void credentials_unref(struct credentials *c);
/* The current values; valid for at least CRED_GRACE_S after they are replaced. */
const struct cred_values *credentials_get(struct credentials *c);
/* Publishes new values (copied).  Returns 0 or -1 on allocation failure (nothing changes). */
int credentials_replace(struct credentials *c, const char *akid, const char *secret,
			const char *token, time_t expiration) __attribute__((warn_unused_result));

#endif
