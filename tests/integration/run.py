"""Runs the integration tests (tests/integration/test_*.py) with the standard library's unittest
and prints the closing line `integration: N passed, N failed[, N skipped]`.

    python3 tests/integration/run.py [-k PATTERN]
"""
import argparse
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", dest="pattern", help="run only tests whose id contains PATTERN")
    args = ap.parse_args()
    sys.path.insert(0, HERE)
    suite = unittest.defaultTestLoader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)

    def flatten(s):
        for t in s:
            if isinstance(t, unittest.TestSuite):
                yield from flatten(t)
            else:
                yield t

    tests = list(flatten(suite))
    if args.pattern:
        tests = [t for t in tests if args.pattern in t.id()]
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(unittest.TestSuite(tests))
    # A test with failing subtests counts once; a failed setUpClass counts as one failure.
    def case_id(t):
        return getattr(t, "test_case", t).id() if hasattr(t, "id") else str(t)

    failed_ids = {case_id(t) for t, _ in result.failures + result.errors}
    failed_ids |= {case_id(t) for t in result.unexpectedSuccesses}
    ran_failed = {i for i in failed_ids if any(i == t.id() for t in tests)}
    failed = len(failed_ids)
    skipped = len(result.skipped)
    passed = result.testsRun - len(ran_failed) - skipped
    line = "integration: %d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line)
    sys.exit(1 if failed or passed == 0 else 0)


if __name__ == "__main__":
    main()
