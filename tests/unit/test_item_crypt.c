/*
 * Round trips (raw-aes and static-branch-key, suites 0x6700 and 0x6701, configuration
 * versions 1 and 2, every attribute type), tamper tests for every header and footer field and
 * for attribute values, and item_encrypt's refusals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "config/config.h"
#include "crypto/item/attr_serial.h"
#include "proxy/base/codec.h"
#include "crypto/item/item_crypt.h"
#include "crypto/keyring/keyring.h"
#include "crypto/keyring/keyring_factory.h"
#include "proxy/base/json.h"

/* Why keyring_new_from_config built no keyring. */
static struct ds_error kr_err;

#define SECRET "TOPSECRET-VALUE"

static const char *item_json =
	"{\"pk\":{\"S\":\"user#1\"},\"sk\":{\"N\":\"042.500\"},"
	"\"s\":{\"S\":\"" SECRET " h\\u00e9llo \\ud835\\udfc1 w\\u00f6rld\"},\"empty\":{\"S\":\"\"},"
	"\"n\":{\"N\":\"-0.000120E+3\"},\"n2\":{\"N\":\"1e2\"},\"b\":{\"B\":\"AAECAw==\"},"
	"\"eb\":{\"B\":\"\"},\"t\":{\"BOOL\":true},\"f\":{\"BOOL\":false},\"nul\":{\"NULL\":true},"
	"\"ss\":{\"SS\":[\"b\",\"a\",\"\\uffff\",\"\\ud835\\udfc1\"]},"
	"\"ns\":{\"NS\":[\"10\",\"2\",\"-3.5\",\"0.5e1\"]},\"bs\":{\"BS\":[\"AQ==\",\"AA==\",\"AAE=\"]},"
	"\"m\":{\"M\":{\"z\":{\"S\":\"1\"},\"a\":{\"L\":[{\"N\":\"1\"},{\"M\":{\"deep\":{\"BOOL\":false}}},"
	"{\"NULL\":true}]},\"\\u00e9\":{\"SS\":[\"x\"]}}},"
	"\"l\":{\"L\":[]},\"em\":{\"M\":{}},\"so\":{\"S\":\"sign only\"},\"ctx\":{\"N\":\"7\"},"
	"\"cb\":{\"B\":\"/w==\"},\"dn\":{\"S\":\"unsigned\"}}";

static const char *encrypted_names[] = { "s", "empty", "n", "n2", "b", "eb", "t", "f", "nul",
					 "ss", "ns", "bs", "m", "l", "em" };

/* Test table: actions per config version; the attribute list matches item_json. */
struct test_table {
	struct config_table t;
	struct config_attr_action acts[32];
	char *unsigned_names[2];
};

static void make_table(struct test_table *tt, uint16_t suite, int version)
{
	size_t n = 0;

	memset(tt, 0, sizeof(*tt));
	tt->t.name = "users";
	tt->t.logical_name = "users-logical";
	tt->t.partition_key = "pk";
	tt->t.sort_key = "sk";
	tt->t.algorithm_suite = suite;
	for (size_t i = 0; i < sizeof(encrypted_names) / sizeof(encrypted_names[0]); i++)
		tt->acts[n++] = (struct config_attr_action){ (char *)encrypted_names[i],
							     ACTION_ENCRYPT_AND_SIGN };
	tt->acts[n++] = (struct config_attr_action){ "so", ACTION_SIGN_ONLY };
	if (version == 2) {
		tt->acts[n++] = (struct config_attr_action){ "pk", ACTION_SIGN_AND_INCLUDE_IN_EC };
		tt->acts[n++] = (struct config_attr_action){ "sk", ACTION_SIGN_AND_INCLUDE_IN_EC };
		tt->acts[n++] = (struct config_attr_action){ "ctx", ACTION_SIGN_AND_INCLUDE_IN_EC };
		tt->acts[n++] = (struct config_attr_action){ "cb", ACTION_SIGN_AND_INCLUDE_IN_EC };
	} else {
		tt->acts[n++] = (struct config_attr_action){ "pk", ACTION_SIGN_ONLY };
		tt->acts[n++] = (struct config_attr_action){ "sk", ACTION_SIGN_ONLY };
		tt->acts[n++] = (struct config_attr_action){ "ctx", ACTION_ENCRYPT_AND_SIGN };
		tt->acts[n++] = (struct config_attr_action){ "cb", ACTION_SIGN_ONLY };
	}
	tt->t.actions = tt->acts;
	tt->t.actions_len = n;
	tt->unsigned_names[0] = "dn";
	tt->t.allowed_unsigned = tt->unsigned_names;
	tt->t.allowed_unsigned_len = 1;
}

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

static struct keyring *make_keyring(int branch)
{
	struct config_keyring c;
	struct keyring *k;

	memset(&c, 0, sizeof(c));
	c.name = branch ? "fixed" : "local";
	c.type = branch ? KEYRING_STATIC_BRANCH_KEY : KEYRING_RAW_AES;
	for (int i = 0; i < 32; i++)
		c.key_material[i] = (unsigned char)(branch ? 0xA0 + i : i);
	c.has_key_material = 1;
	c.key_namespace = "dynaseal";
	c.key_name = "local-1";
	c.branch_key_id = "tenant-1";
	c.branch_key_version = "e9ce18a3-edb5-4272-9f86-1cacb7997ff6";
	k = keyring_new_from_config(&c, NULL, &kr_err);
	assert_non_null(k);
	return k;
}

static int encrypt_item(const struct config_table *t, struct keyring *kr, cJSON *item,
			struct ds_error *err)
{
	struct materials m;
	struct done_state d;
	int rc = -1;

	memset(&d, 0, sizeof(d));
	memset(&m, 0, sizeof(m));
	if (item_encrypt_materials(t, item, &m, err) != 0)
		goto cleanup;
	keyring_on_encrypt(kr, &m, on_done, &d);
	assert_int_equal(d.called, 1);
	assert_int_equal(d.rc, 0);
	rc = item_encrypt(t, &m, item, err);
cleanup:
	materials_cleanup(&m);
	return rc;
}

static int decrypt_item(const struct config_table *t, struct keyring *kr, cJSON *item,
			struct ds_error *err)
{
	struct item_header h;
	struct materials m;
	struct done_state d;
	int rc = -1;

	memset(&d, 0, sizeof(d));
	memset(&m, 0, sizeof(m));
	if (item_read_header(t, item, &h, err) != 0)
		return -1;
	if (item_decrypt_materials(t, &h, &m, err) != 0)
		goto cleanup;
	keyring_on_decrypt(kr, &m, h.edks, h.edks_len, on_done, &d);
	assert_int_equal(d.called, 1);
	if (d.rc != 0) {
		*err = d.err;
		goto cleanup;
	}
	rc = item_decrypt(t, &m, &h, item, err);
cleanup:
	materials_cleanup(&m);
	item_header_cleanup(&h);
	return rc;
}

static void assert_same_item(const cJSON *want, const cJSON *got)
{
	const cJSON *a;

	assert_int_equal(cJSON_GetArraySize(want), cJSON_GetArraySize(got));
	cJSON_ArrayForEach(a, want) {
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(got, a->string);

		assert_non_null(g);
		if (attr_value_equal(a, g) != 1)
			fail_msg("attribute %s differs after the round trip", a->string);
	}
}

static void round_trip(int branch, uint16_t suite, int version)
{
	struct test_table tt;
	struct keyring *kr = make_keyring(branch);
	cJSON *orig = cJSON_Parse(item_json);
	cJSON *item = cJSON_Duplicate(orig, 1);
	struct ds_error err;
	unsigned char head[4096];
	const cJSON *hv;
	char *text;
	long hl;

	make_table(&tt, suite, version);
	ds_error_clear(&err);
	if (encrypt_item(&tt.t, kr, item, &err) != 0)
		fail_msg("encrypt: %s", err.message);
	/* Encrypted attributes are binary and start with their original type id. */
	for (size_t i = 0; i < sizeof(encrypted_names) / sizeof(encrypted_names[0]); i++) {
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(item, encrypted_names[i]), "B");

		assert_non_null(b);
	}
	text = cJSON_PrintUnformatted(item);
	assert_null(strstr(text, SECRET));      /* the secret is encrypted, not stored */
	free(text);
	assert_true(attr_value_equal(cJSON_GetObjectItemCaseSensitive(item, "so"),
				     cJSON_GetObjectItemCaseSensitive(orig, "so")) == 1);
	hv = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(item, "aws_dbe_head"), "B");
	assert_non_null(hv);
	assert_non_null(cJSON_GetObjectItemCaseSensitive(item, "aws_dbe_foot"));
	hl = codec_b64_decode(hv->valuestring, strlen(hv->valuestring), head);
	assert_true(hl > 34);
	assert_int_equal(head[0], version);
	assert_int_equal(head[1], suite & 0xFF);
	if (decrypt_item(&tt.t, kr, item, &err) != 0)
		fail_msg("decrypt: %s", err.message);
	assert_same_item(orig, item);
	cJSON_Delete(orig);
	cJSON_Delete(item);
	keyring_free(kr);
}

static void test_round_trip_raw_aes_6700(void **s) { (void)s; round_trip(0, 0x6700, 1); }
static void test_round_trip_raw_aes_6701(void **s) { (void)s; round_trip(0, 0x6701, 1); }
static void test_round_trip_branch_6700(void **s) { (void)s; round_trip(1, 0x6700, 1); }
static void test_round_trip_branch_6701(void **s) { (void)s; round_trip(1, 0x6701, 1); }
static void test_round_trip_v2_raw_aes(void **s) { (void)s; round_trip(0, 0x6700, 2); }
static void test_round_trip_v2_branch_6701(void **s) { (void)s; round_trip(1, 0x6701, 2); }

/* Ciphertext is fresh per write: the same item encrypts differently twice. */
/*
 * Strings holding U+0000 (held in the tree as the stand-in of proxy/base/json_nul.h): the
 * encryption context the DB-ESDK rebuilds from the item holds their real bytes (version 2:
 * the key's string itself), and the item reads back whole under both keyrings.
 */
static void test_nul_strings(void **state)
{
	static const char json[] =
		"{\"pk\":{\"S\":\"user\\u0000#1\"},\"sk\":{\"N\":\"1\"},\"s\":{\"S\":\"a\\u0000b\"},"
		"\"so\":{\"S\":\"\\u0000\"},\"ss\":{\"SS\":[\"\\u0000\",\"x\\u0000\",\"x\"]},"
		"\"m\":{\"M\":{\"k\\u0000\":{\"S\":\"v\\u0000\"},\"k\":{\"S\":\"\"}}},\"dn\":{\"S\":\"\\u0000\"},"
		"\"ctx\":{\"N\":\"7\"},\"cb\":{\"B\":\"/w==\"}}";

	(void)state;
	for (int version = 1; version <= 2; version++) {
		for (int branch = 0; branch <= 1; branch++) {
			struct test_table tt;
			struct keyring *kr = make_keyring(branch);
			cJSON *orig = json_parse(json, sizeof(json) - 1, NULL);
			cJSON *item = cJSON_Duplicate(orig, 1);
			struct materials m;
			struct ds_error err;
			char *text;

			assert_non_null(item);
			make_table(&tt, 0x6700, version);
			memset(&m, 0, sizeof(m));
			ds_error_clear(&err);
			if (item_encrypt_materials(&tt.t, item, &m, &err) != 0)
				fail_msg("materials: %s", err.message);
			if (version == 2) {
				const struct ec_entry *e = ec_get(&m.ec, "aws-crypto-attr.pk", 18);

				assert_non_null(e);
				assert_int_equal(e->value_len, 7);
				assert_memory_equal(e->value, "user\0#1", 7);
			}
			materials_cleanup(&m);
			if (encrypt_item(&tt.t, kr, item, &err) != 0)
				fail_msg("encrypt: %s", err.message);
			text = json_print(item, NULL);
			assert_null(strstr(text, "a\\u0000b"));           /* encrypted */
			assert_non_null(strstr(text, "\"so\":{\"S\":\"\\u0000\"}"));
			cJSON_free(text);
			if (decrypt_item(&tt.t, kr, item, &err) != 0)
				fail_msg("decrypt: %s", err.message);
			assert_same_item(orig, item);
			text = json_print(cJSON_GetObjectItemCaseSensitive(item, "s"), NULL);
			assert_string_equal(text, "{\"S\":\"a\\u0000b\"}");
			cJSON_free(text);
			cJSON_Delete(orig);
			cJSON_Delete(item);
			keyring_free(kr);
		}
	}
}

static void test_encryption_is_randomized(void **state)
{
	struct test_table tt;
	struct keyring *kr = make_keyring(0);
	cJSON *a = cJSON_Parse(item_json);
	cJSON *b = cJSON_Parse(item_json);
	struct ds_error err;

	(void)state;
	make_table(&tt, 0x6700, 1);
	assert_int_equal(encrypt_item(&tt.t, kr, a, &err), 0);
	assert_int_equal(encrypt_item(&tt.t, kr, b, &err), 0);
	assert_string_not_equal(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(a, "s"), "B")->valuestring,
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "s"), "B")->valuestring);
	cJSON_Delete(a);
	cJSON_Delete(b);
	keyring_free(kr);
}

/* A fixture for tamper tests: an encrypted item and the means to read it. */
struct enc_fixture {
	struct test_table tt;
	struct keyring *kr;
	cJSON *item;
};

static void fixture_make(struct enc_fixture *fx, uint16_t suite)
{
	struct ds_error err;

	make_table(&fx->tt, suite, 1);
	fx->kr = make_keyring(1);
	fx->item = cJSON_Parse(item_json);
	assert_int_equal(encrypt_item(&fx->tt.t, fx->kr, fx->item, &err), 0);
}

static void fixture_free(struct enc_fixture *fx)
{
	cJSON_Delete(fx->item);
	keyring_free(fx->kr);
}

/* XORs byte `at` (negative: from the end) of binary attribute name with mask. */
static void xor_byte(cJSON *item, const char *name, long at, unsigned char mask)
{
	cJSON *b = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(item, name), "B");
	unsigned char buf[8192];
	char text[CODEC_B64_ENC_LEN(8192)];
	long n;

	assert_non_null(b);
	n = codec_b64_decode(b->valuestring, strlen(b->valuestring), buf);
	assert_true(n > 0);
	if (at < 0)
		at += n;
	assert_true(at >= 0 && at < n);
	buf[at] ^= mask;
	codec_b64_encode(buf, (size_t)n, text);
	cJSON_SetValuestring(b, text);
}

static void flip_byte(cJSON *item, const char *name, long at)
{
	xor_byte(item, name, at, 0x01);
}

/* Decrypting must fail with a 400 whose message has every expected fragment and no value. */
static void expect_refused(struct enc_fixture *fx, const char *frag1, const char *frag2)
{
	struct ds_error err;
	char *before = cJSON_PrintUnformatted(fx->item);
	char *after;

	ds_error_clear(&err);
	assert_int_not_equal(decrypt_item(&fx->tt.t, fx->kr, fx->item, &err), 0);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.type, DS_ERR_VALIDATION);
	if (strstr(err.message, frag1) == NULL || (frag2 != NULL && strstr(err.message, frag2) == NULL))
		fail_msg("unexpected message: %s", err.message);
	assert_null(strstr(err.message, SECRET));
	assert_null(strstr(err.message, "user#1"));
	after = cJSON_PrintUnformatted(fx->item);
	assert_string_equal(before, after);   /* a refused item is left as it was */
	free(before);
	free(after);
}

/* Header layout of the fixture: version, flavor, msgid[32], legend len(2) + legend, EC... */
static void tamper_head(uint16_t suite, long at, const char *f1, const char *f2)
{
	struct enc_fixture fx;

	fixture_make(&fx, suite);
	flip_byte(fx.item, "aws_dbe_head", at);
	expect_refused(&fx, f1, f2);
	fixture_free(&fx);
}

static void test_tamper_head_version(void **s)
{
	(void)s;
	tamper_head(0x6700, 0, "aws_dbe_head", "unknown format version");  /* 1 -> 0 */
}

static void test_tamper_head_version_to_2(void **s)
{
	struct enc_fixture fx;
	cJSON *b;
	unsigned char buf[4096];
	char text[8192];
	long n;

	(void)s;
	fixture_make(&fx, 0x6700);
	b = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(fx.item, "aws_dbe_head"), "B");
	n = codec_b64_decode(b->valuestring, strlen(b->valuestring), buf);
	buf[0] = 2;
	codec_b64_encode(buf, (size_t)n, text);
	cJSON_SetValuestring(b, text);
	expect_refused(&fx, "changed outside dynaseal", NULL);
	fixture_free(&fx);
}

static void test_tamper_head_flavor(void **s)
{
	(void)s;
	tamper_head(0x6700, 1, "changed outside dynaseal", "ECDSA");        /* 0x6700 -> 0x6701 */
	tamper_head(0x6701, 1, "aws_dbe_head", "header commitment");          /* 0x6701 -> 0x6700 */
}

static void test_tamper_head_message_id(void **s)
{
	(void)s;
	tamper_head(0x6700, 2, "aws_dbe_head", "header commitment");
	tamper_head(0x6701, 33, "aws_dbe_head", "header commitment");
}

static void test_tamper_head_legend(void **s)
{
	(void)s;
	struct enc_fixture fx;

	fixture_make(&fx, 0x6700);                      /* first legend byte 'e' -> 's' */
	xor_byte(fx.item, "aws_dbe_head", 36, 'e' ^ 's');
	expect_refused(&fx, "aws_dbe_head", "header commitment");
	fixture_free(&fx);
	tamper_head(0x6700, 36, "aws_dbe_head", "unknown action");         /* not a legend byte */
	tamper_head(0x6700, 35, "aws_dbe_head", "malformed");              /* legend length */
}

static void test_tamper_head_ec(void **s)
{
	(void)s;
	/* 0x6701 stores aws-crypto-public-key; legend has 19 entries: EC starts at 34+2+19. */
	tamper_head(0x6701, 34 + 2 + 19 + 2 + 2 + 3, "changed outside dynaseal", NULL);  /* key */
	tamper_head(0x6701, 34 + 2 + 19 + 2 + 2 + 21 + 2 + 10, "changed outside dynaseal", NULL);
}

static void test_tamper_head_edk(void **s)
{
	(void)s;
	tamper_head(0x6700, -32 - 10, "changed outside dynaseal", NULL);    /* EDK ciphertext */
	tamper_head(0x6700, -32 - 140 - 2 - 3, "not encrypted with branch key", NULL); /* info */
}

static void test_tamper_head_commitment(void **s)
{
	(void)s;
	tamper_head(0x6700, -1, "aws_dbe_head", "header commitment");
	tamper_head(0x6701, -32, "aws_dbe_head", "header commitment");
}

static void test_tamper_foot(void **s)
{
	struct enc_fixture fx;

	(void)s;
	fixture_make(&fx, 0x6700);                      /* the recipient tag */
	flip_byte(fx.item, "aws_dbe_foot", 5);
	expect_refused(&fx, "aws_dbe_foot", "no recipient tag matches");
	fixture_free(&fx);
	fixture_make(&fx, 0x6701);                      /* the ECDSA signature */
	flip_byte(fx.item, "aws_dbe_foot", 48 + 60);
	expect_refused(&fx, "aws_dbe_foot", "ECDSA signature");
	fixture_free(&fx);
	fixture_make(&fx, 0x6701);                      /* the tag, with a valid signature */
	flip_byte(fx.item, "aws_dbe_foot", 47);
	expect_refused(&fx, "aws_dbe_foot", "no recipient tag matches");
	fixture_free(&fx);
}

static void test_tamper_values(void **s)
{
	struct enc_fixture fx;
	struct enc_fixture other;
	cJSON *v;

	(void)s;
	fixture_make(&fx, 0x6700);                      /* an encrypted value */
	flip_byte(fx.item, "s", 5);
	expect_refused(&fx, "aws_dbe_foot", "changed outside dynaseal");
	fixture_free(&fx);
	fixture_make(&fx, 0x6700);                      /* a SIGN_ONLY value */
	cJSON_ReplaceItemInObjectCaseSensitive(fx.item, "so", cJSON_Parse("{\"S\":\"sign 0nly\"}"));
	expect_refused(&fx, "aws_dbe_foot", NULL);
	fixture_free(&fx);
	fixture_make(&fx, 0x6701);                      /* two encrypted values swapped */
	v = cJSON_DetachItemFromObjectCaseSensitive(fx.item, "s");
	cJSON_AddItemToObject(fx.item, "s", cJSON_DetachItemFromObjectCaseSensitive(fx.item, "empty"));
	cJSON_AddItemToObject(fx.item, "empty", v);
	expect_refused(&fx, "aws_dbe_foot", NULL);
	fixture_free(&fx);
	fixture_make(&fx, 0x6700);                      /* a value from another item */
	fixture_make(&other, 0x6700);
	cJSON_ReplaceItemInObjectCaseSensitive(fx.item, "s",
		cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(other.item, "s"), 1));
	expect_refused(&fx, "aws_dbe_foot", NULL);
	fixture_free(&fx);
	fixture_free(&other);
	fixture_make(&fx, 0x6700);                      /* an encrypted attribute made plain */
	cJSON_ReplaceItemInObjectCaseSensitive(fx.item, "s", cJSON_Parse("{\"S\":\"x\"}"));
	expect_refused(&fx, "attribute \"s\"", "should be encrypted");
	fixture_free(&fx);
}

static void test_tamper_structure(void **s)
{
	struct enc_fixture fx;
	struct ds_error err;

	(void)s;
	fixture_make(&fx, 0x6700);
	cJSON_DeleteItemFromObjectCaseSensitive(fx.item, "aws_dbe_head");
	expect_refused(&fx, "no aws_dbe_head", NULL);
	fixture_free(&fx);
	fixture_make(&fx, 0x6700);
	cJSON_DeleteItemFromObjectCaseSensitive(fx.item, "aws_dbe_foot");
	expect_refused(&fx, "no aws_dbe_foot", NULL);
	fixture_free(&fx);
	fixture_make(&fx, 0x6700);                      /* an unsigned attribute that must be signed */
	cJSON_AddItemToObject(fx.item, "extra", cJSON_Parse("{\"S\":\"x\"}"));
	expect_refused(&fx, "more signed attributes", NULL);
	fixture_free(&fx);
	fixture_make(&fx, 0x6700);                      /* a signed attribute removed */
	cJSON_DeleteItemFromObjectCaseSensitive(fx.item, "so");
	expect_refused(&fx, "fewer signed attributes", NULL);
	fixture_free(&fx);
	fixture_make(&fx, 0x6700);                      /* the unsigned attribute may change */
	cJSON_ReplaceItemInObjectCaseSensitive(fx.item, "dn", cJSON_Parse("{\"N\":\"5\"}"));
	assert_int_equal(decrypt_item(&fx.tt.t, fx.kr, fx.item, &err), 0);
	fixture_free(&fx);
	fixture_make(&fx, 0x6700);                      /* a key read under another table name */
	fx.tt.t.logical_name = "other";
	expect_refused(&fx, "changed outside dynaseal", NULL);
	fixture_free(&fx);
}

/* Two keyrings on one item: two EDKs and two recipient tags; each reader checks its own tag. */
static void test_two_recipients(void **s)
{
	struct test_table tt;
	struct keyring *a = make_keyring(0);
	struct keyring *b = make_keyring(1);
	cJSON *orig = cJSON_Parse(item_json);
	cJSON *item = cJSON_Duplicate(orig, 1);
	cJSON *copy;
	struct materials m;
	struct done_state d;
	struct ds_error err;

	(void)s;
	make_table(&tt, 0x6701, 1);
	memset(&d, 0, sizeof(d));
	assert_int_equal(item_encrypt_materials(&tt.t, item, &m, &err), 0);
	keyring_on_encrypt(a, &m, on_done, &d);
	keyring_on_encrypt(b, &m, on_done, &d);
	assert_int_equal(d.called, 2);
	assert_int_equal(d.rc, 0);
	assert_int_equal(item_encrypt(&tt.t, &m, item, &err), 0);
	materials_cleanup(&m);
	for (int reader = 0; reader < 2; reader++) {
		struct enc_fixture fx;

		copy = cJSON_Duplicate(item, 1);
		assert_int_equal(decrypt_item(&tt.t, reader ? b : a, copy, &err), 0);
		assert_same_item(orig, copy);
		cJSON_Delete(copy);
		/* The reader's own tag changed: refused.  The other reader's tag: still fine. */
		memset(&fx, 0, sizeof(fx));
		fx.tt = tt;
		fx.tt.t.actions = fx.tt.acts;
		fx.tt.t.allowed_unsigned = fx.tt.unsigned_names;
		fx.kr = reader ? b : a;
		fx.item = cJSON_Duplicate(item, 1);
		flip_byte(fx.item, "aws_dbe_foot", reader * 48 + 7);
		expect_refused(&fx, "aws_dbe_foot", "no recipient tag matches");
		cJSON_Delete(fx.item);
		copy = cJSON_Duplicate(item, 1);
		flip_byte(copy, "aws_dbe_foot", (1 - reader) * 48 + 7);
		assert_int_equal(decrypt_item(&tt.t, reader ? b : a, copy, &err), 0);
		cJSON_Delete(copy);
	}
	cJSON_Delete(orig);
	cJSON_Delete(item);
	keyring_free(a);
	keyring_free(b);
}

/* item_encrypt (configuration version `version`) must refuse and leave the item unchanged. */
static void expect_encrypt_refused_v(int version, const char *json, const char *f1, const char *f2)
{
	struct test_table tt;
	struct keyring *kr = make_keyring(0);
	cJSON *item = cJSON_Parse(json);
	char *before = cJSON_PrintUnformatted(item);
	char *after;
	struct ds_error err;
	struct materials m;
	struct done_state d;

	make_table(&tt, 0x6700, version);
	ds_error_clear(&err);
	memset(&d, 0, sizeof(d));
	memset(&m, 0, sizeof(m));
	if (item_encrypt_materials(&tt.t, item, &m, &err) == 0) {
		keyring_on_encrypt(kr, &m, on_done, &d);
		assert_int_equal(d.rc, 0);
		assert_int_not_equal(item_encrypt(&tt.t, &m, item, &err), 0);
	}
	materials_cleanup(&m);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.type, DS_ERR_VALIDATION);
	if (strstr(err.message, f1) == NULL || strstr(err.message, f2) == NULL)
		fail_msg("unexpected message: %s", err.message);
	assert_null(strstr(err.message, SECRET));
	after = cJSON_PrintUnformatted(item);
	assert_string_equal(before, after);
	free(before);
	free(after);
	cJSON_Delete(item);
	keyring_free(kr);
}

static void expect_encrypt_refused(const char *json, const char *f1, const char *f2)
{
	expect_encrypt_refused_v(1, json, f1, f2);
}

static void test_encrypt_refusals(void **s)
{
	(void)s;
	expect_encrypt_refused("{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"},\"aws_dbe_x\":{\"S\":\"" SECRET "\"}}",
			       "\"aws_dbe_x\"", "reserved prefix");
	expect_encrypt_refused("{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"},\"zzz\":{\"S\":\"" SECRET "\"}}",
			       "\"zzz\"", "no action");
	expect_encrypt_refused("{\"sk\":{\"N\":\"1\"},\"s\":{\"S\":\"" SECRET "\"}}",
			       "table \"users\"", "no partition key attribute \"pk\"");
	expect_encrypt_refused("{\"pk\":{\"S\":\"a\"},\"s\":{\"S\":\"" SECRET "\"}}",
			       "table \"users\"", "no sort key attribute \"sk\"");
	expect_encrypt_refused("{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"},\"n\":{\"N\":\"12abc\"}}",
			       "attribute \"n\"", "not part of a number");
	expect_encrypt_refused("{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"},\"ss\":{\"SS\":[\"a\",\"a\"]}}",
			       "attribute \"ss\"", "same member twice");
	/* The same name twice: one of the two would be left in plaintext. */
	expect_encrypt_refused("{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"},\"s\":{\"S\":\"x\"},"
			       "\"s\":{\"S\":\"" SECRET "\"}}", "\"s\"", "twice");
	/* A context attribute that fails half-way through serializing (found by fuzz_item: the
	 * partial value leaked); the sanitizer build's leak check catches a regression. */
	expect_encrypt_refused_v(2, "{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"},\"cb\":{\"B\":\"/w==\"},"
				 "\"ctx\":{\"L\":[{\"S\":\"" SECRET "\"},{\"N\":\"12abc\"}]}}",
				 "attribute \"ctx\"", "not part of a number");
}

/* A plaintext item is recognized, and refused by item_read_header. */
static void test_plaintext_item(void **s)
{
	struct test_table tt;
	cJSON *item = cJSON_Parse("{\"pk\":{\"S\":\"a\"}}");
	struct item_header h;
	struct ds_error err;

	(void)s;
	make_table(&tt, 0x6700, 1);
	assert_int_equal(item_is_plaintext(item), 1);
	assert_int_not_equal(item_read_header(&tt.t, item, &h, &err), 0);
	assert_non_null(strstr(err.message, "no aws_dbe_head"));
	cJSON_AddItemToObject(item, "aws_dbe_foot", cJSON_Parse("{\"B\":\"AA==\"}"));
	assert_int_equal(item_is_plaintext(item), 0);
	cJSON_Delete(item);
}

/* Another keyring's key cannot read the item. */
static void test_wrong_keyring(void **s)
{
	struct enc_fixture fx;
	struct keyring *raw = make_keyring(0);
	struct keyring *saved;

	(void)s;
	fixture_make(&fx, 0x6700);
	saved = fx.kr;
	fx.kr = raw;
	expect_refused(&fx, "not encrypted with this keyring", NULL);
	fx.kr = saved;
	keyring_free(raw);
	fixture_free(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_raw_aes_6700),
		cmocka_unit_test(test_round_trip_raw_aes_6701),
		cmocka_unit_test(test_round_trip_branch_6700),
		cmocka_unit_test(test_round_trip_branch_6701),
		cmocka_unit_test(test_round_trip_v2_raw_aes),
		cmocka_unit_test(test_round_trip_v2_branch_6701),
		cmocka_unit_test(test_nul_strings),
		cmocka_unit_test(test_encryption_is_randomized),
		cmocka_unit_test(test_tamper_head_version),
		cmocka_unit_test(test_tamper_head_version_to_2),
		cmocka_unit_test(test_tamper_head_flavor),
		cmocka_unit_test(test_tamper_head_message_id),
		cmocka_unit_test(test_tamper_head_legend),
		cmocka_unit_test(test_tamper_head_ec),
		cmocka_unit_test(test_tamper_head_edk),
		cmocka_unit_test(test_tamper_head_commitment),
		cmocka_unit_test(test_tamper_foot),
		cmocka_unit_test(test_two_recipients),
		cmocka_unit_test(test_tamper_values),
		cmocka_unit_test(test_tamper_structure),
		cmocka_unit_test(test_encrypt_refusals),
		cmocka_unit_test(test_plaintext_item),
		cmocka_unit_test(test_wrong_keyring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
