/*
 * Unit tests for config/: a full config round-trips every field and default, each validation
 * rule has a negative test asserting its exact message (key path and reason), and several
 * problems in one file are all reported.  Files live in a mkdtemp folder under /tmp.
 * Run from the repository root (config/examples/ is read from there).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "proxy/base/log.h"

#include "tests/harness/config_expect.h"

static const char *const env_vars[] = {
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL",
	"DYNASEAL_LISTEN", "DYNASEAL_ADMIN_LISTEN", "DYNASEAL_UPSTREAM_ENDPOINT",
	"DYNASEAL_LOG_LEVEL", NULL,
};

/* ---- helpers --------------------------------------------------------------------------- */

static void write_file(const char *name, const void *data, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", g_dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	unsigned char raw[32], raw16[16];

	(void)state;
	snprintf(g_dir, sizeof(g_dir), "/tmp/test_config.XXXXXX");
	if (mkdtemp(g_dir) == NULL)
		return -1;
	snprintf(g_cfgpath, sizeof(g_cfgpath), "%s/dynaseal.json", g_dir);
	for (int i = 0; i < 32; i++)
		raw[i] = (unsigned char)i;
	memcpy(raw16, raw, 16);
	char sub[256];
	snprintf(sub, sizeof(sub), "%s/keys", g_dir);
	if (mkdir(sub, 0700) != 0)
		return -1;
	snprintf(sub, sizeof(sub), "%s/sub", g_dir);
	if (mkdir(sub, 0700) != 0)
		return -1;
	write_file("keys/raw.key", raw, 32);
	write_file("keys/b64.key", B64_32 "\n", strlen(B64_32) + 1);
	write_file("keys/short.key", raw16, 16);
	write_file("keys/b64short.key", B64_16 "\n", strlen(B64_16) + 1);
	write_file("keys/junk.key", "this is not a key at all\n", 25);
	write_file("ca.pem", "-----BEGIN CERTIFICATE-----\n", 28);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(g_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Each test starts from an environment without any variable config reads. */
static int clean_env(void **state)
{
	(void)state;
	for (int i = 0; env_vars[i] != NULL; i++)
		unsetenv(env_vars[i]);
	return 0;
}

/* ---- the full config and defaults --------------------------------------------------------- */

static void test_full_config_round_trips(void **state)
{
	char path[256];
	enum attr_action act;
	(void)state;
	struct config *cfg = EXPECT_OK(
		"{'listen':'0.0.0.0:8100','admin_listen':'[::1]:9911','workers':4,"
		"'upstream':{'endpoint':'http://127.0.0.1:4567/','region':'eu-west-1',"
		"  'ca_file':'ca.pem','connect_timeout_ms':1500,'response_timeout_ms':20000,"
		"  'pool_size':16},"
		"'kms':{'connect_timeout_ms':500,'response_timeout_ms':2500,'max_attempts':5},"
		"'limits':{'max_header_bytes':32768,'max_body_bytes':1048576,"
		"  'client_idle_timeout_ms':5000,'client_request_timeout_ms':7000},"
		"'cache':{'redis':'redis://:s3cret@127.0.0.1:6380/2','ttl_s':120,'max_entries':500},"
		"'log':{'level':'debug','format':'json','audit':'audit.log'},"
		"'keyrings':{"
		"  'local':{'type':'raw-aes','key_file':'keys/raw.key','key_namespace':'ns',"
		"    'key_name':'k1'},"
		"  'kms':{'type':'aws-kms','key_id':'" ARN "'},"
		"  'tenant':{'type':'aws-kms-hierarchical','key_store_table':'dynaseal-keys',"
		"    'kms_key_id':'" ARN "','branch_key_id_attribute':'tenant',"
		"    'branch_key_ids':{'zeta':'bk-z','acme':'bk-a','beta':'bk-b'},'ttl_s':120},"
		"  'fixed':{'type':'static-branch-key','branch_key_id':'bk1',"
		"    'branch_key_version':'" UUID "','branch_key':'" B64_32 "'}},"
		"'tables':{"
		"  'users':{'keyring':'kms','logical_name':'users-v2','partition_key':'pk',"
		"    'sort_key':'sk',"
		"    'algorithm_suite':'AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384',"
		"    'attribute_actions':{'ssn':'ENCRYPT_AND_SIGN','email':'ENCRYPT_AND_SIGN',"
		"      'pk':'SIGN_ONLY','note':'DO_NOTHING','age':'SIGN_ONLY'},"
		"    'allowed_unsigned_attributes':['last_seen','hits'],"
		"    'allowed_unsigned_attribute_prefix':'u_','plaintext_policy':'allow-read'},"
		"  'orders':{'keyring':'tenant','partition_key':'tenant','algorithm_suite':'0x6700',"
		"    'attribute_actions':{'total':'SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT',"
		"      'card':'ENCRYPT_AND_SIGN'}},"
		"  'fixed-t':{'keyring':'fixed','partition_key':'id','algorithm_suite':'6701'},"
		"  'local.t':{'keyring':'local','partition_key':'id'}}}");

	snprintf(path, sizeof(path), "%s/dynaseal.json", g_dir);
	assert_string_equal(cfg->path, path);
	assert_string_equal(cfg->listen.host, "0.0.0.0");
	assert_int_equal(cfg->listen.port, 8100);
	assert_string_equal(cfg->admin_listen.host, "::1");
	assert_int_equal(cfg->admin_listen.port, 9911);
	assert_int_equal(cfg->has_admin_listen, 1);
	assert_int_equal(cfg->workers, 4);

	assert_string_equal(cfg->upstream_endpoint, "http://127.0.0.1:4567");
	assert_int_equal(cfg->upstream_tls, 0);
	assert_string_equal(cfg->upstream_addr.host, "127.0.0.1");
	assert_int_equal(cfg->upstream_addr.port, 4567);
	assert_string_equal(cfg->upstream_region, "eu-west-1");
	snprintf(path, sizeof(path), "%s/ca.pem", g_dir);
	assert_string_equal(cfg->upstream_ca_file, path);
	assert_int_equal(cfg->upstream_connect_timeout_ms, 1500);
	assert_int_equal(cfg->upstream_response_timeout_ms, 20000);
	assert_int_equal(cfg->upstream_pool_size, 16);
	assert_int_equal(cfg->kms_connect_timeout_ms, 500);
	assert_int_equal(cfg->kms_response_timeout_ms, 2500);
	assert_int_equal(cfg->kms_max_attempts, 5);

	assert_int_equal(cfg->max_header_bytes, 32768);
	assert_int_equal(cfg->max_body_bytes, 1048576);
	assert_int_equal(cfg->client_idle_timeout_ms, 5000);
	assert_int_equal(cfg->client_request_timeout_ms, 7000);
	assert_string_equal(cfg->cache_redis, "redis://:s3cret@127.0.0.1:6380/2");
	assert_int_equal(cfg->cache_ttl_s, 120);
	assert_int_equal(cfg->cache_max_entries, 500);
	assert_int_equal(cfg->log_level, LOG_DEBUG);
	assert_int_equal(cfg->log_json, 1);
	snprintf(path, sizeof(path), "%s/audit.log", g_dir);
	assert_string_equal(cfg->audit_log, path);

	/* Keyrings, sorted by name: fixed, kms, local, tenant. */
	assert_int_equal(cfg->keyrings_len, 4);
	const struct config_keyring *fixed = &cfg->keyrings[0], *kms = &cfg->keyrings[1];
	const struct config_keyring *local = &cfg->keyrings[2], *tenant = &cfg->keyrings[3];
	assert_string_equal(fixed->name, "fixed");
	assert_int_equal(fixed->type, KEYRING_STATIC_BRANCH_KEY);
	assert_string_equal(fixed->branch_key_id, "bk1");
	assert_string_equal(fixed->branch_key_version, UUID);
	assert_int_equal(fixed->has_key_material, 1);
	for (int i = 0; i < 32; i++)
		assert_int_equal(fixed->key_material[i], i);
	assert_string_equal(kms->name, "kms");
	assert_int_equal(kms->type, KEYRING_AWS_KMS);
	assert_string_equal(kms->key_id, ARN);
	assert_int_equal(kms->has_key_material, 0);
	assert_string_equal(local->name, "local");
	assert_int_equal(local->type, KEYRING_RAW_AES);
	snprintf(path, sizeof(path), "%s/keys/raw.key", g_dir);
	assert_string_equal(local->key_file, path);
	assert_string_equal(local->key_namespace, "ns");
	assert_string_equal(local->key_name, "k1");
	assert_int_equal(local->has_key_material, 1);
	for (int i = 0; i < 32; i++)
		assert_int_equal(local->key_material[i], i);
	assert_string_equal(tenant->name, "tenant");
	assert_int_equal(tenant->type, KEYRING_AWS_KMS_HIERARCHICAL);
	assert_string_equal(tenant->key_store_table, "dynaseal-keys");
	assert_string_equal(tenant->kms_key_id, ARN);
	assert_null(tenant->branch_key_id);
	assert_string_equal(tenant->branch_key_id_attribute, "tenant");
	assert_int_equal(tenant->branch_key_map_len, 3);
	assert_string_equal(tenant->branch_key_map_from[0], "acme");
	assert_string_equal(tenant->branch_key_map_to[0], "bk-a");
	assert_string_equal(tenant->branch_key_map_from[1], "beta");
	assert_string_equal(tenant->branch_key_map_to[1], "bk-b");
	assert_string_equal(tenant->branch_key_map_from[2], "zeta");
	assert_string_equal(tenant->branch_key_map_to[2], "bk-z");
	assert_int_equal(tenant->ttl_s, 120);

	/* Tables. */
	assert_int_equal(cfg->tables_len, 4);
	const struct config_table *users = config_find_table(cfg, "users", 5);
	assert_non_null(users);
	assert_string_equal(users->name, "users");
	/* A table's ARN names it too (DynamoDB accepts one in TableName). */
	assert_ptr_equal(config_find_table(cfg, "arn:aws:dynamodb:eu-west-1:111122223333:table/users", 51), users);
	assert_ptr_equal(config_find_table(cfg, "arn:aws-cn:dynamodb:cn-north-1:1:table/users/index/i", 52), users);
	assert_null(config_find_table(cfg, "arn:aws:dynamodb:eu-west-1:111122223333:table/users2", 52));
	assert_null(config_find_table(cfg, "table/users", 11));
	/* Not an ARN, but it names the table after ":table/": treated as the table (refused or
	 * encrypted by dynaseal; DynamoDB refuses such a name anyway), never passed through. */
	assert_ptr_equal(config_find_table(cfg, "xarn:aws:dynamodb:r:1:table/users", 33), users);
	assert_ptr_equal(config_find_table(cfg, ":table/users", 12), users);
	/* Every ":table/" counts, not only the first. */
	assert_ptr_equal(config_find_table(cfg, ":x:table/u:x:table/users", 24), users);
	assert_null(config_find_table(cfg, ":x:table/u:x:table/users2", 25));
	assert_string_equal(users->logical_name, "users-v2");
	assert_string_equal(users->keyring, "kms");
	assert_ptr_equal(users->keyring_ref, kms);
	assert_string_equal(users->partition_key, "pk");
	assert_string_equal(users->sort_key, "sk");
	assert_int_equal(users->algorithm_suite, 0x6701);
	assert_int_equal(users->plaintext_policy, PLAINTEXT_ALLOW_READ);
	assert_string_equal(users->allowed_unsigned_prefix, "u_");
	assert_int_equal(users->allowed_unsigned_len, 2);
	/* Five listed plus the unlisted sort key, added as SIGN_ONLY; kept sorted. */
	assert_int_equal(users->actions_len, 6);
	for (size_t i = 1; i < users->actions_len; i++)
		assert_true(strcmp(users->actions[i - 1].name, users->actions[i].name) < 0);
	assert_int_equal(config_table_action(users, "ssn", 3, &act), 0);
	assert_int_equal(act, ACTION_ENCRYPT_AND_SIGN);
	assert_int_equal(config_table_action(users, "email", 5, &act), 0);
	assert_int_equal(act, ACTION_ENCRYPT_AND_SIGN);
	assert_int_equal(config_table_action(users, "age", 3, &act), 0);
	assert_int_equal(act, ACTION_SIGN_ONLY);
	assert_int_equal(config_table_action(users, "pk", 2, &act), 0);
	assert_int_equal(act, ACTION_SIGN_ONLY);
	assert_int_equal(config_table_action(users, "sk", 2, &act), 0);
	assert_int_equal(act, ACTION_SIGN_ONLY);
	assert_true(config_table_is_key(users, "pk", 2));
	assert_true(config_table_is_key(users, "sk", 2));
	assert_false(config_table_is_key(users, "s", 1));
	assert_false(config_table_is_key(users, "skx", 3));
	assert_false(config_table_is_key(users, "age", 3));
	assert_int_equal(config_table_action(users, "note", 4, &act), 0);
	assert_int_equal(act, ACTION_DO_NOTHING);
	act = ACTION_ENCRYPT_AND_SIGN;
	assert_int_equal(config_table_action(users, "last_seen", 9, &act), 0);
	assert_int_equal(act, ACTION_DO_NOTHING);
	act = ACTION_ENCRYPT_AND_SIGN;
	assert_int_equal(config_table_action(users, "hits", 4, &act), 0);
	assert_int_equal(act, ACTION_DO_NOTHING);
	act = ACTION_ENCRYPT_AND_SIGN;
	assert_int_equal(config_table_action(users, "u_views", 7, &act), 0);
	assert_int_equal(act, ACTION_DO_NOTHING);
	assert_int_equal(config_table_action(users, "u", 1, &act), -1);
	assert_int_equal(config_table_action(users, "password", 8, &act), -1);

	const struct config_table *orders = config_find_table(cfg, "orders", 6);
	assert_non_null(orders);
	assert_string_equal(orders->logical_name, "orders");
	assert_ptr_equal(orders->keyring_ref, tenant);
	assert_int_equal(orders->algorithm_suite, 0x6700);
	assert_null(orders->sort_key);
	assert_int_equal(orders->plaintext_policy, PLAINTEXT_FORBID);
	/* With a SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT attribute the unlisted key takes it too. */
	assert_int_equal(config_table_action(orders, "tenant", 6, &act), 0);
	assert_int_equal(act, ACTION_SIGN_AND_INCLUDE_IN_EC);
	assert_int_equal(config_table_action(orders, "total", 5, &act), 0);
	assert_int_equal(act, ACTION_SIGN_AND_INCLUDE_IN_EC);

	const struct config_table *fixed_t = config_find_table(cfg, "fixed-t", 7);
	assert_non_null(fixed_t);
	assert_int_equal(fixed_t->algorithm_suite, 0x6701);
	assert_ptr_equal(fixed_t->keyring_ref, fixed);
	const struct config_table *local_t = config_find_table(cfg, "local.t", 7);
	assert_non_null(local_t);
	assert_ptr_equal(local_t->keyring_ref, local);
	config_free(cfg);
}

static void test_defaults(void **state)
{
	enum attr_action act;
	(void)state;
	struct config *cfg = EXPECT_OK(
		"{'upstream':{'region':'us-west-2'},"
		" 'keyrings':{'k':{'type':'raw-aes','key_file':'keys/raw.key'},"
		"   'h':{'type':'aws-kms-hierarchical','key_store_table':'keys','kms_key_id':'" ARN "',"
		"        'branch_key_id':'bk'}},"
		" 'tables':{'tab1':{'keyring':'k','partition_key':'id'}}}");

	assert_string_equal(cfg->listen.host, "127.0.0.1");
	assert_int_equal(cfg->listen.port, 8000);
	assert_string_equal(cfg->admin_listen.host, "127.0.0.1");
	assert_int_equal(cfg->admin_listen.port, 9901);
	assert_int_equal(cfg->has_admin_listen, 1);
	assert_int_equal(cfg->workers, 0);
	assert_string_equal(cfg->upstream_endpoint, "https://dynamodb.us-west-2.amazonaws.com");
	assert_int_equal(cfg->upstream_tls, 1);
	assert_string_equal(cfg->upstream_addr.host, "dynamodb.us-west-2.amazonaws.com");
	assert_int_equal(cfg->upstream_addr.port, 443);
	assert_string_equal(cfg->upstream_region, "us-west-2");
	assert_null(cfg->upstream_ca_file);
	assert_int_equal(cfg->upstream_connect_timeout_ms, 3000);
	assert_int_equal(cfg->upstream_response_timeout_ms, 30000);
	assert_int_equal(cfg->upstream_pool_size, 64);
	assert_int_equal(cfg->kms_connect_timeout_ms, 3000);
	assert_int_equal(cfg->kms_response_timeout_ms, 10000);
	assert_int_equal(cfg->kms_max_attempts, 3);
	assert_int_equal(cfg->max_header_bytes, 65536);
	assert_int_equal(cfg->max_body_bytes, 16777216);
	assert_int_equal(cfg->client_idle_timeout_ms, 60000);
	assert_int_equal(cfg->client_request_timeout_ms, 30000);
	assert_null(cfg->cache_redis);
	assert_int_equal(cfg->cache_ttl_s, 300);
	assert_int_equal(cfg->cache_max_entries, 10000);
	assert_int_equal(cfg->log_level, LOG_INFO);
	assert_int_equal(cfg->log_json, 0);
	assert_null(cfg->audit_log);

	const struct config_keyring *h = &cfg->keyrings[0], *k = &cfg->keyrings[1];
	assert_string_equal(h->name, "h");
	assert_int_equal(h->ttl_s, 600);
	assert_string_equal(h->branch_key_id, "bk");
	assert_int_equal(h->branch_key_map_len, 0);
	assert_string_equal(k->key_namespace, "dynaseal");
	assert_string_equal(k->key_name, "k");

	const struct config_table *t = config_find_table(cfg, "tab1", 4);
	assert_non_null(t);
	assert_string_equal(t->logical_name, "tab1");
	assert_int_equal(t->algorithm_suite, 0x6700);
	assert_int_equal(t->plaintext_policy, PLAINTEXT_FORBID);
	assert_null(t->sort_key);
	assert_null(t->allowed_unsigned_prefix);
	assert_int_equal(t->allowed_unsigned_len, 0);
	assert_int_equal(t->actions_len, 1);
	assert_int_equal(config_table_action(t, "id", 2, &act), 0);
	assert_int_equal(act, ACTION_SIGN_ONLY);
	assert_int_equal(config_table_action(t, "other", 5, &act), -1);
	config_free(cfg);
}

static void test_config_default(void **state)
{
	(void)state;
	struct config *cfg = config_default();

	assert_non_null(cfg);
	assert_int_equal(cfg->listen.port, 8000);
	assert_int_equal(cfg->admin_listen.port, 9901);
	assert_int_equal(cfg->tables_len, 0);
	assert_int_equal(cfg->keyrings_len, 0);
	assert_null(cfg->upstream_endpoint);
	assert_null(config_find_table(cfg, "users", 5));
	config_free(cfg);

	setenv("AWS_REGION", "eu-central-1", 1);
	cfg = config_default();
	assert_non_null(cfg);
	assert_string_equal(cfg->upstream_endpoint, "https://dynamodb.eu-central-1.amazonaws.com");
	assert_string_equal(cfg->upstream_region, "eu-central-1");
	assert_int_equal(cfg->upstream_tls, 1);
	config_free(cfg);
}

static void test_suite_spellings(void **state)
{
	(void)state;
	const char *spellings[][2] = {
		{ "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384", "26368" },
		{ "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384", "26369" },
		{ "0x6700", "26368" }, { "6700", "26368" }, { "0X6701", "26369" }, { "6701", "26369" },
	};
	for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
		char json[512];
		snprintf(json, sizeof(json), "{" UP "," KMS_KR ",'tables':{'tab1':{'keyring':'k',"
			 "'partition_key':'id','algorithm_suite':'%s'}}}", spellings[i][0]);
		struct config *cfg = EXPECT_OK(json);
		assert_int_equal(cfg->tables[0].algorithm_suite, atoi(spellings[i][1]));
		config_free(cfg);
	}
}

/* ---- unknown keys, types, syntax --------------------------------------------------------- */

static void test_unknown_key_top(void **state)
{
	(void)state;
	EXPECT_ONE("{" UP ",'lisen':'127.0.0.1:8000'}", "config: \"lisen\": unknown key; did you mean \"listen\"?");
	EXPECT_ONE("{" UP ",'zzz':1}", "config: \"zzz\": unknown key; expected one of: listen, admin_listen, workers");
}

static void test_unknown_key_nested(void **state)
{
	(void)state;
	EXPECT_ONE("{'upstream':{'endpoint':'https://dynamodb.us-east-1.amazonaws.com','bogus':1}}",
		   "\"upstream.bogus\": unknown key; expected one of: endpoint, region, ca_file");
	EXPECT_ONE("{" UP ",'cache':{'ttl':5}}", "\"cache.ttl\": unknown key; did you mean \"ttl_s\"?");
	EXPECT_ONE("{" UP ",'log':{'levl':'info'}}", "\"log.levl\": unknown key; did you mean \"level\"?");
	EXPECT_ONE("{" UP ",'limits':{'max_body':1}}", "\"limits.max_body\": unknown key");
	EXPECT_ONE("{" UP ",'keyrings':{'k':{'type':'aws-kms','key_id':'" ARN "','key_file':'x'}}}",
		   "\"keyrings.k.key_file\": unknown key; expected one of: type, key_id");
	EXPECT_ONE("{" UP "," KMS_KR ",'tables':{'users':{'keyring':'k','partition_key':'pk',"
		   "'colour':'red'}}}", "\"tables.users.colour\": unknown key");
}

static void test_wrong_types(void **state)
{
	(void)state;
	EXPECT_ONE("{" UP ",'listen':8000}", "config: \"listen\": expected a string, got a number");
	EXPECT_ONE("{" UP ",'workers':'4'}", "config: \"workers\": expected an integer, got a string");
	EXPECT_ONE("{" UP ",'workers':1.5}", "config: \"workers\": expected an integer, got 1.5");
	EXPECT_ONE("{" UP ",'tables':[]}", "config: \"tables\": expected an object, got an array");
	EXPECT_ONE("{" UP ",'cache':{'redis':true}}", "\"cache.redis\": expected a string, got a boolean");
	EXPECT_ONE("{" UP "," KMS_KR ",'tables':{'users':{'keyring':'k','partition_key':'pk',"
		   "'allowed_unsigned_attributes':'x'}}}",
		   "\"tables.users.allowed_unsigned_attributes\": expected an array of attribute names, got a string");
	EXPECT_ONE("{" UP "," KMS_KR ",'tables':{'users':{'keyring':'k','partition_key':'pk',"
		   "'allowed_unsigned_attributes':['a',7]}}}",
		   "\"tables.users.allowed_unsigned_attributes[1]\": expected a string, got a number");
	EXPECT_ONE("{" UP ",'listen':''}", "\"listen\": must not be empty");
}

static void test_json_syntax(void **state)
{
	(void)state;
	EXPECT_ONE("{\n 'listen': '127.0.0.1:8000',,\n}", "dynaseal.json: not valid JSON near line 2");
	EXPECT_ONE("[1,2]", "dynaseal.json: expected a JSON object at the top level, got an array");
	EXPECT_ONE("{" UP "} x", "dynaseal.json: unexpected text after the JSON object at line 1");
	EXPECT_ONE("", "not valid JSON");
	EXPECT_ONE("{" UP ",'log':{'level':'info\\u0000x'}}",
		   "dynaseal.json: a string holds the escape \\u0000 (U+0000), which no name or value "
		   "of the config may hold");
	EXPECT_ONE("{" UP ",'listen':'127.0.0.1:8001','listen':'127.0.0.1:8002'}",
		   "config: \"listen\": duplicate key; each key may appear only once");
}

/* ---- addresses ------------------------------------------------------------------------ */

static void test_bad_address(void **state)
{
	(void)state;
	EXPECT_ONE("{" UP ",'listen':'localhost'}",
		   "config: \"listen\": bad address \"localhost\" (missing \":port\"); expected host:port, [IPv6]:port or :port");
	EXPECT_ONE("{" UP ",'listen':'::1:8000'}", "\"listen\": bad address \"::1:8000\" (an IPv6 address needs brackets");
	EXPECT_ONE("{" UP ",'listen':'[zz]:8000'}", "not an IPv6 address");
	EXPECT_ONE("{" UP ",'admin_listen':'host:http'}", "\"admin_listen\": bad address \"host:http\" (the port is not a number)");
	EXPECT_ONE("{" UP ",'listen':'bad host:80'}", "(not a host name or IP address)");
}

static void test_port_out_of_range(void **state)
{
	(void)state;
	EXPECT_ONE("{" UP ",'listen':'127.0.0.1:70000'}",
		   "config: \"listen\": port out of range in \"127.0.0.1:70000\"; expected 1 to 65535");
	EXPECT_ONE("{" UP ",'listen':'127.0.0.1:0'}", "\"listen\": port out of range in \"127.0.0.1:0\"; expected 1 to 65535");
	EXPECT_ONE("{" UP ",'admin_listen':'127.0.0.1:99999999999999999999'}",
		   "\"admin_listen\": port out of range in \"127.0.0.1:99999999999999999999\"; expected 0 to 65535 (0 turns it off)");
	EXPECT_ONE("{'upstream':{'endpoint':'https://example.com:0'}}",
		   "\"upstream.endpoint\": port out of range in \"https://example.com:0\"; expected 1 to 65535");

	/* Port 0 turns the admin endpoint off. */
	struct config *cfg = EXPECT_OK("{" UP ",'admin_listen':'127.0.0.1:0'}");
	assert_int_equal(cfg->has_admin_listen, 0);
	config_free(cfg);
}

static void test_parse_addr(void **state)
{
	struct config_addr a;
	(void)state;

	assert_int_equal(config_parse_addr("10.1.2.3:80", &a), 0);
	assert_string_equal(a.host, "10.1.2.3");
	assert_int_equal(a.port, 80);
	assert_int_equal(config_parse_addr("[2001:db8::1]:443", &a), 0);
	assert_string_equal(a.host, "2001:db8::1");
	assert_int_equal(a.port, 443);
	assert_int_equal(config_parse_addr(":9000", &a), 0);
	assert_string_equal(a.host, "0.0.0.0");
	assert_int_equal(a.port, 9000);
	assert_int_equal(config_parse_addr("my-host.internal:65535", &a), 0);
	assert_int_equal(a.port, 65535);
	assert_int_equal(config_parse_addr("host", &a), -1);
	assert_int_equal(config_parse_addr("host:65536", &a), -1);
	assert_int_equal(config_parse_addr("host:", &a), -1);
	assert_int_equal(config_parse_addr("host:-1", &a), -1);
	assert_int_equal(config_parse_addr("[::1]", &a), -1);
	assert_int_equal(config_parse_addr("[::1:80", &a), -1);
	assert_int_equal(config_parse_addr("a:b:80", &a), -1);
	assert_int_equal(config_parse_addr(NULL, &a), -1);
}

static void test_admin_same_as_listen(void **state)
{
	(void)state;
	EXPECT_ONE("{" UP ",'listen':'127.0.0.1:8000','admin_listen':'localhost:8000'}",
		   "config: \"admin_listen\": same address as \"listen\" (127.0.0.1:8000)");
}

/* ---- upstream ------------------------------------------------------------------------- */

static void test_endpoint_forms(void **state)
{
	(void)state;
	struct config *cfg = EXPECT_OK("{'upstream':{'endpoint':'https://dynamodb.eu-west-1.amazonaws.com/'}}");
	assert_string_equal(cfg->upstream_endpoint, "https://dynamodb.eu-west-1.amazonaws.com");
	assert_int_equal(cfg->upstream_tls, 1);
	assert_int_equal(cfg->upstream_addr.port, 443);
	/* No region in the file and none in the environment: the client's scope is used. */
	assert_null(cfg->upstream_region);
	config_free(cfg);

	cfg = EXPECT_OK("{'upstream':{'endpoint':'http://ddb.local'}}");
	assert_int_equal(cfg->upstream_tls, 0);
	assert_string_equal(cfg->upstream_addr.host, "ddb.local");
	assert_int_equal(cfg->upstream_addr.port, 80);
	config_free(cfg);

	cfg = EXPECT_OK("{'upstream':{'endpoint':'https://[::1]:8443'}}");
	assert_string_equal(cfg->upstream_addr.host, "::1");
	assert_int_equal(cfg->upstream_addr.port, 8443);
	config_free(cfg);

	cfg = EXPECT_OK("{'upstream':{'region':'cn-north-1'}}");
	assert_string_equal(cfg->upstream_endpoint, "https://dynamodb.cn-north-1.amazonaws.com.cn");
	config_free(cfg);
}

static void test_bad_endpoint(void **state)
{
	(void)state;
	EXPECT_ONE("{'upstream':{'endpoint':'ftp://example.com'}}",
		   "config: \"upstream.endpoint\": bad endpoint \"ftp://example.com\": it must start with http:// or https://");
	EXPECT_ONE("{'upstream':{'endpoint':'https://example.com/v1'}}",
		   "\"upstream.endpoint\": bad endpoint \"https://example.com/v1\": it must not have a path other than \"/\"");
	EXPECT_ONE("{'upstream':{'endpoint':'https://example.com?x=1'}}", "it must not have a query or fragment");
	EXPECT_ONE("{'upstream':{'endpoint':'https://'}}", "the host is missing");
	EXPECT_ONE("{'upstream':{'endpoint':'https://:443'}}", "the host is missing");
	EXPECT_ONE("{'upstream':{'region':'US East'}}",
		   "config: \"upstream.region\": \"US East\" is not an AWS region name such as us-east-1");

	/* User information may be a password: the value is not echoed. */
	struct config_problems p;
	struct config *cfg = parse("{'upstream':{'endpoint':'https://user:hunter2@example.com'}}", &p);
	assert_null(cfg);
	assert_int_equal(p.len, 1);
	assert_true(has_problem(&p, "it must not contain a user name or password"));
	assert_false(has_problem(&p, "hunter2"));
	config_problems_free(&p);
}

static void test_missing_upstream(void **state)
{
	(void)state;
	const char *msg = "config: \"upstream.endpoint\": missing; set upstream.endpoint (e.g. "
		"\"https://dynamodb.us-east-1.amazonaws.com\") or upstream.region in the config "
		"file, or AWS_REGION in the environment";
	EXPECT_ONE("{}", msg);
	/* The application's endpoint variables point at the sidecar: they are never used. */
	setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000", 1);
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:8000", 1);
	EXPECT_ONE("{}", msg);
}

static void test_region_from_env(void **state)
{
	(void)state;
	setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000", 1);
	setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
	struct config *cfg = EXPECT_OK("{}");
	assert_string_equal(cfg->upstream_endpoint, "https://dynamodb.ap-south-1.amazonaws.com");
	assert_string_equal(cfg->upstream_region, "ap-south-1");
	config_free(cfg);

	/* AWS_REGION wins over AWS_DEFAULT_REGION; the file's region wins over both. */
	setenv("AWS_REGION", "us-east-2", 1);
	cfg = EXPECT_OK("{}");
	assert_string_equal(cfg->upstream_endpoint, "https://dynamodb.us-east-2.amazonaws.com");
	config_free(cfg);
	cfg = EXPECT_OK("{'upstream':{'region':'sa-east-1'}}");
	assert_string_equal(cfg->upstream_endpoint, "https://dynamodb.sa-east-1.amazonaws.com");
	config_free(cfg);

	setenv("AWS_REGION", "not a region", 1);
	EXPECT_ONE("{}", "config: AWS_REGION: \"not a region\" is not an AWS region name");
}

static void test_self_loop(void **state)
{
	(void)state;
	EXPECT_ONE("{'upstream':{'endpoint':'http://localhost:8000'}}",
		   "config: \"upstream.endpoint\": points at dynaseal's own listen address 127.0.0.1:8000");
	EXPECT_ONE("{'listen':'[::1]:7000','upstream':{'endpoint':'http://127.0.0.1:7000'}}",
		   "points at dynaseal's own listen address [::1]:7000");
	EXPECT_ONE("{'listen':':7000','upstream':{'endpoint':'http://127.0.0.2:7000'}}",
		   "points at dynaseal's own listen address 0.0.0.0:7000");
	EXPECT_ONE("{'listen':'127.0.0.1:7000','upstream':{'endpoint':'https://[::1]:7000'}}",
		   "points at dynaseal's own listen address 127.0.0.1:7000");
	EXPECT_ONE("{'upstream':{'endpoint':'http://127.0.0.1:9901'}}",
		   "\"upstream.endpoint\": points at dynaseal's own admin_listen address 127.0.0.1:9901");
	/* Another port, or another host, is fine. */
	struct config *cfg = EXPECT_OK("{'upstream':{'endpoint':'http://localhost:8001'}}");
	config_free(cfg);
	cfg = EXPECT_OK("{'listen':'10.0.0.1:8000','upstream':{'endpoint':'http://127.0.0.1:8000'}}");
	config_free(cfg);
}

/* ---- environment overrides ------------------------------------------------------------ */

static void test_env_overrides(void **state)
{
	(void)state;
	setenv("DYNASEAL_LISTEN", "127.0.0.1:18000", 1);
	setenv("DYNASEAL_ADMIN_LISTEN", ":0", 1);
	setenv("DYNASEAL_UPSTREAM_ENDPOINT", "http://127.0.0.1:4567", 1);
	setenv("DYNASEAL_LOG_LEVEL", "warn", 1);
	struct config *cfg = EXPECT_OK("{'listen':'127.0.0.1:8000','admin_listen':'127.0.0.1:9901',"
				       "'upstream':{'endpoint':'https://dynamodb.us-east-1.amazonaws.com'},"
				       "'log':{'level':'debug'}}");
	assert_int_equal(cfg->listen.port, 18000);
	assert_int_equal(cfg->has_admin_listen, 0);
	assert_string_equal(cfg->upstream_endpoint, "http://127.0.0.1:4567");
	assert_int_equal(cfg->upstream_tls, 0);
	assert_int_equal(cfg->upstream_addr.port, 4567);
	assert_int_equal(cfg->log_level, LOG_WARN);
	config_free(cfg);

	/* The override also supplies a missing endpoint, and an empty value counts as unset. */
	setenv("DYNASEAL_LISTEN", "", 1);
	cfg = EXPECT_OK("{}");
	assert_int_equal(cfg->listen.port, 8000);
	assert_string_equal(cfg->upstream_endpoint, "http://127.0.0.1:4567");
	config_free(cfg);
}

static void test_env_override_problems(void **state)
{
	(void)state;
	setenv("DYNASEAL_LISTEN", "nope", 1);
	EXPECT_ONE("{" UP "}", "config: DYNASEAL_LISTEN: bad address \"nope\" (missing \":port\")");
	unsetenv("DYNASEAL_LISTEN");
	setenv("DYNASEAL_ADMIN_LISTEN", "127.0.0.1:65536", 1);
	EXPECT_ONE("{" UP "}", "config: DYNASEAL_ADMIN_LISTEN: port out of range in \"127.0.0.1:65536\"");
	unsetenv("DYNASEAL_ADMIN_LISTEN");
	setenv("DYNASEAL_LOG_LEVEL", "loud", 1);
	EXPECT_ONE("{" UP "}", "config: DYNASEAL_LOG_LEVEL: unknown log level \"loud\"; expected error, warn, info or debug");
	unsetenv("DYNASEAL_LOG_LEVEL");
	setenv("DYNASEAL_UPSTREAM_ENDPOINT", "ftp://x", 1);
	EXPECT_ONE("{" UP "}", "config: DYNASEAL_UPSTREAM_ENDPOINT: bad endpoint \"ftp://x\"");
	setenv("DYNASEAL_UPSTREAM_ENDPOINT", "http://localhost:8000", 1);
	EXPECT_ONE("{" UP "}", "config: DYNASEAL_UPSTREAM_ENDPOINT: points at dynaseal's own listen address 127.0.0.1:8000");
}

/* ---- keyrings ------------------------------------------------------------------------- */

static void test_keyring_type(void **state)
{
	(void)state;
	EXPECT_ONE("{" UP ",'keyrings':{'k':{'key_id':'" ARN "'}}}", "config: \"keyrings.k.type\": missing required key");
	EXPECT_ONE("{" UP ",'keyrings':{'k':{'type':'aes'}}}",
		   "config: \"keyrings.k.type\": unknown keyring type \"aes\"; expected raw-aes, aws-kms, aws-kms-hierarchical or static-branch-key");
	EXPECT_ONE("{" UP ",'keyrings':{'k':'raw-aes'}}", "\"keyrings.k\": expected an object, got a string");
}

static void test_kms_keyring(void **state)
{
	(void)state;
	EXPECT_ONE("{" UP ",'keyrings':{'kms':{'type':'aws-kms'}}}", "config: \"keyrings.kms.key_id\": missing required key");
	EXPECT_ONE("{" UP ",'keyrings':{'kms':{'type':'aws-kms','key_id':'arn:aws:kms:us-east-1:111122223333:alias/'}}}",
		   "\"keyrings.kms.key_id\": \"arn:aws:kms:us-east-1:111122223333:alias/\" is not a KMS key ARN or alias");
	EXPECT_ONE("{" UP ",'keyrings':{'kms':{'type':'aws-kms','key_id':'1234abcd-12ab'}}}", "is not a KMS key ARN or alias");
	EXPECT_ONE("{" UP ",'keyrings':{'kms':{'type':'aws-kms','key_id':'arn:aws:s3:us-east-1:1:key/x'}}}",
		   "is not a KMS key ARN or alias");
}

static void test_raw_aes_key_files(void **state)
{
	(void)state;
	struct config *cfg = EXPECT_OK("{" UP ",'keyrings':{'a':{'type':'raw-aes','key_file':'keys/raw.key'},"
				       "'b':{'type':'raw-aes','key_file':'keys/b64.key'}}}");
	assert_int_equal(cfg->keyrings[0].has_key_material, 1);
	assert_int_equal(cfg->keyrings[1].has_key_material, 1);
	/* Raw and base64 files of the same key load the same bytes. */
	assert_memory_equal(cfg->keyrings[0].key_material, cfg->keyrings[1].key_material, 32);
	for (int i = 0; i < 32; i++)
		assert_int_equal(cfg->keyrings[1].key_material[i], i);
	config_free(cfg);

	char msg[512];
	snprintf(msg, sizeof(msg), "config: \"keyrings.a.key_file\": cannot read key file \"%s/keys/missing.key\": No such file or directory", g_dir);
	EXPECT_ONE("{" UP ",'keyrings':{'a':{'type':'raw-aes','key_file':'keys/missing.key'}}}", msg);
	EXPECT_ONE("{" UP ",'keyrings':{'a':{'type':'raw-aes','key_file':'keys/short.key'}}}",
		   "\"keyrings.a.key_file\": key file");
	EXPECT_ONE("{" UP ",'keyrings':{'a':{'type':'raw-aes','key_file':'keys/short.key'}}}",
		   "short.key\" holds 16 bytes; expected 32 raw bytes or their base64 (44 characters)");
	EXPECT_ONE("{" UP ",'keyrings':{'a':{'type':'raw-aes','key_file':'keys/b64short.key'}}}",
		   "b64short.key\" holds the base64 of 16 bytes; expected 32 raw bytes or their base64");
	EXPECT_ONE("{" UP ",'keyrings':{'a':{'type':'raw-aes','key_file':'keys/junk.key'}}}",
		   "junk.key\" holds 25 bytes; expected 32 raw bytes");
	EXPECT_ONE("{" UP ",'keyrings':{'a':{'type':'raw-aes','key_file':'keys'}}}",
		   "\"keyrings.a.key_file\": cannot read key file");
	EXPECT_ONE("{" UP ",'keyrings':{'a':{'type':'raw-aes'}}}", "\"keyrings.a.key_file\": missing required key");
	/* A FIFO is refused without blocking on open. */
	char fifo[256];
	snprintf(fifo, sizeof(fifo), "%s/keys/fifo.key", g_dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	EXPECT_ONE("{" UP ",'keyrings':{'a':{'type':'raw-aes','key_file':'keys/fifo.key'}}}",
		   "fifo.key\": not a regular file");
	assert_int_equal(unlink(fifo), 0);
	EXPECT_ONE("{" UP ",'keyrings':{'a':{'type':'raw-aes','key_file':'keys/raw.key','key_namespace':'aws-kms'}}}",
		   "\"keyrings.a.key_namespace\": \"aws-kms\" is reserved for AWS KMS keyrings");
}

static void test_relative_key_file(void **state)
{
	char cfgpath[256], keypath[256], cwd[512];
	(void)state;

	/* Relative to the config file's folder, whatever the current directory. */
	snprintf(cfgpath, sizeof(cfgpath), "%s/sub/c.json", g_dir);
	snprintf(keypath, sizeof(keypath), "%s/keys/raw.key", g_dir);
	struct config_problems p;
	struct config *cfg = parse_at("{" UP ",'keyrings':{'a':{'type':'raw-aes','key_file':'../keys/raw.key'}}}",
				      cfgpath, &p);
	dump(&p);
	assert_non_null(cfg);
	assert_int_equal(cfg->keyrings[0].has_key_material, 1);
	assert_non_null(strstr(cfg->keyrings[0].key_file, "/keys/raw.key"));
	config_free(cfg);

	/* config_load from another directory, with a relative config path. */
	char *json = dq("{" UP ",'keyrings':{'a':{'type':'raw-aes','key_file':'../keys/b64.key'}}}");
	write_file("sub/c.json", json, strlen(json));
	free(json);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(g_dir), 0);
	cfg = config_load("sub/c.json", &p);
	assert_int_equal(chdir(cwd), 0);
	dump(&p);
	assert_non_null(cfg);
	/* The stored path is absolute, so a later chdir does not change what it names. */
	char real1[PATH_MAX], real2[PATH_MAX];
	assert_int_equal(cfg->keyrings[0].key_file[0], '/');
	assert_non_null(realpath(cfg->keyrings[0].key_file, real1));
	snprintf(keypath, sizeof(keypath), "%s/keys/b64.key", g_dir);
	assert_non_null(realpath(keypath, real2));
	assert_string_equal(real1, real2);
	assert_int_equal(cfg->keyrings[0].key_material[31], 31);
	config_free(cfg);

	/* An absolute key_file is taken as is. */
	char buf[512];
	snprintf(keypath, sizeof(keypath), "%s/keys/raw.key", g_dir);
	snprintf(buf, sizeof(buf), "{" UP ",'keyrings':{'a':{'type':'raw-aes','key_file':'%s'}}}", keypath);
	cfg = parse_at(buf, "/nonexistent/dir/c.json", &p);
	dump(&p);
	assert_non_null(cfg);
	assert_string_equal(cfg->keyrings[0].key_file, keypath);
	config_free(cfg);
}

static void test_config_load_errors(void **state)
{
	struct config_problems p;
	char path[256];
	(void)state;

	snprintf(path, sizeof(path), "%s/none.json", g_dir);
	assert_null(config_load(path, &p));
	assert_int_equal(p.len, 1);
	assert_true(has_problem(&p, "none.json: cannot read the config file: No such file or directory"));
	config_problems_free(&p);
	assert_null(config_load(g_dir, &p));
	assert_int_equal(p.len, 1);
	assert_true(has_problem(&p, "cannot read the config file: not a regular file"));
	config_problems_free(&p);
	/* A NULL problem list is allowed. */
	assert_null(config_load(path, NULL));
}

static void test_static_branch_key(void **state)
{
	(void)state;
	EXPECT_ONE("{" UP ",'keyrings':{'f':{'type':'static-branch-key','branch_key_id':'b',"
		   "'branch_key_version':'v1','branch_key':'" B64_32 "'}}}",
		   "config: \"keyrings.f.branch_key_version\": \"v1\" is not a UUID");
	EXPECT_ONE("{" UP ",'keyrings':{'f':{'type':'static-branch-key','branch_key_id':'b',"
		   "'branch_key_version':'" UUID "','branch_key':'" B64_16 "'}}}",
		   "config: \"keyrings.f.branch_key\": decodes to 16 bytes; expected the base64 of 32 bytes (44 characters)");
	EXPECT_ONE("{" UP ",'keyrings':{'f':{'type':'static-branch-key',"
		   "'branch_key_version':'" UUID "','branch_key':'" B64_32 "'}}}",
		   "\"keyrings.f.branch_key_id\": missing required key");

	/* Never print a key's value, even when it is wrong. */
	struct config_problems p;
	struct config *cfg = parse("{" UP ",'keyrings':{'f':{'type':'static-branch-key','branch_key_id':'b',"
				   "'branch_key_version':'" UUID "','branch_key':'S3cretKeyMaterial!!'}}}", &p);
	assert_null(cfg);
	assert_int_equal(p.len, 1);
	assert_true(has_problem(&p, "\"keyrings.f.branch_key\": not valid base64 (value not shown)"));
	assert_false(has_problem(&p, "S3cret"));
	config_problems_free(&p);
}

static void test_hierarchical_keyring(void **state)
{
	(void)state;
#define H "'type':'aws-kms-hierarchical'"
	EXPECT_ONE("{" UP ",'keyrings':{'h':{" H ",'kms_key_id':'" ARN "','branch_key_id':'b'}}}",
		   "config: \"keyrings.h.key_store_table\": missing required key");
	EXPECT_ONE("{" UP ",'keyrings':{'h':{" H ",'key_store_table':'keys','branch_key_id':'b'}}}",
		   "config: \"keyrings.h.kms_key_id\": missing required key");
	EXPECT_ONE("{" UP ",'keyrings':{'h':{" H ",'key_store_table':'keys','kms_key_id':'" ARN "'}}}",
		   "config: \"keyrings.h.branch_key_id\": missing required key; set branch_key_id for one fixed branch key, or branch_key_id_attribute with branch_key_ids");
	EXPECT_ONE("{" UP ",'keyrings':{'h':{" H ",'key_store_table':'keys','kms_key_id':'" ARN "',"
		   "'branch_key_id_attribute':'tenant'}}}",
		   "config: \"keyrings.h.branch_key_ids\": missing required key; branch_key_id_attribute needs branch_key_ids");
	EXPECT_ONE("{" UP ",'keyrings':{'h':{" H ",'key_store_table':'keys','kms_key_id':'" ARN "',"
		   "'branch_key_ids':{'a':'b'}}}}",
		   "config: \"keyrings.h.branch_key_id_attribute\": missing required key; branch_key_ids needs branch_key_id_attribute");
	EXPECT_ONE("{" UP ",'keyrings':{'h':{" H ",'key_store_table':'keys','kms_key_id':'" ARN "',"
		   "'branch_key_id':'b','branch_key_id_attribute':'t','branch_key_ids':{'a':'b'}}}}",
		   "config: \"keyrings.h\": set branch_key_id for one fixed branch key, or branch_key_id_attribute with branch_key_ids, not both");
	EXPECT_ONE("{" UP ",'keyrings':{'h':{" H ",'key_store_table':'keys','kms_key_id':'" ARN "',"
		   "'branch_key_id_attribute':'t','branch_key_ids':{'a':3}}}}",
		   "config: \"keyrings.h.branch_key_ids.a\": expected a string (a branch key id), got a number");
	EXPECT_ONE("{" UP ",'keyrings':{'h':{" H ",'key_store_table':'keys','kms_key_id':'" ARN "',"
		   "'branch_key_id_attribute':'t','branch_key_ids':{}}}}",
		   "\"keyrings.h.branch_key_ids\": must map at least one attribute value to a branch key id");
	EXPECT_ONE("{" UP ",'keyrings':{'h':{" H ",'key_store_table':'keys','kms_key_id':'" ARN "',"
		   "'branch_key_id':'b','ttl_s':0}}}",
		   "config: \"keyrings.h.ttl_s\": 0 is out of range; expected 1 to 604800");
	EXPECT_ONE("{" UP ",'keyrings':{'h':{" H ",'key_store_table':'k!','kms_key_id':'" ARN "',"
		   "'branch_key_id':'b'}}}",
		   "\"keyrings.h.key_store_table\": \"k!\" is not a DynamoDB table name");
	/* The tenant attribute must be readable on decrypt (in the encryption context). */
	EXPECT_ONE("{" UP ",'keyrings':{'h':{" H ",'key_store_table':'keys','kms_key_id':'" ARN "',"
		   "'branch_key_id_attribute':'tenant','branch_key_ids':{'a':'b'}}},"
		   "'tables':{'users':{'keyring':'h','partition_key':'pk',"
		   "'attribute_actions':{'tenant':'ENCRYPT_AND_SIGN'}}}}",
		   "config: \"tables.users.keyring\": keyring \"h\" picks its branch key from attribute \"tenant\", which must be the partition key, the sort key or SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT");
	struct config *cfg = EXPECT_OK("{" UP ",'keyrings':{'h':{" H ",'key_store_table':'keys','kms_key_id':'" ARN "',"
				       "'branch_key_id_attribute':'tenant','branch_key_ids':{'a':'b'}}},"
				       "'tables':{'users':{'keyring':'h','partition_key':'pk',"
				       "'attribute_actions':{'tenant':'SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT'}}}}");
	config_free(cfg);
#undef H
}

/* ---- tables --------------------------------------------------------------------------- */

#define T(body) "{" UP "," KMS_KR ",'tables':{'users':{'keyring':'k','partition_key':'pk'," body "}}}"

static void test_table_required_and_refs(void **state)
{
	(void)state;
	EXPECT_ONE("{" UP "," KMS_KR ",'tables':{'users':{'keyring':'k'}}}",
		   "config: \"tables.users.partition_key\": missing required key");
	EXPECT_ONE("{" UP "," KMS_KR ",'tables':{'users':{'partition_key':'pk'}}}",
		   "config: \"tables.users.keyring\": missing required key");
	EXPECT_ONE("{" UP "," KMS_KR ",'tables':{'users':{'keyring':'nope','partition_key':'pk'}}}",
		   "config: \"tables.users.keyring\": keyring \"nope\" is not defined under \"keyrings\"");
	EXPECT_ONE("{" UP "," KMS_KR ",'tables':{'u':{'keyring':'k','partition_key':'pk'}}}",
		   "config: \"tables.u\": \"u\" is not a DynamoDB table name");
	EXPECT_ONE(T("'sort_key':'pk'"), "config: \"tables.users.sort_key\": the sort key cannot be the partition key");
	EXPECT_ONE(T("'read_keyrings':'k'"),
		   "config: \"tables.users.read_keyrings\": expected an array of keyring names, got a string");
	EXPECT_ONE(T("'read_keyrings':[7]"),
		   "config: \"tables.users.read_keyrings[0]\": expected the name of a keyring, got a number");
	EXPECT_ONE(T("'read_keyrings':['nope']"),
		   "config: \"tables.users.read_keyrings[0]\": keyring \"nope\" is not defined under \"keyrings\"");
	EXPECT_ONE(T("'read_keyrings':['k']"),
		   "config: \"tables.users.read_keyrings[0]\": keyring \"k\" is the table's own keyring; "
		   "list only the keyrings items may still be under");
}

static void test_key_actions(void **state)
{
	(void)state;
	EXPECT_ONE(T("'attribute_actions':{'pk':'ENCRYPT_AND_SIGN'}"),
		   "config: \"tables.users.attribute_actions.pk\": partition key \"pk\" must be SIGN_ONLY or SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT, not ENCRYPT_AND_SIGN");
	EXPECT_ONE(T("'sort_key':'sk','attribute_actions':{'sk':'DO_NOTHING'}"),
		   "config: \"tables.users.attribute_actions.sk\": sort key \"sk\" must be SIGN_ONLY or SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT, not DO_NOTHING");
	EXPECT_ONE(T("'attribute_actions':{'pk':'SIGN_ONLY','t':'SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT'}"),
		   "\"tables.users.attribute_actions.pk\": partition key \"pk\" must be SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT because \"t\" is");
	EXPECT_ONE(T("'allowed_unsigned_attributes':['pk']"),
		   "config: \"tables.users.partition_key\": partition key \"pk\" is allowed unsigned");
	EXPECT_ONE(T("'attribute_actions':{'ssn':'ENCRYPT'}"),
		   "config: \"tables.users.attribute_actions.ssn\": unknown action \"ENCRYPT\"; expected ENCRYPT_AND_SIGN, SIGN_ONLY, SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT or DO_NOTHING");
	EXPECT_ONE(T("'attribute_actions':{'ssn':1}"),
		   "\"tables.users.attribute_actions.ssn\": expected a string (an action), got a number");
	EXPECT_ONE(T("'attribute_actions':{'ssn':'ENCRYPT_AND_SIGN','ssn':'SIGN_ONLY'}"),
		   "\"tables.users.attribute_actions.ssn\": duplicate key");
}

static void test_algorithm_suite_unknown(void **state)
{
	(void)state;
	EXPECT_ONE(T("'algorithm_suite':'0x6702'"),
		   "config: \"tables.users.algorithm_suite\": unknown algorithm suite \"0x6702\"; expected AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384 (0x6700) or AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384 (0x6701)");
	EXPECT_ONE(T("'algorithm_suite':'AES_256_GCM'"), "unknown algorithm suite \"AES_256_GCM\"");
	EXPECT_ONE(T("'algorithm_suite':'0x67000'"), "unknown algorithm suite \"0x67000\"");
}

static void test_reserved_attribute_names(void **state)
{
	(void)state;
	EXPECT_ONE(T("'attribute_actions':{'aws_dbe_head':'SIGN_ONLY'}"),
		   "config: \"tables.users.attribute_actions.aws_dbe_head\": attribute name \"aws_dbe_head\" starts with \"aws_dbe_\"");
	EXPECT_ONE(T("'allowed_unsigned_attributes':['ok','aws_dbe_x']"),
		   "config: \"tables.users.allowed_unsigned_attributes[1]\": attribute name \"aws_dbe_x\" starts with \"aws_dbe_\"");
	EXPECT_ONE("{" UP "," KMS_KR ",'tables':{'users':{'keyring':'k','partition_key':'aws_dbe_pk'}}}",
		   "config: \"tables.users.partition_key\": attribute name \"aws_dbe_pk\" starts with \"aws_dbe_\"");
	EXPECT_ONE(T("'attribute_actions':{'aws-crypto-x':'SIGN_ONLY'}"),
		   "attribute name \"aws-crypto-x\" starts with \"aws-crypto-\"");
}

static void test_unsigned_conflicts(void **state)
{
	(void)state;
	EXPECT_ONE(T("'attribute_actions':{'email':'ENCRYPT_AND_SIGN'},'allowed_unsigned_attributes':['email']"),
		   "config: \"tables.users.attribute_actions.email\": \"email\" is ENCRYPT_AND_SIGN but also listed in allowed_unsigned_attributes; an attribute is either signed or allowed unsigned");
	/* DO_NOTHING attributes may (as in the DB-ESDK) be listed as allowed unsigned too. */
	config_free(EXPECT_OK(T("'attribute_actions':{'n':'DO_NOTHING'},'allowed_unsigned_attributes':['n']")));
	EXPECT_ONE(T("'attribute_actions':{'u_x':'ENCRYPT_AND_SIGN'},'allowed_unsigned_attribute_prefix':'u_'"),
		   "config: \"tables.users.attribute_actions.u_x\": \"u_x\" is ENCRYPT_AND_SIGN but starts with allowed_unsigned_attribute_prefix \"u_\"");
	EXPECT_ONE(T("'allowed_unsigned_attributes':['a','b','a']"),
		   "config: \"tables.users.allowed_unsigned_attributes\": \"a\" is listed twice");
}

static void test_plaintext_policy(void **state)
{
	(void)state;
	EXPECT_ONE(T("'plaintext_policy':'allow'"),
		   "config: \"tables.users.plaintext_policy\": unknown plaintext_policy \"allow\"; expected forbid or allow-read");
}

/* ---- cache, log, numbers -------------------------------------------------------------- */

static void test_cache_redis(void **state)
{
	(void)state;
	struct config *cfg = EXPECT_OK("{" UP ",'cache':{'redis':'rediss://cache.internal'}}");
	assert_string_equal(cfg->cache_redis, "rediss://cache.internal");
	config_free(cfg);
	EXPECT_ONE("{" UP ",'cache':{'redis':'http://127.0.0.1:6379'}}",
		   "config: \"cache.redis\": not a Redis URL: it must start with redis:// or rediss://");
	EXPECT_ONE("{" UP ",'cache':{'redis':'redis://127.0.0.1:99999'}}", "\"cache.redis\": not a Redis URL: the port is out of range");
	EXPECT_ONE("{" UP ",'cache':{'redis':'redis://127.0.0.1/db'}}", "\"cache.redis\": not a Redis URL: the database after '/' must be a number");
	EXPECT_ONE("{" UP ",'cache':{'redis':'redis://'}}", "\"cache.redis\": not a Redis URL: the host is missing");

	/* A password in the URL is never echoed. */
	struct config_problems p;
	cfg = parse("{" UP ",'cache':{'redis':'redis://:hunter2@/0'}}", &p);
	assert_null(cfg);
	assert_int_equal(p.len, 1);
	assert_true(has_problem(&p, "the host is missing"));
	assert_false(has_problem(&p, "hunter2"));
	config_problems_free(&p);
}

static void test_log_settings(void **state)
{
	(void)state;
	EXPECT_ONE("{" UP ",'log':{'level':'verbose'}}",
		   "config: \"log.level\": unknown log level \"verbose\"; expected error, warn, info or debug");
	EXPECT_ONE("{" UP ",'log':{'format':'xml'}}", "config: \"log.format\": unknown log format \"xml\"; expected text or json");
	struct config *cfg = EXPECT_OK("{" UP ",'log':{'level':'error','format':'text','audit':'-'}}");
	assert_int_equal(cfg->log_level, LOG_ERROR);
	assert_string_equal(cfg->audit_log, "-");
	config_free(cfg);
}

static void test_numbers_out_of_range(void **state)
{
	(void)state;
	EXPECT_ONE("{" UP ",'cache':{'ttl_s':0}}", "config: \"cache.ttl_s\": 0 is out of range; expected 1 to 604800");
	EXPECT_ONE("{" UP ",'cache':{'max_entries':-5}}", "\"cache.max_entries\": -5 is out of range");
	EXPECT_ONE("{" UP ",'workers':-1}", "\"workers\": -1 is out of range; expected 0 to 1024");
	EXPECT_ONE("{'upstream':{'endpoint':'https://dynamodb.us-east-1.amazonaws.com','connect_timeout_ms':0}}",
		   "\"upstream.connect_timeout_ms\": 0 is out of range");
	EXPECT_ONE("{" UP ",'limits':{'max_body_bytes':1e30}}", "\"limits.max_body_bytes\": 1e+30 is out of range; expected 1024 to 1073741824");
	EXPECT_ONE("{" UP ",'limits':{'max_header_bytes':10}}", "\"limits.max_header_bytes\": 10 is out of range; expected 1024 to 16777216");
	EXPECT_ONE("{" UP ",'kms':{'max_attempts':0}}", "\"kms.max_attempts\": 0 is out of range; expected 1 to 10");
	EXPECT_ONE("{" UP ",'kms':{'response_timeout_ms':0}}", "\"kms.response_timeout_ms\": 0 is out of range");
	EXPECT_ONE("{" UP ",'kms':{'retries':2}}", "kms");
}

/* ---- many problems at once, printing ------------------------------------------------- */

static void test_all_problems_reported(void **state)
{
	struct config_problems p;
	(void)state;
	struct config *cfg = parse(
		"{'listen':'nohost','workers':'x','bogus':1,"
		" 'upstream':{'endpoint':'ftp://x'},"
		" 'cache':{'ttl_s':0},"
		" 'log':{'level':'loud'},"
		" 'keyrings':{'k':{'type':'aes'}},"
		" 'tables':{'users':{'keyring':'missing','partition_key':'pk',"
		"   'attribute_actions':{'pk':'ENCRYPT_AND_SIGN','ssn':'ENCRYPT'},"
		"   'plaintext_policy':'maybe'}}}", &p);
	const char *expected[] = {
		"\"listen\": bad address",
		"\"workers\": expected an integer",
		"\"bogus\": unknown key",
		"\"upstream.endpoint\": bad endpoint",
		"\"cache.ttl_s\": 0 is out of range",
		"\"log.level\": unknown log level",
		"\"keyrings.k.type\": unknown keyring type",
		"\"tables.users.keyring\": keyring \"missing\" is not defined",
		"\"tables.users.attribute_actions.pk\": partition key",
		"\"tables.users.attribute_actions.ssn\": unknown action",
		"\"tables.users.plaintext_policy\": unknown plaintext_policy",
	};
	size_t n = sizeof(expected) / sizeof(expected[0]);

	if (p.len != n)
		dump(&p);
	assert_null(cfg);
	assert_int_equal(p.len, n);
	for (size_t i = 0; i < n; i++) {
		if (!has_problem(&p, expected[i]))
			print_message("missing: %s\n", expected[i]);
		assert_true(has_problem(&p, expected[i]));
	}

	/* config_print_problems writes them one per line. */
	char *text = NULL;
	size_t text_len = 0;
	FILE *out = open_memstream(&text, &text_len);
	assert_non_null(out);
	assert_int_equal(config_print_problems(&p, out), (int)n);
	assert_int_equal(fclose(out), 0);
	size_t lines = 0;
	for (char *line = text; line != NULL && *line != '\0'; lines++) {
		assert_int_equal(strncmp(line, "config: ", 8), 0);
		char *nl = strchr(line, '\n');
		assert_non_null(nl);
		line = nl + 1;
	}
	assert_int_equal(lines, n);
	free(text);
	config_problems_free(&p);
	assert_int_equal(p.len, 0);
	assert_null(p.msgs);
}

static void test_problem_cap(void **state)
{
	struct config_problems p;
	(void)state;
	size_t cap = 1200 * 16 + 64;
	char *json = malloc(cap);
	size_t o = 0;

	assert_non_null(json);
	o += (size_t)snprintf(json + o, cap - o, "{\"upstream\":{\"endpoint\":\"https://a.example\"}");
	for (int i = 0; i < 1200; i++)
		o += (size_t)snprintf(json + o, cap - o, ",\"zz%d\":1", i);
	snprintf(json + o, cap - o, "}");
	assert_null(config_parse(json, strlen(json), NULL, &p));
	assert_int_equal(p.len, 1001);
	assert_string_equal(p.msgs[1000], "config: too many problems; the rest are not shown");
	assert_true(has_problem(&p, "config: \"zz0\": unknown key"));
	config_problems_free(&p);
	free(json);
}

static void test_control_bytes_escaped(void **state)
{
	struct config_problems p;
	(void)state;
	struct config *cfg = parse("{" UP ",'ab\\u001b[31m':1}", &p);

	assert_null(cfg);
	assert_int_equal(p.len, 1);
	assert_true(has_problem(&p, "\"ab\\x1b[31m\": unknown key"));
	assert_null(strchr(p.msgs[0], 0x1b));
	config_problems_free(&p);
}

/* ---- lookups -------------------------------------------------------------------------- */

static void test_lookups_by_length(void **state)
{
	enum attr_action act;
	(void)state;
	struct config *cfg = EXPECT_OK("{" UP "," KMS_KR ",'tables':{"
				       "'abc':{'keyring':'k','partition_key':'id','attribute_actions':{'a':'ENCRYPT_AND_SIGN','ab':'SIGN_ONLY'}},"
				       "'abcd':{'keyring':'k','partition_key':'id'},"
				       "'zzz':{'keyring':'k','partition_key':'id'}}}");
	/* Names come from request bodies: (ptr, len), not NUL-terminated. */
	const char *buf = "abcdef";
	const struct config_table *t3 = config_find_table(cfg, buf, 3);
	const struct config_table *t4 = config_find_table(cfg, buf, 4);
	assert_non_null(t3);
	assert_non_null(t4);
	assert_string_equal(t3->name, "abc");
	assert_string_equal(t4->name, "abcd");
	assert_null(config_find_table(cfg, buf, 2));
	assert_null(config_find_table(cfg, buf, 5));
	assert_null(config_find_table(cfg, buf, 0));
	assert_non_null(config_find_table(cfg, "zzz", 3));
	assert_null(config_find_table(NULL, "zzz", 3));

	assert_int_equal(config_table_action(t3, "abx", 1, &act), 0);
	assert_int_equal(act, ACTION_ENCRYPT_AND_SIGN);
	assert_int_equal(config_table_action(t3, "abx", 2, &act), 0);
	assert_int_equal(act, ACTION_SIGN_ONLY);
	assert_int_equal(config_table_action(t3, "abx", 3, &act), -1);
	assert_int_equal(config_table_action(t3, "idx", 2, &act), 0);
	assert_int_equal(act, ACTION_SIGN_ONLY);
	assert_int_equal(config_table_action(NULL, "a", 1, &act), -1);
	config_free(cfg);
}

/* ---- the shipped examples ------------------------------------------------------------- */

static void test_example_aws(void **state)
{
	struct config_problems p;
	(void)state;
	struct config *cfg = config_load("config/examples/aws.json", &p);

	if (cfg == NULL) {
		print_message("config/examples/aws.json (run from the repository root):\n");
		dump(&p);
	}
	assert_non_null(cfg);
	assert_int_equal(p.len, 0);
	assert_int_equal(cfg->keyrings_len, 2);
	assert_int_equal(cfg->tables_len, 2);
	const struct config_table *users = config_find_table(cfg, "users", 5);
	assert_non_null(users);
	assert_int_equal(users->keyring_ref->type, KEYRING_AWS_KMS);
	const struct config_table *orders = config_find_table(cfg, "orders", 6);
	assert_non_null(orders);
	assert_int_equal(orders->keyring_ref->type, KEYRING_AWS_KMS_HIERARCHICAL);
	assert_string_equal(cfg->cache_redis, "redis://127.0.0.1:6379/0");
	config_free(cfg);
}

static void test_example_local(void **state)
{
	struct config_problems p;
	unsigned char *text;
	char path[256];
	FILE *f;
	long len;
	(void)state;

	/* A copy next to a freshly made key, as README describes. */
	f = fopen("config/examples/local.json", "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len > 0);
	rewind(f);
	text = malloc((size_t)len);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	write_file("local.json", text, (size_t)len);
	free(text);
	write_file("keys/local.key", B64_32 "\n", strlen(B64_32) + 1);

	snprintf(path, sizeof(path), "%s/local.json", g_dir);
	struct config *cfg = config_load(path, &p);
	dump(&p);
	assert_non_null(cfg);
	assert_string_equal(cfg->upstream_endpoint, "http://127.0.0.1:4567");
	assert_int_equal(cfg->keyrings[0].type, KEYRING_RAW_AES);
	assert_int_equal(cfg->keyrings[0].has_key_material, 1);
	assert_string_equal(cfg->keyrings[0].key_name, "local-1");
	assert_non_null(config_find_table(cfg, "users", 5));
	config_free(cfg);
}

#define TEST(f) cmocka_unit_test_setup(f, clean_env)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_full_config_round_trips),
		TEST(test_defaults),
		TEST(test_config_default),
		TEST(test_suite_spellings),
		TEST(test_unknown_key_top),
		TEST(test_unknown_key_nested),
		TEST(test_wrong_types),
		TEST(test_json_syntax),
		TEST(test_bad_address),
		TEST(test_port_out_of_range),
		TEST(test_parse_addr),
		TEST(test_admin_same_as_listen),
		TEST(test_endpoint_forms),
		TEST(test_bad_endpoint),
		TEST(test_missing_upstream),
		TEST(test_region_from_env),
		TEST(test_self_loop),
		TEST(test_env_overrides),
		TEST(test_env_override_problems),
		TEST(test_keyring_type),
		TEST(test_kms_keyring),
		TEST(test_raw_aes_key_files),
		TEST(test_relative_key_file),
		TEST(test_config_load_errors),
		TEST(test_static_branch_key),
		TEST(test_hierarchical_keyring),
		TEST(test_table_required_and_refs),
		TEST(test_key_actions),
		TEST(test_algorithm_suite_unknown),
		TEST(test_reserved_attribute_names),
		TEST(test_unsigned_conflicts),
		TEST(test_plaintext_policy),
		TEST(test_cache_redis),
		TEST(test_log_settings),
		TEST(test_numbers_out_of_range),
		TEST(test_all_problems_reported),
		TEST(test_problem_cap),
		TEST(test_control_bytes_escaped),
		TEST(test_lookups_by_length),
		TEST(test_example_aws),
		TEST(test_example_local),
	};

	return cmocka_run_group_tests_name("config", tests, group_setup, group_teardown);
}
