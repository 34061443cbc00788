"""Differential test of the legacy conditional parameters: proxy/ddb/ddb_legacy.c writes them as
condition expressions, which proxy/ddb/ddb_eval.c evaluates (through tests/diff/cond_cli.c);
moto and dynalite answer the legacy parameters themselves.

    python3 tests/diff/test_legacy.py [--cases N] [--seed S]

Each case is an item of random attributes and a random legacy condition map of one to three
attributes (every ComparisonOperator, Expected's Exists/Value forms, ConditionalOperator AND
or OR), some invalid on purpose (wrong number of values, mixed or unsupported types, reversed
BETWEEN bounds).  Half run as a Query's QueryFilter (with KeyConditions on the item's key;
Count 1 or 0), half as an UpdateItem's Expected (success or ConditionalCheckFailedException).
The outcome, or the refusal's message, must match.  Where a peer departs from DynamoDB's
documented behaviour the test names it and judges by the other peer:
  - MOTO_MESSAGE: moto words some refusals its own way (or answers 500).
  - MOTO_ACCEPTS: moto evaluates conditions DynamoDB refuses.
  - PEER_SEMANTICS: the departures test_conditions.py names (missing attributes, deep equality,
    number sets, false in IN) show through the legacy operators too; the same checks apply.
  - EXISTS_VALUE: {Exists: true, Value: v} holds when the attribute exists with value v
    (Developer Guide, "Expected (legacy)"); both peers only check that it exists.
  - DYNALITE_OR: with ConditionalOperator OR, dynalite answers false as soon as one condition
    is false.
  - DYNALITE_EXPECTED_TYPES: DynamoDB checks Expected's values against the operator (LT takes
    a string, number or binary, not a set) as it does a filter's; dynalite checks filters only.
  - MOTO_LEGACY: moto's QueryFilter, and its Expected with OR or IN, answer otherwise than its
    own expressions do (a filter AND with a false condition passes; a binary does not contain
    itself).
A case where every peer is excused is counted as unchecked.
"""
import argparse
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, HERE)

import peers  # noqa: E402
from values import ATTRS, Values, has, sort_key, wire  # noqa: E402

TABLE = "legacy"
OPS = ["EQ", "NE", "LE", "LT", "GE", "GT", "NOT_NULL", "NULL", "CONTAINS", "NOT_CONTAINS",
       "BEGINS_WITH", "IN", "BETWEEN"]
SCALAR_OPS = {"LE", "LT", "GE", "GT", "CONTAINS", "NOT_CONTAINS", "IN", "BETWEEN"}


class Gen(Values):
    def like(self, item, attr, kinds):
        """The item's value of attr when it is of one of kinds (so that conditions hit), else a
        fresh scalar of those kinds."""
        v = item.get(attr)
        if v is not None and next(iter(v)) in kinds and self.rng.random() < 0.6:
            return v
        t = self.rng.choice(kinds)
        return {t: getattr(self, t.lower())()}

    def condition(self, item, attr, expected):
        if expected and self.rng.random() < 0.3:
            if self.rng.random() < 0.5:
                return {"Exists": False}
            c = {"Value": self.like(item, attr, ["S", "N", "B"])}
            if self.rng.random() < 0.5:
                c["Exists"] = True
            return c
        op = self.rng.choice(OPS)
        kinds = ["S", "B"] if op == "BEGINS_WITH" else ["S", "N", "B"]
        if op in ("NOT_NULL", "NULL"):
            vals = []
        elif op == "IN":
            vals = [self.like(item, attr, kinds) for _ in range(self.rng.randint(1, 3))]
            t = next(iter(vals[0]))
            vals = [v for v in vals if next(iter(v)) == t]
        elif op == "BETWEEN":
            t = self.rng.choice(kinds)
            vals = sorted([self.like(item, attr, [t]), self.like(item, attr, [t])], key=sort_key)
        else:
            vals = [self.like(item, attr, kinds)]
        r = self.rng.random()
        if r < 0.05:
            vals = vals + [self.scalar()]                  # one value too many
        elif r < 0.08 and vals:
            vals = [self.value(1)]                          # a type the operator may not take
        elif r < 0.10 and op == "BETWEEN":
            vals = list(reversed(vals))                     # bounds reversed
        return {"ComparisonOperator": op, "AttributeValueList": vals} if vals or op in ("NOT_NULL", "NULL") \
            else {"ComparisonOperator": op}


def unique(vals):
    seen, out = set(), []
    for v in vals:
        k = json.dumps(v, sort_keys=True)
        if k not in seen:
            seen.add(k)
            out.append(v)
    return out


def wire_cond(c):
    out = dict(c)
    if "AttributeValueList" in c:
        out["AttributeValueList"] = [wire(v) for v in c["AttributeValueList"]]
    if "Value" in c:
        out["Value"] = wire(c["Value"])
    return out


def run_peer(db, key, item, case):
    conds = {k: wire_cond(c) for k, c in case["legacy"].items()}
    try:
        db.put_item(TableName=TABLE, Item=dict({k: wire(v) for k, v in item.items()}, pk={"S": key}))
        if case["kind"] == "filter":
            r = db.query(TableName=TABLE, KeyConditions={"pk": {"ComparisonOperator": "EQ",
                                                                 "AttributeValueList": [{"S": key}]}},
                         QueryFilter=conds, ConditionalOperator=case["op"], ConsistentRead=True)
            return "true" if r["Count"] == 1 else "false"
        db.update_item(TableName=TABLE, Key={"pk": {"S": key}}, Expected=conds,
                       ConditionalOperator=case["op"],
                       AttributeUpdates={"touched": {"Action": "PUT", "Value": {"N": "1"}}})
        return "true"
    except Exception as e:  # noqa: BLE001 - any refusal is an outcome to compare
        err = getattr(e, "response", {}).get("Error", {})
        if err.get("Code") == "ConditionalCheckFailedException":
            return "false"
        return "ERR " + err.get("Message", str(e)).split("\n")[0]


def excused(case, item, ours, moto, dyn):
    out = {}
    exists_value = any("Value" in c and c.get("Exists") is True for c in case["legacy"].values())
    if moto.startswith("ERR") and ours.startswith("ERR") and moto != ours:
        out["moto"] = "MOTO_MESSAGE"
    elif moto.startswith("ERR <") or "Internal Server Error" in moto:
        out["moto"] = "MOTO_MESSAGE"
    elif ours.startswith("ERR") and not moto.startswith("ERR"):
        out["moto"] = "MOTO_ACCEPTS"
    touched = [item[a] for a in case["legacy"] if a in item]
    values = [v for c in case["legacy"].values() for v in c.get("AttributeValueList", []) + (
        [c["Value"]] if "Value" in c else [])]
    odd = any(has(v, lambda w: "L" in w or "M" in w or "NS" in w or w == {"BOOL": False} or w == {"NULL": True})
              for v in touched + values)
    missing = any(a not in item for a in case["legacy"])
    if not ours.startswith("ERR") and (odd or missing):
        out.setdefault("moto", "PEER_SEMANTICS")
        out.setdefault("dynalite", "PEER_SEMANTICS")
    if exists_value:
        out.setdefault("moto", "EXISTS_VALUE")
        out.setdefault("dynalite", "EXISTS_VALUE")
    if case["op"] == "OR":
        out.setdefault("dynalite", "DYNALITE_OR")
        out.setdefault("moto", "MOTO_LEGACY")
    if case["kind"] == "expected" and ours.startswith("ERR One or more parameter values were invalid: "
                                                      "ComparisonOperator"):
        out.setdefault("dynalite", "DYNALITE_EXPECTED_TYPES")
    if case["kind"] == "filter" or any(c.get("ComparisonOperator") in ("IN", "CONTAINS", "NOT_CONTAINS")
                                       for c in case["legacy"].values()):
        out.setdefault("moto", "MOTO_LEGACY")
    return out


class Evaluator:
    def __init__(self, path):
        self.proc = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, case, item):
        self.proc.stdin.write(json.dumps(dict(case, item=item)) + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().rstrip("\n")

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def main():
    ap = argparse.ArgumentParser()
    # two requests per case on moto: a quarter of DIFF_CASES (make test: 500).
    ap.add_argument("--cases", type=int, default=int(os.environ.get("DIFF_CASES", "2000")) // 4)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("DIFF_SEED", random.randrange(1 << 30))))
    ap.add_argument("--cli", default=os.environ.get("COND_CLI", os.path.join(ROOT, "build/rel/diff/cond_cli")))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    gen = Gen(rng)
    ev = Evaluator(args.cli)
    moto, dyn = peers.start_moto(), peers.start_dynalite()
    stats = {"same": 0}
    diffs = []
    try:
        dbs = [peers.boto3_client(moto), peers.boto3_client(dyn)]
        for db in dbs:
            peers.create_table(db, TABLE, wait=True)
        for i in range(args.cases):
            item = gen.item()
            kind = rng.choice(["filter", "expected"])
            attrs = rng.sample(ATTRS, rng.randint(1, 3))
            legacy = {a: gen.condition(item, a, kind == "expected") for a in attrs}
            for c in legacy.values():
                if "AttributeValueList" in c and c.get("ComparisonOperator") == "IN":
                    c["AttributeValueList"] = unique(c["AttributeValueList"])
            case = {"legacy": legacy, "kind": kind, "op": rng.choice(["AND", "OR"])}
            m, d = (run_peer(db, "k%d" % i, item, case) for db in dbs)
            ours = ev.ask(case, item)
            if ours == m == d:
                stats["same"] += 1
                continue
            ex = excused(case, item, ours, m, d)
            judges = [a for peer, a in (("moto", m), ("dynalite", d)) if peer not in ex]
            if judges and all(a == ours for a in judges):
                for reason in ex.values():
                    stats[reason] = stats.get(reason, 0) + 1
                continue
            if not judges:
                key = "unchecked(%s)" % "+".join(sorted(ex.values()))
                stats[key] = stats.get(key, 0) + 1
                continue
            diffs.append("%s %s %s item=%s:\n      moto     %s\n      dynalite %s\n      dynaseal %s"
                         % (kind, case["op"], json.dumps(legacy), json.dumps(item), m, d, ours))
    finally:
        ev.close()
        peers.stop_all()
    known = {k: v for k, v in stats.items() if k != "same"}
    print("legacy: %d cases (seed %d): %d the same on moto, dynalite and dynaseal, known peer "
          "differences %s, %d other differences" % (args.cases, args.seed, stats["same"], known or "{}", len(diffs)))
    for d in diffs[:12]:
        print("  " + d)
    return 1 if diffs or stats["same"] == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
