#include "crypto/item/item_footer.h"

#include <string.h>

#include <openssl/crypto.h>

int item_footer_canonical_hash(const unsigned char *header, size_t header_len,
			       const struct enc_ctx *ec, const struct canon_field *fields,
			       size_t nfields, unsigned char out[SUITE_HASH_LEN])
{
	/* The thread's kept SHA-384 context (suite_sha384(): fetched once). */
	EVP_MD_CTX *md = suite_digest_begin(suite_sha384());
	struct bufwrite w;
	unsigned int n = 0;
	int rc = -1;

	bufwrite_init(&w);
	/* The record is hashed in pieces; only the small framing goes through the buffer. */
	if (md == NULL || EVP_DigestUpdate(md, header, header_len) != 1)
		goto cleanup;
	ec_serialize(ec, 0, 0, &w);
	if (w.failed)
		goto cleanup;
	{
		unsigned char len8[8];

		for (int i = 0; i < 8; i++)
			len8[i] = (unsigned char)((uint64_t)w.len >> (56 - 8 * i));
		if (EVP_DigestUpdate(md, len8, 8) != 1 || EVP_DigestUpdate(md, w.buf, w.len) != 1)
			goto cleanup;
	}
	for (size_t i = 0; i < nfields; i++) {
		const struct canon_field *f = &fields[i];
		unsigned char frame[8 + 9 + 2];
		size_t fl;
		uint64_t vlen;

		if (f->encrypted && f->value_len < 2)
			goto cleanup;
		/* Encrypted: the length excludes the 2 type bytes that lead the stored value. */
		vlen = f->encrypted ? f->value_len - 2 : f->value_len;
		for (int k = 0; k < 8; k++)
			frame[k] = (unsigned char)(vlen >> (56 - 8 * k));
		memcpy(frame + 8, f->encrypted ? "ENCRYPTED" : "PLAINTEXT", 9);
		fl = 17;
		if (!f->encrypted) {
			frame[17] = (unsigned char)(f->type_id >> 8);
			frame[18] = (unsigned char)f->type_id;
			fl = 19;
		}
		if (EVP_DigestUpdate(md, f->path, f->path_len) != 1 ||
		    EVP_DigestUpdate(md, frame, fl) != 1 ||
		    (f->value_len && EVP_DigestUpdate(md, f->value, f->value_len) != 1))
			goto cleanup;
	}
	rc = suite_digest_end(md, out, &n) == 0 && n == SUITE_HASH_LEN ? 0 : -1;
	md = NULL;
cleanup:
	bufwrite_cleanup(&w);
	if (md != NULL)
		suite_digest_end(md, NULL, NULL);
	return rc;
}

int item_footer_write(const struct materials *m, const unsigned char hash[SUITE_HASH_LEN],
		      struct bufwrite *out)
{
	unsigned char tag[64];

	if (m->signing_keys_len != m->edks_len)
		return -1;
	for (size_t i = 0; i < m->signing_keys_len; i++) {
		if (suite_hmac(EVP_sha384(), m->signing_keys[i], SUITE_KEY_LEN, hash, SUITE_HASH_LEN,
			       tag) != 0)
			return -1;
		bufwrite_bytes(out, tag, SUITE_HMAC_LEN);
	}
	if (m->suite->ecdsa) {
		unsigned char sig[SUITE_ECDSA_SIG_LEN];

		if (m->ecdsa == NULL || suite_ecdsa_sign(m->ecdsa, hash, SUITE_HASH_LEN, sig) != 0)
			return -1;
		bufwrite_bytes(out, sig, sizeof(sig));
	}
	return out->failed ? -1 : 0;
}

enum footer_fail item_footer_verify(const struct materials *m, size_t nedks,
				    const unsigned char *footer, size_t footer_len,
				    const unsigned char hash[SUITE_HASH_LEN])
{
	size_t want = nedks * SUITE_HMAC_LEN + (m->suite->ecdsa ? SUITE_ECDSA_SIG_LEN : 0);
	unsigned char tag[64];
	int found = 0;

	if (footer_len != want)
		return FOOTER_BAD_LENGTH;
	if (m->signing_keys_len == 0)
		return FOOTER_INTERNAL;
	if (suite_hmac(EVP_sha384(), m->signing_keys[0], SUITE_KEY_LEN, hash, SUITE_HASH_LEN, tag) != 0)
		return FOOTER_INTERNAL;
	/* footer.md#recipient-tag-verification: any tag may match; compare in constant time. */
	for (size_t i = 0; i < nedks; i++)
		found |= CRYPTO_memcmp(tag, footer + i * SUITE_HMAC_LEN, SUITE_HMAC_LEN) == 0;
	if (!found)
		return FOOTER_NO_TAG_MATCH;
	if (m->suite->ecdsa) {
		if (m->ecdsa == NULL)
			return FOOTER_INTERNAL;
		if (suite_ecdsa_verify(m->ecdsa, hash, SUITE_HASH_LEN, footer + nedks * SUITE_HMAC_LEN,
				       SUITE_ECDSA_SIG_LEN) != 0)
			return FOOTER_BAD_SIGNATURE;
	}
	return FOOTER_OK;
}
