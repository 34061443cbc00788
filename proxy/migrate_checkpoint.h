/*
 * The checkpoint of `dynaseal migrate` (migrate.h): per scan segment the key the next page
 * starts at (Scan's LastEvaluatedKey), whether the segment is finished and what it counted, so
 * that a stopped run resumes where it was and a finished segment is never scanned again.
 *
 *   {"version": 1, "table": "T", "mode": "migrate", "total_segments": 4,
 *    "segments": [{"segment": 0, "done": false, "last_key": {"pk": {"S": "..."}},
 *                  "counts": {"scanned": 100, "converted": 97, ...}}, ...]}
 *
 * The file is read back from disk, so it is parsed as untrusted input (tests/fuzz/
 * fuzz_migrate_checkpoint.c); it is written to a temporary file, flushed and renamed over
 * the old one, so a crash leaves the old checkpoint or the new one, never half of one.
 */
#ifndef DS_MIGRATE_CHECKPOINT_H
#define DS_MIGRATE_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define MIGRATE_MAX_SEGMENTS 1000000   /* DynamoDB's limit on TotalSegments */

/* What a run of one or more segments counted. */
struct migrate_counts {
	uint64_t scanned;        /* items read by the scan */
	uint64_t converted;      /* plaintext items written encrypted (dry run: would be) */
	uint64_t skipped;        /* items already encrypted, or deleted before they were written */
	uint64_t legacy;         /* items of the legacy client, not converted */
	uint64_t failed;         /* items that could not be converted (or, verifying, protected
				  * items that do not verify) */
	uint64_t unprotected;    /* verifying: items stored without protection */
	uint64_t conflicts;      /* writes refused because the item changed; each re-read */
	double rcu;              /* read capacity consumed */
	double wcu;              /* write capacity consumed */
};

/* One scan segment's place. */
struct migrate_segment {
	int index;               /* 0 .. total_segments-1 */
	int done;                /* scanned to its end */
	cJSON *last_key;         /* where the next page starts; NULL at the start (owned) */
	struct migrate_counts counts; /* of every run of the segment */
};

/* A whole checkpoint: the segments of the process's share, in the order of their index. */
struct migrate_checkpoint {
	char *table;                     /* owned */
	char *mode;                      /* "migrate", "dry-run" or "verify"; owned */
	int total_segments;
	struct migrate_segment *segs;    /* owned */
	size_t len;
};

/* Adds b to a. */
void migrate_counts_add(struct migrate_counts *a, const struct migrate_counts *b);
/* The counts as a JSON object (NULL when out of memory). */
cJSON *migrate_counts_json(const struct migrate_counts *c) __attribute__((warn_unused_result));

/*
 * Parses a checkpoint (len bytes of JSON) into cp (zeroed by the call).  -1 with why (a
 * message naming the field at fault) when it is not one; cp is then empty.
 */
int migrate_checkpoint_parse(const char *data, size_t len, struct migrate_checkpoint *cp,
			     char *why, size_t cap) __attribute__((warn_unused_result));
/* The checkpoint as JSON text (malloc'd), or NULL when out of memory. */
char *migrate_checkpoint_print(const struct migrate_checkpoint *cp) __attribute__((warn_unused_result));
/* Writes it to path atomically (path.tmp, fsync, rename).  -1 with why. */
int migrate_checkpoint_write(const struct migrate_checkpoint *cp, const char *path, char *why,
			     size_t cap) __attribute__((warn_unused_result));
/* The segment with this index, or NULL. */
struct migrate_segment *migrate_checkpoint_find(struct migrate_checkpoint *cp, int index);
void migrate_checkpoint_cleanup(struct migrate_checkpoint *cp);

#endif
