/* The write-back of a converted item (proxy/migrate_write.h): what it sets, removes and is
 * conditioned on, for a plaintext, a legacy and a v3 item. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "proxy/migrate_write.h"

/* The table "users": pk, email encrypted, name signed, visits unsigned (sorted by name). */
static struct config_attr_action acts[] = {
	{ "email", ACTION_ENCRYPT_AND_SIGN },
	{ "name", ACTION_SIGN_ONLY },
	{ "pk", ACTION_SIGN_ONLY },
	{ "visits", ACTION_DO_NOTHING },
};

static struct config_table table = {
	.name = "users", .partition_key = "pk", .algorithm_suite = 0x6700,
	.actions = acts, .actions_len = 4,
};

/* The body for raw -> enc (JSON texts), checked for the update and condition given. */
static cJSON *body_of(const char *raw, const char *enc, const char *update, const char *cond)
{
	cJSON *r = cJSON_Parse(raw), *e = cJSON_Parse(enc), *b;

	assert_non_null(r);
	assert_non_null(e);
	b = migrate_write_body(&table, r, e);
	assert_non_null(b);
	assert_string_equal(cJSON_GetObjectItem(b, "UpdateExpression")->valuestring, update);
	assert_string_equal(cJSON_GetObjectItem(b, "ConditionExpression")->valuestring, cond);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "Key"), "pk")->child->valuestring, "k1");
	cJSON_Delete(r);
	cJSON_Delete(e);
	return b;
}

/* Placeholder #mN's name and :mN's value (as JSON, or NULL). */
static void assert_placeholder(const cJSON *b, int n, const char *name, const char *value)
{
	char ph[16], *text;

	snprintf(ph, sizeof(ph), "#m%d", n);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "ExpressionAttributeNames"), ph)->valuestring, name);
	ph[0] = ':';
	if (value == NULL) {
		assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "ExpressionAttributeValues"), ph));
		return;
	}
	text = cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "ExpressionAttributeValues"), ph));
	assert_string_equal(text, value);
	cJSON_free(text);
}

static void test_plaintext_item(void **s)
{
	cJSON *b;

	(void)s;
	b = body_of("{\"pk\":{\"S\":\"k1\"},\"email\":{\"S\":\"e\"},\"name\":{\"S\":\"n\"},\"visits\":{\"N\":\"0\"}}",
		    "{\"pk\":{\"S\":\"k1\"},\"email\":{\"B\":\"AA==\"},\"name\":{\"S\":\"n\"},\"visits\":{\"N\":\"0\"},"
		    "\"aws_dbe_head\":{\"B\":\"AQ==\"},\"aws_dbe_foot\":{\"B\":\"Ag==\"}}",
		    "SET #m4 = :m4, #m5 = :m5, #m6 = :m6",
		    "attribute_not_exists(#m0) AND attribute_exists(#m1) AND #m2 = :m2 AND #m3 = :m3");
	assert_placeholder(b, 0, "aws_dbe_head", NULL);
	assert_placeholder(b, 2, "email", "{\"S\":\"e\"}");
	assert_placeholder(b, 3, "name", "{\"S\":\"n\"}");
	assert_placeholder(b, 4, "email", "{\"B\":\"AA==\"}");
	cJSON_Delete(b);
	/* a configured signed attribute the item lacks must still be missing */
	b = body_of("{\"pk\":{\"S\":\"k1\"},\"email\":{\"S\":\"e\"}}",
		    "{\"pk\":{\"S\":\"k1\"},\"email\":{\"B\":\"AA==\"},\"aws_dbe_head\":{\"B\":\"AQ==\"},"
		    "\"aws_dbe_foot\":{\"B\":\"Ag==\"}}",
		    "SET #m4 = :m4, #m5 = :m5, #m6 = :m6",
		    "attribute_not_exists(#m0) AND attribute_exists(#m1) AND #m2 = :m2 AND attribute_not_exists(#m3)");
	assert_placeholder(b, 3, "name", NULL);
	cJSON_Delete(b);
}

/* The legacy attributes are removed, and the signature read is part of the condition. */
static void test_legacy_item(void **s)
{
	cJSON *b;

	(void)s;
	b = body_of("{\"pk\":{\"S\":\"k1\"},\"email\":{\"B\":\"Lg==\"},\"name\":{\"S\":\"n\"},"
		    "\"*amzn-ddb-map-desc*\":{\"B\":\"ZA==\"},\"*amzn-ddb-map-sig*\":{\"B\":\"cw==\"}}",
		    "{\"pk\":{\"S\":\"k1\"},\"email\":{\"B\":\"AA==\"},\"name\":{\"S\":\"n\"},"
		    "\"aws_dbe_head\":{\"B\":\"AQ==\"},\"aws_dbe_foot\":{\"B\":\"Ag==\"}}",
		    "SET #m6 = :m6, #m7 = :m7, #m8 = :m8 REMOVE #m9, #m10",
		    "attribute_not_exists(#m0) AND attribute_exists(#m1) AND #m2 = :m2 AND #m3 = :m3 "
		    "AND #m4 = :m4 AND #m5 = :m5");
	assert_placeholder(b, 4, "*amzn-ddb-map-desc*", "{\"B\":\"ZA==\"}");
	assert_placeholder(b, 5, "*amzn-ddb-map-sig*", "{\"B\":\"cw==\"}");
	assert_placeholder(b, 9, "*amzn-ddb-map-desc*", NULL);
	assert_placeholder(b, 10, "*amzn-ddb-map-sig*", NULL);
	cJSON_Delete(b);
}

/* Re-encryption: conditioned on the header and footer read, which sign the rest. */
static void test_v3_item(void **s)
{
	cJSON *b;

	(void)s;
	b = body_of("{\"pk\":{\"S\":\"k1\"},\"email\":{\"B\":\"AA==\"},\"name\":{\"S\":\"n\"},\"visits\":{\"N\":\"3\"},"
		    "\"aws_dbe_head\":{\"B\":\"AQ==\"},\"aws_dbe_foot\":{\"B\":\"Ag==\"}}",
		    "{\"pk\":{\"S\":\"k1\"},\"email\":{\"B\":\"BB==\"},\"name\":{\"S\":\"n\"},\"visits\":{\"N\":\"3\"},"
		    "\"aws_dbe_head\":{\"B\":\"Aw==\"},\"aws_dbe_foot\":{\"B\":\"BA==\"}}",
		    "SET #m3 = :m3, #m4 = :m4, #m5 = :m5",
		    "attribute_exists(#m0) AND #m1 = :m1 AND #m2 = :m2");
	assert_placeholder(b, 0, "pk", NULL);
	assert_placeholder(b, 1, "aws_dbe_head", "{\"B\":\"AQ==\"}");
	assert_placeholder(b, 2, "aws_dbe_foot", "{\"B\":\"Ag==\"}");
	assert_placeholder(b, 4, "aws_dbe_head", "{\"B\":\"Aw==\"}");
	cJSON_Delete(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plaintext_item),
		cmocka_unit_test(test_legacy_item),
		cmocka_unit_test(test_v3_item),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
