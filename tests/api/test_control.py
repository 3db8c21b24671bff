"""The control port (pith-control) on the host, in front of a pith-init
--root: TLS, credentials and roles, the API passed through, the CLI over
HTTPS, and bad input. Every client here is one nobody on this project
wrote: curl, openssl s_client, Python's ssl and requests."""

import base64
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from unittest import mock

import pytest
import requests

import kvlib
from controllib import CONTROL, Control, Creds, free_port, start, gen
from unitlib import ROOT, WAIT, Init, make_root, remove_root, unit, wait_until

HELLO = unit("""
    [Unit]
    Description=Hello over HTTPS

    [Service]
    ExecStart=/bin/sh -c 'while true; do echo "Hello World"; sleep 0.2; done'
    """)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    init, control = start(tmp_path_factory.mktemp("control"))
    yield control
    control.stop()
    init.cleanup()


# --- authentication and authorization ---------------------------------------------

# Every route a client could try; none may answer without a credential.
ROUTES = [
    ("GET", "/healthz"), ("GET", "/v1/machine"), ("GET", "/metrics"), ("GET", "/v1/units"),
    ("GET", "/v1/units/hello.service"), ("GET", "/v1/journal"), ("GET", "/v1/unit-files"),
    ("POST", "/v1/daemon-reload"), ("POST", "/v1/units/x.service/start"),
    ("PUT", "/v1/units/sneaky.service/file"), ("DELETE", "/v1/units/x.service/file"),
    ("POST", "/v1/machine/reboot"), ("POST", "/v1/machine/poweroff"), ("GET", "/nope"),
]


def test_no_credential_gets_401_on_every_route_and_reaches_nothing(node):
    for method, path in ROUTES:
        code, body, _ = node.curl("-X", method, "--data-binary", "[Service]\nExecStart=/bin/true\n",
                                  node.url(path))
        assert code == 401, (method, path, body)
        assert json.loads(body)["error"]
    assert not os.path.exists(node.init.path("etc", "pith", "units", "sneaky.service"))
    assert node.init.proc.poll() is None
    # Each refusal is logged with the peer's address.
    assert re.search(r"auth: refused 127\.0\.0\.1:\d+: PUT /v1/units/sneaky\.service/file: no credential",
                     node.log())


def test_401_names_both_schemes(node):
    out = subprocess.run(["curl", "-sS", "-i", "--cacert", node.creds.ca, node.url("/v1/units")],
                         capture_output=True, text=True, timeout=20).stdout
    assert re.search(r"^WWW-Authenticate: Bearer realm=\"pith\"$", out, re.M)
    assert re.search(r"^WWW-Authenticate: Basic realm=\"pith\"", out, re.M)


@pytest.mark.parametrize("header", [
    "Bearer pith_wrongwrongwrongwrongwrongwrongwrongwrongwro",
    "Bearer ",
    "Bearer a b",
    "Basic " + base64.b64encode(b"root:nottheone").decode(),
    "Basic !!!notbase64",
    "Basic " + base64.b64encode(b"no-colon-here").decode(),
    "Digest username=\"root\"",
    "Token abc",
])
def test_wrong_or_malformed_credentials_get_401(node, header):
    code, body, _ = node.curl("-H", "Authorization: " + header, node.url("/v1/machine"))
    assert code == 401, body


def test_a_wrong_token_beside_a_good_certificate_is_refused(node):
    code, _, _ = node.curl("--cert", node.creds.client("alice")[0], "--key", node.creds.client("alice")[1],
                           "-H", "Authorization: Bearer pith_nope", node.url("/v1/machine"))
    assert code == 401


def test_admin_token_as_bearer_as_basic_and_admin_certificate(node):
    c = node.creds
    assert node.curl(node.url("/v1/machine"), token=c.admin)[0] == 200
    assert node.curl("-u", "root:" + c.admin, node.url("/v1/machine"))[0] == 200
    assert node.curl("-u", "anyone:" + c.admin, "-X", "POST", node.url("/v1/daemon-reload"))[0] == 200
    cert, key = c.client("alice")
    code, body, _ = node.curl("--cert", cert, "--key", key, "-X", "POST", node.url("/v1/daemon-reload"))
    assert code == 200, body


def test_read_only_may_read_and_nothing_else(node):
    c = node.creds
    cert, key = c.client("rob")
    for how in (["-H", "Authorization: Bearer " + c.reader], ["--cert", cert, "--key", key]):
        assert node.curl(*how, node.url("/v1/units"))[0] == 200
        assert node.curl(*how, "-I", node.url("/healthz"))[0] == 200
        code, body, _ = node.curl(*how, "-X", "PUT", "--data-binary", "[Service]\nExecStart=/bin/true\n",
                                  node.url("/v1/units/ro.service/file"))
        assert code == 403, body
        assert "only read" in json.loads(body)["error"]
        assert node.curl(*how, "-X", "POST", node.url("/v1/machine/reboot"))[0] == 403
        assert node.curl(*how, "-X", "DELETE", node.url("/v1/units/ro.service/file"))[0] == 403
    assert not os.path.exists(node.init.path("etc", "pith", "units", "ro.service"))
    assert node.init.proc.poll() is None


def test_a_certificate_from_another_ca_is_refused(node):
    cert, key = node.creds.client("mallory", other=True)
    code, body, _ = node.curl("--cert", cert, "--key", key, node.url("/v1/machine"))
    assert code == 401
    assert "client certificate was refused" in json.loads(body)["error"]


def test_a_node_certificate_has_no_client_role_whatever_its_o(node, tmp_path):
    """A node's certificate (extKeyUsage serverAuth) is no client's: not
    pith gen node's, and not one made elsewhere with O=admin either."""
    d = str(tmp_path)
    with open(os.path.join(d, "node.ext"), "w") as f:
        f.write("keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n"
                "subjectAltName=IP:127.0.0.1\n")
    for args in (["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "n.key",
                  "-out", "n.csr", "-subj", "/CN=node9/O=admin"],
                 ["x509", "-req", "-in", "n.csr", "-CA", node.creds.ca, "-CAkey",
                  os.path.join(node.creds.dir, "ca.key"), "-CAcreateserial", "-out", "n.crt", "-days", "2",
                  "-extfile", "node.ext"]):
        r = subprocess.run(["openssl"] + args, cwd=d, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
    for cert, key in ((os.path.join(d, "n.crt"), os.path.join(d, "n.key")), (node.creds.cert, node.creds.key)):
        code, body, _ = node.curl("--cert", cert, "--key", key, node.url("/v1/machine"))
        assert code == 401, (cert, body)
        assert "no role" in json.loads(body)["error"], body


def test_a_certificate_that_expires_mid_connection_is_refused_from_then_on(node, tmp_path):
    """A client certificate valid for a few more seconds: the connection
    it opened is served until then, and its next request after is
    refused and the connection closed (the handshake's check alone left
    it usable for as long as the connection lasted)."""
    d = str(tmp_path)
    end = time.time() + 5
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write("[ca]\ndefault_ca = c\n[c]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n"
                "default_md = sha256\npolicy = p\n[p]\ncommonName = supplied\norganizationName = optional\n")
    with open(os.path.join(d, "client.ext"), "w") as f:
        f.write("keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n")
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("1000\n")
    stamp = lambda t: time.strftime("%Y%m%d%H%M%SZ", time.gmtime(t))
    for args in (["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "c.key",
                  "-out", "c.csr", "-subj", "/CN=brief/O=admin"],
                 ["ca", "-batch", "-notext", "-config", "ca.cnf", "-cert", node.creds.ca, "-keyfile",
                  os.path.join(node.creds.dir, "ca.key"), "-in", "c.csr", "-out", "c.crt",
                  "-startdate", stamp(time.time() - 60), "-enddate", stamp(end), "-extfile", "client.ext"]):
        r = subprocess.run(["openssl"] + args, cwd=d, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
    s = node.tls_socket(cert=(os.path.join(d, "c.crt"), os.path.join(d, "c.key")))
    s.settimeout(WAIT)
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    s.sendall(request)
    assert s.recv(65536).startswith(b"HTTP/1.1 200"), "not served while the certificate was valid"

    def refused():
        s.sendall(request)
        got = s.recv(65536)
        return got if not got.startswith(b"HTTP/1.1 200") else None

    got = wait_until("the certificate to expire mid-connection", refused, timeout=WAIT + 5)
    assert time.time() > end
    assert got.startswith(b"HTTP/1.1 401"), got
    assert b"the client certificate is no longer valid" in got, got
    try:
        assert s.recv(65536) == b"", "the connection stayed open"
    except (ConnectionResetError, ssl.SSLError):
        pass
    s.close()


def test_tokens_are_read_again_on_sighup(node):
    code, _, _ = node.curl(node.url("/healthz"), token="pith_notyetvalidnotyetvalidnotyetvalidnotyetval")
    assert code == 401
    new = gen(node.creds.dir, "token", "--name", "rotated")
    assert node.curl(node.url("/healthz"), token=new)[0] == 401
    node.proc.send_signal(signal.SIGHUP)
    wait_until("the reload", lambda: "credentials read again" in node.log())
    assert node.curl(node.url("/healthz"), token=new)[0] == 200
    assert node.curl(node.url("/healthz"), token=node.creds.admin)[0] == 200


def test_a_new_ca_closes_every_connection_that_presented_a_certificate(tmp_path):
    """A connection opened with a client certificate and used with a
    token (so never authenticated by the certificate) closes when a new
    CA is read on SIGHUP: the certificate may be what was revoked. One
    without a certificate stays."""
    init, control = start(tmp_path)
    try:
        with_cert = control.tls_socket(cert=control.creds.client("alice"))
        without = control.tls_socket()
        for s in (with_cert, without):
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + auth(control) + b"\r\n")
            assert s.recv(65536).startswith(b"HTTP/1.1 200"), "not served before the reload"
        gen(os.path.join(str(tmp_path), "new"), "ca")
        os.replace(os.path.join(str(tmp_path), "new", "ca.crt"), control.creds.ca)
        control.proc.send_signal(signal.SIGHUP)
        wait_until("the reload", lambda: "credentials read again" in control.log())
        with_cert.settimeout(WAIT)
        try:
            assert with_cert.recv(65536) == b"", "the connection with a certificate is still open"
        except (ConnectionResetError, ssl.SSLError):
            pass
        without.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + auth(control) + b"\r\n")
        assert without.recv(65536).startswith(b"HTTP/1.1 200")
    finally:
        control.stop()
        init.cleanup()


def test_every_write_is_logged_with_the_name_of_its_credential_never_the_secret(node):
    named = gen(node.creds.dir, "token", "--name", "deploy-bot")
    unnamed = gen(node.creds.dir, "token")
    reloads = node.log().count("credentials read again")
    node.proc.send_signal(signal.SIGHUP)
    wait_until("the reload", lambda: node.log().count("credentials read again") > reloads)
    start = len(node.log())
    path = "/v1/units/audited.service/file"
    assert node.curl("-X", "PUT", "--data-binary", HELLO, node.url(path), token=named)[0] in (200, 201)
    assert node.curl(node.url(path), token=named)[0] == 200
    assert node.curl("-X", "POST", "-u", "someone:" + unnamed, node.url("/v1/daemon-reload"))[0] == 200
    crt, key = node.creds.client("alice")
    assert node.curl("-X", "DELETE", "--cert", crt, "--key", key, node.url(path))[0] in (200, 204)
    # A write refused is a refusal, not a write.
    assert node.curl("-X", "DELETE", node.url(path), token=node.creds.reader)[0] == 403

    def audit():
        return re.findall(r"audit: 127\.0\.0\.1:\d+: (.*)$", node.log()[start:], re.M)
    digest = hashlib.sha256(unnamed.encode()).hexdigest()
    want = ["PUT %s by token deploy-bot" % path,
            "POST /v1/daemon-reload by token sha256:%s" % digest[:12],
            "DELETE %s by certificate CN=alice" % path]
    wait_until("three audit lines", lambda: len(audit()) >= 3)
    assert audit() == want, audit()
    log = node.log()
    for secret in (named, unnamed, node.creds.admin, node.creds.reader):
        assert secret not in log and secret[len("pith_"):] not in log
    assert digest not in log     # only the start of the digest


# --- GET /health: etcd's, and the one route without a credential ----------------------

@pytest.fixture(scope="module")
def kv_node(tmp_path_factory):
    """A control port in front of a pith-kv of its own (a cluster of one)."""
    d = tmp_path_factory.mktemp("control-kv")
    kv = kvlib.start_member("pith", str(d / "kv"))
    try:
        init, control = start(d, "--kv", "127.0.0.1:%d" % kv.client_port)
    except BaseException:
        kv.stop()
        raise
    yield control, kv
    control.stop()
    init.cleanup()
    kv.stop()


def https_get(control, target, headers=None):
    """One request over TLS; (status, [(field, value)] without Date and
    Connection, body)."""
    conn = http.client.HTTPSConnection("127.0.0.1", control.port, context=control.ssl_context(),
                                       timeout=WAIT)
    try:
        conn.request("GET", target, headers=headers or {})
        r = conn.getresponse()
        fields = sorted((k, v) for k, v in r.getheaders() if k.lower() not in ("date", "connection"))
        return r.status, fields, r.read()
    finally:
        conn.close()


def test_get_health_needs_no_credential_and_is_the_stores_own_answer(kv_node):
    control, kv = kv_node
    # A store of one has its leader a moment after it answers.
    wait_until("pith-kv's /health to say true", lambda: kvlib.send(kv.url, "GET", "/health").status == 200)
    direct = kvlib.send(kv.url, "GET", "/health")
    assert direct.status == 200 and direct.json() == {"health": "true"}, direct.describe()
    want = sorted((k, v) for k, v in direct.headers if k.lower() not in ("date", "connection"))
    # As etcd with auth on: no credential, a wrong one, another scheme,
    # a query: the same answer, field for field.
    for target, headers in [
            ("/health", None),
            ("/health", {"Authorization": "Bearer pith_" + "x" * 43}),
            ("/health", {"Authorization": "Basic " + base64.b64encode(b"root:wrong").decode()}),
            ("/health", {"Authorization": "Digest username=\"root\""}),
            ("/health?serializable=true", None)]:
        status, fields, body = https_get(control, target, headers)
        assert (status, fields, body) == (200, want, direct.body), (target, headers, status, fields, body)
    # And what etcdctl's cluster-health makes of it.
    code, body, _ = control.curl(control.url("/health"))
    assert code == 200 and json.loads(body)["health"] == "true"
    assert "auth: refused" not in control.log()


def test_everything_but_get_health_still_needs_a_credential(kv_node):
    control, kv = kv_node
    refused = [("HEAD", "/health"), ("POST", "/health"), ("PUT", "/health"), ("DELETE", "/health"),
               ("OPTIONS", "/health"), ("GET", "/health/"), ("GET", "/healthz"), ("GET", "/health2"),
               ("GET", "/v2/health"), ("GET", "/version"), ("GET", "/v2/keys/"),
               ("GET", "/v2/members"), ("GET", "/v2/machines"), ("GET", "/v2/stats/self"),
               ("PUT", "/v2/keys/sneaky"), ("GET", "/v1/units"), ("GET", "/metrics")]
    for method, path in refused:
        how = ["-I"] if method == "HEAD" else ["-X", method]
        code, body, _ = control.curl(*how, control.url(path))
        assert code == 401, (method, path, code, body)
    # GET /health with a body is not the probe: it needs a credential too.
    code, body, _ = control.curl("-X", "GET", "--data-binary", "x", control.url("/health"))
    assert code == 401, body
    assert kvlib.send(kv.url, "GET", "/v2/keys/sneaky").status == 404
    # With a credential each of them is passed on as before.
    code, body, _ = control.curl(control.url("/version"), token=control.creds.reader)
    assert code == 200 and json.loads(body)["etcdserver"], body


# --- TLS -----------------------------------------------------------------------------

def s_client(node, *args):
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % node.port,
                        "-CAfile", node.creds.ca, "-verify_return_error"] + list(args),
                       input="", capture_output=True, text=True, timeout=20)
    return r.stdout + r.stderr


def negotiated(out):
    m = re.search(r"^New, (\S+), Cipher is (\S+)", out, re.M)
    return (m.group(1), m.group(2)) if m else None


def test_tls12_with_ecdhe_and_aead_only(node):
    assert negotiated(s_client(node, "-tls1_2")) == ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256")
    for suite in ("ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"):
        out = s_client(node, "-tls1_2", "-cipher", suite)
        assert negotiated(out) == ("TLSv1.2", suite), out
        assert "Verify return code: 0 (ok)" in out


@pytest.mark.parametrize("args", [
    ["-tls1"], ["-tls1_1"], ["-tls1_3"],
    ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256"],
    ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"],
    ["-tls1_2", "-cipher", "AES128-GCM-SHA256"],
    ["-tls1_2", "-cipher", "AES256-SHA"],
    ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"],
])
def test_old_protocols_and_non_aead_suites_are_refused(node, args):
    out = s_client(node, *(args + (["-cipher", "ALL:@SECLEVEL=0"] if args[0] in ("-tls1", "-tls1_1") else [])))
    assert negotiated(out) is None or negotiated(out)[1] == "(NONE)", out


def test_handshake_signatures_with_sha1_are_refused(node):
    # SECLEVEL=0: OpenSSL 3 would not offer SHA-1 signatures itself otherwise.
    out = s_client(node, "-tls1_2", "-sigalgs", "ECDSA+SHA1", "-cipher", "ALL:@SECLEVEL=0")
    assert negotiated(out) is None or negotiated(out)[1] == "(NONE)", out
    for sigalgs in ("ECDSA+SHA256", "ECDSA+SHA384", "ECDSA+SHA512"):
        out = s_client(node, "-tls1_2", "-sigalgs", sigalgs)
        assert negotiated(out) == ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256"), (sigalgs, out)
        assert "Peer signature type: ECDSA" in out and "Verify return code: 0 (ok)" in out, out


@pytest.mark.parametrize("sigalgs,ok", [("ECDSA+SHA1", False), ("ECDSA+SHA256", True)])
def test_the_cli_refuses_a_server_that_signs_its_handshake_with_sha1(node, sigalgs, ok):
    port = free_port()
    srv = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-cert", node.creds.cert,
                            "-key", node.creds.key, "-tls1_2", "-sigalgs", sigalgs,
                            "-cipher", "ALL:@SECLEVEL=0", "-www"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def listening():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_until("openssl s_server to listen", listening)
        r = node.cli("pith", "health", env={"PITH_ENDPOINT": "https://127.0.0.1:%d" % port})
    finally:
        srv.terminate()
        srv.wait()
    if ok:
        assert r.returncode == 0, r.stderr
    else:
        assert r.returncode != 0 and "TLS with 127.0.0.1:%d failed" % port in r.stderr, (r.returncode, r.stderr)


def test_the_certificate_names_the_node_and_chains_to_the_cluster_ca(node):
    s = node.tls_socket()
    der = s.getpeercert()
    assert s.version() == "TLSv1.2"
    assert ("IP Address", "127.0.0.1") in der["subjectAltName"]
    assert ("DNS", "node1") in der["subjectAltName"]
    s.close()
    # A client that trusts another CA fails the handshake.
    ctx = ssl.create_default_context(cafile=os.path.join(node.creds.other, "ca.crt"))
    with pytest.raises(ssl.SSLCertVerificationError):
        ctx.wrap_socket(socket.create_connection(("127.0.0.1", node.port), timeout=10),
                        server_hostname="127.0.0.1")


def test_requests_reads_the_api(node):
    s = requests.Session()
    s.trust_env = False     # REQUESTS_CA_BUNDLE would override verify
    s.verify = node.creds.ca
    s.headers["Authorization"] = "Bearer " + node.creds.admin
    m = s.get(node.url("/v1/machine"), timeout=10)
    assert m.status_code == 200
    body = m.json()
    for k in ("name", "machine_id", "boot_id", "version", "uptime_usec", "load", "memory", "addresses"):
        assert k in body
    assert len(body["load"]) == 3 and body["memory"]["total_bytes"] > 0
    assert s.get(node.url("/healthz"), timeout=10).json() == {"status": "ok"}
    # Keep-alive: the same connection serves many requests.
    for _ in range(20):
        assert s.get(node.url("/v1/units"), timeout=10).status_code == 200


def send_junk(node, junk):
    """Send junk in place of a TLS handshake; read until the server closes."""
    s = socket.create_connection(("127.0.0.1", node.port), timeout=10)
    s.sendall(junk)
    s.settimeout(10)
    try:
        while s.recv(4096):
            pass
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()


def test_garbage_instead_of_tls_is_dropped_and_others_are_served(node):
    for junk in (b"\x16\x03\x03\xff\xff" + os.urandom(300), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                 os.urandom(5000), b"\x17\x03\x03\x00\x10" + b"A" * 16):
        send_junk(node, junk)
    assert node.curl(node.url("/healthz"), token=node.creds.admin)[0] == 200


def test_a_flood_of_failed_handshakes_is_logged_at_a_bounded_rate(tmp_path):
    """Each failed handshake is either a line of its own or counted in a
    "tls: N more failures not logged" line: a flood cannot fill the journal
    and push earlier refusals out of it. A port of its own: no other
    test's failures are counted in its log."""
    init, node = start(tmp_path)
    try:
        flood_and_count(node)
    finally:
        node.stop()
        init.cleanup()


def flood_and_count(node):
    flood = 300
    for _ in range(flood):
        send_junk(node, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")

    def counted():
        log = node.log()
        lines = len(re.findall(r"^.*tls: 127\.0\.0\.1:\d+: handshake failed", log, re.M))
        more = sum(int(n) for n in re.findall(r"tls: (\d+) more failures not logged", log))
        return lines, more

    wait_until("every failed handshake to be logged or counted", lambda: sum(counted()) >= flood)
    lines, more = counted()
    assert lines + more == flood, (lines, more)
    # 300 handshakes fail in far less than the 30 seconds it would take to
    # log them all at 10 a second.
    assert more > 0 and lines < flood // 2, (lines, more)
    assert node.curl(node.url("/healthz"), token=node.creds.admin)[0] == 200


# --- the API through the port ---------------------------------------------------------

def test_unit_uploaded_started_followed_and_stopped_over_https(node):
    c = node.creds
    code, body, _ = node.curl("-X", "PUT", "--data-binary", HELLO, node.url("/v1/units/hello.service/file"),
                              token=c.admin)
    assert code in (200, 201), body
    r = node.cli("systemctl", "start", "hello")
    assert r.returncode == 0, r.stderr
    r = node.cli("systemctl", "status", "hello")
    assert r.returncode == 0, r.stderr
    assert "● hello.service - Hello over HTTPS" in r.stdout
    assert re.search(r"Active: active \(running\)", r.stdout)
    follow = subprocess.Popen([os.path.join(node.init.bindir(), "journalctl"), "-f", "-u", "hello"],
                              env=dict(os.environ, PITH_ENDPOINT=node.endpoint, PITH_CA=c.ca,
                                       PITH_TOKEN=c.admin, HOME=node.init.root),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Lines about the unit come first (Starting…, Started…), then its output.
        seen = []
        while sum("Hello World" in l for l in seen) < 6 and len(seen) < 40:
            seen.append(follow.stdout.readline())
        assert sum("Hello World" in l for l in seen) >= 6, seen
    finally:
        follow.send_signal(signal.SIGINT)
        assert follow.wait(timeout=10) == 0
    r = node.cli("systemctl", "stop", "hello")
    assert r.returncode == 0, r.stderr
    assert node.cli("systemctl", "is-active", "hello").stdout.strip() == "inactive"


def test_the_cli_says_what_went_wrong_with_fixed_exit_codes(node):
    r = node.cli("systemctl", "status", "hello", token="pith_wrong")
    assert r.returncode == 113 and "Access denied by 127.0.0.1" in r.stderr, r
    r = node.cli("systemctl", "daemon-reload", token=node.creds.reader)
    assert r.returncode == 114 and "Permission denied" in r.stderr, r
    r = node.cli("systemctl", "status", "hello", env={"PITH_CA": os.path.join(node.creds.other, "ca.crt")})
    assert r.returncode == 112, r
    assert "certificate (CN=node1) was refused: the certificate is not signed by a trusted CA" in r.stderr
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    r = node.cli("systemctl", "status", "hello", env={"PITH_ENDPOINT": "https://127.0.0.1:%d" % port})
    closed.close()
    assert r.returncode == 111 and "Connection refused" in r.stderr, r
    r = node.cli("journalctl", "-u", "hello", token="pith_wrong")
    assert r.returncode == 113, r
    r = node.cli("systemctl", "status", "nosuch")
    assert r.returncode == 4 and "could not be found" in r.stderr, r
    r = node.cli("systemctl", "status", "hello", env={"PITH_CA": ""})
    assert r.returncode == 100 and "PITH_CA is not set" in r.stderr, r


def test_the_cli_reads_a_config_file_and_client_certificates(node):
    cert, key = node.creds.client("alice")
    cfg = node.init.path("pith.conf")
    with open(cfg, "w") as f:
        f.write("[Client]\nEndpoint=%s\nCA=%s\nCertificate=%s\nKey=%s\n" % (node.endpoint, node.creds.ca, cert, key))
    env = dict(os.environ, PITH_CONFIG=cfg, HOME=node.init.root)
    for k in ("PITH_ENDPOINT", "PITH_CA", "PITH_TOKEN", "PITH_CERT", "PITH_KEY"):
        env.pop(k, None)
    r = subprocess.run([os.path.join(node.init.bindir(), "systemctl"), "daemon-reload"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr


def test_metrics_are_prometheus_text_with_units_and_requests(node):
    code, body, _ = node.curl(node.url("/metrics"), token=node.creds.admin)
    assert code == 200
    samples = {}
    for line in body.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$', line)
        assert m, "not a sample line: %r" % line
        float(m.group(3))
        samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    assert 'pith_unit_active{unit="multi-user.target"}' in samples
    assert any(k.startswith("pith_control_requests_total{") for k in samples)
    assert samples["pith_control_auth_refused_total"] >= 1
    assert any(k.startswith("pith_control_request_duration_seconds_bucket{") for k in samples)
    assert "pith_journal_entries_total" in samples


# --- HTTP done properly ----------------------------------------------------------------

def auth(node):
    return ("Authorization: Bearer %s\r\n" % node.creds.admin).encode()


def test_pipelined_requests_are_answered_in_order(node):
    reqs = b"".join(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + auth(node) + b"\r\n" for _ in range(3))
    reqs += b"GET /v1/machine HTTP/1.1\r\nHost: x\r\n" + auth(node) + b"Connection: close\r\n\r\n"
    out = node.exchange(reqs)
    assert out.count(b"HTTP/1.1 200 OK") == 4, out
    assert out.rindex(b'{"status":"ok"}') < out.index(b'"machine_id"')


def test_a_request_without_a_credential_closes_its_connection(node):
    """A client without a credential holds no connection past its 401:
    the request pipelined behind is not read."""
    reqs = (b"GET /v1/units HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + auth(node) + b"Connection: close\r\n\r\n")
    out = node.exchange(reqs)
    assert out.startswith(b"HTTP/1.1 401"), out
    assert b"Connection: close" in out.split(b"\r\n\r\n")[0], out
    assert b"200 OK" not in out, out
    # With a body, the same.
    out = node.exchange(b"PUT /v1/units/x.service/file HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                        b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + auth(node) + b"\r\n")
    assert out.startswith(b"HTTP/1.1 401") and b"Connection: close" in out and b"200 OK" not in out, out


def test_a_request_pipelined_behind_a_passed_on_one_is_answered(node):
    reqs = (b"GET /v1/units HTTP/1.1\r\nHost: x\r\n" + auth(node) + b"\r\n"
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + auth(node) + b"\r\n")
    s = node.tls_socket()
    s.sendall(reqs)
    out = b""
    s.settimeout(10)
    # Nothing more is sent: both answers must come from what is buffered.
    while out.count(b"HTTP/1.1 200 OK") < 2:
        chunk = s.recv(65536)
        assert chunk, out
        out += chunk
    s.close()
    assert out.index(b'"units"') < out.index(b'{"status":"ok"}')


def test_head_passed_on_says_the_length_get_would_have(node):
    get = subprocess.run(["curl", "-sS", "-i", "--cacert", node.creds.ca, "-H", "Authorization: Bearer " + node.creds.admin,
                          node.url("/v1/unit-files")], capture_output=True, text=True, timeout=20).stdout
    head = subprocess.run(["curl", "-sS", "-I", "--cacert", node.creds.ca, "-H", "Authorization: Bearer " + node.creds.admin,
                           node.url("/v1/unit-files")], capture_output=True, text=True, timeout=20).stdout
    body = get.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in get else get.split("\n\n", 1)[1]
    m = re.search(r"^Content-Length: (\d+)", head, re.M | re.I)
    assert m and int(m.group(1)) == len(body.encode()), (head, len(body))


def test_a_client_that_never_reads_its_answers_costs_bounded_memory(node):
    before = node.rss_kib()
    s = node.tls_socket()
    s.setblocking(False)
    # Authenticated: a request without a credential would close the connection.
    req = (b"GET /nope HTTP/1.1\r\nHost: a\r\n" + auth(node) + b"\r\n") * 1000
    sent = 0
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and sent < 40 * len(req):
        try:
            sent += s.send(req)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            time.sleep(0.05)
    grown = node.rss_kib() - before
    assert node.curl(node.url("/healthz"), token=node.creds.admin)[0] == 200
    s.close()
    # The answers queued stop at 256 KiB; the socket buffers hold the rest.
    assert grown < 4096, "RSS grew by %d KiB for one client that never reads" % grown


def test_a_refusal_reaches_a_client_still_sending_a_large_body(node):
    import threading
    for _ in range(5):
        s = node.tls_socket()
        body = b"x" * (2 * 1024 * 1024)
        s.sendall(b"PUT /v1/units/big.service/file HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body))

        def push():
            try:
                s.sendall(body)
            except OSError:
                pass
        t = threading.Thread(target=push, daemon=True)
        t.start()
        # The client reads late: by then the server has answered and closed.
        time.sleep(0.5)
        out = b""
        s.settimeout(10)
        try:
            while b"\r\n\r\n" not in out:
                chunk = s.recv(4096)
                if not chunk:
                    break
                out += chunk
        except (ConnectionResetError, ssl.SSLError) as e:
            raise AssertionError("the answer was lost: %r after %r" % (e, out))
        assert out.startswith(b"HTTP/1.1 401"), out
        s.close()
        t.join(10)


def test_chunked_upload_and_expect_continue(node):
    body = unit("""
        [Service]
        ExecStart=/bin/sleep 1000
        """).encode()
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7]) for i in range(0, len(body), 7))
    req = (b"PUT /v1/units/chunky.service/file HTTP/1.1\r\nHost: x\r\n" + auth(node) +
           b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked + b"0\r\n\r\n")
    out = node.exchange(req)
    assert out.startswith(b"HTTP/1.1 201"), out
    with open(node.init.path("etc", "pith", "units", "chunky.service"), "rb") as f:
        assert f.read() == body
    s = node.tls_socket()
    s.sendall(b"PUT /v1/units/cont.service/file HTTP/1.1\r\nHost: x\r\n" + auth(node) +
              b"Expect: 100-continue\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
    assert s.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
    s.sendall(body)
    rest = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        rest += chunk
    assert b"HTTP/1.1 201" in rest, rest
    s.close()


def test_unauthenticated_expect_continue_is_refused_before_the_body(node):
    out = node.exchange(b"PUT /v1/units/x.service/file HTTP/1.1\r\nHost: x\r\n"
                        b"Expect: 100-continue\r\nContent-Length: 10000000000\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 401"), out
    assert b"100 Continue" not in out
    # Authenticated, the same size is too large.
    out = node.exchange(b"PUT /v1/units/x.service/file HTTP/1.1\r\nHost: x\r\n" + auth(node) +
                        b"Expect: 100-continue\r\nContent-Length: 10000000000\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 413"), out


@pytest.mark.parametrize("head,status", [
    (b"POST /v1/daemon-reload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n", 400),
    (b"POST /v1/daemon-reload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n", 400),
    (b"POST /v1/daemon-reload HTTP/1.1\r\nHost: x\r\nContent-Length: 3x\r\n", 400),
    (b"POST /v1/daemon-reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n", 501),
    (b"POST /v1/daemon-reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n", 400),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(100)), 431),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 20000 + b"\r\n", 431),
    (b"PUT /v1/units/x.service/file HTTP/1.1\r\nHost: x\r\nContent-Length: 10737418240\r\n", 413),
    (b"GET / HTTP/1.1\nHost: x\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n", 400),
])
def test_framing_errors_get_their_status_and_close(node, head, status):
    out = node.exchange(head + auth(node) + b"\r\nabc" + b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + auth(node) + b"\r\n")
    assert out.startswith(b"HTTP/1.1 %d " % status), out[:200]
    assert b"Connection: close" in out
    # The smuggled second request is never answered.
    assert out.count(b"HTTP/1.1 ") == 1, out


@pytest.mark.parametrize("target", [b"/healthz", b"/v1/machine", b"/metrics", b"/nope", b"/v1/daemon-reload"])
@pytest.mark.parametrize("chunk", [b"5;a\nhello\r\n0\r\n\r\n", b"5;a=\"x\ny\"\r\nhello\r\n0\r\n\r\n",
                                   b"0;a\n\r\n"])
def test_a_bare_lf_in_a_chunk_extension_gets_400_and_close_on_every_route(node, target, chunk):
    # Routes answered here as well as those passed on: the body is read
    # before the answer, so its framing error is what the client hears.
    out = node.exchange(b"POST " + target + b" HTTP/1.1\r\nHost: x\r\n" + auth(node) +
                        b"Transfer-Encoding: chunked\r\n\r\n" + chunk +
                        b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + auth(node) + b"\r\n")
    assert out.startswith(b"HTTP/1.1 400 "), out[:300]
    assert b"invalid chunk extension" in out and b"Connection: close" in out, out[:300]
    assert out.count(b"HTTP/1.1 ") == 1, out


def test_a_body_sent_to_a_local_route_is_read_before_the_answer(node):
    # Well framed, it is dropped and the connection carries on.
    for target, status in ((b"/healthz", b"405"), (b"/nope", b"404")):
        out = node.exchange(b"POST " + target + b" HTTP/1.1\r\nHost: x\r\n" + auth(node) +
                            b"Transfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\n\r\n"
                            b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + auth(node) + b"Connection: close\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 " + status), out[:300]
        assert out.count(b"HTTP/1.1 200 OK") == 1, out
    # Expect: 100-continue is honoured before the body to drop.
    s = node.tls_socket()
    s.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\n" + auth(node) +
              b"Expect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n")
    assert s.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
    s.sendall(b"hello")
    rest = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        rest += chunk
    s.close()
    assert rest.startswith(b"HTTP/1.1 405"), rest


def test_json_nested_100000_deep_and_invalid_utf8_are_refused_cleanly(node):
    deep = b"[" * 100000 + b"]" * 100000
    r = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "--cacert", node.creds.ca,
                        "-H", "Authorization: Bearer " + node.creds.admin, "-X", "PUT",
                        "--data-binary", "@-", node.url("/v1/units/deep.service/file")],
                       input=deep, capture_output=True, timeout=30)
    assert r.stdout.rsplit(b"\n", 1)[1] == b"400", r.stdout[-300:]
    r = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "--cacert", node.creds.ca,
                        "-H", "Authorization: Bearer " + node.creds.admin,
                        node.url("/v1/units/\xff\xfe.service")], capture_output=True, timeout=30)
    assert r.stdout.rsplit(b"\n", 1)[1] in (b"400", b"404"), r.stdout
    assert node.curl(node.url("/healthz"), token=node.creds.admin)[0] == 200


def test_slowloris_gets_408_while_others_are_served(node):
    s = node.tls_socket()
    s.sendall(b"GET /healthz HTTP/1.1\r\n")
    t0 = time.monotonic()
    out = b""
    s.settimeout(1)
    while time.monotonic() - t0 < 25:
        # One byte a second keeps the idle timeout away but not the header one.
        try:
            s.sendall(b"X")
        except OSError:
            break
        try:
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
        except socket.timeout:
            pass
        assert node.curl(node.url("/healthz"), token=node.creds.admin)[0] == 200
    s.close()
    assert out.startswith(b"HTTP/1.1 408"), out
    assert 9 <= time.monotonic() - t0 <= 20


def test_a_flood_of_idle_connections_costs_little_and_blocks_nobody(node):
    before = node.rss_kib()
    idle = []
    try:
        # The flood comes from other loopback addresses, 64 at most from each
        # (the per-client limit); the honest client is 127.0.0.1.
        for i in range(300):
            s = socket.create_connection(("127.0.0.1", node.port), timeout=10,
                                         source_address=("127.0.1.%d" % (1 + i // 60), 0))
            idle.append(s)
        # Half of them send a ClientHello's first bytes and stop.
        for s in idle[::2]:
            s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        assert node.curl(node.url("/healthz"), token=node.creds.admin)[0] == 200
        grown = node.rss_kib() - before
        # About 4 KiB each is touched; the TLS and HTTP buffers are not, until used.
        assert grown < 300 * 32, "RSS grew by %d KiB for 300 idle connections" % grown
    finally:
        for s in idle:
            s.close()


# --- limits ------------------------------------------------------------------------------

def test_connections_past_the_per_client_limit_get_503_when_all_are_in_requests(tmp_path):
    init, control = start(tmp_path, "--max-connections-per-client", "4")
    held = []
    try:
        for _ in range(4):
            s, status, _ = open_stream(control, "/v1/journal?follow=1&lines=0", control.creds.admin)
            held.append(s)
            assert status == 200
        out = control.exchange(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + auth(control) + b"\r\n")
        assert out.startswith(b"HTTP/1.1 503"), out
        held.pop().close()
        wait_until("a free slot", lambda: control.curl(control.url("/healthz"), token=control.creds.admin)[0] == 200)
    finally:
        for s in held:
            s.close()
        control.stop()
        init.cleanup()


def test_it_raises_its_descriptor_limit_to_hold_every_connection(tmp_path):
    """Started with 256 descriptors (of a hard 8192), it raises its own
    limit for 1024 connections and an upstream each: 300 connections,
    from five addresses, are all served. With 256 the accepts failed."""
    creds_dir = tmp_path / "c"
    init, control = start(creds_dir)
    control.stop()
    control = Control(init, control.creds, nofile=(256, 8192))
    held = []
    try:
        with open("/proc/%d/limits" % control.proc.pid) as f:
            soft = int(re.search(r"Max open files\s+(\d+)", f.read()).group(1))
        assert soft >= 2 * 1024 + 64, soft
        for i in range(300):
            raw = socket.create_connection(("127.0.0.1", control.port), timeout=WAIT,
                                           source_address=("127.0.3.%d" % (1 + i // 60), 0))
            held.append(control.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1"))
        for s in held[::30]:
            s.sendall(b"GET /v1/units HTTP/1.1\r\nHost: x\r\n" + auth(control) + b"Connection: close\r\n\r\n")
            assert s.recv(65536).startswith(b"HTTP/1.1 200"), "a connection was not served"
        assert "file descriptors" not in control.log() and "accept:" not in control.log(), control.log()
    finally:
        for s in held:
            s.close()
        control.stop()
        init.cleanup()


def test_clients_that_pipeline_and_never_read_are_held_to_one_budget(tmp_path):
    """Twelve clients pipeline requests and never read their answers. Each
    holds its answers in the kernel's send queue (charged to the unit's
    cgroup) and then in pith-control's buffers; all together may hold no
    more than --max-buffered (1 MiB here): the connection holding the most
    is closed until they fit, and an honest request is still answered."""
    init, control = start(tmp_path, "--max-buffered", "1")
    held = []
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + auth(control) + b"\r\n"

    def stuff(s):
        try:
            s.sendall(request * 4000)
        except (OSError, ssl.SSLError):
            pass  # the server stopped reading, or closed the connection

    try:
        threads = []
        for i in range(12):
            raw = socket.socket()
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            raw.settimeout(5)
            raw.bind(("127.0.4.%d" % (1 + i), 0))
            raw.connect(("127.0.0.1", control.port))
            s = control.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1")
            held.append(s)
            t = threading.Thread(target=stuff, args=(s,))
            t.start()
            threads.append(t)
        for t in threads:
            t.join()

        def metric(name):
            code, body, _ = control.curl(control.url("/metrics"), token=control.creds.admin)
            assert code == 200, body
            return int(re.search(r"^%s (\d+)$" % name, body, re.M).group(1))

        # The bound is applied once a second, with the timeouts.
        wait_until("connections closed for the budget", lambda: metric("pith_control_buffer_closed_total") >= 1)
        assert metric("pith_control_buffered_bytes") <= 1 << 20
        assert re.search(r"conn: 127\.0\.4\.\d+:\d+: closed: it held \d+ KiB", control.log()), control.log()
        assert control.curl(control.url("/healthz"), token=control.creds.admin)[0] == 200
    finally:
        for s in held:
            s.close()
        control.stop()
        init.cleanup()


# Run in a network namespace whose loopback answers for fd00:1::/64 and
# fd00:2::/64: connections to pith-control from addresses of the first
# (held open, after the handshake) and then one from each; prints which of
# the held ones the server closed.
V6_CLIENTS = r"""
import json, socket, ssl, sys, time
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
def conn(src):
    raw = socket.socket(socket.AF_INET6)
    raw.settimeout(10)
    raw.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND: any address of the routes
    raw.bind((src, 0))
    raw.connect(("::1", port))
    return ctx.wrap_socket(raw)
def closed(s):
    s.settimeout(0.2)
    try:
        return s.recv(1) == b""
    except (socket.timeout, ssl.SSLWantReadError):
        return False
    except (OSError, ssl.SSLError):
        return True
held = [conn("fd00:1::%x" % (10 + i)) for i in range(4)]
out = {}
extra = conn("fd00:2::1")
out["other /64"] = [closed(s) for s in held]
extra2 = conn("fd00:1::ff")
deadline = time.monotonic() + 10
while not closed(held[0]) and time.monotonic() < deadline:
    pass
out["same /64"] = [closed(s) for s in held]
print(json.dumps(out))
"""


def test_ipv6_clients_count_by_their_64_for_the_per_client_limit(tmp_path):
    """An IPv6 client has a /64 to choose addresses from: the per-client
    limit (4 here) counts the /64. A fifth connection from another address
    of the same /64 closes the oldest idle one; one from another /64
    closes nothing."""
    creds = Creds(str(tmp_path))
    root = os.path.join(str(tmp_path), "root")
    os.makedirs(os.path.join(root, "etc", "pith", "units"))
    init = Init(root).start()
    ns = "pith-v6-%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", ns], check=True)
    proc = None
    try:
        for cmd in (["link", "set", "lo", "up"], ["-6", "route", "add", "local", "fd00:1::/64", "dev", "lo"],
                    ["-6", "route", "add", "local", "fd00:2::/64", "dev", "lo"]):
            subprocess.run(["ip", "-n", ns] + cmd, check=True)
        port = 7443
        log = open(os.path.join(root, "control.log"), "ab")
        proc = subprocess.Popen(["ip", "netns", "exec", ns, CONTROL, "--listen", "::", "--port", str(port),
                                 "--cert", creds.cert, "--key", creds.key, "--ca", creds.ca,
                                 "--tokens", creds.tokens, "--socket", init.sock,
                                 "--max-connections-per-client", "4"],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        wait_until("pith-control to listen in the namespace",
                   lambda: "listening on :: port %d " % port in open(os.path.join(root, "control.log")).read())
        r = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", V6_CLIENTS, str(port), creds.ca],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        got = json.loads(r.stdout)
        assert got["other /64"] == [False] * 4, got
        assert got["same /64"] == [True, False, False, False], got
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", ns])
        init.cleanup()


def test_half_open_connections_from_an_address_do_not_lock_out_a_request_from_it(node):
    """300 connections from 127.0.0.1, each with a partial request head:
    each new one closes the one from that address that has gone longest
    without completing a head, so a complete request from 127.0.0.1 (an
    operator behind the same NAT as whoever sends them) is answered, and
    at most 64 of the 300 are still open."""
    held = []
    try:
        for _ in range(300):
            s = node.tls_socket()
            s.sendall(b"GET /v1/units HTTP/1.1\r\nHo")
            held.append(s)
        code, body, _ = node.curl(node.url("/healthz"), token=node.creds.admin)
        assert code == 200, body

        def still_open(s):
            s.setblocking(False)
            try:
                return s.recv(1) != b""
            except (ssl.SSLWantReadError, BlockingIOError):
                return True
            except (OSError, ssl.SSLError):
                return False

        assert sum(still_open(s) for s in held) <= 64
        assert still_open(held[-1])
    finally:
        for s in held:
            s.close()


def open_stream(control, target, token, source="127.0.0.1"):
    """A request that may never end, over TLS from source: (socket, the
    answer's status, the bytes read so far)."""
    raw = socket.create_connection(("127.0.0.1", control.port), timeout=WAIT, source_address=(source, 0))
    s = control.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1")
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % (target, token)).encode())
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(65536)
        assert chunk, "closed before an answer: %r" % got
        got += chunk
    return s, int(got.split(b" ", 2)[1]), got


def read_only_tokens(control, n):
    """n new read-only tokens, read by control on SIGHUP."""
    tokens = [gen(control.creds.dir, "token", "--role", "read-only", "--name", "ro%d" % i) for i in range(n)]
    control.proc.send_signal(signal.SIGHUP)
    wait_until("the reload", lambda: "credentials read again" in control.log())
    return tokens


def test_journal_follows_have_limits_per_credential_and_per_node_below_pid1s(tmp_path):
    """A follow never ends. One read-only token used to be able to open 64
    and so take every connection of PID 1's API: then no request from
    anyone was answered. Now a credential may follow 8 at once and the
    node 24 (PID 1 itself takes 32 of its 64), and with every slot
    taken, an admin over HTTPS and root on the local socket are served."""
    init, control = start(tmp_path)
    held = []
    try:
        tokens = read_only_tokens(control, 3)
        for i in range(8):
            s, status, _ = open_stream(control, "/v1/journal?follow=1&lines=0", control.creds.reader)
            held.append(s)
            assert status == 200, i
        s, status, got = open_stream(control, "/v1/journal?follow=1&lines=0", control.creds.reader)
        held.append(s)
        assert status == 503, got
        assert b"too many journal follows open with this credential (8)" in got
        # Not a stream: answered as ever.
        assert open_stream(control, "/v1/journal?follow=0&lines=1", control.creds.reader)[1] == 200
        for t in tokens[:2]:
            for i in range(8):
                s, status, _ = open_stream(control, "/v1/journal?follow=1&lines=0", t)
                held.append(s)
                assert status == 200
        s, status, got = open_stream(control, "/v1/journal?follow=1&lines=0", tokens[2])
        held.append(s)
        assert status == 503, got
        assert b"too many journal follows open on this node (24)" in got
        assert control.curl(control.url("/v1/units"), token=control.creds.admin)[0] == 200
        assert init.get("/v1/units", timeout=WAIT).status == 200
        held.pop(0).close()
        wait_until("a follow's slot to come free",
                   lambda: open_stream(control, "/v1/journal?follow=1&lines=0", tokens[2])[1] == 200)
    finally:
        for s in held:
            s.close()
        control.stop()
        init.cleanup()


def test_watches_through_the_control_port_have_limits_per_credential_and_per_node(kv_node):
    """Each watch holds a connection to pith-kv: 128 per credential and 512
    per node; past either the watch is answered 503 while other requests
    go on."""
    control, kv = kv_node
    tokens = [control.creds.reader] + read_only_tokens(control, 4)
    held = []

    def watch(token):
        # 64 connections at most from one address.
        s, status, got = open_stream(control, "/v2/keys/watched?wait=true", token,
                                     source="127.0.2.%d" % (1 + len(held) // 60))
        held.append(s)
        return status, got

    try:
        for token in tokens[:4]:
            for i in range(128):
                assert watch(token) == (200, mock.ANY), i
            status, got = watch(token)
            assert status == 503, got
            assert b"too many watches open with this credential (128)" in got
        status, got = watch(tokens[4])
        assert status == 503, got
        assert b"too many watches open on this node (512)" in got
        assert https_get(control, "/v2/keys/watched",
                         {"Authorization": "Bearer " + control.creds.reader})[0] == 404
    finally:
        for s in held:
            s.close()


def test_a_read_waits_on_a_silent_init_no_longer_than_the_upstream_timeout(tmp_path):
    """PID 1 stopped: a read is answered 504 after --upstream-timeout; a
    follow, which waits by design, stays open and goes on afterwards."""
    init, control = start(tmp_path, "--upstream-timeout", "1")
    try:
        follow, status, _ = open_stream(control, "/v1/journal?follow=1&lines=0", control.creds.reader)
        assert status == 200
        init.proc.send_signal(signal.SIGSTOP)
        try:
            code, body, _ = control.curl(control.url("/v1/units"), token=control.creds.reader)
        finally:
            init.proc.send_signal(signal.SIGCONT)
        assert code == 504, body
        assert json.loads(body)["error"] == "the node's init did not answer in 1 s"
        assert control.curl(control.url("/v1/units"), token=control.creds.reader)[0] == 200
        # The follow outlived the timeout: new entries still reach it.
        assert init.request("PUT", "/v1/units/said.service/file",
                            "[Service]\nType=oneshot\nExecStart=/bin/echo after-the-stop\n").status in (200, 201)
        init.start_unit("said.service")
        follow.settimeout(WAIT)
        got = b""
        while b"after-the-stop" not in got:
            chunk = follow.recv(65536)
            assert chunk, got
            got += chunk
        follow.close()
    finally:
        control.stop()
        init.cleanup()


def test_reboot_over_https_takes_init_down(tmp_path):
    init, control = start(tmp_path)
    try:
        code, body, _ = control.curl("-X", "POST", control.url("/v1/machine/reboot"), token=control.creds.reader)
        assert code == 403
        assert init.proc.poll() is None
        r = control.cli("pith", "reboot")
        assert r.returncode == 0, r.stderr
        assert init.proc.wait(timeout=30) == 0
        assert re.search(r"shutting down: reboot requested over the API", init.console())
    finally:
        control.stop()
        init.cleanup()


def test_without_credentials_the_shipped_unit_fails_once_and_stays_down(tmp_path):
    """The image's pith-control.service on a node without its certificate:
    pith-control says which file is missing and exits with 100, a permanent
    error, and the unit is not restarted (RestartPreventExitStatus=100)."""
    root = make_root()
    init = Init(root)
    try:
        with open(os.path.join(ROOT, "image", "units", "pith-control.service")) as f:
            init.write_unit("pith-control.service", f.read(), where="usr/lib/pith/units")
        # Only where the program and its files are differs from the image.
        init.write_unit("host.conf", unit("""
            [Service]
            ExecStart=
            ExecStart={control} --listen 127.0.0.1 --port {port} --cert {root}/etc/pith/tls/node.crt --key {root}/etc/pith/tls/node.key --ca {root}/etc/pith/tls/ca.crt --tokens {root}/etc/pith/tokens --socket {root}/run/pith/init.sock
            """, control=CONTROL, port=free_port(), root=root),
            where="etc/pith/units/pith-control.service.d")
        init.start()
        init.action("pith-control.service", "start", no_block=True)
        u = init.wait_state("pith-control.service", "failed")
        assert (u["result"], u["restarts"]) == ("exit-code", 0), u
        init.wait_journal(r"unable to read the credentials: .*node\.crt", unit="pith-control.service")
        init.wait_journal(r"pith-control\.service: main process exited with status 100: not restarted")
    finally:
        init.cleanup()
        remove_root(root)
