"""Differential test of condition evaluation: proxy/ddb/ddb_eval.c (through
tests/diff/cond_cli.c) against moto and dynalite, over generated items and conditions.

    python3 tests/diff/test_conditions.py [--cases N] [--seed S]

Each case is an item of random attributes (every type, nested maps and lists, sets) and a
random valid condition over it (comparators, BETWEEN, IN, AND/OR/NOT, parentheses, every
function, nested paths, #names, :values).  The items go into one table of each peer; each
condition runs there as the FilterExpression of a Query for its item (Count 1 or 0), and in
the evaluator on the same item.  A case passes when the evaluator agrees with both peers.
Where the peers disagree, DynamoDB's documented behaviour decides, each reason named below
and counted apart; anything else fails the test:
  - LIST_CONTAINS: contains(list, value) holds when the list has an element equal to the value
    (Developer Guide: "contains(path, operand)": "a list ... the operand can be ... an element
    of the list"); dynalite compares only string, number and binary elements, and strings
    against numbers' text.
  - DEEP_EQUAL: maps and lists are equal when their contents are (moto and DynamoDB agree);
    dynalite compares them by identity, so never equal.
  - NUMBER_SET: number sets hold numbers, compared by value ("1" and "1.0" are one element);
    dynalite compares their texts.
  - MISSING_PAIR: a missing attribute is equal to nothing, another missing one included, and
    ordered against nothing (observed on DynamoDB; scylladb's alternator tests record it); both
    peers take two missing operands as equal.
  - DYNALITE_FALSE_IN: dynalite's IN never matches a false boolean.
  - MOTO_500: moto fails (500) ordering values of different types; DynamoDB answers false.
  - MOTO_NULL: moto takes a missing attribute as equal to NULL.
  - MOTO_BOOL_ORDER: moto orders booleans against numbers (Python's False < 1).
  - MOTO_BOOL_EQUAL: moto takes a boolean as equal to a number (Python's False == 0); values of
    different types are never equal in DynamoDB.
  - MOTO_BINARY_PREFIX: moto's begins_with misreads binaries.
  - MOTO_BETWEEN_ORDER: moto evaluates a BETWEEN whose value bounds are in the wrong order (or
    of two types); DynamoDB refuses it before reading an item ("The BETWEEN operator requires
    upper bound to be greater than or equal to lower bound; ..."), as dynalite does.
  - MOTO_UTF16: size() of a string counts UTF-16 code units (observed on DynamoDB: size of
    "é𝄞" is 3); moto counts characters.
A case where every peer is excused is counted as unchecked; the closing line gives the counts.
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, HERE)

import peers  # noqa: E402
from values import ATTRS, Values, has, size_of, sort_key, wire  # noqa: E402

TABLE = "conditions"


class Gen(Values):
    """Conditions over items of random values."""

    def path(self, ctx):
        """A path (text), resolved through #names sometimes; nested into maps and lists."""
        head = self.rng.choice(ATTRS)
        text = head
        if self.rng.random() < 0.25:
            ph = "#n%d" % len(ctx["names"])
            ctx["names"][ph] = head
            text = ph
        for _ in range(self.rng.choice([0, 0, 0, 1, 1, 2])):
            text += self.rng.choice([".x", ".y", "[0]", "[1]"])
        return text

    def val(self, ctx, kinds=None, like=None):
        """A :value placeholder holding a fresh value, or one of the item's (so that it hits)."""
        v = None
        if like is not None and self.rng.random() < 0.5:
            v = like
        while v is None or (kinds is not None and list(v)[0] not in kinds):
            v = self.scalar() if kinds is not None else self.value(1)
            if kinds is not None and list(v)[0] not in kinds:
                v = {kinds[0]: getattr(self, kinds[0].lower())()}
        ph = ":v%d" % len(ctx["values"])
        ctx["values"][ph] = v
        return ph, v

    def operand(self, ctx, item, kinds=None):
        r = self.rng.random()
        if r < 0.5:
            return self.path(ctx)
        if r < 0.65:
            return "size(%s)" % self.path(ctx)
        like = item.get(self.rng.choice(ATTRS)) if item else None
        return self.val(ctx, kinds, like)[0]

    def path_value(self, ctx, item):
        """A path and the item's value there (None when it leads nowhere), so that the value
        or one near it can be compared with it."""
        heads = [h for h in ATTRS if h in item] or ATTRS
        head = self.rng.choice(heads)
        text, v = head, item.get(head)
        if self.rng.random() < 0.25:
            ph = "#n%d" % len(ctx["names"])
            ctx["names"][ph] = head
            text = ph
        while v is not None and self.rng.random() < 0.4:
            t, x = next(iter(v.items()))
            if t == "M" and x:
                k = self.rng.choice(sorted(x))
                text, v = text + "." + k, x[k]
            elif t == "L" and x:
                i = self.rng.randrange(len(x))
                text, v = text + "[%d]" % i, x[i]
            else:
                break
        return text, v

    def near(self, v):
        """v itself, or a value of its type close to it."""
        t, x = next(iter(v.items()))
        if t == "N" and self.rng.random() < 0.5:
            return {"N": str(Decimal(x) + self.rng.choice([-1, 1]) * Decimal("0.5"))}
        if t == "S" and self.rng.random() < 0.5:
            return {"S": x[:-1] if len(x) > 1 and self.rng.random() < 0.5 else x + "a"}
        return v

    def comparison(self, ctx, item):
        op = self.rng.choice(["=", "<>", "<", "<=", ">", ">="])
        kinds = None if op in ("=", "<>") else ["S", "N", "B"]
        if self.rng.random() < 0.5:
            text, v = self.path_value(ctx, item)
            if self.rng.random() < 0.3 and v is not None:
                n = size_of(v)
                if n is not None:
                    ph = ":v%d" % len(ctx["values"])
                    ctx["values"][ph] = {"N": str(n + self.rng.choice([-1, 0, 0, 1]))}
                    return "size(%s) %s %s" % (text, op, ph)
            if v is not None and (kinds is None or list(v)[0] in kinds):
                ph = ":v%d" % len(ctx["values"])
                ctx["values"][ph] = self.near(v)
                return "%s %s %s" % (text, op, ph) if self.rng.random() < 0.7 else "%s %s %s" % (ph, op, text)
        a = self.operand(ctx, item, kinds)
        b = self.operand(ctx, item, kinds)
        if a == b or (a.startswith(":") and b.startswith(":")):
            b = self.path(ctx)
            if b == a:
                return "attribute_exists(%s)" % a if not a.startswith(("size", ":")) else "%s = %s" % (a, self.val(ctx)[0])
        return "%s %s %s" % (a, op, b)

    def condition(self, ctx, item, depth=0):
        r = self.rng.random()
        if depth < 3 and r < 0.25:
            op = self.rng.choice([" AND ", " OR "])
            return "(" + self.condition(ctx, item, depth + 1) + op + self.condition(ctx, item, depth + 1) + ")"
        if depth < 3 and r < 0.32:
            inner = self.condition(ctx, item, depth + 1)
            return "NOT " + (inner if inner.startswith("(") else "(" + inner + ")")
        r = self.rng.random()
        if r < 0.4:
            return self.comparison(ctx, item)
        if r < 0.5:
            kind = self.rng.choice(["S", "N", "B"])
            lo_ph, lo = self.val(ctx, [kind])
            hi_ph, hi = self.val(ctx, [kind])
            # Mostly in order; otherwise DynamoDB refuses the bounds whatever the item.
            if (sort_key(lo) > sort_key(hi)) != (self.rng.random() < 0.15):
                ctx["values"][lo_ph], ctx["values"][hi_ph] = hi, lo
            return "%s BETWEEN %s AND %s" % (self.path(ctx), lo_ph, hi_ph)
        if r < 0.6:
            like = item.get(self.rng.choice(ATTRS)) if item else None
            return "%s IN (%s)" % (self.path(ctx), ", ".join(self.val(ctx, None, like)[0] for _ in range(self.rng.randint(1, 3))))
        f = self.rng.choice(["attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains"])
        if f in ("attribute_exists", "attribute_not_exists"):
            return "%s(%s)" % (f, self.path(ctx))
        if f == "attribute_type":
            ph = ":v%d" % len(ctx["values"])
            ctx["values"][ph] = {"S": self.rng.choice(["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"])}
            return "attribute_type(%s, %s)" % (self.path(ctx), ph)
        if f == "begins_with":
            return "begins_with(%s, %s)" % (self.path(ctx), self.val(ctx, [self.rng.choice("SB")])[0])
        like = None
        if item:
            v = item.get(self.rng.choice(ATTRS))
            if v and list(v)[0] in ("SS", "NS", "BS") and v[list(v)[0]]:
                like = {list(v)[0][0]: self.rng.choice(v[list(v)[0]])}
            elif v and "L" in v and v["L"]:
                like = self.rng.choice(v["L"])
        return "contains(%s, %s)" % (self.path(ctx), self.val(ctx, None, like)[0])


def query(db, key, case):
    values = {k: wire(v) for k, v in case["values"].items()}
    values[":pk"] = {"S": key}
    kw = {"TableName": TABLE, "KeyConditionExpression": "pk = :pk", "FilterExpression": case["expr"],
          "ExpressionAttributeValues": values, "ConsistentRead": True}
    if case["names"]:
        kw["ExpressionAttributeNames"] = case["names"]
    try:
        return "true" if db.query(**kw)["Count"] == 1 else "false"
    except Exception as e:  # noqa: BLE001 - any refusal is an outcome to compare
        msg = getattr(e, "response", {}).get("Error", {}).get("Message", str(e))
        return "ERR " + msg


class Evaluator:
    def __init__(self, path):
        self.proc = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, case, item):
        req = {"expr": case["expr"], "item": item, "names": case["names"] or None,
               "values": case["values"] or None}
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().rstrip("\n")

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def referenced(case, item):
    """The item's values of the attributes expr names (through #names too)."""
    heads = set(re.findall(r"(?<![:#\w])([a-e])\b", case["expr"]))
    heads |= {case["names"][ph] for ph in re.findall(r"#\w+", case["expr"]) if ph in case["names"]}
    return [item[h] for h in heads if h in item]


def compares_two_paths(expr):
    """Whether a comparison in expr has a path or size() on both sides (so both may be missing)."""
    for m in re.finditer(r"\s(=|<>|<=|>=|<|>)\s", expr):
        left, right = expr[:m.start()].rstrip(), expr[m.end():].lstrip()
        if not re.search(r":\w+$", left) and not right.startswith(":"):
            return True
    return False


def excused(case, item, moto, dyn):
    """The peers whose answer a known departure from DynamoDB may have changed in this case,
    each with its reason: {peer: reason}."""
    expr, out = case["expr"], {}
    operands = list(case["values"].values()) + referenced(case, item)
    vals = list(case["values"].values()) + list(item.values())   # NULL anywhere: moto
    if moto.startswith("ERR <!doctype") or "500 Internal Server Error" in moto:
        out["moto"] = "MOTO_500"         # moto fails ordering values of different types
    elif any(has(v, lambda w: w == {"NULL": True}) for v in vals):
        out["moto"] = "MOTO_NULL"        # moto takes a missing attribute as equal to NULL
    elif compares_two_paths(expr):
        out["moto"] = "MISSING_PAIR"     # moto takes two missing operands as equal
    elif re.search(r"<|>|BETWEEN", expr) and any(has(v, lambda w: "BOOL" in w) for v in referenced(case, item)):
        out["moto"] = "MOTO_BOOL_ORDER"  # moto orders booleans against numbers (False < 1)
    elif re.search(r"(?<![<>])=|<>| IN \(", expr) and any(has(v, lambda w: "BOOL" in w) for v in operands) \
            and any(has(v, lambda w: "N" in w) for v in operands):
        out["moto"] = "MOTO_BOOL_EQUAL"  # moto takes False as equal to 0 (Python's False == 0)
    elif "size(" in expr and any(has(v, lambda w: "S" in w and any(ord(c) > 0xffff for c in w["S"]))
                                 for v in referenced(case, item)):
        out["moto"] = "MOTO_UTF16"       # moto's size() counts characters, not UTF-16 units
    elif "begins_with(" in expr and any("B" in v for v in case["values"].values()):
        out["moto"] = "MOTO_BINARY_PREFIX"  # moto's begins_with misreads binaries
    elif "BETWEEN" in expr and "requires upper bound to be greater than or equal" in dyn:
        out["moto"] = "MOTO_BETWEEN_ORDER"  # moto evaluates bounds in the wrong order
    if "contains(" in expr and any("L" in v for v in item.values()):
        out["dynalite"] = "LIST_CONTAINS"
    elif re.search(r"(?<![<>])=|<>| IN \(|contains\(", expr) and any(
            has(v, lambda w: "L" in w or "M" in w) for v in list(case["values"].values()) + referenced(case, item)):
        out["dynalite"] = "DEEP_EQUAL"
    elif any(has(v, lambda w: "NS" in w) for v in list(case["values"].values()) + referenced(case, item)):
        out["dynalite"] = "NUMBER_SET"
    elif compares_two_paths(expr):
        out["dynalite"] = "MISSING_PAIR"  # dynalite takes two missing operands as equal
    elif " IN (" in expr and any(has(v, lambda w: w == {"BOOL": False}) for v in vals):
        out["dynalite"] = "DYNALITE_FALSE_IN"  # dynalite's IN never matches a false boolean
    return out


def main():
    ap = argparse.ArgumentParser()
    # moto answers about 15 queries a second: a quarter of DIFF_CASES (make test: 500).
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
            ctx = {"names": {}, "values": {}}
            ctx["expr"] = gen.condition(ctx, item)
            used = set(re.findall(r"[:#]\w+", ctx["expr"]))
            ctx["values"] = {k: v for k, v in ctx["values"].items() if k in used}
            ctx["names"] = {k: v for k, v in ctx["names"].items() if k in used}
            key = "k%d" % i
            for db in dbs:
                db.put_item(TableName=TABLE, Item=dict({k: wire(v) for k, v in item.items()}, pk={"S": key}))
            m, d = (query(db, key, ctx) for db in dbs)
            ours = ev.ask(ctx, item)
            if ours == m == d:
                stats["same"] += 1
                continue
            ex = excused(ctx, item, m, d)
            judges = [a for peer, a in (("moto", m), ("dynalite", d)) if peer not in ex]
            if judges and all(a == ours for a in judges):
                for reason in ex.values():
                    stats[reason] = stats.get(reason, 0) + 1
                continue
            if not judges:
                key = "unchecked(%s)" % "+".join(sorted(ex.values()))
                stats[key] = stats.get(key, 0) + 1
                continue
            diffs.append("%s  names=%s values=%s item=%s: moto %s, dynalite %s, dynaseal %s"
                         % (ctx["expr"], ctx["names"], json.dumps(ctx["values"]), json.dumps(item), m, d, ours))
    finally:
        ev.close()
        peers.stop_all()
    known = {k: v for k, v in stats.items() if k != "same"}
    print("conditions: %d cases (seed %d): %d the same on moto, dynalite and dynaseal, known peer "
          "differences %s, %d other differences" % (args.cases, args.seed, stats["same"], known or "{}", len(diffs)))
    for d in diffs[:15]:
        print("  " + d)
    return 1 if diffs or stats["same"] == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
