"""What an application observes, compared: the same calls sent straight to a DynamoDB stand-in
(the oracle) and through dynaseal in front of another, for the test classes built that way."""
import json
import unittest


def outcome(call, drop=("ResponseMetadata",), canon=None):
    """One call as the application sees it: ("ok", its answer as sorted JSON without the
    members in drop, through canon if given) or the error's (code, message) as botocore raises
    them."""
    try:
        r = call()
        for k in drop:
            r.pop(k, None)
        return ("ok", json.dumps(canon(r) if canon else r, sort_keys=True, default=repr))
    except Exception as e:  # botocore's ClientError: the code and message the application sees
        err = getattr(e, "response", {}).get("Error", {})
        return (err.get("Code"), err.get("Message"))


class Compared(unittest.TestCase):
    """A class whose setUpClass sets `clients` (the oracle's client first, dynaseal's second)
    and the servers named in SERVERS, which tearDownClass stops (those that were started)."""
    SERVERS = ("proxy", "backing", "direct")
    DROP = ("ResponseMetadata",)

    @staticmethod
    def canon(answer):
        return answer

    @classmethod
    def tearDownClass(cls):
        for s in cls.SERVERS:
            if hasattr(cls, s):
                getattr(cls, s).stop()

    def outcome(self, call):
        return outcome(call, self.DROP, self.canon)

    def same(self, name, call):
        """call(client) gives the same outcome both ways; returns it."""
        got = [self.outcome(lambda c=c: call(c)) for c in self.clients]
        self.assertEqual(got[1], got[0], name)
        return got[0]
