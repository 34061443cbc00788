/*
 * Branch key store, pure parts: the encryption contexts of the three item kinds (MPL
 * branch-key-store.md#encryption-context), items to and from DynamoDB JSON (#record-format)
 * with every malformed item refused by name, UUIDs and timestamps, the tenant value read from
 * an item's encryption context, and the new KMS responses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/keyring/branch_store.h"
#include "crypto/keyring/keyring_hierarchy.h"
#include "crypto/aws/kms_client.h"

#define ID "bbb9baf1-03e6-4716-a586-6bf29995314b"
#define VER "83eec007-5659-4554-bf11-699b90f41ac6"
#define ARN "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
#define TS "2023-06-03T19:03:29.358000Z"

static const char *ec_val(const struct enc_ctx *ec, const char *k)
{
	const struct ec_entry *e = ec_get(ec, k, strlen(k));

	return e ? e->value : NULL;
}

static void test_ec_active_version_beacon(void **state)
{
	struct enc_ctx a, v, b;

	(void)state;
	ec_init(&a);
	ec_init(&v);
	ec_init(&b);
	assert_int_equal(branch_store_ec_build(BRANCH_ITEM_ACTIVE, ID, VER, TS, "keys", ARN, &a), 0);
	assert_int_equal(branch_store_ec_build(BRANCH_ITEM_VERSION, ID, VER, TS, "keys", ARN, &v), 0);
	assert_int_equal(branch_store_ec_build(BRANCH_ITEM_BEACON, ID, NULL, TS, "keys", ARN, &b), 0);
	assert_int_equal(a.len, 7);
	assert_string_equal(ec_val(&a, "type"), "branch:ACTIVE");
	assert_string_equal(ec_val(&a, "version"), "branch:version:" VER);
	assert_string_equal(ec_val(&a, "branch-key-id"), ID);
	assert_string_equal(ec_val(&a, "create-time"), TS);
	assert_string_equal(ec_val(&a, "hierarchy-version"), "1");
	assert_string_equal(ec_val(&a, "tablename"), "keys");
	assert_string_equal(ec_val(&a, "kms-arn"), ARN);
	assert_int_equal(v.len, 6);
	assert_string_equal(ec_val(&v, "type"), "branch:version:" VER);
	assert_null(ec_val(&v, "version"));
	assert_int_equal(b.len, 6);
	assert_string_equal(ec_val(&b, "type"), "beacon:ACTIVE");
	assert_null(ec_val(&b, "version"));
	ec_cleanup(&a);
	ec_cleanup(&v);
	ec_cleanup(&b);
}

static void test_ec_refuses_bad_input(void **state)
{
	struct enc_ctx ec;

	(void)state;
	ec_init(&ec);
	assert_int_equal(branch_store_ec_build(BRANCH_ITEM_ACTIVE, "", VER, TS, "keys", ARN, &ec), -1);
	assert_int_equal(branch_store_ec_build(BRANCH_ITEM_VERSION, ID, "1234", TS, "keys", ARN, &ec), -1);
	assert_int_equal(branch_store_ec_build(BRANCH_ITEM_ACTIVE, ID, NULL, TS, "keys", ARN, &ec), -1);
	ec_cleanup(&ec);
}

/* The item for ec and enc, through JSON text and back, as DynamoDB would return it. */
static cJSON *round_trip_item(enum branch_item_kind kind, const unsigned char *enc, size_t len)
{
	struct enc_ctx ec;
	cJSON *item;
	char *text;
	cJSON *back;

	ec_init(&ec);
	assert_int_equal(branch_store_ec_build(kind, ID, VER, TS, "keys", ARN, &ec), 0);
	item = branch_store_item_to_json(&ec, enc, len);
	assert_non_null(item);
	text = cJSON_PrintUnformatted(item);
	back = cJSON_Parse(text);
	free(text);
	cJSON_Delete(item);
	ec_cleanup(&ec);
	return back;
}

static void test_item_round_trip(void **state)
{
	static const unsigned char enc[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	struct ds_error err = { 0 };
	struct branch_item it;
	struct enc_ctx want;
	cJSON *item = round_trip_item(BRANCH_ITEM_ACTIVE, enc, sizeof(enc));

	(void)state;
	/* Stored: hierarchy-version as N, enc as B, no tablename. */
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(item, "hierarchy-version"), "N")->valuestring, "1");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(item, "enc"), "B")->valuestring, "AQIDBAUGBwgJ");
	assert_null(cJSON_GetObjectItem(item, "tablename"));
	assert_int_equal(branch_store_item_parse(item, "keys", &it, &err), 0);
	assert_int_equal(it.kind, BRANCH_ITEM_ACTIVE);
	assert_string_equal(it.branch_key_id, ID);
	assert_string_equal(it.version, VER);
	assert_string_equal(it.kms_arn, ARN);
	assert_int_equal(it.enc_len, sizeof(enc));
	assert_memory_equal(it.enc, enc, sizeof(enc));
	/* The context read back is exactly the one KMS bound the key to. */
	ec_init(&want);
	assert_int_equal(branch_store_ec_build(BRANCH_ITEM_ACTIVE, ID, VER, TS, "keys", ARN, &want), 0);
	assert_int_equal(it.ec.len, want.len);
	for (size_t i = 0; i < want.len; i++) {
		assert_string_equal(it.ec.entries[i].key, want.entries[i].key);
		assert_string_equal(it.ec.entries[i].value, want.entries[i].value);
	}
	ec_cleanup(&want);
	branch_item_cleanup(&it);
	cJSON_Delete(item);

	item = round_trip_item(BRANCH_ITEM_VERSION, enc, sizeof(enc));
	assert_int_equal(branch_store_item_parse(item, "keys", &it, &err), 0);
	assert_int_equal(it.kind, BRANCH_ITEM_VERSION);
	assert_string_equal(it.version, VER);
	branch_item_cleanup(&it);
	cJSON_Delete(item);

	item = round_trip_item(BRANCH_ITEM_BEACON, enc, sizeof(enc));
	assert_int_equal(branch_store_item_parse(item, "keys", &it, &err), 0);
	assert_int_equal(it.kind, BRANCH_ITEM_BEACON);
	assert_string_equal(it.version, "");
	branch_item_cleanup(&it);
	cJSON_Delete(item);
}

/* A valid item of kind with member remove deleted and member name set to value_json (either
 * may be NULL) must be refused with a message containing want. */
static void expect_refused(enum branch_item_kind kind, const char *remove, const char *name,
			   const char *value_json, const char *want)
{
	static const unsigned char enc[] = { 9, 9, 9 };
	struct ds_error err = { 0 };
	struct branch_item it;
	cJSON *item = round_trip_item(kind, enc, sizeof(enc));

	if (remove != NULL)
		cJSON_DeleteItemFromObject(item, remove);
	if (name != NULL) {
		cJSON_DeleteItemFromObject(item, name);
		cJSON_AddItemToObject(item, name, cJSON_Parse(value_json));
	}
	assert_int_equal(branch_store_item_parse(item, "keys", &it, &err), -1);
	if (strstr(err.message, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.message, want);
	assert_string_equal(err.type, DS_ERR_INTERNAL);
	cJSON_Delete(item);
}

static void test_item_negative(void **state)
{
	(void)state;
	expect_refused(BRANCH_ITEM_ACTIVE, "kms-arn", NULL, NULL, "has no string attribute \"kms-arn\"");
	expect_refused(BRANCH_ITEM_ACTIVE, "create-time", NULL, NULL, "no string attribute \"create-time\"");
	expect_refused(BRANCH_ITEM_ACTIVE, "enc", NULL, NULL, "has no binary attribute \"enc\"");
	expect_refused(BRANCH_ITEM_ACTIVE, NULL, "enc", "{\"S\":\"AQID\"}", "has no binary attribute \"enc\"");
	expect_refused(BRANCH_ITEM_ACTIVE, NULL, "enc", "{\"B\":\"!!\"}", "\"enc\" of item \"branch:ACTIVE\"");
	expect_refused(BRANCH_ITEM_ACTIVE, "version", NULL, NULL, "the ACTIVE item of branch key \"" ID "\" has no attribute \"version\"");
	expect_refused(BRANCH_ITEM_ACTIVE, NULL, "version", "{\"S\":\"branch:version:not-a-uuid\"}", "no attribute \"version\" of the form");
	expect_refused(BRANCH_ITEM_VERSION, NULL, "version", "{\"S\":\"branch:version:" VER "\"}", "only the ACTIVE item may have");
	expect_refused(BRANCH_ITEM_VERSION, NULL, "type", "{\"S\":\"branch:DECRYPT\"}", "item of unknown type \"branch:DECRYPT\"");
	expect_refused(BRANCH_ITEM_ACTIVE, NULL, "hierarchy-version", "{\"N\":\"2\"}", "hierarchy-version 2");
	expect_refused(BRANCH_ITEM_ACTIVE, NULL, "hierarchy-version", "{\"S\":\"1\"}", "(missing or not a number)");
	expect_refused(BRANCH_ITEM_ACTIVE, NULL, "tablename", "{\"S\":\"keys\"}", "stores \"tablename\"");
	expect_refused(BRANCH_ITEM_ACTIVE, NULL, "aws-crypto-ec:dept", "{\"N\":\"5\"}", "attribute \"aws-crypto-ec:dept\" of branch key \"" ID "\" is not a string");
	expect_refused(BRANCH_ITEM_BEACON, NULL, "branch-key-id", "{\"S\":\"\"}", "has no string attribute \"branch-key-id\"");
}

static void test_uuid_and_time(void **state)
{
	char a[BRANCH_UUID_STRLEN + 1], b[BRANCH_UUID_STRLEN + 1], t[32];
	unsigned char bin[BRANCH_VERSION_LEN];
	struct timespec ts = { 1685819009, 358123999 };

	(void)state;
	assert_int_equal(branch_store_uuid4(a), 0);
	assert_int_equal(branch_store_uuid4(b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(strlen(a), 36);
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89ab", a[19]));
	assert_int_equal(keyring_uuid_parse(VER, bin), 0);
	branch_store_uuid_format(bin, a);
	assert_string_equal(a, VER);
	branch_store_timestamp(&ts, t);
	assert_string_equal(t, "2023-06-03T19:03:29.358123Z");
}

static void test_tenant_value_v1_and_v2(void **state)
{
	struct enc_ctx ec;
	struct ds_error err = { 0 };
	char out[64];

	(void)state;
	ec_init(&ec);
	/* Version 1: base64 of type 0x0001 and "acme". */
	assert_int_equal(ec_put(&ec, "aws-crypto-attr.tenant", 22, "AAFhY21l", 8, 1), 0);
	assert_int_equal(keyring_hierarchy_attr_value(&ec, "tenant", out, sizeof(out), &err), 0);
	assert_string_equal(out, "acme");
	/* Too small an output is refused, not truncated. */
	assert_int_equal(keyring_hierarchy_attr_value(&ec, "tenant", out, 4, &err), -1);
	assert_non_null(strstr(err.message, "at most 3 bytes"));
	/* A number (type 0x0002) does not name a branch key. */
	ec_cleanup(&ec);
	ec_init(&ec);
	assert_int_equal(ec_put(&ec, "aws-crypto-attr.tenant", 22, "AAIx", 4, 1), 0);
	assert_int_equal(keyring_hierarchy_attr_value(&ec, "tenant", out, sizeof(out), &err), -1);
	assert_non_null(strstr(err.message, "attribute \"tenant\" (branch_key_id_attribute) must be a string"));
	assert_string_equal(err.type, DS_ERR_VALIDATION);
	/* Missing from the context. */
	assert_int_equal(keyring_hierarchy_attr_value(&ec, "org", out, sizeof(out), &err), -1);
	assert_non_null(strstr(err.message, "no attribute \"org\""));
	ec_cleanup(&ec);
	/* Version 2: the legend letter per context attribute, in key order. */
	ec_init(&ec);
	assert_int_equal(ec_put(&ec, "aws-crypto-attr.count", 21, "7", 1, 1), 0);
	assert_int_equal(ec_put(&ec, "aws-crypto-attr.tenant", 22, "globex", 6, 1), 0);
	assert_int_equal(ec_put(&ec, "aws-crypto-legend", 17, "NS", 2, 1), 0);
	assert_int_equal(keyring_hierarchy_attr_value(&ec, "tenant", out, sizeof(out), &err), 0);
	assert_string_equal(out, "globex");
	assert_int_equal(keyring_hierarchy_attr_value(&ec, "count", out, sizeof(out), &err), -1);
	assert_non_null(strstr(err.message, "\"count\""));
	ec_cleanup(&ec);
}

static void test_kms_new_operations_parse(void **state)
{
	static const char ok[] = "{\"KeyId\":\"" ARN "\",\"CiphertextBlob\":\"AQID\",\"SourceKeyId\":\"" ARN "\"}";
	static const char no_blob[] = "{\"KeyId\":\"" ARN "\"}";
	struct ds_error err = { 0 };
	struct kms_result res;
	struct kms_parsed *p;
	int retry;

	(void)state;
	p = kms_parse_response("ReEncrypt", 200, ok, strlen(ok), ARN, &res, &err, &retry);
	assert_non_null(p);
	assert_int_equal(res.ciphertext_len, 3);
	assert_string_equal(res.key_id, ARN);
	kms_parsed_free(p);
	p = kms_parse_response("GenerateDataKeyWithoutPlaintext", 200, ok, strlen(ok), ARN, &res, &err, &retry);
	assert_non_null(p);
	assert_null(res.plaintext);
	kms_parsed_free(p);
	p = kms_parse_response("ReEncrypt", 200, no_blob, strlen(no_blob), ARN, &res, &err, &retry);
	assert_null(p);
	assert_non_null(strstr(err.message, "KMS ReEncrypt on key " ARN ": the response lacks a field"));
	p = kms_parse_response("GenerateDataKeyWithoutPlaintext", 200, no_blob, strlen(no_blob), ARN, &res,
			       &err, &retry);
	assert_null(p);
	assert_non_null(strstr(err.message, "GenerateDataKeyWithoutPlaintext"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ec_active_version_beacon),
		cmocka_unit_test(test_ec_refuses_bad_input),
		cmocka_unit_test(test_item_round_trip),
		cmocka_unit_test(test_item_negative),
		cmocka_unit_test(test_uuid_and_time),
		cmocka_unit_test(test_tenant_value_v1_and_v2),
		cmocka_unit_test(test_kms_new_operations_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
