"""pith-init as an ordinary process (--root DIR): the parts of the boot
that do not need a machine: config, the ready line, reaping orphans as a
subreaper, running pith.run=, and stopping on SIGTERM."""

import os
import re
import signal
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INIT = os.path.join(ROOT, "build", "bin", "pith-init")
PROBE = os.path.join(ROOT, "build", "test", "boot", "pith-probe")


class Init:
    def __init__(self, root, *args):
        self.log = open(os.path.join(root, "console.log"), "w+")
        self.path = self.log.name
        self.proc = subprocess.Popen([INIT, "--root", str(root)] + list(args),
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def output(self):
        with open(self.path) as f:
            return f.read()

    def wait_for(self, pattern, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.output(), re.M)
            if m:
                return m
            time.sleep(0.02)
        raise AssertionError("%r not seen:\n%s" % (pattern, self.output()))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=10)


@pytest.fixture
def rootdir(tmp_path):
    (tmp_path / "etc" / "pith").mkdir(parents=True)
    return tmp_path


def test_ready_then_clean_exit_on_sigterm(rootdir):
    i = Init(rootdir)
    i.wait_for(r"^pith: ready in \d+ ms")
    assert i.stop() == 0
    out = i.output()
    assert "shutting down: SIGTERM" in out
    assert out.rstrip().endswith("pith-init: stopped")


def test_orphans_are_reaped_and_run_command_status_logged(rootdir):
    i = Init(rootdir, "--cmdline", "pith.run=%s orphan" % PROBE)
    i.wait_for(r"^probe: done")
    i.wait_for(r"run: exited with status 0")
    out = i.output()
    parent = i.proc.pid
    assert re.search(r"probe: orphan: grandchild \d+ state S parent %d$" % parent, out, re.M), out
    assert "probe: orphan: grandchild reaped" in out
    assert i.stop() == 0


def test_stop_kills_a_child_that_ignores_sigterm(rootdir):
    # A shell that ignores SIGTERM must still be gone after the grace time.
    script = rootdir / "stubborn"
    script.write_text("#!/bin/sh\ntrap '' TERM\nwhile :; do sleep 0.1; done\n")
    script.chmod(0o755)
    i = Init(rootdir, "--cmdline", "pith.run=%s" % script)
    i.wait_for(r"run: started")
    t = time.monotonic()
    assert i.stop() == 0
    assert time.monotonic() - t < 9
    assert "did not stop in 5000 ms, killed" in i.output()


def test_config_file_and_command_line_precedence(rootdir):
    (rootdir / "etc" / "pith" / "pith.conf").write_text(
        "[Node]\nName=from-file\n[Boot]\nRun=/bin/false\n[Nonsense]\nX=1\n")
    i = Init(rootdir, "--cmdline", "pith.run=/bin/true pith.bogus=1")
    i.wait_for(r"run: exited with status (\d+)")
    out = i.output()
    assert "run: exited with status 0" in out  # the command line's run= won
    assert "/etc/pith/pith.conf:5: unknown section [Nonsense]" in out
    assert "unknown parameter pith.bogus" in out
    assert i.stop() == 0


def test_oversized_config_file_is_ignored(rootdir):
    (rootdir / "etc" / "pith" / "pith.conf").write_bytes(b"[Node]\nName=x\n" + b"#" * (70 * 1024))
    i = Init(rootdir)
    i.wait_for(r"^pith: ready")
    assert "unable to read /etc/pith/pith.conf: larger than the limit; ignored" in i.output()
    assert i.stop() == 0


def test_usage_errors_exit_100():
    p = subprocess.run([INIT, "--frobnicate"], capture_output=True, text=True)
    assert p.returncode == 100
    assert "pith-init: fatal: unknown argument --frobnicate" in p.stderr
    p = subprocess.run([INIT], capture_output=True, text=True)
    assert p.returncode == 100
    assert "give --root DIR" in p.stderr
