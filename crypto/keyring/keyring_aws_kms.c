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
	char *key_arn;                 /* the key writes use: key_id, or the key its alias names */
	char **accept;                 /* the key ARNs reads accept (config accept_arns) */
	size_t accept_len;
	struct kms_client *client;     /* the worker's KMS client */
	struct cache *cache;           /* the worker's key cache, or NULL */
};

/* One OnEncrypt or OnDecrypt waiting for KMS. */
struct kms_op {
	struct keyring *k;
	struct materials *m;
	const struct edk *edks;        /* decrypt: the header's EDKs */
	size_t nedks;
	size_t next;                   /* decrypt: the next EDK to try */
	int matched;                   /* decrypt: an EDK for our key was found */
	struct cache_fetch *fetch;     /* decrypt: the flight this op leads, while KMS is asked */
	struct ds_error last;          /* decrypt: why the last attempt failed */
	const char *key_arn;           /* decrypt: the accepted key the EDK being tried names */
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

static const char *r_key_arn(const struct kms_op *op)
{
	return ((const struct aws_kms *)op->k->impl)->key_arn;
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
	/* aws-kms-keyring.md OnEncrypt: the provider info is the KeyId KMS answers, which must be
	 * a key ARN (an alias there would let whatever it names later claim the item). */
	if (config_kms_ref(res->key_id) != KMS_REF_KEY_ARN) {
		ds_error_set(&err, 502, DS_ERR_INTERNAL, "KMS GenerateDataKey on %s answered KeyId "
			     "\"%.200s\", not a key ARN", r_key_arn(op), res->key_id ? res->key_id : "");
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
	kms_generate_data_key(r->client, r->key_arn, &m->ec, SUITE_KEY_LEN, m->audit, generated_cb, op);
}

static void try_next(struct kms_op *op);

/* Why KMS's answer to a Decrypt with key_arn cannot be used: 0 when it holds that key's data
 * key, else -1 with err set. */
static int check_decrypted(const struct keyring *k, const char *key_arn, const struct kms_result *res,
			   const struct ds_error *kerr, struct ds_error *err)
{
	if (kerr != NULL) {
		*err = *kerr;
		return -1;
	}
	/* aws-kms-keyring.md OnDecrypt: the key that decrypted must be the one asked for. */
	if (res->key_id != NULL && strcmp(res->key_id, key_arn) != 0) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "keyring \"%s\": KMS decrypted the item's "
			     "key with %s, not the configured %s", k->name, res->key_id, key_arn);
		return -1;
	}
	if (res->plaintext_len != SUITE_KEY_LEN) {
		ds_error_set(err, 502, DS_ERR_INTERNAL, "KMS Decrypt returned %zu bytes, not %d",
			     res->plaintext_len, SUITE_KEY_LEN);
		return -1;
	}
	return 0;
}

/* The EDK being tried did not open: access and availability problems will not change with
 * another EDK, anything else may. */
static void edk_failed(struct kms_op *op, const struct ds_error *err)
{
	op->last = *err;
	if (err->status >= 500 || strcmp(err->type, DS_ERR_ACCESS_DENIED) == 0 ||
	    strcmp(err->type, DS_ERR_THROTTLING) == 0) {
		op_end(op, -1, &op->last);
		return;
	}
	try_next(op);
}

/* KMS (or the cache) gave the key that wraps the EDK being tried: open it. */
static void edk_opened(struct kms_op *op, const unsigned char key[SUITE_KEY_LEN])
{
	const struct edk *e = &op->edks[op->next - 1];
	unsigned char pdk[SUITE_KEY_LEN];
	unsigned char sk[SUITE_KEY_LEN];

	if (keyring_ikw_open(op->m, key, e->ciphertext, pdk, sk) != 0) {
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

/* Without a cache: KMS answered this op's own Decrypt. */
static void decrypted_cb(void *arg, const struct kms_result *res, const struct ds_error *kerr)
{
	struct kms_op *op = arg;
	struct ds_error err;

	if (check_decrypted(op->k, op->key_arn, res, kerr, &err) != 0)
		edk_failed(op, &err);
	else
		edk_opened(op, res->plaintext);
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

/*
 * The cache's fetch (cache.h) for the leader of a key's flight: one KMS Decrypt, whose answer
 * goes to every op waiting on the same EDK.  fetch_arg is the leader op, which stays until its
 * own answer comes from the cache, so after cache_fetch_done it may be gone.  A failure is
 * handed to the waiters as the ds_error itself.
 */
static void fetched_cb(void *arg, const struct kms_result *res, const struct ds_error *kerr)
{
	struct kms_op *op = arg;
	struct cache_fetch *fetch = op->fetch;
	struct ds_error err;

	op->fetch = NULL;
	if (check_decrypted(op->k, op->key_arn, res, kerr, &err) != 0)
		cache_fetch_done(fetch, (const uint8_t *)&err, sizeof(err), 1);
	else
		cache_fetch_done(fetch, res->plaintext, SUITE_KEY_LEN, 0);
}

static void kms_fetch(void *fetch_arg, const uint8_t *id, size_t id_len, struct cache_fetch *fetch)
{
	struct kms_op *op = fetch_arg;
	struct aws_kms *r = op->k->impl;
	const struct edk *e = &op->edks[op->next - 1];

	(void)id;
	(void)id_len;
	op->fetch = fetch;
	kms_decrypt(r->client, op->key_arn, e->ciphertext + WRAPPED_PDK_LEN,
		    e->ciphertext_len - WRAPPED_PDK_LEN, &op->m->ec, op->m->audit, fetched_cb, op);
}

/* The cache's answer for the EDK being tried: from a layer, or from the flight's one Decrypt. */
static void cached_cb(void *arg, const uint8_t *value, size_t len, int err)
{
	struct kms_op *op = arg;
	struct ds_error why;

	if (err == 0 && len == SUITE_KEY_LEN) {
		edk_opened(op, value);
		return;
	}
	if (err != 0 && value != NULL && len == sizeof(why))
		memcpy(&why, value, sizeof(why));
	else
		ds_error_set(&why, 500, DS_ERR_INTERNAL, "keyring \"%s\": the key cache failed to "
			     "answer (out of memory?)", op->k->name);
	edk_failed(op, &why);
}

/* The accepted key ARN an EDK's provider info names, or NULL. */
static const char *accepted_key(const struct aws_kms *r, const struct edk *e)
{
	for (size_t i = 0; i < r->accept_len; i++) {
		if (e->provider_info_len == strlen(r->accept[i]) &&
		    memcmp(e->provider_info, r->accept[i], e->provider_info_len) == 0)
			return r->accept[i];
	}
	return NULL;
}

/* Tries the EDKs in order: the first one for an accepted key that KMS opens wins. */
static void try_next(struct kms_op *op)
{
	struct aws_kms *r = op->k->impl;

	while (op->next < op->nedks) {
		const struct edk *e = &op->edks[op->next++];
		char id[80];
		if (e->provider_id_len != strlen(KMS_PROVIDER_ID) ||
		    memcmp(e->provider_id, KMS_PROVIDER_ID, e->provider_id_len) != 0)
			continue;
		if ((op->key_arn = accepted_key(r, e)) == NULL || e->ciphertext_len <= WRAPPED_PDK_LEN)
			continue;
		op->matched = 1;
		if (r->cache != NULL && cache_id_of(e, op->m, id, sizeof(id)) == 0) {
			struct cache_op *cop;
			/* Concurrent reads of items sharing this EDK make one Decrypt. */
			(void)cache_get_or_fetch(r->cache, id, strlen(id), 0, kms_fetch, op, cached_cb,
						 op, &cop);
			return;
		}
		kms_decrypt(r->client, op->key_arn, e->ciphertext + WRAPPED_PDK_LEN,
			    e->ciphertext_len - WRAPPED_PDK_LEN, &op->m->ec, op->m->audit, decrypted_cb, op);
		return;
	}
	if (!op->matched) {
		ds_error_set(&op->last, 400, DS_ERR_VALIDATION, "keyring \"%s\": the item's data key was "
			     "not encrypted under KMS key %s%s (no matching aws-kms encrypted data key); it "
			     "was written with another keyring", op->k->name, r->key_arn,
			     r->accept_len > 1 ? " or a key it accepts from before" : "");
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
	for (size_t i = 0; i < r->accept_len; i++)
		free(r->accept[i]);
	free(r->accept);
	free(r);
}

static const struct keyring_ops aws_kms_ops = {
	.type = "aws-kms",
	.on_encrypt = kms_on_encrypt,
	.on_decrypt = kms_on_decrypt,
	.free_impl = kms_free_impl,
};

void keyring_aws_kms_set_cache(struct keyring *k, struct cache *cache)
{
	struct aws_kms *r = k->impl;

	r->cache = cache;
}

struct keyring *keyring_aws_kms_new(const struct config_keyring *c, struct kms_client *client)
{
	struct aws_kms *r = calloc(1, sizeof(*r));

	if (r == NULL || c->kms_arn == NULL || (r->key_arn = strdup(c->kms_arn)) == NULL ||
	    (r->accept = calloc(c->accept_arns_len + 1, sizeof(char *))) == NULL) {
		kms_free_impl(r);
		return NULL;
	}
	for (; r->accept_len < c->accept_arns_len; r->accept_len++) {
		if ((r->accept[r->accept_len] = strdup(c->accept_arns[r->accept_len])) == NULL) {
			kms_free_impl(r);
			return NULL;
		}
	}
	r->client = client;
	return keyring_new(&aws_kms_ops, c->name, r);
}
