"""Boot tier: units in the real image under QEMU.

The test initramfs carries the seed's two units (prep.service and
hello.service) and a scenario (tests/boot/scenario.sh) that pith.run=
starts inside the guest: enable, start, status, journalctl -f, stop,
disable; then the cgroup limits that only a pure cgroup v2 kernel can
enforce (MemoryMax, TasksMax, CPUQuota …) and a unit that crashes in a
loop. Each step prints "scenario: …" on the console, which is read here.
"""

import re

import pytest

from pithvm import Node
from test_boot import BOOT_TIMEOUT, TEST_INITRD, node  # noqa: F401 (fixture)

SCENARIO = 'pith.run="/bin/sh /usr/lib/pith-test/scenario.sh"'


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def line(out, pattern):
    m = re.search(r"^scenario: " + pattern, out, re.M)
    assert m, "no %r in:\n%s" % (pattern, out[-6000:])
    return m


def test_the_seed_units_and_cgroup_limits_in_the_image(node):  # noqa: F811
    n = node(machine="microvm", append=SCENARIO, memory=512)
    n.wait_ready(BOOT_TIMEOUT)
    n.wait_for(r"^scenario: done", 180)
    # The console is a terminal, so systemctl colours its output.
    out = ANSI.sub("", n.output())

    # The operator's round trip, as the seed does it over SSH.
    line(out, r"enable rc=0")
    assert re.search(r"Created symlink /etc/pith/units/multi-user\.target\.wants/hello\.service", out), out
    line(out, r"start rc=0")
    assert "● hello.service - Hello World" in out
    assert re.search(r"Active: active \(running\) since ", out)
    assert re.search(r"Main PID: \d+ \(sh\)", out)
    assert re.search(r"CGroup: /pith\.slice/hello\.service", out)
    assert re.search(r"Memory: [\d.]+[KMG]", out), "no memory accounting in status"
    line(out, r"status rc=0")
    follow = int(line(out, r"follow lines=(\d+)").group(1))
    assert follow >= 3, "journalctl -f showed %d lines" % follow
    line(out, r"stop rc=0")
    assert line(out, r"stop-logged=(\d+)").group(1) == "1", "ExecStop= did not run once"
    line(out, r"is-active rc=3")
    line(out, r"prep-active rc=0")
    line(out, r"disable rc=0")
    assert "Removed \"/etc/pith/units/multi-user.target.wants/hello.service\"" in out
    line(out, r"is-enabled rc=1")

    # Limits as the kernel's own files hold them.
    line(out, r"limits rc=0")
    assert line(out, r"limit memory\.max=(\S+)").group(1) == str(64 << 20)
    assert line(out, r"limit memory\.high=(\S+)").group(1) == str(48 << 20)
    assert line(out, r"limit cpu\.weight=(\S+)").group(1) == "250"
    assert line(out, r"limit cpu\.max=(.+)$").group(1) == "40000 100000"
    assert line(out, r"limit pids\.max=(\S+)").group(1) == "50"

    # A leak is stopped by MemoryMax= and reported as such.
    m = line(out, r"leak result=(\S+) state=(\S+)")
    assert m.group(1) == "oom-kill" and m.group(2) == "failed", m.group(0)

    # A fork bomb stays inside TasksMax=: the kernel refused its forks at the
    # limit, and the unit was up while that was read. Stop takes all of it.
    m = line(out, r"bomb tasks=(\d*) refused=(\d*)$")
    assert m.group(1) and 1 <= int(m.group(1)) <= 24, "bomb ran %r tasks" % m.group(1)
    assert m.group(2) and int(m.group(2)) > 0, "no fork was refused at TasksMax=24: %r" % m.group(0)
    assert line(out, r"bomb active=(\S*)").group(1) == "active"
    line(out, r"bomb-stop rc=0")
    assert line(out, r"bomb after=(\S+)").group(1) in ("gone", "0")

    # A unit that exits at once, with Restart=always, hits its start limit.
    m = line(out, r"crashy result=(\S+) restarts=(\d+)")
    assert m.group(1) == "start-limit-hit", m.group(0)
    line(out, r"still-serving rc=0")

    # The node is provisioned (the fixture's credentials): the built-in
    # control port runs, and has never had to be restarted.
    m = line(out, r"control state=(\S*) restarts=(\S*)")
    assert m.group(1, 2) == ("active", "0"), m.group(0)
    assert not re.search(r"pith-control\.service: main process \d+ exited", out), out[-6000:]
