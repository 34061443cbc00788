/*
 * Helpers shared by the config_*.c files: the problem list (one message per condition, each
 * naming its key path), printable key paths, and typed getters over cJSON that report their
 * own problems so a caller can keep going and every problem of a file is found in one pass.
 */
#include "config/config.h"
#include "config/config_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* ---- problems ---------------------------------------------------------------------- */

/* Appends one finished message; takes ownership of msg. */
static void problems_push(struct cfg_ctx *ctx, char *msg)
{
	struct config_problems *p = ctx->problems;

	if (msg == NULL) {
		ctx->oom = 1;
		return;
	}
	if (p->len > CFG_PROBLEMS_MAX) {
		free(msg);
		return;
	}
	if (p->len == CFG_PROBLEMS_MAX) {
		free(msg);
		msg = strdup("config: too many problems; the rest are not shown");
		if (msg == NULL) {
			ctx->oom = 1;
			return;
		}
	}
	/* Problems are few (capped above): growing one slot at a time is fine. */
	char **grown = realloc(p->msgs, (p->len + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(msg);
		ctx->oom = 1;
		return;
	}
	p->msgs = grown;
	p->msgs[p->len++] = msg;
}

static void problem_v(struct cfg_ctx *ctx, const char *subject, int quoted, const char *fmt,
		      va_list ap)
{
	char *reason = NULL;
	char *msg = NULL;

	if (vasprintf(&reason, fmt, ap) < 0) {
		ctx->oom = 1;
		return;
	}
	if (asprintf(&msg, quoted ? "config: \"%s\": %s" : "config: %s: %s", subject, reason) < 0)
		msg = NULL;
	free(reason);
	problems_push(ctx, msg);
}

void cfg_problem(struct cfg_ctx *ctx, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	problem_v(ctx, path, 1, fmt, ap);
	va_end(ap);
}

void cfg_problem_at(struct cfg_ctx *ctx, const char *subject, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	problem_v(ctx, subject, 0, fmt, ap);
	va_end(ap);
}

void cfg_problem_subject(struct cfg_ctx *ctx, const char *path, int is_env, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	problem_v(ctx, path, !is_env, fmt, ap);
	va_end(ap);
}

int config_problems_add(struct config_problems *p, const char *fmt, ...)
{
	char *msg = NULL;
	char **grown;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	grown = realloc(p->msgs, (p->len + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(msg);
		return -1;
	}
	p->msgs = grown;
	p->msgs[p->len++] = msg;
	return 0;
}

void config_problems_free(struct config_problems *problems)
{
	if (problems == NULL)
		return;
	for (size_t i = 0; i < problems->len; i++)
		free(problems->msgs[i]);
	free(problems->msgs);
	problems->msgs = NULL;
	problems->len = 0;
}

int config_print_problems(const struct config_problems *p, FILE *out)
{
	if (p == NULL)
		return 0;
	for (size_t i = 0; i < p->len; i++) {
		if (fprintf(out, "%s\n", p->msgs[i]) < 0)
			return -1;
	}
	return (int)(p->len > INT_MAX ? INT_MAX : p->len);
}

/* ---- small helpers ------------------------------------------------------------------- */

/* Appends s to out at *o, escaping control bytes, quotes and backslashes, cut at max. */
static void escape_into(char *out, size_t size, size_t *o, const char *s, size_t max)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++) {
		unsigned char c = (unsigned char)*s;
		if (n == max) {
			if (*o + 4 < size) {
				memcpy(out + *o, "...", 3);
				*o += 3;
			}
			break;
		}
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
			if (*o + 5 >= size)
				break;
			*o += (size_t)snprintf(out + *o, size - *o, "\\x%02x", c);
		} else {
			if (*o + 2 >= size)
				break;
			out[(*o)++] = (char)c;
		}
	}
	out[*o] = '\0';
}

void cfg_path(char *out, size_t size, const char *parent, const char *key)
{
	size_t o = 0;

	out[0] = '\0';
	if (parent != NULL && parent[0] != '\0') {
		size_t n = strlen(parent);
		if (n + 2 > size)
			n = size - 2;
		memcpy(out, parent, n);
		out[n] = '.';
		o = n + 1;
		out[o] = '\0';
	}
	escape_into(out, size, &o, key, 64);
}

void cfg_quote(char *out, size_t size, const char *s)
{
	size_t o = 0;

	out[0] = '\0';
	escape_into(out, size, &o, s, 80);
}

char *cfg_strdup(struct cfg_ctx *ctx, const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		ctx->oom = 1;
	return d;
}

char *cfg_resolve_path(struct cfg_ctx *ctx, const char *p)
{
	char *out = NULL;

	if (p[0] == '/' || ctx->dir == NULL)
		return cfg_strdup(ctx, p);
	if (asprintf(&out, "%s/%s", ctx->dir, p) < 0) {
		ctx->oom = 1;
		return NULL;
	}
	return out;
}

int cfg_read_file(const char *path, size_t max, unsigned char **out, size_t *len,
		  char *why, size_t why_len)
{
	struct stat st;
	unsigned char *buf = NULL;
	size_t got = 0;
	int fd = -1;
	int rc = -1;

	*out = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO named as a key file must not hang `dynaseal check`; it is refused
	 * below as not a regular file. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(why, why_len, "%s", strerror(errno));
		goto cleanup;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(why, why_len, "%s", strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, why_len, "not a regular file");
		goto cleanup;
	}
	if ((unsigned long long)st.st_size > max) {
		snprintf(why, why_len, "%lld bytes, larger than the %zu allowed",
			 (long long)st.st_size, max);
		goto cleanup;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		snprintf(why, why_len, "out of memory");
		goto cleanup;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(why, why_len, "%s", strerror(errno));
			goto cleanup;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
	rc = 0;
cleanup:
	if (buf != NULL) {
		/* The file may be a key file: never leave a part of it behind. */
		OPENSSL_cleanse(buf, (size_t)st.st_size + 1);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int cfg_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int r = n == 0 ? 0 : memcmp(a, b, n);

	if (r != 0)
		return r;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* ---- typed getters ----------------------------------------------------------------- */

const char *cfg_type_name(const cJSON *item)
{
	if (cJSON_IsString(item))
		return "a string";
	if (cJSON_IsNumber(item))
		return "a number";
	if (cJSON_IsBool(item))
		return "a boolean";
	if (cJSON_IsNull(item))
		return "null";
	if (cJSON_IsArray(item))
		return "an array";
	if (cJSON_IsObject(item))
		return "an object";
	return "an unknown value";
}

const cJSON *cfg_member(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* Edit distance of two short keys, for "did you mean"; large when either is long. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* Reports an unknown key, suggesting the closest allowed one or listing them all. */
static void unknown_key(struct cfg_ctx *ctx, const char *path, const char *key,
			const char *const *allowed)
{
	const char *best = NULL;
	size_t best_d = 3;
	char list[512];
	size_t o = 0;

	for (size_t i = 0; allowed[i] != NULL; i++) {
		size_t d = edit_distance(key, allowed[i]);
		if (d < best_d) {
			best_d = d;
			best = allowed[i];
		}
	}
	if (best != NULL) {
		cfg_problem(ctx, path, "unknown key; did you mean \"%s\"?", best);
		return;
	}
	list[0] = '\0';
	for (size_t i = 0; allowed[i] != NULL && o < sizeof(list); i++) {
		int n = snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", allowed[i]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
	cfg_problem(ctx, path, "unknown key; expected one of: %s", list);
}

int cfg_check_keys(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
		   const char *const *allowed)
{
	int found = 0;
	char kp[CFG_PATH_MAX];

	for (const cJSON *c = obj->child; c != NULL; c = c->next) {
		const char *key = c->string != NULL ? c->string : "";
		int known = allowed == NULL;

		cfg_path(kp, sizeof(kp), path, key);
		for (size_t i = 0; !known && allowed[i] != NULL; i++)
			known = strcmp(key, allowed[i]) == 0;
		if (!known) {
			unknown_key(ctx, kp, key, allowed);
			found++;
			continue;
		}
		/* cJSON keeps both copies of a repeated key and lookups see the first: the second
		 * would be silently ignored, so it is a problem. */
		for (const cJSON *prev = obj->child; prev != c; prev = prev->next) {
			if (prev->string != NULL && strcmp(prev->string, key) == 0) {
				cfg_problem(ctx, kp, "duplicate key; each key may appear only once");
				found++;
				break;
			}
		}
	}
	return found;
}

enum cfg_get cfg_get_string(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
			    const char *key, int required, const char **out)
{
	char kp[CFG_PATH_MAX];
	const cJSON *item = cfg_member(obj, key);

	*out = NULL;
	cfg_path(kp, sizeof(kp), path, key);
	if (item == NULL) {
		if (required)
			cfg_problem(ctx, kp, "missing required key");
		return CFG_ABSENT;
	}
	if (!cJSON_IsString(item) || item->valuestring == NULL) {
		cfg_problem(ctx, kp, "expected a string, got %s", cfg_type_name(item));
		return CFG_BAD;
	}
	if (item->valuestring[0] == '\0') {
		cfg_problem(ctx, kp, "must not be empty");
		return CFG_BAD;
	}
	*out = item->valuestring;
	return CFG_OK;
}

enum cfg_get cfg_get_int(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
			 const char *key, long long min, long long max, long long *out)
{
	char kp[CFG_PATH_MAX];
	const cJSON *item = cfg_member(obj, key);
	double d;

	cfg_path(kp, sizeof(kp), path, key);
	if (item == NULL)
		return CFG_ABSENT;
	if (!cJSON_IsNumber(item)) {
		cfg_problem(ctx, kp, "expected an integer, got %s", cfg_type_name(item));
		return CFG_BAD;
	}
	d = item->valuedouble;
	if (!isfinite(d) || d != floor(d)) {
		cfg_problem(ctx, kp, "expected an integer, got %.17g", d);
		return CFG_BAD;
	}
	if (d < (double)min || d > (double)max) {
		cfg_problem(ctx, kp, "%.17g is out of range; expected %lld to %lld", d, min, max);
		return CFG_BAD;
	}
	*out = (long long)d;
	return CFG_OK;
}

void cfg_get_ints(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
		  const struct cfg_int_field *fields, size_t n, struct config *cfg)
{
	for (size_t i = 0; i < n; i++) {
		const struct cfg_int_field *f = &fields[i];
		unsigned char *at = (unsigned char *)cfg + f->offset;
		long long v;

		if (cfg_get_int(ctx, obj, path, f->key, f->min, f->max, &v) != CFG_OK)
			continue;
		if (f->is_size)
			*(size_t *)(void *)at = (size_t)v;
		else
			*(int *)(void *)at = (int)v;
	}
}

const cJSON *cfg_get_object(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
			    const char *key)
{
	char kp[CFG_PATH_MAX];
	const cJSON *item = cfg_member(obj, key);

	if (item == NULL)
		return NULL;
	if (!cJSON_IsObject(item)) {
		cfg_path(kp, sizeof(kp), path, key);
		cfg_problem(ctx, kp, "expected an object, got %s", cfg_type_name(item));
		return NULL;
	}
	return item;
}
