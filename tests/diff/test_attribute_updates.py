"""Differential test of the legacy AttributeUpdates parameter on a configured table:
proxy/route_legacy.c writes it as an update expression, which dynaseal forwards (unprotected
attributes only) or carries out itself (proxy/route_rmw.c: read, verify, apply, encrypt, write
back) when it touches an encrypted or signed attribute.  The oracle is dynalite answering the
same AttributeUpdates itself, on a plaintext table.

    python3 tests/diff/test_attribute_updates.py [--cases N] [--seed S]

Each case is an item of random attributes (or none: an upsert) and one to three random updates
(PUT with a value, ADD of a number or a set, DELETE with or without a set; some invalid on
purpose: ADD of a string, DELETE of a scalar, values of the wrong set type) with a random
ReturnValues.  The outcome (Attributes, or the refusal's type and message) and the stored item
read back afterwards must be the same.  Attributes a and d are ENCRYPT_AND_SIGN, b SIGN_ONLY,
c and e DO_NOTHING.

A peer departure, counted and not failed: DYNALITE_DEEP_EQUAL: dynalite takes no list or map as
equal to anything (test_conditions.py names it), so the write-back dynaseal conditions on a
DO_NOTHING attribute it rewrites still holding the list or map it read never succeeds there,
and dynaseal answers the retryable 500 of a lost race; DynamoDB compares them by content.
DYNALITE_EMPTY_ATTRIBUTES: when no attribute of UPDATED_OLD or UPDATED_NEW is there, dynalite
answers "Attributes": {}; DynamoDB (and moto) leave Attributes out, as dynaseal does.

Sets are compared unordered and numbers by value: DynamoDB promises no order of a set's
elements (dynaseal's encrypted sets come back sorted, as the DB-ESDK serializes them), and a
number's value is what an SDK reads.  Answers that differ only so are counted (SPELLING), not
failed.
"""
import argparse
import json
import os
import random
import sys
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, HERE)

import peers  # noqa: E402
from values import ATTRS, Values, has, wire  # noqa: E402

DIRECT, SEALED = "plain_updates", "sealed_updates"
ACTIONS = {"a": "ENCRYPT_AND_SIGN", "b": "SIGN_ONLY", "c": "DO_NOTHING", "d": "ENCRYPT_AND_SIGN",
           "e": "DO_NOTHING"}
RETURNS = ["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"]


class Gen(Values):
    def like(self, item, attr):
        """A set of the item's set type for attr, sometimes sharing its elements."""
        v = item.get(attr)
        if v is not None and next(iter(v)) in ("SS", "NS", "BS") and self.rng.random() < 0.7:
            t, elems = next(iter(v.items()))
            pick = self.rng.sample(elems, self.rng.randint(1, len(elems)))
            extra = self.a_set()
            if next(iter(extra)) == t and self.rng.random() < 0.5:
                pick += [e for e in extra[t] if e not in pick and
                         not (t == "NS" and any(Decimal(e) == Decimal(p) for p in pick))]
            return {t: pick}
        return self.a_set()

    def update(self, item, attr):
        r = self.rng.random()
        if r < 0.35:
            return {"Action": "PUT", "Value": self.value()}
        if r < 0.65:
            if self.rng.random() < 0.5 or next(iter(item.get(attr, {"NS": 0}))) == "N":
                v = {"N": self.n()} if self.rng.random() < 0.85 else self.scalar()
            else:
                v = self.like(item, attr)
            return {"Action": "ADD", "Value": v}
        if r < 0.8:
            return {"Action": "DELETE"}
        v = self.like(item, attr) if self.rng.random() < 0.85 else self.scalar()
        return {"Action": "DELETE", "Value": v}


def norm(v):
    """An AttributeValue with numbers as their value and sets unordered (see the docstring)."""
    t, x = next(iter(v.items()))
    if t == "N":
        return ("N", Decimal(x).normalize() if Decimal(x) != 0 else Decimal(0))
    if t == "NS":
        return ("NS", frozenset(Decimal(e).normalize() if Decimal(e) != 0 else Decimal(0) for e in x))
    if t in ("SS", "BS"):
        return (t, frozenset(x if isinstance(x, str) else x for x in (e if isinstance(e, str) else bytes(e) for e in x)))
    if t == "B":
        return ("B", bytes(x))
    if t == "L":
        return ("L", tuple(norm(e) for e in x))
    if t == "M":
        return ("M", frozenset((k, norm(e)) for k, e in x.items()))
    return (t, x)


def text(v):
    return json.dumps(v, sort_keys=True, default=lambda b: b.hex() if isinstance(b, bytes) else str(b))


def run(db, table, key, item, updates, ret):
    """The outcome of the update and the item it leaves, as comparable values."""
    try:
        r = db.update_item(TableName=table, Key={"pk": {"S": key}}, AttributeUpdates=updates,
                           ReturnValues=ret)
        attrs = r.get("Attributes")
        out = ("OK", None if attrs is None else frozenset((k, norm(v)) for k, v in attrs.items()))
        raw = attrs
    except Exception as e:  # noqa: BLE001 - any refusal is an outcome to compare
        err = getattr(e, "response", {}).get("Error", {})
        out = ("ERR", err.get("Code"), err.get("Message", str(e)).split("\n")[0])
        raw = None
    stored = db.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True).get("Item")
    after = None if stored is None else frozenset((k, norm(v)) for k, v in stored.items())
    return out, after, raw


def main():
    ap = argparse.ArgumentParser()
    # about six requests per case: an eighth of DIFF_CASES (make test: 250).
    ap.add_argument("--cases", type=int, default=int(os.environ.get("DIFF_CASES", "2000")) // 8)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("DIFF_SEED", random.randrange(1 << 30))))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    gen = Gen(rng)
    dyn = peers.start_dynalite()
    stats = {"same": 0, "refused alike": 0, "SPELLING": 0, "DYNALITE_DEEP_EQUAL": 0,
             "DYNALITE_EMPTY_ATTRIBUTES": 0}
    diffs = []
    try:
        raw = peers.boto3_client(dyn)
        for t in (DIRECT, SEALED):
            peers.create_table(raw, t, wait=True)
        key = peers.random_key_file(dyn.workdir, "updates.key")
        proxy = peers.start_dynaseal(dyn.url, config={
            "keyrings": {"local": {"type": "raw-aes", "key_file": key}},
            "tables": {SEALED: {"keyring": "local", "partition_key": "pk",
                                "attribute_actions": dict(ACTIONS, pk="SIGN_ONLY")}}})
        app = peers.boto3_client(proxy)
        for i in range(args.cases):
            item = gen.item() if rng.random() < 0.8 else None
            k = "k%d" % i
            if item is not None:
                for db, t in ((raw, DIRECT), (app, SEALED)):
                    db.put_item(TableName=t, Item=dict({a: wire(v) for a, v in item.items()}, pk={"S": k}))
            attrs = rng.sample(ATTRS, rng.randint(1, 3))
            updates = {a: gen.update(item or {}, a) for a in attrs}
            wired = {a: dict(u, Value=wire(u["Value"])) if "Value" in u else u for a, u in updates.items()}
            ret = rng.choice(RETURNS)
            want, want_after, want_raw = run(raw, DIRECT, k, item, wired, ret)
            got, got_after, got_raw = run(app, SEALED, k, item, wired, ret)
            if want == got and want_after == got_after:
                stats["same" if want[0] == "OK" else "refused alike"] += 1
                if want[0] == "OK" and text(want_raw) != text(got_raw):
                    stats["SPELLING"] += 1
                continue
            if want == ("OK", frozenset()) and got == ("OK", None) and want_after == got_after:
                stats["DYNALITE_EMPTY_ATTRIBUTES"] += 1
                continue
            if (got[0] == "ERR" and "read-modify-write" in got[2] and item is not None and
                    any(ACTIONS[a] == "DO_NOTHING" and a in item and
                        has(item[a], lambda w: "L" in w or "M" in w) for a in updates)):
                stats["DYNALITE_DEEP_EQUAL"] += 1
                continue
            diffs.append("ReturnValues=%s updates=%s item=%s:\n      dynalite %s\n               after %s\n"
                         "      dynaseal %s\n               after %s"
                         % (ret, json.dumps(updates), json.dumps(item), want, sorted(want_after or []),
                            got, sorted(got_after or [])))
    finally:
        peers.stop_all()
    print("attribute_updates: %d cases (seed %d): %d the same, %d refused alike, %d answered with "
          "sets in another order or numbers spelt otherwise (SPELLING), %d DYNALITE_DEEP_EQUAL, %d DYNALITE_EMPTY_ATTRIBUTES, "
          "%d other differences"
          % (args.cases, args.seed, stats["same"], stats["refused alike"], stats["SPELLING"],
             stats["DYNALITE_DEEP_EQUAL"], stats["DYNALITE_EMPTY_ATTRIBUTES"], len(diffs)))
    for d in diffs[:12]:
        print("  " + d)
    return 1 if diffs or stats["same"] == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
