"""Runs the integration tests (tests/integration/test_*.py) with the standard library's unittest
and prints the closing line `integration: N passed, N failed[, N skipped]`; exits 1 when a test
failed, when a dynaseal log holds a sanitizer report, or when no test passed.

    python3 tests/integration/run.py [-k PATTERN] [-q] [--dir DIR]

DIR (default tests/integration) is the folder whose test_*.py run: `make faults` runs
tests/faults with the same harness (peers.py).  PATTERN selects tests whose id (module.Class.test_name) contains it.  Environment:
DYNASEAL_BIN (default bin/dynaseal) picks the binary; DYNASEAL_DIRECT=1 runs the clients
against the backends themselves (no dynaseal) and skips the tests that need it;
DYNASEAL_TEST_LOG sets dynaseal's log level (default info).
"""
import argparse
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import peers  # noqa: E402


class TailingResult(unittest.TextTestResult):
    """On a failure, prints the tail of every server log still running: the failing test's."""

    def _tails(self):
        for s in peers.LIVE:
            self.stream.write("\n---- %s log (%s), last lines ----\n%s" % (s.name, s.log, peers.tail(s.log)))
        self.stream.flush()

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._tails()

    def addError(self, test, err):
        super().addError(test, err)
        self._tails()

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._tails()


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", dest="pattern", help="run only tests whose id contains PATTERN")
    ap.add_argument("-q", dest="quiet", action="store_true", help="one character per test")
    ap.add_argument("--dir", default=HERE, help="folder of test_*.py (default: this one)")
    args = ap.parse_args()

    if peers.DIRECT:
        print("integration: DYNASEAL_DIRECT=1: clients talk to the backends, dynaseal-only tests skipped")
    elif not os.access(peers.DYNASEAL, os.X_OK):
        print("integration: %s is not an executable (build it with make, or set DYNASEAL_BIN)"
              % peers.DYNASEAL)
        print("integration: 0 passed, 1 failed")
        sys.exit(1)

    top = os.path.abspath(args.dir)
    sys.path.insert(0, top)
    suite = unittest.defaultTestLoader.discover(top, pattern="test_*.py", top_level_dir=top)
    tests = list(flatten(suite))
    # A module that does not import shows up as a failing test named after it: keep it.
    if args.pattern:
        tests = [t for t in tests if args.pattern in t.id()]
    runner = unittest.TextTestRunner(verbosity=1 if args.quiet else 2, stream=sys.stdout,
                                     resultclass=TailingResult)
    try:
        result = runner.run(unittest.TestSuite(tests))
    finally:
        peers.stop_all()

    # A test with several failing subtests counts once; a failing setUpClass counts as one.
    def case_id(t):
        return getattr(t, "test_case", t).id()

    failed_ids = {case_id(t) for t, _ in result.failures + result.errors}
    failed_ids |= {case_id(t) for t in result.unexpectedSuccesses}
    ran_ids = {t.id() for t in tests}
    ran_failed = failed_ids & ran_ids
    skipped = len(result.skipped)
    passed = result.testsRun - len(ran_failed) - len([t for t, _ in result.skipped if t.id() in ran_ids])
    failed = len(failed_ids)
    for path, excerpt in peers.SANITIZER_REPORTS:
        print("\n==== sanitizer report in %s ====\n%s" % (path, excerpt))
        failed += 1

    if failed:
        print("integration: server logs kept in %s" % peers.run_dir())
    elif peers._run_dir:
        peers.rmtree(peers._run_dir)
    label = "integration" if top == HERE else os.path.basename(top)
    line = "%s: %d passed, %d failed" % (label, passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line)
    sys.exit(1 if failed or passed == 0 else 0)


if __name__ == "__main__":
    main()
