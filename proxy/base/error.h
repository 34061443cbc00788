/*
 * An error the proxy answers itself, in DynamoDB's shape: an HTTP status, a `__type` and a
 * message that names the table, attribute or parameter at fault and says what to do.
 * Modules fill one in with ds_error_set(); the HTTP layer turns it into a response.
 */
#ifndef DS_ERROR_H
#define DS_ERROR_H

#include <stdarg.h>

/* The `__type` values dynaseal answers with, exactly as DynamoDB spells them. */
#define DS_ERR_VALIDATION   "com.amazon.coral.validate#ValidationException"
#define DS_ERR_SERIALIZATION "com.amazon.coral.service#SerializationException"
#define DS_ERR_ACCESS_DENIED "com.amazon.coral.service#AccessDeniedException"
#define DS_ERR_UNRECOGNIZED_CLIENT "com.amazon.coral.service#UnrecognizedClientException"
#define DS_ERR_INTERNAL     "com.amazonaws.dynamodb.v20120810#InternalServerError"
#define DS_ERR_UNAVAILABLE  "com.amazon.coral.availability#ServiceUnavailableException"
#define DS_ERR_THROTTLING   "com.amazon.coral.availability#ThrottlingException"
#define DS_ERR_KMS          "com.amazonaws.dynamodb.v20120810#KMSAccessDeniedException"
#define DS_ERR_TOO_LARGE    "com.amazon.coral.service#RequestEntityTooLargeException"

/* What went wrong, for the client.  status 0 means "no error set". */
struct ds_error {
	int status;             /* HTTP status: 400 for the caller's fault, 5xx when a retry may help */
	const char *type;       /* one of DS_ERR_*, static storage */
	char message[512];      /* human text; never contains a key or a plaintext value */
};

void ds_error_set(struct ds_error *err, int status, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void ds_error_vset(struct ds_error *err, int status, const char *type, const char *fmt, va_list ap);
void ds_error_clear(struct ds_error *err);

#endif
