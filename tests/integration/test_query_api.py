# Integration tests for GET/POST /api/v3/query_sql (docs/http-api.md "Queries") and
# `vigil query` (docs/cli.md): every format with exact bodies, NULLs, time and float
# rendering, params, the Accept header, every error status and body, streaming of a
# large result without buffering it, system.queries, the predictive-maintenance
# queries of the issue, queries during writes, and the memory budget and timeout.
import http.client
import json
import os
import subprocess
import threading
import time
from urllib.parse import urlencode

import pytest

import vigil_harness as vh

# ---- helpers ----


def sql_get(server, db, q, fmt=None, params=None, headers=None):
    args = {}
    if db is not None:
        args["db"] = db
    if q is not None:
        args["q"] = q
    if fmt is not None:
        args["format"] = fmt
    if params is not None:
        args["params"] = json.dumps(params)
    path = "/api/v3/query_sql" + ("?" + urlencode(args) if args else "")
    return server.request("GET", path, headers=headers)


def sql_post(server, body, headers=None):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return server.request("POST", "/api/v3/query_sql", body=data, headers=headers)


def query_json(server, db, q, params=None):
    r = sql_post(server, {"db": db, "q": q, "params": params} if params else {"db": db, "q": q})
    assert r.status == 200, r
    return r.json()


def write_ok(server, db, lines):
    """Writes line protocol (a list of lines or one string, ns timestamps) in requests
    under 8 MB."""
    if isinstance(lines, str):
        lines = lines.split("\n")
    chunk, size = [], 0
    for line in lines:
        chunk.append(line)
        size += len(line) + 1
        if size > 8 << 20:
            r = server.write(db, "\n".join(chunk), precision="ns")
            assert r.status == 204, r
            chunk, size = [], 0
    if chunk:
        r = server.write(db, "\n".join(chunk), precision="ns")
        assert r.status == 204, r


def assert_text(r, status, body):
    assert (r.status, r.text) == (status, body), r
    assert r.header("Content-Type") == "text/plain; charset=utf-8", r


def rss_kb(server):
    with open("/proc/%d/status" % server.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


CPU = "\n".join([
    'cpu,host=a usage=0.9,n=1i,ok=true,msg="hi" 1767806931000000000',
    'cpu,host=b usage=2,n=-3i 1767806931500000000',
    'cpu,host=a ok=false,msg="x,\\"y\\" \xe9" 155',
])
Q = "SELECT host, time, usage, n FROM cpu ORDER BY time"


@pytest.fixture(scope="module")
def cpu_db(shared_server):
    write_ok(shared_server, "querydb", CPU)
    return "querydb"


# ---- formats ----

JSON_BODY = ('[{"host":"a","time":"1970-01-01T00:00:00.000000155"},'
             '{"host":"a","time":"2026-01-07T17:28:51","usage":0.9,"n":1},'
             '{"host":"b","time":"2026-01-07T17:28:51.500","usage":2.0,"n":-3}]')
JSONL_BODY = ('{"host":"a","time":"1970-01-01T00:00:00.000000155"}\n'
              '{"host":"a","time":"2026-01-07T17:28:51","usage":0.9,"n":1}\n'
              '{"host":"b","time":"2026-01-07T17:28:51.500","usage":2.0,"n":-3}\n')
CSV_BODY = ("host,time,usage,n\n"
            "a,1970-01-01T00:00:00.000000155,,\n"
            "a,2026-01-07T17:28:51,0.9,1\n"
            "b,2026-01-07T17:28:51.500,2.0,-3\n")
PRETTY_BODY = ("+------+-------------------------------+-------+----+\n"
               "| host | time                          | usage | n  |\n"
               "+------+-------------------------------+-------+----+\n"
               "| a    | 1970-01-01T00:00:00.000000155 |       |    |\n"
               "| a    | 2026-01-07T17:28:51           | 0.9   | 1  |\n"
               "| b    | 2026-01-07T17:28:51.500       | 2.0   | -3 |\n"
               "+------+-------------------------------+-------+----+\n")

FORMATS = [
    ("json", "application/json", JSON_BODY),
    ("jsonl", "application/jsonl", JSONL_BODY),
    ("json_lines", "application/jsonl", JSONL_BODY),
    ("csv", "text/csv", CSV_BODY),
    ("pretty", "text/plain; charset=utf-8", PRETTY_BODY),
]


@pytest.mark.parametrize("fmt,ctype,body", FORMATS, ids=[f[0] for f in FORMATS])
def test_formats_get_and_post(shared_server, cpu_db, fmt, ctype, body):
    for r in (sql_get(shared_server, cpu_db, Q, fmt),
              sql_post(shared_server, {"db": cpu_db, "q": Q, "format": fmt})):
        assert r.status == 200, r
        assert r.header("Content-Type") == ctype
        assert r.text == body
        assert r.header("Access-Control-Allow-Origin") == "*"
        assert r.header("cluster-uuid")
        # Streamed: no length known up front.
        assert r.header("Transfer-Encoding") == "chunked"


def test_default_format_is_json(shared_server, cpu_db):
    r = sql_get(shared_server, cpu_db, Q)
    assert (r.status, r.header("Content-Type"), r.text) == (200, "application/json", JSON_BODY)


def test_select_star_columns_by_name_and_nulls_omitted(shared_server, cpu_db):
    rows = query_json(shared_server, cpu_db, "SELECT * FROM cpu ORDER BY time")
    assert rows == [
        {"host": "a", "msg": 'x,"y" \u00e9', "ok": False, "time": "1970-01-01T00:00:00.000000155"},
        {"host": "a", "msg": "hi", "n": 1, "ok": True, "time": "2026-01-07T17:28:51",
         "usage": 0.9},
        {"host": "b", "n": -3, "time": "2026-01-07T17:28:51.500", "usage": 2.0},
    ]
    r = sql_get(shared_server, cpu_db, "SELECT * FROM cpu ORDER BY time", "csv")
    assert r.text == ("host,msg,n,ok,time,usage\n"
                      'a,"x,""y"" \u00e9",,false,1970-01-01T00:00:00.000000155,\n'
                      "a,hi,1,true,2026-01-07T17:28:51,0.9\n"
                      "b,,-3,,2026-01-07T17:28:51.500,2.0\n")
    r = sql_get(shared_server, cpu_db, "SELECT * FROM cpu ORDER BY time", "json")
    assert r.body.startswith(b'[{"host":"a","msg":"x,\\"y\\" \xc3\xa9","ok":false,')


def test_empty_results(shared_server, cpu_db):
    q = "SELECT host, usage FROM cpu WHERE host = 'nobody'"
    assert sql_get(shared_server, cpu_db, q, "json").text == "[]"
    assert sql_get(shared_server, cpu_db, q, "jsonl").text == ""
    assert sql_get(shared_server, cpu_db, q, "csv").text == "host,usage\n"
    assert sql_get(shared_server, cpu_db, q, "pretty").text == (
        "+------+-------+\n"
        "| host | usage |\n"
        "+------+-------+\n"
        "+------+-------+\n")


def test_float_and_time_rendering(shared_server, dbname):
    write_ok(shared_server, dbname, [
        "f v=0.1 0", "f v=1.0 1000000", "f v=1e300 2000000000", "f v=-0 3000000000",
        "f v=1e-7 4000000000", "f v=12345678901.5 5000000000",
        "f v=-1767806931.25 -1767806931250000000",
    ])
    r = sql_get(shared_server, dbname, "SELECT time, v FROM f ORDER BY time", "jsonl")
    assert r.text == (
        '{"time":"1913-12-25T06:31:08.750","v":-1767806931.25}\n'
        '{"time":"1970-01-01T00:00:00","v":0.1}\n'
        '{"time":"1970-01-01T00:00:00.001","v":1.0}\n'
        '{"time":"1970-01-01T00:00:02","v":1.0e300}\n'
        '{"time":"1970-01-01T00:00:03","v":-0.0}\n'
        '{"time":"1970-01-01T00:00:04","v":1.0e-7}\n'
        '{"time":"1970-01-01T00:00:05","v":1.23456789015e10}\n')


def test_post_ignores_content_type(shared_server, cpu_db):
    for ctype in (None, "text/plain", "application/x-www-form-urlencoded"):
        r = sql_post(shared_server, {"db": cpu_db, "q": Q},
                     headers={"Content-Type": ctype} if ctype else None)
        assert (r.status, r.text) == (200, JSON_BODY), ctype


def test_post_null_format_and_params(shared_server, cpu_db):
    r = sql_post(shared_server, {"db": cpu_db, "q": Q, "format": None, "params": None})
    assert (r.status, r.text) == (200, JSON_BODY)


# ---- params ----


def test_params(shared_server, cpu_db):
    q = "SELECT host, n FROM cpu WHERE host = $h AND n > $min ORDER BY time"
    want = [{"host": "a", "n": 1}]
    r = sql_get(shared_server, cpu_db, q, params={"h": "a", "min": 0})
    assert (r.status, r.json()) == (200, want), r
    r = sql_post(shared_server, {"db": cpu_db, "q": q, "params": {"h": "a", "min": 0}})
    assert (r.status, r.json()) == (200, want), r
    r = sql_post(shared_server, {"db": cpu_db, "q": q, "params": {"h": "b", "min": -10}})
    assert r.json() == [{"host": "b", "n": -3}]


def test_params_errors(shared_server, cpu_db):
    r = shared_server.request("GET", "/api/v3/query_sql?" + urlencode(
        {"db": cpu_db, "q": "SELECT $x", "params": "{not json"}))
    assert r.status == 400 and r.text.startswith("serde error: invalid params: "), r
    r = sql_post(shared_server, {"db": cpu_db, "q": "SELECT $x", "params": [1]})
    assert_text(r, 400, "serde json error: invalid type for `params`: expected an object")
    r = sql_post(shared_server, {"db": cpu_db, "q": "SELECT $x", "params": {"x": [1]}})
    assert_text(r, 400, "invalid params: 'x' must be a string, number, boolean or null")
    # A placeholder without a value is the query's error (400), not the server's.
    r = sql_post(shared_server, {"db": cpu_db, "q": "SELECT host FROM cpu WHERE host = $nope"})
    assert r.status == 400 and "nope" in r.text, r


# ---- Accept header ----


@pytest.mark.parametrize("accept,ctype", [
    ("text/csv", "text/csv"),
    ("text/plain", "text/plain; charset=utf-8"),
    ("application/json", "application/json"),
    ("*/*", "application/json"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/json"),
    ("application/json, */*", "application/json"),
])
def test_accept_header(shared_server, cpu_db, accept, ctype):
    r = sql_get(shared_server, cpu_db, Q, headers={"Accept": accept})
    assert (r.status, r.header("Content-Type")) == (200, ctype), r


def test_explicit_format_beats_accept(shared_server, cpu_db):
    r = sql_get(shared_server, cpu_db, Q, "jsonl", headers={"Accept": "text/csv"})
    assert (r.status, r.text) == (200, JSONL_BODY)
    r = sql_get(shared_server, cpu_db, Q, "csv", headers={"Accept": "application/nope"})
    assert (r.status, r.text) == (200, CSV_BODY)


def test_accept_errors(shared_server, cpu_db):
    r = sql_get(shared_server, cpu_db, Q, headers={"Accept": "application/xml"})
    assert_text(r, 400, "invalid mime type (application/xml)")


# ---- request errors ----


def test_missing_arguments(shared_server, cpu_db):
    assert_text(shared_server.request("GET", "/api/v3/query_sql"), 400,
                "missing query parameters 'db' and 'q'")
    assert_text(sql_get(shared_server, None, "SELECT 1"), 400, "serde error: missing field `db`")
    assert_text(sql_get(shared_server, cpu_db, None), 400, "serde error: missing field `q`")
    assert_text(sql_get(shared_server, None, None, fmt="json"), 400,
                "serde error: missing field `db`")
    assert_text(sql_post(shared_server, {"q": "SELECT 1"}), 400,
                "serde json error: missing field `db`")
    assert_text(sql_post(shared_server, {"db": cpu_db}), 400,
                "serde json error: missing field `q`")
    assert_text(sql_post(shared_server, {"db": 1, "q": "SELECT 1"}), 400,
                "serde json error: invalid type for `db`: expected a string")
    r = sql_post(shared_server, "{nope")
    assert r.status == 400 and r.text.startswith("serde json error: "), r
    assert_text(sql_post(shared_server, "[1]"), 400, "serde json error: expected a JSON object")


def test_bad_formats(shared_server, cpu_db):
    assert_text(sql_get(shared_server, cpu_db, Q, "xml"), 400,
                "unknown format 'xml': expected one of json, jsonl, json_lines, csv, pretty, "
                "parquet")
    assert_text(sql_post(shared_server, {"db": cpu_db, "q": Q, "format": "xml"}), 400,
                "unknown format 'xml': expected one of json, jsonl, json_lines, csv, pretty, "
                "parquet")


def test_unknown_database_is_404_json(shared_server):
    for r in (sql_get(shared_server, "nope", "SELECT 1"),
              sql_post(shared_server, {"db": "nope", "q": "SELECT 1"})):
        assert r.status == 404, r
        assert r.header("Content-Type") == "application/json"
        assert r.text == '{"error":"query error: database not found: nope"}'


def error_json(r, status):
    assert r.status == status and r.header("Content-Type") == "application/json", r
    body = json.loads(r.text)
    assert list(body) == ["error"], r
    return body["error"]


def test_sql_errors_are_400_json(shared_server, cpu_db):
    msg = error_json(sql_get(shared_server, cpu_db, "SELECT host FROM"), 400)
    assert msg == "SQL syntax error at line 1, column 17: expected a table name, found end of input"
    msg = error_json(sql_get(shared_server, cpu_db, "SELECT host FROM cpux"), 400)
    assert msg == "table 'cpux' not found at line 1, column 18. Did you mean 'cpu'?"
    msg = error_json(sql_get(shared_server, cpu_db, "SELECT nope FROM cpu"), 400)
    assert msg.startswith("Schema error: No field named 'nope' at line 1, column 8"), msg
    msg = error_json(sql_get(shared_server, cpu_db, "SELECT host\nFROM cpu\nWHERE usage > 'x' +"),
                     400)
    assert msg.startswith("SQL syntax error at line 3, column "), msg


def test_unsupported_is_405(shared_server, cpu_db):
    msg = error_json(sql_get(shared_server, cpu_db, "SELECT (SELECT 1) FROM cpu"), 405)
    assert msg.startswith("This feature is not implemented"), msg
    # A DELETE of another shape is a 400 that says where; nothing was deleted.
    msg = error_json(sql_get(shared_server, cpu_db, "DELETE FROM cpu WHERE host = 'a' OR 1 = 1"),
                     400)
    assert msg == ("DELETE supports only time ranges and tag equality, found OR at line 1, "
                   "column 34"), msg
    assert len(query_json(shared_server, cpu_db, "SELECT host FROM cpu")) == 3


def test_method_and_options(shared_server):
    r = shared_server.request("PUT", "/api/v3/query_sql")
    assert (r.status, r.text) == (404, "Not found")
    r = shared_server.request("OPTIONS", "/api/v3/query_sql")
    assert r.status == 204


# ---- the predictive-maintenance queries ----


def test_predictive_maintenance_queries(shared_server, dbname):
    now = time.time_ns()
    lines = []
    # Engine units 1 and 2, one cycle per second long ago, plus recent cycles.
    for unit, cycles, s2 in ((1, range(1, 21), 641.5), (2, range(1, 31), 642.5)):
        for c in cycles:
            t = now - 3600 * 10**9 + c * 10**9
            lines.append("sensors,unit_number=%d time_cycles=%di,s_2=%r,s_3=%r %d"
                         % (unit, c, s2 + (c % 3) * 0.25, 1589.7 + c, t))
    lines.append("sensors,unit_number=1 time_cycles=21i,s_2=643.0,s_3=1600.0 %d"
                 % (now - 120 * 10**9))
    lines.append("sensors,unit_number=2 time_cycles=31i,s_2=644.0,s_3=1601.0 %d"
                 % (now - 60 * 10**9))
    write_ok(shared_server, dbname, lines)

    rows = query_json(shared_server, dbname,
                      "SELECT AVG(s_2) AS s_2 FROM sensors WHERE time_cycles <= 15")
    vals = [641.5 + (c % 3) * 0.25 for c in range(1, 16)] + \
        [642.5 + (c % 3) * 0.25 for c in range(1, 16)]
    assert len(rows) == 1 and set(rows[0]) == {"s_2"}
    assert rows[0]["s_2"] == pytest.approx(sum(vals) / len(vals), rel=1e-12)

    rows = query_json(shared_server, dbname,
                      "SELECT unit_number, time_cycles, s_2 FROM sensors "
                      "WHERE time >= now() - INTERVAL '10m' ORDER BY time DESC")
    assert rows == [{"unit_number": "2", "time_cycles": 31, "s_2": 644.0},
                    {"unit_number": "1", "time_cycles": 21, "s_2": 643.0}]
    rows = query_json(shared_server, dbname,
                      "SELECT unit_number, time FROM sensors "
                      "WHERE time >= now() - '10m' ORDER BY time DESC")
    assert [r["unit_number"] for r in rows] == ["2", "1"]

    rows = query_json(shared_server, dbname,
                      "SELECT unit_number, max(time_cycles) FROM sensors GROUP BY unit_number")
    assert sorted(rows, key=lambda r: r["unit_number"]) == [
        {"unit_number": "1", "max(sensors.time_cycles)": 21},
        {"unit_number": "2", "max(sensors.time_cycles)": 31},
    ]


# ---- system.queries ----


def test_system_queries(shared_server, cpu_db):
    assert query_json(shared_server, cpu_db, "SELECT 42 AS answer") == [{"answer": 42}]
    r = sql_get(shared_server, cpu_db, "SELECT nope FROM cpu")
    assert r.status == 400
    rows = query_json(shared_server, cpu_db,
                      "SELECT query_type, query_text, phase, success, running, cancelled, rows "
                      "FROM system.queries WHERE query_text = 'SELECT 42 AS answer'")
    assert rows[-1] == {"query_type": "sql", "query_text": "SELECT 42 AS answer",
                        "phase": "success", "success": True, "running": False,
                        "cancelled": False, "rows": 1}
    rows = query_json(shared_server, cpu_db,
                      "SELECT phase, success, error FROM system.queries "
                      "WHERE query_text = 'SELECT nope FROM cpu'")
    assert rows[-1]["phase"] == "fail" and rows[-1]["success"] is False
    assert "nope" in rows[-1]["error"]
    # The query reading the log is in it, running.
    rows = query_json(shared_server, cpu_db,
                      "SELECT running, success FROM system.queries "
                      "WHERE query_text LIKE '%probe-7f3a%'")
    assert rows == [{"running": True, "success": False}], rows
    # Durations and ids are there for finished queries.
    rows = query_json(shared_server, cpu_db,
                      "SELECT id, issue_time, plan_duration, execute_duration, end2end_duration "
                      "FROM system.queries WHERE query_text = 'SELECT 42 AS answer'")
    row = rows[-1]
    assert len(row["id"]) == 36 and row["id"].count("-") == 4
    assert set(row) == {"id", "issue_time", "plan_duration", "execute_duration",
                        "end2end_duration"}
    assert row["end2end_duration"].endswith("secs") or "mins" in row["end2end_duration"]


def test_query_log_size(server_factory):
    s = server_factory(extra_args=["--query-log-size", "3"])
    write_ok(s, "db", "m v=1 1")
    for i in range(5):
        assert query_json(s, "db", "SELECT %d AS i" % i) == [{"i": i}]
    rows = query_json(s, "db", "SELECT query_text FROM system.queries WHERE running = false")
    assert [r["query_text"] for r in rows] == ["SELECT 2 AS i", "SELECT 3 AS i", "SELECT 4 AS i"]


# ---- streaming a large result ----

BIG_ROWS = 200000


def big_lines(n=BIG_ROWS, table="big"):
    base = 1767806931000000000
    pad = "x" * 40
    return ["%s,host=h%d v=%d.125,s=\"%s%d\" %d" % (table, i % 100, i, pad, i, base + i * 1000)
            for i in range(n)]


def test_large_result_streams(server):
    write_ok(server, "bigdb", big_lines())
    before = rss_kb(server)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    conn.request("GET", "/api/v3/query_sql?" + urlencode(
        {"db": "bigdb", "q": "SELECT host, s, time, v FROM big"}))
    r = conn.getresponse()
    assert r.status == 200
    assert r.getheader("Transfer-Encoding") == "chunked"
    total, peak, pieces = 0, before, []
    first = last = b""
    while True:
        piece = r.read(256 * 1024)
        if not piece:
            break
        if not first:
            first = piece[:200]
        last = (last + piece)[-200:]
        total += len(piece)
        peak = max(peak, rss_kb(server))
    conn.close()
    assert total > 10 * 1024 * 1024, total
    assert first.startswith(b'[{"host":"h0","s":"' + b"x" * 40 + b'0","time":"2026-01-07T17:28:51"')
    assert last.endswith(b"}]")
    # Not built in memory: the server grows by far less than the result's size.
    assert (peak - before) * 1024 < total // 2, (before, peak, total)
    # And it is complete, valid JSON.
    rows = query_json(server, "bigdb", "SELECT count(*) AS n FROM big")
    assert rows == [{"n": BIG_ROWS}]


def test_large_result_is_valid_json(server):
    write_ok(server, "bigdb", big_lines(50000))
    r = sql_get(server, "bigdb", "SELECT host, v FROM big ORDER BY v")
    rows = r.json()
    assert len(rows) == 50000
    assert rows[0] == {"host": "h0", "v": 0.125} and rows[-1] == {"host": "h99", "v": 49999.125}
    r = sql_get(server, "bigdb", "SELECT host, v FROM big ORDER BY v", "csv")
    lines = r.text.split("\n")
    assert lines[0] == "host,v" and lines[1] == "h0,0.125" and len(lines) == 50002


# ---- concurrency ----


def test_concurrent_queries_while_writing(server):
    write_ok(server, "live", "m,t=0 v=0i 1")
    stop = threading.Event()
    errors = []
    written = [1]

    def writer():
        i = 1
        while not stop.is_set() and i < 400:
            body = "\n".join("m,t=%d v=%di %d" % (j % 7, j, 1000 + j) for j in range(i * 100,
                                                                                      i * 100 + 100))
            r = server.write("live", body, precision="ns")
            if r.status != 204:
                errors.append(("write", r))
                return
            written[0] += 100
            i += 1

    def reader():
        last = 0
        while not stop.is_set():
            r = sql_post(server, {"db": "live", "q": "SELECT count(*) AS n, max(v) AS mx FROM m"})
            if r.status != 200:
                errors.append(("query", r))
                return
            n = r.json()[0]["n"]
            if n < last:
                errors.append(("count went down", last, n))
                return
            last = n

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader)
                                                   for _ in range(4)]
    for t in threads:
        t.start()
    threads[0].join(timeout=120)
    stop.set()
    for t in threads[1:]:
        t.join(timeout=60)
    assert not errors, errors[:3]
    assert query_json(server, "live", "SELECT count(*) AS n FROM m") == [{"n": written[0]}]


# ---- memory budget and timeout ----


def test_memory_budget(server_factory):
    s = server_factory(extra_args=["--exec-mem-pool-bytes", "2M"])
    write_ok(s, "mem", big_lines(100000, "t") + ["small v=%d %d" % (i, i) for i in range(10)])
    r = sql_get(s, "mem", "SELECT s, v FROM t ORDER BY s DESC")
    assert error_json(r, 500) == \
        "query exceeded its memory budget of 2097152 bytes (--exec-mem-pool-bytes)"
    # The server and small queries are fine.
    assert s.request("GET", "/health").status == 200
    assert query_json(s, "mem", "SELECT v FROM small WHERE v = 7") == [{"v": 7.0}]
    rows = query_json(s, "mem", "SELECT success, error FROM system.queries "
                                "WHERE query_text LIKE '%ORDER BY s DESC'")
    assert rows[-1]["success"] is False and "memory budget" in rows[-1]["error"]


def test_memory_budget_percent(server_factory):
    s = server_factory(extra_args=["--exec-mem-pool-bytes", "5%"])
    write_ok(s, "db", "m v=1 1")
    assert query_json(s, "db", "SELECT v FROM m") == [{"v": 1.0}]


def test_query_timeout(server_factory):
    s = server_factory(extra_args=["--query-timeout", "1ms"])
    write_ok(s, "slow", big_lines(200000, "t"))
    r = sql_get(s, "slow", "SELECT s, v FROM t ORDER BY s DESC")
    assert error_json(r, 500) == "query timed out after 1ms (--query-timeout)"
    assert s.request("GET", "/health").status == 200


def test_timeout_while_streaming_truncates(server_factory):
    s = server_factory(extra_args=["--query-timeout", "1s"])
    write_ok(s, "slow", big_lines(200000, "t"))
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
    conn.request("GET", "/api/v3/query_sql?" + urlencode({"db": "slow", "q": "SELECT * FROM t"}))
    r = conn.getresponse()
    assert r.status == 200
    got = r.read(64 * 1024)
    assert got.startswith(b'[{"host":')
    time.sleep(1.5)  # past the deadline: the next batch fails
    with pytest.raises(http.client.IncompleteRead):
        while r.read(256 * 1024):
            pass
    conn.close()
    assert s.request("GET", "/health").status == 200


@pytest.mark.parametrize("extra,msg", [
    (["--exec-mem-pool-bytes", "lots"], "--exec-mem-pool-bytes"),
    (["--exec-mem-pool-bytes", "150%"], "--exec-mem-pool-bytes"),
    (["--query-timeout", "soon"], "--query-timeout"),
    (["--query-log-size", "0"], "--query-log-size"),
])
def test_bad_query_flags(vigil_bin, tmp_path, extra, msg):
    p = subprocess.run([vigil_bin, "serve", "--data-dir", str(tmp_path), "--http-bind",
                        "127.0.0.1:%d" % vh.free_port()] + extra,
                       capture_output=True, timeout=30)
    assert p.returncode == 2, p
    assert msg in p.stderr.decode(), p


# ---- the CLI ----


def run_cli(vigil_bin, server, *args, stdin=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "INFLUXDB3_"))}
    e["VIGIL_HOST_URL"] = "http://127.0.0.1:%d" % server.port
    p = subprocess.run([vigil_bin] + list(args), input=stdin, capture_output=True, env=e,
                       timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_cli_query(vigil_bin, shared_server, cpu_db, tmp_path):
    assert run_cli(vigil_bin, shared_server, "query", "-d", cpu_db, Q) == (0, PRETTY_BODY, "")
    assert run_cli(vigil_bin, shared_server, "q", "--database", cpu_db, "--format", "csv", Q) == \
        (0, CSV_BODY, "")
    assert run_cli(vigil_bin, shared_server, "query", "-d", cpu_db, "--format", "json", Q) == \
        (0, JSON_BODY + "\n", "")
    assert run_cli(vigil_bin, shared_server, "query", "-d", cpu_db, "--format=jsonl", Q) == \
        (0, JSONL_BODY, "")
    f = tmp_path / "q.sql"
    f.write_text(Q + "\n")
    out = tmp_path / "out.json"
    assert run_cli(vigil_bin, shared_server, "query", "-d", cpu_db, "--format", "json",
                   "-f", str(f), "-o", str(out)) == (0, "", "")
    assert out.read_text() == JSON_BODY
    assert run_cli(vigil_bin, shared_server, "query", "-d", cpu_db, "--file", "-",
                   stdin=Q.encode()) == (0, PRETTY_BODY, "")


def test_cli_query_errors(vigil_bin, shared_server, cpu_db):
    assert run_cli(vigil_bin, shared_server, "query", "-d", "nope", "SELECT 1") == \
        (1, "", "Error: query error: database not found: nope\n")
    rc, out, err = run_cli(vigil_bin, shared_server, "query", "-d", cpu_db, "SELECT FROM WHERE")
    assert (rc, out) == (1, "") and err.startswith("Error: SQL syntax error at line 1, column ")
    rc, _, err = run_cli(vigil_bin, shared_server, "query", "SELECT 1")
    assert rc == 2 and "no database given" in err
    rc, _, err = run_cli(vigil_bin, shared_server, "query", "-d", cpu_db)
    assert rc == 2 and "no query given" in err
    rc, _, err = run_cli(vigil_bin, shared_server, "query", "-d", cpu_db, "--format", "xml", Q)
    assert rc == 2 and "unknown format 'xml'" in err
    rc, out, _ = run_cli(vigil_bin, shared_server, "query", "--help")
    assert rc == 0
    for flag in ("--database", "--format", "--file", "--output", "--language", "[default: pretty]"):
        assert flag in out, flag
