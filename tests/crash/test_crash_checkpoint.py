# Crash tests for catalog checkpoints: the server dies abruptly (VIGIL_CRASH_AT makes
# the catalog call _exit, as SIGKILL would) with the image whole in catalog.log.tmp
# but not renamed, and again just after the rename. A restart must find every
# acknowledged row, the same cluster uuid, no catalog.log.tmp, and a catalog that
# goes on: more snapshots, another checkpoint, another restart.
import os
import time

import pytest

import vigil_harness as vh
from vigil_harness import canon

BASE = 1_767_225_600 * 10**9
ARGS = ["--compaction-interval", "0", "--catalog-checkpoint-bytes", "4k"]


def wait_exit(server, timeout=20):
    deadline = time.monotonic() + timeout
    while server.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.proc.poll() is not None, "server did not die at the crash point"


def write_and_persist(s, n, acked):
    """Writes a few rows and snapshots them; False once the server has died."""
    t = BASE + n * 10**9
    body = "\n".join("m,host=h%d v=%di %d" % (k, n, t + k) for k in range(3))
    try:
        r = s.write("ck", body, precision="ns")
    except OSError:
        return False
    if r.status != 204:
        return False
    acked += [canon("ck", "m", {"host": "h%d" % k}, {"v": ("i", n)}, t + k) for k in range(3)]
    try:
        return s.request("POST", "/api/v3/persist", timeout=20).status == 200
    except OSError:
        return False


@pytest.mark.parametrize("point", ["checkpoint-written", "checkpoint-renamed"])
def test_crash_during_checkpoint(server_factory, point, monkeypatch):
    s = server_factory(extra_args=ARGS, start=False)
    monkeypatch.setenv("VIGIL_CRASH_AT", point)
    s.start()
    monkeypatch.delenv("VIGIL_CRASH_AT")
    uuid = s.cluster_uuid()
    log = os.path.join(s.node_dir, "catalog", "catalog.log")
    acked = []
    n = 0
    while write_and_persist(s, n, acked):
        n += 1
        assert n < 200, "no checkpoint after %d snapshots" % n
    n += 1  # rows n were written (acknowledged) before the snapshot died
    wait_exit(s)
    s.proc = None
    s._close_stderr()
    assert ("VIGIL_CRASH_AT=%s" % point) in s.stderr_text()
    tmp = log + ".tmp"
    if point == "checkpoint-written":
        assert os.path.getsize(tmp) > 0 and os.path.getsize(log) > 4096
    else:
        assert not os.path.exists(tmp) and os.path.getsize(log) < 4096

    s.start()
    assert not os.path.exists(tmp)
    assert s.cluster_uuid() == uuid
    if point == "checkpoint-written":
        assert "left by a checkpoint that did not finish" in s.stderr_text()
    # the catalog goes on: snapshots until the next checkpoint (once the log is 4x its
    # size at open), then a restart
    prev = os.path.getsize(log)
    for _ in range(200):
        assert write_and_persist(s, n, acked)
        n += 1
        size = os.path.getsize(log)
        if size < prev:
            break
        prev = size
    assert size < prev, "no checkpoint after the restart"
    assert "checkpointed" in s.stderr_text()
    s.restart()
    assert s.cluster_uuid() == uuid
    assert vh.dump_server(s) == vh.RowSet(acked)
