/*
 * Expression scanning: which attributes DynamoDB expressions reference, which an update
 * writes, and projection extension and trimming.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/ddb_expr.h"

/* What the callback saw, as "name:w:n" lines joined with ' '. */
struct seen {
	char text[1024];
	const char *stop_at;    /* refuse this name */
};

static int record(void *arg, const char *name, size_t len, int written, int nested, struct ds_error *err)
{
	struct seen *s = arg;
	size_t n = strlen(s->text);

	if (s->stop_at != NULL && strlen(s->stop_at) == len && memcmp(s->stop_at, name, len) == 0) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "refused %.*s", (int)len, name);
		return -1;
	}
	snprintf(s->text + n, sizeof(s->text) - n, "%s%.*s:%d:%d", n ? " " : "", (int)len, name,
		 written, nested);
	return 0;
}

static const char *scan(enum ddb_expr_kind kind, const char *expr, const char *names_json,
			struct seen *s, struct ds_error *err)
{
	cJSON *names = names_json ? cJSON_Parse(names_json) : NULL;
	int rc;

	memset(s->text, 0, sizeof(s->text));
	memset(err, 0, sizeof(*err));
	rc = ddb_expr_scan(kind, "Param", expr, names, record, s, err);
	cJSON_Delete(names);
	return rc == 0 ? s->text : NULL;
}

static void test_conditions(void **state)
{
	struct seen s = { .stop_at = NULL };
	struct ds_error err;

	(void)state;
	assert_string_equal(scan(DDB_EXPR_CONDITION, "attribute_exists(pk) AND NOT begins_with(#s, :p)",
				 "{\"#s\":\"sort\"}", &s, &err), "pk:0:0 sort:0:0");
	assert_string_equal(scan(DDB_EXPR_CONDITION, "price BETWEEN :lo AND :hi or tags.color IN (:a, :b)",
				 NULL, &s, &err), "price:0:0 tags:0:1");
	assert_string_equal(scan(DDB_EXPR_CONDITION, "size(#l[2].x) > :n AND attribute_type(a, :t)",
				 "{\"#l\":\"my.list\"}", &s, &err), "my.list:0:1 a:0:0");
	assert_string_equal(scan(DDB_EXPR_CONDITION, "(a <> :v) and (b<=:w)", NULL, &s, &err),
			    "a:0:0 b:0:0");
	assert_string_equal(scan(DDB_EXPR_CONDITION, "pk = :pk AND begins_with(sk, :pre)", NULL, &s, &err),
			    "pk:0:0 sk:0:0");
}

static void test_updates(void **state)
{
	struct seen s = { .stop_at = NULL };
	struct ds_error err;

	(void)state;
	assert_string_equal(scan(DDB_EXPR_UPDATE, "SET a = :v, #b = if_not_exists(#b, :z) + :one "
				 "REMOVE c, d[1] add e :n delete f :s", "{\"#b\":\"bee\"}", &s, &err),
			    "a:1:0 bee:1:0 bee:0:0 c:1:0 d:1:1 e:1:0 f:1:0");
	assert_string_equal(scan(DDB_EXPR_UPDATE, "set list = list_append(list, :x), m.k = src",
				 NULL, &s, &err), "list:1:0 list:0:0 m:1:1 src:0:0");
}

static void test_projection_scan(void **state)
{
	struct seen s = { .stop_at = NULL };
	struct ds_error err;

	(void)state;
	assert_string_equal(scan(DDB_EXPR_PROJECTION, "a, #b.c, d[0]", "{\"#b\":\"B\"}", &s, &err),
			    "a:0:0 B:0:1 d:0:1");
}

static void test_errors(void **state)
{
	struct seen s = { .stop_at = NULL };
	struct ds_error err;
	char big[DDB_EXPR_MAX + 10];

	(void)state;
	assert_null(scan(DDB_EXPR_CONDITION, "#x = :v", "{\"#y\":\"a\"}", &s, &err));
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "Param"));
	assert_non_null(strstr(err.message, "#x"));
	assert_null(scan(DDB_EXPR_CONDITION, "(a = :v", NULL, &s, &err));
	assert_non_null(strstr(err.message, "unbalanced '('"));
	assert_null(scan(DDB_EXPR_CONDITION, "a = :v)", NULL, &s, &err));
	assert_non_null(strstr(err.message, "unbalanced ')'"));
	assert_null(scan(DDB_EXPR_CONDITION, "a = $v", NULL, &s, &err));
	assert_non_null(strstr(err.message, "unexpected character at offset 4"));
	assert_null(scan(DDB_EXPR_CONDITION, "   ", NULL, &s, &err));
	assert_non_null(strstr(err.message, "can not be empty"));
	assert_null(scan(DDB_EXPR_UPDATE, "SET a :v", NULL, &s, &err));
	assert_non_null(strstr(err.message, "needs '='"));
	assert_null(scan(DDB_EXPR_UPDATE, "SET a = :v SET b = :w", NULL, &s, &err));
	assert_non_null(strstr(err.message, "twice"));
	assert_null(scan(DDB_EXPR_UPDATE, "a = :v", NULL, &s, &err));
	assert_non_null(strstr(err.message, "expected SET"));
	assert_null(scan(DDB_EXPR_PROJECTION, "a b", NULL, &s, &err));
	assert_null(scan(DDB_EXPR_PROJECTION, "a,", NULL, &s, &err));
	assert_null(scan(DDB_EXPR_CONDITION, "a.[1] = :v", NULL, &s, &err));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_null(scan(DDB_EXPR_CONDITION, big, NULL, &s, &err));
	assert_non_null(strstr(err.message, "longer than"));
	/* The callback's refusal stops the scan with its error. */
	s.stop_at = "secret";
	assert_null(scan(DDB_EXPR_CONDITION, "a = :v OR secret = :w", NULL, &s, &err));
	assert_string_equal(err.message, "refused secret");
}

static void test_projection_extend_strip(void **state)
{
	struct ddb_projection p;
	struct ds_error err = { 0 };
	cJSON *names = cJSON_Parse("{\"#ds0\":\"taken\",\"#n\":\"name\"}");
	const char *extra[] = { "name", "email", "aws_dbe_head" };
	char *expr;
	cJSON *item;

	(void)state;
	assert_int_equal(ddb_projection_parse(" #n , tags[1] ", names, &p, &err), 0);
	assert_int_equal(p.len, 2);
	assert_string_equal(p.paths[0].name, "name");
	assert_string_equal(p.paths[0].text, "#n");
	assert_string_equal(p.paths[1].text, "tags[1]");
	assert_true(p.paths[1].nested);
	expr = ddb_projection_extend(&p, extra, 3, &names, &err);
	/* name is already projected whole; #ds0 is the request's own and is not reused. */
	assert_string_equal(expr, "#n, tags[1], #ds1, #ds2");
	assert_string_equal(cJSON_GetObjectItem(names, "#ds1")->valuestring, "email");
	assert_string_equal(cJSON_GetObjectItem(names, "#ds2")->valuestring, "aws_dbe_head");
	assert_string_equal(cJSON_GetObjectItem(names, "#ds0")->valuestring, "taken");
	free(expr);
	item = cJSON_Parse("{\"name\":{\"S\":\"a\"},\"tags\":{\"L\":[]},\"email\":{\"S\":\"e\"}}");
	ddb_projection_strip(&p, item);
	assert_non_null(cJSON_GetObjectItem(item, "name"));
	assert_non_null(cJSON_GetObjectItem(item, "tags"));
	assert_null(cJSON_GetObjectItem(item, "email"));
	cJSON_Delete(item);
	ddb_projection_cleanup(&p);
	cJSON_Delete(names);
	/* Without names, a new object is made for the placeholders. */
	names = NULL;
	assert_int_equal(ddb_projection_parse("a", NULL, &p, &err), 0);
	expr = ddb_projection_extend(&p, extra + 1, 1, &names, &err);
	assert_string_equal(expr, "a, #ds0");
	assert_string_equal(cJSON_GetObjectItem(names, "#ds0")->valuestring, "email");
	free(expr);
	cJSON_Delete(names);
	ddb_projection_cleanup(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_updates),
		cmocka_unit_test(test_projection_scan),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_projection_extend_strip),
	};
	return cmocka_run_group_tests_name("ddb_expr", tests, NULL, NULL);
}
