// An unmodified application using the AWS SDK for JavaScript v3: the low-level client and the
// DocumentClient (lib-dynamodb).  Nothing in it knows about dynaseal: only the environment
// variable AWS_ENDPOINT_URL_DYNAMODB points it there.  Exits non-zero on any mismatch.
//   node app_roundtrip.mjs TABLE
import assert from "node:assert/strict";
import {
  DynamoDBClient, CreateTableCommand, DescribeTableCommand, PutItemCommand, GetItemCommand,
} from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient, PutCommand, GetCommand, UpdateCommand, DeleteCommand, QueryCommand,
  ScanCommand, BatchWriteCommand, BatchGetCommand,
} from "@aws-sdk/lib-dynamodb";

const table = process.argv[2];
const client = new DynamoDBClient({});
const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });

async function ensureTable() {
  try {
    await client.send(new CreateTableCommand({
      TableName: table, BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "N" }],
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
    }));
  } catch (e) {
    if (e.name !== "ResourceInUseException") throw e;
  }
  for (let i = 0; i < 100; i++) {
    const d = await client.send(new DescribeTableCommand({ TableName: table }));
    if (d.Table.TableStatus === "ACTIVE") return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("table never became ACTIVE");
}

const profile = {
  motto: "søren ✓ 机密", n: 12.5, flags: [true, false, null], nested: { deep: ["x", 1, { y: "z" }] },
  tags: new Set(["b", "a"]), bytes: new Uint8Array([0, 1, 255]),
};

await ensureTable();

// Low-level client.
const low = { pk: { S: "low" }, sk: { N: "1" }, email: { S: "low@example.com" }, name: { S: "Low" } };
await client.send(new PutItemCommand({ TableName: table, Item: low }));
const lowGot = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: "low" }, sk: { N: "1" } } }));
assert.deepEqual(lowGot.Item, low);

// DocumentClient.
await doc.send(new PutCommand({ TableName: table, Item: { pk: "doc", sk: 1, email: "ada@example.com", name: "Ada", profile, visits: 1 } }));
const got = (await doc.send(new GetCommand({ TableName: table, Key: { pk: "doc", sk: 1 } }))).Item;
assert.equal(got.email, "ada@example.com");
assert.equal(got.profile.motto, "søren ✓ 机密");
assert.equal(got.profile.n, 12.5);
assert.deepEqual(got.profile.flags, [true, false, null]);
assert.deepEqual(got.profile.nested, { deep: ["x", 1, { y: "z" }] });
assert.deepEqual([...got.profile.tags].sort(), ["a", "b"]);
assert.deepEqual([...got.profile.bytes], [0, 1, 255]);

const upd = await doc.send(new UpdateCommand({
  TableName: table, Key: { pk: "doc", sk: 1 }, UpdateExpression: "SET visits = visits + :one",
  ExpressionAttributeValues: { ":one": 1 }, ReturnValues: "ALL_NEW",
}));
assert.equal(upd.Attributes.visits, 2);
assert.equal(upd.Attributes.email, "ada@example.com");

await doc.send(new BatchWriteCommand({ RequestItems: { [table]: [2, 3, 4].map((sk) => ({
  PutRequest: { Item: { pk: "doc", sk, email: `e${sk}@example.com`, name: "Batch" } } })) } }));
const q = await doc.send(new QueryCommand({
  TableName: table, KeyConditionExpression: "pk = :p AND sk > :s",
  ExpressionAttributeValues: { ":p": "doc", ":s": 1 },
}));
assert.deepEqual(q.Items.map((i) => i.email), ["e2@example.com", "e3@example.com", "e4@example.com"]);
const s = await doc.send(new ScanCommand({ TableName: table }));
assert.equal(s.Count, 5);
const bg = await doc.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: [{ pk: "doc", sk: 3 }, { pk: "low", sk: 1 }] } } }));
assert.deepEqual(bg.Responses[table].map((i) => i.email).sort(), ["e3@example.com", "low@example.com"]);
await doc.send(new DeleteCommand({ TableName: table, Key: { pk: "doc", sk: 4 } }));
assert.equal((await doc.send(new GetCommand({ TableName: table, Key: { pk: "doc", sk: 4 } }))).Item, undefined);

// A filter on an encrypted attribute is applied by dynaseal: the same answer as DynamoDB's.
const f = await doc.send(new ScanCommand({ TableName: table, FilterExpression: "email = :e", ExpressionAttributeValues: { ":e": "e3@example.com" } }));
assert.equal(f.Count, 1);
assert.equal(f.ScannedCount, 4);
assert.equal(f.Items[0].email, "e3@example.com");

// A refusal reaches the application as a DynamoDB ValidationException.
let refused = null;
try {
  await doc.send(new QueryCommand({ TableName: table, KeyConditionExpression: "pk = :p AND email = :e", ExpressionAttributeValues: { ":p": "doc", ":e": "x" } }));
} catch (e) {
  refused = e;
}
assert.ok(refused, "a key condition on a non-key attribute is refused");
assert.equal(refused.name, "ValidationException");
if (process.env.EXPECT_ENCRYPTED === "1") {
  assert.match(refused.message, /"email"/);
}
console.log("js: ok");
