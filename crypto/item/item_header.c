#include "crypto/item/item_header.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "proxy/base/json_nul.h"

void item_header_cleanup(struct item_header *h)
{
	free(h->legend);
	ec_cleanup(&h->ec);
	for (size_t i = 0; i < h->edks_len; i++)
		edk_cleanup(&h->edks[i]);
	free(h->edks);
	free(h->raw);
	free(h->fields); /* unloaded fields: no path, value or encrypted form of their own */
	memset(h, 0, sizeof(*h));
}

/* Reads a 2-byte length and a view of that many bytes. */
/* Whether p[0..n) holds a byte 0xFE or 0xFF, which no UTF-8 text holds. */
static int has_not_utf8(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (json_nul_not_utf8(p[i]))
			return 1;
	return 0;
}

static int read_field16(struct bufread *r, const unsigned char **p, uint16_t *n)
{
	return bufread_u16(r, n) == 0 && bufread_view(r, *n, p) == 0 ? 0 : -1;
}

int item_header_parse(const unsigned char *p, size_t len, struct item_header *h, const char **why)
{
	struct bufread r;
	uint8_t flavor;
	uint16_t n;
	uint8_t nedk;
	const unsigned char *v;

	memset(h, 0, sizeof(*h));
	ec_init(&h->ec);
	bufread_init(&r, p, len);
	if (bufread_u8(&r, &h->version) != 0 || bufread_u8(&r, &flavor) != 0) {
		*why = "the header is truncated";
		goto fail;
	}
	if (h->version != 1 && h->version != 2) {
		*why = "the header has an unknown format version";
		goto fail;
	}
	h->suite = suite_by_flavor(flavor);
	if (h->suite == NULL) {
		*why = "the header names an unknown algorithm suite";
		goto fail;
	}
	if (bufread_view(&r, ITEM_MSGID_LEN, &v) != 0) {
		*why = "the header is truncated";
		goto fail;
	}
	memcpy(h->message_id, v, ITEM_MSGID_LEN);
	if (read_field16(&r, &v, &n) != 0) {
		*why = "the header's encrypt legend is truncated";
		goto fail;
	}
	for (uint16_t i = 0; i < n; i++) {
		if (v[i] != LEGEND_ENCRYPT && v[i] != LEGEND_SIGN && v[i] != LEGEND_CONTEXT) {
			*why = "the header's encrypt legend has an unknown action";
			goto fail;
		}
		if (v[i] == LEGEND_CONTEXT && h->version != 2) {
			*why = "a version 1 header uses the encryption context legend";
			goto fail;
		}
	}
	h->legend = malloc(n ? n : 1);
	if (h->legend == NULL)
		goto oom;
	if (n)
		memcpy(h->legend, v, n);
	h->legend_len = n;
	if (bufread_u16(&r, &n) != 0) {
		*why = "the header's encryption context is truncated";
		goto fail;
	}
	for (uint16_t i = 0; i < n; i++) {
		const unsigned char *k;
		const unsigned char *val;
		uint16_t kl;
		uint16_t vl;
		const struct ec_entry *prev = h->ec.len ? &h->ec.entries[h->ec.len - 1] : NULL;
		int rc;

		if (read_field16(&r, &k, &kl) != 0 || read_field16(&r, &val, &vl) != 0) {
			*why = "the header's encryption context is truncated";
			goto fail;
		}
		/* Entries must be strictly ascending: no duplicates, canonical form. */
		if (prev != NULL) {
			size_t m = prev->key_len < kl ? prev->key_len : kl;
			int c = m ? memcmp(prev->key, k, m) : 0;

			if (c > 0 || (c == 0 && prev->key_len >= kl)) {
				*why = "the header's encryption context is not sorted or repeats a key";
				goto fail;
			}
		}
		/* Pairs are UTF-8 (header.md#key-value-pair-entries); a byte no UTF-8 text holds
		 * could not go to KMS as the JSON string it must be (json_nul.h). */
		if (has_not_utf8(k, kl) || has_not_utf8(val, vl)) {
			*why = "the header's encryption context holds a byte that is not UTF-8";
			goto fail;
		}
		rc = ec_put(&h->ec, (const char *)k, kl, (const char *)val, vl, 0);
		if (rc == -1)
			goto oom;
	}
	if (bufread_u8(&r, &nedk) != 0) {
		*why = "the header's encrypted data keys are truncated";
		goto fail;
	}
	if (nedk == 0) {
		*why = "the header has no encrypted data key";
		goto fail;
	}
	h->edks = calloc(nedk, sizeof(*h->edks));
	if (h->edks == NULL)
		goto oom;
	for (uint8_t i = 0; i < nedk; i++) {
		const unsigned char *id;
		const unsigned char *info;
		const unsigned char *ct;
		uint16_t il;
		uint16_t fl;
		uint16_t cl;

		if (read_field16(&r, &id, &il) != 0 || read_field16(&r, &info, &fl) != 0 ||
		    read_field16(&r, &ct, &cl) != 0) {
			*why = "the header's encrypted data keys are truncated";
			goto fail;
		}
		if (edk_set(&h->edks[i], id, il, info, fl, ct, cl) != 0)
			goto oom;
		h->edks_len++;
	}
	if (bufread_left(&r) < ITEM_COMMITMENT_LEN) {
		*why = "the header's commitment is truncated";
		goto fail;
	}
	if (bufread_left(&r) > ITEM_COMMITMENT_LEN) {
		*why = "the header has bytes after its commitment";
		goto fail;
	}
	if (bufread_view(&r, ITEM_COMMITMENT_LEN, &v) != 0)
		goto fail;
	memcpy(h->commitment, v, ITEM_COMMITMENT_LEN);
	h->raw = malloc(len);
	if (h->raw == NULL)
		goto oom;
	memcpy(h->raw, p, len);
	h->raw_len = len;
	return 0;
oom:
	*why = "out of memory";
fail:
	item_header_cleanup(h);
	return -1;
}

void item_header_write_partial(uint8_t version, const struct materials *m,
			       const unsigned char msgid[ITEM_MSGID_LEN], const unsigned char *legend,
			       size_t legend_len, struct bufwrite *out)
{
	bufwrite_u8(out, version);
	bufwrite_u8(out, m->suite->flavor);
	bufwrite_bytes(out, msgid, ITEM_MSGID_LEN);
	bufwrite_u16(out, (uint16_t)legend_len);
	bufwrite_bytes(out, legend, legend_len);
	/* header.md: the stored context leaves out the required keys (encrypt-path-structure.md
	 * #header-field); they are rebuilt from the item on decrypt. */
	ec_serialize(&m->ec, 1, 0, out);
	bufwrite_u8(out, (uint8_t)m->edks_len);
	for (size_t i = 0; i < m->edks_len; i++) {
		const struct edk *e = &m->edks[i];

		bufwrite_u16(out, (uint16_t)e->provider_id_len);
		bufwrite_bytes(out, e->provider_id, e->provider_id_len);
		bufwrite_u16(out, (uint16_t)e->provider_info_len);
		bufwrite_bytes(out, e->provider_info, e->provider_info_len);
		bufwrite_u16(out, (uint16_t)e->ciphertext_len);
		bufwrite_bytes(out, e->ciphertext, e->ciphertext_len);
	}
}

int item_header_keys(const unsigned char data_key[SUITE_KEY_LEN],
		     const unsigned char msgid[ITEM_MSGID_LEN], unsigned char commit_key[SUITE_KEY_LEN],
		     unsigned char root_key[SUITE_KEY_LEN])
{
	static const char commit_label[] = "AWS_DBE_COMMIT_KEY";
	static const char derive_label[] = "AWS_DBE_DERIVE_KEY";
	unsigned char commit_info[sizeof(commit_label) - 1 + ITEM_MSGID_LEN];
	unsigned char derive_info[sizeof(derive_label) - 1 + ITEM_MSGID_LEN];

	memcpy(commit_info, commit_label, sizeof(commit_label) - 1);
	memcpy(commit_info + sizeof(commit_label) - 1, msgid, ITEM_MSGID_LEN);
	memcpy(derive_info, derive_label, sizeof(derive_label) - 1);
	memcpy(derive_info + sizeof(derive_label) - 1, msgid, ITEM_MSGID_LEN);
	return suite_hkdf_sha512_pair(data_key, SUITE_KEY_LEN, commit_info, sizeof(commit_info),
				      commit_key, derive_info, sizeof(derive_info), root_key,
				      SUITE_KEY_LEN);
}

int item_header_commitment(const unsigned char commit_key[SUITE_KEY_LEN],
			   const unsigned char *partial, size_t len,
			   unsigned char out[ITEM_COMMITMENT_LEN])
{
	unsigned char mac[64];

	if (suite_hmac(EVP_sha512(), commit_key, SUITE_KEY_LEN, partial, len, mac) != 0)
		return -1;
	memcpy(out, mac, ITEM_COMMITMENT_LEN);
	return 0;
}
