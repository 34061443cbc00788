/*
 * Shared by the config unit tests: loading a config written with single quotes, and asserting
 * it loads or fails with exactly one problem (its key path and reason).
 */
#ifndef DS_TEST_CONFIG_EXPECT_H
#define DS_TEST_CONFIG_EXPECT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

#define ARN "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
#define UP "'upstream':{'endpoint':'https://dynamodb.us-east-1.amazonaws.com'}"
#define KMS_KR "'keyrings':{'k':{'type':'aws-kms','key_id':'" ARN "'}}"
/* base64 of the bytes 0x00..0x1f, and of 0x00..0x0f. */
#define B64_32 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define B64_16 "AAECAwQFBgcICQoLDA0ODw=="
#define UUID "1b4e28ba-2fa1-11d2-883f-0016d3cca427"

static char g_dir[64] __attribute__((unused));        /* the temp folder of this run */
static char g_cfgpath[128] __attribute__((unused));   /* g_dir/dynaseal.json: relative paths resolve in g_dir */

/* ---- helpers --------------------------------------------------------------------------- */

/* Tests write JSON with single quotes for readability; this turns them into double quotes. */
__attribute__((unused)) static char *dq(const char *s)
{
	char *out = strdup(s);

	assert_non_null(out);
	for (char *p = out; *p != '\0'; p++) {
		if (*p == '\'')
			*p = '"';
	}
	return out;
}

__attribute__((unused)) static struct config *parse_at(const char *json_sq, const char *path, struct config_problems *p)
{
	char *json = dq(json_sq);
	struct config *cfg = config_parse(json, strlen(json), path, p);

	free(json);
	return cfg;
}

__attribute__((unused)) static struct config *parse(const char *json_sq, struct config_problems *p)
{
	return parse_at(json_sq, g_cfgpath, p);
}

__attribute__((unused)) static void dump(const struct config_problems *p)
{
	for (size_t i = 0; i < p->len; i++)
		print_message("  problem %zu: %s\n", i, p->msgs[i]);
}

__attribute__((unused)) static int has_problem(const struct config_problems *p, const char *sub)
{
	for (size_t i = 0; i < p->len; i++) {
		if (strstr(p->msgs[i], sub) != NULL)
			return 1;
	}
	return 0;
}

/* Asserts that json fails with exactly one problem, which contains sub. */
#define EXPECT_ONE(json, sub) expect_one((json), (sub), __LINE__)
__attribute__((unused)) static void expect_one(const char *json, const char *sub, int line)
{
	struct config_problems p;
	struct config *cfg = parse(json, &p);

	if (cfg != NULL || p.len != 1 || !has_problem(&p, sub)) {
		print_message("line %d: expected exactly one problem containing [%s], got %zu:\n",
			      line, sub, p.len);
		dump(&p);
	}
	assert_null(cfg);
	assert_int_equal(p.len, 1);
	assert_true(has_problem(&p, sub));
	/* Every message has the documented shape. */
	assert_int_equal(strncmp(p.msgs[0], "config: ", 8), 0);
	config_problems_free(&p);
}

/* Asserts that json loads, and returns it. */
#define EXPECT_OK(json) expect_ok((json), __LINE__)
__attribute__((unused)) static struct config *expect_ok(const char *json, int line)
{
	struct config_problems p;
	struct config *cfg = parse(json, &p);

	if (cfg == NULL || p.len != 0) {
		print_message("line %d: expected no problems, got %zu:\n", line, p.len);
		dump(&p);
	}
	assert_non_null(cfg);
	assert_int_equal(p.len, 0);
	config_problems_free(&p);
	return cfg;
}

#endif
