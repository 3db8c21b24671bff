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


def bootp_reply(xid, mac, options, cookie=b"\x63\x82\x53\x63"):
    """A BOOTREPLY offering 10.88.0.77, with the options given raw."""
    import struct
    b = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 2, 1, 6, 0, xid, 0, 0x8000,
                    b"\0" * 4, bytes([10, 88, 0, 77]), b"\0" * 4, b"\0" * 4,
                    mac + b"\0" * 10, b"\0" * 64, b"\0" * 128)
    return b + cookie + options


def frame(payload, dst_mac, src_mac):
    """Ethernet + IPv4 + UDP 67 -> 68 broadcast, checksums right."""
    import struct

    def csum(data):
        if len(data) % 2:
            data += b"\0"
        s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
        while s >> 16:
            s = (s & 0xffff) + (s >> 16)
        return (~s) & 0xffff

    src, dst = bytes([10, 88, 0, 1]), b"\xff" * 4
    udp_len = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", 67, 68, udp_len, 0) + payload
    uc = csum(pseudo + udp) or 0xffff
    udp = udp[:6] + struct.pack("!H", uc) + udp[8:]
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 1, 0, 64, 17, 0, src, dst)
    iph = iph[:10] + struct.pack("!H", csum(iph)) + iph[12:]
    return dst_mac + src_mac + b"\x08\x00" + iph + udp


def test_malformed_replies_change_nothing_and_a_real_server_still_wins(net):
    """A rogue server answers every DISCOVER with broken offers; pith-init
    keeps running and takes the real server's lease when it comes."""
    import socket
    import struct
    import threading
    p, root, out = net["init"]("--cmdline", "pith.dhcp_wait=60")
    wait_for(out, r"asking for a lease", 10)

    cli_mac = bytes.fromhex(ip("-n", net["cli"], "-br", "link", "show", "eth0").split()[2].replace(":", ""))
    srv_if = [l.split("@")[0] for l in ip("-n", net["srv"], "-br", "link").splitlines() if l.startswith("vs")][0]
    stop = threading.Event()
    sent = []

    def rogue():
        # The sending socket is made inside the server's namespace.
        fd = os.open("/run/netns/" + net["srv"], os.O_RDONLY)
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        host = os.open("/proc/self/ns/net", os.O_RDONLY)
        libc.setns(fd, 0x40000000)
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
        s.bind((srv_if, 0))
        libc.setns(host, 0x40000000)
        src_mac = s.getsockname()[4]
        s.settimeout(0.2)
        while not stop.is_set():
            try:
                data = s.recv(2048)
            except socket.timeout:
                continue
            if len(data) < 42 + 240 or data[36:38] != b"\x00\x43":
                continue
            xid = struct.unpack("!I", data[42 + 4:42 + 8])[0]
            bad = [
                b"",                                              # no options, no end
                b"\x35\x01\x02\x36\x04\x0a\x58",                  # truncated server id
                b"\x35\x01\x02\x01\xff" + b"\xff" * 3,             # option length past the end
                b"\x35\x01\x02\x33\x04\x00\x00\x00\x00\x01\x04\xff\xff\xff\xff\xff",  # zero lease
                b"\x35\x05\x02" + b"\x00" * 300,                   # oversize message type
                b"\x34\x01\x03\x35\x01\x02" + b"\x00" * 20,        # overload to file+sname
            ]
            for opts in bad:
                s.send(frame(bootp_reply(xid, cli_mac, opts), cli_mac, src_mac))
            s.send(frame(bootp_reply(xid, cli_mac, b"\x35\x01\x02\xff", cookie=b"XXXX"), cli_mac, src_mac))
            s.send(frame(b"\x02" * 30, cli_mac, src_mac))        # shorter than a BOOTP header
            sent.append(xid)
        s.close()

    t = threading.Thread(target=rogue, daemon=True)
    t.start()
    deadline = time.monotonic() + 15
    while len(sent) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    t.join()
    assert len(sent) >= 2, "the client's DISCOVERs never reached the rogue server"
    assert p.poll() is None, out()
    assert "lease 10.88.0.77" not in out()
    assert "inet 10.88.0.77" not in ip("-n", net["cli"], "-4", "addr", "show", "eth0")

    net["dnsmasq"]()
    wait_for(out, r"dhcp: eth0: lease 10\.88\.0\.(5\d|60)/24 gateway 10\.88\.0\.1", 60)


def test_a_nic_that_appears_late_is_found(tmp_path):
    tag = uuid.uuid4().hex[:6]
    ns, other = "pdl-" + tag, "pdo-" + tag
    ip("netns", "add", ns)
    ip("netns", "add", other)
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    log = open(tmp_path / "init.log", "w")
    p = subprocess.Popen(["ip", "netns", "exec", ns, INIT, "--root", str(root), "--net",
                          "--cmdline", "pith.ip=10.89.0.2/24 pith.dhcp_wait=60"],
                         stdout=log, stderr=subprocess.STDOUT)
    out = lambda: open(tmp_path / "init.log").read()
    try:
        wait_for(out, r"no network interface \(no Ethernet NIC\) yet; looking again every second", 10)
        ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "p0", "netns", other)
        wait_for(out, r"net: eth0: static address 10\.89\.0\.2/24", 10)
        wait_for(out, r"^pith: ready in \d+ ms", 2)
        assert "inet 10.89.0.2/24" in ip("-n", ns, "-4", "addr", "show", "eth0")
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)
        ip("netns", "del", ns)
        ip("netns", "del", other)
