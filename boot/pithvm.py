"""Start and stop Pith machines under QEMU.

Used by boot/node, boot/cluster, the boot tests and the boot benchmark, so
that all of them start a machine the same way. QEMU runs under TCG unless
PITH_QEMU_ACCEL says otherwise (KVM guests hang on some hosts).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = os.path.join(ROOT, "build", "image")
READY_RE = re.compile(r"^pith: ready in (\d+) ms", re.M)

# Device names per machine type: microvm has virtio-mmio, the others PCI.
MACHINES = {
    "microvm": {
        "machine": "microvm",
        "suffix": "device",
    },
    "pc": {"machine": "pc", "suffix": "pci"},
    "q35": {"machine": "q35", "suffix": "pci"},
}


def host_tsc_khz():
    """The host's TSC rate, when it has a constant one, else None.

    Under TCG the guest reads the host's TSC. On microvm, which has no HPET
    or ACPI PM timer, the kernel can only calibrate the TSC against the PIT,
    and under TCG on a busy host that fails and the boot hangs. Telling the
    kernel the rate (tsc_early_khz=) skips the calibration.
    """
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return None
    if "constant_tsc" not in info:
        return None
    m = re.search(r"^cpu MHz\s*:\s*([0-9.]+)", info, re.M)
    return int(float(m.group(1)) * 1000) if m else None


def qemu_binary():
    path = shutil.which("qemu-system-x86_64")
    if not path:
        raise RuntimeError("qemu-system-x86_64 not found; run make deps")
    return path


def qmp(path, command, **arguments):
    """Run one QMP command on the machine whose QMP socket is path."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(path)
        f = s.makefile("rw")
        f.readline()  # greeting
        for cmd in ({"execute": "qmp_capabilities"},
                    {"execute": command, "arguments": arguments}):
            f.write(json.dumps(cmd) + "\n")
            f.flush()
            while True:
                reply = json.loads(f.readline())
                if "event" not in reply:
                    break
        return reply
    finally:
        s.close()


def follow(node, stop, prefix=""):
    """Copy node's console to stdout until stop is set and the log is drained."""
    pos = 0
    while True:
        text = node.output()
        if len(text) > pos:
            chunk = text[pos:]
            pos = len(text)
            if prefix:
                chunk = "".join(prefix + l for l in chunk.splitlines(True))
            sys.stdout.write(chunk)
            sys.stdout.flush()
        elif stop.is_set():
            return
        time.sleep(0.05)


class Node:
    """One QEMU machine. The serial console goes to a log file (follow()
    copies it to stdout); QMP on a unix socket controls it."""

    def __init__(self, name, rundir, machine="microvm", memory=256,
                 kernel=None, initrd=None, append="", config=None,
                 netdev=None, mac=None, hostfwd=None, prefix=None, files=None, rng=True):
        if machine not in MACHINES:
            raise ValueError("unknown machine type %r (want %s)" %
                             (machine, ", ".join(MACHINES)))
        self.name = name
        self.rundir = rundir
        self.machine = machine
        self.memory = memory
        self.kernel = kernel or os.path.join(IMAGE, "bzImage")
        self.initrd = initrd or os.path.join(IMAGE, "initramfs.cpio")
        self.append = append
        self.config = config
        self.files = files or {}  # /etc/pith/<name> on the node: host path
        self.netdev = netdev
        self.mac = mac
        self.hostfwd = hostfwd or []
        self.prefix = prefix or []  # e.g. ["ip", "netns", "exec", NS]
        # A virtio-rng device feeds the kernel's random pool from the host.
        # Without one (as on many hypervisors and instance types) the pool
        # is initialised only when something asks for it and waits.
        self.rng = rng
        self.log = os.path.join(rundir, name + ".log")
        self.qmp_path = os.path.join(rundir, name + ".qmp")
        self.pidfile = os.path.join(rundir, name + ".pid")
        self.proc = None
        self.started = None

    def argv(self):
        m = MACHINES[self.machine]
        accel = os.environ.get("PITH_QEMU_ACCEL", "tcg")
        append = "console=ttyS0 panic=-1 " + self.append
        tsc_khz = host_tsc_khz() if self.machine == "microvm" and accel == "tcg" else None
        if tsc_khz:
            append = "tsc_early_khz=%d %s" % (tsc_khz, append)
        if self.machine == "microvm":
            # microvm has no reset register: a reboot is a triple fault, which
            # QEMU turns into a reset of the machine.
            append = "reboot=t " + append
        args = self.prefix + [
            qemu_binary(), "-M", m["machine"], "-accel", accel,
            "-m", str(self.memory), "-smp", "1",
            "-nodefaults", "-no-user-config", "-display", "none",
            "-kernel", self.kernel, "-initrd", self.initrd,
            "-append", append.strip(),
            "-chardev", "file,id=con,path=%s" % self.log,
            "-serial", "chardev:con",
            "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
            "-pidfile", self.pidfile,
        ]
        if self.rng:
            args += ["-device", "virtio-rng-%s" % m["suffix"]]
        if self.config:
            args += ["-fw_cfg", "name=opt/pith/config,file=%s" % self.config]
        for name, path in sorted(self.files.items()):
            args += ["-fw_cfg", "name=opt/pith/etc/%s,file=%s" % (name, path)]
        netdev = self.netdev
        if netdev is None:
            fwd = "".join(",hostfwd=tcp:127.0.0.1:%d-:%d" % (h, g) for h, g in self.hostfwd)
            netdev = "user,id=n0,net=10.0.2.0/24" + fwd
        dev = "virtio-net-%s,netdev=n0" % m["suffix"]
        if self.mac:
            dev += ",mac=" + self.mac
        args += ["-netdev", netdev, "-device", dev]
        return args

    def start(self):
        os.makedirs(self.rundir, exist_ok=True)
        for p in (self.log, self.qmp_path, self.pidfile):
            if os.path.exists(p):
                os.unlink(p)
        open(self.log, "w").close()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.rundir, self.name + ".qemu.err"), "w"),
                                     start_new_session=True)
        return self

    def output(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read().replace("\r\n", "\n")
        except FileNotFoundError:
            return ""

    def wait_for(self, pattern, timeout):
        """Wait until the console matches pattern (a regex); return the match."""
        rx = re.compile(pattern, re.M) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = rx.search(self.output())
            if m:
                return m
            if self.proc and self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise TimeoutError("%s: %r not seen on the console within %ss (qemu %s)\n--- console ---\n%s" %
                           (self.name, rx.pattern, timeout,
                            "exited" if self.proc and self.proc.poll() is not None else "running",
                            self.output()[-4000:]))

    def wait_ready(self, timeout=60):
        m = self.wait_for(READY_RE, timeout)
        return int(m.group(1))

    def qmp(self, command, **arguments):
        return qmp(self.qmp_path, command, **arguments)

    def powerdown(self):
        """Press the ACPI power button, as EC2's stop and QEMU's system_powerdown do."""
        return self.qmp("system_powerdown")

    def wait_exit(self, timeout):
        return self.proc.wait(timeout=timeout)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def credentials(creds, nodes):
    """The cluster's credentials in creds/, made with `pith gen` where they
    are missing (a CA, one certificate per node, an admin token), so that a
    cluster started again keeps them. nodes: [(name, [ip, ...])].
    Returns ({name: {file on the node: host path}}, admin token)."""
    pith = os.path.join(ROOT, "build", "bin", "pith")

    def gen(*args, out=None):
        r = subprocess.run([pith, "gen", "--dir", creds] + list(args), capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("pith gen %s: %s" % (" ".join(args), r.stderr.strip()))
        return r.stdout

    if not os.path.exists(os.path.join(creds, "ca.crt")):
        gen("ca")
    token_file = os.path.join(creds, "admin.token")
    if not os.path.exists(token_file):
        token = gen("token", "--name", "admin").strip()
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (token + "\n").encode())
        os.close(fd)
    with open(token_file) as f:
        token = f.read().strip()
    files = {}
    for name, ips in nodes:
        crt = os.path.join(creds, "nodes", name + ".crt")
        if not os.path.exists(crt):
            args = ["node", name]
            for ip in ips:
                args += ["--ip", ip]
            gen(*args)
        files[name] = {
            "tls/ca.crt": os.path.join(creds, "ca.crt"),
            "tls/node.crt": crt,
            "tls/node.key": os.path.join(creds, "nodes", name + ".key"),
            "tokens": os.path.join(creds, "tokens"),
        }
    return files, token
