/* Parsing of the cache.redis URL (cache_redis.h); kept apart from the client's event code. */
#include "cache/cache_redis.h"

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

/* Hex digit value, or -1. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copies (s, n) to out (cap bytes with the NUL), decoding %XX (RFC 3986 section 2.1). */
static int url_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			if (n - i < 3 || hex_value(s[i + 1]) < 0 || hex_value(s[i + 2]) < 0)
				return -1;
			c = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
			i += 2;
		}
		if (c == '\0' || o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* A decimal number of 1 to 5 digits up to max. */
static int small_number(const char *s, size_t n, unsigned max, unsigned *v)
{
	unsigned x = 0;

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (unsigned)(s[i] - '0');
	}
	if (x > max)
		return -1;
	*v = x;
	return 0;
}

int cache_redis_url_parse(const char *url, struct cache_redis_url *out, const char **why)
{
	const char *rest;
	const char *end;
	const char *slash;
	const char *at;
	const char *host;
	const char *host_end;
	const char *port = NULL;
	unsigned v = 0;

	memset(out, 0, sizeof(*out));
	out->port = 6379;
	if (strncasecmp(url, "rediss://", 9) == 0) {
		out->tls = 1;
		rest = url + 9;
	} else if (strncasecmp(url, "redis://", 8) == 0) {
		rest = url + 8;
	} else {
		*why = "it must start with redis:// or rediss://";
		return -1;
	}
	end = rest + strlen(rest);
	slash = strchr(rest, '/');
	if (slash == NULL)
		slash = end;
	/* The password may hold '@': the host starts after the last one before the path. */
	for (at = slash; at > rest && at[-1] != '@'; at--)
		;
	if (at > rest) {
		const char *colon = memchr(rest, ':', (size_t)(at - 1 - rest));
		const char *user_end = colon != NULL ? colon : at - 1;
		if (url_decode(rest, (size_t)(user_end - rest), out->user, sizeof(out->user)) != 0) {
			*why = "the user name is too long or has a bad %-escape";
			goto cleanup;
		}
		if (colon != NULL &&
		    url_decode(colon + 1, (size_t)(at - 1 - colon - 1), out->password,
			       sizeof(out->password)) != 0) {
			*why = "the password is too long or has a bad %-escape";
			goto cleanup;
		}
	}
	host = at;
	if (host < slash && host[0] == '[') {
		const char *close = memchr(host, ']', (size_t)(slash - host));
		if (close == NULL) {
			*why = "an IPv6 address lacks its closing ']'";
			goto cleanup;
		}
		host_end = close;
		host++;
		if (close + 1 < slash) {
			if (close[1] != ':') {
				*why = "only ':PORT' may follow an IPv6 address";
				goto cleanup;
			}
			port = close + 2;
		}
	} else {
		host_end = memchr(host, ':', (size_t)(slash - host));
		if (host_end == NULL)
			host_end = slash;
		else
			port = host_end + 1;
	}
	if (host_end == host) {
		*why = "the host is missing";
		goto cleanup;
	}
	if ((size_t)(host_end - host) >= sizeof(out->host)) {
		*why = "the host name is too long";
		goto cleanup;
	}
	memcpy(out->host, host, (size_t)(host_end - host));
	if (port != NULL) {
		if (small_number(port, (size_t)(slash - port), 65535, &v) != 0 || v == 0) {
			*why = "the port must be a number from 1 to 65535";
			goto cleanup;
		}
		out->port = (uint16_t)v;
	}
	if (slash < end && slash + 1 < end) {
		if (small_number(slash + 1, (size_t)(end - slash - 1), 65535, &v) != 0) {
			*why = "the database after '/' must be a number";
			goto cleanup;
		}
		out->db = (int)v;
	}
	return 0;
cleanup:
	cache_redis_url_wipe(out);
	return -1;
}

void cache_redis_url_wipe(struct cache_redis_url *u)
{
	OPENSSL_cleanse(u, sizeof(*u));
}
