# Integration tests for /api/v3/configure/database of docs/http-api.md: create, list
# (json, jsonl, csv, pretty, show_deleted), update, delete (soft, renamed), name
# rules, and the 409/404/415/400 errors.
import json
import re

import pytest

import vigil_harness as vh
from vigil_harness import canon

PATH = "/api/v3/configure/database"
DELETED_RE = re.compile(r"^(.+)-(\d{8}T\d{6})$")
INVALID_CHAR = ("invalid character in database or rp name: must be ASCII, containing only "
                "letters, numbers, underscores, or hyphens")


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def test_create_and_list_formats(server):
    for name in ("beta", "alpha", "0zero", "a_b-c", "db/rp"):
        r = server.create_db(name)
        assert (r.status, r.body) == (200, b""), (name, r)
    names = ["0zero", "a_b-c", "alpha", "beta", "db/rp"]

    r = server.request("GET", PATH + "?format=json")
    assert r.status == 200, r
    assert r.header("Content-Type") == "application/json"
    assert r.body == compact([{"iox::database": n} for n in names])

    r = server.request("GET", PATH + "?format=jsonl")
    assert r.status == 200, r
    assert r.header("Content-Type") == "application/jsonl"
    assert r.body == b"".join(compact({"iox::database": n}) + b"\n" for n in names)

    r = server.request("GET", PATH + "?format=csv")
    assert r.status == 200, r
    assert r.header("Content-Type") == "text/csv"
    assert r.body == ("iox::database\n" + "".join(n + "\n" for n in names)).encode()

    r = server.request("GET", PATH + "?format=pretty")
    assert r.status == 200, r
    assert r.header("Content-Type") == "text/plain; charset=utf-8"
    assert r.text.rstrip("\n").split("\n") == [
        "+---------------+",
        "| iox::database |",
        "+---------------+",
        "| 0zero         |",
        "| a_b-c         |",
        "| alpha         |",
        "| beta          |",
        "| db/rp         |",
        "+---------------+",
    ]


def test_list_requires_format(shared_server):
    r = shared_server.request("GET", PATH)
    assert (r.status, r.body) == (400, b"serde error: missing field `format`"), r
    r = shared_server.request("GET", PATH + "?show_deleted=true")
    assert (r.status, r.body) == (400, b"serde error: missing field `format`"), r
    r = shared_server.request("GET", PATH + "?format=xml")
    assert r.status == 400, r


def test_show_deleted_and_soft_delete(server):
    for name in ("keep", "gone", "again"):
        assert server.create_db(name).status == 200
    assert server.write("gone", "m v=1 1", precision="ns").status == 204
    r = server.request("DELETE", PATH + "?db=gone")
    assert (r.status, r.body) == (200, b""), r
    assert server.db_names() == ["again", "keep"]
    rows = server.list_dbs(show_deleted=True)
    assert [list(row.keys()) for row in rows] == [["iox::database", "deleted"]] * 3
    assert rows[:2] == [{"iox::database": "again", "deleted": False},
                        {"iox::database": "keep", "deleted": False}]
    assert rows[2]["deleted"] is True
    m = DELETED_RE.match(rows[2]["iox::database"])
    assert m and m.group(1) == "gone", rows

    # the name is free again; the new database is a new one (old data dropped)
    r = server.request("DELETE", PATH + "?db=gone")
    assert (r.status, r.body) == (404, b"database not found: gone"), r
    assert server.write("gone", "m v=2 2", precision="ns").status == 204
    assert server.db_names() == ["again", "gone", "keep"]
    rows = server.list_dbs(show_deleted=True)
    assert [row["deleted"] for row in rows] == [False, False, False, True]

    # jsonl / csv with the deleted column
    r = server.request("GET", PATH + "?format=jsonl&show_deleted=true")
    assert r.body.split(b"\n")[0] == b'{"iox::database":"again","deleted":false}'
    r = server.request("GET", PATH + "?format=csv&show_deleted=true")
    lines = r.text.rstrip("\n").split("\n")
    assert lines[:4] == ["iox::database,deleted", "again,false", "gone,false", "keep,false"]
    assert lines[4].startswith("gone-") and lines[4].endswith(",true")

    # deletes survive a restart
    server.restart()
    assert server.db_names() == ["again", "gone", "keep"]
    assert [row["deleted"] for row in server.list_dbs(show_deleted=True)] == [
        False, False, False, True]
    got = vh.RowSet(l for l in vh.dump_server(server) if l.startswith("gone"))
    assert got == [canon("gone", "m", {}, {"v": 2.0}, 2)]


def test_create_conflict(shared_server, dbname):
    assert shared_server.create_db(dbname).status == 200
    r = shared_server.create_db(dbname)
    assert (r.status, r.body) == (409, b"attempted to create a resource that already exists"), r
    # a database made by a write conflicts too
    assert shared_server.write(dbname + "w", "m v=1 1").status == 204
    r = shared_server.create_db(dbname + "w")
    assert r.status == 409, r


def test_create_with_retention(shared_server, dbname):
    r = shared_server.create_db(dbname, retention="30d")
    assert (r.status, r.body) == (200, b""), r
    r = shared_server.create_db(dbname + "b", retention="not a duration")
    assert r.status == 400, r
    assert dbname + "b" not in shared_server.db_names()


@pytest.mark.parametrize("name,msg", [
    ("", "db name cannot be empty"),
    ("_x", "db name did not start with a number or letter"),
    ("-x", "db name did not start with a number or letter"),
    ("/x", "db name did not start with a number or letter"),
    ("a$b", INVALID_CHAR),
    ("a.b", INVALID_CHAR),
    ("a b", INVALID_CHAR),
    ("aé", INVALID_CHAR),
    ("a/b/c", "db name with invalid retention policy, if providing a retention policy name, "
              "must be of form '<db_name>/<rp_name>'"),
    ("x" * 512, "db name too long: max 511"),
])
def test_create_bad_names(shared_server, name, msg):
    r = shared_server.create_db(name)
    assert (r.status, r.body) == (400, compact({"error": msg})), r


def test_name_length_boundary(shared_server):
    name = "n" + "x" * 510
    r = shared_server.create_db(name)
    assert (r.status, r.body) == (200, b""), r
    assert name in shared_server.db_names()


def test_content_type_rules(shared_server, dbname):
    body = json.dumps({"db": dbname})
    for ct in (None, "text/plain", "application/x-www-form-urlencoded", "json"):
        r = shared_server.post_json(PATH, body, content_type=ct)
        assert (r.status, r.body) == (
            415, b"unacceptable content-type, expected: application/json"), (ct, r)
    r = shared_server.post_json(PATH, body, content_type="application/json; charset=utf-8")
    assert r.status == 200, r
    r = shared_server.post_json(PATH, json.dumps({"db": dbname + "v"}),
                                content_type="application/vnd.vigil+json")
    assert r.status == 200, r
    assert {dbname, dbname + "v"} <= set(shared_server.db_names())


@pytest.mark.parametrize("body", ["{", "not json", '{"db": 1}', '{"retention_period":"1d"}',
                                  "[]", ""])
def test_malformed_json(shared_server, body):
    r = shared_server.post_json(PATH, body)
    assert r.status == 400, r
    assert r.text.startswith("serde json error: "), r


def test_update_retention(shared_server, dbname):
    assert shared_server.create_db(dbname).status == 200
    r = shared_server.post_json(PATH, {"db": dbname, "retention_period": "7d"}, method="PUT")
    assert (r.status, r.body) == (200, b""), r
    r = shared_server.post_json(PATH, {"db": dbname, "retention_period": None}, method="PUT")
    assert (r.status, r.body) == (200, b""), r
    r = shared_server.post_json(PATH, {"db": dbname}, method="PUT")
    assert (r.status, r.body) == (200, b""), r
    r = shared_server.post_json(PATH, {"db": dbname + "nope", "retention_period": "1d"},
                                method="PUT")
    assert (r.status, r.body) == (404, ("database not found: %snope" % dbname).encode()), r
    r = shared_server.post_json(PATH, {"db": dbname}, method="PUT", content_type="text/plain")
    assert r.status == 415, r


def test_delete_errors(shared_server):
    r = shared_server.request("DELETE", PATH + "?db=never_created")
    assert (r.status, r.body) == (404, b"database not found: never_created"), r
    r = shared_server.request("DELETE", PATH)
    assert r.status == 400, r


def test_delete_drops_data(server):
    assert server.write("dd", "m,host=a v=1 1\nm,host=b v=2 2", precision="ns").status == 204
    assert server.write("other", "m v=3 3", precision="ns").status == 204
    assert server.request("DELETE", PATH + "?db=dd").status == 200
    assert server.write("dd", "m,host=c v=4 4", precision="ns").status == 204
    assert vh.dump_server(server) == [canon("dd", "m", {"host": "c"}, {"v": 4.0}, 4),
                                      canon("other", "m", {}, {"v": 3.0}, 3)]
