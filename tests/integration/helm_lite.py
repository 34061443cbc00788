"""A renderer for the small subset of Helm's template language that deploy/helm/dynaseal uses,
for machines without helm (tests/integration/test_deploy.py uses `helm template` when it is on
PATH).  Supported: field paths (.Values.x.y, .Release.Name, .Chart.AppVersion, .), string,
number and boolean literals, parentheses, pipelines, {{ if }}/{{ else }}/{{ end }},
{{ define }}/{{ include }}, comments, the trim markers {{- and -}}, and the functions in FUNCS.
Anything else raises TemplateError, so a template this cannot render fails the test instead of
being skipped; so does a .Values path missing from the values (Helm would render it empty).
"""
import copy
import glob
import hashlib
import json
import os
import re

import yaml


class TemplateError(Exception):
    pass


ACTION_RE = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)


def go_str(v):
    """How text/template prints a value."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, str)):
        return str(v)
    raise TemplateError("cannot print a %s directly: pipe it through toYaml or toJson" % type(v).__name__)


def to_yaml(v):
    return yaml.safe_dump(v, default_flow_style=False, sort_keys=True).rstrip("\n")


def indent(n, s):
    pad = " " * int(n)
    return "\n".join(pad + line for line in go_str(s).split("\n"))


FUNCS = {
    "quote": lambda v: json.dumps(go_str(v)),
    "default": lambda d, v=None: v if v else d,
    "toYaml": to_yaml,
    "toJson": lambda v: json.dumps(v, sort_keys=True, separators=(",", ":")),
    "toPrettyJson": lambda v: json.dumps(v, sort_keys=True, indent=2),
    "indent": indent,
    "nindent": lambda n, s: "\n" + indent(n, s),
    "printf": lambda fmt, *a: re.sub(r"%[sdv]", "%s", fmt) % tuple(go_str(x) for x in a),
    "trunc": lambda n, s: go_str(s)[:int(n)],
    "trimSuffix": lambda suf, s: go_str(s)[:-len(suf)] if suf and go_str(s).endswith(suf) else go_str(s),
    "sha256sum": lambda s: hashlib.sha256(go_str(s).encode()).hexdigest(),
    "not": lambda v: not v,
    "and": lambda *a: all(a),
    "or": lambda *a: any(a),
    "eq": lambda a, b: a == b,
}


class Renderer:
    """Renders a chart's templates: tokens -> a tree of text, actions, if and define."""

    def __init__(self, chart_dir, values, release="test", namespace="default"):
        with open(os.path.join(chart_dir, "Chart.yaml")) as f:
            chart = yaml.safe_load(f)
        self.root = {
            "Values": values,
            "Release": {"Name": release, "Namespace": namespace, "Service": "Helm"},
            "Chart": {k[0].upper() + k[1:]: v for k, v in chart.items()},
        }
        self.defines = {}
        self.dir = os.path.join(chart_dir, "templates")
        # Named templates first (files starting with "_"), as Helm does.
        for path in sorted(glob.glob(os.path.join(self.dir, "*"))):
            with open(path) as f:
                self._parse(f.read(), os.path.basename(path))

    # -- parsing --
    def _tokens(self, text, name):
        toks, pos = [], 0
        for m in ACTION_RE.finditer(text):
            toks.append(["text", text[pos:m.start()]])
            toks.append(["action", m.group(2).strip(), bool(m.group(1)), bool(m.group(3))])
            pos = m.end()
        toks.append(["text", text[pos:]])
        for i, t in enumerate(toks):
            if t[0] != "action":
                continue
            if t[2] and i > 0:
                toks[i - 1][1] = toks[i - 1][1].rstrip()
            if t[3] and i + 1 < len(toks):
                toks[i + 1][1] = toks[i + 1][1].lstrip()
        if "{{" in "".join(t[1] for t in toks if t[0] == "text"):
            raise TemplateError("%s: an unterminated {{" % name)
        return toks

    def _parse(self, text, name):
        stack = [("root", [])]
        for t in self._tokens(text, name):
            body = stack[-1][1] if stack[-1][0] != "if" else stack[-1][1][stack[-1][2]]
            if t[0] == "text":
                if t[1]:
                    body.append(("text", t[1]))
                continue
            expr = t[1]
            word = expr.split(None, 1)[0] if expr else ""
            if expr.startswith("/*"):
                if not expr.endswith("*/"):
                    raise TemplateError("%s: a comment must end in */ inside its action" % name)
                continue
            if word == "if":
                node = ("if", expr[2:].strip(), [[], []])
                body.append(node)
                stack.append(["if", node[2], 0])
            elif word == "else":
                if stack[-1][0] != "if" or expr != "else":
                    raise TemplateError("%s: unsupported {{ %s }}" % (name, expr))
                stack[-1][2] = 1
            elif word == "define":
                dname = json.loads(expr[6:].strip())
                node = ("define", dname, [])
                stack.append(("define", node[2], dname))
            elif word == "end":
                if len(stack) == 1:
                    raise TemplateError("%s: {{ end }} without a block" % name)
                done = stack.pop()
                if done[0] == "define":
                    self.defines[done[2]] = done[1]
            elif word in ("range", "with", "template", "block", "tpl") or word.startswith("$"):
                raise TemplateError("%s: {{ %s }} is outside the subset this renderer supports" % (name, expr))
            else:
                body.append(("expr", expr))
        if len(stack) != 1:
            raise TemplateError("%s: a block is not closed with {{ end }}" % name)
        return stack[0][1]

    # -- evaluation --
    def _path(self, ref, dot):
        if ref == ".":
            return dot
        cur = dot
        for part in ref[1:].split("."):
            if not isinstance(cur, dict):
                raise TemplateError("%s: %r is not a map" % (ref, cur))
            if part not in cur:
                if ref.startswith(".Values."):
                    raise TemplateError("%s is not in values.yaml" % ref)
                return None
            cur = cur[part]
        return cur

    def _args(self, s):
        """Splits a command into arguments: strings, numbers, paths, (sub-pipelines)."""
        out, i = [], 0
        while i < len(s):
            c = s[i]
            if c.isspace():
                i += 1
            elif c == '"':
                m = re.match(r'"(?:[^"\\]|\\.)*"', s[i:])
                if not m:
                    raise TemplateError("unterminated string in %r" % s)
                out.append(("lit", json.loads(m.group(0))))
                i += m.end()
            elif c == "(":
                depth, j = 0, i
                while j < len(s):
                    depth += {"(": 1, ")": -1}.get(s[j], 0)
                    if depth == 0:
                        break
                    j += 1
                out.append(("pipe", s[i + 1:j]))
                i = j + 1
            else:
                m = re.match(r"[^\s()]+", s[i:])
                tok = m.group(0)
                i += m.end()
                if re.fullmatch(r"-?\d+", tok):
                    out.append(("lit", int(tok)))
                elif tok in ("true", "false"):
                    out.append(("lit", tok == "true"))
                elif tok.startswith("."):
                    out.append(("path", tok))
                else:
                    out.append(("word", tok))
        return out

    def _value(self, arg, dot):
        kind, v = arg
        if kind == "lit":
            return v
        if kind == "path":
            return self._path(v, dot)
        if kind == "pipe":
            return self._pipeline(v, dot)
        raise TemplateError("%r is not a value" % v)

    def _split_pipes(self, expr):
        parts, depth, quote, cur = [], 0, False, ""
        for i, c in enumerate(expr):
            if c == '"' and (i == 0 or expr[i - 1] != "\\"):
                quote = not quote
            elif not quote and c in "()":
                depth += 1 if c == "(" else -1
            if c == "|" and not quote and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += c
        parts.append(cur)
        return [p.strip() for p in parts]

    def _pipeline(self, expr, dot):
        val, first = None, True
        for cmd in self._split_pipes(expr):
            args = self._args(cmd)
            if not args:
                raise TemplateError("empty command in %r" % expr)
            if args[0][0] == "word":
                fname = args[0][1]
                vals = [self._value(a, dot) for a in args[1:]]
                if not first:
                    vals.append(val)
                if fname == "include":
                    val = self._include(*vals)
                elif fname in FUNCS:
                    val = FUNCS[fname](*vals)
                else:
                    raise TemplateError("function %r is outside the subset this renderer supports" % fname)
            elif first and len(args) == 1:
                val = self._value(args[0], dot)
            else:
                raise TemplateError("cannot evaluate %r" % cmd)
            first = False
        return val

    def _include(self, name, dot):
        if name not in self.defines:
            raise TemplateError("include of an undefined template %r" % name)
        return self._render(self.defines[name], dot)

    def _render(self, nodes, dot):
        out = []
        for n in nodes:
            if n[0] == "text":
                out.append(n[1])
            elif n[0] == "expr":
                out.append(go_str(self._pipeline(n[1], dot)))
            elif n[0] == "if":
                branch = n[2][0] if self._pipeline(n[1], dot) else n[2][1]
                out.append(self._render(branch, dot))
        return "".join(out)

    def render(self, filename):
        with open(os.path.join(self.dir, filename)) as f:
            return self._render(self._parse(f.read(), filename), self.root)


def deep_merge(base, over):
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out
