# Integration tests for the limits of docs/http-api.md: the request body cap
# (--max-http-request-size, 413, also on the decompressed size of gzip bodies) and the
# catalog limits (--max-databases, --max-tables, --max-columns-per-table, 422).
import json

import vigil_harness as vh
from vigil_harness import canon

LIMIT = 1000


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def body_of_size(n):
    """A valid line-protocol body of exactly n bytes (one line plus a comment)."""
    head = b"m v=1 1\n#"
    assert n >= len(head)
    return head + b"x" * (n - len(head))


def raw_post(server, path, body, extra_headers=b""):
    req = (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Content-Length: " + str(len(body)).encode() + b"\r\n" + extra_headers +
           b"Connection: close\r\n\r\n" + body)
    return server.raw(req)


def test_body_limit_plain(server_factory):
    s = server_factory(["--max-http-request-size", str(LIMIT)])
    r = s.write("lim", body_of_size(LIMIT), precision="ns")
    assert (r.status, r.body) == (204, b""), r
    r = raw_post(s, "/api/v3/write_lp?db=lim2", body_of_size(LIMIT + 1))
    assert (r.status, r.body) == (413, b"max request size (1000 bytes) exceeded"), r
    r = raw_post(s, "/api/v3/write_lp?db=lim2", body_of_size(1 << 20))
    assert (r.status, r.body) == (413, b"max request size (1000 bytes) exceeded"), r
    for path in ("/api/v2/write?bucket=lim2", "/write?db=lim2"):
        r = raw_post(s, path, body_of_size(LIMIT + 1))
        assert (r.status, r.body) == (413, b"max request size (1000 bytes) exceeded"), (path, r)
    r = raw_post(s, "/api/v3/configure/database", b'{"db":"lim2"}' + b" " * LIMIT,
                 b"Content-Type: application/json\r\n")
    assert (r.status, r.body) == (413, b"max request size (1000 bytes) exceeded"), r
    # a chunked body has no Content-Length: the cap applies while it streams in
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in
                      [body_of_size(600), b"y" * 600]) + b"0\r\n\r\n"
    req = (b"POST /api/v3/write_lp?db=lim2 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks)
    r = s.raw(req)
    assert (r.status, r.body) == (413, b"max request size (1000 bytes) exceeded"), r
    # the server still works, and nothing of the refused bodies was written
    assert s.write("lim", "m v=2 2", precision="ns").status == 204
    assert s.db_names() == ["lim"]
    got = vh.dump_server(s)
    assert got == [canon("lim", "m", {}, {"v": 1.0}, 1), canon("lim", "m", {}, {"v": 2.0}, 2)]


def test_body_limit_gzip(server_factory):
    s = server_factory(["--max-http-request-size", str(LIMIT)])
    exact = body_of_size(LIMIT)
    r = s.write("gzl", vh.gz(exact), precision="ns", headers={"Content-Encoding": "gzip"})
    assert (r.status, r.body) == (204, b""), r
    over = body_of_size(LIMIT + 1)
    assert len(vh.gz(over)) < LIMIT
    r = s.write("gzl2", vh.gz(over), precision="ns", headers={"Content-Encoding": "gzip"})
    assert (r.status, r.body) == (413, b"max request size (1000 bytes) exceeded"), r
    many = b"m v=1 1\n" * 5000
    r = s.write("gzl2", vh.gz(many), precision="ns", headers={"Content-Encoding": "gzip"})
    assert (r.status, r.body) == (413, b"max request size (1000 bytes) exceeded"), r
    assert s.db_names() == ["gzl"]


def test_body_limit_default(server):
    r = raw_post(server, "/api/v3/write_lp?db=big", body_of_size(10485760 + 1))
    assert (r.status, r.body) == (413, b"max request size (10485760 bytes) exceeded"), r
    # a gzip bomb: 64 MiB of comment lines in ~64 KiB on the wire
    bomb = vh.gz(b"m v=1 1\n" + b"#" * (64 << 20))
    r = server.write("big", bomb, headers={"Content-Encoding": "gzip"})
    assert (r.status, r.body) == (413, b"max request size (10485760 bytes) exceeded"), r
    r = server.write("big", body_of_size(10485760), precision="ns")
    assert r.status == 204, r


def test_max_databases(server_factory):
    s = server_factory(["--max-databases", "2"])
    assert s.create_db("a").status == 200
    assert s.write("b", "m v=1 1").status == 204
    over = {"error": "Adding a new database would exceed limit of 2 databases"}
    r = s.create_db("c")
    assert (r.status, r.body) == (422, compact(over)), r
    r = s.write("c", "m v=1 1")
    assert (r.status, r.body) == (422, compact(over)), r
    r = s.write("c", "m v=1 1", endpoint="v1")
    assert r.status == 422, r
    assert s.db_names() == ["a", "b"]
    # soft-deleted databases do not count
    assert s.request("DELETE", "/api/v3/configure/database?db=a").status == 200
    assert s.create_db("c").status == 200
    assert s.db_names() == ["b", "c"]
    s.restart()
    r = s.create_db("d")
    assert (r.status, r.body) == (422, compact(over)), r
    assert s.db_names() == ["b", "c"]


def test_max_columns_per_table(server_factory):
    s = server_factory(["--max-columns-per-table", "4"])
    assert s.write("mc", "t,a=1 f=1,g=2 1", precision="ns").status == 204  # time,a,f,g
    lim = "Update to schema would exceed number of columns per table limit of 4 columns"
    r = s.write("mc", "t h=1 2\nt f=3 3", precision="ns")
    assert r.status == 422, r
    assert r.body == compact({"error": "partial write of line protocol occurred", "data": [
        {"error_message": lim + " at column 3", "line_number": 1, "original_line": "t h=1 2"}]})
    # a limit error and a parse error: 422 wins
    r = s.write("mc", "t,b=2 f=4 4\nt f= 5\nt f=6 6", precision="ns")
    assert r.status == 422, r
    assert r.body == compact({"error": "partial write of line protocol occurred", "data": [
        {"error_message": lim + " at column 3", "line_number": 1, "original_line": "t,b=2 f=4 4"},
        {"error_message": "No fields were provided at column 5", "line_number": 2,
         "original_line": "t f= 5"}]})
    # one new line with too many columns for a new table
    r = s.write("mc", "u a=1,b=2,c=3,d=4 1", precision="ns")
    assert r.status == 422, r
    assert r.json()["data"] == [{"error_message": lim + " at column 15", "line_number": 1,
                                 "original_line": "u a=1,b=2,c=3,d=4 1"}]
    r = s.write("mc", "u a=1,b=2,c=3 1", precision="ns")
    assert r.status == 204, r
    # accept_partial=false: whole batch refused, still 422
    r = s.write("mc", "t f=7 7\nt z=1 8", precision="ns", params={"accept_partial": "false"})
    assert r.status == 422, r
    assert r.body == compact({"error": "line protocol parsing error", "data": {
        "error_message": lim + " at column 3", "line_number": 2, "original_line": "t z=1 8"}})
    got = vh.dump_server(s)
    assert got == [
        canon("mc", "t", {"a": "1"}, {"f": 1.0, "g": 2.0}, 1),
        canon("mc", "t", {}, {"f": 3.0}, 3),
        canon("mc", "t", {}, {"f": 6.0}, 6),
        canon("mc", "u", {}, {"a": 1.0, "b": 2.0, "c": 3.0}, 1),
    ]


def test_max_tables(server_factory):
    s = server_factory(["--max-tables", "3"])
    assert s.write("x", "t1 v=1 1\nt2 v=1 1", precision="ns").status == 204
    assert s.write("y", "t3 v=1 1", precision="ns").status == 204
    r = s.write("y", "t4 v=1 1\nt3 v=2 2", precision="ns")
    assert r.status == 422, r
    assert r.body == compact({"error": "partial write of line protocol occurred", "data": [{
        "error_message": "Update to schema would exceed number of tables limit: attempted to "
                         "create table but already have 3 table(s) (limit: 3) at column 1",
        "line_number": 1, "original_line": "t4 v=1 1"}]}), r
    r = s.write("z", "t5 v=1 1", precision="ns", endpoint="v2")
    assert r.status == 422, r
    # deleting a database frees its tables
    assert s.request("DELETE", "/api/v3/configure/database?db=y").status == 200
    assert s.write("x", "t4 v=1 1", precision="ns").status == 204
    got = vh.dump_server(s)
    assert got == [canon("x", "t1", {}, {"v": 1.0}, 1), canon("x", "t2", {}, {"v": 1.0}, 1),
                   canon("x", "t4", {}, {"v": 1.0}, 1)]
