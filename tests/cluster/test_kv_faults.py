"""pith-kv under faults: client histories checked for linearizability.

Each scenario starts a fresh cluster in network namespaces (kvcluster.py),
runs clients doing quorum reads, writes and compare-and-swaps on a few keys
against random members, injects a fault mid-run, heals, runs on, and then
checks:

- the history, with a quorum read of every key from every member at the
  end, is linearizable (linearize.py; a failure prints a minimal history
  that cannot be ordered);
- no acknowledged write is lost: each key's final value was written by a
  write that was acknowledged or whose outcome is unknown, and every
  member's final quorum read agrees;
- every member converges: its local (non-quorum) read gives that value.

KV_IMPL=pith (default) tests build/bin/pith-kv; KV_IMPL=etcd tests Debian's
etcd 3.4, which is how these tests were checked themselves. The first tests
below are the checker's own: hand-made histories it must accept and reject,
and small random histories compared with a brute-force search.
"""

import itertools
import os
import random
import threading
import time

import pytest

import kvcluster
import linearize
from linearize import CAS, READ, UNSEEN, WRITE, Op

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")

POLL_SLACK = 0.15       # s: leader polling granularity allowed over 2 x the election timeout


# -- the checker on hand-made histories ------------------------------------------

def W(v, call, ret, key="x"):
    return Op(key, WRITE, call, ret, value=v)


def R(out, call, ret, key="x"):
    return Op(key, READ, call, ret, out=out)


def C(expect, v, call, ret, ok, seen=UNSEEN, key="x"):
    return Op(key, CAS, call, ret, value=v, expect=expect, out=ok, seen=seen)


def test_checker_accepts_a_sequential_history():
    h = [R(None, 0, 1), W("a", 2, 3), R("a", 4, 5), C("a", "b", 6, 7, True), R("b", 8, 9),
         C("a", "c", 10, 11, False, seen="b"), R("b", 12, 13)]
    assert linearize.check(h)


def test_checker_rejects_a_stale_read_after_a_completed_write():
    h = [W("a", 0, 10), W("b", 20, 30), R("b", 35, 38), R("a", 40, 50), W("c", 60, 70)]
    r = linearize.check(h)
    assert not r
    assert r.key == "x"
    # The minimal counterexample: the two writes and the stale read.
    assert [(o.kind, o.value if o.kind != READ else o.out) for o in r.counterexample] == \
        [(WRITE, "a"), (WRITE, "b"), (READ, "a")], r.report()
    assert "not linearizable" in r.report()


def test_checker_allows_either_value_to_a_read_concurrent_with_a_write():
    assert linearize.check([W("a", 0, 10), W("b", 20, 40), R("a", 25, 35)])
    assert linearize.check([W("a", 0, 10), W("b", 20, 40), R("b", 25, 35)])


def test_checker_rejects_new_then_old_reads_during_one_write():
    # Both reads overlap the write, but the second starts after the first
    # ended: once b was seen, a cannot come back.
    h = [W("a", 0, 10), W("b", 20, 100), R("b", 30, 40), R("a", 50, 60)]
    assert not linearize.check(h)


def test_checker_rejects_a_value_nobody_wrote_and_a_lost_write():
    assert not linearize.check([W("a", 0, 10), R("z", 20, 30)])
    # An acknowledged write, then the key reads as never written.
    assert not linearize.check([W("a", 0, 10), R(None, 20, 30)])


def test_checker_unknown_outcomes_may_or_may_not_have_happened():
    # A write that timed out and was later seen took effect...
    assert linearize.check([W("a", 0, 10), W("b", 20, None), R("b", 100, 110)])
    # ...one never seen need not have...
    assert linearize.check([W("a", 0, 10), W("b", 20, None), R("a", 100, 110)])
    # ...but it cannot take effect before it was sent.
    assert not linearize.check([W("a", 0, 10), R("b", 12, 15), W("b", 20, None)])
    # Nor can it come back after being overwritten by a later acknowledged write.
    assert not linearize.check([W("b", 0, None), W("c", 20, 30), R("b", 40, 50), R("c", 60, 70)])


def test_checker_does_not_drop_an_unknown_write_a_blind_refusal_depends_on():
    # The CAS from a is refused without saying what it saw; only the
    # unknown write of u explains it.
    h = [W("a", 0, 1), W("u", 2, None), C("a", "b", 3, 4, False)]
    assert linearize.check(h)
    assert not linearize.check([W("a", 0, 1), C("a", "b", 3, 4, False)])


def test_checker_compare_and_swap():
    # Two CASes from the same value cannot both succeed one after the other.
    assert not linearize.check([W("a", 0, 1), C("a", "b", 2, 3, True), C("a", "c", 4, 5, True)])
    # Concurrent, one succeeds and one is refused: fine.
    assert linearize.check([W("a", 0, 1), C("a", "b", 2, 10, True), C("a", "c", 3, 9, False, seen="b")])
    # A refusal that saw the value it expected is a lie.
    assert not linearize.check([W("a", 0, 1), C("a", "b", 2, 3, False, seen="a")])
    # A refusal reporting an old value.
    assert not linearize.check([W("a", 0, 1), W("b", 2, 3), C("z", "c", 4, 5, False, seen="a")])
    # A refusal on a missing key (etcd's 404) sees None.
    assert linearize.check([C("a", "b", 0, 1, False, seen=None), W("a", 2, 3)])


def test_checker_keys_are_independent_and_the_failing_key_is_named():
    h = [W("a", 0, 10, key="k1"), W("a", 0, 10, key="k2"), W("b", 20, 30, key="k2"),
         R("a", 40, 50, key="k1"), R("a", 40, 50, key="k2")]
    r = linearize.check(h)
    assert not r and r.key == "k2", r.report()


def _brute_force(ops):
    """Linearizable by trying every order of every subset that contains all
    operations whose outcome is known (unknown reads are dropped)."""
    ops = [o for o in ops if not (o.kind == READ and o.ret is None)]
    known = [o for o in ops if o.known]
    unknown = [o for o in ops if not o.known]
    for k in range(len(unknown) + 1):
        for extra in itertools.combinations(unknown, k):
            chosen = known + list(extra)
            for perm in itertools.permutations(chosen):
                ok, state = True, None
                for i, o in enumerate(perm):
                    # Real time: nothing later in the order may have
                    # completed before o was invoked.
                    if any(p.ret is not None and p.ret < o.call for p in perm[i + 1:]):
                        ok = False
                        break
                    ok, state = linearize.step(state, o)
                    if not ok:
                        break
                if ok:
                    return True
    return False


def _random_history(rng, n):
    vals = ["a", "b", "c"]
    ops = []
    for _ in range(n):
        call = rng.randint(0, 40)
        ret = call + rng.randint(1, 15) if rng.random() > 0.2 else None
        kind = rng.choice([READ, WRITE, CAS])
        if kind == READ:
            ops.append(Op("x", READ, call, ret, out=rng.choice(vals + [None])))
        elif kind == WRITE:
            ops.append(Op("x", WRITE, call, ret, value=rng.choice(vals)))
        else:
            ok = rng.random() < 0.5
            seen = UNSEEN if ok or rng.random() < 0.5 else rng.choice(vals + [None])
            ops.append(Op("x", CAS, call, ret, value=rng.choice(vals), expect=rng.choice(vals),
                          out=ok, seen=seen))
    return ops


def test_checker_agrees_with_brute_force_on_small_random_histories():
    rng = random.Random(20240601)
    verdicts = {True: 0, False: 0}
    for _ in range(1500):
        h = _random_history(rng, rng.randint(1, 6))
        want = _brute_force(h)
        r = linearize.check(h)
        assert bool(r) == want, "checker says %s, brute force %s:\n%s" % (
            bool(r), want, "\n".join(o.describe(0, 1) for o in h))
        if not r:
            # The counterexample is itself a failing history.
            assert not _brute_force(r.counterexample), r.report()
        verdicts[want] += 1
    assert verdicts[True] > 100 and verdicts[False] > 100, verdicts


# -- the cluster ---------------------------------------------------------------------

@pytest.fixture
def kv(tmp_path):
    yield from kvcluster.clusters(tmp_path)


def acknowledged(ops, via, since, until):
    """Operations sent to members in `via` between the two instants that
    were acknowledged: a read that answered, a write or CAS that succeeded."""
    names = {m.name for m in via}
    return [op for op in ops if op.via in names and since <= op.call and op.ret is not None
            and op.ret <= until and (op.kind == READ or op.out or op.kind == WRITE)]


def new_leader_after_kill(c, old, old_id, limit):
    """Seconds from now (the kill) until a survivor says it is leader with
    another id, polling every few ms; None if not within limit."""
    t0 = time.monotonic()
    survivors = [m for m in c.members if m is not old and m.running]
    while time.monotonic() - t0 < limit:
        for m in survivors:
            s = c.stats(m, timeout=0.2)
            if s and s.get("state") == "StateLeader" and s.get("id") != old_id:
                return time.monotonic() - t0
        time.sleep(0.01)
    return None


def kill_leader_and_time(c):
    old = c.wait_leader()
    old_id = c.stats(old)["id"]
    c.kill(old)
    elapsed = new_leader_after_kill(c, old, old_id, 10.0)
    bound = 2 * c.election / 1000.0
    assert elapsed is not None, "no new leader 10 s after kill -9 of leader %s\n%s" % (old, c.logs())
    kvcluster.measured("%s: kill -9 of leader %s -> a new leader in %.3f s"
                              % (c.kind, old, elapsed))
    assert elapsed <= bound + POLL_SLACK, (
        "a new leader came %.3f s after kill -9 of the leader, over 2 x the election timeout "
        "(%.1f s, + %.2f s for polling)\n%s" % (elapsed, bound, POLL_SLACK, c.logs()))
    return old


# -- the scenarios ---------------------------------------------------------------------

@needs_root
def test_kill9_leader_then_a_follower_and_restart_them(kv):
    c = kv(3)
    c.wait_leader()
    w = kvcluster.Workload(c, workers=4)
    w.start()
    try:
        time.sleep(2)
        old = kill_leader_and_time(c)
        time.sleep(1.5)
        c.start_member(old)             # the same data directory
        time.sleep(2)
        leader = c.wait_leader()
        follower = next(m for m in c.members if m is not leader)
        c.kill(follower)
        time.sleep(1.5)
        c.start_member(follower)
        time.sleep(2.5)
    finally:
        w.stop()
    kvcluster.settle(c, w)


@needs_root
def test_kill9_leader_elections_are_quick(kv):
    """Three more kills of the leader, for the timing alone."""
    c = kv(3)
    for _ in range(3):
        old = kill_leader_and_time(c)
        c.start_member(old)
        c.wait_leader()
        time.sleep(0.5)


@needs_root
def test_sigstop_a_follower_then_the_leader(kv):
    c = kv(3)
    leader = c.wait_leader()
    w = kvcluster.Workload(c, workers=4)
    w.start()
    try:
        time.sleep(1.5)
        follower = next(m for m in c.members if m is not leader)
        c.pause(follower)
        time.sleep(3)
        c.resume(follower)
        time.sleep(2)
        leader = c.wait_leader()
        leader_id = c.stats(leader)["id"]
        c.pause(leader)
        # Paused past the election timeout: the others elect someone else.
        others = [m for m in c.members if m is not leader]
        c.wait_leader(timeout=10, among=others, exclude_id=leader_id)
        time.sleep(1.5)
        c.resume(leader)                # it comes back believing it leads
        time.sleep(3)
    finally:
        c.heal()
        w.stop()
    kvcluster.settle(c, w)


@needs_root
def test_a_deposed_leader_gives_no_stale_quorum_read(kv):
    """The leader is paused and cut off; the others elect a new one and a
    write is acknowledged there. Resumed, still cut off, the old leader
    believes it leads until its check-quorum timeout: a quorum read asked of
    it now must not return the value the write replaced (ReadIndex waits
    for a majority to confirm, which never comes); it fails or times out."""
    c = kv(3)
    leader = c.wait_leader()
    leader_id = c.stats(leader)["id"]
    w = kvcluster.Workload(c, workers=0)
    first = w.write(leader, "stale", "old")
    assert first.known, "the first write was not acknowledged"
    c.pause(leader)
    c.isolate(leader)
    others = [m for m in c.members if m is not leader]
    new = c.wait_leader(timeout=10, among=others, exclude_id=leader_id)
    second = w.write(new, "stale", "new")
    assert second.known, "the write on the new leader was not acknowledged"
    c.resume(leader)
    answers = []
    try:
        end = time.monotonic() + 2.5
        while time.monotonic() < end:
            r = w.read(leader, "stale")
            if r.known:
                answers.append(r.out)
    finally:
        c.heal()
    stale = answers.count("old")
    assert not stale, "the deposed leader answered %d of %d quorum reads with the replaced value" % (
        stale, len(answers))
    c.note("quorum reads answered by the deposed leader while cut off: %r" % answers)


def _partition(c, isolated, hold=5.0):
    """Isolate `isolated` for `hold` s under load from clients on every
    member plus one client on the majority side only; check the majority
    went on and the minority acknowledged nothing."""
    majority = [m for m in c.members if m not in isolated]
    w = kvcluster.Workload(c, workers=3)
    steady = kvcluster.Workload(c, workers=1, members=majority, prefix="s")
    w.start()
    steady.start()
    try:
        time.sleep(1.5)
        old = c.wait_leader()
        old_id = c.stats(old)["id"]
        t0 = time.monotonic_ns()
        c.isolate(*isolated)
        time.sleep(hold)
        # The majority has a leader; if the old one was cut off, a new one.
        lead = c.wait_leader(timeout=10, among=majority,
                             exclude_id=old_id if old in isolated else None)
        t1 = time.monotonic_ns()
        c.heal()
        time.sleep(3)
    finally:
        c.heal()
        w.stop()
        steady.stop()
    ops = kvcluster.settle(c, w, extra=[steady])
    went_on = acknowledged(ops, majority, t0 + int(2 * c.election * 1e6), t1)
    assert went_on, "the majority acknowledged nothing while %s was cut off" % (isolated,)
    # Nothing sent to the minority after the cut can be acknowledged
    # before the cut heals: a write needs a majority. A heartbeat of grace
    # for what a leader had sent just before; reads get an election
    # timeout, the longest a leader's lease may last (thesis 6.4.1).
    wrong = [op for op in acknowledged(ops, isolated, t0 + int(c.heartbeat * 1e6), t1)
             if op.kind != READ or op.call > t0 + int(c.election * 1e6)]
    assert not wrong, "isolated members acknowledged:\n" + "\n".join(op.describe(t0) for op in wrong)
    return lead


@needs_root
def test_partition_a_minority_of_five(kv):
    c = kv(5)
    leader = c.wait_leader()
    followers = [m for m in c.members if m is not leader]
    _partition(c, followers[:2])


@needs_root
def test_partition_the_leader_of_five(kv):
    c = kv(5)
    leader = c.wait_leader()
    new = _partition(c, [leader])
    assert new is not leader


@needs_root
def test_flapping_link(kv):
    # tc's netem is not in this kernel (no modules), so the link flaps by
    # going down and up on a timer: 0.1-0.6 s each way, for 8 s.
    c = kv(3)
    leader = c.wait_leader()
    w = kvcluster.Workload(c, workers=4)
    w.start()
    rng = random.Random()
    flaps = 0
    try:
        time.sleep(1.5)
        end = time.monotonic() + 8
        while time.monotonic() < end:
            c.isolate(leader)
            time.sleep(rng.uniform(0.1, 0.6))
            c.connect(leader)
            time.sleep(rng.uniform(0.1, 0.6))
            flaps += 1
        time.sleep(3)
    finally:
        c.heal()
        w.stop()
    assert flaps >= 6
    kvcluster.settle(c, w)


@needs_root
def test_restart_everyone_at_once(kv):
    c = kv(3)
    c.wait_leader()
    w = kvcluster.Workload(c, workers=4)
    w.start()
    try:
        time.sleep(2.5)
        for m in c.members:
            m.proc.kill()
        for m in c.members:
            c.kill(m)
        time.sleep(0.5)
        for m in c.members:
            c.start_member(m)
        t = time.monotonic()
        c.wait_leader(timeout=20)
        kvcluster.measured("%s: a leader %.2f s after restarting all members at once"
                                  % (c.kind, time.monotonic() - t))
        time.sleep(3)
    finally:
        w.stop()
    kvcluster.settle(c, w)


FULL_DISK_MIB = 72      # etcd preallocates a 64 MiB WAL segment: less and it cannot start
BALLAST = 256 << 10     # bytes per ballast write (pith-kv's values go up to 1 MiB)


class Ballast:
    """Two threads writing big values to fresh keys through `via`, to push
    the log past what a full member could still hold (etcd writes into its
    preallocated WAL segment until the segment is used up)."""

    def __init__(self, c, via):
        self.c, self.via = c, via
        self.sent = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(t,), daemon=True) for t in range(2)]

    def start(self):
        for t in self._threads:
            t.start()

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=20)

    def _run(self, t):
        big = "b" * BALLAST
        i = 0
        while not self._stop.is_set():
            r = self.c.http(self.via[i % len(self.via)], "PUT", "/v2/keys/ballast/%d-%d" % (t, i),
                            {"value": big}, timeout=10)
            i += 1
            if r.status in (200, 201):
                with self._lock:
                    self.sent += BALLAST
            else:
                time.sleep(0.1)


@needs_root
def test_a_member_with_a_full_disk(kv):
    c = kv(3, full_disk_member=2, full_disk_mib=FULL_DISK_MIB)
    full = c.members[2]
    others = c.members[:2]
    c.wait_leader()
    w = kvcluster.Workload(c, workers=3)
    steady = kvcluster.Workload(c, workers=1, members=others, prefix="s")
    w.start()
    steady.start()
    ballast = Ballast(c, others)
    try:
        time.sleep(2)
        c.fill_disk(full)
        assert c.disk_free(full) == 0
        t_full = time.monotonic_ns()
        # Ballast through the other members until the full one refuses a
        # write (or dies): more than its whole disk leaves it no room to
        # have kept what it acknowledges.
        ballast.start()
        stopped, n = None, 0
        while ballast.sent < (FULL_DISK_MIB + 16) << 20:
            n += 1
            probe = w.write(full, "k0", "probe-%d" % n, "probe")
            w._record(probe)
            if not probe.known:
                stopped = time.monotonic_ns()
                break
            time.sleep(0.2)
        ballast.stop()
        assert stopped is not None, (
            "%s, whose disk is full, still acknowledges writes after %d MiB more were written "
            "(its disk is %d MiB)\n%s" % (full, ballast.sent >> 20, FULL_DISK_MIB, c.logs()))
        c.note("%s stopped acknowledging after %d KiB of ballast (alive: %s)"
               % (full, ballast.sent >> 10, full.running))
        kvcluster.measured("%s: the full member stopped acknowledging writes %.2f s after the fill, after %d KiB "
                 "of ballast; its process %s" % (c.kind, (stopped - t_full) / 1e9, ballast.sent >> 10,
                                                 "still ran" if full.running else "had exited"))
        time.sleep(2)
        t_heal = time.monotonic_ns()
        c.free_disk(full, grow_mib=128)
        if not full.running:
            c.start_member(full)        # the same data directory
        time.sleep(3)
    finally:
        ballast.stop()
        w.stop()
        steady.stop()
    ops = kvcluster.settle(c, w, extra=[steady])
    went_on = acknowledged([op for op in ops if op.kind == WRITE], others, stopped, t_heal)
    assert went_on, "the two members with disk space acknowledged no write once the third was full"
    late = [op for op in ops if op.via == full.name and op.kind != READ and op.known
            and op.call > stopped and op.ret < t_heal]
    assert not late, "%s acknowledged writes with its disk full:\n%s" % (
        full, "\n".join(op.describe(t_full) for op in late))
