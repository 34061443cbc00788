/*
 * What DynamoDB answers before it looks at who signed a request (its front door, as dynalite,
 * whose suite is run against DynamoDB, documents it): GET is a health check; another method,
 * or a body in a media type other than JSON, is an unknown page (404, an XML body); a body
 * that is not a JSON object is a SerializationException; an X-Amz-Target naming no operation
 * of the API an UnknownOperationException.  Only then come the signature's checks.
 */
#ifndef DS_FRONT_DOOR_H
#define DS_FRONT_DOOR_H

#include <stddef.h>

#include "proxy/base/error.h"
#include "proxy/net/http.h"

/* The front door's verdict on a request. */
enum front_answer {
	FRONT_PASS = 0,        /* on to the signature's checks */
	FRONT_HEALTH,          /* 200 "healthy: dynamodb.<region>.amazonaws.com " */
	FRONT_CORS_PREFLIGHT,  /* 200 to an OPTIONS with an Origin (reply_cors_preflight) */
	FRONT_NOT_FOUND,       /* 404 "<UnknownOperationException/>\n" */
	FRONT_ERROR,           /* err: a 400 with the __type DynamoDB gives (and no message) */
};

#define FRONT_NOT_FOUND_BODY "<UnknownOperationException/>\n"

/* The verdict on req, whose body is body[0..len).  err is set for FRONT_ERROR. */
enum front_answer front_door_check(const struct http_msg *req, const char *body, size_t len,
				   struct ds_error *err);

#endif
