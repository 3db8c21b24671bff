"""A linearizability checker for histories of registers, one register per
key: Wing and Gong's search with Lowe's memoisation, as Porcupine does it
(github.com/anishathalye/porcupine, checker.go), written here so that the
cluster tier needs nothing outside Debian's python3.

A history is a list of Op. Each has an invocation time and a completion
time (any monotonic clock; time.monotonic_ns() in the tests) and a result.
An operation whose outcome is unknown (a timeout, a connection that broke,
an error that does not say the request was refused) has ret=None: it may
have taken effect at any instant after its invocation, or never. A read
whose outcome is unknown tells nothing and is dropped.

The model, per key (the initial state is None, "no such key"):

    read            legal iff state == out
    write v         state := v
    cas e -> v, ok  legal iff state == e; state := v
    cas e -> v, !ok legal iff state != e, and state == seen if the refusal
                    said what it saw (etcd's "[e != seen]" cause)
    cas, unknown    state := v if state == e

check() partitions the history by key (P-compositionality: a history of
independent registers is linearizable iff each key's is), searches each
key's history, and for a key that cannot be linearized returns a minimal
history that still cannot: the shortest prefix in time that fails, with
every operation that is not needed to make it fail taken out or weakened
(see _minimise). Every step of that minimisation only weakens the history,
so the counterexample shown is itself a proof that the whole history is not
linearizable.
"""

import time

READ, WRITE, CAS = "read", "write", "cas"
UNSEEN = object()   # a refused CAS that did not say what it saw
INF = float("inf")


class Op:
    """One client operation. `out` is the value read (read), True/False
    (cas); `seen` is what a refused CAS reported (or UNSEEN). `ret` None
    means the outcome is unknown. `client` and `via` are only shown."""

    __slots__ = ("key", "kind", "value", "expect", "call", "ret", "out", "seen", "client", "via", "n")

    def __init__(self, key, kind, call, ret, value=None, expect=None, out=None, seen=UNSEEN,
                 client="", via=""):
        assert kind in (READ, WRITE, CAS)
        self.key, self.kind, self.value, self.expect = key, kind, value, expect
        self.call, self.ret, self.out, self.seen = call, ret, out, seen
        self.client, self.via = client, via
        self.n = 0

    @property
    def known(self):
        return self.ret is not None

    def weakened(self):
        """The same operation with its outcome unknown."""
        return Op(self.key, self.kind, self.call, None, self.value, self.expect, None, UNSEEN,
                  self.client, self.via)

    def describe(self, t0=0, scale=1e6):
        def t(x):
            return "      inf" if x is None else "%9.1f" % ((x - t0) / scale)
        if self.kind == READ:
            what = "read  %s" % self.key
            res = "-> %r" % (self.out,) if self.known else "-> ?"
        elif self.kind == WRITE:
            what = "write %s = %r" % (self.key, self.value)
            res = "-> ok" if self.known else "-> ? (outcome unknown)"
        else:
            what = "cas   %s %r -> %r" % (self.key, self.expect, self.value)
            if not self.known:
                res = "-> ? (outcome unknown)"
            elif self.out:
                res = "-> ok"
            elif self.seen is UNSEEN:
                res = "-> refused"
            else:
                res = "-> refused, saw %r" % (self.seen,)
        via = " (%s via %s)" % (self.client, self.via) if self.client or self.via else ""
        return "[%s, %s] %s %s%s" % (t(self.call), t(self.ret), what, res, via)


def step(state, op):
    """(legal, next state) for op applied to state."""
    k = op.kind
    if k == READ:
        return state == op.out, state
    if k == WRITE:
        return True, op.value
    if op.ret is None:
        return True, (op.value if state == op.expect else state)
    if op.out:
        return state == op.expect, op.value
    if state == op.expect:
        return False, state
    return (op.seen is UNSEEN or state == op.seen), state


class Result:
    def __init__(self, ok, key=None, counterexample=None, partial=None, note="", elapsed=0.0,
                 t0=0):
        self.ok, self.key, self.counterexample = ok, key, counterexample or []
        self.partial, self.note, self.elapsed, self.t0 = partial or [], note, elapsed, t0

    def __bool__(self):
        return self.ok

    def report(self):
        if self.ok:
            return "linearizable (%.2f s)" % self.elapsed
        lines = ["key %r: not linearizable. %s" % (self.key, self.note),
                 "A smallest failing history (times in ms; [invoked, completed]):"]
        lines += ["  " + op.describe(self.t0) for op in self.counterexample]
        if self.partial:
            lines.append("The longest order the search found for it, after which nothing fits:")
            lines += ["  %2d. %s" % (i + 1, op.describe(self.t0)) for i, op in enumerate(self.partial)]
        return "\n".join(lines)


class CheckTimeout(Exception):
    pass


def _simplify(ops):
    """The history the search needs: unknown reads dropped, and unknown
    writes (or CASes) whose value nothing observed dropped when no refused
    CAS without a seen value is present.

    Why the second drop changes nothing: such an operation U can always be
    moved to the end of a linearization. Between U and the next write, a
    read or a CAS (success or a refusal that reports the value) would have
    observed U's value, which nothing did; a refusal that reports nothing
    could depend on U having replaced the previous value, hence the
    condition. And a linearization without U extends to one with U by
    putting U last (its completion is at infinity)."""
    ops = [op for op in ops if not (op.kind == READ and op.ret is None)]
    if any(op.kind == CAS and op.ret is not None and not op.out and op.seen is UNSEEN for op in ops):
        return ops
    observed = set()
    for op in ops:
        if op.ret is None:
            continue
        if op.kind == READ:
            observed.add(op.out)
        elif op.kind == CAS:
            observed.add(op.expect)
            if not op.out:
                observed.add(op.seen)
    return [op for op in ops if op.ret is not None or op.kind == READ or op.value in observed]


def _search(ops, init=None, deadline=None):
    """Wing-Gong-Lowe over one key's history. Returns (True, None) or
    (False, longest partial linearization as a list of ops)."""
    n = len(ops)
    if n == 0:
        return True, None
    # Events: (time, 0 = call / 1 = return, op index); at equal times calls
    # sort first, so touching operations count as concurrent.
    events = []
    for i, op in enumerate(ops):
        events.append((op.call, 0, i))
        events.append((INF if op.ret is None else op.ret, 1, i))
    events.sort(key=lambda e: (e[0], e[1]))
    m = len(events)
    # A doubly linked list over events; node m is the head sentinel, -1 the end.
    head = m
    nxt = list(range(1, m)) + [-1, 0]
    prv = [head] + list(range(0, m - 1)) + [-1]
    kind = [e[1] for e in events] + [None]
    opi = [e[2] for e in events] + [None]
    match = [0] * m
    ret_pos = {}
    for pos, e in enumerate(events):
        if e[1] == 1:
            ret_pos[e[2]] = pos
    for pos, e in enumerate(events):
        if e[1] == 0:
            match[pos] = ret_pos[e[2]]

    def lift(c):
        nxt[prv[c]] = nxt[c]
        if nxt[c] != -1:
            prv[nxt[c]] = prv[c]
        r = match[c]
        nxt[prv[r]] = nxt[r]
        if nxt[r] != -1:
            prv[nxt[r]] = prv[r]

    def unlift(c):
        r = match[c]
        nxt[prv[r]] = r
        if nxt[r] != -1:
            prv[nxt[r]] = r
        nxt[prv[c]] = c
        if nxt[c] != -1:
            prv[nxt[c]] = c

    cache = set()
    calls = []          # (call node, state before it)
    linearized = 0
    state = init
    best = []
    entry = nxt[head]
    steps = 0
    while nxt[head] != -1:
        steps += 1
        if deadline is not None and steps & 0xfff == 0 and time.monotonic() > deadline:
            raise CheckTimeout()
        if kind[entry] == 0:
            i = opi[entry]
            legal, new = step(state, ops[i])
            if legal:
                lin = linearized | (1 << i)
                key = (lin, new)
                if key not in cache:
                    cache.add(key)
                    calls.append((entry, state))
                    state, linearized = new, lin
                    lift(entry)
                    entry = nxt[head]
                    continue
            entry = nxt[entry]
        else:
            if len(calls) > len(best):
                best = [ops[opi[c]] for c, _ in calls]
            if not calls:
                return False, best
            entry, state = calls.pop()
            linearized &= ~(1 << opi[entry])
            unlift(entry)
            entry = nxt[entry]
    return True, None


def _linearizable(ops, deadline):
    return _search(_simplify(ops), None, deadline)[0]


def _truncate(ops, t):
    """What was known at time t: operations invoked by then, those still
    running given an unknown outcome."""
    out = []
    for op in ops:
        if op.call > t:
            continue
        out.append(op if op.ret is not None and op.ret <= t else op.weakened())
    return out


def _minimise(ops, deadline):
    """The shortest failing prefix in time, then greedily: observations
    (reads, refused CASes) removed and acknowledged writes made unknown
    while the history still fails. Each step weakens the history, so what
    is left still proves the original is not linearizable."""
    times = sorted({op.ret for op in ops if op.ret is not None})
    lo, hi = 0, len(times) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if _linearizable(_truncate(ops, times[mid]), deadline):
            lo = mid + 1
        else:
            hi = mid
    cur = _simplify(_truncate(ops, times[lo]))
    changed = True
    while changed and time.monotonic() < deadline:
        changed = False
        for weaken in (False, True):
            tried = set()
            while time.monotonic() < deadline:
                cand = [op for op in cur if op.known and id(op) not in tried
                        and weaken != (op.kind == READ or (op.kind == CAS and not op.out))]
                if not cand:
                    break
                op = cand[-1]
                tried.add(id(op))
                trial = [o for o in cur if o is not op] + ([op.weakened()] if weaken else [])
                if not _linearizable(trial, deadline):
                    cur = _simplify(trial)
                    changed = True
    return sorted(cur, key=lambda o: o.call)


def check(ops, timeout=120.0, t0=None):
    """Check a whole history. Returns a Result (truthy when linearizable);
    raises CheckTimeout if the search takes longer than `timeout` seconds."""
    start = time.monotonic()
    deadline = start + timeout
    if t0 is None:
        t0 = min((op.call for op in ops), default=0)
    by_key = {}
    for op in ops:
        by_key.setdefault(op.key, []).append(op)
    for key in sorted(by_key, key=str):
        hist = _simplify(by_key[key])
        try:
            ok, _ = _search(hist, None, deadline)
        except CheckTimeout:
            raise CheckTimeout("the search gave up after %.0f s on key %r (%d operations, %d of "
                               "them with an unknown outcome)" % (timeout, key, len(hist),
                                                                  sum(not o.known for o in hist)))
        if not ok:
            # Lowe's search can take long on a failing history; the minimum
            # gets the rest of the time budget, at least 30 s.
            small = _minimise(hist, max(deadline, time.monotonic() + 30))
            _, partial = _search(small, None, None)
            return Result(False, key, small, partial,
                          note="%d operations on this key; %d of them are enough to show it."
                          % (len(hist), len(small)),
                          elapsed=time.monotonic() - start, t0=t0)
    return Result(True, elapsed=time.monotonic() - start, t0=t0)
