"""Differential test of DynamoDB numbers: proxy/ddb/ddb_number.c (through tests/diff/number_cli.c)
against dynalite, over generated cases.

    python3 tests/diff/test_numbers.py [--cases N] [--seed S]

Each case goes to dynalite as an application would send it and to the module; what the
application would observe must match:
  P  a number text, valid or not: UpdateItem SET n = :v, ReturnValues UPDATED_NEW -> the stored
     (canonical) text, or the ValidationException's message;
  A/S  x + y and x - y: UpdateItem SET n = :x + :y (or -) -> the result, or the error;
  C  x against y: UpdateItem with ConditionExpression a < :y, then a = :y, on an item whose a is x.
Where dynalite departs from DynamoDB's documented or observed behaviour the documentation wins
and the case is counted apart (`known`), each reason named below:
  - PLUS: DynamoDB reads a leading '+' ("+3" is 3); dynalite's parser refuses it.
  - INEXACT: DynamoDB refuses a sum that needs more than 38 digits or leaves the range ("Number
    overflow..."); dynalite stores it.
Exits 1 on any other difference, printing the first ones with the seed to replay them.
"""
import argparse
import os
import random
import subprocess
import sys
from decimal import Decimal, getcontext

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import peers  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402

getcontext().prec = 400
TABLE = "numbers"


def gen_digits(rng, n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def gen_valid(rng):
    """A number text of many shapes; most in range, some just out of it."""
    sign = rng.choice(["", "", "", "-", "+"])
    shape = rng.random()
    lead_zeros = "0" * rng.choice([0, 0, 0, 1, 3])
    if shape < 0.3:
        body = lead_zeros + gen_digits(rng, rng.randint(1, 20))
    elif shape < 0.6:
        body = lead_zeros + gen_digits(rng, rng.randint(0, 20)) + "." + gen_digits(rng, rng.randint(1, 20))
    elif shape < 0.75:
        body = gen_digits(rng, rng.randint(36, 41)).lstrip("0") or "1"
        if rng.random() < 0.5:
            body = body[:rng.randint(1, len(body) - 1)] + "." + body[rng.randint(1, len(body) - 1):]
    else:
        body = gen_digits(rng, rng.randint(1, 6))
        if rng.random() < 0.3:
            body += "." + gen_digits(rng, rng.randint(0, 4))
        if rng.random() < 0.5 and "." not in body:
            body += "."
    if rng.random() < 0.4:
        exp = rng.choice([rng.randint(-20, 20), rng.randint(-140, -120), rng.randint(115, 135)])
        body += rng.choice("eE") + rng.choice(["", "+", "-"] if exp >= 0 else ["-"]) + str(abs(exp))
    return sign + body


def gen_invalid(rng):
    return "".join(rng.choice("0123456789.eE+- xaN") for _ in range(rng.randint(1, 6)))


def dynalite_error(e):
    """The core of dynalite's ValidationException message for a bad :v."""
    msg = e.response["Error"]["Message"]
    for prefix in ("ExpressionAttributeValues contains invalid value: ",
                   "One or more parameter values were invalid: "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    if " for key " in msg:
        msg = msg[:msg.rindex(" for key ")]
    return "ERR " + msg


def set_value(db, expr, values):
    try:
        r = db.update_item(TableName=TABLE, Key={"pk": {"S": "k"}}, UpdateExpression=expr,
                           ExpressionAttributeValues=values, ReturnValues="UPDATED_NEW")
        return "OK " + r["Attributes"]["n"]["N"]
    except ClientError as e:
        if e.response["Error"]["Code"] != "ValidationException":
            raise
        return dynalite_error(e)


def compare(db, x, y):
    db.put_item(TableName=TABLE, Item={"pk": {"S": "c"}, "a": {"N": x}})
    for cond, answer in (("a < :y", "-1"), ("a = :y", "0")):
        try:
            db.update_item(TableName=TABLE, Key={"pk": {"S": "c"}}, UpdateExpression="SET b = :y",
                           ConditionExpression=cond, ExpressionAttributeValues={":y": {"N": y}})
            return answer
        except ClientError as e:
            if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
    return "1"


def in_dynamodb_range(text):
    """Whether an exact value is one DynamoDB stores (38 digits, leading digit's exponent in
    [-130, 125])."""
    d = Decimal(text)
    if d == 0:
        return True
    sign, digits, exp = d.normalize().as_tuple()
    return len(digits) <= 38 and -130 <= exp + len(digits) - 1 <= 125


class Module:
    def __init__(self, path):
        self.proc = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().rstrip("\n")

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=int(os.environ.get("DIFF_CASES", "2000")))
    ap.add_argument("--seed", type=int, default=int(os.environ.get("DIFF_SEED", random.randrange(1 << 30))))
    ap.add_argument("--cli", default=os.environ.get("NUMBER_CLI", os.path.join(ROOT, "build/rel/diff/number_cli")))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    mod = Module(args.cli)
    dyn = peers.start_dynalite()
    stats = {"same": 0, "known": 0, "PLUS": 0, "INEXACT": 0}
    diffs = []
    try:
        db = peers.boto3_client(dyn)
        peers.create_table(db, TABLE, wait=True)
        valid = []

        def check(kind, request, theirs, ours, known=None):
            if theirs == ours:
                stats["same"] += 1
            elif known is not None and known[1](theirs, ours):
                stats["known"] += 1
                stats[known[0]] += 1
            else:
                diffs.append("%s %s: dynalite %r, dynaseal %r" % (kind, request, theirs, ours))

        n_parse = args.cases // 2
        for _ in range(n_parse):
            text = gen_valid(rng) if rng.random() < 0.85 else gen_invalid(rng)
            ours = mod.ask("P " + text)
            theirs = set_value(db, "SET n = :v", {":v": {"N": text}})
            plus = text.startswith("+") and theirs.startswith("ERR The parameter cannot be converted")
            check("P", repr(text), theirs, ours,
                  known=("PLUS", lambda t, o, plus=plus, text=text:
                         plus and o == set_value(db, "SET n = :v", {":v": {"N": text[1:]}})))
            if ours.startswith("OK "):
                valid.append(ours[3:])
        n_sum = args.cases // 3
        for _ in range(n_sum):
            x, y = rng.choice(valid), rng.choice(valid)
            if rng.random() < 0.3:
                y = str(Decimal(x).scaleb(rng.randint(-3, 3)))   # close in magnitude: exact sums
                y = mod.ask("P " + y)[3:] if mod.ask("P " + y).startswith("OK ") else x
            op = rng.choice("+-")
            ours = mod.ask(("A " if op == "+" else "S ") + x + " " + y)
            theirs = set_value(db, "SET n = :x %s :y" % op, {":x": {"N": x}, ":y": {"N": y}})
            check(op, "%s %s %s" % (x, op, y), theirs, ours,
                  known=("INEXACT", lambda t, o: t.startswith("OK ") and not in_dynamodb_range(t[3:])
                         and o.startswith("ERR Number ")))
        for _ in range(args.cases - n_parse - n_sum):
            x, y = rng.choice(valid), rng.choice(valid + valid[-5:])
            if rng.random() < 0.2:
                y = x
            check("C", "%s ? %s" % (x, y), compare(db, x, y), mod.ask("C %s %s" % (x, y)))
    finally:
        mod.close()
        peers.stop_all()
    print("numbers: %d cases (seed %d): %d the same, %d known differences (PLUS %d, INEXACT %d), "
          "%d other differences" % (args.cases, args.seed, stats["same"], stats["known"],
                                    stats["PLUS"], stats["INEXACT"], len(diffs)))
    for d in diffs[:20]:
        print("  " + d)
    return 1 if diffs or stats["same"] == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
