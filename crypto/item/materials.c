#include "crypto/item/materials.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void ec_init(struct enc_ctx *ec)
{
	memset(ec, 0, sizeof(*ec));
}

void ec_cleanup(struct enc_ctx *ec)
{
	for (size_t i = 0; i < ec->len; i++) {
		free(ec->entries[i].key);
		free(ec->entries[i].value);
	}
	free(ec->entries);
	memset(ec, 0, sizeof(*ec));
}

/* Byte order of keys, shorter first on a common prefix (UTF-8 binary order). */
static int key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static char *dup_bytes(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		return NULL;
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

int ec_put(struct enc_ctx *ec, const char *key, size_t key_len, const char *value,
	   size_t value_len, int required)
{
	size_t at = 0;
	struct ec_entry e;

	while (at < ec->len) {
		int c = key_cmp(ec->entries[at].key, ec->entries[at].key_len, key, key_len);

		if (c == 0) {
			if (ec->entries[at].value_len == value_len &&
			    (value_len == 0 || memcmp(ec->entries[at].value, value, value_len) == 0)) {
				ec->entries[at].required |= required;
				return 0;
			}
			return -2;
		}
		if (c > 0)
			break;
		at++;
	}
	if (ec->len == ec->cap) {
		size_t nc = ec->cap ? ec->cap * 2 : 8;
		struct ec_entry *ne = realloc(ec->entries, nc * sizeof(*ne));

		if (ne == NULL)
			return -1;
		ec->entries = ne;
		ec->cap = nc;
	}
	e.key = dup_bytes(key, key_len);
	e.value = dup_bytes(value, value_len);
	if (e.key == NULL || e.value == NULL) {
		free(e.key);
		free(e.value);
		return -1;
	}
	e.key_len = key_len;
	e.value_len = value_len;
	e.required = required;
	memmove(&ec->entries[at + 1], &ec->entries[at], (ec->len - at) * sizeof(e));
	ec->entries[at] = e;
	ec->len++;
	return 0;
}

const struct ec_entry *ec_get(const struct enc_ctx *ec, const char *key, size_t key_len)
{
	for (size_t i = 0; i < ec->len; i++)
		if (key_cmp(ec->entries[i].key, ec->entries[i].key_len, key, key_len) == 0)
			return &ec->entries[i];
	return NULL;
}

void ec_serialize(const struct enc_ctx *ec, int only_stored, int aad_form, struct bufwrite *out)
{
	size_t n = 0;

	for (size_t i = 0; i < ec->len; i++)
		if (!only_stored || !ec->entries[i].required)
			n++;
	if (n == 0 && aad_form)
		return;
	bufwrite_u16(out, (uint16_t)n);
	for (size_t i = 0; i < ec->len; i++) {
		const struct ec_entry *e = &ec->entries[i];

		if (only_stored && e->required)
			continue;
		bufwrite_u16(out, (uint16_t)e->key_len);
		bufwrite_bytes(out, e->key, e->key_len);
		bufwrite_u16(out, (uint16_t)e->value_len);
		bufwrite_bytes(out, e->value, e->value_len);
	}
}

int ec_copy(struct enc_ctx *dst, const struct enc_ctx *src)
{
	for (size_t i = 0; i < src->len; i++) {
		const struct ec_entry *e = &src->entries[i];

		if (ec_put(dst, e->key, e->key_len, e->value, e->value_len, e->required) != 0)
			return -1;
	}
	return 0;
}

static unsigned char *dup_mem(const void *p, size_t n)
{
	unsigned char *d = malloc(n ? n : 1);

	if (d != NULL && n)
		memcpy(d, p, n);
	return d;
}

int edk_set(struct edk *e, const void *id, size_t id_len, const void *info, size_t info_len,
	    const void *ct, size_t ct_len)
{
	memset(e, 0, sizeof(*e));
	e->provider_id = dup_mem(id, id_len);
	e->provider_info = dup_mem(info, info_len);
	e->ciphertext = dup_mem(ct, ct_len);
	if (e->provider_id == NULL || e->provider_info == NULL || e->ciphertext == NULL) {
		edk_cleanup(e);
		return -1;
	}
	e->provider_id_len = id_len;
	e->provider_info_len = info_len;
	e->ciphertext_len = ct_len;
	return 0;
}

void edk_cleanup(struct edk *e)
{
	free(e->provider_id);
	free(e->provider_info);
	free(e->ciphertext);
	memset(e, 0, sizeof(*e));
}

void materials_init(struct materials *m, const struct suite *suite)
{
	memset(m, 0, sizeof(*m));
	m->suite = suite;
	ec_init(&m->ec);
}

void materials_cleanup(struct materials *m)
{
	OPENSSL_cleanse(m->data_key, sizeof(m->data_key));
	for (size_t i = 0; i < m->edks_len; i++)
		edk_cleanup(&m->edks[i]);
	free(m->edks);
	if (m->signing_keys != NULL) {
		OPENSSL_cleanse(m->signing_keys, m->signing_keys_len * SUITE_KEY_LEN);
		free(m->signing_keys);
	}
	ec_cleanup(&m->ec);
	bufwrite_cleanup(&m->ec_aad);
	EVP_PKEY_free(m->ecdsa);
	OPENSSL_cleanse(m->rnd, sizeof(m->rnd));
	memset(m, 0, sizeof(*m));
}

int materials_random(struct materials *m, unsigned char *out, size_t len)
{
	if (len > sizeof(m->rnd))
		return suite_random(out, len);
	if (m->rnd_len - m->rnd_off < len) {
		/* What is left is too short: wiped, and the pool drawn again whole. */
		OPENSSL_cleanse(m->rnd, sizeof(m->rnd));
		m->rnd_off = m->rnd_len = 0;
		if (suite_random(m->rnd, sizeof(m->rnd)) != 0)
			return -1;
		m->rnd_len = sizeof(m->rnd);
	}
	memcpy(out, m->rnd + m->rnd_off, len);
	OPENSSL_cleanse(m->rnd + m->rnd_off, len);
	m->rnd_off += len;
	return 0;
}

const struct bufwrite *materials_ec_aad(struct materials *m)
{
	if (m->has_ec_aad && m->ec_aad_pairs == m->ec.len)
		return &m->ec_aad;
	bufwrite_cleanup(&m->ec_aad);
	m->has_ec_aad = 0;
	ec_serialize(&m->ec, 0, 1, &m->ec_aad);
	if (m->ec_aad.failed)
		return NULL;
	m->ec_aad_pairs = m->ec.len;
	m->has_ec_aad = 1;
	return &m->ec_aad;
}

int materials_add_signing_key(struct materials *m, const unsigned char sk[SUITE_KEY_LEN])
{
	unsigned char (*nk)[SUITE_KEY_LEN] = malloc((m->signing_keys_len + 1) * SUITE_KEY_LEN);

	if (nk == NULL)
		return -1;
	if (m->signing_keys != NULL) {
		memcpy(nk, m->signing_keys, m->signing_keys_len * SUITE_KEY_LEN);
		OPENSSL_cleanse(m->signing_keys, m->signing_keys_len * SUITE_KEY_LEN);
		free(m->signing_keys);
	}
	memcpy(nk[m->signing_keys_len], sk, SUITE_KEY_LEN);
	m->signing_keys = nk;
	m->signing_keys_len++;
	return 0;
}

int materials_add_edk(struct materials *m, struct edk *edk, const unsigned char sk[SUITE_KEY_LEN])
{
	struct edk *ne = realloc(m->edks, (m->edks_len + 1) * sizeof(*ne));

	if (ne == NULL)
		return -1;
	m->edks = ne;
	if (materials_add_signing_key(m, sk) != 0)
		return -1;
	m->edks[m->edks_len++] = *edk;
	memset(edk, 0, sizeof(*edk));
	return 0;
}

void materials_set_data_key(struct materials *m, const unsigned char key[SUITE_KEY_LEN])
{
	memcpy(m->data_key, key, SUITE_KEY_LEN);
	m->has_data_key = 1;
}
