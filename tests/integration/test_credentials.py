"""dynaseal's own credentials from each source of the chain, against moto with signature and
IAM checks on: a shared credentials file with AWS_PROFILE, a container credentials endpoint
(ECS / EKS Pod Identity form, with its authorization token) whose credentials expire and are
refreshed with no failed request, EC2 instance metadata (IMDSv2) and web identity (STS
AssumeRoleWithWebIdentity, moto's STS).  The stand-in container and IMDS endpoints (no real one
runs here) are first checked with botocore's own providers pointed at them."""
import datetime
import http.server
import json
import os
import socketserver
import threading
import time
import unittest

import botocore.session

import peers as h

TOKEN = "container-auth-token-123"


class Creds(http.server.BaseHTTPRequestHandler):
    """Serves the container endpoint and IMDSv2 paths, rotating between two IAM users' keys."""
    keys = []
    served = 0
    lifetime_s = 20

    def answer(self, status, body, ctype="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def creds(self):
        key = Creds.keys[Creds.served % len(Creds.keys)]
        Creds.served += 1
        exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=Creds.lifetime_s)
        return json.dumps({"Code": "Success", "AccessKeyId": key[0], "SecretAccessKey": key[1],
                           "Token": "", "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ")})

    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self.answer(200, "imds-session-token", "text/plain")
        else:
            self.answer(400, "bad token request", "text/plain")

    def do_GET(self):
        if self.path == "/creds":
            if self.headers.get("Authorization") != TOKEN:
                self.answer(401, '{"message":"bad token"}')
            else:
                self.answer(200, self.creds())
        elif self.path.startswith("/latest/meta-data/iam/security-credentials/"):
            if self.headers.get("X-aws-ec2-metadata-token") != "imds-session-token":
                self.answer(401, "", "text/plain")
            elif self.path.endswith("/"):
                self.answer(200, "dynaseal-role", "text/plain")
            else:
                self.answer(200, self.creds())
        else:
            self.answer(404, "", "text/plain")

    def log_message(self, *args):
        pass


def create_user(iam, name):
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["dynamodb:*"], "Resource": "*"}]}))
    return key["AccessKeyId"], key["SecretAccessKey"]


class CredentialChainTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto(auth_after=6)
        try:
            iam = h.boto3_client(cls.moto.url, "iam", "AKIDBOOT", "boot")
            Creds.keys = [create_user(iam, "one"), create_user(iam, "two")]
            cls.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Creds)
            cls.server.daemon_threads = True
            threading.Thread(target=cls.server.serve_forever, daemon=True).start()
            cls.creds_url = "http://127.0.0.1:%d" % cls.server.server_address[1]
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "server"):
            cls.server.shutdown()
            cls.server.server_close()
        if hasattr(cls, "moto"):
            cls.moto.stop()

    def base_env(self, **extra):
        env = {"AWS_REGION": h.REGION, "AWS_EC2_METADATA_DISABLED": "true",
               "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "HOME": h.run_dir()}
        env.update(extra)
        return env

    def serve(self, env):
        proxy = h.start_dynaseal(self.moto.url, env=env)
        self.addCleanup(proxy.stop)
        return proxy

    def test_profile_file(self):
        path = os.path.join(h.run_dir(), "credentials")
        with open(path, "w") as f:
            f.write("[default]\naws_access_key_id = AKIDNOTTHISONE\naws_secret_access_key = nope\n\n"
                    "[ops]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % Creds.keys[0])
        proxy = self.serve(self.base_env(AWS_SHARED_CREDENTIALS_FILE=path, AWS_PROFILE="ops"))
        h.boto3_client(proxy.url).list_tables()
        self.assertIn("shared credentials file (access key %s" % Creds.keys[0][0][:4], proxy.log_text())

    def test_operator_commands_use_the_chain(self):
        """doctor (and inspect, branch-key) find credentials as serve does: here a profile."""
        import subprocess
        path = os.path.join(h.run_dir(), "credentials-doctor")
        with open(path, "w") as f:
            f.write("[ops]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % Creds.keys[0])
        cfg = os.path.join(h.run_dir(), "doctor.json")
        with open(cfg, "w") as f:
            json.dump({"upstream": {"endpoint": self.moto.url, "region": h.REGION}}, f)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(self.base_env(AWS_SHARED_CREDENTIALS_FILE=path, AWS_PROFILE="ops"))
        r = subprocess.run([h.DYNASEAL, "doctor", "--config", cfg], env=env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("ok    credentials: from the shared credentials file", r.stdout)
        self.assertIn("ok    upstream", r.stdout)

    def test_container_endpoint_with_refresh(self):
        # The stand-in speaks what botocore's container provider expects.
        env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": self.creds_url + "/creds",
               "AWS_CONTAINER_AUTHORIZATION_TOKEN": TOKEN}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            from botocore.credentials import ContainerProvider
            got = ContainerProvider().load()
            self.assertIsNotNone(got)
            self.assertIn(got.get_frozen_credentials().access_key, [k[0] for k in Creds.keys])
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        before = Creds.served
        proxy = self.serve(self.base_env(**env))
        app = h.boto3_client(proxy.url)
        failures = 0
        deadline = time.time() + 14   # past the refresh at about half the 20 s lifetime
        while time.time() < deadline:
            try:
                app.list_tables()
            except Exception:
                failures += 1
            time.sleep(0.2)
        self.assertEqual(failures, 0)
        self.assertGreaterEqual(Creds.served - before, 2, "the credentials were not refreshed")
        self.assertIn("credentials: refreshed from the container endpoint", proxy.log_text())

    def test_container_endpoint_wrong_token_fails_to_start(self):
        env = self.base_env(AWS_CONTAINER_CREDENTIALS_FULL_URI=self.creds_url + "/creds",
                            AWS_CONTAINER_AUTHORIZATION_TOKEN="wrong")
        with self.assertRaises(RuntimeError) as cm:
            h.start_dynaseal(self.moto.url, env=env)
        self.assertIn("401", str(cm.exception))

    def test_instance_metadata(self):
        env = {"AWS_EC2_METADATA_SERVICE_ENDPOINT": self.creds_url, "AWS_EC2_METADATA_DISABLED": "false"}
        # botocore's IMDS fetcher against the stand-in first.
        from botocore.utils import InstanceMetadataFetcher
        fetched = InstanceMetadataFetcher(timeout=2, num_attempts=1,
                                          base_url=self.creds_url).retrieve_iam_role_credentials()
        self.assertIn(fetched.get("access_key"), [k[0] for k in Creds.keys])
        proxy = self.serve(self.base_env(**env))
        h.boto3_client(proxy.url).list_tables()
        self.assertIn("from the EC2 instance metadata", proxy.log_text())

    def test_web_identity(self):
        token = os.path.join(h.run_dir(), "web-identity-token")
        with open(token, "w") as f:
            f.write("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDpkeW5hc2VhbCJ9.c2ln")
        env = self.base_env(AWS_WEB_IDENTITY_TOKEN_FILE=token,
                            AWS_ROLE_ARN="arn:aws:iam::123456789012:role/dynaseal",
                            AWS_ROLE_SESSION_NAME="dynaseal-test", AWS_ENDPOINT_URL_STS=self.moto.url)
        # dynaseal starts only if STS answered with credentials it could parse.  This moto does
        # not check signatures: with checks on, moto 5.2 fails the (rightly unsigned)
        # AssumeRoleWithWebIdentity call with an internal error.
        moto = h.start_moto()
        self.addCleanup(moto.stop)
        env["AWS_ENDPOINT_URL_STS"] = moto.url
        proxy = h.start_dynaseal(moto.url, env=env)
        self.addCleanup(proxy.stop)
        self.assertIn("from the web identity (STS) (access key ASIA", proxy.log_text())
        h.boto3_client(proxy.url).list_tables()


if __name__ == "__main__":
    unittest.main()
