#!/usr/bin/env python3
# bench/query/driver.py: the query benchmark's driver. Builds the same IoT fleet table
# in an in-memory DuckDB (@duckdb/node-api, via tests/differential/duck.mjs) that
# gen_load.c wrote to Vigil, then runs each benchmark query on both, RUNS times after
# one warm-up, checks that both answers agree, and prints the median latencies, the
# Vigil/DuckDB ratio and the target for each query.
#
# Timing: Vigil, from sending the HTTP request to having read the whole JSON body (a
# kept-alive connection, the body not parsed); DuckDB, runAndReadAll() in the Node
# process (the query and materializing its result, no JSON).
import argparse
import http.client
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "differential"))

import diff_compare as dc  # noqa: E402
from duckclient import Duck  # noqa: E402

NS = 1_000_000_000


def field_sql(k):
    """gen_load.c's field formula in DuckDB SQL (BIGINT arithmetic, no overflow)."""
    return ("CAST((((dev * 7919 + ti * 104729 + %d) %% 1000003) * 48271) %% 2147483647 %% 100000 "
            "AS DOUBLE) / CAST(100 AS DOUBLE) AS f%d" % (k * 1299709, k))


def duck_create_sql(a, steps):
    return ("CREATE TABLE fleet AS SELECT make_timestamp_ns(%d + ti * %d) AS time, "
            "'d' || lpad(CAST(dev AS VARCHAR), 4, '0') AS device, "
            "'s' || CAST(dev %% %d AS VARCHAR) AS site, %s "
            "FROM range(%d) s(ti), range(%d) d(dev)"
            % (a.start_ns, a.step_s * NS, a.sites, ", ".join(field_sql(k) for k in range(10)),
               steps, a.devices))


def ts(ns):
    return "'%sZ'" % dc.render_ts(ns)


def queries(a, steps):
    t0 = a.start_ns
    span = steps * a.step_s * NS
    hour = 3600 * NS
    h0 = t0 + min(6 * hour, max(0, span - hour))  # an hour inside the data
    day_end = t0 + min(24 * hour, span)
    dev = "d%04d" % (42 % a.devices)
    return [
        ("count", "SELECT count(*) AS n FROM fleet", None, None),
        ("time range, one device",
         "SELECT time, f0, f1 FROM fleet WHERE device = '%s' AND time >= %s AND time < %s ORDER BY time"
         % (dev, ts(h0), ts(h0 + hour)), None, "faster"),
        ("avg/max per device, 1 hour",
         "SELECT device, avg(f0) AS a, max(f1) AS m FROM fleet WHERE time >= %s AND time < %s GROUP BY device"
         % (ts(h0), ts(h0 + hour)), None, None),
        ("date_bin 1 min per site, 1 day",
         "SELECT date_bin(INTERVAL '1 minute', time) AS minute, site, avg(f2) AS a FROM fleet "
         "WHERE time >= %s AND time < %s GROUP BY 1, 2" % (ts(t0), ts(day_end)),
         "SELECT time_bucket(INTERVAL '1 minute', time, TIMESTAMP '1970-01-01') AS minute, site, avg(f2) AS a "
         "FROM fleet WHERE time >= %s AND time < %s GROUP BY 1, 2" % (ts(t0), ts(day_end)), None),
        ("last point per device",
         "SELECT device, selector_last(f0, time)['value'] AS f0, selector_last(f0, time)['time'] AS t "
         "FROM fleet GROUP BY device",
         "SELECT device, arg_max(f0, time) AS f0, max(time) AS t FROM fleet GROUP BY device", "faster"),
        ("top 10 devices by max",
         "SELECT device, max(f3) AS m FROM fleet GROUP BY device ORDER BY m DESC, device LIMIT 10",
         "SELECT device, max(f3) AS m FROM fleet GROUP BY device ORDER BY m DESC NULLS FIRST, device LIMIT 10",
         None),
        ("approx_percentile_cont per site",
         "SELECT site, approx_percentile_cont(f4, 0.99) AS p99 FROM fleet GROUP BY site",
         "SELECT site, quantile_cont(f4, 0.99) AS p99 FROM fleet GROUP BY site", None),
    ]


class Vigil:
    def __init__(self, port, db):
        self.port = port
        self.db = db
        self.conn = None

    def query(self, sql, timeout):
        body = json.dumps({"db": self.db, "q": sql, "format": "json"})
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                t0 = time.perf_counter()
                self.conn.request("POST", "/api/v3/query_sql", body=body,
                                  headers={"Content-Type": "application/json"})
                r = self.conn.getresponse()
                data = r.read()
                ms = (time.perf_counter() - t0) * 1000
                return r.status, data, ms
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--db", default="bench")
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--sites", type=int, default=10)
    ap.add_argument("--step-s", type=int, default=10)
    ap.add_argument("--start-ns", type=int, default=1_767_225_600 * NS)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--duck-threads", type=int, default=2)
    ap.add_argument("--load-s", type=float, default=None, help="Vigil's load time, for the report")
    ap.add_argument("--duck-parquet", default=None,
                    help="a directory: DuckDB exports the rows to a zstd Parquet file there and "
                         "queries that file (read_parquet) instead of its in-memory table")
    a = ap.parse_args()
    steps = a.rows // a.devices
    if steps * a.devices != a.rows:
        sys.exit("driver: --rows must be a multiple of --devices")

    duck = Duck(threads=a.duck_threads)
    t0 = time.perf_counter()
    if a.duck_parquet:
        # streamed straight to the file: the rows of a long sustained run do not fit
        # in memory as a table
        path = os.path.join(a.duck_parquet, "fleet.parquet")
        select = duck_create_sql(a, steps)[len("CREATE TABLE fleet AS "):]
        duck.query("COPY (%s) TO '%s' (FORMAT parquet, COMPRESSION zstd)" % (select, path))
        duck.query("CREATE VIEW fleet AS SELECT * FROM read_parquet('%s')" % path)
    else:
        duck.query(duck_create_sql(a, steps))
    duck_load = time.perf_counter() - t0
    vigil = Vigil(a.port, a.db)

    results = []
    for name, vsql, dsql, target in queries(a, steps):
        dsql = dsql or vsql
        status, body, _ = vigil.query(vsql, a.timeout)  # warm-up (and the answer checked)
        if status != 200:
            results.append((name, None, None, target, "vigil %d: %s" % (status, body[:200].decode("utf-8", "replace"))))
            print("== %s: vigil answered %d: %s" % (name, status, body[:300]), file=sys.stderr)
            continue
        v_ms = [vigil.query(vsql, a.timeout)[2] for _ in range(a.runs)]
        res = duck.query(dsql, time=a.runs + 1)
        d_ms = res.ms[1:]  # the first run is DuckDB's warm-up
        exp = dc.Expected(res.columns, res.kinds, res.rows)
        problems = dc.compare(exp, json.loads(body), ordered="ORDER BY" in vsql)
        check = "same" if problems is None else "DIFFERENT"
        if problems:
            print("== %s: answers differ:\n   %s" % (name, "\n   ".join(problems[:8])), file=sys.stderr)
        results.append((name, statistics.median(v_ms), statistics.median(d_ms), target, check))
        print("== %-34s vigil %s ms, duckdb %s ms" % (
            name, " ".join("%.1f" % x for x in v_ms), " ".join("%.1f" % x for x in d_ms)), file=sys.stderr)
    duck.close()

    print()
    print("Query benchmark: %d rows (%d devices, %d sites, 10 float fields, one point every %d s), "
          "median of %d runs" % (a.rows, a.devices, a.sites, a.step_s, a.runs))
    if a.load_s:
        print("load: Vigil %.1f s over HTTP (%.0f rows/s); DuckDB %.1f s (generated in SQL)"
              % (a.load_s, a.rows / a.load_s, duck_load))
    print("%-34s %12s %12s %8s %-22s %s" % ("query", "Vigil ms", "DuckDB ms", "ratio", "target", "answers"))
    for name, v, d, target, check in results:
        if a.duck_parquet:
            target = "within 2x"  # issue 4: persisted data against DuckDB on its own Parquet
        want = "< 1x (faster)" if target == "faster" else "<= 2x"
        if v is None:
            print("%-34s %12s %12s %8s %-22s %s" % (name, "-", "-", "-", want, check))
            continue
        ratio = v / d if d > 0 else float("inf")
        ok = ratio < 1 if target == "faster" else ratio <= 2
        print("%-34s %12.1f %12.1f %7.2fx %-22s %s" % (name, v, d, ratio, want + (" ok" if ok else " MISSED"), check))


if __name__ == "__main__":
    main()
