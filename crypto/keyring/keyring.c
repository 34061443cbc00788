#include "crypto/keyring/keyring.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "proxy/base/log.h"

struct keyring *keyring_new(const struct keyring_ops *ops, const char *name, void *impl)
{
	struct keyring *k = calloc(1, sizeof(*k));

	if (k == NULL)
		goto fail;
	k->name = strdup(name != NULL ? name : "");
	if (k->name == NULL)
		goto fail;
	k->ops = ops;
	k->impl = impl;
	return k;
fail:
	if (k != NULL)
		free(k->name);
	free(k);
	ops->free_impl(impl);
	return NULL;
}

void keyring_free(struct keyring *k)
{
	if (k == NULL)
		return;
	k->ops->free_impl(k->impl);
	free(k->name);
	free(k);
}

void keyring_on_encrypt(struct keyring *k, struct materials *m, keyring_done_cb done, void *arg)
{
	k->ops->on_encrypt(k, m, done, arg);
}

void keyring_on_decrypt(struct keyring *k, struct materials *m, const struct edk *edks,
			size_t nedks, keyring_done_cb done, void *arg)
{
	k->ops->on_decrypt(k, m, edks, nedks, done, arg);
}

void keyring_beacon_key(struct keyring *k, const char *tenant, const struct audit_ctx *audit,
			keyring_beacon_cb cb, void *arg)
{
	struct ds_error err;

	if (k->ops->beacon_key == NULL) {
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "keyring \"%s\" (%s) has no beacon keys",
			     k->name, k->ops->type);
		cb(arg, NULL, 0, NULL, &err);
		return;
	}
	k->ops->beacon_key(k, tenant, audit, cb, arg);
}

const char *keyring_tenant_attr(const struct keyring *k)
{
	return k->ops->tenant_attr != NULL ? k->ops->tenant_attr(k) : NULL;
}

int keyring_ensure_data_key(struct materials *m)
{
	unsigned char key[SUITE_KEY_LEN];

	if (m->has_data_key)
		return 0;
	if (materials_random(m, key, sizeof(key)) != 0)
		return -1;
	materials_set_data_key(m, key);
	OPENSSL_cleanse(key, sizeof(key));
	return 0;
}

/* HKDF-SHA512 extract (no salt) and expand of the intermediate key into the key that wraps
 * the data key ("..._ENC") and the symmetric signing key ("..._MAC"), sharing one extract. */
static int ikw_derive(const unsigned char ikm[SUITE_KEY_LEN], unsigned char kek[SUITE_KEY_LEN],
		      unsigned char sk[SUITE_KEY_LEN])
{
	static const char enc_info[] = "AWS_MPL_INTERMEDIATE_KEYWRAP_ENC";
	static const char mac_info[] = "AWS_MPL_INTERMEDIATE_KEYWRAP_MAC";

	return suite_hkdf_sha512_pair(ikm, SUITE_KEY_LEN, (const unsigned char *)enc_info,
				      sizeof(enc_info) - 1, kek, (const unsigned char *)mac_info,
				      sizeof(mac_info) - 1, sk, SUITE_KEY_LEN);
}

int keyring_ikw_seal(struct materials *m, const unsigned char ikm[SUITE_KEY_LEN],
		     unsigned char wrapped_pdk[SUITE_KEY_LEN + SUITE_TAG_LEN],
		     unsigned char signing_key[SUITE_KEY_LEN])
{
	static const unsigned char zero_iv[SUITE_IV_LEN];
	const struct bufwrite *aad = materials_ec_aad(m);
	unsigned char kek[SUITE_KEY_LEN];
	int rc = -1;

	if (aad == NULL || !m->has_data_key || ikw_derive(ikm, kek, signing_key) != 0)
		goto cleanup;
	/* The IV is zero: each kek encrypts exactly one data key. */
	if (suite_gcm_encrypt(kek, zero_iv, sizeof(zero_iv), aad->buf, aad->len, m->data_key,
			      SUITE_KEY_LEN, wrapped_pdk, wrapped_pdk + SUITE_KEY_LEN) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	OPENSSL_cleanse(kek, sizeof(kek));
	return rc;
}

int keyring_ikw_open(struct materials *m, const unsigned char ikm[SUITE_KEY_LEN],
		     const unsigned char wrapped_pdk[SUITE_KEY_LEN + SUITE_TAG_LEN],
		     unsigned char pdk[SUITE_KEY_LEN], unsigned char signing_key[SUITE_KEY_LEN])
{
	static const unsigned char zero_iv[SUITE_IV_LEN];
	const struct bufwrite *aad = materials_ec_aad(m);
	unsigned char kek[SUITE_KEY_LEN];
	int rc = -1;

	if (aad == NULL || ikw_derive(ikm, kek, signing_key) != 0)
		goto cleanup;
	if (suite_gcm_decrypt(kek, zero_iv, sizeof(zero_iv), aad->buf, aad->len, wrapped_pdk,
			      SUITE_KEY_LEN, wrapped_pdk + SUITE_KEY_LEN, pdk) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	if (rc != 0)
		OPENSSL_cleanse(signing_key, SUITE_KEY_LEN);
	OPENSSL_cleanse(kek, sizeof(kek));
	return rc;
}

int keyring_names_edk(const struct keyring *k, const struct edk *edk)
{
	if (k->ops->names_edk == NULL)
		return -1;
	return k->ops->names_edk(k, edk);
}
