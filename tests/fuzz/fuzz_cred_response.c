/*
 * libFuzzer target for the credential answers dynaseal parses (crypto/aws/cred_chain.c): STS
 * AssumeRoleWithWebIdentity XML, the JSON of the container endpoint and IMDS, the shared
 * credentials file and the timestamps in all of them.  Each is untrusted input that carries
 * a secret.
 *
 * Input: byte 0 picks the parser, the rest is the text (copied to an exact-size buffer with
 * no NUL for the length-taking parsers, so a read past it is caught).  Beyond memory safety
 * it checks the contract callers rely on: success means an access key and a secret (and, from
 * STS, a session token and an expiration); failure leaves nothing to free.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aws/cred_chain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int rc, const struct cred_parsed *p, int sts)
{
	if (rc == 0) {
		if (p->access_key_id == NULL || p->secret_access_key == NULL)
			abort();
		if (sts && (p->session_token == NULL || p->expiration < 0))
			abort();
	} else if (p->access_key_id != NULL || p->secret_access_key != NULL || p->session_token != NULL) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cred_parsed p;
	char *text;
	int rc;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	switch (data[0] % 4) {
	case 0:
		rc = cred_parse_sts_xml(text, size - 1, &p);
		check(rc, &p, 1);
		break;
	case 1:
		rc = cred_parse_json(text, size - 1, &p);
		check(rc, &p, 0);
		break;
	case 2:
		text[size - 1] = '\0';
		rc = cred_parse_profile(text, "default", &p);
		check(rc, &p, 0);
		break;
	default:
		text[size - 1] = '\0';
		(void)cred_parse_time(text);
		free(text);
		return 0;
	}
	if (rc == 0)
		cred_parsed_free(&p);
	free(text);
	return 0;
}
