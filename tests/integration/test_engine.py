# The processing engine over HTTP: every trigger type, every API method, the plugin
# API (query, write, cache, logs, LineBuilder), error behaviours, timeouts, floods,
# path checks, dry runs, restarts, and the system tables, with exact assertions on
# what lands in the tables and the logs. Plugins: tests/integration/plugins/.
import json
import os
import time

import pytest

from engine_util import (create_trigger, engine_get, engine_server, logs, must_create, sql,
                         sql_maybe, texts, trigger_action, wait_for)


@pytest.fixture
def es(server_factory, tmp_path_factory):
    return engine_server(server_factory, tmp_path_factory)


def write_ok(s, db, body, precision="ns"):
    r = s.write(db, body, precision=precision)
    assert r.status == 204, r
    return r


def log_json(s, trigger, prefix):
    """The JSON payloads of a trigger's log lines that start with prefix."""
    return [json.loads(t[len(prefix):]) for t in texts(s, trigger) if t.startswith(prefix)]


# ---- write triggers ----------------------------------------------------------------

def test_wal_triggers_receive_exact_rows(es, dbname):
    write_ok(es, dbname, "cpu,host=z usage=0.5 1")  # before any trigger: never seen
    must_create(es, dbname, "only_cpu", "echo_writes.py", "table:cpu", args={"x": "1"})
    must_create(es, dbname, "every_table", "echo_writes.py", "all_tables")
    write_ok(es, dbname, 'cpu,host=a,rack=1 usage=1.5,count=3i,up=true,note="hi" 1000\n'
                         'mem,host=a free=10u 2000\n'
                         'cpu,host=b usage=2.0,big=9007199254740993i 3000')
    cpu = {"table_name": "cpu", "rows": [
        {"host": "a", "rack": "1", "usage": 1.5, "count": 3, "up": True, "note": "hi", "time": 1000},
        {"host": "b", "usage": 2.0, "big": 9007199254740993, "time": 3000}]}
    mem = {"table_name": "mem", "rows": [{"host": "a", "free": 10, "time": 2000}]}
    got = wait_for(lambda: log_json(es, "only_cpu", "batches "), what="only_cpu's call")
    assert got == [[cpu]]
    assert log_json(es, "only_cpu", "types ") == [[{"table_name": "cpu", "types": [
        {"host": "str", "rack": "str", "usage": "float", "count": "int", "up": "bool",
         "note": "str", "time": "int"},
        {"host": "str", "usage": "float", "big": "int", "time": "int"}]}]]
    assert log_json(es, "only_cpu", "args ") == [{"x": "1"}]
    got = wait_for(lambda: log_json(es, "every_table", "batches "), what="every_table's call")
    assert got == [[cpu, mem]]
    assert log_json(es, "every_table", "args ") == [None]
    # The engine's own lines frame each call.
    lines = [r["log_text"] for r in logs(es, "only_cpu")]
    assert lines[0] == "starting execution of wal plugin."
    assert lines[-1].startswith("finished execution in ")


def test_wal_trigger_writes_land_in_tables(es, dbname):
    write_ok(es, dbname, "cpu,host=a usage=1 1")
    must_create(es, dbname, "copier", "echo_writes.py", "table:cpu", args={"copy": "cpu_copy"})
    write_ok(es, dbname, 'cpu,host=a,rack=1 usage=1.5,count=3i,up=true,note="hi" 1000\n'
                         'cpu,host=b usage=2.0 3000')
    rows = wait_for(lambda: sql_maybe(es, dbname, "SELECT * FROM cpu_copy ORDER BY time"),
                    what="cpu_copy rows")
    assert rows == [
        {"count": 6, "host": "a", "note": "hi", "rack": "1", "source": "cpu",
         "time": "1970-01-01T00:00:00.000001", "up": True, "usage": 3.0},
        {"host": "b", "source": "cpu", "time": "1970-01-01T00:00:00.000003", "usage": 4.0},
    ]
    # cpu_copy is not cpu: the copies fire nothing more.
    time.sleep(0.3)
    assert len(log_json(es, "copier", "batches ")) == 1


def test_no_sync_writes_fire_triggers_too(es, dbname):
    write_ok(es, dbname, "cpu,host=a usage=1 1")
    must_create(es, dbname, "t", "echo_writes.py", "table:cpu")
    r = es.write(dbname, "cpu,host=c usage=7 5", precision="ns", params={"no_sync": "true"})
    assert r.status == 204
    got = wait_for(lambda: log_json(es, "t", "batches "))
    assert got == [[{"table_name": "cpu", "rows": [{"host": "c", "usage": 7.0, "time": 5}]}]]


def test_writes_that_pile_up_come_in_one_call(es, dbname):
    write_ok(es, dbname, "cpu v=0 1")
    must_create(es, dbname, "slow", "echo_writes.py", "all_tables", args={"sleep": "1.0"})
    write_ok(es, dbname, "cpu v=1 10")
    wait_for(lambda: log_json(es, "slow", "batches "), what="the first call")
    write_ok(es, dbname, "cpu v=2 20")
    write_ok(es, dbname, "mem v=3 30")
    write_ok(es, dbname, "cpu v=4 40")
    got = wait_for(lambda: (lambda b: b if len(b) == 2 else None)(log_json(es, "slow", "batches ")),
                   what="the second call")
    assert got == [
        [{"table_name": "cpu", "rows": [{"v": 1.0, "time": 10}]}],
        [{"table_name": "cpu", "rows": [{"v": 2.0, "time": 20}, {"v": 4.0, "time": 40}]},
         {"table_name": "mem", "rows": [{"v": 3.0, "time": 30}]}]]


# ---- scheduled triggers --------------------------------------------------------------

def ticks(s, db, name):
    return [r["call_time"] for r in sql_maybe(
        s, db, "SELECT call_time FROM ticks WHERE trigger = '%s' ORDER BY time" % name)]


def test_every_trigger_is_aligned_and_stops_when_disabled(es, dbname):
    write_ok(es, dbname, "x v=1 1")
    must_create(es, dbname, "e1", "sched_ticks.py", "every:1s", args={"name": "e1"})
    got = wait_for(lambda: (lambda t: t if len(t) >= 3 else None)(ticks(es, dbname, "e1")),
                   what="three ticks")
    # Whole seconds, one second apart: aligned to the interval.
    assert all(b - a == 1 for a, b in zip(got, got[1:])), got
    assert all(t.startswith("tick ") and t.endswith(" 0") for t in texts(es, "e1"))
    assert trigger_action(es, "disable", dbname, "e1").status == 200
    time.sleep(0.3)
    n = len(ticks(es, dbname, "e1"))
    time.sleep(1.6)
    assert len(ticks(es, dbname, "e1")) == n


def test_every_2s_and_cron_fire_on_their_boundaries(es, dbname):
    write_ok(es, dbname, "x v=1 1")
    must_create(es, dbname, "e2", "sched_ticks.py", "every:2s", args={"name": "e2"})
    must_create(es, dbname, "c2", "sched_ticks.py", "cron:*/2 * * * * *", args={"name": "c2"})
    e2 = wait_for(lambda: (lambda t: t if len(t) >= 2 else None)(ticks(es, dbname, "e2")),
                  timeout=10)
    c2 = wait_for(lambda: (lambda t: t if len(t) >= 2 else None)(ticks(es, dbname, "c2")),
                  timeout=10)
    assert all(t % 2 == 0 for t in e2 + c2), (e2, c2)
    assert all(b - a == 2 for a, b in zip(e2, e2[1:]))
    assert all(b - a == 2 for a, b in zip(c2, c2[1:]))


# ---- request triggers ----------------------------------------------------------------

def test_request_trigger_return_values(es, dbname):
    write_ok(es, dbname, "x v=1 1")
    must_create(es, dbname, "r", "req.py", "request:api/req", args={"k": "v"})

    def call(mode, **kw):
        return engine_get(es, "api/req", {"mode": mode}, **kw)

    r = engine_get(es, "api/req", {"mode": "echo", "a": "1"},
                   headers={"X-Test": "yes", "Authorization": "Bearer secret"})
    assert r.status == 200
    assert r.header("Content-Type") == "application/json"
    assert r.json() == {"params": {"mode": "echo", "a": "1"}, "headers": {"x-test": "yes"},
                        "has_authorization": False, "body": "", "body_type": "bytes",
                        "args": {"k": "v"}}
    r = engine_get(es, "api/req", {"mode": "echo"}, method="POST", body="payload \u00e9")
    assert r.json()["body"] == "payload \u00e9"
    r = call("text")
    assert (r.status, r.header("Content-Type"), r.text) == (200, "text/html", "<b>hello</b>")
    r = call("list")
    assert (r.status, r.header("Content-Type"), r.text) == (200, "application/json",
                                                            '[1, "two", null]')
    r = call("tuple")
    assert (r.status, r.header("Content-Type"), r.text) == (201, "application/json",
                                                            '{"created": true}')
    r = call("tuple3")
    assert (r.status, r.header("Content-Type"), r.text) == (418, "text/html", "teapot")
    assert r.header("X-Vigil-Test") == "yes"
    r = call("tuple_headers")
    assert (r.status, r.text, r.header("X-Only")) == (200, "with headers", "headers")
    r = call("bad_status")
    assert (r.status, r.text) == (500, "odd")
    r = call("generator")
    assert (r.status, r.header("Content-Type"), r.text) == (200, "text/html", "abc")
    r = call("other")
    assert (r.status, r.json()) == (500, {
        "error": "TypeError: Unsupported return type from Python function"})
    r = call("raise")
    assert (r.status, r.json()) == (500, {"error": "ValueError: bad request mode"})
    r = engine_get(es, "api/nothing")
    assert (r.status, r.text) == (404, '{error: "not found"}')
    # A disabled trigger serves nothing.
    assert trigger_action(es, "disable", dbname, "r").status == 200
    assert call("text").status == 404
    assert trigger_action(es, "enable", dbname, "r").status == 200
    assert call("text").status == 200


def test_request_writes_all_four_ways(es, dbname):
    other = dbname + "_other"
    write_ok(es, dbname, "x v=1 1")
    must_create(es, dbname, "w", "req.py", "request:w")
    r = engine_get(es, "w", {"mode": "write", "db": other})
    assert (r.status, r.text) == (200, "written")
    assert sql(es, dbname, "SELECT via, n FROM req_writes ORDER BY n") == [
        {"via": "write", "n": 1}, {"via": "write_sync", "n": 3}]
    assert sql(es, other, "SELECT via, n FROM req_writes ORDER BY n") == [
        {"via": "write_to_db", "n": 2}, {"via": "write_sync_to_db", "n": 4}]


def test_plugin_queries_keep_types(es, dbname):
    other = dbname + "_q2"
    write_ok(es, dbname, 'qt,tag=a f=1.5,i=-2i,u=3u,s="x",b=true 1000000000\n'
                         'qt,tag=b f=2.5 2000000000')
    write_ok(es, other, "qt2,tag=z f=9.5 7")
    must_create(es, dbname, "q", "req.py", "request:q")
    r = engine_get(es, "q", {"mode": "query", "q": "SELECT * FROM qt ORDER BY time"})
    assert r.status == 200, r
    assert r.json() == {
        "rows": [{"b": True, "f": 1.5, "i": -2, "s": "x", "tag": "a", "time": 1000000000, "u": 3},
                 {"b": None, "f": 2.5, "i": None, "s": None, "tag": "b", "time": 2000000000,
                  "u": None}],
        "types": [{"b": "bool", "f": "float", "i": "int", "s": "str", "tag": "str",
                   "time": "int", "u": "int"},
                  {"b": "NoneType", "f": "float", "i": "NoneType", "s": "NoneType",
                   "tag": "str", "time": "int", "u": "NoneType"}]}
    r = engine_get(es, "q", {"mode": "query", "q": "SELECT f FROM qt WHERE tag = $t",
                             "args": json.dumps({"t": "b"})})
    assert r.json()["rows"] == [{"f": 2.5}]
    r = engine_get(es, "q", {"mode": "query", "q": "SELECT tag, f FROM qt2", "database": other})
    assert r.json()["rows"] == [{"tag": "z", "f": 9.5}]
    r = engine_get(es, "q", {"mode": "query",
                             "q": "SELECT count(*) AS n, avg(f) AS m, max(time) AS t FROM qt"})
    assert r.json()["rows"] == [{"n": 2, "m": 2.0, "t": 2000000000}]
    r = engine_get(es, "q", {"mode": "query_error"})
    body = r.json()
    assert body["type"] == "QueryError"
    assert "nowhere" in body["error"] and body["error"].endswith("(database: %s)" % dbname)
    r = engine_get(es, "q", {"mode": "query_bad_args"})
    assert r.json() == {"error": "query args must be a dict of str to str"}


def test_cache_per_trigger_global_and_ttl(es, dbname):
    write_ok(es, dbname, "x v=1 1")
    must_create(es, dbname, "c1", "req.py", "request:c1")
    must_create(es, dbname, "c2", "req.py", "request:c2")
    assert engine_get(es, "c1", {"mode": "cache"}).json() == {
        "n": 1, "g": 10, "short": "x", "missing": "dflt", "deleted": False}
    assert engine_get(es, "c1", {"mode": "cache"}).json()["n"] == 2
    got = engine_get(es, "c2", {"mode": "cache"}).json()
    assert (got["n"], got["g"]) == (1, 30)  # its own cache, the shared global one
    time.sleep(0.4)
    assert engine_get(es, "c2", {"mode": "cache_later"}).json() == {"short": "expired"}


def test_line_builder_matches_influxdb(es, dbname):
    write_ok(es, dbname, "x v=1 1")
    must_create(es, dbname, "lb", "req.py", "request:lb")
    got = engine_get(es, "lb", {"mode": "line_builder"}).json()
    assert got["plain"] == 'm,t=v i=-3i,u=7u,f=2.0,g=0.25,s="a \\"q\\" \\\\ z",b=t,c=f 123'
    assert got["escapes"] == 'my\\,meas,k=a\\ b\\,c\\=d\\\\e x\\\\y=1.5'
    assert got["errors"] == {
        "space_measurement": ["InvalidMeasurementError", ["InfluxDBError", "Exception"],
                              "Measurement name cannot contain spaces"],
        "empty_key": ["InvalidKeyError", ["InfluxDBError", "Exception"],
                      "tag key cannot be empty"],
        "comma_key": ["InvalidKeyError", ["InfluxDBError", "Exception"],
                      "field key 'a,b' cannot contain commas"],
        "no_fields": ["InvalidLineError", ["InfluxDBError", "Exception"],
                      "At least one field is required: m,a=b"],
        "negative_uint": ["ValueError", ["Exception", "BaseException"],
                          "uint64 field 'u' cannot be negative"],
    }


def test_plugin_log_levels_in_logs_table(es, dbname):
    write_ok(es, dbname, "x v=1 1")
    must_create(es, dbname, "lg", "req.py", "request:lg")
    assert engine_get(es, "lg", {"mode": "log"}).text == "logged"
    rows = [r for r in logs(es, "lg") if not r["log_text"].startswith(("starting", "finished"))]
    assert [(r["log_level"], r["log_text"]) for r in rows] == [
        ("INFO", "info 1 2.5 None"), ("WARN", "careful"), ("ERROR", "broken {'a': 1}")]
    assert list(rows[0].keys()) == ["event_time", "trigger_name", "log_level", "log_text"]
    # Plugin log lines go to the server log too.
    assert "processing engine: [lg] careful" in es.stderr_text()


def test_directory_plugin(es, dbname):
    write_ok(es, dbname, "x v=1 1")
    must_create(es, dbname, "pk", "pkgplugin", "request:pkg")
    assert engine_get(es, "pkg").json() == {"answer": 42, "module": "pkgplugin"}


# ---- the trigger API -----------------------------------------------------------------

def test_create_errors(es, dbname, tmp_path):
    write_ok(es, dbname, "x v=1 1")
    base = {"db": dbname, "plugin_filename": "req.py", "trigger_name": "t",
            "trigger_specification": "request:t"}

    def post(body, ct="application/json"):
        return es.post_json("/api/v3/configure/processing_engine_trigger", body, content_type=ct)

    r = post({k: v for k, v in base.items() if k != "trigger_name"})
    assert (r.status, r.text) == (400, "serde json error: missing field `trigger_name`")
    r = post(base, ct="text/plain")
    assert (r.status, r.text) == (415, "unacceptable content-type, expected: application/json")
    r = post(dict(base, trigger_specification="sometimes"))
    assert (r.status, r.text) == (400, "failed to parse trigger from sometimes: expect one of the "
                                       "following forms: 'table:<TABLE_NAME>', 'all_tables', "
                                       "'cron:<CRON_EXPRESSION>', 'every:<DURATION>', or "
                                       "'request:<PATH>'")
    r = post(dict(base, trigger_specification="cron:0 0 25 * * *"))
    assert (r.status, r.text) == (400, "failed to parse trigger from cron:0 0 25 * * *: invalid "
                                       "cron syntax: value 25 out of range 0-23 in the Hours "
                                       "field")
    r = post(dict(base, trigger_settings={"error_behavior": "explode"}))
    assert (r.status, r.text) == (400, "invalid error behavior 'explode': expected one of log, "
                                       "retry, disable")
    assert post(base).status == 200
    r = post(base)
    assert (r.status, r.text) == (500, "Cannot overwrite Processing Engine Trigger t in Database "
                                       + dbname)
    r = post(dict(base, trigger_name="t2"))
    assert (r.status, r.text) == (409, "a request trigger for path 't' already exists (trigger t "
                                       "in database %s)" % dbname)
    r = post(dict(base, db="nodb", trigger_name="t3"))
    assert (r.status, r.text) == (404, "database not found: nodb")
    r = post(dict(base, trigger_name="t4", plugin_filename="missing.py"))
    assert (r.status, r.text) == (404, "reading plugin file: Plugin not found: " +
                                  os.path.join(os.path.realpath(es.plugin_dir), "missing.py"))


def test_plugin_paths_cannot_escape(es, dbname, tmp_path):
    write_ok(es, dbname, "x v=1 1")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.py").write_text("def process_request(*a, **k):\n    return 'escaped'\n")
    os.symlink(str(outside), os.path.join(es.plugin_dir, "link"))
    for name in ["../evil.py", "/etc/passwd", "link/evil.py", "a/../../evil.py"]:
        r = create_trigger(es, dbname, "bad", name, "request:bad")
        assert (r.status, r.text) == (400, "Path traversal detected: plugin filename '%s' "
                                           "attempts to access files outside the plugin "
                                           "directory" % name), name
    r = es.post_json("/api/v3/plugins/files", {"plugin_name": "../evil2.py", "content": "x=1"})
    assert r.status == 400 and r.text.startswith("Path traversal detected")
    assert not os.path.exists(os.path.join(os.path.dirname(es.plugin_dir), "evil2.py"))


def test_enable_disable_delete_and_system_tables(es, dbname):
    write_ok(es, dbname, "cpu v=1 1")
    must_create(es, dbname, "a", "echo_writes.py", "table:cpu", args={"copy": "c", "z": ""})
    must_create(es, dbname, "b", "sched_ticks.py", "every:1h", disabled=True)
    assert sql(es, dbname, "SELECT * FROM system.processing_engine_triggers ORDER BY trigger_name") == [
        {"trigger_name": "a", "plugin_filename": "echo_writes.py",
         "trigger_specification": "table:cpu", "disabled": False},
        {"trigger_name": "b", "plugin_filename": "sched_ticks.py",
         "trigger_specification": "every:1h", "disabled": True}]
    assert sql(es, dbname, "SELECT * FROM system.processing_engine_trigger_arguments "
                           "ORDER BY argument_key") == [
        {"trigger_name": "a", "argument_key": "copy", "argument_value": "c"},
        {"trigger_name": "a", "argument_key": "z", "argument_value": ""}]
    # Another database's triggers are not listed.
    write_ok(es, dbname + "x", "cpu v=1 1")
    assert sql(es, dbname + "x", "SELECT * FROM system.processing_engine_triggers") == []

    assert trigger_action(es, "disable", dbname, "a").status == 200
    assert trigger_action(es, "disable", dbname, "a").status == 200  # again: still 200
    write_ok(es, dbname, "cpu v=2 2")
    time.sleep(0.3)
    assert log_json(es, "a", "batches ") == []
    assert trigger_action(es, "enable", dbname, "a").status == 200
    assert trigger_action(es, "enable", dbname, "a").status == 200
    write_ok(es, dbname, "cpu v=3 3")
    got = wait_for(lambda: log_json(es, "a", "batches "))
    assert got == [[{"table_name": "cpu", "rows": [{"v": 3.0, "time": 3}]}]]

    r = trigger_action(es, "delete", dbname, "a")
    assert (r.status, r.text) == (500, "Cannot delete running plugin a. Disable it first or use "
                                       "--force.")
    assert trigger_action(es, "delete", dbname, "a", force=True).status == 200
    assert trigger_action(es, "delete", dbname, "b").status == 200  # disabled: no force needed
    assert sql(es, dbname, "SELECT * FROM system.processing_engine_triggers") == []
    r = trigger_action(es, "delete", dbname, "a")
    assert (r.status, r.text) == (404, "Processing Engine Trigger a not found in database " + dbname)
    r = trigger_action(es, "enable", "nodb", "a")
    assert (r.status, r.text) == (404, "database not found: nodb")
    r = es.request("POST", "/api/v3/configure/processing_engine_trigger/enable?db=" + dbname)
    assert (r.status, r.text) == (400, "serde error: missing field `trigger_name`")
    # Delete with a JSON body, as Core also takes it; then the name is free again.
    must_create(es, dbname, "a", "echo_writes.py", "table:cpu", disabled=True)
    r = es.post_json("/api/v3/configure/processing_engine_trigger",
                     {"db": dbname, "trigger_name": "a"}, method="DELETE")
    assert r.status == 200


def test_upload_and_update_plugin_files(es, dbname):
    write_ok(es, dbname, "x v=1 1")
    code = "def process_request(influxdb3_local, q, h, b, args=None):\n    return '%s'\n"
    r = es.post_json("/api/v3/plugins/files", {"plugin_name": "up/new.py", "content": code % "one"})
    assert r.status == 200
    assert open(os.path.join(es.plugin_dir, "up", "new.py")).read() == code % "one"
    must_create(es, dbname, "up", "up/new.py", "request:up")
    assert engine_get(es, "up").text == "one"
    r = es.post_json("/api/v3/plugins/files",
                     {"plugin_name": "up", "content": code % "two", "db": dbname}, method="PUT")
    assert r.status == 200
    assert engine_get(es, "up").text == "two"
    r = es.post_json("/api/v3/plugins/files", {"plugin_name": "nope", "content": "x"}, method="PUT")
    assert (r.status, r.text) == (404, "Processing Engine Trigger nope not found")
    # A directory plugin is replaced as a whole.
    must_create(es, dbname, "pk", "pkgplugin", "request:pk")
    assert engine_get(es, "pk").json()["answer"] == 42
    files = [{"relative_path": "__init__.py",
              "content": "from . import helper2\n\ndef process_request(l, q, h, b, args=None):\n"
                         "    return {'answer': helper2.answer()}\n"},
             {"relative_path": "helper2.py", "content": "def answer():\n    return 43\n"}]
    r = es.post_json("/api/v3/plugins/directory", {"plugin_name": "pk", "files": files},
                     method="PUT")
    assert r.status == 200, r
    assert sorted(os.listdir(os.path.join(es.plugin_dir, "pkgplugin"))) == ["__init__.py",
                                                                           "helper2.py"]
    assert engine_get(es, "pk").json() == {"answer": 43}


def test_no_plugin_dir_means_no_engine(server, dbname):
    r = server.post_json("/api/v3/configure/processing_engine_trigger", {
        "db": dbname, "plugin_filename": "x.py", "trigger_name": "t",
        "trigger_specification": "all_tables"})
    assert (r.status, r.text) == (500, "Node not configured with plugin directory")
    assert engine_get(server, "x").status == 404


# ---- failures --------------------------------------------------------------------------

def test_plugin_that_raises_logs_its_traceback(es, dbname):
    write_ok(es, dbname, "cpu v=1 1")
    must_create(es, dbname, "f", "fail.py", "table:cpu")
    must_create(es, dbname, "fr", "fail.py", "request:fail")
    write_ok(es, dbname, "cpu v=2 2")
    err = wait_for(lambda: texts(es, "f", "ERROR"), what="the error")[0]
    path = os.path.join(os.path.realpath(es.plugin_dir), "fail.py")
    assert err.startswith("error executing against batch: Traceback (most recent call last):\n")
    assert '  File "%s", line 8, in process_writes\n    _broken(0)\n' % path in err
    assert '  File "%s", line 3, in _broken\n    return 1 / x\n' % path in err
    assert err.endswith("\nZeroDivisionError: division by zero")
    assert texts(es, "f", "INFO") == ["about to fail"]
    # The server goes on: writes, queries, other plugins.
    write_ok(es, dbname, "cpu v=3 3")
    assert sql(es, dbname, "SELECT count(*) AS n FROM cpu") == [{"n": 3}]
    r = engine_get(es, "fail")
    assert (r.status, r.json()) == (500, {"error": "ZeroDivisionError: division by zero"})
    err = wait_for(lambda: texts(es, "fr", "ERROR"))[0]
    assert err.startswith("error running request plugin: Traceback (most recent call last):\n")


def test_scheduled_failure_is_logged(es, dbname):
    write_ok(es, dbname, "x v=1 1")
    must_create(es, dbname, "fs", "fail.py", "every:1s")
    err = wait_for(lambda: texts(es, "fs", "ERROR"), what="the error")[0]
    assert err.startswith("error running scheduled plugin: Traceback (most recent call last):\n")
    assert err.endswith("\nRuntimeError: scheduled failure")


def test_error_behavior_retry(es, dbname):
    write_ok(es, dbname, "cpu v=1 1")
    must_create(es, dbname, "fl", "flaky.py", "table:cpu", args={"fail_times": "2"},
                error_behavior="retry")
    write_ok(es, dbname, "cpu v=2 2")
    rows = wait_for(lambda: sql_maybe(es, dbname, "SELECT attempt, rows FROM recovered"),
                    timeout=15)
    assert rows == [{"attempt": 3, "rows": 1}]
    msgs = [(r["log_level"], r["log_text"].splitlines()[0] if r["log_level"] != "ERROR"
             else r["log_text"].splitlines()[-1]) for r in logs(es, "fl")
            if not r["log_text"].startswith(("starting", "finished"))]
    assert msgs == [("ERROR", "RuntimeError: attempt 1 fails"),
                    ("WARN", "retrying in 500ms (attempt 2 of 5)"),
                    ("ERROR", "RuntimeError: attempt 2 fails"),
                    ("WARN", "retrying in 1s (attempt 3 of 5)")]


def test_error_behavior_disable_persists(es, dbname):
    write_ok(es, dbname, "cpu v=1 1")
    must_create(es, dbname, "fd", "fail.py", "table:cpu", error_behavior="disable")
    write_ok(es, dbname, "cpu v=2 2")
    wait_for(lambda: texts(es, "fd", "WARN"), what="the disabling")
    assert texts(es, "fd", "WARN") == [
        "trigger fd disabled after an error (error behavior 'disable'); enable it again with "
        "'vigil enable trigger'"]
    trig = "SELECT disabled FROM system.processing_engine_triggers WHERE trigger_name = 'fd'"
    assert sql(es, dbname, trig) == [{"disabled": True}]
    write_ok(es, dbname, "cpu v=3 3")
    time.sleep(0.3)
    assert len(texts(es, "fd", "ERROR")) == 1
    es.restart()
    assert sql(es, dbname, trig) == [{"disabled": True}]


def test_plugin_timeout_interrupts_loops_and_sleeps(server_factory, tmp_path_factory, dbname):
    s = engine_server(server_factory, tmp_path_factory, timeout="1s")
    write_ok(s, dbname, "x v=1 1")
    must_create(s, dbname, "h", "hang.py", "request:hang", run_async=True)
    for mode in ["spin", "sleep", "swallow"]:
        t0 = time.monotonic()
        r = engine_get(s, "hang", {"mode": mode})
        took = time.monotonic() - t0
        assert (r.status, r.json()) == (500, {"error": "plugin timed out after 1 s "
                                                       "(--plugin-timeout)"}), mode
        assert took < 4, (mode, took)
    errs = texts(s, "h", "ERROR")
    assert len(errs) == 3
    assert all(e.startswith("error running request plugin: plugin timed out after 1 s "
                            "(--plugin-timeout):\nTraceback (most recent call last):\n")
               for e in errs)
    assert 'in process_request\n    time.sleep(1000)' in errs[1]
    # Workers are free again: the next call answers at once.
    assert engine_get(s, "hang", {"mode": "quick"}).text == "quick"
    assert s.request("GET", "/health").status == 200


def test_scheduled_run_that_overruns_is_skipped(server_factory, tmp_path_factory, dbname):
    s = engine_server(server_factory, tmp_path_factory, timeout="2500ms")
    write_ok(s, dbname, "x v=1 1")
    must_create(s, dbname, "slow", "hang.py", "every:1s")
    err = wait_for(lambda: texts(s, "slow", "ERROR"), timeout=10)[0]
    assert err.startswith("error running scheduled plugin: plugin timed out after 2.5 s")
    warns = texts(s, "slow", "WARN")
    assert warns and all(w.startswith("skipped the run due at ") and
                         w.endswith(": the previous run is still going") for w in warns)


def test_flood_of_writes_and_recursion_guard(es, dbname):
    write_ok(es, dbname, "flood_in v=1 1")
    must_create(es, dbname, "fl", "flood.py", "table:flood_in",
                args={"lines": "20000", "table": "flood_out"})
    write_ok(es, dbname, "flood_in v=2 2")
    wait_for(lambda: sql_maybe(es, dbname, "SELECT count(*) AS n FROM flood_out") == [{"n": 20000}],
             timeout=60, what="20000 rows")
    assert sql(es, dbname, "SELECT count(DISTINCT k) AS k, max(i) AS i FROM flood_out") == [
        {"k": 100, "i": 19999}]
    # A plugin writing to the table it watches: the chain stops at depth 8.
    assert trigger_action(es, "delete", dbname, "fl", force=True).status == 200
    must_create(es, dbname, "loop", "flood.py", "table:flood_in",
                args={"lines": "1", "table": "flood_in"})
    write_ok(es, dbname, "flood_in v=3 3")
    wait_for(lambda: texts(es, "loop", "WARN"), what="the depth warning")
    assert texts(es, "loop", "WARN") == [
        "not running trigger loop for a write made by a plugin 9 levels deep (a trigger whose "
        "plugin writes to a table it watches?): the chain stops here"]
    assert sql(es, dbname, "SELECT max(depth) AS d, count(depth) AS n FROM flood_in") == [
        {"d": 9, "n": 9}]
    assert es.request("GET", "/health").status == 200


def test_a_plugin_cannot_buffer_unbounded_writes(es, dbname):
    write_ok(es, dbname, "flood_in v=1 1")
    must_create(es, dbname, "huge", "flood.py", "table:flood_in", args={"huge": "1"})
    write_ok(es, dbname, "flood_in v=2 2")
    err = wait_for(lambda: texts(es, "huge", "ERROR"), timeout=60)[0]
    assert err.endswith("Exception: a plugin call may buffer at most 64 MiB of writes; write in "
                        "smaller batches (write_sync) or return sooner")
    assert sql_maybe(es, dbname, "SELECT count(*) AS n FROM huge") == []  # the call failed
    assert es.request("GET", "/health").status == 200


def test_run_asynchronous_lets_calls_overlap(server_factory, tmp_path_factory, dbname):
    import threading
    s = engine_server(server_factory, tmp_path_factory, extra_args=["--plugin-workers", "4"])
    write_ok(s, dbname, "x v=1 1")
    must_create(s, dbname, "serial", "req.py", "request:serial")
    must_create(s, dbname, "overlap", "req.py", "request:overlap", run_async=True)

    def four(path):
        out = []
        ts = [threading.Thread(target=lambda: out.append(
            engine_get(s, path, {"mode": "nap", "s": "0.5"}).text)) for _ in range(4)]
        t0 = time.monotonic()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert out == ["rested"] * 4
        return time.monotonic() - t0

    assert four("serial") >= 1.9
    assert four("overlap") < 1.5


# ---- dry runs -------------------------------------------------------------------------

def test_dry_runs(es, dbname):
    write_ok(es, dbname, 'cp,source=x usage="text" 1')
    r = es.post_json("/api/v3/plugin_test/wal", {
        "filename": "echo_writes.py", "database": dbname, "input_lp": "cpu,host=a usage=1 5\nbad",
        "input_arguments": {"copy": "cp"}})
    assert r.status == 200, r
    got = r.json()
    assert list(got.keys()) == ["log_lines", "database_writes", "errors"]
    assert got["log_lines"][0] == "INFO: starting execution of wal plugin."
    assert json.loads(got["log_lines"][1][len("INFO: batches "):]) == [
        {"table_name": "cpu", "rows": [{"host": "a", "usage": 1.0, "time": 5}]}]
    assert got["log_lines"][3] == 'INFO: args {"copy": "cp"}'
    assert got["log_lines"][-1].startswith("INFO: finished execution in ")
    assert got["database_writes"] == {dbname: ['cp,source=cpu host="a",usage=2.0 5']}
    assert got["errors"] == [
        "input line 2: Expected at least one space character, got end of input",
        "invalid line written to db %s: line 1: invalid column type for column 'usage', "
        "expected iox::column_type::field::string, got iox::column_type::field::float: "
        'cp,source=cpu host="a",usage=2.0 5' % dbname]
    # Nothing was written.
    assert sql(es, dbname, "SELECT count(*) AS n FROM cp") == [{"n": 1}]
    r = es.post_json("/api/v3/plugin_test/schedule", {
        "filename": "sched_ticks.py", "database": dbname, "schedule": "0 0 0 1 1 *",
        "input_arguments": {"name": "dry"}})
    got = r.json()
    year = time.gmtime().tm_year + 1
    secs = int(time.mktime(time.strptime("%d-01-01" % year, "%Y-%m-%d")) - time.timezone)
    assert got["trigger_time"] == "%d-01-01T00:00:00Z" % year
    assert got["log_lines"][0] == "INFO: starting execution with scheduled time %d-01-01 " \
                                  "00:00:00 UTC" % year
    assert got["database_writes"] == {dbname: ["ticks,trigger=dry call_time=%di %d" % (
        secs, secs * 10**9)]}
    assert got["errors"] == []
    assert sql_maybe(es, dbname, "SELECT * FROM ticks") == []
    r = es.post_json("/api/v3/plugin_test/wal", {
        "filename": "fail.py", "database": dbname, "input_lp": "cpu v=1 1"})
    assert r.status == 200 and r.json()["errors"][0].endswith("ZeroDivisionError: division by zero")
    r = es.post_json("/api/v3/plugin_test/wal", {
        "filename": "nope.py", "database": dbname, "input_lp": "cpu v=1 1"})
    assert r.status == 404


# ---- restarts --------------------------------------------------------------------------

def test_triggers_resume_after_restart(es, dbname):
    write_ok(es, dbname, "cpu v=1 1")
    must_create(es, dbname, "w", "echo_writes.py", "table:cpu", args={"copy": "cpu2"})
    must_create(es, dbname, "off", "echo_writes.py", "all_tables", disabled=True)
    must_create(es, dbname, "r", "req.py", "request:again")
    must_create(es, dbname, "s", "sched_ticks.py", "every:1s", args={"name": "s"})
    es.restart()
    assert sql(es, dbname, "SELECT trigger_name, disabled FROM system.processing_engine_triggers "
                           "ORDER BY trigger_name") == [
        {"trigger_name": "off", "disabled": True}, {"trigger_name": "r", "disabled": False},
        {"trigger_name": "s", "disabled": False}, {"trigger_name": "w", "disabled": False}]
    write_ok(es, dbname, "cpu v=5 5")
    assert wait_for(lambda: sql_maybe(es, dbname, "SELECT v FROM cpu2")) == [{"v": 10.0}]
    assert engine_get(es, "again", {"mode": "text"}).text == "<b>hello</b>"
    wait_for(lambda: ticks(es, dbname, "s"), what="a tick after the restart")
    time.sleep(0.2)
    assert texts(es, "off") == []


def test_deleting_a_database_stops_its_triggers(es, dbname):
    write_ok(es, dbname, "x v=1 1")
    must_create(es, dbname, "gone", "sched_ticks.py", "every:1s", args={"name": "gone"})
    wait_for(lambda: ticks(es, dbname, "gone"), what="a tick")
    r = es.request("DELETE", "/api/v3/configure/database?db=" + dbname)
    assert r.status == 200
    time.sleep(1.5)
    # The plugin's writes would have re-created the database.
    assert dbname not in es.db_names()
    assert sql(es, "_internal", "SELECT count(*) AS n FROM system.processing_engine_logs "
                               "WHERE trigger_name = 'gone' AND log_level = 'ERROR'") == [{"n": 0}]
