"""`pith check`: the unit-file parser and checker, offline, run as an
operator would run it, on our own files and on every unit file Debian
installed on this machine."""

import json
import os
import re
import subprocess

import pytest

import conftest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PITH = os.path.join(ROOT, "build", "bin", "pith")

SEED = """[Unit]
Description=Hello World
After=docker.service
Requires=docker.service

[Service]
TimeoutStartSec=0
ExecStartPre=-/usr/bin/docker kill busybox1
ExecStartPre=-/usr/bin/docker rm busybox1
ExecStartPre=/usr/bin/docker pull busybox
ExecStart=/usr/bin/docker run --name busybox1 busybox /bin/sh -c "trap 'exit 0' INT TERM; while true; do echo Hello World; sleep 1; done"
ExecStop=/usr/bin/docker stop busybox1

[Install]
WantedBy=multi-user.target
"""


def check(*args):
    return subprocess.run([PITH, "check"] + list(args), capture_output=True, text=True, timeout=120)


def test_every_debian_unit_file_parses_without_errors():
    seen = set()
    dirs = []
    for d in ("/lib/systemd/system", "/usr/lib/systemd/system"):
        if os.path.isdir(d) and os.path.realpath(d) not in seen:
            seen.add(os.path.realpath(d))
            dirs.append(d)
    if not dirs:
        pytest.skip("no systemd unit directory on this machine")
    r = check(*dirs)
    errors = [l for l in r.stderr.splitlines() if ": error: " in l]
    assert r.returncode == 0 and not errors, "\n".join(errors) or r.stderr[-2000:]
    m = re.search(r"pith check: (\d+) units, 0 errors, (\d+) warnings", r.stderr)
    assert m, r.stderr[-500:]
    assert int(m.group(1)) > 50, "too few unit files were checked: %s" % m.group(0)
    conftest.FIGURES.append("Debian unit files: %s units in %s, 0 errors, %s warnings "
                            "(options Pith does not support)" % (m.group(1), " ".join(dirs), m.group(2)))


def test_dump_shows_the_seed_unit_as_understood(tmp_path):
    unit = tmp_path / "hello.service"
    unit.write_text(SEED)
    dropins = tmp_path / "hello.service.d"
    dropins.mkdir()
    (dropins / "50-env.conf").write_text("[Service]\nEnvironment=GREETING=hi\nExecStartPre=\n"
                                         "ExecStartPre=/bin/echo %n on %H\n")
    r = check("--dump", str(unit))
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["name"] == "hello.service" and d["load_state"] == "loaded"
    assert d["dropins"] == [str(dropins / "50-env.conf")]
    assert d["sections"]["Unit"] == {"Description": "Hello World", "After": ["docker.service"],
                                     "Requires": ["docker.service"]}
    svc = d["sections"]["Service"]
    assert svc["TimeoutStartSec"] == "0"
    assert svc["Environment"] == ["GREETING=hi"]
    # The drop-in reset the three ExecStartPre= lines and set its own.
    pre = svc["ExecStartPre"]
    assert len(pre) == 1
    assert pre[0]["argv"] == ["/bin/echo", "hello.service", "on", os.uname().nodename]
    start = svc["ExecStart"][0]
    assert start["path"] == "/usr/bin/docker"
    assert start["argv"][-1] == "trap 'exit 0' INT TERM; while true; do echo Hello World; sleep 1; done"
    assert start["ignore_failure"] is False and start["line"] == 11
    assert d["sections"]["Install"] == {"WantedBy": ["multi-user.target"]}
    assert d["errors"] == 0 and d["warnings"] == 0


def test_errors_fail_and_warnings_do_not(tmp_path):
    good = tmp_path / "good.service"
    good.write_text("[Service]\nExecStart=/bin/true\nPrivateTmp=yes\n")
    r = check(str(good))
    assert r.returncode == 0
    assert "good.service:3: warning: [Service] PrivateTmp= is not supported by Pith; ignored" in r.stderr

    # A bad value is ignored with a warning, as systemd ignores it.
    odd = tmp_path / "odd.service"
    odd.write_text("[Service]\nExecStart=/bin/true\nRestart=sometimes\n")
    r = check(str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "odd.service:3: warning: Restart=sometimes: not one of the accepted words; ignored" in r.stderr
    assert "2 units, 0 errors, 2 warnings" in r.stderr

    # A command systemd cannot run is an error: it refuses the unit too.
    bad = tmp_path / "bad.service"
    bad.write_text("[Service]\nExecStart=bin/true\n")
    r = check(str(tmp_path))
    assert r.returncode == 1
    assert "bad.service:2: error: ExecStart=bin/true: \"bin/true\": neither an absolute path " \
           "nor a program name" in r.stderr
    assert "3 units, 2 errors, 2 warnings" in r.stderr


@pytest.mark.parametrize("content", [
    b"\x00\x01\x02garbage\xff\xfe" * 1000,
    b"[Service]\nExecStart=/bin/" + b"x" * (1 << 20) + b"\n",
    b"[Unit]\nDescription=x\n" * 10000,
], ids=["binary", "1MB-line", "10000-sections"])
def test_garbage_is_an_error_not_a_crash(tmp_path, content):
    f = tmp_path / "junk.service"
    f.write_bytes(content)
    r = check(str(f))
    assert r.returncode == 1, r.stderr[-500:]
    assert ": error: " in r.stderr


def test_usage_errors_exit_100():
    assert check().returncode == 100
    assert check("--bogus", "x").returncode == 100
    r = check("/nonexistent/a.service")
    assert r.returncode == 1 and "No such file" in r.stderr


def test_the_graph_check_reports_ordering_cycles_and_missing_requirements(tmp_path):
    (tmp_path / "a.service").write_text("[Unit]\nAfter=b.service\n[Service]\nExecStart=/bin/true\n")
    (tmp_path / "b.service").write_text("[Unit]\nAfter=c.service\n[Service]\nExecStart=/bin/true\n")
    (tmp_path / "c.service").write_text("[Unit]\nAfter=a.service\nRequires=gone.service\n"
                                        "[Service]\nExecStart=/bin/true\n")
    r = check(str(tmp_path))
    assert r.returncode == 1, r.stderr
    assert re.search(r"error: ordering cycle: (\S+) is after (\S+) is after (\S+) is after \1", r.stderr), r.stderr
    for name in ("a.service", "b.service", "c.service"):
        assert name in r.stderr.split("ordering cycle:")[1].splitlines()[0]
    assert "c.service: warning: Requires=gone.service, which is not among the units checked" in r.stderr

    # Without the cycle the same directory checks clean.
    (tmp_path / "c.service").write_text("[Unit]\nRequires=gone.service\n[Service]\nExecStart=/bin/true\n")
    r = check(str(tmp_path))
    assert r.returncode == 0, r.stderr
