/*
 * Tests for crypto/sigv4: the AWS SigV4 test suite (2015-08-30) read from
 * ../shared/vectors/sigv4 (or $DS_VECTORS_DIR), agreement with botocore's SigV4Auth through
 * tests/integration/sigv4_oracle.py, the key cache, and every rejected input.
 * Run from the repository root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "proxy/base/codec.h"
#include "crypto/aws/sigv4.h"
#include "crypto/aws/sigv4_authz.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define VEC_AKID "AKIDEXAMPLE"
#define VEC_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define VEC_DATE "20150830T123600Z"
#define VEC_CASES 34
#define MAX_HEADERS 64

/* ---- small helpers ---- */

/* Reads a whole file into a NUL-terminated malloc'd buffer; NULL when it cannot be read. */
static char *read_file(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;
	size_t cap = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap * 2 + 4096;
			char *grown = realloc(buf, cap + 1);
			if (grown == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = grown;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	if (len_out != NULL)
		*len_out = len;
	return buf;
}

/* snprintf that fails the test instead of truncating (paths come from the file system). */
static void fmt_path(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fmt_path(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < cap);
}

/* ---- the test suite's .req format: request line, headers (with obs-fold), blank, body ---- */

/* A parsed .req file; values are owned so continuation lines can be joined. */
struct vec_req {
	char *text;                                /* the file, owned */
	char method[16];                           /* request method */
	const char *path;                          /* view into text: target before '?' */
	size_t path_len;                           /* bytes in path */
	const char *query;                         /* view into text: after '?', or NULL */
	size_t query_len;                          /* bytes in query */
	struct sigv4_header headers[MAX_HEADERS];  /* names view text; values are owned */
	char *values[MAX_HEADERS];                 /* owned header values (obs-fold kept as "\n") */
	size_t nheaders;                           /* entries in headers */
	const unsigned char *body;                 /* view into text after the blank line */
	size_t body_len;                           /* bytes in body */
};

static void vec_req_free(struct vec_req *r)
{
	for (size_t i = 0; i < r->nheaders; i++)
		free(r->values[i]);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

/* Parses text (taken over).  Returns 0 or -1 for a malformed file. */
static int vec_req_parse(struct vec_req *r, char *text, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->text = text;
	const char *end = text + len;
	const char *eol = memchr(text, '\n', len);
	const char *line_end = eol != NULL ? eol : end;
	const char *sp1 = memchr(text, ' ', (size_t)(line_end - text));
	const char *sp2 = line_end;
	while (sp2 > text && sp2[-1] != ' ')
		sp2--;
	/* The target may contain spaces (get-space): it runs from the first to the last space. */
	if (sp1 == NULL || sp2 - 1 <= sp1 || (size_t)(sp1 - text) >= sizeof(r->method))
		return -1;
	memcpy(r->method, text, (size_t)(sp1 - text));
	const char *target = sp1 + 1;
	size_t target_len = (size_t)(sp2 - 1 - target);
	const char *q = memchr(target, '?', target_len);
	r->path = target;
	r->path_len = q != NULL ? (size_t)(q - target) : target_len;
	if (q != NULL) {
		r->query = q + 1;
		r->query_len = target_len - r->path_len - 1;
	}
	const char *p = eol != NULL ? eol + 1 : end;
	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		line_end = eol != NULL ? eol : end;
		size_t n = (size_t)(line_end - p);
		if (n == 0) {
			r->body = (const unsigned char *)(eol + 1);
			r->body_len = (size_t)(end - (eol + 1));
			return 0;
		}
		if (p[0] == ' ' || p[0] == '\t') {
			if (r->nheaders == 0)
				return -1;
			size_t i = r->nheaders - 1;
			size_t old = r->headers[i].value_len;
			char *grown = realloc(r->values[i], old + 1 + n + 1);
			if (grown == NULL)
				return -1;
			grown[old] = '\n';
			memcpy(grown + old + 1, p, n);
			grown[old + 1 + n] = '\0';
			r->values[i] = grown;
			r->headers[i].value = grown;
			r->headers[i].value_len = old + 1 + n;
		} else {
			const char *colon = memchr(p, ':', n);
			if (colon == NULL || r->nheaders == MAX_HEADERS)
				return -1;
			size_t vlen = n - (size_t)(colon + 1 - p);
			char *value = malloc(vlen + 1);
			if (value == NULL)
				return -1;
			memcpy(value, colon + 1, vlen);
			value[vlen] = '\0';
			r->values[r->nheaders] = value;
			r->headers[r->nheaders] = (struct sigv4_header){
				.name = p, .name_len = (size_t)(colon - p), .value = value, .value_len = vlen,
			};
			r->nheaders++;
		}
		p = eol != NULL ? eol + 1 : end;
	}
	return 0;
}

static struct sigv4_request vec_req_view(const struct vec_req *r)
{
	return (struct sigv4_request){
		.method = r->method,
		.path = r->path, .path_len = r->path_len,
		.query = r->query, .query_len = r->query_len,
		.headers = r->headers, .headers_len = r->nheaders,
		.payload = r->body, .payload_len = r->body_len,
	};
}

/* ---- walking the vector folders ---- */

/* Outcome of running every case under one root. */
struct vec_run {
	size_t cases;      /* case folders found */
	size_t failures;   /* cases missing a file or differing */
};

static void vec_fail(struct vec_run *run, const char *name, const char *what,
		     const char *want, const char *got)
{
	run->failures++;
	print_error("sigv4 vector %s: %s\n--- expected\n%s\n--- got\n%s\n", name, what,
		    want != NULL ? want : "(none)", got != NULL ? got : "(none)");
}

/* Runs the case in folder dir, whose files are dir/name.{req,creq,sts,authz}. */
static void vec_run_case(struct vec_run *run, const char *dir, const char *name)
{
	char path[PATH_MAX];
	char *files[4] = { NULL, NULL, NULL, NULL };
	size_t lens[4] = { 0, 0, 0, 0 };
	static const char *const exts[4] = { "req", "creq", "sts", "authz" };
	struct vec_req req;
	int parsed = 0;

	run->cases++;
	for (int i = 0; i < 4; i++) {
		fmt_path(path, sizeof(path), "%s/%s.%s", dir, name, exts[i]);
		files[i] = read_file(path, &lens[i]);
		if (files[i] == NULL) {
			vec_fail(run, name, "missing file", path, strerror(errno));
			goto cleanup;
		}
	}
	if (vec_req_parse(&req, files[0], lens[0]) != 0) {
		files[0] = NULL;
		vec_fail(run, name, "malformed .req", NULL, NULL);
		goto cleanup;
	}
	files[0] = NULL;
	parsed = 1;

	/* README: the session token, when the case has one, is the .creq's header line. */
	char token[2048] = "";
	const char *tok = strstr(files[1], "\nx-amz-security-token:");
	if (tok != NULL) {
		tok += strlen("\nx-amz-security-token:");
		size_t n = strcspn(tok, "\n");
		assert_true(n < sizeof(token));
		memcpy(token, tok, n);
		token[n] = '\0';
	}
	struct sigv4_credentials creds = {
		.access_key_id = VEC_AKID, .secret_access_key = VEC_SECRET,
		.session_token = token[0] != '\0' ? token : NULL,
	};
	struct sigv4_scope scope = { .region = "us-east-1", .service = "service", .amz_date = VEC_DATE };
	struct sigv4_request sreq = vec_req_view(&req);

	char *creq = NULL;
	size_t creq_len = 0;
	int rc = sigv4_canonical_request(&sreq, &creds, &scope, &creq, &creq_len);
	if (rc != SIGV4_OK || creq_len != lens[1] || memcmp(creq, files[1], creq_len) != 0)
		vec_fail(run, name, rc != SIGV4_OK ? sigv4_strerror(rc) : "canonical request", files[1], creq);
	free(creq);

	char sts[SIGV4_STS_MAX];
	rc = sigv4_string_to_sign(&sreq, &creds, &scope, sts, sizeof(sts));
	if (rc != SIGV4_OK || strcmp(sts, files[2]) != 0)
		vec_fail(run, name, rc != SIGV4_OK ? sigv4_strerror(rc) : "string to sign", files[2], sts);

	char authz[1024];
	char sig[SIGV4_HEX_LEN + 1];
	rc = sigv4_sign(&sreq, &creds, &scope, NULL, authz, sizeof(authz), sig);
	if (rc != SIGV4_OK || strcmp(authz, files[3]) != 0)
		vec_fail(run, name, rc != SIGV4_OK ? sigv4_strerror(rc) : "authorization", files[3], authz);
	const char *want_sig = strstr(files[3], "Signature=");
	if (rc == SIGV4_OK && (want_sig == NULL || strcmp(sig, want_sig + strlen("Signature=")) != 0))
		vec_fail(run, name, "bare signature", want_sig, sig);
cleanup:
	if (parsed)
		vec_req_free(&req);
	for (int i = 0; i < 4; i++)
		free(files[i]);
}

/*
 * A case is a folder holding <folder>.req; other folders (normalize-path/, post-sts-token/)
 * are walked.  Returns -1 when root cannot be opened.
 */
static int vec_walk(struct vec_run *run, const char *root)
{
	DIR *d = opendir(root);
	struct dirent *e;
	char sub[PATH_MAX];
	char probe[PATH_MAX + 300];
	struct stat st;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		fmt_path(sub, sizeof(sub), "%s/%s", root, e->d_name);
		if (stat(sub, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		fmt_path(probe, sizeof(probe), "%s/%s.req", sub, e->d_name);
		if (access(probe, F_OK) == 0) {
			vec_run_case(run, sub, e->d_name);
		} else if (vec_walk(run, sub) != 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

static const char *vec_root(void)
{
	const char *env = getenv("DS_VECTORS_DIR");
	static char buf[PATH_MAX];
	/* DS_VECTORS_DIR names the vectors folder (the one holding sigv4/ and dbesdk/). */
	fmt_path(buf, sizeof(buf), "%s/sigv4", env != NULL && env[0] != '\0' ? env : "../shared/vectors");
	return buf;
}

static void test_vectors_all_cases(void **state)
{
	(void)state;
	struct vec_run run = { 0, 0 };
	int rc = vec_walk(&run, vec_root());
	if (rc != 0)
		print_error("cannot open %s (run from the repo root or set DS_VECTORS_DIR)\n", vec_root());
	assert_int_equal(rc, 0);
	assert_int_equal(run.failures, 0);
	assert_int_equal(run.cases, VEC_CASES);
}

/* The walker itself must notice a case whose expected files are missing. */
static void test_vectors_missing_file_fails(void **state)
{
	(void)state;
	char root[] = "/tmp/sigv4_vec_XXXXXX";
	char dir[PATH_MAX];
	char file[PATH_MAX + 32];
	assert_non_null(mkdtemp(root));
	fmt_path(dir, sizeof(dir), "%s/lonely", root);
	assert_int_equal(mkdir(dir, 0700), 0);
	fmt_path(file, sizeof(file), "%s/lonely.req", dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fputs("GET / HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:" VEC_DATE, f);
	fclose(f);

	struct vec_run run = { 0, 0 };
	assert_int_equal(vec_walk(&run, root), 0);
	assert_int_equal(run.cases, 1);
	assert_int_equal(run.failures, 1);
	struct vec_run none = { 0, 0 };
	assert_int_equal(vec_walk(&none, "/nonexistent/sigv4"), -1);

	unlink(file);
	rmdir(dir);
	rmdir(root);
}

/* ---- known answers from the AWS guide and unit behaviour ---- */

static const struct sigv4_credentials vec_creds = {
	.access_key_id = VEC_AKID, .secret_access_key = VEC_SECRET, .session_token = NULL,
};

/* A minimal request: GET / with host and x-amz-date (the get-vanilla case). */
static const struct sigv4_header vanilla_headers[] = {
	{ "Host", 4, "example.amazonaws.com", 21 },
	{ "X-Amz-Date", 10, VEC_DATE, 16 },
};

static struct sigv4_request vanilla_request(void)
{
	return (struct sigv4_request){
		.method = "GET", .path = "/", .path_len = 1,
		.headers = vanilla_headers, .headers_len = 2,
	};
}

static const struct sigv4_scope vec_scope = {
	.region = "us-east-1", .service = "service", .amz_date = VEC_DATE,
};

/* The AWS guide's signing-key example (secret above, 20120215, us-east-1, iam). */
static void test_key_derive_known_answer(void **state)
{
	(void)state;
	struct sigv4_key key;
	struct sigv4_scope scope = { .region = "us-east-1", .service = "iam", .amz_date = "20120215T000000Z" };
	char hex[65];
	assert_int_equal(sigv4_key_derive(&key, &vec_creds, &scope), SIGV4_OK);
	codec_hex_encode(key.key, sizeof(key.key), hex);
	assert_string_equal(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
	assert_int_equal(key.valid, 1);
	assert_string_equal(key.date, "20120215");
	assert_string_equal(key.region, "us-east-1");
	assert_string_equal(key.service, "iam");
	assert_string_equal(key.access_key_id, VEC_AKID);
	sigv4_key_wipe(&key);
	assert_int_equal(key.valid, 0);
	for (size_t i = 0; i < sizeof(key.key); i++)
		assert_int_equal(key.key[i], 0);
}

static void test_amz_date_format(void **state)
{
	(void)state;
	char out[SIGV4_AMZ_DATE_LEN + 1];
	assert_int_equal(sigv4_amz_date((time_t)1440938160, out), SIGV4_OK);
	assert_string_equal(out, VEC_DATE);
	assert_int_equal(sigv4_amz_date((time_t)951782400, out), SIGV4_OK);
	assert_string_equal(out, "20000229T000000Z");
	assert_int_equal(sigv4_check_amz_date(out), SIGV4_OK);
	assert_int_equal(sigv4_check_amz_date("20240229T235959Z"), SIGV4_OK);
}

static void test_amz_date_malformed_rejected(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"20150830T123600", "2015-08-30T12:36:00Z", "20150830 123600Z", "20151330T123600Z",
		"20150230T123600Z", "20230229T123600Z", "20150830T243600Z", "20150830T126000Z",
		"20150830T123660Z", "20150800T123600Z", "20150830T123600z", "20150830T123600ZZ",
		"2015083aT123600Z", "",
	};
	char authz[512];
	struct sigv4_request req = vanilla_request();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sigv4_check_amz_date(bad[i]), SIGV4_ERR_AMZ_DATE);
		struct sigv4_scope scope = { .region = "us-east-1", .service = "service", .amz_date = bad[i] };
		strcpy(authz, "untouched");
		assert_int_equal(sigv4_sign(&req, &vec_creds, &scope, NULL, authz, sizeof(authz), NULL),
				 SIGV4_ERR_AMZ_DATE);
		assert_string_equal(authz, "");
	}
	assert_int_equal(sigv4_check_amz_date(NULL), SIGV4_ERR_AMZ_DATE);
	assert_non_null(strstr(sigv4_strerror(SIGV4_ERR_AMZ_DATE), "YYYYMMDDTHHMMSSZ"));
	char out[SIGV4_AMZ_DATE_LEN + 1];
	/* Year 10000 does not fit the format. */
	assert_int_equal(sigv4_amz_date((time_t)253402300800LL, out), SIGV4_ERR_AMZ_DATE);
}

static void test_wrong_secret_differs(void **state)
{
	(void)state;
	struct sigv4_request req = vanilla_request();
	struct sigv4_credentials wrong = vec_creds;
	wrong.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEz";
	char good[512];
	char bad[512];
	char good_sig[65];
	char bad_sig[65];
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, NULL, good, sizeof(good), good_sig), SIGV4_OK);
	assert_int_equal(sigv4_sign(&req, &wrong, &vec_scope, NULL, bad, sizeof(bad), bad_sig), SIGV4_OK);
	assert_string_equal(good_sig, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	assert_string_not_equal(good_sig, bad_sig);
	assert_string_not_equal(good, bad);
	assert_true(sigv4_signature_equal(good_sig, good_sig));
	assert_false(sigv4_signature_equal(good_sig, bad_sig));
	assert_false(sigv4_signature_equal(good_sig, "5fa00f"));
	assert_false(sigv4_signature_equal(NULL, good_sig));
	/* Other region, service or day: other signatures. */
	struct sigv4_scope other = vec_scope;
	other.region = "us-west-2";
	assert_int_equal(sigv4_sign(&req, &vec_creds, &other, NULL, bad, sizeof(bad), bad_sig), SIGV4_OK);
	assert_string_not_equal(good_sig, bad_sig);
	assert_non_null(strstr(bad, "/us-west-2/service/aws4_request,"));
}

static void test_key_cache(void **state)
{
	(void)state;
	struct sigv4_request req = vanilla_request();
	struct sigv4_key cache;
	char plain[512];
	char cached[512];
	memset(&cache, 0, sizeof(cache));
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, NULL, plain, sizeof(plain), NULL), SIGV4_OK);
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, &cache, cached, sizeof(cached), NULL), SIGV4_OK);
	assert_string_equal(plain, cached);
	assert_int_equal(cache.valid, 1);
	assert_string_equal(cache.date, "20150830");

	/* A cache hit must not re-derive: a poisoned key changes the signature... */
	unsigned char saved[32];
	memcpy(saved, cache.key, sizeof(saved));
	cache.key[0] ^= 1;
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, &cache, cached, sizeof(cached), NULL), SIGV4_OK);
	assert_string_not_equal(plain, cached);
	/* ...while another region re-derives the slot for that region. */
	struct sigv4_scope other = vec_scope;
	other.region = "eu-west-1";
	assert_int_equal(sigv4_sign(&req, &vec_creds, &other, &cache, cached, sizeof(cached), NULL), SIGV4_OK);
	assert_string_equal(cache.region, "eu-west-1");
	assert_memory_not_equal(cache.key, saved, sizeof(saved));
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, &cache, cached, sizeof(cached), NULL), SIGV4_OK);
	assert_string_equal(plain, cached);
	assert_memory_equal(cache.key, saved, sizeof(saved));
	/* Another access key id re-derives too. */
	struct sigv4_credentials other_id = vec_creds;
	other_id.access_key_id = "AKIDOTHER";
	assert_int_equal(sigv4_sign(&req, &other_id, &vec_scope, &cache, cached, sizeof(cached), NULL), SIGV4_OK);
	assert_string_equal(cache.access_key_id, "AKIDOTHER");
	assert_non_null(strstr(cached, "Credential=AKIDOTHER/20150830/"));
	sigv4_key_wipe(&cache);
	assert_int_equal(cache.valid, 0);
}

static void test_header_mismatches_rejected(void **state)
{
	(void)state;
	char authz[512];
	struct sigv4_header hdrs[] = {
		{ "Host", 4, "example.amazonaws.com", 21 },
		{ "X-Amz-Date", 10, "20150830T123601Z", 16 },
	};
	struct sigv4_request req = vanilla_request();
	req.headers = hdrs;
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, NULL, authz, sizeof(authz), NULL),
			 SIGV4_ERR_DATE_MISMATCH);
	assert_non_null(strstr(sigv4_strerror(SIGV4_ERR_DATE_MISMATCH), "x-amz-date"));
	/* Surrounding white space is not a difference (Trimall applies to the value). */
	hdrs[1] = (struct sigv4_header){ "x-amz-date", 10, " " VEC_DATE " \t", 19 };
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, NULL, authz, sizeof(authz), NULL), SIGV4_OK);
	hdrs[1] = (struct sigv4_header){ "x-amz-date", 10, VEC_DATE "0", 17 };
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, NULL, authz, sizeof(authz), NULL),
			 SIGV4_ERR_DATE_MISMATCH);

	struct sigv4_header tok_hdrs[] = {
		{ "Host", 4, "example.amazonaws.com", 21 },
		{ "X-Amz-Date", 10, VEC_DATE, 16 },
		{ "X-Amz-Security-Token", 20, "old-token", 9 },
	};
	struct sigv4_credentials creds = vec_creds;
	creds.session_token = "new-token";
	req.headers = tok_hdrs;
	req.headers_len = 3;
	assert_int_equal(sigv4_sign(&req, &creds, &vec_scope, NULL, authz, sizeof(authz), NULL),
			 SIGV4_ERR_TOKEN_MISMATCH);
	assert_non_null(strstr(sigv4_strerror(SIGV4_ERR_TOKEN_MISMATCH), "x-amz-security-token"));
	/* The same token in the header and the credentials is signed once. */
	creds.session_token = "old-token";
	assert_int_equal(sigv4_sign(&req, &creds, &vec_scope, NULL, authz, sizeof(authz), NULL), SIGV4_OK);
	assert_non_null(strstr(authz, "SignedHeaders=host;x-amz-date;x-amz-security-token, "));

	struct sigv4_header bad_name[] = {
		{ "Host", 4, "example.amazonaws.com", 21 },
		{ "My Header", 9, "v", 1 },
	};
	req.headers = bad_name;
	req.headers_len = 2;
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, NULL, authz, sizeof(authz), NULL),
			 SIGV4_ERR_HEADER_NAME);
	bad_name[1].name_len = 0;
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, NULL, authz, sizeof(authz), NULL),
			 SIGV4_ERR_HEADER_NAME);
	bad_name[1] = (struct sigv4_header){ "My:Header", 9, "v", 1 };
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, NULL, authz, sizeof(authz), NULL),
			 SIGV4_ERR_HEADER_NAME);
	bad_name[1] = (struct sigv4_header){ "My-Header", 9, "a\0b", 3 };
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, NULL, authz, sizeof(authz), NULL),
			 SIGV4_ERR_HEADER_VALUE);
	bad_name[1] = (struct sigv4_header){ "My-Header", 9, "a\x01", 2 };
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, NULL, authz, sizeof(authz), NULL),
			 SIGV4_ERR_HEADER_VALUE);
	assert_non_null(strstr(sigv4_strerror(SIGV4_ERR_HEADER_VALUE), "control character"));
	/* Tabs and line breaks are white space, folded rather than refused. */
	bad_name[1] = (struct sigv4_header){ "My-Header", 9, "a\r\n\tb", 5 };
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, NULL, authz, sizeof(authz), NULL), SIGV4_OK);
}

static void test_bad_arguments_rejected(void **state)
{
	(void)state;
	char authz[512];
	struct sigv4_request req = vanilla_request();
	struct sigv4_scope scope = vec_scope;
	struct sigv4_credentials creds = vec_creds;

	scope.region = "us east-1";
	assert_int_equal(sigv4_sign(&req, &creds, &scope, NULL, authz, sizeof(authz), NULL), SIGV4_ERR_REGION);
	scope.region = "us-east-1/x";
	assert_int_equal(sigv4_sign(&req, &creds, &scope, NULL, authz, sizeof(authz), NULL), SIGV4_ERR_REGION);
	scope.region = "";
	assert_int_equal(sigv4_sign(&req, &creds, &scope, NULL, authz, sizeof(authz), NULL), SIGV4_ERR_REGION);
	scope = vec_scope;
	scope.service = "";
	assert_int_equal(sigv4_sign(&req, &creds, &scope, NULL, authz, sizeof(authz), NULL), SIGV4_ERR_SERVICE);
	scope.service = "0123456789012345678901234567890123456789012345678901234567890123";
	assert_int_equal(sigv4_sign(&req, &creds, &scope, NULL, authz, sizeof(authz), NULL), SIGV4_ERR_SERVICE);
	assert_non_null(strstr(sigv4_strerror(SIGV4_ERR_SERVICE), "service"));
	scope = vec_scope;

	creds.access_key_id = "AKID/EXAMPLE";
	assert_int_equal(sigv4_sign(&req, &creds, &scope, NULL, authz, sizeof(authz), NULL), SIGV4_ERR_ACCESS_KEY);
	creds.access_key_id = "";
	assert_int_equal(sigv4_sign(&req, &creds, &scope, NULL, authz, sizeof(authz), NULL), SIGV4_ERR_ACCESS_KEY);
	creds = vec_creds;
	creds.secret_access_key = "";
	assert_int_equal(sigv4_sign(&req, &creds, &scope, NULL, authz, sizeof(authz), NULL), SIGV4_ERR_SECRET);
	creds = vec_creds;
	assert_int_equal(sigv4_sign(&req, NULL, &scope, NULL, authz, sizeof(authz), NULL), SIGV4_ERR_ARG);
	assert_int_equal(sigv4_sign(&req, &creds, NULL, NULL, authz, sizeof(authz), NULL), SIGV4_ERR_ARG);
	assert_int_equal(sigv4_sign(NULL, &creds, &scope, NULL, authz, sizeof(authz), NULL), SIGV4_ERR_ARG);

	req.method = "GE T";
	assert_int_equal(sigv4_sign(&req, &creds, &scope, NULL, authz, sizeof(authz), NULL), SIGV4_ERR_METHOD);
	req.method = "";
	assert_int_equal(sigv4_sign(&req, &creds, &scope, NULL, authz, sizeof(authz), NULL), SIGV4_ERR_METHOD);
	req = vanilla_request();
	req.path = "example";
	req.path_len = 7;
	assert_int_equal(sigv4_sign(&req, &creds, &scope, NULL, authz, sizeof(authz), NULL), SIGV4_ERR_PATH);
	req = vanilla_request();
	req.payload_sha256_hex = "";
	assert_int_equal(sigv4_sign(&req, &creds, &scope, NULL, authz, sizeof(authz), NULL), SIGV4_ERR_PAYLOAD_HASH);
	req.payload_sha256_hex = "abc def";
	assert_int_equal(sigv4_sign(&req, &creds, &scope, NULL, authz, sizeof(authz), NULL), SIGV4_ERR_PAYLOAD_HASH);
	assert_string_equal(sigv4_strerror(12345), "unknown SigV4 error");
}

static void test_output_buffer_sizes(void **state)
{
	(void)state;
	struct sigv4_request req = vanilla_request();
	char authz[512];
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, NULL, authz, sizeof(authz), NULL), SIGV4_OK);
	size_t len = strlen(authz);
	char exact[512];
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, NULL, exact, len + 1, NULL), SIGV4_OK);
	assert_string_equal(exact, authz);
	char sig[65] = "x";
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, NULL, exact, len, sig), SIGV4_ERR_BUFFER);
	assert_string_equal(exact, "");
	assert_string_equal(sig, "");
	char sts[SIGV4_STS_MAX];
	assert_int_equal(sigv4_string_to_sign(&req, &vec_creds, &vec_scope, sts, 40), SIGV4_ERR_BUFFER);
	/* The worst-case string to sign fits SIGV4_STS_MAX. */
	char region[SIGV4_NAME_MAX + 1];
	char service[SIGV4_NAME_MAX + 1];
	memset(region, 'r', SIGV4_NAME_MAX);
	region[SIGV4_NAME_MAX] = '\0';
	memset(service, 's', SIGV4_NAME_MAX);
	service[SIGV4_NAME_MAX] = '\0';
	struct sigv4_scope big = { .region = region, .service = service, .amz_date = VEC_DATE };
	assert_int_equal(sigv4_string_to_sign(&req, &vec_creds, &big, sts, sizeof(sts)), SIGV4_OK);
	assert_int_equal(strlen(sts), SIGV4_STS_MAX - 1);
}

/* A precomputed payload hash is used as given: the empty-body hash gives get-vanilla again. */
static void test_precomputed_payload_hash(void **state)
{
	(void)state;
	struct sigv4_request req = vanilla_request();
	char a[512];
	char b[512];
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, NULL, a, sizeof(a), NULL), SIGV4_OK);
	req.payload_sha256_hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	req.payload = (const unsigned char *)"ignored";
	req.payload_len = 7;
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, NULL, b, sizeof(b), NULL), SIGV4_OK);
	assert_string_equal(a, b);
	req.payload_sha256_hex = "UNSIGNED-PAYLOAD";
	char *creq = NULL;
	assert_int_equal(sigv4_canonical_request(&req, &vec_creds, &vec_scope, &creq, NULL), SIGV4_OK);
	size_t n = strlen(creq);
	assert_true(n > 17);
	assert_string_equal(creq + n - 17, "\nUNSIGNED-PAYLOAD");
	free(creq);
}

/* Path, query and header rules beyond the suite, including the heap fallbacks. */
static void test_canonical_edge_cases(void **state)
{
	(void)state;
	struct sigv4_request req = vanilla_request();
	char *creq = NULL;

	req.path = "/a/b/../c/./%20d//";
	req.path_len = strlen(req.path);
	req.query = "b=%7e&a=%41%zz&&c&a=+";
	req.query_len = strlen(req.query);
	assert_int_equal(sigv4_canonical_request(&req, NULL, &vec_scope, &creq, NULL), SIGV4_OK);
	assert_non_null(strstr(creq, "GET\n/a/c/%2520d/\na=%2B&a=A%25zz&b=~&c=\nhost:"));
	free(creq);

	/* 40 path segments, 30 parameters and 40 headers exceed the inline arrays. */
	char path[256] = "";
	char query[512] = "";
	for (int i = 0; i < 40; i++)
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%c", 'a' + i % 26);
	for (int i = 29; i >= 0; i--)
		snprintf(query + strlen(query), sizeof(query) - strlen(query), "%sp%02d=%d", i == 29 ? "" : "&", i, i);
	struct sigv4_header hdrs[40];
	char names[40][16];
	for (int i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "X-H%02d", 39 - i);
		hdrs[i] = (struct sigv4_header){ names[i], strlen(names[i]), "  v \t v  ", 9 };
	}
	req.path = path;
	req.path_len = strlen(path);
	req.query = query;
	req.query_len = strlen(query);
	req.headers = hdrs;
	req.headers_len = 40;
	assert_int_equal(sigv4_canonical_request(&req, NULL, &vec_scope, &creq, NULL), SIGV4_OK);
	assert_non_null(strstr(creq, "\n/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/a/b/c/d/e/f/g/h/i/j/k/l/m/n\n"));
	assert_non_null(strstr(creq, "\np00=0&p01=1&p02=2&"));
	assert_non_null(strstr(creq, "&p29=29\nx-h00:v v\nx-h01:v v\n"));
	assert_non_null(strstr(creq, "\nx-h39:v v\n\nx-h00;x-h01;"));
	free(creq);

	/* An empty path is "/". */
	req = vanilla_request();
	req.path = "";
	req.path_len = 0;
	assert_int_equal(sigv4_canonical_request(&req, NULL, &vec_scope, &creq, NULL), SIGV4_OK);
	assert_true(strncmp(creq, "GET\n/\n\n", 7) == 0);
	free(creq);
}

/* ---- agreement with botocore (tests/integration/sigv4_oracle.py) ---- */

/* One DynamoDB-shaped (or KMS/STS-shaped) request signed by both sides. */
struct oracle_case {
	const char *method;        /* HTTP method */
	const char *host;          /* host header and URL authority */
	const char *path;          /* request path */
	const char *query;         /* raw query, "" for none */
	const char *target;        /* x-amz-target, NULL for none */
	const char *content_type;  /* content-type, NULL for none */
	const char *body;          /* UTF-8 body */
	const char *token;         /* session token or NULL */
	int token_header;          /* 1: pass x-amz-security-token ourselves; 0: let the signer add it */
	const char *region;        /* signing region */
	const char *service;       /* signing name */
	const char *amz_date;      /* request time */
	int extra_headers;         /* additional x-extra-NN headers (exercises the heap path) */
};

#define DDB_JSON "application/x-amz-json-1.0"
#define TOKEN_A "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+example/token+with/slashes=="

static const struct oracle_case oracle_cases[] = {
	{ "POST", "dynamodb.us-east-1.amazonaws.com", "/", "", "DynamoDB_20120810.PutItem", DDB_JSON,
	  "{\"TableName\":\"users\",\"Item\":{\"pk\":{\"S\":\"u1\"},\"n\":{\"N\":\"42\"}}}",
	  NULL, 0, "us-east-1", "dynamodb", "20240517T093015Z", 0 },
	{ "POST", "dynamodb.eu-west-1.amazonaws.com", "/", "", "DynamoDB_20120810.PutItem", DDB_JSON,
	  "{\"TableName\":\"users\",\"Item\":{\"pk\":{\"S\":\"caf\xc3\xa9 \xe6\xbc\xa2\xe5\xad\x97 \xf0\x9f\x94\x91\"}}}",
	  TOKEN_A, 0, "eu-west-1", "dynamodb", "20240229T235959Z", 0 },
	{ "POST", "dynamodb.ap-southeast-2.amazonaws.com", "/", "", "DynamoDB_20120810.GetItem", DDB_JSON,
	  "", NULL, 0, "ap-southeast-2", "dynamodb", "20231231T000000Z", 0 },
	{ "POST", "dynamodb.us-west-2.amazonaws.com", "/", "", "DynamoDB_20120810.Query", DDB_JSON,
	  "{\"TableName\":\"t\",\"KeyConditionExpression\":\"pk = :v\",\n\t\"ExpressionAttributeValues\":{\":v\":{\"S\":\"\\\"quoted\\\" \\u00e9\"}}}",
	  TOKEN_A, 1, "us-west-2", "dynamodb", "20250101T120000Z", 0 },
	{ "POST", "dynamodb.us-gov-west-1.amazonaws.com", "/", "", "DynamoDB_20120810.TransactWriteItems", DDB_JSON,
	  "{\"TransactItems\":[]}", "short-token", 1, "us-gov-west-1", "dynamodb", "20220707T070707Z", 0 },
	{ "POST", "dynamodb.cn-north-1.amazonaws.com.cn", "/", "", "DynamoDB_20120810.BatchWriteItem", DDB_JSON,
	  "{}", NULL, 0, "cn-north-1", "dynamodb", "20191015T101010Z", 0 },
	{ "POST", "dynamodb.us-east-1.amazonaws.com", "/", "", "  DynamoDB_20120810.Scan  ", DDB_JSON,
	  "{\"TableName\":\"big\"}", NULL, 0, "us-east-1", "dynamodb", "20240517T093015Z", 30 },
	{ "POST", "localhost:8000", "/", "", "DynamoDB_20120810.DescribeTable", DDB_JSON,
	  "{\"TableName\":\"users\"}", "tok", 0, "us-east-1", "dynamodb", "20240517T093015Z", 0 },
	{ "POST", "kms.us-east-1.amazonaws.com", "/", "", "TrentService.GenerateDataKey", "application/x-amz-json-1.1",
	  "{\"KeyId\":\"alias/dynaseal\",\"KeySpec\":\"AES_256\"}", TOKEN_A, 0, "us-east-1", "kms", "20240517T093015Z", 0 },
	{ "GET", "sts.amazonaws.com", "/a/./b/../c//", "Version=2011-06-15&Action=GetCallerIdentity&Z=%20x", NULL, NULL,
	  "", NULL, 0, "us-east-1", "sts", "20240517T093015Z", 0 },
	{ "POST", "sts.us-east-1.amazonaws.com", "/", "", NULL, "application/x-www-form-urlencoded; charset=utf-8",
	  "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr",
	  NULL, 0, "us-east-1", "sts", "20240517T093015Z", 0 },
};

/* Appends s to out as a JSON string literal. */
static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

/* Runs the oracle on the JSON in json_path; returns 0 and its first line in out. */
static int oracle_run(const char *json_path, char *out, size_t cap)
{
	const char *py = getenv("DS_PYTHON");
	const char *script = getenv("DS_SIGV4_ORACLE");
	char cmd[PATH_MAX * 3];
	fmt_path(cmd, sizeof(cmd), "%s %s < %s", py != NULL ? py : "python3",
		 script != NULL ? script : "tests/integration/sigv4_oracle.py", json_path);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	out[0] = '\0';
	if (fgets(out, (int)cap, p) == NULL)
		out[0] = '\0';
	int status = pclose(p);
	out[strcspn(out, "\n")] = '\0';
	return status == 0 && out[0] != '\0' ? 0 : -1;
}

static void oracle_check(const struct oracle_case *c)
{
	static const struct sigv4_credentials base = {
		.access_key_id = "AKIAIOSFODNN7EXAMPLE",
		.secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	};
	struct sigv4_credentials creds = base;
	struct sigv4_scope scope = { .region = c->region, .service = c->service, .amz_date = c->amz_date };
	struct sigv4_header hdrs[MAX_HEADERS];
	char extra_names[MAX_HEADERS][24];
	char extra_values[MAX_HEADERS][24];
	size_t n = 0;

	creds.session_token = c->token;
	hdrs[n++] = (struct sigv4_header){ "host", 4, c->host, strlen(c->host) };
	hdrs[n++] = (struct sigv4_header){ "X-Amz-Date", 10, c->amz_date, strlen(c->amz_date) };
	if (c->target != NULL)
		hdrs[n++] = (struct sigv4_header){ "X-Amz-Target", 12, c->target, strlen(c->target) };
	if (c->content_type != NULL)
		hdrs[n++] = (struct sigv4_header){ "Content-Type", 12, c->content_type, strlen(c->content_type) };
	if (c->token != NULL && c->token_header)
		hdrs[n++] = (struct sigv4_header){ "X-Amz-Security-Token", 20, c->token, strlen(c->token) };
	for (int i = 0; i < c->extra_headers; i++) {
		snprintf(extra_names[i], sizeof(extra_names[i]), "X-Extra-%02d", c->extra_headers - i);
		snprintf(extra_values[i], sizeof(extra_values[i]), " value  %d ", i);
		hdrs[n++] = (struct sigv4_header){ extra_names[i], strlen(extra_names[i]),
						   extra_values[i], strlen(extra_values[i]) };
	}
	struct sigv4_request req = {
		.method = c->method, .path = c->path, .path_len = strlen(c->path),
		.query = c->query, .query_len = strlen(c->query),
		.headers = hdrs, .headers_len = n,
		.payload = (const unsigned char *)c->body, .payload_len = strlen(c->body),
	};
	char ours[2048];
	assert_int_equal(sigv4_sign(&req, &creds, &scope, NULL, ours, sizeof(ours), NULL), SIGV4_OK);

	char json_path[] = "/tmp/sigv4_oracle_XXXXXX";
	int fd = mkstemp(json_path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("{\"method\":", f);
	json_str(f, c->method);
	fprintf(f, ",\"url\":\"https://%s%s%s%s\",\"headers\":{", c->host, c->path,
		c->query[0] != '\0' ? "?" : "", c->query);
	for (size_t i = 0; i < n; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)hdrs[i].name_len, hdrs[i].name);
		fputs(i > 0 ? "," : "", f);
		json_str(f, name);
		fputc(':', f);
		json_str(f, hdrs[i].value);
	}
	char *b64 = malloc(CODEC_B64_ENC_LEN(req.payload_len));
	assert_non_null(b64);
	codec_b64_encode(req.payload, req.payload_len, b64);
	fprintf(f, "},\"body\":\"%s\",\"access_key\":", b64);
	free(b64);
	json_str(f, creds.access_key_id);
	fputs(",\"secret_key\":", f);
	json_str(f, creds.secret_access_key);
	fputs(",\"token\":", f);
	if (c->token != NULL)
		json_str(f, c->token);
	else
		fputs("null", f);
	fputs(",\"region\":", f);
	json_str(f, c->region);
	fputs(",\"service\":", f);
	json_str(f, c->service);
	fputs(",\"amz_date\":", f);
	json_str(f, c->amz_date);
	fputs("}\n", f);
	fclose(f);

	char theirs[2048];
	int rc = oracle_run(json_path, theirs, sizeof(theirs));
	unlink(json_path);
	if (rc != 0)
		print_error("sigv4_oracle.py failed (python3 with botocore needed; DS_PYTHON overrides)\n");
	assert_int_equal(rc, 0);
	if (strcmp(ours, theirs) != 0)
		print_error("%s %s%s (%s): botocore disagrees\n", c->method, c->host, c->path, c->target);
	assert_string_equal(ours, theirs);
}

static void test_botocore_agreement(void **state)
{
	(void)state;
	size_t n = sizeof(oracle_cases) / sizeof(oracle_cases[0]);
	assert_true(n >= 8);
	for (size_t i = 0; i < n; i++)
		oracle_check(&oracle_cases[i]);
}

/* The oracle is not a rubber stamp: a request it signed differently is caught. */
static void test_botocore_oracle_discriminates(void **state)
{
	(void)state;
	char json_path[] = "/tmp/sigv4_oracle_XXXXXX";
	int fd = mkstemp(json_path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("{\"method\":\"GET\",\"url\":\"https://example.amazonaws.com/\",\"headers\":{\"Host\":"
	      "\"example.amazonaws.com\"},\"body\":\"\",\"access_key\":\"" VEC_AKID "\",\"secret_key\":\""
	      VEC_SECRET "\",\"token\":null,\"region\":\"us-east-1\",\"service\":\"service\",\"amz_date\":\""
	      VEC_DATE "\"}", f);
	fclose(f);
	char theirs[1024];
	char ours[1024];
	int rc = oracle_run(json_path, theirs, sizeof(theirs));
	unlink(json_path);
	assert_int_equal(rc, 0);
	struct sigv4_request req = vanilla_request();
	assert_int_equal(sigv4_sign(&req, &vec_creds, &vec_scope, NULL, ours, sizeof(ours), NULL), SIGV4_OK);
	assert_string_equal(ours, theirs);
	struct sigv4_scope later = vec_scope;
	struct sigv4_header hdrs[] = { vanilla_headers[0], { "X-Amz-Date", 10, "20150830T123601Z", 16 } };
	later.amz_date = "20150830T123601Z";
	req.headers = hdrs;
	assert_int_equal(sigv4_sign(&req, &vec_creds, &later, NULL, ours, sizeof(ours), NULL), SIGV4_OK);
	assert_string_not_equal(ours, theirs);
}

/* The Authorization header, parsed once: complete, partial and foreign forms. */
static void test_authz_parse(void **state)
{
	struct sigv4_authz a;

	(void)state;
	sigv4_authz_parse("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/dynamodb/"
			  "aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature="
			  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", &a);
	assert_true(a.present && a.aws4 && a.ok);
	assert_string_equal(a.akid, "AKIDEXAMPLE");
	assert_string_equal(a.date, "20260101");
	assert_string_equal(a.region, "eu-west-1");
	assert_string_equal(a.service, "dynamodb");
	assert_string_equal(a.signed_headers, "host;x-amz-date;x-amz-target");
	assert_int_equal(strlen(a.signature), 64);
	/* Commas without spaces, as some clients send them. */
	sigv4_authz_parse("AWS4-HMAC-SHA256 Credential=K/20260101/r/dynamodb/aws4_request,"
			  "SignedHeaders=host,Signature=0123456789abcdef0123456789abcdef0123456789ab"
			  "cdef0123456789abcdef", &a);
	assert_true(a.ok);
	assert_string_equal(a.akid, "K");
	/* Partial: what is there is kept for the logs and the signing region, not ok. */
	sigv4_authz_parse("AWS4-HMAC-SHA256 Credential=AKIDPART/20260101/ap-south-1, Signature=00", &a);
	assert_true(a.present && a.aws4 && a.has_credential && a.has_signature);
	assert_false(a.has_signed_headers);
	assert_false(a.ok);
	assert_string_equal(a.akid, "AKIDPART");
	assert_string_equal(a.region, "ap-south-1");
	assert_string_equal(a.signature, "");
	/* Another scheme, an empty parameter, no header. */
	sigv4_authz_parse("Basic dXNlcjpwdw==", &a);
	assert_true(a.present);
	assert_false(a.aws4 || a.ok || a.has_credential);
	sigv4_authz_parse("AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature=ab", &a);
	assert_false(a.has_credential);
	sigv4_authz_parse(NULL, &a);
	assert_false(a.present || a.ok);
	assert_string_equal(a.akid, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_all_cases),
		cmocka_unit_test(test_vectors_missing_file_fails),
		cmocka_unit_test(test_key_derive_known_answer),
		cmocka_unit_test(test_amz_date_format),
		cmocka_unit_test(test_amz_date_malformed_rejected),
		cmocka_unit_test(test_wrong_secret_differs),
		cmocka_unit_test(test_key_cache),
		cmocka_unit_test(test_header_mismatches_rejected),
		cmocka_unit_test(test_bad_arguments_rejected),
		cmocka_unit_test(test_output_buffer_sizes),
		cmocka_unit_test(test_precomputed_payload_hash),
		cmocka_unit_test(test_canonical_edge_cases),
		cmocka_unit_test(test_botocore_agreement),
		cmocka_unit_test(test_botocore_oracle_discriminates),
		cmocka_unit_test(test_authz_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
