"""tests/interop/test_parquet_interop.py: Vigil's Parquet files against real peers.

Every kind of file the parquet module writes (pq_tool write: each codec, each encoding,
page v1/v2, nulls, all-null columns, empty strings, one row, no rows, many row groups,
64-bit widths, extremes, NaN/infinities) must read back exactly, row for row, with
  - our own reader (pq_tool dump),
  - DuckDB (@duckdb/node-api), and
  - hyparquet (pure JavaScript, + hyparquet-compressors),
and DuckDB's view of the footer statistics must match the rows. Files DuckDB writes
(default settings, zstd, snappy, gzip, lz4_raw, uncompressed, format v2, small row
groups) must read exactly with our reader.

One Node process reads everything per session (pq_read.mjs read-all), so the cost is
one DuckDB start. The npm packages come from `tools/install-deps.sh test`.

One known difference: DuckDB has no nanosecond TIMESTAMPTZ, so it reads
TIMESTAMP(NANOS, isAdjustedToUTC=true) columns truncated to microseconds (and maps
the extreme int64 values to its +/-infinity). Those columns are compared at DuckDB's
precision; files written with local_timestamps (isAdjustedToUTC=false, as InfluxDB 3
writes) compare exactly, and hyparquet always does.
"""
import atexit
import json
import math
import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PQ_TOOL = Path(os.environ.get("PQ_TOOL", ROOT / "build" / "tests" / "pq_tool"))
INT64_MAX = 2**63 - 1


def _setup():
    if not PQ_TOOL.exists():
        subprocess.run(["make", "--no-print-directory", str(PQ_TOOL.relative_to(ROOT))],
                       cwd=ROOT, check=True)
    work = Path(tempfile.mkdtemp(prefix="vigil-parquet-interop-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    ours, duck = work / "ours", work / "duck"
    duck.mkdir()
    subprocess.run([str(PQ_TOOL), "write", str(ours)], check=True)
    return ours, duck


OURS, DUCK = _setup()
CASES = sorted(p.stem for p in OURS.glob("*.parquet"))
DUCK_CASES = ["default", "zstd", "snappy", "gzip", "lz4", "uncompressed", "v2", "v2_zstd",
              "small_groups"]


def _node(mode, directory):
    if not (HERE / "node_modules" / "@duckdb" / "node-api").exists():
        pytest.fail("tests/interop/node_modules is missing: run tools/install-deps.sh test")
    proc = subprocess.run(["node", str(HERE / "pq_read.mjs"), mode, str(directory)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="session")
def peers_read():
    """Every file of ours, read by DuckDB and hyparquet."""
    _node("read-all", OURS)
    return OURS


@pytest.fixture(scope="session")
def duck_written():
    """Every DuckDB-written case, with DuckDB's own read of it."""
    _node("duckdb-write-all", DUCK)
    return DUCK


# ---------------------------------------------------------------------------
# Comparing JSON lines
# ---------------------------------------------------------------------------

def load(path):
    err = path.with_suffix(".err")
    if err.exists():
        pytest.fail(f"{path.name}: {err.read_text().strip()}")
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    return header, [json.loads(line) for line in lines[1:]]


def tool(*args):
    proc = subprocess.run([str(PQ_TOOL), *map(str, args)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def dump(path):
    out = path.with_suffix(".ours.jsonl")
    out.write_text(tool("dump", path))
    return load(out)


def stats(path):
    return json.loads(tool("stats", path))


def double_bits(v):
    """A double as comparable bits; every NaN is one value."""
    v = to_float(v)
    return "NaN" if math.isnan(v) else struct.pack("<d", v)


def duck_utc(v):
    """What DuckDB returns for a TIMESTAMP(NANOS, UTC) value: microseconds (truncated
    toward zero), with +/-int64 max (TIMESTAMP_NS infinities) standing for +/-infinity."""
    if v is None:
        return None
    ns = int(v)
    if ns >= INT64_MAX:
        return str(INT64_MAX * 1000)
    if ns == -INT64_MAX:
        return str(-INT64_MAX * 1000)
    us = abs(ns) // 1000 * 1000
    return str(us if ns >= 0 else -us)


def to_float(v):
    if isinstance(v, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(v) \
            if v in ("NaN", "Infinity", "-Infinity") else float(v)
    return float(v)


def normalize(rows, types, utc_cols=()):
    out = []
    for row in rows:
        r = []
        for i, v in enumerate(row):
            if v is not None and types[i] == "double":
                v = double_bits(v)
            elif i in utc_cols:
                v = duck_utc(v)
            r.append(v)
        out.append(r)
    return out


def assert_same_rows(got, want, label):
    (gh, grows), (wh, wrows) = got, want
    assert gh["columns"] == wh["columns"], label
    assert gh["types"] == wh["types"], label
    assert len(grows) == len(wrows), f"{label}: {len(grows)} rows, expected {len(wrows)}"
    for i, (g, w) in enumerate(zip(grows, wrows)):
        if g != w:
            cols = [wh["columns"][j] for j in range(len(w)) if g[j] != w[j]]
            pytest.fail(f"{label}: row {i} differs in {cols}:\n  got  {g}\n  want {w}")


def utc_columns(path):
    cols = stats(path)["columns"]
    return {i for i, c in enumerate(cols) if c["logical"] == "TIMESTAMP(NANOS,UTC)"}


# ---------------------------------------------------------------------------
# Files we write
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_our_reader_round_trip(case):
    """pq_tool dump of the file is byte for byte the rows pq_tool wrote."""
    assert (OURS / f"{case}.parquet").exists()
    got = tool("dump", OURS / f"{case}.parquet")
    assert got == (OURS / f"{case}.jsonl").read_text(), case


@pytest.mark.parametrize("case", CASES)
def test_duckdb_reads_our_file(peers_read, case):
    want_h, want = load(OURS / f"{case}.jsonl")
    got_h, got = load(OURS / f"{case}.duckdb.jsonl")
    types = want_h["types"]
    utc = utc_columns(OURS / f"{case}.parquet")
    assert_same_rows((got_h, normalize(got, types)), (want_h, normalize(want, types, utc)),
                     f"DuckDB, {case}")


@pytest.mark.parametrize("case", CASES)
def test_hyparquet_reads_our_file(peers_read, case):
    want_h, want = load(OURS / f"{case}.jsonl")
    got_h, got = load(OURS / f"{case}.hyparquet.jsonl")
    types = want_h["types"]
    assert_same_rows((got_h, normalize(got, types)), (want_h, normalize(want, types)),
                     f"hyparquet, {case}")


def _expected_stats(header, rows, first, count):
    """(null count, min, max) per column over rows [first, first + count)."""
    out = []
    for j, t in enumerate(header["types"]):
        vals = [r[j] for r in rows[first:first + count]]
        present = [v for v in vals if v is not None]
        if t in ("int64", "uint64", "timestamp"):
            present = [int(v) for v in present]
        elif t == "double":
            present = [f for f in map(to_float, present) if not math.isnan(f)]
        elif t == "string":
            present = [v.encode() for v in present]
        out.append((vals.count(None), min(present, default=None), max(present, default=None)))
    return out


@pytest.mark.parametrize("case", ["default_zstd", "many_row_groups", "nulls_heavy",
                                  "wide_ints_plain", "unicode_text", "empty_strings",
                                  "all_null", "input_ids", "dict_fallback"])
def test_statistics_match_rows(peers_read, case):
    """Null counts and min/max of every column chunk, as our reader and DuckDB's
    parquet_metadata() see them, match the rows of that row group (unsigned order
    for UINT64, byte order for strings)."""
    header, rows = load(OURS / f"{case}.jsonl")
    meta = stats(OURS / f"{case}.parquet")
    duck = [json.loads(line) for line in
            (OURS / f"{case}.duckmeta.jsonl").read_text().splitlines()]
    first = 0
    for g, rg in enumerate(meta["row_groups"]):
        count = int(rg["rows"])
        want = _expected_stats(header, rows, first, count)
        for j, chunk in enumerate(rg["chunks"]):
            name, t = header["columns"][j], header["types"][j]
            nulls, lo, hi = want[j]
            label = f"{case} row group {g} column {name}"
            assert chunk["nulls"] == nulls, label
            if lo is None:
                assert "min" not in chunk, label
                continue
            conv = {"int64": int, "uint64": int, "timestamp": int, "double": to_float,
                    "string": lambda s: s.encode(), "bool": bool}[t]
            assert conv(chunk["min"]) == lo and conv(chunk["max"]) == hi, label
            d = next(r for r in duck if int(r["row_group_id"]) == g and
                     r["path_in_schema"] == name)
            assert int(d["stats_null_count"]) == nulls, label
            if t in ("int64", "uint64"):
                assert (int(d["stats_min_value"]), int(d["stats_max_value"])) == (lo, hi), label
            elif t == "string":
                assert (d["stats_min_value"].encode(), d["stats_max_value"].encode()) == \
                    (lo, hi), label
            elif t == "bool":
                assert (d["stats_min_value"], d["stats_max_value"]) == \
                    (str(lo).lower(), str(hi).lower()), label
        first += count


def test_tags_and_metadata(peers_read):
    """Tag columns are listed in the key-value metadata, and created_by is ours."""
    meta = stats(OURS / "kv_metadata.parquet")
    assert meta["created_by"] == "vigil version 0.1.0"
    assert meta["kv"]["vigil:tags"] == '["host","region"]'
    assert meta["kv"]["origin"] == "pq_tool" and meta["kv"]["empty"] == ""
    assert [c["name"] for c in meta["columns"] if c["tag"]] == ["host", "region"]
    types = {c["name"]: c["logical"] for c in meta["columns"]}
    assert types["time"] == "TIMESTAMP(NANOS,UTC)"
    assert types["ucount"] == "INTEGER(64,unsigned)"
    assert types["note"] == "STRING"
    local = stats(OURS / "local_time.parquet")
    assert local["columns"][0]["logical"] == "TIMESTAMP(NANOS,local)"


def test_long_strings_truncated_statistics(peers_read):
    """String bounds longer than 64 bytes are cut (min: a prefix; max: a prefix with its
    last byte raised) and marked inexact, and are still bounds of the values."""
    header, rows = load(OURS / "long_strings.jsonl")
    meta = stats(OURS / "long_strings.parquet")
    first = 0
    for rg in meta["row_groups"]:
        count = int(rg["rows"])
        for j in (1, 2, 3):
            vals = [r[j].encode() for r in rows[first:first + count] if r[j] is not None]
            chunk = rg["chunks"][j]
            lo, hi = chunk["min"].encode(), chunk["max"].encode()
            assert len(lo) <= 64 and len(hi) <= 64
            assert chunk["exact"] is False
            assert lo <= min(vals) and hi > max(vals)
        first += count


# ---------------------------------------------------------------------------
# Files DuckDB writes
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("case", DUCK_CASES)
def test_our_reader_reads_duckdb_file(duck_written, case):
    path = DUCK / f"duck_{case}.parquet"
    err = DUCK / f"duck_{case}.write.err"
    assert not err.exists(), err.read_text() if err.exists() else ""
    want_h, want = load(DUCK / f"duck_{case}.duckdb.jsonl")
    got_h, got = dump(path)
    types = want_h["types"]
    assert_same_rows((got_h, normalize(got, types)), (want_h, normalize(want, types)),
                     f"DuckDB-written {case}")


def test_duckdb_file_statistics(duck_written):
    """Our reader's view of DuckDB's statistics agrees with the rows."""
    header, rows = load(DUCK / "duck_small_groups.duckdb.jsonl")
    meta = stats(DUCK / "duck_small_groups.parquet")
    assert len(meta["row_groups"]) > 5
    first = 0
    for rg in meta["row_groups"]:
        count = int(rg["rows"])
        want = _expected_stats(header, rows, first, count)
        for j, chunk in enumerate(rg["chunks"]):
            t = header["types"][j]
            nulls, lo, hi = want[j]
            label = f"row group at {first}, column {header['columns'][j]}"
            if "nulls" in chunk:
                assert chunk["nulls"] == nulls, label
            if "min" in chunk and t in ("int64", "uint64", "timestamp"):
                assert (int(chunk["min"]), int(chunk["max"])) == (lo, hi), label
        first += count
