#include "cache/cache_hash.h"

#include <string.h>

#include <openssl/rand.h>

static uint64_t rotl64(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static uint64_t load_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* The SipRound of the paper, section 2. */
#define SIP_ROUND(v0, v1, v2, v3) do { \
	v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32); \
	v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32); \
} while (0)

int cache_hash_key_random(struct cache_hash_key *key)
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	key->k0 = load_le64(b);
	key->k1 = load_le64(b + 8);
	return 0;
}

uint64_t cache_hash(const struct cache_hash_key *key, const void *p, size_t len)
{
	const unsigned char *in = p;
	uint64_t v0 = key->k0 ^ UINT64_C(0x736f6d6570736575);
	uint64_t v1 = key->k1 ^ UINT64_C(0x646f72616e646f6d);
	uint64_t v2 = key->k0 ^ UINT64_C(0x6c7967656e657261);
	uint64_t v3 = key->k1 ^ UINT64_C(0x7465646279746573);
	size_t full = len - len % 8;
	unsigned char last[8] = { 0 };
	uint64_t m;

	/* Compression: two rounds per 8-byte word (paper section 2, "SipHash-2-4"). */
	for (size_t i = 0; i < full; i += 8) {
		m = load_le64(in + i);
		v3 ^= m;
		SIP_ROUND(v0, v1, v2, v3);
		SIP_ROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	/* The final word holds the remaining bytes and the length modulo 256 in its top byte. */
	if (len % 8 != 0)
		memcpy(last, in + full, len % 8);
	last[7] = (unsigned char)(len & 0xff);
	m = load_le64(last);
	v3 ^= m;
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	v0 ^= m;
	/* Finalization: four rounds. */
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}
