/*
 * Parsers of the credential sources: container/IMDS JSON, STS XML, shared credentials files,
 * timestamps; each with the malformed answers that must be refused.  The slot's replacement.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/aws/cred_chain.h"

/* A string literal and its length. */
#define S(lit) (lit), (sizeof(lit) - 1)

static void test_json(void **state)
{
	static const char ok[] = "{\"AccessKeyId\":\"ASIAX\",\"SecretAccessKey\":\"s3cr3t\",\"Token\":\"tok\","
				 "\"Expiration\":\"2030-01-02T03:04:05Z\"}";
	struct cred_parsed p;

	(void)state;
	assert_int_equal(cred_parse_json(ok, strlen(ok), &p), 0);
	assert_string_equal(p.access_key_id, "ASIAX");
	assert_string_equal(p.secret_access_key, "s3cr3t");
	assert_string_equal(p.session_token, "tok");
	assert_int_equal(p.expiration, 1893553445);
	cred_parsed_free(&p);
	/* An empty token means long-term keys. */
	assert_int_equal(cred_parse_json(S("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"B\",\"Token\":\"\"}"), &p), 0);
	assert_null(p.session_token);
	assert_int_equal(p.expiration, 0);
	cred_parsed_free(&p);
	assert_int_equal(cred_parse_json(S("{\"AccessKeyId\":\"A\"}"), &p), -1);
	assert_int_equal(cred_parse_json(S("not json"), &p), -1);
	assert_int_equal(cred_parse_json(S("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"B\",\"Expiration\":\"soon\"}"), &p), -1);
}

static void test_sts_xml(void **state)
{
	static const char ok[] =
		"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
		"<SessionToken>tok</SessionToken><SecretAccessKey>sec</SecretAccessKey>"
		"<Expiration>2030-01-02T03:04:05.123Z</Expiration><AccessKeyId>ASIAY</AccessKeyId>"
		"</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
	struct cred_parsed p;

	(void)state;
	assert_int_equal(cred_parse_sts_xml(ok, strlen(ok), &p), 0);
	assert_string_equal(p.access_key_id, "ASIAY");
	assert_string_equal(p.session_token, "tok");
	assert_int_equal(p.expiration, 1893553445);
	cred_parsed_free(&p);
	/* An error document, or one missing the token. */
	assert_int_equal(cred_parse_sts_xml(S("<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>"), &p), -1);
	assert_int_equal(cred_parse_sts_xml(S("<AccessKeyId>A</AccessKeyId><SecretAccessKey>B</SecretAccessKey>"), &p), -1);
	assert_int_equal(cred_parse_sts_xml(S("<AccessKeyId>A"), &p), -1);
}

static void test_profile(void **state)
{
	static const char file[] =
		"# comment\n[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key=defsecret\n\n"
		"[ ops ]\r\naws_access_key_id=AKIDOPS \naws_secret_access_key = opssecret\r\n"
		"aws_session_token = opstoken\n[empty]\naws_access_key_id =\n";
	struct cred_parsed p;

	(void)state;
	assert_int_equal(cred_parse_profile(file, "default", &p), 0);
	assert_string_equal(p.access_key_id, "AKIDDEFAULT");
	assert_string_equal(p.secret_access_key, "defsecret");
	assert_null(p.session_token);
	cred_parsed_free(&p);
	assert_int_equal(cred_parse_profile(file, "ops", &p), 0);
	assert_string_equal(p.access_key_id, "AKIDOPS");
	assert_string_equal(p.session_token, "opstoken");
	cred_parsed_free(&p);
	assert_int_equal(cred_parse_profile(file, "empty", &p), -1);
	assert_int_equal(cred_parse_profile(file, "missing", &p), -1);
}

static void test_time_and_slot(void **state)
{
	struct credentials *c;

	(void)state;
	assert_int_equal(cred_parse_time("1970-01-01T00:01:00Z"), 60);
	assert_int_equal(cred_parse_time("garbage"), -1);
	assert_int_equal(cred_parse_time(NULL), -1);
	c = credentials_new("AKID1", "one", NULL, 0, "test");
	assert_string_equal(credentials_get(c)->access_key_id, "AKID1");
	assert_int_equal(credentials_replace(c, "AKID2", "two", "tok", 100), 0);
	assert_string_equal(credentials_get(c)->access_key_id, "AKID2");
	assert_string_equal(credentials_get(c)->session_token, "tok");
	/* The replaced values are still readable (grace), freed with the slot. */
	assert_non_null(c->retired);
	assert_string_equal(c->retired->access_key_id, "AKID1");
	credentials_unref(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_sts_xml),
		cmocka_unit_test(test_profile),
		cmocka_unit_test(test_time_and_slot),
	};
	return cmocka_run_group_tests_name("cred_chain", tests, NULL, NULL);
}
