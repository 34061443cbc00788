/*
 * libFuzzer target for crypto/sigv4: the signer canonicalizes untrusted requests when client
 * authentication recomputes an application's signature.
 *
 * Input: "METHOD\nTARGET\nAMZ-DATE\nName:value\n...\n\nbody".  Beyond memory safety it
 * checks that the hashed canonical request (string to sign, signature) agrees with the
 * canonical request text, and that the key cache gives the same signature as no cache.
 *
 * Build: clang -std=c11 -D_GNU_SOURCE -I. -g -O1 -fsanitize=fuzzer,address,undefined \
 *   tests/fuzz/fuzz_sigv4.c crypto/aws/sigv4.c proxy/base/codec.c proxy/base/log.c \
 *   $(pkg-config --cflags --libs openssl libevent) -o /tmp/fuzz_sigv4
 */
#include "proxy/base/codec.h"
#include "crypto/aws/sigv4.h"

#include <openssl/evp.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_HEADERS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Next '\n'-terminated line of [*p, end) as (ptr, len); 0 at the end of input. */
static int fuzz_line(const char **p, const char *end, const char **line, size_t *len)
{
	if (*p >= end)
		return 0;
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	*line = *p;
	*len = nl != NULL ? (size_t)(nl - *p) : (size_t)(end - *p);
	*p = nl != NULL ? nl + 1 : end;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *end = p + size;
	const char *line;
	size_t len;
	char method[32];
	char amz_date[32];
	struct sigv4_header headers[FUZZ_MAX_HEADERS];
	size_t nheaders = 0;
	struct sigv4_request req = { .method = method };

	if (!fuzz_line(&p, end, &line, &len) || len >= sizeof(method))
		return 0;
	memcpy(method, line, len);
	method[len] = '\0';
	if (!fuzz_line(&p, end, &line, &len))
		return 0;
	const char *q = memchr(line, '?', len);
	req.path = line;
	req.path_len = q != NULL ? (size_t)(q - line) : len;
	req.query = q != NULL ? q + 1 : NULL;
	req.query_len = q != NULL ? len - req.path_len - 1 : 0;
	if (!fuzz_line(&p, end, &line, &len) || len >= sizeof(amz_date))
		return 0;
	memcpy(amz_date, line, len);
	amz_date[len] = '\0';
	while (nheaders < FUZZ_MAX_HEADERS && fuzz_line(&p, end, &line, &len) && len > 0) {
		const char *colon = memchr(line, ':', len);
		size_t nlen = colon != NULL ? (size_t)(colon - line) : len;
		headers[nheaders++] = (struct sigv4_header){
			.name = line, .name_len = nlen,
			.value = colon != NULL ? colon + 1 : NULL,
			.value_len = colon != NULL ? len - nlen - 1 : 0,
		};
	}
	req.headers = headers;
	req.headers_len = nheaders;
	req.payload = (const unsigned char *)p;
	req.payload_len = (size_t)(end - p);

	struct sigv4_credentials creds = {
		.access_key_id = "AKIDEXAMPLE",
		.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		.session_token = size % 2 ? "token" : NULL,
	};
	struct sigv4_scope scope = { .region = "us-east-1", .service = "dynamodb", .amz_date = amz_date };

	char *creq = NULL;
	size_t creq_len = 0;
	int rc = sigv4_canonical_request(&req, &creds, &scope, &creq, &creq_len);
	char sts[SIGV4_STS_MAX];
	int rc_sts = sigv4_string_to_sign(&req, &creds, &scope, sts, sizeof(sts));
	char authz[4096];
	char sig[SIGV4_HEX_LEN + 1];
	int rc_sign = sigv4_sign(&req, &creds, &scope, NULL, authz, sizeof(authz), sig);
	if (rc != rc_sts || (rc_sign != rc && rc_sign != SIGV4_ERR_BUFFER))
		abort();
	if (rc == SIGV4_OK) {
		unsigned char digest[32];
		char hex[SIGV4_HEX_LEN + 1];
		if (strlen(creq) != creq_len ||
		    EVP_Digest(creq, creq_len, digest, NULL, EVP_sha256(), NULL) != 1)
			abort();
		codec_hex_encode(digest, sizeof(digest), hex);
		size_t sts_len = strlen(sts);
		if (sts_len < SIGV4_HEX_LEN || strcmp(sts + sts_len - SIGV4_HEX_LEN, hex) != 0)
			abort();
	}
	if (rc_sign == SIGV4_OK) {
		struct sigv4_key cache = { .valid = 0 };
		char authz2[4096];
		if (sigv4_sign(&req, &creds, &scope, &cache, authz2, sizeof(authz2), NULL) != SIGV4_OK ||
		    strcmp(authz, authz2) != 0 || strstr(authz, sig) == NULL)
			abort();
		sigv4_key_wipe(&cache);
	}
	free(creq);
	return 0;
}
