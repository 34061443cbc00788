#include "crypto/keyring/keyring_aws_kms.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "cache/cache.h"
#include "proxy/base/codec.h"

#include "proxy/base/log.h"

#define KMS_PROVIDER_ID "aws-kms"
/* The sealed data key that precedes the KMS ciphertext in the EDK. */
#define WRAPPED_PDK_LEN (SUITE_KEY_LEN + SUITE_TAG_LEN)

/* The keyring's state. */
struct aws_kms {
	char *key_arn;                 /* the configured key */
	struct kms_client *client;     /* the worker's KMS client */
	struct cache *cache;           /* the worker's key cache, or NULL */
	int ttl_s;                     /* how long an unwrapped key is cached */
};

/* One OnEncrypt or OnDecrypt waiting for KMS. */
struct kms_op {
	struct keyring *k;
	struct materials *m;
	const struct edk *edks;        /* decrypt: the header's EDKs */
	size_t nedks;
	size_t next;                   /* decrypt: the next EDK to try */
	int matched;                   /* decrypt: an EDK for our key was found */
	char cache_id[80];             /* decrypt: the cache entry of the EDK being opened */
	struct ds_error last;          /* decrypt: why the last attempt failed */
	keyring_done_cb done;
	void *arg;
};

static void op_end(struct kms_op *op, int rc, const struct ds_error *err)
{
	keyring_done_cb done = op->done;
	void *arg = op->arg;
	struct ds_error copy;

	/* err may live in op, which goes first. */
	if (err != NULL)
		copy = *err;
	free(op);
	done(arg, rc, err != NULL ? &copy : NULL);
}

static void generated_cb(void *arg, const struct kms_result *res, const struct ds_error *kerr)
{
	struct kms_op *op = arg;
	struct materials *m = op->m;
	unsigned char sk[SUITE_KEY_LEN];
	unsigned char *ct = NULL;
	struct ds_error err = { 0 };
	struct edk e = { 0 };
	int rc = -1;

	if (kerr != NULL) {
		op_end(op, -1, kerr);
		return;
	}
	if (res->plaintext_len != SUITE_KEY_LEN) {
		ds_error_set(&err, 502, DS_ERR_INTERNAL, "KMS GenerateDataKey returned %zu bytes, not %d",
			     res->plaintext_len, SUITE_KEY_LEN);
		goto cleanup;
	}
	ct = malloc(WRAPPED_PDK_LEN + res->ciphertext_len);
	if (ct == NULL || keyring_ikw_seal(m, res->plaintext, ct, sk) != 0) {
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "keyring \"%s\": wrapping the data key failed",
			     op->k->name);
		goto cleanup;
	}
	memcpy(ct + WRAPPED_PDK_LEN, res->ciphertext, res->ciphertext_len);
	if (edk_set(&e, KMS_PROVIDER_ID, strlen(KMS_PROVIDER_ID), res->key_id, strlen(res->key_id), ct,
		    WRAPPED_PDK_LEN + res->ciphertext_len) != 0 || materials_add_edk(m, &e, sk) != 0) {
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		goto cleanup;
	}
	rc = 0;
cleanup:
	edk_cleanup(&e);
	OPENSSL_cleanse(sk, sizeof(sk));
	free(ct);
	op_end(op, rc, rc == 0 ? NULL : &err);
}

static void kms_on_encrypt(struct keyring *k, struct materials *m, keyring_done_cb done, void *arg)
{
	struct aws_kms *r = k->impl;
	struct kms_op *op = calloc(1, sizeof(*op));
	struct ds_error err;

	if (op == NULL || keyring_ensure_data_key(m) != 0) {
		free(op);
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "keyring \"%s\": cannot make a data key", k->name);
		done(arg, -1, &err);
		return;
	}
	op->k = k;
	op->m = m;
	op->done = done;
	op->arg = arg;
	/* The intermediate key comes from KMS, bound to the item's encryption context. */
	kms_generate_data_key(r->client, r->key_arn, &m->ec, SUITE_KEY_LEN, generated_cb, op);
}

static void try_next(struct kms_op *op);

static void decrypted_cb(void *arg, const struct kms_result *res, const struct ds_error *kerr)
{
	struct kms_op *op = arg;
	const struct edk *e = &op->edks[op->next - 1];
	unsigned char pdk[SUITE_KEY_LEN];
	unsigned char sk[SUITE_KEY_LEN];

	if (kerr == NULL && op->cache_id[0] != '\0' && res->plaintext_len == SUITE_KEY_LEN) {
		struct aws_kms *r = op->k->impl;
		cache_put(r->cache, op->cache_id, strlen(op->cache_id), res->plaintext, SUITE_KEY_LEN, r->ttl_s);
	}
	if (kerr != NULL) {
		op->last = *kerr;
		/* Access and availability problems will not change with another EDK. */
		if (kerr->status >= 500 || strcmp(kerr->type, DS_ERR_ACCESS_DENIED) == 0 ||
		    strcmp(kerr->type, DS_ERR_THROTTLING) == 0) {
			op_end(op, -1, &op->last);
			return;
		}
		try_next(op);
		return;
	}
	/* aws-kms-keyring.md OnDecrypt: the key that decrypted must be the configured one. */
	if (res->key_id != NULL && strcmp(res->key_id, ((struct aws_kms *)op->k->impl)->key_arn) != 0) {
		ds_error_set(&op->last, 400, DS_ERR_VALIDATION, "keyring \"%s\": KMS decrypted the item's "
			     "key with %s, not the configured %s", op->k->name, res->key_id,
			     ((struct aws_kms *)op->k->impl)->key_arn);
		try_next(op);
		return;
	}
	if (res->plaintext_len != SUITE_KEY_LEN ||
	    keyring_ikw_open(op->m, res->plaintext, e->ciphertext, pdk, sk) != 0) {
		ds_error_set(&op->last, 400, DS_ERR_VALIDATION, "keyring \"%s\": the item's data key does "
			     "not open with the key KMS returned: the item was changed outside dynaseal",
			     op->k->name);
		OPENSSL_cleanse(pdk, sizeof(pdk));
		try_next(op);
		return;
	}
	materials_set_data_key(op->m, pdk);
	OPENSSL_cleanse(pdk, sizeof(pdk));
	if (materials_add_signing_key(op->m, sk) != 0) {
		OPENSSL_cleanse(sk, sizeof(sk));
		ds_error_set(&op->last, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		op_end(op, -1, &op->last);
		return;
	}
	OPENSSL_cleanse(sk, sizeof(sk));
	op_end(op, 0, NULL);
}

/* The cache entry of an EDK: "kms/" + hex SHA-256 of its KMS ciphertext and the context it is
 * bound to (a cached key is only used for the same ciphertext under the same context). */
static int cache_id_of(const struct edk *e, const struct materials *m, char *out, size_t cap)
{
	unsigned char h[SHA256_DIGEST_LENGTH];
	struct bufwrite w;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char hex[2 * SHA256_DIGEST_LENGTH + 1];
	int ok;

	bufwrite_init(&w);
	ec_serialize(&m->ec, 0, 1, &w);
	ok = !w.failed && ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, e->ciphertext + WRAPPED_PDK_LEN, e->ciphertext_len - WRAPPED_PDK_LEN) == 1 &&
	     EVP_DigestUpdate(ctx, w.buf ? w.buf : (const unsigned char *)"", w.len) == 1 &&
	     EVP_DigestFinal_ex(ctx, h, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	bufwrite_cleanup(&w);
	if (!ok)
		return -1;
	codec_hex_encode(h, sizeof(h), hex);
	snprintf(out, cap, "kms/%s", hex);
	return 0;
}

/* A cache lookup for the EDK being opened: a hit opens it as KMS would have; a miss asks KMS. */
static void cached_cb(void *arg, const uint8_t *value, size_t len)
{
	struct kms_op *op = arg;
	struct aws_kms *r = op->k->impl;
	const struct edk *e = &op->edks[op->next - 1];

	if (value != NULL && len == SUITE_KEY_LEN) {
		struct kms_result res = { 0 };
		res.plaintext = value;
		res.plaintext_len = len;
		res.key_id = r->key_arn;
		op->cache_id[0] = '\0';   /* nothing to put back */
		decrypted_cb(op, &res, NULL);
		return;
	}
	kms_decrypt(r->client, r->key_arn, e->ciphertext + WRAPPED_PDK_LEN,
		    e->ciphertext_len - WRAPPED_PDK_LEN, &op->m->ec, decrypted_cb, op);
}

/* Tries the EDKs in order: the first one for our key that KMS opens wins. */
static void try_next(struct kms_op *op)
{
	struct aws_kms *r = op->k->impl;

	while (op->next < op->nedks) {
		const struct edk *e = &op->edks[op->next++];
		if (e->provider_id_len != strlen(KMS_PROVIDER_ID) ||
		    memcmp(e->provider_id, KMS_PROVIDER_ID, e->provider_id_len) != 0)
			continue;
		if (e->provider_info_len != strlen(r->key_arn) ||
		    memcmp(e->provider_info, r->key_arn, e->provider_info_len) != 0 ||
		    e->ciphertext_len <= WRAPPED_PDK_LEN)
			continue;
		op->matched = 1;
		if (r->cache != NULL && cache_id_of(e, op->m, op->cache_id, sizeof(op->cache_id)) == 0) {
			struct cache_op *cop;
			if (cache_get(r->cache, op->cache_id, strlen(op->cache_id), cached_cb, op, &cop) >= 0)
				return;
		}
		op->cache_id[0] = '\0';
		kms_decrypt(r->client, r->key_arn, e->ciphertext + WRAPPED_PDK_LEN,
			    e->ciphertext_len - WRAPPED_PDK_LEN, &op->m->ec, decrypted_cb, op);
		return;
	}
	if (!op->matched) {
		ds_error_set(&op->last, 400, DS_ERR_VALIDATION, "keyring \"%s\": the item's data key was "
			     "not encrypted under KMS key %s (no matching aws-kms encrypted data key); it was "
			     "written with another keyring", op->k->name, r->key_arn);
	}
	op_end(op, -1, &op->last);
}

static void kms_on_decrypt(struct keyring *k, struct materials *m, const struct edk *edks,
			   size_t nedks, keyring_done_cb done, void *arg)
{
	struct kms_op *op = calloc(1, sizeof(*op));
	struct ds_error err;

	if (op == NULL) {
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		done(arg, -1, &err);
		return;
	}
	op->k = k;
	op->m = m;
	op->edks = edks;
	op->nedks = nedks;
	op->done = done;
	op->arg = arg;
	try_next(op);
}

static void kms_free_impl(void *impl)
{
	struct aws_kms *r = impl;

	if (r == NULL)
		return;
	free(r->key_arn);
	free(r);
}

static const struct keyring_ops aws_kms_ops = {
	.type = "aws-kms",
	.on_encrypt = kms_on_encrypt,
	.on_decrypt = kms_on_decrypt,
	.free_impl = kms_free_impl,
};

void keyring_aws_kms_set_cache(struct keyring *k, struct cache *cache, int ttl_s)
{
	struct aws_kms *r = k->impl;

	r->cache = cache;
	r->ttl_s = ttl_s;
}

struct keyring *keyring_aws_kms_new(const struct config_keyring *c, struct kms_client *client)
{
	struct aws_kms *r = calloc(1, sizeof(*r));

	if (r == NULL || c->key_id == NULL || (r->key_arn = strdup(c->key_id)) == NULL) {
		kms_free_impl(r);
		return NULL;
	}
	r->client = client;
	return keyring_new(&aws_kms_ops, c->name, r);
}
