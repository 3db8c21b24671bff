"""pith-kv against real etcd: the same requests go to a fresh etcd 3.4 and a
fresh pith-kv, and their answers must be the same once what may honestly
differ (times, ids, ports, Go's map order) is taken out.

KV_DIFF_IMPL chooses the system under test: "pith" (the default;
build/bin/pith-kv) or "etcd" (a second real etcd, which checks the harness
itself: etcd against etcd must always pass). KV_DIFF_ALL=1 goes on past
the first difference of a random sequence and lists up to 50.

Indexes. Rather than mapping each side's numbers through its own starting
index, or comparing differences between answers, both sides are brought to
the same index before the first request (writes to a hidden key on the side
that starts lower; etcd starts at 3, having written its own membership, and
no request asks about what came before the run).
From then on every number is comparable as it is: X-Etcd-Index,
createdIndex, modifiedIndex, "index" in errors, the numbers in causes like
"[5 != 4]" and "[308/207]", and the names of in-order keys. A mapping would
have to know which numbers in a cause are indexes and which the client
sent, and differences would hide an answer off by one that the next answer
repeats; aligned, nothing has to be parsed, and an extra or missing index
step shows at the first answer it affects."""

import http.client
import io
import json
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse

import pytest

import conftest
import kvlib

IMPL = os.environ.get("KV_DIFF_IMPL", "pith")
SUT = "the system under test (%s)" % IMPL
KEEP_GOING = os.environ.get("KV_DIFF_ALL") == "1"
SEEDS = range(8)
STEPS = 300
# A watch that has no event to give blocks; both sides get this long and
# must then both still be waiting.
WATCH_WAIT = 0.25
PAD_KEY = "/v2/keys/_kvdiff_pad"
FORM = "application/x-www-form-urlencoded"

# etcd's Go server resets the connection once the request line (without
# its CRLF) passes this many bytes (its connection multiplexer reads the
# line into a 4 KiB buffer).
ETCD_LINE_MAX = 4094
# pith-kv answers 414 past this (docs/kv.md).
PITH_LINE_MAX = 8192

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")
BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")

# Headers whose values must match, and headers that must only both be
# there or both be absent (ids and Raft positions are the cluster's own).
EXACT_HEADERS = ("content-type", "location", "allow", "x-etcd-index")
PRESENT_HEADERS = ("x-etcd-cluster-id", "x-raft-index", "x-raft-term")


# ---------------------------------------------------------------- pairs

class Req:
    """One request, exactly as both sides get it."""

    def __init__(self, method, target, body=None, headers=(), timeout=kvlib.REQUEST_WAIT):
        self.method = method
        self.target = target
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.headers = tuple(headers)
        self.timeout = timeout

    def line_len(self):
        return len(("%s %s HTTP/1.1" % (self.method, self.target)).encode("utf-8"))

    def path(self):
        return self.target.split("?", 1)[0]

    def query(self):
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def describe(self, limit=600):
        t = self.target if len(self.target) <= limit else "%s...(%d bytes)" % (self.target[:limit], len(self.target))
        lines = ["%s %s" % (self.method, t)] + ["%s: %s" % h for h in self.headers]
        if self.body is not None:
            b = self.body.decode("utf-8", "backslashreplace")
            lines.append("")
            lines.append(b if len(b) <= limit else "%s...(%d bytes)" % (b[:limit], len(b)))
        if self.timeout < kvlib.REQUEST_WAIT:
            lines.append("(client waits %.1f s)" % self.timeout)
        return "\n".join(lines)

    def send(self, member):
        return kvlib.send(member.url, self.method, self.target, self.body, self.headers, self.timeout)


def pad_to(member, index):
    """Writes to a hidden key until member's index is index."""
    while member.index() < index:
        a = kvlib.send(member.url, "PUT", PAD_KEY, b"value=pad", [("Content-Type", FORM)])
        assert a.status in (200, 201), "padding %s: %s" % (member, a.describe())


class Pair:
    """A fresh etcd (ref) and a fresh system under test (sut), each a
    cluster of one, at the same index."""

    def __init__(self, tmp_path, impl=IMPL):
        kvlib.binary("etcd")
        kvlib.binary(impl)
        self.ref = kvlib.spawn_member("etcd", str(tmp_path / "ref"))
        try:
            self.sut = kvlib.spawn_member(impl, str(tmp_path / "sut"))
        except BaseException:
            self.ref.stop()
            raise
        try:
            start_ref = kvlib.wait_started(self.ref)
            start_sut = kvlib.wait_started(self.sut)
            top = max(start_ref, start_sut)
            pad_to(self.ref, top)
            pad_to(self.sut, top)
            assert self.ref.index() == self.sut.index() == top
        except BaseException:
            self.stop()
            raise

    def stop(self):
        self.ref.stop()
        self.sut.stop()

    def logs(self):
        return "etcd log: %s\nsystem under test (%s) log: %s" % (self.ref.log_path, self.sut.impl,
                                                                   self.sut.log_path)


@pytest.fixture
def pair(tmp_path):
    p = Pair(tmp_path)
    yield p
    p.stop()


# ---------------------------------------------------------------- comparing

def normal_json(v):
    """A JSON answer with what may differ taken out: expirations (a clock
    reading) become a placeholder once they are seen to be RFC 3339, and
    the children of a directory are put in key order. etcd lists a
    directory in Go's map order unless sorted=true, so the order of two
    identical requests differs even on etcd; pith-kv lists in key order
    always (docs/kv.md, "Listings are always in key order"), which
    unsorted_listings holds it to."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k == "expiration" and isinstance(x, str) and RFC3339.match(x):
                out[k] = "<expiration>"
            else:
                out[k] = normal_json(x)
        if isinstance(out.get("nodes"), list):
            out["nodes"] = sorted(out["nodes"], key=lambda n: json.dumps(n.get("key") if isinstance(n, dict) else n))
        return out
    if isinstance(v, list):
        return [normal_json(x) for x in v]
    return v


def json_diffs(a, b, where="body"):
    """How JSON value b (the system under test's) differs from a (etcd's).
    "ttl" is the seconds left, read off a clock at answer time: ±1 is the
    same."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in list(a) + [k for k in b if k not in a]:
            w = "%s.%s" % (where, k)
            if k not in b:
                out.append("%s: missing (etcd has %s)" % (w, json.dumps(a[k])[:200]))
            elif k not in a:
                out.append("%s: not in etcd's answer (have %s)" % (w, json.dumps(b[k])[:200]))
            elif (k == "ttl" and type(a[k]) is int and type(b[k]) is int and abs(a[k] - b[k]) <= 1):
                continue
            else:
                out += json_diffs(a[k], b[k], w)
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return ["%s: %d items, etcd has %d: %s vs etcd's %s" % (where, len(b), len(a), json.dumps(b)[:300],
                                                                    json.dumps(a)[:300])]
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += json_diffs(x, y, "%s[%d]" % (where, i))
        return out
    if type(a) is not type(b) or a != b:
        return ["%s: %s, etcd has %s" % (where, json.dumps(b)[:300], json.dumps(a)[:300])]
    return []


def parsed(answer):
    """The answer's body as JSON, or None when it is not JSON."""
    if not answer.body:
        return None
    try:
        return answer.json()
    except ValueError:
        return None


def unsorted_listings(v, where="body"):
    """Where a listing in v is not in key order (bytewise, as Go sorts)."""
    out = []
    if isinstance(v, dict):
        nodes = v.get("nodes")
        if isinstance(nodes, list):
            keys = [n.get("key", "") for n in nodes if isinstance(n, dict)]
            if keys != sorted(keys, key=lambda k: k.encode("utf-8")):
                out.append("%s.nodes not in key order: %s (docs/kv.md: listings are always in key order)"
                           % (where, keys))
        for k, x in v.items():
            out += unsorted_listings(x, where + "." + k)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            out += unsorted_listings(x, "%s[%d]" % (where, i))
    return out


def answer_diffs(req, ref, sut, impl=IMPL, counts=None):
    """How the system under test's answer differs from etcd's, [] if it
    does not. counts, a dict, tallies the deliberate deviations met."""
    counts = counts if counts is not None else {}

    # docs/kv.md: "A request line over 8 KiB is answered 414. etcd (Go's
    # server) resets the connection without an answer once the request
    # line passes 4 KiB." Between the two limits pith-kv answers what the
    # request asks, which etcd cannot be asked; any well-formed answer is
    # taken there (and counted).
    if impl == "pith" and ref.status == "reset" and req.line_len() > ETCD_LINE_MAX:
        if req.line_len() > PITH_LINE_MAX:
            counts["request line over 8 KiB: etcd reset, 414 expected"] = \
                counts.get("request line over 8 KiB: etcd reset, 414 expected", 0) + 1
            return [] if sut.status == 414 else ["status: %s, expected 414 for a request line of %d bytes "
                                                 "(docs/kv.md)" % (sut.status, req.line_len())]
        counts["request line of 4-8 KiB: etcd reset, pith-kv's answer taken"] = \
            counts.get("request line of 4-8 KiB: etcd reset, pith-kv's answer taken", 0) + 1
        return [] if isinstance(sut.status, int) and sut.status < 500 else \
            ["status: %s for a request line of %d bytes; expected an answer below 500" % (sut.status, req.line_len())]

    if ref.status != sut.status:
        return ["status: %s, etcd has %s" % (sut.status, ref.status)]
    if not isinstance(ref.status, int):
        return []
    out = []
    names = set(EXACT_HEADERS) | {k.lower() for k, _ in ref.headers + sut.headers
                                  if k.lower().startswith("access-control-")}
    for name in sorted(names):
        a, b = ref.header(name), sut.header(name)
        if a != b:
            out.append("header %s: %r, etcd has %r" % (name, b, a))
    for name in PRESENT_HEADERS:
        if (ref.header(name) is None) != (sut.header(name) is None):
            out.append("header %s: %s, etcd %s" % (name, "absent" if sut.header(name) is None else "present",
                                                  "has none" if ref.header(name) is None else "has it"))
    a, b = parsed(ref), parsed(sut)
    if a is not None and b is not None:
        out += json_diffs(normal_json(a), normal_json(b))
    elif ref.body != sut.body:
        out.append("body: %r, etcd has %r" % (sut.body[:300], ref.body[:300]))
    if impl == "pith" and b is not None:
        out += unsorted_listings(b)
    return out


def difference_report(title, req, ref, sut, diffs, extra=""):
    return ("%s\n--- request:\n%s\n--- the reference etcd answered:\n%s\n"
            "--- the system under test, %s, answered:\n%s\n--- differences:\n  %s%s"
            % (title, req.describe(), ref.describe(), IMPL, sut.describe(), "\n  ".join(diffs),
               "\n" + extra if extra else ""))


def send_both(pair, req):
    """req to the reference and to the system under test: one after the
    other, or at once when it is a watch that may have to wait."""
    if req.timeout >= kvlib.REQUEST_WAIT:
        return req.send(pair.ref), req.send(pair.sut)
    out = {}
    t = threading.Thread(target=lambda: out.__setitem__("sut", req.send(pair.sut)))
    t.start()
    ref = req.send(pair.ref)
    t.join()
    return ref, out["sut"]


def same_answer(pair, req, title="", counts=None):
    """Send req to both; fail with both answers unless they match. The
    reference answer."""
    ref, sut = send_both(pair, req)
    diffs = answer_diffs(req, ref, sut, counts=counts)
    assert not diffs, difference_report(title or "the answers differ", req, ref, sut, diffs, pair.logs())
    return ref, sut


# ---------------------------------------------------------------- the generator

# Keys as they go on the wire, after /v2/keys.
# Leaves are more likely than the directories above them, so that writes
# meet values more often than "Not a file".
PLAIN_KEYS = [(3, "/k"), (2, "/k2"), (3, "/d/x"), (2, "/d/y"), (2, "/a/b/c"), (1, "/_hidden"), (1, "/d/_h"),
              (1, "/a/_h/x"), (2, "/a"), (2, "/a/b"), (2, "/d"), (2, "/q"), (1, "/d/q")]
ODD_KEYS = ["/a%2Fb", "/sp%20ace", "/%E2%98%83", "/caf%C3%A9/x", "/d/x/", "/pct%25", "/a+b"]
ROOT_KEYS = ["", "/"]
# Not clean: Go's ServeMux answers 301 with the clean path.
REDIRECT_KEYS = ["/a/../q", "/./a", "//d/x", "/d/x/.", "/a%2F..%2Fq", "/d/./x/", "/.."]
LONG_KEY = "/" + "L" * 4000
BAD_ESCAPE_KEYS = ["/x%zz", "/x%2", "/%"]

VALUES = ["v1", "v2", "hello world", "\u00fcn\u00ef", "", "a=b&c", "x" * 300, "1000"]
GOOD_BOOLS = ["true", "false", "1", "0", "t", "FALSE", "True"]
BAD_BOOLS = ["yes", "", "junk", "2"]


class Generator:
    """Requests from a seeded random source. It learns from etcd's answers
    (the indexes it gave, the in-order keys it made, the values keys hold),
    so that conditions and watches hit as often as they miss; the request
    is the same for both sides whatever it learned."""

    def __init__(self, seed, start=0):
        self.rng = random.Random(seed)
        # Watches ask for nothing before the run: etcd's history holds its
        # own membership records there and pith-kv's the padding writes,
        # and a recursive watch on the root reads hidden keys out of the
        # history (etcd skips them only for events still to come).
        self.start = start
        self.index = start
        self.indexes = []
        self.inorder = []
        self.events = {}   # key (as etcd names it) -> modifiedIndexes
        self.values = {}   # key -> last value seen
        self.dirs = set()  # keys last seen as directories

    def learn(self, ans):
        if not isinstance(ans.status, int):
            return
        if ans.header("X-Etcd-Index"):
            self.index = int(ans.header("X-Etcd-Index"))
        body = parsed(ans)
        if not isinstance(body, dict):
            return
        node = body.get("node")
        if isinstance(node, dict) and "modifiedIndex" in node:
            key = node.get("key", "/")
            self.indexes.append(node["modifiedIndex"])
            self.events.setdefault(key, []).append(node["modifiedIndex"])
            if "value" in node:
                self.values[key] = node["value"]
            if node.get("dir") and body.get("action") not in ("delete", "compareAndDelete", "expire"):
                self.dirs.add(key)
            else:
                self.dirs.discard(key)
            if body.get("action") == "create" and re.search(r"/\d{20}$", key) and key not in self.inorder:
                self.inorder.append(key)

    def pick(self, weighted):
        total = sum(w for w, _ in weighted)
        x = self.rng.uniform(0, total)
        for w, v in weighted:
            x -= w
            if x <= 0:
                return v
        return weighted[-1][1]

    def key(self):
        r = self.rng
        kind = self.pick([(70, "plain"), (10, "odd"), (4, "root"), (5, "redirect"), (6, "inorder"),
                          (3, "long"), (2, "badescape")])
        if kind == "inorder" and self.inorder:
            return urllib.parse.quote(r.choice(self.inorder))
        if kind == "odd":
            return r.choice(ODD_KEYS)
        if kind == "root":
            return r.choice(ROOT_KEYS)
        if kind == "redirect":
            return r.choice(REDIRECT_KEYS)
        if kind == "long":
            return LONG_KEY
        if kind == "badescape":
            return r.choice(BAD_ESCAPE_KEYS)
        return self.pick(PLAIN_KEYS)

    def key_name(self, wire):
        """The key etcd makes of a wire path (for what was learned)."""
        return urllib.parse.unquote(wire.rstrip("/")) or "/"

    def a_bool(self):
        return self.rng.choice(BAD_BOOLS if self.rng.random() < 0.1 else GOOD_BOOLS)

    def an_index(self, key):
        r = self.rng
        seen = self.events.get(self.key_name(key))
        return self.pick([
            (4, str(seen[-1]) if seen else "0"),
            (2, str(r.choice(self.indexes)) if self.indexes else "1"),
            (2, str(self.index)),
            (1, "0"), (1, "abc"), (1, "-1"), (1, "99999"), (1, ""),
        ])

    def params(self, method, key):
        r = self.rng
        p = []

        def maybe(prob, name, value):
            if r.random() < prob:
                p.append((name, value))

        if method in ("GET", "HEAD"):
            maybe(0.3, "recursive", self.a_bool())
            maybe(0.3, "sorted", r.choice(["true", "false", "1"]))
            maybe(0.1, "quorum", r.choice(["true", "false"]))
            maybe(0.03, "stream", "true")
            maybe(0.03, "dir", "true")
        elif method == "PUT":
            maybe(0.85, "value", r.choice(VALUES + [self.values.get(self.key_name(key), "v1")]))
            maybe(0.12, "dir", self.a_bool())
            maybe(0.25, "ttl", r.choice(["1000"] * 12 + ["", "abc", "-1", "1e3", " 1000", "99999999999999999999"]))
            maybe(0.2, "prevExist", r.choice(["true", "false", "true", "false", "maybe", ""]))
            maybe(0.15, "prevValue", r.choice(["v1", "", "nope"] + [self.values.get(self.key_name(key), "v2")] * 3))
            maybe(0.15, "prevIndex", self.an_index(key))
            maybe(0.06, "refresh", r.choice(["true", "true", "false", "junk"]))
            maybe(0.08, "noValueOnSuccess", r.choice(["true", "false"]))
            maybe(0.03, "recursive", "true")
        elif method == "POST":
            maybe(0.85, "value", r.choice(VALUES))
            maybe(0.15, "ttl", r.choice(["1000", "abc", ""]))
            maybe(0.1, "dir", r.choice(["true", "false"]))
            maybe(0.05, "noValueOnSuccess", "true")
            maybe(0.05, "prevExist", r.choice(["true", "false"]))
        elif method == "DELETE":
            if self.key_name(key) in self.dirs and r.random() < 0.6:
                p.append(("recursive", "true"))
            maybe(0.3, "recursive", self.a_bool())
            maybe(0.3, "dir", self.a_bool())
            maybe(0.12, "prevValue", r.choice(["v1", ""] + [self.values.get(self.key_name(key), "v2")] * 3))
            maybe(0.12, "prevIndex", self.an_index(key))
            maybe(0.03, "prevExist", r.choice(["true", "false"]))
        maybe(0.03, "unknownParam", "x")
        r.shuffle(p)
        if p and r.random() < 0.05:
            name, _ = r.choice(p)
            p.append((name, r.choice(["true", "v9", "0", ""])))
        return p

    def watch_params(self, key):
        """wait=true with a waitIndex in the past (or garbage), so that the
        watch returns at once; a few have nothing to wait for and block."""
        r = self.rng
        seen = self.events.get(self.key_name(key))
        p = [("wait", "true")]
        choice = self.pick([(8, "seen"), (1, "past"), (1, "garbage"), (0.5, "none")])
        if choice == "seen" and seen:
            p.append(("waitIndex", str(r.choice(seen))))
        elif choice == "past" and self.indexes:
            p.append(("waitIndex", str(r.choice(self.indexes))))
        elif choice == "garbage":
            p.append(("waitIndex", r.choice(["abc", "-1", ""])))
        elif choice != "none":
            p.append(("waitIndex", str(max(self.start + 1, self.index - r.randint(0, 5)))))
        if r.random() < 0.4:
            p.append(("recursive", "true"))
        return p

    def next(self):
        r = self.rng
        method = self.pick([(30, "GET"), (4, "HEAD"), (32, "PUT"), (8, "POST"), (16, "DELETE"),
                            (1, "PATCH"), (1, "OPTIONS")])
        # Most POSTs go to two queues, so that the other keys stay values.
        key = r.choice(["/q", "/d/q"]) if method == "POST" and r.random() < 0.8 else self.key()
        timeout = kvlib.REQUEST_WAIT
        if method == "GET" and r.random() < 0.08:
            params = self.watch_params(key)
            timeout = WATCH_WAIT
        else:
            params = self.params(method, key)
        query, form = [], []
        headers = []
        body = None
        for kv in params:
            if method in ("PUT", "POST") and r.random() < 0.7:
                form.append(kv)
            elif r.random() < 0.04:
                form.append(kv)   # GET and DELETE: Go reads no form from the body
            else:
                query.append(kv)
        if form:
            body = urllib.parse.urlencode(form, quote_via=urllib.parse.quote)
            ctype = self.pick([(85, FORM), (5, FORM + "; charset=UTF-8"), (7, "text/plain"), (3, None)])
            if ctype:
                headers.append(("Content-Type", ctype))
        elif method in ("PUT", "POST") and r.random() < 0.05:
            body = "value=in-a-json-body"
            headers.append(("Content-Type", "application/json"))
        target = "/v2/keys" + key
        if query:
            target += "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
        req = Req(method, target, body, headers, timeout)
        if ETCD_LINE_MAX < req.line_len() <= PITH_LINE_MAX:
            # Between the two limits etcd resets and pith-kv would carry
            # out the request (docs/kv.md), and the two stores would part
            # for the rest of the sequence: such lines are left to
            # test_long_request_lines_and_bad_escapes, with reads only.
            req.target = "/v2/keys" + key
        return req


# ---------------------------------------------------------------- random sequences

@pytest.mark.parametrize("seed", SEEDS)
def test_random_sequences_get_the_same_answers(tmp_path, seed):
    p = Pair(tmp_path)
    gen = Generator(seed, p.ref.index())
    transcript_path = tmp_path / "transcript.txt"
    counts = {}
    found = []
    started = time.monotonic()
    try:
        with open(transcript_path, "w") as transcript:
            for step in range(STEPS):
                req = gen.next()
                ref, sut = send_both(p, req)
                gen.learn(ref)
                diffs = answer_diffs(req, ref, sut, counts=counts)
                transcript.write("=== step %d\n%s\n--- etcd:\n%s\n--- %s:\n%s\n%s\n" % (
                    step, req.describe(), ref.describe(), IMPL, sut.describe(),
                    "--- differences:\n  " + "\n  ".join(diffs) if diffs else ""))
                if ref.status == "timeout":
                    counts["watches with nothing to wait for (timed out on both)"] = \
                        counts.get("watches with nothing to wait for (timed out on both)", 0) + 1
                if not diffs:
                    continue
                report = difference_report(
                    "seed %d, step %d of %d differs (rerun: KV_DIFF_IMPL=%s /usr/bin/python3 -m pytest -p "
                    "no:cacheprovider -q 'tests/api/test_kv_diff.py::test_random_sequences_get_the_same_answers[%d]')"
                    % (seed, step, STEPS, IMPL, seed), req, ref, sut, diffs,
                    "every step so far: %s\n%s" % (transcript_path, p.logs()))
                if not KEEP_GOING:
                    pytest.fail(report, pytrace=False)
                found.append(report)
                if len(found) >= 50:
                    break
    finally:
        p.stop()
    conftest.FIGURES.append("kv diff seed %d: %d requests in %.1f s against %s%s" % (
        seed, STEPS, time.monotonic() - started, IMPL,
        "".join("; %s: %d" % kv for kv in sorted(counts.items()))))
    if found:
        pytest.fail("%d differences:\n\n%s" % (len(found), "\n\n".join(found)), pytrace=False)


# ---------------------------------------------------------------- corner cases

CORNER_SEEDS = range(4)
CORNER_STEPS = 150
# Keys for the corner cases, as they go on the wire after /v2/keys: a
# directory, files in it and below it, a path through a file, the root.
CORNER_KEYS = ["/c", "/c/f", "/c/d", "/c/d/g", "/c/f/under", "/c/none", ""]
BOOL_SPELLINGS = ["TRUE", "True", "FALSE", "False", "T", "F", "t", "f", "1", "0", "true", "false", "tRUE",
                  "yes", "fALSE"]
BOOL_PARAMS = ["prevExist", "dir", "recursive", "sorted", "quorum", "noValueOnSuccess", "refresh", "wait"]
# A parameter and values for it that mean something, to be given twice.
TWICE = {"value": ["a", "b", ""], "dir": ["true", "false", "junk"], "recursive": ["true", "false", "junk"],
         "prevExist": ["true", "false", "junk"], "prevValue": ["v1", "v2", ""], "prevIndex": ["1", "abc", "0"],
         "ttl": ["100", "", "abc"], "refresh": ["true", "false", "junk"], "noValueOnSuccess": ["true", "false"],
         "sorted": ["true", "false", "junk"]}
STATS_IGNORED = ("watchers",)


class CornerGenerator(Generator):
    """Requests of the classes that a first differential run found apart
    (issue 13): booleans as Go's ParseBool spells them, a parameter given
    twice (the first wins, the body's before the query's), a PUT or POST
    whose value is only in the query, an empty key segment on a GET of a
    directory (ServeMux's 301), and writes whose outcome /v2/stats/store
    counts in a way of its own. No watches: every step's counters are
    compared."""

    def corner_key(self):
        return self.rng.choice(CORNER_KEYS)

    def value_of(self, key):
        return self.values.get(self.key_name(key), "v1")

    def next_corner(self):
        r = self.rng
        kind = self.pick([(3, "bool"), (3, "twice"), (2, "query-only"), (1, "empty-segment"),
                          (4, "counted")])
        key = self.corner_key()
        method, query, form, body, headers = "GET", [], [], None, []
        if kind == "bool":
            method = r.choice(["GET", "HEAD", "PUT", "POST", "DELETE"])
            name = r.choice(BOOL_PARAMS)
            query.append((name, r.choice(BOOL_SPELLINGS)))
            if method in ("PUT", "POST") and name != "refresh":
                query.append(("value", r.choice(["v1", "v2"])))
            if name == "refresh":
                query.append(("ttl", "1000"))
        elif kind == "twice":
            method = r.choice(["GET", "PUT", "PUT", "POST", "DELETE"])
            name = r.choice(sorted(TWICE))
            first, second = r.choice(TWICE[name]), r.choice(TWICE[name])
            if name == "prevValue" and r.random() < 0.5:
                first = self.value_of(key)
            if name == "prevIndex" and r.random() < 0.5:
                first = self.an_index(key)
            where = r.choice(["query", "body", "split"])
            if where == "query" or method in ("GET", "DELETE"):
                query += [(name, first), (name, second)]
            elif where == "body":
                form += [(name, first), (name, second)]
            else:
                form.append((name, first))
                query.append((name, second))
            if method in ("PUT", "POST") and name != "value" and name != "refresh":
                query.append(("value", "v2"))
            if name == "refresh":
                query.append(("ttl", "1000"))
        elif kind == "query-only":
            method = r.choice(["PUT", "PUT", "POST"])
            query.append(("value", r.choice(VALUES)))
            if r.random() < 0.3:
                query.append(("prevExist", r.choice(["true", "false"])))
            if r.random() < 0.2:
                headers.append(("Content-Type", FORM))
        elif kind == "empty-segment":
            method = r.choice(["GET", "GET", "HEAD"])
            target = r.choice(["/v2/keys/c//", "/v2/keys//c", "/v2/keys//c/", "/v2/keys/c//d", "/v2/keys//",
                               "/v2/keys/c/d//", "/v2/keys/c%2F%2F", "/v2/keys/c/%2F"])
            if r.random() < 0.5:
                target += "?" + r.choice(["recursive=true", "sorted=true&recursive=true", "quorum=true"])
            req = Req(method, target)
            req.kind = kind
            return req
        else:
            method = self.pick([(2, "GET"), (1, "HEAD"), (4, "PUT"), (1, "POST"), (4, "DELETE")])
            if method in ("GET", "HEAD"):
                if r.random() < 0.3:
                    query.append(("quorum", "true"))
            elif method == "PUT":
                cond = r.choice(["none", "prevExist", "prevValue", "prevIndex", "refresh", "dir"])
                if cond == "prevExist":
                    query.append(("prevExist", r.choice(["true", "false"])))
                elif cond == "prevValue":
                    query.append(("prevValue", r.choice(["nope", self.value_of(key)])))
                elif cond == "prevIndex":
                    query.append(("prevIndex", self.an_index(key)))
                elif cond == "dir":
                    query.append(("dir", "true"))
                if cond == "refresh":
                    query += [("refresh", "true"), ("ttl", "1000")]
                elif r.random() < 0.9:
                    form.append(("value", r.choice(["", "v1", "v2"])))
            elif method == "POST":
                form.append(("value", "v1"))
            else:
                cond = r.choice(["none", "prevValue", "prevIndex", "dir", "recursive"])
                if cond == "prevValue":
                    query.append(("prevValue", r.choice(["nope", self.value_of(key)])))
                elif cond == "prevIndex":
                    query.append(("prevIndex", self.an_index(key)))
                elif cond != "none":
                    query.append((cond, "true"))
        if form:
            body = urllib.parse.urlencode(form, quote_via=urllib.parse.quote)
            headers.append(("Content-Type", FORM))
        target = "/v2/keys" + key
        if query:
            target += "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
        req = Req(method, target, body, headers)
        req.kind = kind
        return req


def store_stats(member):
    a = member.get("/v2/stats/store")
    assert a.status == 200, "GET /v2/stats/store on %s: %s" % (member, a.describe())
    return {k: v for k, v in a.json().items() if k not in STATS_IGNORED}


def stats_diffs(before, after):
    """How the system under test's counters moved differently from etcd's
    over one request; before and after are (etcd's, the SUT's)."""
    moved = [{k: after[i][k] - before[i].get(k, 0) for k in after[i] if after[i][k] != before[i].get(k, 0)}
             for i in (0, 1)]
    if moved[0] == moved[1]:
        return []
    return ["/v2/stats/store: counters moved by %s, etcd's by %s" % (json.dumps(moved[1], sort_keys=True),
                                                                     json.dumps(moved[0], sort_keys=True))]


@pytest.mark.parametrize("seed", CORNER_SEEDS)
def test_corner_cases_get_the_same_answers_and_counts(tmp_path, seed):
    """Random requests of each corner-case class (CornerGenerator) to a
    fresh etcd and a fresh system under test: the same answers, and the
    /v2/stats/store counters (all but "watchers") moved alike by each."""
    run_generated(tmp_path, seed, CornerGenerator, "next_corner", CORNER_STEPS, "corner cases",
                  "test_corner_cases_get_the_same_answers_and_counts", counters=True)


def run_generated(tmp_path, seed, generator, draw, steps, what, test, counters=False):
    """steps requests drawn by generator(seed, index).draw() to a fresh
    etcd and a fresh system under test; the first answer that differs (and,
    with counters, the first request that moves /v2/stats/store differently)
    fails the test with a report and the command that reruns it."""
    p = Pair(tmp_path)
    gen = generator(seed, p.ref.index())
    kinds = {}
    try:
        for step in range(steps):
            req = getattr(gen, draw)()
            before = (store_stats(p.ref), store_stats(p.sut)) if counters else None
            ref, sut = send_both(p, req)
            gen.learn(ref)
            kinds[req.kind] = kinds.get(req.kind, 0) + 1
            diffs = answer_diffs(req, ref, sut)
            if counters:
                diffs += stats_diffs(before, (store_stats(p.ref), store_stats(p.sut)))
            if diffs:
                pytest.fail(difference_report(
                    "%s, seed %d, step %d of %d differs (rerun: KV_DIFF_IMPL=%s /usr/bin/python3 -m "
                    "pytest -p no:cacheprovider -q 'tests/api/test_kv_diff.py::%s[%d]')"
                    % (what, seed, step, steps, IMPL, test, seed), req, ref, sut, diffs, p.logs()),
                    pytrace=False)
    finally:
        p.stop()
    conftest.FIGURES.append("kv diff %s seed %d: %d requests against %s: %s" % (
        what, seed, steps, IMPL, ", ".join("%s %d" % kv for kv in sorted(kinds.items()))))


# ---------------------------------------------------------------- keys holding NUL

NUL_SEEDS = range(3)
NUL_STEPS = 120
# Bytes the keys are made of: NUL and \x01 (which pith-kv escapes inside its
# store), bytes just above and far above them, and letters.
NUL_BYTES = [b"\0", b"\0", b"\x01", b"\x01", b"\x02", b" ", b"a", b"b", b"\xff"]
PUT_VALUES = ["v", "x\0y", "\x01", "a\x01\0"]


class NulGenerator(Generator):
    """Requests on keys whose names mix NUL, \x01 and other bytes: writes,
    reads of a key and of its directory (sorted, recursive, or in Go's
    map order), deletes, compare-and-swaps whose prevValue holds NUL and
    compare failures whose cause quotes a value holding NUL, keys never
    written (a 404 whose cause holds NUL), watches on history, and a path
    with NUL that is not clean (301)."""

    def __init__(self, seed, start=0):
        super().__init__(seed, start)
        r = self.rng
        names = set()
        while len(names) < 6:
            names.add(b"".join(r.choice(NUL_BYTES) for _ in range(r.randint(1, 3))))
        names = sorted(names)
        self.keys = ["/n/" + urllib.parse.quote(n, safe="") for n in names]
        self.keys += ["/n/%s/%s" % (urllib.parse.quote(r.choice(names), safe=""),
                                    urllib.parse.quote(r.choice(names), safe="")) for _ in range(4)]

    def next_nul(self):
        r = self.rng
        kind = self.pick([(6, "put"), (3, "cas"), (4, "get"), (4, "dir"), (2, "delete"), (1, "missing"),
                          (1, "watch"), (1, "redirect")])
        key = r.choice(self.keys)
        method, query, form, timeout = "GET", [], [], kvlib.REQUEST_WAIT
        if kind == "put":
            method = "PUT"
            form.append(("value", r.choice(PUT_VALUES)))
        elif kind == "cas":
            # prevValue is compared whole: "x" is not "x\0y", and "\0"
            # alone is not an empty prevValue.
            method = "PUT"
            form.append(("value", "w"))
            query.append(("prevValue", r.choice(["nope", "x", "\0"] + PUT_VALUES)))
        elif kind == "dir":
            key = key.rsplit("/", 1)[0]
            query += r.choice([[("sorted", "true")], [("sorted", "true"), ("recursive", "true")],
                               [("recursive", "true")], []])
        elif kind == "delete":
            method = "DELETE"
            if r.random() < 0.3:
                key = key.rsplit("/", 1)[0]
                query.append(("recursive", "true"))
        elif kind == "missing":
            method = r.choice(["GET", "DELETE"])
            key += "%00%01zz"
        elif kind == "watch":
            key = r.choice([key, key.rsplit("/", 1)[0]])
            query += [("wait", "true"), ("waitIndex", str(self.start + 1))]
            if r.random() < 0.5:
                query.append(("recursive", "true"))
            timeout = WATCH_WAIT
        elif kind == "redirect":
            key = r.choice([key + "/%00/..", key + "//x%01", "/n/%00/./" + key[3:]])
        target = "/v2/keys" + key
        if query:
            target += "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
        body, headers = None, []
        if form:
            body = urllib.parse.urlencode(form, quote_via=urllib.parse.quote)
            headers.append(("Content-Type", FORM))
        req = Req(method, target, body, headers, timeout)
        req.kind = kind
        return req


@pytest.mark.parametrize("seed", NUL_SEEDS)
def test_keys_holding_nul_get_the_same_answers(tmp_path, seed):
    """Keys with NUL and \x01 bytes (NulGenerator) to a fresh etcd and a
    fresh system under test: the same answers, listings in the same order."""
    run_generated(tmp_path, seed, NulGenerator, "next_nul", NUL_STEPS, "keys holding NUL",
                  "test_keys_holding_nul_get_the_same_answers")


# ---------------------------------------------------------------- fixed cases

def test_expiry_and_refresh(pair):
    """Keys with short TTLs (0, 1 and 2 s, a directory among them) expire
    on both; the expire events come in expiration order with the same
    indexes. The writes are done well within the first second, the ttl=0
    one last, so that no expiry falls between them on either side."""
    form = [("Content-Type", FORM)]
    steps = [
        Req("PUT", "/v2/keys/t2", "value=x&ttl=1000", form),
        Req("PUT", "/v2/keys/t2", "refresh=true&ttl=2&prevExist=true", form),
        Req("PUT", "/v2/keys/t2", "refresh=true&ttl=2&value=y", form),
        Req("PUT", "/v2/keys/t2", "refresh=true", form),
        Req("PUT", "/v2/keys/t1", "value=x&ttl=1", form),
        Req("PUT", "/v2/keys/dirt", "dir=true&ttl=1", form),
        Req("PUT", "/v2/keys/dirt/k", "value=inside", form),
        Req("PUT", "/v2/keys/dirt", "dir=true&ttl=1000&prevExist=true", form),
        Req("PUT", "/v2/keys/dirt", "dir=true&ttl=1&prevExist=true", form),
        Req("PUT", "/v2/keys/keep", "value=k&ttl=1000", form),
        Req("PUT", "/v2/keys/keep", "ttl=&prevExist=true&value=k", form),
        Req("PUT", "/v2/keys/t0", "value=x&ttl=0", form),
    ]
    last = None
    for req in steps:
        last, _ = same_answer(pair, req, "writing keys with short TTLs")
    written = int(last.header("X-Etcd-Index"))

    def all_gone(m):
        return kvlib.send(m.url, "GET", "/v2/keys/t2").status == 404
    deadline = time.monotonic() + 10
    while not (all_gone(pair.ref) and all_gone(pair.sut)):
        assert time.monotonic() < deadline, "t2 (ttl 2 s) still there after 10 s:\netcd: %s\n%s: %s" % (
            kvlib.send(pair.ref.url, "GET", "/v2/keys/t2").describe(), IMPL,
            kvlib.send(pair.sut.url, "GET", "/v2/keys/t2").describe())
        time.sleep(0.1)
    for key in ("t0", "t1", "t2", "dirt", "dirt/k", "keep"):
        same_answer(pair, Req("GET", "/v2/keys/" + key), "after the expiry")
    same_answer(pair, Req("GET", "/v2/keys/?recursive=true"), "after the expiry")
    for i in range(1, 5):
        same_answer(pair, Req("GET", "/v2/keys/?wait=true&recursive=true&waitIndex=%d" % (written + i),
                              timeout=5), "expire event %d" % i)


def test_history_of_1000_events_then_401(pair):
    """After 1,010 writes the oldest events are gone: a watch from before
    the history answers 401 with both indexes in its cause ("[s/w]"), one
    from its first event answers that event. (docs/kv.md: pith-kv's history
    is bounded in bytes as well, 64 MiB; these events are small, so the
    count bounds both.)"""
    def fill(m):
        for i in range(1010):
            a = kvlib.send(m.url, "PUT", "/v2/keys/h/%d" % (i % 7), ("value=%d" % i).encode(), [("Content-Type", FORM)])
            if a.status not in (200, 201):
                return "write %d to %s: %s" % (i, m, a.describe())
        return None
    other = {}
    t = threading.Thread(target=lambda: other.__setitem__("sut", fill(pair.sut)))
    t.start()
    failed = fill(pair.ref)
    t.join()
    assert failed is None and other["sut"] is None, failed or other["sut"]
    assert pair.ref.index() == pair.sut.index()
    now = pair.ref.index()
    for since in (1, now - 1000, now - 999, now - 998, now):
        same_answer(pair, Req("GET", "/v2/keys/h?wait=true&recursive=true&waitIndex=%d" % since, timeout=5),
                    "watching from %d with %d events written" % (since, now))
    same_answer(pair, Req("GET", "/v2/keys/h/3?wait=true&waitIndex=%d" % (now - 1005), timeout=5))


def send_streaming(member, target, body_len, content_type=FORM):
    """PUT a form body of "value=" and body_len - 6 "a"s, written while the
    answer is read, as a client that does not wait for the whole body to
    be taken; the Answer and how many body bytes were sent before the
    server stopped taking them."""
    s = socket.create_connection(("127.0.0.1", member.client_port), timeout=30)
    head = ("PUT %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
            % (target, content_type, body_len)).encode()
    got = bytearray()

    def read():
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                got.extend(d)
        except OSError:
            pass
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    sent = 0
    try:
        s.sendall(head + b"value=")
        sent = 6
        chunk = b"a" * 65536
        while sent < body_len:
            n = min(body_len - sent, len(chunk))
            s.sendall(chunk[:n])
            sent += n
    except OSError:
        pass
    reader.join(20)
    s.close()
    if not got:
        return kvlib.Answer("reset", detail="nothing after %d body bytes" % sent), sent
    resp = http.client.HTTPResponse(FakeSock(bytes(got)), method="PUT")
    resp.begin()
    return kvlib.Answer(resp.status, resp.getheaders(), resp.read()), sent


class FakeSock:
    def __init__(self, data):
        self.data = data

    def makefile(self, mode):
        return io.BytesIO(self.data)


def rss_kib(member):
    with open("/proc/%d/status" % member.process.pid) as f:
        return int(next(line for line in f if line.startswith("VmRSS:")).split()[1])


def test_large_values_and_bodies(pair):
    """A value of 1 MiB is stored by both. A 100 MB form body is refused
    by both as etcd refuses it (Go's ParseForm reads 10 MiB at most: 400,
    error 210, "http: POST too large", the connection closed), pith-kv
    without reading it. A 2 MB value etcd stores; pith-kv refuses values
    over 1 MiB (docs/kv.md) with error 300, "etcdserver: request is too
    large"."""
    form = [("Content-Type", FORM)]
    same_answer(pair, Req("PUT", "/v2/keys/v1m", b"value=" + b"m" * (1 << 20), form))
    same_answer(pair, Req("GET", "/v2/keys/v1m"))
    before = rss_kib(pair.sut)
    ref, _ = send_streaming(pair.ref, "/v2/keys/v100m", 100 * 1000 * 1000)
    sut, sut_sent = send_streaming(pair.sut, "/v2/keys/v100m", 100 * 1000 * 1000)
    grown = rss_kib(pair.sut) - before
    req = Req("PUT", "/v2/keys/v100m", b"value=(100 MB)", form)
    diffs = answer_diffs(req, ref, sut)
    if ref.header("Connection") != sut.header("Connection"):
        diffs.append("header connection: %r, etcd has %r" % (sut.header("Connection"), ref.header("Connection")))
    assert not diffs, difference_report("a 100 MB form body", req, ref, sut, diffs)
    assert ref.status == 400 and ref.json()["errorCode"] == 210, ref.describe()
    assert grown < 16 * 1024, "%s grew by %d KiB on a 100 MB body" % (IMPL, grown)
    same_answer(pair, Req("GET", "/v2/keys/v100m"))
    conftest.FIGURES.append("a 100 MB form PUT: %s took %d bytes before answering 400/210, RSS +%d KiB"
                            % (IMPL, sut_sent, grown))
    req = Req("PUT", "/v2/keys/v2m", b"value=" + b"m" * 2000000, form)
    ref, sut = send_both(pair, req)
    assert ref.status == 201, ref.describe()
    if IMPL == "pith":
        assert sut.status == 500 and sut.json() == {
            "errorCode": 300, "message": "Raft Internal Error", "cause": "etcdserver: request is too large",
            "index": 0}, sut.describe()
    else:
        assert not answer_diffs(req, ref, sut), difference_report("a 2 MB value", req, ref, sut, ["differs"])


def test_long_request_lines_and_bad_escapes(pair):
    """A 4,000-byte key works on both. etcd resets a request line over
    4 KiB and pith-kv answers 414 over 8 KiB (docs/kv.md); a malformed
    escape in the path is Go's plain 400 on both, and in the query 210 on
    both."""
    counts = {}
    form = [("Content-Type", FORM)]
    long_key = "/v2/keys/" + "k" * 4000
    same_answer(pair, Req("PUT", long_key, "value=long", form))
    same_answer(pair, Req("GET", long_key))
    same_answer(pair, Req("GET", "/v2/keys/?recursive=true"))
    fill = ETCD_LINE_MAX - len("GET /v2/keys/ HTTP/1.1")
    same_answer(pair, Req("GET", "/v2/keys/" + "k" * fill), "a request line of exactly %d bytes" % ETCD_LINE_MAX)
    for n in (fill + 1, 6000, PITH_LINE_MAX - len("GET /v2/keys/ HTTP/1.1"), 9000, 70000):
        same_answer(pair, Req("GET", "/v2/keys/" + "k" * n), counts=counts)
    for target in ("/v2/keys/x%zz", "/v2/keys/x%2", "/v2/keys/%", "/v2/keys/a?x=%zz", "/v2/keys/a?value=%"):
        same_answer(pair, Req("GET", target), counts=counts)
    same_answer(pair, Req("PUT", "/v2/keys/a", "value=%zz", form), counts=counts)
    if IMPL == "pith":
        assert counts == {"request line of 4-8 KiB: etcd reset, pith-kv's answer taken": 3,
                          "request line over 8 KiB: etcd reset, 414 expected": 2}, counts


def test_methods_redirects_and_cors(pair):
    """What Go's ServeMux and etcd's handlers do around the keys: 405 with
    Allow, OPTIONS, 301 for unclean paths (query kept), other routes."""
    for method in ("PATCH", "OPTIONS", "get", "TRACE"):
        same_answer(pair, Req(method, "/v2/keys/a"))
    for target in ("/v2/keys/a/../b?recursive=true", "/v2/keys//a", "/v2/keys/%2E%2E/a", "/v2/keys/.",
                   "/v2/keys/..", "/v2/keys/a/./", "/v2/keys/sp%20ace/../x", "/v2//keys/a"):
        same_answer(pair, Req("GET", target))
    for target in ("/v2/keys", "/v2/keys/", "/v2/keysx", "/v2/machines", "/v2/members", "/health", "/v2/nothing"):
        ref, sut = kvlib.send(pair.ref.url, "GET", target), kvlib.send(pair.sut.url, "GET", target)
        if target == "/v2/members":
            # Member ids and URLs are each cluster's own.
            assert (ref.status, [m["name"] for m in ref.json()["members"]]) == \
                (sut.status, [m["name"] for m in parsed(sut)["members"]] if parsed(sut) else None), \
                difference_report("GET /v2/members", Req("GET", target), ref, sut, ["names differ"])
            continue
        if target == "/v2/machines":
            ref.body = ref.body.replace(pair.ref.url.encode(), b"<client-url>")
            sut.body = sut.body.replace(pair.sut.url.encode(), b"<client-url>")
        diffs = answer_diffs(Req("GET", target), ref, sut)
        assert not diffs, difference_report("GET " + target, Req("GET", target), ref, sut, diffs)


# ---------------------------------------------------------------- etcdctl

def member_ids(text):
    """Member ids (hexadecimal, printed by etcdctl without leading zeros)
    replaced by a placeholder."""
    text = re.sub(r"(?m)^[0-9a-f]{1,16}(?=: name=)", "<member-id>", text)
    text = re.sub(r"\bmember [0-9a-f]{1,16}\b", "member <member-id>", text)
    return re.sub(r"\b[0-9a-f]{16}\b", "<member-id>", text)


def normal_text(text, member):
    """etcdctl's output with the member's own ids, URLs and clocks taken out."""
    text = text.replace(member.url, "<client-url>").replace(member.peer_url, "<peer-url>")
    text = member_ids(text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)", "<time>", text)
    return text


def ttl_close(a, b):
    """Two lines that are the same but for a TTL one second apart."""
    pa, pb = re.split(r'(TTL: |"ttl":)(\d+)', a), re.split(r'(TTL: |"ttl":)(\d+)', b)
    if len(pa) != len(pb) or len(pa) == 1:
        return False
    for i, (x, y) in enumerate(zip(pa, pb)):
        if i % 3 == 2:
            if abs(int(x) - int(y)) > 1:
                return False
        elif x != y:
            return False
    return True


def text_diffs(a, b):
    la, lb = a.splitlines(), b.splitlines()
    if len(la) != len(lb):
        return ["%d lines, etcd has %d" % (len(lb), len(la))]
    return ["line %d: %r, etcd has %r" % (i + 1, y, x) for i, (x, y) in enumerate(zip(la, lb))
            if x != y and not ttl_close(x, y)]


def etcdctl_both(pair, args, sort_lines=False):
    """The same etcdctl command against both; fail unless exit code, stdout
    and stderr match after normal_text. sort_lines: the command lists a
    directory without --sort, in Go's map order on etcd (docs/kv.md)."""
    ref = kvlib.etcdctl(pair.ref, *args)
    sut = kvlib.etcdctl(pair.sut, *args)
    a = [ref[0], normal_text(ref[1], pair.ref), normal_text(ref[2], pair.ref)]
    b = [sut[0], normal_text(sut[1], pair.sut), normal_text(sut[2], pair.sut)]
    if sort_lines:
        a[1], b[1] = "\n".join(sorted(a[1].splitlines())), "\n".join(sorted(b[1].splitlines()))
    diffs = []
    if a[0] != b[0]:
        diffs.append("exit code %d, etcd's %d" % (b[0], a[0]))
    for what, x, y in (("stdout", a[1], b[1]), ("stderr", a[2], b[2])):
        diffs += ["%s: %s" % (what, d) for d in text_diffs(x, y)]
    assert not diffs, ("etcdctl %s differs:\n--- against the reference etcd (exit %d):\n%s%s\n"
                       "--- against the system under test, %s (exit %d):\n%s%s\n"
                       "--- differences:\n  %s\n%s" % (" ".join(args), ref[0], ref[1], ref[2], IMPL, sut[0], sut[1],
                                                      sut[2], "\n  ".join(diffs), pair.logs()))
    return ref


def etcdctl_watch_both(pair, args, write, lines, timeout=10.0, sort_lines=False):
    """Start `etcdctl <args>` (a watch) on each side, then run write(member)
    on that side; the watch's first `lines` lines of output, normalised,
    must match."""
    outs = []
    for m in (pair.ref, pair.sut):
        env = kvlib.child_env()
        env["ETCDCTL_API"] = "2"
        proc = subprocess.Popen([kvlib.ETCDCTL, "--endpoints", m.url] + list(args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
        got = []

        def read(proc=proc, got=got):
            for line in proc.stdout:
                got.append(line)
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            write(m)
            deadline = time.monotonic() + timeout
            while len(got) < lines and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.05)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            reader.join(5)
            err = proc.stderr.read()
        first = got[:lines]
        outs.append(("".join(sorted(first) if sort_lines else first), len(got), err, m))
    (a, na, ea, ma), (b, nb, eb, mb) = outs
    a, b = normal_text(a, ma), normal_text(b, mb)
    assert na >= lines and nb >= lines and not text_diffs(a, b), (
        "etcdctl %s differs (%d lines wanted):\n--- against the reference etcd (%d lines):\n%s\n%s"
        "--- against the system under test, %s (%d lines):\n%s\n%s"
        % (" ".join(args), lines, na, a, ea, IMPL, nb, b, eb))


def put(m, key, value):
    a = kvlib.send(m.url, "PUT", "/v2/keys" + key, ("value=" + value).encode(), [("Content-Type", FORM)])
    assert a.status in (200, 201), "PUT %s on %s: %s" % (key, m, a.describe())


def test_etcdctl_session(pair):
    """The seed tutorial's etcdctl session through the real etcdctl (API
    v2), and then some: every command's exit code, stdout and stderr."""
    for args in (["set", "/message", "Hello"], ["get", "/message"], ["mk", "/foo", "bar"], ["mk", "/foo", "bar"],
                 ["mkdir", "/dir"], ["mkdir", "/dir"], ["set", "/dir/inner", "i"], ["ls", "--sort"],
                 ["ls", "--recursive", "--sort"], ["ls", "-p", "--recursive", "--sort", "/"],
                 ["update", "/message", "World"], ["update", "/nokey", "x"],
                 ["set", "--swap-with-value", "World", "/message", "Again"],
                 ["set", "--swap-with-value", "Nope", "/message", "Again"],
                 ["set", "--swap-with-index", "1", "/message", "Never"],
                 ["-o", "extended", "get", "/message"], ["-o", "json", "get", "/message"],
                 ["set", "--ttl", "1000", "/t", "v"], ["-o", "extended", "get", "/t"], ["-o", "json", "get", "/t"],
                 ["update", "--ttl", "900", "/t", "v2"], ["mkdir", "--ttl", "1000", "/tdir"],
                 ["updatedir", "--ttl", "800", "/tdir"], ["setdir", "/sd"], ["setdir", "/sd"],
                 ["mk", "--in-order", "/queue", "job1"], ["mk", "--in-order", "/queue", "job2"],
                 ["ls", "--sort", "/queue"], ["get", "--sort", "/queue"], ["get", "/dir"],
                 ["rm", "/message"], ["rm", "/message"], ["rmdir", "/dir"], ["rm", "/dir"],
                 ["rm", "--recursive", "/dir"], ["rmdir", "/foo"], ["rm", "--dir", "/sd"],
                 ["rm", "--recursive", "/queue"], ["rm", "--with-value", "nope", "/t"],
                 ["rm", "--with-index", "1", "/t"], ["rm", "--with-value", "v2", "/t"],
                 ["get", "/nothere"], ["get", "/"], ["update", "/", "x"], ["rm", "/"],
                 ["set", "/_hidden", "h"], ["get", "/_hidden"], ["ls", "--sort", "/"],
                 ["watch", "--after-index", "1", "/_hidden"]):
        etcdctl_both(pair, args)
    etcdctl_both(pair, ["ls", "--recursive"], sort_lines=True)
    etcdctl_both(pair, ["ls"], sort_lines=True)
    etcdctl_both(pair, ["member", "list"])
    etcdctl_both(pair, ["cluster-health"])

    # A watch with a writer in parallel: the watch starts after the current
    # index (etcdctl's --after-index N asks for waitIndex N+1), so the
    # write is seen whether or not it lands before the watch is in place.
    nxt = pair.ref.index()
    etcdctl_watch_both(pair, ["watch", "--after-index", str(nxt), "/w"], lambda m: put(m, "/w", "written"), 1)
    nxt = pair.ref.index()
    etcdctl_watch_both(pair, ["-o", "extended", "watch", "--after-index", str(nxt), "--recursive", "/wd"],
                       lambda m: put(m, "/wd/k", "deep"), 1)
    cmd = 'echo "$ETCD_WATCH_ACTION $ETCD_WATCH_KEY $ETCD_WATCH_VALUE $ETCD_WATCH_MODIFIED_INDEX"'
    nxt = pair.ref.index()
    # etcdctl 3.4 finds the key of exec-watch last when flags are given
    # (the documented "<key> -- <command>" order watches a key named after
    # the command), and runs the command for each event in its own
    # goroutine, so lines come in any order.
    etcdctl_watch_both(pair, ["exec-watch", "--after-index", str(nxt), "--", "sh", "-c", cmd, "/ew"],
                       lambda m: (put(m, "/ew", "one"), put(m, "/ew", "two")), 2, sort_lines=True)
    etcdctl_both(pair, ["get", "/ew"])


# ---------------------------------------------------------------- python-etcd

def etcd_result(r):
    """What a python-etcd result says, as plain data."""
    out = {}
    for name in ("action", "key", "value", "dir", "ttl", "modifiedIndex", "createdIndex", "newKey",
                 "etcd_index", "_prev_node"):
        v = getattr(r, name, None)
        if name == "_prev_node" and v is not None:
            v = etcd_result(v) if hasattr(v, "key") else v
        out[name] = v
    out["expiration"] = "<expiration>" if getattr(r, "expiration", None) else None
    out["raft_index"] = getattr(r, "raft_index", None) is not None
    if getattr(r, "_children", None):
        out["children"] = sorted((c.get("key"), c.get("value"), c.get("dir", False), c.get("modifiedIndex"))
                                 for c in r._children)
    return out


def python_etcd_session(member):
    import etcd
    client = etcd.Client(host="127.0.0.1", port=member.client_port)
    log = []

    def do(name, fn):
        try:
            log.append((name, etcd_result(fn())))
        except Exception as e:
            log.append((name, type(e).__name__, str(e).replace(member.url, "<client-url>"),
                        getattr(e, "payload", None)))

    do("write", lambda: client.write("/pe/a", "1"))
    do("read", lambda: client.read("/pe/a"))
    do("write ttl", lambda: client.write("/pe/t", "t", ttl=1000))
    do("read ttl", lambda: client.read("/pe/t"))
    do("write exists", lambda: client.write("/pe/a", "2", prevExist=False))
    do("write prevExist", lambda: client.write("/pe/a", "2", prevExist=True))
    do("write missing", lambda: client.write("/pe/nope", "2", prevExist=True))
    do("test_and_set ok", lambda: client.test_and_set("/pe/a", "3", "2"))
    do("test_and_set fail", lambda: client.test_and_set("/pe/a", "4", "2"))
    idx = client.read("/pe/a").modifiedIndex
    do("write prevIndex", lambda: client.write("/pe/a", "5", prevIndex=idx))
    do("write prevIndex stale", lambda: client.write("/pe/a", "6", prevIndex=idx))
    do("append 1", lambda: client.write("/pe/q", "job1", append=True))
    do("append 2", lambda: client.write("/pe/q", "job2", append=True))
    do("read in order", lambda: client.read("/pe/q", sorted=True))
    do("mkdir", lambda: client.write("/pe/dir", None, dir=True))
    do("write in dir", lambda: client.write("/pe/dir/x", "x"))
    do("read recursive", lambda: client.read("/pe", recursive=True, sorted=True))
    do("delete dir not empty", lambda: client.delete("/pe/dir", dir=True))
    do("delete file as dir", lambda: client.delete("/pe/a", dir=True))
    do("read not a file", lambda: client.read("/pe/dir/x/y"))
    do("watch from index", lambda: client.read("/pe/a", wait=True, waitIndex=idx))
    do("watch method", lambda: client.watch("/pe/q", index=idx, recursive=True))
    do("read wait past", lambda: client.read("/pe", wait=True, waitIndex=1, recursive=True))
    do("delete", lambda: client.delete("/pe/a"))
    do("delete missing", lambda: client.delete("/pe/a"))
    do("delete recursive", lambda: client.delete("/pe/dir", recursive=True))
    do("read missing", lambda: client.read("/pe/a"))
    do("contains", lambda: etcd.EtcdResult(action="x", node={"key": str("/pe/t" in client)}))
    do("refresh", lambda: client.refresh("/pe/t", ttl=900))
    do("update", lambda: client.update(client.read("/pe/t")))
    do("members", lambda: etcd.EtcdResult(action="x", node={"key": ",".join(
        sorted(m["name"] for m in client.members.values()))}))
    do("leader", lambda: etcd.EtcdResult(action="x", node={"key": client.leader["name"]}))
    return log


def test_python_etcd(pair):
    """python3-etcd's client (write, read, delete, watch with an index,
    test_and_set, in-order keys, errors as exceptions) gets the same from
    both."""
    a = python_etcd_session(pair.ref)
    b = python_etcd_session(pair.sut)
    diffs = []
    for x, y in zip(a, b):
        if x != y and not (len(x) == len(y) == 2 and not json_diffs(x[1], y[1])):
            diffs.append("%s:\n      the reference etcd: %r\n      %s: %r" % (x[0], x[1:], SUT, y[1:]))
    assert len(a) == len(b) and not diffs, "python-etcd differs:\n  %s\n%s" % ("\n  ".join(diffs), pair.logs())


# ---------------------------------------------------------------- clusters

def test_three_member_clusters(tmp_path):
    """Three members of each on loopback: the same members and health
    through etcdctl, and a write on one member read back on the others."""
    kvlib.binary("etcd")
    kvlib.binary(IMPL)
    ref = kvlib.spawn_cluster("etcd", str(tmp_path / "ref"), 3)
    try:
        sut = kvlib.spawn_cluster(IMPL, str(tmp_path / "sut"), 3)
    except BaseException:
        kvlib.stop_all(ref)
        raise
    try:
        kvlib.wait_cluster(ref)
        kvlib.wait_cluster(sut)
        for args in (["member", "list"], ["cluster-health"]):
            out = []
            for members in (ref, sut):
                rc, so, se = kvlib.etcdctl(members[0], *args)
                for m in members:
                    so = so.replace(m.url, "<%s-client>" % m.name).replace(m.peer_url, "<%s-peer>" % m.name)
                so = member_ids(so)
                leaders = so.count("isLeader=true")
                so = so.replace("isLeader=true", "isLeader=?").replace("isLeader=false", "isLeader=?")
                out.append((rc, sorted(so.splitlines()), se, leaders))
            assert out[0] == out[1], "etcdctl %s:\n  the reference etcd: %r\n  %s: %r" % (
                " ".join(args), out[0], SUT, out[1])
        start = max(ref[0].index(), sut[0].index())
        for members in (ref, sut):
            pad_to(members[0], start)
        ans = []
        for members in (ref, sut):
            a = kvlib.send(members[0].url, "PUT", "/v2/keys/c", b"value=1", [("Content-Type", FORM)])
            got = [a]
            for m in members[1:]:
                got.append(kvlib.send(m.url, "GET", "/v2/keys/c?quorum=true"))
                got.append(kvlib.send(m.url, "GET", "/v2/keys/c?wait=true&waitIndex=%s" % a.header("X-Etcd-Index"),
                                      timeout=5))
            ans.append(got)
        for i, (x, y) in enumerate(zip(*ans)):
            diffs = answer_diffs(Req("GET", "(step %d)" % i), x, y)
            assert not diffs, "three members, step %d:\n--- the reference etcd:\n%s\n--- %s:\n%s\n--- %s" % (
                i, x.describe(), SUT, y.describe(), "\n  ".join(diffs))
    finally:
        kvlib.stop_all(ref)
        kvlib.stop_all(sut)
