#!/usr/bin/env python3
# bench/storage/storage.py: the storage benchmark's helpers, called by run.sh (which
# starts and stops the servers). Standard library only, plus tests/differential's
# DuckDB client (duck.mjs through duckclient.py).
#
#   storage.py cmapss-lp --input F --base-ns N --out LP
#         C-MAPSS text -> line protocol (table sensors, tag unit_number, field
#         time_cycles integer, the 24 others float, time = base + time_cycles s)
#   storage.py post --port P --path PATH --file LP [--lines 5000]
#         POSTs a line-protocol file in bodies of --lines lines on one keep-alive
#         connection; exits non-zero on the first non-2xx answer
#   storage.py vigil-check --port P --db D --dataset fleet|cmapss --out JSON
#         count(*) and a few min/max over the persisted rows, and the totals of
#         system.parquet_files
#   storage.py influx-count --port P --db D --dataset fleet|cmapss
#         prints the number of points of one field (= rows)
#   storage.py influx-wait --port P --db D --data DIR --wal DIR --timeout S --stable S
#         waits until the database's shards are fully compacted: no compaction active
#         or queued, WAL files empty, no .tmp file, one TSM generation per shard, and
#         the file list (names and sizes) unchanged for --stable seconds; prints
#         "converged=1 wait_s=..." (or converged=0 after --timeout)
#   storage.py duck --dataset fleet|cmapss [--rows N --devices D] [--csv F]
#                   --dir DIR --vigil-files F... --vigil-check JSON --out JSON
#         builds the same rows in DuckDB, exports them with COPY ... (FORMAT parquet,
#         COMPRESSION zstd) in four variants, counts each file's rows, compares the
#         min/max spot checks with Vigil's, and breaks every file (Vigil's too) down by
#         column with parquet_metadata()
#   storage.py report --results KV --columns-dir DIR
#         prints the tables
import argparse
import glob
import http.client
import json
import os
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "differential"))

NS = 1_000_000_000
FLEET_FIELDS = ["f%d" % k for k in range(10)]
CMAPSS_FLOATS = ["setting_1", "setting_2", "setting_3"] + ["s_%d" % i for i in range(1, 22)]
CMAPSS_FIELDS = ["time_cycles"] + CMAPSS_FLOATS
DATASETS = {
    # name: (table, tags in Vigil's sort order, fields, spot checks as (sql expr, key))
    "fleet": ("fleet", ["device", "site"], FLEET_FIELDS,
              [("min(f0)", "min_f0"), ("max(f9)", "max_f9"), ("min(f5)", "min_f5")]),
    "cmapss": ("sensors", ["unit_number"], CMAPSS_FIELDS,
               [("min(s_3)", "min_s3"), ("max(s_14)", "max_s14"), ("max(setting_1)", "max_set1"),
                ("sum(time_cycles)", "sum_cycles")]),
}


# ---------------------------------------------------------------------------------------
# C-MAPSS


def cmapss_rows(path):
    """(unit_number, time_cycles, [24 float tokens]) per line, tokens as in the file."""
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            tok = line.split()
            if not tok:
                continue
            if len(tok) != 26:
                sys.exit("storage.py: %s line %d: %d columns, expected 26" % (path, n, len(tok)))
            rows.append((tok[0], tok[1], tok[2:]))
    return rows


def cmd_cmapss_lp(a):
    rows = cmapss_rows(a.input)
    with open(a.out, "w") as out:
        for unit, cycle, vals in rows:
            fields = ["time_cycles=%si" % cycle]
            fields += ["%s=%s" % (k, v) for k, v in zip(CMAPSS_FLOATS, vals)]
            out.write("sensors,unit_number=%s %s %d\n" % (unit, ",".join(fields),
                                                          a.base_ns + int(cycle) * NS))
    if a.csv:  # the same tokens for DuckDB's read_csv
        with open(a.csv, "w") as out:
            for unit, cycle, vals in rows:
                out.write("%s,%s,%s\n" % (unit, cycle, ",".join(vals)))
    print(len(rows))


# ---------------------------------------------------------------------------------------
# HTTP


def cmd_post(a):
    with open(a.file, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=600)
    t0 = time.monotonic()
    for i in range(0, len(lines), a.lines):
        body = b"".join(lines[i:i + a.lines])
        conn.request("POST", a.path, body=body, headers={"Content-Type": "text/plain"})
        r = conn.getresponse()
        msg = r.read()
        if r.status // 100 != 2:
            sys.exit("storage.py post: HTTP %d: %s" % (r.status, msg[:300].decode("utf-8", "replace")))
    print("RESULT rows=%d elapsed_s=%.2f" % (len(lines), time.monotonic() - t0))


def http_get_json(port, path, params, timeout=600):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", path + "?" + urllib.parse.urlencode(params))
    r = conn.getresponse()
    body = r.read()
    if r.status // 100 != 2:
        raise RuntimeError("GET %s: HTTP %d: %s" % (path, r.status, body[:300]))
    return json.loads(body)


def vigil_sql(port, db, q):
    return http_get_json(port, "/api/v3/query_sql", {"db": db, "q": q, "format": "json"})


def cmd_vigil_check(a):
    table, _, _, spots = DATASETS[a.dataset]
    exprs = ", ".join("%s AS %s" % (e, k) for e, k in spots)
    row = vigil_sql(a.port, a.db, "SELECT count(*) AS n, %s FROM %s" % (exprs, table))[0]
    files = vigil_sql(a.port, a.db, "SELECT size_bytes, row_count FROM system.parquet_files "
                                    "WHERE table_name = '%s'" % table)
    row["catalog_files"] = len(files)
    row["catalog_bytes"] = sum(int(f["size_bytes"]) for f in files)
    row["catalog_rows"] = sum(int(f["row_count"]) for f in files)
    with open(a.out, "w") as f:
        json.dump(row, f)
    print("count=%d files=%d parquet_bytes=%d" % (row["n"], row["catalog_files"], row["catalog_bytes"]))


def influx_query(port, db, q, timeout=600):
    return http_get_json(port, "/query", {"db": db, "q": q}, timeout=timeout)


def cmd_influx_count(a):
    table, _, fields, _ = DATASETS[a.dataset]
    res = influx_query(a.port, a.db, 'SELECT count("%s") FROM "%s"' % (fields[-1], table))
    series = res["results"][0].get("series") or [{"values": [[0, 0]]}]
    print(int(series[0]["values"][0][1]))


def influx_busy(port, db):
    """Active or queued compactions of db's shards (None if the stats are unreadable)."""
    try:
        res = influx_query(port, db, "SHOW STATS FOR 'tsm1_engine'", timeout=30)
    except Exception:
        return None
    busy = 0
    for s in res["results"][0].get("series") or []:
        if s.get("tags", {}).get("database") != db:
            continue
        for col, v in zip(s["columns"], s["values"][0]):
            if col.endswith("Active") or col.endswith("Queue"):
                busy += int(v)
    return busy


def influx_files(data, wal):
    """(signature, problems): every file's path and size; what keeps it from being done."""
    sig, problems, gens = [], [], {}
    for root in (data, wal):
        for dirpath, _, names in os.walk(root):
            for n in names:
                p = os.path.join(dirpath, n)
                try:
                    size = os.path.getsize(p)
                except OSError:
                    continue  # removed while we looked
                sig.append((p, size))
                if n.endswith(".tmp"):
                    problems.append("compaction output " + n)
                elif n.endswith(".wal") and size > 0:
                    problems.append("WAL %s (%d bytes)" % (n, size))
                elif n.endswith(".tsm"):
                    gens.setdefault(dirpath, set()).add(n.split("-")[0])
    for d, g in gens.items():
        if len(g) > 1:
            problems.append("%d TSM generations in %s" % (len(g), os.path.basename(d)))
    if not gens:
        problems.append("no TSM file yet")
    return sorted(sig), problems


def cmd_influx_wait(a):
    t0 = time.monotonic()
    last_sig, since, problems = None, t0, ["not checked"]
    while time.monotonic() - t0 < a.timeout:
        sig, problems = influx_files(a.data, a.wal)
        busy = influx_busy(a.port, a.db)
        if busy:
            problems.append("%d compaction(s) active or queued" % busy)
        now = time.monotonic()
        if sig != last_sig or problems:
            last_sig, since = sig, now
        elif now - since >= a.stable:
            print("converged=1 wait_s=%.1f" % (since - t0))
            return
        time.sleep(0.5)
    print("storage.py influx-wait: not fully compacted after %d s: %s"
          % (a.timeout, "; ".join(problems) or "files still changing"), file=sys.stderr)
    print("converged=0 wait_s=%.1f" % (time.monotonic() - t0))


# ---------------------------------------------------------------------------------------
# DuckDB


def fleet_field_sql(k):
    """bench/query/gen_load.c's field formula in DuckDB SQL (as bench/query/driver.py)."""
    return ("CAST((((dev * 7919 + ti * 104729 + %d) %% 1000003) * 48271) %% 2147483647 %% 100000 "
            "AS DOUBLE) / CAST(100 AS DOUBLE) AS f%d" % (k * 1299709, k))


def duck_create(duck, a):
    if a.dataset == "fleet":
        steps = a.rows // a.devices
        # gen_load's row i is device i % devices at step i / devices: time-major order
        duck.query("CREATE TABLE fleet AS SELECT make_timestamp_ns(%d + ti * %d) AS time, "
                   "'d' || lpad(CAST(dev AS VARCHAR), 4, '0') AS device, "
                   "'s' || CAST(dev %% %d AS VARCHAR) AS site, %s "
                   "FROM range(%d) s(ti), range(%d) d(dev) ORDER BY ti, dev"
                   % (a.start_ns, a.step_s * NS, a.sites,
                      ", ".join(fleet_field_sql(k) for k in range(10)), steps, a.devices))
    else:
        cols = ["unit_number VARCHAR", "time_cycles BIGINT"] + ["%s DOUBLE" % c for c in CMAPSS_FLOATS]
        colspec = ", ".join("'%s': '%s'" % tuple(c.split()) for c in cols)
        # in the text file's order (unit, cycle), which is also how the rows were written
        duck.query("CREATE TABLE sensors AS SELECT make_timestamp_ns(%d + time_cycles * %d) AS time, * "
                   "FROM read_csv('%s', header = false, delim = ',', columns = {%s})"
                   % (a.base_ns, NS, a.csv, colspec))


def column_sizes(duck, files):
    """{column: [compressed bytes, uncompressed bytes, encodings]} summed over files."""
    lst = ", ".join("'%s'" % f for f in files)
    r = duck.query("SELECT path_in_schema, sum(total_compressed_size), sum(total_uncompressed_size), "
                   "string_agg(DISTINCT encodings, ' / '), string_agg(DISTINCT compression, ' / ') "
                   "FROM parquet_metadata([%s]) GROUP BY 1" % lst)
    return {row[0]: [int(row[1]), int(row[2]), row[3], row[4]] for row in r.rows}


def cmd_duck(a):
    from duckclient import Duck

    table, tags, fields, spots = DATASETS[a.dataset]
    os.makedirs(a.dir, exist_ok=True)
    duck = Duck()
    out = {"variants": {}, "columns": {}}
    try:
        out["version"] = duck.query("SELECT version()").rows[0][0]
        t0 = time.monotonic()
        duck_create(duck, a)
        out["create_s"] = round(time.monotonic() - t0, 2)
        order = ", ".join(tags + ["time"])
        variants = [
            ("default", table, ""),
            ("sorted", "(SELECT * FROM %s ORDER BY %s)" % (table, order), ""),
            ("v2", table, ", PARQUET_VERSION V2"),
            ("v2sorted", "(SELECT * FROM %s ORDER BY %s)" % (table, order), ", PARQUET_VERSION V2"),
        ]
        exprs = ", ".join("%s AS %s" % (e, k) for e, k in spots)
        with open(a.vigil_check) as f:
            vigil = json.load(f)
        mismatches = []
        for name, src, opt in variants:
            path = os.path.join(a.dir, "%s-%s.parquet" % (a.dataset, name))
            t0 = time.monotonic()
            duck.query("COPY %s TO '%s' (FORMAT parquet, COMPRESSION zstd%s)" % (src, path, opt))
            el = time.monotonic() - t0
            r = duck.query("SELECT count(*) AS n, %s FROM read_parquet('%s')" % (exprs, path))
            got = dict(zip(r.columns, r.rows[0]))
            for k, v in got.items():
                if k in vigil and vigil[k] != v:
                    mismatches.append("%s %s: DuckDB %r, Vigil %r" % (name, k, v, vigil[k]))
            out["variants"][name] = {"bytes": os.path.getsize(path), "count": got["n"],
                                     "copy_s": round(el, 2)}
            out["columns"]["duck_" + name] = column_sizes(duck, [path])
            os.remove(path)
        if a.vigil_files:
            out["columns"]["vigil"] = column_sizes(duck, a.vigil_files)
        out["mismatches"] = mismatches
    finally:
        duck.close()
    with open(a.out, "w") as f:
        json.dump(out, f)
    for name, v in out["variants"].items():
        print("duckdb %s: %d bytes, %d rows, COPY %.2f s" % (name, v["bytes"], v["count"], v["copy_s"]))
    for m in mismatches:
        print("storage.py duck: spot check differs: " + m, file=sys.stderr)


# ---------------------------------------------------------------------------------------
# Report


def short_enc(encodings):
    """'RLE, BYTE_STREAM_SPLIT' -> 'BSS': the value encodings (RLE alone is the levels)."""
    abbrev = {"PLAIN": "PLAIN", "PLAIN_DICTIONARY": "DICT", "RLE_DICTIONARY": "DICT",
              "BYTE_STREAM_SPLIT": "BSS", "DELTA_BINARY_PACKED": "DELTA",
              "DELTA_LENGTH_BYTE_ARRAY": "DLBA", "DELTA_BYTE_ARRAY": "DBA"}
    out = []
    for e in encodings.replace("/", ",").split(","):
        e = abbrev.get(e.strip())
        if e and e not in out:
            out.append(e)
    if "DICT" in out and "PLAIN" in out:
        out.remove("PLAIN")  # the dictionary page
    return "+".join(out) or "RLE"


def fmt_int(n):
    return "{:,}".format(int(n))


def cmd_report(a):
    kv = {}
    with open(a.results) as f:
        for line in f:
            line = line.strip()
            if "=" in line:
                k, v = line.split("=", 1)
                kv[k] = v
    checks_all = True
    for ds in ("cmapss", "fleet"):
        if ds + ".rows" not in kv:
            continue
        table, tags, fields, _ = DATASETS[ds]
        rows = int(kv[ds + ".rows"])
        values = rows * len(fields)
        g = lambda k, d=None: kv.get("%s.%s" % (ds, k), d)  # noqa: E731
        with open(os.path.join(a.columns_dir, ds + ".duck.json")) as f:
            duck = json.load(f)
        title = {"cmapss": "C-MAPSS FD001 (train_FD001.txt), table sensors",
                 "fleet": "IoT fleet (bench/query/gen_load.c), table fleet"}[ds]
        print()
        print("%s: %s rows x %d fields = %s field values; tags %s"
              % (title, fmt_int(rows), len(fields), fmt_int(values), ", ".join(tags)))
        print("%-62s %12s %8s %10s %7s" % ("", "bytes", "B/value", "Vigil/this", "rows ok"))
        vbytes = int(g("vigil.parquet_bytes"))
        vcount_ok = int(g("vigil.count", -1)) == rows and int(g("vigil.catalog_rows", -1)) == rows

        def line(label, nbytes, count_ok):
            r = "-" if label.startswith("Vigil") else "%.2fx" % (vbytes / nbytes)
            ok = {True: "yes", False: "NO", None: "-"}[count_ok]
            print("%-62s %12s %8.3f %10s %7s" % (label, fmt_int(nbytes), nbytes / values, r, ok))

        line("Vigil: Parquet files after persist + compact (%s)" % g("vigil.files"), vbytes, vcount_ok)
        influx = int(g("influx.data_bytes", 0))
        icount_ok = int(g("influx.count", -1)) == rows
        if influx:
            line("InfluxDB %s: data dir after full compaction" % kv.get("influx_version", "1.x"),
                 influx, icount_ok)
            line("  (its TSM files alone, %s)" % g("influx.tsm_files"), int(g("influx.tsm_bytes")), None)
        dv = duck["variants"]
        labels = [("default", "DuckDB %s: COPY t TO (FORMAT parquet, COMPRESSION zstd)"
                   % duck.get("version", "")),
                  ("sorted", "  the same, rows sorted like Vigil's (%s, time)" % ", ".join(tags)),
                  ("v2", "  PARQUET_VERSION V2 (BYTE_STREAM_SPLIT, DELTA)"),
                  ("v2sorted", "  PARQUET_VERSION V2, sorted like Vigil's")]
        for name, label in labels:
            if name in dv:
                line(label, dv[name]["bytes"], dv[name]["count"] == rows)
        # target: smaller than InfluxDB's data dir and DuckDB's default export
        peers = [("InfluxDB", influx)] if influx else []
        peers.append(("DuckDB", dv["default"]["bytes"]))
        missed = [(n, b) for n, b in peers if vbytes >= b]
        checks_ok = vcount_ok and (icount_ok or not influx) and not duck["mismatches"] and \
            all(v["count"] == rows for v in dv.values())
        best_name, best = min(((n, v["bytes"]) for n, v in dv.items()), key=lambda x: x[1])
        if missed:
            verdict = "MISSED: " + ", ".join("%s by %s bytes (%.2f%%)" % (n, fmt_int(vbytes - b),
                                                                         100.0 * (vbytes / b - 1))
                                             for n, b in missed)
        else:
            verdict = "met (%s)" % ", ".join("%.0f%% of %s" % (100.0 * vbytes / b, n) for n, b in peers)
        print("target (smaller than InfluxDB's data dir and DuckDB's zstd export): " + verdict)
        if best < vbytes:
            print("  note: DuckDB's %s variant is %.1f%% smaller than Vigil" % (best_name, 100.0 * (1 - best / vbytes)))
        print("Vigil node dir after persist + compact: %s bytes (Parquet %s, WAL %s, catalog %s);"
              " load %s s, persist %s s, compact %s s"
              % (fmt_int(g("vigil.node_bytes")), fmt_int(vbytes), fmt_int(g("vigil.wal_bytes")),
                 fmt_int(g("vigil.catalog_dir_bytes")), g("vigil.load_s"), g("vigil.persist_s"),
                 g("vigil.compact_s")))
        if influx:
            print("InfluxDB: data dir %s bytes on disk (%s apparent: the series file's segments are "
                  "sparse), WAL %s bytes; load %s s, compaction wait %s s%s"
                  % (fmt_int(influx), fmt_int(g("influx.data_apparent")), fmt_int(g("influx.wal_bytes")),
                     g("influx.load_s"), g("influx.wait_s"),
                     "" if g("influx.converged") == "1" else " (NOT fully compacted: time limit)"))
        if not checks_ok:
            checks_all = False
            print("CHECK FAILED: vigil count %s (files %s rows), influx count %s, duckdb %s; %s"
                  % (g("vigil.count"), g("vigil.catalog_rows"), g("influx.count"),
                     {n: v["count"] for n, v in dv.items()}, "; ".join(duck["mismatches"])))
        # per-column breakdown
        cols = duck["columns"]
        if "vigil" in cols:
            v, d, d2 = cols["vigil"], cols["duck_default"], cols["duck_v2sorted"]
            names = [c for c in tags + fields + ["time"] if c in v]
            print("per column: compressed bytes (parquet_metadata) and encodings of the values")
            print("  %-13s %12s %-6s %12s %-6s %12s %-6s" % ("column", "Vigil", "", "DuckDB", "",
                                                           "V2 sorted", ""))
            for c in names:
                print("  %-13s %12s %-6s %12s %-6s %12s %-6s"
                      % (c, fmt_int(v[c][0]), short_enc(v[c][2]), fmt_int(d.get(c, [0])[0]),
                         short_enc(d.get(c, [0, 0, ""])[2]), fmt_int(d2.get(c, [0])[0]),
                         short_enc(d2.get(c, [0, 0, ""])[2])))
            over = lambda nbytes, cc: fmt_int(nbytes - sum(x[0] for x in cc.values()))  # noqa: E731
            print("  %-13s %12s %-6s %12s %-6s %12s" % ("footer etc.", over(vbytes, v), "",
                                                      over(dv["default"]["bytes"], d), "",
                                                      over(dv["v2sorted"]["bytes"], d2)))
    return 0 if checks_all else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("cmapss-lp")
    s.add_argument("--input", required=True)
    s.add_argument("--base-ns", type=int, required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--csv")
    s = sub.add_parser("post")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--path", required=True)
    s.add_argument("--file", required=True)
    s.add_argument("--lines", type=int, default=5000)
    s = sub.add_parser("vigil-check")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--db", required=True)
    s.add_argument("--dataset", choices=DATASETS, required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("influx-count")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--db", required=True)
    s.add_argument("--dataset", choices=DATASETS, required=True)
    s = sub.add_parser("influx-wait")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--db", required=True)
    s.add_argument("--data", required=True)
    s.add_argument("--wal", required=True)
    s.add_argument("--timeout", type=float, default=900)
    s.add_argument("--stable", type=float, default=5)
    s = sub.add_parser("duck")
    s.add_argument("--dataset", choices=DATASETS, required=True)
    s.add_argument("--rows", type=int)
    s.add_argument("--devices", type=int, default=1000)
    s.add_argument("--sites", type=int, default=10)
    s.add_argument("--step-s", type=int, default=10)
    s.add_argument("--start-ns", type=int, default=1767225600000000000)
    s.add_argument("--csv")
    s.add_argument("--base-ns", type=int)
    s.add_argument("--dir", required=True)
    s.add_argument("--vigil-files", nargs="*", default=[])
    s.add_argument("--vigil-check", required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("report")
    s.add_argument("--results", required=True)
    s.add_argument("--columns-dir", required=True)
    a = p.parse_args()
    fn = {"cmapss-lp": cmd_cmapss_lp, "post": cmd_post, "vigil-check": cmd_vigil_check,
          "influx-count": cmd_influx_count, "influx-wait": cmd_influx_wait, "duck": cmd_duck,
          "report": cmd_report}[a.cmd]
    sys.exit(fn(a) or 0)


if __name__ == "__main__":
    main()
