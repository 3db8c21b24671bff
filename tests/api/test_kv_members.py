"""Membership changes at run time, with the real etcdctl (API v2) as the
client, against pith-kv and, as the reference, Debian's etcd 3.4: member
add, a new member that joins with --initial-cluster-state existing (sent
a snapshot, not the log, when the cluster has compacted), member remove of
the leader (which then stops), a restart that needs no flags about the
cluster; and the /v2/members answers to bad requests, compared with
etcd's byte for byte where the text is etcd's own.

KV_IMPL=etcd|pith picks one implementation for the cluster tests (both by
default)."""

import os
import re
import time

import pytest

import kvlib

IMPLS = [os.environ["KV_IMPL"]] if os.environ.get("KV_IMPL") else ["pith", "etcd"]
JSON = [("Content-Type", "application/json")]


def ctl(member, *args, ok=True, **kw):
    rc, out, err = kvlib.etcdctl(member, *args, **kw)
    if ok:
        assert rc == 0, "etcdctl %s on %s: rc %d\n%s%s" % (" ".join(args), member.name, rc, out, err)
    return rc, out, err


def member_list(member):
    """{id: (name, peer URLs)} from etcdctl member list."""
    _, out, _ = ctl(member, "member", "list")
    found = {}
    for line in out.splitlines():
        m = re.match(r"([0-9a-f]+)(\[unstarted\])?: (?:name=(\S*) )?peerURLs=(\S+)", line)
        assert m, "member list: %r" % line
        found[m.group(1)] = (m.group(3) or "", m.group(4))
    return found


def wait_for(what, check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("waited %.0f s for %s" % (timeout, what))
        time.sleep(0.1)


@pytest.mark.parametrize("impl", IMPLS)
def test_add_join_remove_restart(impl, tmp_path):
    # A small --snapshot-count: the cluster has compacted its log by the
    # time the new member joins, so it is sent a snapshot (with the member
    # table in it), not the log from the start.
    members = kvlib.wait_cluster(kvlib.spawn_cluster(impl, str(tmp_path), 3,
                                                     extra=("--snapshot-count", "10")))
    joined = None
    try:
        a, b, c = members
        for i in range(40):
            ctl(a, "set", "/k%d" % i, "v%d" % i)
        port_c, port_p = kvlib.free_ports(2)
        peer = "http://127.0.0.1:%d" % port_p
        before = member_list(b)
        # Through a follower or the leader alike: etcdctl asks b. Both
        # refuse a change until every member has been connected for 5 s
        # (etcd's strict reconfiguration check), so the first tries may fail.
        out = wait_for("member add to be accepted",
                       lambda: (lambda r: r[0] == 0 and r[1])(kvlib.etcdctl(b, "member", "add", "n4", peer)))
        assert "Added member named n4 with ID" in out, out
        initial = re.search(r'ETCD_INITIAL_CLUSTER="([^"]+)"', out).group(1)
        assert 'ETCD_INITIAL_CLUSTER_STATE="existing"' in out, out
        assert "n4=" + peer in initial.split(","), initial
        after = member_list(a)
        new = set(after) - set(before)
        assert len(new) == 1 and after[new.pop()] == ("", peer), after

        joined = kvlib.spawn_member(impl, str(tmp_path), "n4", port_c, port_p, initial, state="existing")
        kvlib.wait_answering(joined, time.monotonic() + kvlib.START_WAIT)
        wait_for("n4 to have the keys", lambda: kvlib.etcdctl(joined, "get", "/k39")[1] == "v39\n")
        wait_for("n4 to be listed by name",
                 lambda: sorted(n for n, _ in member_list(a).values()) == ["n1", "n2", "n3", "n4"])
        _, out, _ = ctl(joined, "cluster-health")
        assert "cluster is healthy" in out and out.count("is healthy") == 5, out
        # Adding the same peer URL again is refused (once n4 has been up
        # long enough for the strict checks, which come first, to pass).
        wait_for("a second add on n4's peer URL to be refused as taken",
                 lambda: (lambda r: r[0] != 0 and "peerURL exists" in r[1] + r[2])(
                     kvlib.etcdctl(a, "member", "add", "n5", peer)))
        ctl(joined, "set", "/from-n4", "yes")
        assert ctl(c, "get", "--quorum", "/from-n4")[1] == "yes\n"

        # Remove the leader: it stops, the other three elect one and go on.
        leader = kvlib.leader_of(members + [joined])
        assert leader is not None
        ids = {v[0]: k for k, v in member_list(a).items()}
        rest = [m for m in members + [joined] if m is not leader]
        out = wait_for("member remove to be accepted",
                       lambda: (lambda r: r[0] == 0 and r[1])(
                           kvlib.etcdctl(rest[0], "member", "remove", ids[leader.name])))
        assert "Removed member %s from cluster" % ids[leader.name] in out, out
        wait_for("the removed leader to stop", lambda: leader.process.poll() is not None)
        kvlib.wait_agreed_leader(rest, time.monotonic() + kvlib.START_WAIT)
        assert sorted(n for n, _ in member_list(rest[0]).values()) == sorted(m.name for m in rest)
        ctl(rest[1], "set", "/after", "removal")
        rc, out, err = ctl(rest[0], "member", "remove", ids[leader.name], ok=False)
        assert rc != 0, out

        # The joined member restarts from its data directory alone: the
        # cluster it belongs to is in its log, not in its flags.
        joined.stop()
        again = kvlib.spawn_member(impl, str(tmp_path), "n4", port_c, port_p,
                                   "n4=" + peer, state="new")
        joined = again
        kvlib.wait_answering(again, time.monotonic() + kvlib.START_WAIT)
        wait_for("n4 to serve the write made while it was away",
                 lambda: kvlib.etcdctl(again, "get", "--quorum", "/after")[1] == "removal\n")
    finally:
        kvlib.stop_all(members + ([joined] if joined else []))


def answers(member):
    """The same bad (and then one good) /v2/members requests to one
    member; [(request, status, body, content type)]."""
    u = member.url
    peer = member.peer_url
    reqs = [
        ("POST", "/v2/members", '{"peerURLs":["%s"]}' % peer, JSON),  # taken
        ("POST", "/v2/members", '{"peerURLs":["http://127.0.0.1:9"]}',
         [("Content-Type", "application/x-www-form-urlencoded")]),
        ("POST", "/v2/members/leader", "", []),
        ("POST", "/v2/members", '{"peerURLs":[]}', JSON),
        ("POST", "/v2/members", '{}', JSON),
        ("POST", "/v2/members", '{"peerURLs":["foo"]}', JSON),
        ("POST", "/v2/members", '{"peerURLs":', JSON),
        ("POST", "/v2/members", '{"peerURLs":"x"}', JSON),
        ("POST", "/v2/members", '[]', JSON),
        ("DELETE", "/v2/members/1234", None, []),
        ("DELETE", "/v2/members/zz", None, []),
        ("DELETE", "/v2/members/abc/x", None, []),
        ("DELETE", "/v2/members", None, []),
        ("DELETE", "/v2/members/", None, []),
        ("PUT", "/v2/members", '{"peerURLs":["%s"]}' % peer, JSON),
        ("PUT", "/v2/members/1234", '{"peerURLs":["http://127.0.0.1:9"]}', JSON),
        ("PUT", "/v2/members/1234", 'x', [("Content-Type", "text/plain")]),
        ("PATCH", "/v2/members", None, []),
        ("HEAD", "/v2/members/leader", None, []),
        ("GET", "/v2/members/1234", None, []),
    ]
    got = []
    for method, target, body, headers in reqs:
        a = kvlib.send(u, method, target, body, headers)
        got.append(((method, target, body), a.status, a.body, a.header("Content-Type"),
                    a.header("Allow"), a.header("X-Etcd-Cluster-Id") is not None))
    return got


# Bodies whose text is Go's JSON decoder's own: only the status is compared.
GO_TEXT = {'{"peerURLs":', '{"peerURLs":"x"}', '[]'}


def test_member_errors_match_etcd(tmp_path):
    results = {}
    for impl in ("etcd", "pith"):
        m = kvlib.start_member(impl, str(tmp_path / impl), "n1")
        try:
            results[impl] = answers(m)
            # One good add: 201 and the new member, unstarted. With two
            # members and one started the cluster has no quorum left, and a
            # second add is refused by the strict reconfiguration check.
            a = kvlib.send(m.url, "POST", "/v2/members", '{"peerURLs":["http://127.0.0.1:9"]}', JSON)
            assert a.status == 201, (impl, a.describe())
            body = a.json()
            assert body["name"] == "" and body["peerURLs"] == ["http://127.0.0.1:9"] and \
                body["clientURLs"] == [] and re.fullmatch("[0-9a-f]+", body["id"]), (impl, body)
            a2 = kvlib.send(m.url, "POST", "/v2/members", '{"peerURLs":["http://127.0.0.1:10"]}', JSON)
            results[impl].append((("POST", "second add", None), a2.status, a2.body,
                                  a2.header("Content-Type"), None, True))
        finally:
            m.stop()
    diffs = []
    for e, p in zip(results["etcd"], results["pith"]):
        req = e[0]
        if req[2] in GO_TEXT:
            e, p = e[:2] + e[3:], p[:2] + p[3:]
        if e[1:] != p[1:]:
            diffs.append("%s\n  etcd: %r\n  pith: %r" % (req, e[1:], p[1:]))
    assert not diffs, "\n".join(diffs)


def test_join_without_being_added_is_refused(tmp_path):
    m = kvlib.start_member("pith", str(tmp_path), "n1")
    try:
        port_c, port_p = kvlib.free_ports(2)
        initial = "n1=%s,n2=http://127.0.0.1:%d" % (m.peer_url, port_p)
        j = kvlib.spawn_member("pith", str(tmp_path), "n2", port_c, port_p, initial, state="existing")
        rc = j.process.wait(60)
        assert rc != 0
        log = j.log_tail()
        assert "no member was added on these peer URLs" in log and "member add" in log, log
        assert m.get("/v2/members").json()["members"][0]["name"] == "n1"
    finally:
        m.stop()
