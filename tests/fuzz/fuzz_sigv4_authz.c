/*
 * libFuzzer target for crypto/aws/sigv4_authz.c, the parse of an application's Authorization
 * header, and for the checks DynamoDB makes of it before anything else
 * (client_auth_precheck).  Beyond memory safety:
 *
 *  - every field is a terminated string within its array;
 *  - a header parsed as complete (ok) is the AWS4-HMAC-SHA256 form with a 5-part Credential,
 *    and writing its fields back in the SDKs' layout parses to the same fields;
 *  - the precheck refuses with one of DynamoDB's three signature errors, a 400 with a
 *    message, and never refuses a complete header sent with X-Amz-Date.
 *
 * Input: the header's value.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "crypto/aws/sigv4_authz.h"
#include "proxy/client_auth.h"
#include "proxy/net/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void terminated(const char *s, size_t cap)
{
	if (memchr(s, '\0', cap) == NULL)
		__builtin_trap();
}

/* A request carrying value as its Authorization header (and X-Amz-Date). */
static int check_precheck(const char *value, const struct sigv4_authz *a)
{
	struct http_msg *req = http_msg_new();
	struct ds_error err = { 0 };
	int rc;

	if (req == NULL)
		return 0;
	if (http_msg_add_header(req, "Authorization", 13, value, strlen(value)) != 0 ||
	    http_msg_add_header(req, "X-Amz-Date", 10, "20260101T000000Z", 16) != 0) {
		http_msg_free(req);
		return 0;
	}
	req->url = strdup("/");
	rc = client_auth_precheck(req, a, &err);
	if (rc != 0) {
		if (err.status != 400 || err.message[0] == '\0' ||
		    (strstr(err.type, "MissingAuthenticationTokenException") == NULL &&
		     strstr(err.type, "IncompleteSignatureException") == NULL &&
		     strstr(err.type, "InvalidSignatureException") == NULL))
			__builtin_trap();
		if (a->ok)
			__builtin_trap();
	}
	http_msg_free(req);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = malloc(size + 1);
	struct sigv4_authz a, b;
	char again[2048];

	if (value == NULL)
		return 0;
	memcpy(value, data, size);
	value[size] = '\0';
	sigv4_authz_parse(value, &a);
	if (!a.present)
		__builtin_trap();
	terminated(a.algorithm, sizeof(a.algorithm));
	terminated(a.akid, sizeof(a.akid));
	terminated(a.date, sizeof(a.date));
	terminated(a.region, sizeof(a.region));
	terminated(a.service, sizeof(a.service));
	terminated(a.signed_headers, sizeof(a.signed_headers));
	terminated(a.signature, sizeof(a.signature));
	if (a.ok) {
		if (strcmp(a.algorithm, "AWS4-HMAC-SHA256") != 0 || strlen(a.date) != 8 ||
		    a.akid[0] == '\0' || a.region[0] == '\0' || a.service[0] == '\0' ||
		    strlen(a.signature) != SIGV4_HEX_LEN || !a.has_credential || !a.has_signature ||
		    !a.has_signed_headers)
			__builtin_trap();
		snprintf(again, sizeof(again), "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
			 "SignedHeaders=%s, Signature=%s", a.akid, a.date, a.region, a.service,
			 a.signed_headers, a.signature);
		sigv4_authz_parse(again, &b);
		if (!b.ok || strcmp(a.akid, b.akid) != 0 ||
		    strcmp(a.date, b.date) != 0 || strcmp(a.region, b.region) != 0 ||
		    strcmp(a.service, b.service) != 0 || strcmp(a.signed_headers, b.signed_headers) != 0 ||
		    strcmp(a.signature, b.signature) != 0)
			__builtin_trap();
	}
	check_precheck(value, &a);
	sigv4_authz_parse(NULL, &b);
	if (b.present || b.ok)
		__builtin_trap();
	free(value);
	return 0;
}
