/*
 * JSON text as dynaseal writes it (escaping) and the checks of JSON it reads that every layer
 * needs: a key given twice, an escaped NUL (see json.h for why each matters).
 */
#include "proxy/base/json.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

char *json_buffer_text(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);

	if (s != NULL) {
		evbuffer_copyout(b, s, n);
		s[n] = '\0';
	}
	return s;
}

void json_escape(struct evbuffer *out, const char *s)
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

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Objects of a few keys are compared pairwise; larger ones sorted, so no input is quadratic. */
#define JSON_PAIRWISE_KEYS 8

const char *json_object_duplicate(const cJSON *obj)
{
	const char *small[JSON_PAIRWISE_KEYS];
	const char **keys = small;
	const char *dup = NULL;
	const cJSON *c;
	size_t n = 0;

	for (c = obj->child; c != NULL; c = c->next)
		n++;
	if (n > JSON_PAIRWISE_KEYS && (keys = malloc(n * sizeof(*keys))) == NULL)
		return "";   /* out of memory: refuse rather than guess */
	n = 0;
	for (c = obj->child; c != NULL; c = c->next)
		keys[n++] = c->string != NULL ? c->string : "";
	if (keys == small) {
		for (size_t i = 0; i < n && dup == NULL; i++)
			for (size_t j = i + 1; j < n; j++)
				if (strcmp(keys[i], keys[j]) == 0) {
					dup = keys[i];
					break;
				}
		return dup;
	}
	qsort(keys, n, sizeof(*keys), cmp_keys);
	for (size_t i = 1; i < n && dup == NULL; i++)
		if (strcmp(keys[i - 1], keys[i]) == 0)
			dup = keys[i];
	free(keys);
	return dup;
}

const char *json_duplicate_key(const cJSON *doc)
{
	const char *dup;

	if (doc == NULL)
		return NULL;
	if (cJSON_IsObject(doc) && (dup = json_object_duplicate(doc)) != NULL)
		return dup;
	for (const cJSON *c = doc->child; c != NULL; c = c->next)
		if ((dup = json_duplicate_key(c)) != NULL)
			return dup;
	return NULL;
}

int json_has_nul(const char *body, size_t len)
{
	const char *p = body, *end = body + len;

	while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
		if (end - p >= 6 && p[1] == 'u' && memcmp(p + 2, "0000", 4) == 0)
			return 1;
		p += 2;   /* the escaped character, whatever it is, is not a new escape */
		if (p >= end)
			break;
	}
	return 0;
}
