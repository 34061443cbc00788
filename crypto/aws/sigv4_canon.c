/*
 * SigV4 task 1 of the AWS guide "Create a signed AWS API request": the canonical request, with
 * the character classes, percent-encoding and checks it needs.  Written through a sink that
 * either hashes it as it goes (signing) or builds the text (debugging).  See sigv4.h for the
 * canonicalization rules and why they are so.
 */
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

static const char sigv4_hex_upper[] = "0123456789ABCDEF";
static const char sigv4_token_header[] = "x-amz-security-token";
static const char sigv4_date_header[] = "x-amz-date";

/* Where bytes go: SHA-256 (signing), a growing heap string, or the caller's fixed buffer. */
enum sigv4_sink_mode {
	SIGV4_SINK_HASH,   /* staged, then fed to md */
	SIGV4_SINK_HEAP,   /* appended to buf, realloc'd as needed */
	SIGV4_SINK_FIXED,  /* appended to buf of cap bytes; SIGV4_ERR_BUFFER when full */
};

/* A byte sink; the first error sticks so writers need not check every call. */
struct sigv4_sink {
	enum sigv4_sink_mode mode;  /* see enum sigv4_sink_mode */
	EVP_MD_CTX *md;             /* HASH: the SHA-256 context */
	unsigned char stage[512];   /* HASH: batches small writes into one digest update */
	size_t staged;              /* HASH: bytes in stage */
	char *buf;                  /* HEAP/FIXED: output, kept NUL-terminated */
	size_t len;                 /* HEAP/FIXED: bytes written */
	size_t cap;                 /* HEAP/FIXED: bytes available in buf */
	int status;                 /* 0 or the first error */
};

/* Reads the canonical (percent-encoded) form of a raw component one byte at a time. */
struct sigv4_enc_iter {
	const char *p;   /* raw bytes */
	size_t len;      /* bytes in p */
	size_t pos;      /* next raw byte */
	int decode;      /* 1: a valid %XX is decoded first (query components) */
	char pend[3];    /* "%XY" being returned */
	int npend;       /* bytes in pend */
	int ipend;       /* next byte of pend to return */
};

/* ---- character classes ---- */

/* RFC 3986 section 2.3 unreserved characters: never percent-encoded by SigV4. */
static int sigv4_is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 9110 section 5.6.2 tchar: what a method or header name may contain. */
static int sigv4_is_tchar(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The white space Trimall removes and folds (ASCII, as botocore's str.split does for ASCII). */
static int sigv4_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static int sigv4_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static unsigned char sigv4_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* ---- sink ---- */

static void sigv4_sink_flush(struct sigv4_sink *s)
{
	if (s->staged == 0 || s->status != 0)
		return;
	if (EVP_DigestUpdate(s->md, s->stage, s->staged) != 1) {
		log_openssl_errors(LOG_ERROR, "SigV4: SHA-256 update");
		s->status = SIGV4_ERR_CRYPTO;
	}
	s->staged = 0;
}

static void sigv4_sink_put(struct sigv4_sink *s, const void *p, size_t n)
{
	if (s->status != 0 || n == 0)
		return;
	if (s->mode == SIGV4_SINK_HASH) {
		if (n > sizeof(s->stage) - s->staged)
			sigv4_sink_flush(s);
		if (n >= sizeof(s->stage)) {
			if (s->status == 0 && EVP_DigestUpdate(s->md, p, n) != 1) {
				log_openssl_errors(LOG_ERROR, "SigV4: SHA-256 update");
				s->status = SIGV4_ERR_CRYPTO;
			}
			return;
		}
		memcpy(s->stage + s->staged, p, n);
		s->staged += n;
		return;
	}
	if (n >= s->cap - s->len) {
		if (s->mode == SIGV4_SINK_FIXED) {
			s->status = SIGV4_ERR_BUFFER;
			return;
		}
		size_t want = s->cap * 2 > s->len + n + 1 ? s->cap * 2 : s->len + n + 1;
		char *grown = realloc(s->buf, want);
		if (grown == NULL) {
			s->status = SIGV4_ERR_NOMEM;
			return;
		}
		s->buf = grown;
		s->cap = want;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
}

static void sigv4_sink_putc(struct sigv4_sink *s, char c)
{
	if (s->mode == SIGV4_SINK_HASH && s->status == 0 && s->staged < sizeof(s->stage)) {
		s->stage[s->staged++] = (unsigned char)c;
		return;
	}
	sigv4_sink_put(s, &c, 1);
}

static void sigv4_sink_puts(struct sigv4_sink *s, const char *str)
{
	sigv4_sink_put(s, str, strlen(str));
}

/* ---- percent-encoding (SigV4 guide, "URI-encode each component") ---- */

static void sigv4_enc_init(struct sigv4_enc_iter *it, const char *p, size_t len, int decode)
{
	it->p = p;
	it->len = len;
	it->pos = 0;
	it->decode = decode;
	it->npend = 0;
	it->ipend = 0;
}

/* Returns 1 and the next byte of the encoded form in *out, or 0 at the end. */
static int sigv4_enc_next(struct sigv4_enc_iter *it, unsigned char *out)
{
	if (it->ipend < it->npend) {
		*out = (unsigned char)it->pend[it->ipend++];
		return 1;
	}
	if (it->pos >= it->len)
		return 0;
	unsigned char b = (unsigned char)it->p[it->pos++];
	if (it->decode && b == '%' && it->len - it->pos >= 2) {
		int hi = sigv4_hex_value((unsigned char)it->p[it->pos]);
		int lo = sigv4_hex_value((unsigned char)it->p[it->pos + 1]);
		if (hi >= 0 && lo >= 0) {
			b = (unsigned char)(hi << 4 | lo);
			it->pos += 2;
		}
	}
	if (sigv4_is_unreserved(b)) {
		*out = b;
		return 1;
	}
	it->pend[0] = '%';
	it->pend[1] = sigv4_hex_upper[b >> 4];
	it->pend[2] = sigv4_hex_upper[b & 15];
	it->npend = 3;
	it->ipend = 1;
	*out = '%';
	return 1;
}

/* Compares the encoded forms of two raw components byte-wise, without materializing them. */
static int sigv4_enc_compare(const char *a, size_t alen, const char *b, size_t blen, int decode)
{
	struct sigv4_enc_iter ia;
	struct sigv4_enc_iter ib;
	sigv4_enc_init(&ia, a, alen, decode);
	sigv4_enc_init(&ib, b, blen, decode);
	for (;;) {
		unsigned char ca = 0;
		unsigned char cb = 0;
		int ha = sigv4_enc_next(&ia, &ca);
		int hb = sigv4_enc_next(&ib, &cb);
		if (!ha || !hb)
			return ha - hb;
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
}

static void sigv4_put_encoded(struct sigv4_sink *s, const char *p, size_t len, int decode)
{
	struct sigv4_enc_iter it;
	unsigned char c;
	sigv4_enc_init(&it, p, len, decode);
	while (sigv4_enc_next(&it, &c))
		sigv4_sink_putc(s, (char)c);
}

/* ---- validation ---- */

int sigv4_check_amz_date(const char *d)
{
	static const int days_in_month[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (d == NULL || strlen(d) != SIGV4_AMZ_DATE_LEN || d[8] != 'T' || d[15] != 'Z')
		return SIGV4_ERR_AMZ_DATE;
	for (int i = 0; i < 15; i++) {
		if (i != 8 && (d[i] < '0' || d[i] > '9'))
			return SIGV4_ERR_AMZ_DATE;
	}
	int year = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
	int month = (d[4] - '0') * 10 + (d[5] - '0');
	int day = (d[6] - '0') * 10 + (d[7] - '0');
	int hour = (d[9] - '0') * 10 + (d[10] - '0');
	int minute = (d[11] - '0') * 10 + (d[12] - '0');
	int second = (d[13] - '0') * 10 + (d[14] - '0');
	if (month < 1 || month > 12 || day < 1 || day > days_in_month[month - 1])
		return SIGV4_ERR_AMZ_DATE;
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (month == 2 && day == 29 && !leap)
		return SIGV4_ERR_AMZ_DATE;
	if (hour > 23 || minute > 59 || second > 59)
		return SIGV4_ERR_AMZ_DATE;
	return SIGV4_OK;
}

int sigv4_amz_date(time_t when, char out[SIGV4_AMZ_DATE_LEN + 1])
{
	struct tm tm;

	if (out == NULL)
		return SIGV4_ERR_ARG;
	out[0] = '\0';
	if (gmtime_r(&when, &tm) == NULL || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
		return SIGV4_ERR_AMZ_DATE;
	if (strftime(out, SIGV4_AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm) != SIGV4_AMZ_DATE_LEN)
		return SIGV4_ERR_AMZ_DATE;
	return SIGV4_OK;
}

/* A region or service: part of the credential scope, so no '/' and no white space. */
static int sigv4_check_scope_name(const char *name)
{
	if (name == NULL)
		return -1;
	size_t n = strlen(name);
	if (n == 0 || n > SIGV4_NAME_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= ' ' || c == '/' || c == 0x7f)
			return -1;
	}
	return 0;
}

int sigv4_check_scope(const struct sigv4_scope *scope)
{
	if (scope == NULL)
		return SIGV4_ERR_ARG;
	if (sigv4_check_amz_date(scope->amz_date) != SIGV4_OK)
		return SIGV4_ERR_AMZ_DATE;
	if (sigv4_check_scope_name(scope->region) != 0)
		return SIGV4_ERR_REGION;
	if (sigv4_check_scope_name(scope->service) != 0)
		return SIGV4_ERR_SERVICE;
	return SIGV4_OK;
}

/* The key id appears in "Credential=AKID/scope, ..." so it may not contain the separators. */
int sigv4_check_signer(const struct sigv4_credentials *creds)
{
	if (creds == NULL || creds->access_key_id == NULL || creds->secret_access_key == NULL)
		return SIGV4_ERR_ARG;
	size_t n = strlen(creds->access_key_id);
	if (n == 0 || n > SIGV4_AKID_MAX)
		return SIGV4_ERR_ACCESS_KEY;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)creds->access_key_id[i];
		if (c <= ' ' || c >= 0x7f || c == '/' || c == ',' || c == '=')
			return SIGV4_ERR_ACCESS_KEY;
	}
	size_t s = strlen(creds->secret_access_key);
	if (s == 0 || s > SIGV4_SECRET_MAX)
		return SIGV4_ERR_SECRET;
	return SIGV4_OK;
}

/* ---- task 1: canonical request ---- */

/* Orders header names as their lower-cased bytes. */
static int sigv4_name_compare(const struct sigv4_hdr_ref *a, const struct sigv4_hdr_ref *b)
{
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	for (size_t i = 0; i < n; i++) {
		unsigned char ca = sigv4_lower((unsigned char)a->name[i]);
		unsigned char cb = sigv4_lower((unsigned char)b->name[i]);
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	if (a->name_len != b->name_len)
		return a->name_len < b->name_len ? -1 : 1;
	return 0;
}

static int sigv4_hdr_compare(const void *va, const void *vb)
{
	const struct sigv4_hdr_ref *a = va;
	const struct sigv4_hdr_ref *b = vb;
	int c = sigv4_name_compare(a, b);
	if (c != 0)
		return c;
	/* Same name: keep request order, since duplicate values are joined in that order. */
	return a->order < b->order ? -1 : (a->order > b->order ? 1 : 0);
}

static int sigv4_param_compare(const void *va, const void *vb)
{
	const struct sigv4_param_ref *a = va;
	const struct sigv4_param_ref *b = vb;
	int c = sigv4_enc_compare(a->name, a->name_len, b->name, b->name_len, 1);
	if (c != 0)
		return c;
	return sigv4_enc_compare(a->value, a->value_len, b->value, b->value_len, 1);
}

static int sigv4_name_is(const char *name, size_t len, const char *lower)
{
	if (len != strlen(lower))
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (sigv4_lower((unsigned char)name[i]) != (unsigned char)lower[i])
			return 0;
	}
	return 1;
}

/* Compares a header value, without its surrounding white space, to str. */
static int sigv4_trimmed_equals(const char *v, size_t len, const char *str)
{
	while (len > 0 && sigv4_is_space((unsigned char)v[0])) {
		v++;
		len--;
	}
	while (len > 0 && sigv4_is_space((unsigned char)v[len - 1]))
		len--;
	return len == strlen(str) && memcmp(v, str, len) == 0;
}

/* Collects, checks and sorts the headers; adds x-amz-security-token when it is implied. */
static int sigv4_canon_headers(struct sigv4_canon *c, const struct sigv4_request *req,
			       const struct sigv4_credentials *creds, const struct sigv4_scope *scope)
{
	const char *token = creds != NULL ? creds->session_token : NULL;
	int have_token = 0;
	size_t want = req->headers_len + 1;

	if (req->headers_len > 0 && req->headers == NULL)
		return SIGV4_ERR_ARG;
	if (want > SIGV4_INLINE_HEADERS) {
		c->hdrs = calloc(want, sizeof(*c->hdrs));
		if (c->hdrs == NULL)
			return SIGV4_ERR_NOMEM;
	}
	for (size_t i = 0; i < req->headers_len; i++) {
		const struct sigv4_header *h = &req->headers[i];
		if (h->name == NULL || h->name_len == 0 || (h->value == NULL && h->value_len > 0))
			return SIGV4_ERR_HEADER_NAME;
		for (size_t j = 0; j < h->name_len; j++) {
			if (!sigv4_is_tchar((unsigned char)h->name[j]))
				return SIGV4_ERR_HEADER_NAME;
		}
		const char *value = h->value != NULL ? h->value : "";
		/* RFC 9110 section 5.5: no NUL or controls in a field value; line breaks are folded. */
		for (size_t j = 0; j < h->value_len; j++) {
			unsigned char ch = (unsigned char)value[j];
			if ((ch < ' ' && !sigv4_is_space(ch)) || ch == 0x7f)
				return SIGV4_ERR_HEADER_VALUE;
		}
		if (sigv4_name_is(h->name, h->name_len, sigv4_date_header) &&
		    !sigv4_trimmed_equals(value, h->value_len, scope->amz_date))
			return SIGV4_ERR_DATE_MISMATCH;
		if (sigv4_name_is(h->name, h->name_len, sigv4_token_header)) {
			have_token = 1;
			if (token != NULL && !sigv4_trimmed_equals(value, h->value_len, token))
				return SIGV4_ERR_TOKEN_MISMATCH;
		}
		c->hdrs[c->nhdrs++] = (struct sigv4_hdr_ref){
			.name = h->name, .name_len = h->name_len,
			.value = value, .value_len = h->value_len, .order = i,
		};
	}
	/* Temporary credentials: the token is a signed header (SigV4 guide, "session token"). */
	if (token != NULL && !have_token) {
		c->hdrs[c->nhdrs++] = (struct sigv4_hdr_ref){
			.name = sigv4_token_header, .name_len = sizeof(sigv4_token_header) - 1,
			.value = token, .value_len = strlen(token), .order = req->headers_len,
		};
	}
	qsort(c->hdrs, c->nhdrs, sizeof(*c->hdrs), sigv4_hdr_compare);
	return SIGV4_OK;
}

/* Splits the raw query on '&' and '=' and sorts by encoded name, then encoded value. */
static int sigv4_canon_query(struct sigv4_canon *c, const struct sigv4_request *req)
{
	const char *q = req->query;
	size_t len = req->query_len;
	size_t pieces = 1;

	if (len == 0)
		return SIGV4_OK;
	if (q == NULL)
		return SIGV4_ERR_ARG;
	for (size_t i = 0; i < len; i++)
		pieces += q[i] == '&';
	if (pieces > SIGV4_INLINE_PARAMS) {
		c->params = calloc(pieces, sizeof(*c->params));
		if (c->params == NULL)
			return SIGV4_ERR_NOMEM;
	}
	size_t start = 0;
	while (start <= len) {
		size_t end = start;
		while (end < len && q[end] != '&')
			end++;
		if (end > start) {
			const char *piece = q + start;
			size_t plen = end - start;
			const char *eq = memchr(piece, '=', plen);
			size_t nlen = eq != NULL ? (size_t)(eq - piece) : plen;
			c->params[c->nparams++] = (struct sigv4_param_ref){
				.name = piece, .name_len = nlen,
				.value = eq != NULL ? eq + 1 : piece + plen,
				.value_len = eq != NULL ? plen - nlen - 1 : 0,
			};
		}
		start = end + 1;
	}
	qsort(c->params, c->nparams, sizeof(*c->params), sigv4_param_compare);
	return SIGV4_OK;
}

/*
 * Removes empty and "." segments and resolves ".." (RFC 3986 section 5.2.4, with duplicate
 * slashes collapsed as the SigV4 test suite's normalize-path cases require).
 */
static int sigv4_canon_path(struct sigv4_canon *c, const struct sigv4_request *req)
{
	const char *p = req->path;
	size_t len = req->path_len;
	size_t pieces = 1;

	if (len == 0)
		return SIGV4_OK;
	if (p == NULL || p[0] != '/')
		return SIGV4_ERR_PATH;
	for (size_t i = 0; i < len; i++)
		pieces += p[i] == '/';
	if (pieces > SIGV4_INLINE_SEGMENTS) {
		c->segs = calloc(pieces, sizeof(*c->segs));
		if (c->segs == NULL)
			return SIGV4_ERR_NOMEM;
	}
	size_t start = 1;
	while (start <= len) {
		size_t end = start;
		while (end < len && p[end] != '/')
			end++;
		size_t n = end - start;
		if (n == 2 && p[start] == '.' && p[start + 1] == '.') {
			if (c->nsegs > 0)
				c->nsegs--;
		} else if (n > 0 && !(n == 1 && p[start] == '.')) {
			c->segs[c->nsegs++] = (struct sigv4_seg_ref){ .p = p + start, .len = n };
		}
		start = end + 1;
	}
	c->trailing_slash = p[len - 1] == '/' && c->nsegs > 0;
	return SIGV4_OK;
}

static int sigv4_canon_payload(struct sigv4_canon *c, const struct sigv4_request *req)
{
	unsigned char digest[32];

	if (req->payload_sha256_hex != NULL) {
		size_t n = strlen(req->payload_sha256_hex);
		if (n == 0)
			return SIGV4_ERR_PAYLOAD_HASH;
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)req->payload_sha256_hex[i];
			if (ch <= ' ' || ch >= 0x7f)
				return SIGV4_ERR_PAYLOAD_HASH;
		}
		c->payload_hash = req->payload_sha256_hex;
		return SIGV4_OK;
	}
	if (req->payload == NULL && req->payload_len > 0)
		return SIGV4_ERR_ARG;
	const unsigned char *body = req->payload != NULL ? req->payload : (const unsigned char *)"";
	if (suite_digest(suite_sha256(), body, req->payload_len, digest) != 0) {
		log_openssl_errors(LOG_ERROR, "SigV4: SHA-256 of the payload");
		return SIGV4_ERR_CRYPTO;
	}
	codec_hex_encode(digest, sizeof(digest), c->payload_hex);
	c->payload_hash = c->payload_hex;
	return SIGV4_OK;
}

void sigv4_canon_cleanup(struct sigv4_canon *c)
{
	if (c->hdrs != c->hdr_inline)
		free(c->hdrs);
	if (c->params != c->param_inline)
		free(c->params);
	if (c->segs != c->seg_inline)
		free(c->segs);
	c->hdrs = c->hdr_inline;
	c->params = c->param_inline;
	c->segs = c->seg_inline;
}

/*
 * Validates the scope and the request and builds every sorted view.  c must be passed to
 * sigv4_canon_cleanup() afterwards whatever the result.
 */
int sigv4_canon_init(struct sigv4_canon *c, const struct sigv4_request *req,
		     const struct sigv4_credentials *creds, const struct sigv4_scope *scope)
{
	int rc;

	c->hdrs = c->hdr_inline;
	c->params = c->param_inline;
	c->segs = c->seg_inline;
	c->nhdrs = c->nparams = c->nsegs = 0;
	c->trailing_slash = 0;
	c->payload_hash = NULL;
	if (req == NULL)
		return SIGV4_ERR_ARG;
	rc = sigv4_check_scope(scope);
	if (rc != SIGV4_OK)
		return rc;
	if (req->method == NULL || req->method[0] == '\0')
		return SIGV4_ERR_METHOD;
	for (const char *m = req->method; *m != '\0'; m++) {
		if (!sigv4_is_tchar((unsigned char)*m))
			return SIGV4_ERR_METHOD;
	}
	rc = sigv4_canon_path(c, req);
	if (rc == SIGV4_OK)
		rc = sigv4_canon_query(c, req);
	if (rc == SIGV4_OK)
		rc = sigv4_canon_headers(c, req, creds, scope);
	if (rc == SIGV4_OK)
		rc = sigv4_canon_payload(c, req);
	return rc;
}

/* Writes a header value with Trimall applied: trimmed, white-space runs folded to one space. */
static void sigv4_put_trimall(struct sigv4_sink *s, const char *v, size_t n)
{
	size_t i = 0;
	int started = 0;

	while (i < n) {
		if (sigv4_is_space((unsigned char)v[i])) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < n && !sigv4_is_space((unsigned char)v[j]))
			j++;
		if (started)
			sigv4_sink_putc(s, ' ');
		sigv4_sink_put(s, v + i, j - i);
		started = 1;
		i = j;
	}
}

static void sigv4_put_lower(struct sigv4_sink *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sigv4_sink_putc(s, (char)sigv4_lower((unsigned char)p[i]));
}

/* "a;b;c": the distinct lower-cased names, in canonical order. */
static void sigv4_put_signed_headers(struct sigv4_sink *s, const struct sigv4_canon *c)
{
	for (size_t i = 0; i < c->nhdrs; i++) {
		if (i > 0 && sigv4_name_compare(&c->hdrs[i - 1], &c->hdrs[i]) == 0)
			continue;
		if (i > 0)
			sigv4_sink_putc(s, ';');
		sigv4_put_lower(s, c->hdrs[i].name, c->hdrs[i].name_len);
	}
}

/* Task 1 layout: METHOD, path, query, "name:values" lines, blank, signed list, payload hash. */
static void sigv4_put_canonical_request(struct sigv4_sink *s, const struct sigv4_request *req,
					const struct sigv4_canon *c)
{
	sigv4_sink_puts(s, req->method);
	sigv4_sink_putc(s, '\n');

	if (c->nsegs == 0)
		sigv4_sink_putc(s, '/');
	for (size_t i = 0; i < c->nsegs; i++) {
		sigv4_sink_putc(s, '/');
		sigv4_put_encoded(s, c->segs[i].p, c->segs[i].len, 0);
	}
	if (c->trailing_slash)
		sigv4_sink_putc(s, '/');
	sigv4_sink_putc(s, '\n');

	for (size_t i = 0; i < c->nparams; i++) {
		if (i > 0)
			sigv4_sink_putc(s, '&');
		sigv4_put_encoded(s, c->params[i].name, c->params[i].name_len, 1);
		sigv4_sink_putc(s, '=');
		sigv4_put_encoded(s, c->params[i].value, c->params[i].value_len, 1);
	}
	sigv4_sink_putc(s, '\n');

	for (size_t i = 0; i < c->nhdrs; i++) {
		if (i == 0 || sigv4_name_compare(&c->hdrs[i - 1], &c->hdrs[i]) != 0) {
			if (i > 0)
				sigv4_sink_putc(s, '\n');
			sigv4_put_lower(s, c->hdrs[i].name, c->hdrs[i].name_len);
			sigv4_sink_putc(s, ':');
		} else {
			sigv4_sink_putc(s, ',');
		}
		sigv4_put_trimall(s, c->hdrs[i].value, c->hdrs[i].value_len);
	}
	if (c->nhdrs > 0)
		sigv4_sink_putc(s, '\n');
	sigv4_sink_putc(s, '\n');

	sigv4_put_signed_headers(s, c);
	sigv4_sink_putc(s, '\n');
	sigv4_sink_puts(s, c->payload_hash);
}

/* Hashes the canonical request as it is written: no copy of it is ever built for signing. */
int sigv4_hash_canonical_request(const struct sigv4_request *req, const struct sigv4_canon *c,
				  char hex[SIGV4_HEX_LEN + 1])
{
	struct sigv4_sink s = { .mode = SIGV4_SINK_HASH };
	unsigned char digest[32];
	unsigned int digest_len = 0;
	int rc = SIGV4_OK;

	s.md = suite_digest_begin(suite_sha256());
	if (s.md == NULL) {
		log_openssl_errors(LOG_ERROR, "SigV4: SHA-256 init");
		return SIGV4_ERR_CRYPTO;
	}
	sigv4_put_canonical_request(&s, req, c);
	sigv4_sink_flush(&s);
	if (s.status != 0) {
		suite_digest_end(s.md, NULL, NULL);
		return s.status;
	}
	if (suite_digest_end(s.md, digest, &digest_len) != 0 || digest_len != sizeof(digest)) {
		log_openssl_errors(LOG_ERROR, "SigV4: SHA-256 final");
		return SIGV4_ERR_CRYPTO;
	}
	codec_hex_encode(digest, sizeof(digest), hex);
	return rc;
}

int sigv4_canonical_request(const struct sigv4_request *req, const struct sigv4_credentials *creds,
			    const struct sigv4_scope *scope, char **out, size_t *out_len)
{
	struct sigv4_canon canon;
	struct sigv4_sink s = { .mode = SIGV4_SINK_HEAP };
	int rc;

	rc = sigv4_canon_init(&canon, req, creds, scope);
	if (out == NULL)
		rc = SIGV4_ERR_ARG;
	else
		*out = NULL;
	if (rc != SIGV4_OK)
		goto cleanup;
	s.cap = 256;
	s.buf = malloc(s.cap);
	if (s.buf == NULL) {
		rc = SIGV4_ERR_NOMEM;
		goto cleanup;
	}
	s.buf[0] = '\0';
	sigv4_put_canonical_request(&s, req, &canon);
	if (s.status != 0) {
		rc = s.status;
		goto cleanup;
	}
	*out = s.buf;
	if (out_len != NULL)
		*out_len = s.len;
	s.buf = NULL;
cleanup:
	free(s.buf);
	sigv4_canon_cleanup(&canon);
	return rc;
}

int sigv4_canon_authorization(const struct sigv4_canon *c, const struct sigv4_credentials *creds,
			      const struct sigv4_scope *scope, const char *signature, char *out,
			      size_t cap)
{
	struct sigv4_sink s = { .mode = SIGV4_SINK_FIXED, .buf = out, .cap = cap };

	sigv4_sink_puts(&s, SIGV4_ALGORITHM " Credential=");
	sigv4_sink_puts(&s, creds->access_key_id);
	sigv4_sink_putc(&s, '/');
	sigv4_sink_put(&s, scope->amz_date, 8);
	sigv4_sink_putc(&s, '/');
	sigv4_sink_puts(&s, scope->region);
	sigv4_sink_putc(&s, '/');
	sigv4_sink_puts(&s, scope->service);
	sigv4_sink_puts(&s, "/aws4_request, SignedHeaders=");
	sigv4_put_signed_headers(&s, c);
	sigv4_sink_puts(&s, ", Signature=");
	sigv4_sink_puts(&s, signature);
	if (s.status != 0 && cap > 0)
		out[0] = '\0';
	return s.status;
}
