#include "proxy/ddb/crypt_batch.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/item/item_crypt.h"
#include "crypto/legacy/legacy_item.h"
#include "proxy/ddb/crypt_beacon.h"
#include "proxy/base/log.h"
#include "proxy/base/metrics.h"

/* One item's work and the state its keyring call needs. */
struct crypt_job {
	struct crypt_batch *batch;          /* owner */
	const struct config_table *table;   /* the item's table */
	struct keyring *keyring;            /* the table's keyring on this worker */
	cJSON *item;                        /* changed in place */
	int encrypt;                        /* 1 write, 0 read */
	char where[64];                     /* read: the item's place in the answer, or "" */
	struct materials m;                 /* data key etc.; wiped when done */
	struct item_header h;               /* read: the parsed head */
	int has_h;                          /* h needs cleanup */
	int has_m;                          /* m needs cleanup */
	int has_audit;                      /* audit below is set */
	cJSON *beacons;                     /* write with beacons: the item's, until merged */
	const char *beacon;                 /* a beacon job: the beacon's name (config) */
	int beacon_prefix;                  /* a beacon job: compared by begins_with */
	char tenant[256];                   /* a beacon job: what chooses its key, or "" */
	/* Last, not zeroed by crypt_batch_add: set only when auditing is on. */
	struct audit_ctx audit;             /* the request's, with the item's table */
};

struct crypt_batch {
	cJSON *doc;                         /* the JSON tree holding the items */
	struct crypt_job *jobs;
	size_t len, cap;
	size_t pending;                     /* jobs (plus one while starting) not finished */
	int failed;                         /* the first error has been reported */
	int orphaned;                       /* nobody waits: free when pending reaches 0 */
	int running;                        /* crypt_batch_run was called */
	const struct audit_ctx *audit;      /* the request's, or NULL */
	struct metrics *metrics;            /* the worker's counters, or NULL */
	crypt_batch_keyring_fn search_keyring; /* the keyring of a table's search block */
	void *search_arg;
	crypt_batch_legacy_fn legacy_open;  /* opens a legacy item with its table's reader */
	void *legacy_arg;
	void (*release)(void *);            /* called when destroyed, with release_arg */
	void *release_arg;
	crypt_batch_done_cb cb;
	void *arg;
};

struct crypt_batch *crypt_batch_new(cJSON *doc)
{
	struct crypt_batch *b = calloc(1, sizeof(*b));

	if (b != NULL)
		b->doc = doc;
	return b;
}

int crypt_batch_add(struct crypt_batch *b, const struct config_table *t, struct keyring *k,
		    cJSON *item, int encrypt)
{
	struct crypt_job *j;

	if (b->len == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		struct crypt_job *n = realloc(b->jobs, cap * sizeof(*n));
		if (n == NULL)
			return -1;
		b->jobs = n;
		b->cap = cap;
	}
	j = &b->jobs[b->len++];
	memset(j, 0, offsetof(struct crypt_job, audit));
	j->batch = b;
	j->table = t;
	j->keyring = k;
	j->item = item;
	j->encrypt = encrypt;
	return 0;
}

int crypt_batch_add_read_at(struct crypt_batch *b, const struct config_table *t,
			    struct keyring *k, cJSON *item, const char *where)
{
	if (crypt_batch_add(b, t, k, item, 0) != 0)
		return -1;
	snprintf(b->jobs[b->len - 1].where, sizeof(b->jobs[b->len - 1].where), "%s", where);
	return 0;
}

int crypt_batch_add_beacon(struct crypt_batch *b, const struct config_table *t, cJSON *av,
			   const char *name, int prefix, const char *tenant)
{
	struct crypt_job *j;

	if (tenant != NULL && strlen(tenant) >= sizeof(j->tenant))
		return -1;
	if (crypt_batch_add(b, t, NULL, av, 0) != 0)
		return -1;
	j = &b->jobs[b->len - 1];
	j->beacon = name;
	j->beacon_prefix = prefix;
	snprintf(j->tenant, sizeof(j->tenant), "%s", tenant != NULL ? tenant : "");
	return 0;
}

size_t crypt_batch_len(const struct crypt_batch *b)
{
	return b->len;
}

cJSON *crypt_batch_doc(struct crypt_batch *b)
{
	return b->doc;
}

static void job_cleanup(struct crypt_job *j)
{
	if (j->has_m)
		materials_cleanup(&j->m);
	if (j->has_h)
		item_header_cleanup(&j->h);
	j->has_m = j->has_h = 0;
	cJSON_Delete(j->beacons);
	j->beacons = NULL;
}

static void batch_destroy(struct crypt_batch *b)
{
	for (size_t i = 0; i < b->len; i++)
		job_cleanup(&b->jobs[i]);
	free(b->jobs);
	cJSON_Delete(b->doc);
	if (b->release != NULL)
		b->release(b->release_arg);
	free(b);
}

/* An item's refusal with its place in the answer after the table's name: every item error
 * starts "table \"T\": " (item_crypt.h, keyring_failed). */
static void job_error_at(const struct crypt_job *j, const struct ds_error *err, struct ds_error *out)
{
	const char *reason = err->message;
	const char *name = j->table->name;
	size_t n = strlen(name);

	if (strncmp(reason, "table \"", 7) == 0 && strncmp(reason + 7, name, n) == 0 &&
	    strncmp(reason + 7 + n, "\": ", 3) == 0)
		reason += 7 + n + 3;
	ds_error_set(out, err->status, err->type, "table \"%s\": %s: %s", name, j->where, reason);
}

/* One job finished (err NULL on success). */
static void job_done(struct crypt_job *j, const struct ds_error *err)
{
	struct crypt_batch *b = j->batch;

	job_cleanup(j);
	if (b->metrics != NULL && err != NULL)
		metrics_inc(&b->metrics->item_failures, 1);
	if (err != NULL && !b->failed && !b->orphaned) {
		struct ds_error at = { 0 };
		b->failed = 1;
		if (j->where[0] != '\0') {
			job_error_at(j, err, &at);
			err = &at;
		}
		b->cb(b->arg, b, err);
	}
	if (--b->pending > 0)
		return;
	if (b->orphaned) {
		batch_destroy(b);
		return;
	}
	if (!b->failed)
		b->cb(b->arg, b, NULL);
}

/* A keyring serves several tables and its errors name only the keyring: the refusal names
 * the item's table too, as every other item error does. */
static void keyring_failed(struct crypt_job *j, const struct ds_error *kerr)
{
	struct ds_error err = { 0 };

	if (kerr == NULL)
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "table \"%s\": the keyring failed",
			     j->table->name);
	else
		ds_error_set(&err, kerr->status, kerr->type, "table \"%s\": %s", j->table->name,
			     kerr->message);
	job_done(j, &err);
}

/* Encrypts the item with the completed materials; its beacons (if any) join it after. */
static void encrypt_now(struct crypt_job *j)
{
	struct ds_error err = { 0 };

	if (j->batch->orphaned || j->batch->failed) {
		job_done(j, NULL);
		return;
	}
	if (item_encrypt(j->table, &j->m, j->item, &err) != 0) {
		job_done(j, &err);
		return;
	}
	if (j->beacons != NULL) {
		crypt_beacons_merge(j->item, j->beacons);
		j->beacons = NULL;
	}
	if (j->batch->metrics != NULL)
		metrics_inc(&j->batch->metrics->items_encrypted, 1);
	job_done(j, NULL);
}

/* A keyring call came back (ok: it gave what was asked): whether the job goes on.  Otherwise
 * the job is over: failed with the keyring's error, or done when nobody waits any more. */
static int job_goes_on(struct crypt_job *j, int ok, const struct ds_error *kerr)
{
	if (!ok) {
		keyring_failed(j, kerr);
		return 0;
	}
	if (j->batch->orphaned || j->batch->failed) {
		job_done(j, NULL);
		return 0;
	}
	return 1;
}

/* The beacon key came: the beacons are computed from the plaintext, then the item encrypted. */
static void beacon_key_done(void *arg, const unsigned char *key, size_t key_len,
			    const char *branch_key_id, const struct ds_error *kerr)
{
	struct crypt_job *j = arg;
	struct ds_error err = { 0 };

	(void)branch_key_id;
	if (!job_goes_on(j, key != NULL, kerr))
		return;
	j->beacons = crypt_beacons_of(j->table, key, key_len, j->item, &err);
	if (j->beacons == NULL) {
		job_done(j, &err);
		return;
	}
	encrypt_now(j);
}

/* The keyring of the job's table's search block, or NULL with the job failed. */
static struct keyring *search_keyring(struct crypt_job *j)
{
	struct crypt_batch *b = j->batch;
	struct keyring *sk = b->search_keyring != NULL ? b->search_keyring(b->search_arg, j->table) : NULL;
	struct ds_error err = { 0 };

	if (sk == NULL) {
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "table \"%s\": the keyring of its search "
			     "block is not available", j->table->name);
		job_done(j, &err);
	}
	return sk;
}

static void encrypt_keyring_done(void *arg, int rc, const struct ds_error *kerr)
{
	struct crypt_job *j = arg;
	struct crypt_batch *b = j->batch;
	struct keyring *sk;
	struct ds_error err = { 0 };
	const char *attr;

	if (rc != 0) {
		keyring_failed(j, kerr);
		return;
	}
	if (j->table->search == NULL || b->orphaned || b->failed) {
		encrypt_now(j);
		return;
	}
	if ((sk = search_keyring(j)) == NULL)
		return;
	attr = keyring_tenant_attr(sk);
	if (attr != NULL && crypt_beacon_tenant(j->table, attr, j->item, j->tenant, sizeof(j->tenant),
						&err) != 0) {
		job_done(j, &err);
		return;
	}
	keyring_beacon_key(sk, attr != NULL ? j->tenant : NULL, j->m.audit, beacon_key_done, j);
}

/* A beacon job's key came: the value becomes its beacon. */
static void beacon_value_done(void *arg, const unsigned char *key, size_t key_len,
			      const char *branch_key_id, const struct ds_error *kerr)
{
	struct crypt_job *j = arg;
	struct ds_error err = { 0 };

	(void)branch_key_id;
	if (!job_goes_on(j, key != NULL, kerr))
		return;
	if (crypt_beacon_value(j->table, key, key_len, j->beacon, j->beacon_prefix, j->item, &err) != 0) {
		job_done(j, &err);
		return;
	}
	job_done(j, NULL);
}

static void beacon_run(struct crypt_job *j)
{
	struct keyring *sk = search_keyring(j);

	if (sk == NULL)
		return;
	keyring_beacon_key(sk, j->tenant[0] != '\0' ? j->tenant : NULL,
			   j->has_audit ? &j->audit : NULL, beacon_value_done, j);
}

static void decrypt_keyring_done(void *arg, int rc, const struct ds_error *kerr)
{
	struct crypt_job *j = arg;
	struct ds_error err = { 0 };

	if (!job_goes_on(j, rc == 0, kerr))
		return;
	if (item_decrypt(j->table, &j->m, &j->h, j->item, &err) != 0) {
		job_done(j, &err);
		return;
	}
	crypt_beacons_strip(j->item);
	if (j->batch->metrics != NULL)
		metrics_inc(&j->batch->metrics->items_decrypted, 1);
	job_done(j, NULL);
}

void crypt_batch_set_audit(struct crypt_batch *b, const struct audit_ctx *ctx)
{
	b->audit = ctx;
}

void crypt_batch_set_metrics(struct crypt_batch *b, struct metrics *m)
{
	b->metrics = m;
}

void crypt_batch_set_search_keyring(struct crypt_batch *b, crypt_batch_keyring_fn fn, void *arg)
{
	b->search_keyring = fn;
	b->search_arg = arg;
}

void crypt_batch_set_legacy_open(struct crypt_batch *b, crypt_batch_legacy_fn fn, void *arg)
{
	b->legacy_open = fn;
	b->legacy_arg = arg;
}

void crypt_batch_set_owner(struct crypt_batch *b, void (*release)(void *), void *arg)
{
	b->release = release;
	b->release_arg = arg;
}

static void job_run(struct crypt_job *j);

/* The legacy item was verified and decrypted: its attributes become the plaintext's. */
static void legacy_done(void *arg, cJSON *plain, const struct ds_error *err)
{
	struct crypt_job *j = arg;

	if (plain == NULL) {
		job_done(j, err);
		return;
	}
	if (!j->batch->orphaned && !j->batch->failed) {
		/* The whole list of attributes moves over; the item keeps its place in the answer. */
		while (j->item->child != NULL)
			cJSON_Delete(cJSON_DetachItemViaPointer(j->item, j->item->child));
		j->item->child = plain->child;
		plain->child = NULL;
		if (j->batch->metrics != NULL)
			metrics_inc(&j->batch->metrics->items_decrypted, 1);
	}
	cJSON_Delete(plain);
	job_done(j, NULL);
}

/*
 * An item the legacy DynamoDB Encryption Client wrote: read with the table's legacy reader
 * under policy allow-read (ddb-table-encryption-config.md#legacy-policy,
 * FORBID_ENCRYPT_ALLOW_DECRYPT), else refused, saying what to configure.
 */
static void legacy_run(struct crypt_job *j)
{
	const struct config_legacy *l = j->table->legacy;
	struct crypt_batch *b = j->batch;
	struct ds_error err = { 0 };

	if (l == NULL) {
		ds_error_set(&err, 400, DS_ERR_VALIDATION, "table \"%s\": an item was written by the "
			     "legacy DynamoDB Encryption Client (it has %s or %s) and the table has no "
			     "\"legacy\" block; give it one with policy \"allow-read\", the provider "
			     "and the attribute actions the items were written with", j->table->name,
			     LEGACY_DESC_ATTR, LEGACY_SIG_ATTR);
		job_done(j, &err);
		return;
	}
	if (l->policy != LEGACY_POLICY_ALLOW_READ) {
		ds_error_set(&err, 400, DS_ERR_VALIDATION, "table \"%s\": an item was written by the "
			     "legacy DynamoDB Encryption Client and the table's legacy policy is "
			     "\"forbid\"; set legacy.policy to \"allow-read\" to read it",
			     j->table->name);
		job_done(j, &err);
		return;
	}
	if (b->legacy_open == NULL ||
	    b->legacy_open(b->legacy_arg, j->table, j->item, j->has_audit ? &j->audit : NULL,
			   legacy_done, j) != 0) {
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "table \"%s\": the reader of its legacy "
			     "items is not available", j->table->name);
		job_done(j, &err);
	}
}

/* Runs one job; the key uses it causes are attributed to the request's audit context with the
 * item's table (the materials carry it to the keyring, also across asynchronous steps). */
static void job_start(struct crypt_job *j)
{
	if (j->batch->audit != NULL && audit_enabled()) {
		j->audit = *j->batch->audit;
		snprintf(j->audit.table, sizeof(j->audit.table), "%s", j->table->name);
		j->has_audit = 1;
	}
	job_run(j);
}

static void job_run(struct crypt_job *j)
{
	struct ds_error err = { 0 };

	if (j->beacon != NULL) {
		beacon_run(j);
		return;
	}
	if (j->encrypt) {
		/* Set before the call: on failure the materials hold what was built so far, and
		 * the caller cleans them up (item_crypt.h). */
		j->has_m = 1;
		if (item_encrypt_materials(j->table, j->item, &j->m, &err) != 0) {
			job_done(j, &err);
			return;
		}
		j->m.audit = j->has_audit ? &j->audit : NULL;
		keyring_on_encrypt(j->keyring, &j->m, encrypt_keyring_done, j);
		return;
	}
	if (legacy_item_is_legacy(j->item)) {
		legacy_run(j);
		return;
	}
	if (item_is_plaintext(j->item)) {
		if (j->table->plaintext_policy == PLAINTEXT_ALLOW_READ) {
			crypt_beacons_strip(j->item);
			job_done(j, NULL);
			return;
		}
		ds_error_set(&err, 400, DS_ERR_VALIDATION,
			     "table \"%s\": an item has no aws_dbe_head, so it was not written through "
			     "dynaseal or the DB-ESDK; set plaintext_policy to \"allow-read\" for this "
			     "table while migrating plaintext items", j->table->name);
		job_done(j, &err);
		return;
	}
	j->has_h = 1;
	if (item_read_header(j->table, j->item, &j->h, &err) != 0) {
		job_done(j, &err);
		return;
	}
	j->has_m = 1;
	if (item_decrypt_materials(j->table, &j->h, &j->m, &err) != 0) {
		job_done(j, &err);
		return;
	}
	j->m.audit = j->has_audit ? &j->audit : NULL;
	keyring_on_decrypt(j->keyring, &j->m, j->h.edks, j->h.edks_len, decrypt_keyring_done, j);
}

void crypt_batch_run(struct crypt_batch *b, crypt_batch_done_cb cb, void *arg)
{
	size_t i;

	b->cb = cb;
	b->arg = arg;
	b->running = 1;
	/* One extra count while starting, so a job that completes at once cannot end the batch
	 * before the others have started. */
	b->pending = b->len + 1;
	for (i = 0; i < b->len && !b->failed; i++)
		job_start(&b->jobs[i]);
	/* After a failure the rest are not started: they count as done. */
	b->pending -= b->len - i;
	if (--b->pending > 0)
		return;
	if (b->orphaned)
		batch_destroy(b);
	else if (!b->failed)
		cb(arg, b, NULL);
}

void crypt_batch_free(struct crypt_batch *b)
{
	if (b == NULL)
		return;
	if (b->running && b->pending > 0) {
		b->orphaned = 1;
		return;
	}
	batch_destroy(b);
}
