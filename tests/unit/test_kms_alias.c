/*
 * KMS key aliases (crypto/aws/kms_alias.h, config key_id / kms_key_id / previous_key_ids):
 * which names are key ARNs, alias names or alias ARNs; the config keys and their exact
 * messages; pinning a keyring to a key and the keys reads accept; DescribeKey's answer parsed
 * and judged; the keys each alias named; resolution problems naming the keyring and the alias
 * (KMS down: a closed port on loopback).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "crypto/aws/credentials.h"
#include "crypto/aws/kms_alias.h"
#include "crypto/aws/kms_client.h"

#include "tests/harness/config_expect.h"

#define ARN_B "arn:aws:kms:us-east-1:111122223333:key/bbbbbbbb-12ab-34cd-56ef-1234567890ab"
#define ALIAS_ARN "arn:aws:kms:us-east-1:111122223333:alias/orders-key"

static void test_kms_ref(void **state)
{
	(void)state;
	assert_int_equal(config_kms_ref(ARN), KMS_REF_KEY_ARN);
	assert_int_equal(config_kms_ref("arn:aws-cn:kms:cn-north-1:1:key/mrk-1"), KMS_REF_KEY_ARN);
	assert_int_equal(config_kms_ref("alias/orders-key"), KMS_REF_ALIAS_NAME);
	assert_int_equal(config_kms_ref("alias/team/orders_key-2"), KMS_REF_ALIAS_NAME);
	assert_int_equal(config_kms_ref(ALIAS_ARN), KMS_REF_ALIAS_ARN);
	/* Not KMS key names: a bare key id, an empty alias, odd characters, other services. */
	assert_int_equal(config_kms_ref(NULL), KMS_REF_INVALID);
	assert_int_equal(config_kms_ref(""), KMS_REF_INVALID);
	assert_int_equal(config_kms_ref("1234abcd-12ab-34cd-56ef-1234567890ab"), KMS_REF_INVALID);
	assert_int_equal(config_kms_ref("alias/"), KMS_REF_INVALID);
	assert_int_equal(config_kms_ref("alias/a b"), KMS_REF_INVALID);
	assert_int_equal(config_kms_ref("alias/a:b"), KMS_REF_INVALID);
	assert_int_equal(config_kms_ref("key/1234"), KMS_REF_INVALID);
	assert_int_equal(config_kms_ref("arn:aws:kms:us-east-1:111122223333:alias/"), KMS_REF_INVALID);
	assert_int_equal(config_kms_ref("arn:aws:s3:us-east-1:111122223333:alias/x"), KMS_REF_INVALID);
	assert_int_equal(config_kms_ref("arn:aws:kms::111122223333:alias/x"), KMS_REF_INVALID);
	assert_int_equal(config_kms_ref("arn:aws:kms:us-east-1::key/x"), KMS_REF_INVALID);
	assert_int_equal(config_kms_ref("arn:aws:kms:us-east-1:111122223333:key/x:y"), KMS_REF_INVALID);
	assert_int_equal(config_kms_ref("arn:aws:kms:us-east-1:111122223333:keys/x"), KMS_REF_INVALID);
	{
		char longest[6 + 251 + 1];
		memcpy(longest, "alias/", 6);
		memset(longest + 6, 'a', 250);
		longest[256] = '\0';
		assert_int_equal(config_kms_ref(longest), KMS_REF_ALIAS_NAME);
		longest[256] = 'a';
		longest[257] = '\0';
		assert_int_equal(config_kms_ref(longest), KMS_REF_INVALID);
	}
}

/* Aliases load for both KMS keyrings and stay unpinned until resolved; a key ARN pins itself. */
static void test_config_accepts_aliases(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = EXPECT_OK("{" UP ",'keyrings':{'a':{'type':'aws-kms','key_id':'alias/orders-key'},"
			"'b':{'type':'aws-kms','key_id':'" ALIAS_ARN "','previous_key_ids':['" ARN "','" ARN_B "']},"
			"'c':{'type':'aws-kms','key_id':'" ARN "','previous_key_ids':['" ARN_B "']},"
			"'h':{'type':'aws-kms-hierarchical','key_store_table':'keys','kms_key_id':'alias/store',"
			"'branch_key_id':'t'}}}");
	assert_int_equal(cfg->keyrings_len, 4);
	assert_string_equal(cfg->keyrings[0].key_id, "alias/orders-key");
	assert_null(cfg->keyrings[0].kms_arn);
	assert_int_equal(cfg->keyrings[0].accept_arns_len, 0);
	assert_int_equal(cfg->keyrings[1].previous_key_ids_len, 2);
	assert_string_equal(cfg->keyrings[1].previous_key_ids[1], ARN_B);
	assert_null(cfg->keyrings[1].kms_arn);
	assert_string_equal(cfg->keyrings[2].kms_arn, ARN);
	assert_int_equal(cfg->keyrings[2].accept_arns_len, 2);
	assert_string_equal(cfg->keyrings[2].accept_arns[0], ARN);
	assert_string_equal(cfg->keyrings[2].accept_arns[1], ARN_B);
	assert_true(config_keyring_accepts(&cfg->keyrings[2], ARN_B, strlen(ARN_B)));
	assert_false(config_keyring_accepts(&cfg->keyrings[2], ARN_B, strlen(ARN_B) - 1));
	assert_string_equal(config_keyring_kms_name(&cfg->keyrings[3]), "alias/store");
	assert_null(cfg->keyrings[3].kms_arn);
	config_free(cfg);
}

static void test_config_alias_errors(void **state)
{
	(void)state;
	EXPECT_ONE("{" UP ",'keyrings':{'k':{'type':'aws-kms','key_id':'alias/aws/dynamodb'}}}",
		   "config: \"keyrings.k.key_id\": \"alias/aws/dynamodb\" names an AWS managed key, which "
		   "only its AWS service may use; create a customer managed key and an alias for it");
	EXPECT_ONE("{" UP ",'keyrings':{'k':{'type':'aws-kms','key_id':'arn:aws:kms:us-east-1:1:alias/aws/s3'}}}",
		   "names an AWS managed key");
	EXPECT_ONE("{" UP ",'keyrings':{'k':{'type':'aws-kms','key_id':'alias/x y'}}}",
		   "config: \"keyrings.k.key_id\": \"alias/x y\" is not a KMS key ARN or alias; expected "
		   "arn:aws:kms:REGION:ACCOUNT:key/KEY-ID, alias/NAME or arn:aws:kms:REGION:ACCOUNT:alias/NAME");
	EXPECT_ONE("{" UP ",'keyrings':{'h':{'type':'aws-kms-hierarchical','key_store_table':'keys',"
		   "'kms_key_id':'alias/','branch_key_id':'t'}}}",
		   "config: \"keyrings.h.kms_key_id\": \"alias/\" is not a KMS key ARN or alias");
	EXPECT_ONE("{" UP ",'keyrings':{'k':{'type':'aws-kms','key_id':'alias/a','previous_key_ids':['alias/old']}}}",
		   "config: \"keyrings.k.previous_key_ids[0]\": \"alias/old\" is not a KMS key ARN; expected "
		   "arn:aws:kms:REGION:ACCOUNT:key/KEY-ID (an alias names the key it points at now, not the "
		   "one an item was written under)");
	EXPECT_ONE("{" UP ",'keyrings':{'k':{'type':'aws-kms','key_id':'alias/a','previous_key_ids':['" ARN "',7]}}}",
		   "config: \"keyrings.k.previous_key_ids[1]\": expected a string (a KMS key ARN), got a number");
	EXPECT_ONE("{" UP ",'keyrings':{'k':{'type':'aws-kms','key_id':'alias/a','previous_key_ids':'" ARN "'}}}",
		   "config: \"keyrings.k.previous_key_ids\": expected an array of KMS key ARNs, got a string");
	EXPECT_ONE("{" UP ",'keyrings':{'k':{'type':'static-branch-key','branch_key_id':'t',"
		   "'branch_key_version':'" UUID "','branch_key':'" B64_32 "','previous_key_ids':[]}}}",
		   "config: \"keyrings.k.previous_key_ids\": unknown key");
}

/* Pinning: the key first, then previous_key_ids, then the keys seen before, each once; a
 * second pin replaces the first. */
static void test_pin(void **state)
{
	static const char *const seen[] = { ARN_B, "arn:aws:kms:us-east-1:1:key/old", ARN };
	struct config *cfg;
	struct config_keyring *kr;

	(void)state;
	cfg = EXPECT_OK("{" UP ",'keyrings':{'k':{'type':'aws-kms','key_id':'alias/a','previous_key_ids':['" ARN_B "']}}}");
	kr = &cfg->keyrings[0];
	assert_int_equal(config_keyring_pin_kms(kr, ARN, seen, 3), 0);
	assert_string_equal(kr->kms_arn, ARN);
	assert_int_equal(kr->accept_arns_len, 3);
	assert_string_equal(kr->accept_arns[0], ARN);
	assert_string_equal(kr->accept_arns[1], ARN_B);
	assert_string_equal(kr->accept_arns[2], "arn:aws:kms:us-east-1:1:key/old");
	assert_int_equal(config_keyring_pin_kms(kr, ARN_B, NULL, 0), 0);
	assert_string_equal(kr->kms_arn, ARN_B);
	assert_int_equal(kr->accept_arns_len, 1);
	assert_false(config_keyring_accepts(kr, ARN, strlen(ARN)));
	config_free(cfg);
}

static struct kms_parsed *parse_describe(int status, const char *body, struct kms_result *res,
					 struct ds_error *err)
{
	int retry;

	memset(err, 0, sizeof(*err));
	return kms_parse_response("DescribeKey", status, body, strlen(body), "alias/orders-key", res,
				  err, &retry);
}

static void test_describe_key_parse(void **state)
{
	struct kms_result res;
	struct ds_error err;
	struct kms_parsed *p;

	(void)state;
	p = parse_describe(200, "{\"KeyMetadata\":{\"KeyId\":\"1234\",\"Arn\":\"" ARN "\",\"KeyState\":"
			   "\"Enabled\",\"KeyUsage\":\"ENCRYPT_DECRYPT\",\"Enabled\":true}}", &res, &err);
	assert_non_null(p);
	assert_string_equal(res.key_id, ARN);
	assert_string_equal(res.key_state, "Enabled");
	assert_string_equal(res.key_usage, "ENCRYPT_DECRYPT");
	assert_null(res.plaintext);
	kms_parsed_free(p);

	/* KeyUsage may be left out or null (moto); Arn and KeyState may not. */
	p = parse_describe(200, "{\"KeyMetadata\":{\"Arn\":\"" ARN "\",\"KeyState\":\"Disabled\"}}", &res, &err);
	assert_non_null(p);
	assert_null(res.key_usage);
	kms_parsed_free(p);
	p = parse_describe(200, "{\"KeyMetadata\":{\"Arn\":\"" ARN "\",\"KeyState\":\"Enabled\",\"KeyUsage\":null}}", &res, &err);
	assert_non_null(p);
	assert_null(res.key_usage);
	kms_parsed_free(p);
	static const char *const bad[] = {
		"{}",
		"{\"KeyMetadata\":\"x\"}",
		"{\"KeyMetadata\":{\"KeyState\":\"Enabled\"}}",
		"{\"KeyMetadata\":{\"Arn\":\"" ARN "\"}}",
		"{\"KeyMetadata\":{\"Arn\":7,\"KeyState\":\"Enabled\"}}",
		"{\"KeyMetadata\":{\"Arn\":null,\"KeyState\":\"Enabled\"}}",
		"{\"KeyMetadata\":{\"Arn\":\"" ARN "\",\"KeyState\":\"Enabled\",\"KeyUsage\":[]}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(parse_describe(200, bad[i], &res, &err));
		assert_int_equal(err.status, 502);
		assert_string_equal(err.message, "KMS DescribeKey on key alias/orders-key: the response "
				    "lacks KeyMetadata with string Arn and KeyState");
	}
	assert_null(parse_describe(200, "not json", &res, &err));
	assert_string_equal(err.message, "KMS DescribeKey on key alias/orders-key: the response is not JSON");

	/* KMS's refusals keep their words. */
	assert_null(parse_describe(400, "{\"__type\":\"NotFoundException\",\"message\":\"Alias "
				   ALIAS_ARN " is not found.\"}", &res, &err));
	assert_string_equal(err.message, "KMS DescribeKey on key alias/orders-key failed: "
			    "NotFoundException: Alias " ALIAS_ARN " is not found.");
	assert_null(parse_describe(400, "{\"__type\":\"AccessDeniedException\",\"message\":\"no\"}", &res, &err));
	assert_string_equal(err.type, DS_ERR_ACCESS_DENIED);
	assert_string_equal(err.message, "dynaseal's credentials may not call kms:DescribeKey on key "
			    "alias/orders-key: allow it in the key policy or the IAM policy of dynaseal's "
			    "role (KMS said: no)");
}

static int check(const char *arn, const char *state, const char *usage, char *why, size_t cap)
{
	struct kms_result res = { 0 };

	res.key_id = arn;
	res.key_state = state;
	res.key_usage = usage;
	why[0] = '\0';
	return kms_alias_check("alias/orders-key", &res, why, cap);
}

static void test_alias_check(void **state)
{
	char why[512];

	(void)state;
	assert_int_equal(check(ARN, "Enabled", "ENCRYPT_DECRYPT", why, sizeof(why)), 0);
	assert_int_equal(check(ARN, "Enabled", NULL, why, sizeof(why)), 0);
	assert_int_equal(check(ARN, "Disabled", "ENCRYPT_DECRYPT", why, sizeof(why)), -1);
	assert_string_equal(why, "alias \"alias/orders-key\" names " ARN ", which is disabled; enable "
			    "the key (kms:EnableKey) or point the alias at an enabled one");
	assert_int_equal(check(ARN, "PendingDeletion", NULL, why, sizeof(why)), -1);
	assert_string_equal(why, "alias \"alias/orders-key\" names " ARN ", which is pending deletion; "
			    "cancel the deletion (kms:CancelKeyDeletion) or point the alias at another key");
	assert_int_equal(check(ARN, "PendingImport", NULL, why, sizeof(why)), -1);
	assert_string_equal(why, "alias \"alias/orders-key\" names " ARN ", whose state is "
			    "PendingImport, not Enabled");
	assert_int_equal(check(ARN, "Enabled", "SIGN_VERIFY", why, sizeof(why)), -1);
	assert_string_equal(why, "alias \"alias/orders-key\" names " ARN ", a key for SIGN_VERIFY, not "
			    "ENCRYPT_DECRYPT; point the alias at a symmetric encryption key");
	/* The answer must name a key, never another alias. */
	assert_int_equal(check(ALIAS_ARN, "Enabled", NULL, why, sizeof(why)), -1);
	assert_string_equal(why, "alias \"alias/orders-key\": KMS DescribeKey answered \"" ALIAS_ARN
			    "\", which is not a key ARN");
	assert_int_equal(check(NULL, "Enabled", NULL, why, sizeof(why)), -1);
}

static void test_seen(void **state)
{
	struct kms_alias_seen *s = kms_alias_seen_new();
	const char *const *got;
	size_t n;

	(void)state;
	assert_non_null(s);
	assert_null(kms_alias_seen_get(s, "alias/a", &n));
	assert_int_equal(n, 0);
	assert_int_equal(kms_alias_seen_add(s, "alias/a", ARN), 0);
	assert_int_equal(kms_alias_seen_add(s, "alias/b", ARN), 0);
	assert_int_equal(kms_alias_seen_add(s, "alias/a", ARN_B), 0);
	assert_int_equal(kms_alias_seen_add(s, "alias/a", ARN), 0);
	got = kms_alias_seen_get(s, "alias/a", &n);
	assert_int_equal(n, 2);
	assert_string_equal(got[0], ARN);
	assert_string_equal(got[1], ARN_B);
	got = kms_alias_seen_get(s, "alias/b", &n);
	assert_int_equal(n, 1);
	assert_null(kms_alias_seen_get(NULL, "alias/a", &n));
	kms_alias_seen_free(s);
}

/* Without aliases nothing is called (no region, no credentials needed); with KMS unreachable
 * each alias is one problem naming its keyring's key, the alias and why, and stays unpinned. */
static void test_resolve(void **state)
{
	struct config_problems problems = { 0 };
	struct kms_alias_env env = { 0 };
	struct credentials *creds = credentials_new("AKIDTEST", "secret", NULL, 0, "test");
	struct config *cfg;

	(void)state;
	assert_non_null(creds);
	cfg = EXPECT_OK("{" UP "," KMS_KR "}");
	assert_int_equal(kms_alias_resolve(cfg, &env, NULL, &problems), 0);
	assert_int_equal(problems.len, 0);
	config_free(cfg);

	setenv("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:1", 1);
	env.region = "us-east-1";
	env.creds = creds;
	env.connect_timeout_ms = 500;
	env.response_timeout_ms = 500;
	env.max_attempts = 1;
	cfg = EXPECT_OK("{" UP ",'keyrings':{'a':{'type':'aws-kms','key_id':'alias/orders-key'},"
			"'c':{'type':'aws-kms','key_id':'" ARN "'},"
			"'h':{'type':'aws-kms-hierarchical','key_store_table':'keys','kms_key_id':'" ALIAS_ARN "',"
			"'branch_key_id':'t'}}}");
	assert_int_equal(kms_alias_resolve(cfg, &env, NULL, &problems), -1);
	assert_int_equal(problems.len, 2);
	assert_non_null(strstr(problems.msgs[0], "config: \"keyrings.a.key_id\": alias \"alias/orders-key\" "
			       "cannot be resolved: KMS at http://127.0.0.1:1 could not be reached for DescribeKey"));
	assert_non_null(strstr(problems.msgs[1], "config: \"keyrings.h.kms_key_id\": alias \"" ALIAS_ARN "\" "
			       "cannot be resolved: "));
	assert_null(cfg->keyrings[0].kms_arn);
	assert_string_equal(cfg->keyrings[1].kms_arn, ARN);
	assert_null(cfg->keyrings[2].kms_arn);
	config_problems_free(&problems);
	config_free(cfg);

	/* No region: the client cannot be made, and each alias says so. */
	env.region = "";
	cfg = EXPECT_OK("{" UP ",'keyrings':{'a':{'type':'aws-kms','key_id':'alias/orders-key'}}}");
	assert_int_equal(kms_alias_resolve(cfg, &env, NULL, &problems), -1);
	assert_int_equal(problems.len, 1);
	assert_string_equal(problems.msgs[0], "config: \"keyrings.a.key_id\": alias \"alias/orders-key\" "
			    "cannot be resolved: no AWS region for KMS: set upstream.region or AWS_REGION");
	config_problems_free(&problems);
	config_free(cfg);
	unsetenv("AWS_ENDPOINT_URL_KMS");
	credentials_unref(creds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kms_ref),
		cmocka_unit_test(test_config_accepts_aliases),
		cmocka_unit_test(test_config_alias_errors),
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_describe_key_parse),
		cmocka_unit_test(test_alias_check),
		cmocka_unit_test(test_seen),
		cmocka_unit_test(test_resolve),
	};

	snprintf(g_cfgpath, sizeof(g_cfgpath), "/tmp/dynaseal-test-kms-alias.json");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
