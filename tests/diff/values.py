"""Random DynamoDB AttributeValues for the differential tests (tests/diff/test_*.py), and what
the tests need to send them and compare them."""
import base64
from decimal import Decimal

ATTRS = ["a", "b", "c", "d", "e"]


class Values:
    """Random AttributeValues of every type, from a small alphabet so that equality, prefixes
    and containment hold often enough."""

    def __init__(self, rng):
        self.rng = rng

    def s(self):
        return "".join(self.rng.choice("abé\U0001d11e") for _ in range(self.rng.randint(1, 4)))

    def n(self):
        r = self.rng.random()
        if r < 0.5:
            return str(self.rng.randint(-3, 12))
        if r < 0.8:
            return "%d.%d" % (self.rng.randint(-2, 3), self.rng.randint(0, 9))
        return self.rng.choice(["1.0", "1e1", "0.50", "-0", "1000", "1E3"])

    def b(self):
        return base64.b64encode(bytes(self.rng.choice([0, 1, 255]) for _ in range(self.rng.randint(1, 3)))).decode()

    def scalar(self):
        t = self.rng.choice("SSNNB")
        return {t: getattr(self, t.lower())()}

    def a_set(self):
        """A set of one to three distinct elements (numbers distinct by value)."""
        t = self.rng.choice(["SS", "NS", "BS"])
        gen = {"SS": self.s, "NS": self.n, "BS": self.b}[t]
        elems = []
        for _ in range(self.rng.randint(1, 3)):
            x = gen()
            if x not in elems and not (t == "NS" and any(float(x) == float(y) for y in elems)):
                elems.append(x)
        return {t: elems}

    def value(self, depth=0):
        r = self.rng.random()
        if r < 0.45 or depth >= 2:
            return self.scalar()
        if r < 0.55:
            return self.rng.choice([{"BOOL": True}, {"BOOL": False}, {"NULL": True}])
        if r < 0.72:
            return self.a_set()
        if r < 0.86:
            return {"L": [self.value(depth + 1) for _ in range(self.rng.randint(0, 3))]}
        return {"M": {k: self.value(depth + 1) for k in self.rng.sample(["x", "y"], self.rng.randint(0, 2))}}

    def item(self):
        return {k: self.value() for k in ATTRS if self.rng.random() < 0.7}


def size_of(v):
    """What DynamoDB's size() answers for v (strings in UTF-16 code units), or None."""
    t, x = next(iter(v.items()))
    if t == "S":
        return len(x.encode("utf-16-le")) // 2
    if t == "B":
        return len(base64.b64decode(x))
    if t in ("SS", "NS", "BS", "L", "M"):
        return len(x)
    return None


def sort_key(v):
    t, x = next(iter(v.items()))
    if t == "N":
        return Decimal(x)
    if t == "B":
        return base64.b64decode(x)
    return x.encode()


def wire(v):
    """v as boto3 takes it: binaries as bytes (boto3 encodes them in base64 itself)."""
    t, x = next(iter(v.items()))
    if t == "B":
        return {t: base64.b64decode(x)}
    if t == "BS":
        return {t: [base64.b64decode(e) for e in x]}
    if t == "L":
        return {t: [wire(e) for e in x]}
    if t == "M":
        return {t: {k: wire(e) for k, e in x.items()}}
    return v


def has(v, pred):
    """Whether pred holds for v or any value nested in it."""
    if pred(v):
        return True
    t, x = next(iter(v.items()))
    if t == "L":
        return any(has(e, pred) for e in x)
    if t == "M":
        return any(has(e, pred) for e in x.values())
    return False
