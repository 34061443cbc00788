/*
 * Compound beacons (proxy/ddb/crypt_compound.c) against the AWS Database Encryption SDK's own
 * known answers (its Dafny fixtures: beacon key 1,2,3,4,5; standard beacons Name and Title of
 * 32 bits, whose values for "MyName" and "MyTitle" are 7d9bfa40 and e4feb833; compound beacons
 * Mixed = N_<Name>.Y_<Year> and NameTitle = N_<Name>.T_<Title>): stored values, query values
 * (equality and begins_with), the plaintext virtual field, and the refusals.
 */
#include "tests/harness/config_expect.h"

#include "proxy/ddb/crypt_compound.h"

#define H_KR "'keyrings':{'h':{'type':'aws-kms-hierarchical','key_store_table':'keys'," \
	"'kms_key_id':'" ARN "','branch_key_id':'b'}}"
#define CFG "{" UP "," H_KR ",'tables':{'items':{'keyring':'h','partition_key':'pk'," \
	"'attribute_actions':{'Name':'ENCRYPT_AND_SIGN','Title':'ENCRYPT_AND_SIGN','Year':'SIGN_ONLY'}," \
	"'search':{'keyring':'h','standard_beacons':[{'name':'Name','length':32},{'name':'Title','length':32}]," \
	"'compound_beacons':[{'name':'Mixed','split':'.','encrypted':[{'name':'Name','prefix':'N_'}]," \
	"'signed':[{'name':'Year','prefix':'Y_'}],'constructors':[['Name','Year']]}," \
	"{'name':'NameTitle','split':'.','encrypted':[{'name':'Name','prefix':'N_'},{'name':'Title','prefix':'T_'}]}]}}}}"

static const unsigned char beacon_key[] = { 1, 2, 3, 4, 5 };
static struct config *g_cfg;

static const struct config_table *table(void)
{
	return &g_cfg->tables[0];
}

/* The value of compound beacon name on item (DynamoDB JSON), with the key or plaintext;
 * "NONE" when no constructor succeeds, "ERR: <message>" on a refusal. */
static const char *value_of(const char *name, const char *item, int keyed)
{
	static char out[512];
	struct ds_error err = { 0 };
	cJSON *it = cJSON_Parse(item);
	char *v = NULL;
	int rc;

	assert_non_null(it);
	rc = crypt_compound_of(table(), crypt_compound_named(table(), name),
			       keyed ? beacon_key : NULL, sizeof(beacon_key), it, &v, &err);
	if (rc < 0)
		snprintf(out, sizeof(out), "ERR: %s", err.message);
	else
		snprintf(out, sizeof(out), "%s", rc == 0 ? "NONE" : v);
	free(v);
	cJSON_Delete(it);
	return out;
}

/* A query value {"S": value} compared with compound beacon name, in beacon form. */
static const char *query_of(const char *name, const char *value, int prefix)
{
	static char out[512];
	struct ds_error err = { 0 };
	cJSON *av = cJSON_CreateObject();

	assert_non_null(cJSON_AddStringToObject(av, "S", value));
	if (crypt_compound_query(table(), crypt_compound_named(table(), name), beacon_key,
				 sizeof(beacon_key), av, prefix, &err) != 0)
		snprintf(out, sizeof(out), "ERR: %s", err.message);
	else
		snprintf(out, sizeof(out), "%s", cJSON_GetObjectItemCaseSensitive(av, "S")->valuestring);
	cJSON_Delete(av);
	return out;
}

#define ITEM "{\"pk\":{\"S\":\"1\"},\"Name\":{\"S\":\"MyName\"},\"Title\":{\"S\":\"MyTitle\"},\"Year\":{\"N\":\"1984\"}}"

static void test_stored(void **state)
{
	(void)state;
	/* The SDK's TestCompoundQueries / beacon fixtures. */
	assert_string_equal(value_of("Mixed", ITEM, 1), "N_7d9bfa40.Y_1984");
	assert_string_equal(value_of("NameTitle", ITEM, 1), "N_7d9bfa40.T_e4feb833");
	/* A number is normalized first. */
	assert_string_equal(value_of("Mixed", "{\"Name\":{\"S\":\"MyName\"},\"Year\":{\"N\":\"01984.00\"}}", 1),
			    "N_7d9bfa40.Y_1984");
	/* A constructor whose part the item lacks gives no beacon. */
	assert_string_equal(value_of("NameTitle", "{\"Name\":{\"S\":\"MyName\"}}", 1), "NONE");
	assert_string_equal(value_of("Mixed", "{\"Year\":{\"N\":\"1\"}}", 1), "NONE");
}

static void test_plaintext(void **state)
{
	(void)state;
	assert_string_equal(value_of("Mixed", ITEM, 0), "N_MyName.Y_1984");
	assert_string_equal(value_of("NameTitle", ITEM, 0), "N_MyName.T_MyTitle");
	/* Without a key an unusable part means no virtual field, not a refusal. */
	assert_string_equal(value_of("NameTitle", "{\"Name\":{\"S\":\"a.b\"},\"Title\":{\"S\":\"x\"}}", 0), "NONE");
}

static void test_refusals(void **state)
{
	(void)state;
	assert_string_equal(value_of("NameTitle", "{\"Name\":{\"S\":\"My.Name\"},\"Title\":{\"S\":\"x\"}}", 1),
			    "ERR: table \"items\": attribute \"Name\" is a part of compound beacon \"NameTitle\" "
			    "(search.compound_beacons), so its value must not contain the split character '.'");
	assert_string_equal(value_of("Mixed", "{\"Name\":{\"B\":\"AAEC\"},\"Year\":{\"N\":\"1\"}}", 1),
			    "ERR: table \"items\": attribute \"Name\" is a part of compound beacon \"Mixed\" "
			    "(search.compound_beacons), so it must be a string or number; this item's is "
			    "neither a string nor a number");
}

static void test_query(void **state)
{
	(void)state;
	assert_string_equal(query_of("Mixed", "N_MyName.Y_1984", 0), "N_7d9bfa40.Y_1984");
	assert_string_equal(query_of("NameTitle", "N_MyName.T_MyTitle", 0), "N_7d9bfa40.T_e4feb833");
	assert_string_equal(query_of("NameTitle", "N_MyName", 0), "N_7d9bfa40");
	/* begins_with: a last piece that is only a prefix stays as is. */
	assert_string_equal(query_of("NameTitle", "N_MyName.T_", 1), "N_7d9bfa40.T_");
	assert_string_equal(query_of("Mixed", "Y_1984", 1), "Y_1984");
	/* ... but is hashed for equality (the SDK's forEquality). */
	assert_string_equal(query_of("NameTitle", "N_MyName.T_", 0), "N_7d9bfa40.T_af34f26f");
	assert_string_equal(query_of("NameTitle", "N_MyName.X_1", 0),
			    "ERR: table \"items\": in the value compared with compound beacon \"NameTitle\", "
			    "piece 2 starts with no part's prefix (search.compound_beacons)");
}

static void test_virtual(void **state)
{
	unsigned char added[2];
	cJSON *it = cJSON_Parse(ITEM);

	(void)state;
	assert_int_equal(crypt_compound_add_virtual(table(), it, added), 0);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(it, "Mixed"),
							     "S")->valuestring, "N_MyName.Y_1984");
	assert_true(added[0] && added[1]);
	crypt_compound_remove_virtual(table(), it, added);
	assert_null(cJSON_GetObjectItemCaseSensitive(it, "Mixed"));
	assert_null(cJSON_GetObjectItemCaseSensitive(it, "NameTitle"));
	assert_non_null(cJSON_GetObjectItemCaseSensitive(it, "Name"));
	cJSON_Delete(it);
}

static int setup(void **state)
{
	(void)state;
	g_cfg = EXPECT_OK(CFG);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	config_free(g_cfg);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stored),
		cmocka_unit_test(test_plaintext),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_virtual),
	};
	snprintf(g_cfgpath, sizeof(g_cfgpath), "/nonexistent/dynaseal.json");
	return cmocka_run_group_tests(tests, setup, teardown);
}
