"""Differential test of the unit-file parser against systemd 252.

Every case is one small unit file. systemd's verdict comes from
`systemd-analyze verify` (exit status: error; a report naming the file or
unit: warning; else clean) and the values it loaded from the dump that
verify prints at debug level. Pith's come from `pith check --dump`. Cases
where Pith differs on purpose are listed in DEVIATIONS with the sentence
docs/units.md gives them in "Where Pith differs from systemd"."""

import concurrent.futures
import json
import os
import re
import shutil
import subprocess

import pytest

import conftest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PITH = os.environ.get("PITH_BIN", os.path.join(ROOT, "build", "bin", "pith"))
ANALYZE = shutil.which("systemd-analyze")
DOC = os.path.join(ROOT, "docs", "units.md")

EXEC_KINDS = ("ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop",
              "ExecStopPost")
DEP_KINDS = ("Requires", "Wants", "BindsTo", "PartOf", "Requisite", "Conflicts", "After", "Before")
SCALARS = ("Description", "Type", "Restart", "KillMode", "RemainAfterExit", "NotifyAccess")
LISTS = ("Documentation", "Environment")

S = "[Service]\n"
T = "ExecStart=/bin/true\n"

# (id, file name, text). Each is written to a directory of its own.
CASES = [
    # -- an absolute Exec path that is not normalised
    ("exec-path-slashes", "t.service", S + "ExecStart=/bin///echo hi\n"),
    ("exec-path-dot", "t.service", S + "ExecStart=/bin/./echo hi\n"),
    ("exec-path-dotdot", "t.service", S + "ExecStart=/usr/../bin/echo hi\n"),
    ("exec-path-trailing-slash", "t.service", S + "ExecStart=/bin/echo/ hi\n"),
    ("exec-path-relative-with-slash", "t.service", S + "ExecStart=bin/echo hi\n"),
    ("exec-path-bare-name", "t.service", S + "ExecStart=echo hi\n"),
    ("exec-path-dot-name", "t.service", S + "ExecStart=. hi\n"),
    ("exec-path-dotdot-name", "t.service", S + "ExecStart=.. hi\n"),
    ("exec-path-trailing-dot", "t.service", S + "ExecStart=/bin/echo/. hi\n"),
    ("exec-path-quoted-prefix", "t.service", S + "ExecStartPre=\"-/bin/echo\" hi\n" + T),
    ("exec-path-quote-char", "t.service", S + "ExecStartPre=-/bin/e\\\"cho\n" + T),
    # -- prefixes
    ("exec-prefix-ignore", "t.service", S + "ExecStart=-/bin/echo hi\n"),
    ("exec-prefix-all", "t.service", S + "ExecStart=-@:+/bin/echo zero one\n"),
    ("exec-prefix-bang-bang", "t.service", S + "ExecStart=!!/bin/echo hi\n"),
    ("exec-prefix-plus-bang", "t.service", S + "ExecStartPre=+!/bin/echo hi\n" + T),
    ("exec-prefix-dash-twice", "t.service", S + "ExecStartPre=--/bin/echo hi\n" + T),
    ("exec-prefix-dash-at-dash", "t.service", S + "ExecStartPre=-@-/bin/echo hi\n" + T),
    ("exec-prefix-at-twice", "t.service", S + "ExecStartPre=@@/bin/echo hi\n" + T),
    ("exec-prefix-dash-alone", "t.service", S + "ExecStartPre=-\n" + T),
    ("exec-prefix-at-alone", "t.service", S + "ExecStartPre=@\n" + T),
    ("exec-prefix-dash-space", "t.service", S + "ExecStartPre=- /bin/echo hi\n" + T),
    ("exec-prefix-at-space", "t.service", S + "ExecStartPre=@ /bin/echo hi\n" + T),
    ("exec-prefix-at-no-argv0", "t.service", S + "ExecStartPre=@/bin/echo\n" + T),
    ("exec-prefix-dash-at-no-argv0", "t.service", S + "ExecStartPre=-@/bin/echo\n" + T),
    ("exec-prefix-dash-relative", "t.service", S + "ExecStartPre=-bin/echo\n" + T),
    ("exec-only-bad-line", "t.service", S + "ExecStart=--/bin/echo hi\n"),
    ("exec-unknown-specifier", "t.service", S + "ExecStartPre=/bin/echo %z\n" + T),
    ("exec-unknown-specifier-ignored", "t.service", S + "ExecStartPre=-/bin/echo %z\n" + T),
    ("exec-unknown-specifier-path", "t.service", S + "ExecStartPre=-/bin/%z\n" + T),
    ("exec-specifier-space", "s@a\\x20b.service", S + "ExecStart=/bin/echo %I x%Iy\n"),
    ("exec-specifier-quote", "s@a\\x22b.service", S + "ExecStart=/bin/echo %I\n"),
    ("exec-specifier-percent-path", "t.service", S + "ExecStart=/bin/echo %%n\n"),
    ("exec-specifier-name", "t.service", S + "ExecStart=/bin/echo %n %N %p %% %i\n"),
    ("exec-trailing-percent", "t.service", S + "ExecStartPre=-/bin/echo 50%\n" + T),
    # -- separators
    ("exec-two-commands", "t.service", S + "Type=oneshot\nExecStart=/bin/echo a ; /bin/echo b\n"),
    ("exec-double-separator", "t.service", S + "Type=oneshot\nExecStart=/bin/echo a ; ; /bin/echo b\n"),
    ("exec-trailing-separator", "t.service", S + "Type=oneshot\nExecStart=/bin/echo a ;\n"),
    ("exec-leading-separator", "t.service", S + "Type=oneshot\nExecStart=; /bin/echo a\n"),
    ("exec-only-separators", "t.service", S + "Type=oneshot\nRemainAfterExit=yes\nExecStart=; ;\n"),
    ("exec-separator-after-bad", "t.service", S + "Type=oneshot\nExecStart=/bin/echo a ; -b/c ; /bin/echo d\n"),
    ("exec-escaped-separator", "t.service", S + "ExecStart=/bin/echo a \\; b\n"),
    ("exec-glued-separator", "t.service", S + "ExecStart=/bin/echo a; b\n"),
    # -- escapes and quoting
    ("exec-path-escape-n", "t.service", S + "ExecStartPre=/bin/ec\\nho\n" + T),
    ("exec-path-escape-t", "t.service", S + "ExecStartPre=/bin/ec\\tho\n" + T),
    ("exec-path-escape-x", "t.service", S + "ExecStart=/bin/\\x65cho hi\n"),
    ("exec-path-escape-unknown", "t.service", S + "ExecStartPre=/bin/ec\\qho\n" + T),
    ("exec-arg-escape-unknown", "t.service", S + "ExecStart=/bin/echo a\\qb\n"),
    ("exec-arg-escape-n", "t.service", S + "ExecStart=/bin/echo a\\nb\n"),
    ("exec-arg-escape-s", "t.service", S + "ExecStart=/bin/echo a\\sb\n"),
    ("exec-arg-escape-octal", "t.service", S + "ExecStart=/bin/echo \\101\\x42\n"),
    ("exec-arg-escape-nul", "t.service", S + "ExecStartPre=/bin/echo \\x00\n" + T),
    ("exec-arg-trailing-backslash", "t.service", S + "ExecStartPre=/bin/echo a\\\n" + T),
    ("exec-quotes", "t.service", S + "ExecStart=/bin/echo \"a b\" 'c d' e\"f g\"h \"\"\n"),
    ("exec-unterminated-quote", "t.service", S + "ExecStartPre=/bin/echo \"a b\n" + T),
    ("exec-unterminated-quote-ignored", "t.service", S + "ExecStartPre=-/bin/echo \"a b\n" + T),
    ("exec-dollar", "t.service", S + "ExecStart=/bin/echo $A ${B} $$C\n"),
    ("exec-empty-resets", "t.service", S + "ExecStart=/bin/false\nExecStart=\nExecStart=/bin/true\n"),
    # -- Environment=
    ("env-bad-word", "t.service", S + "Environment=A=1 bad B=2\n" + T),
    ("env-bad-name", "t.service", S + "Environment=1A=x A-B=y =z C=ok\n" + T),
    ("env-duplicate", "t.service", S + "Environment=A=1 B=2\nEnvironment=A=3\n" + T),
    ("env-duplicate-one-line", "t.service", S + "Environment=A=1 B=2 A=3\n" + T),
    ("env-quoted", "t.service", S + "Environment=\"A=x y\" 'B=z' C=a\\tb\n" + T),
    ("env-bad-escape", "t.service", S + "Environment=A=x\\qy B=2\n" + T),
    ("env-unterminated-quote", "t.service", S + "Environment=A=1 \"B=2\n" + T),
    ("env-empty-value", "t.service", S + "Environment=A= B=\n" + T),
    ("env-reset", "t.service", S + "Environment=A=1\nEnvironment=\nEnvironment=B=2\n" + T),
    # -- enumerations and other values
    ("type-bogus", "t.service", S + "Type=bogus\n" + T),
    ("type-bogus-keeps-earlier", "t.service", S + "Type=forking\nType=bogus\n" + T),
    ("restart-bogus", "t.service", S + "Restart=sometimes\n" + T),
    ("killmode-bogus", "t.service", S + "KillMode=all\n" + T),
    ("notifyaccess-bogus", "t.service", S + "NotifyAccess=some\n" + T),
    ("remainafterexit-bogus", "t.service", S + "RemainAfterExit=maybe\n" + T),
    ("killsignal-bogus", "t.service", S + "KillSignal=SIGFOO\n" + T),
    ("timeout-bogus", "t.service", S + "TimeoutStartSec=soon\n" + T),
    ("restartsec-bogus", "t.service", S + "RestartSec=5 parsecs\n" + T),
    ("memorymax-bogus", "t.service", S + "MemoryMax=lots\n" + T),
    ("cpuweight-bogus", "t.service", S + "CPUWeight=0\n" + T),
    ("umask-bogus", "t.service", S + "UMask=0999\n" + T),
    ("limitnofile-bogus", "t.service", S + "LimitNOFILE=many\n" + T),
    ("stdout-bogus", "t.service", S + "StandardOutput=paper\n" + T),
    ("stdout-relative-file", "t.service", S + "StandardOutput=file:log.txt\n" + T),
    ("successexit-bogus", "t.service", S + "SuccessExitStatus=NOPE\n" + T),
    ("startlimitburst-bogus", "t.service", "[Unit]\nStartLimitBurst=x\n" + S + T),
    ("defaultdeps-bogus", "t.service", "[Unit]\nDefaultDependencies=maybe\n" + S + T),
    ("user-bogus", "t.service", S + "User=no body!\n" + T),
    ("workdir-relative", "t.service", S + "WorkingDirectory=srv\n" + T),
    ("workdir-relative-missing-ok", "t.service", S + "WorkingDirectory=-srv\n" + T),
    ("envfile-relative", "t.service", S + "EnvironmentFile=env\n" + T),
    ("pidfile-relative", "t.service", S + "Type=forking\nPIDFile=t.pid\n" + T),
    ("condition-relative", "t.service", "[Unit]\nConditionPathExists=etc/x\n" + S + T),
    ("empty-type", "t.service", S + "Type=\n" + T),
    ("empty-restart", "t.service", S + "Restart=\n" + T),
    # -- Documentation=
    ("doc-not-url", "t.service", "[Unit]\nDocumentation=notaurl https://example.org/x\n" + S + T),
    ("doc-schemes", "t.service", "[Unit]\nDocumentation=man:true(1) info:coreutils file:/usr/share/doc "
                                 "http://example.org\n" + S + T),
    ("doc-reset", "t.service", "[Unit]\nDocumentation=man:a(1)\nDocumentation=\n"
                               "Documentation=man:b(1)\n" + S + T),
    ("doc-bad-url-prefix", "t.service", "[Unit]\nDocumentation=man: http:\n" + S + T),
    # -- X- keys and unknown things
    ("x-key-in-service", "t.service", S + "X-Custom=1\n" + T),
    ("x-key-in-unit", "t.service", "[Unit]\nX-Custom=1\n" + S + T),
    ("x-section", "t.service", S + T + "[X-Mine]\nAnything=goes %z\n"),
    ("unknown-key", "t.service", S + "Frobnicate=1\n" + T),
    ("unknown-section", "t.service", S + T + "[Frob]\nA=1\n"),
    ("foreign-section", "t.service", S + T + "[Socket]\nListenStream=80\n"),
    ("key-outside-section", "t.service", "Description=x\n" + S + T),
    # -- file syntax
    ("syntax-missing-equals", "t.service", S + "ExecStart /bin/true\n" + T),
    ("syntax-bad-header", "t.service", "[Service\n" + T),
    ("syntax-empty-header", "t.service", "[]\n" + S + T),
    ("syntax-continuation", "t.service", S + "ExecStart=/bin/echo a \\\n  b \\\n# comment\n  c\n"),
    ("syntax-continuation-eof", "t.service", "[Unit]\nDescription=a \\"),
    ("syntax-comments", "t.service", "# c\n; c\n[Unit]\n  # c\nDescription=a # not a comment\n" + S + T),
    ("syntax-crlf", "t.service", "[Unit]\r\nDescription=crlf\r\n[Service]\r\nExecStart=/bin/true\r\n"),
    ("syntax-bom", "t.service", "\ufeff[Unit]\nDescription=bom\n" + S + T),
    ("syntax-spaces", "t.service", "[Unit]\n  Description  =   spaced out   \n" + S + T),
    ("syntax-key-case", "t.service", "[Unit]\ndescription=lower\n" + S + T),
    ("syntax-section-twice", "t.service", S + "Environment=A=1\n[Unit]\nDescription=x\n" + S
     + "Environment=B=2\n" + T),
    ("syntax-nul", "t.service", S + "Environment=A=\x001\n" + T),
    ("syntax-long-line", "t.service", S + "Environment=A=" + "x" * 70000 + "\n" + T),
    # -- specifiers outside Exec
    ("spec-description", "t.service", "[Unit]\nDescription=%n %N %p %P %j %f [%i] [%I] %%\n" + S + T),
    ("spec-unknown-description", "t.service", "[Unit]\nDescription=a %z b\n" + S + T),
    ("spec-trailing-percent", "t.service", "[Unit]\nDescription=100%\n" + S + T),
    ("spec-in-deps", "t.service", "[Unit]\nWants=%N-helper.service\n" + S + T),
    ("spec-unknown-deps", "t.service", "[Unit]\nWants=%z.service\n" + S + T),
    ("spec-unknown-env", "t.service", S + "Environment=A=%z\n" + T),
    ("spec-literal-type", "t.service", S + "Type=%n\n" + T),
    # -- templates and instances
    ("instance-escaped", "foo@a\\x2db.service", "[Unit]\nDescription=%n|%N|%p|%i|%I|%f|%j\n"
                                                "Wants=bar@%i.service\n" + S + "ExecStart=/bin/echo %i %I\n"),
    ("instance-dashes", "mnt@dev-vdb.service", "[Unit]\nDescription=%i|%I|%f|%P\n" + S + T),
    ("instance-prefix-dash", "a-b-c@x.service", "[Unit]\nDescription=%p|%P|%j|%J\n" + S + T),
    ("non-instance-i", "plain.service", "[Unit]\nDescription=[%i][%I]\n" + S + T),
    # -- dependencies
    ("deps-bad-name", "t.service", "[Unit]\nWants=ok.service bad!name other.target\n" + S + T),
    ("deps-quoted", "t.service", "[Unit]\nAfter=\"a.service b.service\" c.service\n" + S + T),
    ("deps-reset", "t.service", "[Unit]\nWants=a.service\nWants=\nWants=b.service\n" + S + T),
    ("deps-template-name", "t.service", "[Unit]\nWants=foo@.service\n" + S + T),
    ("deps-unterminated-quote", "t.service", "[Unit]\nWants=a.service \"b.service\n" + S + T),
    ("install-bad-wantedby", "t.service", S + T + "[Install]\nWantedBy=multi-user.target nope\n"),
    ("install-alias-other-type", "t.service", S + T + "[Install]\nAlias=other.target\n"),
    # -- whole-unit checks
    ("no-execstart", "t.service", S + "Type=simple\n"),
    ("no-execstart-oneshot", "t.service", S + "Type=oneshot\nRemainAfterExit=yes\n"),
    ("only-execstop", "t.service", S + "Type=oneshot\nExecStop=/bin/true\n"),
    ("two-execstart-simple", "t.service", S + "ExecStart=/bin/true\nExecStart=/bin/true\n"),
    ("two-execstart-oneshot", "t.service", S + "Type=oneshot\nExecStart=/bin/true\nExecStart=/bin/true\n"),
    ("oneshot-restart-always", "t.service", S + "Type=oneshot\nRestart=always\n" + T),
    ("empty-file", "t.service", ""),
    ("target", "t.target", "[Unit]\nDescription=a target\nWants=x.service\n"),
]

# Cases where Pith differs on purpose, with the sentence docs/units.md has.
DEPS_RESET = ("An empty assignment of a dependency option (`Wants=` and the other seven) "
              "forgets the names assigned before it; systemd 252 ignores it and keeps them.")
INSTALL_CHECK = ("Pith checks the names in `[Install]` when it loads a unit and warns about an "
                 "invalid one; systemd reads `[Install]` only when the unit is enabled.")
USER_NAME = ("A `User=` or `Group=` that is not a valid name is ignored with a warning; "
             "systemd 252 takes it and fails when the service starts.")
DEVIATIONS = {
    "deps-reset": DEPS_RESET,
    "install-bad-wantedby": INSTALL_CHECK,
    "install-alias-other-type": INSTALL_CHECK,
    "user-bogus": USER_NAME,
}


NEED_QUOTES = set("\"\\`$*?['()<>|&;! \t\n\r")
C_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
             "\t": "\\t", "\v": "\\v"}


def quote_word(w):
    """A word as systemd's dump quotes it in a command line."""
    if w and not any(c in NEED_QUOTES or ord(c) < 32 or ord(c) == 127 for c in w):
        return w
    out = []
    for c in w:
        if c in "\"\\`$":
            out.append("\\" + c)
        elif c in C_ESCAPES:
            out.append(C_ESCAPES[c])
        elif ord(c) < 32 or ord(c) == 127:
            out.append("\\%03o" % ord(c))
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def pith_check(path):
    r = subprocess.run([PITH, "check", "--dump", path], capture_output=True, text=True, timeout=60)
    warnings = [l for l in r.stderr.splitlines() if ": warning: " in l
                and "which is not among the units checked" not in l]
    if r.returncode != 0:
        verdict = "error"
    elif "masked; not checked" in r.stderr:
        verdict = "masked"
    else:
        verdict = "warning" if warnings else "clean"
    vals = {}
    if r.stdout.strip():
        vals = json.loads(r.stdout).get("loaded", {})
        for k in EXEC_KINDS:
            if k in vals:
                vals[k] = [" ".join(quote_word(w) for w in argv) for argv in vals[k]]
    return verdict, vals, r.stderr


def sd_verify(path, debug):
    env = dict(os.environ, SYSTEMD_LOG_LEVEL="debug" if debug else "info", SYSTEMD_LOG_COLOR="0",
               SYSTEMD_PAGER="", LANG="C")
    return subprocess.run([ANALYZE, "verify", "--man=no", "--generators=no", path],
                          capture_output=True, text=True, timeout=120, env=env)


def sd_dump(out, name):
    """The values in verify's debug dump of unit name."""
    head = "-> Unit %s:\n" % name
    i = out.find(head)
    if i < 0:
        return {}
    block = out[i + len(head):]
    j = block.find("\n\t-> Unit ")
    block = block[:j] if j >= 0 else block
    vals = {}
    kind = None
    for line in block.split("\n"):
        depth = len(line) - len(line.lstrip("\t"))
        text = line[depth:]
        if depth <= 2:
            kind = None
        if depth == 2 and text.startswith("-> ") and text.endswith(":"):
            kind = text[3:-1]
            continue
        key, sep, value = text.partition(": ")
        if not sep:
            key, value = text.rstrip(":"), ""
        if kind in EXEC_KINDS and depth == 3 and key == "Command Line":
            vals.setdefault(kind, []).append(value)
        elif depth == 2 and key in SCALARS:
            vals[key] = value
        elif depth == 2 and key in LISTS:
            vals.setdefault(key, []).append(value)
        elif depth == 2 and key in DEP_KINDS:
            m = re.match(r"(\S+) \((.*)\)$", value)
            # The slice is systemd's own addition.
            if m and "origin-file" in m.group(2).split() and not m.group(1).endswith(".slice"):
                vals.setdefault(key, []).append(m.group(1))
    return vals


def systemd_side(path, name):
    r = sd_verify(path, False)
    mine = [l for l in r.stderr.splitlines() if path in l or l.startswith(name + ":")
            or ("Unit %s " % name) in l]
    if "Unit %s is masked." % name in r.stderr:
        verdict = "masked"
    elif r.returncode != 0:
        verdict = "error"
    else:
        verdict = "warning" if mine else "clean"
    vals = {}
    if verdict not in ("error", "masked"):
        vals = sd_dump(sd_verify(path, True).stdout, name)
    return verdict, vals, "\n".join(mine)


def comparable(vals, service):
    """The values both sides show: every key for a service, the [Unit] ones
    for other units. Dependencies are sets (systemd keeps them hashed)."""
    keys = ("Description", "Documentation") + DEP_KINDS
    if service:
        keys += SCALARS + LISTS + EXEC_KINDS
    out = {}
    for k in keys:
        v = vals.get(k, "" if k in SCALARS else [])
        out[k] = sorted(v) if k in DEP_KINDS else v
    return out


def run_case(case, base):
    cid, name, text = case
    d = os.path.join(base, cid)
    os.mkdir(d)
    path = os.path.join(d, name)
    with open(path, "w", newline="") as f:
        f.write(text)
    sv, svals, smsg = systemd_side(path, name)
    pv, pvals, pmsg = pith_check(path)
    service = name.endswith(".service")
    diffs = []
    if sv != pv:
        diffs.append("verdict: systemd %s, Pith %s" % (sv, pv))
    if sv == pv and sv not in ("error", "masked"):
        a, b = comparable(svals, service), comparable(pvals, service)
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                diffs.append("%s: systemd %r, Pith %r" % (k, a.get(k), b.get(k)))
    return cid, diffs, smsg, pmsg


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    if not ANALYZE:
        pytest.skip("systemd-analyze is not installed")
    base = str(tmp_path_factory.mktemp("unitdiff"))
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        res = {r[0]: r for r in pool.map(lambda c: run_case(c, base), CASES)}
    agree = sum(1 for cid, (_, d, _, _) in res.items() if not d and cid not in DEVIATIONS)
    dev = sum(1 for cid in res if cid in DEVIATIONS)
    differ = sum(1 for cid, (_, d, _, _) in res.items() if d and cid not in DEVIATIONS)
    conftest.FIGURES.append("unit files against systemd 252: %d cases, %d agree, %d documented "
                            "deviations, %d differ" % (len(res), agree, dev, differ))
    return res


def test_case_ids_are_unique():
    assert len({c[0] for c in CASES}) == len(CASES)
    assert set(DEVIATIONS) <= {c[0] for c in CASES}


@pytest.mark.parametrize("cid", [c[0] for c in CASES])
def test_pith_reads_the_file_as_systemd_does(results, cid):
    _, diffs, smsg, pmsg = results[cid]
    if cid in DEVIATIONS:
        assert diffs, "%s is listed as a deviation but Pith agrees with systemd now" % cid
        return
    assert not diffs, "\n".join(diffs + ["systemd said:", smsg, "Pith said:", pmsg])


def test_every_deviation_is_documented():
    with open(DOC) as f:
        doc = " ".join(f.read().split())
    for cid, sentence in DEVIATIONS.items():
        assert " ".join(sentence.split()) in doc, "docs/units.md does not say: " + sentence
