"""Malformed expressions on a table dynaseal encrypts get DynamoDB's own refusals, word for
word: the same request straight to moto and through dynaseal (which reads every expression of
a configured table itself) must fail with the same error code and message.

moto words syntax errors of update expressions as DynamoDB does ('Syntax error; token: "b",
near: ":v b ="'); its condition-expression errors are its own ("Bad Filter Expression: ..."),
so conditions are compared with DynamoDB's format in the unit tests (test_ddb_expr.c) instead.
"""
import unittest

import peers as h
from compare import Compared, outcome

T = "expr_errors"
UPDATES = [
    "SET email = :v b = :w", "SET email :v", "SET", "REMOVE", "SET email = :v,", "ADD email",
    "SET email = size(b)", "SET :v = email", "SET email[x] = :v", "SET email.[1] = :v",
    "SET email = :v  b", "SET email = :v WHERE", "SET email = if_not_exists(b :v)",
    "SET email = list_append(b, :v", "REMOVE email SET", "SET email =:v b=:v", "SET email = :v REMOVE",
    "SET email = b +", "DELETE email", "SET email = :v SET b = :v", "SET status = :v", "SET email = $b",
    "SET email = :v;",
]


class ExpressionErrorsTest(Compared):
    @classmethod
    def setUpClass(cls):
        cls.direct, cls.backing = h.start_moto(), h.start_moto()
        try:
            key = h.random_key_file(cls.backing.workdir, "errors.key")
            cls.proxy = h.start_dynaseal(cls.backing.url, config={
                "keyrings": {"local": {"type": "raw-aes", "key_file": key}},
                "tables": {T: {"keyring": "local", "partition_key": "pk",
                               "attribute_actions": {"email": "ENCRYPT_AND_SIGN", "b": "DO_NOTHING",
                                                     "status": "DO_NOTHING"}}}})
            for server in (cls.direct, cls.backing):
                h.create_table(h.boto3_client(server), T)
        except Exception:
            cls.tearDownClass()
            raise

    @staticmethod
    def refusal(client, expr):
        args = dict(TableName=T, Key={"pk": {"S": "k"}}, UpdateExpression=expr)
        values = {v: {"S": "x"} for v in (":v", ":w") if v in expr}
        if values:
            args["ExpressionAttributeValues"] = values
        try:
            client.update_item(**args)
        except client.exceptions.ClientError as e:
            return e.response["Error"]["Code"], e.response["Error"]["Message"]
        return None

    def test_update_syntax_errors_as_dynamodb_words_them(self):
        direct, app = h.boto3_client(self.direct), h.boto3_client(self.proxy)
        for expr in UPDATES:
            with self.subTest(expr=expr):
                want = self.refusal(direct, expr)
                self.assertIsNotNone(want, "moto accepted %r" % expr)
                self.assertEqual(self.refusal(app, expr), want)
        raw = h.boto3_client(self.backing).scan(TableName=T)["Items"]
        self.assertEqual(raw, [])


if __name__ == "__main__":
    unittest.main()
