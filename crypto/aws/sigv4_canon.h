/*
 * SigV4 task 1, the canonical request (crypto/aws/sigv4_canon.c), as the rest of the signer sees
 * it: the sorted views of one request, built once and used for both the canonical request and
 * the SignedHeaders list.  Internal to crypto/sigv4*.c.
 */
#ifndef DS_SIGV4_CANON_H
#define DS_SIGV4_CANON_H

#include <stddef.h>

#include "crypto/aws/sigv4.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

/* Path segments sorted without a heap allocation. */
#define SIGV4_INLINE_SEGMENTS 32

/* One header in the canonical order: a view into the caller's request. */
struct sigv4_hdr_ref {
	const char *name;   /* as given; lower-cased when written */
	size_t name_len;    /* bytes in name */
	const char *value;  /* raw value; trimmed and folded when written */
	size_t value_len;   /* bytes in value */
	size_t order;       /* position in the request, so duplicates keep their order */
};

/* One query parameter: raw views, percent-decoded and re-encoded when compared or written. */
struct sigv4_param_ref {
	const char *name;   /* raw name */
	size_t name_len;    /* bytes in name */
	const char *value;  /* raw value (empty when the piece had no '=') */
	size_t value_len;   /* bytes in value */
};

/* One path segment kept after dot-segment removal. */
struct sigv4_seg_ref {
	const char *p;  /* raw bytes of the segment */
	size_t len;     /* bytes in p; never 0 */
};

/*
 * The sorted views of one request, built once per call and used both for the canonical
 * request and for the SignedHeaders list.  Arrays start inline and move to the heap only for
 * unusually large requests.
 */
struct sigv4_canon {
	struct sigv4_hdr_ref hdr_inline[SIGV4_INLINE_HEADERS];     /* storage for small requests */
	struct sigv4_hdr_ref *hdrs;                                /* hdr_inline or malloc'd */
	size_t nhdrs;                                              /* entries in hdrs */
	struct sigv4_param_ref param_inline[SIGV4_INLINE_PARAMS];  /* storage for small queries */
	struct sigv4_param_ref *params;                            /* param_inline or malloc'd */
	size_t nparams;                                            /* entries in params */
	struct sigv4_seg_ref seg_inline[SIGV4_INLINE_SEGMENTS];    /* storage for short paths */
	struct sigv4_seg_ref *segs;                                /* seg_inline or malloc'd */
	size_t nsegs;                                              /* segments kept */
	int trailing_slash;                                        /* write '/' after the last one */
	char payload_hex[SIGV4_HEX_LEN + 1];                       /* computed payload hash */
	const char *payload_hash;                                  /* payload_hex or the caller's */
};

/*
 * Validates the scope and the request and builds every sorted view.  c must be passed to
 * sigv4_canon_cleanup() afterwards whatever the result.  Returns SIGV4_OK or a SIGV4_ERR_*.
 */
int sigv4_canon_init(struct sigv4_canon *c, const struct sigv4_request *req,
		     const struct sigv4_credentials *creds, const struct sigv4_scope *scope)
	__attribute__((warn_unused_result));
void sigv4_canon_cleanup(struct sigv4_canon *c);
/* Hashes the canonical request of req (whose views c holds) into lowercase hex. */
int sigv4_hash_canonical_request(const struct sigv4_request *req, const struct sigv4_canon *c,
				 char hex[SIGV4_HEX_LEN + 1]) __attribute__((warn_unused_result));
/*
 * Writes the Authorization header value (task 4) for the signature into out (cap bytes,
 * NUL-terminated; "" on SIGV4_ERR_BUFFER).
 */
int sigv4_canon_authorization(const struct sigv4_canon *c, const struct sigv4_credentials *creds,
			      const struct sigv4_scope *scope, const char *signature, char *out,
			      size_t cap) __attribute__((warn_unused_result));
/* The checks of a scope and of credentials that every signing step makes first. */
int sigv4_check_scope(const struct sigv4_scope *scope);
int sigv4_check_signer(const struct sigv4_credentials *creds);

#endif
