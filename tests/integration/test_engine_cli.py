# The processing engine's `vigil` commands (docs/cli.md, docs/plugins.md) against a
# real server: create trigger (with --upload of a file and of a directory, arguments,
# error behaviour, --disabled), update trigger (file and directory), enable, disable,
# delete (--force), show plugins, test wal_plugin and test schedule_plugin, with
# Core's messages and exit statuses.
import json
import os
import subprocess

import pytest

from engine_util import engine_get, engine_server, sql, sql_maybe, wait_for


def run(vigil_bin, server, *args, env=None):
    e = dict(os.environ)
    for k in list(e):
        if k.startswith(("VIGIL_", "INFLUXDB3_")):
            del e[k]
    e["VIGIL_HOST_URL"] = "http://127.0.0.1:%d" % server.port
    e.update(env or {})
    p = subprocess.run([vigil_bin] + list(args), capture_output=True, env=e, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


@pytest.fixture
def es(server_factory, tmp_path_factory):
    return engine_server(server_factory, tmp_path_factory)


def triggers(s, db):
    return sql(s, db, "SELECT * FROM system.processing_engine_triggers ORDER BY trigger_name")


def test_create_enable_disable_delete(vigil_bin, es, dbname):
    assert es.write(dbname, "cpu v=1 1", precision="ns").status == 204
    assert run(vigil_bin, es, "create", "trigger", "-d", dbname, "--trigger-spec", "table:cpu",
               "--path", "echo_writes.py", "--trigger-arguments",
               "copy=cpu_copy,query_path=/metrics?format=json", "--error-behavior", "retry",
               "copier") == (0, "Trigger copier created successfully\n", "")
    assert triggers(es, dbname) == [{"trigger_name": "copier", "plugin_filename": "echo_writes.py",
                                     "trigger_specification": "table:cpu", "disabled": False}]
    assert sql(es, dbname, "SELECT argument_key, argument_value FROM "
                           "system.processing_engine_trigger_arguments ORDER BY argument_key") == [
        {"argument_key": "copy", "argument_value": "cpu_copy"},
        {"argument_key": "query_path", "argument_value": "/metrics?format=json"}]
    assert es.write(dbname, "cpu v=2 2", precision="ns").status == 204
    assert wait_for(lambda: sql_maybe(es, dbname, "SELECT v FROM cpu_copy")) == [{"v": 4.0}]

    rc, out, err = run(vigil_bin, es, "create", "trigger", "-d", dbname, "--trigger-spec",
                       "table:cpu", "--path", "echo_writes.py", "copier")
    assert (rc, out) == (1, "")
    assert err == ("Error: Failed to create trigger: Cannot overwrite Processing Engine Trigger "
                   "copier in Database %s (HTTP 500)\n" % dbname)
    rc, out, err = run(vigil_bin, es, "create", "trigger", "-d", dbname, "--trigger-spec",
                       "weekly", "--path", "echo_writes.py", "x")
    assert rc == 1 and "failed to parse trigger from weekly" in err
    rc, _, err = run(vigil_bin, es, "create", "trigger", "-d", dbname, "--path", "x.py", "x")
    assert rc == 2 and "--trigger-spec is required" in err
    rc, _, err = run(vigil_bin, es, "create", "trigger", "-d", dbname, "--trigger-spec",
                     "all_tables", "x")
    assert rc == 2 and "Either --path or --plugin-filename must be provided" in err

    rc, out, err = run(vigil_bin, es, "delete", "trigger", "-d", dbname, "copier")
    assert (rc, out) == (1, "")
    assert err == ("Error: cannot delete trigger copier: Cannot delete running plugin copier. "
                   "Disable it first or use --force. (HTTP 500)\n")
    assert run(vigil_bin, es, "disable", "trigger", "-d", dbname, "copier") == (
        0, "Trigger copier disabled successfully\n", "")
    assert triggers(es, dbname)[0]["disabled"] is True
    assert run(vigil_bin, es, "enable", "trigger", "-d", dbname, "copier") == (
        0, "Trigger copier enabled successfully\n", "")
    assert triggers(es, dbname)[0]["disabled"] is False
    assert run(vigil_bin, es, "delete", "trigger", "-d", dbname, "--force", "copier") == (
        0, "Trigger copier deleted successfully\n", "")
    assert triggers(es, dbname) == []
    rc, _, err = run(vigil_bin, es, "enable", "trigger", "-d", dbname, "copier")
    assert rc == 1 and err == ("Error: cannot enable trigger copier: Processing Engine Trigger "
                               "copier not found in database %s (HTTP 404)\n" % dbname)
    # --disabled, and INFLUXDB3_* environment variables as Core's CLI reads them.
    rc, out, _ = run(vigil_bin, es, "create", "trigger", "--trigger-spec", "every:1h",
                     "--plugin-filename", "sched_ticks.py", "--disabled", "--run-asynchronous",
                     "later", env={"INFLUXDB3_DATABASE_NAME": dbname})
    assert (rc, out) == (0, "Trigger later created successfully\n")
    assert triggers(es, dbname)[0]["disabled"] is True


def test_upload_update_and_show_plugins(vigil_bin, es, dbname, tmp_path):
    assert es.write(dbname, "x v=1 1", precision="ns").status == 204
    local = tmp_path / "greet.py"
    local.write_text("def process_request(influxdb3_local, q, h, b, args=None):\n"
                     "    return 'hello ' + args['who']\n")
    assert run(vigil_bin, es, "create", "trigger", "-d", dbname, "--trigger-spec",
               "request:greet", "--path", str(local), "--upload", "--trigger-arguments",
               "who=world", "greet") == (0, "Trigger greet created successfully\n", "")
    assert open(os.path.join(es.plugin_dir, "greet.py")).read() == local.read_text()
    assert engine_get(es, "greet").text == "hello world"

    newer = tmp_path / "greet2.py"
    newer.write_text("def process_request(influxdb3_local, q, h, b, args=None):\n"
                     "    return 'hi ' + args['who']\n")
    assert run(vigil_bin, es, "update", "trigger", "-d", dbname, "--trigger-name", "greet",
               "--path", str(newer)) == (0, "Plugin 'greet' updated successfully\n", "")
    assert engine_get(es, "greet").text == "hi world"

    pkg = tmp_path / "mypkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .sub import calc\n\n"
                                     "def process_request(l, q, h, b, args=None):\n"
                                     "    return {'v': calc.value()}\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "calc.py").write_text("def value():\n    return 1\n")
    assert run(vigil_bin, es, "create", "trigger", "-d", dbname, "--trigger-spec", "request:pkg",
               "--path", str(pkg), "--upload", "pkgt") == (0, "Trigger pkgt created successfully\n",
                                                          "")
    assert engine_get(es, "pkg").json() == {"v": 1}
    (pkg / "sub" / "calc.py").write_text("def value():\n    return 2\n")
    assert run(vigil_bin, es, "update", "trigger", "-d", dbname, "-t", "pkgt", "-p", str(pkg))[0] == 0
    assert engine_get(es, "pkg").json() == {"v": 2}

    rc, out, err = run(vigil_bin, es, "show", "plugins", "--format", "json")
    assert rc == 0, err
    rows = json.loads(out)
    plugin_dir = os.path.realpath(es.plugin_dir)
    assert [(r["plugin_name"], r["file_name"], r["file_path"], r["size_bytes"]) for r in rows] == [
        ("greet", "greet.py", os.path.join(plugin_dir, "greet.py"), len(newer.read_bytes())),
        ("pkgt", "__init__.py", os.path.join(plugin_dir, "mypkg", "__init__.py"),
         len((pkg / "__init__.py").read_bytes())),
        ("pkgt", "sub/__init__.py", os.path.join(plugin_dir, "mypkg", "sub", "__init__.py"), 0),
        ("pkgt", "sub/calc.py", os.path.join(plugin_dir, "mypkg", "sub", "calc.py"),
         len((pkg / "sub" / "calc.py").read_bytes())),
    ]
    rc, out, _ = run(vigil_bin, es, "show", "plugins")
    assert rc == 0
    lines = out.splitlines()
    assert lines[1].split("|")[1:6] == [" plugin_name ", " file_name       ",
                                        " file_path" + " " * (len(lines[1].split("|")[3]) - 10),
                                        " size_bytes ", " last_modified "]
    assert len(lines) == 4 + 4

    rc, _, err = run(vigil_bin, es, "update", "trigger", "-d", dbname, "-t", "greet", "-p",
                     str(tmp_path / "missing.py"))
    assert rc == 1 and "Path does not exist" in err


def test_test_wal_and_schedule_plugin(vigil_bin, es, dbname, tmp_path):
    assert es.write(dbname, "x v=1 1", precision="ns").status == 204
    rc, out, err = run(vigil_bin, es, "test", "wal_plugin", "-d", dbname, "--lp",
                       "cpu,host=a usage=1 5", "--input-arguments", "copy=cp", "echo_writes.py")
    assert rc == 0, err
    got = json.loads(out)
    assert out.startswith('{\n  "log_lines": [\n    "INFO: starting execution of wal plugin.",\n')
    assert got["database_writes"] == {dbname: ['cp,source=cpu host="a",usage=2.0 5']}
    assert got["errors"] == []
    lp = tmp_path / "in.lp"
    lp.write_text("cpu,host=b usage=2 6\n")
    rc, out, _ = run(vigil_bin, es, "test", "wal_plugin", "-d", dbname, "--file", str(lp),
                     "echo_writes.py")
    assert rc == 0
    assert json.loads(json.loads(out)["log_lines"][1][len("INFO: batches "):]) == [
        {"table_name": "cpu", "rows": [{"host": "b", "usage": 2.0, "time": 6}]}]
    rc, _, err = run(vigil_bin, es, "test", "wal_plugin", "-d", dbname, "echo_writes.py")
    assert rc == 2 and "either --lp or --file must be provided" in err

    rc, out, err = run(vigil_bin, es, "test", "schedule_plugin", "-d", dbname, "--schedule",
                       "0 0 0 1 1 *", "--input-arguments", "name=cli", "sched_ticks.py")
    assert rc == 0, err
    got = json.loads(out)
    assert list(got.keys()) == ["trigger_time", "log_lines", "database_writes", "errors"]
    assert got["trigger_time"].endswith("-01-01T00:00:00Z")
    assert got["database_writes"][dbname][0].startswith("ticks,trigger=cli call_time=")
    assert sql_maybe(es, dbname, "SELECT * FROM ticks") == []
    rc, _, err = run(vigil_bin, es, "test", "schedule_plugin", "-d", dbname, "nope.py")
    assert rc == 1 and "Plugin not found" in err
