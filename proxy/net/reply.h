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
/* Writes {"__type":..., "message":...} with status, x-amzn-RequestId (request_id, or a fresh
 * one when NULL) and x-amz-crc32, in the Content-Type DynamoDB answers req with
 * (reply_content_type; req may be NULL).  Returns the body length. */
size_t reply_error(struct evbuffer *out, const struct ds_error *err, int keep_alive,
		   const char *request_id, const struct http_msg *req);
/* DynamoDB answers in the JSON media type it was asked in: "application/json" for a request
 * of that type (parameters aside), else "application/x-amz-json-1.0". */
const char *reply_content_type(const struct http_msg *req);
/* The CRC-32 DynamoDB puts in x-amz-crc32, over the whole buffer. */
uint32_t reply_crc32(struct evbuffer *body);
/* A fresh request id in DynamoDB's form (52 upper-case letters and digits) into out[53]. */
void reply_request_id(char out[53]);

#endif
