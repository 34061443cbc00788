/*
 * Sealing of L2 entries, so Redis never holds a usable key (DESIGN.md "Cache": Redis entries
 * are sealed under a cache key only holders of KMS access can unwrap).
 *
 * The caller's 32-byte cache key is never used directly: HKDF-SHA256 (RFC 5869, no salt)
 * derives a sealing key (info "dynaseal cache seal v1") and a naming key (info "dynaseal cache
 * name v1"), so the names and the ciphertexts do not share a key.
 *
 *   entry name = "dynaseal:v1:" || lowercase hex(HMAC-SHA256(naming key, id))
 *   sealed     = version (1 byte, 0x01) || nonce (12, random) || AES-256-GCM ciphertext || tag (16)
 *   AAD        = version byte || entry name
 *
 * The name reveals nothing of the id (a PRF under a secret key), and binding the name in the
 * AAD means an entry copied under another id's name does not open.  Opening fails closed:
 * every failure is a distinct negative code and no byte of out is meaningful.
 */
#ifndef DS_CACHE_SEAL_H
#define DS_CACHE_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define CACHE_SEAL_KEY_LEN 32
#define CACHE_SEAL_VERSION 0x01
#define CACHE_SEAL_NONCE_LEN 12
#define CACHE_SEAL_TAG_LEN 16
/* Bytes a sealed value has beyond its plaintext. */
#define CACHE_SEAL_OVERHEAD (1 + CACHE_SEAL_NONCE_LEN + CACHE_SEAL_TAG_LEN)
#define CACHE_ENTRY_PREFIX "dynaseal:v1:"
/* Length of an entry name, without its terminating NUL. */
#define CACHE_ENTRY_NAME_LEN (sizeof(CACHE_ENTRY_PREFIX) - 1 + 64)

/* Why cache_seal_open refused (every one is a miss for the cache). */
#define CACHE_SEAL_ERR_INTERNAL (-1)   /* OpenSSL failed (logged) */
#define CACHE_SEAL_ERR_FORMAT (-2)     /* shorter than the overhead, or an unknown version */
#define CACHE_SEAL_ERR_AUTH (-3)       /* the tag does not verify: tampered, other key or name */
#define CACHE_SEAL_ERR_SPACE (-4)      /* the plaintext does not fit in out */

/* The two keys derived from one cache key.  Key material: wipe with cache_seal_keys_wipe. */
struct cache_seal_keys {
	uint8_t seal_key[32];   /* AES-256-GCM key for entry values */
	uint8_t name_key[32];   /* HMAC-SHA256 key for entry names */
};

/* Derives keys from the caller's 32-byte cache key.  Returns 0 or CACHE_SEAL_ERR_INTERNAL. */
int cache_seal_keys_derive(struct cache_seal_keys *keys, const uint8_t cache_key[CACHE_SEAL_KEY_LEN])
	__attribute__((warn_unused_result));
void cache_seal_keys_wipe(struct cache_seal_keys *keys);

/* Writes id's entry name and a NUL to out.  Returns 0 or CACHE_SEAL_ERR_INTERNAL. */
int cache_seal_entry_name(const struct cache_seal_keys *keys, const void *id, size_t id_len,
			  char out[CACHE_ENTRY_NAME_LEN + 1]) __attribute__((warn_unused_result));

/*
 * Seals (value, len) for the entry called name into out (cap bytes; len + CACHE_SEAL_OVERHEAD
 * needed) and sets *out_len.  Returns 0, CACHE_SEAL_ERR_SPACE or CACHE_SEAL_ERR_INTERNAL.
 */
int cache_seal(const struct cache_seal_keys *keys, const char *name, const uint8_t *value,
	       size_t len, uint8_t *out, size_t cap, size_t *out_len)
	__attribute__((warn_unused_result));
/*
 * Opens (sealed, sealed_len), untrusted bytes read from Redis under name, into out (cap
 * bytes) and sets *out_len.  Returns 0 or a CACHE_SEAL_ERR_* code; on failure out is wiped.
 */
int cache_seal_open(const struct cache_seal_keys *keys, const char *name, const uint8_t *sealed,
		    size_t sealed_len, uint8_t *out, size_t cap, size_t *out_len)
	__attribute__((warn_unused_result));

#endif
