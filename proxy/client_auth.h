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
#include "crypto/aws/sigv4_authz.h"
#include "proxy/base/error.h"
#include "proxy/net/http.h"

/*
 * What DynamoDB requires of every request's signature before anything else, with or without
 * clients: an Authorization header of the AWS4- kind or a query-string signature, not both
 * (MissingAuthenticationTokenException, InvalidSignatureException), and the Credential,
 * Signature, SignedHeaders parameters and a date (IncompleteSignatureException naming each
 * one missing), worded as DynamoDB words them.  a is req's Authorization header, parsed.
 * Returns 0, or -1 with err set.
 */
int client_auth_precheck(const struct http_msg *req, const struct sigv4_authz *a,
			 struct ds_error *err) __attribute__((warn_unused_result));
/*
 * Checks req (its Authorization header parsed in a, its operation op, e.g. "PutItem", its body
 * body[0..len)) against cfg's clients at time now.  Returns 0 when allowed (always, without
 * clients), or -1 with err set.
 */
int client_auth_check(const struct config *cfg, const struct http_msg *req,
		      const struct sigv4_authz *a, const char *op, const char *body, size_t len,
		      time_t now, struct ds_error *err) __attribute__((warn_unused_result));

#endif
