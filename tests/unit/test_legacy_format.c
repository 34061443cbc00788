/*
 * The legacy DynamoDB Encryption Client's formats (crypto/legacy): material description,
 * attribute serialization, string to sign and the AWS KMS provider's key derivation, against
 * the published known answers in ../shared/vectors/legacy-ddbec/ (every case), with the
 * exact reason for every refusal.
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

#include "crypto/item/attr_serial.h"
#include "crypto/legacy/legacy_attr.h"
#include "crypto/legacy/legacy_desc.h"
#include "crypto/legacy/legacy_materials.h"
#include "crypto/legacy/legacy_sign.h"
#include "proxy/base/json.h"
#include "tests/harness/legacy_vectors.h"

/* --- Material description ---------------------------------------------------------------- */

static void test_desc_vectors(void **state)
{
	cJSON *v = legacy_vector_json("material_description.json");
	const cJSON *c;
	int cases = 0;

	(void)state;
	cJSON_ArrayForEach(c, v) {
		const cJSON *md = cJSON_GetObjectItem(c, "material_description");
		const cJSON *kv;
		struct legacy_desc d;
		struct legacy_desc back;
		struct bufwrite w;
		const char *why = NULL;
		size_t len;
		unsigned char *want = legacy_b64(cJSON_GetObjectItem(c, "serialized")->valuestring,
						 &len);

		/* Serialize: pairs added in the vector's order come out sorted. */
		legacy_desc_init(&d);
		cJSON_ArrayForEach(kv, md)
			assert_int_equal(legacy_desc_add(&d, kv->string, kv->valuestring, &why), 0);
		bufwrite_init(&w);
		legacy_desc_serialize(&d, &w);
		assert_false(w.failed);
		assert_int_equal(w.len, len);
		assert_memory_equal(w.buf, want, len);
		/* Parse: the same pairs back. */
		assert_int_equal(legacy_desc_parse(want, len, &back, &why), 0);
		assert_int_equal(back.n, (size_t)cJSON_GetArraySize(md));
		cJSON_ArrayForEach(kv, md) {
			const struct legacy_desc_pair *p = legacy_desc_get(&back, kv->string);

			assert_non_null(p);
			assert_string_equal(p->value, kv->valuestring);
		}
		legacy_desc_cleanup(&back);
		legacy_desc_cleanup(&d);
		bufwrite_cleanup(&w);
		free(want);
		cases++;
	}
	assert_int_equal(cases, 3);
	cJSON_Delete(v);
}

/* Parses len bytes of p and expects refusal with exactly want. */
static void desc_refused(const void *p, size_t len, const char *want)
{
	struct legacy_desc d;
	const char *why = NULL;

	assert_int_equal(legacy_desc_parse(p, len, &d, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, want);
	assert_int_equal(d.n, 0);
	assert_null(d.pairs);
}

static void test_desc_refusals(void **state)
{
	struct legacy_desc d;
	const char *why = NULL;

	(void)state;
	desc_refused("", 0, "shorter than its 4-byte version");
	desc_refused("\0\0\0", 3, "shorter than its 4-byte version");
	desc_refused("\0\0\0\1", 4, "its version is not 0");
	desc_refused("\0\0\0\0\0\0", 6, "a name's length is cut short");
	desc_refused("\0\0\0\0\0\0\0\2A", 9, "a name runs past the end");
	desc_refused("\0\0\0\0\0\0\0\1A", 9, "a value's length is cut short");
	desc_refused("\0\0\0\0\0\0\0\1A\0\0\0\3xy", 15, "a value runs past the end");
	desc_refused("\0\0\0\0\0\0\0\1\0\0\0\0\0", 13, "a name contains a NUL byte");
	desc_refused("\0\0\0\0\0\0\0\1A\0\0\0\1\0", 14, "a value contains a NUL byte");
	desc_refused("\0\0\0\0\0\0\0\1\xff\0\0\0\0", 13, "a name is not UTF-8");
	desc_refused("\0\0\0\0\0\0\0\1A\0\0\0\2\xc0\x80", 15, "a value is not UTF-8");
	desc_refused("\0\0\0\0\0\0\0\1A\0\0\0\0\0\0\0\1A\0\0\0\0", 22, "a name appears twice");
	/* A pair may have an empty name and value; the version alone is an empty description. */
	assert_int_equal(legacy_desc_parse((const unsigned char *)"\0\0\0\0\0\0\0\0\0\0\0\0", 12, &d, &why), 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.pairs[0].name_len, 0);
	assert_int_equal(legacy_desc_add(&d, "", "x", &why), -1);
	assert_string_equal(why, "a name appears twice");
	legacy_desc_cleanup(&d);
}

/* --- Attribute serialization ------------------------------------------------------------- */

static void test_serialize_vectors(void **state)
{
	cJSON *v = legacy_vector_json("serialize_attribute.json");
	const cJSON *c;
	int cases = 0;

	(void)state;
	cJSON_ArrayForEach(c, v) {
		struct bufwrite w;
		const char *why = NULL;
		size_t len;
		unsigned char *want = legacy_b64(cJSON_GetObjectItem(c, "serialized")->valuestring,
						 &len);

		bufwrite_init(&w);
		assert_int_equal(legacy_attr_serialize(cJSON_GetObjectItem(c, "attribute"), &w, &why),
				 0);
		assert_false(w.failed);
		if (w.len != len || memcmp(w.buf, want, len) != 0) {
			char *s = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "attribute"));
			fail_msg("serialize_attribute.json case %d (%s) differs", cases, s);
		}
		bufwrite_cleanup(&w);
		free(want);
		cases++;
	}
	assert_true(cases >= 20);
	cJSON_Delete(v);
}

static void test_deserialize_vectors(void **state)
{
	cJSON *v = legacy_vector_json("deserialize_attribute.json");
	const cJSON *c;
	int cases = 0;

	(void)state;
	cJSON_ArrayForEach(c, v) {
		const cJSON *want = cJSON_GetObjectItem(c, "attribute");
		const char *why = NULL;
		size_t len;
		unsigned char *bytes = legacy_b64(cJSON_GetObjectItem(c, "serialized")->valuestring,
						  &len);
		cJSON *got = legacy_attr_deserialize(bytes, len, &why);
		struct bufwrite w;

		if (got == NULL)
			fail_msg("deserialize_attribute.json case %d refused: %s", cases, why);
		/* The same DynamoDB value (numbers and sets compared as DynamoDB does) ... */
		assert_int_equal(attr_value_equal(got, want), 1);
		/* ... and the very JSON the vector gives: normalized numbers, members in order. */
		assert_true(cJSON_Compare(got, want, 1));
		/* Serializing it again gives the bytes back. */
		bufwrite_init(&w);
		assert_int_equal(legacy_attr_serialize(got, &w, &why), 0);
		assert_int_equal(w.len, len);
		assert_memory_equal(w.buf, bytes, len);
		bufwrite_cleanup(&w);
		cJSON_Delete(got);
		free(bytes);
		cases++;
	}
	assert_true(cases >= 15);
	cJSON_Delete(v);
}

/* A NUL in a string or map key is carried: the tree holds its stand-in (json_nul.h), and
 * serializing gives the very bytes back, sorted by the real bytes (NUL first). */
static void test_nul_strings(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *json;
	} cases[] = {
		{ "\0s\0\0\0\3a\0b", 9, "{\"S\":\"a\\u0000b\"}" },
		{ "\0S\0\0\0\2\0\0\0\1\0\0\0\0\2a\0", 17, "{\"SS\":[\"\\u0000\",\"a\\u0000\"]}" },
		{ "\0M\0\0\0\2\0s\0\0\0\1k\0\0\0s\0\0\0\2k\0\0\0", 25,
		  "{\"M\":{\"k\":{\"NULL\":true},\"k\\u0000\":{\"NULL\":true}}}" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		cJSON *got = legacy_attr_deserialize((const unsigned char *)cases[i].bytes,
						     cases[i].len, &why);
		struct bufwrite w;
		char *text;

		if (got == NULL)
			fail_msg("case %zu refused: %s", i, why);
		text = json_print(got, NULL);
		assert_string_equal(text, cases[i].json);
		cJSON_free(text);
		bufwrite_init(&w);
		assert_int_equal(legacy_attr_serialize(got, &w, &why), 0);
		assert_int_equal(w.len, cases[i].len);
		assert_memory_equal(w.buf, cases[i].bytes, cases[i].len);
		bufwrite_cleanup(&w);
		cJSON_Delete(got);
	}
}

static void deser_refused(const void *p, size_t len, const char *want)
{
	const char *why = NULL;
	cJSON *got = legacy_attr_deserialize(p, len, &why);

	if (got != NULL) {
		cJSON_Delete(got);
		fail_msg("accepted, expected \"%s\"", want);
	}
	assert_non_null(why);
	assert_string_equal(why, want);
}

static void test_deserialize_refusals(void **state)
{
	(void)state;
	deser_refused("", 0, "a tag is cut short");
	deser_refused("\0", 1, "a tag is cut short");
	deser_refused("\1s\0\0\0\0", 6, "a tag's reserved byte is not 0");
	deser_refused("\0x", 2, "a tag names no known type");
	deser_refused("\0?", 2, "a BOOL value is cut short");
	deser_refused("\0?\2", 3, "a BOOL value is neither 0 nor 1");
	deser_refused("\0s\0\0", 4, "a length is cut short");
	deser_refused("\0s\0\0\0\2a", 7, "a value runs past the end");
	deser_refused("\0n\0\0\0\1\0", 7, "a number contains a NUL byte");
	deser_refused("\0s\0\0\0\1\xff", 7, "a string is not UTF-8");
	deser_refused("\0s\0\0\0\3\xed\xa0\x80", 9, "a string is not UTF-8");
	deser_refused("\0n\0\0\0\1x", 7, "a number has no digits");
	deser_refused("\0n\0\0\0\0021x", 8,
		      "a number contains a character that is not part of a number");
	deser_refused("\0N", 2, "a set's count is cut short");
	deser_refused("\0S\0\0\0\0", 6, "a set is empty");
	deser_refused("\0B\0\0\0\1\0\0", 8, "a length is cut short");
	deser_refused("\0L\0\0", 4, "a list's count is cut short");
	deser_refused("\0L\0\0\0\1", 6, "a tag is cut short");
	deser_refused("\0M\0\0", 4, "a map's count is cut short");
	deser_refused("\0M\0\0\0\1\0", 7, "a map key's tag is cut short");
	deser_refused("\0M\0\0\0\1\0n\0\0\0\0011\0\0", 15, "a map key is not a string");
	deser_refused("\0M\0\0\0\1\0s\0\0\0\1\xc3\0\0", 15,
		      "a map key is not UTF-8 text");
	deser_refused("\0M\0\0\0\2\0s\0\0\0\1a\0\0\0s\0\0\0\1a\0\0", 24,
		      "a map has the same key twice");
	deser_refused("\0\0\0", 3, "trailing bytes follow the value");
	/* A list that promises a member and ends. */
	deser_refused("\0L\0\0\0\1\0L\0\0\0\1", 12, "a tag is cut short");
	{
		/* 33 lists of one member each around a NULL: 34 levels. */
		unsigned char many[6 * 33 + 2];

		for (int i = 0; i < 33; i++)
			memcpy(many + 6 * i, "\0L\0\0\0\1", 6);
		memcpy(many + 6 * 33, "\0\0", 2);
		deser_refused(many + 6, sizeof(many) - 6, "a value is nested more than 32 levels deep");
		/* 31 lists around a NULL are 32 levels: accepted. */
		{
			const char *why = NULL;
			cJSON *ok = legacy_attr_deserialize(many + 12, sizeof(many) - 12, &why);

			assert_non_null(ok);
			cJSON_Delete(ok);
		}
	}
}

static void ser_refused(const char *json, const char *want)
{
	cJSON *av = cJSON_Parse(json);
	struct bufwrite w;
	const char *why = NULL;

	assert_non_null(av);
	bufwrite_init(&w);
	assert_int_equal(legacy_attr_serialize(av, &w, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, want);
	bufwrite_cleanup(&w);
	cJSON_Delete(av);
}

static void test_serialize_refusals(void **state)
{
	(void)state;
	ser_refused("{}", "an attribute value is not an object with exactly one type");
	ser_refused("{\"S\":\"a\",\"N\":\"1\"}",
		    "an attribute value is not an object with exactly one type");
	ser_refused("{\"X\":\"a\"}", "an attribute value has an unknown type");
	ser_refused("{\"NULL\":false}", "a NULL value is not true");
	ser_refused("{\"BOOL\":\"yes\"}", "a BOOL value is not true or false");
	ser_refused("{\"S\":1}", "a string is not a string");
	ser_refused("{\"N\":1}", "a number is not a string");
	ser_refused("{\"N\":\"1x\"}", "a number contains a character that is not part of a number");
	ser_refused("{\"B\":1}", "a binary value is not a string");
	ser_refused("{\"B\":\"!!!!\"}", "a binary value is not valid base64");
	ser_refused("{\"SS\":\"a\"}", "a set is not an array");
	ser_refused("{\"SS\":[]}", "a set is empty");
	ser_refused("{\"SS\":[\"a\",\"a\"]}", "a set contains the same member twice");
	ser_refused("{\"NS\":[\"1\",\"1.0\"]}", "a set contains the same member twice");
	ser_refused("{\"L\":{}}", "a list is not an array");
	ser_refused("{\"M\":[]}", "a map is not an object");
	ser_refused("{\"M\":{\"a\":{\"S\":\"x\"},\"a\":{\"S\":\"y\"}}}", "a map has the same key twice");
	{
		char deep[33 * 8 + 40];
		size_t o = 0;

		for (int i = 0; i < 33; i++)
			o += (size_t)snprintf(deep + o, sizeof(deep) - o, "{\"L\":[");
		o += (size_t)snprintf(deep + o, sizeof(deep) - o, "{\"NULL\":true}");
		for (int i = 0; i < 33; i++)
			o += (size_t)snprintf(deep + o, sizeof(deep) - o, "]}");
		ser_refused(deep, "a value is nested more than 32 levels deep");
	}
}

/* --- String to sign ------------------------------------------------------------------------ */

static void test_string_to_sign_vectors(void **state)
{
	cJSON *v = legacy_vector_json("string_to_sign.json");
	const cJSON *c;
	int cases = 0;

	(void)state;
	cJSON_ArrayForEach(c, v) {
		const cJSON *attrs = cJSON_GetObjectItem(c, "item");
		const char *enc[16], *sign[16], *nothing[16];
		struct legacy_actions a = { .default_action = LEGACY_DO_NOTHING,
					    .encrypt = enc, .sign = sign, .nothing = nothing };
		struct ds_error err = { 0 };
		cJSON *item = cJSON_CreateObject();
		const cJSON *at;
		struct bufwrite w;
		size_t len;
		unsigned char *want = legacy_b64(cJSON_GetObjectItem(c, "string_to_sign")->valuestring,
						 &len);

		cJSON_ArrayForEach(at, attrs) {
			const char *act = cJSON_GetObjectItem(at, "action")->valuestring;

			cJSON_AddItemToObject(item, at->string,
					      cJSON_Duplicate(cJSON_GetObjectItem(at, "value"), 1));
			if (strcmp(act, "encrypt") == 0)
				enc[a.n_encrypt++] = at->string;
			else if (strcmp(act, "sign") == 0)
				sign[a.n_sign++] = at->string;
			else
				nothing[a.n_nothing++] = at->string;
		}
		assert_int_equal(legacy_actions_check(&a, &err), 0);
		bufwrite_init(&w);
		assert_int_equal(legacy_string_to_sign(cJSON_GetObjectItem(c, "table")->valuestring,
						       item, &a, &w, &err), 0);
		assert_int_equal(w.len, len);
		assert_memory_equal(w.buf, want, len);
		bufwrite_cleanup(&w);
		free(want);
		cJSON_Delete(item);
		cases++;
	}
	assert_int_equal(cases, 4);
	cJSON_Delete(v);
}

static void test_string_to_sign_refusal(void **state)
{
	const char *sign[] = { "x" };
	struct legacy_actions a = { .default_action = LEGACY_DO_NOTHING, .sign = sign, .n_sign = 1 };
	cJSON *item = cJSON_Parse("{\"x\":{\"N\":\"abc\"},\"y\":{\"N\":\"abc\"}}");
	struct ds_error err = { 0 };
	struct bufwrite w;

	(void)state;
	bufwrite_init(&w);
	assert_int_equal(legacy_string_to_sign("T", item, &a, &w, &err), -1);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.message, "table \"T\": attribute \"x\" is not a valid value (a "
			    "number has no digits); " LEGACY_TAMPERED);
	bufwrite_cleanup(&w);
	/* An attribute left alone is not serialized, whatever it holds. */
	a.n_sign = 0;
	bufwrite_init(&w);
	assert_int_equal(legacy_string_to_sign("T", item, &a, &w, &err), 0);
	assert_int_equal(w.len, 32);
	bufwrite_cleanup(&w);
	cJSON_Delete(item);
}

static void actions_refused(const struct legacy_actions *a, const char *want)
{
	struct ds_error err = { 0 };

	assert_int_equal(legacy_actions_check(a, &err), -1);
	assert_int_equal(err.status, 500);
	assert_string_equal(err.message, want);
}

static void test_actions(void **state)
{
	const char *enc[] = { "e", "both" };
	const char *sign[] = { "s", "both" };
	const char *nothing[] = { "n", "n" };
	const char *reserved[] = { "*amzn-ddb-map-sig*" };
	const char *keys[] = { "pk", "e" };
	struct legacy_actions a = { .default_action = LEGACY_ENCRYPT_AND_SIGN, .encrypt = enc,
				    .n_encrypt = 1, .sign = sign, .n_sign = 1, .nothing = nothing,
				    .n_nothing = 1, .keys = keys, .n_keys = 1 };
	struct ds_error err = { 0 };

	(void)state;
	assert_int_equal(legacy_actions_check(&a, &err), 0);
	assert_int_equal(legacy_action_of(&a, "e"), LEGACY_ENCRYPT_AND_SIGN);
	assert_int_equal(legacy_action_of(&a, "s"), LEGACY_SIGN_ONLY);
	assert_int_equal(legacy_action_of(&a, "n"), LEGACY_DO_NOTHING);
	assert_int_equal(legacy_action_of(&a, "other"), LEGACY_ENCRYPT_AND_SIGN);
	/* set_index_keys: a key attribute is signed, never encrypted. */
	assert_int_equal(legacy_action_of(&a, "pk"), LEGACY_SIGN_ONLY);
	a.default_action = LEGACY_DO_NOTHING;
	assert_int_equal(legacy_action_of(&a, "pk"), LEGACY_DO_NOTHING);
	a.n_encrypt = 2;
	a.n_sign = 2;
	actions_refused(&a, "legacy attribute actions: \"both\" is listed twice");
	a.n_encrypt = 1;
	a.n_sign = 1;
	a.n_nothing = 2;
	actions_refused(&a, "legacy attribute actions: \"n\" is listed twice");
	a.n_nothing = 1;
	a.sign = reserved;
	actions_refused(&a, "legacy attribute actions: \"*amzn-ddb-map-sig*\" is written by the "
			"legacy client itself and takes no action");
	a.sign = sign;
	a.n_keys = 2;
	actions_refused(&a, "legacy attribute actions: key attribute \"e\" cannot be encrypted");
}

/* --- AWS KMS provider's derivation ------------------------------------------------------- */

/* RFC 5869 with an empty salt, one block, computed with HMAC directly. */
static void hkdf_by_hand(const unsigned char *ikm, size_t n, const char *info,
			 unsigned char out[32])
{
	unsigned char zeros[32] = { 0 };
	unsigned char prk[32];
	unsigned char msg[64];
	unsigned int len = 0;
	size_t il = strlen(info);

	assert_non_null(HMAC(EVP_sha256(), zeros, sizeof(zeros), ikm, n, prk, &len));
	memcpy(msg, info, il);
	msg[il] = 1;
	assert_non_null(HMAC(EVP_sha256(), prk, sizeof(prk), msg, il + 1, out, &len));
}

static void test_kms_derivation(void **state)
{
	unsigned char data_key[32];
	unsigned char want[32];
	struct legacy_materials m;
	struct legacy_desc d;
	struct ds_error err = { 0 };
	const char *why = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(data_key); i++)
		data_key[i] = (unsigned char)(i * 7 + 1);
	legacy_desc_init(&d);
	assert_int_equal(legacy_desc_add(&d, LEGACY_DESC_ENV_ALG, "AES/256", &why), 0);
	assert_int_equal(legacy_desc_add(&d, LEGACY_DESC_SIG_ALG, "HmacSHA256/256", &why), 0);
	legacy_materials_init(&m, LEGACY_PROVIDER_KMS);
	assert_int_equal(legacy_materials_from_kms(&m, data_key, sizeof(data_key), &d, &err), 0);
	assert_int_equal(m.content_key_len, 32);
	assert_int_equal(m.mac_key_len, 32);
	assert_string_equal(m.sig->name, "HmacSHA256");
	hkdf_by_hand(data_key, sizeof(data_key), "Encryption", want);
	assert_memory_equal(m.content_key, want, 32);
	hkdf_by_hand(data_key, sizeof(data_key), "Signing", want);
	assert_memory_equal(m.mac_key, want, 32);
	legacy_materials_cleanup(&m);
	legacy_desc_cleanup(&d);

	/* No algorithms named: the provider's defaults, AES/256 and HmacSHA256/256. */
	legacy_desc_init(&d);
	legacy_materials_init(&m, LEGACY_PROVIDER_KMS);
	assert_int_equal(legacy_materials_from_kms(&m, data_key, sizeof(data_key), &d, &err), 0);
	assert_int_equal(m.content_key_len, 32);
	assert_string_equal(m.sig->name, "HmacSHA256");
	legacy_materials_cleanup(&m);

	/* AES/128 gives a 16-byte key, the first half of the same expansion. */
	assert_int_equal(legacy_desc_add(&d, LEGACY_DESC_ENV_ALG, "AES/128", &why), 0);
	legacy_materials_init(&m, LEGACY_PROVIDER_KMS);
	assert_int_equal(legacy_materials_from_kms(&m, data_key, sizeof(data_key), &d, &err), 0);
	assert_int_equal(m.content_key_len, 16);
	hkdf_by_hand(data_key, sizeof(data_key), "Encryption", want);
	assert_memory_equal(m.content_key, want, 16);
	legacy_materials_cleanup(&m);
	legacy_desc_cleanup(&d);
}

static void kms_refused(const char *env_alg, const char *sig_alg, const char *want)
{
	unsigned char data_key[32] = { 1 };
	struct legacy_materials m;
	struct legacy_desc d;
	struct ds_error err = { 0 };
	const char *why = NULL;

	legacy_desc_init(&d);
	assert_int_equal(legacy_desc_add(&d, LEGACY_DESC_ENV_ALG, env_alg, &why), 0);
	assert_int_equal(legacy_desc_add(&d, LEGACY_DESC_SIG_ALG, sig_alg, &why), 0);
	legacy_materials_init(&m, LEGACY_PROVIDER_KMS);
	assert_int_equal(legacy_materials_from_kms(&m, data_key, sizeof(data_key), &d, &err), -1);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.message, want);
	assert_int_equal(m.content_key_len, 0);
	legacy_materials_cleanup(&m);
	legacy_desc_cleanup(&d);
}

static void test_kms_refusals(void **state)
{
	const char *env = "the legacy material description names a content key algorithm "
			  "(amzn-ddb-env-alg) that is not AES/128, AES/192 or AES/256; "
			  LEGACY_TAMPERED;
	const char *sig = "the legacy material description names a signing key algorithm "
			  "(amzn-ddb-sig-alg) that is not an HMAC; " LEGACY_TAMPERED;

	(void)state;
	kms_refused("DES/256", "HmacSHA256/256", env);
	kms_refused("AES/257", "HmacSHA256/256", env);
	kms_refused("AES/512", "HmacSHA256/256", env);
	kms_refused("AES/0256", "HmacSHA256/256", env);
	kms_refused("AES/", "HmacSHA256/256", env);
	kms_refused("/256", "HmacSHA256/256", env);
	kms_refused("AES/256", "SHA256withRSA/256", sig);
	kms_refused("AES/256", "HmacSHA257/256", sig);
	kms_refused("AES/256", "HmacSHA256/2048", sig);
}

/* --- Materials --------------------------------------------------------------------------- */

static void test_materials_refusals(void **state)
{
	unsigned char k[200] = { 0 };
	struct legacy_materials m;
	struct ds_error err = { 0 };

	(void)state;
	legacy_materials_init(&m, LEGACY_PROVIDER_STATIC);
	assert_int_equal(legacy_materials_set_content_key(&m, k, 15, &err), -1);
	assert_string_equal(err.message, "legacy materials: the AES content key has 15 bytes; it "
			    "must have 16, 24 or 32");
	assert_int_equal(legacy_materials_set_wrap_aes(&m, k, 33, &err), -1);
	assert_string_equal(err.message, "legacy materials: the AES wrapping key has 33 bytes; it "
			    "must have 16, 24 or 32");
	assert_int_equal(legacy_materials_set_wrap_rsa(&m, k, 10, &err), -1);
	assert_string_equal(err.message, "legacy materials: the wrapping key is not a DER RSA "
			    "private key");
	assert_int_equal(legacy_materials_set_hmac(&m, "SHA256withRSA", k, 16, &err), -1);
	assert_string_equal(err.message, "legacy materials: \"SHA256withRSA\" is not an HMAC "
			    "algorithm of the legacy client (HmacSHA224/256/384/512)");
	assert_int_equal(legacy_materials_set_hmac(&m, "HmacSHA256", k, 0, &err), -1);
	assert_string_equal(err.message, "legacy materials: the HMAC key has 0 bytes; it must "
			    "have 1 to 128");
	assert_int_equal(legacy_materials_set_hmac(&m, "HmacSHA256", k, 129, &err), -1);
	assert_string_equal(err.message, "legacy materials: the HMAC key has 129 bytes; it must "
			    "have 1 to 128");
	assert_int_equal(legacy_materials_set_rsa_verify(&m, "HmacSHA256", k, 16, &err), -1);
	assert_string_equal(err.message, "legacy materials: \"HmacSHA256\" is not an RSA "
			    "signature algorithm of the legacy client (SHA224/256/384/512withRSA)");
	assert_int_equal(legacy_materials_set_rsa_verify(&m, "SHA256withRSA", k, 16, &err), -1);
	assert_string_equal(err.message, "legacy materials: the verification key is not a DER RSA "
			    "public key");
	assert_null(m.sig);
	assert_int_equal(legacy_verify(&m, k, 1, k, 32), -1);
	legacy_materials_cleanup(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_desc_vectors),
		cmocka_unit_test(test_desc_refusals),
		cmocka_unit_test(test_serialize_vectors),
		cmocka_unit_test(test_deserialize_vectors),
		cmocka_unit_test(test_deserialize_refusals),
		cmocka_unit_test(test_nul_strings),
		cmocka_unit_test(test_serialize_refusals),
		cmocka_unit_test(test_string_to_sign_vectors),
		cmocka_unit_test(test_string_to_sign_refusal),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_kms_derivation),
		cmocka_unit_test(test_kms_refusals),
		cmocka_unit_test(test_materials_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
