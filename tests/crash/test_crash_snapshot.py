# Crash tests for snapshots (issue 4): the server is made to die abruptly (as SIGKILL
# would: VIGIL_CRASH_AT makes persist call _exit) between each two steps of a
# snapshot (files written / catalog committed / published / WAL removed), and also
# with SIGKILL while snapshots run under load. Every restart must give back exactly
# the acknowledged rows, with no duplicates and no Parquet file the catalog does not
# list; the next snapshot then works.
import os
import time

import pytest

import vigil_harness as vh
from vigil_harness import canon

BASE = 1_767_225_600 * 10**9


def parquet_files(server):
    root = os.path.join(server.data_dir, server.node_id, "dbs")
    out = []
    for d, _, files in os.walk(root):
        out += [os.path.join(d, f) for f in files]
    return sorted(out)


def rows(n, start=0, value=1.0):
    lines, canons = [], []
    for i in range(start, start + n):
        t = BASE + i * 60 * 10**9
        lines.append("m,dev=d%d v=%r,i=%di %d" % (i % 4, value + i, i, t))
        canons.append(canon("db", "m", {"dev": "d%d" % (i % 4)}, {"v": value + i, "i": ("i", i)}, t))
    return "\n".join(lines), canons


def wait_exit(server, timeout=20):
    deadline = time.monotonic() + timeout
    while server.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.proc.poll() is not None, "server did not die at the crash point"


@pytest.mark.parametrize("point", ["files-written", "catalog-committed", "published",
                                   "wal-removed"])
def test_crash_between_snapshot_steps(server_factory, point, monkeypatch):
    s = server_factory(extra_args=["--compaction-interval", "0"])
    body, expect = rows(40)
    assert s.write("db", body, precision="ns").status == 204
    s.stop()  # a clean stop persists: these rows are in files now
    monkeypatch.setenv("VIGIL_CRASH_AT", point)
    s.start()
    monkeypatch.delenv("VIGIL_CRASH_AT")
    # an upsert of persisted rows and new rows, then a snapshot that dies at `point`
    body2, expect2 = rows(30, start=30, value=100.0)
    assert s.write("db", body2, precision="ns").status == 204
    try:
        s.request("POST", "/api/v3/persist", timeout=20)
    except (OSError, Exception):  # the connection dies with the server
        pass
    wait_exit(s)
    s.proc = None
    s._close_stderr()
    assert ("VIGIL_CRASH_AT=%s" % point) in s.stderr_text()
    s.start()
    want = vh.RowSet(expect[:30] + expect2)
    # no orphans: every file on disk is one the catalog lists
    listed = s.request("GET", "/api/v3/query_sql?db=db&q=SELECT%20path%20FROM%20system.parquet_files")
    paths = sorted(os.path.join(s.data_dir, s.node_id, f["path"]) for f in listed.json())
    assert parquet_files(s) == paths
    count = s.request("GET", "/api/v3/query_sql?db=db&q=SELECT%20count(*)%20AS%20c%20FROM%20m")
    assert count.json() == [{"c": 60}]
    # the next snapshot works and the data is still exact
    assert s.request("POST", "/api/v3/persist").status == 200
    assert vh.dump_server(s) == want


def test_sigkill_during_snapshots_under_load(server_factory):
    s = server_factory(extra_args=["--max-buffer-bytes", "64k"])
    acked = []
    for b in range(30):
        body, canons = rows(50, start=b * 50)
        assert s.write("db", body, precision="ns").status == 204
        acked += canons
    s.kill()
    s.start()
    assert vh.dump_server(s) == vh.RowSet(acked)


@pytest.mark.parametrize("point", ["compaction-written", "compaction-committed"])
def test_crash_during_compaction(server_factory, point, monkeypatch):
    s = server_factory(extra_args=["--compaction-interval", "0"])
    expect = []
    for b in range(3):
        body, canons = rows(20, start=b * 20)
        assert s.write("db", body, precision="ns").status == 204
        assert s.request("POST", "/api/v3/persist").status == 200
        expect += canons
    inputs = len(parquet_files(s))
    assert inputs == 6  # 20 one-minute rows span two 10m partitions
    s.stop()
    monkeypatch.setenv("VIGIL_CRASH_AT", point)
    s.start()
    monkeypatch.delenv("VIGIL_CRASH_AT")
    try:
        s.request("POST", "/api/v3/compact", timeout=20)
    except Exception:  # the connection dies with the server
        pass
    wait_exit(s)
    s.proc = None
    s._close_stderr()
    s.start()
    listed = s.request("GET", "/api/v3/query_sql?db=db&q=SELECT%20path%20FROM%20system.parquet_files")
    paths = sorted(os.path.join(s.data_dir, s.node_id, f["path"]) for f in listed.json())
    assert parquet_files(s) == paths  # no orphans, inputs or outputs
    assert len(paths) == (inputs if point == "compaction-written" else 1)
    assert s.request("POST", "/api/v3/compact").status == 200
    assert vh.dump_server(s) == vh.RowSet(expect)
