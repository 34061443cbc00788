/*
 * HTTP/1.1 messages and their incremental parser (llhttp), for both sides of the proxy:
 * requests from applications and responses from the upstream.  A message is collected whole
 * (DynamoDB bodies are at most 16 MiB and the body may have to be rewritten), with limits on the
 * header block and the body so a hostile peer cannot make us hold more than configured.
 */
#ifndef DS_HTTP_H
#define DS_HTTP_H

#include <stddef.h>
#include <string.h>
#include <stdint.h>

#include <llhttp.h>

struct evbuffer;

/* One header line as received; name and value are NUL-terminated copies. */
struct http_header {
	char *name;              /* as the peer spelled it; in the message's header blocks */
	char *value;             /* leading and trailing white space removed; likewise */
	size_t name_len;         /* strlen(name) */
	size_t value_len;        /* strlen(value) */
};

/* A whole request or response. */
#define HTTP_INLINE_HEADERS 16

struct http_head_block;           /* http.c: storage for header names and values */

struct http_msg {
	char method[16];          /* requests: "POST", ... */
	char *url;                /* requests: the request target as sent */
	size_t url_len;
	int status;               /* responses: the status code */
	char *reason;             /* responses: the reason phrase, may be empty */
	int http_major, http_minor;
	int keep_alive;           /* the peer wants the connection kept open afterwards */
	int expect_continue;      /* requests: "Expect: 100-continue" */
	int chunked;              /* the body came chunked */
	struct http_header *headers; /* inline_headers until more are needed */
	size_t headers_len;       /* headers in use */
	size_t headers_cap;       /* headers allocated */
	struct http_head_block *blocks; /* where the headers' names and values live */
	struct evbuffer *body;    /* the body, de-chunked */
	struct http_header inline_headers[HTTP_INLINE_HEADERS];
};

struct http_msg *http_msg_new(void) __attribute__((warn_unused_result));
void http_msg_free(struct http_msg *msg);
/* The first header of that name (case-insensitive), or NULL. */
const struct http_header *http_msg_header(const struct http_msg *msg, const char *name);
/* How many headers of that name (case-insensitive) msg has. */
size_t http_msg_header_count(const struct http_msg *msg, const char *name);
/* Appends a header (copies name and value).  Returns 0 or -1 on allocation failure. */
int http_msg_add_header(struct http_msg *msg, const char *name, size_t name_len,
			const char *value, size_t value_len) __attribute__((warn_unused_result));
/* Removes every header of that name. */
void http_msg_remove_header(struct http_msg *msg, const char *name);

/* What feeding bytes to a parser produced. */
enum http_parse_result {
	HTTP_PARSE_MORE = 0,       /* all bytes consumed, the message is not complete yet */
	HTTP_PARSE_HEADERS,        /* headers complete (body follows); call again to go on */
	HTTP_PARSE_DONE,           /* a whole message: take it with http_parser_take() */
	HTTP_PARSE_ERROR,          /* malformed input: see http_parser_error() */
	HTTP_PARSE_TOO_LARGE_HEADER, /* the header block exceeds the limit */
	HTTP_PARSE_TOO_LARGE_BODY, /* the body exceeds the limit */
};

/* Incremental parser state for one connection. */
struct http_parser {
	llhttp_t llhttp;           /* llhttp's state */
	llhttp_settings_t settings; /* callbacks, below */
	struct http_msg *msg;      /* the message being assembled, NULL between messages */
	size_t max_header_bytes;   /* limit on request line + headers */
	size_t max_body_bytes;     /* limit on the (de-chunked) body */
	size_t header_bytes;       /* bytes of request line and headers seen so far */
	char *field;               /* header name being assembled (kept between headers) */
	size_t field_len;
	size_t field_cap;
	char *value;               /* header value being assembled (kept between headers) */
	size_t value_len;
	size_t value_cap;
	int in_value;              /* the last header callback was for a value */
	int headers_done;          /* on_headers_complete has run for msg */
	int headers_reported;      /* HTTP_PARSE_HEADERS was returned for msg */
	int complete;              /* on_message_complete has run for msg */
	int overflow;              /* which limit was exceeded: 0, 1 header, 2 body */
	int oom;                   /* an allocation failed in a callback */
};

/* type is HTTP_REQUEST or HTTP_RESPONSE (llhttp's enum). */
void http_parser_init(struct http_parser *p, llhttp_type_t type, size_t max_header_bytes,
		      size_t max_body_bytes);
void http_parser_cleanup(struct http_parser *p);
/*
 * Feeds len bytes.  *consumed is set to how many were used: fewer than len when a message
 * completed (the rest belongs to the next message) or headers completed.
 */
enum http_parse_result http_parser_feed(struct http_parser *p, const char *data, size_t len,
					size_t *consumed);
/* Feeds every byte the evbuffer holds (draining what was consumed), one result as above. */
enum http_parse_result http_parser_feed_evbuffer(struct http_parser *p, struct evbuffer *in);
/* Tells the parser the peer closed; completes a response delimited by EOF.  */
enum http_parse_result http_parser_eof(struct http_parser *p);
/* Hands over the completed message; the parser is ready for the next one. */
struct http_msg *http_parser_take(struct http_parser *p);
/* A short reason for HTTP_PARSE_ERROR, from llhttp. */
const char *http_parser_error(const struct http_parser *p);
/* Whether the HTTP_PARSE_ERROR was running out of memory rather than malformed input. */
int http_parser_out_of_memory(const struct http_parser *p);
/* Whether bytes of a message have been seen since the last one completed. */
int http_parser_in_message(const struct http_parser *p);

/* The standard reason phrase of a status code. */
const char *http_status_reason(int status);

/*
 * A bounded writer for an HTTP head in space the caller sized beforehand (for the whole head,
 * in one allocation or one evbuffer_reserve_space): no printf, no intermediate buffer.  It
 * knows its end: a write that does not fit writes nothing and marks the writer failed, and
 * every later write is ignored, so a sizing mistake is a refused message, never an overflow.
 */
struct http_head_writer {
	char *p;                    /* next byte to write */
	char *end;                  /* one past the last byte it may write */
	int failed;                 /* a write did not fit */
};

/* Starts a writer on buf[0..cap). */
void http_head_writer_init(struct http_head_writer *w, char *buf, size_t cap);
/* Appends s[0..n) (inline: a head is some eighty small writes). */
static inline void http_head_put(struct http_head_writer *w, const char *s, size_t n)
{
	if (w->failed || n > (size_t)(w->end - w->p)) {
		w->failed = 1;
		return;
	}
	memcpy(w->p, s, n);
	w->p += n;
}
/* v in decimal: at most 20 bytes. */
void http_head_put_uint(struct http_head_writer *w, unsigned long long v);
#define HTTP_HEAD_PUT_LIT(w, lit) http_head_put((w), (lit), sizeof(lit) - 1)

#endif
