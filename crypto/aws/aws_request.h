/*
 * The requests dynaseal makes to AWS JSON-protocol services on its own behalf (KMS, the
 * branch key store's DynamoDB): POST / with X-Amz-Target, signed with SigV4 under dynaseal's
 * credentials, framed as HTTP/1.1 bytes for upstream_call_start().
 */
#ifndef DS_AWS_REQUEST_H
#define DS_AWS_REQUEST_H

#include <stddef.h>

#include "crypto/aws/credentials.h"
#include "crypto/aws/sigv4.h"

/* Where a request goes and how it is signed. */
struct aws_json_service {
	const char *host_header;    /* Host, as sent and signed ("kms.us-east-1.amazonaws.com") */
	const char *region;         /* signing region */
	const char *service;        /* signing name: "kms", "dynamodb" */
	const char *content_type;   /* "application/x-amz-json-1.1" (KMS) or "-1.0" (DynamoDB) */
};

/*
 * Builds and signs the request for target ("TrentService.Decrypt") with body.  key_cache is
 * the caller's signing key slot (see sigv4_sign).  Returns malloc'd bytes and their length,
 * or NULL when signing or allocation failed.
 */
char *aws_json_request(const struct aws_json_service *svc, const char *target,
		       struct credentials *cr, struct sigv4_key *key_cache, const char *body,
		       size_t body_len, size_t *out_len) __attribute__((warn_unused_result));

#endif
