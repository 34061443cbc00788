"""Real servers on loopback for the integration tests, started and always stopped by the tests.

moto_server (DynamoDB, KMS, IAM, STS; with INITIAL_NO_AUTH_ACTION_COUNT it checks SigV4
signatures and IAM policies), dynalite (a fast DynamoDB), redis-server, and dynaseal itself.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DYNASEAL = os.path.abspath(os.environ.get("DYNASEAL_BIN", os.path.join(ROOT, "bin", "dynaseal")))
NODE_BIN = os.path.join(ROOT, "tests", "node", "node_modules", ".bin")
REGION = "us-east-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, timeout=20.0, log=None):
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
    """One child process with its log file; stop() always ends it."""

    def __init__(self, name, cmd, port, env=None, workdir=None):
        self.name = name
        self.port = port
        self.workdir = workdir or tempfile.mkdtemp(prefix="dynaseal-it-%s-" % name)
        self.log = os.path.join(self.workdir, name + ".log")
        full_env = dict(os.environ)
        full_env.update(env or {})
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=full_env,
                                         cwd=self.workdir, start_new_session=True)
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
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode


def start_moto(auth_after=None):
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


def start_dynaseal(upstream_url, config=None, env=None, workers=2, check=True):
    """Starts bin/dynaseal serve with a generated config (merged over the defaults below)."""
    port = free_port()
    admin = free_port()
    workdir = tempfile.mkdtemp(prefix="dynaseal-it-proxy-")
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
    path = os.path.join(workdir, "dynaseal.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    if check:
        r = subprocess.run([DYNASEAL, "check", "--config", path], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("config does not pass check:\n" + r.stderr)
    full_env = {"DYNASEAL_CONFIG": ""}
    full_env.update(env if env is not None else proxy_env())
    srv = Server("dynaseal", [DYNASEAL, "serve", "--config", path], port, full_env, workdir)
    srv.admin_port = admin
    srv.config_path = path
    srv.config = cfg
    return srv


def client_env(endpoint_url):
    """The environment of an unmodified application pointed at endpoint_url."""
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("AWS_"):
            del env[k]
    env.update({
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint_url,
        "AWS_ACCESS_KEY_ID": "AKIDAPPLICATION0000",
        "AWS_SECRET_ACCESS_KEY": "application-secret-unknown-upstream",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
    })
    return env


def boto3_client(endpoint_url, service="dynamodb", key="AKIDAPPLICATION0000",
                 secret="application-secret-unknown-upstream", retries=0):
    import boto3
    from botocore.config import Config
    return boto3.client(service, endpoint_url=endpoint_url, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": retries + 1, "mode": "standard"}))


def aws_cli(endpoint_url, *args):
    """Runs the AWS CLI as an application would, with only the endpoint variable changed."""
    r = subprocess.run(["aws", "dynamodb", *args, "--output", "json"], env=client_env(endpoint_url),
                       capture_output=True, text=True, timeout=60)
    return r.returncode, (json.loads(r.stdout) if r.stdout.strip() else None), r.stderr


def create_iam_user(moto_url, actions=("dynamodb:*",), name="dynaseal"):
    """On a moto started with auth_after=3: creates a user with keys and a policy (3 calls)."""
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


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)
