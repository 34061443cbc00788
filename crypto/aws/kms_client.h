/*
 * An asynchronous AWS KMS client (JSON 1.1 protocol, SigV4 signed) on one worker's event loop,
 * over the pooled connections of proxy/net/upstream.h.  Each call completes exactly once through
 * its callback.  Errors are mapped to what a DynamoDB client understands: AccessDenied names
 * the key and the KMS operation, throttling is retried with backoff and then answered as
 * ThrottlingException (which the SDKs retry), an unreachable KMS is a retryable 503.
 * Plaintext keys are wiped after the callback; nothing secret is logged.
 */
#ifndef DS_KMS_CLIENT_H
#define DS_KMS_CLIENT_H

#include <stdatomic.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "crypto/aws/credentials.h"
#include "crypto/item/materials.h"
#include "proxy/base/error.h"

struct event_base;
struct evdns_base;
struct kms_client;
struct audit_ctx;

/* What a successful call returns; valid only during the callback. */
struct kms_result {
	const unsigned char *plaintext;    /* GenerateDataKey, Decrypt: the key (wiped afterwards) */
	size_t plaintext_len;
	const unsigned char *ciphertext;   /* GenerateDataKey, Encrypt: CiphertextBlob */
	size_t ciphertext_len;
	const char *key_id;                /* the key ARN KMS reports (DescribeKey: KeyMetadata.Arn) */
	const char *key_state;             /* DescribeKey: KeyMetadata.KeyState ("Enabled", ...) */
	const char *key_usage;             /* DescribeKey: KeyMetadata.KeyUsage, or NULL */
};

typedef void (*kms_done_cb)(void *arg, const struct kms_result *res, const struct ds_error *err);

/* Calls made, by API (relaxed atomics: the worker writes, metrics read). */
struct kms_stats {
	atomic_uint_least64_t generate_data_key;
	atomic_uint_least64_t decrypt;
	atomic_uint_least64_t encrypt;
	atomic_uint_least64_t generate_data_key_without_plaintext;
	atomic_uint_least64_t re_encrypt;
	atomic_uint_least64_t errors;
	atomic_uint_least64_t throttled;
	atomic_llong last_ok;            /* time of the last successful call, 0 if none */
	atomic_llong last_unreachable;   /* time of the last call that could not reach KMS */
};

/*
 * A client for region (endpoint AWS_ENDPOINT_URL_KMS, else https://kms.REGION.amazonaws.com).
 * ssl_ctx is needed for an https endpoint (shared, not owned); creds is referenced.
 */
struct kms_client *kms_client_new(struct event_base *base, struct evdns_base *dns, SSL_CTX *ssl_ctx,
				  const char *region, struct credentials *creds, struct ds_error *err)
	__attribute__((warn_unused_result));
/* Timeouts (defaults 3 s to connect, 10 s for an answer) and attempts (default 3) of the
 * client's later calls: config "kms". */
void kms_client_set_limits(struct kms_client *c, int connect_timeout_ms, int response_timeout_ms,
			   int max_attempts);
void kms_client_free(struct kms_client *c);
const struct kms_stats *kms_client_stats(const struct kms_client *c);
/* The endpoint URL the client calls, for logs and doctor. */
const char *kms_client_endpoint(const struct kms_client *c);

/*
 * The calls.  audit (copied, may be NULL) names the request, table and application the call
 * is made for: its audit line (audit.h) carries them.
 */

/* GenerateDataKey of nbytes under key_id, bound to the encryption context ec. */
void kms_generate_data_key(struct kms_client *c, const char *key_id, const struct enc_ctx *ec,
			   size_t nbytes, const struct audit_ctx *audit, kms_done_cb cb, void *arg);
/* Decrypt of blob with key_id and ec. */
void kms_decrypt(struct kms_client *c, const char *key_id, const unsigned char *blob, size_t len,
		 const struct enc_ctx *ec, const struct audit_ctx *audit, kms_done_cb cb, void *arg);
/* Encrypt of plaintext under key_id with ec. */
void kms_encrypt(struct kms_client *c, const char *key_id, const unsigned char *plaintext, size_t len,
		 const struct enc_ctx *ec, const struct audit_ctx *audit, kms_done_cb cb, void *arg);

/* GenerateDataKeyWithoutPlaintext of nbytes under key_id with ec: only CiphertextBlob comes
 * back (the branch key store creates keys this way so no plaintext leaves KMS). */
void kms_generate_data_key_without_plaintext(struct kms_client *c, const char *key_id,
					     const struct enc_ctx *ec, size_t nbytes,
					     const struct audit_ctx *audit, kms_done_cb cb, void *arg);
/* ReEncrypt of blob from (source_key_id, source_ec) to (dest_key_id, dest_ec); the result's
 * ciphertext is the new CiphertextBlob, key_id the destination key KMS reports. */
void kms_re_encrypt(struct kms_client *c, const char *source_key_id, const struct enc_ctx *source_ec,
		    const unsigned char *blob, size_t len, const char *dest_key_id,
		    const struct enc_ctx *dest_ec, const struct audit_ctx *audit, kms_done_cb cb,
		    void *arg);

/* DescribeKey of key_id (a key ARN, alias name or alias ARN): the result's key_id is the ARN
 * of the key it names, with its state and usage (what an alias resolves to). */
void kms_describe_key(struct kms_client *c, const char *key_id, kms_done_cb cb, void *arg);

/* Parses a KMS response body (for tests and fuzzing): fills res (pointing into the returned
 * allocation, which the caller frees with kms_parsed_free) or err. */
struct kms_parsed;
struct kms_parsed *kms_parse_response(const char *op, int status, const char *body, size_t len,
				      const char *key_id, struct kms_result *res, struct ds_error *err,
				      int *retryable);
void kms_parsed_free(struct kms_parsed *p);

#endif
