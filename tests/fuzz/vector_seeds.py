"""Writes seed inputs made from the published DB-ESDK vectors: for fuzz_item
(tests/fuzz/fuzz_item.c) one file per vector, {"actions", "suite", "item"}, the item as the
SDK stored it; for fuzz_item_header the raw bytes of each aws_dbe_head.  The vectors stay in
../shared (they are referenced, never copied into the project), so the seeds are made at fuzz
time under build/.

    python3 tests/fuzz/vector_seeds.py OUTDIR    (writes OUTDIR/fuzz_item, OUTDIR/fuzz_item_header)
"""
import base64
import glob
import json
import os
import sys

def main():
    out = os.path.join(sys.argv[1], "fuzz_item")
    heads = os.path.join(sys.argv[1], "fuzz_item_header")
    base = os.environ.get("DS_VECTORS_DIR", os.path.join(os.path.dirname(__file__), "../../../shared/vectors"))
    os.makedirs(out, exist_ok=True)
    os.makedirs(heads, exist_ok=True)
    n = 0
    for path in sorted(glob.glob(os.path.join(base, "dbesdk", "decrypt_*.json"))):
        tests = json.load(open(path))["tests"]
        for name, t in sorted(tests.items()):
            suite = int(str(t.get("algorithmSuiteId") or "0x6701"), 16)
            seed = {"actions": t["config"]["attributeActionsOnEncrypt"], "suite": suite,
                    "item": t["encrypted"]}
            stem = "%s-%s" % (os.path.basename(path)[:-5], n)
            with open(os.path.join(out, stem + ".json"), "w") as f:
                json.dump(seed, f)
            head = t["encrypted"].get("aws_dbe_head", {}).get("B")
            if head:
                with open(os.path.join(heads, stem), "wb") as f:
                    f.write(base64.b64decode(head))
            n += 1
    print("vector_seeds: %d vectors as seeds in %s" % (n, sys.argv[1]))


if __name__ == "__main__":
    main()
