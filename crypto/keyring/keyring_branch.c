/*
 * Hierarchical keyring wrapping with a branch key in hand (MPL
 * aws-kms/aws-kms-hierarchical-keyring.md#branch-key-wrapping), under intermediate key
 * wrapping.  The wrapping key is KDF-in-counter-mode (SP 800-108, HMAC-SHA256) of the branch
 * key with label "aws-kms-hierarchy" and a random 16-byte salt; the AAD is
 * "aws-kms-hierarchy" + branch key id + the 16-byte version UUID (as shipped) + the EC.
 * EDK ciphertext: wrapped data key (48) | salt (16) | iv (12) | version (16) | key (32) | tag (16).
 * Also the static-branch-key keyring, which holds one branch key from config.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/keyring/keyring.h"

#define H_PROVIDER_ID "aws-kms-hierarchy"
#define H_SALT_LEN 16
#define H_WRAPPED_PDK_LEN (SUITE_KEY_LEN + SUITE_TAG_LEN)
#define H_OFF_SALT H_WRAPPED_PDK_LEN
#define H_OFF_IV (H_OFF_SALT + H_SALT_LEN)
#define H_OFF_VERSION (H_OFF_IV + SUITE_IV_LEN)
#define H_OFF_KEY (H_OFF_VERSION + BRANCH_VERSION_LEN)
#define H_EDK_LEN (H_OFF_KEY + SUITE_KEY_LEN + SUITE_TAG_LEN)

int keyring_uuid_parse(const char *s, unsigned char out[BRANCH_VERSION_LEN])
{
	size_t n = 0;

	if (s == NULL || strlen(s) != 36)
		return -1;
	for (size_t i = 0; i < 36; i++) {
		int hi;
		int lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		if (!isxdigit((unsigned char)s[i]) || !isxdigit((unsigned char)s[i + 1]))
			return -1;
		hi = isdigit((unsigned char)s[i]) ? s[i] - '0' : (tolower((unsigned char)s[i]) - 'a' + 10);
		lo = isdigit((unsigned char)s[i + 1]) ? s[i + 1] - '0'
						       : (tolower((unsigned char)s[i + 1]) - 'a' + 10);
		out[n++] = (unsigned char)(hi << 4 | lo);
		i++;
	}
	return n == BRANCH_VERSION_LEN ? 0 : -1;
}

/* SP 800-108 counter mode, one HMAC-SHA256 block: [1]_4 || label || 0x00 || salt || [256]_4. */
static int derive_wrapping_key(const unsigned char branch_key[SUITE_KEY_LEN],
			       const unsigned char salt[H_SALT_LEN], unsigned char out[SUITE_KEY_LEN])
{
	unsigned char msg[4 + sizeof(H_PROVIDER_ID) - 1 + 1 + H_SALT_LEN + 4];
	size_t o = 0;

	memcpy(msg, "\x00\x00\x00\x01", 4);
	o = 4;
	memcpy(msg + o, H_PROVIDER_ID, sizeof(H_PROVIDER_ID) - 1);
	o += sizeof(H_PROVIDER_ID) - 1;
	msg[o++] = 0x00;
	memcpy(msg + o, salt, H_SALT_LEN);
	o += H_SALT_LEN;
	memcpy(msg + o, "\x00\x00\x01\x00", 4);
	o += 4;
	return suite_hmac(EVP_sha256(), branch_key, SUITE_KEY_LEN, msg, o, out);
}

static void wrapping_aad(const char *branch_key_id, const unsigned char version[BRANCH_VERSION_LEN],
			 struct materials *m, struct bufwrite *out)
{
	const struct bufwrite *ec = materials_ec_aad(m);

	bufwrite_bytes(out, H_PROVIDER_ID, sizeof(H_PROVIDER_ID) - 1);
	bufwrite_bytes(out, branch_key_id, strlen(branch_key_id));
	bufwrite_bytes(out, version, BRANCH_VERSION_LEN);
	if (ec == NULL)
		out->failed = 1;
	else
		bufwrite_bytes(out, ec->buf, ec->len);
}

int keyring_branch_wrap(const unsigned char branch_key[SUITE_KEY_LEN], const char *branch_key_id,
			const unsigned char version[BRANCH_VERSION_LEN], struct materials *m,
			struct ds_error *err)
{
	unsigned char ct[H_EDK_LEN];
	unsigned char ikm[SUITE_KEY_LEN];
	unsigned char wk[SUITE_KEY_LEN];
	unsigned char sk[SUITE_KEY_LEN];
	struct bufwrite aad;
	struct edk e;
	int rc = -1;

	memset(&e, 0, sizeof(e));
	bufwrite_init(&aad);
	wrapping_aad(branch_key_id, version, m, &aad);
	if (aad.failed || keyring_ensure_data_key(m) != 0 || materials_random(m, ikm, sizeof(ikm)) != 0 ||
	    materials_random(m, ct + H_OFF_SALT, H_SALT_LEN + SUITE_IV_LEN) != 0 ||
	    keyring_ikw_seal(m, ikm, ct, sk) != 0 ||
	    derive_wrapping_key(branch_key, ct + H_OFF_SALT, wk) != 0)
		goto cleanup;
	memcpy(ct + H_OFF_VERSION, version, BRANCH_VERSION_LEN);
	if (suite_gcm_encrypt(wk, ct + H_OFF_IV, SUITE_IV_LEN, aad.buf, aad.len, ikm, sizeof(ikm),
			      ct + H_OFF_KEY, ct + H_OFF_KEY + SUITE_KEY_LEN) != 0 ||
	    edk_set(&e, H_PROVIDER_ID, sizeof(H_PROVIDER_ID) - 1, branch_key_id,
		    strlen(branch_key_id), ct, sizeof(ct)) != 0 ||
	    materials_add_edk(m, &e, sk) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	if (rc != 0)
		ds_error_set(err, 500, DS_ERR_INTERNAL,
			     "branch key \"%s\": wrapping the data key failed", branch_key_id);
	edk_cleanup(&e);
	OPENSSL_cleanse(ikm, sizeof(ikm));
	OPENSSL_cleanse(wk, sizeof(wk));
	OPENSSL_cleanse(sk, sizeof(sk));
	bufwrite_cleanup(&aad);
	return rc;
}

int keyring_branch_edk_matches(const struct edk *edk, const char *branch_key_id,
			       unsigned char version[BRANCH_VERSION_LEN])
{
	size_t idl = strlen(branch_key_id);

	if (edk->provider_id_len != sizeof(H_PROVIDER_ID) - 1 ||
	    memcmp(edk->provider_id, H_PROVIDER_ID, edk->provider_id_len) != 0 ||
	    edk->provider_info_len != idl || memcmp(edk->provider_info, branch_key_id, idl) != 0 ||
	    edk->ciphertext_len != H_EDK_LEN)
		return 0;
	memcpy(version, edk->ciphertext + H_OFF_VERSION, BRANCH_VERSION_LEN);
	return 1;
}

int keyring_branch_unwrap(const unsigned char branch_key[SUITE_KEY_LEN], const char *branch_key_id,
			  const struct edk *edk, struct materials *m, struct ds_error *err)
{
	unsigned char version[BRANCH_VERSION_LEN];
	unsigned char wk[SUITE_KEY_LEN];
	unsigned char ikm[SUITE_KEY_LEN];
	unsigned char pdk[SUITE_KEY_LEN];
	unsigned char sk[SUITE_KEY_LEN];
	const unsigned char *ct = edk->ciphertext;
	struct bufwrite aad;
	int rc = -1;

	bufwrite_init(&aad);
	if (!keyring_branch_edk_matches(edk, branch_key_id, version)) {
		ds_error_set(err, 400, DS_ERR_VALIDATION,
			     "branch key \"%s\": the encrypted data key is not for this branch key",
			     branch_key_id);
		goto cleanup;
	}
	wrapping_aad(branch_key_id, version, m, &aad);
	if (aad.failed || derive_wrapping_key(branch_key, ct + H_OFF_SALT, wk) != 0) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "branch key \"%s\": key derivation failed",
			     branch_key_id);
		goto cleanup;
	}
	if (suite_gcm_decrypt(wk, ct + H_OFF_IV, SUITE_IV_LEN, aad.buf, aad.len, ct + H_OFF_KEY,
			      SUITE_KEY_LEN, ct + H_OFF_KEY + SUITE_KEY_LEN, ikm) != 0 ||
	    keyring_ikw_open(m, ikm, ct, pdk, sk) != 0) {
		ds_error_set(err, 400, DS_ERR_VALIDATION,
			     "branch key \"%s\": the item's data key does not decrypt; the item was "
			     "changed outside dynaseal or written under another key or context",
			     branch_key_id);
		goto cleanup;
	}
	if (materials_add_signing_key(m, sk) != 0) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
		goto cleanup;
	}
	materials_set_data_key(m, pdk);
	rc = 0;
cleanup:
	OPENSSL_cleanse(wk, sizeof(wk));
	OPENSSL_cleanse(ikm, sizeof(ikm));
	OPENSSL_cleanse(pdk, sizeof(pdk));
	OPENSSL_cleanse(sk, sizeof(sk));
	bufwrite_cleanup(&aad);
	return rc;
}

/* State of a static-branch-key keyring: one branch key version given in the config. */
struct static_branch {
	unsigned char key[SUITE_KEY_LEN];          /* the branch key */
	char *branch_key_id;
	unsigned char version[BRANCH_VERSION_LEN]; /* binary branch key version */
};

static void static_branch_free(void *impl)
{
	struct static_branch *s = impl;

	if (s == NULL)
		return;
	OPENSSL_cleanse(s->key, sizeof(s->key));
	free(s->branch_key_id);
	free(s);
}

static void static_branch_on_encrypt(struct keyring *k, struct materials *m, keyring_done_cb done,
				     void *arg)
{
	struct static_branch *s = k->impl;
	struct ds_error err;
	int rc;

	ds_error_clear(&err);
	rc = keyring_branch_wrap(s->key, s->branch_key_id, s->version, m, &err);
	done(arg, rc, rc != 0 ? &err : NULL);
}

static void static_branch_on_decrypt(struct keyring *k, struct materials *m, const struct edk *edks,
				     size_t nedks, keyring_done_cb done, void *arg)
{
	struct static_branch *s = k->impl;
	struct ds_error err;
	unsigned char version[BRANCH_VERSION_LEN];
	int rc = -1;

	ds_error_clear(&err);
	ds_error_set(&err, 400, DS_ERR_VALIDATION,
		     "keyring \"%s\": the item was not encrypted with branch key \"%s\" at the "
		     "configured version", k->name, s->branch_key_id);
	for (size_t i = 0; i < nedks && rc != 0; i++) {
		if (!keyring_branch_edk_matches(&edks[i], s->branch_key_id, version) ||
		    memcmp(version, s->version, BRANCH_VERSION_LEN) != 0)
			continue;
		rc = keyring_branch_unwrap(s->key, s->branch_key_id, &edks[i], m, &err);
	}
	done(arg, rc, rc != 0 ? &err : NULL);
}

/* The EDK wraps under this branch key id and the configured version. */
static int static_branch_names_edk(const struct keyring *k, const struct edk *edk)
{
	const struct static_branch *s = k->impl;
	unsigned char version[BRANCH_VERSION_LEN];

	return keyring_branch_edk_matches(edk, s->branch_key_id, version) &&
	       memcmp(version, s->version, BRANCH_VERSION_LEN) == 0;
}

static const struct keyring_ops static_branch_ops = {
	.type = "static-branch-key",
	.on_encrypt = static_branch_on_encrypt,
	.on_decrypt = static_branch_on_decrypt,
	.free_impl = static_branch_free,
	.names_edk = static_branch_names_edk,
};

struct keyring *keyring_static_branch_new(const struct config_keyring *c)
{
	struct static_branch *s;

	if (!c->has_key_material || c->branch_key_id == NULL)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	memcpy(s->key, c->key_material, SUITE_KEY_LEN);
	s->branch_key_id = strdup(c->branch_key_id);
	if (s->branch_key_id == NULL || keyring_uuid_parse(c->branch_key_version, s->version) != 0) {
		static_branch_free(s);
		return NULL;
	}
	return keyring_new(&static_branch_ops, c->name != NULL ? c->name : "static-branch-key", s);
}
