/* Keyrings: raw-aes and static-branch-key EDK formats, wrap/unwrap, context binding, several
 * keyrings on one item, the shared hierarchical wrap/unwrap and construction errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/keyring/keyring.h"
#include "crypto/keyring/keyring_factory.h"
#include "crypto/keyring/keyring_fallback.h"

/* Why keyring_new_from_config built no keyring. */
static struct ds_error kr_err;

#define VERSION_UUID "e9ce18a3-edb5-4272-9f86-1cacb7997ff6"

struct done_state {
	int called;
	int rc;
	struct ds_error err;
};

static void on_done(void *arg, int rc, const struct ds_error *err)
{
	struct done_state *d = arg;

	d->called++;
	d->rc = rc;
	if (err != NULL)
		d->err = *err;
}

static struct keyring *make(int branch, unsigned char seed, const char *key_name)
{
	struct config_keyring c;

	memset(&c, 0, sizeof(c));
	c.name = branch ? "fixed" : "local";
	c.type = branch ? KEYRING_STATIC_BRANCH_KEY : KEYRING_RAW_AES;
	for (int i = 0; i < 32; i++)
		c.key_material[i] = (unsigned char)(seed + i);
	c.has_key_material = 1;
	c.key_namespace = "dynaseal";
	c.key_name = (char *)key_name;
	c.branch_key_id = "tenant-1";
	c.branch_key_version = VERSION_UUID;
	return keyring_new_from_config(&c, NULL, &kr_err);
}

static void init_materials(struct materials *m, const char *table)
{
	materials_init(m, suite_by_id(SUITE_ID_SYMSIG));
	assert_int_equal(ec_put(&m->ec, "aws-crypto-table-name", 21, table, strlen(table), 1), 0);
	assert_int_equal(ec_put(&m->ec, "aws-crypto-partition-name", 25, "pk", 2, 1), 0);
}

/* Encrypts with kr, then decrypts the EDKs with dec under a context for `table`. */
static int wrap_then_unwrap(struct keyring *kr, struct keyring *dec, const char *table,
			    struct materials *enc, struct ds_error *err)
{
	struct materials m;
	struct done_state d;
	int rc;

	memset(&d, 0, sizeof(d));
	init_materials(enc, "users");
	keyring_on_encrypt(kr, enc, on_done, &d);
	assert_int_equal(d.called, 1);
	assert_int_equal(d.rc, 0);
	assert_true(enc->has_data_key);
	init_materials(&m, table);
	memset(&d, 0, sizeof(d));
	keyring_on_decrypt(dec, &m, enc->edks, enc->edks_len, on_done, &d);
	assert_int_equal(d.called, 1);
	rc = d.rc;
	if (rc == 0) {
		assert_true(m.has_data_key);
		assert_memory_equal(m.data_key, enc->data_key, SUITE_KEY_LEN);
		assert_int_equal(m.signing_keys_len, 1);
		/* Some EDK's signing key must be the one the reader derived. */
		int found = 0;
		for (size_t i = 0; i < enc->signing_keys_len; i++)
			found |= memcmp(enc->signing_keys[i], m.signing_keys[0], SUITE_KEY_LEN) == 0;
		assert_true(found);
	} else {
		*err = d.err;
	}
	materials_cleanup(&m);
	return rc;
}

/* A table's keyring with a read keyring: writes name the table's key only; reads open items of
 * either; an item of neither is refused with the table's keyring's own error. */
static void test_fallback_reads_both_writes_one(void **s)
{
	struct keyring *old = make(0, 1, "old-key"), *cur = make(0, 77, "new-key");
	struct keyring *other = make(0, 150, "other-key"), *f;
	struct materials enc;
	struct ds_error err, want;

	(void)s;
	assert_non_null(old);
	assert_non_null(cur);
	assert_non_null(other);
	f = keyring_fallback_new(cur, &old, 1);
	assert_non_null(f);
	assert_string_equal(f->name, cur->name);
	/* written through f: under the new key alone */
	assert_int_equal(wrap_then_unwrap(f, cur, "users", &enc, &err), 0);
	assert_int_equal(enc.edks_len, 1);
	assert_int_equal(keyring_names_edk(cur, &enc.edks[0]), 1);
	assert_int_equal(keyring_names_edk(old, &enc.edks[0]), 0);
	assert_int_equal(keyring_names_edk(f, &enc.edks[0]), 1);
	materials_cleanup(&enc);
	/* a static branch key names its own EDKs, not a raw-AES one's */
	{
		struct keyring *b = make(1, 9, NULL);
		assert_non_null(b);
		assert_int_equal(wrap_then_unwrap(b, b, "users", &enc, &err), 0);
		assert_int_equal(keyring_names_edk(b, &enc.edks[0]), 1);
		assert_int_equal(keyring_names_edk(cur, &enc.edks[0]), 0);
		materials_cleanup(&enc);
		assert_int_equal(wrap_then_unwrap(cur, cur, "users", &enc, &err), 0);
		assert_int_equal(keyring_names_edk(b, &enc.edks[0]), 0);
		materials_cleanup(&enc);
		keyring_free(b);
	}
	/* written under the old key: f opens it, the new key alone does not */
	assert_int_equal(wrap_then_unwrap(old, f, "users", &enc, &err), 0);
	materials_cleanup(&enc);
	assert_int_equal(wrap_then_unwrap(old, cur, "users", &enc, &want), -1);
	materials_cleanup(&enc);
	/* under neither: the table's keyring's refusal */
	assert_int_equal(wrap_then_unwrap(other, f, "users", &enc, &err), -1);
	assert_string_equal(err.message, want.message);
	materials_cleanup(&enc);
	keyring_free(f);
	keyring_free(other);
	keyring_free(cur);
	keyring_free(old);
}

static void test_raw_aes_edk_format(void **s)
{
	struct keyring *k = make(0, 1, "local-1");
	struct materials enc;
	struct ds_error err;
	const struct edk *e;

	(void)s;
	assert_non_null(k);
	assert_int_equal(wrap_then_unwrap(k, k, "users", &enc, &err), 0);
	assert_int_equal(enc.edks_len, 1);
	assert_int_equal(enc.signing_keys_len, 1);
	e = &enc.edks[0];
	assert_int_equal(e->provider_id_len, 8);
	assert_memory_equal(e->provider_id, "dynaseal", 8);
	/* key name, tag bits (128), IV length (12), IV */
	assert_int_equal(e->provider_info_len, 7 + 4 + 4 + 12);
	assert_memory_equal(e->provider_info, "local-1\0\0\0\x80\0\0\0\x0c", 15);
	/* wrapped data key (32 + 16) and wrapped intermediate key (32 + 16) */
	assert_int_equal(e->ciphertext_len, 96);
	materials_cleanup(&enc);
	keyring_free(k);
}

static void test_branch_edk_format(void **s)
{
	struct keyring *k = make(1, 7, NULL);
	struct materials enc;
	struct ds_error err;
	const struct edk *e;
	unsigned char v[16];

	(void)s;
	assert_non_null(k);
	assert_int_equal(wrap_then_unwrap(k, k, "users", &enc, &err), 0);
	e = &enc.edks[0];
	assert_int_equal(e->provider_id_len, 17);
	assert_memory_equal(e->provider_id, "aws-kms-hierarchy", 17);
	assert_int_equal(e->provider_info_len, 8);
	assert_memory_equal(e->provider_info, "tenant-1", 8);
	assert_int_equal(e->ciphertext_len, 48 + 16 + 12 + 16 + 32 + 16);
	assert_int_equal(keyring_uuid_parse(VERSION_UUID, v), 0);
	assert_memory_equal(e->ciphertext + 48 + 16 + 12, v, 16);
	assert_int_equal(keyring_branch_edk_matches(e, "tenant-1", v), 1);
	assert_int_equal(keyring_branch_edk_matches(e, "tenant-2", v), 0);
	materials_cleanup(&enc);
	keyring_free(k);
}

/* The EDK is bound to the encryption context: another table's context cannot open it. */
static void test_context_binding(void **s)
{
	struct materials enc;
	struct ds_error err;

	(void)s;
	for (int branch = 0; branch < 2; branch++) {
		struct keyring *k = make(branch, 3, "local-1");

		ds_error_clear(&err);
		assert_int_not_equal(wrap_then_unwrap(k, k, "orders", &enc, &err), 0);
		assert_int_equal(err.status, 400);
		assert_non_null(strstr(err.message, "does not decrypt"));
		materials_cleanup(&enc);
		keyring_free(k);
	}
}

static void test_wrong_key(void **s)
{
	struct keyring *a = make(0, 1, "local-1");
	struct keyring *b = make(0, 2, "local-1");       /* same name, other key */
	struct keyring *c = make(0, 1, "local-2");       /* other name */
	struct keyring *br = make(1, 1, NULL);
	struct keyring *br2 = make(1, 9, NULL);          /* same id and version, other key */
	struct materials enc;
	struct ds_error err;

	(void)s;
	assert_int_not_equal(wrap_then_unwrap(a, b, "users", &enc, &err), 0);
	assert_non_null(strstr(err.message, "does not decrypt"));
	materials_cleanup(&enc);
	assert_int_not_equal(wrap_then_unwrap(a, c, "users", &enc, &err), 0);
	assert_non_null(strstr(err.message, "not encrypted with this keyring"));
	materials_cleanup(&enc);
	assert_int_not_equal(wrap_then_unwrap(a, br, "users", &enc, &err), 0);
	assert_non_null(strstr(err.message, "not encrypted with branch key \"tenant-1\""));
	materials_cleanup(&enc);
	assert_int_not_equal(wrap_then_unwrap(br, br2, "users", &enc, &err), 0);
	assert_non_null(strstr(err.message, "does not decrypt"));
	materials_cleanup(&enc);
	keyring_free(a);
	keyring_free(b);
	keyring_free(c);
	keyring_free(br);
	keyring_free(br2);
}

/* Two keyrings on one item: the second wraps the first one's data key; either can read. */
static void test_two_keyrings(void **s)
{
	struct keyring *a = make(0, 1, "local-1");
	struct keyring *b = make(1, 5, NULL);
	struct materials enc;
	struct materials m;
	struct done_state d;

	(void)s;
	memset(&d, 0, sizeof(d));
	init_materials(&enc, "users");
	keyring_on_encrypt(a, &enc, on_done, &d);
	keyring_on_encrypt(b, &enc, on_done, &d);
	assert_int_equal(d.called, 2);
	assert_int_equal(d.rc, 0);
	assert_int_equal(enc.edks_len, 2);
	assert_int_equal(enc.signing_keys_len, 2);
	assert_memory_not_equal(enc.signing_keys[0], enc.signing_keys[1], SUITE_KEY_LEN);
	for (int i = 0; i < 2; i++) {
		init_materials(&m, "users");
		memset(&d, 0, sizeof(d));
		keyring_on_decrypt(i ? b : a, &m, enc.edks, enc.edks_len, on_done, &d);
		assert_int_equal(d.rc, 0);
		assert_memory_equal(m.data_key, enc.data_key, SUITE_KEY_LEN);
		assert_memory_equal(m.signing_keys[0], enc.signing_keys[i], SUITE_KEY_LEN);
		materials_cleanup(&m);
	}
	materials_cleanup(&enc);
	keyring_free(a);
	keyring_free(b);
}

/* The shared hierarchical functions take the branch key as input (for aws-kms-hierarchical). */
static void test_branch_functions(void **s)
{
	unsigned char bk[32];
	unsigned char other[32];
	unsigned char v[16];
	struct materials enc;
	struct materials m;
	struct ds_error err;

	(void)s;
	memset(bk, 0x42, sizeof(bk));
	memset(other, 0x43, sizeof(other));
	assert_int_equal(keyring_uuid_parse(VERSION_UUID, v), 0);
	init_materials(&enc, "users");
	assert_int_equal(keyring_branch_wrap(bk, "tenant-9", v, &enc, &err), 0);
	init_materials(&m, "users");
	assert_int_not_equal(keyring_branch_unwrap(other, "tenant-9", &enc.edks[0], &m, &err), 0);
	assert_false(m.has_data_key);
	assert_int_not_equal(keyring_branch_unwrap(bk, "tenant-8", &enc.edks[0], &m, &err), 0);
	assert_int_equal(keyring_branch_unwrap(bk, "tenant-9", &enc.edks[0], &m, &err), 0);
	assert_memory_equal(m.data_key, enc.data_key, 32);
	materials_cleanup(&m);
	materials_cleanup(&enc);
}

static void test_uuid_and_config(void **s)
{
	unsigned char v[16];
	struct config_keyring c;

	(void)s;
	assert_int_equal(keyring_uuid_parse("00112233-4455-6677-8899-aabbccddeeff", v), 0);
	assert_memory_equal(v, "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16);
	assert_int_equal(keyring_uuid_parse("00112233-4455-6677-8899-AABBCCDDEEFF", v), 0);
	assert_int_not_equal(keyring_uuid_parse("00112233445566778899aabbccddeeff", v), 0);
	assert_int_not_equal(keyring_uuid_parse("0011223g-4455-6677-8899-aabbccddeeff", v), 0);
	assert_int_not_equal(keyring_uuid_parse(NULL, v), 0);
	memset(&c, 0, sizeof(c));
	c.name = "x";
	c.type = KEYRING_RAW_AES;
	assert_null(keyring_new_from_config(&c, NULL, &kr_err));          /* no key material */
	assert_string_equal(kr_err.type, DS_ERR_INTERNAL);
	assert_non_null(strstr(kr_err.message, "keyring \"x\" could not be set up"));
	c.type = KEYRING_STATIC_BRANCH_KEY;
	c.has_key_material = 1;
	c.branch_key_id = "id";
	c.branch_key_version = "not-a-uuid";
	assert_null(keyring_new_from_config(&c, NULL, &kr_err));
	/* KMS keyrings need an event loop's clients: without them, nothing is built. */
	c.type = KEYRING_AWS_KMS;
	assert_null(keyring_new_from_config(&c, NULL, &kr_err));
	assert_non_null(strstr(kr_err.message, "a KMS keyring needs the KMS and DynamoDB clients"));
	c.type = KEYRING_AWS_KMS_HIERARCHICAL;
	assert_null(keyring_new_from_config(&c, NULL, &kr_err));
	assert_non_null(strstr(kr_err.message, "keyring \"x\": a KMS keyring needs"));
}

/* materials_random: one pool per item, each part wiped from it as it is handed out, refilled
 * when short, and larger requests drawn directly; the pool is wiped by materials_cleanup. */
static void test_materials_random(void **state)
{
	static const unsigned char zero[MATERIALS_RND_LEN];
	unsigned char a[32], b[32], big[MATERIALS_RND_LEN + 8];
	struct materials m;

	(void)state;
	materials_init(&m, suite_by_id(0x6700));
	assert_int_equal(materials_random(&m, a, sizeof(a)), 0);
	assert_int_equal(m.rnd_off, sizeof(a));
	assert_memory_equal(m.rnd, zero, sizeof(a));
	assert_int_equal(materials_random(&m, b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_equal(m.rnd, zero, 2 * sizeof(a));
	/* 64 bytes left: 100 more need a new pool. */
	assert_int_equal(materials_random(&m, big, 100), 0);
	assert_int_equal(m.rnd_off, 100);
	assert_memory_equal(m.rnd, zero, 100);
	assert_int_equal(materials_random(&m, big, sizeof(big)), 0);
	assert_int_equal(m.rnd_off, 100);
	materials_cleanup(&m);
	assert_memory_equal(m.rnd, zero, sizeof(m.rnd));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_aes_edk_format),
		cmocka_unit_test(test_branch_edk_format),
		cmocka_unit_test(test_context_binding),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_two_keyrings),
		cmocka_unit_test(test_branch_functions),
		cmocka_unit_test(test_uuid_and_config),
		cmocka_unit_test(test_materials_random),
		cmocka_unit_test(test_fallback_reads_both_writes_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
