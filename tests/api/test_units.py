"""The unit manager of pith-init, black-box, on the host: every test starts
its own `pith-init --root DIR`, writes unit files into DIR/etc/pith/units
and watches what follows through the local API, the CLI, the journal, the
processes and the files the units write.

cgroup2 on this host has no controllers, so MemoryMax=, TasksMax= and the
CPU and IO settings are only checked to load and not to stop a unit from
running; the QEMU tier checks that they are enforced."""

import grp
import json
import os
import pwd
import re
import signal
import socket
import time

import pytest

from unitlib import (WAIT, Init, UnixHTTPConnection, lines, make_root, pid_alive, read_until,
                     remove_root, script, unit, wait_until, write_units)


@pytest.fixture
def init(request):
    d = make_root()
    i = Init(d)
    yield i
    # A test of a known bug may leave pith-init unable to stop in order.
    i.cleanup(kill=request.node.get_closest_marker("xfail") is not None)
    remove_root(d)


NOTIFY_PY = r'''
import os, signal, socket, sys, time

root = sys.argv[1]
mode = sys.argv[2]
addr = os.environ["NOTIFY_SOCKET"]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)


def send(msg):
    sock.sendto(msg.encode(), addr)


def mark(name, text="x"):
    with open(os.path.join(root, name), "w") as f:
        f.write(text)


def on_term(signo, frame):
    send("STOPPING=1")
    mark("got-term")
    sys.exit(0)


signal.signal(signal.SIGTERM, on_term)
mark("env", "%s %s" % (os.environ.get("NOTIFY_SOCKET", ""), os.environ.get("WATCHDOG_USEC", "")))
if mode == "ready":
    send("STATUS=Warming up")
    time.sleep(0.3)
    mark("ready-sent")
    send("READY=1\nSTATUS=Serving requests")
elif mode == "never":
    pass
elif mode == "watchdog":
    send("READY=1")
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        send("WATCHDOG=1")
        time.sleep(0.05)
    mark("stopped-pinging")
elif mode == "stopping":
    send("READY=1")
    time.sleep(0.2)
    send("STOPPING=1")
    mark("stopping-sent")
    time.sleep(0.3)
    sys.exit(0)
elif mode == "mainpid":
    pid = os.fork()
    if pid == 0:
        while True:
            time.sleep(1)
    mark("child", str(pid))
    send("MAINPID=%d\nREADY=1" % pid)
    time.sleep(0.2)
    os._exit(0)
while True:
    time.sleep(1)
'''


def notify_unit(i, mode, extra=""):
    p = i.path("notify.py")
    with open(p, "w") as f:
        f.write(NOTIFY_PY)
    return unit("""
        [Service]
        Type=notify
        ExecStart=/usr/bin/python3 {py} {root} {mode}
        {extra}
        """, py=p, root=i.root, mode=mode, extra=extra)


# --- the seed: two units, the whole life cycle through the CLI -------------

def test_seed_units_enable_start_status_follow_stop_disable(init):
    init.write_unit("backend.service", unit("""
        [Unit]
        Description=The backend hello.service needs
        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/bin/sh -c "echo backend >> {log}"
        """, log=init.path("log")))
    init.write_unit("hello.service", unit("""
        [Unit]
        Description=Hello World
        After=backend.service
        Requires=backend.service

        [Service]
        TimeoutStartSec=0
        ExecStartPre=-/nonexistent/bin/docker kill busybox1
        ExecStartPre=-/bin/sh -c "echo pre-fails >> {log}; exit 1"
        ExecStartPre=/bin/sh -c "echo pre >> {log}"
        ExecStart=/bin/sh -c "trap 'exit 0' INT TERM; while true; do echo Hello World; sleep 1; done"
        ExecStop=/bin/sh -c "echo stop >> {log}"

        [Install]
        WantedBy=multi-user.target
        """, log=init.path("log")))
    init.start()

    r = init.cli("systemctl", "enable", "hello.service")
    assert r.returncode == 0, r.stderr
    assert "multi-user.target.wants/hello.service" in r.stdout + r.stderr
    assert os.path.islink(init.path("etc/pith/units/multi-user.target.wants/hello.service"))
    assert init.cli("systemctl", "is-enabled", "hello.service").stdout.strip() == "enabled"

    r = init.cli("systemctl", "start", "hello.service")
    assert r.returncode == 0, r.stderr
    assert lines(init, "log") == ["backend", "pre-fails", "pre"]
    assert init.unit("backend.service")["active_state"] == "active"

    def status():
        out = init.cli("systemctl", "status", "hello.service").stdout
        return out if "Hello World" in out else None
    status = wait_until("systemctl status to show the unit's output", status)
    assert "hello.service - Hello World" in status
    assert re.search(r"Active: active \(running\)", status), status
    assert "Main PID: %d" % init.unit("hello.service")["main_pid"] in status

    follow = init.cli_popen("journalctl", "-f", "-u", "hello.service")
    try:
        out = read_until(follow, "Hello World", 3, timeout=8)
    finally:
        follow.kill()
        follow.wait()
    assert all(re.search(r" sh\[\d+\]: Hello World$", l) for l in out.splitlines()), out

    r = init.cli("systemctl", "stop", "hello.service")
    assert r.returncode == 0, r.stderr
    assert lines(init, "log")[-1] == "stop"
    r = init.cli("systemctl", "is-active", "hello.service")
    assert (r.returncode, r.stdout.strip()) == (3, "inactive")
    assert init.unit("backend.service")["active_state"] == "active"

    r = init.cli("systemctl", "disable", "hello.service")
    assert r.returncode == 0, r.stderr
    assert not os.path.lexists(init.path("etc/pith/units/multi-user.target.wants/hello.service"))
    assert init.cli("systemctl", "is-enabled", "hello.service").stdout.strip() == "disabled"


def test_enabled_unit_starts_when_pith_init_starts(init):
    write_units(init, hello_service="""
        [Service]
        ExecStart=/bin/sh -c "echo started >> {log}; exec sleep 1000"
        [Install]
        WantedBy=multi-user.target
        """)
    init.start()
    assert init.unit("hello.service")["active_state"] == "inactive"
    init.enable("hello.service")
    assert init.stop() == 0

    init.start()
    u = init.wait_state("hello.service", "active", "running")
    assert u["unit_file_state"] == "enabled"
    assert init.unit("multi-user.target")["active_state"] == "active"
    wait_until("the unit to run", lambda: lines(init, "log") == ["started"])
    assert init.stop() == 0
    assert not pid_alive(u["main_pid"])


# --- [Unit] ------------------------------------------------------------------

def test_description_and_documentation(init):
    write_units(init, doc_service="""
        [Unit]
        Description=A unit that documents itself
        Documentation=man:pith(8) https://example.org/pith
        [Service]
        ExecStart=/bin/sleep 1000
        """)
    init.start()
    r = init.request("PUT", "/v1/units/doc2.service/file", init.read("etc/pith/units/doc.service"))
    assert r.status == 201 and r.json()["reports"] == [], r
    u = init.unit("doc.service")
    assert u["description"] == "A unit that documents itself"
    assert u["load_state"] == "loaded"
    assert init.unit("doc2.service")["description"] == "A unit that documents itself"
    assert "A unit that documents itself" in init.cli("systemctl", "status", "doc.service").stdout


def test_requires_and_after_start_the_required_unit_first(init):
    write_units(init, db_service="""
        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/bin/sh -c "sleep 0.2; echo db >> {log}"
        """, web_service="""
        [Unit]
        Requires=db.service
        After=db.service
        [Service]
        ExecStart=/bin/sh -c "echo web >> {log}; exec sleep 1000"
        """)
    init.start()
    init.start_unit("web.service")
    wait_until("web to write", lambda: len(lines(init, "log")) == 2)
    assert lines(init, "log") == ["db", "web"]
    assert "db.service" in init.unit("web.service")["requires"]


def test_restarting_or_stopping_a_required_unit_does_the_same_to_the_unit_requiring_it(init):
    write_units(init, db_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        """, web_service="""
        [Unit]
        Requires=db.service
        After=db.service
        [Service]
        ExecStart=/bin/sleep 1000
        """)
    init.start()
    init.start_unit("web.service")
    web = init.unit("web.service")["main_pid"]
    assert init.action("db.service", "restart").status == 200
    wait_until("web to be restarted too", lambda: init.unit("web.service")["main_pid"] not in (0, web))
    web = init.unit("web.service")["main_pid"]
    init.stop_unit("db.service")
    assert init.unit("web.service")["active_state"] == "inactive"
    assert not pid_alive(web)


def test_a_failing_required_unit_fails_the_start_with_dependency(init):
    write_units(init, db_service="""
        [Service]
        Type=oneshot
        ExecStart=/bin/false
        """, web_service="""
        [Unit]
        Requires=db.service
        After=db.service
        [Service]
        ExecStart=/bin/sh -c "echo web >> {log}; exec sleep 1000"
        """)
    init.start()
    r = init.action("web.service", "start")
    assert r.status == 409 and r.json()["result"] == "dependency", r
    assert init.unit("db.service")["active_state"] == "failed"
    assert init.unit("web.service")["active_state"] == "inactive"
    assert lines(init, "log") == []


def test_wants_starts_the_wanted_unit_and_survives_its_failure(init):
    write_units(init, good_service="""
        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/bin/sh -c "echo good >> {log}"
        """, bad_service="""
        [Service]
        Type=oneshot
        ExecStart=/bin/false
        """, app_service="""
        [Unit]
        Wants=good.service bad.service
        After=good.service bad.service
        [Service]
        ExecStart=/bin/sh -c "echo app >> {log}; exec sleep 1000"
        """)
    init.start()
    init.start_unit("app.service")
    assert init.unit("good.service")["active_state"] == "active"
    assert init.unit("bad.service")["active_state"] == "failed"
    assert init.unit("app.service")["active_state"] == "active"
    wait_until("app to write", lambda: len(lines(init, "log")) == 2)
    assert lines(init, "log") == ["good", "app"]


def test_binds_to_stops_the_unit_when_the_other_dies_and_requires_does_not(init):
    write_units(init, dev_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        """, bound_service="""
        [Unit]
        BindsTo=dev.service
        After=dev.service
        [Service]
        ExecStart=/bin/sleep 1000
        """, needs_service="""
        [Unit]
        Requires=dev.service
        After=dev.service
        [Service]
        ExecStart=/bin/sleep 1000
        """)
    init.start()
    init.start_unit("bound.service")
    init.start_unit("needs.service")
    os.kill(init.unit("dev.service")["main_pid"], signal.SIGKILL)
    init.wait_state("dev.service", "failed")
    init.wait_state("bound.service", "inactive")
    assert init.unit("needs.service")["active_state"] == "active"


def test_part_of_follows_stop_and_restart_but_not_start(init):
    write_units(init, main_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        """, part_service="""
        [Unit]
        PartOf=main.service
        [Service]
        ExecStart=/bin/sleep 1000
        """)
    init.start()
    init.start_unit("main.service")
    assert init.unit("part.service")["active_state"] == "inactive"
    init.start_unit("part.service")
    before = init.unit("part.service")["main_pid"]
    assert init.action("main.service", "restart").status == 200
    wait_until("part to run again", lambda: init.unit("part.service")["main_pid"] not in (0, before))
    assert not pid_alive(before)
    init.stop_unit("main.service")
    init.wait_state("part.service", "inactive")


def test_requisite_fails_unless_the_other_unit_is_already_active(init):
    write_units(init, base_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        """, top_service="""
        [Unit]
        Requisite=base.service
        After=base.service
        [Service]
        ExecStart=/bin/sleep 1000
        """)
    init.start()
    r = init.action("top.service", "start")
    assert r.status == 409 and r.json()["result"] == "dependency", r
    assert init.unit("base.service")["active_state"] == "inactive"
    assert init.unit("top.service")["active_state"] == "inactive"
    init.start_unit("base.service")
    init.start_unit("top.service")
    assert init.unit("top.service")["active_state"] == "active"


def test_conflicts_stops_the_other_unit_in_both_directions(init):
    write_units(init, left_service="""
        [Unit]
        Conflicts=right.service
        [Service]
        ExecStart=/bin/sleep 1000
        """, right_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        """)
    init.start()
    init.start_unit("left.service")
    pid = init.unit("left.service")["main_pid"]
    init.start_unit("right.service")
    assert init.unit("left.service")["active_state"] == "inactive"
    assert init.unit("right.service")["active_state"] == "active"
    assert not pid_alive(pid)
    init.start_unit("left.service")
    assert init.unit("right.service")["active_state"] == "inactive"


def test_after_and_before_order_the_starts_whatever_the_names(init):
    # Names against the alphabet, and the first unit slow: only the
    # ordering can put them in this order.
    write_units(init, zz_service="""
        [Unit]
        Before=mm.service
        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/bin/sh -c "sleep 0.3; echo zz >> {log}"
        """, mm_service="""
        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/bin/sh -c "sleep 0.1; echo mm >> {log}"
        """, aa_service="""
        [Unit]
        After=mm.service
        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/bin/sh -c "echo aa >> {log}"
        """, all_target="""
        [Unit]
        Wants=aa.service mm.service zz.service
        """)
    init.start()
    init.start_unit("all.target")
    assert lines(init, "log") == ["zz", "mm", "aa"]


def test_shutdown_stops_units_in_reverse_order_and_runs_exec_stop(init):
    write_units(init, first_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        ExecStop=/bin/sh -c "sleep 0.2; echo first >> {log}"
        [Install]
        WantedBy=multi-user.target
        """, second_service="""
        [Unit]
        After=first.service
        [Service]
        ExecStart=/bin/sleep 1000
        ExecStop=/bin/sh -c "sleep 0.2; echo second >> {log}"
        [Install]
        WantedBy=multi-user.target
        """)
    init.start()
    init.enable("first.service")
    init.enable("second.service")
    assert init.stop() == 0
    init.start()
    pids = [init.wait_state(n, "active")["main_pid"] for n in ("first.service", "second.service")]
    assert init.stop() == 0
    assert lines(init, "log") == ["second", "first"]
    assert not any(pid_alive(p) for p in pids)


def test_condition_path_exists_not_met_skips_the_unit(init):
    write_units(init, cond_service="""
        [Unit]
        ConditionPathExists={root}/flag
        [Service]
        ExecStart=/bin/sh -c "echo ran >> {log}; exec sleep 1000"
        """, neg_service="""
        [Unit]
        ConditionPathExists=!{root}/flag
        [Service]
        Type=oneshot
        ExecStart=/bin/sh -c "echo neg >> {log}"
        """)
    init.start()
    r = init.action("cond.service", "start")
    assert r.status == 200 and r.json()["result"] == "done", r
    u = init.unit("cond.service")
    assert u["active_state"] == "inactive" and u["result"] == "success"
    init.start_unit("neg.service")
    assert lines(init, "log") == ["neg"]
    assert any("ConditionPathExists" in m and "not met" in m for m in init.messages("pith-init"))

    open(init.path("flag"), "w").close()
    init.start_unit("cond.service")
    assert init.unit("cond.service")["active_state"] == "active"
    wait_until("the unit to run", lambda: "ran" in lines(init, "log"))


def test_triggering_conditions_need_only_one_to_hold(init):
    write_units(init, any_service="""
        [Unit]
        ConditionPathExists=|{root}/nope
        ConditionPathExists=|{root}/etc
        [Service]
        Type=oneshot
        ExecStart=/bin/sh -c "echo ran >> {log}"
        """)
    init.start()
    init.start_unit("any.service")
    assert lines(init, "log") == ["ran"]


def test_condition_path_exists_on_a_target(init):
    write_units(init, c_target="""
        [Unit]
        ConditionPathExists={root}/nope
        """)
    init.start()
    init.start_unit("c.target")
    assert init.unit("c.target")["active_state"] == "inactive"


def test_assert_path_exists_not_met_fails_the_start(init):
    write_units(init, strict_service="""
        [Unit]
        AssertPathExists={root}/required
        [Service]
        ExecStart=/bin/sh -c "echo ran >> {log}; exec sleep 1000"
        """)
    init.start()
    r = init.action("strict.service", "start")
    assert r.status == 409 and r.json()["result"] == "failed", r
    assert init.unit("strict.service")["active_state"] in ("inactive", "failed")
    assert lines(init, "log") == []
    open(init.path("required"), "w").close()
    init.start_unit("strict.service")
    wait_until("the unit to run", lambda: lines(init, "log") == ["ran"])


# --- [Service] Type= -------------------------------------------------------------

def test_type_simple_is_started_once_forked_and_runs_in_its_own_group(init):
    write_units(init, s_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        """)
    init.start()
    init.start_unit("s.service")
    u = init.unit("s.service")
    assert (u["active_state"], u["sub_state"]) == ("active", "running")
    assert [p["pid"] for p in u["processes"]] == [u["main_pid"]]
    group = os.path.join(init.slice, "s.service")
    with open(os.path.join(group, "cgroup.procs")) as f:
        assert [int(p) for p in f.read().split()] == [u["main_pid"]]
    init.stop_unit("s.service")
    assert not pid_alive(u["main_pid"])
    wait_until("the unit's group to be removed", lambda: not os.path.exists(group))


def test_type_exec_with_a_missing_binary_fails_the_start(init):
    write_units(init, gone_service="""
        [Service]
        Type=exec
        ExecStart=/nonexistent/daemon
        """)
    init.start()
    r = init.action("gone.service", "start")
    assert r.status == 409 and r.json()["result"] == "failed", r
    assert init.unit("gone.service")["active_state"] == "failed"


def test_type_simple_with_a_missing_binary_ends_failed(init):
    write_units(init, gone_service="""
        [Service]
        ExecStart=/nonexistent/daemon
        """)
    init.start()
    init.action("gone.service", "start")
    u = init.wait_state("gone.service", "failed")
    assert u["result"] == "exit-code"
    assert any("/nonexistent/daemon" in m for m in init.messages("pith-init"))


def test_type_oneshot_runs_each_exec_start_in_turn_before_the_job_returns(init):
    write_units(init, once_service="""
        [Service]
        Type=oneshot
        ExecStart=/bin/sh -c "sleep 0.2; echo one >> {log}"
        ExecStart=/bin/sh -c "echo two >> {log}"
        """)
    init.start()
    init.start_unit("once.service")
    assert lines(init, "log") == ["one", "two"]
    u = init.unit("once.service")
    assert (u["active_state"], u["sub_state"], u["result"]) == ("inactive", "dead", "success")


def test_systemctl_status_of_a_failed_unit(init):
    write_units(init, f_service="""
        [Service]
        Type=oneshot
        ExecStart=/bin/sh -c "echo last words; exit 3"
        """)
    init.start()
    assert init.cli("systemctl", "start", "f.service").returncode != 0
    r = init.cli("systemctl", "status", "f.service")
    assert r.returncode == 3, r
    assert "Active: failed (Result: exit-code)" in r.stdout, r.stdout
    assert "last words" in r.stdout
    r = init.cli("systemctl", "is-failed", "f.service")
    assert (r.returncode, r.stdout.strip()) == (0, "failed")


def test_type_oneshot_failure_reports_the_exit_status(init):
    write_units(init, once_service="""
        [Service]
        Type=oneshot
        ExecStart=/bin/sh -c "exit 3"
        ExecStart=/bin/sh -c "echo never >> {log}"
        """)
    init.start()
    r = init.action("once.service", "start")
    assert r.status == 409 and r.json()["result"] == "failed", r
    u = init.unit("once.service")
    assert (u["active_state"], u["result"]) == ("failed", "exit-code")
    assert (u["exec_main_code"], u["exec_main_status"]) == ("exited", 3)
    assert lines(init, "log") == []


def test_remain_after_exit_keeps_a_oneshot_active_until_stopped(init):
    write_units(init, setup_service="""
        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/bin/sh -c "echo up >> {log}"
        ExecStop=/bin/sh -c "echo down >> {log}"
        """)
    init.start()
    init.start_unit("setup.service")
    u = init.unit("setup.service")
    assert (u["active_state"], u["sub_state"]) == ("active", "exited")
    init.start_unit("setup.service")  # already active: nothing runs again
    init.stop_unit("setup.service")
    assert lines(init, "log") == ["up", "down"]
    assert init.unit("setup.service")["active_state"] == "inactive"


def test_remain_after_exit_keeps_a_simple_service_active_after_a_clean_exit(init):
    write_units(init, s_service="""
        [Service]
        RemainAfterExit=yes
        ExecStart=/bin/sh -c "echo ran >> {log}"
        ExecStop=/bin/sh -c "echo stop >> {log}"
        """)
    init.start()
    init.start_unit("s.service")
    wait_until("the process to end", lambda: init.unit("s.service")["main_pid"] == 0)
    u = init.unit("s.service")
    assert (u["active_state"], u["sub_state"]) == ("active", "exited")


def test_type_forking_takes_the_main_pid_from_pid_file(init):
    daemon = script(init, "daemon.sh", """
        #!/bin/sh
        sleep 1000 &
        echo $! > "$1/daemon.pid"
        """)
    write_units(init, fork_service="""
        [Service]
        Type=forking
        PIDFile={root}/daemon.pid
        ExecStart=%s {root}
        """ % daemon)
    init.start()
    init.start_unit("fork.service")
    pid = int(init.read("daemon.pid"))
    u = init.unit("fork.service")
    assert (u["active_state"], u["sub_state"], u["main_pid"]) == ("active", "running", pid)
    assert pid_alive(pid)
    init.stop_unit("fork.service")
    assert not pid_alive(pid)


def test_type_forking_without_pid_file_guesses_the_one_process_left(init):
    daemon = script(init, "daemon.sh", """
        #!/bin/sh
        sleep 1000 &
        echo $! > "$1/daemon.pid"
        """)
    write_units(init, fork_service="""
        [Service]
        Type=forking
        ExecStart=%s {root}
        """ % daemon)
    init.start()
    init.start_unit("fork.service")
    assert init.unit("fork.service")["main_pid"] == int(init.read("daemon.pid"))


def test_type_notify_is_started_at_ready_and_shows_its_status(init):
    init.write_unit("n.service", notify_unit(init, "ready"))
    init.start()
    assert init.action("n.service", "start", no_block=True).status == 202
    init.wait_state("n.service", "activating", "start")
    wait_until("the first STATUS=", lambda: init.unit("n.service")["status_text"] == "Warming up")
    r = init.action("n.service", "start")  # joins the job under way
    assert r.status == 200, r
    # READY=1 came after this file was written; the job waited for it.
    assert os.path.exists(init.path("ready-sent"))
    u = init.unit("n.service")
    assert (u["active_state"], u["sub_state"]) == ("active", "running")
    assert u["status_text"] == "Serving requests"
    assert init.read("env").split()[0] == init.path("run/pith/notify")
    init.stop_unit("n.service")
    assert os.path.exists(init.path("got-term"))
    assert init.unit("n.service")["result"] == "success"


def test_type_notify_mainpid_hands_the_service_to_another_process(init):
    init.write_unit("n.service", notify_unit(init, "mainpid"))
    init.start()
    init.start_unit("n.service")
    child = int(init.read("child"))
    assert init.unit("n.service")["main_pid"] == child
    time.sleep(0.4)  # the first process has exited by now
    u = init.unit("n.service")
    assert (u["active_state"], u["main_pid"]) == ("active", child)
    init.stop_unit("n.service")
    assert not pid_alive(child)


def test_type_notify_stopping_then_exit_ends_inactive(init):
    init.write_unit("n.service", notify_unit(init, "stopping"))
    init.start()
    init.start_unit("n.service")
    u = init.wait_state("n.service", "inactive", timeout=3)
    assert u["result"] == "success"


def test_timeout_start_sec_fails_a_notify_service_that_is_never_ready(init):
    init.write_unit("n.service", notify_unit(init, "never", "TimeoutStartSec=500ms"))
    init.start()
    t = time.monotonic()
    r = init.action("n.service", "start")
    assert time.monotonic() - t >= 0.45
    assert r.status == 409 and r.json()["result"] in ("timeout", "failed"), r
    u = init.unit("n.service")
    assert (u["active_state"], u["result"]) == ("failed", "timeout")
    assert u["processes"] == []


def test_watchdog_keeps_a_pinging_service_and_kills_a_silent_one(init):
    init.write_unit("n.service", notify_unit(init, "watchdog", "WatchdogSec=300ms\nLimitCORE=0"))
    init.start()
    init.start_unit("n.service")
    assert init.read("env").split()[1] == "300000"
    wait_until("the service to stop pinging", lambda: os.path.exists(init.path("stopped-pinging")))
    # A second of pings at 50 ms kept it going past several 300 ms windows.
    assert init.unit("n.service")["active_state"] == "active"
    u = init.wait_state("n.service", "failed")
    assert u["result"] == "watchdog"
    assert (u["exec_main_code"], u["exec_main_status"]) in (("killed", signal.SIGABRT), ("dumped", signal.SIGABRT))


# --- Exec*= and their prefixes -----------------------------------------------

def test_exec_commands_run_in_their_phases(init):
    write_units(init, phases_service="""
        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStartPre=/bin/sh -c "echo pre1 >> {log}"
        ExecStartPre=/bin/sh -c "echo pre2 >> {log}; echo said by pre2"
        ExecStart=/bin/sh -c "echo start >> {log}"
        ExecStartPost=/bin/sh -c "echo post >> {log}"
        ExecReload=/bin/sh -c "echo reload >> {log}"
        ExecStop=/bin/sh -c "echo stop >> {log}"
        ExecStopPost=/bin/sh -c "echo stoppost >> {log}"
        """)
    init.start()
    init.start_unit("phases.service")
    assert lines(init, "log") == ["pre1", "pre2", "start", "post"]
    init.wait_journal("^said by pre2$", unit="phases.service")
    assert init.action("phases.service", "reload").status == 200
    wait_until("the reload to run", lambda: "reload" in lines(init, "log"))
    init.stop_unit("phases.service")
    assert lines(init, "log") == ["pre1", "pre2", "start", "post", "reload", "stop", "stoppost"]


def test_exec_reload_sees_the_main_pid(init):
    write_units(init, r_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        ExecReload=/bin/sh -c "echo $MAINPID >> {log}"
        """)
    init.start()
    r = init.action("r.service", "reload")
    assert r.status == 409, r  # not running
    init.start_unit("r.service")
    assert init.action("r.service", "reload").status == 200
    wait_until("the reload to run", lambda: lines(init, "log"))
    assert lines(init, "log") == [str(init.unit("r.service")["main_pid"])]
    assert init.wait_state("r.service", "active")["sub_state"] == "running"


def test_failing_exec_start_pre_stops_the_start_and_exec_stop_post_still_runs(init):
    write_units(init, p_service="""
        [Service]
        ExecStartPre=/bin/false
        ExecStart=/bin/sh -c "echo start >> {log}; exec sleep 1000"
        ExecStop=/bin/sh -c "echo stop >> {log}"
        ExecStopPost=/bin/sh -c "echo stoppost >> {log}"
        """)
    init.start()
    r = init.action("p.service", "start")
    assert r.status == 409, r
    assert init.unit("p.service")["active_state"] == "failed"
    assert lines(init, "log") == ["stoppost"]


def test_failing_oneshot_still_runs_exec_stop_post(init):
    write_units(init, p_service="""
        [Service]
        Type=oneshot
        ExecStart=/bin/false
        ExecStopPost=/bin/sh -c "echo stoppost >> {log}"
        """)
    init.start()
    assert init.action("p.service", "start").status == 409
    assert lines(init, "log") == ["stoppost"]


def test_failing_exec_start_post_fails_the_unit(init):
    write_units(init, p_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        ExecStartPost=/bin/sh -c "exit 4"
        ExecStopPost=/bin/sh -c "echo stoppost >> {log}"
        """)
    init.start()
    r = init.action("p.service", "start")
    assert r.status == 409, r
    u = init.wait_state("p.service", "failed")
    assert u["result"] == "exit-code" and u["processes"] == []
    assert lines(init, "log") == ["stoppost"]


def test_prefix_dash_ignores_a_failing_command(init):
    write_units(init, d_service="""
        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStartPre=-/bin/sh -c "exit 7"
        ExecStartPre=-/nonexistent/tool
        ExecStart=/bin/sh -c "echo start >> {log}"
        ExecStop=-/bin/false
        """)
    init.start()
    init.start_unit("d.service")
    assert lines(init, "log") == ["start"]
    init.stop_unit("d.service")
    assert init.unit("d.service")["result"] == "success"


def test_prefix_dash_on_exec_start_makes_a_failing_main_process_clean(init):
    write_units(init, d_service="""
        [Service]
        Restart=on-failure
        ExecStart=-/bin/sh -c "echo run >> {log}; exit 5"
        """)
    init.start()
    init.start_unit("d.service")
    u = init.wait_state("d.service", "inactive")
    assert (u["result"], u["restarts"]) == ("success", 0)


def test_prefix_at_sets_argv0(init):
    write_units(init, a_service="""
        [Service]
        Type=oneshot
        ExecStart=@/bin/sh fancy-name -c "echo $$0 >> {log}"
        """)
    init.start()
    init.start_unit("a.service")
    assert lines(init, "log") == ["fancy-name"]


def test_prefixes_plus_and_bang_run_as_root_despite_user(init):
    write_units(init, u_service="""
        [Service]
        Type=oneshot
        User=nobody
        ExecStartPre=+/bin/sh -c "echo plus $$(id -u) >> {root}/tmp/ids"
        ExecStartPre=!/bin/sh -c "echo bang $$(id -u) >> {root}/tmp/ids"
        ExecStart=/bin/sh -c "echo plain $$(id -u) >> {root}/tmp/ids"
        """)
    with open(init.path("tmp/ids"), "w"):
        os.chmod(init.path("tmp/ids"), 0o666)
    init.start()
    init.start_unit("u.service")
    nobody = pwd.getpwnam("nobody").pw_uid
    assert init.read("tmp/ids").splitlines() == ["plus 0", "bang 0", "plain %d" % nobody]


# --- Restart=, start limits, timeouts -----------------------------------------

ENDINGS = {"clean": "exit 0", "failure": "exit 3", "signal": "kill -KILL $$$$"}
RESTARTS = {
    "no": set(),
    "always": {"clean", "failure", "signal"},
    "on-success": {"clean"},
    "on-failure": {"failure", "signal"},
    "on-abnormal": {"signal"},
    "on-abort": {"signal"},
}


@pytest.mark.parametrize("ending", sorted(ENDINGS))
@pytest.mark.parametrize("restart", sorted(RESTARTS))
def test_restart_setting_against_how_the_process_ended(init, restart, ending):
    write_units(init, r_service="""
        [Service]
        Restart=%s
        RestartSec=50ms
        ExecStart=/bin/sh -c "echo run >> {log}; sleep 0.1; %s"
        """ % (restart, ENDINGS[ending]))
    init.start()
    init.start_unit("r.service")
    if ending in RESTARTS[restart]:
        wait_until("a restart", lambda: len(lines(init, "log")) >= 2)
        assert init.unit("r.service")["restarts"] >= 1
    else:
        u = init.wait_state("r.service", "inactive" if ending == "clean" else "failed")
        assert u["restarts"] == 0 and lines(init, "log") == ["run"]
        assert u["result"] == {"clean": "success", "failure": "exit-code", "signal": "signal"}[ending]


# RestartPreventExitStatus=, how the main process ends, and what follows.
PREVENTED = [
    ("100", "exit 100", "failed", "exit-code"),
    ("1 100", "exit 100", "failed", "exit-code"),
    ("TEMPFAIL", "exit 75", "failed", "exit-code"),
    ("SIGKILL", "kill -KILL $$$$", "failed", "signal"),
    # Prevented whatever the result: a clean exit named here stays down.
    ("0", "exit 0", "inactive", "success"),
]


@pytest.mark.parametrize("prevent,ending,state,result", PREVENTED)
def test_restart_prevent_exit_status_keeps_the_unit_down(init, prevent, ending, state, result):
    write_units(init, r_service="""
        [Unit]
        StartLimitIntervalSec=0
        [Service]
        Restart=always
        RestartSec=50ms
        RestartPreventExitStatus=%s
        ExecStart=/bin/sh -c "echo run >> {log}; %s"
        """ % (prevent, ending))
    init.start()
    init.start_unit("r.service")
    u = init.wait_state("r.service", state)
    assert (u["result"], u["restarts"]) == (result, 0), u
    assert lines(init, "log") == ["run"]
    init.wait_journal(r"r\.service: main process (exited with status|was killed by signal) \d+: "
                      r"not restarted \(RestartPreventExitStatus=\)")
    # Only automatic restarts are prevented: a start by hand runs it again.
    init.action("r.service", "start")
    init.wait_state("r.service", state)
    assert lines(init, "log") == ["run", "run"]


def test_restart_prevent_exit_status_leaves_other_endings_to_restart(init):
    write_units(init, r_service="""
        [Service]
        Restart=on-failure
        RestartSec=50ms
        RestartPreventExitStatus=100 SIGTERM
        ExecStart=/bin/sh -c "echo run >> {log}; test -e {root}/third && exit 100; test -e {root}/second && touch {root}/third; touch {root}/second; exit 3"
        """)
    init.start()
    init.start_unit("r.service")
    u = init.wait_state("r.service", "failed")
    assert (u["result"], u["restarts"]) == ("exit-code", 2), u
    assert lines(init, "log") == ["run"] * 3


def test_restart_sec_waits_in_auto_restart(init):
    write_units(init, r_service="""
        [Service]
        Restart=on-failure
        RestartSec=600ms
        ExecStart=/bin/sh -c "echo run >> {log}; exit 1"
        """)
    init.start()
    init.start_unit("r.service")
    t0 = time.monotonic()
    init.wait_state("r.service", "activating", "auto-restart")
    wait_until("the restart", lambda: len(lines(init, "log")) >= 2)
    assert time.monotonic() - t0 >= 0.5
    assert init.unit("r.service")["restarts"] >= 1


def test_a_crash_loop_hits_the_start_limit_and_others_keep_running(init):
    write_units(init, crash_service="""
        [Unit]
        StartLimitIntervalSec=20s
        StartLimitBurst=4
        [Service]
        Restart=always
        RestartSec=0
        ExecStart=/bin/sh -c "echo run >> {log}"
        """, steady_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        """)
    init.start()
    init.start_unit("steady.service")
    init.action("crash.service", "start")
    u = init.wait_state("crash.service", "failed")
    assert u["result"] == "start-limit-hit"
    assert lines(init, "log") == ["run"] * 4
    assert u["restarts"] >= 3
    assert init.unit("steady.service")["active_state"] == "active"
    r = init.action("crash.service", "start")
    assert r.status == 409, r


def test_start_limit_counts_manual_starts(init):
    write_units(init, o_service="""
        [Unit]
        StartLimitIntervalSec=30s
        StartLimitBurst=2
        [Service]
        Type=oneshot
        ExecStart=/bin/sh -c "echo run >> {log}"
        """)
    init.start()
    init.start_unit("o.service")
    init.start_unit("o.service")
    r = init.action("o.service", "start")
    assert r.status == 409 and "too often" in r.json()["error"], r
    u = init.unit("o.service")
    assert (u["active_state"], u["result"]) == ("failed", "start-limit-hit")
    assert lines(init, "log") == ["run", "run"]


def test_the_start_limit_opens_again_after_the_interval(init):
    write_units(init, o_service="""
        [Unit]
        StartLimitIntervalSec=700ms
        StartLimitBurst=1
        [Service]
        Type=oneshot
        ExecStart=/bin/sh -c "echo run >> {log}"
        """)
    init.start()
    init.start_unit("o.service")
    assert init.action("o.service", "start").status == 409
    time.sleep(0.8)
    init.start_unit("o.service")
    assert lines(init, "log") == ["run", "run"]


def test_timeout_start_sec_applies_to_start_pre_and_oneshot(init):
    write_units(init, pre_service="""
        [Service]
        TimeoutStartSec=300ms
        ExecStartPre=/bin/sleep 1000
        ExecStart=/bin/sh -c "echo never >> {log}; exec sleep 1000"
        """, once_service="""
        [Service]
        Type=oneshot
        TimeoutStartSec=300ms
        ExecStart=/bin/sleep 1000
        """)
    init.start()
    for name in ("pre.service", "once.service"):
        r = init.action(name, "start")
        assert r.status == 409, r
        u = init.unit(name)
        assert (u["active_state"], u["result"], u["processes"]) == ("failed", "timeout", [])
    assert lines(init, "log") == []


def test_stopping_a_unit_waiting_to_restart_cancels_the_restart(init):
    write_units(init, r_service="""
        [Service]
        Restart=always
        RestartSec=1s
        ExecStart=/bin/sh -c "echo run >> {log}; exit 1"
        """)
    init.start()
    init.start_unit("r.service")
    init.wait_state("r.service", "activating", "auto-restart")
    init.stop_unit("r.service")
    u = init.unit("r.service")
    assert (u["active_state"], u["sub_state"]) == ("inactive", "dead")
    time.sleep(1.3)
    assert lines(init, "log") == ["run"]


def test_restart_try_restart_and_no_block(init):
    write_units(init, s_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        """, slow_service="""
        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/bin/sleep 0.5
        """)
    init.start()
    r = init.action("s.service", "try-restart")
    assert r.status == 200 and init.unit("s.service")["active_state"] == "inactive", r
    init.start_unit("s.service")
    first = init.unit("s.service")["main_pid"]
    assert init.action("s.service", "restart").status == 200
    second = init.unit("s.service")["main_pid"]
    assert second not in (0, first) and not pid_alive(first)
    assert init.action("s.service", "try-restart").status == 200
    assert init.unit("s.service")["main_pid"] not in (0, second)

    r = init.action("slow.service", "start", no_block=True)
    assert r.status == 202 and r.json()["result"] == "queued", r
    u = init.unit("slow.service")
    assert (u["active_state"], u["job"]) == ("activating", "start")
    init.wait_state("slow.service", "active")
    assert init.unit("slow.service")["job"] is None


def test_stop_cancels_a_start_still_running(init):
    write_units(init, slow_service="""
        [Service]
        Type=oneshot
        ExecStart=/bin/sh -c "sleep 1000; echo finished >> {log}"
        """)
    init.start()
    c = UnixHTTPConnection(init.sock, timeout=WAIT)
    try:
        c.request("POST", "/v1/units/slow.service/start")
        init.wait_state("slow.service", "activating", "start")
        init.stop_unit("slow.service")
        r = c.getresponse()
        answer = json.loads(r.read())
        assert r.status == 409 and answer["result"] == "canceled", answer
    finally:
        c.close()
    assert init.unit("slow.service")["active_state"] == "inactive"
    assert lines(init, "log") == []


def test_timeout_stop_sec_then_sigkill(init):
    write_units(init, t_service="""
        [Service]
        TimeoutStopSec=400ms
        ExecStart=/bin/sh -c "trap '' TERM; echo ready >> {log}; while :; do sleep 0.05; done"
        """)
    init.start()
    init.start_unit("t.service")
    wait_until("the trap to be set", lambda: lines(init, "log"))
    pid = init.unit("t.service")["main_pid"]
    t = time.monotonic()
    init.stop_unit("t.service")
    assert time.monotonic() - t >= 0.35
    assert not pid_alive(pid)
    u = init.unit("t.service")
    assert (u["active_state"], u["result"]) == ("failed", "timeout")


def test_send_sigkill_no_leaves_a_process_that_ignores_sigterm(init):
    write_units(init, t_service="""
        [Service]
        TimeoutStopSec=300ms
        SendSIGKILL=no
        ExecStart=/bin/sh -c "trap '' TERM; echo ready >> {log}; while :; do sleep 0.05; done"
        """)
    init.start()
    init.start_unit("t.service")
    wait_until("the trap to be set", lambda: lines(init, "log"))
    pid = init.unit("t.service")["main_pid"]
    init.stop_unit("t.service")
    assert init.unit("t.service")["active_state"] in ("inactive", "failed")
    assert pid_alive(pid)
    os.kill(pid, signal.SIGKILL)


# --- killing --------------------------------------------------------------------

def test_kill_signal_is_what_the_service_gets(init):
    write_units(init, k_service="""
        [Service]
        KillSignal=SIGUSR1
        ExecStart=/bin/sh -c "trap 'echo usr1 >> {log}; exit 0' USR1; echo ready >> {log}; while :; do sleep 0.05; done"
        """)
    init.start()
    init.start_unit("k.service")
    wait_until("the trap to be set", lambda: lines(init, "log"))
    init.stop_unit("k.service")
    assert lines(init, "log") == ["ready", "usr1"]
    assert init.unit("k.service")["active_state"] == "inactive"


DAEMON = """
#!/bin/sh
# A daemon that double-forks out of its session, and a child that notes SIGTERM.
setsid sh -c 'sleep 1000 & echo $! > "$1/grandchild"' sh "$1" &
sh -c 'trap "echo term >> $1/child-term; exit 0" TERM; echo $$ > "$1/child"; while :; do sleep 0.05; done' sh "$1" &
trap 'exit 0' TERM
while :; do sleep 0.05; done
"""


def start_daemon(i, kill_mode):
    d = script(i, "daemon.sh", DAEMON)
    i.write_unit("d.service", unit("""
        [Service]
        KillMode={mode}
        TimeoutStopSec=2s
        ExecStart={d} {root}
        """, mode=kill_mode, d=d, root=i.root))
    i.start()
    i.start_unit("d.service")
    wait_until("the daemon's processes", lambda: os.path.exists(i.path("grandchild")) and
               os.path.exists(i.path("child")))
    return (i.unit("d.service")["main_pid"], int(i.read("child")), int(i.read("grandchild")))


def test_kill_mode_control_group_ends_a_double_forked_daemon(init):
    main, child, grandchild = start_daemon(init, "control-group")
    init.stop_unit("d.service")
    assert not any(pid_alive(p) for p in (main, child, grandchild))
    assert init.read("child-term").split() == ["term"]


def test_kill_mode_process_leaves_the_children(init):
    main, child, grandchild = start_daemon(init, "process")
    init.stop_unit("d.service")
    assert not pid_alive(main)
    assert pid_alive(child) and pid_alive(grandchild)
    assert init.unit("d.service")["active_state"] == "inactive"


def test_kill_mode_mixed_sends_sigterm_to_main_and_sigkill_to_the_rest(init):
    main, child, grandchild = start_daemon(init, "mixed")
    t = time.monotonic()
    init.stop_unit("d.service")
    assert time.monotonic() - t < 1.5, "waited for TimeoutStopSec= instead of SIGKILLing the rest"
    assert not any(pid_alive(p) for p in (main, child, grandchild))
    assert not os.path.exists(init.path("child-term"))
    assert init.unit("d.service")["result"] == "success"


def test_kill_mode_none_leaves_everything_running(init):
    main, child, grandchild = start_daemon(init, "none")
    t = time.monotonic()
    init.stop_unit("d.service")
    assert time.monotonic() - t < 1.5
    assert all(pid_alive(p) for p in (main, child, grandchild))
    assert init.unit("d.service")["result"] == "success"


def test_success_exit_status_makes_an_exit_code_clean(init):
    write_units(init, e_service="""
        [Service]
        SuccessExitStatus=42 SIGUSR2
        ExecStart=/bin/sh -c "exit 42"
        """, s_service="""
        [Service]
        SuccessExitStatus=42 SIGUSR2
        ExecStart=/bin/sh -c "kill -USR2 $$$$"
        """, f_service="""
        [Service]
        SuccessExitStatus=42
        ExecStart=/bin/sh -c "exit 43"
        """)
    init.start()
    for name in ("e.service", "s.service", "f.service"):
        init.start_unit(name)
    assert init.wait_state("e.service", "inactive")["exec_main_status"] == 42
    assert init.wait_state("s.service", "inactive")["exec_main_code"] == "killed"
    assert init.wait_state("f.service", "failed")["result"] == "exit-code"


# --- the process's environment --------------------------------------------------

def test_environment_and_environment_file(init):
    with open(init.path("env.conf"), "w") as f:
        f.write("# comment\nFROM_FILE=file value\nBOTH=file\n")
    write_units(init, e_service="""
        [Service]
        Type=oneshot
        Environment="GREETING=hello world" BOTH=unit
        Environment=WORDS="a b  c" "SPEC=%n %p"
        EnvironmentFile={root}/env.conf
        EnvironmentFile=-{root}/missing.conf
        ExecStart=/bin/sh -c "echo \\"$$GREETING|$$FROM_FILE|$$BOTH|$$INVOCATION_ID\\" >> {log}"
        ExecStart=/bin/sh -c "echo \\"$$#\\" >> {log}" sh $WORDS
        ExecStart=/bin/sh -c "echo \\"$$1\\" >> {log}" sh ${{GREETING}}
        ExecStart=/bin/sh -c "echo \\"$$SPEC\\" >> {log}"
        """)
    init.start()
    init.start_unit("e.service")
    out = init.read("log").splitlines()
    greeting, from_file, both, invocation = out[0].split("|")
    assert (greeting, from_file, both) == ("hello world", "file value", "file")
    assert invocation == init.unit("e.service")["invocation_id"] and len(invocation) == 32
    assert out[1:] == ["3", "hello world", "e.service e"]


def test_a_missing_environment_file_fails_the_start(init):
    write_units(init, e_service="""
        [Service]
        Type=oneshot
        EnvironmentFile={root}/missing.conf
        ExecStart=/bin/sh -c "echo ran >> {log}"
        """)
    init.start()
    assert init.action("e.service", "start").status == 409
    assert lines(init, "log") == []


def test_working_directory_umask_and_limits(init):
    os.mkdir(init.path("work"))
    write_units(init, w_service="""
        [Service]
        Type=oneshot
        WorkingDirectory={root}/work
        UMask=0027
        LimitNOFILE=1234:2345
        LimitCORE=infinity
        LimitNPROC=777
        LimitSTACK=4M
        LimitMEMLOCK=64K
        ExecStart=/bin/sh -c "pwd > out; umask >> out; touch made; cat /proc/self/limits > limits"
        """)
    init.start()
    init.start_unit("w.service")
    assert init.read("work/out").split() == [init.path("work"), "0027"]
    assert os.stat(init.path("work/made")).st_mode & 0o777 == 0o640
    limits = {}
    for l in init.read("work/limits").splitlines()[1:]:
        m = re.match(r"(.+?)\s{2,}(\S+)\s+(\S+)", l)
        limits[m.group(1)] = (m.group(2), m.group(3))
    assert limits["Max open files"] == ("1234", "2345")
    assert limits["Max core file size"] == ("unlimited", "unlimited")
    assert limits["Max processes"] == ("777", "777")
    assert limits["Max stack size"] == (str(4 << 20), str(4 << 20))
    assert limits["Max locked memory"] == (str(64 << 10), str(64 << 10))


def test_a_missing_working_directory_fails_and_dash_makes_it_optional(init):
    write_units(init, w_service="""
        [Service]
        Type=oneshot
        WorkingDirectory={root}/nowhere
        ExecStart=/bin/sh -c "echo ran >> {log}"
        """, o_service="""
        [Service]
        Type=oneshot
        WorkingDirectory=-{root}/nowhere
        ExecStart=/bin/sh -c "echo optional >> {log}"
        """)
    init.start()
    assert init.action("w.service", "start").status == 409
    assert init.unit("w.service")["active_state"] == "failed"
    init.start_unit("o.service")
    assert lines(init, "log") == ["optional"]


def test_user_and_group(init):
    write_units(init, u_service="""
        [Service]
        Type=oneshot
        User=nobody
        Group=nogroup
        ExecStart=/bin/sh -c "echo $$(id -u) $$(id -g) $$USER $$HOME >> {root}/tmp/who"
        """)
    init.start()
    init.start_unit("u.service")
    pw = pwd.getpwnam("nobody")
    assert init.read("tmp/who").split() == [str(pw.pw_uid), str(grp.getgrnam("nogroup").gr_gid),
                                            "nobody", pw.pw_dir]


def test_an_unknown_user_fails_the_start(init):
    write_units(init, u_service="""
        [Service]
        Type=oneshot
        User=no-such-user-here
        ExecStart=/bin/sh -c "echo ran >> {log}"
        """)
    init.start()
    assert init.action("u.service", "start").status == 409
    assert lines(init, "log") == []


# --- output ------------------------------------------------------------------

def test_standard_output_and_error_go_where_they_are_told(init):
    write_units(init, j_service="""
        [Service]
        Type=oneshot
        ExecStart=/bin/sh -c "echo journal-out; echo journal-err >&2"
        """, n_service="""
        [Service]
        Type=oneshot
        StandardOutput=null
        StandardError=null
        ExecStart=/bin/sh -c "echo null-out; echo null-err >&2; echo ran >> {log}"
        """, e_service="""
        [Service]
        Type=oneshot
        StandardError=null
        ExecStart=/bin/sh -c "echo kept-out; echo dropped-err >&2"
        """, t_service="""
        [Service]
        Type=oneshot
        StandardOutput=tty
        ExecStart=/bin/sh -c "echo console-line-from-unit"
        """)
    init.start()
    for n in ("j", "n", "e", "t"):
        init.start_unit(n + ".service")
    wait_until("the output to reach the journal", lambda: "journal-err" in init.messages("j.service"))
    assert sorted(init.messages("j.service")) == ["journal-err", "journal-out"]
    assert init.messages("n.service") == [] and lines(init, "log") == ["ran"]
    assert init.messages("e.service") == ["kept-out"]
    init.wait_console("^console-line-from-unit$")
    assert init.messages("t.service") == []


def test_standard_output_journal_console_and_files(init):
    write_units(init, jc_service="""
        [Service]
        Type=oneshot
        StandardOutput=journal+console
        ExecStart=/bin/echo both-places
        """, f_service="""
        [Service]
        Type=oneshot
        StandardOutput=file:{root}/out.txt
        StandardError=append:{root}/err.txt
        ExecStart=/bin/sh -c "echo to-file; echo to-err >&2"
        """)
    with open(init.path("err.txt"), "w") as f:
        f.write("earlier\n")
    init.start()
    init.start_unit("jc.service")
    init.start_unit("f.service")
    assert init.wait_journal("both-places", unit="jc.service") == "both-places"
    init.wait_console("both-places")
    assert init.read("out.txt") == "to-file\n"
    assert init.read("err.txt") == "earlier\nto-err\n"
    assert init.messages("f.service") == []


def test_standard_output_truncate(init):
    write_units(init, t_service="""
        [Service]
        Type=oneshot
        StandardOutput=truncate:{root}/out.txt
        ExecStart=/bin/echo new
        """)
    with open(init.path("out.txt"), "w") as f:
        f.write("a much longer earlier content\n")
    init.start()
    init.start_unit("t.service")
    assert init.read("out.txt") == "new\n"


def test_a_line_of_150_kb_is_cut_into_entries_of_4_kb(init):
    write_units(init, flood_service="""
        [Service]
        Type=oneshot
        ExecStart=/bin/sh -c "head -c 150000 /dev/zero | tr -c x x; echo; echo after-the-flood"
        """, other_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        """)
    init.start()
    init.start_unit("flood.service")
    init.wait_journal("^after-the-flood$", unit="flood.service")
    msgs = init.messages("flood.service")
    assert sum(len(m) for m in msgs if set(m) == {"x"}) == 150000
    assert max(len(m) for m in msgs) == 4096
    init.start_unit("other.service")


def test_a_journal_query_larger_than_the_output_buffer_returns_every_entry(init):
    write_units(init, many_service="""
        [Service]
        Type=oneshot
        ExecStart=/bin/sh -c "seq -f 'line %%06g ..........................................' 1 4000"
        """)
    init.start()
    init.start_unit("many.service")
    init.wait_journal("^line 004000 ", unit="many.service")
    entries = init.journal(unit="many.service")
    assert len(entries) == 4000
    assert [e["seq"] for e in entries] == list(range(entries[0]["seq"], entries[0]["seq"] + 4000))


def test_output_that_is_not_utf8_is_repaired(init):
    write_units(init, b_service="""
        [Service]
        Type=oneshot
        ExecStart=/usr/bin/printf "bad\\377byte\\n"
        """)
    init.start()
    init.start_unit("b.service")
    assert init.wait_journal("byte", unit="b.service") == "bad\ufffdbyte"


# --- resource control: accepted here, enforced in the QEMU tier -------------------

def test_resource_settings_load_and_the_unit_runs(init):
    write_units(init, r_service="""
        [Service]
        MemoryMax=64M
        MemoryHigh=48M
        CPUWeight=50
        CPUQuota=20%
        TasksMax=32
        IOWeight=200
        ExecStart=/bin/sleep 1000
        """)
    init.start()
    r = init.request("PUT", "/v1/units/r2.service/file", init.read("etc/pith/units/r.service"))
    assert r.status == 201 and r.json()["reports"] == [], r
    init.start_unit("r.service")
    u = init.unit("r.service")
    assert u["active_state"] == "active"
    assert (u["memory_max"], u["memory_high"], u["tasks_max"]) == (64 << 20, 48 << 20, 32)


# --- drop-ins and templates --------------------------------------------------------

def test_drop_ins_and_template_instances(init):
    write_units(init, base_service="""
        [Unit]
        Description=From the file
        [Service]
        Type=oneshot
        ExecStart=/bin/sh -c "echo $$WHO >> {log}"
        Environment=WHO=file
        """, tpl_service="""
        [Service]
        Type=oneshot
        ExecStart=/bin/sh -c "echo instance %i of %p >> {log}"
        """)
    os.rename(init.path("etc/pith/units/tpl.service"), init.path("etc/pith/units/tpl@.service"))
    os.mkdir(init.path("etc/pith/units/base.service.d"))
    init.write_unit("base.service.d/50-who.conf", "[Unit]\nDescription=From the drop-in\n"
                    "[Service]\nEnvironment=WHO=drop-in\n")
    init.start()
    init.start_unit("base.service")
    u = init.unit("base.service")
    assert u["description"] == "From the drop-in"
    assert u["dropins"] == [init.path("etc/pith/units/base.service.d/50-who.conf")]
    init.start_unit("tpl@one.service")
    init.start_unit("tpl@two.service")
    assert lines(init, "log") == ["drop-in", "instance", "one", "of", "tpl", "instance", "two", "of", "tpl"]


# --- [Install], enable and disable --------------------------------------------------

def test_enable_and_disable_follow_wanted_by_required_by_and_alias(init):
    write_units(init, svc_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        [Install]
        WantedBy=multi-user.target
        RequiredBy=app.target
        Alias=other-name.service
        """, app_target="""
        [Unit]
        Description=App
        """)
    init.start()
    etc = init.path("etc/pith/units")
    changes = init.enable("svc.service")
    made = {c["path"] for c in changes if c["type"] == "symlink"}
    assert made == {etc + "/multi-user.target.wants/svc.service", etc + "/app.target.requires/svc.service",
                    etc + "/other-name.service"}
    for p in made:
        assert os.readlink(p) == etc + "/svc.service"
    assert init.unit("svc.service")["unit_file_state"] == "enabled"
    assert "svc.service" in init.unit("app.target")["requires"]
    assert init.enable("svc.service") == []  # enabled already: nothing to do

    init.start_unit("app.target")
    assert init.unit("svc.service")["active_state"] == "active"

    removed = {c["path"] for c in init.disable("svc.service") if c["type"] == "unlink"}
    assert removed == made
    assert not any(os.path.lexists(p) for p in made)
    assert init.unit("svc.service")["unit_file_state"] == "disabled"


def test_an_alias_link_loads_the_units_file_under_the_alias(init):
    # docs/units.md: an alias is only a link, and the unit loaded through it
    # is a unit of its own (systemd would make it another name of svc).
    write_units(init, svc_service="""
        [Unit]
        Description=Aliased
        [Service]
        ExecStart=/bin/sh -c "echo $$0 >> {log}; exec sleep 1000" started
        [Install]
        Alias=other-name.service
        """)
    init.start()
    assert init.get("/v1/units/other-name.service").status == 404
    init.enable("svc.service")
    init.start_unit("other-name.service")
    u = init.unit("other-name.service")
    assert (u["active_state"], u["description"]) == ("active", "Aliased")
    wait_until("the command to run", lambda: lines(init, "log") == ["started"])


def test_also_enables_and_disables_the_other_unit(init):
    write_units(init, front_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        [Install]
        WantedBy=multi-user.target
        Also=back.service
        """, back_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        [Install]
        WantedBy=multi-user.target
        """)
    init.start()
    init.enable("front.service")
    wants = init.path("etc/pith/units/multi-user.target.wants")
    assert sorted(os.listdir(wants)) == ["back.service", "front.service"]
    init.disable("front.service")
    assert os.listdir(wants) == []


def test_also_pointing_back_enables_each_unit_once(init):
    write_units(init, a_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        [Install]
        WantedBy=multi-user.target
        Also=b.service
        """, b_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        [Install]
        WantedBy=multi-user.target
        Also=a.service
        """)
    init.start()
    changes = init.enable("a.service")
    assert sorted(os.path.basename(c["path"]) for c in changes) == ["a.service", "b.service"]
    wants = init.path("etc/pith/units/multi-user.target.wants")
    assert sorted(os.listdir(wants)) == ["a.service", "b.service"]
    assert len(init.disable("b.service")) == 2
    assert os.listdir(wants) == []


def test_static_masked_and_unknown_units(init):
    write_units(init, static_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        """)
    os.symlink("/dev/null", init.path("etc/pith/units/masked.service"))
    init.start()
    assert init.unit("static.service")["unit_file_state"] == "static"
    assert init.unit("masked.service")["load_state"] == "masked"
    assert init.action("masked.service", "start").status == 409
    assert init.post("/v1/units/masked.service/enable").status == 409
    r = init.get("/v1/units/nothing-here.service")
    assert r.status == 404 and "nothing-here.service" in r.json()["error"], r
    assert init.action("nothing-here.service", "start").status == 404
    assert init.get("/v1/units/not%20a%20unit.service").status == 400
    assert init.get("/v1/units/no-suffix").status == 400


def test_a_target_starts_what_it_wants_and_multi_user_is_the_default(init):
    write_units(init, web_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        """, db_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        """, app_target="""
        [Unit]
        Wants=web.service db.service
        [Install]
        WantedBy=multi-user.target
        """)
    init.start()
    assert init.unit("multi-user.target")["active_state"] == "active"
    assert init.unit("app.target")["active_state"] == "inactive"
    init.enable("app.target")
    assert init.stop() == 0
    init.start()
    init.wait_state("web.service", "active")
    init.wait_state("db.service", "active")
    assert init.unit("app.target")["active_state"] == "active"


# --- the file API, daemon-reload ------------------------------------------------

def test_unit_lists_and_systemctl_show(init):
    write_units(init, b_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        [Install]
        WantedBy=multi-user.target
        """, a_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        """)
    init.start()
    init.start_unit("b.service")
    init.unit("a.service")
    names = [u["name"] for u in init.get("/v1/units").json()["units"]]
    assert names == sorted(names) and {"a.service", "b.service", "multi-user.target"} <= set(names)
    files = {f["name"]: f["state"] for f in init.get("/v1/unit-files").json()["unit_files"]}
    assert (files["a.service"], files["b.service"]) == ("static", "disabled")
    r = init.cli("systemctl", "show", "-p", "ActiveState", "--value", "b.service")
    assert r.stdout.strip() == "active", r
    r = init.cli("systemctl", "list-units", "--no-legend", "--plain")
    assert re.search(r"^b\.service\s+loaded\s+active\s+running", r.stdout, re.M), r.stdout


def test_put_get_and_delete_a_unit_file(init):
    init.start()
    text = "[Unit]\nDescription=Uploaded\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n"
    r = init.request("PUT", "/v1/units/up.service/file", text)
    assert r.status == 201, r
    path = init.path("etc/pith/units/up.service")
    assert r.json()["path"] == path and init.read("etc/pith/units/up.service") == text
    r = init.get("/v1/units/up.service/file")
    assert r.status == 200 and r.json()["content"] == text and r.json()["path"] == path

    r = init.request("PUT", "/v1/units/up.service/file", text.replace("Uploaded", "Replaced"))
    assert r.status == 200, r
    assert init.unit("up.service")["description"] == "Replaced"

    init.enable("up.service")
    init.start_unit("up.service")
    pid = init.unit("up.service")["main_pid"]
    r = init.request("DELETE", "/v1/units/up.service/file")
    assert r.status == 200, r
    wait_until("the unit's process to end", lambda: not pid_alive(pid))
    assert not os.path.lexists(path)
    assert not os.path.lexists(init.path("etc/pith/units/multi-user.target.wants/up.service"))
    assert init.get("/v1/units/up.service").status == 404
    assert init.request("DELETE", "/v1/units/up.service/file").status == 404
    assert init.get("/v1/units/up.service/file").status == 404


def test_put_with_errors_is_refused_and_nothing_is_written(init):
    init.start()
    # A command systemd cannot run is an error (a bad value would only be
    # a warning, as in systemd).
    r = init.request("PUT", "/v1/units/bad.service/file", "[Service]\nExecStart=/bin/true\nExecStartPre=bin/x\n")
    assert r.status == 400, r
    reports = r.json()["reports"]
    assert any(x["severity"] == "error" and x["line"] == 3 and "bin/x" in x["message"]
               for x in reports), reports
    assert not os.path.lexists(init.path("etc/pith/units/bad.service"))
    assert init.get("/v1/units/bad.service").status == 404

    # A good file already there stays as it was.
    good = "[Service]\nExecStart=/bin/true\n"
    assert init.request("PUT", "/v1/units/keep.service/file", good).status == 201
    assert init.request("PUT", "/v1/units/keep.service/file", "[Service]\nType=sideways\n").status == 400
    assert init.read("etc/pith/units/keep.service") == good


def test_delete_refuses_units_shipped_with_the_os(init):
    init.write_unit("os.service", "[Service]\nExecStart=/bin/sleep 1000\n", where="usr/lib/pith/units")
    init.start()
    assert init.unit("os.service")["load_state"] == "loaded"
    r = init.request("DELETE", "/v1/units/os.service/file")
    assert r.status == 403, r
    assert os.path.exists(init.path("usr/lib/pith/units/os.service"))


def test_daemon_reload_picks_up_an_edited_file(init):
    write_units(init, e_service="""
        [Unit]
        Description=Before
        [Service]
        ExecStart=/bin/sh -c "echo before; exec sleep 1000"
        """)
    init.start()
    init.start_unit("e.service")
    pid = init.unit("e.service")["main_pid"]
    write_units(init, e_service="""
        [Unit]
        Description=After
        [Service]
        ExecStart=/bin/sh -c "echo after; exec sleep 1000"
        """)
    assert init.unit("e.service")["description"] == "Before"
    assert init.daemon_reload()["units"] > 0
    u = init.unit("e.service")
    assert u["description"] == "After"
    assert (u["active_state"], u["main_pid"]) == ("active", pid)  # running on, as it was
    assert init.action("e.service", "restart").status == 200
    assert init.unit("e.service")["main_pid"] != pid
    init.wait_journal("^after$", unit="e.service")


# --- the journal -----------------------------------------------------------------

def test_journal_queries_by_unit_lines_since_and_priority(init):
    write_units(init, a_service="""
        [Service]
        Type=oneshot
        ExecStart=/bin/sh -c "for i in 1 2 3 4 5 6 7 8 9 10; do echo a$$i; done"
        """, b_service="""
        [Service]
        Type=oneshot
        ExecStart=/bin/echo from-b
        """)
    init.start()
    init.start_unit("a.service")
    init.start_unit("b.service")
    wait_until("a's ten lines", lambda: len(init.messages("a.service")) == 10)
    assert init.messages("a.service") == ["a%d" % n for n in range(1, 11)]
    assert init.wait_journal("from-b", unit="b.service")
    assert [e["message"] for e in init.journal(unit="a.service", lines=3)] == ["a8", "a9", "a10"]
    entries = init.journal(unit="a.service")
    assert all(e["unit"] == "a.service" and e["priority"] == 6 and e["pid"] > 0 for e in entries)
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    since = entries[-1]["realtime_usec"] + 1
    assert [e["message"] for e in init.journal(since=since) if e["unit"] != "pith-init"] == ["from-b"]
    assert init.journal(unit="a.service", priority=3) == []
    cursor = entries[7]["seq"]
    assert [e["message"] for e in init.journal(unit="a.service", cursor=cursor)] == ["a9", "a10"]
    assert init.get("/v1/journal?lines=many").status == 400
    assert any(e["unit"] == "pith-init" for e in init.journal())


def test_journal_follow_streams_new_entries_chunked(init):
    write_units(init, f_service="""
        [Service]
        ExecStart=/bin/sh -c "while :; do echo tick; sleep 0.1; done"
        """)
    init.start()
    c = UnixHTTPConnection(init.sock, timeout=WAIT)
    try:
        c.request("GET", "/v1/journal?unit=f.service&follow=1")
        r = c.getresponse()
        assert r.status == 200
        assert r.getheader("Transfer-Encoding") == "chunked"
        assert r.getheader("Content-Type") == "application/x-ndjson"
        init.start_unit("f.service")
        got = []
        while len(got) < 3:
            line = r.readline()
            assert line, "the stream ended"
            got.append(json.loads(line))
        assert [e["message"] for e in got] == ["tick"] * 3
        assert all(e["unit"] == "f.service" for e in got)
    finally:
        c.close()
    assert init.get("/v1/units").status == 200  # a follower going away is no trouble


def test_past_its_connection_limit_pid1_answers_503_at_once(init):
    """64 idle connections hold every slot of PID 1's API. The 65th is
    accepted, answered 503 and closed: it does not wait in the listen
    queue, where it would hang its client and wake PID 1's loop on every
    turn. Once the slots are free, requests are served again."""
    init.start()
    held = []
    try:
        for _ in range(64):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(init.sock)
            held.append(s)
        for _ in range(2):
            r = init.get("/v1/units", timeout=WAIT)
            assert r.status == 503, r
            assert r.json()["error"] == "Too many API connections (64); try again later."
    finally:
        for s in held:
            s.close()
    wait_until("the API to serve again", lambda: init.get("/v1/units", timeout=WAIT).status == 200)


def test_journal_followers_have_their_own_limit_below_the_connection_limit(init):
    """A follow never ends, so at most 32 run at once; the 33rd is answered
    503, and with 32 following, ordinary requests are still served."""
    init.start()
    follows = []

    def follow():
        # The answer holds the socket (Connection: close): keep it open.
        c = UnixHTTPConnection(init.sock, timeout=WAIT)
        c.request("GET", "/v1/journal?follow=1&lines=0")
        r = c.getresponse()
        follows.append(r)
        return r.status

    try:
        for _ in range(32):
            assert follow() == 200
        assert follow() == 503
        assert json.loads(follows.pop().read())["error"] == "Too many journal followers (32); try again later."
        assert init.get("/v1/units").status == 200
        follows.pop(0).close()
        wait_until("a follower's slot to come free", lambda: follow() == 200 or follows.pop().close())
    finally:
        for r in follows:
            r.close()


def test_journalctl_shows_the_last_lines_of_a_unit(init):
    write_units(init, a_service="""
        [Service]
        Type=oneshot
        ExecStart=/bin/sh -c "for i in 1 2 3 4 5; do echo line$$i; done"
        """)
    init.start()
    init.start_unit("a.service")
    wait_until("five lines", lambda: len(init.messages("a.service")) == 5)
    r = init.cli("journalctl", "-u", "a.service", "-n", "2", "--no-pager")
    assert r.returncode == 0, r.stderr
    out = [l for l in r.stdout.splitlines() if "line" in l]
    assert len(out) == 2 and out[0].endswith("line4") and out[1].endswith("line5"), r.stdout


# --- bad input: PID 1 keeps serving ---------------------------------------------------

GARBAGE = {
    "binary": b"\x00\x01\x02garbage\xff\xfe" * 1000,
    "1MB-line": b"[Service]\nExecStart=/bin/" + b"x" * (1 << 20) + b"\n",
    "10000-sections": b"[Unit]\nDescription=x\n" * 10000,
    "no-exec-start": b"[Service]\nType=simple\n",
}


@pytest.mark.parametrize("content", sorted(GARBAGE))
def test_garbage_unit_files_are_errors_and_others_keep_running(init, content):
    init.write_unit("junk.service", GARBAGE[content])
    write_units(init, good_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        [Install]
        WantedBy=multi-user.target
        """)
    os.makedirs(init.path("etc/pith/units/multi-user.target.wants"))
    for n in ("good.service", "junk.service"):
        os.symlink("../" + n, init.path("etc/pith/units/multi-user.target.wants", n))
    init.start()
    init.wait_state("good.service", "active")
    u = init.unit("junk.service")
    assert u["load_state"] in ("bad-setting", "error"), u
    assert u["active_state"] in ("inactive", "failed")
    r = init.action("junk.service", "start")
    assert r.status in (400, 409), r
    assert any("junk.service" in m for m in init.messages("pith-init"))
    r = init.request("PUT", "/v1/units/junk2.service/file", GARBAGE[content])
    assert r.status == 400, r
    assert not os.path.exists(init.path("etc/pith/units/junk2.service"))
    assert init.proc.poll() is None
    assert init.unit("good.service")["active_state"] == "active"


def test_an_ordering_cycle_through_a_wanted_unit_is_broken_and_reported(init):
    # a -> b -> c -> a in After=; only c is merely wanted, so its job goes.
    write_units(init, a_service="""
        [Unit]
        Requires=b.service
        After=b.service
        Wants=c.service
        [Service]
        ExecStart=/bin/sleep 1000
        """, b_service="""
        [Unit]
        After=c.service
        [Service]
        ExecStart=/bin/sleep 1000
        """, c_service="""
        [Unit]
        After=a.service
        [Service]
        ExecStart=/bin/sleep 1000
        """, other_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        """)
    init.start()
    r = init.action("a.service", "start")
    assert r.status == 200, r
    assert init.unit("a.service")["active_state"] == "active"
    assert init.unit("b.service")["active_state"] == "active"
    assert init.unit("c.service")["active_state"] == "inactive"
    msgs = init.messages("pith-init")
    assert any(re.search(r"ordering cycle found: .*a\.service.*", m) for m in msgs), msgs
    assert any(m.endswith("job c.service/start deleted to break the ordering cycle") for m in msgs), msgs
    init.start_unit("other.service")


def test_a_requirement_cycle_that_cannot_be_broken_is_refused(init):
    write_units(init, x_service="""
        [Unit]
        Requires=y.service
        After=y.service
        [Service]
        ExecStart=/bin/sleep 1000
        """, y_service="""
        [Unit]
        Requires=x.service
        After=x.service
        [Service]
        ExecStart=/bin/sleep 1000
        """, other_service="""
        [Service]
        ExecStart=/bin/sleep 1000
        """)
    init.start()
    r = init.action("x.service", "start")
    assert r.status == 409 and "cycle" in r.json()["error"].lower(), r
    assert init.unit("x.service")["active_state"] == "inactive"
    init.start_unit("other.service")
