# Integration tests for format=parquet on GET/POST /api/v3/query_sql (docs/http-api.md
# "Queries") and `vigil query --format parquet` (docs/cli.md): the body is one Parquet
# file whose rows, read back with our reader (build/tests/pq_tool), equal the JSON
# result of the same query exactly; its schema (types, OPTIONAL, tags); the Accept
# header; an empty result; row groups of a large result; the 400 for types Parquet
# cannot hold; and the CLI writing to --output, to a pipe, and refusing a terminal.
import json
import os
import pty
import subprocess
from urllib.parse import urlencode

import pytest

import pq_rows

PARQUET = "application/vnd.apache.parquet"

# Every type: tags host and site (site missing on one row), floats (-0.0, 1e300),
# integers and unsigned integers at their extremes, booleans, strings with quotes,
# commas, UTF-8 and an empty one, times before 1970 and with nanoseconds.
LINES = [
    'm,host=a,site=s1 usage=0.9,n=1i,u=5u,ok=true,msg="hi" 1767806931000000000',
    'm,host=b,site=s1 usage=2,n=-3i,u=18446744073709551615u,msg="x,\\"y\\" \u00e9" '
    '1767806931500000000',
    'm,host=a,site=s2 ok=false,msg="" 155',
    'm,host=c,site=s2 usage=-0.0,n=9223372036854775807i,u=0u,ok=true -1767806931250000001',
    'm,host=b usage=1e300,n=-9223372036854775805i 1767810531000000007',
]

# Queries whose Parquet rows must equal their JSON rows; every one is ordered.
QUERIES = [
    "SELECT * FROM m ORDER BY time",
    "SELECT host, time, usage, n FROM m ORDER BY time DESC",
    "SELECT host, count(*) AS c, avg(usage) AS a, max(u) AS mu, min(time) AS t0, "
    "sum(n) AS sn FROM m GROUP BY host ORDER BY host",
    "SELECT time, usage / 0.0 AS q, -usage AS neg, NOT ok AS nok, upper(msg) AS um, "
    "CAST(n AS DOUBLE) AS nd, length(msg) AS len FROM m ORDER BY time",
    "SELECT date_bin(INTERVAL '1 hour', time) AS hour, sum(usage) AS s FROM m "
    "WHERE time > '2000-01-01T00:00:00Z' GROUP BY 1 ORDER BY 1",
    "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
    "WHERE table_name = 'm' ORDER BY column_name",
    "SELECT 1 AS one, 'x' AS s, true AS b, 2.5 AS f, NULL::DOUBLE AS nothing",
]


@pytest.fixture(scope="module")
def pq_db(shared_server):
    r = shared_server.write("pqdb", "\n".join(LINES), precision="ns")
    assert r.status == 204, r
    return "pqdb"


def sql_get(server, db, q, fmt=None, headers=None):
    args = {"db": db, "q": q}
    if fmt is not None:
        args["format"] = fmt
    return server.request("GET", "/api/v3/query_sql?" + urlencode(args), headers=headers)


def sql_post(server, body):
    return server.request("POST", "/api/v3/query_sql", body=json.dumps(body))


def json_rows(server, db, q):
    r = sql_post(server, {"db": db, "q": q})
    assert r.status == 200, r
    return r.json()


def parquet_body(r):
    assert r.status == 200, r
    assert r.header("Content-Type") == PARQUET, r
    assert r.header("Transfer-Encoding") == "chunked", r
    assert r.body[:4] == b"PAR1" and r.body[-4:] == b"PAR1", r
    return r.body


def read_back(body, tmp_path, name="out.parquet"):
    """(header, rows as Core's JSON objects, footer) of a Parquet body."""
    path = pq_rows.save(body, tmp_path, name)
    header, rows = pq_rows.dump(path)
    return header, pq_rows.as_json_rows(header, rows), pq_rows.stats(path)


# ---- the rows are the JSON result ----


@pytest.mark.parametrize("q", QUERIES, ids=range(len(QUERIES)))
def test_parquet_rows_equal_json(shared_server, pq_db, tmp_path, q):
    want = json_rows(shared_server, pq_db, q)
    assert want, q
    for i, r in enumerate((sql_get(shared_server, pq_db, q, "parquet"),
                           sql_post(shared_server, {"db": pq_db, "q": q, "format": "parquet"}))):
        header, got, _ = read_back(parquet_body(r), tmp_path, "q%d.parquet" % i)
        assert pq_rows.exact(got) == pq_rows.exact(want), q
    # GET and POST send the same bytes.
    assert sql_get(shared_server, pq_db, q, "parquet").body == \
        sql_post(shared_server, {"db": pq_db, "q": q, "format": "parquet"}).body


def test_parquet_select_star(shared_server, pq_db, tmp_path):
    """The exact rows and schema of SELECT *: columns by name (as Core), every column
    OPTIONAL, Core's timestamp flavour, the tags listed in the metadata."""
    body = parquet_body(sql_get(shared_server, pq_db, "SELECT * FROM m ORDER BY time", "parquet"))
    header, rows, meta = read_back(body, tmp_path)
    assert header == {"columns": ["host", "msg", "n", "ok", "site", "time", "u", "usage"],
                      "types": ["string", "string", "int64", "bool", "string", "timestamp",
                                "uint64", "double"]}
    assert pq_rows.exact(rows) == pq_rows.exact([
        {"host": "c", "n": 9223372036854775807, "ok": True, "site": "s2",
         "time": "1913-12-25T06:31:08.749999999", "u": 0, "usage": -0.0},
        {"host": "a", "msg": "", "ok": False, "site": "s2",
         "time": "1970-01-01T00:00:00.000000155"},
        {"host": "a", "msg": "hi", "n": 1, "ok": True, "site": "s1",
         "time": "2026-01-07T17:28:51", "u": 5, "usage": 0.9},
        {"host": "b", "msg": 'x,"y" \u00e9', "n": -3, "site": "s1",
         "time": "2026-01-07T17:28:51.500", "u": 18446744073709551615, "usage": 2.0},
        {"host": "b", "n": -9223372036854775805, "time": "2026-01-07T18:28:51.000000007",
         "usage": 1e300},
    ])
    cols = {c["name"]: c for c in meta["columns"]}
    assert [c["nullable"] for c in meta["columns"]] == [True] * 8
    assert [c["name"] for c in meta["columns"] if c["tag"]] == ["host", "site"]
    assert meta["kv"]["vigil:tags"] == '["host","site"]'
    assert cols["time"]["logical"] == "TIMESTAMP(NANOS,local)"
    assert cols["u"]["logical"] == "INTEGER(64,unsigned)"
    assert cols["msg"]["logical"] == "STRING"
    assert meta["created_by"] == "vigil version 0.1.0"
    assert [int(g["rows"]) for g in meta["row_groups"]] == [5]


def test_parquet_tags_only_for_unchanged_tag_columns(shared_server, pq_db, tmp_path):
    q = "SELECT host, upper(site) AS site_u, usage FROM m WHERE host = 'a' ORDER BY time"
    _, rows, meta = read_back(parquet_body(sql_get(shared_server, pq_db, q, "parquet")),
                              tmp_path)
    assert rows == [{"host": "a", "site_u": "S2"},
                    {"host": "a", "site_u": "S1", "usage": 0.9}]
    assert [c["name"] for c in meta["columns"] if c["tag"]] == ["host"]


def test_parquet_accept_header(shared_server, pq_db, tmp_path):
    q = "SELECT host, n FROM m ORDER BY time"
    r = sql_get(shared_server, pq_db, q, headers={"Accept": PARQUET})
    _, rows, _ = read_back(parquet_body(r), tmp_path)
    assert rows == json_rows(shared_server, pq_db, q)
    # An explicit format still wins over the header, both ways.
    r = sql_get(shared_server, pq_db, q, "csv", headers={"Accept": PARQUET})
    assert (r.status, r.header("Content-Type")) == (200, "text/csv")
    r = sql_get(shared_server, pq_db, q, "parquet", headers={"Accept": "text/csv"})
    assert r.header("Content-Type") == PARQUET


def test_parquet_empty_result(shared_server, pq_db, tmp_path):
    """No rows is still a whole file: the schema and no row group (Core sends an empty
    body; a file every reader opens is more useful)."""
    q = "SELECT host, usage, time FROM m WHERE host = 'nobody'"
    header, rows, meta = read_back(parquet_body(sql_get(shared_server, pq_db, q, "parquet")),
                                   tmp_path)
    assert header == {"columns": ["host", "usage", "time"],
                      "types": ["string", "double", "timestamp"]}
    assert rows == []
    assert meta["rows"] == "0" and meta["row_groups"] == []


# ---- errors ----


def error_json(r, status):
    assert r.status == status and r.header("Content-Type") == "application/json", r
    body = json.loads(r.text)
    assert list(body) == ["error"], r
    return body["error"]


@pytest.mark.parametrize("q,msg", [
    ("SELECT host, INTERVAL '1 hour' AS d FROM m",
     "format 'parquet' cannot hold column 'd' of type Interval(MonthDayNano): cast it to "
     "BIGINT (nanoseconds) or VARCHAR, or use another format"),
    ("SELECT selector_last(usage, time) AS last FROM m",
     "format 'parquet' cannot hold column 'last' of type Struct(value, time): select its "
     "members with ['value'] and ['time'] instead, or use another format"),
    ("SELECT NULL AS x",
     "format 'parquet' cannot hold column 'x' of type Null: cast it to a type, e.g. "
     "CAST(NULL AS DOUBLE), or use another format"),
])
def test_parquet_unsupported_types_are_400(shared_server, pq_db, q, msg):
    for r in (sql_get(shared_server, pq_db, q, "parquet"),
              sql_post(shared_server, {"db": pq_db, "q": q, "format": "parquet"})):
        assert error_json(r, 400) == msg
    # The same query in JSON is fine, and the fix the message suggests works.
    assert sql_get(shared_server, pq_db, q, "json").status == 200


def test_parquet_suggested_fixes_work(shared_server, pq_db, tmp_path):
    q = ("SELECT CAST(INTERVAL '1 hour' AS BIGINT) AS d, "
         "selector_last(usage, time)['value'] AS v, selector_last(usage, time)['time'] AS t "
         "FROM m")
    _, rows, _ = read_back(parquet_body(sql_get(shared_server, pq_db, q, "parquet")), tmp_path)
    assert rows == json_rows(shared_server, pq_db, q) == \
        [{"d": 3600000000000, "v": 1e300, "t": "2026-01-07T18:28:51.000000007"}]


def test_parquet_other_errors_unchanged(shared_server, pq_db):
    msg = error_json(sql_get(shared_server, pq_db, "SELECT nope FROM m", "parquet"), 400)
    assert msg.startswith("Schema error: No field named 'nope' at line 1, column 8"), msg
    r = sql_get(shared_server, "nodb", "SELECT 1", "parquet")
    assert (r.status, r.text) == (404, '{"error":"query error: database not found: nodb"}')


# ---- a large result: row groups leave as they fill ----

BIG = 200000


def test_parquet_large_result_row_groups(server, tmp_path):
    base = 1767806931000000000
    lines = ["big,host=h%d v=%d.125,s=\"%s%d\",i=%di %d" % (i % 100, i, "x" * 20, i % 1000, i,
                                                              base + i * 1000)
             for i in range(BIG)]
    for k in range(0, BIG, 50000):
        r = server.write("bigpq", "\n".join(lines[k:k + 50000]), precision="ns")
        assert r.status == 204, r
    q = "SELECT host, i, s, time, v FROM big ORDER BY time"
    body = parquet_body(sql_get(server, "bigpq", q, "parquet"))
    header, rows, meta = read_back(body, tmp_path)
    # 128 Ki-row groups, the rest in the last one.
    assert [int(g["rows"]) for g in meta["row_groups"]] == [131072, BIG - 131072]
    assert len(rows) == BIG
    assert rows == json_rows(server, "bigpq", q)
    # Dictionary-encoded tags and repeated strings keep the file small.
    assert len(body) < BIG * 8, len(body)


# ---- the CLI ----


def run_cli(vigil_bin, server, *args, stdout=subprocess.PIPE):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "INFLUXDB3_"))}
    e["VIGIL_HOST_URL"] = "http://127.0.0.1:%d" % server.port
    p = subprocess.run([vigil_bin] + list(args), stdout=stdout, stderr=subprocess.PIPE, env=e,
                       timeout=60)
    return p.returncode, p.stdout if stdout == subprocess.PIPE else None, p.stderr.decode()


def test_cli_parquet_output_file(vigil_bin, shared_server, pq_db, tmp_path):
    q = "SELECT * FROM m ORDER BY time"
    out = tmp_path / "result.parquet"
    assert run_cli(vigil_bin, shared_server, "query", "-d", pq_db, "--format", "parquet",
                   "--output", str(out), q) == (0, b"", "")
    http_body = parquet_body(sql_get(shared_server, pq_db, q, "parquet"))
    assert out.read_bytes() == http_body
    header, rows = pq_rows.dump(str(out))
    assert pq_rows.exact(pq_rows.as_json_rows(header, rows)) == \
        pq_rows.exact(json_rows(shared_server, pq_db, q))


def test_cli_parquet_to_a_pipe(vigil_bin, shared_server, pq_db):
    """A redirected standard output gets the bytes exactly (no newline added)."""
    q = "SELECT host, usage FROM m ORDER BY time"
    rc, out, err = run_cli(vigil_bin, shared_server, "query", "-d", pq_db, "--format=parquet", q)
    assert (rc, err) == (0, "")
    assert out == parquet_body(sql_get(shared_server, pq_db, q, "parquet"))


def test_cli_parquet_refuses_a_terminal(vigil_bin, shared_server, pq_db):
    master, slave = pty.openpty()
    try:
        rc, _, err = run_cli(vigil_bin, shared_server, "query", "-d", pq_db, "--format",
                             "parquet", "SELECT host FROM m", stdout=slave)
    finally:
        os.close(slave)
        os.close(master)
    assert rc == 2
    assert err == ("Error: format 'parquet' is binary and standard output is a terminal: "
                   "write it to a file with --output FILE (or redirect standard output)\n"
                   "Run 'vigil query --help' for usage.\n")


def test_cli_output_works_for_every_format(vigil_bin, shared_server, pq_db, tmp_path):
    q = "SELECT host, time, usage FROM m ORDER BY time"
    for fmt in ("json", "jsonl", "csv", "pretty", "parquet"):
        out = tmp_path / ("out." + fmt)
        assert run_cli(vigil_bin, shared_server, "query", "-d", pq_db, "--format", fmt, "-o",
                       str(out), q) == (0, b"", ""), fmt
        assert out.read_bytes() == sql_get(shared_server, pq_db, q, fmt).body, fmt


def test_cli_parquet_errors(vigil_bin, shared_server, pq_db, tmp_path):
    out = tmp_path / "never.parquet"
    rc, stdout, err = run_cli(vigil_bin, shared_server, "query", "-d", pq_db, "--format",
                              "parquet", "-o", str(out), "SELECT INTERVAL '1 hour' AS d")
    assert (rc, stdout) == (1, b"")
    assert err == ("Error: format 'parquet' cannot hold column 'd' of type "
                   "Interval(MonthDayNano): cast it to BIGINT (nanoseconds) or VARCHAR, or use "
                   "another format\n")
    assert not out.exists()
    rc, _, err = run_cli(vigil_bin, shared_server, "query", "-d", pq_db, "--format", "arrow",
                         "SELECT 1")
    assert rc == 2
    assert err.startswith("Error: unknown format 'arrow' (expected pretty, json, jsonl, csv or "
                          "parquet)\n")
    rc, out_help, _ = run_cli(vigil_bin, shared_server, "query", "--help")
    assert rc == 0
    assert b"Output format: pretty, json, jsonl, csv or parquet (binary: use --output)" in out_help
