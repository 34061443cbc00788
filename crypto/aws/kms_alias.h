/*
 * KMS key aliases in the config (AWS KMS developer guide, "Using aliases"): a keyring named by
 * alias/NAME or an alias ARN is pinned, when dynaseal starts and on each reload, to the key
 * ARN kms:DescribeKey says the alias names then.  Writes use that key and items record its
 * ARN, never the alias (as the DB-ESDK's AWS KMS keyring does: the EDK's provider info is the
 * KeyId KMS answers).  Reads accept that key, the config's previous_key_ids, and every key the
 * alias named earlier in this process, so re-pointing an alias and reloading is a rotation.
 */
#ifndef DS_KMS_ALIAS_H
#define DS_KMS_ALIAS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "config/config.h"
#include "crypto/aws/credentials.h"
#include "crypto/aws/kms_client.h"

/* The key ARNs each alias named during the process's life; grows, never forgets. */
struct kms_alias_seen;

struct kms_alias_seen *kms_alias_seen_new(void) __attribute__((warn_unused_result));
void kms_alias_seen_free(struct kms_alias_seen *s);
/* Records that alias named arn.  0, or -1 when out of memory. */
int kms_alias_seen_add(struct kms_alias_seen *s, const char *alias, const char *arn)
	__attribute__((warn_unused_result));
/* The key ARNs alias named so far (*n of them; NULL when none), in the order first seen. */
const char *const *kms_alias_seen_get(const struct kms_alias_seen *s, const char *alias, size_t *n);

/*
 * Whether DescribeKey's answer res for alias lets a keyring use the key: 0 when it names a key
 * ARN of an Enabled key for ENCRYPT_DECRYPT, else -1 with why ("alias \"NAME\" ...": what is
 * wrong and how to fix it).
 */
int kms_alias_check(const char *alias, const struct kms_result *res, char *why, size_t cap)
	__attribute__((warn_unused_result));

/* What kms_alias_resolve calls KMS with. */
struct kms_alias_env {
	SSL_CTX *ssl_ctx;               /* for an https KMS endpoint (not owned) */
	const char *region;
	struct credentials *creds;      /* referenced while resolving */
	int connect_timeout_ms;         /* config kms.*: 0 keeps the client's defaults */
	int response_timeout_ms;
	int max_attempts;
};

/*
 * Resolves the alias of every KMS keyring of cfg with DescribeKey (one call per alias, on a
 * private event loop: it blocks) and pins each keyring to its key (config_keyring_pin_kms),
 * recording the key in seen (may be NULL: nothing earlier is accepted).  Keyrings named by key
 * ARN are left as they are.  Returns 0, or -1 with one message per keyring that could not be
 * resolved added to problems (naming the keyring's key, the alias and the reason); those
 * keyrings stay unpinned.
 */
int kms_alias_resolve(struct config *cfg, const struct kms_alias_env *env,
		      struct kms_alias_seen *seen, struct config_problems *problems)
	__attribute__((warn_unused_result));

#endif
