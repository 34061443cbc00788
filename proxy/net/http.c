/*
 * HTTP/1.1 message assembly over llhttp.  The parser pauses after each complete message so a
 * connection handles one exchange at a time; bytes of a pipelined next request stay in the
 * connection's input buffer until then.
 */
#include "proxy/net/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

/*
 * Header names and values are packed into blocks owned by the message: one allocation holds
 * a typical request's or answer's headers (a header that does not fit starts a new block), so
 * a message costs no allocation per header.  Blocks are wiped when freed: they hold the
 * client's Authorization and session token.
 */
#define HTTP_HEAD_BLOCK 2048

struct http_head_block {
	struct http_head_block *next;
	size_t used;
	size_t cap;
	char data[];
};

static char *head_alloc(struct http_msg *msg, size_t n)
{
	struct http_head_block *b = msg->blocks;

	if (b == NULL || b->cap - b->used < n) {
		size_t cap = n > HTTP_HEAD_BLOCK ? n : HTTP_HEAD_BLOCK;
		b = malloc(sizeof(*b) + cap);
		if (b == NULL)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = msg->blocks;
		msg->blocks = b;
	}
	b->used += n;
	return b->data + b->used - n;
}

struct http_msg *http_msg_new(void)
{
	struct http_msg *msg = calloc(1, sizeof(*msg));

	if (msg == NULL)
		return NULL;
	msg->body = evbuffer_new();
	if (msg->body == NULL) {
		free(msg);
		return NULL;
	}
	msg->headers = msg->inline_headers;
	msg->headers_cap = HTTP_INLINE_HEADERS;
	return msg;
}

void http_msg_free(struct http_msg *msg)
{
	struct http_head_block *b;

	if (msg == NULL)
		return;
	while ((b = msg->blocks) != NULL) {
		msg->blocks = b->next;
		explicit_bzero(b->data, b->used);
		free(b);
	}
	if (msg->headers != msg->inline_headers)
		free(msg->headers);
	free(msg->url);
	free(msg->reason);
	if (msg->body != NULL)
		evbuffer_free(msg->body);
	free(msg);
}

/* The length first: most names differ in it, and then no strcasecmp is needed. */
const struct http_header *http_msg_header(const struct http_msg *msg, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < msg->headers_len; i++) {
		if (msg->headers[i].name_len == len && strcasecmp(msg->headers[i].name, name) == 0)
			return &msg->headers[i];
	}
	return NULL;
}

size_t http_msg_header_count(const struct http_msg *msg, const char *name)
{
	size_t len = strlen(name);
	size_t n = 0;

	for (size_t i = 0; i < msg->headers_len; i++)
		n += msg->headers[i].name_len == len && strcasecmp(msg->headers[i].name, name) == 0;
	return n;
}

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

int http_msg_add_header(struct http_msg *msg, const char *name, size_t name_len,
			const char *value, size_t value_len)
{
	struct http_header *h;

	while (value_len > 0 && is_ows(*value)) {
		value++;
		value_len--;
	}
	while (value_len > 0 && is_ows(value[value_len - 1]))
		value_len--;
	if (msg->headers_len == msg->headers_cap) {
		size_t cap = msg->headers_cap * 2;
		struct http_header *n = malloc(cap * sizeof(*n));
		if (n == NULL)
			return -1;
		memcpy(n, msg->headers, msg->headers_len * sizeof(*n));
		if (msg->headers != msg->inline_headers)
			free(msg->headers);
		msg->headers = n;
		msg->headers_cap = cap;
	}
	h = &msg->headers[msg->headers_len];
	/* The name, a NUL, the value, a NUL, in the message's header blocks. */
	h->name = head_alloc(msg, name_len + value_len + 2);
	if (h->name == NULL)
		return -1;
	memcpy(h->name, name, name_len);
	h->name[name_len] = '\0';
	h->value = h->name + name_len + 1;
	memcpy(h->value, value, value_len);
	h->value[value_len] = '\0';
	h->name_len = name_len;
	h->value_len = value_len;
	msg->headers_len++;
	return 0;
}

void http_msg_remove_header(struct http_msg *msg, const char *name)
{
	size_t o = 0;

	for (size_t i = 0; i < msg->headers_len; i++) {
		if (strcasecmp(msg->headers[i].name, name) == 0)
			continue;    /* its bytes stay in the block until the message is freed */
		msg->headers[o++] = msg->headers[i];
	}
	msg->headers_len = o;
}

/* The parser state that owns an llhttp_t (the llhttp_t is its first member). */
static struct http_parser *parser_of(llhttp_t *l)
{
	return (struct http_parser *)l;
}

/*
 * Appends to the parser's header name or value scratch, which is kept from one header to the
 * next (a header arrives in one callback unless it spans reads: no allocation per header).
 */
static int append_scratch(struct http_parser *p, char **s, size_t *len, size_t *cap,
			  const char *at, size_t n)
{
	p->header_bytes += n;
	if (p->header_bytes > p->max_header_bytes) {
		p->overflow = 1;
		return -1;
	}
	if (*len + n + 1 > *cap) {
		size_t want = *cap ? *cap : 256;
		char *grown;

		while (want < *len + n + 1)
			want *= 2;
		grown = malloc(want);
		if (grown == NULL) {
			p->oom = 1;
			return -1;
		}
		if (*s != NULL) {
			memcpy(grown, *s, *len);
			explicit_bzero(*s, *cap);
			free(*s);
		}
		*s = grown;
		*cap = want;
	}
	memcpy(*s + *len, at, n);
	*len += n;
	(*s)[*len] = '\0';
	return 0;
}

/* Appends to a message's own growing string (its URL or reason phrase), which is exactly
 * its length plus the NUL long: the scratch rule with that capacity. */
static int append(struct http_parser *p, char **s, size_t *len, const char *at, size_t n)
{
	size_t cap = *s != NULL ? *len + 1 : 0;

	return append_scratch(p, s, len, &cap, at, n);
}

/* Forgets the scratch's contents; a scratch grown past a few KiB by one large header is
 * released rather than kept for the connection's life. */
static void scratch_reset(char **s, size_t *len, size_t *cap)
{
	if (*s == NULL)
		return;
	if (*cap > 4096) {
		explicit_bzero(*s, *cap);
		free(*s);
		*s = NULL;
		*cap = 0;
	} else {
		explicit_bzero(*s, *len);
	}
	*len = 0;
}

static int on_message_begin(llhttp_t *l)
{
	struct http_parser *p = parser_of(l);

	if (p->msg == NULL) {
		p->msg = http_msg_new();
		if (p->msg == NULL) {
			p->oom = 1;
			return -1;
		}
	}
	scratch_reset(&p->field, &p->field_len, &p->field_cap);
	scratch_reset(&p->value, &p->value_len, &p->value_cap);
	p->header_bytes = 0;
	p->headers_done = 0;
	p->headers_reported = 0;
	p->complete = 0;
	return 0;
}

static int on_url(llhttp_t *l, const char *at, size_t n)
{
	struct http_parser *p = parser_of(l);

	return append(p, &p->msg->url, &p->msg->url_len, at, n);
}

static int on_status(llhttp_t *l, const char *at, size_t n)
{
	struct http_parser *p = parser_of(l);
	size_t len = p->msg->reason ? strlen(p->msg->reason) : 0;

	return append(p, &p->msg->reason, &len, at, n);
}

static int on_header_field(llhttp_t *l, const char *at, size_t n)
{
	struct http_parser *p = parser_of(l);

	return append_scratch(p, &p->field, &p->field_len, &p->field_cap, at, n);
}

static int on_header_value(llhttp_t *l, const char *at, size_t n)
{
	struct http_parser *p = parser_of(l);

	/* Four bytes for ": " and CRLF, so the limit is on the header block as sent. */
	if (p->value_len == 0)
		p->header_bytes += 4;
	return append_scratch(p, &p->value, &p->value_len, &p->value_cap, at, n);
}

static int on_header_value_complete(llhttp_t *l)
{
	struct http_parser *p = parser_of(l);
	int rc;

	rc = http_msg_add_header(p->msg, p->field ? p->field : "", p->field_len,
				 p->value ? p->value : "", p->value_len);
	scratch_reset(&p->field, &p->field_len, &p->field_cap);
	scratch_reset(&p->value, &p->value_len, &p->value_cap);
	if (rc != 0) {
		p->oom = 1;
		return -1;
	}
	return 0;
}

static int on_headers_complete(llhttp_t *l)
{
	struct http_parser *p = parser_of(l);
	struct http_msg *m = p->msg;
	const struct http_header *expect;

	m->http_major = l->http_major;
	m->http_minor = l->http_minor;
	m->status = l->status_code;
	m->chunked = (l->flags & F_CHUNKED) != 0;
	if (l->type == HTTP_REQUEST) {
		const char *name = llhttp_method_name((llhttp_method_t)l->method);
		strncpy(m->method, name, sizeof(m->method) - 1);
		expect = http_msg_header(m, "expect");
		m->expect_continue = expect != NULL && strcasecmp(expect->value, "100-continue") == 0;
	}
	if ((l->flags & F_CONTENT_LENGTH) && l->content_length > p->max_body_bytes) {
		p->overflow = 2;
		return -1;
	}
	p->headers_done = 1;
	return 0;
}

static int on_body(llhttp_t *l, const char *at, size_t n)
{
	struct http_parser *p = parser_of(l);

	if (evbuffer_get_length(p->msg->body) + n > p->max_body_bytes) {
		p->overflow = 2;
		return -1;
	}
	if (evbuffer_add(p->msg->body, at, n) != 0) {
		p->oom = 1;
		return -1;
	}
	return 0;
}

static int on_message_complete(llhttp_t *l)
{
	struct http_parser *p = parser_of(l);

	p->msg->keep_alive = llhttp_should_keep_alive(l);
	p->complete = 1;
	return HPE_PAUSED;
}

void http_parser_init(struct http_parser *p, llhttp_type_t type, size_t max_header_bytes,
		      size_t max_body_bytes)
{
	memset(p, 0, sizeof(*p));
	llhttp_settings_init(&p->settings);
	p->settings.on_message_begin = on_message_begin;
	p->settings.on_url = on_url;
	p->settings.on_status = on_status;
	p->settings.on_header_field = on_header_field;
	p->settings.on_header_value = on_header_value;
	p->settings.on_header_value_complete = on_header_value_complete;
	p->settings.on_headers_complete = on_headers_complete;
	p->settings.on_body = on_body;
	p->settings.on_message_complete = on_message_complete;
	llhttp_init(&p->llhttp, type, &p->settings);
	p->max_header_bytes = max_header_bytes;
	p->max_body_bytes = max_body_bytes;
}

void http_parser_cleanup(struct http_parser *p)
{
	http_msg_free(p->msg);
	if (p->field != NULL)
		explicit_bzero(p->field, p->field_cap);
	if (p->value != NULL)
		explicit_bzero(p->value, p->value_cap);
	free(p->field);
	free(p->value);
	p->msg = NULL;
	p->field = p->value = NULL;
	p->field_len = p->value_len = p->field_cap = p->value_cap = 0;
}

/* Maps the state after llhttp stopped with an error to our result. */
static enum http_parse_result error_result(const struct http_parser *p)
{
	if (p->overflow == 1)
		return HTTP_PARSE_TOO_LARGE_HEADER;
	if (p->overflow == 2)
		return HTTP_PARSE_TOO_LARGE_BODY;
	return HTTP_PARSE_ERROR;
}

enum http_parse_result http_parser_feed(struct http_parser *p, const char *data, size_t len,
					size_t *consumed)
{
	llhttp_errno_t e;

	*consumed = 0;
	if (p->complete)
		return HTTP_PARSE_DONE;
	if (llhttp_get_errno(&p->llhttp) == HPE_PAUSED)
		llhttp_resume(&p->llhttp);
	e = llhttp_execute(&p->llhttp, data, len);
	if (e == HPE_OK) {
		*consumed = len;
		if (p->headers_done && !p->headers_reported) {
			p->headers_reported = 1;
			return HTTP_PARSE_HEADERS;
		}
		return HTTP_PARSE_MORE;
	}
	if (e == HPE_PAUSED && p->complete) {
		*consumed = (size_t)(llhttp_get_error_pos(&p->llhttp) - data);
		return HTTP_PARSE_DONE;
	}
	return error_result(p);
}

enum http_parse_result http_parser_feed_evbuffer(struct http_parser *p, struct evbuffer *in)
{
	struct evbuffer_iovec vec[8];
	enum http_parse_result result = HTTP_PARSE_MORE;
	int headers = 0;

	while (evbuffer_get_length(in) > 0) {
		int n = evbuffer_peek(in, -1, NULL, vec, 8);
		size_t total = 0;

		if (n > 8)
			n = 8;
		for (int i = 0; i < n; i++) {
			size_t used;
			result = http_parser_feed(p, vec[i].iov_base, vec[i].iov_len, &used);
			total += used;
			if (result == HTTP_PARSE_HEADERS) {
				headers = 1;
				result = HTTP_PARSE_MORE;
			}
			if (result != HTTP_PARSE_MORE)
				break;
		}
		evbuffer_drain(in, total);
		if (result != HTTP_PARSE_MORE)
			return result;
	}
	return headers ? HTTP_PARSE_HEADERS : result;
}

enum http_parse_result http_parser_eof(struct http_parser *p)
{
	llhttp_errno_t e;

	if (p->complete)
		return HTTP_PARSE_DONE;
	if (p->msg == NULL)
		return HTTP_PARSE_MORE;
	if (llhttp_get_errno(&p->llhttp) == HPE_PAUSED)
		llhttp_resume(&p->llhttp);
	e = llhttp_finish(&p->llhttp);
	if ((e == HPE_OK || e == HPE_PAUSED) && p->complete)
		return HTTP_PARSE_DONE;
	return HTTP_PARSE_ERROR;
}

struct http_msg *http_parser_take(struct http_parser *p)
{
	struct http_msg *msg = p->msg;

	if (!p->complete)
		return NULL;
	p->msg = NULL;
	p->complete = 0;
	p->headers_done = 0;
	p->headers_reported = 0;
	return msg;
}

int http_parser_out_of_memory(const struct http_parser *p)
{
	return p->oom;
}

const char *http_parser_error(const struct http_parser *p)
{
	if (p->oom)
		return "out of memory";
	return llhttp_errno_name(llhttp_get_errno(&p->llhttp));
}

int http_parser_in_message(const struct http_parser *p)
{
	return p->msg != NULL;
}

const char *http_status_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 408: return "Request Timeout";
	case 413: return "Request Entity Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

void http_head_writer_init(struct http_head_writer *w, char *buf, size_t cap)
{
	w->p = buf;
	w->end = buf + cap;
	w->failed = 0;
}

void http_head_put_uint(struct http_head_writer *w, unsigned long long v)
{
	char digits[20];
	size_t n = 0;

	do {
		digits[sizeof(digits) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	http_head_put(w, digits + sizeof(digits) - n, n);
}
