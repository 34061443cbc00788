"""Real servers on loopback for the integration tests, started and always stopped by the tests.

moto_server (DynamoDB, KMS, IAM, STS; with INITIAL_NO_AUTH_ACTION_COUNT it checks SigV4
signatures and IAM policies), dynalite (a fast DynamoDB), redis-server, and dynaseal itself.

Every server logs to a file under one temporary folder per run (RUN_DIR); run.py prints the
tail of every live server's log when a test fails, keeps the folder when anything failed and
counts a sanitizer report found in a dynaseal log as a failure.

DYNASEAL_DIRECT=1 proves the tests without dynaseal: start_dynaseal() then returns a stand-in
whose endpoint is the backend itself and whose clients sign with the credentials dynaseal
would have held.  Only test classes that pass direct_ok=True get it (their dynaseal-only tests
carry @proxy_only); every other class that starts dynaseal is skipped whole.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
from urllib.parse import urlparse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DYNASEAL = os.path.abspath(os.environ.get("DYNASEAL_BIN", os.path.join(ROOT, "bin", "dynaseal")))
NODE_BIN = os.path.join(ROOT, "tests", "node", "node_modules", ".bin")
REGION = "us-east-1"
DIRECT = os.environ.get("DYNASEAL_DIRECT", "") not in ("", "0")
# Headers of an SDK-shaped signature, for hand-made requests: dynaseal (without clients) checks
# their form as DynamoDB does, then replaces them with its own.
SDK_SIGNATURE = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDAPP/20260101/us-east-1/dynamodb/aws4_request, "
                     "SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + "0" * 64,
    "X-Amz-Date": "20260101T000000Z",
}
# DYNASEAL_VALGRIND=1 (make integration-valgrind) runs every `dynaseal serve` under valgrind
# memcheck; any error or definite/indirect leak it logs counts as a failure, like a sanitizer's.
VALGRIND = os.environ.get("DYNASEAL_VALGRIND", "") not in ("", "0")

# The application's own keys: dynaseal ignores them (it re-signs with its own), so they are
# unknown to every upstream on purpose.
CLIENT_KEY = "AKIDCLIENT0000000000"
CLIENT_SECRET = "client-secret-unknown-upstream"

proxy_only = unittest.skipIf(DIRECT, "needs dynaseal (DYNASEAL_DIRECT=1 talks to the backend itself)")

_run_dir = None
LIVE = []                 # servers started and not yet stopped, oldest first
SANITIZER_REPORTS = []    # (log path, excerpt) of dynaseal logs holding an ASan/UBSan report
# ASan/LSan headers, and UBSan's "file.c:LINE:COL: runtime error:".
_SANITIZER_RE = re.compile(r"ERROR: (?:Address|Leak)Sanitizer|\.[ch]:\d+:\d+: runtime error:")


def run_dir():
    """The per-run folder holding one sub-folder per server."""
    global _run_dir
    if _run_dir is None:
        _run_dir = tempfile.mkdtemp(prefix="dynaseal-it-")
    return _run_dir


_handed_out = set()


def free_port():
    """A loopback port free now and not handed out before in this run (the kernel may give the
    same ephemeral port to two consecutive binds once the first socket is closed)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def wait_port(port, proc=None, timeout=30.0, log=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s before listening on %d\n%s"
                               % (proc.returncode, port, tail(log)))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d after %.0fs\n%s" % (port, timeout, tail(log)))


def tail(path, n=40):
    if not path or not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-n:])


class Server:
    """One child process (in its own process group) with its log file; stop() always ends it."""

    def __init__(self, name, cmd, port, env=None, workdir=None):
        self.name = name
        self.port = port
        self.workdir = workdir or tempfile.mkdtemp(prefix=name + "-", dir=run_dir())
        self.log = os.path.join(self.workdir, name + ".log")
        full_env = dict(os.environ)
        full_env.update(env or {})
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=full_env,
                                         cwd=self.workdir, start_new_session=True,
                                         stdin=subprocess.DEVNULL)
        LIVE.append(self)
        try:
            wait_port(port, self.proc, log=self.log)
        except Exception:
            self.stop()
            raise

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                # valgrind's leak check runs after dynaseal's own clean exit.
                self.proc.wait(timeout=120 if VALGRIND else 10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self in LIVE:
            LIVE.remove(self)
            if self.name == "dynaseal":
                text = self.log_text()
                m = _SANITIZER_RE.search(text)
                if m:
                    SANITIZER_REPORTS.append((self.log, text[max(0, m.start() - 200):m.start() + 1500]))
                vg = os.path.join(self.workdir, "valgrind.log")
                if os.path.exists(vg) and os.path.getsize(vg) > 0:
                    with open(vg, errors="replace") as f:
                        SANITIZER_REPORTS.append((vg, f.read()[:3000]))
        return self.proc.returncode


class Direct:
    """Stands in for dynaseal under DYNASEAL_DIRECT=1: the backend's own endpoint, and the
    credentials dynaseal would have signed with, which clients then sign with themselves."""

    name = "direct"
    log = None
    admin_port = None

    def __init__(self, upstream_url, env):
        u = urlparse(upstream_url)
        self.port = u.port
        self.url = "http://127.0.0.1:%d" % u.port
        self.workdir = tempfile.mkdtemp(prefix="direct-", dir=run_dir())
        self.creds = (env.get("AWS_ACCESS_KEY_ID", CLIENT_KEY),
                      env.get("AWS_SECRET_ACCESS_KEY", CLIENT_SECRET), env.get("AWS_SESSION_TOKEN"))

    def stop(self):
        return 0


def start_moto(auth_after=None):
    """moto_server; with auth_after=N the first N authenticated actions go unchecked (moto counts
    them in ActionAuthenticatorMixin.request_count), every later one must carry a valid SigV4
    signature of a known IAM access key whose policies allow the action."""
    port = free_port()
    env = {}
    if auth_after is not None:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(auth_after)
    return Server("moto", ["moto_server", "-H", "127.0.0.1", "-p", str(port)], port, env)


def start_dynalite():
    port = free_port()
    return Server("dynalite", [os.path.join(NODE_BIN, "dynalite"), "--port", str(port)], port)


def start_redis():
    port = free_port()
    return Server("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                            "--save", "", "--appendonly", "no"], port)


def proxy_env(access_key="AKIDDYNASEALPROXY", secret="dynaseal-proxy-secret", token=None):
    """dynaseal's own credentials, as its environment."""
    env = {"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": REGION}
    if token:
        env["AWS_SESSION_TOKEN"] = token
    return env


def branch_key_cli(env, endpoint, *args):
    """`dynaseal branch-key ARGS` with dynaseal's credentials in env (and no other AWS_ variable
    of the test's own), `--endpoint endpoint` unless endpoint is None."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    full.update(env)
    # A variable pointing DynamoDB clients elsewhere must not be followed by dynaseal.
    full["AWS_ENDPOINT_URL_DYNAMODB"] = "http://127.0.0.1:9"
    cmd = [DYNASEAL, "branch-key", *args]
    if endpoint is not None:
        cmd += ["--endpoint", endpoint]
    return subprocess.run(cmd, env=full, capture_output=True, text=True, timeout=60)


def proxy_config(port, admin, upstream_url, config=None, workers=2):
    """dynaseal's config: the defaults below with `config` merged over them, one level deep."""
    cfg = {
        "listen": "127.0.0.1:%d" % port,
        "admin_listen": "127.0.0.1:%d" % admin,
        "workers": workers,
        "upstream": {"endpoint": upstream_url, "region": REGION,
                     "connect_timeout_ms": 2000, "response_timeout_ms": 10000},
        "log": {"level": os.environ.get("DYNASEAL_TEST_LOG", "info")},
    }
    for k, v in (config or {}).items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k].update(v)
        else:
            cfg[k] = v
    return cfg


def start_dynaseal(upstream_url, config=None, env=None, workers=2, check=True, direct_ok=False):
    """Starts `dynaseal serve` with a generated config and its credentials in `env`.  Under
    DYNASEAL_DIRECT=1 returns the Direct stand-in if direct_ok, else skips the calling class."""
    env = env if env is not None else proxy_env()
    if DIRECT:
        if not direct_ok:
            raise unittest.SkipTest("needs dynaseal (DYNASEAL_DIRECT=1 talks to the backend itself)")
        return Direct(upstream_url, env)
    port = free_port()
    admin = free_port()
    workdir = tempfile.mkdtemp(prefix="dynaseal-", dir=run_dir())
    cfg = proxy_config(port, admin, upstream_url, config, workers)
    path = os.path.join(workdir, "dynaseal.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    if check:
        r = subprocess.run([DYNASEAL, "check", "--config", path], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("config does not pass check:\n" + r.stdout + r.stderr)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    full_env["DYNASEAL_CONFIG"] = ""
    full_env.update(env)
    cmd = [DYNASEAL, "serve", "--config", path]
    if VALGRIND:
        cmd = ["valgrind", "--quiet", "--leak-check=full", "--show-leak-kinds=definite,indirect",
               "--errors-for-leak-kinds=definite,indirect", "--num-callers=30",
               "--log-file=" + os.path.join(workdir, "valgrind.log")] + cmd
    srv = Server("dynaseal", cmd, port, full_env, workdir)
    srv.admin_port = admin
    # The admin listener may open a moment after the proxy's (seen under valgrind).
    wait_port(admin, srv.proc, log=srv.log)
    srv.config_path = path
    srv.config = cfg
    return srv


def _target(target, key, secret, token=None):
    """(endpoint URL, key, secret, token) for a URL, a Server, or the Direct stand-in."""
    if isinstance(target, Direct):
        return (target.url,) + target.creds
    return getattr(target, "url", target), key, secret, token


def client_env(target):
    """The environment of an unmodified application pointed at `target` (a URL or a server):
    only AWS_ENDPOINT_URL_DYNAMODB says where dynaseal is; the keys are the application's."""
    url, key, secret, token = _target(target, CLIENT_KEY, CLIENT_SECRET)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ENDPOINT_URL_DYNAMODB": url,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
    })
    if token:
        env["AWS_SESSION_TOKEN"] = token
    return env


def boto3_client(target, service="dynamodb", key=CLIENT_KEY, secret=CLIENT_SECRET, retries=0):
    """A boto3 client for `target` (a URL or a server), as the application builds one."""
    import boto3
    from botocore.config import Config
    url, key, secret, token = _target(target, key, secret)
    return boto3.client(service, endpoint_url=url, region_name=REGION, aws_access_key_id=key,
                        aws_secret_access_key=secret, aws_session_token=token,
                        config=Config(retries={"max_attempts": retries + 1, "mode": "standard"}))


def aws_cli(target, *args):
    """Runs the AWS CLI as an application would, with only the endpoint variable changed.
    Returns (exit code, parsed JSON output or None, stderr)."""
    r = subprocess.run(["aws", "dynamodb", *args, "--output", "json"], env=client_env(target),
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    return r.returncode, (json.loads(r.stdout) if r.stdout.strip() else None), r.stderr


def create_iam_user(moto_url, actions=("dynamodb:*",), name="dynaseal"):
    """On a moto started with auth_after=3: creates a user with an access key and an inline
    policy allowing `actions` (add "kms:*" where needed) -- the 3 calls of the no-auth window.
    Returns (access key id, secret access key)."""
    iam = boto3_client(moto_url, "iam", "AKIDBOOTSTRAP", "bootstrap")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.put_user_policy(UserName=name, PolicyName="dynaseal", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}))
    return key["AccessKeyId"], key["SecretAccessKey"]


def metrics(proxy):
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % proxy.admin_port, timeout=5) as r:
        return r.read().decode()


def stop_all():
    """Stops whatever a test module left running (run.py calls it last)."""
    for s in list(reversed(LIVE)):
        s.stop()


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)


def random_key_file(workdir, name="local.key"):
    """A fresh 32-byte raw-aes key in workdir; returns its path."""
    path = os.path.join(workdir, name)
    with open(path, "wb") as f:
        f.write(os.urandom(32))
    return path


def create_table(client, name, keys=(("pk", "S", "HASH"),), wait=False):
    """An on-demand table whose key is `keys`, (name, type, HASH|RANGE) each."""
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t, _ in keys],
                        KeySchema=[{"AttributeName": n, "KeyType": k} for n, _, k in keys])
    if wait:
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
