/*
 * Keyed hash for the cache's tables.  Ids can be chosen by whoever writes items (an EDK's
 * digest, a tenant's branch key id), so the bucket index is SipHash-2-4 (Aumasson and
 * Bernstein, "SipHash: a fast short-input PRF", 2012) under a random per-table key: nobody
 * outside the process can aim many ids at one bucket.
 */
#ifndef DS_CACHE_HASH_H
#define DS_CACHE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* A 128-bit SipHash key as two little-endian words. */
struct cache_hash_key {
	uint64_t k0;   /* key bytes 0..7 */
	uint64_t k1;   /* key bytes 8..15 */
};

/* Fills key from the OpenSSL CSPRNG.  Returns 0, or -1 when it has no entropy. */
int cache_hash_key_random(struct cache_hash_key *key) __attribute__((warn_unused_result));
/* SipHash-2-4 of (p, len) under key. */
uint64_t cache_hash(const struct cache_hash_key *key, const void *p, size_t len);

#endif
