# Integration tests for the `vigil` client commands of docs/cli.md against a real
# server: write (arguments, file, stdin, splitting, partial and whole-batch
# rejections), create/show/update/delete database, exit statuses and messages.
import json
import os
import subprocess

import pytest


def run(vigil_bin, server, *args, stdin=None, env=None):
    e = dict(os.environ)
    for k in list(e):
        if k.startswith(("VIGIL_", "INFLUXDB3_")):
            del e[k]
    e["VIGIL_HOST_URL"] = "http://127.0.0.1:%d" % server.port
    e.update(env or {})
    p = subprocess.run([vigil_bin] + list(args), input=stdin, capture_output=True, env=e,
                       timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_version_and_help(vigil_bin, server):
    assert run(vigil_bin, server, "--version") == (0, "vigil 0.1.0\n", "")
    rc, out, _ = run(vigil_bin, server, "write", "--help")
    assert rc == 0
    for flag in ("--database", "--host", "--token", "--precision", "--accept-partial",
                 "--no-sync", "--gzip", "--max-request-size", "VIGIL_HOST_URL",
                 "INFLUXDB3_HOST_URL", "[default: http://127.0.0.1:8181]"):
        assert flag in out, flag
    rc, _, err = run(vigil_bin, server, "nope")
    assert rc == 2 and "unknown command 'nope'" in err
    rc, _, err = run(vigil_bin, server, "write", "--nope")
    assert rc == 2 and "unknown option '--nope'" in err


def test_write_and_rejections(vigil_bin, server, dbname):
    assert run(vigil_bin, server, "write", "-d", dbname, "cpu,host=a v=1", "cpu,host=b v=2") == \
        (0, "", "success\n")
    rc, out, err = run(vigil_bin, server, "write", "-d", dbname, "cpu v=1", "cpu,host=a val= 123")
    assert (rc, out) == (1, "")
    assert err.startswith("line 2: No fields were provided at column 16: cpu,host=a val= 123\n")
    assert "nothing was written" in err
    rc, out, err = run(vigil_bin, server, "write", "--accept-partial", "--database=" + dbname,
                       "cpu v=3", "cpu v=\"s\"")
    assert (rc, out) == (1, "")
    assert err.splitlines() == [
        "line 2: invalid column type for column 'v', expected iox::column_type::field::float, "
        "got iox::column_type::field::string at column 5: cpu v=\"s\"",
        "Error: 1 of 2 lines were rejected; the other lines were written",
    ]


def test_write_stdin_file_split_gzip(vigil_bin, server, dbname, tmp_path):
    lines = "".join("m,t=%d v=%d 1700000000%09d\n" % (i % 10, i, i) for i in range(5000))
    assert run(vigil_bin, server, "write", "-d", dbname, stdin=lines.encode())[0] == 0
    f = tmp_path / "in.lp"
    f.write_text("# header comment\n" + lines + "m,t=x v=\"str\" 1\n")
    rc, _, err = run(vigil_bin, server, "write", "-d", dbname, "-f", str(f),
                     "--max-request-size", "16K", "--gzip", "--accept-partial")
    assert rc == 1
    assert err.startswith("line 5002: invalid column type for column 'v'"), err
    rc, _, err = run(vigil_bin, server, "write", "-d", dbname, "-f", str(f),
                     "--max-request-size", "16K")
    assert rc == 1
    assert "lines 1-" in err and "were written; nothing from line" in err


def test_database_commands(vigil_bin, server):
    assert run(vigil_bin, server, "create", "database", "plant1", "--retention-period", "30d") == \
        (0, 'Database "plant1" created successfully\n', "")
    rc, _, err = run(vigil_bin, server, "create", "database", "plant1")
    assert rc == 1
    assert err == ('Error: cannot create database "plant1": attempted to create a resource '
                   "that already exists (HTTP 409)\n")
    assert run(vigil_bin, server, "show", "databases") == (0, (
        "+---------------+\n"
        "| iox::database |\n"
        "+---------------+\n"
        "| plant1        |\n"
        "+---------------+\n"), "")
    rc, out, _ = run(vigil_bin, server, "show", "databases", "--format", "json")
    assert rc == 0 and json.loads(out) == [{"iox::database": "plant1"}]
    assert run(vigil_bin, server, "update", "database", "plant1", "-r", "none") == \
        (0, 'Database "plant1" updated successfully\n', "")
    assert run(vigil_bin, server, "delete", "database", "plant1") == \
        (0, 'Database "plant1" deleted successfully\n', "")
    rc, out, _ = run(vigil_bin, server, "show", "databases", "--show-deleted", "--format", "jsonl")
    assert rc == 0 and json.loads(out)["deleted"] is True
    rc, _, err = run(vigil_bin, server, "delete", "database", "plant1", "-y")
    assert (rc, err) == (1, 'Error: cannot delete database "plant1": database not found: plant1 '
                            "(HTTP 404)\n")


def test_connection_refused(vigil_bin, server):
    rc, _, err = run(vigil_bin, server, "show", "databases", "-H", "http://127.0.0.1:1")
    assert rc == 1
    assert err == ("Error: cannot connect to http://127.0.0.1:1: Connection refused (is the "
                   "server running? start it with 'vigil serve')\n")
