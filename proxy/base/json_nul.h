/*
 * Strings holding U+0000 inside cJSON trees.
 *
 * DynamoDB takes strings holding U+0000 (the JSON escape \u0000) anywhere a string goes: S
 * values, SS members, map keys and attribute names, expression values.  cJSON keeps a string
 * as a NUL-terminated char array, so such a string would end at its NUL.  dynaseal therefore
 * holds NUL inside its trees as one stand-in byte, JSON_NUL (0xFF), which UTF-8 text never
 * holds (RFC 3629 section 1: the bytes 0xC0, 0xC1 and 0xF5..0xFF never appear).  The stand-in
 * lives only between the JSON text dynaseal reads and the text or bytes it writes:
 *
 *  - text in:  json_parse (json.h) turns each \u0000 escape into JSON_NUL before cJSON reads
 *              it, and reports a raw 0xFE or 0xFF byte of the text (not UTF-8), which callers
 *              refuse wherever the tree is used: in a tree, JSON_NUL always means NUL;
 *  - text out: json_print (json.h) writes JSON_NUL back as \u0000; json_escape and the log
 *              writers do the same, so no line ever holds the raw stand-in;
 *  - bytes out: where a string's bytes leave the tree for a cipher, a MAC or a hash (attribute
 *              serialization, canonical names, beacons, the legacy format), json_nul_write and
 *              json_nul_bytes give its real bytes (JSON_NUL as 0x00);
 *  - bytes in: where decrypted bytes become a tree string, json_nul_string turns 0x00 into
 *              JSON_NUL and refuses 0xFE and 0xFF;
 *  - order:    json_nul_cmp orders tree strings by their real bytes (NUL before every other
 *              character, as DynamoDB orders UTF-8); a counter of characters counts JSON_NUL as
 *              one (json_nul_real gives the byte it stands for).
 *
 * One byte for one byte: a tree string is exactly as long as the real string, so lengths,
 * item sizes and size() need no conversion, and equality and substring search (begins_with,
 * contains) on tree strings are those of the real strings.
 */
#ifndef DS_JSON_NUL_H
#define DS_JSON_NUL_H

#include <stddef.h>

#include "proxy/base/bufread.h"

/* The stand-in for U+0000 inside a cJSON string. */
#define JSON_NUL 0xFF

/* The byte c of a tree string stands for: JSON_NUL for 0x00, any other byte for itself. */
static inline unsigned char json_nul_real(unsigned char c)
{
	return c == JSON_NUL ? 0 : c;
}

/* Whether c is a byte UTF-8 text never holds and JSON text must not: 0xFE or 0xFF. */
static inline int json_nul_not_utf8(unsigned char c)
{
	return c >= 0xFE;
}

/* What a JSON text holds that matters to the stand-in. */
struct json_nul_scan {
	size_t escapes;         /* \u0000 escapes (an escaped backslash before "u0000" is none) */
	int not_utf8;           /* a raw byte 0xFE or 0xFF */
};

/* Scans text[0..len). */
void json_nul_scan(const char *text, size_t len, struct json_nul_scan *out);

/*
 * Copies text[0..len) into out (len bytes of room) with each \u0000 escape as JSON_NUL, the
 * rest unchanged.  Returns the length written (len minus 5 per escape).
 */
size_t json_nul_unescape(const char *text, size_t len, char *out);

/* Appends the real bytes of the tree string s[0..len) to w (JSON_NUL as 0x00). */
void json_nul_write(struct bufwrite *w, const char *s, size_t len);

/* The real bytes of the NUL-terminated tree string s, malloc'd (*len gets their count);
 * NULL when out of memory. */
unsigned char *json_nul_bytes(const char *s, size_t *len) __attribute__((warn_unused_result));

/*
 * The tree string of real bytes p[0..n): a malloc'd NUL-terminated copy with each 0x00 as
 * JSON_NUL.  NULL with *why set (a static reason naming no value) when p holds 0xFE or 0xFF,
 * which no UTF-8 text holds and which would read back as NUL, or when out of memory.
 */
char *json_nul_string(const unsigned char *p, size_t n, const char **why)
	__attribute__((warn_unused_result));

/* Orders two tree strings by their real bytes, unsigned, a prefix first: <0, 0 or >0. */
int json_nul_cmp(const char *a, const char *b);
/* The same for views a[0..alen) and b[0..blen). */
int json_nul_memcmp(const char *a, size_t alen, const char *b, size_t blen);

#endif
