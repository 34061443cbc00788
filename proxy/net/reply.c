#include "proxy/net/reply.h"
#include "proxy/base/json.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <openssl/rand.h>
#include <zlib.h>

uint32_t reply_crc32(struct evbuffer *body)
{
	struct evbuffer_iovec vec[16];
	struct evbuffer_ptr pos;
	uLong crc = crc32(0L, Z_NULL, 0);

	evbuffer_ptr_set(body, &pos, 0, EVBUFFER_PTR_SET);
	for (;;) {
		int n = evbuffer_peek(body, -1, &pos, vec, 16);
		size_t step = 0;
		if (n <= 0)
			break;
		if (n > 16)
			n = 16;
		for (int i = 0; i < n; i++) {
			crc = crc32(crc, vec[i].iov_base, (uInt)vec[i].iov_len);
			step += vec[i].iov_len;
		}
		if (evbuffer_ptr_set(body, &pos, step, EVBUFFER_PTR_ADD) != 0)
			break;
	}
	return (uint32_t)crc;
}

/*
 * Request ids must be unique, not secret (they name a request in logs, audit records and
 * error answers), so each thread draws them from SplitMix64 seeded once from RAND_bytes: a
 * RAND_bytes call per request cost as much as the rest of relaying a pass-through answer.
 */
static _Thread_local uint64_t request_id_state;
static _Thread_local int request_id_seeded;

static uint64_t request_id_next(void)
{
	uint64_t z;

	if (!request_id_seeded) {
		if (RAND_bytes((unsigned char *)&request_id_state, sizeof(request_id_state)) != 1)
			request_id_state = (uint64_t)(uintptr_t)&request_id_state;
		request_id_seeded = 1;
	}
	z = (request_id_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void reply_request_id(char out[53])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	uint64_t r = 0;

	for (int i = 0; i < 52; i++) {
		if (i % 8 == 0)
			r = request_id_next();
		out[i] = alphabet[(r & 0xff) % 36];
		r >>= 8;
	}
	out[52] = '\0';
}

/* Headers that describe one hop, not the message: never relayed. */
static int is_hop_header(const struct http_header *h)
{
	static const struct {
		const char *name;
		size_t len;
	} hop[] = {
#define HOP(s) { s, sizeof(s) - 1 }
		HOP("connection"), HOP("keep-alive"), HOP("transfer-encoding"), HOP("content-length"),
		HOP("te"), HOP("trailer"), HOP("upgrade"), HOP("proxy-connection"),
#undef HOP
	};
	/* The length first: most headers are compared with no strcasecmp at all. */
	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++) {
		if (h->name_len == hop[i].len && strcasecmp(h->name, hop[i].name) == 0)
			return 1;
	}
	return 0;
}

size_t reply_relay(struct evbuffer *out, struct http_msg *resp, int body_changed, int keep_alive)
{
	size_t len = evbuffer_get_length(resp->body);
	const char *reason = resp->reason && *resp->reason ? resp->reason
							   : http_status_reason(resp->status);
	size_t reason_len = strlen(reason);
	/* The head is written straight into the output buffer, sized first: every header
	 * counted (so dropped ones only make it an upper bound), numbers at their widest. */
	size_t cap = sizeof("HTTP/1.1  \r\n") + 20 + reason_len +
		     sizeof("x-amz-crc32: \r\n") + 20 +
		     sizeof("Content-Length: \r\nConnection: close\r\n\r\n") + 20;
	struct evbuffer_iovec vec;
	struct http_head_writer hw;

	for (size_t i = 0; i < resp->headers_len; i++)
		cap += resp->headers[i].name_len + resp->headers[i].value_len + 4;
	if (evbuffer_reserve_space(out, (ev_ssize_t)cap, &vec, 1) != 1)
		return len;
	http_head_writer_init(&hw, vec.iov_base, vec.iov_len < cap ? vec.iov_len : cap);
	HTTP_HEAD_PUT_LIT(&hw, "HTTP/1.1 ");
	http_head_put_uint(&hw, (unsigned long long)(resp->status < 0 ? 0 : resp->status));
	HTTP_HEAD_PUT_LIT(&hw, " ");
	http_head_put(&hw, reason, reason_len);
	HTTP_HEAD_PUT_LIT(&hw, "\r\n");
	for (size_t i = 0; i < resp->headers_len; i++) {
		const struct http_header *h = &resp->headers[i];
		if (is_hop_header(h))
			continue;
		if (body_changed && h->name_len == 11 && strcasecmp(h->name, "x-amz-crc32") == 0)
			continue;
		http_head_put(&hw, h->name, h->name_len);
		HTTP_HEAD_PUT_LIT(&hw, ": ");
		http_head_put(&hw, h->value, h->value_len);
		HTTP_HEAD_PUT_LIT(&hw, "\r\n");
	}
	if (body_changed) {
		HTTP_HEAD_PUT_LIT(&hw, "x-amz-crc32: ");
		http_head_put_uint(&hw, reply_crc32(resp->body));
		HTTP_HEAD_PUT_LIT(&hw, "\r\n");
	}
	HTTP_HEAD_PUT_LIT(&hw, "Content-Length: ");
	http_head_put_uint(&hw, len);
	HTTP_HEAD_PUT_LIT(&hw, "\r\n");
	if (!keep_alive)
		HTTP_HEAD_PUT_LIT(&hw, "Connection: close\r\n");
	HTTP_HEAD_PUT_LIT(&hw, "\r\n");
	if (hw.failed) {
		/* Nothing of the head is committed: the application gets a plain error, and the
		 * connection closes. */
		static const char oops[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0"
					   "\r\nConnection: close\r\n\r\n";
		evbuffer_add(out, oops, sizeof(oops) - 1);
		return 0;
	}
	vec.iov_len = (size_t)(hw.p - (char *)vec.iov_base);
	if (evbuffer_commit_space(out, &vec, 1) != 0)
		return len;
	evbuffer_add_buffer(out, resp->body);
	return len;
}

const char *reply_content_type(const struct http_msg *req)
{
	const struct http_header *h = req != NULL ? http_msg_header(req, "content-type") : NULL;
	static const char amz[] = "application/x-amz-json-1.0";
	const char *v = h != NULL ? h->value : "";
	size_t n = sizeof(amz) - 1;

	/* Without a request (a connection-level refusal) the SDKs' type. */
	if (req == NULL)
		return amz;
	while (*v == ' ' || *v == '\t')
		v++;
	if (strncasecmp(v, amz, n) == 0) {
		const char *r = v + n;
		while (*r == ' ' || *r == '\t')
			r++;
		if (*r == '\0' || *r == ';')
			return amz;
	}
	return "application/json";
}

/* DynamoDB allows any origin (CORS): a request with an Origin gets the header back. */
static const char *cors_header(const struct http_msg *req)
{
	return req != NULL && http_msg_header(req, "origin") != NULL
	       ? "Access-Control-Allow-Origin: *\r\n" : "";
}

size_t reply_error(struct evbuffer *out, const struct ds_error *err, int keep_alive,
		   const char *request_id, const struct http_msg *req)
{
	struct evbuffer *body = evbuffer_new();
	char id[53];
	size_t len;

	if (body == NULL)
		return 0;
	/* DynamoDB's deserializer spells its member "Message"; its other errors "message"; its
	 * front door's errors have none. */
	if (err->message[0] == '\0') {
		evbuffer_add_printf(body, "{\"__type\":\"%s\"}", err->type);
	} else {
		evbuffer_add_printf(body, "{\"__type\":\"%s\",\"%s\":\"", err->type,
				    strcmp(err->type, DS_ERR_SERIALIZATION) == 0 ? "Message" : "message");
		json_escape(body, err->message);
		evbuffer_add(body, "\"}", 2);
	}
	len = evbuffer_get_length(body);
	if (request_id != NULL && *request_id != '\0')
		snprintf(id, sizeof(id), "%s", request_id);
	else
		reply_request_id(id);
	evbuffer_add_printf(out,
			    "HTTP/1.1 %d %s\r\n"
			    "x-amzn-RequestId: %s\r\n"
			    "x-amz-crc32: %u\r\n"
			    "Content-Type: %s\r\n"
			    "%s"
			    "Content-Length: %zu\r\n"
			    "%s\r\n",
			    err->status, http_status_reason(err->status), id, reply_crc32(body),
			    reply_content_type(req), cors_header(req), len,
			    keep_alive ? "" : "Connection: close\r\n");
	evbuffer_add_buffer(out, body);
	evbuffer_free(body);
	return len;
}

size_t reply_text(struct evbuffer *out, int status, const char *text, int keep_alive,
		  const char *request_id, const struct http_msg *req)
{
	struct evbuffer *body = evbuffer_new();
	size_t len = strlen(text);

	if (body == NULL)
		return 0;
	evbuffer_add(body, text, len);
	evbuffer_add_printf(out,
			    "HTTP/1.1 %d %s\r\n"
			    "x-amzn-RequestId: %s\r\n"
			    "x-amz-crc32: %u\r\n"
			    "%s"
			    "Content-Length: %zu\r\n"
			    "%s\r\n",
			    status, http_status_reason(status), request_id, reply_crc32(body),
			    cors_header(req), len, keep_alive ? "" : "Connection: close\r\n");
	evbuffer_add_buffer(out, body);
	evbuffer_free(body);
	return len;
}

size_t reply_cors_preflight(struct evbuffer *out, const struct http_msg *req, int keep_alive,
			    const char *request_id)
{
	const struct http_header *hs = http_msg_header(req, "access-control-request-headers");
	const struct http_header *ms = http_msg_header(req, "access-control-request-method");

	evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\nx-amzn-RequestId: %s\r\n"
			    "Access-Control-Allow-Origin: *\r\n", request_id);
	/* The parser refused CR and LF in header values: echoing them cannot split the head. */
	if (hs != NULL)
		evbuffer_add_printf(out, "Access-Control-Allow-Headers: %s\r\n", hs->value);
	if (ms != NULL)
		evbuffer_add_printf(out, "Access-Control-Allow-Methods: %s\r\n", ms->value);
	evbuffer_add_printf(out, "Access-Control-Max-Age: 172800\r\nContent-Length: 0\r\n%s\r\n",
			    keep_alive ? "" : "Connection: close\r\n");
	return 0;
}
