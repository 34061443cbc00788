/*
 * The subset of Redis replies (RESP2, redis.io "Redis serialization protocol specification")
 * that the L2 cache's commands get back: simple strings (+OK, +PONG), errors (-ERR ...),
 * integers (:n), bulk strings ($n) and the nil bulk string ($-1).  Arrays are never an answer
 * to GET, SET, AUTH, SELECT or PING, so an array is a protocol error.
 *
 * Why not hiredis' redisReader: 0.14 buffers whatever bulk length a server announces and
 * callocs whatever element count an array announces ("*2000000000" asks for 16 GB), so a
 * garbage-answering peer could exhaust the worker's memory.  This parser reads the bytes
 * through a bounds-checked cursor (proxy/base/bufread.h), caps every length, and never allocates.
 */
#ifndef DS_CACHE_RESP_H
#define DS_CACHE_RESP_H

#include <stddef.h>
#include <stdint.h>

/* Longest status, error or integer line accepted, CRLF excluded. */
#define CACHE_RESP_LINE_MAX 4096

/* The kind of a reply. */
enum cache_resp_type {
	CACHE_RESP_STATUS = 1,    /* +text */
	CACHE_RESP_ERROR = 2,     /* -text */
	CACHE_RESP_INTEGER = 3,   /* :n */
	CACHE_RESP_BULK = 4,      /* $n then n bytes */
	CACHE_RESP_NIL = 5,       /* $-1 */
};

/* One parsed reply; str points into the parsed buffer (no copy). */
struct cache_resp_reply {
	enum cache_resp_type type;   /* what the reply is */
	const uint8_t *str;          /* status or error text, or bulk bytes; NULL for nil/integer */
	size_t len;                  /* bytes at str */
	long long integer;           /* the value of an integer reply */
};

/* What cache_resp_parse found. */
#define CACHE_RESP_INCOMPLETE 0   /* a prefix of a valid reply: feed more bytes */
#define CACHE_RESP_OK 1           /* one reply parsed: *consumed bytes used */
#define CACHE_RESP_BAD (-1)       /* not a reply this client accepts: *why says how */

/*
 * Parses the first reply in (p, len), untrusted bytes from the network.  A bulk string longer
 * than max_bulk is refused (BAD), as is any line longer than CACHE_RESP_LINE_MAX.
 */
int cache_resp_parse(const uint8_t *p, size_t len, size_t max_bulk, struct cache_resp_reply *out,
		     size_t *consumed, const char **why) __attribute__((warn_unused_result));

#endif
