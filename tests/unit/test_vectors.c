/*
 * Decrypts every published DB-ESDK decrypt vector (../shared/vectors/dbesdk, or
 * $DS_VECTORS_DIR/dbesdk) with the static-branch-key keyring from keys.json: positive cases
 * must give back their plaintext, negative cases must be refused.
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

/* Why keyring_new_from_config built no keyring. */
static struct ds_error kr_err;

/* What a keyring callback reported. */
struct done_state {
	int called;            /* times the callback ran */
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

static char *read_file(const char *name)
{
	const char *base = getenv("DS_VECTORS_DIR");
	char path[1024];
	FILE *fp;
	long n;
	char *buf;

	snprintf(path, sizeof(path), "%s/dbesdk/%s", base != NULL ? base : "../shared/vectors", name);
	fp = fopen(path, "rb");
	if (fp == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		return NULL;
	}
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf != NULL)
		buf[n] = '\0';
	fclose(fp);
	return buf;
}

static cJSON *load_json(const char *name)
{
	char *text = read_file(name);
	cJSON *j;

	assert_non_null(text);
	j = cJSON_Parse(text);
	free(text);
	assert_non_null(j);
	return j;
}

static int is_type_key(const char *k)
{
	static const char *keys[] = { "S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "M", "L" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(k, keys[i]) == 0)
			return 1;
	return 0;
}

/* Converts the vectors' document-form plaintext (plain JSON, with typed wrappers where a
 * type would be ambiguous) into a DynamoDB AttributeValue. */
static cJSON *to_av(const cJSON *v)
{
	cJSON *av = cJSON_CreateObject();
	char num[64];

	if (cJSON_IsNumber(v)) {
		snprintf(num, sizeof(num), "%.17g", v->valuedouble);
		cJSON_AddStringToObject(av, "N", num);
	} else if (cJSON_IsString(v)) {
		cJSON_AddStringToObject(av, "S", v->valuestring);
	} else if (cJSON_IsBool(v)) {
		cJSON_AddBoolToObject(av, "BOOL", cJSON_IsTrue(v));
	} else if (cJSON_IsNull(v)) {
		cJSON_AddTrueToObject(av, "NULL");
	} else if (cJSON_IsArray(v)) {
		cJSON *l = cJSON_AddArrayToObject(av, "L");
		const cJSON *it;

		cJSON_ArrayForEach(it, v)
			cJSON_AddItemToArray(l, to_av(it));
	} else if (cJSON_GetArraySize(v) == 1 && is_type_key(v->child->string)) {
		const cJSON *inner = v->child;

		if (strcmp(inner->string, "L") == 0) {
			cJSON *l = cJSON_AddArrayToObject(av, "L");
			const cJSON *it;

			cJSON_ArrayForEach(it, inner)
				cJSON_AddItemToArray(l, to_av(it));
		} else if (strcmp(inner->string, "M") == 0) {
			cJSON *m = cJSON_AddObjectToObject(av, "M");
			const cJSON *it;

			cJSON_ArrayForEach(it, inner)
				cJSON_AddItemToObject(m, it->string, to_av(it));
		} else {
			cJSON_AddItemToObject(av, inner->string, cJSON_Duplicate(inner, 1));
		}
	} else {
		cJSON *m = cJSON_AddObjectToObject(av, "M");
		const cJSON *it;

		cJSON_ArrayForEach(it, v)
			cJSON_AddItemToObject(m, it->string, to_av(it));
	}
	return av;
}

static enum attr_action parse_action(const char *s)
{
	if (strcmp(s, "ENCRYPT_AND_SIGN") == 0)
		return ACTION_ENCRYPT_AND_SIGN;
	if (strcmp(s, "SIGN_ONLY") == 0)
		return ACTION_SIGN_ONLY;
	if (strcmp(s, "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT") == 0)
		return ACTION_SIGN_AND_INCLUDE_IN_EC;
	assert_string_equal(s, "DO_NOTHING");
	return ACTION_DO_NOTHING;
}

/* Builds the table config a vector's "config" describes. */
static void table_from_vector(const cJSON *config, struct config_table *t)
{
	const cJSON *acts = cJSON_GetObjectItemCaseSensitive(config, "attributeActionsOnEncrypt");
	const cJSON *uns = cJSON_GetObjectItemCaseSensitive(config, "allowedUnsignedAttributes");
	const cJSON *it;
	size_t i = 0;

	memset(t, 0, sizeof(*t));
	t->name = "GazelleVectorTable";
	t->logical_name = "GazelleVectorTable";
	t->partition_key = "RecNum";
	t->algorithm_suite = SUITE_ID_ECDSA_SYMSIG;
	t->actions = calloc((size_t)cJSON_GetArraySize(acts), sizeof(*t->actions));
	cJSON_ArrayForEach(it, acts) {
		t->actions[i].name = it->string;
		t->actions[i].action = parse_action(it->valuestring);
		i++;
	}
	t->actions_len = i;
	if (uns != NULL) {
		i = 0;
		t->allowed_unsigned = calloc((size_t)cJSON_GetArraySize(uns), sizeof(char *));
		cJSON_ArrayForEach(it, uns)
			t->allowed_unsigned[i++] = it->valuestring;
		t->allowed_unsigned_len = i;
	}
}

static struct keyring *vector_keyring(void)
{
	cJSON *keys = load_json("keys.json");
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(keys, "keys"), "static-branch-key-1");
	const char *b64 = cJSON_GetObjectItemCaseSensitive(k, "branchKey")->valuestring;
	unsigned char raw[64];
	struct config_keyring c;
	struct keyring *kr;

	memset(&c, 0, sizeof(c));
	c.name = "vectors";
	c.type = KEYRING_STATIC_BRANCH_KEY;
	assert_int_equal(codec_b64_decode(b64, strlen(b64), raw), 32);
	memcpy(c.key_material, raw, 32);
	c.has_key_material = 1;
	c.branch_key_id = cJSON_GetObjectItemCaseSensitive(k, "key-id")->valuestring;
	c.branch_key_version = cJSON_GetObjectItemCaseSensitive(k, "branchKeyVersion")->valuestring;
	kr = keyring_new_from_config(&c, NULL, &kr_err);
	assert_non_null(kr);
	cJSON_Delete(keys);
	return kr;
}

/* Reads one item; returns 0 and leaves the plaintext in item, or -1 with err set. */
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

static void run_file(const char *name, struct keyring *kr, int *pos, int *neg)
{
	cJSON *doc = load_json(name);
	const cJSON *test;

	cJSON_ArrayForEach(test, cJSON_GetObjectItemCaseSensitive(doc, "tests")) {
		const char *type = cJSON_GetObjectItemCaseSensitive(test, "type")->valuestring;
		const cJSON *plain = cJSON_GetObjectItemCaseSensitive(test, "plaintext");
		cJSON *item = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(test, "encrypted"), 1);
		struct config_table t;
		struct ds_error err;
		int rc;

		ds_error_clear(&err);
		table_from_vector(cJSON_GetObjectItemCaseSensitive(test, "config"), &t);
		rc = decrypt_item(&t, kr, item, &err);
		if (strcmp(type, "positive-decrypt") == 0) {
			const cJSON *a;

			if (rc != 0)
				fail_msg("%s test %s: %s", name, test->string, err.message);
			assert_int_equal(cJSON_GetArraySize(item), cJSON_GetArraySize(plain));
			cJSON_ArrayForEach(a, plain) {
				cJSON *want = to_av(a);
				const cJSON *got = cJSON_GetObjectItemCaseSensitive(item, a->string);

				assert_non_null(got);
				if (attr_value_equal(want, got) != 1)
					fail_msg("%s test %s: attribute %s differs", name, test->string,
						 a->string);
				cJSON_Delete(want);
			}
			(*pos)++;
		} else {
			assert_string_equal(type, "negative-decrypt");
			assert_int_not_equal(rc, 0);
			assert_int_equal(err.status, 400);
			assert_string_equal(err.type, DS_ERR_VALIDATION);
			assert_non_null(strstr(err.message, "GazelleVectorTable"));
			(*neg)++;
		}
		free(t.actions);
		free(t.allowed_unsigned);
		cJSON_Delete(item);
	}
	cJSON_Delete(doc);
}

static void test_all_vectors(void **state)
{
	struct keyring *kr = vector_keyring();
	int pos = 0;
	int neg = 0;

	(void)state;
	run_file("decrypt_java_32.json", kr, &pos, &neg);
	run_file("decrypt_java_33.json", kr, &pos, &neg);
	run_file("decrypt_dotnet_32.json", kr, &pos, &neg);
	run_file("decrypt_dotnet_33.json", kr, &pos, &neg);
	assert_int_equal(pos, 38);
	assert_int_equal(neg, 4);
	keyring_free(kr);
}

/* A vector item with one signed byte changed must be refused. */
static void test_vector_tampered(void **state)
{
	struct keyring *kr = vector_keyring();
	cJSON *doc = load_json("decrypt_java_33.json");
	const cJSON *test = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(doc, "tests"), "1");
	cJSON *item = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(test, "encrypted"), 1);
	struct config_table t;
	struct ds_error err;

	(void)state;
	ds_error_clear(&err);
	table_from_vector(cJSON_GetObjectItemCaseSensitive(test, "config"), &t);
	cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(item, "RecNum"), "N",
					       cJSON_CreateString("2"));
	assert_int_not_equal(decrypt_item(&t, kr, item, &err), 0);
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "changed outside dynaseal"));
	free(t.actions);
	cJSON_Delete(item);
	cJSON_Delete(doc);
	keyring_free(kr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_vectors),
		cmocka_unit_test(test_vector_tampered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
