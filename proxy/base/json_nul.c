/*
 * The stand-in for U+0000 inside cJSON trees: see json_nul.h for the design.
 */
#include "proxy/base/json_nul.h"

#include <stdlib.h>
#include <string.h>

/* Whether p (before end) starts a \u0000 escape; p points at a backslash. */
static int nul_escape_at(const char *p, const char *end)
{
	return end - p >= 6 && p[1] == 'u' && memcmp(p + 2, "0000", 4) == 0;
}

void json_nul_scan(const char *text, size_t len, struct json_nul_scan *out)
{
	const char *p = text, *end = text + len;

	out->escapes = 0;
	out->not_utf8 = 0;
	while (p < end) {
		unsigned char c = (unsigned char)*p;

		if (c == '\\') {
			if (nul_escape_at(p, end)) {
				out->escapes++;
				p += 6;
				continue;
			}
			if (end - p < 2)
				break;
			p++;      /* the escaped character, whatever it is, starts no escape */
			c = (unsigned char)*p;
		}
		if (json_nul_not_utf8(c))
			out->not_utf8 = 1;
		p++;
	}
}

size_t json_nul_unescape(const char *text, size_t len, char *out)
{
	const char *p = text, *end = text + len;
	size_t o = 0;

	while (p < end) {
		const char *bs = memchr(p, '\\', (size_t)(end - p));
		size_t run = (size_t)((bs != NULL ? bs : end) - p);

		memcpy(out + o, p, run);
		o += run;
		p += run;
		if (bs == NULL)
			break;
		if (nul_escape_at(p, end)) {
			out[o++] = (char)JSON_NUL;
			p += 6;
		} else {
			/* The backslash and what it escapes (both, when there are two). */
			size_t n = end - p >= 2 ? 2 : 1;

			memcpy(out + o, p, n);
			o += n;
			p += n;
		}
	}
	return o;
}

void json_nul_write(struct bufwrite *w, const char *s, size_t len)
{
	const char *p = s, *end = s + len;

	while (p < end) {
		const char *sn = memchr(p, JSON_NUL, (size_t)(end - p));
		size_t run = (size_t)((sn != NULL ? sn : end) - p);

		bufwrite_bytes(w, p, run);
		p += run;
		if (sn == NULL)
			break;
		bufwrite_u8(w, 0);
		p++;
	}
}

unsigned char *json_nul_bytes(const char *s, size_t *len)
{
	size_t n = strlen(s);
	unsigned char *b = malloc(n + 1);

	if (b == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		b[i] = json_nul_real((unsigned char)s[i]);
	b[n] = 0;
	*len = n;
	return b;
}

char *json_nul_string(const unsigned char *p, size_t n, const char **why)
{
	char *s;

	for (size_t i = 0; i < n; i++)
		if (json_nul_not_utf8(p[i])) {
			*why = "a string holds the byte 0xFE or 0xFF, which UTF-8 text never holds";
			return NULL;
		}
	s = malloc(n + 1);
	if (s == NULL) {
		*why = "out of memory";
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		s[i] = p[i] == 0 ? (char)JSON_NUL : (char)p[i];
	s[n] = '\0';
	return s;
}

int json_nul_memcmp(const char *a, size_t alen, const char *b, size_t blen)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	size_t n = alen < blen ? alen : blen;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return json_nul_real(x[i]) < json_nul_real(y[i]) ? -1 : 1;
	return alen < blen ? -1 : alen > blen;
}

int json_nul_cmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;

	while (*x != '\0' && *x == *y) {
		x++;
		y++;
	}
	if (*x == *y)
		return 0;
	if (*x == '\0' || *y == '\0')
		return *x == '\0' ? -1 : 1;   /* the shorter is a prefix of the other */
	return json_nul_real(*x) < json_nul_real(*y) ? -1 : 1;
}
