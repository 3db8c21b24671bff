"""Boot tier: the control port of a QEMU cluster, from the host.

`boot/cluster up --detach` boots three nodes (the test initramfs, which adds
a shell for the unit below), makes the cluster's credentials and writes
build/run/env. Everything then goes over HTTPS through the forwarded ports,
as an operator's laptop would: systemctl, journalctl, curl, pith reboot.
"""

import os
import re
import signal
import subprocess
import time

import pytest

from pithvm import ROOT
from test_boot import TEST_INITRD

CLUSTER = os.path.join(ROOT, "boot", "cluster")
PITH = os.path.join(ROOT, "build", "bin", "pith")
ENV = os.path.join(ROOT, "build", "run", "env")
RUN = os.path.join(ROOT, "build", "run")

HELLO = """[Unit]
Description=Hello World

[Service]
ExecStart=/bin/sh -c 'while true; do echo "Hello World"; sleep 1; done'
"""

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="boot/cluster needs root")


def env_file():
    out = {}
    with open(ENV) as f:
        for line in f:
            m = re.match(r"^((?:PITH|ETCDCTL)_\w+)=(.*)$", line.strip())
            if m:
                out[m.group(1)] = m.group(2)
    return out


@pytest.fixture(scope="module")
def cluster():
    r = subprocess.run([CLUSTER, "up", "--detach", "--nodes", "3", "--initrd", TEST_INITRD],
                       capture_output=True, text=True, timeout=400)
    try:
        assert r.returncode == 0, r.stdout + r.stderr
        e = env_file()
        assert os.stat(ENV).st_mode & 0o077 == 0, "build/run/env holds a token: it must be private"
        yield e
    finally:
        subprocess.run([CLUSTER, "down"], capture_output=True, timeout=120)


def cli(e, name, *args, endpoint=None, timeout=60, **over):
    env = dict(os.environ, **e)
    if endpoint:
        env["PITH_ENDPOINT"] = endpoint
    env.update(over)
    argv = [PITH] + ([name] if name != "pith" else []) + list(args)
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)


def curl(e, endpoint, *args, token=None):
    argv = ["curl", "-sS", "--max-time", "30", "--cacert", e["PITH_CA"], "-o", "-", "-w", "\n%{http_code}"]
    if token:
        argv += ["-H", "Authorization: Bearer " + token]
    r = subprocess.run(argv + list(args) + [endpoint], capture_output=True, text=True, timeout=40)
    body, _, code = r.stdout.rpartition("\n")
    return int(code or 0), body


def test_every_node_serves_its_control_port_over_https(cluster):
    endpoints = cluster["PITH_ENDPOINTS"].split(",")
    assert len(endpoints) == 3
    for i, ep in enumerate(endpoints, 1):
        r = cli(cluster, "systemctl", "status", "pith-control.service", endpoint=ep)
        assert r.returncode == 0, r.stderr
        assert "● pith-control.service - Pith control port" in r.stdout
        assert re.search(r"Active: active \(running\)", r.stdout)
        r = cli(cluster, "pith", "machine", "-o", "json", endpoint=ep)
        assert r.returncode == 0, r.stderr
        assert '"name":"node%d"' % i in r.stdout


def test_unauthenticated_and_wrong_credentials_are_refused(cluster):
    for ep in cluster["PITH_ENDPOINTS"].split(","):
        for path in ("/v1/units", "/v1/machine", "/metrics", "/healthz"):
            assert curl(cluster, ep + path)[0] == 401
            assert curl(cluster, ep + path, token="pith_" + "x" * 43)[0] == 401
        assert curl(cluster, ep + "/v1/machine/reboot", "-X", "POST")[0] == 401
        r = cli(cluster, "systemctl", "list-units", endpoint=ep, PITH_TOKEN="pith_wrong")
        assert r.returncode == 113, r
        r = cli(cluster, "systemctl", "list-units", endpoint=ep, PITH_CA="/dev/null")
        assert r.returncode != 0
    # Everyone is still up: the refusals changed nothing.
    for ep in cluster["PITH_ENDPOINTS"].split(","):
        assert cli(cluster, "pith", "health", endpoint=ep).returncode == 0


def test_a_unit_uploaded_started_followed_and_stopped(cluster):
    ep = cluster["PITH_ENDPOINTS"].split(",")[1]
    code, body = curl(cluster, ep + "/v1/units/hello.service/file", "-X", "PUT", "--data-binary", HELLO,
                      token=cluster["PITH_TOKEN"])
    assert code in (200, 201), body
    r = cli(cluster, "systemctl", "start", "hello", endpoint=ep)
    assert r.returncode == 0, r.stderr
    r = cli(cluster, "systemctl", "status", "hello", endpoint=ep)
    assert r.returncode == 0 and "active (running)" in r.stdout, r
    env = dict(os.environ)
    env.update(cluster)
    env["PITH_ENDPOINT"] = ep
    f = subprocess.Popen([PITH, "journalctl", "-f", "-u", "hello"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while sum("Hello World" in l for l in lines) < 3 and len(lines) < 30:
            lines.append(f.stdout.readline())
    finally:
        f.send_signal(signal.SIGINT)
        rc = f.wait(timeout=20)
    assert sum("Hello World" in l for l in lines) >= 3, lines
    assert rc == 0
    r = cli(cluster, "systemctl", "stop", "hello", endpoint=ep)
    assert r.returncode == 0, r.stderr
    assert cli(cluster, "systemctl", "is-active", "hello", endpoint=ep).stdout.strip() == "inactive"


def test_the_key_value_store_runs_on_every_node(cluster):
    for ep in cluster["PITH_ENDPOINTS"].split(","):
        r = cli(cluster, "systemctl", "status", "pith-kv.service", endpoint=ep)
        assert r.returncode == 0, r.stderr
        assert "● pith-kv.service - Pith key-value store" in r.stdout
        assert re.search(r"Active: active \(running\)", r.stdout), r.stdout


def etcdctl(e, *args, timeout=60):
    """Debian's etcdctl (API v2) with the settings build/run/env gives it."""
    env = dict(os.environ, **e)
    return subprocess.run(["etcdctl"] + list(args), env=env, capture_output=True, text=True,
                          timeout=timeout)


def wait_kv_leader(e):
    """Until etcdctl member list shows the three members and one leader."""
    deadline = time.monotonic() + 120
    while True:
        r = etcdctl(e, "member", "list")
        if r.returncode == 0 and r.stdout.count("isLeader=true") == 1 and r.stdout.count("name=node") == 3:
            return r.stdout
        assert time.monotonic() < deadline, "the key-value cluster has no leader:\n%s%s" % (
            r.stdout, r.stderr)
        time.sleep(1)


def test_seed_etcdctl_session_across_nodes(cluster):
    wait_kv_leader(cluster)
    eps = cluster["PITH_ENDPOINTS"].split(",")

    def on(i, *args):
        # One node, no sync to the others: where each command goes is known.
        r = etcdctl(cluster, "--endpoints", eps[i], "--no-sync", *args)
        assert r.returncode == 0, "etcdctl %s on node%d: %s%s" % (" ".join(args), i + 1, r.stdout, r.stderr)
        return r.stdout

    assert on(0, "set", "/message", "Hello World") == "Hello World\n"
    assert on(1, "get", "/message") == "Hello World\n"
    on(1, "set", "/tmp/message1", "Hello")
    on(2, "set", "/tmp/message2", "World")
    assert sorted(on(0, "ls", "/tmp").split()) == ["/tmp/message1", "/tmp/message2"]
    assert sorted(on(2, "ls", "--recursive").split()) == ["/message", "/tmp", "/tmp/message1",
                                                          "/tmp/message2"]
    # And verbatim, with only what build/run/env sets.
    r = etcdctl(cluster, "get", "/tmp/message2")
    assert r.returncode == 0 and r.stdout == "World\n", r


def test_etcdctl_cluster_health_through_the_control_ports(cluster):
    wait_kv_leader(cluster)
    # etcdctl lists the members with the credential, then asks each one's
    # client URL, its control port as the host reaches it, for /health
    # without the credential: the one route answered to anyone, as etcd
    # answers it (docs/security.md).
    r = etcdctl(cluster, "cluster-health")
    assert r.returncode == 0 and r.stdout.endswith("\ncluster is healthy\n"), r
    eps = cluster["PITH_ENDPOINTS"].split(",")
    for ep in eps:
        assert re.search(r"^member [0-9a-f]+ is healthy: got healthy result from %s$" % re.escape(ep),
                         r.stdout, re.M), r.stdout
        assert curl(cluster, ep + "/health") == (200, '{"health":"true"}')
        # Nothing else of the store's is answered without a credential.
        assert curl(cluster, ep + "/v2/members")[0] == 401
        assert curl(cluster, ep + "/v2/keys/")[0] == 401


def test_pith_reboot_reboots_one_node(cluster):
    eps = cluster["PITH_ENDPOINTS"].split(",")
    ep = eps[2]
    before = cli(cluster, "pith", "machine", "-o", "json", endpoint=ep)
    boot_before = re.search(r'"boot_id":"([^"]+)"', before.stdout).group(1)
    r = cli(cluster, "pith", "reboot", endpoint=ep)
    assert r.returncode == 0 and "rebooting" in r.stdout, r
    log = os.path.join(RUN, "node3.log")
    deadline = time.monotonic() + 180
    boot_after = None
    while time.monotonic() < deadline:
        with open(log, errors="replace") as f:
            readies = len(re.findall(r"^pith: ready in", f.read(), re.M))
        if readies >= 2:
            r = cli(cluster, "pith", "machine", "-o", "json", endpoint=ep, timeout=30)
            if r.returncode == 0:
                boot_after = re.search(r'"boot_id":"([^"]+)"', r.stdout).group(1)
                break
        time.sleep(1)
    assert boot_after and boot_after != boot_before, "node3 did not come back with a new boot"
    # The other nodes never noticed.
    for other in eps[:2]:
        assert cli(cluster, "pith", "health", endpoint=other).returncode == 0
