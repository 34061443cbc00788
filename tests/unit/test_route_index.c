/*
 * Query and Scan of an index that does not project whole items (proxy/route_index.c), driven
 * through the route with the network stood in for (tests/harness/route_stubs.h): what goes
 * upstream (the index read, then BatchGetItem for the entries' items), what the application
 * gets back, and the exact refusal of every answer dynaseal cannot use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <event2/event.h>

#include "tests/harness/route_stubs.h"

#define ENTRY_KEY "\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}"
#define QUERY(extra) "{\"TableName\":\"users\",\"IndexName\":\"by-note\"," \
	"\"KeyConditionExpression\":\"note = :n\",\"ExpressionAttributeValues\":{\":n\":{\"S\":\"n\"}}" \
	extra "}"

static char *stored;            /* an item dynaseal encrypted ("secret": "topsecret-1") */
static char *forged;            /* the same with its signed "note" changed */

/* The Item of a PutItem dynaseal sends: an item it encrypted and signed. */
static char *seal(const char *item)
{
	char body[512];
	struct txn t;
	struct http_msg *req;
	cJSON *doc;
	char *out;

	snprintf(body, sizeof(body), "{\"TableName\":\"users\",\"Item\":%s}", item);
	req = start(&t, "PutItem", (const uint8_t *)body, strlen(body));
	assert_int_equal(route_request(&t), 1);
	assert_int_equal(sent, 1);
	doc = cJSON_Parse(sent_body);
	out = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(doc, "Item"));
	cJSON_Delete(doc);
	finish(&t, req);
	return out;
}

static int setup_items(void **state)
{
	cJSON *item;

	(void)state;
	setup();
	wk.base = event_base_new();
	stored = seal("{" ENTRY_KEY ",\"secret\":{\"S\":\"topsecret-1\"},\"note\":{\"S\":\"n\"},"
		      "\"free\":{\"S\":\"f\"}}");
	item = cJSON_Parse(stored);
	cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(item, "note"), "S",
					       cJSON_CreateString("forged"));
	forged = cJSON_PrintUnformatted(item);
	cJSON_Delete(item);
	return stored == NULL || forged == NULL || wk.base == NULL;
}

static int teardown_items(void **state)
{
	(void)state;
	cJSON_free(stored);
	cJSON_free(forged);
	event_base_free(wk.base);
	return 0;
}

/* Answers the call in flight with status and body. */
static void answer(int status, const char *body)
{
	harness_answer(status, body, strlen(body));
}

/* A BatchGetItem answer with items (a JSON list's inside), and UnprocessedKeys' Keys. */
static void answer_items(const char *items, const char *unprocessed)
{
	char body[8192];

	if (unprocessed != NULL)
		snprintf(body, sizeof(body), "{\"Responses\":{\"users\":[%s]},\"UnprocessedKeys\":"
			 "{\"users\":{\"Keys\":[%s]}}}", items, unprocessed);
	else
		snprintf(body, sizeof(body), "{\"Responses\":{\"users\":[%s]}}", items);
	answer(200, body);
}

static void assert_json(const cJSON *v, const char *want)
{
	char *text = cJSON_PrintUnformatted(v);

	assert_non_null(text);
	assert_string_equal(text, want);
	cJSON_free(text);
}

/* Sends a Query; returns what went upstream (parsed; the caller frees it). */
static cJSON *query(struct txn *t, struct http_msg **req, const char *body)
{
	*req = start(t, "Query", (const uint8_t *)body, strlen(body));
	assert_int_equal(route_request(t), 1);
	assert_int_equal(failed + responded, 0);
	assert_int_equal(sent, 1);
	return cJSON_Parse(sent_body);
}

static const char *member_string(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The BatchGetItem in flight: its one table's Keys and ConsistentRead. */
static const cJSON *batch_get(cJSON **doc, int *consistent)
{
	cJSON *ka;

	assert_int_equal(sent, 1);
	*doc = cJSON_Parse(sent_body);
	ka = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(*doc, "RequestItems"), "users");
	assert_non_null(ka);
	*consistent = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ka, "ConsistentRead"));
	return cJSON_GetObjectItemCaseSensitive(ka, "Keys");
}

static void test_keys_only_entry_answered_from_its_item(void **state)
{
	struct txn t;
	struct http_msg *req;
	cJSON *up = query(&t, &req, QUERY(""));
	cJSON *bg;
	int consistent;

	(void)state;
	/* A global index: the capacity by index tells it; the items are read consistently. */
	assert_string_equal(member_string(up, "ReturnConsumedCapacity"), "INDEXES");
	cJSON_Delete(up);
	answer(200, "{\"Count\":1,\"ScannedCount\":1,\"Items\":[{" ENTRY_KEY ",\"note\":{\"S\":\"n\"}}],"
	       "\"ConsumedCapacity\":{\"TableName\":\"users\",\"CapacityUnits\":0.5,\"Table\":"
	       "{\"CapacityUnits\":0},\"GlobalSecondaryIndexes\":{\"by-note\":{\"CapacityUnits\":0.5}}}}");
	assert_json(batch_get(&bg, &consistent), "[{" ENTRY_KEY "}]");
	assert_true(consistent);
	cJSON_Delete(bg);
	answer_items(stored, NULL);
	assert_int_equal(responded, 1);
	/* The item read, cut to what the entry had; no capacity, as the application asked none. */
	assert_string_equal(replied, "{\"Count\":1,\"ScannedCount\":1,\"Items\":[{\"pk\":{\"S\":\"a\"},"
			    "\"sk\":{\"S\":\"b\"},\"note\":{\"S\":\"n\"}}]}");
	finish(&t, req);
}

static void test_local_index_read_as_asked(void **state)
{
	struct txn t;
	struct http_msg *req;
	cJSON *bg, *up = query(&t, &req, QUERY(",\"ReturnConsumedCapacity\":\"TOTAL\""));
	int consistent;

	(void)state;
	assert_string_equal(member_string(up, "ReturnConsumedCapacity"), "INDEXES");
	cJSON_Delete(up);
	/* An INCLUDE entry with the encrypted attribute: answered decrypted from the item. */
	answer(200, "{\"Count\":1,\"ScannedCount\":1,\"Items\":[{" ENTRY_KEY ",\"secret\":{\"B\":\"AAAA\"}}],"
	       "\"ConsumedCapacity\":{\"TableName\":\"users\",\"CapacityUnits\":1,\"Table\":"
	       "{\"CapacityUnits\":0},\"LocalSecondaryIndexes\":{\"by-note\":{\"CapacityUnits\":1}}}}");
	batch_get(&bg, &consistent);
	assert_false(consistent);
	cJSON_Delete(bg);
	answer_items(stored, NULL);
	assert_string_equal(replied, "{\"Count\":1,\"ScannedCount\":1,\"Items\":[{\"pk\":{\"S\":\"a\"},"
			    "\"sk\":{\"S\":\"b\"},\"secret\":{\"S\":\"topsecret-1\"}}],\"ConsumedCapacity\":"
			    "{\"TableName\":\"users\",\"CapacityUnits\":1}}");
	finish(&t, req);
}

static void test_consistent_and_count_requests_unchanged(void **state)
{
	struct txn t;
	struct http_msg *req;
	cJSON *bg, *up = query(&t, &req, QUERY(",\"ConsistentRead\":true"));
	int consistent;

	(void)state;
	assert_null(cJSON_GetObjectItemCaseSensitive(up, "ReturnConsumedCapacity"));
	cJSON_Delete(up);
	/* An index entry of a standard beacon: the item keeps the attribute it stands for. */
	answer(200, "{\"Count\":1,\"ScannedCount\":1,\"Items\":[{" ENTRY_KEY ",\"aws_dbe_b_secret\":"
	       "{\"S\":\"x\"}}]}");
	batch_get(&bg, &consistent);
	assert_true(consistent);
	cJSON_Delete(bg);
	answer_items(stored, NULL);
	assert_string_equal(replied, "{\"Count\":1,\"ScannedCount\":1,\"Items\":[{\"pk\":{\"S\":\"a\"},"
			    "\"sk\":{\"S\":\"b\"},\"secret\":{\"S\":\"topsecret-1\"}}]}");
	finish(&t, req);

	up = query(&t, &req, QUERY(",\"Select\":\"COUNT\""));
	assert_null(cJSON_GetObjectItemCaseSensitive(up, "ReturnConsumedCapacity"));
	cJSON_Delete(up);
	answer(200, "{\"Count\":3,\"ScannedCount\":3}");
	assert_int_equal(responded, 1);
	assert_int_equal(sent, 0);
	assert_string_equal(replied, "{\"Count\":3,\"ScannedCount\":3}");
	finish(&t, req);
}

static void test_gone_items_left_out_and_unprocessed_keys_sent_again(void **state)
{
	struct txn t;
	struct http_msg *req;
	cJSON *bg, *up = query(&t, &req, QUERY(""));
	int consistent;

	(void)state;
	cJSON_Delete(up);
	answer(200, "{\"Count\":3,\"ScannedCount\":3,\"Items\":[{" ENTRY_KEY "},"
	       "{\"pk\":{\"S\":\"gone\"},\"sk\":{\"S\":\"b\"}},{" ENTRY_KEY "}],"
	       "\"LastEvaluatedKey\":{" ENTRY_KEY ",\"note\":{\"S\":\"n\"}}}");
	/* An item twice in the index answer is asked once. */
	assert_json(batch_get(&bg, &consistent),
		    "[{" ENTRY_KEY "},{\"pk\":{\"S\":\"gone\"},\"sk\":{\"S\":\"b\"}}]");
	cJSON_Delete(bg);
	answer_items("", "{" ENTRY_KEY "}");
	assert_int_equal(failed + responded + sent, 0);
	/* After the pause, only the unprocessed key goes again. */
	event_base_dispatch(wk.base);
	assert_json(batch_get(&bg, &consistent), "[{" ENTRY_KEY "}]");
	cJSON_Delete(bg);
	answer_items(stored, NULL);
	assert_int_equal(responded, 1);
	assert_string_equal(replied, "{\"Count\":2,\"ScannedCount\":3,\"Items\":[{\"pk\":{\"S\":\"a\"},"
			    "\"sk\":{\"S\":\"b\"}},{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}}],"
			    "\"LastEvaluatedKey\":{" ENTRY_KEY ",\"note\":{\"S\":\"n\"}}}");
	assert_true(wk.metrics.index_item_reads >= 2);
	finish(&t, req);
}

/* One refusal: the Query's answer, then (if not NULL) the BatchGetItem's. */
struct refusal {
	const char *entries;         /* the index answer's Items */
	int status;                  /* of the BatchGetItem answer */
	const char *items;           /* its body, or NULL: the refusal comes before it */
	const char *type;
	const char *message;
};

static void test_refusals(void **state)
{
	static char tampered[4096], garbled[4096];
	const struct refusal cases[] = {
		{ "[{\"pk\":{\"S\":\"a\"},\"note\":{\"S\":\"n\"}}]", 0, NULL, DS_ERR_INTERNAL,
		  "502 table \"users\": DynamoDB's answer to Query holds Items[0] without the key attribute "
		  "\"sk\" (one S, N or B value); dynaseal cannot verify the items of index \"by-note\"; "
		  "retry the request" },
		{ "[{\"pk\":{\"S\":\"a\"},\"sk\":{\"L\":[]}}]", 0, NULL, DS_ERR_INTERNAL,
		  "502 table \"users\": DynamoDB's answer to Query holds Items[0] with a malformed key "
		  "attribute \"sk\" (one S, N or B value); dynaseal cannot verify the items of index "
		  "\"by-note\"; retry the request" },
		{ "[{" ENTRY_KEY "}]", 200, "<html>", DS_ERR_INTERNAL,
		  "502 table \"users\": DynamoDB's answer to BatchGetItem is not a JSON object; dynaseal "
		  "cannot verify the items of index \"by-note\"; retry the request" },
		{ "[{" ENTRY_KEY "}]", 200, "{\"Responses\":{\"users\":[1]}}", DS_ERR_INTERNAL,
		  "502 table \"users\": DynamoDB's answer to BatchGetItem holds an item that is not a map "
		  "of attributes; dynaseal cannot verify the items of index \"by-note\"; retry the request" },
		{ "[{" ENTRY_KEY "}]", 200, "{\"Responses\":[]}", DS_ERR_INTERNAL,
		  "502 table \"users\": DynamoDB's answer to BatchGetItem holds Responses that is not a map "
		  "of tables; dynaseal cannot verify the items of index \"by-note\"; retry the request" },
		{ "[{" ENTRY_KEY "}]", 200, "{\"UnprocessedKeys\":{\"users\":{\"Keys\":[{" ENTRY_KEY "}]},"
		  "\"other\":{\"Keys\":[{" ENTRY_KEY "}]}}}", DS_ERR_INTERNAL,
		  "502 table \"users\": DynamoDB's answer to BatchGetItem holds UnprocessedKeys of more "
		  "than the one table asked; dynaseal cannot verify the items of index \"by-note\"; retry "
		  "the request" },
		/* The item read is verified as any: a changed signed attribute refuses the answer,
		 * and so does an item without aws_dbe_head (plaintext_policy forbid). */
		{ "[{" ENTRY_KEY ",\"note\":{\"S\":\"n\"}}]", 200, tampered, DS_ERR_VALIDATION,
		  "400 table \"users\": attribute \"aws_dbe_foot\" failed verification (no recipient tag "
		  "matches: a signed attribute or the header differs); the item was changed outside "
		  "dynaseal or written under another configuration" },
		{ "[{" ENTRY_KEY "}]", 200, garbled, DS_ERR_VALIDATION,
		  "400 table \"users\": an item has no aws_dbe_head, so it was not written through "
		  "dynaseal or the DB-ESDK; set plaintext_policy to \"allow-read\" for this table while "
		  "migrating plaintext items" },
	};

	(void)state;
	snprintf(tampered, sizeof(tampered), "{\"Responses\":{\"users\":[%s]}}", forged);
	snprintf(garbled, sizeof(garbled), "{\"Responses\":{\"users\":[{" ENTRY_KEY ",\"note\":"
		 "{\"S\":\"n\"}}]}}");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct refusal *c = &cases[i];
		char body[4096];
		struct txn t;
		struct http_msg *req;
		cJSON *up = query(&t, &req, QUERY(""));

		cJSON_Delete(up);
		snprintf(body, sizeof(body), "{\"Count\":1,\"ScannedCount\":1,\"Items\":%s}", c->entries);
		answer(200, body);
		if (c->items != NULL) {
			assert_int_equal(sent, 1);
			answer(c->status, c->items);
		}
		assert_int_equal(sent + responded, 0);
		assert_int_equal(failed, 1);
		assert_string_equal(last_type, c->type);
		assert_string_equal(last_error, c->message);
		finish(&t, req);
	}
}

static void test_refusal_of_the_read_is_the_answer(void **state)
{
	struct txn t;
	struct http_msg *req;
	cJSON *up = query(&t, &req, QUERY(""));
	const char *err = "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceeded"
			  "Exception\",\"message\":\"The level of configured provisioned throughput for "
			  "the table was exceeded.\"}";

	(void)state;
	cJSON_Delete(up);
	answer(200, "{\"Count\":1,\"ScannedCount\":1,\"Items\":[{" ENTRY_KEY "}]}");
	answer(400, err);
	assert_int_equal(responded, 1);
	assert_string_equal(replied, err);
	finish(&t, req);
}

static void test_unprocessed_keys_are_bounded(void **state)
{
	struct txn t;
	struct http_msg *req;
	cJSON *up = query(&t, &req, QUERY(""));
	int rounds = 0;

	(void)state;
	cJSON_Delete(up);
	answer(200, "{\"Count\":1,\"ScannedCount\":1,\"Items\":[{" ENTRY_KEY "}]}");
	while (sent == 1 && rounds++ < 20) {
		answer_items("", "{" ENTRY_KEY "}");
		event_base_dispatch(wk.base);
	}
	assert_int_equal(rounds, 8);
	assert_int_equal(failed, 1);
	assert_string_equal(last_type, DS_ERR_THROTTLING);
	assert_string_equal(last_error, "400 table \"users\": DynamoDB left items of index \"by-note\" "
			    "unread 8 times in a row while dynaseal read them from the table "
			    "(throughput exceeded); retry the request");
	finish(&t, req);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_only_entry_answered_from_its_item),
		cmocka_unit_test(test_local_index_read_as_asked),
		cmocka_unit_test(test_consistent_and_count_requests_unchanged),
		cmocka_unit_test(test_gone_items_left_out_and_unprocessed_keys_sent_again),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_refusal_of_the_read_is_the_answer),
		cmocka_unit_test(test_unprocessed_keys_are_bounded),
	};

	return cmocka_run_group_tests(tests, setup_items, teardown_items);
}
