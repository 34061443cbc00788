/*
 * The Authorization header of a SigV4-signed request, read once into a struct:
 * "AWS4-HMAC-SHA256 Credential=AKID/YYYYMMDD/REGION/SERVICE/aws4_request,
 * SignedHeaders=a;b;c, Signature=<64 hex>".  Pure parsing: what the parts say is checked by
 * whoever uses them (the request's policy, client authentication, the signing region).
 */
#ifndef DS_SIGV4_AUTHZ_H
#define DS_SIGV4_AUTHZ_H

#include "crypto/aws/sigv4.h"

struct sigv4_authz {
	int present;                          /* an Authorization header was sent */
	int aws4;                             /* its scheme starts with "AWS4-" */
	int has_credential;                   /* Credential=, SignedHeaders=, Signature= were given */
	int has_signed_headers;               /* (non-empty) */
	int has_signature;
	int ok;                               /* complete: algorithm AWS4-HMAC-SHA256, a Credential
					       * of 5 parts ending in aws4_request with an 8-digit
					       * date, SignedHeaders, a Signature of 64
					       * characters */
	char algorithm[32];                   /* the scheme, e.g. "AWS4-HMAC-SHA256" */
	char akid[129];                       /* Credential's first part (also when not ok) */
	char date[9];                         /* its second, YYYYMMDD (ok only) */
	char region[64];                      /* its third (also when not ok, if there) */
	char service[64];                     /* its fourth (ok only) */
	char signed_headers[1024];            /* as sent (ok only) */
	char signature[SIGV4_HEX_LEN + 1];    /* (ok only) */
};

/* Reads value (the header's value; NULL when the request has none) into a. */
void sigv4_authz_parse(const char *value, struct sigv4_authz *a);

#endif
