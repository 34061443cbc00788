/*
 * Items written by the legacy DynamoDB Encryption Client (crypto/legacy/legacy_item.c), from
 * ../shared/vectors/legacy-ddbec/encrypted_item: every static and wrapped scenario, Java's and
 * Python's, decrypts and verifies to its plaintext (plaintext.json, built the way the legacy
 * client's acceptance tests build it); each single changed byte of a ciphertext, signature or
 * material description is refused with its exact message.  The AWS KMS scenarios name a real
 * AWS key: they are checked for shape only (a description dynaseal reads, a KMS-wrapped key,
 * and a signature that a key derived from another data key does not match).  Most-recent
 * provider (metastore) scenarios are not covered.
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
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "crypto/item/attr_serial.h"
#include "crypto/legacy/legacy_attr.h"
#include "crypto/legacy/legacy_item.h"
#include "tests/harness/legacy_vectors.h"

#define T_DESC_MALFORMED "table \"%s\": attribute \"*amzn-ddb-map-desc*\" is malformed ("
#define MSG_SIG "table \"%s\": the legacy signature (*amzn-ddb-map-sig*) does not match the " \
	"item; " LEGACY_TAMPERED

static cJSON *keys_json;
static cJSON *plain_json;

static int setup(void **state)
{
	(void)state;
	keys_json = legacy_vector_json("encrypted_item/keys.json");
	plain_json = legacy_vector_json("encrypted_item/plaintext.json");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cJSON_Delete(keys_json);
	cJSON_Delete(plain_json);
	return 0;
}

/* The raw bytes of keys.json's key name. */
static unsigned char *key_bytes(const char *name, size_t *len, const char **alg)
{
	const cJSON *k = cJSON_GetObjectItem(keys_json, name);

	assert_non_null(k);
	*alg = cJSON_GetObjectItem(k, "algorithm")->valuestring;
	return legacy_b64(cJSON_GetObjectItem(k, "material")->valuestring, len);
}

/* Materials for a static or wrapped scenario (its "keys": decrypt and verify). */
static void scenario_materials(const cJSON *sc, struct legacy_materials *m)
{
	const char *provider = cJSON_GetObjectItem(sc, "provider")->valuestring;
	const cJSON *keys = cJSON_GetObjectItem(sc, "keys");
	struct ds_error err = { 0 };
	const char *alg;
	size_t len;
	unsigned char *k;

	legacy_materials_init(m, strcmp(provider, "static") == 0 ? LEGACY_PROVIDER_STATIC
				 : LEGACY_PROVIDER_WRAPPED);
	k = key_bytes(cJSON_GetObjectItem(keys, "decrypt")->valuestring, &len, &alg);
	if (m->provider == LEGACY_PROVIDER_STATIC)
		assert_int_equal(legacy_materials_set_content_key(m, k, len, &err), 0);
	else if (strcmp(alg, "AES") == 0)
		assert_int_equal(legacy_materials_set_wrap_aes(m, k, len, &err), 0);
	else
		assert_int_equal(legacy_materials_set_wrap_rsa(m, k, len, &err), 0);
	free(k);
	k = key_bytes(cJSON_GetObjectItem(keys, "verify")->valuestring, &len, &alg);
	if (strncmp(alg, "Hmac", 4) == 0)
		assert_int_equal(legacy_materials_set_hmac(m, alg, k, len, &err), 0);
	else
		assert_int_equal(legacy_materials_set_rsa_verify(m, alg, k, len, &err), 0);
	free(k);
}

/* The actions of plaintext.json's action name, with the table's key attributes. */
struct test_actions {
	struct legacy_actions a;   /* what legacy_item_open gets */
	const char *enc[16];       /* storage of a's lists */
	const char *sign[16];
	const char *nothing[16];
	const char *keys[2];
};

static enum legacy_action action_word(const char *w)
{
	return strcmp(w, "encrypt") == 0 ? LEGACY_ENCRYPT_AND_SIGN
	       : strcmp(w, "sign") == 0 ? LEGACY_SIGN_ONLY : LEGACY_DO_NOTHING;
}

static void build_actions(const char *name, const cJSON *index, struct test_actions *t)
{
	const cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(plain_json, "actions"), name);
	const cJSON *o;

	memset(t, 0, sizeof(*t));
	assert_non_null(d);
	t->a.default_action = action_word(cJSON_GetObjectItem(d, "default")->valuestring);
	t->a.encrypt = t->enc;
	t->a.sign = t->sign;
	t->a.nothing = t->nothing;
	t->a.keys = t->keys;
	cJSON_ArrayForEach(o, cJSON_GetObjectItem(d, "override")) {
		enum legacy_action act = action_word(o->valuestring);

		if (act == LEGACY_ENCRYPT_AND_SIGN)
			t->enc[t->a.n_encrypt++] = o->string;
		else if (act == LEGACY_SIGN_ONLY)
			t->sign[t->a.n_sign++] = o->string;
		else
			t->nothing[t->a.n_nothing++] = o->string;
	}
	cJSON_ArrayForEach(o, index)
		t->keys[t->a.n_keys++] = o->valuestring;
}

/* The plaintext item of plaintext.json's entry pi for scenario version ver. */
static cJSON *plain_item(const char *table, const cJSON *pi, const char *ver)
{
	cJSON *item = cJSON_Duplicate(cJSON_GetObjectItem(pi, "attributes"), 1);
	const cJSON *groups = cJSON_GetObjectItem(cJSON_GetObjectItem(
		cJSON_GetObjectItem(plain_json, "versions"), table), ver);
	const cJSON *g;

	if (cJSON_IsTrue(cJSON_GetObjectItem(pi, "exact")))
		return item;
	cJSON_ArrayForEach(g, groups) {
		const cJSON *at;

		cJSON_ArrayForEach(at, cJSON_GetObjectItem(cJSON_GetObjectItem(plain_json,
							   "attributes"), g->valuestring))
			cJSON_AddItemToObject(item, at->string, cJSON_Duplicate(at, 1));
	}
	return item;
}

/* The plaintext.json entry whose key attributes equal the stored item's, or NULL. */
static const cJSON *match_plain(const cJSON *tdata, const cJSON *stored)
{
	const cJSON *pi;

	cJSON_ArrayForEach(pi, cJSON_GetObjectItem(tdata, "items")) {
		const cJSON *k;
		int same = 1;

		cJSON_ArrayForEach(k, cJSON_GetObjectItem(tdata, "index")) {
			const cJSON *a = cJSON_GetObjectItem(cJSON_GetObjectItem(pi, "attributes"),
							     k->valuestring);
			const cJSON *b = cJSON_GetObjectItem(stored, k->valuestring);

			if (a == NULL || b == NULL || attr_value_equal(a, b) != 1)
				same = 0;
		}
		if (same)
			return pi;
	}
	return NULL;
}

/*
 * 1 when two items hold the same attributes with the same DynamoDB values.  "version" is only
 * required to be there: Java's DynamoDBMapper counts it up when it saves an item, and the
 * legacy client's own acceptance test (test_item.py) skips it the same way.
 */
static int items_equal(const cJSON *a, const cJSON *b)
{
	const cJSON *at;

	if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
		return 0;
	cJSON_ArrayForEach(at, a) {
		const cJSON *o = cJSON_GetObjectItem(b, at->string);

		if (o == NULL || (strcmp(at->string, "version") != 0 && attr_value_equal(at, o) != 1))
			return 0;
	}
	return 1;
}

/* The scenario's ciphertext file, relative to legacy-ddbec/. */
static cJSON *scenario_ciphertext(const cJSON *sc)
{
	char path[256];

	snprintf(path, sizeof(path), "encrypted_item/%s",
		 cJSON_GetObjectItem(sc, "ciphertext")->valuestring + strlen("file://"));
	return legacy_vector_json(path);
}

static int offline_static_or_wrapped(const cJSON *sc)
{
	const char *p = cJSON_GetObjectItem(sc, "provider")->valuestring;

	return !cJSON_IsTrue(cJSON_GetObjectItem(sc, "network")) &&
	       (strcmp(p, "static") == 0 || strcmp(p, "wrapped") == 0);
}

/* Opens every matched item of one scenario; returns how many were compared. */
static int run_scenario(const cJSON *sc)
{
	cJSON *ct = scenario_ciphertext(sc);
	const char *ver = cJSON_GetObjectItem(sc, "version")->valuestring;
	struct legacy_materials m;
	const cJSON *table;
	int n = 0;

	scenario_materials(sc, &m);
	cJSON_ArrayForEach(table, ct) {
		const cJSON *tdata = cJSON_GetObjectItem(cJSON_GetObjectItem(plain_json, "items"),
							 table->string);
		const cJSON *stored;

		assert_non_null(tdata);
		cJSON_ArrayForEach(stored, table) {
			const cJSON *pi = match_plain(tdata, stored);
			struct test_actions ta;
			struct ds_error err = { 0 };
			cJSON *want;
			cJSON *got = NULL;

			if (pi == NULL)
				continue;
			build_actions(cJSON_GetObjectItem(pi, "action")->valuestring,
				      cJSON_GetObjectItem(tdata, "index"), &ta);
			assert_int_equal(legacy_actions_check(&ta.a, &err), 0);
			if (legacy_item_open(&m, table->string, &ta.a, stored, &got, &err) != 0)
				fail_msg("%s, table %s, item %d: %s",
					 cJSON_GetObjectItem(sc, "ciphertext")->valuestring,
					 table->string, n, err.message);
			want = plain_item(table->string, pi, ver);
			if (!items_equal(got, want)) {
				char *g = cJSON_PrintUnformatted(got);
				fail_msg("%s, table %s: plaintext differs: %s",
					 cJSON_GetObjectItem(sc, "ciphertext")->valuestring,
					 table->string, g);
			}
			cJSON_Delete(want);
			cJSON_Delete(got);
			n++;
		}
	}
	legacy_materials_cleanup(&m);
	cJSON_Delete(ct);
	return n;
}

static void test_scenarios(void **state)
{
	cJSON *s = legacy_vector_json("encrypted_item/scenarios.json");
	const cJSON *sc;
	int scenarios = 0;
	int items = 0;

	(void)state;
	cJSON_ArrayForEach(sc, cJSON_GetObjectItem(s, "scenarios")) {
		int n;

		if (!offline_static_or_wrapped(sc))
			continue;
		n = run_scenario(sc);
		/* Every scenario has items for at least one table of plaintext.json. */
		assert_true(n >= 3);
		items += n;
		scenarios++;
	}
	print_message("legacy vectors: %d static and wrapped scenarios, %d items opened\n",
		      scenarios, items);
	assert_int_equal(scenarios, 14);
	cJSON_Delete(s);
}

/* --- Every changed byte refused ------------------------------------------------------------ */

/* 1 when msg is one of the exact messages a changed description byte may cause. */
static int desc_message_ok(const char *t, const char *msg, const char *sig_name)
{
	char want[12][512];
	char pre[256];
	int n = 0;

	snprintf(pre, sizeof(pre), T_DESC_MALFORMED, t);
	if (strncmp(msg, pre, strlen(pre)) == 0 &&
	    strcmp(msg + strlen(msg) - strlen("); " LEGACY_TAMPERED), "); " LEGACY_TAMPERED) == 0)
		return 1;
	snprintf(want[n++], 512, "table \"%s\": the legacy material description "
		 "(*amzn-ddb-map-desc*) has a name the legacy providers do not write; "
		 LEGACY_TAMPERED, t);
	snprintf(want[n++], 512, "table \"%s\": the legacy material description names an "
		 "attribute mode (amzn-ddb-map-sym-mode) other than /CBC/PKCS5Padding; "
		 LEGACY_TAMPERED, t);
	snprintf(want[n++], 512, "table \"%s\": the legacy material description names a signing "
		 "algorithm (amzn-ddb-map-signingAlg) other than the configured %s; "
		 LEGACY_TAMPERED, t, sig_name);
	snprintf(want[n++], 512, "table \"%s\": the wrapped content key (amzn-ddb-env-key) is not "
		 "base64; " LEGACY_TAMPERED, t);
	snprintf(want[n++], 512, "table \"%s\": the wrapped content key (amzn-ddb-env-key) does "
		 "not unwrap with the configured key; " LEGACY_TAMPERED, t);
	snprintf(want[n++], 512, "table \"%s\": the legacy material description names a content "
		 "key algorithm (amzn-ddb-env-alg) that is not AES, AES/128, AES/192 or AES/256; "
		 LEGACY_TAMPERED, t);
	snprintf(want[n++], 512, "table \"%s\": the legacy material description names a key "
		 "wrapping algorithm (amzn-ddb-wrap-alg) that is not AESWrap or an RSA "
		 "transformation; " LEGACY_TAMPERED, t);
	for (int i = 0; i < n; i++)
		if (strcmp(msg, want[i]) == 0)
			return 1;
	return 0;
}

/* Changes each byte of the B attribute name of stored in turn; every change is refused. */
static int flip_each_byte(const struct legacy_materials *m, const char *table,
			  const struct legacy_actions *a, const cJSON *stored, const char *name)
{
	size_t len;
	unsigned char *bytes = legacy_b64(cJSON_GetObjectItem(cJSON_GetObjectItem(stored, name),
							      "B")->valuestring, &len);
	char *text = malloc(CODEC_B64_ENC_LEN(len));
	char sig_msg[512];
	int is_desc = strcmp(name, LEGACY_DESC_ATTR) == 0;

	assert_non_null(text);
	snprintf(sig_msg, sizeof(sig_msg), MSG_SIG, table);
	for (size_t i = 0; i < len; i++) {
		cJSON *copy = cJSON_Duplicate(stored, 1);
		struct ds_error err = { 0 };
		cJSON *got = NULL;

		bytes[i] ^= 0x01;
		codec_b64_encode(bytes, len, text);
		bytes[i] ^= 0x01;
		cJSON_ReplaceItemInObjectCaseSensitive(copy, name, cJSON_CreateObject());
		cJSON_AddStringToObject(cJSON_GetObjectItem(copy, name), "B", text);
		if (legacy_item_open(m, table, a, copy, &got, &err) == 0)
			fail_msg("attribute %s with byte %zu changed was accepted", name, i);
		assert_int_equal(err.status, 400);
		if (is_desc ? !desc_message_ok(table, err.message, m->sig->name)
			    : strcmp(err.message, sig_msg) != 0)
			fail_msg("attribute %s byte %zu: unexpected message: %s", name, i,
				 err.message);
		cJSON_Delete(copy);
	}
	free(text);
	free(bytes);
	return (int)len;
}

static void test_every_byte_changed(void **state)
{
	cJSON *s = legacy_vector_json("encrypted_item/scenarios.json");
	const cJSON *sc;
	int flips = 0;

	(void)state;
	cJSON_ArrayForEach(sc, cJSON_GetObjectItem(s, "scenarios")) {
		cJSON *ct;
		struct legacy_materials m;
		const cJSON *table;
		int done = 0;

		if (!offline_static_or_wrapped(sc))
			continue;
		ct = scenario_ciphertext(sc);
		scenario_materials(sc, &m);
		/* The first item written with "encrypt" actions: ciphertexts, signature, description. */
		cJSON_ArrayForEach(table, ct) {
			const cJSON *tdata = cJSON_GetObjectItem(cJSON_GetObjectItem(plain_json,
								 "items"), table->string);
			const cJSON *stored;

			cJSON_ArrayForEach(stored, table) {
				const cJSON *pi = match_plain(tdata, stored);
				struct test_actions ta;
				const cJSON *at;

				if (done || pi == NULL || strcmp(cJSON_GetObjectItem(pi, "action")->valuestring,
							"encrypt") != 0)
					continue;
				build_actions("encrypt", cJSON_GetObjectItem(tdata, "index"), &ta);
				cJSON_ArrayForEach(at, stored) {
					if (strcmp(at->string, LEGACY_SIG_ATTR) == 0 ||
					    strcmp(at->string, LEGACY_DESC_ATTR) == 0 ||
					    legacy_action_of(&ta.a, at->string) == LEGACY_ENCRYPT_AND_SIGN)
						flips += flip_each_byte(&m, table->string, &ta.a, stored,
									at->string);
				}
				done = 1;
			}
		}
		assert_true(done);
		legacy_materials_cleanup(&m);
		cJSON_Delete(ct);
	}
	print_message("legacy vectors: %d single-byte changes refused\n", flips);
	assert_true(flips > 1000);
	cJSON_Delete(s);
}

/* --- AWS KMS scenarios: shape only --------------------------------------------------------- */

static void test_kms_shape(void **state)
{
	cJSON *s = legacy_vector_json("encrypted_item/scenarios.json");
	const cJSON *sc;
	int items = 0;

	(void)state;
	cJSON_ArrayForEach(sc, cJSON_GetObjectItem(s, "scenarios")) {
		cJSON *ct;
		const cJSON *table;

		if (strcmp(cJSON_GetObjectItem(sc, "provider")->valuestring, "awskms") != 0)
			continue;
		ct = scenario_ciphertext(sc);
		cJSON_ArrayForEach(table, ct) {
			const cJSON *stored;

			cJSON_ArrayForEach(stored, table) {
				const char *actions_enc[] = { "x" };
				struct legacy_actions a = { .default_action = LEGACY_ENCRYPT_AND_SIGN,
							    .encrypt = actions_enc };
				unsigned char data_key[32];
				struct legacy_materials m;
				struct legacy_desc d;
				struct ds_error err = { 0 };
				char want[512];
				const struct legacy_desc_pair *p;
				unsigned char *blob;
				size_t blob_len;
				cJSON *got = NULL;

				if (cJSON_GetObjectItem(stored, LEGACY_SIG_ATTR) == NULL)
					continue;
				assert_int_equal(legacy_item_read_desc(table->string, stored, &d, &err), 0);
				assert_string_equal(legacy_desc_get(&d, LEGACY_DESC_WRAP_ALG)->value, "kms");
				assert_string_equal(legacy_desc_get(&d, LEGACY_DESC_ENV_ALG)->value, "AES/256");
				assert_string_equal(legacy_desc_get(&d, LEGACY_DESC_SIG_ALG)->value,
						    "HmacSHA256/256");
				p = legacy_desc_get(&d, LEGACY_DESC_ENV_KEY);
				assert_non_null(p);
				blob = legacy_b64(p->value, &blob_len);
				/* A KMS ciphertext blob: more than the 32-byte data key it protects. */
				assert_true(blob_len > 32);
				free(blob);
				/* Keys derived from another data key do not verify the item. */
				assert_int_equal(RAND_bytes(data_key, sizeof(data_key)), 1);
				legacy_materials_init(&m, LEGACY_PROVIDER_KMS);
				assert_int_equal(legacy_materials_from_kms(&m, data_key, sizeof(data_key),
									   &d, &err), 0);
				assert_int_equal(legacy_item_open(&m, table->string, &a, stored, &got,
								  &err), -1);
				snprintf(want, sizeof(want), MSG_SIG, table->string);
				assert_string_equal(err.message, want);
				legacy_materials_cleanup(&m);
				legacy_desc_cleanup(&d);
				items++;
			}
		}
		cJSON_Delete(ct);
	}
	print_message("legacy vectors: %d AWS KMS items checked for shape\n", items);
	assert_int_equal(items, 30);
	cJSON_Delete(s);
}

/* --- Items built here, for the checks that come after the signature ---------------------- */

/* The test's own keys: AES-128 content or wrapping key and HMAC key. */
static const unsigned char t_aes[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const unsigned char t_mac[16] = { 9, 9, 9, 9, 8, 8, 8, 8, 7, 7, 7, 7, 6, 6, 6, 6 };

/* {"B": IV || AES-128-CBC(p)}, PKCS#7-padded unless pad is 0 (n a multiple of 16). */
static cJSON *enc_value(const unsigned char *p, size_t n, int pad)
{
	unsigned char out[16 + 256 + 16];
	char text[CODEC_B64_ENC_LEN(sizeof(out))];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int l1 = 0;
	int l2 = 0;
	cJSON *av = cJSON_CreateObject();

	assert_true(n <= 256);
	assert_int_equal(RAND_bytes(out, 16), 1);
	assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, t_aes, out), 1);
	EVP_CIPHER_CTX_set_padding(ctx, pad);
	assert_int_equal(EVP_EncryptUpdate(ctx, out + 16, &l1, p, (int)n), 1);
	assert_int_equal(EVP_EncryptFinal_ex(ctx, out + 16 + l1, &l2), 1);
	EVP_CIPHER_CTX_free(ctx);
	codec_b64_encode(out, 16 + (size_t)l1 + (size_t)l2, text);
	cJSON_AddStringToObject(av, "B", text);
	return av;
}

static void add_b(cJSON *item, const char *name, const unsigned char *p, size_t n)
{
	char *text = malloc(CODEC_B64_ENC_LEN(n));
	cJSON *av = cJSON_CreateObject();

	codec_b64_encode(p, n, text);
	cJSON_AddStringToObject(av, "B", text);
	cJSON_DeleteItemFromObjectCaseSensitive(item, name);
	cJSON_AddItemToObject(item, name, av);
	free(text);
}

/* Adds the description (pairs name, value, ... NULL) and the HMAC signature of stored. */
static void seal(cJSON *stored, const char *table, const struct legacy_actions *a, ...)
{
	struct legacy_desc d;
	struct bufwrite w;
	struct ds_error err = { 0 };
	unsigned char mac[32];
	unsigned int mac_len = 0;
	const char *why = NULL;
	const char *name;
	va_list ap;

	legacy_desc_init(&d);
	va_start(ap, a);
	while ((name = va_arg(ap, const char *)) != NULL)
		assert_int_equal(legacy_desc_add(&d, name, va_arg(ap, const char *), &why), 0);
	va_end(ap);
	bufwrite_init(&w);
	assert_int_equal(legacy_string_to_sign(table, stored, a, &w, &err), 0);
	assert_non_null(HMAC(EVP_sha256(), t_mac, sizeof(t_mac), w.buf, w.len, mac, &mac_len));
	add_b(stored, LEGACY_SIG_ATTR, mac, mac_len);
	w.len = 0;
	legacy_desc_serialize(&d, &w);
	add_b(stored, LEGACY_DESC_ATTR, w.buf, w.len);
	bufwrite_cleanup(&w);
	legacy_desc_cleanup(&d);
}

static void t_static(struct legacy_materials *m)
{
	struct ds_error err = { 0 };

	legacy_materials_init(m, LEGACY_PROVIDER_STATIC);
	assert_int_equal(legacy_materials_set_content_key(m, t_aes, sizeof(t_aes), &err), 0);
	assert_int_equal(legacy_materials_set_hmac(m, "HmacSHA256", t_mac, sizeof(t_mac), &err), 0);
}

static void t_wrapped(struct legacy_materials *m, int rsa)
{
	struct ds_error err = { 0 };

	legacy_materials_init(m, LEGACY_PROVIDER_WRAPPED);
	if (rsa) {
		const char *alg;
		size_t len;
		unsigned char *k = key_bytes("rsaEncPriv", &len, &alg);

		assert_int_equal(legacy_materials_set_wrap_rsa(m, k, len, &err), 0);
		free(k);
	} else {
		assert_int_equal(legacy_materials_set_wrap_aes(m, t_aes, sizeof(t_aes), &err), 0);
	}
	assert_int_equal(legacy_materials_set_hmac(m, "HmacSHA256", t_mac, sizeof(t_mac), &err), 0);
}

/* pk (key, signed), s (signed), a (encrypted: the S "secret"). */
static const char *const t_keys[] = { "pk" };
static const char *const t_sign[] = { "s" };
static const struct legacy_actions t_actions = {
	.default_action = LEGACY_ENCRYPT_AND_SIGN, .sign = t_sign, .n_sign = 1,
	.keys = t_keys, .n_keys = 1,
};

static cJSON *t_item(void)
{
	cJSON *item = cJSON_Parse("{\"pk\":{\"S\":\"k\"},\"s\":{\"N\":\"5\"}}");
	cJSON *plain = cJSON_Parse("{\"S\":\"secret\"}");
	struct bufwrite w;
	const char *why = NULL;

	bufwrite_init(&w);
	assert_int_equal(legacy_attr_serialize(plain, &w, &why), 0);
	cJSON_AddItemToObject(item, "a", enc_value(w.buf, w.len, 1));
	bufwrite_cleanup(&w);
	cJSON_Delete(plain);
	return item;
}

/* Opening item must fail with status and exactly the message fmt (one %s: "T"). */
static void open_refused(const struct legacy_materials *m, const struct legacy_actions *a,
			 const cJSON *item, int status, const char *fmt)
{
	struct ds_error err = { 0 };
	char want[512];
	cJSON *got = NULL;

	snprintf(want, sizeof(want), fmt, "T");
	assert_int_equal(legacy_item_open(m, "T", a, item, &got, &err), -1);
	assert_null(got);
	assert_int_equal(err.status, status);
	assert_string_equal(err.message, want);
}

static void test_open_built(void **state)
{
	struct legacy_materials m;
	struct ds_error err = { 0 };
	cJSON *item = t_item();
	cJSON *got = NULL;
	cJSON *c;

	(void)state;
	t_static(&m);
	seal(item, "T", &t_actions, LEGACY_DESC_SYM_MODE, LEGACY_SYM_MODE_CBC,
	     LEGACY_DESC_SIGNING_ALG, "HmacSHA256", NULL);
	assert_int_equal(legacy_item_is_legacy(item), 1);
	assert_int_equal(legacy_item_open(&m, "T", &t_actions, item, &got, &err), 0);
	c = cJSON_Parse("{\"pk\":{\"S\":\"k\"},\"s\":{\"N\":\"5\"},\"a\":{\"S\":\"secret\"}}");
	assert_int_equal(items_equal(got, c), 1);
	assert_int_equal(legacy_item_is_legacy(got), 0);
	cJSON_Delete(c);
	cJSON_Delete(got);
	/* Another table name is another string to sign. */
	assert_int_equal(legacy_item_open(&m, "T2", &t_actions, item, &got, &err), -1);
	/* Actions that take no action copy the item as it is, legacy attributes and all. */
	{
		struct legacy_actions none = { .default_action = LEGACY_DO_NOTHING };

		assert_int_equal(legacy_item_open(&m, "T", &none, item, &got, &err), 0);
		assert_true(cJSON_Compare(got, item, 1));
		cJSON_Delete(got);
	}
	/* The item without each legacy attribute, or with one that is not binary. */
	c = cJSON_Duplicate(item, 1);
	cJSON_DeleteItemFromObject(c, LEGACY_SIG_ATTR);
	open_refused(&m, &t_actions, c, 400, "table \"%s\": the item has no *amzn-ddb-map-sig* "
		     "attribute: it was not written by the legacy client, or its signature was "
		     "removed");
	cJSON_AddItemToObject(c, LEGACY_SIG_ATTR, cJSON_Parse("{\"S\":\"x\"}"));
	open_refused(&m, &t_actions, c, 400, "table \"%s\": attribute \"*amzn-ddb-map-sig*\" is "
		     "not a binary value; " LEGACY_TAMPERED);
	cJSON_Delete(c);
	c = cJSON_Duplicate(item, 1);
	cJSON_DeleteItemFromObject(c, LEGACY_DESC_ATTR);
	open_refused(&m, &t_actions, c, 400, "table \"%s\": the item has no *amzn-ddb-map-desc* "
		     "attribute: it was not written by the legacy client, or its material "
		     "description was removed");
	cJSON_AddItemToObject(c, LEGACY_DESC_ATTR, cJSON_Parse("{\"B\":\"!!!!\"}"));
	open_refused(&m, &t_actions, c, 400, "table \"%s\": attribute \"*amzn-ddb-map-desc*\" is "
		     "not a binary value; " LEGACY_TAMPERED);
	cJSON_Delete(c);
	c = cJSON_CreateArray();
	open_refused(&m, &t_actions, c, 400, "table \"%s\": the item is not a map");
	cJSON_Delete(c);
	/* Materials that cannot check anything are our failure, not the item's. */
	{
		struct legacy_materials bare;

		legacy_materials_init(&bare, LEGACY_PROVIDER_STATIC);
		open_refused(&bare, &t_actions, item, 500, "table \"%s\": the legacy materials have "
			     "no signing key");
		bare.sig = legacy_sig_alg_find("HmacSHA256");
		open_refused(&bare, &t_actions, item, 500, "table \"%s\": the legacy materials have "
			     "no content key");
		memcpy(bare.content_key, t_aes, 16);
		bare.content_key_len = 16;
		open_refused(&bare, &t_actions, item, 500, "table \"%s\": the legacy signature could "
			     "not be checked (a cryptographic operation failed)");
		legacy_materials_cleanup(&bare);
	}
	cJSON_Delete(item);
	legacy_materials_cleanup(&m);
}

/* A sealed t_item with description pairs (name, value, ..., NULL). */
#define SEALED(...) (c = t_item(), seal(c, "T", &t_actions, __VA_ARGS__), c)

static void test_open_description_refusals(void **state)
{
	struct legacy_materials m;
	struct legacy_materials w;
	struct legacy_materials r;
	struct legacy_materials k;
	cJSON *c;

	(void)state;
	t_static(&m);
	t_wrapped(&w, 0);
	t_wrapped(&r, 1);
	legacy_materials_init(&k, LEGACY_PROVIDER_KMS);
	memcpy(k.content_key, t_aes, 16);
	k.content_key_len = 16;
	memcpy(k.mac_key, t_mac, 16);
	k.mac_key_len = 16;
	k.sig = legacy_sig_alg_find("HmacSHA256");

	open_refused(&m, &t_actions, SEALED("custom", "x", NULL), 400, "table \"%s\": the legacy "
		     "material description (*amzn-ddb-map-desc*) has a name the legacy providers "
		     "do not write; " LEGACY_TAMPERED);
	cJSON_Delete(c);
	open_refused(&m, &t_actions, SEALED(LEGACY_DESC_SYM_MODE, "/GCM/NoPadding", NULL), 400,
		     "table \"%s\": the legacy material description names an attribute mode "
		     "(amzn-ddb-map-sym-mode) other than /CBC/PKCS5Padding; " LEGACY_TAMPERED);
	cJSON_Delete(c);
	open_refused(&m, &t_actions, SEALED(LEGACY_DESC_KMS_EC_ATTR, "pk", NULL), 400,
		     "table \"%s\": the legacy material description's aws-kms-ec-attr is not "
		     "\"*keys*\"; " LEGACY_TAMPERED);
	cJSON_Delete(c);
	open_refused(&m, &t_actions, SEALED(LEGACY_DESC_SIGNING_ALG, "HmacSHA512", NULL), 400,
		     "table \"%s\": the legacy material description names a signing algorithm "
		     "(amzn-ddb-map-signingAlg) other than the configured HmacSHA256; "
		     LEGACY_TAMPERED);
	cJSON_Delete(c);
	open_refused(&m, &t_actions, SEALED(LEGACY_DESC_ENV_KEY, "AAAA", NULL), 400,
		     "table \"%s\": the legacy material description holds a wrapped content key "
		     "(amzn-ddb-env-key): the item was written by a wrapped or AWS KMS provider, "
		     "not the static one configured");
	cJSON_Delete(c);
	open_refused(&w, &t_actions, SEALED(LEGACY_DESC_SYM_MODE, LEGACY_SYM_MODE_CBC, NULL), 400,
		     "table \"%s\": the legacy material description has no wrapped content key "
		     "(amzn-ddb-env-key): the item was not written by a wrapped materials provider");
	cJSON_Delete(c);
	open_refused(&k, &t_actions, SEALED(LEGACY_DESC_SYM_MODE, LEGACY_SYM_MODE_CBC, NULL), 400,
		     "table \"%s\": the item was not written by the AWS KMS materials provider (its "
		     "amzn-ddb-wrap-alg is not \"kms\")");
	cJSON_Delete(c);
	open_refused(&r, &t_actions, SEALED(LEGACY_DESC_ENV_KEY, "AAAA", LEGACY_DESC_WRAP_ALG,
					    "AESWrap", NULL), 400,
		     "table \"%s\": the content key is wrapped with AESWrap but the configured "
		     "unwrapping key is RSA");
	cJSON_Delete(c);
	open_refused(&w, &t_actions, SEALED(LEGACY_DESC_ENV_KEY, "AAAA", LEGACY_DESC_WRAP_ALG,
					    "RSA/ECB/OAEPWithSHA-256AndMGF1Padding", NULL), 400,
		     "table \"%s\": the content key is wrapped with RSA but the configured "
		     "unwrapping key is AES");
	cJSON_Delete(c);
	open_refused(&w, &t_actions, SEALED(LEGACY_DESC_ENV_KEY, "AAAA", LEGACY_DESC_WRAP_ALG,
					    "DESede", NULL), 400,
		     "table \"%s\": the legacy material description names a key wrapping algorithm "
		     "(amzn-ddb-wrap-alg) that is not AESWrap or an RSA transformation; "
		     LEGACY_TAMPERED);
	cJSON_Delete(c);
	open_refused(&w, &t_actions, SEALED(LEGACY_DESC_ENV_KEY, "AAAA", LEGACY_DESC_ENV_ALG,
					    "DES", NULL), 400,
		     "table \"%s\": the legacy material description names a content key algorithm "
		     "(amzn-ddb-env-alg) that is not AES, AES/128, AES/192 or AES/256; "
		     LEGACY_TAMPERED);
	cJSON_Delete(c);
	/* "AAB=" decodes (the last character's unused bits set) but is not how it encodes. */
	open_refused(&w, &t_actions, SEALED(LEGACY_DESC_ENV_KEY, "AAB=", NULL), 400,
		     "table \"%s\": the wrapped content key (amzn-ddb-env-key) is not base64; "
		     LEGACY_TAMPERED);
	cJSON_Delete(c);
	open_refused(&w, &t_actions,
		     SEALED(LEGACY_DESC_ENV_KEY, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL), 400,
		     "table \"%s\": the wrapped content key (amzn-ddb-env-key) does not unwrap with "
		     "the configured key; " LEGACY_TAMPERED);
	cJSON_Delete(c);
	open_refused(&r, &t_actions,
		     SEALED(LEGACY_DESC_ENV_KEY, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL), 400,
		     "table \"%s\": the wrapped content key (amzn-ddb-env-key) does not unwrap with "
		     "the configured key; " LEGACY_TAMPERED);
	cJSON_Delete(c);
	{
		/* A 32-byte key wrapped with the test's key, described as AES/128. */
		unsigned char ck[32] = { 5 };
		unsigned char wrapped[40];
		char text[CODEC_B64_ENC_LEN(40)];
		EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
		int l1 = 0;
		int l2 = 0;

		EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
		assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_128_wrap(), NULL, t_aes, NULL), 1);
		assert_int_equal(EVP_EncryptUpdate(ctx, wrapped, &l1, ck, 32), 1);
		assert_int_equal(EVP_EncryptFinal_ex(ctx, wrapped + l1, &l2), 1);
		EVP_CIPHER_CTX_free(ctx);
		assert_int_equal(l1 + l2, 40);
		codec_b64_encode(wrapped, 40, text);
		open_refused(&w, &t_actions, SEALED(LEGACY_DESC_ENV_KEY, text, LEGACY_DESC_ENV_ALG,
						    "AES/128", NULL), 400,
			     "table \"%s\": the unwrapped content key has 32 bytes, not the length "
			     "amzn-ddb-env-alg names; " LEGACY_TAMPERED);
		cJSON_Delete(c);
	}
	legacy_materials_cleanup(&m);
	legacy_materials_cleanup(&w);
	legacy_materials_cleanup(&r);
	legacy_materials_cleanup(&k);
}

static void test_open_attribute_refusals(void **state)
{
	static const unsigned char bad_pad[16] = { 0 };
	static const unsigned char bad_tag[2] = { 0, 'x' };
	struct legacy_materials m;
	cJSON *c;

	(void)state;
	t_static(&m);
	c = t_item();
	cJSON_ReplaceItemInObject(c, "a", cJSON_Parse("{\"S\":\"x\"}"));
	seal(c, "T", &t_actions, NULL);
	open_refused(&m, &t_actions, c, 400, "table \"%s\": attribute \"a\" should be encrypted "
		     "but is not a binary value; " LEGACY_TAMPERED);
	cJSON_Delete(c);
	c = t_item();
	cJSON_ReplaceItemInObject(c, "a", enc_value(bad_pad, sizeof(bad_pad), 0));
	seal(c, "T", &t_actions, NULL);
	open_refused(&m, &t_actions, c, 400, "table \"%s\": attribute \"a\" does not decrypt; "
		     LEGACY_TAMPERED);
	cJSON_Delete(c);
	c = t_item();
	cJSON_ReplaceItemInObject(c, "a", cJSON_Parse("{\"B\":\"AAECAwQFBgcICQoLDA0ODw==\"}"));
	seal(c, "T", &t_actions, NULL);
	open_refused(&m, &t_actions, c, 400, "table \"%s\": attribute \"a\" does not decrypt; "
		     LEGACY_TAMPERED);
	cJSON_Delete(c);
	c = t_item();
	cJSON_ReplaceItemInObject(c, "a", enc_value(bad_tag, sizeof(bad_tag), 1));
	seal(c, "T", &t_actions, NULL);
	open_refused(&m, &t_actions, c, 400, "table \"%s\": attribute \"a\" decrypts to a "
		     "malformed value (a tag names no known type); " LEGACY_TAMPERED);
	cJSON_Delete(c);
	legacy_materials_cleanup(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test(test_every_byte_changed),
		cmocka_unit_test(test_kms_shape),
		cmocka_unit_test(test_open_built),
		cmocka_unit_test(test_open_description_refusals),
		cmocka_unit_test(test_open_attribute_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
