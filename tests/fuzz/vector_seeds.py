"""Writes seed inputs for fuzz_item (tests/fuzz/fuzz_item.c) from the published DB-ESDK
vectors: one file per vector, {"actions", "suite", "item"}, the item as the SDK stored it.
The vectors stay in ../shared (they are referenced, never copied into the project), so the
seeds are made at fuzz time under build/.

    python3 tests/fuzz/vector_seeds.py OUTDIR
"""
import glob
import json
import os
import sys

def main():
    out = sys.argv[1]
    base = os.environ.get("DS_VECTORS_DIR", os.path.join(os.path.dirname(__file__), "../../../shared/vectors"))
    os.makedirs(out, exist_ok=True)
    n = 0
    for path in sorted(glob.glob(os.path.join(base, "dbesdk", "decrypt_*.json"))):
        tests = json.load(open(path))["tests"]
        for name, t in sorted(tests.items()):
            suite = int(str(t.get("algorithmSuiteId") or "0x6701"), 16)
            seed = {"actions": t["config"]["attributeActionsOnEncrypt"], "suite": suite,
                    "item": t["encrypted"]}
            with open(os.path.join(out, "%s-%s.json" % (os.path.basename(path)[:-5], n)), "w") as f:
                json.dump(seed, f)
            n += 1
    print("vector_seeds: %d seeds in %s" % (n, out))


if __name__ == "__main__":
    main()
