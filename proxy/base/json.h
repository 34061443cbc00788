/*
 * JSON as every layer reads and writes it: escaping for the JSON dynaseal writes (error bodies,
 * log and audit lines), and checks of JSON it reads.
 */
#ifndef DS_JSON_H
#define DS_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct evbuffer;

/* Appends s to out as the inside of a JSON string. */
void json_escape(struct evbuffer *out, const char *s);

/* The bytes of b (left in it) as a malloc'd C string, for a string value; NULL when out of
 * memory. */
char *json_buffer_text(struct evbuffer *b) __attribute__((warn_unused_result));

/*
 * What cJSON and DynamoDB's own parser would read differently, so that dynaseal must refuse
 * it rather than check one request and forward another:
 * - json_duplicate_key: an object anywhere in doc with the same key twice (cJSON finds the
 *   first, other parsers keep the last).  Returns the key, or NULL; json_object_duplicate
 *   looks at one object's own keys only.  Neither is quadratic in the number of keys.
 * - json_has_nul: an escaped NUL (\u0000) anywhere in body[0..len): cJSON ends the string
 *   there, so a value or name would reach DynamoDB shortened.  Returns 1 or 0.
 */
const char *json_duplicate_key(const cJSON *doc);
const char *json_object_duplicate(const cJSON *obj);
int json_has_nul(const char *body, size_t len);

#endif
