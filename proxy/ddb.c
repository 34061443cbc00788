#include "proxy/ddb.h"

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
