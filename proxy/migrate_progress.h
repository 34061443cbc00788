/*
 * The progress of `dynaseal migrate`: on a terminal one line redrawn in place (items scanned,
 * converted, skipped, legacy, failed; items per second; capacity consumed; ETA), otherwise one
 * JSON object per line, for log collectors.
 */
#ifndef DS_MIGRATE_PROGRESS_H
#define DS_MIGRATE_PROGRESS_H

#include <stdio.h>

#include "proxy/migrate_checkpoint.h"

/* Where and how progress is shown. */
struct migrate_progress {
	FILE *out;               /* not owned */
	int tty;                 /* redraw one line rather than print JSON lines */
	const char *table;       /* not owned */
	double expected_items;   /* items the share is expected to scan (0: unknown: no ETA) */
	int drawn;               /* a terminal line is on screen */
};

void migrate_progress_init(struct migrate_progress *p, FILE *out, int tty, const char *table,
			   double expected_items);
/* Shows c after elapsed_s seconds; last ends the terminal line. */
void migrate_progress_print(struct migrate_progress *p, const struct migrate_counts *c, double elapsed_s,
			    int last);

#endif
