/*
 * libFuzzer target for proxy/front_door.c, DynamoDB's checks before the signature: any method,
 * Content-Type, X-Amz-Target, signature or not, and body.  Beyond memory safety: the verdict
 * is one of the four; an error is a 400 SerializationException or UnknownOperationException
 * with no message; a GET is always the health check; a request the door lets through is a
 * POST whose X-Amz-Target has the API's form, and whose body, if any, starts (after white
 * space) with '{'.
 *
 * Input: byte 0 picks the method, an Origin and a signature; then the Content-Type,
 * the X-Amz-Target and the body, separated by NUL bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/front_door.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next NUL-separated field of data[*pos..size), as (ptr, len). */
static const char *field(const uint8_t *data, size_t size, size_t *pos, size_t *len)
{
	const uint8_t *start = data + *pos, *nul;

	if (*pos >= size) {
		*len = 0;
		return "";
	}
	nul = memchr(start, '\0', size - *pos);
	*len = nul != NULL ? (size_t)(nul - start) : size - *pos;
	*pos += *len + (nul != NULL);
	return (const char *)start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "POST", "GET", "PUT", "DELETE", "OPTIONS", "HEAD" };
	struct http_msg *m;
	struct ds_error err = { 0 };
	enum front_answer a;
	size_t pos = 1, tl, gl, bl;
	const char *type, *target, *body;

	if (size < 1)
		return 0;
	type = field(data, size, &pos, &tl);
	target = field(data, size, &pos, &gl);
	body = (const char *)data + (pos < size ? pos : size);
	bl = pos < size ? size - pos : 0;
	m = http_msg_new();
	if (m == NULL)
		return 0;
	snprintf(m->method, sizeof(m->method), "%s", methods[(data[0] & 0x3f) % 6]);
	m->url = strdup((data[0] & 0x80) ? "/?X-Amz-Algorithm=AWS4-HMAC-SHA256" : "/");
	if ((tl > 0 && http_msg_add_header(m, "Content-Type", 12, type, tl) != 0) ||
	    (gl > 0 && http_msg_add_header(m, "X-Amz-Target", 12, target, gl) != 0) ||
	    ((data[0] & 0x40) && http_msg_add_header(m, "Origin", 6, "https://app", 11) != 0)) {
		http_msg_free(m);
		return 0;
	}
	a = front_door_check(m, body, bl, &err);
	switch (a) {
	case FRONT_HEALTH:
		if (strcmp(m->method, "GET") != 0)
			__builtin_trap();
		break;
	case FRONT_CORS_PREFLIGHT:
		if (strcmp(m->method, "OPTIONS") != 0 || http_msg_header(m, "origin") == NULL)
			__builtin_trap();
		break;
	case FRONT_NOT_FOUND:
		if (strcmp(m->method, "GET") == 0)
			__builtin_trap();
		break;
	case FRONT_ERROR:
		if (err.status != 400 || err.message[0] != '\0' ||
		    (strcmp(err.type, DS_ERR_SERIALIZATION) != 0 &&
		     strcmp(err.type, "com.amazon.coral.service#UnknownOperationException") != 0))
			__builtin_trap();
		break;
	case FRONT_PASS: {
		const struct http_header *h = http_msg_header(m, "x-amz-target");
		size_t i = 0;
		if (strcmp(m->method, "POST") != 0 || h == NULL || strncmp(h->value, "DynamoDB_20", 11) != 0)
			__builtin_trap();
		while (i < bl && strchr(" \t\r\n", body[i]) != NULL && body[i] != '\0')
			i++;
		if (bl > 0 && (i == bl || body[i] != '{'))
			__builtin_trap();
		break;
	}
	default:
		__builtin_trap();
	}
	http_msg_free(m);
	return 0;
}
