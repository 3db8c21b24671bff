"""Members of a key-value cluster on loopback, either real etcd (Debian's
3.4, /usr/bin/etcd) or pith-kv (build/bin/pith-kv), started with the same
etcd flags; and a raw HTTP/1.1 client whose requests go out byte for byte
as written (no path cleaning, no proxies, no redirects followed), so that
two servers can be given the very same request.

Every process writes its log into the test's directory; a member that does
not come up fails with the tail of that log."""

import http.client
import json
import os
import signal
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ETCD = "/usr/bin/etcd"
ETCDCTL = "/usr/bin/etcdctl"
PITH_KV = os.path.join(ROOT, "build", "bin", "pith-kv")
IMPLS = {"etcd": ETCD, "pith": PITH_KV}

# A member must answer within this long of being started (etcd takes about
# a second: one election timeout); long enough for a loaded 2-CPU machine.
START_WAIT = 30.0
# How long one ordinary request may take before it counts as unanswered.
REQUEST_WAIT = 10.0


def binary(impl):
    """The program for impl ("etcd" or "pith"), or AssertionError saying how
    to get it."""
    path = IMPLS.get(impl)
    if path is None:
        raise AssertionError("unknown implementation %r (want one of %s)" % (impl, sorted(IMPLS)))
    if not os.access(path, os.X_OK):
        how = ("make -C %s build/bin/pith-kv" % ROOT) if impl == "pith" else "apt-get install etcd-server"
        raise AssertionError("%s is missing: %s (or set KV_DIFF_IMPL=etcd to test etcd "
                             "against itself)" % (path, how))
    return path


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (all held open while choosing,
    so they differ from each other)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def child_env():
    """The environment for servers and clients: ours without etcd's own
    variables (etcd reads ETCD_* as flags, etcdctl ETCDCTL_*) and without
    proxies, so that nothing but the flags we give decides what they do."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ETCD_", "ETCDCTL_")) and "proxy" not in k.lower()}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


class Answer:
    """One HTTP answer, or the lack of one: status is an int, or "reset"
    (the connection was closed or reset without an answer), "timeout" or
    "refused" (nothing listening)."""

    def __init__(self, status, headers=(), body=b"", detail=""):
        self.status = status
        self.headers = list(headers)
        self.body = body
        self.detail = detail

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "Answer(%r, %r)" % (self.status, self.body[:200])

    def describe(self, limit=2000):
        """The answer as it came over the wire, for a failure message."""
        if not isinstance(self.status, int):
            return "(no answer: %s%s)" % (self.status, ": " + self.detail if self.detail else "")
        lines = ["HTTP/1.1 %d" % self.status] + ["%s: %s" % kv for kv in self.headers]
        body = self.body.decode("utf-8", "backslashreplace")
        if len(body) > limit:
            body = body[:limit] + "... (%d bytes)" % len(self.body)
        return "\n".join(lines) + "\n\n" + body


def request_bytes(method, target, body=None, headers=()):
    """A request as it will be sent: the target exactly as given."""
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: 127.0.0.1"]
    for k, v in headers:
        lines.append("%s: %s" % (k, v))
    if body is not None:
        lines.append("Content-Length: %d" % len(body))
    lines.append("Connection: close")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    return raw + (body or b"")


def send(url, method, target, body=None, headers=(), timeout=REQUEST_WAIT):
    """Send one request on a new connection to url (http://127.0.0.1:P) and
    return its Answer. target goes out unchanged (percent-escapes, "..",
    "//" and all); body is bytes or None."""
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    assert host in ("127.0.0.1", "localhost"), url
    if isinstance(body, str):
        body = body.encode("utf-8")
    raw = request_bytes(method, target, body, headers)
    try:
        sock = socket.create_connection((host, int(port)), timeout=timeout)
    except ConnectionRefusedError as e:
        return Answer("refused", detail=repr(e))
    try:
        sock.sendall(raw)
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        data = resp.read()
        return Answer(resp.status, resp.getheaders(), data)
    except (socket.timeout, TimeoutError) as e:
        return Answer("timeout", detail=repr(e))
    except (ConnectionError, http.client.RemoteDisconnected, http.client.IncompleteRead,
            http.client.BadStatusLine, BrokenPipeError) as e:
        return Answer("reset", detail=repr(e))
    finally:
        sock.close()


class Member:
    """One running member: its URLs, process and log."""

    def __init__(self, impl, name, data_dir, log_path, client_port, peer_port, argv, proc):
        self.impl = impl
        self.name = name
        self.data_dir = data_dir
        self.log_path = log_path
        self.client_port = client_port
        self.peer_port = peer_port
        self.url = "http://127.0.0.1:%d" % client_port
        self.peer_url = "http://127.0.0.1:%d" % peer_port
        self.argv = argv
        self.process = proc

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError as e:
            return "(no log: %s)" % e

    def check_running(self, what):
        if self.process.poll() is not None:
            raise AssertionError("%s member %s exited with %s while %s; argv %s\n--- log %s:\n%s"
                                 % (self.impl, self.name, self.process.returncode, what,
                                    " ".join(self.argv), self.log_path, self.log_tail()))

    def get(self, target, timeout=REQUEST_WAIT):
        return send(self.url, "GET", target, timeout=timeout)

    def index(self):
        """The store's index now (X-Etcd-Index of GET /v2/keys/)."""
        a = self.get("/v2/keys/")
        assert a.status == 200, "GET /v2/keys/ on %s: %s" % (self.name, a.describe())
        return int(a.header("X-Etcd-Index"))

    def stop(self, timeout=10.0):
        """SIGTERM, wait up to timeout, then SIGKILL. The exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def __repr__(self):
        return "<%s member %s at %s>" % (self.impl, self.name, self.url)


def member_flags(name, data_dir, client_port, peer_port, initial_cluster, state="new"):
    """etcd's flags for one member on loopback; pith-kv takes the same."""
    client = "http://127.0.0.1:%d" % client_port
    peer = "http://127.0.0.1:%d" % peer_port
    return ["--name", name, "--data-dir", data_dir, "--enable-v2",
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", initial_cluster, "--initial-cluster-state", state]


def spawn_member(impl, tmpdir, name="n1", client_port=None, peer_port=None,
                 initial_cluster=None, extra=(), state="new"):
    """Start a member without waiting for it; state "existing" joins a
    running cluster it was added to."""
    prog = binary(impl)
    if client_port is None or peer_port is None:
        c, p = free_ports(2)
        client_port = client_port or c
        peer_port = peer_port or p
    if initial_cluster is None:
        initial_cluster = "%s=http://127.0.0.1:%d" % (name, peer_port)
    os.makedirs(tmpdir, exist_ok=True)
    data_dir = os.path.join(tmpdir, "%s-%s.data" % (impl, name))
    log_path = os.path.join(tmpdir, "%s-%s.log" % (impl, name))
    argv = [prog] + member_flags(name, data_dir, client_port, peer_port, initial_cluster, state) + list(extra)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=child_env(), start_new_session=True)
    return Member(impl, name, data_dir, log_path, client_port, peer_port, argv, proc)


def wait_answering(member, deadline):
    """Until GET /v2/keys/ on member answers 200."""
    last = None
    while True:
        member.check_running("starting")
        last = member.get("/v2/keys/", timeout=1.0)
        if last.status == 200:
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    raise AssertionError("%s member %s did not answer GET /v2/keys/ with 200 within %.0f s; last: %s\n"
                         "--- log %s:\n%s" % (member.impl, member.name, START_WAIT, last.describe(),
                                               member.log_path, member.log_tail()))


def wait_settled(member, deadline):
    """Until the member's index stops moving. A new etcd writes its own
    records (its membership, its attributes, the cluster version) into the
    store before and just after it starts answering; the tests compare
    indexes, so they start only once those writes are done."""
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        member.check_running("settling")
        v = send(member.url, "GET", "/version", timeout=1.0)
        decided = True
        if v.status == 200:
            try:
                decided = v.json().get("etcdcluster") != "not_decided"
            except ValueError:
                pass
        idx = member.index()
        if idx != last or not decided:
            last, since = idx, time.monotonic()
        elif time.monotonic() - since > 0.15:
            return idx
        time.sleep(0.05)
    raise AssertionError("%s member %s: the index kept moving for %.0f s\n--- log:\n%s"
                         % (member.impl, member.name, START_WAIT, member.log_tail()))


def leader_of(members):
    """The member that says it leads (GET /v2/stats/self), or None."""
    for m in members:
        a = m.get("/v2/stats/self", timeout=1.0)
        if a.status == 200:
            try:
                if a.json().get("state") == "StateLeader":
                    return m
            except ValueError:
                pass
    return None


def wait_leader(members, deadline):
    """Until one member leads. Where no member answers /v2/stats/self, a
    write that succeeds shows that there is a leader (it costs an index)."""
    while True:
        for m in members:
            m.check_running("electing a leader")
        if leader_of(members):
            return
        if not any(m.get("/v2/stats/self", timeout=1.0).status == 200 for m in members):
            a = send(members[0].url, "PUT", "/v2/keys/_kvlib_ready", b"value=1",
                     [("Content-Type", "application/x-www-form-urlencoded")], timeout=2.0)
            if a.status in (200, 201):
                return
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    raise AssertionError("no leader among %s within %.0f s\n%s" % (
        members, START_WAIT, "\n".join("--- %s log %s:\n%s" % (m.name, m.log_path, m.log_tail())
                                       for m in members)))


def wait_agreed_leader(members, deadline):
    """Until every member names the same leader in /v2/stats/self, one of
    themselves; its ID. (A member that has just won an election says so
    before the others have heard from it, and after a leader is removed
    the others name it until they elect another.)"""
    while True:
        for m in members:
            m.check_running("electing a leader")
        ids, named = set(), set()
        for m in members:
            a = m.get("/v2/stats/self", timeout=1.0)
            try:
                self = a.json() if a.status == 200 else {}
            except ValueError:
                self = {}
            ids.add(self.get("id"))
            named.add(self.get("leaderInfo", {}).get("leader"))
        if len(named) == 1 and named <= ids:
            return named.pop()
        if time.monotonic() > deadline:
            raise AssertionError("members %s do not agree on a leader among them within %.0f s: %s" % (
                members, START_WAIT, sorted(map(str, named))))
        time.sleep(0.1)


def wait_started(member, deadline=None):
    """Until a member of a cluster of one answers and its index has
    settled; the index."""
    if deadline is None:
        deadline = time.monotonic() + START_WAIT
    wait_answering(member, deadline)
    return wait_settled(member, deadline)


def start_member(impl, tmpdir, name="n1", client_port=None, peer_port=None, initial_cluster=None,
                 extra=()):
    """Start one member (a cluster of one unless initial_cluster names
    others) and wait until it answers and, alone, its index has settled."""
    m = spawn_member(impl, tmpdir, name, client_port, peer_port, initial_cluster, extra)
    try:
        if initial_cluster is None or initial_cluster.count("=") == 1:
            wait_started(m)
        else:
            wait_answering(m, time.monotonic() + START_WAIT)
    except BaseException:
        m.stop()
        raise
    return m


def spawn_cluster(impl, tmpdir, n, extra=()):
    """Start n members n1..nN on loopback without waiting for them."""
    ports = free_ports(2 * n)
    names = ["n%d" % (i + 1) for i in range(n)]
    initial = ",".join("%s=http://127.0.0.1:%d" % (nm, ports[2 * i + 1]) for i, nm in enumerate(names))
    members = []
    try:
        for i, nm in enumerate(names):
            members.append(spawn_member(impl, tmpdir, nm, ports[2 * i], ports[2 * i + 1], initial, extra))
    except BaseException:
        stop_all(members)
        raise
    return members


def wait_cluster(members):
    """Until every member answers, one leads and the indexes have settled;
    stops them all if that does not happen."""
    try:
        deadline = time.monotonic() + START_WAIT
        for m in members:
            wait_answering(m, deadline)
        wait_leader(members, deadline)
        for m in members:
            wait_settled(m, deadline)
    except BaseException:
        stop_all(members)
        raise
    return members


def start_cluster(impl, tmpdir, n, extra=()):
    """n members n1..nN on loopback; returns them once every one answers and
    one leads."""
    return wait_cluster(spawn_cluster(impl, tmpdir, n, extra))


def stop_all(members):
    for m in members:
        m.stop()


def etcdctl(member_or_url, *args, timeout=REQUEST_WAIT, input=None):
    """Run the real etcdctl (API v2) against a member; (returncode, stdout,
    stderr)."""
    url = member_or_url if isinstance(member_or_url, str) else member_or_url.url
    env = child_env()
    env["ETCDCTL_API"] = "2"
    r = subprocess.run([ETCDCTL, "--endpoints", url] + list(args), capture_output=True, text=True,
                       timeout=timeout, env=env, input=input)
    return r.returncode, r.stdout, r.stderr
