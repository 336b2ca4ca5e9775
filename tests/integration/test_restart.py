# Integration tests for durability across restarts: a clean restart keeps databases,
# data and the cluster uuid; --object-store memory keeps nothing; the on-disk layout
# (<data-dir>/<node-id>/catalog/catalog.log, <data-dir>/<node-id>/wal/<seq:020>.wal);
# and `vigil serve` flag handling.
import os
import re
import subprocess

import pytest

import vigil_harness as vh
from vigil_harness import canon


def test_restart_keeps_everything(server):
    uuid = server.cluster_uuid()
    assert server.create_db("empty").status == 200
    assert server.create_db("todelete").status == 200
    assert server.write("d1", "m,host=a f=1.5,i=2i,s=\"x\" 10\nm,host=b b=true 20",
                        precision="ns").status == 204
    assert server.write("d2", "n u=7u 30", endpoint="v2").status == 204
    assert server.write("d1", "m,host=a f=2.5 10", precision="ns").status == 204  # upsert
    assert server.request("DELETE", "/api/v3/configure/database?db=todelete").status == 200
    before = server.list_dbs(show_deleted=True)

    server.restart()
    assert server.cluster_uuid() == uuid
    assert server.list_dbs(show_deleted=True) == before
    assert server.db_names() == ["d1", "d2", "empty"]
    # the schema survived: a type conflict is still detected
    r = server.write("d1", 'm,host=a f="str" 11', precision="ns")
    assert r.status == 400, r
    assert server.write("d1", "m,host=c f=3.5 40", precision="ns").status == 204

    server.restart(extra_args=["--wal-flush-interval", "0"])
    assert server.db_names() == ["d1", "d2", "empty"]
    assert vh.dump_server(server) == [
        canon("d1", "m", {"host": "a"}, {"f": 2.5, "i": ("i", 2), "s": "x"}, 10),
        canon("d1", "m", {"host": "b"}, {"b": True}, 20),
        canon("d1", "m", {"host": "c"}, {"f": 3.5}, 40),
        canon("d2", "n", {}, {"u": ("u", 7)}, 30),
    ]


def test_restart_many_writes(server_factory):
    s = server_factory(["--wal-flush-interval", "0"])
    expected = []
    for i in range(50):
        body = "\n".join("m,s=s%d v=%di %d" % (j, i, i * 100 + j) for j in range(20))
        assert s.write("many", body, precision="ns").status == 204
        expected += [canon("many", "m", {"s": "s%d" % j}, {"v": ("i", i)}, i * 100 + j)
                     for j in range(20)]
    s.restart()
    assert s.write("many", "m,s=last v=0i 1", precision="ns").status == 204
    expected.append(canon("many", "m", {"s": "last"}, {"v": ("i", 0)}, 1))
    assert vh.dump_server(s) == expected


def test_restart_with_compressed_wal(server_factory):
    # Bodies of 4 KiB and more go into the WAL LZ4-compressed; they replay exactly, and
    # so do the plain records written before the flag was turned on.
    s = server_factory(["--wal-flush-interval", "0"])
    assert s.write("z", "m,s=plain v=1i 1", precision="ns").status == 204
    s.restart(extra_args=["--wal-compression", "lz4"])
    body = "\n".join("m,s=s%d v=%di %d" % (j % 7, j, 1000 + j) for j in range(500))
    assert len(body) > 4096
    assert s.write("z", body, precision="ns").status == 204
    s.restart(extra_args=["--wal-compression", "none"])
    expected = [canon("z", "m", {"s": "plain"}, {"v": ("i", 1)}, 1)]
    expected += [canon("z", "m", {"s": "s%d" % (j % 7)}, {"v": ("i", j)}, 1000 + j)
                 for j in range(500)]
    assert vh.dump_server(s) == sorted(expected)


def test_data_layout(server):
    assert server.write("lay", "m v=1 1").status == 204
    server.stop()
    node = os.path.join(server.data_dir, "test")
    assert os.path.isfile(os.path.join(node, "catalog", "catalog.log"))
    segs = os.listdir(os.path.join(node, "wal"))
    assert segs and all(re.match(r"^\d{20}\.wal$", n) for n in segs), segs


def test_object_store_memory_keeps_nothing(server_factory):
    s = server_factory(["--object-store", "memory"])
    assert s.create_db("mem1").status == 200
    assert s.write("mem2", "m v=1 1").status == 204
    assert s.db_names() == ["mem1", "mem2"]
    s.restart()
    assert s.db_names() == []
    assert s.write("mem3", "m v=1 1").status == 204
    assert s.db_names() == ["mem3"]


def test_object_store_file_explicit(server_factory):
    s = server_factory(["--object-store", "file", "--log-filter", "info"])
    assert s.write("f1", "m v=1 1", precision="ns").status == 204
    s.restart()
    assert s.db_names() == ["f1"]
    assert vh.dump_server(s) == [canon("f1", "m", {}, {"v": 1.0}, 1)]


def test_node_ids_are_separate(server_factory, tmp_path):
    d = str(tmp_path / "shared")
    a = server_factory(node_id="node-a", data_dir=d)
    assert a.write("only_a", "m v=1 1").status == 204
    uuid_a = a.cluster_uuid()
    a.stop()
    b = server_factory(node_id="node-b", data_dir=d)
    assert b.db_names() == []
    assert b.cluster_uuid() != uuid_a
    b.stop()
    assert sorted(os.listdir(d)) == ["node-a", "node-b"]


def run_vigil(vigil_bin, args, timeout=10):
    return subprocess.run([vigil_bin] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, timeout=timeout)


@pytest.mark.parametrize("extra", [["--bogus-flag"], ["--max-databases", "abc"],
                                   ["--object-store", "s4"], ["--max-http-request-size", "-1"],
                                   ["--log-filter", "loud"], ["--wal-flush-interval", "soon"]],
                         ids=lambda x: " ".join(x))
def test_serve_bad_flags(vigil_bin, tmp_path, extra):
    """server.h: `vigil serve` exits 2 for bad flags."""
    base = ["serve", "--node-id", "t", "--data-dir", str(tmp_path / "d"), "--without-auth",
            "--http-bind", "127.0.0.1:%d" % vh.free_port()]
    p = run_vigil(vigil_bin, base + extra)
    assert p.returncode == 2, (extra, p)
    assert p.stderr, extra
    for mark in vh.SANITIZER_MARKS:
        assert mark.encode() not in p.stderr


def test_serve_port_in_use(server, vigil_bin, tmp_path):
    """A second server on a port already in use must fail to start (exit 1), not share
    the port."""
    try:
        p = run_vigil(vigil_bin, ["serve", "--node-id", "t", "--data-dir", str(tmp_path / "d"),
                                  "--without-auth", "--http-bind",
                                  "127.0.0.1:%d" % server.port], timeout=5)
    except subprocess.TimeoutExpired:
        raise AssertionError("a second vigil started on port %d, already in use" % server.port)
    assert p.returncode == 1, p
    assert p.stderr
