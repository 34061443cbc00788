// An everyday application written with the DocumentClient (lib-dynamodb), run unchanged against
// DynamoDB's stand-in and against dynaseal: it prints one JSON line per step, what the
// application observed (the result without request metadata, or the error's name and
// message), for tests/integration/test_catalogue.py to compare.
//   node catalogue.mjs TABLE        (AWS_ENDPOINT_URL_DYNAMODB says where)
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient, PutCommand, GetCommand, UpdateCommand, DeleteCommand, QueryCommand,
  ScanCommand, TransactWriteCommand, BatchGetCommand, ExecuteStatementCommand,
} from "@aws-sdk/lib-dynamodb";

const table = process.argv[2];
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ maxAttempts: 1 }),
  { marshallOptions: { removeUndefinedValues: true } });

function plain(v) {
  if (v instanceof Set) return { set: [...v].map(plain).sort() };
  if (v instanceof Uint8Array) return { bytes: [...v] };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v).sort()) if (k !== "$metadata" && k !== "ConsumedCapacity") o[k] = plain(v[k]);
    return o;
  }
  return v;
}

const steps = [
  ["put", () => new PutCommand({ TableName: table, Item: { pk: "js-1", email: "ada@example.com",
    name: "Ada", status: "active", age: 36, visits: 1, address: { city: "London", zip: "N1" },
    tags: new Set(["a", "b"]) } })],
  ["get", () => new GetCommand({ TableName: table, Key: { pk: "js-1" } })],
  ["get nested projection", () => new GetCommand({ TableName: table, Key: { pk: "js-1" },
    ProjectionExpression: "address.city, #n", ExpressionAttributeNames: { "#n": "name" } })],
  ["update encrypted", () => new UpdateCommand({ TableName: table, Key: { pk: "js-1" },
    UpdateExpression: "SET email = :e, age = age + :one", ExpressionAttributeValues: { ":e": "ada@new.example", ":one": 1 },
    ReturnValues: "ALL_NEW" })],
  ["add visits", () => new UpdateCommand({ TableName: table, Key: { pk: "js-1" },
    UpdateExpression: "ADD visits :one", ExpressionAttributeValues: { ":one": 1 }, ReturnValues: "UPDATED_NEW" })],
  ["upsert", () => new UpdateCommand({ TableName: table, Key: { pk: "js-2" },
    UpdateExpression: "SET email = :e, #s = :s", ExpressionAttributeNames: { "#s": "status" },
    ExpressionAttributeValues: { ":e": "bob@example.com", ":s": "new" }, ReturnValues: "ALL_NEW" })],
  ["condition on encrypted, false", () => new UpdateCommand({ TableName: table, Key: { pk: "js-1" },
    UpdateExpression: "SET age = :a", ConditionExpression: "email = :old",
    ExpressionAttributeValues: { ":a": 40, ":old": "someone@else" }, ReturnValuesOnConditionCheckFailure: "ALL_OLD" })],
  ["condition on encrypted, true", () => new DeleteCommand({ TableName: table, Key: { pk: "js-2" },
    ConditionExpression: "begins_with(email, :b)", ExpressionAttributeValues: { ":b": "bob" }, ReturnValues: "ALL_OLD" })],
  ["filter on encrypted", () => new ScanCommand({ TableName: table, FilterExpression: "contains(email, :d)",
    ExpressionAttributeValues: { ":d": "new.example" } })],
  ["query", () => new QueryCommand({ TableName: table, KeyConditionExpression: "pk = :p",
    FilterExpression: "address.city = :c", ExpressionAttributeValues: { ":p": "js-1", ":c": "London" } })],
  ["transaction", () => new TransactWriteCommand({ TransactItems: [
    { Put: { TableName: table, Item: { pk: "js-3", email: "cy@example.com", name: "Cy" } } },
    { Update: { TableName: table, Key: { pk: "js-1" }, UpdateExpression: "ADD visits :one",
      ExpressionAttributeValues: { ":one": 10 } } }] })],
  ["transaction on encrypted", () => new TransactWriteCommand({ TransactItems: [
    { Update: { TableName: table, Key: { pk: "js-3" }, UpdateExpression: "SET email = :e",
      ConditionExpression: "begins_with(email, :c)", ExpressionAttributeValues: { ":e": "cy@new.example", ":c": "cy" } } },
    { ConditionCheck: { TableName: table, Key: { pk: "js-1" }, ConditionExpression: "attribute_exists(email)" } }] })],
  ["transaction on encrypted, false", () => new TransactWriteCommand({ TransactItems: [
    { Update: { TableName: table, Key: { pk: "js-3" }, UpdateExpression: "SET email = :e",
      ConditionExpression: "email = :old", ExpressionAttributeValues: { ":e": "never@example", ":old": "cy@example.com" },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD" } }] })],
  ["PartiQL", () => new ExecuteStatementCommand({ Statement: `SELECT pk, email FROM "${table}" WHERE pk = ?`,
    Parameters: ["js-3"] })],
  ["batch get", () => new BatchGetCommand({ RequestItems: { [table]: { Keys: [{ pk: "js-1" }, { pk: "js-3" }],
    ProjectionExpression: "pk, email, visits" } } })],
  ["type error", () => new UpdateCommand({ TableName: table, Key: { pk: "js-1" },
    UpdateExpression: "SET age = email + :one", ExpressionAttributeValues: { ":one": 1 } })],
];

for (const [name, make] of steps) {
  let out;
  try {
    const r = await doc.send(make());
    if (r.Responses) for (const t of Object.keys(r.Responses)) r.Responses[t].sort((a, b) => (a.pk < b.pk ? -1 : 1));
    if (r.Items) r.Items.sort((a, b) => (a.pk < b.pk ? -1 : 1));
    out = { ok: plain(r) };
  } catch (e) {
    out = { error: e.name, message: e.message };
  }
  console.log(JSON.stringify({ step: name, ...out }));
}
