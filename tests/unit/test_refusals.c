/*
 * The refusal policy of configured tables (proxy/route*.c), one case per refusal: the request
 * is answered by dynaseal with the exact __type and message, and nothing goes upstream.  Where
 * DynamoDB has its own wording for the same request, the message is DynamoDB's.  The network
 * around the route is stood in for by tests/harness/route_stubs.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/harness/route_stubs.h"

#define VALIDATION DS_ERR_VALIDATION
#define SERIALIZATION DS_ERR_SERIALIZATION

struct refusal {
	const char *op;
	const char *body;
	const char *type;
	const char *message;    /* exact: "<status> <message>" */
};

static const struct refusal cases[] = {
	{ "UpdateItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"AttributeUpdates\":{\"secret\":{\"Action\":\"DELETE\",\"Value\":{\"S\":\"x\"}}}}",
	  VALIDATION, "400 One or more parameter values were invalid: DELETE action with value is not supported for the type S" },
	{ "UpdateItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"AttributeUpdates\":{\"free\":{\"Action\":\"ADD\",\"Value\":{\"BOOL\":true}}}}",
	  VALIDATION, "400 One or more parameter values were invalid: ADD action is not supported for the type BOOL" },
	{ "PutItem",
	  "[1]",
	  SERIALIZATION, "400 The request body of PutItem is not a JSON object; dynaseal refuses it rather than forward what it cannot check" },
	/* 0xFE and 0xFF are never UTF-8: the stand-in for NUL (json_nul.h) must mean NUL alone,
	 * so a raw one is refused, before any other check of the request. */
	{ "PutItem",
	  "{\"TableName\":\"users\",\"Item\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"},\"secret\":{\"S\":\"x\xffy\"}}}",
	  SERIALIZATION, "400 The request body of PutItem holds a byte 0xFE or 0xFF, which is not UTF-8; dynaseal refuses it rather than forward what it cannot check" },
	{ "GetItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"\xfe\"}}}",
	  SERIALIZATION, "400 The request body of GetItem holds a byte 0xFE or 0xFF, which is not UTF-8; dynaseal refuses it rather than forward what it cannot check" },
	{ "GetItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"},\"secret\":{\"S\":\"c\"}}}",
	  VALIDATION, "400 The provided key element does not match the schema" },
	{ "GetItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"},\"note\":{\"S\":\"c\"}}}",
	  VALIDATION, "400 The provided key element does not match the schema" },
	{ "Query",
	  "{\"TableName\":\"users\",\"KeyConditionExpression\":\"pk = :p AND secret = :s\",\"ExpressionAttributeValues\":{\":p\":{\"S\":\"a\"},\":s\":{\"S\":\"b\"}}}",
	  VALIDATION, "400 table \"users\": KeyConditionExpression references \"secret\", which dynaseal encrypts (ENCRYPT_AND_SIGN): DynamoDB cannot compare encrypted values. Use a SIGN_ONLY attribute in the expression, or filter in the application" },
	{ "Scan",
	  "{\"TableName\":\"users\",\"FilterExpression\":\"aws_dbe_head = :v\",\"ExpressionAttributeValues\":{\":v\":{\"S\":\"a\"}}}",
	  VALIDATION, "400 table \"users\": FilterExpression references \"aws_dbe_head\"; attributes starting with aws_dbe_ are reserved for the encryption format" },
	{ "UpdateItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"UpdateExpression\":\"SET aws_dbe_foot = :v\",\"ExpressionAttributeValues\":{\":v\":{\"S\":\"a\"}}}",
	  VALIDATION, "400 table \"users\": UpdateExpression references \"aws_dbe_foot\"; attributes starting with aws_dbe_ are reserved for the encryption format" },
	{ "UpdateItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"UpdateExpression\":\"SET pk = :v\",\"ExpressionAttributeValues\":{\":v\":{\"S\":\"a\"}}}",
	  VALIDATION, "400 One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key" },
	{ "UpdateItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"UpdateExpression\":\"SET note = :v\",\"ExpressionAttributeValues\":{\":v\":{\"S\":\"a\"}},\"ReturnValues\":\"SOME\"}",
	  VALIDATION, "400 1 validation error detected: Value 'SOME' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]" },
	{ "UpdateItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"UpdateExpression\":7}",
	  VALIDATION, "400 table \"users\": UpdateExpression must be a string" },
	{ "UpdateItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"UpdateExpression\":\"SET note = :v\",\"ExpressionAttributeValues\":[1]}",
	  VALIDATION, "400 ExpressionAttributeValues must be a map" },
	{ "UpdateItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"UpdateExpression\":\"SET note = :v\",\"ExpressionAttributeValues\":{\":v\":{\"S\":\"a\"}},\"AttributeUpdates\":{\"x\":{\"Action\":\"PUT\",\"Value\":{\"S\":\"1\"}}}}",
	  VALIDATION, "400 Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributeUpdates} Expression parameters: {UpdateExpression, ExpressionAttributeValues}" },
	{ "UpdateItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"AttributeUpdates\":[1]}",
	  VALIDATION, "400 AttributeUpdates must be a map of attribute names to updates" },
	{ "UpdateItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"AttributeUpdates\":{\"x\":{\"Action\":\"PUT\"}}}",
	  VALIDATION, "400 One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified" },
	{ "UpdateItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"AttributeUpdates\":{\"x\":{\"Action\":\"NOPE\",\"Value\":{\"S\":\"1\"}}}}",
	  VALIDATION, "400 1 validation error detected: Value 'NOPE' at 'attributeUpdates.x.member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]" },
	{ "GetItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"AttributesToGet\":[]}",
	  VALIDATION, "400 1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy constraint: Member must have length greater than or equal to 1" },
	{ "GetItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"AttributesToGet\":\"x\"}",
	  VALIDATION, "400 AttributesToGet must be a list of attribute names" },
	{ "PutItem",
	  "{\"TableName\":\"users\",\"Item\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"Expected\":{\"a\":{\"Exists\":false}},\"ConditionalOperator\":7}",
	  VALIDATION, "400 ConditionalOperator must be a string" },
	{ "PutItem",
	  "{\"TableName\":\"users\",\"Item\":[1]}",
	  VALIDATION, "400 table \"users\": Item must be a map of attribute values" },
	{ "UpdateItem",
	  "{\"TableName\":\"users\",\"UpdateExpression\":\"SET note = :v\",\"ExpressionAttributeValues\":{\":v\":{\"S\":\"a\"}}}",
	  VALIDATION, "400 1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null" },
	{ "PutItem",
	  "{\"TableName\":\"users\",\"Item\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"ConditionExpression\":\"\"}",
	  VALIDATION, "400 Invalid ConditionExpression: The expression can not be empty" },
	{ "Query",
	  "{\"TableName\":\"users\",\"KeyConditionExpression\":\"pk = :p\",\"FilterExpression\":\"secret = :s\",\"ExpressionAttributeValues\":[1]}",
	  VALIDATION, "400 ExpressionAttributeValues must be a map" },
	{ "UpdateItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"UpdateExpression\":\"SET secret = :v\",\"ExpressionAttributeValues\":{\":v\":{\"S\":\"a\"}},\"ReturnValues\":\"NONE\",\"ReturnValuesOnConditionCheckFailure\":\"BAD\"}",
	  VALIDATION, "400 1 validation error detected: Value 'BAD' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]" },
	{ "PutItem",
	  "{\"TableName\":\"users\",\"Item\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"ConditionExpression\":\"secret = :v\",\"ExpressionAttributeValues\":{\":v\":{\"S\":\"1\"},\":w\":{\"S\":\"2\"}}}",
	  VALIDATION, "400 Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}" },
	{ "PutItem",
	  "{\"TableName\":\"users\",\"Item\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"ConditionExpression\":\"secret = :v\",\"ExpressionAttributeValues\":{}}",
	  VALIDATION, "400 ExpressionAttributeValues must not be empty" },
	{ "BatchExecuteStatement",
	  "{\"Statements\":[{\"Statement\":\"SELECT * FROM users\"}]}",
	  VALIDATION, "400 Where clause does not contain a mandatory equality on all key attributes" },
	{ "BatchExecuteStatement",
	  "{\"Statements\":[{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = 'b'\"},{\"Statement\":\"SELECT * FROM users WHERE pk = 'a' AND sk = 'b'\"}]}",
	  VALIDATION, "400 table \"users\": BatchExecuteStatement mixes SELECT with writes; a list reads only or writes only" },
	{ "BatchExecuteStatement",
	  "{\"Statements\":[{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = 'b'\"},{\"Statement\":7}]}",
	  VALIDATION, "400 BatchExecuteStatement: Statements[1].Statement must be a string" },
	{ "BatchExecuteStatement",
	  "{\"Statements\":[{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '0'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '1'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '2'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '3'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '4'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '5'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '6'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '7'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '8'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '9'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '10'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '11'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '12'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '13'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '14'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '15'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '16'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '17'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '18'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '19'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '20'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '21'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '22'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '23'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '24'\"},{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = '25'\"}]}",
	  VALIDATION, "400 1 validation error detected: Value at 'statements' failed to satisfy constraint: Member must have length less than or equal to 25" },
	{ "BatchExecuteStatement",
	  "{\"Statements\":[{\"Statement\":\"SELECT * FROM users WHERE pk = 'a' AND sk = 'b'\"},{\"Statement\":\"SELECT * FROM other WHERE pk = 'a'\"}]}",
	  VALIDATION, "400 table \"users\": BatchExecuteStatement has statements on it and on other tables; dynaseal carries out a list whose statements are all on tables it encrypts: send the others apart" },
	{ "ExecuteStatement",
	  "{\"Statement\":\"SELECT COUNT(*) FROM users\"}",
	  VALIDATION, "400 table \"users\": ExecuteStatement: dynaseal does not carry out COUNT in a PartiQL statement on a table it encrypts; use the classic operations (GetItem, Query, Scan, PutItem, UpdateItem, DeleteItem) for it" },
	{ "ExecuteStatement",
	  "{\"Statement\":\"UPDATE users SET secret = 'x' WHERE pk = 'a'\"}",
	  VALIDATION, "400 Where clause does not contain a mandatory equality on all key attributes" },
	{ "TransactWriteItems",
	  "{\"TransactItems\":[{\"Update\":{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"UpdateExpression\":\"SET secret = :v, sk = :v\",\"ExpressionAttributeValues\":{\":v\":{\"S\":\"a\"}}}}]}",
	  VALIDATION, "400 One or more parameter values were invalid: Cannot update attribute sk. This attribute is part of the key" },
	{ "TransactWriteItems",
	  "{\"TransactItems\":[{\"ConditionCheck\":{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"ConditionExpression\":\"secret = :v\",\"ExpressionAttributeValues\":{\":v\":{\"S\":\"a\"},\":w\":{\"S\":\"b\"}}}}]}",
	  VALIDATION, "400 Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}" },
	{ "BatchWriteItem",
	  "{\"RequestItems\":{\"users\":[{\"PutRequest\":{\"Item\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"},\"aws_dbe_head\":{\"B\":\"AA==\"}}}}]}}",
	  VALIDATION, "400 table \"users\": attribute \"aws_dbe_head\" uses the reserved prefix \"aws_dbe_\"; rename the attribute" },
	{ "Query",
	  "{\"TableName\":\"users\",\"KeyConditionExpression\":\"pk = :p\",\"ProjectionExpression\":\"aws_dbe_foot\",\"ExpressionAttributeValues\":{\":p\":{\"S\":\"a\"}}}",
	  VALIDATION, "400 table \"users\": ProjectionExpression references \"aws_dbe_foot\"; attributes starting with aws_dbe_ are reserved for the encryption format" },
	{ "Scan",
	  "{\"TableName\":\"users\",\"FilterExpression\":\"secret = :s\",\"ExpressionAttributeValues\":{\":s\":{\"S\":\"a\"}},\"ExpressionAttributeNames\":{\"#u\":\"unused\"}}",
	  VALIDATION, "400 Value provided in ExpressionAttributeNames unused in expressions: keys: {#u}" },
	/* Beacons (the table's search block): equality only, and no aws_dbe_ names of the
	 * application's own beside the ones dynaseal adds. */
	{ "Query",
	  "{\"TableName\":\"users\",\"IndexName\":\"by-secret\",\"KeyConditionExpression\":\"begins_with(secret, :s)\",\"ExpressionAttributeValues\":{\":s\":{\"S\":\"a\"}}}",
	  VALIDATION, "400 table \"users\": KeyConditionExpression compares \"secret\" other than by equality; its beacon (search.standard_beacons) finds equal values only: use \"secret = :value\"" },
	{ "Query",
	  "{\"TableName\":\"users\",\"IndexName\":\"by-secret\",\"KeyConditionExpression\":\"secret = :s\",\"FilterExpression\":\"#b = :s\",\"ExpressionAttributeNames\":{\"#b\":\"aws_dbe_b_secret\"},\"ExpressionAttributeValues\":{\":s\":{\"S\":\"a\"}}}",
	  VALIDATION, "400 table \"users\": FilterExpression references \"aws_dbe_b_secret\"; attributes starting with aws_dbe_ are reserved for the encryption format" },
	{ "Query",
	  "{\"TableName\":\"users\",\"IndexName\":\"by-secret\",\"KeyConditionExpression\":\"secret = :s\",\"ExpressionAttributeValues\":{\":s\":{\"L\":[]}}}",
	  VALIDATION, "400 table \"users\": a value compared with \"secret\" is found through its beacon (search.standard_beacons), so it must be a string, number or binary; this one is not a string, number or binary attribute value" },
	/* DynamoDB's refusals that depend on the table's index keys (harness_schema), when
	 * dynaseal carries the request out, before anything is read. */
	{ "UpdateItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"UpdateExpression\":\"SET note = :v, secret = gone\",\"ExpressionAttributeValues\":{\":v\":{\"N\":\"1\"}}}",
	  VALIDATION, "400 One or more parameter values were invalid: Type mismatch for Index Key note Expected: S Actual: N IndexName: by-note" },
	{ "UpdateItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"AttributeUpdates\":{\"note\":{\"Action\":\"PUT\",\"Value\":{\"BOOL\":true}}}}",
	  VALIDATION, "400 One or more parameter values were invalid: Type mismatch for Index Key note Expected: S Actual: BOOL IndexName: by-note" },
	{ "UpdateItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"UpdateExpression\":\"SET secret = note[0]\"}",
	  VALIDATION, "400 Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: IndexKey: note" },
	{ "UpdateItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"UpdateExpression\":\"SET secret = note[0], #f = sk.x\",\"ExpressionAttributeNames\":{\"#f\":\"free\"}}",
	  VALIDATION, "400 Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: sk" },
	{ "GetItem",
	  "{\"TableName\":\"users\",\"Key\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}},\"ProjectionExpression\":\"secret, note.x\"}",
	  VALIDATION, "400 Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: IndexKey: note" },
	{ "Scan",
	  "{\"TableName\":\"users\",\"FilterExpression\":\"secret = :s AND size(note[2]) > :s\",\"ExpressionAttributeValues\":{\":s\":{\"S\":\"a\"}}}",
	  VALIDATION, "400 Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: IndexKey: note" },
	{ "Query",
	  "{\"TableName\":\"users\",\"KeyConditionExpression\":\"pk = :p\",\"FilterExpression\":\"secret = :p OR sk = :p\",\"ExpressionAttributeValues\":{\":p\":{\"S\":\"a\"}}}",
	  VALIDATION, "400 Filter Expression can only contain non-primary key attributes: Primary key attribute: sk" },
	{ "Query",
	  "{\"TableName\":\"users\",\"IndexName\":\"by-note\",\"KeyConditionExpression\":\"note = :p\",\"FilterExpression\":\"secret = :p OR note = :p\",\"ExpressionAttributeValues\":{\":p\":{\"S\":\"a\"}}}",
	  VALIDATION, "400 Filter Expression can only contain non-primary key attributes: Primary key attribute: note" },
};

static void test_each_refusal(void **state)
{
	(void)state;
	setup();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct refusal *c = &cases[i];
		struct txn t;
		struct http_msg *req = start(&t, c->op, (const uint8_t *)c->body, strlen(c->body));
		int rc = route_request(&t);

		if (getenv("REFUSALS_PRINT") != NULL)
			printf("%s %s\n  -> rc %d failed %d sent %d | %s | %s\n", c->op, c->body, rc, failed, sent,
			       last_type ? last_type : "-", last_error);
		assert_int_equal(rc, 1);
		assert_int_equal(failed, 1);
		assert_int_equal(sent + responded, 0);       /* nothing went upstream */
		assert_string_equal(last_type, c->type);
		assert_string_equal(last_error, c->message);
		finish(&t, req);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_refusal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
