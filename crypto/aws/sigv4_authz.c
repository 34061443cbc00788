#include "crypto/aws/sigv4_authz.h"

#include <stdio.h>
#include <string.h>

/* Copies s[0..n) into out[cap] as a string; 0, or -1 when it does not fit. */
static int copy_part(const char *s, size_t n, char *out, size_t cap)
{
	if (n >= cap)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* Splits a Credential value into its slash-separated parts; how many (at most max). */
static int credential_parts(const char *cred, size_t len, const char **part, size_t *part_len,
			    int max)
{
	const char *p = cred, *end = cred + len;
	int n = 0;

	while (n < max) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		part[n] = p;
		part_len[n++] = (size_t)((slash != NULL ? slash : end) - p);
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	return n;
}

void sigv4_authz_parse(const char *value, struct sigv4_authz *a)
{
	const char *cred = NULL, *p;
	size_t cred_len = 0, n;
	const char *part[6];
	size_t part_len[6];
	int nparts, sig_fits = 0, sh_fits = 0;

	/* Field by field: the struct is large (SignedHeaders) and read once per request. */
	a->present = a->aws4 = a->has_credential = a->has_signed_headers = a->has_signature = 0;
	a->ok = 0;
	a->algorithm[0] = a->akid[0] = a->date[0] = a->region[0] = a->service[0] = '\0';
	a->signed_headers[0] = a->signature[0] = '\0';
	if (value == NULL)
		return;
	a->present = 1;
	while (*value == ' ' || *value == '\t')
		value++;
	a->aws4 = strncmp(value, "AWS4-", 5) == 0;
	n = strcspn(value, " ,");
	(void)copy_part(value, n, a->algorithm, sizeof(a->algorithm));
	/* The rest: key=value parameters separated by commas and spaces. */
	for (p = value + n; *p != '\0';) {
		const char *eq;
		size_t klen, vlen;

		p += strspn(p, " ,\t");
		n = strcspn(p, " ,\t");
		if (n == 0)
			break;
		eq = memchr(p, '=', n);
		if (eq != NULL) {
			klen = (size_t)(eq - p);
			vlen = n - klen - 1;
			if (klen == 10 && strncmp(p, "Credential", 10) == 0 && vlen > 0) {
				a->has_credential = 1;
				cred = eq + 1;
				cred_len = vlen;
			} else if (klen == 13 && strncmp(p, "SignedHeaders", 13) == 0 && vlen > 0) {
				a->has_signed_headers = 1;
				sh_fits = copy_part(eq + 1, vlen, a->signed_headers,
						    sizeof(a->signed_headers)) == 0;
			} else if (klen == 9 && strncmp(p, "Signature", 9) == 0 && vlen > 0) {
				a->has_signature = 1;
				sig_fits = copy_part(eq + 1, vlen, a->signature, sizeof(a->signature)) == 0;
			}
		}
		p += n;
	}
	if (cred == NULL)
		return;
	nparts = credential_parts(cred, cred_len, part, part_len, 6);
	(void)copy_part(part[0], part_len[0], a->akid, sizeof(a->akid));
	if (nparts >= 3)
		(void)copy_part(part[2], part_len[2], a->region, sizeof(a->region));
	a->ok = strcmp(a->algorithm, "AWS4-HMAC-SHA256") == 0 && nparts == 5 && part_len[0] > 0 &&
		part_len[0] < sizeof(a->akid) && part_len[1] == 8 &&
		part_len[2] > 0 && part_len[2] < sizeof(a->region) &&
		part_len[3] > 0 && part_len[3] < sizeof(a->service) &&
		part_len[4] == 12 && strncmp(part[4], "aws4_request", 12) == 0 &&
		sh_fits && sig_fits && strlen(a->signature) == SIGV4_HEX_LEN;
	if (!a->ok) {
		a->signed_headers[0] = '\0';
		a->signature[0] = '\0';
		return;
	}
	(void)copy_part(part[1], part_len[1], a->date, sizeof(a->date));
	(void)copy_part(part[3], part_len[3], a->service, sizeof(a->service));
}
