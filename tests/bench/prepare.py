#!/usr/bin/env python3
"""Makes the benchmark's canned data with dynaseal itself.

Writes items of the "bench" table through a dynaseal that sits in front of a real dynalite
(boto3, the application's view), then reads what dynalite stores with raw HTTP calls: those
response bodies, byte for byte, become the stub upstream's answers, so the measuring dynaseal
later verifies and decrypts genuine items.  Also writes the request bodies wrk sends and the
plaintext items item_bench encrypts.

Usage: prepare.py OUTDIR DYNASEAL_PORT DYNALITE_PORT
Writes into OUTDIR: bodies/*.json (stub answers), crc.env (x-amz-crc32 of each answer),
requests/*.json (wrk bodies), items/*.json (plaintext items), sizes.txt.
"""
import json
import os
import random
import string
import sys
import urllib.request
import zlib

import boto3
from botocore.config import Config

TABLE = "bench"
PLAIN_TABLE = "plain"          # not configured in dynaseal: passes through
ENCRYPTED = ["e0", "e1", "e2"]                    # ENCRYPT_AND_SIGN
SIGNED = ["s%d" % i for i in range(10)]           # SIGN_ONLY (pk and sk are SIGN_ONLY too)
QUERY_ITEMS = 100
# Items by name: (partition key, DynamoDB item size in bytes).
SIZES = {"1k": ("bench", 1024), "64k": ("big64", 64 * 1024), "350k": ("big350", 350 * 1024)}


def make_item(pk, sk, size, rng):
    """An item of about `size` bytes as DynamoDB counts them (names + values): 13 string
    attributes of equal length besides the key."""
    per = max(1, (size - len(pk) - len(sk) - 4) // 13 - 2)
    item = {"pk": {"S": pk}, "sk": {"S": sk}}
    for name in ENCRYPTED + SIGNED:
        item[name] = {"S": "".join(rng.choice(string.ascii_letters + string.digits)
                                   for _ in range(per))}
    return item


def raw_call(port, target, body):
    """One DynamoDB call straight to dynalite; returns the response body bytes verbatim."""
    req = urllib.request.Request(
        "http://127.0.0.1:%d/" % port, data=json.dumps(body).encode(), method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810." + target,
            "X-Amz-Date": "20260101T000000Z",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/"
                             "dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;"
                             "x-amz-target, Signature=" + "0" * 64,
        })
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def main():
    out, ds_port, ddb_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(20260101)
    ddb = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:%d" % ds_port,
                       region_name="us-east-1", aws_access_key_id="AKIDBENCHAPP",
                       aws_secret_access_key="bench-secret",
                       config=Config(retries={"max_attempts": 2}))
    ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}])
    ddb.get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig={"Delay": 0.2})

    # Write through dynaseal (encrypted and signed on the way), as an application would.
    items = {}
    for i in range(QUERY_ITEMS):
        it = make_item("bench", "item#%03d" % i, SIZES["1k"][1], rng)
        ddb.put_item(TableName=TABLE, Item=it)
        if i == 0:
            items["1k"] = it
    for name in ("64k", "350k"):
        it = make_item(SIZES[name][0], "item", SIZES[name][1], rng)
        ddb.put_item(TableName=TABLE, Item=it)
        items[name] = it
    # The application's view through dynaseal must be the plaintext written.
    got = ddb.get_item(TableName=TABLE, Key={"pk": items["1k"]["pk"], "sk": items["1k"]["sk"]})
    if got.get("Item") != items["1k"]:
        sys.exit("prepare: the item read back through dynaseal differs from the one written")

    # What DynamoDB stores, byte for byte: the stub's canned answers.
    key = lambda it: {"pk": it["pk"], "sk": it["sk"]}
    bodies = {
        "get_1k": raw_call(ddb_port, "GetItem", {"TableName": TABLE, "Key": key(items["1k"])}),
        "get_64k": raw_call(ddb_port, "GetItem", {"TableName": TABLE, "Key": key(items["64k"])}),
        "get_350k": raw_call(ddb_port, "GetItem",
                             {"TableName": TABLE, "Key": key(items["350k"])}),
        "query": raw_call(ddb_port, "Query", {
            "TableName": TABLE, "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "bench"}}, "Limit": QUERY_ITEMS}),
        "batchget": raw_call(ddb_port, "BatchGetItem", {"RequestItems": {TABLE: {"Keys": [
            {"pk": {"S": "bench"}, "sk": {"S": "item#%03d" % i}} for i in range(QUERY_ITEMS)]}}}),
        "put": b"{}",
        "empty": b"{}",
    }
    stored = json.loads(bodies["get_1k"])["Item"]
    if "aws_dbe_head" not in stored or "B" not in stored["e0"]:
        sys.exit("prepare: dynalite holds a plaintext item: dynaseal did not encrypt")
    if len(json.loads(bodies["query"])["Items"]) != QUERY_ITEMS:
        sys.exit("prepare: the Query page does not hold %d items" % QUERY_ITEMS)
    bg = json.loads(bodies["batchget"])
    if len(bg["Responses"][TABLE]) != QUERY_ITEMS or bg.get("UnprocessedKeys"):
        sys.exit("prepare: BatchGetItem did not answer all %d keys at once" % QUERY_ITEMS)

    crc = []
    for name, data in bodies.items():
        write(os.path.join(out, "bodies", name + ".json"), data)
        crc.append("crc_%s=%d" % (name, zlib.crc32(data) & 0xFFFFFFFF))
    write(os.path.join(out, "crc.env"), "\n".join(crc) + "\n")

    # What wrk sends (the application's plaintext requests).
    reqs = {
        "get_plain": {"TableName": PLAIN_TABLE, "Key": key(items["1k"])},
        "get_1k": {"TableName": TABLE, "Key": key(items["1k"])},
        "get_64k": {"TableName": TABLE, "Key": key(items["64k"])},
        "get_350k": {"TableName": TABLE, "Key": key(items["350k"])},
        "put": {"TableName": TABLE, "Item": items["1k"]},
        # An update of an encrypted attribute: dynaseal reads the item, decrypts, applies,
        # encrypts and writes it back (two upstream calls).
        "update": {"TableName": TABLE, "Key": key(items["1k"]), "UpdateExpression": "SET e0 = :v",
                   "ExpressionAttributeValues": {":v": {"S": "bench-update-value"}}},
        "query": {"TableName": TABLE, "KeyConditionExpression": "pk = :p",
                  "ExpressionAttributeValues": {":p": {"S": "bench"}}, "Limit": QUERY_ITEMS},
        "batchget": {"RequestItems": {TABLE: {"Keys": [
            {"pk": {"S": "bench"}, "sk": {"S": "item#%03d" % i}} for i in range(QUERY_ITEMS)]}}},
    }
    for name, body in reqs.items():
        write(os.path.join(out, "requests", name + ".json"), json.dumps(body))
    for name, it in items.items():
        write(os.path.join(out, "items", name + ".json"), json.dumps(it))

    with open(os.path.join(out, "sizes.txt"), "w") as f:
        for name, data in bodies.items():
            f.write("answer %-9s %8d bytes\n" % (name, len(data)))
        for name, it in items.items():
            f.write("item %-11s %8d bytes of plaintext JSON\n" % (name, len(json.dumps(it))))
    print("prepare: %d items written through dynaseal; canned answers in %s/bodies"
          % (QUERY_ITEMS + 2, out))


if __name__ == "__main__":
    main()
