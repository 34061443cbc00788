/*
 * The raw AES keyring (MPL framework/raw-aes-keyring.md) under intermediate key wrapping:
 * a random intermediate key is AES-256-GCM encrypted with the configured wrapping key, the EC
 * as AAD and a random IV; the EDK's provider id is the key namespace and its provider info is
 * key name, tag length in bits (4 bytes), IV length (4 bytes) and the IV.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/keyring/keyring.h"

#define RAW_AES_INFO_TRAILER (4 + 4 + SUITE_IV_LEN)
#define RAW_AES_EDK_LEN (SUITE_KEY_LEN + SUITE_TAG_LEN + SUITE_KEY_LEN + SUITE_TAG_LEN)

/* State of one raw-aes keyring. */
struct raw_aes {
	unsigned char key[SUITE_KEY_LEN];  /* the wrapping key */
	char *key_namespace;               /* provider id */
	char *key_name;                    /* leads the provider info */
};

static void raw_aes_free(void *impl)
{
	struct raw_aes *r = impl;

	if (r == NULL)
		return;
	OPENSSL_cleanse(r->key, sizeof(r->key));
	free(r->key_namespace);
	free(r->key_name);
	free(r);
}

static void raw_aes_on_encrypt(struct keyring *k, struct materials *m, keyring_done_cb done,
			       void *arg)
{
	struct raw_aes *r = k->impl;
	unsigned char ikm[SUITE_KEY_LEN];
	unsigned char iv[SUITE_IV_LEN];
	unsigned char ct[RAW_AES_EDK_LEN];
	unsigned char sk[SUITE_KEY_LEN];
	struct bufwrite info;
	const struct bufwrite *aad;
	struct edk e;
	struct ds_error err;
	int rc = -1;

	memset(&e, 0, sizeof(e));
	ds_error_clear(&err);
	bufwrite_init(&info);
	aad = materials_ec_aad(m);
	if (aad == NULL || keyring_ensure_data_key(m) != 0 || materials_random(m, ikm, sizeof(ikm)) != 0 ||
	    materials_random(m, iv, sizeof(iv)) != 0 || keyring_ikw_seal(m, ikm, ct, sk) != 0 ||
	    suite_gcm_encrypt(r->key, iv, sizeof(iv), aad->buf, aad->len, ikm, sizeof(ikm),
			      ct + SUITE_KEY_LEN + SUITE_TAG_LEN,
			      ct + SUITE_KEY_LEN + SUITE_TAG_LEN + SUITE_KEY_LEN) != 0)
		goto cleanup;
	bufwrite_bytes(&info, r->key_name, strlen(r->key_name));
	bufwrite_u32(&info, SUITE_TAG_LEN * 8);
	bufwrite_u32(&info, SUITE_IV_LEN);
	bufwrite_bytes(&info, iv, sizeof(iv));
	if (info.failed ||
	    edk_set(&e, r->key_namespace, strlen(r->key_namespace), info.buf, info.len, ct,
		    sizeof(ct)) != 0 ||
	    materials_add_edk(m, &e, sk) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	edk_cleanup(&e);
	OPENSSL_cleanse(ikm, sizeof(ikm));
	OPENSSL_cleanse(sk, sizeof(sk));
	bufwrite_cleanup(&info);
	if (rc != 0)
		ds_error_set(&err, 500, DS_ERR_INTERNAL,
			     "keyring \"%s\": wrapping the data key failed", k->name);
	done(arg, rc, rc != 0 ? &err : NULL);
}

/* 1 when the EDK names this keyring's namespace and key with the expected IV and tag sizes. */
static int raw_aes_edk_matches(const struct raw_aes *r, const struct edk *e)
{
	size_t nl = strlen(r->key_name);
	const unsigned char *t;

	if (e->provider_id_len != strlen(r->key_namespace) ||
	    memcmp(e->provider_id, r->key_namespace, e->provider_id_len) != 0 ||
	    e->provider_info_len != nl + RAW_AES_INFO_TRAILER ||
	    memcmp(e->provider_info, r->key_name, nl) != 0 || e->ciphertext_len != RAW_AES_EDK_LEN)
		return 0;
	t = e->provider_info + nl;
	return t[0] == 0 && t[1] == 0 && t[2] == 0 && t[3] == SUITE_TAG_LEN * 8 && t[4] == 0 &&
	       t[5] == 0 && t[6] == 0 && t[7] == SUITE_IV_LEN;
}

static void raw_aes_on_decrypt(struct keyring *k, struct materials *m, const struct edk *edks,
			       size_t nedks, keyring_done_cb done, void *arg)
{
	struct raw_aes *r = k->impl;
	const struct bufwrite *aad;
	struct ds_error err;
	unsigned char ikm[SUITE_KEY_LEN];
	unsigned char pdk[SUITE_KEY_LEN];
	unsigned char sk[SUITE_KEY_LEN];
	int matched = 0;
	int rc = -1;

	ds_error_clear(&err);
	aad = materials_ec_aad(m);
	if (aad == NULL) {
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "keyring \"%s\": out of memory", k->name);
		goto cleanup;
	}
	for (size_t i = 0; i < nedks; i++) {
		const struct edk *e = &edks[i];
		const unsigned char *iv;
		const unsigned char *w;

		if (!raw_aes_edk_matches(r, e))
			continue;
		matched = 1;
		iv = e->provider_info + strlen(r->key_name) + 8;
		w = e->ciphertext + SUITE_KEY_LEN + SUITE_TAG_LEN;
		if (suite_gcm_decrypt(r->key, iv, SUITE_IV_LEN, aad->buf, aad->len, w, SUITE_KEY_LEN,
				      w + SUITE_KEY_LEN, ikm) != 0 ||
		    keyring_ikw_open(m, ikm, e->ciphertext, pdk, sk) != 0)
			continue;
		materials_set_data_key(m, pdk);
		if (materials_add_signing_key(m, sk) != 0) {
			ds_error_set(&err, 500, DS_ERR_INTERNAL, "keyring \"%s\": out of memory",
				     k->name);
			goto cleanup;
		}
		rc = 0;
		goto cleanup;
	}
	ds_error_set(&err, 400, DS_ERR_VALIDATION,
		     matched ? "keyring \"%s\": the item's data key does not decrypt with this key; "
			       "the item was changed outside dynaseal or written under another key or "
			       "context"
			     : "keyring \"%s\": the item was not encrypted with this keyring's key "
			       "(no matching encrypted data key)", k->name);
cleanup:
	OPENSSL_cleanse(ikm, sizeof(ikm));
	OPENSSL_cleanse(pdk, sizeof(pdk));
	OPENSSL_cleanse(sk, sizeof(sk));
	done(arg, rc, rc != 0 ? &err : NULL);
}

static int raw_aes_names_edk(const struct keyring *k, const struct edk *e)
{
	return raw_aes_edk_matches(k->impl, e);
}

static const struct keyring_ops raw_aes_ops = {
	.type = "raw-aes",
	.on_encrypt = raw_aes_on_encrypt,
	.on_decrypt = raw_aes_on_decrypt,
	.free_impl = raw_aes_free,
	.names_edk = raw_aes_names_edk,
};

struct keyring *keyring_raw_aes_new(const struct config_keyring *c)
{
	struct raw_aes *r;
	const char *name = c->name != NULL ? c->name : "raw-aes";

	if (!c->has_key_material)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	memcpy(r->key, c->key_material, SUITE_KEY_LEN);
	r->key_namespace = strdup(c->key_namespace != NULL ? c->key_namespace : "dynaseal");
	r->key_name = strdup(c->key_name != NULL ? c->key_name : name);
	if (r->key_namespace == NULL || r->key_name == NULL) {
		raw_aes_free(r);
		return NULL;
	}
	return keyring_new(&raw_aes_ops, name, r);
}
