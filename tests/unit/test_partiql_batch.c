/*
 * BatchExecuteStatement writes on a configured table (proxy/route_partiql_batch.c): each
 * statement goes as its own ExecuteStatement, one after another, and the answer holds each
 * one's outcome in order -- DynamoDB's errors as BatchStatementError codes, dynaseal's
 * refusals as that statement's ValidationError naming its place.  The network is stood in
 * for by tests/harness/route_stubs.h: what goes upstream is looked at and answered here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/harness/route_stubs.h"

#define CCF "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException\"," \
	"\"message\":\"The conditional request failed\""

static struct http_msg *req;
static struct txn t;

static void begin(const char *body)
{
	req = start(&t, "BatchExecuteStatement", (const uint8_t *)body, strlen(body));
	assert_int_equal(route_request(&t), 1);
}

/* Answers what went upstream last with status and body. */
static void answer(int status, const char *body)
{
	assert_int_equal(sent, 1);
	harness_answer(status, body, strlen(body));
}

/* The last call upstream holds needle. */
static void assert_sent_has(const char *needle)
{
	assert_non_null(sent_body);
	if (strstr(sent_body, needle) == NULL)
		fail_msg("%s not in %s", needle, sent_body);
}

static void assert_reply(const char *want)
{
	assert_int_equal(responded, 1);
	assert_int_equal(failed, 0);
	assert_int_equal(sent, 0);
	assert_string_equal(replied, want);
}

/* Statements dynaseal refuses, each in its own response: its words naming the table and the
 * statement's place, or DynamoDB's where DynamoDB has words for it; nothing goes upstream. */
static void test_refused_statements(void **state)
{
	(void)state;
	begin("{\"Statements\":["
	      "{\"Statement\":\"UPDATE users SET note = 'x' WHERE pk = 'a' AND sk = 'b' RETURNING ALL NEW *\"},"
	      "{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = 'b' AND EXISTS(SELECT * FROM users)\"},"
	      "{\"Statement\":\"DELETE FROM USERS WHERE pk = 'a' AND sk = 'b'\"},"
	      "{\"Statement\":\"UPDATE users SET secret = 'x' WHERE pk = 'a'\"},"
	      "{\"Statement\":\"INSERT INTO users VALUE {'pk': 'a'}\"},"
	      "{\"Statement\":\"DELETE FROM users WHERE pk = ? AND sk = ?\",\"Parameters\":[{\"S\":\"a\"}]}]}");
	assert_reply("{\"Responses\":["
		     "{\"TableName\":\"users\",\"Error\":{\"Code\":\"ValidationError\",\"Message\":\"table \\\"users\\\": "
		     "BatchExecuteStatement Statements[0]: dynaseal does not carry out RETURNING in a batch; "
		     "send the statement with ExecuteStatement\"}},"
		     "{\"Error\":{\"Code\":\"ValidationError\",\"Message\":\"table \\\"users\\\": BatchExecuteStatement "
		     "Statements[1]: dynaseal does not carry out EXISTS in a PartiQL statement on a table it encrypts; "
		     "use the classic operations (GetItem, Query, Scan, PutItem, UpdateItem, DeleteItem) for it\"}},"
		     "{\"TableName\":\"USERS\",\"Error\":{\"Code\":\"ValidationError\",\"Message\":\"table \\\"users\\\": "
		     "BatchExecuteStatement Statements[2] names it \\\"USERS\\\"; name the table as it is spelt\"}},"
		     "{\"TableName\":\"users\",\"Error\":{\"Code\":\"ValidationError\",\"Message\":\"Where clause does not "
		     "contain a mandatory equality on all key attributes\"}},"
		     "{\"TableName\":\"users\",\"Error\":{\"Code\":\"ValidationError\",\"Message\":\"One or more parameter "
		     "values were invalid: Missing the key sk in the item\"}},"
		     "{\"Error\":{\"Code\":\"ValidationError\",\"Message\":\"Number of parameters in request and "
		     "statement don't match.\"}}]}");
	finish(&t, req);
}

/* Each statement's outcome in order: DynamoDB's errors as their BatchStatementError codes
 * (an INSERT's failed condition as DuplicateItem, an item returned on a failed condition
 * verified and decrypted), an error with no code of its own under the nearest one, and the
 * consumed capacity summed per table. */
static void test_outcomes_in_order(void **state)
{
	cJSON *doc;
	char *stored, *ccf_item;
	size_t n;

	(void)state;
	begin("{\"ReturnConsumedCapacity\":\"TOTAL\",\"Statements\":["
	      "{\"Statement\":\"INSERT INTO users VALUE {'pk': 'a', 'sk': 'b', 'secret': 'topsecret-1', 'note': 'n'}\"},"
	      "{\"Statement\":\"UPDATE users SET free = ? WHERE pk = 'a' AND sk = 'b'\",\"Parameters\":[{\"S\":\"x\"}]},"
	      "{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = 'b'\",\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\"},"
	      "{\"Statement\":\"DELETE FROM other WHERE pk = 'z'\"},"
	      "{\"Statement\":\"INSERT INTO users VALUE {'pk': 'c', 'sk': 'd'}\"}]}");
	/* 0: a PutItem if absent, sealed. */
	assert_sent_has("attribute_not_exists");
	assert_sent_has("aws_dbe_foot");
	assert_null(strstr(sent_body, "topsecret-1"));
	doc = cJSON_Parse(sent_body);
	stored = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(doc, "Item"));
	cJSON_Delete(doc);
	answer(400, CCF "}");
	/* 1: an UpdateItem of a DO_NOTHING attribute, on an existing item. */
	assert_sent_has("\"UpdateExpression\"");
	assert_sent_has("\"ReturnConsumedCapacity\":\"TOTAL\"");
	answer(200, "{\"ConsumedCapacity\":{\"TableName\":\"users\",\"CapacityUnits\":1.5}}");
	/* 2: a DeleteItem whose condition fails, the item returned sealed. */
	assert_sent_has("\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\"");
	n = strlen(CCF) + strlen(stored) + 16;
	ccf_item = malloc(n);
	assert_non_null(ccf_item);
	snprintf(ccf_item, n, "%s,\"Item\":%s}", CCF, stored);
	answer(400, ccf_item);
	free(ccf_item);
	free(stored);
	/* 3: a statement on another table goes as it is; its error has no code of its own. */
	assert_sent_has("DELETE FROM other WHERE pk = 'z'");
	answer(400, "{\"__type\":\"com.amazon.coral.service#UnrecognizedClientException\","
	       "\"message\":\"The security token included in the request is invalid.\"}");
	/* 4: DynamoDB's failure without a body of its shape. */
	answer(500, "<html>oops</html>");
	assert_reply("{\"Responses\":["
		     "{\"TableName\":\"users\",\"Error\":{\"Code\":\"DuplicateItem\",\"Message\":\"Duplicate primary key "
		     "exists in table\"}},"
		     "{\"TableName\":\"users\"},"
		     "{\"TableName\":\"users\",\"Error\":{\"Code\":\"ConditionalCheckFailed\",\"Message\":\"The conditional "
		     "request failed\",\"Item\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"},\"secret\":{\"S\":\"topsecret-1\"},"
		     "\"note\":{\"S\":\"n\"}}}},"
		     "{\"TableName\":\"other\",\"Error\":{\"Code\":\"ValidationError\",\"Message\":\"UnrecognizedClientException: "
		     "The security token included in the request is invalid.\"}},"
		     "{\"TableName\":\"users\",\"Error\":{\"Code\":\"InternalServerError\",\"Message\":\"DynamoDB answered "
		     "the statement with HTTP 500\"}}],"
		     "\"ConsumedCapacity\":[{\"TableName\":\"users\",\"CapacityUnits\":1.5}]}");
	finish(&t, req);
}

/* An INSERT's failed condition is its DuplicateItem, with DynamoDB's message, also when the
 * answer had none. */
static void test_duplicate_without_message(void **state)
{
	(void)state;
	begin("{\"Statements\":[{\"Statement\":\"INSERT INTO users VALUE {'pk': 'a', 'sk': 'b'}\"}]}");
	answer(400, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException\"}");
	assert_reply("{\"Responses\":[{\"TableName\":\"users\",\"Error\":{\"Code\":\"DuplicateItem\","
		     "\"Message\":\"Duplicate primary key exists in table\"}}]}");
	finish(&t, req);
}

/* An error answer dynaseal does not read as JSON (here: a control byte before it, which cJSON
 * alone would skip) is relayed to the statement unread and unverified: nothing is taken from
 * it, not its Item. */
static void test_unread_answer_gives_nothing(void **state)
{
	(void)state;
	begin("{\"Statements\":[{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = 'b'\","
	      "\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\"}]}");
	answer(400, "\001" CCF ",\"Item\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"},"
	       "\"secret\":{\"S\":\"forged\"}}}");
	assert_reply("{\"Responses\":[{\"TableName\":\"users\",\"Error\":{\"Code\":\"ValidationError\","
		     "\"Message\":\"DynamoDB answered the statement with HTTP 400\"}}]}");
	finish(&t, req);
}

/* Capacity of several statements on one table adds up. */
static void test_capacity_summed(void **state)
{
	(void)state;
	begin("{\"ReturnConsumedCapacity\":\"INDEXES\",\"Statements\":["
	      "{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = 'b'\"},"
	      "{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = 'c'\"}]}");
	answer(200, "{\"ConsumedCapacity\":{\"TableName\":\"users\",\"CapacityUnits\":1,\"Table\":{\"CapacityUnits\":1}}}");
	answer(200, "{\"ConsumedCapacity\":{\"TableName\":\"users\",\"CapacityUnits\":2,\"Table\":{\"CapacityUnits\":2},"
	       "\"GlobalSecondaryIndexes\":{\"g\":{\"CapacityUnits\":1}}}}");
	assert_reply("{\"Responses\":[{\"TableName\":\"users\"},{\"TableName\":\"users\"}],"
		     "\"ConsumedCapacity\":[{\"TableName\":\"users\",\"CapacityUnits\":3,\"Table\":{\"CapacityUnits\":3},"
		     "\"GlobalSecondaryIndexes\":{\"g\":{\"CapacityUnits\":1}}}]}");
	finish(&t, req);
}

/* The application gone with a statement in flight: the statement goes with the request (the
 * harness checks every hold on the config is released). */
static void test_gone_mid_batch(void **state)
{
	(void)state;
	begin("{\"Statements\":[{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = 'b'\"},"
	      "{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = 'c'\"}]}");
	answer(200, "{}");
	assert_int_equal(sent, 1);
	assert_int_equal(responded + failed, 0);
	finish(&t, req);
}

/* A batch of reads is still one BatchGetItem; one that names no configured table is
 * DynamoDB's. */
static void test_not_taken(void **state)
{
	(void)state;
	begin("{\"Statements\":[{\"Statement\":\"SELECT * FROM users WHERE pk = 'a' AND sk = 'b'\"}]}");
	assert_sent_has("\"Keys\"");
	finish(&t, req);
	req = start(&t, "BatchExecuteStatement",
		    (const uint8_t *)"{\"Statements\":[{\"Statement\":\"DELETE FROM other WHERE pk = 'a'\"}]}",
		    strlen("{\"Statements\":[{\"Statement\":\"DELETE FROM other WHERE pk = 'a'\"}]}"));
	assert_int_equal(route_request(&t), 0);
	finish(&t, req);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_statements),
		cmocka_unit_test(test_outcomes_in_order),
		cmocka_unit_test(test_duplicate_without_message),
		cmocka_unit_test(test_unread_answer_gives_nothing),
		cmocka_unit_test(test_capacity_summed),
		cmocka_unit_test(test_gone_mid_batch),
		cmocka_unit_test(test_not_taken),
	};

	setup();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
