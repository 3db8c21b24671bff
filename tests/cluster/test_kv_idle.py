"""An idle cluster leaves the network quiet.

Three members with no client at all: over 50 heartbeat intervals the
leader sends one heartbeat per interval to each follower and each follower
answers it, and nothing else crosses the wire but the TCP acknowledgements
of those and the keepalive probes of idle connections. The test counts the
packets each member's interface sent (every peer message crosses the hub's
bridge; clients use the member's loopback), not time or CPU: CPU per idle
minute is a figure for `make bench` (bench/kv), next to etcd's.

KV_IMPL=etcd runs the same test against Debian's etcd 3.4.
"""

import json
import os
import time

import pytest

import kvcluster

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")

INTERVALS = 50


@pytest.fixture
def kv(tmp_path):
    yield from kvcluster.clusters(tmp_path)


def tx_packets(m):
    out = kvcluster.ip("-n", m.ns, "-s", "-j", "link", "show", "eth0")
    return json.loads(out)[0]["stats64"]["tx"]["packets"]


def applied_everywhere(c, key, value, timeout=10.0):
    deadline = time.monotonic() + timeout
    for m in c.members:
        while True:
            r = c.http(m, "GET", "/v2/keys/" + key)
            if r.status == 200 and r.body["node"].get("value") == value:
                break
            assert time.monotonic() < deadline, "%s never applied %s=%s\n%s" % (m, key, value, c.logs())
            time.sleep(0.05)


@needs_root
def test_an_idle_cluster_sends_one_heartbeat_per_interval(kv):
    c = kv(3)
    leader = c.wait_leader()
    r = c.http(leader, "PUT", "/v2/keys/idle", form={"value": "1"})
    assert r.status in (200, 201), r
    applied_everywhere(c, "idle", "1")

    before = {m: tx_packets(m) for m in c.members}
    t0 = time.monotonic()
    time.sleep(INTERVALS * c.heartbeat / 1000.0)
    elapsed = time.monotonic() - t0
    sent = {m: tx_packets(m) - before[m] for m in c.members}
    assert c.wait_leader(timeout=1.0) is leader, "the leader changed while the cluster was idle\n" + c.logs()

    # Per interval: 2 heartbeats and 2 answers, each a TCP segment with its
    # own acknowledgement (every direction has its own connection, so none
    # rides on data): 8 packets. Half as much again covers a late timer, the
    # keepalive probes of the followers' idle connections to each other,
    # and ARP.
    intervals = elapsed * 1000.0 / c.heartbeat
    bound = int(intervals * 8 * 1.5) + 20
    total = sum(sent.values())
    kvcluster.measured("%s: %d packets from 3 idle members in %.0f heartbeat intervals (%s)"
                       % (c.kind, total, intervals,
                          ", ".join("%s %d" % (m, n) for m, n in sent.items())))
    assert total <= bound, (
        "3 idle members sent %d packets in %.0f heartbeat intervals, over the bound of %d "
        "(one heartbeat per follower per interval and its answer): %s\n%s"
        % (total, intervals, bound, sent, c.logs()))
