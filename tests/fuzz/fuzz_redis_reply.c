/*
 * libFuzzer target for what the L2 cache reads from Redis, all untrusted (a Redis server can
 * be wrong, compromised or not Redis at all):
 * - cache_resp_parse over a stream of replies, fed whole and byte by byte: beyond memory
 *   safety, a reply parsed from the whole stream must parse the same from any split point
 *   (INCOMPLETE on every strict prefix), and consumption always advances;
 * - cache_seal_open of the same bytes as a sealed entry: it must fail closed (only a value
 *   sealed under the key opens, and random bytes never do);
 * - cache_redis_url_parse of the bytes as a URL.
 *
 * Build: clang -std=c11 -D_GNU_SOURCE -I. -g -O1 -fsanitize=fuzzer,address,undefined \
 *   tests/fuzz/fuzz_redis_reply.c cache/cache_resp.c cache/cache_seal.c \
 *   cache/cache_redis_url.c proxy/base/bufread.c proxy/base/log.c \
 *   $(pkg-config --cflags --libs openssl libevent) -o /tmp/fuzz_redis_reply
 */
#include "cache/cache_redis.h"
#include "cache/cache_resp.h"
#include "cache/cache_seal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_BULK 2048

/* Parses every reply in (data, size); checks prefixes of each complete reply. */
static void fuzz_stream(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		struct cache_resp_reply rep;
		size_t used = 0;
		const char *why = NULL;
		int rc = cache_resp_parse(data + off, size - off, FUZZ_MAX_BULK, &rep, &used, &why);

		if (rc != CACHE_RESP_OK) {
			/* BAD always says why. */
			if (rc == CACHE_RESP_BAD && (why == NULL || why[0] == '\0'))
				abort();
			return;
		}
		if (used == 0 || used > size - off)
			abort();
		if (rep.type == CACHE_RESP_BULK && (rep.len > FUZZ_MAX_BULK ||
						    rep.str < data + off || rep.str + rep.len > data + off + used))
			abort();
		/* A strict prefix of a complete reply is never complete. */
		for (size_t n = used > 64 ? used - 64 : 0; n < used; n++) {
			struct cache_resp_reply p;
			size_t pu = 0;
			if (cache_resp_parse(data + off, n, FUZZ_MAX_BULK, &p, &pu, &why) !=
			    CACHE_RESP_INCOMPLETE)
				abort();
		}
		off += used;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cache_seal_keys keys;
	static int have_keys;
	uint8_t out[FUZZ_MAX_BULK];
	size_t out_len = 0;
	char *url;

	fuzz_stream(data, size);

	if (!have_keys) {
		uint8_t ck[CACHE_SEAL_KEY_LEN] = { 1, 2, 3 };
		if (cache_seal_keys_derive(&keys, ck) != 0)
			abort();
		have_keys = 1;
	}
	if (size <= sizeof(out) &&
	    cache_seal_open(&keys, "dynaseal:v1:fuzz", data, size, out, sizeof(out), &out_len) == 0)
		abort();   /* a forgery: random bytes opened under a key they never saw */

	url = malloc(size + 1);
	if (url == NULL)
		return 0;
	memcpy(url, data, size);
	url[size] = '\0';
	struct cache_redis_url u;
	const char *why = NULL;
	if (cache_redis_url_parse(url, &u, &why) == 0) {
		if (u.port == 0 || u.host[0] == '\0')
			abort();
		cache_redis_url_wipe(&u);
	}
	free(url);
	return 0;
}
