# Integration tests for the write endpoints of docs/http-api.md (/api/v3/write_lp,
# /api/v2/write, /write): precisions, value types, upserts, partial writes with exact
# error bodies, whole-batch rejection, type conflicts, reserved columns, empty and
# non-UTF-8 bodies, query-parameter errors, content encodings. Stored data is read
# back with crash_dump after a clean stop.
import json
import time

import pytest

import vigil_harness as vh
from vigil_harness import canon

NS = 1_000_000_000
T0 = 1_700_000_000  # seconds


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def trunc20(line):
    """original_line as Core echoes it: the first 20 bytes, cut down to a UTF-8
    boundary."""
    b = line.encode("utf-8")[:20]
    while True:
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            b = b[:-1]


def err(msg, line_no, line):
    return {"error_message": msg, "line_number": line_no, "original_line": trunc20(line)}


def partial_body(*errors):
    return compact({"error": "partial write of line protocol occurred", "data": list(errors)})


def parsing_body(error):
    return compact({"error": "line protocol parsing error", "data": error})


def assert_text(r, status, text):
    assert (r.status, r.body) == (status, text.encode("utf-8")), r


def assert_json(r, status, obj):
    assert r.status == status, r
    assert r.body == compact(obj), r


def rows_of(lines, db):
    return vh.RowSet(l for l in lines if l.startswith(db + "\t"))


# ---------------------------------------------------------------- success paths

def test_write_v3_basic(shared_server, dbname):
    r = shared_server.write(dbname, "cpu,host=a usage=0.5 %d" % (T0 * NS))
    assert (r.status, r.body) == (204, b""), r
    assert r.header("Access-Control-Allow-Origin") == "*"
    assert dbname in shared_server.db_names()


def test_write_v2_v1_basic(shared_server, dbname):
    r = shared_server.write(dbname, "cpu,host=a usage=0.5 1", endpoint="v2",
                            params={"org": "ignored"})
    assert (r.status, r.body) == (204, b""), r
    r = shared_server.write(dbname + "x", "cpu,host=a usage=0.5 1", endpoint="v1",
                            params={"u": "user", "p": "password"})
    assert (r.status, r.body) == (204, b""), r
    names = shared_server.db_names()
    assert dbname in names and dbname + "x" in names


V3_PRECISIONS = [
    # (spelling or None, written timestamp, stored ns)
    (None, T0, T0 * NS),
    ("auto", T0, T0 * NS),
    ("auto", T0 * 1000 + 123, (T0 * 1000 + 123) * 1_000_000),
    ("auto", T0 * 1_000_000 + 123456, (T0 * 1_000_000 + 123456) * 1000),
    ("auto", T0 * NS + 123456789, T0 * NS + 123456789),
    ("nanosecond", T0 * NS + 1, T0 * NS + 1),
    ("ns", T0 * NS + 2, T0 * NS + 2),
    ("n", T0 * NS + 3, T0 * NS + 3),
    ("microsecond", T0 * 1_000_000 + 4, (T0 * 1_000_000 + 4) * 1000),
    ("us", T0 * 1_000_000 + 5, (T0 * 1_000_000 + 5) * 1000),
    ("u", T0 * 1_000_000 + 6, (T0 * 1_000_000 + 6) * 1000),
    ("millisecond", T0 * 1000 + 7, (T0 * 1000 + 7) * 1_000_000),
    ("ms", T0 * 1000 + 8, (T0 * 1000 + 8) * 1_000_000),
    ("second", T0 + 9, (T0 + 9) * NS),
    ("s", T0 + 10, (T0 + 10) * NS),
    ("ns", -1000, -1000),
    ("s", 0, 0),
]

V12_PRECISIONS = [
    (None, T0, T0),  # default ns
    ("nanosecond", T0 + 1, T0 + 1),
    ("ns", T0 + 2, T0 + 2),
    ("n", T0 + 3, T0 + 3),
    ("microsecond", T0 + 4, (T0 + 4) * 1000),
    ("us", T0 + 5, (T0 + 5) * 1000),
    ("u", T0 + 6, (T0 + 6) * 1000),
    ("millisecond", T0 + 7, (T0 + 7) * 1_000_000),
    ("ms", T0 + 8, (T0 + 8) * 1_000_000),
    ("second", T0 + 9, (T0 + 9) * NS),
    ("s", T0 + 10, (T0 + 10) * NS),
]


def test_precisions_all_endpoints(server):
    expected = []
    for api, table in (("v3", V3_PRECISIONS), ("v2", V12_PRECISIONS), ("v1", V12_PRECISIONS)):
        for i, (prec, ts, stored) in enumerate(table):
            tag = "%s_%d" % (prec or "default", i)
            r = server.write("prec", "m,api=%s,p=%s v=%d %d" % (api, tag, i, ts),
                             precision=prec, endpoint=api)
            assert (r.status, r.body) == (204, b""), (api, prec, r)
            expected.append(canon("prec", "m", {"api": api, "p": tag}, {"v": float(i)}, stored))
    got = rows_of(vh.dump_server(server), "prec")
    assert sorted(got) == sorted(expected)


def test_missing_timestamp_uses_server_time(server):
    before = time.time_ns()
    for api, prec in (("v3", "s"), ("v3", "ms"), ("v3", None), ("v2", None), ("v1", "us")):
        r = server.write("nots", "m,api=%s,p=%s v=1" % (api, prec or "default"),
                         precision=prec, endpoint=api)
        assert r.status == 204, r
    after = time.time_ns()
    got = rows_of(vh.dump_server(server), "nots")
    assert len(got) == 5, got
    unit = {"s": NS, "ms": 1_000_000, "us": 1000, "default": 1}
    for line in got:
        t = int(line.rsplit(" ", 1)[1])
        p = line.split("p=")[1].split(" ")[0]
        assert before - NS <= t <= after, line
        assert t % unit[p] == 0, line


def test_value_types_and_escapes(server):
    body = "\n".join([
        r'types,host=a f=1.5,g=-0.25,h=1e300,one=1,i=-5i,u=18446744073709551615u,'
        r's="a \"q\" \\ b",e="" 1000',
        "types,host=a b1=t,b2=T,b3=true,b4=True,b5=TRUE 2000",
        "types,host=a b1=f,b2=F,b3=false,b4=False,b5=FALSE 3000",
        r"esc\,m\ x,t\ k=v\=1\,2 f\=x=1i 4000",
        "types,host=b i=9223372036854775807i,j=-9223372036854775808i,k=0u 5000",
    ])
    r = server.write("types", body, precision="ns")
    assert (r.status, r.body) == (204, b""), r
    got = rows_of(vh.dump_server(server), "types")
    assert got == [
        canon("types", "esc,m x", {"t k": "v=1,2"}, {"f=x": ("i", 1)}, 4000),
        canon("types", "types", {"host": "a"},
              {"f": 1.5, "g": -0.25, "h": 1e300, "one": 1.0, "i": ("i", -5),
               "u": ("u", 18446744073709551615), "s": 'a "q" \\ b', "e": ""}, 1000),
        canon("types", "types", {"host": "a"},
              {"b1": True, "b2": True, "b3": True, "b4": True, "b5": True}, 2000),
        canon("types", "types", {"host": "a"},
              {"b1": False, "b2": False, "b3": False, "b4": False, "b5": False}, 3000),
        canon("types", "types", {"host": "b"},
              {"i": ("i", 9223372036854775807), "j": ("i", -9223372036854775808),
               "k": ("u", 0)}, 5000),
    ]


def test_upsert_later_wins_field_by_field(server):
    assert server.write("up", "up,host=a x=1,y=1 100", precision="ns").status == 204
    assert server.write("up", "up,host=a x=2,z=2 100", precision="ns").status == 204
    assert server.write("up", "up,host=a y=3 100\nup,host=a x=4 100\nup,host=a,dc=1 x=5 100",
                        precision="ns").status == 204
    assert server.write("up", "up,host=a x=6 101", endpoint="v1").status == 204
    got = rows_of(vh.dump_server(server), "up")
    assert got == [
        canon("up", "up", {"dc": "1", "host": "a"}, {"x": 5.0}, 100),
        canon("up", "up", {"host": "a"}, {"x": 4.0, "y": 3.0, "z": 2.0}, 100),
        canon("up", "up", {"host": "a"}, {"x": 6.0}, 101),
    ]


def test_no_sync(server):
    r = server.write("nosync", "m v=1 1", precision="ns", params={"no_sync": "true"})
    assert (r.status, r.body) == (204, b""), r
    r = server.write("nosync", "m v=2 2", precision="ns", params={"no_sync": "false"})
    assert (r.status, r.body) == (204, b""), r
    assert rows_of(vh.dump_server(server), "nosync") == [
        canon("nosync", "m", {}, {"v": 1.0}, 1), canon("nosync", "m", {}, {"v": 2.0}, 2)]


def test_comments_and_blank_lines(server):
    body = "# header\n\n   \nm v=1 1\n\t# indented comment\nm v=2 2\n\n"
    r = server.write("cmt", body, precision="ns")
    assert (r.status, r.body) == (204, b""), r
    assert rows_of(vh.dump_server(server), "cmt") == [
        canon("cmt", "m", {}, {"v": 1.0}, 1), canon("cmt", "m", {}, {"v": 2.0}, 2)]


# ---------------------------------------------------------------- partial writes

def test_partial_write_documented_example(server):
    body = "cpu,host=a val=1 1\ncpu,host=a val= 123\ncpu,host=a val=2 2\n"
    r = server.write("pw", body, precision="ns")
    assert r.status == 400, r
    assert r.body == (b'{"error":"partial write of line protocol occurred","data":[{"error_message":'
                      b'"No fields were provided at column 16","line_number":2,'
                      b'"original_line":"cpu,host=a val= 123"}]}')
    assert rows_of(vh.dump_server(server), "pw") == [
        canon("pw", "cpu", {"host": "a"}, {"val": 1.0}, 1),
        canon("pw", "cpu", {"host": "a"}, {"val": 2.0}, 2)]


def test_partial_write_several_bad_lines(server):
    lines = [
        "m,host=a v=1 1700000000000000001",               # 1 good
        "m,host=a,host=b v=1 1700000000000000002",        # 2 duplicate tag
        "m w=1i,w=2i 1700000000000000003",                # 3 duplicate field
        "",                                               # 4 blank
        "# comment",                                      # 5 comment
        "m,host=a val= 123",                              # 6 no fields
        ",host=a v=1 1700000000000000004",                # 7 no measurement
        "m x=99999999999999999999i 1700000000000000005",  # 8 integer overflow
        "m,host=b v=2 1700000000000000006",               # 9 good
    ]
    r = server.write("pw2", "\n".join(lines), precision="ns")
    assert r.status == 400, r
    assert r.body == partial_body(
        err("Must not contain duplicate tags, but `host` was repeated at column 10", 2, lines[1]),
        err("invalid line protocol - multiple instances of 'w' field found at column 8", 3,
            lines[2]),
        err("No fields were provided at column 14", 6, lines[5]),
        err("Invalid measurement was provided at column 1", 7, lines[6]),
        err("Unable to parse integer value `99999999999999999999` at column 5", 8, lines[7]),
    ), r
    assert rows_of(vh.dump_server(server), "pw2") == [
        canon("pw2", "m", {"host": "a"}, {"v": 1.0}, 1700000000000000001),
        canon("pw2", "m", {"host": "b"}, {"v": 2.0}, 1700000000000000006)]


@pytest.mark.parametrize("prefix", [
    "cpu,host=server01.example.com",   # plain ASCII, cut at 20
    "cpu,host=aaaaaaaaaé",              # 2-byte char split by the 20-byte cut
    "cpu,host=aaaaaaaaa€",              # 3-byte char split
    "cpu,host=aaaaaaaa😀",              # 4-byte char split
    "cpu,host=aaaaaaaaaé",               # 2-byte char ends exactly at byte 20
    "cpu,h=ééééééé",                   # 6 + 14 bytes: ends exactly at 20
])
def test_original_line_truncated_to_20_bytes(shared_server, dbname, prefix):
    bad = prefix + " val= 1"
    col = len(prefix.encode("utf-8")) + 6  # the byte after "val="
    body = "m v=1 1\n" + bad
    r = shared_server.write(dbname, body, precision="ns")
    assert r.status == 400, r
    expected = trunc20(bad)
    assert len(expected.encode("utf-8")) <= 20
    assert r.json() == {"error": "partial write of line protocol occurred", "data": [
        {"error_message": "No fields were provided at column %d" % col, "line_number": 2,
         "original_line": expected}]}, r
    assert r.body == partial_body(err("No fields were provided at column %d" % col, 2, bad))


def test_original_line_short_line_untouched(shared_server, dbname):
    r = shared_server.write(dbname, "m v=1 1\nm,h=é v=", precision="ns")
    assert r.status == 400, r
    assert r.json()["data"][0]["original_line"] == "m,h=é v="


def test_all_lines_bad_accept_partial(server):
    lines = ["cpu,host=a val= 1", "cpu,host=a val= 2"]
    r = server.write("allbad", "\n".join(lines), precision="ns")
    assert r.status == 400, r
    assert r.body == partial_body(err("No fields were provided at column 16", 1, lines[0]),
                                  err("No fields were provided at column 16", 2, lines[1]))
    assert rows_of(vh.dump_server(server), "allbad") == []


def test_accept_partial_false(server):
    body = "cpu,host=a val=1 1\ncpu,host=a val= 123\ncpu,host=a val= 2\ncpu,host=a val=3 3\n"
    r = server.write("apf", body, precision="ns", params={"accept_partial": "false"})
    assert r.status == 400, r
    assert r.body == parsing_body(err("No fields were provided at column 16", 2,
                                      "cpu,host=a val= 123")), r
    r = server.write("apf", "cpu,host=a val=4 4", precision="ns",
                     params={"accept_partial": "true"})
    assert r.status == 204, r
    assert rows_of(vh.dump_server(server), "apf") == [
        canon("apf", "cpu", {"host": "a"}, {"val": 4.0}, 4)]


def test_accept_partial_false_type_conflict(server):
    assert server.write("apf2", "m v=1 1", precision="ns").status == 204
    body = "m v=2 2\nm v=\"x\" 3\n"
    r = server.write("apf2", body, precision="ns", params={"accept_partial": "false"})
    assert r.status == 400, r
    assert r.body == parsing_body(err(
        "invalid column type for column 'v', expected iox::column_type::field::float, "
        "got iox::column_type::field::string at column 3", 2, 'm v="x" 3')), r
    assert rows_of(vh.dump_server(server), "apf2") == [canon("apf2", "m", {}, {"v": 1.0}, 1)]


# ---------------------------------------------------------------- v1 / v2 whole batch

def test_v2_rejects_whole_batch(server):
    body = "cpu,host=a val=1 1\ncpu,host=a val= 123\ncpu,host=a val=2 2\n"
    r = server.write("v2rej", body, endpoint="v2")
    assert r.status == 400, r
    assert r.body == compact({"code": "invalid", "message":
                              "write buffer error: line protocol parse failed: line 2: "
                              "No fields were provided at column 16"}), r
    assert server.write("v2rej", "cpu,host=a val=9 9", endpoint="v2").status == 204
    assert rows_of(vh.dump_server(server), "v2rej") == [
        canon("v2rej", "cpu", {"host": "a"}, {"val": 9.0}, 9)]


def test_v1_rejects_whole_batch(server):
    body = "cpu,host=a val=1 1\ncpu,host=a val= 123\ncpu,host=a val=2 2\n"
    r = server.write("v1rej", body, endpoint="v1")
    assert r.status == 400, r
    assert r.body == parsing_body(err("No fields were provided at column 16", 2,
                                      "cpu,host=a val= 123")), r
    assert server.write("v1rej", "cpu,host=a val=9 9", endpoint="v1").status == 204
    assert rows_of(vh.dump_server(server), "v1rej") == [
        canon("v1rej", "cpu", {"host": "a"}, {"val": 9.0}, 9)]


def test_v1_v2_type_conflict_rejects_batch(server):
    assert server.write("v12tc", "m v=1 1", endpoint="v1").status == 204
    r = server.write("v12tc", "m v=2 2\nm v=3i 3", endpoint="v1")
    assert r.status == 400, r
    msg = ("invalid column type for column 'v', expected iox::column_type::field::float, "
           "got iox::column_type::field::integer at column 3")
    assert r.body == parsing_body(err(msg, 2, "m v=3i 3")), r
    r = server.write("v12tc", "m v=2 2\nm v=3i 3", endpoint="v2")
    assert r.status == 400, r
    assert r.body == compact({"code": "invalid", "message":
                              "write buffer error: line protocol parse failed: line 2: " + msg})
    assert rows_of(vh.dump_server(server), "v12tc") == [canon("v12tc", "m", {}, {"v": 1.0}, 1)]


def test_v2_missing_bucket(shared_server):
    for path in ("/api/v2/write", "/api/v2/write?org=x", "/api/v2/write?precision=ns"):
        r = shared_server.request("POST", path, body=b"m v=1 1")
        assert_json(r, 400, {"code": "invalid", "message": "missing bucket value"})


def test_v1_missing_db(shared_server):
    r = shared_server.request("POST", "/write", body=b"m v=1 1")
    assert_json(r, 400, {"error": "no db destination provided"})
    r = shared_server.request("POST", "/write?precision=s", body=b"m v=1 1")
    assert_json(r, 400, {"error": "failed to deserialize db/rp/precision in request: "
                                  "missing field `db`"})


@pytest.mark.parametrize("prec", ["auto", "h", "m", "x", "NS"])
def test_v1_v2_bad_precision(shared_server, dbname, prec):
    r = shared_server.write(dbname, "m v=1 1", precision=prec, endpoint="v2")
    assert r.status == 400, r
    body = r.json()
    assert list(body.keys()) == ["code", "message"] and body["code"] == "invalid", r
    r = shared_server.write(dbname, "m v=1 1", precision=prec, endpoint="v1")
    assert r.status == 400, r
    body = r.json()
    assert list(body.keys()) == ["error"] and isinstance(body["error"], str), r
    assert dbname not in shared_server.db_names()


def test_v1_retention_policy_names(server):
    for rp in ("", "autogen", "default"):
        r = server.write("rpdb", "m v=1 1", endpoint="v1", params={"rp": rp})
        assert r.status == 204, (rp, r)
    r = server.write("rpdb", "m v=1 1", endpoint="v1", params={"rp": "weekly"})
    assert r.status == 204, r
    assert sorted(server.db_names()) == ["rpdb", "rpdb/weekly"]


def test_v2_bucket_verbatim(server):
    assert server.write("a/b", "m v=1 1", endpoint="v2", params={"org": "o"}).status == 204
    assert server.db_names() == ["a/b"]


# ---------------------------------------------------------------- type conflicts

def test_type_conflicts_across_requests(server):
    r = server.write("tc", 'tc,host=a temp=1.5,n=1i,u=1u,s="x",b=true 1', precision="ns")
    assert r.status == 204, r
    lines = [
        'tc,host=a temp="hot" 2',
        "tc,host=a n=1.5 3",
        "tc,host=a u=1i 4",
        "tc,host=a s=1 5",
        "tc,host=a b=1i 6",
        'tc host="x" 7',
        "tc,temp=x n=2i 8",
        "tc,host=a temp=2.5 9",
    ]
    r = server.write("tc", "\n".join(lines), precision="ns")
    assert r.status == 400, r
    f = "iox::column_type::field::"
    assert r.body == partial_body(
        err("invalid column type for column 'temp', expected %sfloat, got %sstring at column 11"
            % (f, f), 1, lines[0]),
        err("invalid column type for column 'n', expected %sinteger, got %sfloat at column 11"
            % (f, f), 2, lines[1]),
        err("invalid column type for column 'u', expected %suinteger, got %sinteger at column 11"
            % (f, f), 3, lines[2]),
        err("invalid column type for column 's', expected %sstring, got %sfloat at column 11"
            % (f, f), 4, lines[3]),
        err("invalid column type for column 'b', expected %sboolean, got %sinteger at column 11"
            % (f, f), 5, lines[4]),
        err("invalid column type for column 'host', expected iox::column_type::tag, got "
            "%sstring at column 4" % f, 6, lines[5]),
        err("invalid column type for column 'temp', expected %sfloat, got "
            "iox::column_type::tag at column 4" % f, 7, lines[6]),
    ), r
    assert rows_of(vh.dump_server(server), "tc") == [
        canon("tc", "tc", {"host": "a"},
              {"temp": 1.5, "n": ("i", 1), "u": ("u", 1), "s": "x", "b": True}, 1),
        canon("tc", "tc", {"host": "a"}, {"temp": 2.5}, 9)]


def test_type_conflicts_within_one_request(server):
    lines = [
        "wr,host=a x=1i 1",
        "wr,host=a x=1.5 2",
        "wr,x=a y=1 3",
        "wr,host=a x=2i 4",
        "wl,a=x a=1 5",
    ]
    r = server.write("tc2", "\n".join(lines), precision="ns")
    assert r.status == 400, r
    assert r.body == partial_body(
        err("invalid column type for column 'x', expected iox::column_type::field::integer, "
            "got iox::column_type::field::float at column 11", 2, lines[1]),
        err("invalid column type for column 'x', expected iox::column_type::field::integer, "
            "got iox::column_type::tag at column 4", 3, lines[2]),
        err("invalid column type for column 'a', expected iox::column_type::tag, "
            "got iox::column_type::field::float at column 8", 5, lines[4]),
    ), r
    assert rows_of(vh.dump_server(server), "tc2") == [
        canon("tc2", "wr", {"host": "a"}, {"x": ("i", 1)}, 1),
        canon("tc2", "wr", {"host": "a"}, {"x": ("i", 2)}, 4)]


@pytest.mark.parametrize("line,col", [("rt time=1 1", 4), ("rt,time=x v=1 1", 4),
                                      ("rt v=1,time=2i 1", 8)])
def test_reserved_column_time(shared_server, dbname, line, col):
    r = shared_server.write(dbname, "ok v=1 1\n" + line, precision="ns")
    assert r.status == 400, r
    assert r.body == partial_body(err("'time' is a reserved column at column %d" % col, 2, line))


def test_timestamp_out_of_range(shared_server, dbname):
    line = "oor v=1 9223372036854775807"
    r = shared_server.write(dbname, "ok v=1 1\n" + line, precision="s")
    assert r.status == 400, r
    body = r.json()
    assert len(body["data"]) == 1
    msg = body["data"][0]["error_message"]
    assert msg.startswith("timestamp, 9223372036854775807, out of range for precision: "), r
    assert msg.endswith(" at column 9"), r


# ---------------------------------------------------------------- request-level errors

@pytest.mark.parametrize("body", [b"", b"\n\n", b"   \n\t\n", b"# only a comment\n",
                                  b"#a\n\n#b"])
def test_empty_write(shared_server, dbname, body):
    r = shared_server.write(dbname, body)
    assert_text(r, 400, "incoming write was empty")


def test_no_body_at_all(shared_server, dbname):
    r = shared_server.request("POST", "/api/v3/write_lp?db=" + dbname)
    assert_text(r, 400, "incoming write was empty")


@pytest.mark.parametrize("body", [
    b"m v=1 1\nm,host=\xff v=2 2",
    b"m v=1 1\nm,h=\xc3",
    b"\xc0\xafm v=1",
    b'm s="\xed\xa0\x80" 1',
    b"m,h=\xe2\x82 v=1 1",
])
def test_invalid_utf8(shared_server, dbname, body):
    try:
        body.decode("utf-8")
        raise AssertionError("test body is valid UTF-8")
    except UnicodeDecodeError as e:
        offset = e.start
    r = shared_server.write(dbname, body)
    assert_text(r, 400, "body content is not valid utf8: invalid byte at offset %d" % offset)
    assert dbname not in shared_server.db_names()


def test_v3_query_param_errors(shared_server):
    r = shared_server.request("POST", "/api/v3/write_lp", body=b"m v=1 1")
    assert_text(r, 400, "missing query parameter 'db'")
    r = shared_server.request("POST", "/api/v3/write_lp?precision=ns", body=b"m v=1 1")
    assert_text(r, 400, "serde error: missing field `db`")
    for bad in ("h", "m", "NS", "nanos"):
        r = shared_server.request("POST", "/api/v3/write_lp?db=qp&precision=" + bad,
                                  body=b"m v=1 1")
        assert_text(r, 400, "serde error: unknown variant `%s`, expected one of `auto`, "
                    "`second`, `millisecond`, `microsecond`, `nanosecond` "
                    "(or `s`, `ms`, `us`, `u`, `ns`, `n`)" % bad)
    assert "qp" not in shared_server.db_names()


@pytest.mark.parametrize("name,msg", [
    ("_x", "db name did not start with a number or letter"),
    ("-x", "db name did not start with a number or letter"),
    ("a$b", "invalid character in database or rp name: must be ASCII, containing only "
            "letters, numbers, underscores, or hyphens"),
    ("a b", "invalid character in database or rp name: must be ASCII, containing only "
            "letters, numbers, underscores, or hyphens"),
    ("x" * 512, "db name too long: max 511"),
])
def test_write_bad_db_name(shared_server, name, msg):
    r = shared_server.write(name, "m v=1 1")
    assert_json(r, 400, {"error": msg})


def test_write_empty_db_name(shared_server):
    r = shared_server.request("POST", "/api/v3/write_lp?db=", body=b"m v=1 1")
    assert_json(r, 400, {"error": "db name cannot be empty"})


# ---------------------------------------------------------------- content encoding

def test_gzip_body(server):
    body = "\n".join("gz,host=h%d v=%d %d" % (i % 7, i, i) for i in range(1, 1001))
    r = server.write("gz", vh.gz(body), precision="ns", headers={"Content-Encoding": "gzip"})
    assert (r.status, r.body) == (204, b""), r
    r = server.write("gz", vh.gz("gz,host=v2 v=1 1"), endpoint="v2",
                     headers={"Content-Encoding": "gzip"})
    assert r.status == 204, r
    r = server.write("gz", vh.gz("gz,host=v1 v=1 1"), endpoint="v1",
                     headers={"Content-Encoding": "gzip"})
    assert r.status == 204, r
    r = server.write("gz", "gz,host=id v=1 1", precision="ns",
                     headers={"Content-Encoding": "identity"})
    assert r.status == 204, r
    got = rows_of(vh.dump_server(server), "gz")
    assert len(got) == 1003
    assert canon("gz", "gz", {"host": "h6"}, {"v": 1000.0}, 1000) in got
    assert canon("gz", "gz", {"host": "id"}, {"v": 1.0}, 1) in got


@pytest.mark.parametrize("enc", ["br", "deflate", "zstd", "gzip, br", "x-gzip"])
def test_unacceptable_content_encoding(shared_server, dbname, enc):
    for api in ("v3", "v2", "v1"):
        r = shared_server.write(dbname, vh.gz("m v=1 1"), headers={"Content-Encoding": enc},
                                endpoint=api)
        assert_text(r, 400, "unacceptable content-encoding: %s" % enc)
    assert dbname not in shared_server.db_names()


@pytest.mark.parametrize("body", [
    b"this is not gzip",
    b"\x1f\x8b\x08\x00garbage garbage garbage",
    "truncated",
    "badcrc",
])
def test_broken_gzip(shared_server, dbname, body):
    if body == "truncated":
        body = vh.gz("m v=1 1\n" * 100)[:-12]
    elif body == "badcrc":
        g = bytearray(vh.gz("m v=1 1\n" * 10))
        g[-8] ^= 0xFF  # CRC32 of the trailer
        body = bytes(g)
    r = shared_server.write(dbname, body, headers={"Content-Encoding": "gzip"})
    assert r.status == 400, r
    assert r.text.startswith("error decoding gzip stream: "), r
    assert len(r.text) > len("error decoding gzip stream: ")
    assert dbname not in shared_server.db_names()
