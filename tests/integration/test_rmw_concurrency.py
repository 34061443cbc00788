"""Nothing acknowledged is lost when dynaseal carries updates out itself under concurrency.

Two dynaseal processes in front of one dynalite (whose UpdateItem is atomic; moto's is not
under concurrent writers), one item: 8 clients doing `ADD visits :one` (an unsigned attribute:
forwarded to DynamoDB) and 8 doing `SET email = :e` with values of their own (an encrypted
attribute: read, verified, re-encrypted and written back on the foot read, started over when
another writer got there first), for RMW_SECONDS seconds (default 5; 30 in the issue's
acceptance run).  Afterwards visits equals the number of acknowledged ADDs, email is one of
the acknowledged values (the last acknowledged one of some writer), and the item verifies.
A request answered with a retryable error (5xx) is not acknowledged and not counted."""
import os
import threading
import time
import unittest

import peers as h

SECONDS = float(os.environ.get("RMW_SECONDS", "5"))
KEY = {"pk": {"S": "hot"}}


class RmwConcurrencyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.servers = []
        if h.DIRECT:
            raise unittest.SkipTest("needs dynaseal")
        cls.dynalite = h.start_dynalite()
        cls.servers.append(cls.dynalite)
        key = os.path.join(h.run_dir(), "rmw-concurrency.key")
        with open(key, "wb") as f:
            f.write(os.urandom(32))
        config = {"keyrings": {"local": {"type": "raw-aes", "key_file": key}},
                  "tables": {"hot": {"keyring": "local", "partition_key": "pk",
                                     "attribute_actions": {"email": "ENCRYPT_AND_SIGN",
                                                           "visits": "DO_NOTHING"}}}}
        cls.proxies = [h.start_dynaseal(cls.dynalite.url, config=config) for _ in range(2)]
        cls.servers += cls.proxies
        h.create_table(h.boto3_client(cls.dynalite.url), "hot", wait=True)

    @classmethod
    def tearDownClass(cls):
        for s in reversed(getattr(cls, "servers", [])):
            s.stop()

    def test_concurrent_add_and_encrypted_set_lose_nothing(self):
        first = h.boto3_client(self.proxies[0].url)
        first.put_item(TableName="hot", Item=dict(KEY, email={"S": "start@example.com"}, visits={"N": "0"}))
        stop = time.monotonic() + SECONDS
        lock = threading.Lock()
        acked_adds, acked_emails, retryable, other = [0], [], [0], []

        def adder(n):
            c = h.boto3_client(self.proxies[n % 2].url)
            while time.monotonic() < stop:
                try:
                    c.update_item(TableName="hot", Key=KEY, UpdateExpression="ADD visits :one",
                                  ExpressionAttributeValues={":one": {"N": "1"}})
                except c.exceptions.ClientError as e:
                    with lock:
                        if e.response["ResponseMetadata"]["HTTPStatusCode"] >= 500:
                            retryable[0] += 1
                        else:
                            other.append(e.response["Error"])
                    continue
                with lock:
                    acked_adds[0] += 1

        def setter(n):
            c = h.boto3_client(self.proxies[n % 2].url)
            i = 0
            while time.monotonic() < stop:
                value = "writer%d-%d@example.com" % (n, i)
                i += 1
                try:
                    c.update_item(TableName="hot", Key=KEY, UpdateExpression="SET email = :e",
                                  ExpressionAttributeValues={":e": {"S": value}})
                except c.exceptions.ClientError as e:
                    with lock:
                        if e.response["ResponseMetadata"]["HTTPStatusCode"] >= 500:
                            retryable[0] += 1
                        else:
                            other.append(e.response["Error"])
                    continue
                with lock:
                    acked_emails.append(value)

        threads = [threading.Thread(target=adder, args=(n,)) for n in range(8)]
        threads += [threading.Thread(target=setter, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        final = first.get_item(TableName="hot", Key=KEY, ConsistentRead=True)["Item"]
        conflicts = [line for line in h.metrics(self.proxies[0]).splitlines() +
                     h.metrics(self.proxies[1]).splitlines() if line.startswith("dynaseal_rmw_conflicts_total ")]
        summary = ("%.0f s: %d ADDs and %d SETs acknowledged, %d retryable errors, conflicts %s"
                   % (SECONDS, acked_adds[0], len(acked_emails), retryable[0], conflicts))
        print("\ntest_rmw_concurrency: " + summary)
        self.assertEqual(other, [], summary)
        self.assertGreater(acked_adds[0], 0, summary)
        self.assertGreater(len(acked_emails), 0, summary)
        self.assertEqual(final["visits"], {"N": str(acked_adds[0])}, summary)
        self.assertIn(final["email"]["S"], acked_emails, summary)
        # The last acknowledged value of some writer, not an earlier one overwritten late.
        last = {v.split("-")[0]: v for v in acked_emails}
        self.assertIn(final["email"]["S"], last.values(), summary)


if __name__ == "__main__":
    unittest.main()
