# Python side of duck.mjs: starts the long-lived Node/DuckDB process, sends one JSON
# request per line and decodes the typed answers (integers to int, timestamps to ns
# ints tagged as such). Used by tests/differential and bench/query.
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
DUCK_MJS = os.path.join(HERE, "duck.mjs")

INT_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
             "UINTEGER", "UBIGINT", "UHUGEINT")


class DuckError(Exception):
    pass


class Ts(int):
    """A timestamp as ns since the epoch (an int that remembers it was a timestamp)."""

    def __repr__(self):
        return "Ts(%d)" % int(self)


def kind_of(duck_type):
    t = duck_type.upper()
    if t in INT_TYPES:
        return "int"
    if t.startswith("TIMESTAMP"):
        return "ts"
    if t in ("DOUBLE", "FLOAT", "REAL") or t.startswith("DECIMAL"):
        return "float"
    if t == "BOOLEAN":
        return "bool"
    if t == "VARCHAR":
        return "string"
    return "other"


def _decode(kind, v):
    if v is None:
        return None
    if kind == "int":
        return int(v)
    if kind == "ts":
        return Ts(int(v))
    if kind == "float":
        return float(v)  # also "NaN", "Infinity", "-Infinity"
    return v


class Result:
    def __init__(self, columns, types, rows, ms=None):
        self.columns = columns
        self.types = types
        self.kinds = [kind_of(t) for t in types]
        self.rows = rows
        self.ms = ms

    def dicts(self):
        """Rows as dicts, NULL columns omitted (as Vigil's JSON)."""
        return [{c: v for c, v in zip(self.columns, r) if v is not None} for r in self.rows]


class Duck:
    def __init__(self, threads=None):
        if not os.path.isdir(os.path.join(HERE, "node_modules", "@duckdb", "node-api")):
            raise DuckError("tests/differential/node_modules is missing: run "
                            "`tools/install-deps.sh test` (npm ci --prefix tests/differential)")
        env = dict(os.environ)
        if threads:
            env["DUCK_THREADS"] = str(threads)
        self.proc = subprocess.Popen(["node", DUCK_MJS], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, cwd=HERE, env=env,
                                     encoding="utf-8", bufsize=1)

    def request(self, obj):
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise DuckError("duck.mjs exited (status %s)" % self.proc.poll())
        return json.loads(line)

    def query(self, sql, time=None):
        req = {"sql": sql}
        if time:
            req["time"] = time
        a = self.request(req)
        if not a["ok"]:
            raise DuckError(a["error"])
        kinds = [kind_of(t) for t in a["types"]]
        rows = [[_decode(k, v) for k, v in zip(kinds, r)] for r in a["rows"]]
        return Result(a["columns"], a["types"], rows, a.get("ms"))

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
