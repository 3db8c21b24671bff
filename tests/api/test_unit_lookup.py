"""Looking up units that do not exist: a read-only client can ask PID 1
about any name (the control port passes GET /v1/units/<name> on with a
read-only credential), so a lookup must leave nothing behind. Before, each
unknown name became an entry in the unit table for good, and
MANAGER_UNITS_MAX of them filled it: an operator's new unit file was then
accepted and never loaded."""

import os
import re

import pytest

from unitlib import ROOT, Init, UnixHTTPConnection, make_root, remove_root, unit


def units_max():
    """MANAGER_UNITS_MAX, read from the header so the test follows it."""
    with open(os.path.join(ROOT, "init", "manager.h")) as f:
        return int(re.search(r"#define MANAGER_UNITS_MAX (\d+)", f.read()).group(1))


@pytest.fixture
def init():
    d = make_root()
    i = Init(d)
    yield i
    i.cleanup()
    remove_root(d)


def unit_names(i):
    r = i.get("/v1/units")
    assert r.status == 200, r
    return {u["name"] for u in r.json()["units"]}


def get_many(i, paths):
    """GET each path on one kept-alive connection: {status: count}."""
    seen = {}
    c = UnixHTTPConnection(i.sock)
    try:
        for p in paths:
            c.request("GET", p)
            r = c.getresponse()
            r.read()
            seen[r.status] = seen.get(r.status, 0) + 1
    finally:
        c.close()
    return seen


def test_get_of_unknown_units_fills_nothing_and_a_new_unit_still_loads(init):
    init.start()
    before = unit_names(init)
    n = units_max()
    seen = get_many(init, ("/v1/units/nothing-%d.service" % k for k in range(n)))
    text = unit("""
        [Service]
        ExecStart=/bin/sleep 1000
        """)
    r = init.request("PUT", "/v1/units/late.service/file", text)
    assert r.status == 201, r
    assert init.unit("late.service")["load_state"] == "loaded"
    init.start_unit("late.service")
    assert init.unit("late.service")["active_state"] == "active"
    assert seen == {404: n}, seen
    assert unit_names(init) == before | {"late.service"}
    metrics = init.get("/v1/metrics").body.decode()
    assert re.search(r"^pith_units %d$" % (len(before) + 1), metrics, re.M), metrics


def test_every_route_of_an_unknown_unit_answers_as_before_and_keeps_nothing(init):
    init.start()
    before = unit_names(init)
    name = "ghost.service"
    r = init.get("/v1/units/" + name)
    assert r.status == 404 and r.json()["error"] == "Unit ghost.service could not be found.", r
    r = init.get("/v1/units/%s/file" % name)
    assert r.status == 404 and r.json()["error"] == "No files found for ghost.service.", r
    for verb in ("enable", "disable"):
        r = init.post("/v1/units/%s/%s" % (name, verb))
        assert r.status == 404 and r.json()["error"] == "Unit ghost.service does not exist.", r
    r = init.post("/v1/units/%s/stop" % name)
    assert r.status == 200 and r.json() == {"unit": name, "job": "stop", "result": "done"}, r
    r = init.post("/v1/units/%s/stop?no_block=1" % name)
    assert r.status == 202 and r.json() == {"unit": name, "job": "stop", "result": "queued"}, r
    for verb in ("start", "restart", "reload", "try-restart", "frobnicate"):
        r = init.post("/v1/units/%s/%s" % (name, verb))
        assert r.status == 404 and r.json()["error"] == "Unit ghost.service not found.", (verb, r)
    assert init.request("PUT", "/v1/units/" + name).status == 405
    assert init.get("/v1/units/%s/start" % name).status == 405
    assert init.request("DELETE", "/v1/units/%s/file" % name).status == 404
    assert unit_names(init) == before


def test_a_unit_named_by_a_dependency_is_kept_and_dropped_once_nothing_names_it(init):
    init.write_unit("a.service", unit("""
        [Unit]
        Wants=missing.service
        [Service]
        ExecStart=/bin/sleep 1000
        """))
    init.start()
    init.unit("a.service")
    assert "missing.service" in unit_names(init)
    assert init.get("/v1/units/missing.service").status == 404
    r = init.request("PUT", "/v1/units/a.service/file", unit("""
        [Service]
        ExecStart=/bin/sleep 1000
        """))
    assert r.status == 200, r
    assert "missing.service" not in unit_names(init)
    assert init.get("/v1/units/missing.service").status == 404


def test_a_deleted_unit_file_leaves_no_entry_once_stopped(init):
    init.start()
    text = unit("""
        [Service]
        ExecStart=/bin/sleep 1000
        """)
    assert init.request("PUT", "/v1/units/gone.service/file", text).status == 201
    init.start_unit("gone.service")
    init.stop_unit("gone.service")
    assert init.request("DELETE", "/v1/units/gone.service/file").status == 200
    assert "gone.service" not in unit_names(init)
    assert init.get("/v1/units/gone.service").status == 404
