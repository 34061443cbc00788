/*
 * KMS response parsing and error mapping: each KMS error becomes the DynamoDB-style error a
 * client understands, with the key and the operation named; malformed answers are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/aws/kms_client.h"

#define KEY "arn:aws:kms:us-east-1:111122223333:key/1234"

static struct ds_error parse_err(const char *op, int status, const char *body, int *retryable)
{
	struct ds_error err = { 0 };
	struct kms_result res;
	struct kms_parsed *p = kms_parse_response(op, status, body, strlen(body), KEY, &res, &err, retryable);

	assert_null(p);
	return err;
}

static void test_success(void **state)
{
	/* "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" is bytes 0..31. */
	static const char body[] = "{\"KeyId\":\"" KEY "\",\"Plaintext\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\","
				   "\"CiphertextBlob\":\"AQID\"}";
	struct ds_error err = { 0 };
	struct kms_result res;
	int retry;
	struct kms_parsed *p;

	(void)state;
	p = kms_parse_response("GenerateDataKey", 200, body, strlen(body), KEY, &res, &err, &retry);
	assert_non_null(p);
	assert_int_equal(res.plaintext_len, 32);
	assert_int_equal(res.plaintext[31], 31);
	assert_int_equal(res.ciphertext_len, 3);
	assert_memory_equal(res.ciphertext, "\x01\x02\x03", 3);
	assert_string_equal(res.key_id, KEY);
	kms_parsed_free(p);
}

static void test_errors(void **state)
{
	struct ds_error e;
	int retry;

	(void)state;
	e = parse_err("Decrypt", 400, "{\"__type\":\"AccessDeniedException\",\"message\":\"User is not authorized\"}", &retry);
	assert_string_equal(e.type, DS_ERR_ACCESS_DENIED);
	assert_non_null(strstr(e.message, "kms:Decrypt"));
	assert_non_null(strstr(e.message, KEY));
	assert_false(retry);
	/* An IAM refusal in XML, as some endpoints answer it. */
	e = parse_err("Decrypt", 403, "<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>", &retry);
	assert_string_equal(e.type, DS_ERR_ACCESS_DENIED);
	e = parse_err("GenerateDataKey", 400, "{\"__type\":\"com.amazonaws.kms#ThrottlingException\"}", &retry);
	assert_string_equal(e.type, DS_ERR_THROTTLING);
	assert_true(retry);
	e = parse_err("Decrypt", 500, "{\"__type\":\"KMSInternalException\"}", &retry);
	assert_int_equal(e.status, 503);
	assert_string_equal(e.type, DS_ERR_UNAVAILABLE);
	assert_true(retry);
	e = parse_err("Decrypt", 400, "{\"__type\":\"InvalidCiphertextException\"}", &retry);
	assert_string_equal(e.type, DS_ERR_VALIDATION);
	assert_non_null(strstr(e.message, "changed outside dynaseal"));
	assert_false(retry);
	e = parse_err("Decrypt", 400, "{\"__type\":\"NotFoundException\",\"message\":\"Key does not exist\"}", &retry);
	assert_non_null(strstr(e.message, "NotFoundException: Key does not exist"));
	/* A 200 that is not JSON, lacks the plaintext, or carries bad base64. */
	e = parse_err("Decrypt", 200, "<html>", &retry);
	assert_non_null(strstr(e.message, "not JSON"));
	e = parse_err("Decrypt", 200, "{\"KeyId\":\"x\"}", &retry);
	assert_non_null(strstr(e.message, "lacks a field"));
	e = parse_err("GenerateDataKey", 200, "{\"Plaintext\":\"!!!\",\"CiphertextBlob\":\"AQID\"}", &retry);
	assert_non_null(strstr(e.message, "not valid base64"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests_name("kms_client", tests, NULL, NULL);
}
