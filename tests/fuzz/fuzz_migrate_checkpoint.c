/*
 * libFuzzer target for the checkpoint parser of `dynaseal migrate` (proxy/migrate_checkpoint.c),
 * which reads back a file from disk.  A checkpoint that parses is printed and parsed again:
 * the same table, mode, segments, keys and counts must come back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/migrate_checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct migrate_checkpoint cp, again;
	char why[512] = "";
	char *text;

	if (migrate_checkpoint_parse((const char *)data, size, &cp, why, sizeof(why)) != 0) {
		if (why[0] == '\0' || cp.segs != NULL || cp.len != 0)
			abort();
		return 0;
	}
	text = migrate_checkpoint_print(&cp);
	if (text == NULL)
		abort();
	if (migrate_checkpoint_parse(text, strlen(text), &again, why, sizeof(why)) != 0 ||
	    strcmp(again.table, cp.table) != 0 || strcmp(again.mode, cp.mode) != 0 ||
	    again.total_segments != cp.total_segments || again.len != cp.len)
		abort();
	for (size_t i = 0; i < cp.len; i++) {
		const struct migrate_segment *a = &cp.segs[i], *b = &again.segs[i];
		if (a->index != b->index || a->done != b->done ||
		    a->counts.scanned != b->counts.scanned || a->counts.converted != b->counts.converted ||
		    a->counts.failed != b->counts.failed ||
		    (a->last_key == NULL) != (b->last_key == NULL) ||
		    (a->last_key != NULL && !cJSON_Compare(a->last_key, b->last_key, 1)))
			abort();
	}
	free(text);
	migrate_checkpoint_cleanup(&again);
	migrate_checkpoint_cleanup(&cp);
	return 0;
}
