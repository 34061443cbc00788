"""The "no plaintext at rest" oracle: the raw backend items (read straight from the backend
with boto3's low-level client, so binary values are bytes) must not hold the bytes of any
plaintext secret, in any attribute, at any depth, raw or base64-encoded.

Every attribute value is walked: every string (UTF-8), number (its text) and binary (its raw
bytes, never its base64 text), in sets, lists and maps, and every attribute and map name,
becomes one blob; every run of base64 characters in a blob is also decoded (at the 4
alignments) so that a secret stored base64-encoded is found too.  A secret is searched for as
the bytes it would have in a plaintext serialization:

- a string: its UTF-8 bytes;
- a number (int, Decimal, or a DynamoDB {"N": text}): its text as written and its normalised
  positional form (DB-ESDK serializes numbers normalised: "-12.500" as "-12.5");
- bytes: the bytes themselves;
- a DynamoDB value ({"S": ...}, {"M": {...}}, {"L": [...]}, sets) or a Python list, tuple,
  set or plain dict: each leaf (map names are not searched: they are short and structural).

BOOL and NULL leaves, and empty strings and binaries, have no content to search for.  Any
other leaf shorter than MIN_NEEDLE bytes is refused (ValueError): a value that short matches
by chance, so the test must give its secrets distinctive values rather than let the oracle
skip them.  The same guard refuses an empty list of items or of secrets: an oracle that
searched nothing would pass whatever was stored.
"""
import base64
import re
from decimal import Decimal, InvalidOperation

MIN_NEEDLE = 5
TYPE_TAGS = frozenset(("S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"))
B64_RUN = re.compile(rb"[A-Za-z0-9+/]{12,}={0,2}")
SEP = b"\x00\xfe\xff\x00"


def b64_views(data):
    """Every run of base64 characters in `data` decoded at each of the 4 alignments, so that a
    secret stored base64-encoded anywhere (in a string or inside a binary) is found too."""
    out = []
    for run in B64_RUN.findall(data):
        run = run.rstrip(b"=")
        for o in range(4):
            part = run[o:]
            part = part[:len(part) // 4 * 4]
            if part:
                out.append(base64.b64decode(part))
    return out


def _value_blobs(v, path, out):
    """(path, bytes) of every string, number, binary and map name in one raw attribute value."""
    if not isinstance(v, dict) or len(v) != 1 or next(iter(v)) not in TYPE_TAGS:
        raise TypeError("%s: not a DynamoDB attribute value: %r" % (path, v))
    (t, x), = v.items()
    if t in ("S", "N", "B"):
        x, t = [x], t + "S"
    if t in ("SS", "NS"):
        out.extend((path, e.encode()) for e in x)
    elif t == "BS":
        for e in x:
            if not isinstance(e, (bytes, bytearray)):
                # boto3's low-level client gives bytes; base64 text here would hide the raw bytes.
                raise TypeError("%s: a binary value as %s, not bytes" % (path, type(e).__name__))
            out.append((path, bytes(e)))
    elif t == "L":
        for i, e in enumerate(x):
            _value_blobs(e, "%s[%d]" % (path, i), out)
    elif t == "M":
        for k, e in x.items():
            out.append((path, k.encode()))
            _value_blobs(e, "%s.%s" % (path, k), out)


def blobs(items):
    """(where, bytes) of every blob of the raw items and of its base64 views; `where` names
    the item (by index), the attribute path and whether the bytes were decoded from base64."""
    raw = []
    for i, it in enumerate(items):
        for a, v in it.items():
            raw.append(("item %d %s (name)" % (i, a), a.encode()))
            _value_blobs(v, "item %d %s" % (i, a), raw)
    out = list(raw)
    for where, b in raw:
        out.extend((where + " (base64-decoded)", d) for d in b64_views(b))
    return out


def haystack(items):
    """All blobs of `items` (and their base64 views) as one bytes string, for a regex search."""
    return SEP.join(b for _, b in blobs(items))


def _number_forms(text):
    forms = [text]
    try:
        d = Decimal(text)
    except InvalidOperation:
        return forms
    norm = "0" if d == 0 else format(d.normalize(), "f")
    if norm != text:
        forms.append(norm)
    return forms


def needles(secret, path="secret"):
    """(path, needle forms) for each leaf of `secret`: the bytes a plaintext copy would hold."""
    out = []

    def leaf(p, forms):
        forms = [f for f in forms if f]
        if not forms:
            return   # an empty value: nothing to find
        long_forms = [f for f in forms if len(f) >= MIN_NEEDLE]
        if not long_forms:
            raise ValueError("%s = %r is shorter than %d bytes: give the secret a distinctive "
                             "value, the oracle cannot search for it" % (p, forms[0], MIN_NEEDLE))
        out.append((p, long_forms))

    def walk(v, p):
        if v is None or isinstance(v, bool):
            return
        if isinstance(v, str):
            leaf(p, [v.encode()])
        elif isinstance(v, (bytes, bytearray)):
            leaf(p, [bytes(v)])
        elif isinstance(v, (int, Decimal)):
            leaf(p, [f.encode() for f in _number_forms(str(v))])
        elif isinstance(v, float):
            raise TypeError("%s: a float secret has no exact text; pass a Decimal or a str" % p)
        elif isinstance(v, dict) and len(v) == 1 and next(iter(v)) in TYPE_TAGS:
            (t, x), = v.items()
            if t == "N":
                leaf(p, [f.encode() for f in _number_forms(x)])
            elif t == "NS":
                for i, n in enumerate(x):
                    leaf("%s{%d}" % (p, i), [f.encode() for f in _number_forms(n)])
            elif t in ("S", "B", "SS", "BS"):
                if t in ("B", "BS") and any(isinstance(e, str) for e in ([x] if t == "B" else x)):
                    raise TypeError("%s: binary secrets as bytes, not base64 text" % p)
                walk(x, p)
            elif t in ("L", "M"):
                walk(x, p)
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(x, "%s.%s" % (p, k))
        elif isinstance(v, (list, tuple, set, frozenset)):
            for i, x in enumerate(v):
                walk(x, "%s[%d]" % (p, i))
        else:
            raise TypeError("%s: cannot search for a %s" % (p, type(v).__name__))

    walk(secret, path)
    return out


def leaks(items, secrets):
    """[(secret path, needle, where it was found)] for every secret leaf found in `items`.
    `secrets` is a list of secrets, or a dict naming them (its keys label the report)."""
    named = secrets.items() if isinstance(secrets, dict) else \
        (("secret[%d]" % i, s) for i, s in enumerate(secrets))
    wanted = [n for name, s in named for n in needles(s, name)]
    if not items:
        raise ValueError("no items to search: the oracle would pass whatever was stored")
    if not wanted:
        raise ValueError("no secret to search for: the oracle would pass whatever was stored")
    found_in = blobs(items)
    hay = SEP.join(b for _, b in found_in)
    out = []
    for path, forms in wanted:
        for f in forms:
            if f in hay:   # fast filter; then confirm within one blob (not across a separator)
                where = [w for w, b in found_in if f in b]
                if where:
                    out.append((path, f, where[0]))
                    break
    return out


def assert_no_plaintext(test, items, secrets, what="the backend"):
    """Fails `test` when any leaf of `secrets` is found in the raw `items` (see leaks)."""
    found = leaks(items, secrets)
    test.assertEqual(found, [], "plaintext at rest in %s" % what)
