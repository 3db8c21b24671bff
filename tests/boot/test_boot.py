"""Boot tier: the real image under QEMU (TCG).

Each test boots build/image's kernel with the test initramfs (the image's
own plus pith-probe, started by pith.run=) and reads the serial console.
"""

import os
import re
import time

import pytest

from pithvm import Node, READY_RE, ROOT, credentials

TEST_INITRD = os.path.join(ROOT, "build", "test", "boot", "initramfs-test.cpio")
PROBE = 'pith.run="/usr/bin/pith-probe all"'

# Under TCG on a loaded 2-core host a boot takes a few seconds; this only
# bounds a hung machine, it is not a speed check (make bench measures that).
BOOT_TIMEOUT = 90


@pytest.fixture
def node(tmp_path):
    """make(**kw) boots a node provisioned as boot/node provisions one: the
    cluster CA, a node certificate and a tokens file as fw_cfg entries,
    without which its control port has nothing to serve with."""
    nodes = []

    def make(**kw):
        name = kw.pop("name", "n%d" % len(nodes))
        kw.setdefault("initrd", TEST_INITRD)
        if "files" not in kw:
            kw["files"] = credentials(str(tmp_path / "creds"), [(name, [])])[0][name]
        n = Node(name, str(tmp_path), **kw)
        nodes.append(n)
        return n.start()

    yield make
    for n in nodes:
        if n.proc and n.proc.poll() is None:
            n.kill()


def power_off(n):
    """Press the power button; return (guest ms from key to power-off, wall s)."""
    t = time.monotonic()
    n.powerdown()
    n.wait_exit(timeout=30)
    wall = time.monotonic() - t
    m = re.search(r"powering off after (\d+) ms", n.output())
    assert m, "no clean power-off on the console:\n" + n.output()[-3000:]
    return int(m.group(1)), wall


def test_microvm_boots_gets_a_dhcp_lease_reaps_orphans_and_powers_off(node):
    n = node(machine="microvm", append=PROBE)
    n.wait_ready(BOOT_TIMEOUT)
    n.wait_for(r"^probe: done", 30)
    out = n.output()

    # DHCP from QEMU's user network, applied to the kernel.
    assert re.search(r"dhcp: eth0: lease 10\.0\.2\.15/24 gateway 10\.0\.2\.2 dns 10\.0\.2\.3 "
                     r"from 10\.0\.2\.2 for \d+ s", out), out
    assert "probe: net: inet eth0 10.0.2.15/24" in out
    assert "probe: net: inet lo 127.0.0.1/8" in out
    assert "probe: net: default via 10.0.2.2 dev eth0" in out
    assert "probe: net: resolv.conf nameserver 10.0.2.3" in out

    # The grandchild was an orphan of PID 1 and was reaped.
    assert re.search(r"probe: orphan: grandchild \d+ state S parent 1$", out, re.M), out
    assert "probe: orphan: grandchild reaped" in out
    assert "probe: orphan: zombies 0" in out

    guest_ms, wall = power_off(n)
    assert guest_ms < 2000, "power-off took %d ms in the guest" % guest_ms
    assert n.proc.returncode == 0


def console_order(out, patterns):
    """Where each pattern first matches on the console, in the order given;
    fails naming the one that is missing."""
    at = []
    for p in patterns:
        m = (p if isinstance(p, re.Pattern) else re.compile(p, re.M)).search(out)
        assert m, "%r not on the console:\n%s" % (getattr(p, "pattern", p), out[-4000:])
        at.append(m.start())
    return at


@pytest.mark.parametrize("machine", ["pc", "q35"])
def test_pc_machines_boot_without_an_rng_device_before_the_random_pool_and_power_off(node, machine):
    # No virtio-rng device, as on many hypervisors and instance types: the
    # kernel's random pool is initialised only once something waits for it
    # (the kernel then makes entropy from timing jitter, about a second
    # under TCG). Nothing up to the ready line may wait for it: the lease
    # and the ready line come first. The probe, started after ready, waits
    # for it as whatever makes keys does, and gets it.
    n = node(machine=machine, append=PROBE, rng=False)
    n.wait_ready(BOOT_TIMEOUT)
    n.wait_for(r"^probe: done", 60)
    out = n.output()
    assert "probe: net: inet eth0 10.0.2.15/24" in out
    names = ["the DHCP lease", "pith: ready", "random: crng init done", "probe: random: pool ready"]
    at = console_order(out, [r"dhcp: eth0: lease ", READY_RE, r"random: crng init done",
                             r"^probe: random: pool ready$"])
    seen = [name for _, name in sorted(zip(at, names))]
    assert seen == names, "console order %s, want %s:\n%s" % (seen, names, out[-4000:])
    # Where the boot's time went, step by step, adds up to the ready line's
    # time since PID 1 began (the two clocks are read a moment apart).
    steps = re.search(r"boot: mounts (\d+) ms, config (\d+) ms, ids (\d+) ms, journal (\d+) ms, "
                      r"cgroups (\d+) ms, units (\d+) ms, nic (\d+) ms, lease (\d+) ms$", out, re.M)
    assert steps, "no boot breakdown after the ready line:\n%s" % out[-4000:]
    ready = re.search(r"^pith: ready in (\d+) ms \(init started at (\d+) ms\)", out, re.M)
    total = int(ready.group(1)) - int(ready.group(2))
    assert 0 <= total - sum(int(g) for g in steps.groups()) <= 5, (steps.group(0), ready.group(0))
    guest_ms, _ = power_off(n)
    assert guest_ms < 2000


def test_bad_command_line_and_fw_cfg_are_logged_and_boot_goes_on(node, tmp_path):
    cfg = tmp_path / "bad.conf"
    cfg.write_bytes(b"[Node]\nName=has space\n\x00\xff garbage\n[Network\nAddress=10.0.0.1/99\n"
                    b"[Boot]\nRun=/usr/bin/pith-probe net\n")
    n = node(machine="microvm", config=str(cfg),
             append='pith.ip=1.2.3.4/40 pith.name= pith.bogus=1 pith.run="/usr/bin/pith-probe net')
    n.wait_ready(BOOT_TIMEOUT)
    n.wait_for(r"^probe: done", 30)
    out = n.output()
    assert "config: fw_cfg opt/pith/config:2: invalid node name 'has space'" in out
    # A NUL byte ends a line, as in unit files (systemd reads them so): the
    # garbage after it is line 4.
    assert "config: fw_cfg opt/pith/config:4: missing '=', line ignored" in out
    assert "config: fw_cfg opt/pith/config:5: section header without closing ']'" in out
    assert "config: fw_cfg opt/pith/config:6: option after a malformed section header, line ignored" in out
    assert "pith.ip: invalid address '1.2.3.4/40'" in out
    assert "unknown parameter pith.bogus" in out
    assert "unterminated quote" in out
    # Defaults held: DHCP still configured the NIC, and the command line's run= won.
    assert "probe: net: inet eth0 10.0.2.15/24" in out
    assert "probe: orphan" not in out
    power_off(n)
