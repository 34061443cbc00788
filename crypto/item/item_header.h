/*
 * The aws_dbe_head value (structured-encryption/header.md): version, flavor, message id,
 * encrypt legend, stored encryption context, encrypted data keys and the header commitment.
 */
#ifndef DS_ITEM_HEADER_H
#define DS_ITEM_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "proxy/base/bufread.h"
#include "crypto/item/materials.h"
#include "crypto/item/suite.h"

#define ITEM_MSGID_LEN       32
#define ITEM_COMMITMENT_LEN  32

/* Encrypt legend bytes (header.md#encrypt-legend-bytes). */
#define LEGEND_ENCRYPT  'e'
#define LEGEND_SIGN     's'
#define LEGEND_CONTEXT  'c'

/* A parsed (or about to be written) header. */
struct item_header {
	uint8_t version;                          /* 1, or 2 when any attribute is 'c' */
	const struct suite *suite;                /* from the flavor byte */
	unsigned char message_id[ITEM_MSGID_LEN];
	unsigned char *legend;                    /* owned, one byte per signed attribute */
	size_t legend_len;
	struct enc_ctx ec;                        /* parse: stored context; later the full one */
	struct edk *edks;                         /* owned */
	size_t edks_len;
	unsigned char commitment[ITEM_COMMITMENT_LEN];
	unsigned char *raw;                       /* owned copy of the whole serialized header */
	size_t raw_len;
	/* item_read_header's signed attributes of the item it read, in canonical order (an
	 * item_internal.h struct field array owning nothing but itself), so item_decrypt of the
	 * same item does not collect and sort them again; owned. */
	void *fields;
	size_t fields_len;
	const void *fields_item;                  /* the cJSON item they were collected from */
};

/*
 * Parses a serialized header from untrusted bytes.  Returns 0, or -1 with *why set to a
 * static description of the first problem found.
 */
int item_header_parse(const unsigned char *p, size_t len, struct item_header *h, const char **why)
	__attribute__((warn_unused_result));
void item_header_cleanup(struct item_header *h);

/*
 * Writes the partial header (everything but the commitment) for materials m: the stored
 * part of m->ec, m's EDKs.  The caller appends the commitment (item_header_commitment).
 */
void item_header_write_partial(uint8_t version, const struct materials *m,
			       const unsigned char msgid[ITEM_MSGID_LEN], const unsigned char *legend,
			       size_t legend_len, struct bufwrite *out);

/*
 * The two keys an item derives from its data key, with one HKDF-SHA512 extract: the commit
 * key, HKDF(data key, "AWS_DBE_COMMIT_KEY" + msgid) (header.md#header-commitment, as shipped),
 * and the field root key, HKDF(data key, "AWS_DBE_DERIVE_KEY" + msgid)
 * (encrypt-structure.md#calculate-cipherkey-and-nonce).  The caller wipes both.
 */
int item_header_keys(const unsigned char data_key[SUITE_KEY_LEN],
		     const unsigned char msgid[ITEM_MSGID_LEN], unsigned char commit_key[SUITE_KEY_LEN],
		     unsigned char root_key[SUITE_KEY_LEN]) __attribute__((warn_unused_result));

/*
 * The header commitment over partial[0..len) (header.md#header-commitment, as shipped):
 * HMAC-SHA512 under the commit key (item_header_keys), truncated to 32 bytes.
 */
int item_header_commitment(const unsigned char commit_key[SUITE_KEY_LEN],
			   const unsigned char *partial, size_t len,
			   unsigned char out[ITEM_COMMITMENT_LEN]) __attribute__((warn_unused_result));

#endif
