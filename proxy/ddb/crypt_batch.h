/*
 * The items of one request or response, encrypted or decrypted together.  Each item needs its
 * keyring (which may wait on KMS), so the batch starts every item at once and reports when the
 * last one is done, or at the first failure.  A batch whose transaction went away (the client
 * closed) is orphaned: it lives on until its keyring calls return, then frees itself.
 */
#ifndef DS_CRYPT_BATCH_H
#define DS_CRYPT_BATCH_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "config/config.h"
#include "crypto/keyring/keyring.h"
#include "crypto/keyring/legacy_reader.h"
#include "proxy/base/audit.h"
#include "proxy/base/error.h"

struct crypt_batch;

/* Called once: err is NULL when every item was done. */
typedef void (*crypt_batch_done_cb)(void *arg, struct crypt_batch *b, const struct ds_error *err);

/* Creates an empty batch.  doc is the JSON tree the items live in; the batch takes it. */
struct crypt_batch *crypt_batch_new(cJSON *doc) __attribute__((warn_unused_result));
/* Adds an item: encrypt (a write) or decrypt (a read) in place with the table's keyring. */
int crypt_batch_add(struct crypt_batch *b, const struct config_table *t, struct keyring *k,
		    cJSON *item, int encrypt) __attribute__((warn_unused_result));
/*
 * Adds an item to decrypt whose refusal names its place in the answer after the table
 * ("table \"T\": UpdateItem Attributes: <reason>"); where is copied, cut at 63 bytes.
 */
int crypt_batch_add_read_at(struct crypt_batch *b, const struct config_table *t,
			    struct keyring *k, cJSON *item, const char *where)
	__attribute__((warn_unused_result));
/*
 * Adds a value of a request to turn into its beacon: av (changed in place to {"S": beacon})
 * is a value compared with beacon name (standard or compound; prefix: by begins_with) of
 * table t (which has a search block); tenant (copied; NULL when the keyring has one branch
 * key) chooses the beacon key.  -1 when out of memory or tenant is longer than 255 bytes.
 */
int crypt_batch_add_beacon(struct crypt_batch *b, const struct config_table *t, cJSON *av,
			   const char *name, int prefix, const char *tenant) __attribute__((warn_unused_result));
/* Number of items added. */
size_t crypt_batch_len(const struct crypt_batch *b);
/* The request's audit context (request id, caller); the batch adds each item's table. */
void crypt_batch_set_audit(struct crypt_batch *b, const struct audit_ctx *ctx);
/* Where items encrypted, decrypted and failed are counted (the worker's metrics), or NULL. */
struct metrics;
void crypt_batch_set_metrics(struct crypt_batch *b, struct metrics *m);
/* The keyring of table t's search block (an aws-kms-hierarchical keyring on this worker), which
 * gives the beacon keys of items written to t; NULL when there is none. */
typedef struct keyring *(*crypt_batch_keyring_fn)(void *arg, const struct config_table *t);
void crypt_batch_set_search_keyring(struct crypt_batch *b, crypt_batch_keyring_fn fn, void *arg);
/* Opens an item the legacy client wrote with the reader of table t's legacy items on this
 * worker (legacy_reader_open): 0 when started (cb is called), -1 when t has no reader there.
 * Without it such items are refused. */
typedef int (*crypt_batch_legacy_fn)(void *arg, const struct config_table *t, const cJSON *item,
				     const struct audit_ctx *audit, legacy_reader_done_cb cb,
				     void *cb_arg);
void crypt_batch_set_legacy_open(struct crypt_batch *b, crypt_batch_legacy_fn fn, void *arg);
/* Called with arg when the batch is finally destroyed (it may outlive its request): how the
 * configuration and keyrings its items use are kept alive. */
void crypt_batch_set_owner(struct crypt_batch *b, void (*release)(void *), void *arg);
/* Starts every item; cb is called when all are done (possibly before this returns). */
void crypt_batch_run(struct crypt_batch *b, crypt_batch_done_cb cb, void *arg);
/* The JSON tree (still owned by the batch). */
cJSON *crypt_batch_doc(struct crypt_batch *b);
/* Frees a batch that has finished; a running one is orphaned and frees itself later. */
void crypt_batch_free(struct crypt_batch *b);

#endif
