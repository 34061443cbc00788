/*
 * libFuzzer target for the stand-in for U+0000 in cJSON strings (proxy/base/json_nul.h) and the
 * JSON reader and writer that use it (json_parse, json_print), which read every request and
 * answer body of a configured table.  Input: any bytes, read as JSON text and as raw bytes.
 * Properties, besides no crash, leak or undefined behaviour:
 *
 *  - unescaping removes 5 bytes per \u0000 escape the scan counts, and, in a text without a raw
 *    0xFE or 0xFF, writing each stand-in back as \u0000 gives the text again (no escape missed,
 *    none invented: an escaped backslash before "u0000" stays);
 *  - what json_parse reads (text without raw 0xFE/0xFF), json_print writes without a stand-in
 *    byte, and json_parse reads that back to a tree that prints the same text (a number cJSON
 *    cannot hold prints as null both times);
 *  - the input's bytes as a tree string (json_nul_string) give back the same bytes
 *    (json_nul_bytes), and two such strings order as their real bytes do (json_nul_cmp).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "proxy/base/json.h"
#include "proxy/base/json_nul.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sign(int c)
{
	return c < 0 ? -1 : c > 0;
}

/* Real-byte order of a[0..na) and b[0..nb), a prefix first. */
static int bytes_cmp(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
	size_t n = na < nb ? na : nb;
	int c = n ? memcmp(a, b, n) : 0;

	return c != 0 ? sign(c) : na < nb ? -1 : na > nb;
}

static void check_unescape(const char *text, size_t size)
{
	struct json_nul_scan scan;
	char *out = malloc(size + 1), *back;
	size_t n, o = 0;

	if (out == NULL)
		abort();
	json_nul_scan(text, size, &scan);
	n = json_nul_unescape(text, size, out);
	if (n != size - 5 * scan.escapes)
		__builtin_trap();
	if (!scan.not_utf8) {
		back = malloc(size + 1);
		if (back == NULL)
			abort();
		for (size_t i = 0; i < n; i++) {
			if ((unsigned char)out[i] == JSON_NUL) {
				memcpy(back + o, "\\u0000", 6);
				o += 6;
			} else {
				back[o++] = out[i];
			}
		}
		if (o != size || (size && memcmp(back, text, size) != 0))
			__builtin_trap();
		free(back);
	}
	free(out);
}

static void check_parse_print(const char *text, size_t size)
{
	struct json_read rd;
	cJSON *doc = json_parse(text, size, &rd), *again;
	char *printed, *reprinted;
	size_t n = 0, m = 0;

	if (doc == NULL || rd.not_utf8) {
		cJSON_Delete(doc);
		return;
	}
	printed = json_print(doc, &n);
	if (printed != NULL) {
		if (n != strlen(printed) || memchr(printed, JSON_NUL, n) != NULL)
			__builtin_trap();
		again = json_parse(printed, n, &rd);
		if (again == NULL || rd.not_utf8 || rd.trailing)
			__builtin_trap();
		reprinted = json_print(again, &m);
		if (reprinted != NULL && (m != n || memcmp(reprinted, printed, n) != 0))
			__builtin_trap();
		cJSON_free(reprinted);
		cJSON_Delete(again);
		cJSON_free(printed);
	}
	cJSON_Delete(doc);
}

static void check_bytes(const uint8_t *data, size_t size)
{
	size_t half = size / 2, n = 0, m = 0;
	const char *why = NULL;
	char *a = json_nul_string(data, half, &why);
	char *b = json_nul_string(data + half, size - half, &why);
	unsigned char *ra = a != NULL ? json_nul_bytes(a, &n) : NULL;
	unsigned char *rb = b != NULL ? json_nul_bytes(b, &m) : NULL;

	if (a != NULL && (ra == NULL || n != half || (n && memcmp(ra, data, n) != 0)))
		__builtin_trap();
	if (b != NULL && (rb == NULL || m != size - half || (m && memcmp(rb, data + half, m) != 0)))
		__builtin_trap();
	if (a != NULL && b != NULL &&
	    (sign(json_nul_cmp(a, b)) != bytes_cmp(data, half, data + half, size - half) ||
	     sign(json_nul_memcmp(a, half, b, size - half)) != bytes_cmp(data, half, data + half, size - half)))
		__builtin_trap();
	free(a);
	free(b);
	free(ra);
	free(rb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_unescape((const char *)data, size);
	check_parse_print((const char *)data, size);
	check_bytes(data, size);
	return 0;
}
