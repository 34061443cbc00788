/*
 * Client authentication (config "clients"): every request must carry a valid SigV4 signature
 * by one of the configured applications, made within five minutes, and name only the tables
 * that application may use.  Failures are answered as DynamoDB answers them:
 * MissingAuthenticationTokenException, IncompleteSignatureException,
 * UnrecognizedClientException, InvalidSignatureException, AccessDeniedException.
 */
#ifndef DS_CLIENT_AUTH_H
#define DS_CLIENT_AUTH_H

#include <stddef.h>
#include <time.h>

#include "config/config.h"
#include "proxy/base/error.h"
#include "proxy/net/http.h"

/*
 * Checks req (whose operation is op, e.g. "PutItem", and body is body[0..len)) against cfg's
 * clients at time now.  Returns 0 when allowed (always, without clients), or -1 with err set.
 */
int client_auth_check(const struct config *cfg, const struct http_msg *req, const char *op,
		      const char *body, size_t len, time_t now, struct ds_error *err)
	__attribute__((warn_unused_result));

#endif
