"""Driving one pith-init in a scratch root for the unit-manager tests: start
it, talk to its local API (HTTP/1.1 over a unix socket), write unit files,
wait for states, and take it all down again, processes and groups too."""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import select
import subprocess
import tempfile
import textwrap
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INIT = os.path.join(ROOT, "build", "bin", "pith-init")
PITH = os.path.join(ROOT, "build", "bin", "pith")

# Every wait is bounded by this unless a test says otherwise: long enough
# for a loaded machine, short enough that a hang fails the test quickly.
WAIT = 10.0
POLL = 0.02


def wait_until(what, fn, timeout=WAIT):
    """fn() until it returns something true; that value, or AssertionError
    naming what did not happen (and fn's last value)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))
        time.sleep(POLL)


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def cgroup2_mount():
    """Where the unified cgroup hierarchy is mounted, or None."""
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, where, kind = line.split()[:3]
            if kind == "cgroup2":
                return where
    return None


def cgroup2_of(pid):
    """pid's group in the unified hierarchy, as a directory, or None."""
    mnt = cgroup2_mount()
    try:
        with open("/proc/%d/cgroup" % pid) as f:
            for line in f:
                if line.startswith("0::"):
                    path = line[3:].strip()
                    return mnt + ("" if path == "/" else path) if mnt else None
    except FileNotFoundError:
        pass
    return None


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=WAIT):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:500])


class Init:
    """One pith-init --root DIR, its console captured in DIR/console.log."""

    def __init__(self, root):
        self.root = root
        self.sock = os.path.join(root, "run", "pith", "init.sock")
        self.console_path = os.path.join(root, "console.log")
        self.proc = None
        self.slices = []
        self.slice = None

    # --- life ---------------------------------------------------------------

    def start(self, wait_ready=True):
        log = open(self.console_path, "ab")
        self.proc = subprocess.Popen([INIT, "--root", self.root], stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        # pith-init puts its units in pith-<pid>.slice beside itself.
        group = cgroup2_of(self.proc.pid)
        if group:
            self.slice = os.path.join(group, "pith-%d.slice" % self.proc.pid)
            self.slices.append(self.slice)
        if wait_ready:
            wait_until("pith-init to be ready and serving", self._serving)
        return self

    def _serving(self):
        if self.proc.poll() is not None:
            raise AssertionError("pith-init exited with %s:\n%s" % (self.proc.returncode, self.console()))
        if not re.search(r"^pith: ready in", self.console(), re.M) or not os.path.exists(self.sock):
            return False
        try:
            return self.get("/v1/units").status == 200
        except OSError:
            return False

    def stop(self, timeout=40):
        """SIGTERM and wait: pith-init's exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def cleanup(self, kill=False):
        """Whatever state it is in: no pith-init, no unit process, no group.
        kill: SIGKILL it rather than wait for it to stop the units."""
        if self.proc and self.proc.poll() is None and kill:
            self.proc.kill()
            self.proc.wait()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for s in self.slices:
            cgroup_destroy(s)

    def console(self):
        with open(self.console_path, errors="replace") as f:
            return f.read()

    def wait_console(self, pattern, timeout=WAIT):
        return wait_until("%r on the console" % pattern,
                          lambda: re.search(pattern, self.console(), re.M), timeout)

    # --- the API -------------------------------------------------------------

    def request(self, method, path, body=None, timeout=WAIT * 3):
        c = UnixHTTPConnection(self.sock, timeout=timeout)
        try:
            headers = {}
            if body is not None:
                if isinstance(body, str):
                    body = body.encode()
                headers["Content-Type"] = "text/plain"
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def unit(self, name):
        r = self.get("/v1/units/" + name)
        assert r.status == 200, r
        return r.json()

    def action(self, name, verb, no_block=False):
        return self.post("/v1/units/%s/%s%s" % (name, verb, "?no_block=1" if no_block else ""))

    def start_unit(self, name):
        r = self.action(name, "start")
        assert r.status == 200, r
        return r

    def stop_unit(self, name):
        r = self.action(name, "stop")
        assert r.status == 200, r
        return r

    def enable(self, name):
        r = self.post("/v1/units/%s/enable" % name)
        assert r.status == 200, r
        return r.json()["changes"]

    def disable(self, name):
        r = self.post("/v1/units/%s/disable" % name)
        assert r.status == 200, r
        return r.json()["changes"]

    def daemon_reload(self):
        r = self.post("/v1/daemon-reload")
        assert r.status == 200, r
        return r.json()

    def journal(self, **query):
        """The journal's entries for the query, as dicts."""
        q = urllib.parse.urlencode(query)
        r = self.get("/v1/journal" + ("?" + q if q else ""))
        assert r.status == 200, r
        return [json.loads(l) for l in r.body.decode().splitlines() if l.strip()]

    def messages(self, unit=None):
        return [e["message"] for e in self.journal(**({"unit": unit} if unit else {}))]

    def wait_journal(self, pattern, unit=None, timeout=WAIT):
        return wait_until("%r in the journal%s" % (pattern, " of " + unit if unit else ""),
                          lambda: next((m for m in self.messages(unit) if re.search(pattern, m)), None),
                          timeout)

    def wait_state(self, name, active, sub=None, timeout=WAIT):
        """The unit's status once its active_state (and sub_state) are these."""
        def check():
            u = self.unit(name)
            if u["active_state"] == active and (sub is None or u["sub_state"] == sub):
                return u
            return None
        try:
            return wait_until("%s to be %s%s" % (name, active, "/" + sub if sub else ""), check, timeout)
        except AssertionError as e:
            raise AssertionError("%s; now %r" % (e, {k: v for k, v in self.unit(name).items()
                                                     if k in ("active_state", "sub_state", "result",
                                                              "restarts", "main_pid")}))

    # --- files ----------------------------------------------------------------

    def write_unit(self, name, text, where="etc/pith/units"):
        d = os.path.join(self.root, where)
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, name)
        mode = "wb" if isinstance(text, bytes) else "w"
        with open(p, mode) as f:
            f.write(text)
        return p

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def read(self, *parts):
        with open(self.path(*parts)) as f:
            return f.read()

    # --- the CLI ----------------------------------------------------------------

    def cli(self, name, *args, timeout=30, **kw):
        """Run the CLI as `name` (systemctl, journalctl) against this pith-init."""
        env = dict(os.environ, PITH_ENDPOINT="unix:" + self.sock)
        return subprocess.run([os.path.join(self.bindir(), name)] + list(args), env=env,
                              capture_output=True, text=True, timeout=timeout, **kw)

    def cli_popen(self, name, *args):
        env = dict(os.environ, PITH_ENDPOINT="unix:" + self.sock)
        return subprocess.Popen([os.path.join(self.bindir(), name)] + list(args), env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def bindir(self):
        d = self.path("bin")
        if not os.path.isdir(d):
            os.mkdir(d)
            for n in ("systemctl", "journalctl", "pith"):
                os.symlink(PITH, os.path.join(d, n))
        return d


# --- writing units and reading what they did --------------------------------------

def unit(text, **kw):
    """A unit file from an indented literal, with kw filled in."""
    return textwrap.dedent(text).strip("\n").format(**kw) + "\n"


def script(i, name, body):
    """An executable file in the root, from an indented literal; its path."""
    p = i.path(name)
    with open(p, "w") as f:
        f.write(textwrap.dedent(body).lstrip("\n"))
    os.chmod(p, 0o755)
    return p


def lines(i, name):
    """The words of the file name in the root; [] while there is none."""
    try:
        return i.read(name).split()
    except FileNotFoundError:
        return []


def write_units(i, **units):
    """name_service="text" writes name.service, with {root} and {log} (a
    file the units append to) filled in; other underscores become dashes."""
    for key, text in units.items():
        base, _, suffix = key.rpartition("_")
        i.write_unit("%s.%s" % (base.replace("_", "-"), suffix), unit(text, root=i.root, log=i.path("log")))


def read_until(proc, pattern, count, timeout=WAIT):
    """Output of proc until pattern has been seen count times."""
    out = b""
    deadline = time.monotonic() + timeout
    while len(re.findall(pattern.encode(), out)) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("%r seen fewer than %d times in:\n%s" % (pattern, count, out.decode()))
        r, _, _ = select.select([proc.stdout], [], [], left)
        if r:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError("output ended early:\n%s" % out.decode())
            out += chunk
    return out.decode()


def cgroup_destroy(path):
    """Kill every process in the cgroup tree at path and remove it."""
    if not os.path.isdir(path):
        return
    for _ in range(3):
        try:
            with open(os.path.join(path, "cgroup.kill"), "w") as f:
                f.write("1")
        except OSError:
            pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and cgroup_populated(path):
            time.sleep(POLL)
        for d, subs, _ in sorted(os.walk(path), key=lambda x: -len(x[0])):
            try:
                os.rmdir(d)
            except OSError:
                pass
        if not os.path.isdir(path):
            return


def cgroup_populated(path):
    try:
        with open(os.path.join(path, "cgroup.events")) as f:
            return "populated 1" in f.read()
    except OSError:
        return False


def make_root():
    """A fresh root with a short path: unix socket paths must fit in 108 bytes."""
    d = tempfile.mkdtemp(prefix="pu", dir="/tmp")
    os.chmod(d, 0o755)
    for sub in ("etc/pith/units", "run", "tmp"):
        os.makedirs(os.path.join(d, sub))
    os.chmod(os.path.join(d, "tmp"), 0o1777)
    return d


def remove_root(d):
    shutil.rmtree(d, ignore_errors=True)
