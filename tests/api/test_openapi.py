"""docs/openapi.json against what the control port really answers: every
status a request gets must be documented for its route, and every JSON
body must match the documented schema (jsonschema, draft 2020-12, as
OpenAPI 3.1 uses). docs/api.md and the OpenAPI file name the same routes."""

import json
import os
import re

import jsonschema
import pytest

from controllib import start
from unitlib import ROOT, unit

SPEC_PATH = os.path.join(ROOT, "docs", "openapi.json")

with open(SPEC_PATH) as f:
    SPEC = json.load(f)


def validator(schema):
    resolver = jsonschema.RefResolver.from_schema(SPEC)
    return jsonschema.Draft202012Validator(schema, resolver=resolver)


def route_of(path):
    """The spec's path template for a concrete path (literal segments win)."""
    best = None
    for template in SPEC["paths"]:
        rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(rx, path):
            literal = template.count("{")
            if best is None or literal < best[0]:
                best = (literal, template)
    return best[1] if best else None


def check(method, path, status, ctype, body):
    template = route_of(path.split("?")[0])
    assert template, "%s is not in docs/openapi.json" % path
    op = SPEC["paths"][template].get(method.lower())
    assert op, "%s %s is not in docs/openapi.json" % (method, template)
    r = op["responses"].get(str(status))
    assert r, "%s %s answered %d, which docs/openapi.json does not list" % (method, template, status)
    content = r.get("content", {})
    kind = (ctype or "").split(";")[0].strip()
    assert kind in content, "%s %s %d: Content-Type %r, documented %r" % (method, template, status, ctype, list(content))
    schema = content[kind]["schema"]
    if kind == "application/json":
        validator(schema).validate(json.loads(body))
    elif kind == "application/x-ndjson":
        lines = [l for l in body.splitlines() if l.strip()]
        for line in lines:
            validator({"$ref": "#/components/schemas/JournalLine"}).validate(json.loads(line))
    return template


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    init, control = start(tmp_path_factory.mktemp("openapi"))
    yield control
    control.stop()
    init.cleanup()


def call(node, method, path, token="admin", body=None):
    tok = {"admin": node.creds.admin, "reader": node.creds.reader, None: None}[token]
    args = ["-X", method, "-D", "-"]
    if body is not None:
        args += ["--data-binary", body]
    code, out, err = node.curl(*args, node.url(path), token=tok)
    heads, _, payload = out.replace("\r\n", "\n").partition("\n\n")
    while heads.startswith("HTTP/1.1 100"):
        heads, _, payload = payload.partition("\n\n")
    m = re.search(r"^Content-Type: (.*)$", heads, re.M | re.I)
    return code, (m.group(1).strip() if m else None), payload


CASES = [
    ("GET", "/healthz", "admin", None),
    ("GET", "/healthz", None, None),
    ("GET", "/v1/machine", "admin", None),
    ("GET", "/v1/machine", "reader", None),
    ("GET", "/metrics", "admin", None),
    ("GET", "/v1/units", "admin", None),
    ("GET", "/v1/units", None, None),
    ("PUT", "/v1/units/api.service/file", "admin", unit("""
        [Unit]
        Description=For the OpenAPI test
        [Service]
        ExecStart=/bin/sleep 1000
        Bogus=1
        [Install]
        WantedBy=multi-user.target
        """)),
    ("PUT", "/v1/units/api.service/file", "admin", "[Service]\nExecStart=/bin/sleep 999\n[Install]\nWantedBy=multi-user.target\n"),
    ("PUT", "/v1/units/bad.service/file", "admin", "[Service]\nType=bogus\n"),
    ("PUT", "/v1/units/api.service/file", "reader", "[Service]\nExecStart=/bin/true\n"),
    ("GET", "/v1/units/api.service", "admin", None),
    ("GET", "/v1/units/api.service/file", "admin", None),
    ("GET", "/v1/units/nosuch.service", "admin", None),
    ("GET", "/v1/units/nosuch.service/file", "admin", None),
    ("POST", "/v1/units/api.service/start", "admin", None),
    ("POST", "/v1/units/api.service/restart?no_block=1", "admin", None),
    ("POST", "/v1/units/api.service/enable", "admin", None),
    ("POST", "/v1/units/api.service/disable", "admin", None),
    ("POST", "/v1/units/api.service/stop", "admin", None),
    ("POST", "/v1/units/nosuch.service/start", "admin", None),
    ("POST", "/v1/units/api.service/frobnicate", "admin", None),
    ("GET", "/v1/unit-files", "admin", None),
    ("POST", "/v1/daemon-reload", "admin", None),
    ("GET", "/v1/journal?lines=5", "admin", None),
    ("GET", "/v1/journal?unit=api.service", "reader", None),
    ("DELETE", "/v1/units/api.service/file", "admin", None),
    ("DELETE", "/v1/units/api.service/file", "admin", None),
    ("POST", "/v1/machine/reboot", "reader", None),
]


def test_every_answer_is_documented_and_matches_its_schema(node):
    seen = set()
    for method, path, token, body in CASES:
        code, ctype, payload = call(node, method, path, token, body)
        try:
            seen.add((method, check(method, path, code, ctype, payload), code))
        except (AssertionError, jsonschema.ValidationError) as e:
            raise AssertionError("%s %s (%s) -> %d %s\n%s\n%s" % (method, path, token, code, ctype,
                                                                  payload[:2000], e)) from None
    # The cases reached what they were meant to: success and errors alike.
    statuses = {c for _, _, c in seen}
    assert {200, 201, 202, 400, 401, 403, 404}.issubset(statuses), statuses


def test_a_schema_mismatch_is_caught():
    """The checker itself can fail: a body missing a required field."""
    with pytest.raises(jsonschema.ValidationError):
        check("GET", "/v1/machine", 200, "application/json", '{"name": "x"}')
    with pytest.raises(AssertionError):
        check("GET", "/v1/machine", 418, "application/json", "{}")


def test_docs_and_openapi_name_the_same_routes():
    with open(os.path.join(ROOT, "docs", "api.md")) as f:
        doc = f.read()
    routes = set()
    for heading in re.findall(r"^### (.+)$", doc, re.M):
        for method, path in re.findall(r"`(GET|POST|PUT|DELETE) ([^`]+)`", heading):
            for p in re.sub(r"\{([a-z]+)\|[^}]+\}", r"{\1}", path).split(", "):
                routes.add((method, p))
    spec_routes = {(m.upper(), p) for p, ops in SPEC["paths"].items() for m in ops}
    for method, path in routes:
        norm = re.sub(r"\{[a-z|-]+\}", "{x}", path)
        assert any(m == method and re.sub(r"\{[a-z]+\}", "{x}", p) == norm for m, p in spec_routes), \
            "%s %s is in docs/api.md but not docs/openapi.json" % (method, path)
