#include "crypto/keyring/keyring_factory.h"

#include "crypto/keyring/keyring_aws_kms.h"
#include "crypto/keyring/keyring_hierarchy.h"

/* aws-kms: the loop's KMS client and key cache. */
static struct keyring *aws_kms_new(const struct config_keyring *c, const struct keyring_env *env,
				   struct ds_error *err)
{
	struct kms_client *kms = env->kms(env->ctx, err);
	struct keyring *k;

	if (kms == NULL)
		return NULL;
	k = keyring_aws_kms_new(c, kms);
	if (k != NULL)
		keyring_aws_kms_set_cache(k, env->cache);
	return k;
}

/* aws-kms-hierarchical: key store reads with the loop's KMS client and a DynamoDB client of
 * its own; branch keys in the loop's key cache. */
static struct keyring *hierarchy_new(const struct config_keyring *c, const struct keyring_env *env,
				     struct ds_error *err)
{
	struct kms_client *kms = env->kms(env->ctx, err);
	struct ddb_client *ddb = kms != NULL ? env->ddb(env->ctx, err) : NULL;
	struct keyring *k;

	if (ddb == NULL)
		return NULL;
	k = keyring_hierarchy_new(c, ddb, kms);
	if (k != NULL)
		keyring_hierarchy_set_cache(k, env->cache);
	return k;
}

struct keyring *keyring_new_from_config(const struct config_keyring *c,
					const struct keyring_env *env, struct ds_error *err)
{
	const char *name = c->name != NULL ? c->name : "";
	struct keyring *k = NULL;

	ds_error_clear(err);
	switch (c->type) {
	case KEYRING_RAW_AES:
		k = keyring_raw_aes_new(c);
		break;
	case KEYRING_STATIC_BRANCH_KEY:
		k = keyring_static_branch_new(c);
		break;
	case KEYRING_AWS_KMS:
	case KEYRING_AWS_KMS_HIERARCHICAL:
		if (env == NULL) {
			ds_error_set(err, 500, DS_ERR_INTERNAL, "keyring \"%s\": a KMS keyring needs "
				     "the KMS and DynamoDB clients of an event loop", name);
			return NULL;
		}
		k = c->type == KEYRING_AWS_KMS ? aws_kms_new(c, env, err) : hierarchy_new(c, env, err);
		break;
	default:
		ds_error_set(err, 400, DS_ERR_VALIDATION, "keyring \"%s\": this type is not available "
			     "in this build of dynaseal", name);
		return NULL;
	}
	if (k == NULL && err->message[0] == '\0')
		ds_error_set(err, 500, DS_ERR_INTERNAL, "keyring \"%s\" could not be set up (bad key "
			     "material, or out of memory)", name);
	return k;
}
