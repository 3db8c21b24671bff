"""A pith-kv (or etcd) cluster in network namespaces, with faults to inject
and a client workload whose history linearize.py checks.

Layout, for a cluster with tag T (random, so parallel and stale runs do not
collide) and subnet 10.77.K.0/24 (K random):

    kvhT           the hub: bridge br0, one port vI per member
    kvIT           member I: eth0 = 10.77.K.(10+I), the peer of vI; lo

Peer traffic crosses the bridge, over TLS with client certificates made by
`pith gen`. A partition takes the hub's end of a member's veth down: the
member's own interface keeps its address and its routes, and what it sends
is dropped silently, as on a real network that broke.

Clients do not cross the bridge: a client socket is opened inside the
member's namespace (setns(2) on the calling thread only, around connect())
and talks to 127.0.0.1:2379 there, as a client on the member's own machine
would. An isolated member therefore still has clients, which is how a
stale read or a lost write on the minority side would show.

Cluster.new_member() adds a namespace and a certificate for one more member
(index N+1, on the same bridge) that a test adds with POST /v2/members and
starts with start_member(m, initial_cluster=..., state="existing").

Data directories are on a tmpfs per cluster (kill -9 does not lose the page
cache, so durability against process death is tested all the same, and two
cores do not wait on a disk); the full-disk member gets a tmpfs of its own.
"""

import contextlib
import ctypes
import http.client
import json
import os
import random
import re
import signal
import subprocess
import threading
import time
import urllib.parse
import uuid

import linearize

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PITH = os.path.join(ROOT, "build", "bin", "pith")
PITH_KV = os.path.join(ROOT, "build", "bin", "pith-kv")
ETCD = "/usr/bin/etcd"
CLIENT_PORT, PEER_PORT = 2379, 2380

HEARTBEAT_MS, ELECTION_MS = 100, 1000

# Timings the tests measured, printed at the end of the run by conftest.py
# (they are reported, and asserted only against generous bounds).
MEASURED = []

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def impl():
    """('pith'|'etcd', path of the binary), from KV_IMPL."""
    name = os.environ.get("KV_IMPL", "pith")
    if name == "pith":
        return name, PITH_KV
    if name == "etcd":
        return name, ETCD
    raise ValueError("KV_IMPL must be 'pith' or 'etcd', not %r" % name)


def ip(*args):
    r = subprocess.run(["ip"] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


@contextlib.contextmanager
def in_netns(fd):
    """Run the block with the calling thread (only) in the namespace fd."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns: " + os.strerror(e))
        try:
            yield
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:
                e = ctypes.get_errno()
                raise OSError(e, "setns back: " + os.strerror(e))
    finally:
        os.close(own)


class _NsConnection(http.client.HTTPConnection):
    def __init__(self, nsfd, host, port, timeout):
        super().__init__(host, port, timeout=timeout)
        self._nsfd = nsfd

    def connect(self):
        with in_netns(self._nsfd):
            super().connect()


class Reply:
    """An HTTP answer (status, parsed JSON body or None, raw body), or an
    error (status None, error the exception's text)."""

    def __init__(self, status=None, body=None, raw=b"", error=None):
        self.status, self.body, self.raw, self.error = status, body, raw, error

    def __repr__(self):
        if self.error:
            return "<error %s>" % self.error
        return "<%s %s>" % (self.status, self.raw[:200])

    @property
    def code(self):
        """etcd's errorCode, if the body has one."""
        return self.body.get("errorCode") if isinstance(self.body, dict) else None


class Member:
    def __init__(self, cluster, i):
        self.cluster, self.i = cluster, i
        self.name = "n%d" % i
        self.ns = "kv%d%s" % (i, cluster.tag)
        self.veth = "v%d" % i           # the hub's end
        self.addr = "10.77.%d.%d" % (cluster.k, 10 + i)
        self.data = os.path.join(cluster.dir, "data", self.name)
        self.log = os.path.join(cluster.dir, "%s.log" % self.name)
        self.proc = None
        self.stopped = False            # SIGSTOPped
        self.nsfd = None
        self.tmpfs = None               # a mount of its own, for the full disk
        self.certs = None               # None: the cluster's; else a directory of its own
        self.initial_cluster = None     # None: every member, "new"; see start_member
        self.state = "new"

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def peer_url(self):
        return "https://%s:%d" % (self.addr, PEER_PORT)

    def __repr__(self):
        return self.name


class Cluster:
    """N members, not started. start() brings them up; close() tears
    everything down and is safe to call twice and after any failure."""

    def __init__(self, n, workdir, heartbeat=HEARTBEAT_MS, election=ELECTION_MS):
        self.kind, self.binary = impl()
        self.n, self.heartbeat, self.election = n, heartbeat, election
        self.tag = uuid.uuid4().hex[:6]
        self.k = random.randint(1, 254)
        self.dir = str(workdir)
        self.hub = "kvh" + self.tag
        self.members = [Member(self, i) for i in range(1, n + 1)]
        self._namespaces = []
        self._mounts = []
        self._logs = []
        self.events = []                # (monotonic_ns, text): what was done when

    # -- set-up and tear-down ------------------------------------------------

    def start(self, full_disk_member=None, full_disk_mib=None):
        if self.kind == "pith" and not os.access(self.binary, os.X_OK):
            raise FileNotFoundError(
                "KV_IMPL=pith but %s does not exist: build pith-kv (make build/bin/pith-kv) or run "
                "with KV_IMPL=etcd to test the tests against etcd 3.4" % self.binary)
        if not os.access(self.binary, os.X_OK):
            raise FileNotFoundError("%s does not exist (apt-get install etcd-server)" % self.binary)
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        self._mount(os.path.join(self.dir, "data"), 1024)
        if full_disk_member is not None:
            m = self.members[full_disk_member]
            os.makedirs(m.data)
            self._mount(m.data, full_disk_mib)
            m.tmpfs = m.data
        self._certs()
        self._network()
        for m in self.members:
            self.start_member(m)

    def _mount(self, path, mib):
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0700" % mib, "kvtest", path],
                       check=True)
        self._mounts.append(path)

    def _certs(self):
        if not os.access(PITH, os.X_OK):
            subprocess.run(["make", "-C", ROOT, "build/bin/pith"], check=True, capture_output=True)
        self.certs = os.path.join(self.dir, "certs")
        subprocess.run([PITH, "gen", "ca", "--dir", self.certs], check=True, capture_output=True)
        for m in self.members:
            subprocess.run([PITH, "gen", "node", m.name, "--dir", self.certs, "--ip", m.addr],
                           check=True, capture_output=True)

    def _network(self):
        ip("netns", "add", self.hub)
        self._namespaces.append(self.hub)
        ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
        ip("-n", self.hub, "link", "set", "br0", "up")
        ip("-n", self.hub, "link", "set", "lo", "up")
        for m in self.members:
            self._link(m)

    def _link(self, m):
        """m's namespace and its veth to the hub's bridge."""
        ip("netns", "add", m.ns)
        self._namespaces.append(m.ns)
        ip("link", "add", m.veth, "netns", self.hub, "type", "veth", "peer", "name", "eth0",
           "netns", m.ns)
        ip("-n", self.hub, "link", "set", m.veth, "master", "br0", "up")
        ip("-n", m.ns, "addr", "add", m.addr + "/24", "dev", "eth0")
        ip("-n", m.ns, "link", "set", "eth0", "up")
        ip("-n", m.ns, "link", "set", "lo", "up")
        m.nsfd = os.open("/run/netns/" + m.ns, os.O_RDONLY)

    def new_member(self, foreign_ca=False):
        """One more member, index len(members) + 1, on the same bridge, with
        its namespace and a certificate made by `pith gen` (from the
        cluster CA, or with foreign_ca from a CA of its own that the cluster
        does not trust; it still trusts the cluster's CA). Not started and
        not in the Raft configuration: the test adds it (POST /v2/members)
        and starts it with start_member(m, initial_cluster=..., state="existing")."""
        m = Member(self, len(self.members) + 1)
        certs = self.certs
        if foreign_ca:
            certs = os.path.join(self.dir, "certs-" + m.name)
            subprocess.run([PITH, "gen", "ca", "--dir", certs], check=True, capture_output=True)
            m.certs = certs
        subprocess.run([PITH, "gen", "node", m.name, "--dir", certs, "--ip", m.addr],
                       check=True, capture_output=True)
        self.members.append(m)
        self._link(m)
        self.note("new member %s%s" % (m, " (foreign CA)" if foreign_ca else ""))
        return m

    def close(self):
        for m in self.members:
            if m.proc is not None and m.proc.poll() is None:
                m.proc.kill()
        for m in self.members:
            if m.proc is not None:
                try:
                    m.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            if m.nsfd is not None:
                os.close(m.nsfd)
                m.nsfd = None
        for f in self._logs:
            f.close()
        self._logs = []
        for ns in self._namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self._namespaces = []
        for path in reversed(self._mounts):
            subprocess.run(["umount", "-l", path], capture_output=True)
        self._mounts = []

    def note(self, text):
        self.events.append((time.monotonic_ns(), text))

    # -- members -------------------------------------------------------------

    def command(self, m):
        cluster = m.initial_cluster or ",".join("%s=%s" % (o.name, o.peer_url()) for o in self.members)
        certs = m.certs or self.certs
        return [self.binary, "--enable-v2",
                "--name", m.name, "--data-dir", m.data,
                "--listen-client-urls", "http://127.0.0.1:%d,http://%s:%d" % (CLIENT_PORT, m.addr, CLIENT_PORT),
                "--advertise-client-urls", "http://%s:%d" % (m.addr, CLIENT_PORT),
                "--listen-peer-urls", m.peer_url(),
                "--initial-advertise-peer-urls", m.peer_url(),
                "--initial-cluster", cluster,
                "--initial-cluster-state", m.state,
                "--heartbeat-interval", str(self.heartbeat),
                "--election-timeout", str(self.election),
                "--peer-cert-file", os.path.join(certs, "nodes", m.name + ".crt"),
                "--peer-key-file", os.path.join(certs, "nodes", m.name + ".key"),
                "--peer-trusted-ca-file", os.path.join(self.certs, "ca.crt"),
                "--peer-client-cert-auth"]

    def start_member(self, m, initial_cluster=None, state=None):
        """Start (or restart, on the same data directory) member m. The
        environment is empty but for PATH: no proxy variables (Go's
        transport would send peer traffic to a proxy) and no ETCD_*.
        initial_cluster and state (kept for restarts) are the
        --initial-cluster and --initial-cluster-state to give it, for a
        member joining with "existing"; by default every member and "new"."""
        assert not m.running, "%s is already running" % m
        if initial_cluster is not None:
            m.initial_cluster = initial_cluster
        if state is not None:
            m.state = state
        log = open(m.log, "a")
        self._logs.append(log)
        log.write("\n==== start %s\n" % time.strftime("%H:%M:%S"))
        log.flush()
        m.proc = subprocess.Popen(["ip", "netns", "exec", m.ns] + self.command(m),
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                  env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, cwd=self.dir)
        m.stopped = False
        self.note("start %s" % m)

    def kill(self, m):
        """kill -9, and reap."""
        m.proc.kill()
        m.proc.wait(timeout=10)
        m.stopped = False
        self.note("kill -9 %s" % m)

    def pause(self, m):
        m.proc.send_signal(signal.SIGSTOP)
        m.stopped = True
        self.note("SIGSTOP %s" % m)

    def resume(self, m):
        m.proc.send_signal(signal.SIGCONT)
        m.stopped = False
        self.note("SIGCONT %s" % m)

    def isolate(self, *ms):
        for m in ms:
            ip("-n", self.hub, "link", "set", m.veth, "down")
        self.note("isolate %s" % ",".join(map(str, ms)))

    def connect(self, *ms):
        for m in ms:
            ip("-n", self.hub, "link", "set", m.veth, "up")
        self.note("reconnect %s" % ",".join(map(str, ms)))

    def heal(self):
        for m in self.members:
            ip("-n", self.hub, "link", "set", m.veth, "up")
            if m.stopped:
                self.resume(m)
        self.note("heal")

    def live(self):
        return [m for m in self.members if m.running and not m.stopped]

    def logs(self, tail=40):
        out = []
        for m in self.members:
            try:
                with open(m.log, errors="replace") as f:
                    lines = f.read().splitlines()[-tail:]
            except OSError:
                lines = []
            out.append("---- %s (%s)\n%s" % (m, m.log, "\n".join(lines)))
        return "\n".join(out)

    # -- HTTP ----------------------------------------------------------------

    def http(self, m, method, path, form=None, timeout=4.0, json_body=None):
        """One request to member m, on a new connection from inside its
        namespace. Never raises for network trouble: returns a Reply with
        .error set. json_body (instead of form) is sent as
        application/json, as /v2/members wants."""
        conn = _NsConnection(m.nsfd, "127.0.0.1", CLIENT_PORT, timeout)
        body = urllib.parse.urlencode(form) if form is not None else None
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
        if json_body is not None:
            body = json.dumps(json_body)
            headers = {"Content-Type": "application/json"}
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            raw = r.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            return Reply(r.status, parsed, raw)
        except (OSError, http.client.HTTPException) as e:
            return Reply(error="%s: %s" % (type(e).__name__, e))
        finally:
            conn.close()

    def member_table(self, m, timeout=4.0):
        """GET /v2/members on m: [{id, name, peerURLs, clientURLs}], or
        None if it does not answer 200."""
        r = self.http(m, "GET", "/v2/members", timeout=timeout)
        if r.status == 200 and isinstance(r.body, dict):
            return r.body.get("members")
        return None

    def stats(self, m, timeout=0.5):
        r = self.http(m, "GET", "/v2/stats/self", timeout=timeout)
        return r.body if r.status == 200 and isinstance(r.body, dict) else None

    def wait_leader(self, timeout=15.0, among=None, exclude_id=None):
        """The member that leads, once exactly one of `among` (default: the
        live members) says it is leader and a majority of the cluster
        names it in leaderInfo, or raise AssertionError."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            members = among if among is not None else self.live()
            lead, named = {}, {}
            for m in members:
                s = self.stats(m)
                if s is None:
                    continue
                if s.get("state") == "StateLeader":
                    lead[m] = s.get("id")
                who = (s.get("leaderInfo") or {}).get("leader")
                named[who] = named.get(who, 0) + 1
            last = (lead, named)
            if len(lead) == 1:
                m, mid = next(iter(lead.items()))
                if mid != exclude_id and named.get(mid, 0) > self.n // 2:
                    return m
            time.sleep(0.05)
        raise AssertionError("no single leader within %.1f s (last: leaders %s, named %s)\n%s"
                             % (timeout, last[0] if last else None, last[1] if last else None,
                                self.logs()))

    # -- the full disk ---------------------------------------------------------

    def fill_disk(self, m):
        """Fill m's tmpfs to the last byte; return the bytes written."""
        path = os.path.join(m.tmpfs, "filler")
        total = 0
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for chunk in (1 << 20, 4096, 1):
                buf = b"\0" * chunk
                while True:
                    try:
                        total += os.write(fd, buf)
                    except OSError as e:
                        if e.errno != 28:   # ENOSPC
                            raise
                        break
        finally:
            os.close(fd)
        self.note("disk of %s full (%d bytes of filler)" % (m, total))
        return total

    def free_disk(self, m, grow_mib=0):
        """Remove the filler and grow the tmpfs by grow_mib, as an operator
        would give a full disk room (etcd must copy a torn 64 MB WAL
        segment to repair it, which the freed space alone does not hold)."""
        os.unlink(os.path.join(m.tmpfs, "filler"))
        if grow_mib:
            st = os.statvfs(m.tmpfs)
            size = (st.f_blocks * st.f_frsize >> 20) + grow_mib
            subprocess.run(["mount", "-o", "remount,size=%dm" % size, m.tmpfs], check=True)
        self.note("disk of %s freed%s" % (m, " and grown by %d MiB" % grow_mib if grow_mib else ""))

    def disk_free(self, m):
        st = os.statvfs(m.tmpfs)
        return st.f_bavail * st.f_frsize


# -- the workload ---------------------------------------------------------------

_CAUSE = re.compile(r"^\[(.*) != (.*)\]$")


class Workload:
    """Client threads doing random reads (quorum=true), writes and
    compare-and-swaps on a few keys against random members, recording
    every operation for the checker. Each write carries a value no other
    write uses."""

    def __init__(self, cluster, workers=4, keys=5, timeout=4.0, think=(0.005, 0.03),
                 members=None, seed=None, prefix="c"):
        self.c = cluster
        self.prefix = prefix
        self.workers, self.timeout, self.think = workers, timeout, think
        self.keys = ["k%d" % i for i in range(keys)]
        self.members = members            # None: all of them
        self.ops = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self.rng = random.Random(seed)

    def start(self):
        for w in range(self.workers):
            t = threading.Thread(target=self._run, args=(w, random.Random(self.rng.random())),
                                 name="client%d" % w, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=self.timeout + 10)
        assert not any(t.is_alive() for t in self._threads), "a client thread hangs"

    def _record(self, op):
        with self._lock:
            self.ops.append(op)

    def _run(self, w, rng):
        seq = 0
        last = {}                           # key -> a value this client saw there
        name = "%s%d" % (self.prefix, w)
        while not self._stop.is_set():
            key = rng.choice(self.keys)
            m = rng.choice(self.members or self.c.members)
            r = rng.random()
            if r < 0.4:
                op = self.read(m, key, name)
                if op.known and op.out is not None:
                    last[key] = op.out
            elif r < 0.8 or key not in last:
                seq += 1
                op = self.write(m, key, "%s-%d" % (name, seq), name)
            else:
                seq += 1
                op = self.cas(m, key, last[key], "%s-%d" % (name, seq), name)
                if op.known and op.out:
                    last[key] = op.value
                elif op.known and op.seen is not linearize.UNSEEN and op.seen is not None:
                    last[key] = op.seen
            self._record(op)
            time.sleep(rng.uniform(*self.think))

    def _path(self, key):
        return "/v2/keys/" + key

    def read(self, m, key, client="final"):
        t = time.monotonic_ns()
        r = self.c.http(m, "GET", self._path(key) + "?quorum=true", timeout=self.timeout)
        e = time.monotonic_ns()
        op = linearize.Op(key, linearize.READ, t, None, client=client, via=m.name)
        if r.status == 200 and isinstance(r.body, dict) and "node" in r.body:
            op.ret, op.out = e, r.body["node"].get("value")
        elif r.status == 404 and r.code == 100:
            op.ret, op.out = e, None
        return op

    def write(self, m, key, value, client="final"):
        t = time.monotonic_ns()
        r = self.c.http(m, "PUT", self._path(key), {"value": value}, timeout=self.timeout)
        e = time.monotonic_ns()
        op = linearize.Op(key, linearize.WRITE, t, None, value=value, client=client, via=m.name)
        if r.status in (200, 201):
            op.ret = e
        return op

    def cas(self, m, key, expect, value, client="final"):
        t = time.monotonic_ns()
        r = self.c.http(m, "PUT", self._path(key), {"value": value, "prevValue": expect},
                        timeout=self.timeout)
        e = time.monotonic_ns()
        op = linearize.Op(key, linearize.CAS, t, None, value=value, expect=expect, client=client,
                          via=m.name)
        if r.status in (200, 201):
            op.ret, op.out = e, True
        elif r.status == 412 and r.code == 101:
            op.ret, op.out = e, False
            # etcd: "[prevValue != value]" when only prevValue was given.
            mm = _CAUSE.match((r.body or {}).get("cause", ""))
            if mm and mm.group(1) == expect:
                op.seen = mm.group(2)
        elif r.status == 404 and r.code == 100:
            op.ret, op.out, op.seen = e, False, None
        return op

    # -- after the run -----------------------------------------------------------

    def final_reads(self, members=None, timeout=20.0):
        """A quorum read of every key from every member (retrying until
        each answers, up to timeout), recorded in the history.
        Returns {key: value} from the last member read."""
        final = {}
        deadline = time.monotonic() + timeout
        for m in members or self.c.members:
            for key in self.keys:
                while True:
                    op = self.read(m, key)
                    if op.known:
                        self._record(op)
                        final[key] = op.out
                        break
                    if time.monotonic() > deadline:
                        raise AssertionError("%s does not answer a quorum read of %s after healing\n%s"
                                             % (m, key, self.c.logs()))
                    time.sleep(0.2)
        return final

    def summary(self):
        counts = {}
        for op in self.ops:
            k = (op.kind, "ok" if op.known and (op.kind != linearize.CAS or op.out) else
                 ("refused" if op.known else "unknown"))
            counts[k] = counts.get(k, 0) + 1
        return ", ".join("%s %s: %d" % (k[0], k[1], v) for k, v in sorted(counts.items()))


def measured(text):
    """A figure for the summary at the end of the run (conftest.py), under
    the name of the test that measured it."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0].split("::")[-1]
    MEASURED.append("%s: %s" % (test, text))


def clusters(tmp_path):
    """For a fixture: yields make(n, **start_args), which starts a cluster
    of n members under tmp_path; every cluster made is closed after."""
    name, binary = impl()
    if not os.access(binary, os.X_OK):
        raise AssertionError("KV_IMPL=%s: %s does not exist or is not executable%s" % (
            name, binary, "; build pith-kv first, or run with KV_IMPL=etcd (Debian's etcd 3.4)"
            if name == "pith" else ""))
    made = []

    def make(n, **kw):
        c = Cluster(n, tmp_path / ("cluster%d" % len(made)))
        made.append(c)
        c.start(**kw)
        return c

    try:
        yield make
    finally:
        for c in made:
            c.close()


def settle(c, w, members=None, extra=(), timeout=20.0):
    """After a run: a leader among members (default: all), final quorum
    reads from each, and the checks: every member agrees, no acknowledged
    write is lost, the history (w's and the extra Workloads') is
    linearizable, and every member's local reads converge. The ops."""
    members = list(members or c.members)
    c.wait_leader(timeout=timeout, among=members)
    final = {m: w.final_reads([m], timeout=timeout) for m in members}
    ops = list(w.ops) + [op for x in extra for op in x.ops]
    acked = [op for op in ops if op.kind != linearize.READ and op.known and
             (op.kind == linearize.WRITE or op.out)]
    assert len(acked) >= 30, "too few acknowledged writes (%d) for the run to mean anything: %s\n%s" % (
        len(acked), w.summary(), c.logs())

    # Every member's quorum read agrees.
    values = {tuple(sorted(f.items())) for f in final.values()}
    assert len(values) == 1, "members disagree at the end: %s" % final

    # No acknowledged write is lost.
    last = final[members[0]]
    for key, v in last.items():
        writes = [op for op in ops if op.key == key and op.kind != linearize.READ]
        possible = {op.value for op in writes if not op.known or op.kind == linearize.WRITE or op.out}
        if v is None:
            gone = [op.describe() for op in writes if op.known and (op.kind == linearize.WRITE or op.out)]
            assert not gone, "key %s is gone, yet these writes were acknowledged:\n%s" % (key, "\n".join(gone))
        else:
            assert v in possible, "key %s ends as %r, which no write that may have happened wrote" % (key, v)

    r = linearize.check(ops)
    assert r, r.report() + "\n\nevents:\n" + "\n".join(
        "%9.1f %s" % ((t - r.t0) / 1e6, e) for t, e in c.events)

    # Every member converges on the same state (local reads).
    deadline = time.monotonic() + timeout
    for m in members:
        for key, v in last.items():
            while True:
                rep = c.http(m, "GET", "/v2/keys/" + key)
                got = rep.body["node"].get("value") if rep.status == 200 else (
                    None if rep.status == 404 and rep.code == 100 else rep)
                if got == v:
                    break
                assert time.monotonic() < deadline, "%s still has %s = %r, the cluster %r\n%s" % (
                    m, key, got, v, c.logs())
                time.sleep(0.2)
    measured("%s: %d operations (%s); linearizable, checked in %.2f s"
             % (c.kind, len(ops), w.summary(), r.elapsed))
    return ops
