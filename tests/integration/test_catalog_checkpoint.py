# Integration test for catalog checkpoints: with a low --catalog-checkpoint-bytes,
# many snapshots and compactions keep <node>/catalog/catalog.log bounded (the server
# rewrites it as an image of the catalog and says so in its log), and a restart
# finds every row, every file and the same cluster uuid.
import os

import vigil_harness as vh
from vigil_harness import canon

BASE = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z, a closed day
FLOOR = 8192


def test_catalog_log_stays_bounded(server_factory):
    s = server_factory(extra_args=["--compaction-interval", "0",
                                   "--catalog-checkpoint-bytes", "8k"])
    uuid = s.cluster_uuid()
    log = os.path.join(s.node_dir, "catalog", "catalog.log")
    expected = []
    sizes = []
    for rnd in range(12):
        for snap in range(5):
            n = rnd * 5 + snap
            t = BASE + n * 10**9
            body = "\n".join("m,host=h%d v=%di %d" % (k, n, t + k) for k in range(3))
            assert s.write("ck", body, precision="ns").status == 204
            expected += [canon("ck", "m", {"host": "h%d" % k}, {"v": ("i", n)}, t + k)
                         for k in range(3)]
            r = s.request("POST", "/api/v3/persist")
            assert r.status == 200, r
            sizes.append(os.path.getsize(log))
        r = s.request("POST", "/api/v3/compact")
        assert r.status == 200, r
        assert r.json()["files_out"] == 1, r.json()
        sizes.append(os.path.getsize(log))
    # Without checkpoints the log only grows (each snapshot and compaction appends);
    # with them it drops back every few rounds and never passes the floor by more
    # than a commit.
    drops = sum(1 for a, b in zip(sizes, sizes[1:]) if b < a)
    assert drops >= 2, sizes
    assert max(sizes) <= FLOOR + 1024, sizes
    assert "checkpointed" in s.stderr_text()
    assert not os.path.exists(log + ".tmp")

    s.restart(extra_args=["--compaction-interval", "0", "--catalog-checkpoint-bytes", "8k"])
    assert s.cluster_uuid() == uuid
    r = s.request("GET", "/api/v3/query_sql?db=ck&q=SELECT%20count(*)%20AS%20c%20FROM%20m")
    assert r.status == 200, r
    assert r.json() == [{"c": len(expected)}]
    assert vh.dump_server(s) == sorted(expected)
