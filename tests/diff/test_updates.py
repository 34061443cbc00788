"""Differential test of update expressions: proxy/ddb/ddb_update.c (through
tests/diff/update_cli.c) against dynalite and moto, over generated items and updates.

    python3 tests/diff/test_updates.py [--cases N] [--seed S]

Each case is an item of random attributes (or no item) and a random UpdateExpression of one to
four actions (SET with +, -, if_not_exists and list_append; REMOVE of attributes, map members
and list elements; ADD to numbers and sets; DELETE from sets) over its paths, sometimes invalid
(paths that overlap, a path through a scalar, operands of the wrong type, sums out of range).
It runs as UpdateItem with ReturnValues ALL_NEW on each peer, and in the applier on the same
item; the new item (numbers compared by value, sets without order) or the error message must
match.  Where a peer departs from DynamoDB's documented or observed behaviour the test names the
departure and judges by the other peer:
  - DYNALITE_INEXACT: DynamoDB refuses a sum that needs more than 38 digits or leaves the range
    ("Number overflow..."); dynalite stores it.
  - MOTO_MESSAGE: moto words some refusals its own way (or answers 500); the outcome is judged
    by dynalite.
  - DYNALITE_SET_NUMBERS: number sets hold numbers, compared by value; dynalite compares texts.
  - MOTO_ACCEPTS: moto applies updates DynamoDB refuses: an action whose path goes through a
    scalar ("The document path provided in the update expression is invalid for update"; moto
    skips the action and applies the others), paths that overlap once #names are resolved.
  - Several SETs past a list's end: DynamoDB appends them in index order (Developer Guide:
    "If you add multiple elements in a single SET operation, the elements are sorted in order by
    element number"); moto drops some (MOTO_APPENDS).
  - MOTO_SEQUENTIAL: an action reads the item as it was before the update, not as an earlier
    action left it; moto applies the actions one after another, so that a DELETE of a list
    element that an earlier SET appended fails there ("incorrect data type").
  - ORDER_UNKNOWN: a sum out of range together with another error: which DynamoDB reports
    first is not known here.
A case where every peer is excused is counted as unchecked.
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
from values import ATTRS, Values, has, wire  # noqa: E402

TABLE = "updates"


class Gen(Values):
    """Update expressions over items of random values."""

    def target(self, item):
        """A path to act on, mostly into what the item holds, and the value there."""
        heads = [h for h in ATTRS if h in item]
        head = self.rng.choice(heads) if heads and self.rng.random() < 0.8 else self.rng.choice(ATTRS + ["z"])
        steps, v = [head], item.get(head)
        while v is not None and self.rng.random() < 0.5:
            t, x = next(iter(v.items()))
            if t == "M":
                k = self.rng.choice(sorted(x) + ["nw"])
                steps, v = steps + [k], x.get(k)
            elif t == "L":
                i = self.rng.randrange(len(x) + 2)
                steps, v = steps + [i], x[i] if i < len(x) else None
            else:
                if self.rng.random() < 0.1:
                    steps = steps + ["bad"]       # through a scalar: invalid
                break
        return steps, v

    def update(self, ctx, item):
        clauses, paths = {}, []
        self.reads = []
        for _ in range(self.rng.randint(1, 4)):
            steps, v = self.target(item)
            if any(overlap(steps, p) for p in paths) and self.rng.random() < 0.9:
                continue
            paths.append(steps)
            text = path_text(steps, ctx)
            kind = self.rng.choice(["SET", "SET", "SET", "REMOVE", "ADD", "DELETE"])
            t = next(iter(v))[0] if v else None
            if kind == "SET":
                value, reads = self.set_value(ctx, item, v)
                self.reads.append((steps, reads))
                clauses.setdefault("SET", []).append("%s = %s" % (text, value))
            elif kind == "REMOVE":
                clauses.setdefault("REMOVE", []).append(text)
            elif kind == "ADD":
                if v is not None and next(iter(v)) in ("SS", "NS", "BS") and self.rng.random() < 0.8:
                    add = self.grow(v)
                elif self.rng.random() < 0.9:
                    add = {"N": self.n() if self.rng.random() < 0.9 else self.rng.choice(["9e125", "1e-130", "1e40"])}
                else:
                    add = self.value(1)
                clauses.setdefault("ADD", []).append("%s %s" % (text, self.put(ctx, add)))
            else:
                if v is not None and next(iter(v)) in ("SS", "NS", "BS") and self.rng.random() < 0.8:
                    sub = {next(iter(v)): self.rng.sample(v[next(iter(v))], self.rng.randint(1, len(v[next(iter(v))])))}
                else:
                    sub = self.value(1)
                clauses.setdefault("DELETE", []).append("%s %s" % (text, self.put(ctx, sub)))
            del t
        if not clauses:
            clauses["REMOVE"] = ["z"]
        self.targets = paths
        order = list(clauses)
        self.rng.shuffle(order)
        return " ".join("%s %s" % (c, ", ".join(clauses[c])) for c in order)

    def grow(self, v):
        t = next(iter(v))
        gen = {"SS": self.s, "NS": self.n, "BS": self.b}[t]
        extra = [gen() for _ in range(self.rng.randint(1, 2))]
        if t == "NS":
            extra = [x for x in extra if all(Decimal(x) != Decimal(y) for y in v[t])]
        vals = list(dict.fromkeys(self.rng.sample(v[t], 1) + extra))
        if t == "NS":
            uniq = []
            for x in vals:
                if all(Decimal(x) != Decimal(y) for y in uniq):
                    uniq.append(x)
            vals = uniq
        return {t: vals}

    def put(self, ctx, v):
        ph = ":v%d" % len(ctx["values"])
        ctx["values"][ph] = v
        return ph

    def set_value(self, ctx, item, v):
        """A SET's value (text) and the paths it reads."""
        r = self.rng.random()
        if r < 0.35:
            return self.put(ctx, self.value()), []
        steps, _ = self.target(item)
        p = path_text(steps, ctx)
        if r < 0.5:
            return p, [steps]
        if r < 0.7:
            one = self.put(ctx, {"N": self.n() if self.rng.random() < 0.9 else self.rng.choice(["9e125", "-9e125", "1e40"])})
            return self.rng.choice(["%s + %s" % (p, one), "%s - %s" % (one, p), "%s - %s" % (p, one)]), [steps]
        if r < 0.85:
            return "if_not_exists(%s, %s)" % (p, self.put(ctx, self.value())), [steps]
        lst = self.put(ctx, {"L": [self.value(2) for _ in range(self.rng.randint(0, 2))]})
        return self.rng.choice(["list_append(%s, %s)" % (p, lst), "list_append(%s, %s)" % (lst, p)]), [steps]


def reads_written(gen):
    """Whether a SET reads a value that an action changes (another action at the same path, or
    any action inside it): both peers then answer with the value as changed (they share the
    object; dynalite even crashes on SET b.y = b), while DynamoDB reads every value from the
    item as it was; such cases are not compared."""
    for own, reads in gen.reads:
        for r in reads:
            if any(t[:len(r)] == r and (len(t) > len(r) or (t is not own and len(t) == len(r)))
                   for t in gen.targets):
                return True
    return False


def overlap(p, q):
    n = min(len(p), len(q))
    return p[:n] == q[:n]


def path_text(steps, ctx):
    out = ""
    for s in steps:
        if isinstance(s, int):
            out += "[%d]" % s
        else:
            name = s
            if random.random() < 0.2:
                name = "#n%d" % len(ctx["names"])
                ctx["names"][name] = s
            out += ("." if out else "") + name
    return out


def norm(v):
    """A value in a form where equal values are equal: numbers by value, sets sorted."""
    t, x = next(iter(v.items()))
    if t == "N":
        return ("N", Decimal(x).normalize())
    if t == "NS":
        return ("NS", tuple(sorted(Decimal(e).normalize() for e in x)))
    if t in ("SS", "BS"):
        return (t, tuple(sorted(x)))
    if t == "L":
        return ("L", tuple(norm(e) for e in x))
    if t == "M":
        return ("M", tuple(sorted((k, norm(e)) for k, e in x.items())))
    return (t, x)


def outcome(text):
    if text.startswith("ERR "):
        return text
    item = json.loads(text)
    return tuple(sorted((k, norm(v)) for k, v in item.items() if k != "pk"))


def unwire(v):
    """A peer's answer (boto3: binaries as bytes) back in DynamoDB's JSON."""
    import base64
    t, x = next(iter(v.items()))
    if t == "B":
        return {t: base64.b64encode(x).decode()}
    if t == "BS":
        return {t: [base64.b64encode(e).decode() for e in x]}
    if t == "L":
        return {t: [unwire(e) for e in x]}
    if t == "M":
        return {t: {k: unwire(e) for k, e in x.items()}}
    return v


def run_peer(db, key, item, case):
    kw = {"TableName": TABLE, "Key": {"pk": {"S": key}}, "UpdateExpression": case["expr"],
          "ReturnValues": "ALL_NEW"}
    if case["values"]:
        kw["ExpressionAttributeValues"] = {k: wire(v) for k, v in case["values"].items()}
    if case["names"]:
        kw["ExpressionAttributeNames"] = case["names"]
    try:
        if item is not None:
            db.put_item(TableName=TABLE, Item=dict({k: wire(v) for k, v in item.items()}, pk={"S": key}))
        r = db.update_item(**kw)
        return json.dumps({k: unwire(v) for k, v in r.get("Attributes", {}).items()})
    except Exception as e:  # noqa: BLE001 - any refusal is an outcome to compare
        msg = getattr(e, "response", {}).get("Error", {}).get("Message", str(e))
        return "ERR " + msg.split("\n")[0]


class Applier:
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


def touched(case, item):
    """The item's values of the attributes the expression names (through #names too)."""
    heads = set(re.findall(r"(?<![:#\w.])([a-ez])\b", case["expr"]))
    heads |= {case["names"][ph] for ph in re.findall(r"#\w+", case["expr"]) if ph in case["names"]}
    return [(item or {})[h] for h in heads if h in (item or {})]


def excused(case, item, ours, moto, dyn):
    out = {}
    if ours.startswith("ERR Number ") and not dyn.startswith("ERR"):
        out["dynalite"] = "DYNALITE_INEXACT"
    elif ours.startswith("ERR Number ") and dyn.startswith("ERR"):
        out["dynalite"] = "ORDER_UNKNOWN"   # an inexact sum and another error: which first?
    elif any(has(v, lambda w: "NS" in w) for v in list(case["values"].values()) + touched(case, item)):
        out["dynalite"] = "DYNALITE_SET_NUMBERS"
    if moto.startswith("ERR") and ours.startswith("ERR") and moto != ours:
        out["moto"] = "MOTO_MESSAGE"
    elif moto.startswith("ERR <") or "Internal Server Error" in moto:
        out["moto"] = "MOTO_MESSAGE"
    elif ours.startswith("ERR") and not moto.startswith("ERR"):
        out["moto"] = "MOTO_ACCEPTS"      # moto applies what DynamoDB refuses
    elif moto.startswith("ERR") and not ours.startswith("ERR") and re.search(r"\[\d+\]\s*=", case["expr"]) \
            and re.search(r"\b(ADD|DELETE|REMOVE)\b", case["expr"]):
        out["moto"] = "MOTO_SEQUENTIAL"   # moto's later actions see what a SET appended
    elif len(re.findall(r"\[\d+\]\s*=", case["expr"])) >= 2:
        out["moto"] = "MOTO_APPENDS"      # several SETs past a list's end: moto drops some
    return out


def main():
    ap = argparse.ArgumentParser()
    # moto answers about 15 requests a second: a quarter of DIFF_CASES (make test: 500).
    ap.add_argument("--cases", type=int, default=int(os.environ.get("DIFF_CASES", "2000")) // 4)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("DIFF_SEED", random.randrange(1 << 30))))
    ap.add_argument("--cli", default=os.environ.get("UPDATE_CLI", os.path.join(ROOT, "build/rel/diff/update_cli")))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    random.seed(args.seed)
    gen = Gen(rng)
    app = Applier(args.cli)
    moto, dyn = peers.start_moto(), peers.start_dynalite()
    stats = {"same": 0}
    diffs = []
    try:
        dbs = [peers.boto3_client(moto), peers.boto3_client(dyn)]
        for db in dbs:
            peers.create_table(db, TABLE, wait=True)
        for i in range(args.cases):
            item = gen.item() if rng.random() < 0.9 else None
            ctx = {"names": {}, "values": {}}
            ctx["expr"] = gen.update(ctx, item or {})
            if reads_written(gen):
                stats["skipped(ALIAS)"] = stats.get("skipped(ALIAS)", 0) + 1
                continue
            used = set(re.findall(r"[:#]\w+", ctx["expr"]))
            ctx["values"] = {k: v for k, v in ctx["values"].items() if k in used}
            ctx["names"] = {k: v for k, v in ctx["names"].items() if k in used}
            m, d = (run_peer(db, "k%d" % i, item, ctx) for db in dbs)
            ours = app.ask(ctx, item)
            o, mo, do = outcome(ours), outcome(m), outcome(d)
            if o == mo == do:
                stats["same"] += 1
                continue
            ex = excused(ctx, item, ours, m, d)
            judges = [a for peer, a in (("moto", mo), ("dynalite", do)) if peer not in ex]
            if judges and all(a == o for a in judges):
                for reason in ex.values():
                    stats[reason] = stats.get(reason, 0) + 1
                continue
            if not judges:
                key = "unchecked(%s)" % "+".join(sorted(ex.values()))
                stats[key] = stats.get(key, 0) + 1
                continue
            diffs.append("%s  names=%s values=%s item=%s:\n      moto     %s\n      dynalite %s\n      dynaseal %s"
                         % (ctx["expr"], ctx["names"], json.dumps(ctx["values"]), json.dumps(item), m, d, ours))
    finally:
        app.close()
        peers.stop_all()
    known = {k: v for k, v in stats.items() if k != "same"}
    print("updates: %d cases (seed %d): %d the same on moto, dynalite and dynaseal, known peer "
          "differences %s, %d other differences" % (args.cases, args.seed, stats["same"], known or "{}", len(diffs)))
    for d in diffs[:12]:
        print("  " + d)
    return 1 if diffs or stats["same"] == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
