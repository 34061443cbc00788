/*
 * Writing HTTP responses to an application: relayed upstream responses and dynaseal's own
 * errors in DynamoDB's JSON error shape, with the x-amz-crc32 checksum the SDKs verify.
 */
#ifndef DS_REPLY_H
#define DS_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "proxy/base/error.h"
#include "proxy/net/http.h"

struct evbuffer;

/* Writes a relayed response.  The body is moved out of resp.  body_changed recomputes
 * x-amz-crc32.  Returns the body length. */
size_t reply_relay(struct evbuffer *out, struct http_msg *resp, int body_changed, int keep_alive);
/* Writes {"__type":..., "message":...} (no message when err's is empty) with status, x-amzn-RequestId (request_id, or a fresh
 * one when NULL) and x-amz-crc32, in the Content-Type DynamoDB answers req with
 * (reply_content_type; req may be NULL).  Returns the body length. */
size_t reply_error(struct evbuffer *out, const struct ds_error *err, int keep_alive,
		   const char *request_id, const struct http_msg *req);
/* DynamoDB answers in the JSON media type it was asked in: "application/x-amz-json-1.0" for a
 * request of that type (parameters aside), else "application/json". */
const char *reply_content_type(const struct http_msg *req);
/* Writes text as the body of a status response with x-amzn-RequestId and x-amz-crc32 (the
 * front door's answers: its health check, its unknown page).  Returns the body length. */
size_t reply_text(struct evbuffer *out, int status, const char *text, int keep_alive,
		  const char *request_id, const struct http_msg *req);
/* Answers a CORS preflight (OPTIONS with an Origin) as DynamoDB does: any origin, the headers
 * and method asked for, a two-day max age, no body.  Returns 0 (the body length). */
size_t reply_cors_preflight(struct evbuffer *out, const struct http_msg *req, int keep_alive,
			    const char *request_id);
/* The CRC-32 DynamoDB puts in x-amz-crc32, over the whole buffer. */
uint32_t reply_crc32(struct evbuffer *body);
/* A fresh request id in DynamoDB's form (52 upper-case letters and digits) into out[53]. */
void reply_request_id(char out[53]);

#endif
