# Differential tests of the SQL engine against DuckDB (issue 3, "Correctness"): the
# same seeded tables go to a real `vigil serve` (line protocol over HTTP, duplicates
# as later upserts) and to an in-memory DuckDB (the already-merged rows), then every
# query of diff_queries.generate() runs on both and the answers must be identical
# (floats to 1e-9 relative). A failure prints both queries and both results from the
# first differing row. Run one query with `-k 'agg-012'`; the list with
# `python3 tests/differential/diff_queries.py`.
import json
import os
import time
from urllib.parse import urlencode

import pytest

import diff_compare as dc
import diff_data as dd
import diff_queries as dq
from duckclient import Duck, DuckError

DB = "diff"
CASES = dq.generate()


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", CASES, ids=[c.id for c in CASES])


class DuckSide:
    def __init__(self, tmpdir):
        self.duck = Duck()
        self.cache = {}
        # C-MAPSS: each engine's last cycle at this second, one cycle per second back
        self.sensors_now = time.time_ns() // dd.NS * dd.NS
        self.tables = dd.all_tables() + [dd.sensors(self.sensors_now)]
        for t in self.tables:
            path = os.path.join(tmpdir, t.name + ".jsonl")
            t.jsonl(path)
            self.duck.query(t.duck_load_sql(path))

    def expected(self, case, now_ns=None):
        sql = case.duck
        if now_ns is not None:
            sql = sql.replace("{NOW}", "make_timestamp_ns(%d)" % now_ns)
        elif sql in self.cache:
            return self.cache[sql]
        res = self.duck.query(sql)
        names = list(case.names) if case.names else res.columns
        exp = dc.Expected(names, res.kinds, res.rows)
        if now_ns is None:
            self.cache[sql] = exp
        return exp


@pytest.fixture(scope="module")
def duck(tmp_path_factory):
    d = DuckSide(str(tmp_path_factory.mktemp("duck")))
    yield d
    d.duck.close()


@pytest.fixture(scope="module")
def vigil(shared_server, duck):
    """shared_server (one per binary) with the differential tables written to it."""
    for t in duck.tables:
        for i, lines in enumerate(t.requests):
            r = shared_server.write(DB, "\n".join(lines) + "\n", precision="ns")
            assert r.status == 204, "writing %s request %d failed: %r" % (t.name, i, r)
    return shared_server


class VigilDied(Exception):
    """The server exited while answering; carries the tail of its stderr."""


def _restart(server):
    """Starts the server again on the same data dir: WAL replay brings the tables
    back, so the queries after a crash still run (the crash itself stays reported, by
    the query that caused it and by the teardown's sanitizer check)."""
    server.kill()
    server.start()


def vigil_query(server, sql, method):
    if server.proc is None or server.proc.poll() is not None:
        _restart(server)
    try:
        if method == "GET":
            return server.request("GET", "/api/v3/query_sql?" + urlencode(
                {"db": DB, "q": sql, "format": "json"}))
        return server.post_json("/api/v3/query_sql", {"db": DB, "q": sql, "format": "json"})
    except (ConnectionError, OSError):
        time.sleep(0.3)
        if server.proc.poll() is None:
            raise
        tail = server.stderr_text()[-4000:]
        _restart(server)
        raise VigilDied(tail)


def _report(case, exp_desc, problems, got_body):
    lines = ["", "query %s (%s)%s" % (case.id, case.method, " - " + case.note if case.note else ""),
             "  vigil : " + case.vigil]
    if case.duck != case.vigil:
        lines.append("  duckdb: " + case.duck)
    lines.append("compared " + ("in order" if case.ordered else "as multisets") + exp_desc)
    lines += problems
    if got_body is not None:
        lines.append("vigil's body (first 600 bytes): " + got_body[:600])
    return "\n".join(lines)


def test_query(case, vigil, duck):
    try:
        exp = duck.expected(case) if not case.now else None
    except DuckError as e:
        pytest.fail("DuckDB rejected the translated query (a harness bug, not Vigil's):\n"
                    "  vigil : %s\n  duckdb: %s\n  error : %s" % (case.vigil, case.duck, e))
    t0 = time.time_ns()
    try:
        r = vigil_query(vigil, case.vigil, case.method)
    except VigilDied as e:
        pytest.fail(_report(case, "", ["vigil died on this query (restarted for the next "
                                       "ones); the end of its stderr:", str(e)], None),
                    pytrace=False)
    t1 = time.time_ns()
    body = r.body.decode("utf-8", "replace")
    if r.status == 405 and case.probe:
        pytest.xfail("%s (outside issue 3): vigil answered 405: %s" % (case.note, body[:200]))
    if r.status != 200:
        pytest.fail(_report(case, "", ["vigil answered %d, DuckDB answered %s" % (
            r.status, "%d rows" % len(exp.rows) if exp else "rows")], body), pytrace=False)
    try:
        got = json.loads(body)
    except ValueError as e:
        pytest.fail(_report(case, "", ["vigil's body is not JSON: %s" % e], body), pytrace=False)
    kw = dict(ordered=case.ordered, star=case.star, sorted_by=case.sorted_by)
    if case.now:
        # now() in Vigil is some instant in [t0, t1]: accept DuckDB's answer at either end
        attempts = []
        for ns in (t0, t1):
            exp = duck.expected(case, now_ns=ns)
            problems = dc.compare(exp, got, **kw)
            if problems is None:
                return
            attempts.append((ns, problems))
        ns, problems = attempts[0]
        pytest.fail(_report(case, " (now() = %s in DuckDB, also tried %s)" % (
            dc.render_ts(t0), dc.render_ts(t1)), problems, None), pytrace=False)
    problems = dc.compare(exp, got, **kw)
    if problems:
        pytest.fail(_report(case, "", problems, None), pytrace=False)


# ---------------------------------------------------------------- Vigil-only checks
# The deliberate differences from DuckDB (README.md) asserted against Vigil alone.

def _q(server, sql):
    return vigil_query(server, sql, "POST")


def _rows(server, sql):
    r = _q(server, sql)
    assert r.status == 200, "%s\n-> %r" % (sql, r)
    return json.loads(r.body)


def test_timestamp_rendering(vigil, duck):
    """Core's rendering: no zone, fraction only when non-zero, in 3, 6 or 9 digits."""
    ticks = next(t for t in duck.tables if t.name == "ticks")
    got = _rows(vigil, "SELECT time FROM ticks ORDER BY time")
    want = [{"time": dc.render_ts(ns)} for ns in sorted(r["time"] for r in ticks.rows)]
    assert got == want
    got = _rows(vigil, "SELECT time FROM readings WHERE code = 1 ORDER BY time, site, device")
    readings = next(t for t in duck.tables if t.name == "readings")
    want = [{"time": dc.render_ts(ns)} for ns in sorted(r["time"] for r in readings.rows
                                                         if r.get("code") == 1)]
    assert got == want


def test_integer_division_by_zero_is_an_error(vigil):
    for sql in ["SELECT cnt / 0 AS v FROM readings", "SELECT cnt % 0 AS v FROM readings",
                "SELECT 1 / 0 AS v"]:
        r = _q(vigil, sql)
        assert r.status != 200 and "Divide by zero" in r.text, "%s -> %r" % (sql, r)


def test_integer_overflow_is_an_error(vigil):
    for sql in ["SELECT big * 1000000 AS v FROM readings",
                "SELECT 9223372036854775807 + 1 AS v",
                "SELECT -(-9223372036854775807 - 1) AS v"]:
        r = _q(vigil, sql)
        assert r.status != 200 and "Arithmetic overflow" in r.text, "%s -> %r" % (sql, r)


def test_float_division_by_zero_is_ieee(vigil):
    r = _q(vigil, "SELECT temp / 0.0 AS v FROM readings WHERE temp > 0 LIMIT 1")
    assert r.status == 200, r


def test_month_intervals_are_rejected(vigil):
    """400 or 405 (not implemented), with a message that names the month unit."""
    for sql in ["SELECT time + INTERVAL '1 month' AS t FROM readings LIMIT 1",
                "SELECT date_bin(INTERVAL '1 year', time) AS t FROM readings LIMIT 1"]:
        r = _q(vigil, sql)
        assert r.status in (400, 405) and ("month" in r.text or "year" in r.text), (
            "%s -> %r" % (sql, r))


def test_default_null_order(vigil):
    asc = _rows(vigil, "SELECT hum FROM readings ORDER BY hum LIMIT 100000")
    desc = _rows(vigil, "SELECT hum FROM readings ORDER BY hum DESC LIMIT 100000")
    assert "hum" not in asc[-1] and "hum" in asc[0], "ASC: NULLS LAST"
    assert "hum" not in desc[0] and "hum" in desc[-1], "DESC: NULLS FIRST"
