# Integration tests for persistence (issue 4, snapshots): `vigil flush` and
# POST /api/v3/persist write the buffer to Parquet files laid out by database, table
# and time partition; queries return the same rows before and after; duplicates
# across files and the buffer merge (later write wins); the WAL segments the files
# cover are deleted and a restart replays nothing; system.parquet_files lists the
# files; a small --max-buffer-bytes snapshots by itself.
import datetime
import json
import os
import random
import re
import subprocess
import time

import pytest

import pq_rows
import vigil_harness as vh

HOUR = 3600 * 10**9
BASE = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z


@pytest.fixture
def server(server_factory):
    """A server whose background compaction is off, so file layouts are exact; the
    compaction tests run it on demand (POST /api/v3/compact)."""
    return server_factory(extra_args=["--compaction-interval", "0"])


def q(server, sql, db="plant"):
    r = server.request("GET", "/api/v3/query_sql?db=%s&q=%s" % (db, vh_quote(sql)))
    assert r.status == 200, r
    return r.json()


def vh_quote(s):
    from urllib.parse import quote
    return quote(s, safe="")


def flush(server, db=None):
    path = "/api/v3/persist" + ("?db=" + db if db else "")
    r = server.request("POST", path)
    assert r.status == 200, r
    return r.json()


def parquet_files(server):
    root = os.path.join(server.data_dir, server.node_id, "dbs")
    out = []
    for d, _, files in os.walk(root):
        for f in files:
            out.append(os.path.relpath(os.path.join(d, f), os.path.join(server.data_dir,
                                                                        server.node_id)))
    return sorted(out)


def load(server):
    lines = []
    for i in range(60):
        t = BASE + i * 60 * 10**9  # one a minute for an hour: 6 partitions of 10m
        lines.append("temp,machine=m%d,line=l%d celsius=%d.5,ok=%s,n=%di %d" % (
            i % 3, i % 2, 20 + i, "true" if i % 2 else "false", i, t))
    lines.append('temp,machine=m0,line=l0 note="first" %d' % BASE)
    assert server.write("plant", "\n".join(lines), precision="ns").status == 204


ALL = "SELECT * FROM temp ORDER BY time, machine"


def test_flush_writes_partitioned_files_and_queries_match(server):
    load(server)
    before = q(server, ALL)
    assert len(before) == 60
    assert before[0] == {"celsius": 20.5, "line": "l0", "machine": "m0", "n": 0, "note": "first",
                         "ok": False, "time": "2026-01-01T00:00:00"}
    res = flush(server)
    assert res["files"] == 6 and res["rows"] == 60 and res["rows_buffered"] == 61, res
    files = parquet_files(server)
    assert files == ["dbs/plant-0/temp-0/2026-01-01/00-%02d/%010d.parquet" % (m, i + 1)
                     for i, m in enumerate((0, 10, 20, 30, 40, 50))], files
    assert q(server, ALL) == before
    assert q(server, "SELECT machine, count(*) AS n, max(celsius) AS hi FROM temp "
                     "GROUP BY machine ORDER BY machine") == [
        {"machine": "m0", "n": 20, "hi": 77.5}, {"machine": "m1", "n": 20, "hi": 78.5},
        {"machine": "m2", "n": 20, "hi": 79.5}]
    # time-range and tag pruning over files
    r = q(server, "SELECT n FROM temp WHERE machine = 'm1' AND time >= '2026-01-01T00:30:00Z' "
                  "AND time < '2026-01-01T00:40:00Z' ORDER BY time")
    assert r == [{"n": 31}, {"n": 34}, {"n": 37}]
    listing = q(server, "SELECT table_name, path, row_count, min_time, max_time "
                        "FROM system.parquet_files ORDER BY path")
    assert [f["path"] for f in listing] == files
    assert listing[0] == {"table_name": "temp", "path": files[0], "row_count": 10,
                          "min_time": BASE, "max_time": BASE + 9 * 60 * 10**9}


def test_upsert_across_file_and_buffer(server):
    load(server)
    flush(server)
    # same (tag set, time) as a persisted row: new value wins, other fields stay
    assert server.write("plant", "temp,machine=m0,line=l0 celsius=-1 %d" % BASE,
                        precision="ns").status == 204
    row = q(server, "SELECT * FROM temp WHERE time = '2026-01-01T00:00:00Z'")
    assert row == [{"celsius": -1.0, "line": "l0", "machine": "m0", "n": 0, "note": "first",
                    "ok": False, "time": "2026-01-01T00:00:00"}]
    assert q(server, "SELECT count(*) AS c FROM temp") == [{"c": 60}]
    flush(server)  # a second file in the same partition overlaps the first
    assert q(server, "SELECT count(*) AS c FROM temp") == [{"c": 60}]
    assert q(server, "SELECT celsius FROM temp WHERE time = '2026-01-01T00:00:00Z'") == [
        {"celsius": -1.0}]
    server.restart()
    assert q(server, "SELECT celsius, note FROM temp WHERE time = '2026-01-01T00:00:00Z'") == [
        {"celsius": -1.0, "note": "first"}]
    assert q(server, "SELECT count(*) AS c FROM temp") == [{"c": 60}]


def test_wal_removed_and_restart_replays_nothing(server):
    load(server)
    assert server.write("plant", "other v=1 %d" % BASE, precision="ns").status == 204
    flush(server)
    wal = server.wal_segments()
    assert len(wal) == 1, wal  # only the fresh segment after the persisted mark
    before = q(server, ALL)
    server.restart()
    assert "replayed 0 WAL record(s)" in server.stderr_text()
    assert q(server, ALL) == before
    # new writes after the restart continue the WAL and survive a kill
    assert server.write("plant", "other v=2 %d" % (BASE + 1), precision="ns").status == 204
    server.kill()
    server.start()
    assert q(server, "SELECT v FROM other ORDER BY time") == [{"v": 1.0}, {"v": 2.0}]


def test_clean_shutdown_persists_everything(server):
    load(server)
    server.stop()
    assert len(parquet_files(server)) == 6
    server.start()
    assert "replayed 0 WAL record(s)" in server.stderr_text()
    assert len(q(server, ALL)) == 60


def test_flush_cli_and_unknown_database(server):
    load(server)
    host = "http://127.0.0.1:%d" % server.port
    p = subprocess.run([server.binary, "flush", "--host", host], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "Persisted 60 row(s) to 6 Parquet file(s), %d bytes\n" % sum(
        os.path.getsize(os.path.join(server.data_dir, server.node_id, f))
        for f in parquet_files(server))
    p = subprocess.run([server.binary, "flush", "--host", host], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout == "Nothing to persist: the write buffer is empty\n"
    p = subprocess.run([server.binary, "flush", "--host", host, "--database", "nope"],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "database not found: nope" in p.stderr, p
    r = server.request("POST", "/api/v3/persist?db=nope")
    assert r.status == 404 and r.json() == {"error": "database not found: nope"}


def test_buffer_limit_triggers_snapshot(server_factory):
    s = server_factory(extra_args=["--max-buffer-bytes", "200k"])
    body = "\n".join("big,k=%d v=%d,s=\"%s\" %d" % (i % 50, i, "x" * 40, BASE + i)
                     for i in range(5000))
    assert s.write("plant", body, precision="ns").status == 204
    deadline = time.monotonic() + 10
    while not parquet_files(s) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert parquet_files(s), "no snapshot after passing --max-buffer-bytes"
    assert q(s, "SELECT count(*) AS c, sum(v) AS t FROM big") == [{"c": 5000,
                                                                    "t": 5000 * 4999 // 2}]


def test_duckdb_reads_snapshot_files(server):
    load(server)
    flush(server)
    reader = os.path.join(vh.REPO, "tests", "interop", "pq_read.mjs")
    if not os.path.exists(os.path.join(vh.REPO, "tests", "interop", "node_modules")):
        pytest.skip("tests/interop/node_modules missing (tools/install-deps.sh test)")
    total = 0
    for f in parquet_files(server):
        path = os.path.join(server.data_dir, server.node_id, f)
        p = subprocess.run(["node", reader, "duckdb", path], capture_output=True, text=True,
                           cwd=os.path.join(vh.REPO, "tests", "interop"))
        assert p.returncode == 0, p.stderr
        lines = [l for l in p.stdout.split("\n") if l.strip()]
        header = json.loads(lines[0])
        assert header["columns"] == ["line", "machine", "celsius", "ok", "n", "note", "time"]
        total += len(lines) - 1
    assert total == 60


def test_retention_hides_rows_and_deletes_expired_files(server):
    assert server.create_db("plant", retention="1h").status == 200
    now = time.time_ns()
    old, new = now - 3 * HOUR, now - 60 * 10**9
    body = "r,k=a v=1 %d\nr,k=b v=2 %d\nr,k=a v=3 %d" % (old, old + 1, new)
    assert server.write("plant", body, precision="ns").status == 204
    # expired rows never show, buffered or persisted
    assert q(server, "SELECT v FROM r ORDER BY time") == [{"v": 3.0}]
    flush(server)
    assert q(server, "SELECT v FROM r ORDER BY time") == [{"v": 3.0}]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        listed = q(server, "SELECT path, row_count FROM system.parquet_files")
        if len(listed) == 1:
            break
        time.sleep(0.1)
    assert [f["row_count"] for f in listed] == [1], listed
    on_disk = parquet_files(server)
    assert on_disk == [listed[0]["path"]]
    server.restart()
    assert q(server, "SELECT v FROM r ORDER BY time") == [{"v": 3.0}]
    assert parquet_files(server) == on_disk


def compact(server):
    r = server.request("POST", "/api/v3/compact")
    assert r.status == 200, r
    return r.json()


def test_compaction_merges_a_days_files(server):
    load(server)  # 2026-01-01, a closed day
    flush(server)
    # a second and a third snapshot into the same day: an upsert and new rows
    assert server.write("plant", "temp,machine=m0,line=l0 celsius=-1 %d" % BASE,
                        precision="ns").status == 204
    flush(server)
    assert server.write("plant", "temp,machine=m9,line=l9 celsius=5 %d" % (BASE + 5 * HOUR),
                        precision="ns").status == 204
    flush(server)
    before_files = parquet_files(server)
    assert len(before_files) == 8
    before = q(server, ALL)
    assert len(before) == 61
    res = compact(server)
    assert res["compactions"] == 1 and res["files_in"] == 8 and res["files_out"] == 1, res
    after_files = parquet_files(server)
    assert len(after_files) == 1 and after_files[0] not in before_files
    assert after_files[0].startswith("dbs/plant-0/temp-0/2026-01-01/00-00/")
    assert q(server, ALL) == before
    assert q(server, "SELECT celsius FROM temp WHERE time = '2026-01-01T00:00:00Z'") == [
        {"celsius": -1.0}]
    listing = q(server, "SELECT row_count, min_time, max_time FROM system.parquet_files")
    assert listing == [{"row_count": 61, "min_time": BASE, "max_time": BASE + 5 * HOUR}]
    # nothing left to do; the result survives a restart
    assert compact(server)["compactions"] == 0
    server.restart()
    assert q(server, ALL) == before
    assert parquet_files(server) == after_files


def test_compaction_splits_by_size_and_days(server_factory):
    s = server_factory(extra_args=["--compaction-interval", "0"])
    for day in range(2):
        for part in range(5):
            t = BASE + day * 24 * HOUR + part * 20 * 60 * 10**9
            body = "\n".join("d,k=%d v=%d %d" % (k, k + part, t + k) for k in range(10))
            assert s.write("plant", body, precision="ns").status == 204
            flush(s)
    sizes = [f["size_bytes"] for f in q(s, "SELECT size_bytes FROM system.parquet_files")]
    assert len(sizes) == 10
    before = q(s, "SELECT * FROM d ORDER BY time")
    # a size cap of four and a half files (each file under a quarter of it, so none
    # stands alone as large): each day's first four files make one group, the fifth
    # would pass the cap and stays alone (a group of one file is not rewritten)
    s.restart(extra_args=["--compaction-interval", "0", "--compaction-max-file-bytes",
                          str(max(sizes) * 9 // 2)])
    res = compact(s)
    assert res["compactions"] == 2 and res["files_in"] == 8 and res["files_out"] == 2, res
    assert q(s, "SELECT * FROM d ORDER BY time") == before
    assert q(s, "SELECT count(*) AS c FROM system.parquet_files") == [{"c": 4}]
    assert compact(s)["compactions"] == 0
    # with room for everything, each day's two files become one; then compaction has
    # nothing more to do
    s.restart(extra_args=["--compaction-interval", "0", "--compaction-max-file-bytes",
                          str(max(sizes) * 100)])
    assert compact(s)["files_out"] == 2
    assert q(s, "SELECT count(*) AS c FROM system.parquet_files") == [{"c": 2}]
    assert compact(s)["compactions"] == 0
    assert q(s, "SELECT * FROM d ORDER BY time") == before


# ---- the streaming merge: exact results against a model ----

MIN = 60 * 10**9


def lp_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return "%di" % v
    if isinstance(v, float):
        return repr(v)
    return '"%s"' % v


def lp_line(table, tags, fields, t):
    tag_part = "".join(",%s=%s" % (k, v) for k, v in sorted(tags.items()) if v is not None)
    field_part = ",".join("%s=%s" % (k, lp_value(v)) for k, v in sorted(fields.items()))
    return "%s%s %s %d" % (table, tag_part, field_part, t)


class Model:
    """What a reader must see: per (tag set, time) the fields of every write merged in
    write order, a later value winning and a missing field keeping the earlier one;
    deletes drop the rows they match at the time they are made."""

    FIELDS = ("ok", "n", "s", "v")

    def __init__(self):
        self.rows = {}

    def write(self, tags, fields, t):
        key = (tags.get("host"), tags.get("zone"), t)
        self.rows.setdefault(key, {}).update(fields)

    def delete(self, host, t0, t1):
        for key in [k for k in self.rows if k[0] == host and t0 <= k[2] <= t1]:
            del self.rows[key]

    def expect(self):
        return sorted(((h, z, t) + tuple(f.get(c) for c in self.FIELDS)
                       for (h, z, t), f in self.rows.items()), key=row_key)


def row_key(r):
    # None sorts first, as in Vigil's files (a NULL tag first)
    return tuple((x is not None, x) for x in r)


def exact_rows(server):
    """Every row, time as integer nanoseconds, sorted like Model.expect."""
    got = q(server, "SELECT host, zone, CAST(time AS BIGINT) AS t, ok, n, s, v FROM m")
    return sorted(((r.get("host"), r.get("zone"), r["t"], r.get("ok"), r.get("n"), r.get("s"),
                    r.get("v")) for r in got), key=row_key)


def file_rows(server, path):
    """The rows of one of our Parquet files, in file order, via pq_tool."""
    header, rows = pq_rows.dump(os.path.join(server.data_dir, server.node_id, path))
    return header["columns"], rows


def check_sorted_and_unique(columns, rows):
    tags = sorted(c for c in columns if c in ("host", "zone"))
    ti = columns.index("time")
    keys = [tuple((r[columns.index(c)] is not None, r[columns.index(c)]) for c in tags) +
            (int(r[ti]),) for r in rows]
    assert keys == sorted(keys), "rows not sorted by (tag set, time)"
    assert len(set(keys)) == len(keys), "a (tag set, time) appears twice"


def random_writes(server, model, rnd, snapshots, rows_per_snapshot, times, zone_from):
    """Snapshot after snapshot into one closed day: repeated (tag set, time)s within
    and across files, fields missing at random (NULLs), rows without a tag, tag values
    (so file dictionaries) differing per snapshot, and a tag column (zone) that only
    later files hold."""
    for snap_no in range(snapshots):
        hosts = rnd.sample(["h0", "h1", "h2", "h3", "h4", "h10", None], 4)
        zones = [None] if snap_no < zone_from else [None, "z0", "z1", "zz"]
        lines = []
        for _ in range(rows_per_snapshot):
            tags = {"host": rnd.choice(hosts), "zone": rnd.choice(zones)}
            if tags["host"] is None and tags["zone"] is None:
                tags["host"] = "h0"
            fields = {}
            while not fields:
                for f in Model.FIELDS:
                    if rnd.random() < 0.6:
                        fields[f] = {"ok": lambda: rnd.random() < 0.5,
                                     "n": lambda: rnd.randint(-1000, 1000),
                                     "s": lambda: "s%d" % rnd.randint(0, 50),
                                     "v": lambda: rnd.randint(-400, 400) / 4.0}[f]()
            t = BASE + rnd.choice(times)
            lines.append(lp_line("m", tags, fields, t))
            model.write(tags, fields, t)
        assert server.write("plant", "\n".join(lines), precision="ns").status == 204
        flush(server)


def test_streaming_compaction_keeps_exact_rows(server):
    rnd = random.Random(4)
    model = Model()
    # 3 hours of times: 18 ten-minute partitions, some files overlapping others
    times = [i * 7 * MIN + (i % 5) for i in range(26)]
    random_writes(server, model, rnd, snapshots=8, rows_per_snapshot=60, times=times,
                  zone_from=3)
    # a delete (tombstone) of part of one host's rows, then more writes, some of
    # them back into the deleted range (written after it: they stay)
    t0, t1 = BASE + 30 * MIN, BASE + 120 * MIN
    r = server.request("GET", "/api/v3/query_sql?db=plant&q=%s" % vh_quote(
        "DELETE FROM m WHERE host = 'h1' AND time >= %d AND time <= %d" % (t0, t1)))
    assert r.status == 200, r
    model.delete("h1", t0, t1)
    random_writes(server, model, rnd, snapshots=6, rows_per_snapshot=60, times=times,
                  zone_from=0)
    nfiles = len(parquet_files(server))
    assert nfiles > 20
    want = model.expect()
    assert exact_rows(server) == want
    res = compact(server)
    assert res["files_in"] == nfiles and res["files_out"] == 1, res
    assert exact_rows(server) == want
    (path,) = [f["path"] for f in q(server, "SELECT path FROM system.parquet_files")]
    columns, rows = file_rows(server, path)
    assert len(rows) == len(want)
    check_sorted_and_unique(columns, rows)
    assert [c for c in columns if c in ("host", "zone", "time")] == ["host", "zone", "time"]
    assert compact(server)["compactions"] == 0
    server.restart()
    assert exact_rows(server) == want


def test_streaming_compaction_across_row_groups(server_factory):
    """Inputs of many small row groups: a series' run goes on from one row group into
    the next while other inputs hold rows of the same series in between."""
    s = server_factory(extra_args=["--compaction-interval", "0", "--parquet-row-group-rows",
                                   "7"])
    rnd = random.Random(11)
    model = Model()
    times = [i * 3 * MIN for i in range(40)]
    random_writes(s, model, rnd, snapshots=5, rows_per_snapshot=80, times=times, zone_from=2)
    want = model.expect()
    assert exact_rows(s) == want
    res = compact(s)
    assert res["files_out"] == 1, res
    assert exact_rows(s) == want
    (path,) = [f["path"] for f in q(s, "SELECT path FROM system.parquet_files")]
    columns, rows = file_rows(s, path)
    check_sorted_and_unique(columns, rows)


def test_compaction_outputs_stay_under_max_bytes(server_factory):
    s = server_factory(extra_args=["--compaction-interval", "0"])
    rnd = random.Random(7)
    model = Model()
    times = [i * 5 * MIN for i in range(100)]  # about 8 hours: 48 partitions
    random_writes(s, model, rnd, snapshots=3, rows_per_snapshot=200, times=times, zone_from=0)
    sizes = [f["size_bytes"] for f in q(s, "SELECT size_bytes FROM system.parquet_files")]
    cap = sum(sizes) // 4
    want = model.expect()
    s.restart(extra_args=["--compaction-interval", "0", "--compaction-max-file-bytes", str(cap)])
    res = compact(s)
    assert res["files_out"] >= 4, res
    assert exact_rows(s) == want
    files = q(s, "SELECT path, size_bytes, min_time, max_time FROM system.parquet_files")
    for f in files:
        assert f["size_bytes"] <= cap, (f, cap)
    spans = sorted((f["min_time"], f["max_time"]) for f in files)
    for a, b in zip(spans, spans[1:]):
        assert a[1] < b[0], "outputs overlap in time: %s %s" % (a, b)
    for f in files:
        check_sorted_and_unique(*file_rows(s, f["path"]))


def test_a_large_output_is_not_rewritten_for_a_few_small_files(server_factory):
    s = server_factory(extra_args=["--compaction-interval", "0"])
    rnd = random.Random(3)
    model = Model()
    random_writes(s, model, rnd, snapshots=2, rows_per_snapshot=300,
                  times=[i * 5 * MIN for i in range(60)], zone_from=0)
    assert compact(s)["files_out"] == 1
    (big,) = q(s, "SELECT path, size_bytes FROM system.parquet_files")
    # a cap the large file fills more than half of, with room for the small ones
    s.restart(extra_args=["--compaction-interval", "0", "--compaction-max-file-bytes",
                          str(big["size_bytes"] * 3 // 2)])
    for k in range(3):  # three small files late in the same day
        tags, fields, t = {"host": "h0"}, {"v": float(k)}, BASE + (20 + k) * 3600 * 10**9
        assert s.write("plant", lp_line("m", tags, fields, t), precision="ns").status == 204
        model.write(tags, fields, t)
        flush(s)
    res = compact(s)
    assert (res["files_in"], res["files_out"]) == (3, 1), res
    paths = [f["path"] for f in q(s, "SELECT path FROM system.parquet_files")]
    assert big["path"] in paths and len(paths) == 2
    assert exact_rows(s) == model.expect()
    assert compact(s)["compactions"] == 0


def test_background_compaction_waits_for_a_cold_day(server_factory):
    s = server_factory(extra_args=["--compaction-interval", "1s",
                                   "--compaction-cold-after", "4s"])
    for k in range(2):
        assert s.write("plant", "c v=%d %d" % (k, BASE + k), precision="ns").status == 204
        flush(s)
    t0 = time.monotonic()
    # the day is closed but was just written to: not merged yet
    time.sleep(2)
    if time.monotonic() - t0 < 3.5:
        assert len(parquet_files(s)) == 2
    deadline = time.monotonic() + 20
    while len(parquet_files(s)) != 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(parquet_files(s)) == 1
    assert "compaction: db 0 table 0: 2 file(s)" in s.stderr_text()
    assert q(s, "SELECT v FROM c ORDER BY time") == [{"v": 0.0}, {"v": 1.0}]


def test_background_compaction_steps_aside_while_queries_read(server_factory):
    """A background merge pauses between row groups while queries hold table views
    (the log line says how long); with no query running it does not pause; the result
    is exact either way."""
    import threading
    # cold after 3s: the readers are running well before the merge starts
    s = server_factory(extra_args=["--compaction-interval", "1s", "--compaction-cold-after",
                                   "3s", "--parquet-row-group-rows", "100"])
    for snap in range(8):
        body = "\n".join("p,k=k%d v=%d %d" % (i % 5, snap * 1000 + i, BASE + snap * 10**12 + i)
                         for i in range(1000))
        assert s.write("plant", body, precision="ns").status == 204
        flush(s)
    assert len(parquet_files(s)) == 8
    stop = threading.Event()

    def reader():
        while not stop.is_set():  # a view open for a scan (count(*) may not need one)
            assert q(s, "SELECT sum(v) AS v FROM p") == [{"v": float(sum(range(8000)))}]

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 60
        while len(parquet_files(s)) != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert len(parquet_files(s)) == 1
    paused = re.findall(r"compaction: db 0 table 0: 8 file\(s\).*; ([0-9.]+) ms paused for "
                        r"queries", s.stderr_text())
    assert len(paused) == 1 and float(paused[0]) > 0, s.stderr_text()[-2000:]
    assert q(s, "SELECT count(*) AS c, sum(v) AS v FROM p") == [{"c": 8000,
                                                                 "v": float(sum(range(8000)))}]
    # nothing reads now: the next merge does not pause
    for snap in range(2):
        assert s.write("plant", "p,k=k0 v=1 %d" % (BASE + 3600 * 10**9 * 24 * 3 + snap),
                       precision="ns").status == 204
        flush(s)
    deadline = time.monotonic() + 30
    while "2 file(s)" not in s.stderr_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert re.search(r"compaction: db 0 table 0: 2 file\(s\).*; 0\.0 ms paused for queries",
                     s.stderr_text())


def test_background_compaction_takes_a_day_with_min_files_at_once(server_factory):
    s = server_factory(extra_args=["--compaction-interval", "1s", "--compaction-cold-after",
                                   "1h", "--compaction-min-files", "3"])
    for k in range(3):
        assert s.write("plant", "c v=%d %d" % (k, BASE + k), precision="ns").status == 204
        flush(s)
    deadline = time.monotonic() + 20
    while len(parquet_files(s)) != 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(parquet_files(s)) == 1
    assert q(s, "SELECT count(*) AS c FROM c") == [{"c": 3}]


def test_snapshot_rolls_the_wal_so_persisted_segments_go(server):
    assert server.write("plant", "w v=1 %d" % BASE, precision="ns").status == 204
    first = flush(server)["wal_seq"]
    # the seal asked for a new segment: the next write starts one, and the next
    # snapshot deletes the segment holding the records the first one persisted
    assert server.write("plant", "w v=2 %d" % (BASE + 1), precision="ns").status == 204
    flush(server)
    segs = server.wal_segments()
    assert len(segs) == 1 and int(os.path.basename(segs[0]).split(".")[0]) > first, segs


def test_explain_counts_files_and_row_groups(server):
    load(server)
    flush(server)
    assert server.write("plant", "temp,machine=m7,line=l0 celsius=1 %d" % (BASE + 2 * HOUR),
                        precision="ns").status == 204
    plan = q(server, "EXPLAIN SELECT n FROM temp WHERE machine = 'm1' AND "
                     "time >= '2026-01-01T00:30:00Z' AND time < '2026-01-01T00:40:00Z'")
    text = "\n".join(r["plan"] for r in plan)
    # six files of one row group each plus one buffer chunk: the time range keeps one
    # file and drops the chunk; the tag statistics admit m1 in the file that is left
    assert "files=6 chunks=7 pruned=6 (time 6, tags 0) rows<=10" in text, text
    plan = q(server, "EXPLAIN SELECT n FROM temp WHERE machine = 'zz'")
    text = "\n".join(r["plan"] for r in plan)
    assert "files=6 chunks=7 pruned=7 (time 0, tags 7) rows<=0" in text, text


def test_corrupt_file_fails_the_query_not_the_server(server):
    """A damaged data page (checksums catch it) fails the query that reads it with a
    message naming the file; the server stays up, and queries not reading that file
    still work. Six files make the scan decode ahead on its second thread, so this
    also checks that an error found there reaches the query."""
    load(server)
    flush(server)
    files = parquet_files(server)
    assert len(files) == 6
    # a scan that stops early leaves sources decoded ahead behind: they are dropped
    assert len(q(server, "SELECT * FROM temp LIMIT 3")) == 3
    victim = os.path.join(server.data_dir, server.node_id, files[2])
    with open(victim, "r+b") as f:
        f.seek(40)  # inside the first column chunk's pages, past the magic
        f.write(b"\xde\xad\xbe\xef" * 8)
    r = server.request("GET", "/api/v3/query_sql?db=plant&q=" + vh_quote(ALL))
    assert r.status >= 400, r
    msg = r.json()["error"]
    assert files[2].split("/")[-1] in msg, msg
    assert server.request("GET", "/health").status == 200
    # the 00:00 partition is in the first file: unaffected
    rows = q(server, "SELECT count(*) AS n FROM temp WHERE time < '2026-01-01T00:10:00Z'")
    assert rows == [{"n": 10}]


# ---- the snapshot's sort and merge, checked row by row in the files ----
#
# A model of the snapshot: rows of one (tag set, time) merge field by field, the
# latest arrival with a value winning; each 10-minute partition is one file whose rows
# are in (tag set, time) order, tags compared in name order (dev, site), a missing tag
# first, values in byte order. The files are read back with pq_tool in their own
# order, so a row out of place or a wrong winner fails, not just a wrong count.

PART_NS = 600 * 10**9


def _lp(table, dev, site, fields, t):
    tags = ",dev=" + dev + ("" if site is None else ",site=" + site)
    body = []
    for k in sorted(fields):
        v = fields[k]
        body.append("%s=%s" % (k, repr(v) if k == "a" else "%di" % v if k == "b"
                               else '"%s"' % v))
    return "%s%s %s %d" % (table, tags, ",".join(body), t)


def _write_all(server, table, rows, per_request=10000):
    for i in range(0, len(rows), per_request):
        body = "\n".join(_lp(table, *r) for r in rows[i:i + per_request])
        assert server.write("sortdb", body, precision="ns").status == 204


def _expected_files(rows):
    """{partition start: [row objects in file order]} from rows in arrival order."""
    merged = {}
    for dev, site, fields, t in rows:
        merged.setdefault((dev, site, t), {}).update(fields)  # absent fields keep theirs
    parts = {}
    for (dev, site, t), f in merged.items():
        obj = dict(f, dev=dev, time=t)
        if site is not None:
            obj["site"] = site
        parts.setdefault(t - t % PART_NS, []).append(obj)
    for objs in parts.values():
        objs.sort(key=lambda o: (o["dev"], "site" in o, o.get("site", ""), o["time"]))
        for o in objs:
            o["time"] = pq_rows.core_timestamp(o["time"])
    return parts


def _files_of(server, table):
    """{partition start: [row objects]} read from the table's files."""
    out = {}
    for f in parquet_files(server):
        if "/%s-" % table not in f:
            continue
        day, hm = f.split("/")[-3:-1]
        start = int(datetime.datetime.strptime(day + " " + hm, "%Y-%m-%d %H-%M").replace(
            tzinfo=datetime.timezone.utc).timestamp()) * 10**9
        assert start not in out, "two files for one partition: %s" % f
        header, rows = pq_rows.dump(os.path.join(server.data_dir, server.node_id, f))
        out[start] = pq_rows.as_json_rows(header, rows)
    return out


def _random_fields(rng, k):
    """One to three of the fields; values tell the row apart."""
    names = [n for n in ("a", "b", "s") if rng.random() < 0.6] or ["a"]
    return {n: (k + 0.5 if n == "a" else k if n == "b" else "v%d" % k) for n in names}


def _check_table(server, table, rows):
    want = _expected_files(rows)
    assert _files_of(server, table) == want
    got = q(server, "SELECT * FROM %s" % table, db="sortdb")
    key = lambda o: (o["time"], o["dev"], o.get("site", ""))
    assert sorted(got, key=key) == sorted((o for objs in want.values() for o in objs), key=key)


def test_snapshot_sort_and_merge_match_a_model(server):
    rng = random.Random(4)
    series = [("d%d" % d, s) for d in range(3) for s in (None, "s0", "s1")]
    # "shuffled": 70k rows over 3 partitions, a small key space and arrival in random
    # order: heavy duplicates with partial fields, every series in every chunk
    shuffled = []
    for k in range(70000):
        dev, site = rng.choice(series)
        t = BASE + rng.randrange(3 * 600) * 10**9
        shuffled.append((dev, site, _random_fields(rng, k), t))
    # "nearly": each series in time order, round robin, with some rows held back and
    # sent a little later, and some repeated later with fewer fields
    nearly, held = [], []
    for step in range(8000):
        for dev, site in series:
            k = len(nearly) + len(held)
            row = (dev, site, {"a": k + 0.5, "b": k, "s": "v%d" % k},
                   BASE + step * 250 * 10**6)
            r = rng.random()
            if r < 0.05:
                held.append(row)
            else:
                nearly.append(row)
            if r > 0.98:
                nearly.append((dev, site, {"b": -k}, row[3]))  # a and s stay the earlier
        if held and rng.random() < 0.3:
            nearly.extend(held)
            held = []
    nearly.extend(held)
    # "wide": more (partition, series) pairs than rows plus 65536, the two-pass sort:
    # about 850 of 1,000 series over 100 partitions, 2,000 rows
    wide = []
    for k in range(2000):
        dev = "w%03d" % rng.randrange(1000)
        t = BASE + rng.randrange(100) * PART_NS + rng.randrange(600) * 10**9
        wide.append((dev, "s0", {"a": k + 0.5}, t))
    _write_all(server, "shuffled", shuffled)
    _write_all(server, "nearly", nearly)
    _write_all(server, "wide", wide)
    res = flush(server, "sortdb")
    assert res["rows_buffered"] == len(shuffled) + len(nearly) + len(wide), res
    _check_table(server, "shuffled", shuffled)
    _check_table(server, "nearly", nearly)
    _check_table(server, "wide", wide)


DAY_NS = 24 * HOUR


def _file_starts(rows, rg, now_ns):
    """{partition start: file start} by the snapshot's rule for closed days: a closed
    day with at least a row group of (merged) rows is one file, or even pieces of at
    most 32 row groups cut at partition ends; other partitions are a file each."""
    per_part = {}
    for t in {(dev, site, t) for dev, site, _, t in rows}:
        p = t[2] - t[2] % PART_NS
        per_part[p] = per_part.get(p, 0) + 1
    out = {}
    for day in sorted({p - p % DAY_NS for p in per_part}):
        parts = sorted(p for p in per_part if p - p % DAY_NS == day)
        total = sum(per_part[p] for p in parts)
        closed = now_ns - PART_NS > day + DAY_NS
        if not closed or total < rg:
            out.update({p: p for p in parts})
            continue
        pieces = -(-total // (32 * rg))
        target = -(-total // pieces)
        start, acc = parts[0], 0
        for p in parts:
            if acc >= target:
                start, acc = p, 0
            out[p] = start
            acc += per_part[p]
    return out


def test_snapshot_writes_a_bulk_loaded_closed_day_as_one_file(server_factory):
    """Historical rows (days the clock has left behind) of one snapshot: a day with a
    row group of rows or more is one file (or even pieces of <= 32 row groups) instead
    of one per 10-minute partition, so compaction need not rewrite it; a day with a few
    late rows and the current day keep a file per partition."""
    rg = 100
    s = server_factory(extra_args=["--compaction-interval", "0", "--parquet-row-group-rows",
                                   str(rg)])
    rng = random.Random(11)
    rows = []
    # day 0: 700 points over 6 partitions, some repeated with other fields
    for k in range(700):
        dev = "d%d" % (k % 7)
        t = BASE + (k // 7) * 36 * 10**9 + rng.randrange(0, 3) * 10**9
        rows.append((dev, "s0", _random_fields(rng, k), t))
    # day 1: 30 late points over 3 partitions: fewer than a row group
    for k in range(30):
        rows.append(("d0", None, {"a": k + 0.5}, BASE + DAY_NS + (k % 3) * PART_NS + k))
    # day 2: 4,500 points over the whole day: over 32 row groups, two pieces
    for k in range(4500):
        rows.append(("d%d" % (k % 5), "s1", {"b": k}, BASE + 2 * DAY_NS + k * 19 * 10**9))
    # now: the current partition and the previous one (the current day is open)
    now = time.time_ns()
    cur = now - now % PART_NS
    for k in range(200):
        rows.append(("d%d" % (k % 4), None, {"b": k}, cur - PART_NS + k * 5 * 10**9))
    rng.shuffle(rows)
    _write_all(s, "bulk", rows)
    flush(s, "sortdb")
    starts = _file_starts(rows, rg, time.time_ns())
    assert len(set(starts.values())) == 1 + 3 + 2 + len({t - t % PART_NS for t in starts
                                                          if t >= cur - PART_NS})
    want = {}
    for p, objs in _expected_files(rows).items():
        want.setdefault(starts[p], []).extend(objs)
    for objs in want.values():
        objs.sort(key=lambda o: (o["dev"], "site" in o, o.get("site", ""), o["time"]))
    assert _files_of(s, "bulk") == want
    got = q(s, "SELECT * FROM bulk", db="sortdb")
    key = lambda o: (o["time"], o["dev"], o.get("site", ""))
    assert sorted(got, key=key) == sorted((o for objs in want.values() for o in objs), key=key)


def metrics(server):
    r = server.request("GET", "/metrics")
    assert r.status == 200, r
    assert r.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8"
    text = r.body.decode()
    assert text.endswith("\n# EOF\n"), text[-200:]
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        name, value = line.split(" ")
        out[name] = int(value)
    return out


def test_metrics_follow_the_buffer_into_files(server):
    """GET /metrics (Prometheus text, as Core serves it): the write buffer, the WAL
    against what is persisted, the files and the write totals, before and after a
    flush."""
    m = metrics(server)
    assert m["vigil_write_buffer_bytes"] == 0
    assert m["vigil_snapshots_total"] == 0 and m["vigil_parquet_files"] == 0
    assert m["vigil_write_lines_total"] == 0
    load(server)
    r = server.write("plant", "temp,machine=m0 celsius=1 1\nnot line protocol", precision="ns")
    assert r.status == 400, r
    m = metrics(server)
    assert m["vigil_write_buffer_bytes"] > 0
    assert m["vigil_memory_allocated_bytes"] >= m["vigil_write_buffer_bytes"]
    assert m["process_resident_memory_bytes"] > 0
    assert m["vigil_wal_last_sequence"] == 2 and m["vigil_wal_persisted_sequence"] == 0
    assert m["vigil_write_requests_total"] == 2
    assert m["vigil_write_lines_total"] == 62 and m["vigil_write_rejected_lines_total"] == 1
    res = flush(server)
    m = metrics(server)
    assert m["vigil_write_buffer_bytes"] == 0
    assert m["vigil_wal_persisted_sequence"] == 2
    assert m["vigil_snapshots_total"] == 1
    assert m["vigil_parquet_files"] == res["files"] == len(parquet_files(server))
    assert m["vigil_parquet_bytes"] == res["bytes"] == sum(
        os.path.getsize(os.path.join(server.data_dir, server.node_id, f))
        for f in parquet_files(server))
    assert m["vigil_write_buffer_limit_bytes"] > 0
