#include "crypto/keyring/legacy_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/aws/kms_client.h"
#include "crypto/legacy/legacy_item.h"
#include "proxy/base/codec.h"

/* The AWS KMS provider's encryption context keys (aws_kms.py EncryptionContextKeys). */
#define KMS_EC_ENV_ALG "*amzn-ddb-env-alg*"
#define KMS_EC_SIG_ALG "*amzn-ddb-sig-alg*"
#define KMS_EC_TABLE "*aws-kms-table*"

/* One table's legacy keys and actions on one worker. */
struct legacy_reader {
	const struct config_table *table;   /* its config (borrowed, outlives the reader) */
	struct legacy_actions actions;      /* names borrowed from table->legacy */
	struct legacy_materials m;          /* static, wrapped: the keys; wiped on free */
	struct keyring_env env;             /* aws-kms: where the KMS client comes from */
	struct kms_client *kms;             /* aws-kms: made on the first item, not owned */
};

/* One item's KMS Decrypt under way (aws-kms). */
struct legacy_op {
	struct legacy_reader *r;            /* the reader */
	const cJSON *item;                  /* the stored item (borrowed) */
	struct legacy_desc d;               /* its parsed material description */
	struct enc_ctx ec;                  /* the KMS encryption context */
	legacy_reader_done_cb cb;           /* the caller's */
	void *arg;
};

static enum legacy_action action_of(enum attr_action a)
{
	return a == ACTION_ENCRYPT_AND_SIGN ? LEGACY_ENCRYPT_AND_SIGN
	       : a == ACTION_SIGN_ONLY ? LEGACY_SIGN_ONLY : LEGACY_DO_NOTHING;
}

/* The config's keys into the static or wrapped materials. */
static int set_keys(struct legacy_reader *r, const struct config_legacy *l, struct ds_error *err)
{
	const char *alg = l->signing_algorithm;
	int rc;

	if (l->provider == CONFIG_LEGACY_STATIC)
		rc = legacy_materials_set_content_key(&r->m, l->content_key.bytes, l->content_key.len, err);
	else if (l->wrapping_key.rsa)
		rc = legacy_materials_set_wrap_rsa(&r->m, l->wrapping_key.bytes, l->wrapping_key.len, err);
	else
		rc = legacy_materials_set_wrap_aes(&r->m, l->wrapping_key.bytes, l->wrapping_key.len, err);
	if (rc != 0)
		return -1;
	if (alg == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "legacy materials: no signing algorithm");
		return -1;
	}
	if (l->signing_key.rsa)
		return legacy_materials_set_rsa_verify(&r->m, alg, l->signing_key.bytes,
						       l->signing_key.len, err);
	return legacy_materials_set_hmac(&r->m, alg, l->signing_key.bytes, l->signing_key.len, err);
}

struct legacy_reader *legacy_reader_new(const struct config_table *t, const struct keyring_env *env,
					struct ds_error *err)
{
	const struct config_legacy *l = t->legacy;
	struct legacy_reader *r;

	if (l == NULL || !l->has_provider || !l->has_actions) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": no legacy provider and "
			     "attribute actions to read legacy items with", t->name);
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": out of memory", t->name);
		return NULL;
	}
	r->table = t;
	r->actions.default_action = action_of(l->default_action);
	r->actions.encrypt = (const char *const *)l->encrypt;
	r->actions.n_encrypt = l->encrypt_len;
	r->actions.sign = (const char *const *)l->sign_only;
	r->actions.n_sign = l->sign_only_len;
	r->actions.nothing = (const char *const *)l->do_nothing;
	r->actions.n_nothing = l->do_nothing_len;
	r->actions.keys = l->keys;
	r->actions.n_keys = l->keys_len;
	if (env != NULL)
		r->env = *env;
	legacy_materials_init(&r->m, l->provider == CONFIG_LEGACY_STATIC ? LEGACY_PROVIDER_STATIC
				     : l->provider == CONFIG_LEGACY_WRAPPED ? LEGACY_PROVIDER_WRAPPED
				     : LEGACY_PROVIDER_KMS);
	if (legacy_actions_check(&r->actions, err) != 0 ||
	    (l->provider != CONFIG_LEGACY_AWS_KMS && set_keys(r, l, err) != 0))
		goto fail;
	if (l->provider == CONFIG_LEGACY_AWS_KMS && (env == NULL || env->kms == NULL)) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": the legacy aws-kms provider "
			     "needs a KMS client", t->name);
		goto fail;
	}
	return r;
fail:
	legacy_reader_free(r);
	return NULL;
}

void legacy_reader_free(struct legacy_reader *r)
{
	if (r == NULL)
		return;
	legacy_materials_cleanup(&r->m);
	free(r);
}

/*
 * The legacy code names the table it signs with (the logical name); a refusal names the
 * physical table as every other item error does (crypt_batch.c strips that prefix).
 */
static void name_physical(const struct legacy_reader *r, const struct ds_error *in,
			  struct ds_error *out)
{
	const char *logical = r->table->logical_name;
	size_t n = strlen(logical);
	const char *msg = in->message;

	if (strncmp(msg, "table \"", 7) == 0 && strncmp(msg + 7, logical, n) == 0 &&
	    strncmp(msg + 7 + n, "\": ", 3) == 0)
		msg += 7 + n + 3;
	ds_error_set(out, in->status, in->type, "table \"%s\": %s", r->table->name, msg);
}

/* legacy_item_open, and the answer. */
static void open_with(struct legacy_reader *r, const struct legacy_materials *m, const cJSON *item,
		      legacy_reader_done_cb cb, void *arg)
{
	struct ds_error err = { 0 }, named = { 0 };
	cJSON *plain = NULL;

	if (legacy_item_open(m, r->table->logical_name, &r->actions, item, &plain, &err) != 0) {
		name_physical(r, &err, &named);
		cb(arg, NULL, &named);
		return;
	}
	cb(arg, plain, NULL);
}

static void op_free(struct legacy_op *op)
{
	legacy_desc_cleanup(&op->d);
	ec_cleanup(&op->ec);
	free(op);
}

/* A key attribute's value as the KMS provider puts it in the context (_attribute_to_value). */
static const char *key_value(const cJSON *av)
{
	const cJSON *v = av != NULL ? av->child : NULL;

	if (v == NULL || v->next != NULL || !cJSON_IsString(v) || v->valuestring == NULL)
		return NULL;
	if (strcmp(v->string, "S") == 0 || strcmp(v->string, "N") == 0 || strcmp(v->string, "B") == 0)
		return v->valuestring;
	return NULL;
}

static int ec_add(struct enc_ctx *ec, const char *k, const char *v)
{
	return ec_put(ec, k, strlen(k), v, strlen(v), 0);
}

/* The legacy KMS provider's encryption context of item (aws_kms.py). */
static int kms_context(const struct legacy_reader *r, struct legacy_op *op, struct ds_error *err)
{
	const struct legacy_desc_pair *env = legacy_desc_get(&op->d, LEGACY_DESC_ENV_ALG);
	const struct legacy_desc_pair *sig = legacy_desc_get(&op->d, LEGACY_DESC_SIG_ALG);
	const char *name = r->table->name;

	if (env == NULL || sig == NULL) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the legacy material "
			     "description names no %s, which the aws-kms provider writes; %s", name,
			     env == NULL ? LEGACY_DESC_ENV_ALG : LEGACY_DESC_SIG_ALG, LEGACY_TAMPERED);
		return -1;
	}
	if (ec_add(&op->ec, KMS_EC_ENV_ALG, env->value) != 0 ||
	    ec_add(&op->ec, KMS_EC_SIG_ALG, sig->value) != 0 ||
	    ec_add(&op->ec, KMS_EC_TABLE, r->table->logical_name) != 0)
		goto oom;
	for (size_t i = 0; i < r->actions.n_keys; i++) {
		const char *k = r->actions.keys[i];
		const cJSON *av = cJSON_GetObjectItemCaseSensitive(op->item, k);
		const char *v;

		if (av == NULL)
			continue;       /* as the provider: a missing key is left out */
		if ((v = key_value(av)) == NULL) {
			ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": key attribute "
				     "\"%.64s\" is not a string, number or binary value", name, k);
			return -1;
		}
		if (ec_put(&op->ec, k, strlen(k), v, strlen(v), 0) != 0) {
			ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": key attribute "
				     "\"%.64s\" has the name of a legacy encryption context key", name, k);
			return -1;
		}
	}
	return 0;
oom:
	ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": out of memory", name);
	return -1;
}

static void kms_done(void *arg, const struct kms_result *res, const struct ds_error *kerr)
{
	struct legacy_op *op = arg;
	struct legacy_reader *r = op->r;
	struct legacy_materials m;
	struct ds_error err = { 0 };

	if (res == NULL) {
		if (kerr != NULL)
			ds_error_set(&err, kerr->status, kerr->type, "table \"%s\": the legacy data key "
				     "could not be decrypted: %s", r->table->name, kerr->message);
		else
			ds_error_set(&err, 500, DS_ERR_INTERNAL, "table \"%s\": the legacy data key "
				     "could not be decrypted", r->table->name);
		op->cb(op->arg, NULL, &err);
		op_free(op);
		return;
	}
	legacy_materials_init(&m, LEGACY_PROVIDER_KMS);
	if (legacy_materials_from_kms(&m, res->plaintext, res->plaintext_len, &op->d, &err) != 0) {
		struct ds_error named = { 0 };

		name_physical(r, &err, &named);
		op->cb(op->arg, NULL, &named);
	} else {
		open_with(r, &m, op->item, op->cb, op->arg);
	}
	legacy_materials_cleanup(&m);
	op_free(op);
}

/* aws-kms: parse the description, Decrypt its data key, then open. */
static void open_kms(struct legacy_reader *r, const cJSON *item, const struct audit_ctx *audit,
		     legacy_reader_done_cb cb, void *arg)
{
	struct legacy_op *op = calloc(1, sizeof(*op));
	const struct legacy_desc_pair *wrapped;
	struct ds_error err = { 0 };
	unsigned char *blob = NULL;
	long n;

	if (op == NULL) {
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "table \"%s\": out of memory", r->table->name);
		cb(arg, NULL, &err);
		return;
	}
	op->r = r;
	op->item = item;
	op->cb = cb;
	op->arg = arg;
	ec_init(&op->ec);
	if (legacy_item_read_desc(r->table->name, item, &op->d, &err) != 0 ||
	    kms_context(r, op, &err) != 0)
		goto fail;
	wrapped = legacy_desc_get(&op->d, LEGACY_DESC_ENV_KEY);
	if (wrapped == NULL) {
		ds_error_set(&err, 400, DS_ERR_VALIDATION, "table \"%s\": the legacy material "
			     "description holds no %s (the KMS-encrypted data key); %s",
			     r->table->name, LEGACY_DESC_ENV_KEY, LEGACY_TAMPERED);
		goto fail;
	}
	if (r->kms == NULL && (r->kms = r->env.kms(r->env.ctx, &err)) == NULL)
		goto fail;
	blob = malloc(CODEC_B64_DEC_MAX(wrapped->value_len) + 1);
	if (blob == NULL) {
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "table \"%s\": out of memory", r->table->name);
		goto fail;
	}
	n = codec_b64_decode(wrapped->value, wrapped->value_len, blob);
	if (n <= 0) {
		ds_error_set(&err, 400, DS_ERR_VALIDATION, "table \"%s\": the legacy material "
			     "description's %s is not base64; %s", r->table->name,
			     LEGACY_DESC_ENV_KEY, LEGACY_TAMPERED);
		goto fail;
	}
	kms_decrypt(r->kms, r->table->legacy->key_id, blob, (size_t)n, &op->ec, audit, kms_done, op);
	free(blob);
	return;
fail:
	free(blob);
	op_free(op);
	cb(arg, NULL, &err);
}

void legacy_reader_open(struct legacy_reader *r, const cJSON *item, const struct audit_ctx *audit,
			legacy_reader_done_cb cb, void *arg)
{
	if (r->m.provider == LEGACY_PROVIDER_KMS) {
		open_kms(r, item, audit, cb, arg);
		return;
	}
	open_with(r, &r->m, item, cb, arg);
}
