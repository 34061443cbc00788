/*
 * A table's "legacy" block (config/config_legacy.c): the policies, the three providers and
 * their key files, the legacy attribute actions, and what the block may not stand beside,
 * each problem with its exact message.  Key files are written to a temporary folder, the
 * RSA ones made with OpenSSL.
 */
#include "tests/harness/config_expect.h"

#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#define KR "'keyrings':{'k':{'type':'aws-kms','key_id':'" ARN "'}}"
#define TBL(extra, legacy) "{" UP "," KR ",'tables':{'users':{'keyring':'k','partition_key':'pk'," \
	"'sort_key':'sk'" extra ",'legacy':" legacy "}}}"
#define L(legacy) TBL("", legacy)
#define P "tables.users.legacy"
#define STATIC "{'type':'static','encryption_key_file':'aes16','signing_key_file':'hmac'}"
#define ACTS "{'default':'ENCRYPT_AND_SIGN','sign_only':['version'],'do_nothing':['n']}"

static void write_file(const char *name, const void *data, size_t len)
{
	char path[192];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", g_dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void write_pem(const char *name, EVP_PKEY *pk, int private_key)
{
	char path[192];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", g_dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(private_key ? PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL)
				     : PEM_write_PUBKEY(f, pk), 1);
	fclose(f);
}

static int setup(void **state)
{
	EVP_PKEY *rsa = EVP_RSA_gen(2048);
	EVP_PKEY *ec = EVP_EC_gen("P-256");

	(void)state;
	snprintf(g_dir, sizeof(g_dir), "/tmp/ds-cfg-legacy-XXXXXX");
	assert_non_null(mkdtemp(g_dir));
	snprintf(g_cfgpath, sizeof(g_cfgpath), "%s/dynaseal.json", g_dir);
	write_file("aes16", B64_16 "\n", strlen(B64_16) + 1);
	write_file("aes32", B64_32, strlen(B64_32));
	write_file("hmac", "AAECAwQFBgc=", 12);
	write_file("odd", "AAECAwQFBgc=", 12);              /* 8 bytes: no AES key */
	write_file("junk", "not a key!", 10);
	assert_non_null(rsa);
	assert_non_null(ec);
	write_pem("rsa_priv.pem", rsa, 1);
	write_pem("rsa_pub.pem", rsa, 0);
	write_pem("ec_pub.pem", ec, 0);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	return 0;
}

static int teardown(void **state)
{
	const char *names[] = { "aes16", "aes32", "hmac", "odd", "junk", "rsa_priv.pem",
				"rsa_pub.pem", "ec_pub.pem" };
	char path[192];

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", g_dir, names[i]);
		unlink(path);
	}
	rmdir(g_dir);
	return 0;
}

static void test_legacy_valid(void **state)
{
	const struct config_legacy *l;
	struct config *cfg;

	(void)state;
	/* static: an AES content key and an HMAC key, both base64 files. */
	cfg = EXPECT_OK(L("{'policy':'allow-read','provider':" STATIC ",'attribute_actions':" ACTS "}"));
	l = cfg->tables[0].legacy;
	assert_non_null(l);
	assert_int_equal(l->policy, LEGACY_POLICY_ALLOW_READ);
	assert_int_equal(l->provider, CONFIG_LEGACY_STATIC);
	assert_int_equal(l->content_key.len, 16);
	assert_int_equal(l->signing_key.len, 8);
	assert_false(l->signing_key.rsa);
	assert_string_equal(l->signing_algorithm, "HmacSHA256");
	assert_int_equal(l->default_action, ACTION_ENCRYPT_AND_SIGN);
	assert_int_equal(l->sign_only_len, 1);
	assert_string_equal(l->sign_only[0], "version");
	assert_int_equal(l->do_nothing_len, 1);
	assert_int_equal(l->encrypt_len, 0);
	assert_int_equal(l->keys_len, 2);
	assert_string_equal(l->keys[0], "pk");
	assert_string_equal(l->keys[1], "sk");
	config_free(cfg);
	/* wrapped with RSA: a PEM private key to unwrap, a PEM public key to verify. */
	cfg = EXPECT_OK(L("{'policy':'allow-read','provider':{'type':'wrapped','wrapping_key_file':"
			  "'rsa_priv.pem','signing_key_file':'rsa_pub.pem'},'attribute_actions':"
			  "{'default':'SIGN_ONLY','encrypt':['secret']}}"));
	l = cfg->tables[0].legacy;
	assert_int_equal(l->provider, CONFIG_LEGACY_WRAPPED);
	assert_true(l->wrapping_key.rsa);
	assert_true(l->signing_key.rsa);
	assert_string_equal(l->signing_algorithm, "SHA256withRSA");
	assert_int_equal(l->default_action, ACTION_SIGN_ONLY);
	config_free(cfg);
	/* wrapped with AES, an explicit HMAC algorithm. */
	cfg = EXPECT_OK(L("{'policy':'allow-read','provider':{'type':'wrapped','wrapping_key_file':"
			  "'aes32','signing_key_file':'hmac','signing_algorithm':'HmacSHA512'},"
			  "'attribute_actions':{}}"));
	assert_int_equal(cfg->tables[0].legacy->wrapping_key.len, 32);
	assert_false(cfg->tables[0].legacy->wrapping_key.rsa);
	assert_string_equal(cfg->tables[0].legacy->signing_algorithm, "HmacSHA512");
	config_free(cfg);
	/* aws-kms by key ARN. */
	cfg = EXPECT_OK(L("{'policy':'allow-read','provider':{'type':'aws-kms','key_id':'" ARN "'},"
			  "'attribute_actions':{'default':'DO_NOTHING'}}"));
	assert_int_equal(cfg->tables[0].legacy->provider, CONFIG_LEGACY_AWS_KMS);
	assert_string_equal(cfg->tables[0].legacy->key_id, ARN);
	config_free(cfg);
	/* forbid needs nothing else; plaintext_policy forbid (the default) is allowed beside it. */
	cfg = EXPECT_OK(TBL(",'plaintext_policy':'forbid'", "{'policy':'forbid'}"));
	assert_int_equal(cfg->tables[0].legacy->policy, LEGACY_POLICY_FORBID);
	assert_false(cfg->tables[0].legacy->has_provider);
	config_free(cfg);
	/* No block: no legacy reading. */
	cfg = EXPECT_OK("{" UP "," KR ",'tables':{'users':{'keyring':'k','partition_key':'pk'}}}");
	assert_null(cfg->tables[0].legacy);
	config_free(cfg);
}

static void test_legacy_block(void **state)
{
	(void)state;
	EXPECT_ONE(L("[]"), "config: \"" P "\": expected an object, got an array");
	EXPECT_ONE(L("{'provider':" STATIC ",'attribute_actions':{}}"),
		   "config: \"" P ".policy\": missing required key");
	EXPECT_ONE(L("{'policy':'read'}"),
		   "config: \"" P ".policy\": unknown legacy policy \"read\"; expected allow-read or forbid");
	EXPECT_ONE(L("{'policy':'forbid','extra':1}"), "config: \"" P ".extra\"");
	EXPECT_ONE(L("{'policy':'allow-read','attribute_actions':{}}"),
		   "config: \"" P ".provider\": missing required key: policy allow-read reads legacy "
		   "items with the keys of the provider that wrote them");
	EXPECT_ONE(L("{'policy':'allow-read','provider':" STATIC "}"),
		   "config: \"" P ".attribute_actions\": missing required key: the legacy signature "
		   "covers the attributes by the actions they were written with");
	EXPECT_ONE(L("{'policy':'allow-read','provider':'static','attribute_actions':{}}"),
		   "config: \"" P ".provider\": expected an object, got a string");
	EXPECT_ONE(TBL(",'plaintext_policy':'allow-read'", "{'policy':'forbid'}"),
		   "config: \"" P "\": a table reads either legacy items or plaintext items, not both: "
		   "remove plaintext_policy \"allow-read\" (an item stripped of its legacy signature "
		   "would read as plaintext)");
	EXPECT_ONE("{" UP ",'keyrings':{'h':{'type':'aws-kms-hierarchical','key_store_table':'keys',"
		   "'kms_key_id':'" ARN "','branch_key_id':'b'}},'tables':{'users':{'keyring':'h',"
		   "'partition_key':'pk','attribute_actions':{'email':'ENCRYPT_AND_SIGN'},'search':"
		   "{'keyring':'h','standard_beacons':[{'name':'email','length':8}]},'legacy':"
		   "{'policy':'forbid'}}}}",
		   "config: \"" P "\": a table with a search block cannot read legacy items: they have "
		   "no beacons, so queries on a beacon would miss them");
}

#define PROV(p) L("{'policy':'allow-read','provider':" p ",'attribute_actions':{}}")

static void test_legacy_provider(void **state)
{
	(void)state;
	EXPECT_ONE(PROV("{'type':'most-recent'}"),
		   "config: \"" P ".provider.type\": unknown legacy provider type \"most-recent\"; "
		   "expected static, wrapped or aws-kms (a most-recent provider's items are not read)");
	EXPECT_ONE(PROV("{'encryption_key_file':'aes16'}"),
		   "config: \"" P ".provider.type\": missing required key");
	EXPECT_ONE(PROV("{'type':'static','signing_key_file':'hmac'}"),
		   "config: \"" P ".provider.encryption_key_file\": missing required key");
	EXPECT_ONE(PROV("{'type':'static','encryption_key_file':'aes16'}"),
		   "config: \"" P ".provider.signing_key_file\": missing required key");
	EXPECT_ONE(PROV("{'type':'static','encryption_key_file':'aes16','signing_key_file':'hmac',"
			"'wrapping_key_file':'aes16'}"),
		   "config: \"" P ".provider.wrapping_key_file\"");
	EXPECT_ONE(PROV("{'type':'static','encryption_key_file':'nope','signing_key_file':'hmac'}"),
		   "config: \"" P ".provider.encryption_key_file\": cannot read key file \"nope\": ");
	EXPECT_ONE(PROV("{'type':'static','encryption_key_file':'odd','signing_key_file':'hmac'}"),
		   "config: \"" P ".provider.encryption_key_file\": key file \"odd\" holds the base64 "
		   "of a key that is not 16, 24 or 32 bytes long (AES)");
	EXPECT_ONE(PROV("{'type':'static','encryption_key_file':'junk','signing_key_file':'hmac'}"),
		   "config: \"" P ".provider.encryption_key_file\": key file \"junk\" is neither the "
		   "base64 of a key nor a PEM key");
	EXPECT_ONE(PROV("{'type':'static','encryption_key_file':'rsa_priv.pem','signing_key_file':'hmac'}"),
		   "config: \"" P ".provider.encryption_key_file\": key file \"rsa_priv.pem\" holds a "
		   "PEM key; this provider needs an AES key (its base64)");
	EXPECT_ONE(PROV("{'type':'wrapped','wrapping_key_file':'rsa_pub.pem','signing_key_file':'hmac'}"),
		   "config: \"" P ".provider.wrapping_key_file\": key file \"rsa_pub.pem\" is PEM but "
		   "holds no readable private key (PKCS#8 or PKCS#1, unencrypted)");
	EXPECT_ONE(PROV("{'type':'wrapped','wrapping_key_file':'aes16','signing_key_file':'rsa_priv.pem'}"),
		   "config: \"" P ".provider.signing_key_file\": key file \"rsa_priv.pem\" is PEM but "
		   "holds no readable public key (\"BEGIN PUBLIC KEY\")");
	EXPECT_ONE(PROV("{'type':'wrapped','wrapping_key_file':'aes16','signing_key_file':'ec_pub.pem'}"),
		   "config: \"" P ".provider.signing_key_file\": key file \"ec_pub.pem\" holds a key "
		   "that is not RSA");
	EXPECT_ONE(PROV("{'type':'static','encryption_key_file':'aes16','signing_key_file':'hmac',"
			"'signing_algorithm':'HmacMD5'}"),
		   "config: \"" P ".provider.signing_algorithm\": unknown signing algorithm \"HmacMD5\"");
	EXPECT_ONE(PROV("{'type':'static','encryption_key_file':'aes16','signing_key_file':'hmac',"
			"'signing_algorithm':'SHA256withRSA'}"),
		   "config: \"" P ".provider.signing_algorithm\": signing algorithm \"SHA256withRSA\" "
		   "needs an RSA public key (PEM), but signing_key_file holds a symmetric key");
	EXPECT_ONE(PROV("{'type':'wrapped','wrapping_key_file':'aes16','signing_key_file':'rsa_pub.pem',"
			"'signing_algorithm':'HmacSHA256'}"),
		   "signing algorithm \"HmacSHA256\" needs an HMAC key (base64), but signing_key_file "
		   "holds an RSA public key");
	EXPECT_ONE(PROV("{'type':'aws-kms'}"), "config: \"" P ".provider.key_id\": missing required key");
	EXPECT_ONE(PROV("{'type':'aws-kms','key_id':'alias/legacy'}"),
		   "config: \"" P ".provider.key_id\": \"alias/legacy\" is not a KMS key ARN "
		   "(arn:aws:kms:REGION:ACCOUNT:key/ID); the legacy provider's key is named by its ARN");
	EXPECT_ONE(PROV("{'type':'aws-kms','key_id':'" ARN "','signing_key_file':'hmac'}"),
		   "config: \"" P ".provider.signing_key_file\"");
}

#define ACT(a) L("{'policy':'allow-read','provider':" STATIC ",'attribute_actions':" a "}")

static void test_legacy_actions(void **state)
{
	(void)state;
	EXPECT_ONE(ACT("{'default':'ENCRYPT'}"),
		   "config: \"" P ".attribute_actions.default\": unknown legacy action \"ENCRYPT\"; "
		   "expected ENCRYPT_AND_SIGN, SIGN_ONLY or DO_NOTHING");
	EXPECT_ONE(ACT("{'default':'SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT'}"),
		   "unknown legacy action \"SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT\"");
	EXPECT_ONE(ACT("{'encrypt':'a'}"),
		   "config: \"" P ".attribute_actions.encrypt\": expected a list of attribute names, got a string");
	EXPECT_ONE(ACT("{'encrypt':['a',3]}"),
		   "config: \"" P ".attribute_actions.encrypt.1\": expected a string, got a number");
	EXPECT_ONE(ACT("{'sign_only':['']}"),
		   "config: \"" P ".attribute_actions.sign_only.0\": must not be empty");
	EXPECT_ONE(ACT("{'do_nothing':['*amzn-ddb-map-sig*']}"),
		   "config: \"" P ".attribute_actions.do_nothing.0\": \"*amzn-ddb-map-sig*\" is the "
		   "legacy client's own attribute; it takes no action");
	EXPECT_ONE(ACT("{'encrypt':['a'],'do_nothing':['a']}"),
		   "config: \"" P ".attribute_actions.encrypt\": \"a\" is also listed in do_nothing; "
		   "an attribute has one legacy action");
	EXPECT_ONE(ACT("{'sign_only':['b','b']}"),
		   "config: \"" P ".attribute_actions.sign_only\": \"b\" is also listed in sign_only");
	EXPECT_ONE(ACT("{'encrypt':['sk']}"),
		   "config: \"" P ".attribute_actions.encrypt\": \"sk\" is a key attribute of the "
		   "table; the legacy client signs key attributes but never encrypts them");
	EXPECT_ONE(ACT("{'default':'SIGN_ONLY','everything':[]}"),
		   "config: \"" P ".attribute_actions.everything\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_legacy_valid),
		cmocka_unit_test(test_legacy_block),
		cmocka_unit_test(test_legacy_provider),
		cmocka_unit_test(test_legacy_actions),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
