/*
 * libFuzzer target for the DynamoDB expression parser (proxy/ddb/ddb_expr.c), which reads
 * ConditionExpression, FilterExpression, KeyConditionExpression, UpdateExpression and
 * ProjectionExpression straight from client requests.  The first byte picks the grammar, the
 * rest is the expression.  Checked beyond "no crash": every failure carries a 400
 * ValidationException (or a 500 when out of memory), callbacks get sane arguments, and a
 * projection that parses extends to an expression that parses again with every extra
 * attribute projected whole; the placeholders read at once (ddb_expr_refs) are those
 * ddb_expr_uses() finds one at a time.
 *   clang -fsanitize=fuzzer,address,undefined -I. tests/fuzz/fuzz_ddb_expr.c proxy/ddb/ddb_expr.c \
 *     proxy/base/error.c proxy/base/log.c $(pkg-config --cflags --libs libcjson libevent openssl)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/ddb/ddb_expr.h"
#include "proxy/ddb/ddb_expr_lex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Placeholders the inputs may use, including one that looks like dynaseal's own. */
static const char names_json[] =
	"{\"#a\":\"a\",\"#b\":\"b.c\",\"#ds0\":\"taken\",\"#Pr\":\"Price\",\"#e\":\"\"}";

/* What the callback saw: checks its arguments and counts paths. */
struct fuzz_seen {
	enum ddb_expr_kind kind;  /* grammar scanned */
	size_t paths;             /* callbacks so far */
};

static int check_cb(void *arg, const char *name, size_t len, int written, int nested,
		    struct ds_error *err)
{
	struct fuzz_seen *s = arg;

	(void)err;
	if (name == NULL || (written != 0 && written != 1) || (nested != 0 && nested != 1))
		abort();
	if (written && s->kind != DDB_EXPR_UPDATE)
		abort();
	if (len > DDB_EXPR_MAX || memchr(name, '\0', len) != NULL)
		abort();
	s->paths++;
	return 0;
}

static void check_failure(int rc, const struct ds_error *err)
{
	if (rc != -1 || err->message[0] == '\0')
		abort();
	if (!(err->status == 400 && strcmp(err->type, DS_ERR_VALIDATION) == 0) && err->status != 500)
		abort();
}

/* A projection that parsed: extend it, re-parse the result, strip an item with it. */
static void check_projection(const char *expr, cJSON *names, size_t paths)
{
	static const char *const extra[] = { "a", "b.c", "aws_dbe_head", "aws_dbe_foot", "Price" };
	struct ddb_projection p;
	struct ddb_projection again;
	struct ds_error err = { 0 };
	cJSON *item;
	char *ext;

	if (ddb_projection_parse(expr, names, &p, &err) != 0) {
		/* Beyond the grammar, only paths that overlap or conflict are refused. */
		if (err.status != 400 || strstr(err.message, "Two document paths") == NULL)
			abort();
		return;
	}
	if (p.len != paths)
		abort();
	ext = ddb_projection_extend(&p, extra, sizeof(extra) / sizeof(extra[0]), &names, &err);
	if (ext == NULL) {
		check_failure(-1, &err);
		ddb_projection_cleanup(&p);
		return;
	}
	/* Longer than the scanner takes only when the input was already near the limit. */
	if (strlen(ext) <= DDB_EXPR_MAX) {
		if (ddb_projection_parse(ext, names, &again, &err) != 0)
			abort();
		for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
			int whole = 0;
			for (size_t j = 0; j < again.len && !whole; j++)
				whole = !again.paths[j].nested && strcmp(again.paths[j].name, extra[i]) == 0;
			if (!whole)
				abort();
		}
		ddb_projection_cleanup(&again);
	}
	free(ext);
	item = cJSON_Parse("{\"a\":{\"S\":\"1\"},\"zz\":{\"N\":\"2\"},\"b.c\":{\"BOOL\":true}}");
	if (item != NULL) {
		ddb_projection_strip(&p, item);
		cJSON_Delete(item);
	}
	ddb_projection_cleanup(&p);
}

/* The placeholders read at once agree with ddb_expr_uses() reading for each. */
static void check_refs(const char *expr)
{
	static const char *const probe[] = { "#a", "#b", ":v", ":a", "#ds0", ":", "#", "a" };
	const char *one[] = { expr };
	struct ddb_expr_refs used;
	char ph[64];

	if (ddb_expr_refs_collect(&used, one, 1) != 0)
		return;
	for (size_t i = 0; i < used.n; i++) {
		if (used.v[i].len >= sizeof(ph))
			continue;
		memcpy(ph, used.v[i].s, used.v[i].len);
		ph[used.v[i].len] = '\0';
		if ((ph[0] != '#' && ph[0] != ':') || !ddb_expr_uses(expr, ph) ||
		    !ddb_expr_refs_has(&used, ph))
			abort();
	}
	for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++)
		if (ddb_expr_refs_has(&used, probe[i]) != ddb_expr_uses(expr, probe[i]))
			abort();
	ddb_expr_refs_release(&used);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_seen seen = { 0 };
	struct ds_error err = { 0 };
	cJSON *names;
	char *expr;
	int rc;

	if (size < 1 || size > DDB_EXPR_MAX + 64)
		return 0;
	seen.kind = (enum ddb_expr_kind)(data[0] % 3);
	/* The parser is given a C string, as cJSON hands it over; an embedded NUL ends it. */
	expr = malloc(size);
	if (expr == NULL)
		return 0;
	memcpy(expr, data + 1, size - 1);
	expr[size - 1] = '\0';
	names = cJSON_Parse(names_json);
	if (names == NULL)
		abort();
	check_refs(expr);
	rc = ddb_expr_scan(seen.kind, "FuzzExpression", expr, names, check_cb, &seen, &err);
	if (rc != 0)
		check_failure(rc, &err);
	else if (err.status != 0 || (seen.paths == 0 && seen.kind != DDB_EXPR_CONDITION))
		abort();   /* a condition may compare values only (":a = :b"); the others name paths */
	else if (seen.kind == DDB_EXPR_PROJECTION)
		check_projection(expr, names, seen.paths);
	cJSON_Delete(names);
	free(expr);
	return 0;
}
