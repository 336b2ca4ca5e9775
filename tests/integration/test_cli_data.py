# Integration tests of the `vigil` client commands (docs/cli.md) that check what
# reaches the server's storage: `vigil write` with -H/--host, arguments, --file and
# standard input, read back with crash_dump; database commands with -H; top-level
# --help. Messages and exit statuses of each command are covered by test_cli.py.
import json
import os
import subprocess

import vigil_harness as vh
from vigil_harness import canon


def cli(vigil_bin, *args, stdin=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "INFLUXDB3_"))}
    p = subprocess.run([vigil_bin] + list(args), input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=60)
    for mark in vh.SANITIZER_MARKS:
        assert mark.encode() not in p.stderr, p.stderr.decode("utf-8", "replace")
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_top_level_help(vigil_bin):
    rc, out, err = cli(vigil_bin, "--help")
    assert rc == 0, err
    for word in ("serve", "write", "create", "show", "update", "delete"):
        assert word in out, word
    assert cli(vigil_bin, "--version") == (0, "vigil 0.1.0\n", "")


def test_cli_write_sources_reach_storage(vigil_bin, server, tmp_path):
    url = "http://127.0.0.1:%d" % server.port
    assert cli(vigil_bin, "write", "-H", url, "-d", "cli", "-p", "ns",
               "m,src=arg v=1 1", "m,src=arg v=2 2\nm,src=arg v=3 3") == (0, "", "success\n")
    f = tmp_path / "in.lp"
    f.write_text("# from a file\nm,src=file i=7i 10\n\nm,src=file s=\"x y\" 11\n")
    assert cli(vigil_bin, "write", "--host", url, "--database", "cli", "--precision", "ns",
               "--file", str(f)) == (0, "", "success\n")
    assert cli(vigil_bin, "write", "-H", url, "-d", "cli", "-p", "s",
               stdin=b"m,src=stdin b=true 5\n") == (0, "", "success\n")
    assert cli(vigil_bin, "write", "-H", url, "-d", "cli", "-p", "ns", "-f", "-",
               stdin=b"m,src=dash u=3u 6\n") == (0, "", "success\n")
    assert cli(vigil_bin, "write", "-H", url, "-d", "cli", "--gzip", "--no-sync",
               "m,src=gzip v=9 1700000000") == (0, "", "success\n")
    assert vh.dump_server(server) == [
        canon("cli", "m", {"src": "arg"}, {"v": 1.0}, 1),
        canon("cli", "m", {"src": "arg"}, {"v": 2.0}, 2),
        canon("cli", "m", {"src": "arg"}, {"v": 3.0}, 3),
        canon("cli", "m", {"src": "file"}, {"i": ("i", 7)}, 10),
        canon("cli", "m", {"src": "file"}, {"s": "x y"}, 11),
        canon("cli", "m", {"src": "stdin"}, {"b": True}, 5 * 1_000_000_000),
        canon("cli", "m", {"src": "dash"}, {"u": ("u", 3)}, 6),
        canon("cli", "m", {"src": "gzip"}, {"v": 9.0}, 1700000000 * 1_000_000_000),
    ]


def test_cli_rejected_write_stores_nothing(vigil_bin, server):
    url = "http://127.0.0.1:%d" % server.port
    rc, out, err = cli(vigil_bin, "write", "-H", url, "-d", "rej", "-p", "ns",
                       "m v=1 1\nm v= 2\nm v=3 3")
    assert (rc, out) == (1, ""), err
    rc, _, err = cli(vigil_bin, "write", "-H", url, "-d", "rej", "-p", "ns", "--accept-partial",
                     "m v=4 4\nm v= 5\nm v=6 6")
    assert rc == 1, err
    got = vh.RowSet(l for l in vh.dump_server(server) if l.startswith("rej\t"))
    assert got == [canon("rej", "m", {}, {"v": 4.0}, 4), canon("rej", "m", {}, {"v": 6.0}, 6)]


def test_cli_database_commands_with_host_flag(vigil_bin, server):
    url = "http://127.0.0.1:%d" % server.port
    assert cli(vigil_bin, "create", "database", "-H", url, "one") == (
        0, 'Database "one" created successfully\n', "")
    assert cli(vigil_bin, "create", "database", "--host", url, "two", "-r", "7d")[0] == 0
    rc, out, _ = cli(vigil_bin, "show", "databases", "-H", url, "--format", "json")
    assert rc == 0 and json.loads(out) == [{"iox::database": "one"}, {"iox::database": "two"}]
    assert cli(vigil_bin, "delete", "database", "-H", url, "one", "-y") == (
        0, 'Database "one" deleted successfully\n', "")
    rc, out, _ = cli(vigil_bin, "show", "databases", "-H", url, "--format", "csv")
    assert (rc, out) == (0, "iox::database\ntwo\n")
    assert server.db_names() == ["two"]
    server.restart()
    rc, out, _ = cli(vigil_bin, "show", "databases", "-H", "http://127.0.0.1:%d" % server.port,
                     "--format", "jsonl")
    assert (rc, out) == (0, '{"iox::database":"two"}\n')
