# Helpers for the format=parquet tests (tests/integration/test_query_parquet.py and
# tests/interop/test_query_parquet_interop.py): read a Parquet body with our reader
# (build/tests/pq_tool) and turn rows in pq_tool's JSON-lines form (which DuckDB and
# hyparquet also print, through tests/interop/pq_read.mjs) into the row objects Core's
# JSON format gives for the same query, so a test can require them to be equal.
import datetime
import json
import math
import os
import subprocess

import vigil_harness as vh

PQ_TOOL = os.environ.get("PQ_TOOL", os.path.join(vh.REPO, "build", "tests", "pq_tool"))
EPOCH = datetime.datetime(1970, 1, 1)


def pq_tool(*args):
    assert os.path.exists(PQ_TOOL), "%s is missing: run `make build/tests/pq_tool`" % PQ_TOOL
    p = subprocess.run([PQ_TOOL] + [str(a) for a in args], capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode("utf-8", "replace")
    return p.stdout.decode("utf-8")


def parse_lines(text):
    """pq_tool / pq_read.mjs output: (header, rows)."""
    lines = text.splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def save(data, directory, name):
    path = os.path.join(str(directory), name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def dump(path):
    """The file read back by our reader: (header, rows)."""
    return parse_lines(pq_tool("dump", path))


def stats(path):
    """The footer as pq_tool sees it: columns (name, type, nullable, tag, logical),
    row groups (rows, chunks), kv metadata."""
    return json.loads(pq_tool("stats", path))


def core_timestamp(ns):
    """A timestamp as Core's JSON renders it: no zone, fraction of 3, 6 or 9 digits
    only when non-zero."""
    secs, frac = divmod(ns, 10**9)
    t = EPOCH + datetime.timedelta(seconds=secs)
    s = "%04d-%02d-%02dT%02d:%02d:%02d" % (t.year, t.month, t.day, t.hour, t.minute, t.second)
    if frac % 10**6 == 0 and frac:
        s += ".%03d" % (frac // 10**6)
    elif frac % 1000 == 0 and frac:
        s += ".%06d" % (frac // 1000)
    elif frac:
        s += ".%09d" % frac
    return s


def _double(v):
    """A double from the readers' forms; None where Core's JSON writes null (NaN and
    infinities)."""
    if isinstance(v, str):
        if v == "-0.0":
            return -0.0
        return None  # "NaN", "Infinity", "-Infinity"
    v = float(v)
    return v if math.isfinite(v) else None


def _value(v, t):
    if t == "timestamp":
        return core_timestamp(int(v))
    if t in ("int64", "uint64"):
        return int(v)
    if t == "double":
        return _double(v)
    return v


def as_json_rows(header, rows):
    """Rows as Core's JSON objects: NULL columns left out; a NaN or infinite double
    kept as null (arrow-json writes it so)."""
    out = []
    for row in rows:
        obj = {}
        for name, t, v in zip(header["columns"], header["types"], row):
            if v is not None:
                obj[name] = _value(v, t)
        out.append(obj)
    return out


def exact(rows):
    """JSON rows with floats as their repr, so that equality also tells -0.0 from 0.0
    and an int from a float."""
    def one(v):
        return ("float", repr(v)) if isinstance(v, float) else (type(v).__name__, v)
    return [{k: one(v) for k, v in r.items()} for r in rows]
