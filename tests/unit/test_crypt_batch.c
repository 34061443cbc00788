/*
 * crypt_batch: an answer's items read together, and the place an item's refusal names
 * (crypt_batch_add_read_at): "table \"T\": <place>: <reason>" for every kind of refusal
 * (plaintext, tampered, malformed head), the reason unchanged without a place, and
 * plaintext_policy applied the same with or without one.
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
#include "crypto/item/item_crypt.h"
#include "crypto/keyring/keyring.h"
#include "crypto/keyring/keyring_factory.h"
#include "proxy/ddb/crypt_batch.h"

/* Why keyring_new_from_config built no keyring. */
static struct ds_error kr_err;

#define PLAINTEXT_REFUSAL "an item has no aws_dbe_head, so it was not written through dynaseal " \
	"or the DB-ESDK; set plaintext_policy to \"allow-read\" for this table while migrating " \
	"plaintext items"

static const char *item_json =
	"{\"pk\":{\"S\":\"u1\"},\"sk\":{\"N\":\"1\"},\"ssn\":{\"S\":\"078-05-1120\"},"
	"\"name\":{\"S\":\"Ada\"},\"visits\":{\"N\":\"3\"}}";

/* The table "users": pk, sk and name signed, ssn encrypted, visits unsigned. */
struct fixture {
	struct config_table t;
	struct config_attr_action acts[4];
	char *unsigned_names[1];
	struct keyring *k;
};

/* What a batch reported. */
struct outcome {
	int called;
	int failed;
	struct ds_error err;
};

static void on_done(void *arg, struct crypt_batch *b, const struct ds_error *err)
{
	struct outcome *o = arg;

	(void)b;
	o->called++;
	if (err != NULL) {
		o->failed = 1;
		o->err = *err;
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct config_keyring c;

	assert_non_null(f);
	f->t.name = "users";
	f->t.partition_key = "pk";
	f->t.sort_key = "sk";
	f->t.algorithm_suite = 0x6700;
	f->acts[0] = (struct config_attr_action){ "name", ACTION_SIGN_ONLY };
	f->acts[1] = (struct config_attr_action){ "pk", ACTION_SIGN_ONLY };
	f->acts[2] = (struct config_attr_action){ "sk", ACTION_SIGN_ONLY };
	f->acts[3] = (struct config_attr_action){ "ssn", ACTION_ENCRYPT_AND_SIGN };
	f->t.actions = f->acts;
	f->t.actions_len = 4;
	f->unsigned_names[0] = "visits";
	f->t.allowed_unsigned = f->unsigned_names;
	f->t.allowed_unsigned_len = 1;
	memset(&c, 0, sizeof(c));
	c.name = "local";
	c.type = KEYRING_RAW_AES;
	for (int i = 0; i < 32; i++)
		c.key_material[i] = (unsigned char)i;
	c.has_key_material = 1;
	c.key_namespace = "dynaseal";
	c.key_name = "local-1";
	f->k = keyring_new_from_config(&c, NULL, &kr_err);
	assert_non_null(f->k);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	keyring_free(f->k);
	free(f);
	return 0;
}

/* Runs one item through a batch: encrypt, or read with where (NULL: crypt_batch_add).
 * Returns the batch's document (the caller deletes it); *o says how it ended. */
static cJSON *run_one(struct fixture *f, cJSON *item, int encrypt, const char *where,
		      struct outcome *o)
{
	cJSON *doc = cJSON_CreateObject();
	struct crypt_batch *b;

	assert_non_null(doc);
	cJSON_AddItemToObject(doc, "Attributes", item);
	b = crypt_batch_new(doc);
	assert_non_null(b);
	if (where != NULL)
		assert_int_equal(crypt_batch_add_read_at(b, &f->t, f->k, item, where), 0);
	else
		assert_int_equal(crypt_batch_add(b, &f->t, f->k, item, encrypt), 0);
	memset(o, 0, sizeof(*o));
	crypt_batch_run(b, on_done, o);
	assert_int_equal(o->called, 1);
	doc = cJSON_Duplicate(crypt_batch_doc(b), 1);
	crypt_batch_free(b);
	return doc;
}

/* A sealed copy of item_json, as DynamoDB would store it. */
static cJSON *sealed_item(struct fixture *f)
{
	struct outcome o;
	cJSON *doc = run_one(f, cJSON_Parse(item_json), 1, NULL, &o);
	cJSON *item;

	assert_int_equal(o.failed, 0);
	item = cJSON_DetachItemFromObjectCaseSensitive(doc, "Attributes");
	assert_non_null(cJSON_GetObjectItemCaseSensitive(item, ITEM_HEAD_ATTR));
	cJSON_Delete(doc);
	return item;
}

static void test_plaintext_refusal_names_the_place(void **state)
{
	struct fixture *f = *state;
	struct outcome o;

	cJSON_Delete(run_one(f, cJSON_Parse(item_json), 0, "UpdateItem Attributes", &o));
	assert_int_equal(o.failed, 1);
	assert_int_equal(o.err.status, 400);
	assert_string_equal(o.err.type, DS_ERR_VALIDATION);
	assert_string_equal(o.err.message, "table \"users\": UpdateItem Attributes: " PLAINTEXT_REFUSAL);
}

static void test_refusal_without_a_place_is_unchanged(void **state)
{
	struct fixture *f = *state;
	struct outcome o;

	cJSON_Delete(run_one(f, cJSON_Parse(item_json), 0, NULL, &o));
	assert_int_equal(o.failed, 1);
	assert_string_equal(o.err.message, "table \"users\": " PLAINTEXT_REFUSAL);
}

static void test_tampered_refusal_names_the_place(void **state)
{
	struct fixture *f = *state;
	cJSON *item = sealed_item(f);
	struct outcome o;

	cJSON_ReplaceItemInObjectCaseSensitive(item, "name", cJSON_Parse("{\"S\":\"Mallory\"}"));
	cJSON_Delete(run_one(f, item, 0, "PutItem Attributes", &o));
	assert_int_equal(o.failed, 1);
	assert_int_equal(o.err.status, 400);
	assert_string_equal(o.err.type, DS_ERR_VALIDATION);
	assert_true(strncmp(o.err.message, "table \"users\": PutItem Attributes: ",
			    strlen("table \"users\": PutItem Attributes: ")) == 0);
	assert_non_null(strstr(o.err.message, "failed verification"));
	assert_null(strstr(o.err.message, "table \"users\": table"));
	assert_null(strstr(o.err.message, "Mallory"));
}

static void test_malformed_head_refusal_names_the_place(void **state)
{
	struct fixture *f = *state;
	cJSON *item = sealed_item(f);
	struct outcome o;

	cJSON_ReplaceItemInObjectCaseSensitive(item, ITEM_HEAD_ATTR, cJSON_Parse("{\"S\":\"x\"}"));
	cJSON_Delete(run_one(f, item, 0, "TransactWriteItems CancellationReasons[1].Item", &o));
	assert_int_equal(o.failed, 1);
	assert_non_null(strstr(o.err.message, "table \"users\": TransactWriteItems "
			       "CancellationReasons[1].Item: attribute \"aws_dbe_head\" is not a "
			       "binary value"));
	assert_true(strncmp(o.err.message, "table \"users\": ", strlen("table \"users\": ")) == 0);
}

static void test_sealed_item_read_with_a_place(void **state)
{
	struct fixture *f = *state;
	cJSON *want = cJSON_Parse(item_json);
	struct outcome o;
	cJSON *doc = run_one(f, sealed_item(f), 0, "UpdateItem Attributes", &o);

	assert_int_equal(o.failed, 0);
	assert_true(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(doc, "Attributes"), want, 1));
	cJSON_Delete(doc);
	cJSON_Delete(want);
}

static void test_plaintext_allowed_with_a_place(void **state)
{
	struct fixture *f = *state;
	cJSON *want = cJSON_Parse(item_json);
	struct outcome o;
	cJSON *doc;

	f->t.plaintext_policy = PLAINTEXT_ALLOW_READ;
	doc = run_one(f, cJSON_Parse(item_json), 0, "UpdateItem Attributes", &o);
	f->t.plaintext_policy = PLAINTEXT_FORBID;
	assert_int_equal(o.failed, 0);
	assert_true(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(doc, "Attributes"), want, 1));
	cJSON_Delete(doc);
	cJSON_Delete(want);
}

static void test_long_place_is_cut(void **state)
{
	struct fixture *f = *state;
	char where[200];
	struct outcome o;

	memset(where, 'w', sizeof(where) - 1);
	where[sizeof(where) - 1] = '\0';
	cJSON_Delete(run_one(f, cJSON_Parse(item_json), 0, where, &o));
	assert_int_equal(o.failed, 1);
	/* "table \"users\": " then 63 bytes of the place, then ": " and the reason. */
	assert_int_equal(strspn(o.err.message + strlen("table \"users\": "), "w"), 63);
	assert_string_equal(o.err.message + strlen("table \"users\": ") + 63, ": " PLAINTEXT_REFUSAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plaintext_refusal_names_the_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusal_without_a_place_is_unchanged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_refusal_names_the_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_head_refusal_names_the_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sealed_item_read_with_a_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plaintext_allowed_with_a_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_place_is_cut, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
