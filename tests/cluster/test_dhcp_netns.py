"""pith-init's DHCP client (lwIP over AF_PACKET) against a real dnsmasq, on
a veth pair between two network namespaces made by the test."""

import os
import re
import shutil
import signal
import subprocess
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INIT = os.path.join(ROOT, "build", "bin", "pith-init")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")


def ip(*args):
    return subprocess.run(["ip"] + list(args), check=True, capture_output=True, text=True).stdout


@pytest.fixture
def net(tmp_path):
    tag = uuid.uuid4().hex[:6]
    srv, cli = "pds-" + tag, "pdc-" + tag
    ip("netns", "add", srv)
    ip("netns", "add", cli)
    ip("link", "add", "vs" + tag, "netns", srv, "type", "veth", "peer", "name", "eth0", "netns", cli)
    ip("-n", srv, "addr", "add", "10.88.0.1/24", "dev", "vs" + tag)
    ip("-n", srv, "link", "set", "vs" + tag, "up")
    ip("-n", srv, "link", "set", "lo", "up")
    procs = []

    def dnsmasq(*extra):
        log = open(tmp_path / "dnsmasq.log", "w")
        p = subprocess.Popen(
            ["ip", "netns", "exec", srv, shutil.which("dnsmasq") or "/usr/sbin/dnsmasq",
             "--keep-in-foreground", "--log-dhcp", "--log-facility=-", "--user=root", "--port=0",
             "--no-resolv", "--no-hosts", "--interface=vs" + tag, "--bind-interfaces",
             "--dhcp-authoritative", "--dhcp-leasefile=%s" % (tmp_path / "leases"),
             "--dhcp-range=10.88.0.50,10.88.0.60,255.255.255.0,2m",
             "--dhcp-option=option:router,10.88.0.1",
             "--dhcp-option=option:dns-server,10.88.0.53,10.88.0.54"] + list(extra),
            stdout=log, stderr=subprocess.STDOUT)
        procs.append(p)
        return p

    def init(*extra):
        root = tmp_path / "root"
        (root / "etc").mkdir(parents=True, exist_ok=True)
        log = open(tmp_path / "init.log", "w")
        p = subprocess.Popen(["ip", "netns", "exec", cli, INIT, "--root", str(root), "--net"] + list(extra),
                             stdout=log, stderr=subprocess.STDOUT)
        procs.append(p)
        return p, root, lambda: open(tmp_path / "init.log").read()

    yield {"srv": srv, "cli": cli, "dnsmasq": dnsmasq, "init": init, "tmp": tmp_path}
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    ip("netns", "del", srv)
    ip("netns", "del", cli)


def wait_for(read, pattern, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(pattern, read(), re.M)
        if m:
            return m
        time.sleep(0.05)
    raise AssertionError("%r not seen in %ss:\n%s" % (pattern, timeout, read()))


def test_lease_is_applied_to_the_kernel(net):
    net["dnsmasq"]()
    p, root, out = net["init"]("--cmdline", "pith.name=client7")
    m = wait_for(out, r"dhcp: eth0: lease (10\.88\.0\.\d+)/24 gateway 10\.88\.0\.1 "
                      r"dns 10\.88\.0\.53,10\.88\.0\.54 from 10\.88\.0\.1 for 120 s", 20)
    addr = m.group(1)
    wait_for(out, r"^pith: ready in \d+ ms", 5)
    assert "inet %s/24" % addr in ip("-n", net["cli"], "-4", "addr", "show", "eth0")
    assert "default via 10.88.0.1 dev eth0" in ip("-n", net["cli"], "-4", "route")
    resolv = (root / "etc" / "resolv.conf").read_text()
    assert "nameserver 10.88.0.53\nnameserver 10.88.0.54\n" in resolv
    # The server saw our hostname (option 12) and recorded the lease.
    leases = (net["tmp"] / "leases").read_text()
    assert addr in leases and "client7" in leases
    # And the kernel, not lwIP, answers for the address: ping from the server.
    r = subprocess.run(["ip", "netns", "exec", net["srv"], "ping", "-c", "1", "-W", "2", addr],
                       capture_output=True, text=True)
    assert r.returncode == 0, "no answer to ping:\n" + r.stdout + r.stderr


def test_lease_is_renewed_at_t1(net):
    # lwIP counts lease times in 60-second ticks, rounding T1 up to one
    # tick: with T1 at 4 s the renewal comes at the first tick.
    net["dnsmasq"]("--dhcp-option=option:T1,4", "--dhcp-option=option:T2,100")
    p, root, out = net["init"]()
    m = wait_for(out, r"dhcp: eth0: lease (10\.88\.0\.\d+)/24", 20)
    wait_for(out, r"dhcp: eth0: lease on %s renewed for 120 s" % re.escape(m.group(1)), 75)
    log = (net["tmp"] / "dnsmasq.log").read_text()
    assert log.count("DHCPACK") >= 2, log


def test_no_server_means_ready_after_the_wait_and_still_asking(net):
    p, root, out = net["init"]("--cmdline", "pith.dhcp_wait=2")
    wait_for(out, r"no lease after 2 s; going on without one, still asking", 10)
    wait_for(out, r"^pith: ready in \d+ ms", 2)
    # A server that appears later is found.
    net["dnsmasq"]()
    wait_for(out, r"dhcp: eth0: lease 10\.88\.0\.\d+/24", 40)


def test_static_address(net):
    p, root, out = net["init"]("--cmdline", "pith.ip=10.88.0.9/24 pith.gateway=10.88.0.1 pith.dns=10.88.0.53")
    wait_for(out, r"net: eth0: static address 10\.88\.0\.9/24", 10)
    assert "inet 10.88.0.9/24" in ip("-n", net["cli"], "-4", "addr", "show", "eth0")
    assert "default via 10.88.0.1 dev eth0" in ip("-n", net["cli"], "-4", "route")
    assert "nameserver 10.88.0.53" in (root / "etc" / "resolv.conf").read_text()
