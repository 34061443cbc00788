"""Integrity model: thousands of random DynamoDB operations through dynaseal against moto,
every answer compared with an in-memory model, then the backend dumped directly to prove that
no plaintext of any ENCRYPT_AND_SIGN value reached it and that it holds exactly the model.

Two encrypted tables: `m_sorted` (pk S + sk N, queried with small Limit pages) and `m_hashed`
(pk only).  Values are random and nested, of every type (S with unicode, N big / negative /
decimal, B, BOOL, NULL, L, M, SS, NS, BS); every leaf of an ENCRYPT_AND_SIGN value carries a
unique marker (`MK0000001` in strings, `MKB0000001` in binaries, `73910000001` in numbers)
that the raw dump (at_rest.haystack: every binary decoded, also base64 views) is searched for.

MODEL_OPS (default 2000) and MODEL_SEED (default random, printed) replay a run.
"""
import copy
import os
import random
import re
import sys
import unittest
from decimal import Decimal, localcontext

import at_rest
import peers as h

OPS = int(os.environ.get("MODEL_OPS", "2000"))
SEED = int(os.environ.get("MODEL_SEED") or random.SystemRandom().randrange(1 << 32))
ENC = ("secret", "doc", "blob")           # ENCRYPT_AND_SIGN
SIGNED = ("tag",)                         # SIGN_ONLY
PLAIN = ("cnt", "lst", "note", "tags", "nset")   # DO_NOTHING
ACTIONS = dict([(a, "ENCRYPT_AND_SIGN") for a in ENC] + [(a, "SIGN_ONLY") for a in SIGNED]
               + [(a, "DO_NOTHING") for a in PLAIN])
SORTED, HASHED = "m_sorted", "m_hashed"
PKS = ["p%02d" % i for i in range(7)] + ["pü✓"]
SKS = ["-5", "-1.5", "0", "1", "2", "3", "4", "5", "7.25", "10", "1000"]
HKS = ["h%02d" % i for i in range(45)] + ["ключ"]
MARK_RE = re.compile(rb"MKB?\d{7}|7391\d{7}")


def norm(n):
    """A number in one spelling per value (DynamoDB normalises, moto keeps what it got)."""
    with localcontext() as c:
        c.prec = 80
        d = Decimal(n)
        return "0" if d == 0 else str(d.normalize())


def canon(v):
    """A hashable form of an attribute value: numbers normalised, sets unordered."""
    (t, x), = v.items()
    if t == "N":
        return ("N", norm(x))
    if t == "B":
        return ("B", bytes(x))
    if t == "L":
        return ("L", tuple(canon(e) for e in x))
    if t == "M":
        return ("M", tuple(sorted((k, canon(e)) for k, e in x.items())))
    if t == "SS":
        return ("SS", frozenset(x))
    if t == "NS":
        return ("NS", frozenset(norm(e) for e in x))
    if t == "BS":
        return ("BS", frozenset(bytes(e) for e in x))
    return (t, x)


def canon_item(item):
    return None if item is None else {k: canon(v) for k, v in item.items()}


class Gen:
    """Random values; those meant for encrypted attributes carry unique markers."""

    def __init__(self, rng):
        self.rng = rng
        self.count = 0
        self.markers = set()

    def mark(self, fmt):
        self.count += 1
        m = fmt % self.count
        self.markers.add(m.encode())
        return m

    def s(self, enc):
        r = self.rng
        pre = r.choice(["", "søren ✓ ", "机密-", "🦆 ", "tab\tq\"uo\\te ", "ünï "])
        if enc:
            return pre + self.mark("MK%07d") + r.choice(["", " tail", "€"])
        return pre + r.choice(["a", "b", "plain", "x y"]) + str(r.randrange(100))

    def n(self, enc):
        r = self.rng
        if enc:
            return r.choice(["", "-"]) + self.mark("7391%07d") + r.choice(["", ".5", ".000125"])
        return r.choice(["0", "1", "-1", "3.14", "-0.001", "42", "1.50", "-273.15", "1E+100",
                         "-9.99E-100", "12345678901234567890123456789012345678",
                         "0.00000000000000000000000000000000000001"])

    def b(self, enc):
        r = self.rng
        tail = bytes(r.randrange(256) for _ in range(r.randrange(4)))
        if enc:
            return b"\xff" + self.mark("MKB%07d").encode() + tail
        return bytes(r.randrange(256) for _ in range(r.randrange(6)))

    def value(self, enc, depth=0):
        r = self.rng
        kinds = ["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS"] + (["L", "M"] * 2 if depth < 3 else [])
        t = r.choice(kinds)
        if t == "S":
            return {"S": self.s(enc) if enc or r.random() < 0.9 else ""}
        if t == "N":
            return {"N": self.n(enc)}
        if t == "B":
            return {"B": self.b(enc)}
        if t == "BOOL":
            return {"BOOL": r.random() < 0.5}
        if t == "NULL":
            return {"NULL": True}
        if t == "L":
            return {"L": [self.value(enc, depth + 1) for _ in range(r.randrange(5))]}
        if t == "M":
            names = ["k", "naïve", "键", "a.b", "#x", "deep"]
            return {"M": {k: self.value(enc, depth + 1) for k in r.sample(names, r.randrange(5))}}
        return self.a_set(t, enc)

    def a_set(self, t, enc):
        """A non-empty set without duplicates (numbers compared by value)."""
        out, seen = [], set()
        for _ in range(self.rng.randrange(1, 5)):
            v = {"SS": lambda: self.s(enc) or "s", "NS": lambda: self.n(enc),
                 "BS": lambda: self.b(enc) or b"\x00"}[t]()
            k = norm(v) if t == "NS" else v
            if k not in seen:
                seen.add(k)
                out.append(v)
        return {t: out}

    def item(self, key):
        r = self.rng
        it = dict(key)
        it["secret"] = {"S": self.s(True)}
        if r.random() < 0.8:
            it["doc"] = self.value(True)
        if r.random() < 0.6:
            it["blob"] = {"B": self.b(True)} if r.random() < 0.7 else self.a_set("BS", True)
        if r.random() < 0.7:
            it["tag"] = self.value(False)
        if r.random() < 0.5:
            it["cnt"] = {"N": str(r.randrange(-50, 50))}
        if r.random() < 0.4:
            it["lst"] = {"L": [self.value(False, 2) for _ in range(r.randrange(3))]}
        if r.random() < 0.4:
            it["note"] = self.value(False)
        if r.random() < 0.4:
            it["tags"] = self.a_set("SS", False)
        if r.random() < 0.3:
            it["nset"] = self.a_set("NS", False)
        return it


def table_config(sort_key):
    return dict({"keyring": "local", "partition_key": "pk", "attribute_actions": dict(ACTIONS)},
                **({"sort_key": "sk"} if sort_key else {}))


class ModelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto()
        try:
            key = os.path.join(cls.moto.workdir, "model.key")
            with open(key, "wb") as f:
                f.write(os.urandom(32))
            cls.proxy = h.start_dynaseal(cls.moto.url, config={
                "keyrings": {"local": {"type": "raw-aes", "key_file": key}},
                "tables": {SORTED: table_config(True), HASHED: table_config(False)}})
            cls.raw = h.boto3_client(cls.moto.url)
            for t, keys in ((SORTED, [("pk", "S", "HASH"), ("sk", "N", "RANGE")]), (HASHED, [("pk", "S", "HASH")])):
                cls.raw.create_table(TableName=t, BillingMode="PAY_PER_REQUEST",
                                     AttributeDefinitions=[{"AttributeName": n, "AttributeType": a} for n, a, _ in keys],
                                     KeySchema=[{"AttributeName": n, "KeyType": k} for n, _, k in keys])
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in ("proxy", "moto"):
            if hasattr(cls, s):
                getattr(cls, s).stop()

    # ---- helpers -------------------------------------------------------------------------
    def any_key(self):
        r = self.rng
        if r.random() < 0.6:
            return SORTED, {"pk": {"S": r.choice(PKS)}, "sk": {"N": r.choice(SKS)}}
        return HASHED, {"pk": {"S": r.choice(HKS)}}

    @staticmethod
    def kid(key):
        return tuple(sorted((k, canon(v)) for k, v in key.items() if k in ("pk", "sk")))

    def distinct_keys(self, n):
        out, seen = [], set()
        for _ in range(n):
            t, k = self.any_key()
            if (t, self.kid(k)) not in seen:
                seen.add((t, self.kid(k)))
                out.append((t, k))
        return out

    def want(self, table, key):
        return self.model[table].get(self.kid(key))

    def same(self, got, want, what):
        self.assertEqual(canon_item(got), canon_item(want), "%s (seed=%d op=%d)" % (what, SEED, self.op))

    # ---- update expressions of DO_NOTHING attributes ---------------------------------------
    def update_plan(self, old, key, protected_ok=True):
        """(UpdateExpression, names, values, new item) for `old` (None when absent: the update
        creates the item from its key).  It writes DO_NOTHING attributes, and sometimes signed
        and encrypted ones too (which dynaseal carries out itself) unless not protected_ok."""
        r, g = self.rng, self.gen
        new = copy.deepcopy(old) if old is not None else copy.deepcopy(key)
        sets, removes, adds, values = [], [], [], {}
        protected = r.sample(ENC + SIGNED, r.randrange(0, 3)) if protected_ok and r.random() < 0.5 else []
        for attr in protected:
            if r.random() < 0.2:
                removes.append("#" + attr)
                new.pop(attr, None)
            else:
                val = values[":" + attr] = g.value(False)
                sets.append("#%s = :%s" % (attr, attr))
                new[attr] = val
        for attr in r.sample(PLAIN, r.randrange(0 if protected else 1, 4)):
            cur = new.get(attr)
            x = r.random()
            if x >= {"cnt": 0.8, "tags": 0.8, "nset": 0.8, "lst": 0.85, "note": 0.8}[attr]:
                removes.append("#" + attr)
                new.pop(attr, None)
                continue
            if attr == "cnt":
                values[":d"] = {"N": str(r.randrange(-9, 10))}
                if x < 0.4:
                    adds.append("#cnt :d")
                else:
                    values[":zero"] = {"N": "0"}
                    sets.append("#cnt = if_not_exists(#cnt, :zero) + :d")
                val = {"N": str((Decimal(cur["N"]) if cur else 0) + Decimal(values[":d"]["N"]))}
            elif attr in ("tags", "nset"):
                t = "SS" if attr == "tags" else "NS"
                val = values[":" + attr] = g.a_set(t, False)
                if x < 0.6:
                    adds.append("#%s :%s" % (attr, attr))
                    merged = {(norm(e) if t == "NS" else e): e for e in (cur[t] if cur else []) + val[t]}
                    val = {t: list(merged.values())}
                else:
                    sets.append("#%s = :%s" % (attr, attr))
            elif attr == "lst" and x < 0.5:
                add = values[":l"] = {"L": [g.value(False, 2) for _ in range(r.randrange(1, 3))]}
                values[":empty"] = {"L": []}
                front = r.random() < 0.5
                sets.append("#lst = list_append(%s)" % (":l, if_not_exists(#lst, :empty)" if front
                                                        else "if_not_exists(#lst, :empty), :l"))
                have = cur["L"] if cur else []
                val = {"L": add["L"] + have if front else have + add["L"]}
            elif attr == "lst" and x < 0.7 and cur and cur["L"]:
                values[":e"] = g.value(False, 2)
                sets.append("#lst[0] = :e")
                val = {"L": [values[":e"]] + cur["L"][1:]}
            else:
                val = values[":" + attr] = ({"L": [g.value(False, 2) for _ in range(r.randrange(3))]}
                                            if attr == "lst" else g.value(False))
                sets.append("#%s = :%s" % (attr, attr))
            new[attr] = val
        expr = " ".join(p for p in ("SET " + ", ".join(sets) if sets else "",
                                    "REMOVE " + ", ".join(removes) if removes else "",
                                    "ADD " + ", ".join(adds) if adds else "") if p)
        names = {"#" + a: a for a in PLAIN + ENC + SIGNED if re.search("#%s\\b" % a, expr)}
        return expr, names, values, new

    # ---- operations --------------------------------------------------------------------------
    def secret_condition(self, args, old):
        """Now and then a ConditionExpression on an encrypted attribute (dynaseal evaluates it
        on the item it reads); returns whether it holds on old."""
        if self.rng.random() >= 0.3:
            return True
        a = self.rng.choice(ENC)
        args["ExpressionAttributeNames"] = {"#c": a}
        if old is None or a not in old:
            exists = self.rng.random() < 0.5
            args["ConditionExpression"] = "attribute_%sexists(#c)" % ("" if exists else "not_")
            return not exists
        same = self.rng.random() < 0.6
        args["ConditionExpression"] = "#c = :c"
        # A value old cannot hold (random values collide: two booleans, two NULLs).
        other = {"S": "not-the-value-%d" % self.rng.randrange(1 << 30)}
        args["ExpressionAttributeValues"] = {":c": old[a] if same else other}
        return same

    def conditional(self, fn, args, holds, old, what):
        """Calls fn(**args): it succeeds when holds, else fails with the item as it was."""
        if holds:
            return fn(**args)
        args["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        with self.assertRaises(self.app.exceptions.ConditionalCheckFailedException) as cm:
            fn(**args)
        self.same(cm.exception.response.get("Item"), old, what + " failed condition's Item")
        return None

    def op_put(self):
        t, k = self.any_key()
        item, old = self.gen.item(k), self.want(t, k)
        rv = self.rng.choice(["NONE", "ALL_OLD"])
        args = dict(TableName=t, Item=item, ReturnValues=rv)
        out = self.conditional(self.app.put_item, args, self.secret_condition(args, old), old, "PutItem")
        if out is None:
            return
        if rv == "ALL_OLD":
            self.same(out.get("Attributes"), old, "PutItem ALL_OLD")
        self.model[t][self.kid(k)] = item

    def op_update(self):
        t, k = self.any_key()
        old = self.want(t, k)
        expr, names, values, new = self.update_plan(old, k)
        rv = self.rng.choice(["NONE", "ALL_NEW", "ALL_OLD"])
        args = dict(TableName=t, Key=k, UpdateExpression=expr, ExpressionAttributeNames=names, ReturnValues=rv)
        if values:
            args["ExpressionAttributeValues"] = values
        out = self.app.update_item(**args)   # an update of a missing item creates it
        if rv != "NONE":
            self.same(out.get("Attributes"), new if rv == "ALL_NEW" else old, "UpdateItem " + rv + " " + expr)
        self.model[t][self.kid(k)] = new

    def op_delete(self):
        t, k = self.any_key()
        old = self.want(t, k)
        args = dict(TableName=t, Key=k, ReturnValues="ALL_OLD")
        out = self.conditional(self.app.delete_item, args, self.secret_condition(args, old), old, "DeleteItem")
        if out is not None:
            self.same(out.get("Attributes"), self.model[t].pop(self.kid(k), None), "DeleteItem ALL_OLD")

    def project(self, args, keys=("pk",)):
        """Now and then a ProjectionExpression of whole attributes in `args` (dynaseal extends
        it with what verification needs and trims the answer); returns the model's trim."""
        if self.rng.random() >= 0.3:
            return lambda it: it
        proj = list(keys) + self.rng.sample(ENC + SIGNED + PLAIN, self.rng.randrange(1, 4))
        args["ProjectionExpression"] = ", ".join("#a%d" % i for i in range(len(proj)))
        args.setdefault("ExpressionAttributeNames", {}).update({"#a%d" % i: a for i, a in enumerate(proj)})
        return lambda it: None if it is None else {a: v for a, v in it.items() if a in proj}

    def op_get(self):
        t, k = self.any_key()
        args = dict(TableName=t, Key=k, ConsistentRead=True)
        trim = self.project(args)
        self.same(self.app.get_item(**args).get("Item"), trim(self.want(t, k)),
                  "GetItem %s" % args.get("ProjectionExpression", ""))

    def op_batch_write(self):
        reqs, pending = {}, {}
        for t, k in self.distinct_keys(self.rng.randrange(1, 26)):
            if self.rng.random() < 0.7:
                item = self.gen.item(k)
                reqs.setdefault(t, []).append({"PutRequest": {"Item": item}})
                pending[(t, self.kid(k))] = item
            else:
                reqs.setdefault(t, []).append({"DeleteRequest": {"Key": k}})
                pending[(t, self.kid(k))] = None
        for _ in range(10):
            reqs = self.app.batch_write_item(RequestItems=reqs).get("UnprocessedItems")
            if not reqs:
                break
        self.assertFalse(reqs, "BatchWriteItem kept leaving items unprocessed")
        for (t, kid), item in pending.items():
            if item is None:
                self.model[t].pop(kid, None)
            else:
                self.model[t][kid] = item

    def op_batch_get(self):
        keys = self.distinct_keys(self.rng.randrange(1, 21))
        req, trims = {}, {}
        for t, k in keys:
            if t not in req:
                req[t] = {"Keys": [], "ConsistentRead": True}
                trims[t] = self.project(req[t], ("pk", "sk"))
            req[t]["Keys"].append(k)
        got = {}
        for _ in range(10):
            out = self.app.batch_get_item(RequestItems=req)
            for t, items in out["Responses"].items():
                for it in items:
                    got[(t, self.kid(it))] = it
            req = out.get("UnprocessedKeys")
            if not req:
                break
        self.assertFalse(req, "BatchGetItem kept leaving keys unprocessed")
        want = {(t, self.kid(k)): trims[t](self.want(t, k)) for t, k in keys if self.want(t, k) is not None}
        self.assertEqual({k: canon_item(v) for k, v in got.items()}, {k: canon_item(v) for k, v in want.items()},
                         "BatchGetItem (seed=%d op=%d)" % (SEED, self.op))

    def op_transact_write(self):
        acts, after, ok = [], {}, True
        for t, k in self.distinct_keys(self.rng.randrange(1, 5)):
            old = self.want(t, k)
            r = self.rng.random()
            if r < 0.4:
                item = self.gen.item(k)
                acts.append({"Put": {"TableName": t, "Item": item}})
                after[(t, self.kid(k))] = item
            elif r < 0.7:
                # An update of any attributes, of an item that exists or not (an upsert); with
                # signed or encrypted ones dynaseal carries the transaction out.
                expr, names, values, new = self.update_plan(old, k)
                u = {"TableName": t, "Key": k, "UpdateExpression": expr, "ExpressionAttributeNames": names}
                if values:
                    u["ExpressionAttributeValues"] = values
                acts.append({"Update": u})
                after[(t, self.kid(k))] = new
            elif r < 0.85:
                acts.append({"Delete": {"TableName": t, "Key": k}})
                after[(t, self.kid(k))] = None
            else:
                # On a signed attribute (DynamoDB evaluates it) or an encrypted one (dynaseal does).
                exists = self.rng.random() < 0.5
                attr = self.rng.choice(("tag",) + ENC)
                acts.append({"ConditionCheck": {"TableName": t, "Key": k, "ExpressionAttributeNames": {"#t": attr},
                                                "ConditionExpression": "attribute_%sexists(#t)" % ("" if exists else "not_")}})
                ok = ok and ((old is not None and attr in old) == exists)
        if not ok:
            with self.assertRaises(self.app.exceptions.TransactionCanceledException):
                self.app.transact_write_items(TransactItems=acts)
            return
        self.app.transact_write_items(TransactItems=acts)
        for (t, kid), item in after.items():
            if item is None:
                self.model[t].pop(kid, None)
            else:
                self.model[t][kid] = item

    def op_partiql(self):
        """ExecuteStatement: SELECT, INSERT, UPDATE or DELETE of one item by its key."""
        t, k = self.any_key()
        old = self.want(t, k)
        where = " AND ".join('"%s" = ?' % a for a in sorted(k))
        kparams = [k[a] for a in sorted(k)]
        r = self.rng.random()
        if r < 0.4:
            out = self.app.execute_statement(Statement='SELECT * FROM "%s" WHERE %s' % (t, where),
                                             Parameters=kparams)
            self.same(out["Items"][0] if out["Items"] else None, old, "PartiQL SELECT")
            self.assertLessEqual(len(out["Items"]), 1)
        elif r < 0.6:
            item = self.gen.item(k)
            names = sorted(item)
            stmt = 'INSERT INTO "%s" VALUE {%s}' % (t, ", ".join("'%s': ?" % a for a in names))
            if old is not None:
                with self.assertRaises(self.app.exceptions.DuplicateItemException):
                    self.app.execute_statement(Statement=stmt, Parameters=[item[a] for a in names])
                return
            self.app.execute_statement(Statement=stmt, Parameters=[item[a] for a in names])
            self.model[t][self.kid(k)] = item
        elif r < 0.85:
            attr = self.rng.choice(ENC + SIGNED + ("note",))
            val = self.gen.value(attr in ENC)
            stmt = 'UPDATE "%s" SET "%s" = ? WHERE %s RETURNING ALL NEW *' % (t, attr, where)
            if old is None:
                with self.assertRaises(self.app.exceptions.ConditionalCheckFailedException):
                    self.app.execute_statement(Statement=stmt, Parameters=[val] + kparams)
                return
            new = dict(copy.deepcopy(old), **{attr: val})
            out = self.app.execute_statement(Statement=stmt, Parameters=[val] + kparams)
            self.same(out["Items"][0], new, "PartiQL UPDATE RETURNING ALL NEW")
            self.model[t][self.kid(k)] = new
        else:
            out = self.app.execute_statement(Statement='DELETE FROM "%s" WHERE %s RETURNING ALL OLD *' % (t, where),
                                             Parameters=kparams)
            self.same(out["Items"][0] if out["Items"] else None, old, "PartiQL DELETE RETURNING ALL OLD")
            self.model[t].pop(self.kid(k), None)

    def op_transact_get(self):
        keys = self.distinct_keys(self.rng.randrange(1, 6))
        out = self.app.transact_get_items(TransactItems=[{"Get": {"TableName": t, "Key": k}} for t, k in keys])
        self.assertEqual(len(out["Responses"]), len(keys))
        for (t, k), resp in zip(keys, out["Responses"]):
            self.same(resp.get("Item"), self.want(t, k), "TransactGetItems")

    def op_query(self):
        r = self.rng
        pk = r.choice(PKS)
        lo, hi = sorted(r.sample(SKS, 2), key=Decimal)
        cond, values = r.choice([("", {}), (" AND sk BETWEEN :lo AND :hi", {":lo": lo, ":hi": hi}),
                                 (" AND sk >= :lo", {":lo": lo}), (" AND sk < :hi", {":hi": hi})])
        args = dict(TableName=SORTED, KeyConditionExpression="pk = :p" + cond, ConsistentRead=True,
                    Limit=r.randrange(1, 5), ScanIndexForward=r.random() < 0.6,
                    ExpressionAttributeValues=dict({":p": {"S": pk}}, **{n: {"N": v} for n, v in values.items()}))
        filtered = r.random() < 0.25
        if filtered:
            args.update(FilterExpression="attribute_exists(#t)", ExpressionAttributeNames={"#t": "tag"})
        lo_ok = lambda sk: ":lo" not in values or Decimal(values[":lo"]) <= sk
        hi_ok = lambda sk: ":hi" not in values or (sk <= Decimal(values[":hi"]) if "BETWEEN" in cond
                                                   else sk < Decimal(values[":hi"]))
        want = [it for it in self.model[SORTED].values() if it["pk"]["S"] == pk and lo_ok(Decimal(it["sk"]["N"]))
                and hi_ok(Decimal(it["sk"]["N"])) and (not filtered or "tag" in it)]
        want.sort(key=lambda it: Decimal(it["sk"]["N"]), reverse=not args["ScanIndexForward"])
        trim = self.project(args)
        want = [trim(it) for it in want]
        got = self.pages("query", args)
        self.assertEqual([canon_item(i) for i in got], [canon_item(i) for i in want],
                         "Query %s (seed=%d op=%d)" % (args, SEED, self.op))

    def pages(self, call, args):
        items, pages = [], 0
        while True:
            out = getattr(self.app, call)(**args)
            self.assertLessEqual(len(out["Items"]), args["Limit"])
            items += out["Items"]
            pages += 1
            self.assertLess(pages, 1000, "%s never stops paging" % call)
            if "LastEvaluatedKey" not in out:
                return items
            args = dict(args, ExclusiveStartKey=out["LastEvaluatedKey"])

    def op_scan(self, table=None):
        t = table or self.rng.choice([SORTED, HASHED])
        args = dict(TableName=t, Limit=self.rng.randrange(3, 26), ConsistentRead=True)
        trim = self.project(args, ("pk", "sk")) if table is None else (lambda it: it)
        got = self.pages("scan", args)
        self.assertEqual(len(got), len({self.kid(i) for i in got}), "Scan returned an item twice")
        self.assertEqual({self.kid(i): canon_item(i) for i in got},
                         {kid: canon_item(trim(i)) for kid, i in self.model[t].items()},
                         "Scan %s (seed=%d op=%d)" % (t, SEED, self.op))

    # ---- the test ----------------------------------------------------------------------------
    def test_random_operations_match_the_model(self):
        print("\ntest_model: MODEL_SEED=%d MODEL_OPS=%d" % (SEED, OPS))
        sys.stdout.flush()
        self.rng = random.Random(SEED)
        self.gen = Gen(self.rng)
        self.app = h.boto3_client(self.proxy.url)
        self.model = {SORTED: {}, HASHED: {}}
        mix = [(self.op_put, 18), (self.op_update, 14), (self.op_delete, 5), (self.op_batch_write, 5),
               (self.op_batch_get, 8), (self.op_transact_write, 6), (self.op_transact_get, 6),
               (self.op_get, 22), (self.op_query, 14), (self.op_scan, 2), (self.op_partiql, 6)]
        ops, weights = zip(*mix)
        counts = {}
        for self.op in range(OPS):
            fn = self.rng.choices(ops, weights)[0]
            counts[fn.__name__] = counts.get(fn.__name__, 0) + 1
            fn()
        for t in (SORTED, HASHED):
            self.op_scan(t)
        print("test_model: %s; items %s=%d %s=%d, markers=%d"
              % (" ".join("%s=%d" % (k[3:], v) for k, v in sorted(counts.items())), SORTED,
                 len(self.model[SORTED]), HASHED, len(self.model[HASHED]), len(self.gen.markers)))
        self.check_backend()
        # The updates of signed and encrypted attributes were carried out by dynaseal itself.
        if counts.get("op_update", 0) >= 20 and not h.DIRECT:
            rmw = re.search(r"^dynaseal_rmw_total\{operation=\"UpdateItem\"\} (\d+)", h.metrics(self.proxy), re.M)
            self.assertTrue(rmw and int(rmw.group(1)) > 0, "no update went through dynaseal_rmw")
        if counts.get("op_transact_write", 0) >= 20 and not h.DIRECT:
            rmw = re.search(r"^dynaseal_rmw_total\{operation=\"TransactWriteItems\"\} (\d+)", h.metrics(self.proxy), re.M)
            self.assertTrue(rmw and int(rmw.group(1)) > 0, "no transaction was carried out by dynaseal")

    def check_backend(self):
        """The backend, read without dynaseal: the model's items exactly, ciphertext only."""
        stored = []
        for t in (SORTED, HASHED):
            raw = []
            for page in self.raw.get_paginator("scan").paginate(TableName=t):
                raw += page["Items"]
            self.assertEqual(len(raw), len(self.model[t]), "raw count of %s (seed=%d)" % (t, SEED))
            for it in raw:
                want = self.model[t].get(self.kid(it))
                self.assertIsNotNone(want, "raw item %s not in the model" % (self.kid(it),))
                self.assertEqual(set(it) - {"aws_dbe_head", "aws_dbe_foot"}, set(want))
                for a in ("aws_dbe_head", "aws_dbe_foot"):
                    self.assertEqual(list(it[a]), ["B"], a)
                for a, v in it.items():
                    if a in ENC:
                        self.assertEqual(list(v), ["B"], "%s is not ciphertext" % a)
                    elif a in want:   # keys, SIGN_ONLY and DO_NOTHING are stored as written
                        self.assertEqual(canon(v), canon(want[a]), a)
            stored += raw
        found = set(MARK_RE.findall(at_rest.haystack(stored)))
        leaked = sorted(found & self.gen.markers)
        self.assertEqual(leaked, [], "plaintext of encrypted values in the backend (seed=%d)" % SEED)
        self.assertGreater(len(self.gen.markers), OPS // 2)


if __name__ == "__main__":
    unittest.main()
