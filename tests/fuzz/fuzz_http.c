/*
 * libFuzzer target for the HTTP message parser (proxy/net/http.c): any bytes, fed as requests and
 * as responses in pieces whose sizes come from the input, must give messages or an error —
 * never a crash, a leak, a read past the data or a body over the limit.  ddb_sole_table,
 * which lets a request skip the JSON parse, must never name a table cJSON reads otherwise.
 * Build and run with `make fuzz` (all targets) or FUZZ_SECONDS=600 make fuzz.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>

#include "proxy/ddb/ddb.h"
#include "proxy/net/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void feed(llhttp_type_t type, const uint8_t *data, size_t size)
{
	struct http_parser p;
	size_t pos = 1;
	size_t step = size > 0 ? (size_t)(data[0] % 17) + 1 : 1;

	http_parser_init(&p, type, 512, 4096);
	while (pos < size) {
		size_t n = size - pos < step ? size - pos : step;
		size_t used = 0;
		enum http_parse_result r = http_parser_feed(&p, (const char *)data + pos, n, &used);
		if (used > n)
			__builtin_trap();
		if (r == HTTP_PARSE_DONE) {
			struct http_msg *m = http_parser_take(&p);
			if (m == NULL || evbuffer_get_length(m->body) > 4096)
				__builtin_trap();
			http_msg_free(m);
		} else if (r == HTTP_PARSE_ERROR || r == HTTP_PARSE_TOO_LARGE_HEADER ||
			   r == HTTP_PARSE_TOO_LARGE_BODY) {
			break;
		}
		/* A paused parser consumes nothing; move on past what it used, at least one byte. */
		pos += used > 0 ? used : (r == HTTP_PARSE_DONE ? 0 : n);
	}
	if (type == HTTP_RESPONSE && http_parser_eof(&p) == HTTP_PARSE_DONE)
		http_msg_free(http_parser_take(&p));
	http_parser_cleanup(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[64];
	char sole[256];

	feed(HTTP_REQUEST, data, size);
	feed(HTTP_RESPONSE, data, size);
	/* The cheap DynamoDB readers take the same untrusted bytes. */
	ddb_peek_table((const char *)data, size, out, sizeof(out));
	if (ddb_sole_table((const char *)data, size, sole, sizeof(sole)) == 0) {
		/* Whatever cJSON accepts of such a body, it reads the same one table. */
		cJSON *doc = cJSON_ParseWithLength((const char *)data, size);
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "TableName");
		const cJSON *c;
		int n = 0;

		if (doc != NULL && (!cJSON_IsObject(doc) || !cJSON_IsString(name) ||
				    strcmp(name->valuestring, sole) != 0))
			abort();
		cJSON_ArrayForEach(c, doc)
			n += c->string != NULL && strcmp(c->string, "TableName") == 0;
		if (doc != NULL && n != 1)
			abort();
		cJSON_Delete(doc);
	}
	return 0;
}
