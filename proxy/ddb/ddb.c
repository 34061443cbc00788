#include "proxy/ddb/ddb.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int ddb_operation(const char *target, char *out, size_t cap)
{
	size_t plen = strlen(DDB_TARGET_PREFIX);
	size_t n;

	out[0] = '\0';
	if (target == NULL || strncmp(target, DDB_TARGET_PREFIX, plen) != 0)
		return -1;
	target += plen;
	n = strlen(target);
	if (n == 0 || n >= cap)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = target[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
			return -1;
	}
	memcpy(out, target, n + 1);
	return 0;
}

/* Skips a JSON string starting at body[i] == '"'; returns the index after it, or len. */
static size_t skip_string(const char *body, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (body[i] == '\\')
			i++;
		else if (body[i] == '"')
			return i + 1;
	}
	return len;
}

static size_t skip_ws(const char *body, size_t len, size_t i)
{
	while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r'))
		i++;
	return i;
}

int ddb_peek_table(const char *body, size_t len, char *out, size_t cap)
{
	static const char key[] = "\"TableName\"";
	size_t klen = sizeof(key) - 1;
	int depth = 0;

	out[0] = '\0';
	for (size_t i = 0; i < len;) {
		char c = body[i];
		if (c == '"') {
			size_t end = skip_string(body, len, i);
			if (depth == 1 && end - i == klen && memcmp(body + i, key, klen) == 0) {
				size_t j = skip_ws(body, len, end);
				if (j < len && body[j] == ':') {
					j = skip_ws(body, len, j + 1);
					if (j < len && body[j] == '"') {
						size_t e = skip_string(body, len, j);
						size_t n = e - j - 2;
						if (e <= len && body[e - 1] == '"' && n > 0 && n < cap &&
						    memchr(body + j + 1, '\\', n) == NULL) {
							memcpy(out, body + j + 1, n);
							out[n] = '\0';
							return 0;
						}
					}
					return -1;
				}
			}
			i = end;
			continue;
		}
		if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']')
			depth--;
		i++;
	}
	return -1;
}

/* End (one past the closing quote) of the string opening at body[i]; -1 when unterminated.
 * *escaped tells whether it holds a backslash. */
static int string_end(const char *body, size_t len, size_t i, size_t *end, int *escaped)
{
	*escaped = 0;
	for (i++; i < len; i++) {
		if (body[i] == '\\') {
			*escaped = 1;
			i++;
		} else if (body[i] == '"') {
			*end = i + 1;
			return 0;
		}
	}
	return -1;
}

/* Bytes JSON allows outside strings: whitespace, structure, numbers, true/false/null. */
static int json_bare_byte(unsigned char c)
{
	return strchr(" \t\n\r,:0123456789-+.eEtrufalsn", c) != NULL && c != '\0';
}

/* DynamoDB's table name alphabet (3-255 of [A-Za-z0-9_.-]). */
static int table_name_plain(const char *p, size_t n)
{
	if (n < 3 || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

/* Deeper nesting is left to the full parse (the bracket kinds are kept in 64 bits). */
#define DDB_SOLE_MAX_DEPTH 64

static int sole_table_scan(const char *body, size_t len, char *out, size_t cap)
{
	static const char key[] = "\"TableName\"";
	uint64_t arrays = 0;   /* bit d: the container at depth d + 1 is an array */
	int depth = 0, found = 0;
	size_t i = skip_ws(body, len, 0);

	out[0] = '\0';
	if (cap < 256 || i >= len || body[i] != '{')
		return -1;
	depth = 1;
	i++;
	while (i < len) {
		unsigned char c = (unsigned char)body[i];
		size_t end;
		int escaped;

		if (depth == 0) {
			/* The object is closed: only whitespace may follow. */
			if (skip_ws(body, len, i) != len)
				return -1;
			break;
		}
		if (c == '"') {
			if (string_end(body, len, i, &end, &escaped) != 0)
				return -1;
			if (depth == 1) {
				size_t j = skip_ws(body, len, end);
				if (j < len && body[j] == ':') {
					/* A top-level key: an escape could spell "TableName". */
					if (escaped)
						return -1;
					if (end - i == sizeof(key) - 1 && memcmp(body + i, key, end - i) == 0) {
						size_t v = skip_ws(body, len, j + 1), vend;
						if (found || v >= len || body[v] != '"' ||
						    string_end(body, len, v, &vend, &escaped) != 0 || escaped ||
						    !table_name_plain(body + v + 1, vend - v - 2))
							return -1;
						memcpy(out, body + v + 1, vend - v - 2);
						out[vend - v - 2] = '\0';
						found = 1;
						end = vend;
					}
				}
			}
			i = end;
			continue;
		}
		if (c == '{' || c == '[') {
			if (depth == DDB_SOLE_MAX_DEPTH)
				return -1;
			if (c == '[')
				arrays |= (uint64_t)1 << depth;
			else
				arrays &= ~((uint64_t)1 << depth);
			depth++;
		} else if (c == '}' || c == ']') {
			int is_array = (int)((arrays >> (depth - 1)) & 1);
			if (is_array != (c == ']'))
				return -1;
			depth--;
		} else if (!json_bare_byte(c)) {
			return -1;
		}
		i++;
	}
	return depth == 0 && found ? 0 : -1;
}

int ddb_sole_table(const char *body, size_t len, char *out, size_t cap)
{
	if (cap == 0)
		return -1;
	if (sole_table_scan(body, len, out, cap) != 0) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}
