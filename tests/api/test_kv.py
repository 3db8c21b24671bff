"""pith-kv as its users meet it: three members on loopback, the real
etcdctl (API v2) and python3-etcd as clients, the seed tutorial's session,
etcdctl through the control port with a token, restarts, and peers that
should be turned away."""

import http.client
import os
import re
import select
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

import conftest
import kvlib
from controllib import CONTROL, Creds, free_port, gen
from unitlib import WAIT, wait_until


@pytest.fixture
def cluster(tmp_path):
    members = kvlib.start_cluster("pith", str(tmp_path), 3)
    yield members
    kvlib.stop_all(members)


def ctl(member, *args, **kw):
    return kvlib.etcdctl(member, *args, **kw)


def ok(member, *args):
    rc, out, err = ctl(member, *args)
    assert rc == 0, "etcdctl %s on %s: rc %d\n%s%s" % (" ".join(args), member.name, rc, out, err)
    return out


def test_seed_session_set_on_one_member_get_on_another(cluster):
    a, b, c = cluster
    assert ok(a, "set", "/message", "Hello World") == "Hello World\n"
    assert ok(b, "get", "/message") == "Hello World\n"
    ok(a, "set", "/tmp/message1", "Hello")
    ok(c, "set", "/tmp/message2", "World")
    assert ok(b, "get", "/tmp/message1") == "Hello\n"
    assert sorted(ok(c, "ls", "/tmp").split()) == ["/tmp/message1", "/tmp/message2"]
    assert sorted(ok(a, "ls", "--recursive").split()) == [
        "/message", "/tmp", "/tmp/message1", "/tmp/message2"]


def test_etcdctl_commands_across_members(cluster):
    a, b, c = cluster
    assert ok(a, "mk", "/k", "one") == "one\n"
    rc, _, err = ctl(b, "mk", "/k", "again")
    assert rc == 4 and "105: Key already exists (/k)" in err, err
    assert ok(c, "update", "/k", "two") == "two\n"
    assert ok(a, "set", "--swap-with-value", "two", "/k", "three") == "three\n"
    rc, _, err = ctl(b, "set", "--swap-with-value", "nope", "/k", "four")
    assert rc == 4 and "101: Compare failed" in err, err
    ok(b, "mkdir", "/d")
    ok(c, "rmdir", "/d")
    ok(a, "rm", "/k")
    rc, _, err = ctl(c, "get", "/k")
    assert rc == 4 and "100: Key not found (/k)" in err, err
    members = ok(a, "member", "list")
    for m in cluster:
        assert "name=%s" % m.name in members and "clientURLs=%s" % m.url in members, members
    assert members.count("isLeader=true") == 1, members
    health = ok(b, "cluster-health")
    assert "cluster is healthy" in health and health.count("is healthy") == 4, health


def test_watch_on_one_member_sees_a_write_on_another(cluster):
    a, b, _ = cluster
    env = kvlib.child_env()
    env["ETCDCTL_API"] = "2"
    w = subprocess.Popen([kvlib.ETCDCTL, "--endpoints", a.url, "watch", "/w"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(0.5)
    ok(b, "set", "/w", "seen")
    out, err = w.communicate(timeout=10)
    assert w.returncode == 0 and out == "seen\n", (out, err)


def test_ttl_expires_through_the_leader_on_every_member(cluster):
    a, b, c = cluster
    ok(a, "set", "--ttl", "1", "/short", "v")
    assert ok(b, "get", "/short") == "v\n"

    def gone():
        return all(ctl(m, "get", "/short")[0] == 4 for m in cluster)

    wait_until("the key to expire on every member", gone, timeout=10)
    # The expiry is an event watchers see, with the index the leader gave it.
    ans = kvlib.send(c.url, "GET", "/v2/keys/short?wait=true&waitIndex=1")
    assert ans.status == 200 and b'"action":"set"' in ans.body


def test_python_etcd_client(cluster):
    import etcd

    a, b, _ = cluster
    ca = etcd.Client(host="127.0.0.1", port=a.client_port, allow_reconnect=False)
    cb = etcd.Client(host="127.0.0.1", port=b.client_port, allow_reconnect=False)
    ca.write("/py/x", "1")
    assert cb.read("/py/x", quorum=True).value == "1"
    r = ca.write("/py/x", "2", prevValue="1")
    assert r.value == "2"
    with pytest.raises(etcd.EtcdCompareFailed):
        cb.write("/py/x", "3", prevValue="1")
    q = ca.write("/py/queue", "first", append=True)
    assert q.key.startswith("/py/queue/") and len(q.key.rsplit("/", 1)[1]) == 20
    w = cb.read("/py/x", wait=True, waitIndex=r.modifiedIndex)
    assert w.value == "2"
    ca.delete("/py/x")
    with pytest.raises(etcd.EtcdKeyNotFound):
        cb.read("/py/x", quorum=True)


def test_data_survives_restarting_every_member(tmp_path):
    members = kvlib.start_cluster("pith", str(tmp_path), 3)
    try:
        for i in range(20):
            ok(members[i % 3], "set", "/keep/%d" % i, "v%d" % i)
        kvlib.stop_all(members)
        again = [kvlib.spawn_member("pith", str(tmp_path), m.name, m.client_port, m.peer_port,
                                    ",".join("%s=%s" % (x.name, x.peer_url) for x in members))
                 for m in members]
        members = again
        deadline = time.monotonic() + kvlib.START_WAIT
        for m in members:
            kvlib.wait_answering(m, deadline)
        kvlib.wait_leader(members, deadline)
        for i in range(20):
            assert ok(members[(i + 1) % 3], "get", "--quorum", "/keep/%d" % i) == "v%d\n" % i
    finally:
        kvlib.stop_all(members)


def test_leader_hands_over_on_sigterm(cluster):
    leader = kvlib.leader_of(cluster)
    assert leader is not None
    others = [m for m in cluster if m is not leader]
    leader.process.terminate()
    leader.process.wait(timeout=10)
    # Handed over, not elected after a timeout: a leader is there at once.
    wait_until("a new leader", lambda: kvlib.leader_of(others) is not None, timeout=1.0)
    assert "handing leadership to" in open(leader.log_path).read()
    ok(others[0], "set", "/after", "yes")


def hello(cluster_id, sender, to, version=1):
    body = struct.pack(">BIQQQ", 1, version, cluster_id, sender, to)
    return struct.pack(">I", len(body)) + body


def member_id(m):
    return int(kvlib.send(m.url, "GET", "/v2/stats/self").json()["id"], 16)


def test_peer_port_turns_strangers_away(cluster):
    a = cluster[0]
    cid = int(kvlib.send(a.url, "GET", "/v2/members").header("X-Etcd-Cluster-Id"), 16)
    me = member_id(a)
    cases = [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",                 # not the protocol
        hello(cid ^ 1, member_id(cluster[1]), me),           # another cluster
        hello(cid, 0x1234, me),                              # not a member
        hello(cid, member_id(cluster[1]), me, version=9),    # another version
        struct.pack(">I", 0xFFFFFFFF) + b"x" * 64,           # a frame of 4 GiB
    ]
    for data in cases:
        s = socket.create_connection(("127.0.0.1", a.peer_port), timeout=5)
        s.sendall(data)
        s.settimeout(5)
        assert s.recv(1) == b"", "the peer port kept a stranger's connection: %r" % data[:40]
        s.close()
    # A member claiming a higher term from outside the cluster is never heard.
    term = int(kvlib.send(a.url, "GET", "/v2/keys/").header("X-Raft-Term"))
    s = socket.create_connection(("127.0.0.1", a.peer_port), timeout=5)
    vote = struct.pack(">BQQQQQQBQQI", 2, 0x1234, me, term + 100, 0, 0, 0, 0, 0, 0, 0)
    s.sendall(hello(cid, 0x1234, me) + struct.pack(">IB", len(vote) + 1, 2) + vote)
    s.settimeout(5)
    assert s.recv(1) == b""
    s.close()
    assert int(kvlib.send(a.url, "GET", "/v2/keys/").header("X-Raft-Term")) == term
    ok(a, "set", "/still", "fine")
    assert "refused" in open(a.log_path).read()


def test_etcdctl_through_the_control_port(tmp_path):
    creds = Creds(str(tmp_path))
    token = creds.admin
    ports = kvlib.free_ports(9)
    names = ["n1", "n2", "n3"]
    initial = ",".join("%s=http://127.0.0.1:%d" % (n, ports[3 * i + 1]) for i, n in enumerate(names))
    members, controls = [], []
    try:
        for i, n in enumerate(names):
            client, peer, cport = ports[3 * i], ports[3 * i + 1], ports[3 * i + 2]
            members.append(kvlib.spawn_member(
                "pith", str(tmp_path), n, client, peer, initial,
                extra=["--advertise-client-urls", "https://127.0.0.1:%d" % cport]))
            log = open(os.path.join(str(tmp_path), "control-%s.log" % n), "ab")
            controls.append(subprocess.Popen(
                [CONTROL, "--listen", "127.0.0.1", "--port", str(cport), "--cert", creds.cert,
                 "--key", creds.key, "--ca", creds.ca, "--tokens", creds.tokens,
                 "--socket", str(tmp_path / "no-init.sock"), "--kv", "127.0.0.1:%d" % client],
                stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + kvlib.START_WAIT
        for m in members:
            kvlib.wait_answering(m, deadline)
        kvlib.wait_leader(members, deadline)
        env = kvlib.child_env()
        env["ETCDCTL_API"] = "2"

        def etcdctl(i, *args, user="root:" + token):
            argv = [kvlib.ETCDCTL, "--endpoints", "https://127.0.0.1:%d" % ports[3 * i + 2],
                    "--ca-file", creds.ca]
            if user:
                argv += ["--username", user]
            r = subprocess.run(argv + list(args), capture_output=True, text=True, env=env, timeout=20)
            return r.returncode, r.stdout, r.stderr

        rc, out, err = etcdctl(0, "set", "/message", "Hello World")
        assert rc == 0 and out == "Hello World\n", err
        rc, out, err = etcdctl(1, "get", "/message")
        assert rc == 0 and out == "Hello World\n", err
        rc, out, err = etcdctl(2, "ls", "--recursive")
        assert rc == 0 and out == "/message\n", err
        # No credential, a wrong one, a read-only one.
        rc, out, err = etcdctl(0, "get", "/message", user=None)
        assert rc == 4 and "110: The request requires user authentication" in err, (rc, out, err)
        rc, out, err = etcdctl(0, "get", "/message", user="root:wrong")
        assert rc == 4 and "110: The request requires user authentication" in err, (rc, out, err)
        rc, out, err = etcdctl(0, "get", "/message", user="reader:" + creds.reader)
        assert rc == 0 and out == "Hello World\n", err
        rc, out, err = etcdctl(0, "set", "/message", "no", user="reader:" + creds.reader)
        assert rc == 4 and "may only read" in err, (rc, out, err)
        rc, out, err = etcdctl(2, "get", "/message")
        assert out == "Hello World\n", (rc, out, err)
        # cluster-health lists the members with the credential, then asks
        # each member's client URL (its control port) for /health without it.
        rc, out, err = etcdctl(1, "cluster-health")
        assert rc == 0 and out.endswith("cluster is healthy\n"), (rc, out, err)
        for i in range(3):
            assert re.search(r"^member [0-9a-f]+ is healthy: got healthy result from "
                             r"https://127\.0\.0\.1:%d$" % ports[3 * i + 2], out, re.M), out
    finally:
        for p in controls:
            p.terminate()
            p.wait(timeout=10)
        kvlib.stop_all(members)


def test_snapshots_compact_the_log_and_catch_up_a_member(tmp_path):
    members = kvlib.start_cluster("pith", str(tmp_path), 3, extra=["--snapshot-count", "50"])
    try:
        a, b, c = members
        c.stop()
        for i in range(180):
            ok(a if i % 2 else b, "set", "/snap/%d" % i, "v%d" % i)
        snaps = os.listdir(os.path.join(a.data_dir, "snap"))
        assert 1 <= len(snaps) <= 2, snaps
        # The log was cut: one WAL segment holds what is after the snapshot.
        assert len(os.listdir(os.path.join(a.data_dir, "wal"))) == 1
        # c missed entries the others no longer keep: it is sent a snapshot.
        again = kvlib.spawn_member("pith", str(tmp_path), c.name, c.client_port, c.peer_port,
                                   ",".join("%s=%s" % (x.name, x.peer_url) for x in members))
        members[2] = again
        wait_until("c to catch up", lambda: kvlib.send(again.url, "GET", "/v2/keys/snap/179").status == 200,
                   timeout=20)
        assert "restored the leader's snapshot" in open(again.log_path).read()
        assert ok(again, "get", "/snap/0") == "v0\n"
        # Everyone restarts from snapshot plus log.
        kvlib.stop_all(members)
        members = [kvlib.spawn_member("pith", str(tmp_path), m.name, m.client_port, m.peer_port,
                                      ",".join("%s=%s" % (x.name, x.peer_url) for x in members))
                   for m in members]
        deadline = time.monotonic() + kvlib.START_WAIT
        for m in members:
            kvlib.wait_answering(m, deadline)
        kvlib.wait_leader(members, deadline)
        for i in (0, 77, 179):
            for m in members:
                assert ok(m, "get", "--quorum", "/snap/%d" % i) == "v%d\n" % i
    finally:
        kvlib.stop_all(members)


def test_pipelined_writes_on_one_connection(cluster):
    leader = kvlib.leader_of(cluster)
    n = 60
    req = b"".join(b"PUT /v2/keys/pipe/%d HTTP/1.1\r\nHost: x\r\nContent-Type: "
                   b"application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\nvalue=%d"
                   % (i, len(b"value=%d" % i), i) for i in range(n))
    s = socket.create_connection(("127.0.0.1", leader.client_port), timeout=20)
    s.sendall(req)
    got = b""
    while got.count(b"HTTP/1.1 201 Created") < n:
        chunk = s.recv(65536)
        assert chunk, "closed after %d answers" % got.count(b"HTTP/1.1 ")
        got += chunk
    s.close()
    assert got.count(b"HTTP/1.1 ") == n
    # In order, each its own key.
    keys = [int(k) for k in __import__("re").findall(rb'"key":"/pipe/(\d+)"', got)]
    assert keys == list(range(n))
    assert leader.process.poll() is None
    assert ok(cluster[0], "get", "--quorum", "/pipe/%d" % (n - 1)) == "%d\n" % (n - 1)


def test_quorum_reads_write_nothing_to_the_log(cluster):
    """Quorum reads, on the leader and through followers, are answered by
    ReadIndex: right, and without a log entry, so Raft's index does not
    move (etcd puts each one in its log; docs/kv.md lists the difference)."""
    leader = kvlib.leader_of(cluster)
    assert leader is not None
    ok(leader, "set", "/q", "first")

    def raft_index():
        a = leader.get("/v2/keys/q")
        assert a.status == 200, a
        return int(a.header("X-Raft-Index"))

    before = raft_index()
    for i in range(30):
        m = cluster[i % 3]
        a = m.get("/v2/keys/q?quorum=true")
        assert a.status == 200 and a.json()["node"]["value"] == "first", (m.name, a)
    assert raft_index() == before
    # A write made through one member is seen by a quorum read on every
    # other at once.
    for i in range(6):
        ok(cluster[i % 3], "set", "/q", "v%d" % i)
        for m in cluster:
            a = m.get("/v2/keys/q?quorum=true")
            assert a.status == 200 and a.json()["node"]["value"] == "v%d" % i, (m.name, a)


def test_idle_connections_do_not_hold_the_peer_port(cluster):
    a = cluster[0]
    socks = [socket.create_connection(("127.0.0.1", a.peer_port), timeout=5) for _ in range(70)]
    deadline = time.monotonic() + 15
    for s in socks:
        # Closed by the member once it has not said HELLO in 2 s, or
        # refused at once past the four one address may have waiting.
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            assert s.recv(1) == b""
        except ConnectionResetError:
            pass
        s.close()
    ok(a, "set", "/after-idle", "yes")
    assert ok(cluster[1], "get", "--quorum", "/after-idle") == "yes\n"


def peer_conns(member, source, n):
    return [socket.create_connection(("127.0.0.1", member.peer_port), timeout=5, source_address=(source, 0))
            for _ in range(n)]


def closed_now(socks):
    """Which of socks the member has closed already (a zero wait)."""
    readable, _, _ = select.select(socks, [], [], 0)
    out = set()
    for s in readable:
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                out.add(s)
        except ConnectionResetError:
            out.add(s)
    return out


def wait_closed(s):
    s.settimeout(WAIT)
    try:
        assert s.recv(1) == b"", "the member sent something"
    except ConnectionResetError:
        pass


def test_one_address_may_keep_only_four_peer_connections_waiting_to_greet(single):
    """The peer port counts connections that have not said HELLO per
    client before TLS: from one address the fifth and sixth are closed at
    once, while the first four still wait for their greeting (2 s)."""
    socks = peer_conns(single, "127.0.6.1", 6)
    try:
        for s in socks[4:]:
            wait_closed(s)
        assert not closed_now(socks[:4]), "the first four were closed with the fifth and sixth"
    finally:
        for s in socks:
            s.close()


def test_a_full_peer_port_closes_its_oldest_stranger_for_a_new_connection(single):
    """64 connections that never greet, four from each of 16 addresses,
    fill the peer port. One more, from another address, is kept, and the
    oldest stranger is closed to make room (a member dialling in gets in)."""
    socks = []
    try:
        for i in range(16):
            socks += peer_conns(single, "127.0.7.%d" % (1 + i), 4)
        new = peer_conns(single, "127.0.8.1", 1)[0]
        socks.append(new)
        wait_closed(socks[0])
        assert new not in closed_now([new]), "the new connection was refused"
    finally:
        for s in socks:
            s.close()


# ---------------------------------------------------------------- bad input: watches and backlogs

@pytest.fixture
def single(tmp_path):
    m = kvlib.start_member("pith", str(tmp_path))
    yield m
    m.stop()


def rss_kib(member):
    with open("/proc/%d/status" % member.process.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %s" % member)


def raw_get(member, target, rcvbuf=None):
    """A connection that has sent GET target and reads nothing yet."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(20)
    s.connect(("127.0.0.1", member.client_port))
    s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % target.encode())
    return s


def read_until(s, done, deadline):
    got = bytearray()
    while not done(got):
        s.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        got += chunk
    return bytes(got)


def pipelined_puts(member, items):
    """PUT each (key, form body) on one connection, pipelined; the answers."""
    req = b"".join(b"PUT /v2/keys%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                   b"Content-Length: %d\r\n\r\n%s" % (k.encode(), len(body), body) for k, body in items)
    s = socket.create_connection(("127.0.0.1", member.client_port), timeout=60)
    sender = threading.Thread(target=s.sendall, args=(req,), daemon=True)
    sender.start()
    got = read_until(s, lambda g: g.count(b"HTTP/1.1 20") >= len(items), time.monotonic() + 60)
    sender.join()
    s.close()
    assert got.count(b"HTTP/1.1 20") == len(items), got[-500:]
    return got


def test_a_watch_gets_its_event_when_one_batch_applies_more_than_the_history(single):
    """1,500 keys expire in one log entry: 1,500 events in one batch, more
    than the 1,000 the history keeps. A watch waiting on the first gets
    the first (not the 501st), and a stream gets all of them in order."""
    m = single
    pipelined_puts(m, [("/exp/%04d" % i, b"value=x&ttl=10") for i in range(1500)])
    written = m.index()
    listing = kvlib.send(m.url, "GET", "/v2/keys/exp").json()["node"].get("nodes", [])
    assert len(listing) > 1000, "only %d of 1,500 keys left to expire together" % len(listing)
    once = raw_get(m, "/v2/keys/exp?wait=true&recursive=true&waitIndex=%d" % (written + 1))
    stream = raw_get(m, "/v2/keys/exp?wait=true&recursive=true&stream=true")
    time.sleep(0.3)
    # Stopped until every key has expired: the leader then expires them
    # all in one entry.
    m.process.send_signal(signal.SIGSTOP)
    try:
        time.sleep(11)
    finally:
        m.process.send_signal(signal.SIGCONT)
    got = read_until(once, lambda g: g.endswith(b"\r\n0\r\n\r\n"), time.monotonic() + 20)
    body = got.split(b"\r\n\r\n", 1)[1]
    assert b'"action":"expire"' in body and b'"modifiedIndex":%d,' % (written + 1) in body, got[-600:]
    expired = rb'"action":"expire","node":\{"key":"/exp/\d+","modifiedIndex":(\d+).*?\}\n'
    got = read_until(stream, lambda g: len(re.findall(expired, g)) >= len(listing), time.monotonic() + 20)
    indexes = [int(x) for x in re.findall(expired, got)]
    assert indexes == list(range(written + 1, written + 1 + len(listing))), (len(indexes), indexes[:3])
    once.close()
    stream.close()


def test_pipelined_reads_are_all_answered(single):
    """Five GETs in one packet: five answers, though nothing more comes."""
    s = socket.create_connection(("127.0.0.1", single.client_port), timeout=5)
    s.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n" * 5)
    got = read_until(s, lambda g: g.count(b"HTTP/1.1 200 OK") == 5 and g.endswith(b"}"), time.monotonic() + 5)
    s.close()
    assert got.count(b"HTTP/1.1 200 OK") == 5, got


def test_a_client_that_pipelines_without_reading_is_held_to_a_bounded_backlog(single):
    """1,000 GETs of a 256 KiB value sent at once and not read: the member
    stops reading them while the answers wait (its RSS grows by far less
    than the 256 MB of answers), answers others meanwhile, and answers all
    1,000 once the client reads."""
    m = single
    assert pipelined_puts(m, [("/big", b"value=" + b"a" * (256 * 1024))])
    n = 1000
    before = rss_kib(m)
    s = socket.create_connection(("127.0.0.1", m.client_port), timeout=20)
    s.setblocking(False)
    reqs = b"GET /v2/keys/big HTTP/1.1\r\nHost: x\r\n\r\n" * n
    sent, deadline = 0, time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            sent += s.send(reqs[sent:])
        except BlockingIOError:
            pass
        time.sleep(0.05)
    grown = rss_kib(m) - before
    other = kvlib.send(m.url, "GET", "/version", timeout=2)
    assert other.status == 200, other.describe()
    assert grown < 32 * 1024, "RSS grew by %d KiB with a client not reading" % grown
    assert sent == len(reqs), "only %d of %d request bytes taken" % (sent, len(reqs))
    s.setblocking(True)
    s.settimeout(30)
    # Every answer is as long as this one (the Date field too).
    one = raw_get(m, "/v2/keys/big")
    first = read_until(one, lambda g: g.endswith(b"\r\n0\r\n\r\n"), time.monotonic() + 10)
    one.close()
    left, tail = n * len(first), b""
    while left > 0:
        chunk = s.recv(min(left, 1 << 20))
        assert chunk, "closed with %d bytes of answers still to come" % left
        left -= len(chunk)
        tail = (tail + chunk)[-len(first):]
    s.close()
    assert tail.startswith(b"HTTP/1.1 200 OK") and tail.endswith(b"\r\n0\r\n\r\n"), tail[:200]
    conftest.FIGURES.append("a client pipelining %d GETs of 256 KiB without reading: RSS +%d KiB" % (n, grown))


def test_a_stream_watch_that_is_not_read_is_ended(single):
    """A stream watcher that reads nothing while 1,000 events of 64 KiB go
    by (64 MB): the member ends its stream once 1 MiB waits for it, as etcd
    ends a stream that falls behind, and its RSS stays bounded."""
    m = single
    value = b"value=" + b"s" * (32 * 1024)
    conn = http.client.HTTPConnection("127.0.0.1", m.client_port, timeout=20)

    def puts(n):
        for _ in range(n):
            conn.request("PUT", "/v2/keys/s", value, {"Content-Type": "application/x-www-form-urlencoded"})
            a = conn.getresponse()
            a.read()
            assert a.status in (200, 201), a.status
    # The history (64 MiB at most) filled first, so that what is measured
    # is the watcher's backlog.
    puts(1000)
    before = rss_kib(m)
    start = m.index() + 1
    w = raw_get(m, "/v2/keys/s?wait=true&stream=true", rcvbuf=16384)
    time.sleep(0.2)
    puts(1000)
    conn.close()
    grown = rss_kib(m) - before
    assert grown < 24 * 1024, "RSS grew by %d KiB with a stream watcher not reading" % grown
    got = read_until(w, lambda g: g.endswith(b"\r\n0\r\n\r\n"), time.monotonic() + 30)
    w.close()
    indexes = [int(x) for x in re.findall(rb'"modifiedIndex":(\d+),"createdIndex":\d+\},"prevNode"', got)]
    assert got.endswith(b"\r\n0\r\n\r\n"), "the stream was not ended: %d events, ends %r" % (len(indexes), got[-80:])
    assert 0 < len(indexes) < 1000 and indexes == list(range(start, start + len(indexes))), indexes[:5]
    assert kvlib.send(m.url, "GET", "/version").status == 200
    conftest.FIGURES.append("a stream watcher not reading 1,000 events of 64 KiB: ended after %d, RSS +%d KiB"
                    % (len(indexes), grown))


def test_4096_watchers_on_one_key_and_a_clear_refusal_past_them(single):
    """As many long-poll watchers as the member takes (4,096 connections,
    docs/kv.md) on one key: each holds little memory, one write wakes them all
    within seconds, and the connections past the cap are answered 503 "too
    many connections" rather than reset."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4400:
        pytest.skip("needs 4,400 descriptors, the hard limit is %d" % hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 4400) if hard == resource.RLIM_INFINITY
                                                else min(hard, max(soft, 4400)), hard))
    m = single
    form = [("Content-Type", "application/x-www-form-urlencoded")]
    assert kvlib.send(m.url, "PUT", "/v2/keys/w", b"value=0", form).status == 201
    before = rss_kib(m)
    socks, extra = [], []
    try:
        for _ in range(4096):
            socks.append(raw_get(m, "/v2/keys/w?wait=true"))
        for s in socks:
            head = read_until(s, lambda g: b"\r\n\r\n" in g, time.monotonic() + 20)
            assert head.startswith(b"HTTP/1.1 200 OK"), head[:200]
        per = (rss_kib(m) - before) / 4096
        for _ in range(5):
            extra.append(raw_get(m, "/v2/keys/w?wait=true"))
        for s in extra:
            answer = read_until(s, lambda g: g.endswith(b"too many connections\n"), time.monotonic() + 10)
            assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), answer
        # Room for the write: one watcher leaves (the member notices at
        # its own pace; until then the write is refused too).
        socks.pop().close()
        deadline = time.monotonic() + 10
        while True:
            started = time.monotonic()
            a = kvlib.send(m.url, "PUT", "/v2/keys/w", b"value=1", form)
            if a.status == 200 or time.monotonic() > deadline:
                break
            assert a.status == 503, a.describe()
            time.sleep(0.05)
        assert a.status == 200, a.describe()
        for s in socks:
            got = read_until(s, lambda g: g.endswith(b"\r\n0\r\n\r\n"), started + 30)
            assert b'"value":"1"' in got, got[-300:]
        woken = time.monotonic() - started
    finally:
        for s in socks + extra:
            s.close()
    # Generous: a waiting watch holds a few hundred bytes of the member's
    # own (bench/kv prints the figure next to etcd's); 16 KiB is well
    # below the 25 KiB HTTP parser a watch held while it waited.
    assert per < 16, ("%.1f KiB of the member's RSS per waiting long-poll watcher (4,096 on one key), "
                      "16 expected at most: does a waiting watch keep its HTTP parser?" % per)
    assert woken < 10, "4,096 watchers woken in %.1f s" % woken
    deadline = time.monotonic() + 10
    while kvlib.send(m.url, "GET", "/v2/stats/store").json()["watchers"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert kvlib.send(m.url, "GET", "/v2/keys/w").status == 200
    conftest.FIGURES.append("4,096 long-poll watchers on one key: %.1f KiB of RSS each, 4,095 woken by one "
                            "write in %.2f s (the write included)" % (per, woken))


def test_out_of_descriptors_the_member_waits_instead_of_spinning(single):
    """With its descriptors used up, the member stops accepting for a while
    rather than spinning on a listener it cannot accept from, and serves
    again once connections close."""
    m = single
    subprocess.check_call(["prlimit", "--pid", str(m.process.pid), "--nofile=64:64"])
    socks = [socket.create_connection(("127.0.0.1", m.client_port), timeout=5) for _ in range(100)]

    def cpu_s():
        with open("/proc/%d/stat" % m.process.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    try:
        before = cpu_s()
        time.sleep(2)
        spent = cpu_s() - before
    finally:
        for s in socks:
            s.close()
    assert spent < 0.5, "%.2f s of CPU in 2 s with no descriptor left" % spent
    assert kvlib.send(m.url, "GET", "/version", timeout=5).status == 200
