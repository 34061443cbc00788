/*
 * libFuzzer target for kms_parse_response() (crypto/aws/kms_client.c): every KMS answer, success
 * or error, JSON or the XML some endpoints send for IAM refusals, is untrusted input that may
 * carry a plaintext key.
 *
 * Input: byte 0 picks the operation, byte 1 the HTTP status, the rest is the body (copied to
 * an exact-size buffer with no NUL, so a read past it is caught).  Beyond memory safety it
 * checks the contract callers rely on: a result xor an error; a result has what its operation
 * promises (Decrypt and GenerateDataKey a plaintext, the others a ciphertext) and a key id; an
 * error has a DynamoDB type, a status of 400, 502 or 503 and a terminated message; only a 5xx,
 * KMSInternalException or throttling is retryable, and throttling is answered as such.
 * DescribeKey's answer (what an alias names) has a key id and a state, and kms_alias_check
 * accepts it only for an Enabled key named by key ARN.
 *
 * Build: make build/fuzz/fuzz_kms_response (or clang -fsanitize=fuzzer,address,undefined with
 * the library sources, as the Makefile's fuzz rule does).
 */
#include "crypto/aws/kms_alias.h"
#include "crypto/aws/kms_client.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The operations the client parses answers for. */
static const char *const fuzz_ops[] = {
	"GenerateDataKey", "Decrypt", "Encrypt", "GenerateDataKeyWithoutPlaintext", "ReEncrypt",
	"DescribeKey",
};
/* Statuses KMS and the endpoints in front of it answer with. */
static const int fuzz_statuses[] = { 200, 400, 403, 404, 429, 500, 502, 503 };

#define FUZZ_KEY "arn:aws:kms:us-east-1:111122223333:key/fuzz"

/* Folds every byte of a buffer, so ASan sees each one read. */
static unsigned fuzz_touch(const unsigned char *p, size_t len)
{
	unsigned acc = 0;

	for (size_t i = 0; i < len; i++)
		acc += p[i];
	return acc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ds_error err = { 0 };
	struct kms_result res;
	struct kms_parsed *p;
	const char *op;
	char *body;
	int status, retryable = -1;
	size_t len;

	if (size < 2)
		return 0;
	op = fuzz_ops[data[0] % (sizeof(fuzz_ops) / sizeof(fuzz_ops[0]))];
	status = fuzz_statuses[data[1] % (sizeof(fuzz_statuses) / sizeof(fuzz_statuses[0]))];
	len = size - 2;
	body = malloc(len ? len : 1);
	if (body == NULL)
		return 0;
	memcpy(body, data + 2, len);
	memset(&res, 0xA5, sizeof(res));
	p = kms_parse_response(op, status, body, len, FUZZ_KEY, &res, &err, &retryable);
	if (retryable != 0 && retryable != 1)
		abort();
	if (p != NULL && strcmp(op, "DescribeKey") == 0) {
		char why[512];
		if (status != 200 || err.status != 0 || retryable || res.key_id == NULL ||
		    res.key_state == NULL || res.plaintext != NULL)
			abort();
		why[0] = '\0';
		if (kms_alias_check("alias/fuzz", &res, why, sizeof(why)) == 0) {
			if (config_kms_ref(res.key_id) != KMS_REF_KEY_ARN ||
			    strcmp(res.key_state, "Enabled") != 0)
				abort();
		} else if (why[0] == '\0' || memchr(why, '\0', sizeof(why)) == NULL) {
			abort();
		}
		kms_parsed_free(p);
	} else if (p != NULL) {
		int wants_plaintext = strcmp(op, "Decrypt") == 0 || strcmp(op, "GenerateDataKey") == 0;
		if (status != 200 || err.status != 0 || retryable || res.key_id == NULL)
			abort();
		if (wants_plaintext && res.plaintext == NULL)
			abort();
		if (strcmp(op, "Decrypt") != 0 && res.ciphertext == NULL)
			abort();
		if ((res.plaintext == NULL && res.plaintext_len != 0) ||
		    (res.ciphertext == NULL && res.ciphertext_len != 0))
			abort();
		(void)fuzz_touch(res.plaintext, res.plaintext ? res.plaintext_len : 0);
		(void)fuzz_touch(res.ciphertext, res.ciphertext ? res.ciphertext_len : 0);
		(void)strlen(res.key_id);
		kms_parsed_free(p);
	} else {
		if (err.type == NULL || memchr(err.message, '\0', sizeof(err.message)) == NULL)
			abort();
		if (err.status != 400 && err.status != 502 && err.status != 503)
			abort();
		if (status == 200 && (err.status != 502 || retryable))
			abort();
		if (status >= 500 && (!retryable || err.status != 503))
			abort();
		if (retryable && err.status != 503 && strcmp(err.type, DS_ERR_THROTTLING) != 0)
			abort();
		if (!retryable && (strcmp(err.type, DS_ERR_THROTTLING) == 0 ||
				   strcmp(err.type, DS_ERR_UNAVAILABLE) == 0))
			abort();
	}
	free(body);
	return 0;
}
