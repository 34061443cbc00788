/* The table's keyring, then its read keyrings, on reads (keyring_fallback.h). */
#include "crypto/keyring/keyring_fallback.h"

#include <stdlib.h>
#include <string.h>

/* The keyrings, the table's first. */
struct fallback {
	struct keyring **rings;  /* borrowed */
	size_t len;
};

/* One read in progress. */
struct fallback_op {
	struct fallback *f;
	struct materials *m;
	const struct edk *edks;
	size_t nedks;
	size_t next;             /* the keyring to try next */
	keyring_done_cb done;
	void *arg;
	struct ds_error first;   /* the table's keyring's refusal: the one reported */
};

static void fallback_on_encrypt(struct keyring *k, struct materials *m, keyring_done_cb done,
				void *arg)
{
	struct fallback *f = k->impl;

	keyring_on_encrypt(f->rings[0], m, done, arg);
}

static void try_next(struct fallback_op *op);

static void tried(void *arg, int rc, const struct ds_error *err)
{
	struct fallback_op *op = arg;

	if (rc == 0) {
		op->done(op->arg, 0, NULL);
		free(op);
		return;
	}
	if (op->next == 1 && err != NULL)
		op->first = *err;
	try_next(op);
}

static void try_next(struct fallback_op *op)
{
	if (op->next < op->f->len) {
		struct keyring *k = op->f->rings[op->next++];
		keyring_on_decrypt(k, op->m, op->edks, op->nedks, tried, op);
		return;
	}
	op->done(op->arg, -1, &op->first);
	free(op);
}

static void fallback_on_decrypt(struct keyring *k, struct materials *m, const struct edk *edks,
				size_t nedks, keyring_done_cb done, void *arg)
{
	struct fallback_op *op = calloc(1, sizeof(*op));

	if (op == NULL) {
		struct ds_error err = { 0 };
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "keyring \"%s\": out of memory", k->name);
		done(arg, -1, &err);
		return;
	}
	op->f = k->impl;
	op->m = m;
	op->edks = edks;
	op->nedks = nedks;
	op->done = done;
	op->arg = arg;
	ds_error_set(&op->first, 500, DS_ERR_INTERNAL, "keyring \"%s\" could not open the item",
		     k->name);
	try_next(op);
}

static void fallback_free(void *impl)
{
	struct fallback *f = impl;

	if (f != NULL)
		free(f->rings);
	free(f);
}

static void fallback_beacon_key(struct keyring *k, const char *tenant, const struct audit_ctx *audit,
				keyring_beacon_cb cb, void *arg)
{
	struct fallback *f = k->impl;

	keyring_beacon_key(f->rings[0], tenant, audit, cb, arg);
}

static const char *fallback_tenant_attr(const struct keyring *k)
{
	const struct fallback *f = k->impl;

	return keyring_tenant_attr(f->rings[0]);
}

static int fallback_names_edk(const struct keyring *k, const struct edk *edk)
{
	const struct fallback *f = k->impl;

	return keyring_names_edk(f->rings[0], edk);
}

static const struct keyring_ops fallback_ops = {
	.type = "read-fallback",
	.on_encrypt = fallback_on_encrypt,
	.on_decrypt = fallback_on_decrypt,
	.free_impl = fallback_free,
	.beacon_key = fallback_beacon_key,
	.tenant_attr = fallback_tenant_attr,
	.names_edk = fallback_names_edk,
};

struct keyring *keyring_fallback_new(struct keyring *primary, struct keyring *const *readers,
				     size_t n)
{
	struct fallback *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->rings = calloc(n + 1, sizeof(*f->rings))) == NULL) {
		fallback_free(f);
		return NULL;
	}
	f->rings[0] = primary;
	memcpy(f->rings + 1, readers, n * sizeof(*readers));
	f->len = n + 1;
	return keyring_new(&fallback_ops, primary->name, f);   /* frees f on failure */
}
