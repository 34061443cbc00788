/*
 * A table's "search" block (config/config_search.c): the standard beacons and their keyring,
 * and each of the DB-ESDK's initialization rules dynaseal applies, with its exact message.
 */
#include "tests/harness/config_expect.h"

#define H_KR "'keyrings':{'k':{'type':'aws-kms','key_id':'" ARN "'},'h':{'type':'aws-kms-hierarchical'," \
	"'key_store_table':'keys','kms_key_id':'" ARN "','branch_key_id':'b'}}"
#define S(search) "{" UP "," H_KR ",'tables':{'users':{'keyring':'h','partition_key':'pk'," \
	"'attribute_actions':{'email':'ENCRYPT_AND_SIGN','phone':'ENCRYPT_AND_SIGN','name':'SIGN_ONLY'," \
	"'n':'DO_NOTHING'},'search':" search "}}}"

static void test_search_valid(void **state)
{
	struct config *cfg;

	(void)state;
	/* A valid block: its beacons sorted by name, its keyring resolved. */
	cfg = EXPECT_OK(S("{'keyring':'h','standard_beacons':[{'name':'phone','length':12},"
			  "{'name':'email','length':16}]}"));
	assert_non_null(cfg->tables[0].search);
	assert_int_equal(cfg->tables[0].search->standard_len, 2);
	assert_string_equal(cfg->tables[0].search->standard[0].name, "email");
	assert_int_equal(cfg->tables[0].search->standard[0].length, 16);
	assert_string_equal(cfg->tables[0].search->standard[1].name, "phone");
	assert_string_equal(cfg->tables[0].search->keyring_ref->name, "h");
	config_free(cfg);
	/* No search block: no beacons. */
	cfg = EXPECT_OK("{" UP "," H_KR ",'tables':{'users':{'keyring':'h','partition_key':'pk'}}}");
	assert_null(cfg->tables[0].search);
	config_free(cfg);
}

static void test_search_rules(void **state)
{
	(void)state;
	EXPECT_ONE(S("{'keyring':'h','standard_beacons':[{'name':'email','length':64}]}"),
		   "config: \"tables.users.search.standard_beacons.0.length\": 64 is out of range; expected 1 to 63");
	EXPECT_ONE(S("{'keyring':'h','standard_beacons':[{'name':'email','length':0}]}"),
		   "0 is out of range; expected 1 to 63");
	EXPECT_ONE(S("{'keyring':'h','standard_beacons':[{'name':'name','length':8}]}"),
		   "config: \"tables.users.search.standard_beacons.0\": beacon \"name\" must be the name of an ENCRYPT_AND_SIGN attribute of the table");
	EXPECT_ONE(S("{'keyring':'h','standard_beacons':[{'name':'pk','length':8}]}"),
		   "beacon \"pk\" must be the name of an ENCRYPT_AND_SIGN attribute");
	EXPECT_ONE(S("{'keyring':'h','standard_beacons':[{'name':'nope','length':8}]}"),
		   "beacon \"nope\" must be the name of an ENCRYPT_AND_SIGN attribute");
	EXPECT_ONE(S("{'keyring':'h','standard_beacons':[{'name':'email','length':8},{'name':'email','length':9}]}"),
		   "config: \"tables.users.search.standard_beacons\": beacon \"email\" is defined twice");
	EXPECT_ONE(S("{'keyring':'h','standard_beacons':[]}"), "expected a non-empty list of beacons");
	EXPECT_ONE(S("{'keyring':'h'}"),
		   "config: \"tables.users.search.standard_beacons\": at least one standard beacon is needed");
	EXPECT_ONE(S("{'standard_beacons':[{'name':'email','length':8}]}"),
		   "config: \"tables.users.search.keyring\": missing required key");
	EXPECT_ONE(S("{'keyring':'k','standard_beacons':[{'name':'email','length':8}]}"),
		   "config: \"tables.users.search.keyring\": keyring \"k\" is not an aws-kms-hierarchical keyring");
	EXPECT_ONE(S("{'keyring':'x','standard_beacons':[{'name':'email','length':8}]}"),
		   "keyring \"x\" is not defined under \"keyrings\"");
	EXPECT_ONE(S("{'keyring':'h','standard_beacons':[{'name':'email','length':8,'style':'x'}]}"),
		   "\"tables.users.search.standard_beacons.0.style\"");
	EXPECT_ONE(S("{'keyring':'h','standard_beacons':[{'name':'email','length':8}],"
		     "'compound_beacons':[]}"),
		   "config: \"tables.users.search.compound_beacons\": compound beacons are not carried out by this dynaseal");
	EXPECT_ONE(S("{'keyring':'h','standard_beacons':[{'name':'email','length':8}],"
		     "'virtual_fields':[]}"),
		   "config: \"tables.users.search.virtual_fields\": virtual fields are not carried out by this dynaseal");
	EXPECT_ONE(S("[]"), "config: \"tables.users.search\": expected an object, got an array");
	/* A per-tenant beacon key is chosen by an attribute queries must be able to read. */
	EXPECT_ONE("{" UP ",'keyrings':{'k':{'type':'aws-kms','key_id':'" ARN "'},'t':{'type':'aws-kms-hierarchical','key_store_table':'keys',"
		   "'kms_key_id':'" ARN "','branch_key_id_attribute':'tenant','branch_key_ids':{'a':'b'}}},"
		   "'tables':{'users':{'keyring':'k','partition_key':'pk','attribute_actions':"
		   "{'email':'ENCRYPT_AND_SIGN','tenant':'ENCRYPT_AND_SIGN'},'search':{'keyring':'t',"
		   "'standard_beacons':[{'name':'email','length':8}]}}}}",
		   "config: \"tables.users.search.keyring\": attribute \"tenant\" chooses the beacon key "
		   "(branch_key_id_attribute of the keyring) and must not be ENCRYPT_AND_SIGN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_search_valid),
		cmocka_unit_test(test_search_rules),
	};
	snprintf(g_cfgpath, sizeof(g_cfgpath), "/nonexistent/dynaseal.json");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
