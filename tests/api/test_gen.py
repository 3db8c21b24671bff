"""`pith gen` on the operator's machine: the directories it writes keys into
and the files it will not write through."""

import os
import stat
import subprocess

from unitlib import PITH


def run_gen(d, *args):
    return subprocess.run([PITH, "gen", "--dir", d] + list(args), capture_output=True, text=True,
                          timeout=30)


def test_a_new_directory_is_private_and_a_private_one_is_used(tmp_path):
    d = str(tmp_path / "creds")
    r = run_gen(d, "ca")
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(d, "ca.key")).st_mode) == 0o600
    # A directory others may only read is fine.
    os.chmod(d, 0o755)
    r = run_gen(d, "node", "node1")
    assert r.returncode == 0, r.stderr
    assert os.path.exists(os.path.join(d, "nodes", "node1.key"))


def test_a_directory_others_may_write_to_is_refused_and_nothing_is_written(tmp_path):
    for mode in (0o777, 0o770, 0o1777):
        d = str(tmp_path / ("open%o" % mode))
        os.mkdir(d)
        os.chmod(d, mode)
        for args in (["ca"], ["token", "--name", "x"]):
            r = run_gen(d, *args)
            assert r.returncode == 100, (mode, args, r.stderr)
            assert "group or others may write to it" in r.stderr and d in r.stderr, r.stderr
            assert os.listdir(d) == [], (mode, args)
            assert not r.stdout    # no token printed that nobody will accept


def test_a_subdirectory_others_may_write_to_is_refused(tmp_path):
    d = str(tmp_path / "creds")
    assert run_gen(d, "ca").returncode == 0
    os.mkdir(os.path.join(d, "clients"))
    os.chmod(os.path.join(d, "clients"), 0o777)
    r = run_gen(d, "client", "alice")
    assert r.returncode == 100, r.stderr
    assert "clients" in r.stderr and "may write to it" in r.stderr, r.stderr
    assert os.listdir(os.path.join(d, "clients")) == []


def test_a_link_planted_where_a_key_is_written_is_not_followed(tmp_path):
    d = str(tmp_path / "creds")
    assert run_gen(d, "ca").returncode == 0
    os.mkdir(os.path.join(d, "nodes"), 0o700)
    victim = str(tmp_path / "victim")
    with open(victim, "w") as f:
        f.write("untouched\n")
    tmp = os.path.join(d, "nodes", "node1.key.tmp")
    os.symlink(victim, tmp)
    r = run_gen(d, "node", "node1")
    assert r.returncode == 100, r.stderr
    assert "node1.key.tmp is in the way" in r.stderr, r.stderr
    with open(victim) as f:
        assert f.read() == "untouched\n"
    assert os.path.islink(tmp)
    assert not os.path.exists(os.path.join(d, "nodes", "node1.key"))
    # A dangling link too: it is not created through.
    os.unlink(tmp)
    os.symlink(str(tmp_path / "made"), tmp)
    assert run_gen(d, "node", "node1").returncode == 100
    assert not os.path.exists(str(tmp_path / "made"))
    # Removed, the run goes through.
    os.unlink(tmp)
    r = run_gen(d, "node", "node1")
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(tmp)


def test_a_link_planted_as_the_tokens_file_is_not_appended_to(tmp_path):
    d = str(tmp_path / "creds")
    os.mkdir(d, 0o700)
    victim = str(tmp_path / "victim")
    with open(victim, "w") as f:
        f.write("untouched\n")
    os.symlink(victim, os.path.join(d, "tokens"))
    r = run_gen(d, "token")
    assert r.returncode == 100, r.stderr
    assert "symbolic link" in r.stderr, r.stderr
    assert not r.stdout
    with open(victim) as f:
        assert f.read() == "untouched\n"
