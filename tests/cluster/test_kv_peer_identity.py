"""Who may speak on pith-kv's peer port, tried by a client that speaks the
peer protocol itself (services/kv/peer_msg.h) over TLS with certificates
made by `pith gen`, from inside a member's network namespace.

- A member added with POST /v2/members and not started yet has no name, so
  its certificate's CN was not checked: a read-only client certificate from
  the cluster CA, or another node's certificate, could greet the leader as
  that member and propose anything (a write, another member's rename). Both
  are refused now (the certificate must be a node's, and name the address
  of the member's peer URL): the connection is closed, the store and the
  member table are as they were, and JOIN tells them nothing. The real
  member then joins as before.
- A real member proposes only what a follower forwards for its own clients:
  its own write goes through; another member's name and client URLs, or a
  write on another member's behalf, close its connection and change nothing.

pith-kv only: etcd speaks another peer protocol.
"""

import http.client
import os
import socket
import ssl
import struct
import subprocess
import time

import pytest

import kvcluster
from test_kv_membership import add, initial_cluster, log_of, put, table, wait_for

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")
pytestmark = pytest.mark.skipif(kvcluster.impl()[0] != "pith", reason="pith-kv's peer protocol")

CLOSE_WAIT = 10.0       # s: a refused peer connection is closed within this

# peer_msg.h's frame types, cmd.h's command kinds and store.h's operations.
HELLO, PROPOSE, JOIN, JOINED = 1, 3, 4, 5
CMD_STORE, CMD_ATTR = 1, 3
STORE_SET, F_VALUE = 0, 16


@pytest.fixture
def kv(tmp_path):
    yield from kvcluster.clusters(tmp_path)


# -- the peer protocol, as much of it as the attacks need ------------------------------

def frame(kind, body):
    return struct.pack(">IB", len(body) + 1, kind) + body


def string(b):
    return struct.pack(">I", len(b)) + b


def cstring(s):
    return string(s.encode() + b"\0")


def hello(cluster_id, sender, to):
    return frame(HELLO, struct.pack(">IQQQ", 1, cluster_id, sender, to))


def propose(cmd):
    return frame(PROPOSE, string(cmd))


def join(urls):
    return frame(JOIN, struct.pack(">I", 1) + cstring(urls))


def cmd_set(origin, seq, path, value):
    """KV_CMD_STORE: set path to value (cmd.c's encoding)."""
    v = value.encode()
    return (struct.pack(">BBQQ", 1, CMD_STORE, origin, seq) +
            struct.pack(">BBBQQQ", STORE_SET, F_VALUE, 0, 0, time.time_ns(), 0) +
            cstring(path) + string(v) + string(b"\0"))


def cmd_attr(origin, seq, member, name, client_urls):
    """KV_CMD_ATTR: member's name and client URLs."""
    return struct.pack(">BBQQQ", 1, CMD_ATTR, origin, seq, member) + cstring(name) + cstring(client_urls)


def peer_dial(c, via, target, cert):
    """A TLS connection from via's namespace to target's peer port, showing
    cert (DIR/.../NAME, without .crt/.key) and trusting the cluster CA."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(c.certs, "ca.crt"))
    ctx.load_cert_chain(cert + ".crt", cert + ".key")
    with kvcluster.in_netns(via.nsfd):
        sock = socket.create_connection((target.addr, kvcluster.PEER_PORT), timeout=CLOSE_WAIT)
    return ctx.wrap_socket(sock, server_hostname=target.addr)


def read_to_close(s):
    """What the other end sent until it closed the connection, or None if
    it kept it open for CLOSE_WAIT seconds."""
    got = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return got
            got += b
    except socket.timeout:
        return None
    except (ssl.SSLError, OSError):
        return got
    finally:
        s.close()


def say(s, data):
    """Send data; the other end may have closed already (that is an answer too)."""
    try:
        s.sendall(data)
    except (ssl.SSLError, OSError):
        pass


def cluster_id(c, m):
    conn = kvcluster._NsConnection(m.nsfd, "127.0.0.1", kvcluster.CLIENT_PORT, 4.0)
    try:
        conn.request("GET", "/v2/members")
        r = conn.getresponse()
        r.read()
        return int(r.getheader("X-Etcd-Cluster-Id"), 16)
    finally:
        conn.close()


def member_id(c, m):
    return int(c.stats(m, timeout=4.0)["id"], 16)


def gen(c, *args):
    subprocess.run([kvcluster.PITH, "gen"] + list(args) + ["--dir", c.certs], check=True, capture_output=True)


def absent(c, members, key):
    """key is not in the store: a write through the cluster first, so the
    log is read up to after anything the test sent; then a quorum read."""
    put(c, members, "barrier", str(time.time_ns()))
    for m in members:
        r = c.http(m, "GET", "/v2/keys/" + key + "?quorum=true")
        assert r.status == 404 and r.code == 100, "%s on %s: %r\n%s" % (key, m, r, c.logs())


# -- the scenarios ---------------------------------------------------------------------

@needs_root
def test_no_certificate_but_the_added_members_own_speaks_for_it(kv):
    c = kv(3)
    first = list(c.members)
    c.wait_leader()
    put(c, first, "before", "1")
    new = c.new_member()
    nid = int(add(c, first, new)[0], 16)
    c.n = 4                             # three of four started: still a quorum
    leader = c.wait_leader()
    lid, cid = member_id(c, leader), cluster_id(c, leader)
    before = table(c, leader)
    victim = next(m for m in first if m is not leader)
    vid = int(before[victim.name][0], 16)

    gen(c, "client", "mallory", "--role", "read-only")
    gen(c, "node", "n9", "--ip", "10.77.%d.99" % c.k)
    impostors = {"a read-only client certificate": os.path.join(c.certs, "clients", "mallory"),
                 "another node's certificate": os.path.join(c.certs, "nodes", "n9")}
    for what, cert in impostors.items():
        # HELLO as the added member, then a write and another member's rename.
        s = peer_dial(c, new, leader, cert)
        say(s, hello(cid, nid, lid) + propose(cmd_set(nid, 1 << 40, "/stolen", what)) +
            propose(cmd_attr(nid, (1 << 40) + 1, vid, "mallory", "http://10.77.%d.99:2379" % c.k)))
        got = read_to_close(s)
        assert got is not None, "the leader kept the connection of %s greeting as %x open\n%s" % (
            what, nid, log_of(leader)[-3000:])
        # JOIN with the added member's URL: no member table for it.
        s = peer_dial(c, new, leader, cert)
        say(s, join(new.peer_url()))
        got = read_to_close(s)
        assert got is not None, "the leader kept the JOIN of %s open" % what
        ok = len(got) > 5 and got[4] == JOINED and got[5] == 1
        assert not ok, "%s was told the member table on JOIN as %s" % (what, new.peer_url())

    log = log_of(leader)
    assert 'the certificate of "mallory" is a client\'s, not a node\'s' in log, log[-3000:]
    assert 'the certificate of "n9" does not name the peer address of member %x' % nid in log, log[-3000:]
    assert 'asks to join: the certificate of "n9" does not name the address of %s' % new.peer_url() in log, \
        log[-3000:]
    absent(c, first, "stolen")
    for m in first:
        assert table(c, m) == before, "GET /v2/members on %s: %s, was %s" % (m, table(c, m), before)

    # The member itself still joins, and is named.
    c.start_member(new, initial_cluster=initial_cluster(first + [new]), state="existing")
    wait_for("%s to be listed by name" % new,
             lambda: table(c, leader).get(new.name, (None,))[0] == "%x" % nid, 30, c)
    put(c, [new], "after", "1")


@needs_root
def test_a_member_proposes_only_for_itself(kv):
    c = kv(3)
    c.wait_leader()
    put(c, c.members, "before", "1")
    leader = c.wait_leader()
    lid, cid = member_id(c, leader), cluster_id(c, leader)
    before = table(c, leader)
    speaker, other = [m for m in c.members if m is not leader]
    sid, oid = int(before[speaker.name][0], 16), int(before[other.name][0], 16)
    cert = os.path.join(c.certs, "nodes", speaker.name)

    # Its own write goes through (the framing is right); then another
    # member's name and client URLs close the connection.
    s = peer_dial(c, speaker, leader, cert)
    say(s, hello(cid, sid, lid) + propose(cmd_set(sid, 1 << 40, "/own", "1")) +
        propose(cmd_attr(sid, (1 << 40) + 1, oid, speaker.name, "http://%s:2379" % speaker.addr)))
    got = read_to_close(s)
    assert got is not None, "the leader kept open the connection of %s after it renamed %s\n%s" % (
        speaker, other, log_of(leader)[-3000:])
    wait_for("%s's own write to be applied" % speaker,
             lambda: c.http(leader, "GET", "/v2/keys/own?quorum=true").status == 200, 15, c)

    # A write on another member's behalf.
    s = peer_dial(c, speaker, leader, cert)
    say(s, hello(cid, sid, lid) + propose(cmd_set(oid, 1 << 40, "/forged", "1")))
    assert read_to_close(s) is not None, "the leader kept open the connection of %s after a forged write" % speaker

    log = log_of(leader)
    assert "peer %x: refused a proposal of another member's name and client URLs" % sid in log, log[-3000:]
    assert "peer %x: refused a proposal of a command on another member's behalf" % sid in log, log[-3000:]
    absent(c, c.members, "forged")
    for m in c.members:
        assert table(c, m) == before, "GET /v2/members on %s: %s, was %s" % (m, table(c, m), before)
    put(c, c.members, "after", "1")
