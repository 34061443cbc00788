/*
 * The logger (proxy/base/log.c): values a client chose are quoted and escaped (log_value), and
 * every line written stays one line whatever the message holds, in text and JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "proxy/base/log.h"

static void test_value_bare(void **state)
{
	char out[64];

	(void)state;
	assert_string_equal(log_value("users", out, sizeof(out)), "users");
	assert_string_equal(log_value("arn:aws:dynamodb:us-east-1:1:table/t.1-x_y", out, sizeof(out)),
			    "arn:aws:dynamodb:us-east-1:1:table/t.1-x_y");
	assert_string_equal(log_value("", out, sizeof(out)), "-");
	assert_string_equal(log_value(NULL, out, sizeof(out)), "-");
}

static void test_value_quoted(void **state)
{
	char out[64];

	(void)state;
	assert_string_equal(log_value("a b=c", out, sizeof(out)), "\"a b=c\"");
	assert_string_equal(log_value("x\n2030 info forged", out, sizeof(out)),
			    "\"x\\x0a2030 info forged\"");
	assert_string_equal(log_value("q\"\\", out, sizeof(out)), "\"q\\\"\\\\\"");
	assert_string_equal(log_value("\x7f\xc3\xa9", out, sizeof(out)), "\"\\x7f\\xc3\\xa9\"");
}

static void test_value_cut(void **state)
{
	char out[16];
	const char *v;

	(void)state;
	v = log_value("a table name with spaces that is long", out, sizeof(out));
	assert_true(strlen(v) < sizeof(out));
	assert_int_equal(v[0], '"');
	assert_int_equal(v[strlen(v) - 1], '"');
	assert_non_null(strstr(v, "..."));
	/* A bare value longer than out is quoted and cut, never returned as it is. */
	v = log_value("abcdefghijklmnopqrstuvwxyz", out, sizeof(out));
	assert_true(strlen(v) < sizeof(out));
	assert_string_equal(log_value("x y", out, 4), "-");
}

/* Runs fn with stderr sent to a pipe; returns what was written (static buffer). */
static const char *captured(void (*fn)(void))
{
	static char buf[8192];
	int fds[2], saved;
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	saved = dup(STDERR_FILENO);
	dup2(fds[1], STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void log_forged(void)
{
	log_warn("table=%s end", "x\n2030-01-01T00:00:00.000Z info  forged\r\x1b[2J\x7f");
}

static void test_text_line_stays_one_line(void **state)
{
	const char *out;

	(void)state;
	log_set_json(0);
	out = captured(log_forged);
	assert_non_null(strstr(out, "table=x\\x0a2030-01-01T00:00:00.000Z info  forged\\x0d\\x1b[2J\\x7f end\n"));
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	assert_null(strchr(out, '\r'));
}

static void test_json_line_is_json(void **state)
{
	const char *out;
	cJSON *doc;
	const cJSON *msg;

	(void)state;
	log_set_json(1);
	out = captured(log_forged);
	log_set_json(0);
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	doc = cJSON_Parse(out);
	assert_non_null(doc);
	msg = cJSON_GetObjectItemCaseSensitive(doc, "msg");
	assert_true(cJSON_IsString(msg));
	assert_string_equal(msg->valuestring,
			    "table=x\n2030-01-01T00:00:00.000Z info  forged\r\x1b[2J\x7f end");
	assert_non_null(strstr(out, "\\u007f"));
	cJSON_Delete(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value_bare),
		cmocka_unit_test(test_value_quoted),
		cmocka_unit_test(test_value_cut),
		cmocka_unit_test(test_text_line_stays_one_line),
		cmocka_unit_test(test_json_line_is_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
