#include "proxy/reply.h"

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

void reply_request_id(char out[53])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char r[52];

	if (RAND_bytes(r, sizeof(r)) != 1)
		memset(r, 0, sizeof(r));
	for (int i = 0; i < 52; i++)
		out[i] = alphabet[r[i] % 36];
	out[52] = '\0';
}

void reply_json_escape(struct evbuffer *out, const char *s)
{
	const char *run = s;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c != '"' && c != '\\' && c >= 0x20)
			continue;
		evbuffer_add(out, run, (size_t)(s - run));
		if (c == '"' || c == '\\')
			evbuffer_add_printf(out, "\\%c", c);
		else
			evbuffer_add_printf(out, "\\u%04x", c);
		run = s + 1;
	}
	evbuffer_add(out, run, (size_t)(s - run));
}

/* Headers that describe one hop, not the message: never relayed. */
static int is_hop_header(const char *name)
{
	static const char *const hop[] = {
		"connection", "keep-alive", "transfer-encoding", "content-length", "te",
		"trailer", "upgrade", "proxy-connection",
	};
	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++) {
		if (strcasecmp(name, hop[i]) == 0)
			return 1;
	}
	return 0;
}

size_t reply_relay(struct evbuffer *out, struct http_msg *resp, int body_changed, int keep_alive)
{
	size_t len = evbuffer_get_length(resp->body);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", resp->status,
			    resp->reason && *resp->reason ? resp->reason : http_status_reason(resp->status));
	for (size_t i = 0; i < resp->headers_len; i++) {
		const struct http_header *h = &resp->headers[i];
		if (is_hop_header(h->name))
			continue;
		if (body_changed && strcasecmp(h->name, "x-amz-crc32") == 0)
			continue;
		evbuffer_add(out, h->name, h->name_len);
		evbuffer_add(out, ": ", 2);
		evbuffer_add(out, h->value, h->value_len);
		evbuffer_add(out, "\r\n", 2);
	}
	if (body_changed)
		evbuffer_add_printf(out, "x-amz-crc32: %u\r\n", reply_crc32(resp->body));
	evbuffer_add_printf(out, "Content-Length: %zu\r\n%s\r\n", len,
			    keep_alive ? "" : "Connection: close\r\n");
	evbuffer_add_buffer(out, resp->body);
	return len;
}

size_t reply_error(struct evbuffer *out, const struct ds_error *err, int keep_alive,
		   const char *request_id)
{
	struct evbuffer *body = evbuffer_new();
	char id[53];
	size_t len;

	if (body == NULL)
		return 0;
	evbuffer_add_printf(body, "{\"__type\":\"%s\",\"message\":\"", err->type);
	reply_json_escape(body, err->message);
	evbuffer_add(body, "\"}", 2);
	len = evbuffer_get_length(body);
	if (request_id != NULL && *request_id != '\0')
		snprintf(id, sizeof(id), "%s", request_id);
	else
		reply_request_id(id);
	evbuffer_add_printf(out,
			    "HTTP/1.1 %d %s\r\n"
			    "x-amzn-RequestId: %s\r\n"
			    "x-amz-crc32: %u\r\n"
			    "Content-Type: application/x-amz-json-1.0\r\n"
			    "Content-Length: %zu\r\n"
			    "%s\r\n",
			    err->status, http_status_reason(err->status), id, reply_crc32(body), len,
			    keep_alive ? "" : "Connection: close\r\n");
	evbuffer_add_buffer(out, body);
	evbuffer_free(body);
	return len;
}
