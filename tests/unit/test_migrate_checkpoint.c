/*
 * The checkpoint of `dynaseal migrate` (proxy/migrate_checkpoint.c): a round trip through the
 * file, the exact refusal of each malformed field, and counts added up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxy/migrate_checkpoint.h"

static const char *refusal(const char *text)
{
	static char why[512];
	struct migrate_checkpoint cp;

	why[0] = '\0';
	if (migrate_checkpoint_parse(text, strlen(text), &cp, why, sizeof(why)) == 0) {
		migrate_checkpoint_cleanup(&cp);
		return "(parsed)";
	}
	assert_null(cp.segs);
	return why;
}

static void test_round_trip_through_the_file(void **state)
{
	const char *text = "{\"version\":1,\"table\":\"users\",\"mode\":\"migrate\",\"total_segments\":4,"
		"\"segments\":[{\"segment\":2,\"done\":false,\"last_key\":{\"pk\":{\"S\":\"k9\"},\"sk\":{\"N\":\"7\"}},"
		"\"counts\":{\"scanned\":100,\"converted\":97,\"skipped\":2,\"legacy\":1,\"conflicts\":5,"
		"\"consumed_rcu\":12.5,\"consumed_wcu\":102}},{\"segment\":0,\"done\":true}]}";
	char path[] = "/tmp/test_migrate_checkpoint_XXXXXX", why[512], buf[4096];
	struct migrate_checkpoint cp, again;
	FILE *f;
	size_t n;
	int fd;

	(void)state;
	assert_int_equal(migrate_checkpoint_parse(text, strlen(text), &cp, why, sizeof(why)), 0);
	assert_string_equal(cp.table, "users");
	assert_int_equal(cp.total_segments, 4);
	assert_int_equal(cp.len, 2);
	assert_int_equal(migrate_checkpoint_find(&cp, 2)->counts.converted, 97);
	assert_int_equal(migrate_checkpoint_find(&cp, 2)->counts.conflicts, 5);
	assert_true(migrate_checkpoint_find(&cp, 0)->done);
	assert_null(migrate_checkpoint_find(&cp, 0)->last_key);
	assert_null(migrate_checkpoint_find(&cp, 1));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(migrate_checkpoint_write(&cp, path, why, sizeof(why)), 0);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	unlink(path);
	assert_int_equal(migrate_checkpoint_parse(buf, n, &again, why, sizeof(why)), 0);
	assert_true(cJSON_Compare(migrate_checkpoint_find(&again, 2)->last_key,
				  migrate_checkpoint_find(&cp, 2)->last_key, 1));
	assert_true(migrate_checkpoint_find(&again, 2)->counts.rcu == 12.5);
	assert_int_equal(migrate_checkpoint_find(&again, 2)->counts.legacy, 1);
	migrate_checkpoint_cleanup(&again);
	/* A folder that is not there: the temporary file cannot be made, the message says so. */
	assert_int_equal(migrate_checkpoint_write(&cp, "/nonexistent/cp.json", why, sizeof(why)), -1);
	assert_string_equal(why, "cannot write /nonexistent/cp.json.tmp: No such file or directory");
	migrate_checkpoint_cleanup(&cp);
}

static void test_refused(void **state)
{
	(void)state;
	assert_string_equal(refusal("[]"), "not a JSON object");
	assert_string_equal(refusal("{\"version\":2}"), "\"version\" is not 1");
	assert_string_equal(refusal("{\"version\":1,\"table\":\"\"}"), "\"table\" is not a table name");
	assert_string_equal(refusal("{\"version\":1,\"table\":\"t\",\"mode\":\"fix\"}"),
			    "\"mode\" is not \"migrate\", \"dry-run\", \"verify\", \"reencrypt\", \"reencrypt-dry-run\" or \"reencrypt-verify\"");
	assert_string_equal(refusal("{\"version\":1,\"table\":\"t\",\"mode\":\"verify\",\"total_segments\":0}"),
			    "\"total_segments\" is not a number from 1 to 1000000");
	assert_string_equal(refusal("{\"version\":1,\"table\":\"t\",\"mode\":\"verify\",\"total_segments\":1,"
				    "\"segments\":[{},{}]}"),
			    "\"segments\" is not a list of at most total_segments segments");
	assert_string_equal(refusal("{\"version\":1,\"table\":\"t\",\"mode\":\"verify\",\"total_segments\":2,"
				    "\"segments\":[{\"segment\":1.5}]}"),
			    "segments[0].segment is not a number from 0 to 1");
	assert_string_equal(refusal("{\"version\":1,\"table\":\"t\",\"mode\":\"verify\",\"total_segments\":2,"
				    "\"segments\":[{\"segment\":1,\"done\":true},{\"segment\":1,\"done\":true}]}"),
			    "segment 1 is listed twice");
	assert_string_equal(refusal("{\"version\":1,\"table\":\"t\",\"mode\":\"verify\",\"total_segments\":2,"
				    "\"segments\":[{\"segment\":1,\"done\":1}]}"),
			    "segment 1: \"done\" is not true or false");
	assert_string_equal(refusal("{\"version\":1,\"table\":\"t\",\"mode\":\"verify\",\"total_segments\":2,"
				    "\"segments\":[{\"segment\":1,\"done\":false,\"last_key\":"
				    "{\"pk\":{\"S\":\"a\"},\"pk\":{\"S\":\"b\"}}}]}"),
			    "segment 1: \"last_key\" is not a table key (attribute values of type S, N or B)");
	assert_string_equal(refusal("{\"version\":1,\"table\":\"t\",\"mode\":\"verify\",\"total_segments\":2,"
				    "\"segments\":[{\"segment\":1,\"done\":false,\"last_key\":{\"pk\":{\"M\":{}}}}]}"),
			    "segment 1: \"last_key\" is not a table key (attribute values of type S, N or B)");
	assert_string_equal(refusal("{\"version\":1,\"table\":\"t\",\"mode\":\"verify\",\"total_segments\":2,"
				    "\"segments\":[{\"segment\":0,\"done\":false,\"counts\":{\"scanned\":-1}}]}"),
			    "segment 0: counts.scanned is not a whole number from 0");
}

static void test_counts_add(void **state)
{
	struct migrate_counts a = { .scanned = 1, .converted = 2, .rcu = 0.5 };
	struct migrate_counts b = { .scanned = 10, .failed = 3, .conflicts = 4, .wcu = 2 };

	(void)state;
	migrate_counts_add(&a, &b);
	assert_int_equal(a.scanned, 11);
	assert_int_equal(a.converted, 2);
	assert_int_equal(a.failed, 3);
	assert_int_equal(a.conflicts, 4);
	assert_true(a.rcu == 0.5 && a.wcu == 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_through_the_file),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_counts_add),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
