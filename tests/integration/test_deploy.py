"""The deployment files in deploy/: every YAML and JSON file parses, every dynaseal config
embedded in them passes `dynaseal check` (and a broken copy of each fails it), and each
platform's file has what the guides promise: Kubernetes probes on the admin port, resources,
an IRSA service account and the application's AWS_ENDPOINT_URL_DYNAMODB; ECS dependsOn
HEALTHY, awslogs and a health check; a non-root, sandboxed systemd unit; a least-privilege
IAM policy; a multi-stage, non-root Dockerfile whose apt packages exist in Debian 12 and
cover every library the binary links.

The Helm chart's templates are Go templates.  When `helm` is on PATH they are rendered with
`helm template`; otherwise with helm_lite.py, which implements only the subset the chart uses
and raises on anything else, so a template it cannot render fails the test instead of being
skipped.  A .Values path missing from values.yaml is an error too (Helm would render it empty).
"""
import copy
import glob
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

import yaml

import peers as h
from helm_lite import Renderer, TemplateError, deep_merge

ROOT = h.ROOT
DEPLOY = os.path.join(ROOT, "deploy")
CHART = os.path.join(DEPLOY, "helm", "dynaseal")
CHART_TEMPLATES = os.path.join(CHART, "templates")
ENDPOINT = "http://127.0.0.1:8000"
IRSA = "eks.amazonaws.com/role-arn"
KEY_ARN_RE = re.compile(r"^arn:aws:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$")
ROLE_ARN_RE = re.compile(r"^arn:aws:iam::\d{12}:role/[\w+=,.@/-]+$")

# The build subset of deploy/install-deps.sh, and the runtime libraries (ldd bin/dynaseal).
BUILD_PACKAGES = {"build-essential", "pkg-config", "libevent-dev", "libssl-dev", "libcjson-dev",
                  "libhiredis-dev", "zlib1g-dev", "libgmp-dev", "node-llhttp"}
RUNTIME_PACKAGES = {"libevent-2.1-7", "libevent-core-2.1-7", "libevent-openssl-2.1-7",
                    "libevent-pthreads-2.1-7", "libssl3", "libcjson1", "libhiredis0.14", "zlib1g",
                    "libgmp10", "ca-certificates"}


def have_binary():
    return os.access(h.DYNASEAL, os.X_OK)


def dynaseal_check(cfg):
    """Runs `dynaseal check` on cfg (a dict or JSON text) from a private temp file."""
    text = cfg if isinstance(cfg, str) else json.dumps(cfg)
    fd, path = tempfile.mkstemp(prefix="deploy-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DYNASEAL_")}
        return subprocess.run([h.DYNASEAL, "check", "--config", path], capture_output=True,
                              text=True, timeout=30, env=env)
    finally:
        os.unlink(path)


def deploy_files(*exts):
    """Every file under deploy/ with one of exts, but the Helm chart's Go templates."""
    out = []
    for dirpath, _, names in os.walk(DEPLOY):
        for n in names:
            p = os.path.join(dirpath, n)
            if n.endswith(exts) and not p.startswith(CHART_TEMPLATES + os.sep):
                out.append(p)
    return sorted(out)


def load_yaml_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def chart_values():
    with open(os.path.join(CHART, "values.yaml")) as f:
        return yaml.safe_load(f)


def render_chart(overrides=None):
    """The chart's Kubernetes objects for values.yaml merged with overrides."""
    overrides = overrides or {}
    if shutil.which("helm"):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            yaml.safe_dump(overrides, f)
        try:
            r = subprocess.run(["helm", "template", "test", CHART, "-f", f.name],
                               capture_output=True, text=True, timeout=60)
        finally:
            os.unlink(f.name)
        if r.returncode != 0:
            raise TemplateError(r.stderr)
        return [d for d in yaml.safe_load_all(r.stdout) if d]
    rd = Renderer(CHART, deep_merge(chart_values(), overrides))
    docs = []
    for path in sorted(glob.glob(os.path.join(CHART_TEMPLATES, "*.yaml"))):
        text = rd.render(os.path.basename(path))
        try:
            docs.extend(d for d in yaml.safe_load_all(text) if d)
        except yaml.YAMLError as e:
            raise AssertionError("%s renders to YAML that does not parse: %s\n%s" % (path, e, text))
    rd.render("NOTES.txt")  # renders without error
    return docs


# ---- Kubernetes checks shared by the plain manifests and the chart ---------------------------

def pod_containers(spec):
    """(dynaseal container, application containers) of a pod spec."""
    all_c = list(spec.get("containers", [])) + list(spec.get("initContainers", []))
    ds = [c for c in all_c if c["name"] == "dynaseal"]
    apps = [c for c in spec.get("containers", []) if c["name"] != "dynaseal"]
    return ds, apps


def env_of(c):
    return {e["name"]: e.get("value") for e in c.get("env", [])}


def configmap_configs(docs):
    """Every dynaseal config in a ConfigMap (data keys ending in .json), as (name, text)."""
    out = []
    for d in docs:
        if d.get("kind") == "ConfigMap":
            for k, v in (d.get("data") or {}).items():
                if k.endswith(".json"):
                    out.append(("ConfigMap %s/%s" % (d["metadata"]["name"], k), v))
    return out


class KubernetesChecks:
    """Mixin: asserts a set of Kubernetes objects is a correct dynaseal sidecar deployment."""

    def check_k8s(self, docs, where):
        by_kind = {}
        for d in docs:
            self.check_shape(d, where)
            by_kind.setdefault(d["kind"], []).append(d)
        sas = {d["metadata"]["name"]: d for d in by_kind.get("ServiceAccount", [])}
        cms = {d["metadata"]["name"]: d for d in by_kind.get("ConfigMap", [])}
        sidecars = 0
        for dep in by_kind.get("Deployment", []):
            spec = dep["spec"]["template"]["spec"]
            name = "%s: Deployment %s" % (where, dep["metadata"]["name"])
            for c in spec.get("containers", []) + spec.get("initContainers", []):
                res = c.get("resources", {})
                self.assertTrue(res.get("requests"), "%s: container %s has no resource requests" % (name, c["name"]))
                self.assertIn("memory", res.get("limits", {}), "%s: container %s has no memory limit" % (name, c["name"]))
                self.assertIn("livenessProbe", c, "%s: container %s has no liveness probe" % (name, c["name"]))
                self.assertIn("readinessProbe", c, "%s: container %s has no readiness probe" % (name, c["name"]))
                self.assertIs(c.get("securityContext", {}).get("allowPrivilegeEscalation"), False, name)
            ds, apps = pod_containers(spec)
            if not ds:
                continue
            sidecars += 1
            self.assertEqual(len(ds), 1, name)
            self.check_sidecar(ds[0], spec, name)
            self.assertTrue(apps, name + ": no application container")
            for app in apps:
                self.assertEqual(env_of(app).get("AWS_ENDPOINT_URL_DYNAMODB"), ENDPOINT,
                                 "%s: container %s must reach DynamoDB through dynaseal" % (name, app["name"]))
            # IRSA: the pod's service account carries the role; the application is skipped.
            sa = spec.get("serviceAccountName")
            self.assertIn(sa, sas, "%s: serviceAccountName %r is not among the objects" % (name, sa))
            self.assertRegex(sas[sa]["metadata"].get("annotations", {}).get(IRSA, ""), ROLE_ARN_RE,
                             "%s: ServiceAccount %s lacks %s" % (name, sa, IRSA))
            skipped = dep["spec"]["template"]["metadata"].get("annotations", {}).get(
                "eks.amazonaws.com/skip-containers", "")
            skipped = {s.strip() for s in skipped.split(",") if s.strip()}
            self.assertEqual(skipped, {a["name"] for a in apps},
                             name + ": the IRSA token must reach dynaseal only")
            self.assertTrue(spec.get("securityContext", {}).get("runAsNonRoot"), name)
            # The config file dynaseal reads is the ConfigMap mounted at its folder.
            cfg_path = env_of(ds[0]).get("DYNASEAL_CONFIG")
            self.assertTrue(cfg_path, name + ": dynaseal has no DYNASEAL_CONFIG")
            mounts = {m["mountPath"]: m["name"] for m in ds[0].get("volumeMounts", [])}
            vol_name = mounts.get(os.path.dirname(cfg_path))
            self.assertTrue(vol_name, "%s: nothing mounted at %s" % (name, os.path.dirname(cfg_path)))
            vol = {v["name"]: v for v in spec.get("volumes", [])}[vol_name]
            cm = cms.get(vol.get("configMap", {}).get("name"))
            self.assertIsNotNone(cm, "%s: volume %s is not one of the ConfigMaps" % (name, vol_name))
            cfg = json.loads(cm["data"][os.path.basename(cfg_path)])
            self.check_pod_config(cfg, ds[0], name)
        self.assertGreaterEqual(sidecars, 1, where + ": no Deployment with a dynaseal container")

    def check_shape(self, d, where):
        self.assertIn("apiVersion", d, where)
        self.assertIn("kind", d, where)
        self.assertTrue(d.get("metadata", {}).get("name"), "%s: an object without a name" % where)
        # Mis-indented labels land beside them in metadata, which the API server refuses.
        self.assertLessEqual(set(d["metadata"]), {"name", "namespace", "labels", "annotations"},
                             "%s: %s %s metadata" % (where, d["kind"], d["metadata"]["name"]))
        for k in ("labels", "annotations"):
            self.assertIsInstance(d["metadata"].get(k, {}), dict, "%s: metadata.%s" % (where, k))
        if d["kind"] == "Deployment":
            tpl = d["spec"]["template"]
            self.assertEqual(d["spec"]["selector"]["matchLabels"],
                             {k: v for k, v in tpl["metadata"]["labels"].items()
                              if k in d["spec"]["selector"]["matchLabels"]}, where + ": selector")
        if d["kind"] == "Service":
            self.assertTrue(d["spec"]["selector"], where)

    def check_sidecar(self, c, spec, name):
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        self.assertEqual(ports.get("admin"), 9901, name + ": the admin port")
        for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"),
                            ("readinessProbe", "/readyz")):
            get = c.get(probe, {}).get("httpGet", {})
            port = ports.get(get.get("port"), get.get("port"))
            self.assertEqual((get.get("path"), port), (path, 9901), "%s: dynaseal %s" % (name, probe))
        if c in spec.get("initContainers", []):
            self.assertEqual(c.get("restartPolicy"), "Always",
                             name + ": dynaseal as an init container must be a native sidecar")
        sc = c.get("securityContext", {})
        self.assertGreater(sc.get("runAsUser", 0), 0, name + ": dynaseal runs as root")
        self.assertTrue(sc.get("readOnlyRootFilesystem"), name)
        self.assertEqual(sc.get("capabilities", {}).get("drop"), ["ALL"], name)
        self.assertEqual(c.get("args", ["serve"])[0], "serve", name)

    def check_pod_config(self, cfg, c, name):
        # The app shares the pod's loopback; the kubelet probes over the pod IP.
        self.assertEqual(cfg.get("listen"), "127.0.0.1:8000", name)
        self.assertEqual(cfg.get("admin_listen"), "0.0.0.0:9901", name)
        self.assertNotIn("DYNASEAL_ADMIN_LISTEN", env_of(c), name)


def cloud_config_checks(test, cfg, where):
    """The cloud examples use KMS keyrings with key ARNs, never a key file."""
    rings = cfg.get("keyrings", {})
    test.assertTrue(rings, where)
    for rname, r in rings.items():
        test.assertEqual(r.get("type"), "aws-kms", "%s: keyring %s" % (where, rname))
        test.assertRegex(r.get("key_id", ""), KEY_ARN_RE, "%s: keyring %s" % (where, rname))


def ecs_task():
    with open(os.path.join(DEPLOY, "ecs", "task-definition.json")) as f:
        return json.load(f)


def ecs_config_text():
    for c in ecs_task()["containerDefinitions"]:
        for e in c.get("environment", []):
            if e["name"] == "DYNASEAL_CONFIG_JSON":
                return e["value"]
    return None


def all_embedded_configs():
    """(where, JSON text) of every dynaseal config in deploy/, and whether it is a cloud one."""
    out = []
    for path in deploy_files(".yaml", ".yml"):
        for where, text in configmap_configs(load_yaml_docs(path)):
            out.append(("%s %s" % (os.path.relpath(path, ROOT), where), text))
    text = ecs_config_text()
    if text is not None:
        out.append(("deploy/ecs/task-definition.json DYNASEAL_CONFIG_JSON", text))
    with open(os.path.join(DEPLOY, "systemd", "config.json")) as f:
        out.append(("deploy/systemd/config.json", f.read()))
    for where, text in configmap_configs(render_chart()):
        out.append(("helm chart (values.yaml) " + where, text))
    return out


# ---- tests -----------------------------------------------------------------------------------

class ParseTest(unittest.TestCase):
    def test_every_yaml_and_json_file_parses(self):
        yamls = deploy_files(".yaml", ".yml")
        jsons = deploy_files(".json")
        names = {os.path.relpath(p, DEPLOY) for p in yamls + jsons}
        for must in ("kubernetes/sidecar.yaml", "kubernetes/redis.yaml", "kubernetes/migrate-job.yaml",
                     "ecs/task-definition.json",
                     "iam/dynaseal-policy.json", "systemd/config.json", "helm/dynaseal/Chart.yaml",
                     "helm/dynaseal/values.yaml"):
            self.assertIn(must, names)
        for p in yamls:
            with self.subTest(path=p):
                docs = load_yaml_docs(p)
                self.assertTrue(docs, p + " holds no document")
        for p in jsons:
            with self.subTest(path=p):
                with open(p) as f:
                    self.assertIsInstance(json.load(f), dict)

    def test_a_broken_file_does_not_parse(self):
        # The parsers used above do refuse what kubectl and ECS would.
        with open(os.path.join(DEPLOY, "kubernetes", "sidecar.yaml")) as f:
            text = f.read()
        with self.assertRaises(yaml.YAMLError):
            list(yaml.safe_load_all(text.replace("  replicas: 2", "  replicas: [2", 1)))
        with open(os.path.join(DEPLOY, "ecs", "task-definition.json")) as f:
            text = f.read()
        with self.assertRaises(json.JSONDecodeError):
            json.loads(text.rstrip().rstrip("}"))


@unittest.skipUnless(have_binary(), "bin/dynaseal is not built")
class EmbeddedConfigTest(unittest.TestCase):
    def test_every_embedded_config_passes_check(self):
        configs = all_embedded_configs()
        wheres = " | ".join(w for w, _ in configs)
        # One each from Kubernetes, ECS, systemd and the chart, at least.
        for part in ("kubernetes/sidecar.yaml", "ecs/", "systemd/", "helm chart"):
            self.assertIn(part, wheres)
        for where, text in configs:
            with self.subTest(config=where):
                r = dynaseal_check(text)
                self.assertEqual(r.returncode, 0, "%s:\n%s" % (where, r.stderr))
                self.assertIn("OK", r.stdout)
                cloud_config_checks(self, json.loads(text), where)

    def test_a_broken_copy_of_each_fails_check(self):
        for where, text in all_embedded_configs():
            cfg = json.loads(text)
            ring = sorted(cfg["keyrings"])[0]
            table = sorted(cfg["tables"])[0]
            broken = copy.deepcopy(cfg)
            del broken["keyrings"][ring]["key_id"]
            broken["tables"][table]["attribute_actions"]["ssn"] = "ENCRYPT"
            with self.subTest(config=where):
                r = dynaseal_check(broken)
                self.assertEqual(r.returncode, 1, where)
                self.assertIn('"keyrings.%s.key_id"' % ring, r.stderr)
                self.assertIn('"tables.%s.attribute_actions.ssn"' % table, r.stderr)


class KubernetesTest(unittest.TestCase, KubernetesChecks):
    def test_sidecar_manifest(self):
        docs = load_yaml_docs(os.path.join(DEPLOY, "kubernetes", "sidecar.yaml"))
        self.assertEqual({d["kind"] for d in docs}, {"ServiceAccount", "ConfigMap", "Deployment", "Service"})
        self.check_k8s(docs, "kubernetes/sidecar.yaml")
        # The optional Redis is where the config's cache.redis points.
        redis = load_yaml_docs(os.path.join(DEPLOY, "kubernetes", "redis.yaml"))
        svc = [d for d in redis if d["kind"] == "Service"][0]
        cfg = json.loads(configmap_configs(docs)[0][1])
        self.assertEqual(cfg["cache"]["redis"], "redis://%s:%d/0" % (svc["metadata"]["name"],
                                                                       svc["spec"]["ports"][0]["port"]))
        for d in redis:
            self.check_shape(d, "kubernetes/redis.yaml")
        dep = [d for d in redis if d["kind"] == "Deployment"][0]
        c = dep["spec"]["template"]["spec"]["containers"][0]
        for k in ("livenessProbe", "readinessProbe", "resources"):
            self.assertIn(k, c)

    def test_checks_catch_a_broken_manifest(self):
        docs = load_yaml_docs(os.path.join(DEPLOY, "kubernetes", "sidecar.yaml"))
        mutations = {
            "no IRSA annotation": lambda ds: [d for d in ds if d["kind"] == "ServiceAccount"][0]
            ["metadata"]["annotations"].pop(IRSA),
            "app endpoint": lambda ds: env_list(ds, "app").__setitem__(0, {"name": "AWS_ENDPOINT_URL_DYNAMODB",
                                                                          "value": "http://127.0.0.1:9901"}),
            "probe on the wrong port": lambda ds: sidecar(ds)["readinessProbe"]["httpGet"].__setitem__("port", 8000),
            "no resources": lambda ds: sidecar(ds).pop("resources"),
            "admin on loopback": lambda ds: set_cm_config(ds, "admin_listen", "127.0.0.1:9901"),
        }
        for what, mutate in mutations.items():
            broken = copy.deepcopy(docs)
            mutate(broken)
            with self.subTest(mutation=what):
                with self.assertRaises(AssertionError):
                    self.check_k8s(broken, what)


class MigrateJobTest(unittest.TestCase):
    """deploy/kubernetes/migrate-job.yaml: an Indexed Job whose pods each take one segment."""

    def check_job(self, docs):
        kinds = {d["kind"]: d for d in docs}
        self.assertEqual(set(kinds), {"ServiceAccount", "ConfigMap", "Job"})
        for d in docs:
            KubernetesChecks.check_shape(self, d, "migrate-job.yaml")
        job = kinds["Job"]
        spec, pod = job["spec"], job["spec"]["template"]["spec"]
        self.assertEqual(spec["completionMode"], "Indexed")
        self.assertIn(pod["restartPolicy"], ("OnFailure", "Never"))
        self.assertTrue(pod["securityContext"]["runAsNonRoot"])
        (c,) = pod["containers"]
        args = c["args"]
        self.assertEqual(args[0], "migrate")
        opt = {args[i]: args[i + 1] for i in range(1, len(args) - 1) if args[i].startswith("--")}
        # One pod per segment, each taking the segment of its index.
        self.assertEqual(opt["--segment"], "$(JOB_COMPLETION_INDEX)")
        self.assertEqual(int(opt["--total-segments"]), spec["completions"])
        self.assertEqual(spec["parallelism"], spec["completions"])
        index = [e for e in c["env"] if e["name"] == "JOB_COMPLETION_INDEX"]
        self.assertEqual(index[0]["valueFrom"]["fieldRef"]["fieldPath"],
                         "metadata.annotations['batch.kubernetes.io/job-completion-index']")
        self.assertIn("$(JOB_COMPLETION_INDEX)", opt["--checkpoint"], "one checkpoint per segment")
        self.assertGreater(float(opt["--max-wcu"]), 0)
        # The checkpoint is on a writable volume (the root filesystem is read-only).
        mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
        folder = os.path.dirname(opt["--checkpoint"])
        self.assertIn(folder, mounts)
        self.assertFalse(mounts[folder].get("readOnly", False))
        self.assertTrue(c["securityContext"]["readOnlyRootFilesystem"])
        self.assertTrue(c["resources"]["requests"])
        self.assertIn("memory", c["resources"]["limits"])
        # The table is in the mounted config, readable in plaintext while it is migrated.
        env = env_of(c)
        self.assertIn(os.path.dirname(env["DYNASEAL_CONFIG"]), mounts)
        cfg = json.loads(kinds["ConfigMap"]["data"][os.path.basename(env["DYNASEAL_CONFIG"])])
        self.assertEqual(cfg["tables"][opt["--table"]]["plaintext_policy"], "allow-read")
        sa = kinds["ServiceAccount"]
        self.assertEqual(pod["serviceAccountName"], sa["metadata"]["name"])
        self.assertRegex(sa["metadata"]["annotations"][IRSA], ROLE_ARN_RE)
        return c, cfg

    def test_migrate_job(self):
        docs = load_yaml_docs(os.path.join(DEPLOY, "kubernetes", "migrate-job.yaml"))
        c, cfg = self.check_job(docs)
        # Its table is the sidecar's, with the same keyring and actions.
        sidecar_cfg = json.loads(configmap_configs(load_yaml_docs(
            os.path.join(DEPLOY, "kubernetes", "sidecar.yaml")))[0][1])
        for name, t in cfg["tables"].items():
            want = dict(sidecar_cfg["tables"][name], plaintext_policy="allow-read")
            self.assertEqual(t, want, name)
        self.assertEqual(cfg["keyrings"], sidecar_cfg["keyrings"])

    @unittest.skipUnless(have_binary(), "bin/dynaseal is not built")
    def test_migrate_job_arguments_parse(self):
        # The pod's arguments with its index filled in pass dynaseal's own parser: with no
        # upstream to reach they fail at the table, not at an argument (exit 2, that message).
        docs = load_yaml_docs(os.path.join(DEPLOY, "kubernetes", "migrate-job.yaml"))
        c, cfg = self.check_job(docs)
        cfg["upstream"] = {"endpoint": "http://127.0.0.1:9", "region": "us-east-1"}
        cfg["keyrings"] = {"kms": {"type": "raw-aes", "key_file": "local.key"}}
        work = tempfile.mkdtemp(prefix="deploy-migrate-")
        try:
            with open(os.path.join(work, "local.key"), "wb") as f:
                f.write(os.urandom(32))
            path = os.path.join(work, "config.json")
            with open(path, "w") as f:
                json.dump(cfg, f)
            args = [a.replace("$(JOB_COMPLETION_INDEX)", "3").replace("/var/lib/dynaseal-migrate", work)
                    for a in c["args"]]
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DYNASEAL_"))}
            env.update(h.proxy_env())
            env["DYNASEAL_CONFIG"] = path
            r = subprocess.run([h.DYNASEAL] + args, capture_output=True, text=True, timeout=60, env=env)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("dynaseal migrate: DescribeTable users:", r.stderr)
        finally:
            shutil.rmtree(work)

    def test_checks_catch_a_broken_job(self):
        docs = load_yaml_docs(os.path.join(DEPLOY, "kubernetes", "migrate-job.yaml"))
        job = lambda ds: [d for d in ds if d["kind"] == "Job"][0]
        args = lambda ds: job(ds)["spec"]["template"]["spec"]["containers"][0]["args"]
        mutations = {
            "not indexed": lambda ds: job(ds)["spec"].__setitem__("completionMode", "NonIndexed"),
            "fewer pods than segments": lambda ds: job(ds)["spec"].__setitem__("completions", 2),
            "a fixed segment": lambda ds: args(ds).__setitem__(args(ds).index("--segment") + 1, "0"),
            "one checkpoint for all": lambda ds: args(ds).__setitem__(
                args(ds).index("--checkpoint") + 1, "/var/lib/dynaseal-migrate/checkpoint.json"),
        }
        for what, mutate in mutations.items():
            broken = copy.deepcopy(docs)
            mutate(broken)
            with self.subTest(mutation=what):
                with self.assertRaises(AssertionError):
                    self.check_job(broken)


def sidecar(docs):
    spec = [d for d in docs if d["kind"] == "Deployment"][0]["spec"]["template"]["spec"]
    return pod_containers(spec)[0][0]


def env_list(docs, name):
    spec = [d for d in docs if d["kind"] == "Deployment"][0]["spec"]["template"]["spec"]
    return [c for c in spec["containers"] if c["name"] == name][0]["env"]


def set_cm_config(docs, key, value):
    cm = [d for d in docs if d["kind"] == "ConfigMap"][0]
    cfg = json.loads(cm["data"]["config.json"])
    cfg[key] = value
    cm["data"]["config.json"] = json.dumps(cfg)


class HelmTest(unittest.TestCase, KubernetesChecks):
    def test_chart_metadata(self):
        with open(os.path.join(CHART, "Chart.yaml")) as f:
            chart = yaml.safe_load(f)
        self.assertEqual(chart["apiVersion"], "v2")
        self.assertEqual(chart["name"], "dynaseal")
        self.assertRegex(str(chart["version"]), r"^\d+\.\d+\.\d+")
        if have_binary():
            r = subprocess.run([h.DYNASEAL, "--version"], capture_output=True, text=True, timeout=10)
            self.assertEqual(r.stdout.split()[1], str(chart["appVersion"]),
                             "Chart.yaml appVersion must follow dynaseal --version")

    def test_default_render(self):
        docs = render_chart()
        self.assertEqual(sorted(d["kind"] for d in docs), ["ConfigMap", "Deployment", "Service", "ServiceAccount"])
        self.check_k8s(docs, "helm (defaults)")
        dep = [d for d in docs if d["kind"] == "Deployment"][0]
        ds = sidecar(docs)
        with open(os.path.join(CHART, "Chart.yaml")) as f:
            app_version = str(yaml.safe_load(f)["appVersion"])
        self.assertEqual(ds["image"], "ghcr.io/example/dynaseal:" + app_version)
        self.assertIn(ds, dep["spec"]["template"]["spec"]["initContainers"])
        self.assertNotIn("envFrom", ds)
        # The config in the ConfigMap is values.yaml's, unchanged.
        cm = [d for d in docs if d["kind"] == "ConfigMap"][0]
        self.assertEqual(json.loads(cm["data"]["config.json"]), chart_values()["dynaseal"]["config"])
        # A changed config changes the pod template, so the pods roll.
        ann = dep["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        self.assertRegex(ann, r"^[0-9a-f]{64}$")
        other = render_chart({"dynaseal": {"config": {"log": {"level": "debug"}}}})
        other_dep = [d for d in other if d["kind"] == "Deployment"][0]
        self.assertNotEqual(other_dep["spec"]["template"]["metadata"]["annotations"]["checksum/config"], ann)

    def test_classic_sidecar_redis_and_credentials_secret(self):
        redis_url = "redis://cache-for-test:6379/0"
        docs = render_chart({
            "dynaseal": {"nativeSidecar": False, "credentialsSecret": "dynaseal-aws",
                         "config": {"cache": {"redis": redis_url}}},
            "redis": {"enabled": True, "name": "cache-for-test"},
        })
        self.check_k8s(docs, "helm (classic sidecar, redis)")
        dep = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] != "cache-for-test"][0]
        spec = dep["spec"]["template"]["spec"]
        self.assertNotIn("initContainers", spec)
        self.assertEqual([c["name"] for c in spec["containers"]], ["app", "dynaseal"])
        ds = spec["containers"][1]
        self.assertNotIn("restartPolicy", ds)
        self.assertEqual(ds["envFrom"], [{"secretRef": {"name": "dynaseal-aws", "optional": True}}])
        svc = [d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "cache-for-test"]
        self.assertEqual(len(svc), 1)
        cm = [d for d in docs if d["kind"] == "ConfigMap"][0]
        cfg = json.loads(cm["data"]["config.json"])
        self.assertEqual(cfg["cache"], {"redis": redis_url, "ttl_s": 300})
        if have_binary():
            r = dynaseal_check(cfg)
            self.assertEqual(r.returncode, 0, r.stderr)

    @unittest.skipIf(shutil.which("helm"), "helm renders the chart; the fallback renderer is unused")
    def test_renderer_refuses_what_it_does_not_know(self):
        with tempfile.TemporaryDirectory() as d:
            shutil.copy(os.path.join(CHART, "Chart.yaml"), d)
            os.mkdir(os.path.join(d, "templates"))

            def render(tpl, values):
                with open(os.path.join(d, "templates", "t.yaml"), "w") as f:
                    f.write(tpl)
                return Renderer(d, values).render("t.yaml")

            self.assertEqual(render("a:\n  {{- toYaml .Values.x | nindent 2 }}\nb: {{ .Values.y | quote }}\n",
                                    {"x": {"k": [1, 2]}, "y": "v"}),
                             "a:\n  k:\n  - 1\n  - 2\nb: \"v\"\n")
            self.assertEqual(render("{{- if .Values.on }}yes{{ else }}no{{ end -}}\n", {"on": False}), "no")
            with self.assertRaisesRegex(TemplateError, r"\.Values\.typo is not in values.yaml"):
                render("{{ .Values.typo }}", {"x": 1})
            with self.assertRaisesRegex(TemplateError, "outside the subset"):
                render("{{ range .Values.x }}{{ . }}{{ end }}", {"x": [1]})
            with self.assertRaisesRegex(TemplateError, "outside the subset"):
                render("{{ lower .Values.x }}", {"x": "A"})

    def test_templates_use_only_keys_of_values_yaml(self):
        # The fallback renderer enforces this on render; this also covers branches not taken.
        values = chart_values()
        for path in glob.glob(os.path.join(CHART_TEMPLATES, "*")):
            with open(path) as f:
                refs = set(re.findall(r"\.Values((?:\.\w+)+)", f.read()))
            with self.subTest(template=os.path.basename(path)):
                for ref in refs:
                    cur = values
                    for part in ref[1:].split("."):
                        self.assertIn(part, cur, ".Values%s in %s" % (ref, path))
                        cur = cur[part]


class EcsTest(unittest.TestCase):
    def test_task_definition(self):
        td = ecs_task()
        self.assertEqual(td["networkMode"], "awsvpc")
        self.assertRegex(td["taskRoleArn"], ROLE_ARN_RE)
        cs = {c["name"]: c for c in td["containerDefinitions"]}
        ds = cs.pop("dynaseal")
        self.assertTrue(cs, "no application container")
        for app in cs.values():
            env = {e["name"]: e["value"] for e in app.get("environment", [])}
            self.assertEqual(env.get("AWS_ENDPOINT_URL_DYNAMODB"), ENDPOINT)
            self.assertIn({"containerName": "dynaseal", "condition": "HEALTHY"}, app.get("dependsOn", []))
        for c in td["containerDefinitions"]:
            lc = c.get("logConfiguration", {})
            self.assertEqual(lc.get("logDriver"), "awslogs", c["name"])
            for k in ("awslogs-group", "awslogs-region", "awslogs-stream-prefix"):
                self.assertIn(k, lc.get("options", {}), c["name"])
        self.assertTrue(ds["essential"])
        cfg = json.loads(ecs_config_text())
        admin_port = int(cfg.get("admin_listen", "127.0.0.1:9901").rsplit(":", 1)[1])
        hc = ds["healthCheck"]
        self.assertEqual(hc["command"][0], "CMD")
        self.assertIn("http://127.0.0.1:%d/healthz" % admin_port, hc["command"])
        self.assertEqual(cfg["listen"], "127.0.0.1:8000")
        for k in ("interval", "timeout", "retries", "startPeriod"):
            self.assertIn(k, hc)
        user = ds.get("user", "0").split(":")[0]
        self.assertNotIn(user, ("0", "root"))
        # The entrypoint writes the config into /run/dynaseal: with a read-only root it must be
        # a task volume.
        if ds.get("readonlyRootFilesystem"):
            mounts = {m["containerPath"]: m["sourceVolume"] for m in ds.get("mountPoints", [])}
            self.assertIn("/run/dynaseal", mounts)
            self.assertIn(mounts["/run/dynaseal"], {v["name"] for v in td.get("volumes", [])})
        self.assertIn({"name": "core", "softLimit": 0, "hardLimit": 0}, ds.get("ulimits", []))

    @unittest.skipUnless(have_binary(), "bin/dynaseal is not built")
    def test_entrypoint_writes_the_config_from_the_environment(self):
        script = os.path.join(DEPLOY, "docker-entrypoint.sh")
        self.assertTrue(os.access(script, os.X_OK))
        with tempfile.TemporaryDirectory() as d:
            env = {k: v for k, v in os.environ.items() if not k.startswith("DYNASEAL_")}
            env.update(DYNASEAL_CONFIG_JSON=ecs_config_text(), DYNASEAL_RUN_DIR=d, DYNASEAL_BIN=h.DYNASEAL)
            for args in (["check"], ["dynaseal", "check"]):
                r = subprocess.run([script, *args], env=env, capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn(os.path.join(d, "config.json") + ": OK", r.stdout)
            st = os.stat(os.path.join(d, "config.json"))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
            with open(os.path.join(d, "config.json")) as f:
                self.assertEqual(json.load(f), json.loads(ecs_config_text()))
            # A broken config in the variable fails check through the entrypoint too.
            broken = json.loads(ecs_config_text())
            broken["listen"] = "127.0.0.1:99999"
            env["DYNASEAL_CONFIG_JSON"] = json.dumps(broken)
            r = subprocess.run([script, "check"], env=env, capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 1)
            self.assertIn('"listen"', r.stderr)
            # Nowhere to write: a clear message, not a half-started proxy.
            env["DYNASEAL_RUN_DIR"] = os.path.join(d, "missing")
            r = subprocess.run([script, "serve"], env=env, capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 1)
            self.assertIn("is not a writable folder", r.stderr)
        if shutil.which("shellcheck"):
            r = subprocess.run(["shellcheck", script], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout)


class SystemdTest(unittest.TestCase):
    UNIT = os.path.join(DEPLOY, "systemd", "dynaseal.service")

    def parse(self, text):
        sections, cur = {}, None
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith(("#", ";")):
                continue
            m = re.fullmatch(r"\[(\w+)\]", line)
            if m:
                cur = sections.setdefault(m.group(1), {})
                continue
            self.assertIsNotNone(cur, "a setting before any section: " + line)
            k, sep, v = line.partition("=")
            self.assertTrue(sep, "not a key=value line: " + line)
            cur.setdefault(k.strip(), []).append(v.strip())
        return sections

    def test_unit_settings(self):
        with open(self.UNIT) as f:
            s = self.parse(f.read())
        self.assertEqual(set(s), {"Unit", "Service", "Install"})
        svc = s["Service"]
        self.assertEqual(svc["NoNewPrivileges"], ["yes"])
        self.assertEqual(svc["LimitCORE"], ["0"])
        self.assertNotIn(svc["User"][0], ("root", "0", ""))
        self.assertIn("serve", svc["ExecStart"][0].split())
        self.assertIn("check", svc["ExecStartPre"][0].split())
        self.assertIn("DYNASEAL_CONFIG=/etc/dynaseal/config.json", svc["Environment"])
        self.assertIn("-HUP", svc["ExecReload"][0])
        self.assertEqual(s["Install"]["WantedBy"], ["multi-user.target"])
        # The example config file is the one the unit reads, and keeps dynaseal on loopback.
        with open(os.path.join(DEPLOY, "systemd", "config.json")) as f:
            cfg = json.load(f)
        self.assertTrue(cfg["listen"].startswith("127.0.0.1:"))

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze is not installed")
    def test_systemd_analyze_verify(self):
        # verify insists the executables exist: the copy runs this checkout's binary.
        with open(self.UNIT) as f:
            text = f.read()
        binary = h.DYNASEAL if have_binary() else shutil.which("true")
        with tempfile.TemporaryDirectory() as d:
            def verify(unit_text):
                p = os.path.join(d, "dynaseal.service")
                with open(p, "w") as f:
                    f.write(unit_text.replace("/usr/local/bin/dynaseal", binary))
                return subprocess.run(["systemd-analyze", "verify", p], capture_output=True,
                                      text=True, timeout=60)
            r = verify(text)
            self.assertEqual(r.returncode, 0, r.stderr)
            own = [l for l in (r.stdout + r.stderr).splitlines() if "dynaseal.service" in l]
            self.assertEqual(own, [], "systemd-analyze verify warns about the unit")
            # verify does notice a bad setting (it warns and exits 0, hence the check above).
            r = verify(text.replace("NoNewPrivileges=yes", "NoNewPrivileges=maybe"))
            self.assertRegex(r.stderr, r"dynaseal\.service:\d+: Failed to parse boolean value, ignoring: maybe")


class IamTest(unittest.TestCase):
    def load(self, name):
        with open(os.path.join(DEPLOY, "iam", name)) as f:
            return json.load(f)

    def test_policy_is_least_privilege(self):
        pol = self.load("dynaseal-policy.json")
        self.assertEqual(pol["Version"], "2012-10-17")
        stmts = pol["Statement"]
        for st in stmts:
            self.assertEqual(st["Effect"], "Allow")
            for a in st["Action"]:
                self.assertNotIn("*", a, "no wildcard action")
            res = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            self.assertNotIn("*", res)
        kms = [st for st in stmts if st["Action"][0].startswith("kms:")]
        self.assertEqual(len(kms), 1)
        self.assertEqual(sorted(kms[0]["Action"]), ["kms:Decrypt", "kms:GenerateDataKey"])
        # The DB-ESDK puts the logical table name in the encryption context under the key the
        # code names EC_TABLE_NAME: the condition must use that exact key.
        with open(os.path.join(ROOT, "crypto", "item", "item_internal.h")) as f:
            m = re.search(r'#define EC_TABLE_NAME "([^"]+)"', f.read())
        self.assertIsNotNone(m)
        cond = kms[0]["Condition"]["StringEquals"]
        self.assertEqual(list(cond), ["kms:EncryptionContext:" + m.group(1)])
        allowed = set(cond["kms:EncryptionContext:" + m.group(1)])
        ddb = [st for st in stmts if st["Action"][0].startswith("dynamodb:")]
        self.assertEqual(len(ddb), 1)
        tables = {r.split(":table/")[1].split("/")[0] for r in ddb[0]["Resource"]}
        # Every example config's tables and key are covered by the policy.
        for where, text in all_embedded_configs():
            cfg = json.loads(text)
            with self.subTest(config=where):
                for tname, t in cfg["tables"].items():
                    self.assertIn(t.get("logical_name", tname), allowed)
                    self.assertIn(tname, tables)
                    self.assertEqual(cfg["keyrings"][t["keyring"]]["key_id"], kms[0]["Resource"])

    def test_trust_policies(self):
        irsa = self.load("trust-eks-irsa.json")["Statement"][0]
        self.assertEqual(irsa["Action"], "sts:AssumeRoleWithWebIdentity")
        subs = [v for k, v in irsa["Condition"]["StringEquals"].items() if k.endswith(":sub")]
        sas = [d["metadata"]["name"] for d in load_yaml_docs(os.path.join(DEPLOY, "kubernetes", "sidecar.yaml"))
               if d["kind"] == "ServiceAccount"]
        self.assertEqual(len(subs), 1)
        self.assertRegex(subs[0], r"^system:serviceaccount:[\w-]+:%s$" % re.escape(sas[0]))
        ecs = self.load("trust-ecs-task.json")["Statement"][0]
        self.assertEqual(ecs["Principal"], {"Service": "ecs-tasks.amazonaws.com"})
        self.assertEqual(ecs["Action"], "sts:AssumeRole")


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(DEPLOY, "Dockerfile")) as f:
            text = f.read()
        # Join continuation lines, drop comments: one instruction per entry.
        text = re.sub(r"^\s*#.*\n", "", text, flags=re.M)
        text = re.sub(r"\\\n", " ", text)
        cls.stages = []
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            inst, _, rest = line.partition(" ")
            inst = inst.upper()
            if inst == "FROM":
                cls.stages.append({"from": rest.strip(), "ins": []})
            else:
                cls.stages[-1]["ins"].append((inst, rest.strip()))

    def ins(self, stage, name):
        return [rest for inst, rest in stage["ins"] if inst == name]

    def apt_packages(self, stage):
        pkgs = set()
        for run in self.ins(stage, "RUN"):
            for m in re.finditer(r"apt-get install((?:\s+[^\s&|;]+)+)", run):
                pkgs |= {p for p in m.group(1).split() if not p.startswith("-")}
        return pkgs

    def test_stages(self):
        self.assertEqual(len(self.stages), 2)
        build, runtime = self.stages
        self.assertEqual(build["from"], "debian:12 AS build")
        self.assertTrue(runtime["from"].startswith("debian:12-slim"))
        self.assertTrue(any(re.search(r"\bmake\b", r) for r in self.ins(build, "RUN")))
        self.assertTrue(any("--from=build" in c for c in self.ins(runtime, "COPY")))
        self.assertEqual(self.apt_packages(build), BUILD_PACKAGES)
        with open(os.path.join(DEPLOY, "install-deps.sh")) as f:
            m = re.search(r"^packages=\((.*?)\)", f.read(), re.S | re.M)
        self.assertIsNotNone(m, "install-deps.sh has no packages=( ... ) list")
        self.assertLessEqual(BUILD_PACKAGES, set(m.group(1).split()), "the build stage follows install-deps.sh")
        rt = self.apt_packages(runtime)
        self.assertEqual(rt - {"curl"}, RUNTIME_PACKAGES)
        self.assertFalse({p for p in rt if p.endswith("-dev")} | {"build-essential", "gcc"} & rt,
                         "no toolchain in the runtime image")

    def test_runtime_is_non_root_with_healthcheck(self):
        runtime = self.stages[-1]
        users = self.ins(runtime, "USER")
        self.assertTrue(users, "the runtime stage has no USER")
        uid = users[-1].split(":")[0]
        self.assertRegex(uid, r"^\d+$", "a numeric USER, so runAsNonRoot can verify it")
        self.assertNotEqual(int(uid), 0)
        hc = self.ins(runtime, "HEALTHCHECK")
        self.assertEqual(len(hc), 1)
        self.assertIn("http://127.0.0.1:9901/healthz", hc[0])
        self.assertIn("curl", self.apt_packages(runtime), "the HEALTHCHECK uses curl")
        self.assertEqual(sorted(" ".join(self.ins(runtime, "EXPOSE")).split()), ["8000", "9901"])
        self.assertIn("DYNASEAL_CONFIG=/etc/dynaseal/config.json", self.ins(runtime, "ENV"))
        ep = json.loads(self.ins(runtime, "ENTRYPOINT")[0])
        self.assertEqual(ep, ["/usr/local/bin/docker-entrypoint.sh"])
        self.assertEqual(json.loads(self.ins(runtime, "CMD")[0]), ["serve"])
        with open(os.path.join(DEPLOY, "docker-entrypoint.sh")) as f:
            script = f.read()
        self.assertRegex(script, r'exec "\$\{DYNASEAL_BIN:-/usr/local/bin/dynaseal\}" "\$@"')

    def test_build_context_has_the_sources_and_no_keys(self):
        build = self.stages[0]
        self.assertIn(". .", self.ins(build, "COPY"))
        # A fresh build even when the context carries a host's build/ and bin/.
        self.assertTrue(any(re.search(r"rm -rf build bin\b.*\bmake\b", r) for r in self.ins(build, "RUN")))
        with open(os.path.join(DEPLOY, "Dockerfile.dockerignore")) as f:
            rules = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        for must in ("build", "bin", "**/keys", "**/*.key", ".git"):
            self.assertIn(must, rules)
        with open(os.path.join(ROOT, "Makefile")) as f:
            m = re.search(r"^LIB_SRC\s*:=.*wildcard ([^)]*)\)", f.read(), re.M)
        self.assertIsNotNone(m)
        # Nothing the Makefile compiles is left out of the context.
        for path in ["Makefile"] + [p.split("/")[0] for p in m.group(1).split()]:
            for r in rules:
                self.assertFalse(path == r or path.startswith(r.rstrip("/") + "/"), "%s excludes %s" % (r, path))

    @unittest.skipUnless(have_binary(), "bin/dynaseal is not built")
    @unittest.skipUnless(shutil.which("ldd") and shutil.which("dpkg"), "ldd or dpkg is missing")
    def test_runtime_packages_cover_every_linked_library(self):
        r = subprocess.run(["ldd", h.DYNASEAL], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0)
        paths = re.findall(r"=> (/\S+)", r.stdout)
        self.assertTrue(paths)
        runtime = self.apt_packages(self.stages[-1])
        for p in paths:
            if re.search(r"/lib(asan|ubsan)\.", p):
                continue  # the sanitizer build; the image builds the release binary
            owners = None
            for cand in (p, "/usr" + p if not p.startswith("/usr/") else p[4:], os.path.realpath(p)):
                q = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True, timeout=30)
                if q.returncode == 0:
                    owners = {o.split(":")[0].strip() for o in q.stdout.split("\n")[0].rsplit(":", 1)[0].split(",")}
                    break
            self.assertIsNotNone(owners, "no package owns " + p)
            if owners & {"libc6", "libgcc-s1", "libstdc++6"}:
                continue  # in every Debian image
            self.assertTrue(owners & runtime, "%s comes from %s, not installed in the runtime stage" % (p, owners))

    @unittest.skipUnless(shutil.which("apt-cache"), "apt-cache is unavailable: package names not checked")
    def test_every_apt_package_exists_in_debian_12(self):
        if not glob.glob("/var/lib/apt/lists/*_Packages*"):
            r = subprocess.run(["apt-get", "update", "-qq"], capture_output=True, text=True, timeout=300)
            if r.returncode != 0:
                self.skipTest("apt lists are empty and apt-get update failed: " + r.stderr.strip()[-200:])
        with open("/etc/os-release") as f:
            osr = f.read()
        if 'VERSION_CODENAME=bookworm' not in osr:
            self.skipTest("this machine is not Debian 12: its apt lists say nothing about the image")
        # One apt-cache call for every name (each call reads the whole package lists), plus a
        # name that does not exist, so the check is seen to fail on one.
        names = sorted(set().union(*(self.apt_packages(st) for st in self.stages)))
        bogus = "libdynaseal-no-such-package"
        r = subprocess.run(["apt-cache", "show", "--no-all-versions", *names, bogus], capture_output=True,
                           text=True, timeout=120)
        found = set(re.findall(r"^Package: (\S+)$", r.stdout, re.M))
        # (apt-cache exits 0, silently, when some of several names exist: what it prints counts.)
        self.assertNotIn(bogus, found)
        for p in names:
            with self.subTest(package=p):
                self.assertIn(p, found, "%s is not a Debian 12 package" % p)

if __name__ == "__main__":
    unittest.main()
