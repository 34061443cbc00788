/*
 * aws-kms-hierarchical keyring (MPL aws-kms/aws-kms-hierarchical-keyring.md: "OnEncrypt",
 * "OnDecrypt", "Branch Key Id Supplier", caching).  OnEncrypt wraps under the ACTIVE branch key
 * of the item's branch key id; OnDecrypt takes the version from the item's EDK for that id and
 * opens it with that version.  Branch keys are kept in the worker's key cache (cache.h: in
 * process, then sealed in Redis) for the keyring's ttl_s, and concurrent misses for one key make
 * one key store read (cache_get_or_fetch).
 */
#include "crypto/keyring/keyring_hierarchy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cache/cache.h"
#include "crypto/item/attr_serial.h"
#include "proxy/base/codec.h"
#include "crypto/item/item_internal.h"
#include "proxy/base/audit.h"
#include "proxy/base/log.h"

/* One OnEncrypt/OnDecrypt waiting for a branch key, or one beacon key request. */
struct hier_op {
	struct keyring *k;
	struct materials *m;                    /* NULL for a beacon key */
	const struct edk *edk;                  /* decrypt: the EDK to open; NULL for encrypt */
	int active;                             /* the ACTIVE key, or the version below */
	int beacon;                             /* the beacon key (active and version unused) */
	const struct audit_ctx *audit;          /* who the key is used for, or NULL */
	keyring_beacon_cb beacon_done;          /* beacon: the requester's callback */
	char branch_key_id[256];
	char version[BRANCH_UUID_STRLEN + 1];   /* when !active */
	struct cache_fetch *fetch;              /* the cache's fetch this op leads, while reading */
	keyring_done_cb done;
	void *arg;
};

/* The keyring's state (one per worker). */
struct hierarchy {
	struct branch_store *store;
	struct ddb_client *ddb;      /* owned */
	char *fixed_id;              /* branch_key_id, or NULL */
	char *attr;                  /* branch_key_id_attribute, or NULL */
	char **map_from;             /* branch_key_ids (not owned: the config outlives workers) */
	char **map_to;
	size_t map_len;
	int ttl_s;
	struct cache *cache;         /* the worker's key cache (not owned), or NULL */
};

int keyring_hierarchy_attr_value(const struct enc_ctx *ec, const char *attr, char *out, size_t cap,
				 struct ds_error *err)
{
	char key[300];
	const struct ec_entry *v, *legend;
	size_t idx = 0;
	char letter = 'S';

	snprintf(key, sizeof(key), "%s%s", EC_ATTR_PREFIX, attr);
	v = ec_get(ec, key, strlen(key));
	if (v == NULL) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "the item's encryption context has no attribute "
			     "\"%s\" to choose its branch key by (branch_key_id_attribute): it must be the "
			     "partition key, the sort key or SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT", attr);
		return -1;
	}
	legend = ec_get(ec, EC_LEGEND, sizeof(EC_LEGEND) - 1);
	if (legend != NULL) {
		/* Version 2: one legend letter per context attribute, in key order. */
		for (size_t i = 0; i < ec->len && &ec->entries[i] != v; i++)
			if (strncmp(ec->entries[i].key, EC_ATTR_PREFIX, sizeof(EC_ATTR_PREFIX) - 1) == 0)
				idx++;
		letter = idx < legend->value_len ? legend->value[idx] : '?';
		if (letter != 'S' || v->value_len >= cap || memchr(v->value, 0, v->value_len) != NULL)
			goto not_string;
		memcpy(out, v->value, v->value_len);
		out[v->value_len] = '\0';
		return 0;
	}
	{
		/* Version 1: base64 of the 2-byte type id and the value. */
		unsigned char *raw = malloc(CODEC_B64_DEC_MAX(v->value_len) + 1);
		long n = raw ? codec_b64_decode(v->value, v->value_len, raw) : -1;
		int ok = n >= 2 && raw[0] == (ATTR_TYPE_S >> 8) && raw[1] == (ATTR_TYPE_S & 0xff) &&
			 (size_t)(n - 2) < cap && memchr(raw + 2, '\0', (size_t)(n - 2)) == NULL;
		if (ok) {
			memcpy(out, raw + 2, (size_t)(n - 2));
			out[n - 2] = '\0';
		}
		free(raw);
		if (ok)
			return 0;
	}
not_string:
	ds_error_set(err, 400, DS_ERR_VALIDATION, "attribute \"%s\" (branch_key_id_attribute) must be a "
		     "string of at most %zu bytes without U+0000 to choose the item's branch key", attr,
		     cap - 1);
	return -1;
}

/* The branch key id of a branch_key_id_attribute value, through branch_key_ids. */
static int map_lookup(struct keyring *k, const char *value, char *out, size_t cap,
		      struct ds_error *err)
{
	struct hierarchy *h = k->impl;

	for (size_t i = 0; i < h->map_len; i++) {
		if (strcmp(h->map_from[i], value) == 0) {
			snprintf(out, cap, "%s", h->map_to[i]);
			return 0;
		}
	}
	/* The value is not printed: it may be a customer's identifier. */
	ds_error_set(err, 400, DS_ERR_VALIDATION, "keyring \"%s\": the item's \"%s\" has no entry in "
		     "branch_key_ids, so no branch key is configured for it", k->name, h->attr);
	return -1;
}

/* The branch key id for an item (the Branch Key Id Supplier): fixed, or its attribute through
 * the map. */
static int pick_branch_key_id(struct keyring *k, const struct enc_ctx *ec, char *out, size_t cap,
			      struct ds_error *err)
{
	struct hierarchy *h = k->impl;
	char value[256];

	if (h->fixed_id != NULL) {
		snprintf(out, cap, "%s", h->fixed_id);
		return 0;
	}
	if (keyring_hierarchy_attr_value(ec, h->attr, value, sizeof(value), err) != 0)
		return -1;
	return map_lookup(k, value, out, cap, err);
}

/* Uses key for the operation and completes it. */
static void op_apply(struct hier_op *op, const struct branch_key *key)
{
	struct ds_error err;
	keyring_done_cb done = op->done;
	void *arg = op->arg;
	int rc;

	ds_error_clear(&err);
	if (op->beacon) {
		keyring_beacon_cb cb = op->beacon_done;
		free(op);
		cb(arg, key->key, sizeof(key->key), key->branch_key_id, NULL);
		return;
	}
	if (op->edk == NULL)
		rc = keyring_branch_wrap(key->key, key->branch_key_id, key->version_bin, op->m, &err);
	else
		rc = keyring_branch_unwrap(key->key, key->branch_key_id, op->edk, op->m, &err);
	free(op);
	done(arg, rc, rc != 0 ? &err : NULL);
}

static void op_fail(struct hier_op *op, const struct ds_error *err)
{
	keyring_done_cb done = op->done;
	void *arg = op->arg;
	struct ds_error copy = *err;
	int beacon = op->beacon;
	keyring_beacon_cb cb = op->beacon_done;

	free(op);
	if (beacon)
		cb(arg, NULL, 0, NULL, &copy);
	else
		done(arg, -1, &copy);
}

/* The cache entry of a branch key: "<key store table>/<branch key id>/ACTIVE" or
 * ".../<version uuid>"; of a beacon key ".../beacon" (a version is a UUID, never "beacon"). */
static void cache_id_of(const struct hierarchy *h, const struct hier_op *op, const char *id,
			int active, const char *version, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s/%s", branch_store_table(h->store), id,
		 op->beacon ? "beacon" : active ? "ACTIVE" : version);
}

/* The key store answered a read made without a cache: the key serves this op only. */
static void store_direct_cb(void *arg, const struct branch_key *key, const struct ds_error *err)
{
	struct hier_op *op = arg;

	if (key != NULL)
		op_apply(op, key);
	else
		op_fail(op, err);
}

/*
 * The key store answered the read this op leads for the cache: the key goes to every op
 * waiting on it (and, when it is the ACTIVE key, is also kept under its version, which items
 * written with it name).  op stays until its own answer comes from the cache, so after
 * cache_fetch_done it may be gone.  A failure is handed to the waiters as the ds_error itself.
 */
static void store_cb(void *arg, const struct branch_key *key, const struct ds_error *err)
{
	struct hier_op *op = arg;
	struct hierarchy *h = op->k->impl;
	struct cache_fetch *fetch = op->fetch;
	char id[600];

	op->fetch = NULL;
	if (key == NULL) {
		cache_fetch_done(fetch, (const uint8_t *)err, sizeof(*err), 1);
		return;
	}
	if (op->beacon)
		log_info("keyring \"%s\": beacon key of branch key \"%s\" read from key store \"%s\" "
			 "(KMS Decrypt), cached %d s", op->k->name, key->branch_key_id,
			 branch_store_table(h->store), h->ttl_s);
	else
		log_info("keyring \"%s\": branch key \"%s\" version %s read from key store \"%s\" "
			 "(KMS Decrypt %s), cached %d s", op->k->name, key->branch_key_id, key->version,
			 branch_store_table(h->store), op->active ? "ACTIVE" : "version", h->ttl_s);
	if (op->active && !op->beacon) {
		cache_id_of(h, op, key->branch_key_id, 0, key->version, id, sizeof(id));
		cache_put(h->cache, id, strlen(id), (const uint8_t *)key, sizeof(*key), h->ttl_s);
	}
	cache_fetch_done(fetch, (const uint8_t *)key, sizeof(*key), 0);
}

/* One key store read (a DynamoDB GetItem and a KMS Decrypt) for op's key. */
static void store_read(struct hier_op *op, branch_store_key_cb cb)
{
	struct hierarchy *h = op->k->impl;

	if (op->beacon)
		branch_store_get_beacon(h->store, op->branch_key_id, op->audit, cb, op);
	else if (op->active)
		branch_store_get_active(h->store, op->branch_key_id, op->audit, cb, op);
	else
		branch_store_get_version(h->store, op->branch_key_id, op->version, op->audit, cb, op);
}

/* The cache's fetch for the leader of a branch key's flight. */
static void key_fetch(void *fetch_arg, const uint8_t *id, size_t id_len, struct cache_fetch *fetch)
{
	struct hier_op *op = fetch_arg;

	(void)id;
	(void)id_len;
	op->fetch = fetch;
	store_read(op, store_cb);
}

/* The cache's answer: from a layer, or from the flight's one key store read. */
static void cached_cb(void *arg, const uint8_t *value, size_t len, int err)
{
	struct hier_op *op = arg;
	struct branch_key key;
	struct ds_error why;

	if (err == 0 && len == sizeof(key)) {
		memcpy(&key, value, sizeof(key));
		if (strcmp(key.branch_key_id, op->branch_key_id) == 0 &&
		    (op->beacon ? key.version[0] == '\0'
				: op->active || strcmp(key.version, op->version) == 0)) {
			op_apply(op, &key);
			branch_key_wipe(&key);
			return;
		}
		branch_key_wipe(&key);
		ds_error_set(&why, 500, DS_ERR_INTERNAL, "keyring \"%s\": the key cache answered with "
			     "another branch key", op->k->name);
	} else if (err != 0 && value != NULL && len == sizeof(why)) {
		memcpy(&why, value, sizeof(why));
	} else {
		ds_error_set(&why, 500, DS_ERR_INTERNAL, "keyring \"%s\": the key cache failed to "
			     "answer (out of memory?)", op->k->name);
	}
	op_fail(op, &why);
}

/* Gets the key for op: from the cache (a layer, or a flight joined or led), or from the store. */
static void op_get_key(struct hier_op *op, const char *id, int active, const char *version)
{
	struct hierarchy *h = op->k->impl;
	char cid[600];
	struct cache_op *cop;

	op->active = active;
	snprintf(op->branch_key_id, sizeof(op->branch_key_id), "%s", id);
	if (!active)
		snprintf(op->version, sizeof(op->version), "%s", version);
	if (h->cache == NULL) {
		store_read(op, store_direct_cb);
		return;
	}
	cache_id_of(h, op, id, active, version, cid, sizeof(cid));
	(void)cache_get_or_fetch(h->cache, cid, strlen(cid), h->ttl_s, key_fetch, op, cached_cb, op,
				 &cop);
}

static struct hier_op *op_new(struct keyring *k, struct materials *m, keyring_done_cb done, void *arg)
{
	struct hier_op *op = calloc(1, sizeof(*op));

	if (op != NULL) {
		op->k = k;
		op->m = m;
		op->audit = m != NULL ? m->audit : NULL;
		op->done = done;
		op->arg = arg;
	}
	return op;
}

static void hier_on_encrypt(struct keyring *k, struct materials *m, keyring_done_cb done, void *arg)
{
	struct ds_error err;
	struct hier_op *op;
	char id[256];

	ds_error_clear(&err);
	if (pick_branch_key_id(k, &m->ec, id, sizeof(id), &err) != 0) {
		done(arg, -1, &err);
		return;
	}
	op = op_new(k, m, done, arg);
	if (op == NULL) {
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		done(arg, -1, &err);
		return;
	}
	/* Every use of a branch key is in the audit trail, with the request it serves. */
	audit_event("branch-key", "encrypt", id, m->audit, "use ACTIVE");
	op_get_key(op, id, 1, NULL);
}

static void hier_on_decrypt(struct keyring *k, struct materials *m, const struct edk *edks,
			    size_t nedks, keyring_done_cb done, void *arg)
{
	unsigned char vbin[BRANCH_VERSION_LEN];
	char version[BRANCH_UUID_STRLEN + 1];
	struct ds_error err;
	struct hier_op *op;
	char id[256];

	ds_error_clear(&err);
	/* OnDecrypt: the supplier names the branch key; only EDKs for it are tried. */
	if (pick_branch_key_id(k, &m->ec, id, sizeof(id), &err) != 0) {
		done(arg, -1, &err);
		return;
	}
	for (size_t i = 0; i < nedks; i++) {
		if (!keyring_branch_edk_matches(&edks[i], id, vbin))
			continue;
		op = op_new(k, m, done, arg);
		if (op == NULL) {
			ds_error_set(&err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
			done(arg, -1, &err);
			return;
		}
		op->edk = &edks[i];
		branch_store_uuid_format(vbin, version);
		{
			char outcome[64];
			snprintf(outcome, sizeof(outcome), "use %s", version);
			audit_event("branch-key", "decrypt", id, m->audit, outcome);
		}
		op_get_key(op, id, 0, version);
		return;
	}
	ds_error_set(&err, 400, DS_ERR_VALIDATION, "keyring \"%s\": the item's data key is not wrapped "
		     "under branch key \"%s\" (no matching aws-kms-hierarchy encrypted data key); it was "
		     "written with another key or keyring", k->name, id);
	done(arg, -1, &err);
}

static const char *hier_tenant_attr(const struct keyring *k)
{
	const struct hierarchy *h = k->impl;

	return h->fixed_id != NULL ? NULL : h->attr;
}

static void hier_beacon_key(struct keyring *k, const char *tenant, const struct audit_ctx *audit,
			    keyring_beacon_cb cb, void *arg)
{
	struct hierarchy *h = k->impl;
	struct ds_error err;
	struct hier_op *op;
	char id[256];

	ds_error_clear(&err);
	if (h->fixed_id != NULL) {
		snprintf(id, sizeof(id), "%s", h->fixed_id);
	} else if (tenant == NULL || map_lookup(k, tenant, id, sizeof(id), &err) != 0) {
		if (tenant == NULL)
			ds_error_set(&err, 400, DS_ERR_VALIDATION, "keyring \"%s\": the beacon key is "
				     "chosen by attribute \"%s\", which the request does not give",
				     k->name, h->attr);
		cb(arg, NULL, 0, NULL, &err);
		return;
	}
	op = op_new(k, NULL, NULL, arg);
	if (op == NULL) {
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		cb(arg, NULL, 0, NULL, &err);
		return;
	}
	op->beacon = 1;
	op->beacon_done = cb;
	op->audit = audit;
	audit_event("beacon-key", "use", id, audit, "use ACTIVE");
	op_get_key(op, id, 1, NULL);
}

static void hier_free_impl(void *impl)
{
	struct hierarchy *h = impl;

	if (h == NULL)
		return;
	branch_store_free(h->store);
	ddb_client_free(h->ddb);
	free(h->fixed_id);
	free(h->attr);
	free(h);
}

static const struct keyring_ops hierarchy_ops = {
	.type = "aws-kms-hierarchical",
	.on_encrypt = hier_on_encrypt,
	.on_decrypt = hier_on_decrypt,
	.free_impl = hier_free_impl,
	.beacon_key = hier_beacon_key,
	.tenant_attr = hier_tenant_attr,
};

struct keyring *keyring_hierarchy_new(const struct config_keyring *c, struct ddb_client *ddb,
				      struct kms_client *kms)
{
	struct hierarchy *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		ddb_client_free(ddb);
		return NULL;
	}
	h->ddb = ddb;
	h->ttl_s = c->ttl_s > 0 ? c->ttl_s : 600;
	h->map_from = c->branch_key_map_from;
	h->map_to = c->branch_key_map_to;
	h->map_len = c->branch_key_map_len;
	/* The pinned key: kms_key_id itself, or the key its alias names (kms_alias.h). */
	if (c->kms_arn == NULL)
		goto fail;
	h->store = branch_store_new(ddb, kms, c->key_store_table, c->kms_arn);
	if (h->store != NULL)
		branch_store_accept(h->store, (const char *const *)c->accept_arns, c->accept_arns_len);
	if (h->store == NULL || (c->branch_key_id == NULL && c->branch_key_id_attribute == NULL) ||
	    (c->branch_key_id != NULL && (h->fixed_id = strdup(c->branch_key_id)) == NULL) ||
	    (c->branch_key_id_attribute != NULL && (h->attr = strdup(c->branch_key_id_attribute)) == NULL))
		goto fail;
	return keyring_new(&hierarchy_ops, c->name, h);
fail:
	hier_free_impl(h);
	return NULL;
}

void keyring_hierarchy_set_cache(struct keyring *k, struct cache *cache)
{
	struct hierarchy *h = k->impl;

	h->cache = cache;
}
