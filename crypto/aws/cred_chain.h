/*
 * dynaseal's own credentials, found as the AWS SDKs find theirs (the default credential
 * provider chain) and refreshed in the background before they expire:
 *   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
 *   2. web identity (EKS IRSA): AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
 *      (+ AWS_ROLE_SESSION_NAME) → STS AssumeRoleWithWebIdentity (AWS_ENDPOINT_URL_STS);
 *   3. shared files: AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials), profile
 *      AWS_PROFILE (default "default");
 *   4. container (ECS task role, EKS Pod Identity): AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, or
 *      AWS_CONTAINER_CREDENTIALS_FULL_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE);
 *   5. EC2 instance metadata (IMDSv2), unless AWS_EC2_METADATA_DISABLED=true
 *      (AWS_EC2_METADATA_SERVICE_ENDPOINT overrides the address).
 * Temporary credentials are fetched again ahead of their expiry (half their remaining life, at
 * most five minutes ahead); a failed refresh is retried every ten seconds and logged, while the
 * current credentials stay in use until they expire.  Requests never wait on a refresh.
 */
#ifndef DS_CRED_CHAIN_H
#define DS_CRED_CHAIN_H

#include <openssl/ssl.h>

#include "crypto/aws/credentials.h"
#include "proxy/base/error.h"

struct event_base;
struct evdns_base;
struct cred_chain;

/*
 * Finds the first source that applies and fetches from it, running base until the first
 * credentials arrive (bounded by timeouts), then keeps refreshing on base (which the caller
 * runs).  ssl_ctx serves https sources (STS).  Returns NULL with err naming what was tried.
 */
struct cred_chain *cred_chain_start(struct event_base *base, struct evdns_base *dns, SSL_CTX *ssl_ctx,
				    const char *region, struct ds_error *err)
	__attribute__((warn_unused_result));
/*
 * For one-shot commands (doctor, inspect, branch-key): the chain run once on a private loop.
 * Returns credentials (the caller unrefs them; they are not refreshed) or NULL with err.
 */
struct credentials *cred_chain_once(SSL_CTX *ssl_ctx, const char *region, struct ds_error *err)
	__attribute__((warn_unused_result));
/* The credentials slot (owned by the chain; take a reference to keep it longer). */
struct credentials *cred_chain_credentials(struct cred_chain *c);
void cred_chain_free(struct cred_chain *c);

/* Parsers, exposed for tests and fuzzing.  Each returns 0 and fills the values (malloc'd
 * strings the caller frees), or -1. */
struct cred_parsed {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;
	time_t expiration;
};
int cred_parse_json(const char *body, size_t len, struct cred_parsed *out);
int cred_parse_sts_xml(const char *body, size_t len, struct cred_parsed *out);
int cred_parse_profile(const char *text, const char *profile, struct cred_parsed *out);
void cred_parsed_free(struct cred_parsed *p);
/* "2026-11-26T23:00:00Z" (fraction of a second allowed) to seconds, or -1. */
time_t cred_parse_time(const char *s);

#endif
