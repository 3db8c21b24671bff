"""The control port on the host: credentials made by `pith gen`, a pith-init
in a scratch root, and pith-control in front of its socket on a loopback
port. Tests reach it with real clients: curl, openssl, Python's ssl and
requests, and the pith CLI."""

import os
import re
import resource
import socket
import ssl
import subprocess
import time

from unitlib import INIT, PITH, ROOT, Init, wait_until, WAIT

CONTROL = os.path.join(ROOT, "build", "bin", "pith-control")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def gen(creds, *args):
    """Run pith gen with --dir creds; its stdout."""
    r = subprocess.run([PITH, "gen", "--dir", creds] + list(args), capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


class Creds:
    """A cluster's credentials, and a second CA nobody trusts."""

    def __init__(self, d):
        self.dir = os.path.join(d, "creds")
        gen(self.dir, "ca")
        gen(self.dir, "node", "node1")
        self.admin = gen(self.dir, "token", "--name", "admin")
        self.reader = gen(self.dir, "token", "--role", "read-only", "--name", "reader")
        gen(self.dir, "client", "alice")
        gen(self.dir, "client", "rob", "--role", "read-only")
        self.other = os.path.join(d, "other")
        gen(self.other, "ca")
        gen(self.other, "client", "mallory")
        self.ca = os.path.join(self.dir, "ca.crt")
        self.cert = os.path.join(self.dir, "nodes", "node1.crt")
        self.key = os.path.join(self.dir, "nodes", "node1.key")
        self.tokens = os.path.join(self.dir, "tokens")

    def client(self, name, other=False):
        d = os.path.join(self.other if other else self.dir, "clients")
        return os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")


class Control:
    """pith-control on 127.0.0.1:port in front of init's socket."""

    def __init__(self, init, creds, *extra, nofile=None):
        """nofile: (soft, hard) descriptor limits to start it with."""
        self.init = init
        self.creds = creds
        self.port = free_port()
        self.log_path = os.path.join(init.root, "control.log")
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [CONTROL, "--listen", "127.0.0.1", "--port", str(self.port), "--cert", creds.cert,
             "--key", creds.key, "--ca", creds.ca, "--tokens", creds.tokens, "--socket", init.sock]
            + list(extra), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, nofile)) if nofile else None)
        log.close()
        wait_until("pith-control to listen", self._listening)

    def _listening(self):
        if self.proc.poll() is not None:
            raise AssertionError("pith-control exited with %s:\n%s" % (self.proc.returncode, self.log()))
        # Its own line: an earlier pith-control may have logged to the file.
        return "listening on 127.0.0.1 port %d " % self.port in self.log()

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

    @property
    def endpoint(self):
        return "https://127.0.0.1:%d" % self.port

    def url(self, path):
        return self.endpoint + path

    # --- clients ----------------------------------------------------------------

    def curl(self, *args, token=None, check_tls=True):
        """curl -sS with the cluster CA; (status, body, stderr)."""
        argv = ["curl", "-sS", "--max-time", "20", "-o", "-", "-w", "\n%{http_code}"]
        if check_tls:
            argv += ["--cacert", self.creds.ca]
        if token:
            argv += ["-H", "Authorization: Bearer " + token]
        r = subprocess.run(argv + list(args), capture_output=True, text=True, timeout=30)
        body, _, code = r.stdout.rpartition("\n")
        return int(code or 0), body, r.stderr

    def ssl_context(self, cert=None):
        ctx = ssl.create_default_context(cafile=self.creds.ca)
        if cert:
            ctx.load_cert_chain(*cert)
        return ctx

    def tls_socket(self, cert=None):
        """A TLS connection to the port, as Python's ssl makes it."""
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)
        return self.ssl_context(cert).wrap_socket(raw, server_hostname="127.0.0.1")

    def exchange(self, data, cert=None, read_until_close=True, timeout=WAIT):
        """Send raw bytes over TLS; what came back before the server closed
        (or before timeout)."""
        s = self.tls_socket(cert)
        s.settimeout(timeout)
        s.sendall(data)
        out = b""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
                if not read_until_close:
                    break
        except (socket.timeout, ssl.SSLError, ConnectionResetError):
            pass
        finally:
            s.close()
        return out

    def cli(self, name, *args, token=None, env=None, timeout=30):
        """The pith CLI as `name` over HTTPS."""
        e = dict(os.environ, PITH_ENDPOINT=self.endpoint, PITH_CA=self.creds.ca,
                 PITH_TOKEN=self.creds.admin if token is None else token)
        for k in ("PITH_CERT", "PITH_KEY", "PITH_CONFIG"):
            e.pop(k, None)
        e["HOME"] = self.init.root
        e.update(env or {})
        return subprocess.run([os.path.join(self.init.bindir(), name)] + list(args), env=e,
                              capture_output=True, text=True, timeout=timeout)


def start(tmp_path, *extra):
    """Credentials, a pith-init and a pith-control: (init, control)."""
    creds = Creds(str(tmp_path))
    root = os.path.join(str(tmp_path), "root")
    os.makedirs(os.path.join(root, "etc", "pith", "units"))
    init = Init(root).start()
    try:
        return init, Control(init, creds, *extra)
    except Exception:
        init.cleanup(kill=True)
        raise
