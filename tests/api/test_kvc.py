"""The KV client library (lib/kvc.h) against real stores: its scenario
driver (tests/api/kvc_driver.c, build/test/kvc/kvc-driver) runs the same
checked steps through the v2 backend against pith-kv and Debian's etcd
3.4, and through the v3 backend against etcd's JSON gateway, over plain
HTTP and over TLS with a client certificate. Every run lists an endpoint
where nothing listens first, so each request also goes through failover."""

import os
import random
import socket
import ssl
import subprocess
import time

import pytest

import kvlib

ROOT = kvlib.ROOT
DRIVER = os.path.join(ROOT, "build", "test", "kvc", "kvc-driver")
# The scenario waits for TTLs and writes 1,100 keys for the v2 history.
DRIVER_WAIT = 180


@pytest.fixture(scope="module")
def driver():
    r = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "build/test/kvc/kvc-driver"],
                       capture_output=True, text=True)
    assert r.returncode == 0, "building the driver failed:\n" + r.stdout + r.stderr
    return DRIVER


def random_ports(n):
    """n distinct loopback ports below the ephemeral range, free now."""
    ports = []
    while len(ports) < n:
        p = random.randrange(20000, 32000)
        if p in ports:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            s.close()
        ports.append(p)
    return ports


def run_driver(driver, backend, endpoints, extra=()):
    dead, = random_ports(1)
    prefix = "/kvc%d" % random.randrange(1 << 30)
    argv = [driver, "--backend", backend, "--prefix", prefix, "--dead", "http://127.0.0.1:%d" % dead,
            "--endpoints", ",".join(["http://127.0.0.1:%d" % dead] + list(endpoints))] + list(extra)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=DRIVER_WAIT, env=kvlib.child_env())
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "all ok" in r.stdout, "%s\n%s" % (" ".join(argv), out)
    return out


@pytest.fixture
def member(request, tmp_path):
    impl = request.param
    client, peer = random_ports(2)
    m = kvlib.start_member(impl, str(tmp_path), client_port=client, peer_port=peer)
    yield m
    m.stop()


@pytest.mark.parametrize("member", ["pith", "etcd"], indirect=True)
def test_v2(driver, member):
    out = run_driver(driver, "v2", [member.url])
    assert "ok: a watch from a forgotten index gets the resync signal" in out
    member.check_running("after the scenario")


@pytest.mark.parametrize("member", ["etcd"], indirect=True)
def test_v3_gateway(driver, member):
    out = run_driver(driver, "v3", [member.url], ["--compact-url", member.url])
    assert "ok: v3: refresh of a key without a TTL" in out
    assert "every event of one revision reaches a watch" in out


# --- a watch across a broken connection ---------------------------------------------

def run_reconnect(driver, backend, endpoints, break_it):
    """The driver's reconnect scenario: break_it() runs while the driver
    waits, after its watch has seen one event."""
    argv = [driver, "--backend", backend, "--prefix", "/kvcr%d" % random.randrange(1 << 30),
            "--scenario", "reconnect", "--endpoints", ",".join(endpoints)]
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, env=kvlib.child_env())
    try:
        seen = []
        for line in p.stdout:
            seen.append(line)
            if line.strip() == "restart":
                break
        assert seen and seen[-1].strip() == "restart", "".join(seen)
        break_it()
        out, _ = p.communicate("go\n", timeout=DRIVER_WAIT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    out = "".join(seen) + out
    assert p.returncode == 0 and "all ok" in out, " ".join(argv) + "\n" + out


def test_v2_watch_fails_over(driver, tmp_path):
    """Three pith-kv members; the member the watch is connected to stops.
    The watch goes on from another member from the index after its last
    event, and sees the writes made meanwhile."""
    ports = random_ports(7)
    dead = ports.pop()
    names = ["n1", "n2", "n3"]
    initial = ",".join("%s=http://127.0.0.1:%d" % (n, ports[2 * i + 1]) for i, n in enumerate(names))
    members = []
    try:
        for i, n in enumerate(names):
            members.append(kvlib.spawn_member("pith", str(tmp_path), n, ports[2 * i], ports[2 * i + 1],
                                              initial))
        kvlib.wait_cluster(members)

        def stop_first():
            members[0].stop()
            kvlib.wait_leader(members[1:], time.monotonic() + kvlib.START_WAIT)

        run_reconnect(driver, "v2", ["http://127.0.0.1:%d" % dead] + [m.url for m in members], stop_first)
    finally:
        kvlib.stop_all(members)


def test_v3_watch_resumes_after_restart(driver, tmp_path):
    """etcd restarts under a v3 watch; the watch connects again and goes
    on from the revision after its last event."""
    client, peer = random_ports(2)
    m = kvlib.start_member("etcd", str(tmp_path), client_port=client, peer_port=peer)
    state = {"m": m}

    def restart():
        m.stop()
        state["m"] = kvlib.start_member("etcd", str(tmp_path), client_port=client, peer_port=peer)

    try:
        run_reconnect(driver, "v3", [m.url], restart)
    finally:
        state["m"].stop()


# --- TLS ----------------------------------------------------------------------------

def openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True)
    assert r.returncode == 0, "openssl %s:\n%s" % (" ".join(args), r.stderr)


def make_certs(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate,
    EC P-256, as etcd and BearSSL both take them. etcd's v3 gateway dials
    etcd's own gRPC server with the server certificate as its client
    certificate, so with --client-cert-auth that one must allow clientAuth
    too (without it the gateway answers 503 "connection closed")."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=kvc test CA", cwd=d)
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth"),
                      ("client", "extendedKeyUsage=clientAuth")):
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(ext + "\n")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name, cwd=d)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", name + ".crt", "-days", "2", "-extfile", name + ".ext", cwd=d)


@pytest.fixture
def etcd_tls(tmp_path):
    """etcd with an https client URL that requires a client certificate,
    and a plain one beside it for the harness (waiting, compaction)."""
    d = str(tmp_path)
    make_certs(d)
    tls_port, plain_port, peer_port = random_ports(3)
    https = "https://127.0.0.1:%d" % tls_port
    plain = "http://127.0.0.1:%d" % plain_port
    extra = ["--listen-client-urls", "%s,%s" % (https, plain), "--advertise-client-urls", https,
             "--cert-file", os.path.join(d, "server.crt"), "--key-file", os.path.join(d, "server.key"),
             "--trusted-ca-file", os.path.join(d, "ca.crt"), "--client-cert-auth"]
    m = kvlib.start_member("etcd", d, client_port=plain_port, peer_port=peer_port, extra=extra)
    # The https URL answers too, and only with a client certificate.
    ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.crt"))
    ctx.load_cert_chain(os.path.join(d, "client.crt"), os.path.join(d, "client.key"))
    with socket.create_connection(("127.0.0.1", tls_port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1"):
            pass
    yield m, https, d
    m.stop()


def test_v3_gateway_tls(driver, etcd_tls):
    m, https, d = etcd_tls
    certs = ["--ca", os.path.join(d, "ca.crt"), "--cert", os.path.join(d, "client.crt"),
             "--key", os.path.join(d, "client.key")]
    run_driver(driver, "v3", [https], certs + ["--compact-url", m.url])


def test_v2_tls(driver, etcd_tls):
    m, https, d = etcd_tls
    certs = ["--ca", os.path.join(d, "ca.crt"), "--cert", os.path.join(d, "client.crt"),
             "--key", os.path.join(d, "client.key")]
    run_driver(driver, "v2", [https], certs + ["--skip-history"])


def test_tls_untrusted_server(driver, etcd_tls, tmp_path):
    """A server whose certificate the CA given did not sign is never talked
    to: every request fails as unavailable."""
    m, https, d = etcd_tls
    other = tmp_path / "other"
    other.mkdir()
    make_certs(str(other))
    argv = [driver, "--backend", "v3", "--prefix", "/x", "--skip-history", "--endpoints", https,
            "--ca", str(other / "ca.crt"), "--cert", os.path.join(d, "client.crt"),
            "--key", os.path.join(d, "client.key")]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=kvlib.child_env())
    assert r.returncode == 1, r.stdout + r.stderr
    assert "status unavailable" in r.stdout and "TLS" in r.stdout, r.stdout
