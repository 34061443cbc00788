/*
 * The aws_dbe_foot value and the canonical hash it signs (structured-encryption/footer.md):
 * one HMAC-SHA384 recipient tag per EDK and, for suite 0x6701, an ECDSA P-384 signature
 * (DER, 103 bytes as shipped) over the 48-byte SHA-384 canonical hash.
 */
#ifndef DS_ITEM_FOOTER_H
#define DS_ITEM_FOOTER_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/item/materials.h"

/* One signed field as it is stored (footer.md#canonical-field). */
struct canon_field {
	const unsigned char *path;   /* canonical path (header.md#canonical-path) */
	size_t path_len;
	int encrypted;               /* 1: value is type id + ciphertext + tag */
	uint16_t type_id;            /* plaintext fields: the terminal type id */
	const unsigned char *value;  /* stored terminal value */
	size_t value_len;
};

/*
 * SHA-384 of header || u64 len(EC) || EC || canonical fields (footer.md#canonical-record),
 * where EC is the full encryption context of the materials and fields are in canonical order.
 */
int item_footer_canonical_hash(const unsigned char *header, size_t header_len,
			       const struct enc_ctx *ec, const struct canon_field *fields,
			       size_t nfields, unsigned char out[SUITE_HASH_LEN])
	__attribute__((warn_unused_result));

/* Appends the footer for the materials' signing keys (and ECDSA key) over hash. */
int item_footer_write(const struct materials *m, const unsigned char hash[SUITE_HASH_LEN],
		      struct bufwrite *out) __attribute__((warn_unused_result));

/* Why a footer failed verification. */
enum footer_fail {
	FOOTER_OK = 0,
	FOOTER_BAD_LENGTH,        /* not 48 bytes per EDK (+ signature) */
	FOOTER_NO_TAG_MATCH,      /* no recipient tag matches the materials' signing key */
	FOOTER_BAD_SIGNATURE,     /* the ECDSA signature does not verify */
	FOOTER_INTERNAL,          /* a crypto call failed */
};

/* Verifies footer bytes for an item with nedks EDKs (footer.md#footer-verification). */
enum footer_fail item_footer_verify(const struct materials *m, size_t nedks,
				    const unsigned char *footer, size_t footer_len,
				    const unsigned char hash[SUITE_HASH_LEN]);

#endif
