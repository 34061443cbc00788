/*
 * AWS Signature Version 4, in the steps of the AWS guide "Create a signed AWS API request":
 * task 2 string to sign, task 3 signing key and signature, task 4 Authorization header.  Task 1,
 * the canonical request, is sigv4_canon.c.
 */
#include "crypto/aws/sigv4.h"
#include "crypto/aws/sigv4_canon.h"

#include "proxy/base/codec.h"
#include "crypto/item/suite.h"
#include "proxy/base/log.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


const char *sigv4_strerror(int status)
{
	switch (status) {
	case SIGV4_OK: return "success";
	case SIGV4_ERR_ARG: return "SigV4: a required argument (request, scope, credentials or output) is missing";
	case SIGV4_ERR_AMZ_DATE: return "SigV4: the request date must be YYYYMMDDTHHMMSSZ in UTC, e.g. 20150830T123600Z";
	case SIGV4_ERR_REGION: return "SigV4: the region must be 1-63 characters without '/' or white space, e.g. us-east-1";
	case SIGV4_ERR_SERVICE: return "SigV4: the service must be 1-63 characters without '/' or white space, e.g. dynamodb";
	case SIGV4_ERR_METHOD: return "SigV4: the HTTP method must be a non-empty token, e.g. POST";
	case SIGV4_ERR_PATH: return "SigV4: the request path must be empty or start with '/'";
	case SIGV4_ERR_HEADER_NAME: return "SigV4: a header name to sign is empty or not an HTTP token";
	case SIGV4_ERR_DATE_MISMATCH: return "SigV4: the x-amz-date header differs from the signing date";
	case SIGV4_ERR_TOKEN_MISMATCH: return "SigV4: the x-amz-security-token header differs from the credentials' session token";
	case SIGV4_ERR_PAYLOAD_HASH: return "SigV4: the precomputed payload hash is empty or contains white space";
	case SIGV4_ERR_ACCESS_KEY: return "SigV4: the access key id must be 1-128 printable characters without '/', ',', '=' or space";
	case SIGV4_ERR_SECRET: return "SigV4: the secret access key is empty or longer than 256 characters";
	case SIGV4_ERR_BUFFER: return "SigV4: the output buffer is too small";
	case SIGV4_ERR_NOMEM: return "SigV4: out of memory";
	case SIGV4_ERR_CRYPTO: return "SigV4: OpenSSL failed to hash or MAC";
	case SIGV4_ERR_HEADER_VALUE: return "SigV4: a header value to sign contains NUL, DEL or a control character";
	default: return "unknown SigV4 error";
	}
}

/* ---- task 2: string to sign ---- */

static int sigv4_build_string_to_sign(const struct sigv4_scope *scope, const char *creq_hex,
				      char *out, size_t cap, size_t *out_len)
{
	int n = snprintf(out, cap, "%s\n%s\n%.8s/%s/%s/aws4_request\n%s", SIGV4_ALGORITHM,
			 scope->amz_date, scope->amz_date, scope->region, scope->service, creq_hex);
	if (n < 0 || (size_t)n >= cap) {
		if (cap > 0)
			out[0] = '\0';
		return SIGV4_ERR_BUFFER;
	}
	*out_len = (size_t)n;
	return SIGV4_OK;
}

int sigv4_string_to_sign(const struct sigv4_request *req, const struct sigv4_credentials *creds,
			 const struct sigv4_scope *scope, char *out, size_t cap)
{
	struct sigv4_canon canon;
	char creq_hex[SIGV4_HEX_LEN + 1];
	size_t len = 0;
	int rc;

	rc = sigv4_canon_init(&canon, req, creds, scope);
	if (out == NULL || cap == 0)
		rc = SIGV4_ERR_ARG;
	else
		out[0] = '\0';
	if (rc == SIGV4_OK)
		rc = sigv4_hash_canonical_request(req, &canon, creq_hex);
	if (rc == SIGV4_OK)
		rc = sigv4_build_string_to_sign(scope, creq_hex, out, cap, &len);
	sigv4_canon_cleanup(&canon);
	return rc;
}

/* ---- task 3: signing key and signature ---- */

static int sigv4_hmac(const unsigned char *key, size_t key_len, const void *msg, size_t msg_len,
		      unsigned char out[32])
{
	/* suite_hmac: HMAC() looks SHA-256 and HMAC up by name on every call. */
	if (suite_hmac(EVP_sha256(), key, key_len, msg, msg_len, out) != 0) {
		log_openssl_errors(LOG_ERROR, "SigV4: HMAC-SHA256");
		return SIGV4_ERR_CRYPTO;
	}
	return SIGV4_OK;
}

void sigv4_key_wipe(struct sigv4_key *key)
{
	if (key != NULL)
		OPENSSL_cleanse(key, sizeof(*key));
}

int sigv4_key_derive(struct sigv4_key *key, const struct sigv4_credentials *creds,
		     const struct sigv4_scope *scope)
{
	unsigned char secret[4 + SIGV4_SECRET_MAX];
	unsigned char k_a[32];
	unsigned char k_b[32];
	int rc;

	if (key == NULL) {
		rc = SIGV4_ERR_ARG;
		goto cleanup;
	}
	sigv4_key_wipe(key);
	rc = sigv4_check_signer(creds);
	if (rc != SIGV4_OK)
		goto cleanup;
	rc = sigv4_check_scope(scope);
	if (rc != SIGV4_OK)
		goto cleanup;
	size_t secret_len = strlen(creds->secret_access_key);
	memcpy(secret, "AWS4", 4);
	memcpy(secret + 4, creds->secret_access_key, secret_len);
	/* kDate, kRegion, kService, kSigning (SigV4 guide, "Calculate the signature"). */
	rc = sigv4_hmac(secret, 4 + secret_len, scope->amz_date, 8, k_a);
	if (rc == SIGV4_OK)
		rc = sigv4_hmac(k_a, sizeof(k_a), scope->region, strlen(scope->region), k_b);
	if (rc == SIGV4_OK)
		rc = sigv4_hmac(k_b, sizeof(k_b), scope->service, strlen(scope->service), k_a);
	if (rc == SIGV4_OK)
		rc = sigv4_hmac(k_a, sizeof(k_a), "aws4_request", 12, key->key);
	if (rc != SIGV4_OK)
		goto cleanup;
	memcpy(key->date, scope->amz_date, 8);
	key->date[8] = '\0';
	strcpy(key->region, scope->region);
	strcpy(key->service, scope->service);
	strcpy(key->access_key_id, creds->access_key_id);
	key->valid = 1;
cleanup:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(k_a, sizeof(k_a));
	OPENSSL_cleanse(k_b, sizeof(k_b));
	if (rc != SIGV4_OK)
		sigv4_key_wipe(key);
	return rc;
}

/* Whether a cached key was derived for these credentials and this scope (lengths checked). */
static int sigv4_key_matches(const struct sigv4_key *key, const struct sigv4_credentials *creds,
			     const struct sigv4_scope *scope)
{
	return key->valid && memcmp(key->date, scope->amz_date, 8) == 0 &&
	       strcmp(key->region, scope->region) == 0 && strcmp(key->service, scope->service) == 0 &&
	       strcmp(key->access_key_id, creds->access_key_id) == 0;
}

/* ---- task 4: Authorization header ---- */

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *creds,
	       const struct sigv4_scope *scope, struct sigv4_key *key_cache,
	       char *authz_out, size_t authz_cap, char signature_out[SIGV4_HEX_LEN + 1])
{
	struct sigv4_canon canon;
	struct sigv4_key local_key = { .valid = 0 };
	struct sigv4_key *key = key_cache != NULL ? key_cache : &local_key;
	char creq_hex[SIGV4_HEX_LEN + 1];
	char sts[SIGV4_STS_MAX];
	size_t sts_len = 0;
	unsigned char mac[32];
	char signature[SIGV4_HEX_LEN + 1];
	int rc;

	if (signature_out != NULL)
		signature_out[0] = '\0';
	rc = sigv4_canon_init(&canon, req, creds, scope);
	if (authz_out == NULL || authz_cap == 0)
		rc = SIGV4_ERR_ARG;
	else
		authz_out[0] = '\0';
	if (rc == SIGV4_OK)
		rc = sigv4_check_signer(creds);
	if (rc != SIGV4_OK)
		goto cleanup;
	rc = sigv4_hash_canonical_request(req, &canon, creq_hex);
	if (rc != SIGV4_OK)
		goto cleanup;
	rc = sigv4_build_string_to_sign(scope, creq_hex, sts, sizeof(sts), &sts_len);
	if (rc != SIGV4_OK)
		goto cleanup;
	if (!sigv4_key_matches(key, creds, scope)) {
		rc = sigv4_key_derive(key, creds, scope);
		if (rc != SIGV4_OK)
			goto cleanup;
	}
	rc = sigv4_hmac(key->key, sizeof(key->key), sts, sts_len, mac);
	if (rc != SIGV4_OK)
		goto cleanup;
	codec_hex_encode(mac, sizeof(mac), signature);

	rc = sigv4_canon_authorization(&canon, creds, scope, signature, authz_out, authz_cap);
	if (rc != SIGV4_OK)
		goto cleanup;
	if (signature_out != NULL)
		memcpy(signature_out, signature, sizeof(signature));
cleanup:
	sigv4_canon_cleanup(&canon);
	OPENSSL_cleanse(&local_key, sizeof(local_key));
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

int sigv4_signature_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return 0;
	size_t n = strlen(a);
	if (n != strlen(b))
		return 0;
	return CRYPTO_memcmp(a, b, n) == 0;
}
