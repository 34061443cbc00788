/* The checkpoint file of `dynaseal migrate` (migrate_checkpoint.h). */
#include "proxy/migrate_checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/base/json.h"

/* The counters, by name, for printing and parsing from one list. */
static const struct {
	const char *name;
	size_t off;
} count_fields[] = {
	{ "scanned", offsetof(struct migrate_counts, scanned) },
	{ "converted", offsetof(struct migrate_counts, converted) },
	{ "skipped", offsetof(struct migrate_counts, skipped) },
	{ "legacy", offsetof(struct migrate_counts, legacy) },
	{ "failed", offsetof(struct migrate_counts, failed) },
	{ "unprotected", offsetof(struct migrate_counts, unprotected) },
	{ "conflicts", offsetof(struct migrate_counts, conflicts) },
};

#define COUNT_AT(c, i) ((uint64_t *)((char *)(c) + count_fields[i].off))

void migrate_counts_add(struct migrate_counts *a, const struct migrate_counts *b)
{
	for (size_t i = 0; i < sizeof(count_fields) / sizeof(count_fields[0]); i++)
		*COUNT_AT(a, i) += *COUNT_AT(b, i);
	a->rcu += b->rcu;
	a->wcu += b->wcu;
}

cJSON *migrate_counts_json(const struct migrate_counts *c)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(count_fields) / sizeof(count_fields[0]); i++)
		if (cJSON_AddNumberToObject(o, count_fields[i].name,
					    (double)*COUNT_AT((struct migrate_counts *)c, i)) == NULL)
			goto fail;
	if (cJSON_AddNumberToObject(o, "consumed_rcu", round(c->rcu * 10) / 10) == NULL ||
	    cJSON_AddNumberToObject(o, "consumed_wcu", round(c->wcu * 10) / 10) == NULL)
		goto fail;
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

/* A count: a whole number from 0 to 2^53 (what a double holds exactly). */
static int parse_count(const cJSON *v, uint64_t *out)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 9007199254740992.0 ||
	    v->valuedouble != floor(v->valuedouble))
		return -1;
	*out = (uint64_t)v->valuedouble;
	return 0;
}

static int parse_counts(const cJSON *o, struct migrate_counts *c, int seg, char *why, size_t cap)
{
	const cJSON *v;

	if (!cJSON_IsObject(o)) {
		snprintf(why, cap, "segment %d: \"counts\" is not an object", seg);
		return -1;
	}
	for (size_t i = 0; i < sizeof(count_fields) / sizeof(count_fields[0]); i++) {
		v = cJSON_GetObjectItemCaseSensitive(o, count_fields[i].name);
		if (v != NULL && parse_count(v, COUNT_AT(c, i)) != 0) {
			snprintf(why, cap, "segment %d: counts.%s is not a whole number from 0", seg,
				 count_fields[i].name);
			return -1;
		}
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "consumed_rcu");
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && isfinite(v->valuedouble))
		c->rcu = v->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(o, "consumed_wcu");
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && isfinite(v->valuedouble))
		c->wcu = v->valuedouble;
	return 0;
}

/* A LastEvaluatedKey: an object of one or two attribute values of type S, N or B, under
 * different names. */
static int valid_key(const cJSON *k)
{
	size_t n = 0;

	if (!cJSON_IsObject(k))
		return 0;
	for (const cJSON *a = k->child; a != NULL; a = a->next) {
		const cJSON *v = a->child;
		if (++n > 2 || a->string == NULL || !cJSON_IsObject(a) || v == NULL || v->next != NULL ||
		    (n == 2 && strcmp(k->child->string, a->string) == 0) ||
		    !cJSON_IsString(v) || v->string == NULL ||
		    (strcmp(v->string, "S") != 0 && strcmp(v->string, "N") != 0 && strcmp(v->string, "B") != 0))
			return 0;
	}
	return n > 0;
}

static int parse_segment(const cJSON *o, struct migrate_checkpoint *cp, size_t at, char *why, size_t cap)
{
	struct migrate_segment *s = &cp->segs[at];
	const cJSON *idx = cJSON_GetObjectItemCaseSensitive(o, "segment");
	const cJSON *done = cJSON_GetObjectItemCaseSensitive(o, "done");
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(o, "last_key");
	const cJSON *counts = cJSON_GetObjectItemCaseSensitive(o, "counts");

	if (!cJSON_IsObject(o)) {
		snprintf(why, cap, "segments[%zu] is not an object", at);
		return -1;
	}
	if (!cJSON_IsNumber(idx) || idx->valuedouble != floor(idx->valuedouble) || idx->valuedouble < 0 ||
	    idx->valuedouble >= cp->total_segments) {
		snprintf(why, cap, "segments[%zu].segment is not a number from 0 to %d", at,
			 cp->total_segments - 1);
		return -1;
	}
	s->index = (int)idx->valuedouble;
	if (migrate_checkpoint_find(cp, s->index) != s) {
		snprintf(why, cap, "segment %d is listed twice", s->index);
		return -1;
	}
	if (!cJSON_IsBool(done)) {
		snprintf(why, cap, "segment %d: \"done\" is not true or false", s->index);
		return -1;
	}
	s->done = cJSON_IsTrue(done);
	if (key != NULL && !cJSON_IsNull(key)) {
		if (!valid_key(key)) {
			snprintf(why, cap, "segment %d: \"last_key\" is not a table key (attribute values "
				 "of type S, N or B)", s->index);
			return -1;
		}
		s->last_key = cJSON_Duplicate(key, 1);
		if (s->last_key == NULL) {
			snprintf(why, cap, "out of memory");
			return -1;
		}
	}
	return counts == NULL ? 0 : parse_counts(counts, &s->counts, s->index, why, cap);
}

int migrate_checkpoint_parse(const char *data, size_t len, struct migrate_checkpoint *cp, char *why,
			     size_t cap)
{
	cJSON *doc = json_parse(data, len, NULL);
	const cJSON *v, *segs;
	int rc = -1;

	memset(cp, 0, sizeof(*cp));
	if (!cJSON_IsObject(doc)) {
		snprintf(why, cap, "not a JSON object");
		goto cleanup;
	}
	v = cJSON_GetObjectItemCaseSensitive(doc, "version");
	if (!cJSON_IsNumber(v) || v->valuedouble != 1) {
		snprintf(why, cap, "\"version\" is not 1");
		goto cleanup;
	}
	v = cJSON_GetObjectItemCaseSensitive(doc, "table");
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0' || (cp->table = strdup(v->valuestring)) == NULL) {
		snprintf(why, cap, "\"table\" is not a table name");
		goto cleanup;
	}
	v = cJSON_GetObjectItemCaseSensitive(doc, "mode");
	if (!cJSON_IsString(v) || (strcmp(v->valuestring, "migrate") != 0 &&
				   strcmp(v->valuestring, "dry-run") != 0 &&
				   strcmp(v->valuestring, "verify") != 0 &&
				   strcmp(v->valuestring, "reencrypt") != 0 &&
				   strcmp(v->valuestring, "reencrypt-dry-run") != 0 &&
				   strcmp(v->valuestring, "reencrypt-verify") != 0) ||
	    (cp->mode = strdup(v->valuestring)) == NULL) {
		snprintf(why, cap, "\"mode\" is not \"migrate\", \"dry-run\", \"verify\", \"reencrypt\", "
			 "\"reencrypt-dry-run\" or \"reencrypt-verify\"");
		goto cleanup;
	}
	v = cJSON_GetObjectItemCaseSensitive(doc, "total_segments");
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 1 ||
	    v->valuedouble > MIGRATE_MAX_SEGMENTS) {
		snprintf(why, cap, "\"total_segments\" is not a number from 1 to %d", MIGRATE_MAX_SEGMENTS);
		goto cleanup;
	}
	cp->total_segments = (int)v->valuedouble;
	segs = cJSON_GetObjectItemCaseSensitive(doc, "segments");
	if (!cJSON_IsArray(segs) || cJSON_GetArraySize(segs) > cp->total_segments) {
		snprintf(why, cap, "\"segments\" is not a list of at most total_segments segments");
		goto cleanup;
	}
	cp->segs = calloc((size_t)cJSON_GetArraySize(segs) + 1, sizeof(*cp->segs));
	if (cp->segs == NULL) {
		snprintf(why, cap, "out of memory");
		goto cleanup;
	}
	cJSON_ArrayForEach(v, segs) {
		cp->segs[cp->len].index = -1;
		cp->len++;
		if (parse_segment(v, cp, cp->len - 1, why, cap) != 0)
			goto cleanup;
	}
	rc = 0;
cleanup:
	cJSON_Delete(doc);
	if (rc != 0)
		migrate_checkpoint_cleanup(cp);
	return rc;
}

char *migrate_checkpoint_print(const struct migrate_checkpoint *cp)
{
	cJSON *doc = cJSON_CreateObject(), *segs = NULL;
	char *text = NULL;

	if (doc == NULL || cJSON_AddNumberToObject(doc, "version", 1) == NULL ||
	    cJSON_AddStringToObject(doc, "table", cp->table) == NULL ||
	    cJSON_AddStringToObject(doc, "mode", cp->mode) == NULL ||
	    cJSON_AddNumberToObject(doc, "total_segments", cp->total_segments) == NULL ||
	    (segs = cJSON_AddArrayToObject(doc, "segments")) == NULL)
		goto cleanup;
	for (size_t i = 0; i < cp->len; i++) {
		const struct migrate_segment *s = &cp->segs[i];
		cJSON *o = cJSON_CreateObject(), *key, *counts;
		if (o == NULL || !cJSON_AddItemToArray(segs, o))
			goto cleanup;
		key = s->last_key != NULL ? cJSON_Duplicate(s->last_key, 1) : cJSON_CreateNull();
		counts = migrate_counts_json(&s->counts);
		if (cJSON_AddNumberToObject(o, "segment", s->index) == NULL ||
		    cJSON_AddBoolToObject(o, "done", s->done) == NULL ||
		    key == NULL || !cJSON_AddItemToObject(o, "last_key", key) ||
		    counts == NULL || !cJSON_AddItemToObject(o, "counts", counts)) {
			cJSON_Delete(counts);
			goto cleanup;
		}
	}
	text = json_print(doc, NULL);
cleanup:
	cJSON_Delete(doc);
	return text;
}

int migrate_checkpoint_write(const struct migrate_checkpoint *cp, const char *path, char *why, size_t cap)
{
	char tmp[4096];
	char *text = migrate_checkpoint_print(cp);
	size_t len, off = 0;
	int fd = -1, rc = -1;

	if (text == NULL) {
		snprintf(why, cap, "out of memory");
		return -1;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(why, cap, "%s: path too long", path);
		goto cleanup;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(why, cap, "cannot write %s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	len = strlen(text);
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(why, cap, "cannot write %s: %s", tmp, strerror(errno));
			goto cleanup;
		}
		off += (size_t)n;
	}
	if (write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
		snprintf(why, cap, "cannot write %s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	if (close(fd) != 0) {
		fd = -1;
		snprintf(why, cap, "cannot write %s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		snprintf(why, cap, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto cleanup;
	}
	rc = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	free(text);
	return rc;
}

struct migrate_segment *migrate_checkpoint_find(struct migrate_checkpoint *cp, int index)
{
	for (size_t i = 0; i < cp->len; i++)
		if (cp->segs[i].index == index)
			return &cp->segs[i];
	return NULL;
}

void migrate_checkpoint_cleanup(struct migrate_checkpoint *cp)
{
	for (size_t i = 0; i < cp->len; i++)
		cJSON_Delete(cp->segs[i].last_key);
	free(cp->segs);
	free(cp->table);
	free(cp->mode);
	memset(cp, 0, sizeof(*cp));
}
