/*
 * `dynaseal migrate`: encrypts every plaintext item of a live table in place, with the table's
 * keyring exactly as the proxy's writes would, while applications keep writing through
 * dynaseal.  A parallel Scan reads the table; each plaintext item is encrypted (crypt_batch.h)
 * and written back with one UpdateItem that:
 *
 *   - sets every attribute the encryption changed or added (the encrypted attributes, the
 *     beacons, aws_dbe_head, aws_dbe_foot) and leaves the others as they are;
 *   - is conditioned on the item being the plaintext item read: attribute_not_exists
 *     (aws_dbe_head), the partition key present (a deleted item is not brought back), every
 *     signed attribute read still holding the value read, and every signed attribute the table
 *     configures that the item did not hold still missing.
 *
 * So no write is lost: a write through dynaseal that replaces or re-encrypts the item adds
 * aws_dbe_head; one that changes a signed attribute changes its value; one that changes only
 * DO_NOTHING attributes (`ADD visits :one`) is not touched by the write-back, which does not
 * set them and is not signed over them.  A refused write (ConditionalCheckFailed) re-reads the
 * item (consistent GetItem) and starts over with what it holds.
 *
 * A legacy item (written by the legacy DynamoDB Encryption Client), when the table's legacy
 * block has policy allow-read, is verified and decrypted as the proxy's reads do, encrypted
 * like a plaintext item, and written back the same way, its *amzn-ddb-map-* attributes
 * removed; the legacy signature is among the signed attributes the write is conditioned on.
 * A plaintext item of a table that does not read plaintext (plaintext_policy is not
 * allow-read: a legacy table) is not converted: anyone with write access to the table could
 * have put it there, or stripped an item of its legacy signature (the DB-ESDK's reason for
 * allowing one or the other), and dynaseal would sign it.
 *
 * Re-encryption (env->to_keyring) runs the same engine over v3 items: one whose EDKs all name
 * the new keyring (keyring_names_edk) is skipped; the others are decrypted with the table's
 * keyring, encrypted with the new one and written back conditioned on aws_dbe_head and
 * aws_dbe_foot being the ones read (migrate_write.h).  Plaintext items are left (migrate
 * encrypts them) and counted as unprotected.  Verifying, an item not under the new keyring
 * counts as unprotected too.
 *
 * Everything runs on one event loop: each segment scans one page at a time; the page's items
 * are encrypted and written concurrently (at most `concurrency` writes in flight), and when
 * every item of the page is finished the page's LastEvaluatedKey goes into the checkpoint.
 * Reads and writes wait on token buckets of --max-rcu and --max-wcu, debited with the
 * ConsumedCapacity DynamoDB returns.
 */
#ifndef DS_MIGRATE_H
#define DS_MIGRATE_H

#include <stdio.h>

#include "config/config.h"
#include "crypto/keyring/keyring.h"
#include "proxy/ddb/crypt_batch.h"
#include "proxy/migrate_checkpoint.h"

struct event_base;
struct ddb_client;

enum migrate_mode {
	MIGRATE_ENCRYPT = 0,     /* convert plaintext items */
	MIGRATE_DRY_RUN,         /* count what would be converted, write nothing */
	MIGRATE_VERIFY,          /* read every item back through the keyring */
};

/* How a run goes. */
struct migrate_opts {
	enum migrate_mode mode;
	int *segments;                   /* the segment indexes this process scans */
	size_t segments_len;
	int total_segments;
	double max_rcu, max_wcu;         /* capacity units per second; 0 = no limit */
	int page_size;                   /* Scan's Limit */
	int concurrency;                 /* writes (or re-reads) in flight at most */
	int parallel;                    /* segments scanned at once at most */
	const char *checkpoint_path;     /* NULL: none */
	double progress_interval_s;
	int progress_tty;                /* a one-line bar on a terminal, else JSON lines */
	FILE *progress;                  /* where progress goes (stderr) */
	double expected_items;           /* DescribeTable's ItemCount for this share, for the ETA */
};

/* What the run works with; nothing here is owned by the run. */
struct migrate_env {
	struct event_base *base;
	struct ddb_client *ddb;
	const struct config_table *table;
	struct keyring *keyring;
	crypt_batch_keyring_fn search_keyring;  /* the beacon keys' keyring (crypt_batch.h) */
	void *search_arg;
	crypt_batch_legacy_fn legacy_open;      /* opens legacy items (crypt_batch.h), or NULL */
	void *legacy_arg;
	/* Re-encryption: the keyring every item is moved to (v3 items not under it are decrypted
	 * with keyring and encrypted with it); NULL for a migration. */
	struct keyring *to_keyring;
};

/* The outcome of a run. */
struct migrate_result {
	struct migrate_counts counts;    /* of this run */
	size_t segments_done;            /* segments of the share finished, before or now */
	size_t segments_already_done;    /* segments the checkpoint said were finished */
	size_t segments_failed;          /* segments whose scan failed */
	int interrupted;                 /* SIGTERM or SIGINT stopped it */
	double seconds;
	char error[512];                 /* the first scan or checkpoint failure, or "" */
};

/*
 * Runs the migration on env->base until every segment of the share is finished, failed, or
 * stopped by SIGTERM/SIGINT (the pages in flight finish first).  cp holds where each segment is
 * (a loaded checkpoint, or empty) and is kept up to date, and written to
 * opts->checkpoint_path after each page.  0, or -1 when out of memory.
 */
int migrate_run(const struct migrate_env *env, const struct migrate_opts *opts,
		struct migrate_checkpoint *cp, struct migrate_result *res)
	__attribute__((warn_unused_result));

#endif
