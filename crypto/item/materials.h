/*
 * Encryption and decryption materials (MPL framework/structures.md): the algorithm suite, the
 * plaintext data key, the encrypted data keys, the encryption context, one symmetric signing
 * key per EDK (for HMAC recipient tags) and, for suite 0x6701, the ECDSA key.
 */
#ifndef DS_MATERIALS_H
#define DS_MATERIALS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "proxy/base/bufread.h"
#include "crypto/item/suite.h"

/* One encryption context pair; UTF-8 bytes, not NUL-terminated on the wire. */
struct ec_entry {
	char *key;              /* owned, NUL-terminated copy */
	size_t key_len;
	char *value;            /* owned, NUL-terminated copy */
	size_t value_len;
	int required;           /* reproduced from the item on decrypt, so not stored in the header */
};

/* An encryption context kept sorted by key bytes (header.md#key-value-pair-entries). */
struct enc_ctx {
	struct ec_entry *entries;   /* sorted, no duplicate keys */
	size_t len;
	size_t cap;
};

void ec_init(struct enc_ctx *ec);
void ec_cleanup(struct enc_ctx *ec);
/* Adds a pair; returns 0, -1 on allocation failure, -2 when the key exists with another value. */
int ec_put(struct enc_ctx *ec, const char *key, size_t key_len, const char *value,
	   size_t value_len, int required) __attribute__((warn_unused_result));
const struct ec_entry *ec_get(const struct enc_ctx *ec, const char *key, size_t key_len);
/*
 * Serializes the pairs (header.md#encryption-context): 2-byte count then entries.  With
 * only_stored, the required pairs are left out (what the header holds).  With aad_form, an
 * empty context serializes to nothing (MPL structures.md#serialization, keyring AAD).
 */
void ec_serialize(const struct enc_ctx *ec, int only_stored, int aad_form, struct bufwrite *out);
/* Deep copy; returns 0 or -1. */
int ec_copy(struct enc_ctx *dst, const struct enc_ctx *src) __attribute__((warn_unused_result));

/* One encrypted data key (header.md#encrypted-data-keys). */
struct edk {
	unsigned char *provider_id;     /* owned */
	size_t provider_id_len;
	unsigned char *provider_info;   /* owned */
	size_t provider_info_len;
	unsigned char *ciphertext;      /* owned */
	size_t ciphertext_len;
};

int edk_set(struct edk *e, const void *id, size_t id_len, const void *info, size_t info_len,
	    const void *ct, size_t ct_len) __attribute__((warn_unused_result));
void edk_cleanup(struct edk *e);

/* Materials for one item; the same struct serves encryption and decryption. */
/* A raw-AES or hierarchy wrap and the item draw 108 and 124 bytes; more is drawn again. */
#define MATERIALS_RND_LEN 128

struct audit_ctx;

struct materials {
	const struct suite *suite;              /* the algorithm suite */
	unsigned char data_key[SUITE_KEY_LEN];  /* plaintext data key, valid when has_data_key */
	int has_data_key;
	struct edk *edks;                       /* encrypt: one per keyring wrap */
	size_t edks_len;
	/* encrypt: one per EDK, same order; decrypt: the one for the EDK that was opened */
	unsigned char (*signing_keys)[SUITE_KEY_LEN];
	size_t signing_keys_len;
	struct enc_ctx ec;                      /* the full encryption context */
	struct bufwrite ec_aad;                 /* ec in AAD form, made by materials_ec_aad */
	size_t ec_aad_pairs;                    /* ec.len when ec_aad was made */
	int has_ec_aad;                         /* ec_aad is made */
	EVP_PKEY *ecdsa;                        /* 0x6701: signing key (encrypt) or verify key */
	/* encrypt: random bytes drawn at once for the item (data key, wrap IKM and IV, message
	 * id: one RAND_bytes instead of four); a part is wiped as it is handed out */
	unsigned char rnd[MATERIALS_RND_LEN];
	size_t rnd_off;                         /* rnd[rnd_off..rnd_len) not handed out yet */
	size_t rnd_len;
	/* who the item's key uses are for (proxy/base/audit.h), handed to every KMS call and
	 * branch key use the keyring makes for it; NULL: nobody's (tools, tests) */
	const struct audit_ctx *audit;
};

void materials_init(struct materials *m, const struct suite *suite);
/* Wipes the data key and signing keys and frees everything. */
void materials_cleanup(struct materials *m);
/* Appends an EDK and the signing key derived with it; the EDK's buffers move into m. */
int materials_add_edk(struct materials *m, struct edk *edk, const unsigned char sk[SUITE_KEY_LEN])
	__attribute__((warn_unused_result));
/*
 * Fills out with len random bytes from m's pool, refilling it with one RAND_bytes call when
 * it holds fewer; the bytes handed out are wiped from the pool.  -1 when the DRBG fails.
 */
int materials_random(struct materials *m, unsigned char *out, size_t len)
	__attribute__((warn_unused_result));
/* Sets the plaintext data key (generated or unwrapped). */
void materials_set_data_key(struct materials *m, const unsigned char key[SUITE_KEY_LEN]);
/*
 * m->ec serialized in AAD form (the keyring wrapping AAD), made on first use and reused by
 * every later wrap or unwrap of the item while no pair is added (ec_put only adds pairs, it
 * never changes one); NULL when out of memory.
 */
const struct bufwrite *materials_ec_aad(struct materials *m) __attribute__((warn_unused_result));
/* Decrypt side: records the signing key derived while opening an EDK. */
int materials_add_signing_key(struct materials *m, const unsigned char sk[SUITE_KEY_LEN])
	__attribute__((warn_unused_result));

#endif
