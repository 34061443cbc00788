/*
 * The sidecar's own AWS credentials, used to sign what it sends upstream (DynamoDB, KMS, STS).
 * Credentials are immutable snapshots with a reference count: a worker takes a reference for
 * the request it signs, so a refresh can swap the current snapshot without a lock on the hot
 * path beyond one atomic load.
 */
#ifndef DS_CREDENTIALS_H
#define DS_CREDENTIALS_H

#include <stdatomic.h>
#include <time.h>

/* One set of credentials; never changed once published. */
struct credentials {
	atomic_int refs;                 /* owners of this snapshot */
	char *access_key_id;
	char *secret_access_key;         /* wiped on free */
	char *session_token;             /* NULL without one */
	time_t expiration;               /* 0 for credentials that do not expire */
	char source[32];                 /* "environment", ... for logs; never a secret */
};

/*
 * Reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (AWS_SECRET_KEY and AWS_ACCESS_KEY as older
 * spellings) and AWS_SESSION_TOKEN.  Returns NULL when they are not set.
 */
struct credentials *credentials_from_env(void) __attribute__((warn_unused_result));
/* Makes a snapshot from values (copied).  token may be NULL. */
struct credentials *credentials_new(const char *akid, const char *secret, const char *token,
				    time_t expiration, const char *source)
	__attribute__((warn_unused_result));
struct credentials *credentials_ref(struct credentials *c);
void credentials_unref(struct credentials *c);

#endif
