/*
 * JSON text as dynaseal reads and writes it (json.h): parsing and printing with the stand-in
 * for U+0000 (json_nul.h), escaping, and a key given twice.
 */
#include "proxy/base/json.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "proxy/base/json_nul.h"

/* Whether [p, end) holds only JSON whitespace (RFC 8259 section 2). */
static int only_whitespace(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return 0;
	return 1;
}

cJSON *json_parse(const char *text, size_t len, struct json_read *info)
{
	struct json_nul_scan scan;
	const char *src = text, *end = NULL;
	char *copy = NULL;
	size_t n = len;
	cJSON *doc;

	if (info != NULL)
		info->not_utf8 = info->trailing = 0;
	if (text == NULL)
		return NULL;
	json_nul_scan(text, len, &scan);
	if (scan.escapes > 0) {
		/* cJSON would end each string at its NUL: it reads the stand-in instead. */
		copy = malloc(len);
		if (copy == NULL)
			return NULL;
		n = json_nul_unescape(text, len, copy);
		src = copy;
	}
	doc = cJSON_ParseWithLengthOpts(src, n, &end, 0);
	if (info != NULL) {
		info->not_utf8 = scan.not_utf8;
		info->trailing = doc != NULL && end != NULL && !only_whitespace(end, src + n);
	}
	free(copy);
	return doc;
}

char *json_print(const cJSON *doc, size_t *len)
{
	char *text = cJSON_PrintUnformatted(doc), *out;
	size_t n, stand_ins = 0, o = 0;

	if (text == NULL)
		return NULL;
	n = strlen(text);
	for (const char *p = text; (p = memchr(p, JSON_NUL, n - (size_t)(p - text))) != NULL; p++)
		stand_ins++;
	if (stand_ins == 0) {
		if (len != NULL)
			*len = n;
		return text;
	}
	/* cJSON writes bytes above 0x7F as they are: each stand-in becomes the escape again. */
	out = cJSON_malloc(n + 5 * stand_ins + 1);
	if (out != NULL) {
		for (size_t i = 0; i < n; i++) {
			if ((unsigned char)text[i] == JSON_NUL) {
				memcpy(out + o, "\\u0000", 6);
				o += 6;
			} else {
				out[o++] = text[i];
			}
		}
		out[o] = '\0';
		if (len != NULL)
			*len = o;
	}
	cJSON_free(text);
	return out;
}

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
		if (c != '"' && c != '\\' && c >= 0x20 && c != JSON_NUL)
			continue;
		evbuffer_add(out, run, (size_t)(s - run));
		if (c == '"' || c == '\\')
			evbuffer_add_printf(out, "\\%c", c);
		else
			evbuffer_add_printf(out, "\\u%04x", json_nul_real(c));
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
