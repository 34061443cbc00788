#include "cache/cache_resp.h"

#include <string.h>

#include "proxy/base/bufread.h"

/*
 * Reads one CRLF-terminated line from r into a view (CRLF excluded).  INCOMPLETE when no CRLF
 * is there yet, BAD when the line is over CACHE_RESP_LINE_MAX or holds a bare CR or LF.
 */
static int resp_line(struct bufread *r, const unsigned char **line, size_t *line_len,
		     const char **why)
{
	const unsigned char *rest = r->p + r->off;
	size_t left = bufread_left(r);
	size_t scan = left < CACHE_RESP_LINE_MAX + 2 ? left : CACHE_RESP_LINE_MAX + 2;
	const unsigned char *cr = memchr(rest, '\r', scan);
	const unsigned char *lf = memchr(rest, '\n', scan);
	size_t n;

	if (lf != NULL && (cr == NULL || lf < cr)) {
		*why = "a line feed without a carriage return";
		return CACHE_RESP_BAD;
	}
	if (cr == NULL) {
		if (left >= CACHE_RESP_LINE_MAX + 2) {
			*why = "a reply line longer than 4096 bytes";
			return CACHE_RESP_BAD;
		}
		return CACHE_RESP_INCOMPLETE;
	}
	n = (size_t)(cr - rest);
	if (n > CACHE_RESP_LINE_MAX) {
		*why = "a reply line longer than 4096 bytes";
		return CACHE_RESP_BAD;
	}
	if (n + 1 >= left)
		return CACHE_RESP_INCOMPLETE;
	if (cr[1] != '\n') {
		*why = "a carriage return without a line feed";
		return CACHE_RESP_BAD;
	}
	if (bufread_view(r, n, line) != 0 || bufread_view(r, 2, &rest) != 0)
		return CACHE_RESP_INCOMPLETE;
	*line_len = n;
	return CACHE_RESP_OK;
}

/* A decimal integer in RESP's form: an optional '-' then 1 to 18 digits, nothing else. */
static int resp_integer(const unsigned char *s, size_t n, long long *v)
{
	int neg = 0;
	long long x = 0;

	if (n > 0 && s[0] == '-') {
		neg = 1;
		s++;
		n--;
	}
	if (n == 0 || n > 18)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	*v = neg ? -x : x;
	return 0;
}

int cache_resp_parse(const uint8_t *p, size_t len, size_t max_bulk, struct cache_resp_reply *out,
		     size_t *consumed, const char **why)
{
	struct bufread r;
	uint8_t type = 0;
	const unsigned char *line = NULL;
	const unsigned char *body = NULL;
	const unsigned char *crlf = NULL;
	size_t line_len = 0;
	long long n = 0;
	int rc;

	*why = "";
	bufread_init(&r, p, len);
	if (bufread_u8(&r, &type) != 0)
		return CACHE_RESP_INCOMPLETE;
	if (type != '+' && type != '-' && type != ':' && type != '$') {
		*why = type == '*' ? "an array reply, which no command of the cache expects"
			: "a reply that does not start with +, -, : or $";
		return CACHE_RESP_BAD;
	}
	rc = resp_line(&r, &line, &line_len, why);
	if (rc != CACHE_RESP_OK)
		return rc;
	memset(out, 0, sizeof(*out));
	if (type == '+' || type == '-') {
		out->type = type == '+' ? CACHE_RESP_STATUS : CACHE_RESP_ERROR;
		out->str = line;
		out->len = line_len;
		*consumed = r.off;
		return CACHE_RESP_OK;
	}
	if (resp_integer(line, line_len, &n) != 0) {
		*why = type == ':' ? "an integer reply that is not a number"
			: "a bulk length that is not a number";
		return CACHE_RESP_BAD;
	}
	if (type == ':') {
		out->type = CACHE_RESP_INTEGER;
		out->integer = n;
		*consumed = r.off;
		return CACHE_RESP_OK;
	}
	if (n == -1) {
		out->type = CACHE_RESP_NIL;
		*consumed = r.off;
		return CACHE_RESP_OK;
	}
	if (n < 0) {
		*why = "a negative bulk length other than -1";
		return CACHE_RESP_BAD;
	}
	if ((unsigned long long)n > max_bulk) {
		*why = "a bulk string longer than any cache entry";
		return CACHE_RESP_BAD;
	}
	if (bufread_view(&r, (size_t)n, &body) != 0 || bufread_view(&r, 2, &crlf) != 0)
		return CACHE_RESP_INCOMPLETE;
	if (crlf[0] != '\r' || crlf[1] != '\n') {
		*why = "a bulk string not followed by CRLF";
		return CACHE_RESP_BAD;
	}
	out->type = CACHE_RESP_BULK;
	out->str = body;
	out->len = (size_t)n;
	*consumed = r.off;
	return CACHE_RESP_OK;
}
