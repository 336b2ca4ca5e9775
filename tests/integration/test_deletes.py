# Integration tests for deletes (issue 4, "Retention and deletes"):
#   - row deletes, `DELETE FROM t WHERE <time range> [AND <tag predicates>]` over
#     /api/v3/query_sql (GET and POST) and `vigil query`: rows in the write buffer only,
#     in Parquet files only, in both; tag equality and IN lists; rows written after the
#     delete at the same (tag set, time) stay; the delete survives a clean restart,
#     kill -9, a crash between its WAL record and its catalog commit, and compaction
#     (which rewrites the files without the rows and retires the tombstone); other
#     shapes are a 400 naming what was found and where;
#   - hard deletes of a database and of a table (DELETE /api/v3/configure/database,
#     /api/v3/configure/table, hard_delete_at / hard_delete, `vigil delete`) remove
#     their Parquet files from disk, and queries no longer see them.
import json
import os
import subprocess
import time
from urllib.parse import quote

import pytest

BASE = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z, a closed day
MIN = 60 * 10**9
DEL_ONLY = "DELETE supports only time ranges and tag equality, found "


@pytest.fixture
def server(server_factory):
    """Background compaction off, so that file layouts are exact."""
    return server_factory(extra_args=["--compaction-interval", "0"])


# ---- helpers ----

def sql_get(server, sql, db="plant"):
    return server.request("GET", "/api/v3/query_sql?db=%s&q=%s" % (db, quote(sql, safe="")))


def sql_post(server, sql, db="plant", params=None):
    body = {"db": db, "q": sql}
    if params is not None:
        body["params"] = params
    return server.post_json("/api/v3/query_sql", body)


def q(server, sql, db="plant"):
    r = sql_get(server, sql, db)
    assert r.status == 200, r
    return r.json()


def delete(server, sql, db="plant", post=False, params=None):
    r = sql_post(server, sql, db, params) if post else sql_get(server, sql, db)
    assert r.status == 200, r
    assert r.header("Content-Type") == "application/json", r
    assert r.json() == {"deleted": True}, r
    return r


def error(r, status):
    assert r.status == status, r
    return r.json()["error"]


def flush(server):
    r = server.request("POST", "/api/v3/persist")
    assert r.status == 200, r
    return r.json()


def compact(server):
    r = server.request("POST", "/api/v3/compact")
    assert r.status == 200, r
    return r.json()


def files_under(server, *parts):
    root = os.path.join(server.node_dir, "dbs", *parts)
    out = []
    for d, _, files in os.walk(root):
        out += [os.path.relpath(os.path.join(d, f), server.node_dir) for f in files]
    return sorted(out)


def t_of(i):
    return BASE + i * MIN


def load(server, n, start=0, db="plant"):
    """Row i: machine m<i%3>, line l<i%2>, celsius i.5, n = i, one a minute from BASE."""
    lines = ["temp,machine=m%d,line=l%d celsius=%d.5,n=%di %d" % (i % 3, i % 2, i, i, t_of(i))
             for i in range(start, start + n)]
    assert server.write(db, "\n".join(lines), precision="ns").status == 204


def ns_of(server, where="", db="plant"):
    """The n of every row (in time order)."""
    sql = "SELECT n FROM temp %s ORDER BY time, machine" % where
    return [row.get("n") for row in q(server, sql, db)]


def ts(i):
    return "'2026-01-01T00:%02d:00Z'" % i


def wait_for(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


# ---- row deletes ----

def test_delete_rows_in_the_buffer(server):
    load(server, 30)
    delete(server, "DELETE FROM temp WHERE time >= %s AND time < %s AND machine = 'm1'"
           % (ts(10), ts(20)))
    assert ns_of(server) == [i for i in range(30) if not (10 <= i < 20 and i % 3 == 1)]
    assert q(server, "SELECT count(*) AS c FROM temp WHERE machine = 'm1'") == [{"c": 6}]
    assert files_under(server) == []  # nothing was persisted for it


def test_delete_rows_in_files(server):
    load(server, 30)
    flush(server)
    before = files_under(server)
    assert len(before) == 3
    delete(server, "DELETE FROM temp WHERE machine IN ('m0', 'm2') AND time <= %s" % ts(4),
           post=True)
    assert ns_of(server) == [1] + list(range(4, 30))
    # a tombstone hides them: the files stay as they are until compaction
    assert files_under(server) == before
    assert q(server, "SELECT count(*) AS c FROM temp WHERE machine = 'm0'") == [{"c": 8}]
    assert q(server, "SELECT machine, count(*) AS c FROM temp GROUP BY machine "
                     "ORDER BY machine") == [{"machine": "m0", "c": 8}, {"machine": "m1", "c": 10},
                                             {"machine": "m2", "c": 9}]
    rows = q(server, "SELECT sum(row_count) AS r FROM system.parquet_files")
    assert rows == [{"r": 30}]  # the files still hold the rows


def test_delete_rows_in_buffer_and_files(server):
    load(server, 20)
    flush(server)
    load(server, 10, start=20)  # buffered
    delete(server, "DELETE FROM temp WHERE time BETWEEN %s AND %s" % (ts(15), ts(24)))
    want = list(range(15)) + list(range(25, 30))
    assert ns_of(server) == want
    server.restart()  # a clean stop persists the buffer: replays nothing
    assert ns_of(server) == want
    flush(server)
    assert ns_of(server) == want


def test_tag_predicates_and_params(server):
    load(server, 12)
    flush(server)
    load(server, 12, start=12)
    # two tags, AND-ed: machine m0 on line l1 (i = 3, 9, 15, 21)
    delete(server, "DELETE FROM temp WHERE line = 'l1' AND 'm0' = machine")
    assert ns_of(server, "WHERE machine = 'm0'") == [0, 6, 12, 18]
    # a $param for the value, over POST
    delete(server, "DELETE FROM temp WHERE machine = $m AND time > now() - INTERVAL '36500 days'",
           post=True, params={"m": "m2"})
    assert ns_of(server) == [0, 1, 4, 6, 7, 10, 12, 13, 16, 18, 19, 22]
    # a value no row has, an empty time range: nothing happens
    delete(server, "DELETE FROM temp WHERE machine = 'nope'")
    delete(server, "DELETE FROM temp WHERE time > %s AND time < %s" % (ts(5), ts(3)))
    assert len(ns_of(server)) == 12
    # no WHERE: every row goes; the table stays and takes new rows
    delete(server, "DELETE FROM temp")
    assert ns_of(server) == []
    load(server, 1, start=40)
    assert ns_of(server) == [40]
    server.restart()
    assert ns_of(server) == [40]


def test_rows_written_after_the_delete_stay(server):
    load(server, 6)
    flush(server)  # i = 0..5 in a file
    load(server, 6, start=6)  # i = 6..11 buffered
    delete(server, "DELETE FROM temp WHERE machine = 'm0'")  # i = 0, 3, 6, 9
    # the same (tag set, time) again, with one field only: nothing of the deleted row
    # (its celsius) may show through
    body = "temp,machine=m0,line=l0 n=100i %d\ntemp,machine=m0,line=l0 n=106i %d" % (
        t_of(0), t_of(6))
    assert server.write("plant", body, precision="ns").status == 204
    want = [{"n": 100, "machine": "m0", "line": "l0", "time": "2026-01-01T00:00:00"},
            {"n": 106, "machine": "m0", "line": "l0", "time": "2026-01-01T00:06:00"}]
    sql = "SELECT * FROM temp WHERE machine = 'm0' ORDER BY time"
    assert q(server, sql) == want
    assert len(ns_of(server)) == 10
    flush(server)
    assert q(server, sql) == want
    server.kill()
    server.start()
    assert q(server, sql) == want
    compact(server)
    assert q(server, sql) == want
    server.restart()
    assert q(server, sql) == want
    assert len(ns_of(server)) == 10


def test_delete_survives_kill_and_restart(server):
    load(server, 12)
    flush(server)
    load(server, 12, start=12)  # these are in the WAL only
    delete(server, "DELETE FROM temp WHERE line = 'l1'")
    evens = list(range(0, 24, 2))
    server.kill()
    server.start()  # replay: the rows, then the delete at its place
    assert ns_of(server) == evens
    load(server, 2, start=1)  # i = 1 (l1, deleted before) and 2 (kept) written again
    server.kill()
    server.start()
    assert ns_of(server) == [0, 1] + evens[1:]
    rows = q(server, "SELECT n, line FROM temp WHERE time <= %s ORDER BY time" % ts(2))
    assert rows == [{"n": 0, "line": "l0"}, {"n": 1, "line": "l1"}, {"n": 2, "line": "l0"}]
    server.restart()
    assert ns_of(server) == [0, 1] + evens[1:]
    delete(server, "DELETE FROM temp WHERE time < %s" % ts(5))
    server.kill()
    server.start()
    assert ns_of(server) == [i for i in evens if i >= 5]


def test_delete_survives_compaction(server):
    load(server, 30)
    flush(server)  # three files (10-minute partitions) of a closed day
    load(server, 30, start=30)
    flush(server)  # three more
    assert len(files_under(server)) == 6
    delete(server, "DELETE FROM temp WHERE machine = 'm2'")
    want = [i for i in range(60) if i % 3 != 2]
    assert ns_of(server) == want
    res = compact(server)
    assert res["compactions"] == 1 and res["files_in"] == 6, res
    assert ns_of(server) == want
    # the rows are gone from the files themselves
    assert q(server, "SELECT sum(row_count) AS r FROM system.parquet_files") == [{"r": 40}]
    # and the tombstone is retired once no file needs it (the snapshot covered its WAL
    # record first, so a replay would not miss it)
    flush(server)
    assert wait_for(lambda: "1 delete(s) no longer hide any row of a file: dropped"
                    in server.stderr_text())
    # rows written after the delete are not hidden by anything
    load(server, 1, start=2)
    assert 2 in ns_of(server)
    server.restart()
    assert ns_of(server) == sorted(want + [2])


def test_a_single_file_is_rewritten_for_a_delete(server):
    load(server, 5)
    flush(server)
    before = files_under(server)
    assert len(before) == 1
    delete(server, "DELETE FROM temp WHERE machine = 'm1'")
    res = compact(server)
    assert (res["compactions"], res["files_in"], res["files_out"]) == (1, 1, 1), res
    after = files_under(server)
    assert len(after) == 1 and after != before
    assert q(server, "SELECT sum(row_count) AS r FROM system.parquet_files") == [{"r": 3}]
    assert ns_of(server) == [0, 2, 3]
    # a delete of every row of a file leaves no file at all
    delete(server, "DELETE FROM temp")
    compact(server)
    assert files_under(server) == []
    assert ns_of(server) == []


def test_bad_deletes_are_400_with_the_position(server):
    load(server, 3)
    cases = [
        ("DELETE FROM temp WHERE machine = 'm0' OR machine = 'm1'",
         DEL_ONLY + "OR at line 1, column 39"),
        ("DELETE FROM temp WHERE celsius > 5", DEL_ONLY + "celsius > 5 at line 1, column 24"),
        ("DELETE FROM temp WHERE n = 5",
         DEL_ONLY + "n = 5 ('n' is a field, not a tag) at line 1, column 24"),
        ("DELETE FROM temp\nWHERE time > 0\n  AND NOT machine = 'm0'",
         DEL_ONLY + "NOT at line 3, column 7"),
        ("DELETE FROM temp WHERE machine LIKE 'm%'",
         DEL_ONLY + "machine LIKE 'm%' at line 1, column 24"),
        ("DELETE FROM temp WHERE machine NOT IN ('m0')",
         DEL_ONLY + "machine NOT IN ('m0') at line 1, column 24"),
        ("DELETE FROM temp WHERE nope = 'x'",
         "Schema error: No field named 'nope' at line 1, column 24"),
        ("DELETE FROM tmp", "table 'tmp' not found at line 1, column 13. Did you mean 'temp'?"),
        ("DELETE FROM system.queries",
         "DELETE works on the tables of a database, not on system.queries at line 1, column 13"),
        ("DELETE FROM temp WHERE time > 'soon'",
         "Cannot parse 'soon' as a timestamp (expected RFC 3339, e.g. '2026-01-01T00:00:00Z') "
         "at line 1, column 31"),
    ]
    for sql, msg in cases:
        assert error(sql_get(server, sql), 400) == msg, sql
        assert error(sql_post(server, sql), 400) == msg, sql
    assert error(sql_get(server, "DELETE FROM temp", db="nope"), 404) == \
        "query error: database not found: nope"
    assert ns_of(server) == [0, 1, 2]  # nothing was deleted


def test_delete_with_the_cli(server):
    load(server, 6)
    host = "http://127.0.0.1:%d" % server.port
    p = subprocess.run([server.binary, "query", "--host", host, "--database", "plant",
                        "DELETE FROM temp WHERE machine = 'm0'"], capture_output=True, text=True)
    assert (p.returncode, p.stdout, p.stderr) == (0, '{"deleted":true}\n', "")
    p = subprocess.run([server.binary, "query", "--host", host, "--database", "plant",
                        "DELETE FROM temp WHERE celsius = 1"], capture_output=True, text=True)
    assert p.returncode == 1
    assert "found celsius = 1 ('celsius' is a field, not a tag) at line 1, column 24" in p.stderr
    assert ns_of(server) == [1, 2, 4, 5]


def test_crash_between_the_delete_record_and_its_tombstone(server, monkeypatch):
    load(server, 12)
    server.stop()  # a clean stop: the rows are in files
    monkeypatch.setenv("VIGIL_CRASH_AT", "delete-logged")
    server.start()
    monkeypatch.delenv("VIGIL_CRASH_AT")
    load(server, 6, start=12)  # buffered
    try:
        sql_get(server, "DELETE FROM temp WHERE machine = 'm1'")
    except OSError:  # the connection dies with the server
        pass
    deadline = time.monotonic() + 20
    while server.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.proc.poll() is not None, "the server did not die at the crash point"
    server.proc = None
    server._close_stderr()
    assert "VIGIL_CRASH_AT=delete-logged" in server.stderr_text()
    server.start()
    assert "recorded the row delete a crash interrupted" in server.stderr_text()
    want = [i for i in range(18) if i % 3 != 1]
    assert ns_of(server) == want
    server.restart()
    assert ns_of(server) == want
    assert "recorded the row delete" not in server.stderr_text()


# ---- hard deletes ----

def test_hard_delete_of_a_database_frees_its_files(server):
    load(server, 30)
    load(server, 5, db="keep")
    flush(server)
    load(server, 3, start=40)  # buffered rows go too
    assert len(files_under(server, "plant-0")) == 3
    kept = files_under(server, "keep-1")
    assert len(kept) == 1
    r = server.request("DELETE", "/api/v3/configure/database?db=plant&hard_delete_at=now")
    assert (r.status, r.body) == (200, b""), r
    assert not os.path.exists(os.path.join(server.node_dir, "dbs", "plant-0"))
    assert files_under(server, "keep-1") == kept
    assert error(sql_get(server, "SELECT * FROM temp"), 404) == \
        "query error: database not found: plant"
    assert q(server, "SELECT count(*) AS c FROM system.parquet_files", db="keep") == [{"c": 1}]
    # the name is free: a new, empty database
    load(server, 1, start=50)
    assert ns_of(server) == [50]
    server.kill()
    server.start()
    assert ns_of(server) == [50]
    assert ns_of(server, db="keep") == [0, 1, 2, 3, 4]
    assert not os.path.exists(os.path.join(server.node_dir, "dbs", "plant-0"))


def test_hard_delete_times(server_factory):
    s = server_factory(extra_args=["--compaction-interval", "0",
                                   "--hard-delete-default-duration", "2s"])
    for db in ("a", "b", "c", "d"):
        load(s, 3, db=db)
    flush(s)
    for i, db in enumerate("abcd"):
        assert len(files_under(s, "%s-%d" % (db, i))) == 1
    r = s.request("DELETE", "/api/v3/configure/database?db=a&hard_delete=true")
    assert r.status == 200, r
    assert files_under(s, "a-0") == []
    # never: the files stay, the database is gone
    r = s.request("DELETE", "/api/v3/configure/database?db=b&hard_delete_at=never")
    assert r.status == 200, r
    # default: after --hard-delete-default-duration, in the background
    r = s.request("DELETE", "/api/v3/configure/database?db=c")
    assert r.status == 200, r
    assert len(files_under(s, "c-2")) == 1
    # a time: RFC 3339
    r = s.request("DELETE", "/api/v3/configure/database?db=d&hard_delete_at=2026-01-01T00:00:00Z")
    assert r.status == 200, r
    assert files_under(s, "d-3") == []  # already past
    assert wait_for(lambda: files_under(s, "c-2") == [], timeout=15)
    assert len(files_under(s, "b-1")) == 1
    s.restart()
    assert len(files_under(s, "b-1")) == 1
    assert files_under(s, "c-2") == []
    r = s.request("DELETE", "/api/v3/configure/database?db=zz&hard_delete_at=soon")
    assert (r.status, r.text) == (400, "serde error: invalid hard_delete_at 'soon': expected "
                                       "never, now, default or an RFC 3339 time")
    r = s.request("DELETE", "/api/v3/configure/database?db=zz&hard_delete=yes")
    assert r.status == 400, r


def test_hard_delete_of_a_table_frees_its_files(server):
    load(server, 30)
    assert server.write("plant", "power,machine=m0 kw=1.5 %d" % t_of(0),
                        precision="ns").status == 204
    flush(server)
    load(server, 4, start=30)  # buffered, in the WAL only
    assert len(files_under(server, "plant-0", "temp-0")) == 3
    power = files_under(server, "plant-0", "power-1")
    assert len(power) == 1
    r = server.request("DELETE", "/api/v3/configure/table?db=plant&table=temp&hard_delete_at=now")
    assert (r.status, r.body) == (200, b""), r
    assert not os.path.exists(os.path.join(server.node_dir, "dbs", "plant-0", "temp-0"))
    assert files_under(server, "plant-0", "power-1") == power
    assert error(sql_get(server, "SELECT * FROM temp"), 400).startswith(
        "table 'temp' not found at line 1, column 15")
    tables = q(server, "SELECT table_name FROM information_schema.tables "
                       "WHERE table_schema = 'iox'")
    assert tables == [{"table_name": "power"}]
    assert [f["table_name"] for f in q(server, "SELECT table_name FROM system.parquet_files")] \
        == ["power"]
    # the name is free again; a kill -9 does not bring the old buffered rows back
    load(server, 1, start=50)
    assert ns_of(server) == [50]
    server.kill()
    server.start()
    assert ns_of(server) == [50]
    assert q(server, "SELECT kw FROM power") == [{"kw": 1.5}]
    server.restart()
    assert ns_of(server) == [50]


def test_table_delete_errors_and_soft_delete(server):
    load(server, 3)
    flush(server)
    path = "/api/v3/configure/table"
    r = server.request("DELETE", path + "?db=plant")
    assert (r.status, r.text) == (400, "serde error: missing field `table`")
    r = server.request("DELETE", path + "?table=temp")
    assert (r.status, r.text) == (400, "serde error: missing field `db`")
    r = server.request("DELETE", path + "?db=plant&table=nope")
    assert (r.status, r.text) == (404, "table not found: nope")
    r = server.request("DELETE", path + "?db=nope&table=temp")
    assert (r.status, r.text) == (404, "database not found: nope")
    # soft delete, files kept (never), the table gone for queries
    files = files_under(server)
    r = server.request("DELETE", path + "?db=plant&table=temp&hard_delete_at=never")
    assert r.status == 200, r
    assert files_under(server) == files
    assert error(sql_get(server, "SELECT * FROM temp"), 400).startswith("table 'temp' not found")
    r = server.request("DELETE", path + "?db=plant&table=temp")
    assert (r.status, r.text) == (404, "table not found: temp")
    server.restart()
    assert files_under(server) == files


def test_hard_delete_with_the_cli(server):
    load(server, 3)
    assert server.write("plant", "power kw=1 %d" % t_of(0), precision="ns").status == 204
    flush(server)
    host = "http://127.0.0.1:%d" % server.port

    def cli(*args):
        p = subprocess.run([server.binary] + list(args) + ["--host", host], capture_output=True,
                           text=True)
        return p.returncode, p.stdout, p.stderr

    assert cli("delete", "table", "--database", "plant", "temp", "--hard-delete", "now",
               "-y") == (0, 'Table "plant"."temp" deleted successfully\n', "")
    assert files_under(server, "plant-0", "temp-0") == []
    assert len(files_under(server, "plant-0")) == 1
    rc, _, err = cli("delete", "table", "--database", "plant", "temp", "-y")
    assert (rc, err) == (1, 'Error: cannot delete table "plant"."temp": table not found: temp '
                            '(HTTP 404)\n')
    rc, _, err = cli("delete", "table", "temp", "-y")
    assert rc == 2 and "no database given" in err
    rc, _, err = cli("delete", "database", "plant", "--hard-delete", "later", "-y")
    assert rc == 2 and "bad --hard-delete 'later'" in err
    assert cli("delete", "database", "plant", "--hard-delete", "now", "-y") == (
        0, 'Database "plant" deleted successfully\n', "")
    assert not os.path.exists(os.path.join(server.node_dir, "dbs", "plant-0"))


def test_deletes_over_overlapping_files_and_every_query_shape(server):
    load(server, 10)
    flush(server)
    # the same rows again, other values: a second file overlapping the first (dedup)
    body = "\n".join("temp,machine=m%d,line=l%d n=%di %d" % (i % 3, i % 2, 100 + i, t_of(i))
                     for i in range(10))
    assert server.write("plant", body, precision="ns").status == 204
    flush(server)
    load(server, 3, start=10)  # and some buffered
    # every row of the first minutes goes, through tag predicates (row groups are read
    # and come out empty), and one more row by time
    delete(server, "DELETE FROM temp WHERE line IN ('l0', 'l1') AND time < %s" % ts(4))
    delete(server, "DELETE FROM temp WHERE time = %s" % ts(11))
    want = [104, 105, 106, 107, 108, 109, 10, 12]
    assert ns_of(server) == want
    assert q(server, "SELECT count(*) AS c, min(n) AS lo FROM temp") == [{"c": 8, "lo": 10}]
    assert q(server, "SELECT n FROM temp ORDER BY time DESC LIMIT 3") == [
        {"n": 12}, {"n": 10}, {"n": 109}]
    assert q(server, "SELECT n FROM temp ORDER BY time LIMIT 2") == [{"n": 104}, {"n": 105}]
    assert q(server, "SELECT machine, count(*) AS c FROM temp GROUP BY machine "
                     "ORDER BY machine") == [{"machine": "m0", "c": 3}, {"machine": "m1", "c": 3},
                                             {"machine": "m2", "c": 2}]
    assert q(server, "SELECT n FROM temp WHERE machine = 'm1' ORDER BY time") == [
        {"n": 104}, {"n": 107}, {"n": 10}]
    # celsius came only from the first file: its rows at 4..9 stay merged in
    assert q(server, "SELECT celsius FROM temp WHERE time = %s" % ts(5)) == [{"celsius": 5.5}]
    server.kill()
    server.start()
    assert ns_of(server) == want
    compact(server)
    assert ns_of(server) == want
    assert q(server, "SELECT celsius FROM temp WHERE time = %s" % ts(5)) == [{"celsius": 5.5}]
