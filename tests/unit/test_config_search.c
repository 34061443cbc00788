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
		     "'virtual_fields':[]}"),
		   "config: \"tables.users.search.virtual_fields\": virtual fields are not carried out by this dynaseal; use standard or compound beacons");
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

/* A search block with standard beacons on email and phone, and compound beacons c. */
#define C(c) S("{'keyring':'h','standard_beacons':[{'name':'email','length':16},{'name':'phone','length':8}]," \
	       "'compound_beacons':" c "}")
#define CP "tables.users.search.compound_beacons.0"

static void test_compound_valid(void **state)
{
	const struct config_compound *c;
	struct config *cfg;

	(void)state;
	/* Parts: signed, then encrypted; constructors as given. */
	cfg = EXPECT_OK(C("[{'name':'addr','split':'.','encrypted':[{'name':'email','prefix':'E-'}],"
			  "'signed':[{'name':'name','prefix':'N-'},{'name':'pk','prefix':'P-'}],"
			  "'constructors':[['email','name'],['email']]}]"));
	assert_int_equal(cfg->tables[0].search->compound_len, 1);
	c = &cfg->tables[0].search->compound[0];
	assert_string_equal(c->name, "addr");
	assert_int_equal(c->split, '.');
	assert_int_equal(c->parts_len, 3);
	assert_string_equal(c->parts[0].name, "name");
	assert_false(c->parts[0].encrypted);
	assert_string_equal(c->parts[1].name, "pk");
	assert_string_equal(c->parts[2].name, "email");
	assert_true(c->parts[2].encrypted);
	assert_int_equal(c->constructors_len, 2);
	assert_int_equal(c->constructor_lens[0], 2);
	assert_int_equal(c->constructors[0][0], 2);
	assert_int_equal(c->constructors[0][1], 0);
	assert_int_equal(c->constructor_lens[1], 1);
	config_free(cfg);
	/* The default constructor: every signed part, then every encrypted part. */
	cfg = EXPECT_OK(C("[{'name':'addr','split':'|','encrypted':[{'name':'email','prefix':'E-'},"
			  "{'name':'phone','prefix':'P-'}],'signed':[{'name':'name','prefix':'N-'}]}]"));
	c = &cfg->tables[0].search->compound[0];
	assert_int_equal(c->split, '|');
	assert_int_equal(c->constructors_len, 1);
	assert_int_equal(c->constructor_lens[0], 3);
	assert_string_equal(c->parts[c->constructors[0][0]].name, "name");
	assert_string_equal(c->parts[c->constructors[0][1]].name, "email");
	assert_string_equal(c->parts[c->constructors[0][2]].name, "phone");
	config_free(cfg);
}

static void test_compound_rules(void **state)
{
	(void)state;
	EXPECT_ONE(C("[{'name':'name','split':'.','encrypted':[{'name':'email','prefix':'E-'}]}]"),
		   "config: \"" CP "\": compound beacon \"name\" must not be the name of an attribute of "
		   "the table: it names a virtual field made of its parts");
	EXPECT_ONE(C("[{'name':'email','split':'.','encrypted':[{'name':'email','prefix':'E-'}]}]"),
		   "compound beacon \"email\" must not be the name of an attribute");
	EXPECT_ONE(C("[{'name':'addr','split':'..','encrypted':[{'name':'email','prefix':'E-'}]}]"),
		   "config: \"" CP ".split\": expected exactly one character");
	EXPECT_ONE(C("[{'name':'addr','encrypted':[{'name':'email','prefix':'E-'}]}]"),
		   "config: \"" CP ".split\": missing required key");
	EXPECT_ONE(C("[{'name':'addr','split':'.','encrypted':[{'name':'name','prefix':'E-'}]}]"),
		   "config: \"" CP ".encrypted.0\": encrypted part \"name\" must be the name of a "
		   "standard beacon (search.standard_beacons)");
	EXPECT_ONE(C("[{'name':'addr','split':'.','encrypted':[{'name':'email','prefix':'E-'}],"
		     "'signed':[{'name':'phone','prefix':'P-'}]}]"),
		   "config: \"" CP ".signed.0\": signed part \"phone\" must be the name of a key "
		   "attribute or a SIGN_ONLY or SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT attribute of the table");
	EXPECT_ONE(C("[{'name':'addr','split':'.','encrypted':[{'name':'email','prefix':'E-'}],"
		     "'signed':[{'name':'n','prefix':'P-'}]}]"),
		   "signed part \"n\" must be the name of a key attribute");
	EXPECT_ONE(C("[{'name':'addr','split':'.','signed':[{'name':'name','prefix':'N-'}]}]"),
		   "config: \"" CP "\": compound beacon \"addr\" has no encrypted part; a compound "
		   "beacon of signed parts only is not carried out by this dynaseal");
	EXPECT_ONE(C("[{'name':'addr','split':'.','encrypted':[{'name':'email','prefix':'E-'},"
		     "{'name':'phone','prefix':'E-P'}]}]"),
		   "config: \"" CP "\": the prefix \"E-\" of part \"email\" is a prefix of the prefix "
		   "\"E-P\" of part \"phone\"; no part's prefix may start another's");
	EXPECT_ONE(C("[{'name':'addr','split':'.','encrypted':[{'name':'email','prefix':'X'},"
		     "{'name':'phone','prefix':'X'}]}]"),
		   "the prefix \"X\" of part \"email\" is a prefix of the prefix \"X\" of part \"phone\"");
	EXPECT_ONE(C("[{'name':'addr','split':'.','encrypted':[{'name':'email','prefix':''}]}]"),
		   "\"" CP ".encrypted.0.prefix\"");
	EXPECT_ONE(C("[{'name':'addr','split':'.','encrypted':[{'name':'email','prefix':'E-'},"
		     "{'name':'email','prefix':'F-'}]}]"),
		   "config: \"" CP ".encrypted.1\": part \"email\" is listed twice");
	EXPECT_ONE(C("[{'name':'addr','split':'.','encrypted':[{'name':'email','prefix':'E-'}],"
		     "'constructors':[['email','zip']]}]"),
		   "config: \"" CP ".constructors.0\": \"zip\" is not a part of this compound beacon");
	EXPECT_ONE(C("[{'name':'addr','split':'.','encrypted':[{'name':'email','prefix':'E-'}],"
		     "'constructors':[]}]"),
		   "config: \"" CP ".constructors\": expected a non-empty list of constructors (lists of part names)");
	EXPECT_ONE(C("[{'name':'addr','split':'.','encrypted':[{'name':'email','prefix':'E-'}],"
		     "'constructors':[[]]}]"),
		   "config: \"" CP ".constructors.0\": expected a non-empty list of part names");
	EXPECT_ONE(C("[{'name':'addr','split':'.','encrypted':[{'name':'email','prefix':'E-'}]},"
		     "{'name':'addr','split':'.','encrypted':[{'name':'phone','prefix':'P-'}]}]"),
		   "config: \"tables.users.search.compound_beacons.1\": beacon \"addr\" is defined twice");
	EXPECT_ONE(C("[{'name':'addr','split':'.','encrypted':[{'name':'email','prefix':'E-','x':1}]}]"),
		   "\"" CP ".encrypted.0.x\"");
	EXPECT_ONE(C("{}"), "config: \"tables.users.search.compound_beacons\": expected a list of compound beacons");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_search_valid),
		cmocka_unit_test(test_search_rules),
		cmocka_unit_test(test_compound_valid),
		cmocka_unit_test(test_compound_rules),
	};
	snprintf(g_cfgpath, sizeof(g_cfgpath), "/nonexistent/dynaseal.json");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
