/*
 * JSON as every layer reads and writes it: the one reader and the one writer of the JSON
 * text of DynamoDB requests and answers (json_parse, json_print: strings holding U+0000 are
 * carried with the stand-in of json_nul.h), escaping for the JSON dynaseal writes by hand
 * (error bodies, audit lines), and checks of JSON it reads.
 */
#ifndef DS_JSON_H
#define DS_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct evbuffer;

/* What json_parse saw besides the value. */
struct json_read {
	int not_utf8;           /* the text holds a raw byte 0xFE or 0xFF, which UTF-8 never
				 * holds: a JSON_NUL of the tree may be such a byte, not a NUL, so
				 * a caller that uses the tree must refuse the text */
	int trailing;           /* more than whitespace follows the first value */
};

/*
 * Parses the first JSON value of text[0..len) as cJSON does, each \u0000 escape held as
 * JSON_NUL (json_nul.h).  Returns a tree the caller frees, or NULL when the text does not
 * start with a JSON value (or out of memory); info (may be NULL) gets what else it saw.
 */
cJSON *json_parse(const char *text, size_t len, struct json_read *info)
	__attribute__((warn_unused_result));

/*
 * doc as compact JSON text with each JSON_NUL written \u0000: how every tree dynaseal parsed
 * with json_parse goes back onto the wire.  Returns text to free with cJSON_free (its length
 * in *len when len is not NULL), or NULL when out of memory.
 */
char *json_print(const cJSON *doc, size_t *len) __attribute__((warn_unused_result));

/* Appends s to out as the inside of a JSON string (JSON_NUL as \u0000). */
void json_escape(struct evbuffer *out, const char *s);

/* The bytes of b (left in it) as a malloc'd C string, for a string value; NULL when out of
 * memory. */
char *json_buffer_text(struct evbuffer *b) __attribute__((warn_unused_result));

/*
 * What cJSON and DynamoDB's own parser would read differently, so that dynaseal must refuse
 * it rather than check one request and forward another: an object anywhere in doc with the
 * same key twice (cJSON finds the first, other parsers keep the last).  json_duplicate_key
 * returns the key, or NULL; json_object_duplicate looks at one object's own keys only.
 * Neither is quadratic in the number of keys.
 */
const char *json_duplicate_key(const cJSON *doc);
const char *json_object_duplicate(const cJSON *obj);

#endif
