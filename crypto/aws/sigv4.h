/*
 * AWS Signature Version 4 (header form, HMAC-SHA256), built in the named steps of the
 * "Create a signed AWS API request" guide: canonical request, string to sign, signing key,
 * signature, Authorization header.
 *
 * The proxy re-signs every DynamoDB request, the KMS and STS clients sign their own, and
 * client authentication recomputes an application's signature; so the steps are public and
 * the hot path allocates nothing for ordinary requests (the canonical request is streamed
 * into SHA-256, sorting scratch lives on the stack up to SIGV4_INLINE_HEADERS headers and
 * SIGV4_INLINE_PARAMS query parameters).
 *
 * Canonicalization rules (non-S3 services):
 * - path: empty and "." segments dropped, ".." removes the previous segment (RFC 3986 5.2.4
 *   with duplicate slashes collapsed, as botocore does), a trailing slash kept when a segment
 *   remains, then every byte outside the RFC 3986 unreserved set of each segment encoded as
 *   %XX.  The path is taken as it is on the wire, so a '%' is encoded again ("%20" becomes
 *   "%2520"), which is what the SDKs sign for non-S3 services.
 * - query: split on '&' (empty pieces skipped), each name and value percent-decoded then
 *   re-encoded with the unreserved set, sorted by encoded name then encoded value; a piece
 *   without '=' gets an empty value.  '+' is a literal plus (encoded %2B), not a space.
 * - headers: names lower-cased, values trimmed and every run of white space (including the
 *   line breaks of obsolete multi-line values) folded to one space, duplicates joined with
 *   ',' in the order given, sorted by name.
 */
#ifndef DS_SIGV4_H
#define DS_SIGV4_H

#include <stddef.h>
#include <time.h>

/* Length of "YYYYMMDDTHHMMSSZ" without the NUL. */
#define SIGV4_AMZ_DATE_LEN 16
/* Length of a signature (and of any SHA-256) in lower-case hex, without the NUL. */
#define SIGV4_HEX_LEN 64
/* Longest region or service name accepted (the key cache stores them inline). */
#define SIGV4_NAME_MAX 63
/* Longest access key id accepted (IAM allows 128). */
#define SIGV4_AKID_MAX 128
/* Longest secret access key accepted (AWS issues 40 characters). */
#define SIGV4_SECRET_MAX 256
/* Headers / query parameters sorted without a heap allocation. */
#define SIGV4_INLINE_HEADERS 24
#define SIGV4_INLINE_PARAMS 16

/*
 * Results of every fallible sigv4_* function: 0 or one of these.  sigv4_strerror() gives the
 * message for each; one code per condition so a caller can tell the user what to fix.
 */
enum sigv4_status {
	SIGV4_OK = 0,
	SIGV4_ERR_ARG = -1,            /* a required argument is NULL */
	SIGV4_ERR_AMZ_DATE = -2,       /* amz_date is not YYYYMMDDTHHMMSSZ */
	SIGV4_ERR_REGION = -3,         /* region empty, too long or has '/' or white space */
	SIGV4_ERR_SERVICE = -4,        /* service empty, too long or has '/' or white space */
	SIGV4_ERR_METHOD = -5,         /* method empty or not an HTTP token */
	SIGV4_ERR_PATH = -6,           /* path not empty and not starting with '/' */
	SIGV4_ERR_HEADER_NAME = -7,    /* header name empty or not an HTTP token */
	SIGV4_ERR_DATE_MISMATCH = -8,  /* an x-amz-date header differs from scope->amz_date */
	SIGV4_ERR_TOKEN_MISMATCH = -9, /* an x-amz-security-token header differs from the token */
	SIGV4_ERR_PAYLOAD_HASH = -10,  /* payload_sha256_hex empty or has white space */
	SIGV4_ERR_ACCESS_KEY = -11,    /* access key id empty, too long, or has '/', ',', '=' or space */
	SIGV4_ERR_SECRET = -12,        /* secret access key empty or longer than SIGV4_SECRET_MAX */
	SIGV4_ERR_BUFFER = -13,        /* the caller's output buffer is too small */
	SIGV4_ERR_NOMEM = -14,         /* out of memory */
	SIGV4_ERR_CRYPTO = -15,        /* OpenSSL failed (its error queue is logged) */
	SIGV4_ERR_HEADER_VALUE = -16,  /* a header value has NUL, DEL or a control other than space */
};

/* One header to sign, as (ptr, len) views into the caller's request; not NUL-terminated. */
struct sigv4_header {
	const char *name;   /* any case; must be an HTTP token */
	size_t name_len;    /* bytes in name */
	const char *value;  /* raw value; trimmed and folded while canonicalizing */
	size_t value_len;   /* bytes in value */
};

/* Who signs.  NUL-terminated strings owned by the caller. */
struct sigv4_credentials {
	const char *access_key_id;     /* e.g. AKIDEXAMPLE; goes into the Credential= field */
	const char *secret_access_key; /* never copied except into the wiped "AWS4" + secret buffer */
	const char *session_token;     /* NULL without one; see sigv4_canonical_request() */
};

/* The request to sign, as views into the caller's buffers. */
struct sigv4_request {
	const char *method;                  /* NUL-terminated, e.g. "POST"; used as given */
	const char *path;                    /* raw request-target path before '?', may be empty */
	size_t path_len;                     /* bytes in path */
	const char *query;                   /* raw query after '?' without the '?', may be NULL */
	size_t query_len;                    /* bytes in query (0 when none) */
	const struct sigv4_header *headers;  /* exactly the headers to sign, any case and order */
	size_t headers_len;                  /* entries in headers */
	const unsigned char *payload;        /* body; may be NULL when payload_len is 0 */
	size_t payload_len;                  /* bytes in payload */
	const char *payload_sha256_hex;      /* if non-NULL, used as the payload hash as is
	                                      * (a precomputed hex digest or UNSIGNED-PAYLOAD) */
};

/* Where and when: the credential scope is amz_date[0..8)/region/service/aws4_request. */
struct sigv4_scope {
	const char *region;    /* e.g. "us-east-1" */
	const char *service;   /* signing name, e.g. "dynamodb", "kms", "sts" */
	const char *amz_date;  /* "YYYYMMDDTHHMMSSZ" (UTC); see sigv4_amz_date() */
};

/*
 * A derived signing key (kSigning) and what it was derived for.  A worker keeps one per
 * credentials and passes it to sigv4_sign(), which re-derives it only when the access key id,
 * the date, the region or the service changed: one HMAC chain per day and region instead of
 * four HMACs per request.  Not shared between threads without a lock.  The key is matched by
 * access key id, not by secret (AWS never gives one key id two secrets); if you reuse a key
 * id with another secret, call sigv4_key_wipe() first.  Wipe it before freeing it.
 */
struct sigv4_key {
	unsigned char key[32];                  /* kSigning; secret */
	int valid;                              /* 0 until derived; 0 again after sigv4_key_wipe() */
	char date[9];                           /* YYYYMMDD it was derived for */
	char region[SIGV4_NAME_MAX + 1];        /* region it was derived for */
	char service[SIGV4_NAME_MAX + 1];       /* service it was derived for */
	char access_key_id[SIGV4_AKID_MAX + 1]; /* key id whose secret it came from */
};

/* A constant message for a sigv4_status (or "unknown SigV4 error"). */
const char *sigv4_strerror(int status);

/* Formats when as "YYYYMMDDTHHMMSSZ" in UTC.  Fails (SIGV4_ERR_AMZ_DATE) outside years 0..9999. */
int sigv4_amz_date(time_t when, char out[SIGV4_AMZ_DATE_LEN + 1])
	__attribute__((warn_unused_result));

/* Checks that amz_date is a valid "YYYYMMDDTHHMMSSZ"; 0 or SIGV4_ERR_AMZ_DATE. */
int sigv4_check_amz_date(const char *amz_date) __attribute__((warn_unused_result));

/*
 * Derives kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
 * "aws4_request") into key, for scope's date, region and service.  Every intermediate key is
 * wiped.  On failure key is wiped (valid = 0).
 */
int sigv4_key_derive(struct sigv4_key *key, const struct sigv4_credentials *creds,
		     const struct sigv4_scope *scope) __attribute__((warn_unused_result));

/* Wipes the key material and marks the cache entry empty. */
void sigv4_key_wipe(struct sigv4_key *key);

/*
 * Builds the canonical request (task 1 of the SigV4 guide) as a malloc'd NUL-terminated
 * string in *out (length in *out_len if out_len is non-NULL); the caller frees it.  Meant for
 * debugging and for explaining a signature mismatch; sigv4_sign() never builds this string.
 *
 * creds may be NULL.  When creds->session_token is set and the headers have no
 * x-amz-security-token, one with the token is signed too (the caller must then send it);
 * when the headers have one, it must equal the token.  An x-amz-date header, if present,
 * must equal scope->amz_date; none is added (a request may be dated by its Date header).
 */
int sigv4_canonical_request(const struct sigv4_request *req, const struct sigv4_credentials *creds,
			    const struct sigv4_scope *scope, char **out, size_t *out_len)
	__attribute__((warn_unused_result));

/*
 * Writes the string to sign (task 2) into out (cap bytes, NUL-terminated; SIGV4_STS_MAX
 * bytes always suffice).  Same header rules and errors as sigv4_canonical_request().
 */
#define SIGV4_STS_MAX (17 + SIGV4_AMZ_DATE_LEN + 1 + 9 + 2 * (SIGV4_NAME_MAX + 1) + 13 + SIGV4_HEX_LEN + 1)
int sigv4_string_to_sign(const struct sigv4_request *req, const struct sigv4_credentials *creds,
			 const struct sigv4_scope *scope, char *out, size_t cap)
	__attribute__((warn_unused_result));

/*
 * Signs req and writes the Authorization header value
 *   "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
 *    SignedHeaders=a;b;c, Signature=<64 hex>"
 * (one line) into authz_out (authz_cap bytes, NUL-terminated).  If signature_out is non-NULL
 * the bare hex signature is written there too.
 *
 * key_cache may be NULL (a key is derived and wiped for this call) or a cache slot that is
 * re-derived only when it does not match creds and scope.  Header rules as in
 * sigv4_canonical_request().
 */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *creds,
	       const struct sigv4_scope *scope, struct sigv4_key *key_cache,
	       char *authz_out, size_t authz_cap, char signature_out[SIGV4_HEX_LEN + 1])
	__attribute__((warn_unused_result));

/*
 * Compares two NUL-terminated hex signatures in time independent of where they differ (for
 * client authentication).  Returns 1 when equal, 0 otherwise (also when a length differs).
 */
int sigv4_signature_equal(const char *a, const char *b);

#endif
