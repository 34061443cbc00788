"""`dynaseal migrate` on a table of the legacy DynamoDB Encryption Client's items.

The static and wrapped vectors of ../shared/vectors/legacy-ddbec (as test_legacy_items.py puts
them raw into moto, one table per scenario) are migrated: afterwards every item is v3 in a raw
scan (aws_dbe_head, no *amzn-ddb-map-* attribute), reads through dynaseal equal to its
plaintext, and --verify finds nothing unprotected.  A plaintext item on such a table (which
reads no plaintext) is refused by name and left as it is.
"""
import json
import subprocess
import unittest

import peers as h
import test_legacy_items as L
from test_migrate import command_env

PLAIN_ERROR = ("it is stored in plaintext and the table does not read plaintext items "
               "(plaintext_policy is not \"allow-read\"): anyone who can write to the table "
               "could have put it there, so dynaseal does not sign it")


class MigrateLegacyTest(unittest.TestCase):
    """The legacy tables of test_legacy_items (the same setup), migrated."""
    B = L.LegacyItemsTest
    setUpClass = classmethod(B.setUpClass.__func__)
    tearDownClass = classmethod(B.tearDownClass.__func__)
    setup_tables = classmethod(B.setup_tables.__func__)
    write = classmethod(B.write.__func__)
    provider = classmethod(B.provider.__func__)
    table = classmethod(B.table.__func__)
    setUp = B.setUp
    key_of = B.key_of
    check = B.check
    as_json = staticmethod(B.as_json)

    def migrate(self, table, *args):
        env = command_env()
        env["AWS_ENDPOINT_URL_KMS"] = self.moto.url
        r = subprocess.run([h.DYNASEAL, "migrate", "--config", self.proxy.config_path, "--table",
                            table, *args], env=env, capture_output=True, text=True, timeout=120)
        return r.returncode, json.loads(r.stdout) if r.stdout.strip() else None, r.stderr

    def test_migrated_legacy_items_are_v3_and_read_as_their_plaintext(self):
        converted = 0
        tables = sorted(self.stored)
        plain_table = tables[0]
        pk = self.index[plain_table]
        first = self.stored[plain_table][0]
        plain = {k: first[k] for k in pk}
        plain[pk[-1]] = {"S": "zz"} if "S" in first[pk[-1]] else {"N": "987654"}
        plain["note"] = {"S": "written in plaintext"}
        self.raw.put_item(TableName=plain_table, Item=L.to_boto(plain))
        for table in tables:
            status, report, err = self.migrate(table)
            n = len(self.stored[table])
            if table == plain_table:
                self.assertEqual(status, 1, err)
                self.assertEqual(report["failed"], 1, report)
                self.assertIn(PLAIN_ERROR, err)
                self.raw.delete_item(TableName=table, Key=L.to_boto({k: plain[k] for k in pk}))
            else:
                self.assertEqual(status, 0, err)
                self.assertEqual(report["failed"], 0, report)
            self.assertEqual(report["converted"], n, report)
            self.assertEqual(report["legacy"], 0, report)
            converted += n
            raw = self.raw.scan(TableName=table)["Items"]
            self.assertEqual(len(raw), n)
            for it in raw:
                self.assertIn("aws_dbe_head", it)
                self.assertFalse([a for a in it if a.startswith("*amzn-ddb-map-")], it.keys())
            for it in self.stored[table]:
                got = self.app.get_item(TableName=table, Key=L.to_boto(self.key_of(table, it)),
                                        ConsistentRead=True)["Item"]
                self.check(table, got)
            status, report, err = self.migrate(table, "--verify")
            self.assertEqual((status, report["unprotected"], report["protected"]), (0, 0, n), err)
            # a second run finds nothing to do
            status, report, err = self.migrate(table)
            self.assertEqual((status, report["converted"], report["skipped"]), (0, 0, n), err)
        print("legacy items migrated: %d in %d tables" % (converted, len(tables)))
        self.assertGreater(converted, 0)


if __name__ == "__main__":
    unittest.main()
