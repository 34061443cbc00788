/*
 * aws-kms-hierarchical keyring (MPL aws-kms/aws-kms-hierarchical-keyring.md: "OnEncrypt",
 * "OnDecrypt", "Branch Key Id Supplier", caching).  OnEncrypt wraps under the ACTIVE branch key
 * of the item's branch key id; OnDecrypt takes the version from the item's EDK for that id and
 * opens it with that version.  Branch keys are cached per worker (one thread: no locks) for
 * ttl_s and wiped when they expire; concurrent misses for one key join one "flight".
 */
#include "crypto/keyring/keyring_hierarchy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "crypto/item/attr_serial.h"
#include "proxy/base/codec.h"
#include "crypto/item/item_internal.h"
#include "proxy/base/audit.h"
#include "proxy/base/log.h"

/* Branch keys kept per worker at most (tenants beyond this evict the oldest). */
#define HIER_MAX_ENTRIES 4096

/* A cached branch key. */
struct hier_entry {
	struct hier_entry *next;
	int active;                  /* cached as the ACTIVE key of its id (also serves its version) */
	struct branch_key key;       /* id, version and the key (wiped on removal) */
	time_t expires;              /* CLOCK_MONOTONIC seconds */
};

struct hier_op;

/* One key store read with everyone waiting for it. */
struct hier_flight {
	struct hier_flight *next;
	struct keyring *k;
	int active;                                 /* ACTIVE, or a version */
	char branch_key_id[256];
	char version[BRANCH_UUID_STRLEN + 1];       /* when !active */
	char cache_id[600];                         /* for the shared cache */
	struct audit_ctx audit;                     /* the request that started the read */
	int has_audit;
	struct hier_op *waiters;
};

/* One OnEncrypt/OnDecrypt waiting for a branch key. */
struct hier_op {
	struct hier_op *next;
	struct keyring *k;
	struct materials *m;
	const struct edk *edk;       /* decrypt: the EDK to open; NULL for encrypt */
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
	struct hier_entry *cache;
	size_t cache_len;
	struct hier_flight *flights;
	struct event *sweep;         /* wipes expired keys even when nothing asks for them */
	const struct hierarchy_shared_cache *shared;
	void *shared_ctx;
	uint64_t store_reads;
};

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void entry_free(struct hier_entry *e)
{
	branch_key_wipe(&e->key);
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
}

/* Drops expired entries (wiping them); with all, every entry. */
static void cache_sweep(struct hierarchy *h, int all)
{
	struct hier_entry **pp = &h->cache;
	time_t now = now_s();

	while (*pp != NULL) {
		struct hier_entry *e = *pp;
		if (all || e->expires <= now) {
			*pp = e->next;
			h->cache_len--;
			entry_free(e);
		} else {
			pp = &e->next;
		}
	}
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cache_sweep(arg, 0);
}

/* The cached key: ACTIVE of id, or (id, version) from a version or an ACTIVE entry. */
static const struct branch_key *cache_find(struct hierarchy *h, const char *id, int active,
					   const char *version)
{
	time_t now = now_s();

	for (struct hier_entry *e = h->cache; e != NULL; e = e->next) {
		if (e->expires <= now || strcmp(e->key.branch_key_id, id) != 0)
			continue;
		if (active ? e->active : strcmp(e->key.version, version) == 0)
			return &e->key;
	}
	return NULL;
}

static void cache_put(struct hierarchy *h, const struct branch_key *key, int active)
{
	struct hier_entry *e;

	cache_sweep(h, 0);
	if (h->cache_len >= HIER_MAX_ENTRIES) {
		/* Full: drop the entry that expires first. */
		struct hier_entry **victim = &h->cache;
		for (struct hier_entry **pp = &h->cache; *pp != NULL; pp = &(*pp)->next)
			if ((*pp)->expires < (*victim)->expires)
				victim = pp;
		e = *victim;
		*victim = e->next;
		h->cache_len--;
		entry_free(e);
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return;   /* not cached: the next request reads the store again */
	e->active = active;
	e->key = *key;
	e->expires = now_s() + h->ttl_s;
	e->next = h->cache;
	h->cache = e;
	h->cache_len++;
}

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
		if (letter != 'S' || v->value_len >= cap)
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
		     "string of at most %zu bytes to choose the item's branch key", attr, cap - 1);
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

/* Uses key for one waiting operation and completes it. */
static void op_apply(struct hier_op *op, const struct branch_key *key)
{
	struct ds_error err;
	keyring_done_cb done = op->done;
	void *arg = op->arg;
	int rc;

	ds_error_clear(&err);
	if (op->edk == NULL)
		rc = keyring_branch_wrap(key->key, key->branch_key_id, key->version_bin, op->m, &err);
	else
		rc = keyring_branch_unwrap(key->key, key->branch_key_id, op->edk, op->m, &err);
	free(op);
	done(arg, rc, rc != 0 ? &err : NULL);
}

static void flight_finish(struct hier_flight *f, const struct branch_key *key, const struct ds_error *err)
{
	struct hierarchy *h = f->k->impl;
	struct hier_flight **pp;
	struct hier_op *w = f->waiters;

	/* Out of the list first: a waiter's completion may start new operations. */
	for (pp = &h->flights; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	if (key != NULL)
		cache_put(h, key, f->active);
	free(f);
	while (w != NULL) {
		struct hier_op *next = w->next;
		if (key != NULL) {
			op_apply(w, key);
		} else {
			keyring_done_cb done = w->done;
			void *arg = w->arg;
			free(w);
			done(arg, -1, err);
		}
		w = next;
	}
}

static void store_cb(void *arg, const struct branch_key *key, const struct ds_error *err)
{
	struct hier_flight *f = arg;
	struct hierarchy *h = f->k->impl;

	if (key != NULL) {
		log_info("keyring \"%s\": branch key \"%s\" version %s read from key store \"%s\" (KMS "
			 "Decrypt %s), cached %d s", f->k->name, key->branch_key_id, key->version,
			 branch_store_table(h->store), f->active ? "ACTIVE" : "version", h->ttl_s);
		if (h->shared != NULL)
			h->shared->put(h->shared_ctx, f->cache_id, key, h->ttl_s);
	}
	flight_finish(f, key, err);
}

static void flight_store_read(struct hier_flight *f)
{
	struct hierarchy *h = f->k->impl;

	h->store_reads++;
	if (f->active)
		branch_store_get_active(h->store, f->branch_key_id, f->has_audit ? &f->audit : NULL,
					store_cb, f);
	else
		branch_store_get_version(h->store, f->branch_key_id, f->version,
					 f->has_audit ? &f->audit : NULL, store_cb, f);
}

static void shared_cb(void *arg, const struct branch_key *key)
{
	struct hier_flight *f = arg;

	if (key != NULL && strcmp(key->branch_key_id, f->branch_key_id) == 0 &&
	    (f->active || strcmp(key->version, f->version) == 0)) {
		flight_finish(f, key, NULL);
		return;
	}
	flight_store_read(f);
}

/* Gets the key for op: from the cache, by joining a flight, or by starting one. */
static void op_get_key(struct hier_op *op, const char *id, int active, const char *version)
{
	struct hierarchy *h = op->k->impl;
	const struct branch_key *hit = cache_find(h, id, active, version);
	struct hier_flight *f;

	if (hit != NULL) {
		op_apply(op, hit);
		return;
	}
	for (f = h->flights; f != NULL; f = f->next) {
		if (f->active == active && strcmp(f->branch_key_id, id) == 0 &&
		    (active || strcmp(f->version, version) == 0)) {
			op->next = f->waiters;
			f->waiters = op;
			return;
		}
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		struct ds_error err;
		keyring_done_cb done = op->done;
		void *arg = op->arg;
		free(op);
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		done(arg, -1, &err);
		return;
	}
	f->k = op->k;
	f->active = active;
	if (op->m->audit != NULL) {
		f->audit = *op->m->audit;
		f->has_audit = 1;
	}
	snprintf(f->branch_key_id, sizeof(f->branch_key_id), "%s", id);
	if (!active)
		snprintf(f->version, sizeof(f->version), "%s", version);
	snprintf(f->cache_id, sizeof(f->cache_id), "%s/%s/%s", branch_store_table(h->store), id,
		 active ? "ACTIVE" : version);
	f->waiters = op;
	f->next = h->flights;
	h->flights = f;
	if (h->shared != NULL)
		h->shared->get(h->shared_ctx, f->cache_id, shared_cb, f);
	else
		flight_store_read(f);
}

static struct hier_op *op_new(struct keyring *k, struct materials *m, keyring_done_cb done, void *arg)
{
	struct hier_op *op = calloc(1, sizeof(*op));

	if (op != NULL) {
		op->k = k;
		op->m = m;
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

static void hier_free_impl(void *impl)
{
	struct hierarchy *h = impl;

	if (h == NULL)
		return;
	/* Flights still out belong to a loop that has stopped: drop their waiters. */
	while (h->flights != NULL) {
		struct hier_flight *f = h->flights;
		h->flights = f->next;
		while (f->waiters != NULL) {
			struct hier_op *w = f->waiters;
			f->waiters = w->next;
			free(w);
		}
		free(f);
	}
	cache_sweep(h, 1);
	if (h->sweep != NULL)
		event_free(h->sweep);
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
};

struct keyring *keyring_hierarchy_new(const struct config_keyring *c, struct event_base *base,
				      struct ddb_client *ddb, struct kms_client *kms)
{
	struct hierarchy *h = calloc(1, sizeof(*h));
	struct timeval tv;

	if (h == NULL) {
		ddb_client_free(ddb);
		return NULL;
	}
	h->ddb = ddb;
	h->ttl_s = c->ttl_s > 0 ? c->ttl_s : 600;
	h->map_from = c->branch_key_map_from;
	h->map_to = c->branch_key_map_to;
	h->map_len = c->branch_key_map_len;
	h->store = branch_store_new(ddb, kms, c->key_store_table, c->kms_key_id);
	if (h->store == NULL || (c->branch_key_id == NULL && c->branch_key_id_attribute == NULL) ||
	    (c->branch_key_id != NULL && (h->fixed_id = strdup(c->branch_key_id)) == NULL) ||
	    (c->branch_key_id_attribute != NULL && (h->attr = strdup(c->branch_key_id_attribute)) == NULL))
		goto fail;
	/* Expired keys are wiped within a TTL (at most a minute) even if nothing asks again. */
	tv.tv_sec = h->ttl_s < 60 ? h->ttl_s : 60;
	tv.tv_usec = 0;
	h->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, h);
	if (h->sweep == NULL || event_add(h->sweep, &tv) != 0)
		goto fail;
	return keyring_new(&hierarchy_ops, c->name, h);
fail:
	hier_free_impl(h);
	return NULL;
}

void keyring_hierarchy_set_shared_cache(struct keyring *k, const struct hierarchy_shared_cache *ops,
					void *ctx)
{
	struct hierarchy *h = k->impl;

	h->shared = ops;
	h->shared_ctx = ctx;
}

uint64_t keyring_hierarchy_store_reads(const struct keyring *k)
{
	const struct hierarchy *h = k->impl;

	return h->store_reads;
}
