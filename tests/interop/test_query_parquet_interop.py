"""tests/interop/test_query_parquet_interop.py: the query endpoint's format=parquet
output read by real peers.

The server (tests/conftest.py fixtures, each binary of VIGIL_BINS) answers a set of
queries with format=parquet; DuckDB (@duckdb/node-api) and hyparquet read every body
(one Node process per server: pq_read.mjs read-all), and each must return exactly the
rows of the same query's JSON result, with the same column names and types. Covered:
every type with NULLs and extremes, NaN and -0.0, tags (dictionary pages), an empty
result (schema only), and a result of two row groups.

Timestamps are written as TIMESTAMP(NANOS, isAdjustedToUTC=false), as InfluxDB 3 Core
writes them, so DuckDB reads them as TIMESTAMP_NS with every nanosecond.
"""
import json
import subprocess
from pathlib import Path
from urllib.parse import urlencode

import pytest

import pq_rows

HERE = Path(__file__).resolve().parent

LINES = [
    'm,host=a,site=s1 usage=0.9,n=1i,u=5u,ok=true,msg="hi" 1767806931000000000',
    'm,host=b,site=s1 usage=2,n=-3i,u=18446744073709551615u,msg="x,\\"y\\" \u00e9" '
    '1767806931500000000',
    'm,host=a,site=s2 ok=false,msg="" 155',
    'm,host=c,site=s2 usage=-0.0,n=9223372036854775807i,u=0u,ok=true -1767806931250000001',
    'm,host=b usage=1e300,n=-9223372036854775805i 1767810531000000007',
]
BIG = 140000  # two row groups: 131072 + 8928

QUERIES = {
    "star": "SELECT * FROM m ORDER BY time",
    "exprs": "SELECT time, usage / 0.0 AS q, -usage AS neg, NOT ok AS nok, upper(msg) AS um, "
             "CAST(u AS DOUBLE) AS ud FROM m ORDER BY time",
    "groups": "SELECT host, count(*) AS c, avg(usage) AS a, max(u) AS mu, min(time) AS t0 "
              "FROM m GROUP BY host ORDER BY host",
    "empty": "SELECT host, n, time FROM m WHERE host = 'nobody'",
    "big": "SELECT host, i, s, time, v FROM big ORDER BY time",
}
TYPES = {
    "star": ["string", "string", "int64", "bool", "string", "timestamp", "uint64", "double"],
    "empty": ["string", "int64", "timestamp"],
    "big": ["string", "int64", "string", "timestamp", "double"],
}


def big_lines():
    base = 1767806931000000000
    return ["big,host=h%d v=%d.5,s=\"s%d\",i=%di %d" % (i % 50, i, i % 300, i * 7 - 1000,
                                                       base + i * 1000003)
            for i in range(BIG)]


def fetch(server, q, fmt):
    r = server.request("GET", "/api/v3/query_sql?" + urlencode(
        {"db": "interop", "q": q, "format": fmt}), timeout=120)
    assert r.status == 200, r
    return r


@pytest.fixture(scope="module")
def outputs(shared_server, tmp_path_factory):
    """Every query's JSON rows, and its Parquet body as read by DuckDB and hyparquet
    (DIR/<name>.duckdb.jsonl, DIR/<name>.hyparquet.jsonl)."""
    if not (HERE / "node_modules" / "@duckdb" / "node-api").exists():
        pytest.fail("tests/interop/node_modules is missing: run tools/install-deps.sh test")
    assert shared_server.write("interop", "\n".join(LINES), precision="ns").status == 204
    lines = big_lines()
    for k in range(0, BIG, 50000):
        r = shared_server.write("interop", "\n".join(lines[k:k + 50000]), precision="ns")
        assert r.status == 204, r
    work = tmp_path_factory.mktemp("query-parquet")
    want = {}
    for name, q in QUERIES.items():
        want[name] = fetch(shared_server, q, "json").json()
        r = fetch(shared_server, q, "parquet")
        assert r.header("Content-Type") == "application/vnd.apache.parquet"
        pq_rows.save(r.body, work, name + ".parquet")
    p = subprocess.run(["node", str(HERE / "pq_read.mjs"), "read-all", str(work)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    return work, want


def peer_rows(work, name, peer):
    err = work / ("%s.%s.err" % (name, peer))
    assert not err.exists(), err.read_text() if err.exists() else ""
    return pq_rows.parse_lines((work / ("%s.%s.jsonl" % (name, peer))).read_text())


@pytest.mark.parametrize("peer", ["duckdb", "hyparquet"])
@pytest.mark.parametrize("name", list(QUERIES))
def test_peer_reads_query_output(outputs, name, peer):
    work, want = outputs
    header, rows = peer_rows(work, name, peer)
    ours, _ = pq_rows.dump(str(work / (name + ".parquet")))
    assert header["columns"] == ours["columns"], peer
    assert header["types"] == ours["types"], peer
    if name in TYPES:
        assert header["types"] == TYPES[name]
    got = pq_rows.as_json_rows(header, rows)
    assert len(got) == len(want[name]), peer
    assert pq_rows.exact(got) == pq_rows.exact(want[name]), peer


def test_big_output_has_two_row_groups(outputs):
    work, _ = outputs
    meta = pq_rows.stats(str(work / "big.parquet"))
    assert [int(g["rows"]) for g in meta["row_groups"]] == [131072, BIG - 131072]
    assert json.loads(meta["kv"]["vigil:tags"]) == ["host"]
