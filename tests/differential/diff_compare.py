# Compares Vigil's JSON answer with DuckDB's typed rows for one query of the
# differential tests: same column names (and order), same row count, same values
# (floats to 1e-9 relative, timestamps as ns, NULL = NULL = absent key), in order or as
# multisets; builds the failure report (both queries, both results, first differing
# rows) that the engine engineers read.
import datetime
import json
import math
import re

from duckclient import Ts

REL_TOL = 1e-9
ABS_TOL = 1e-9

_TS_RE = re.compile(r"^(-?\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?$")
_EPOCH = datetime.datetime(1970, 1, 1)


def parse_ts(s):
    """Vigil's rendering `2026-01-07T17:28:51[.fraction]` (UTC, no zone) to ns, or None."""
    if not isinstance(s, str):
        return None
    m = _TS_RE.match(s)
    if not m:
        return None
    y, mo, d, h, mi, se = (int(x) for x in m.groups()[:6])
    frac = (m.group(7) or "").ljust(9, "0")
    days = (datetime.date(y, mo, d) - _EPOCH.date()).days
    return ((days * 86400 + h * 3600 + mi * 60 + se) * 1_000_000_000) + int(frac or 0)


def render_ts(ns):
    """Core's rendering of a Timestamp(ns): seconds, then the fraction only when
    non-zero, as 3, 6 or 9 digits (chrono's `%.f`)."""
    sec, frac = divmod(int(ns), 1_000_000_000)
    dt = _EPOCH + datetime.timedelta(seconds=sec)
    s = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        if frac % 1_000_000 == 0:
            s += ".%03d" % (frac // 1_000_000)
        elif frac % 1000 == 0:
            s += ".%06d" % (frac // 1000)
        else:
            s += ".%09d" % frac
    return s


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def values_equal(exp, got, kind):
    """exp: DuckDB's decoded value (not None); got: Vigil's JSON value (not None)."""
    if kind == "ts":  # got was parsed by normalize_got
        return isinstance(got, Ts) and int(got) == int(exp)
    if kind == "bool":
        return isinstance(got, bool) and got == exp
    if kind == "string":
        return isinstance(got, str) and got == exp
    if _num(exp):
        if not _num(got):
            return False
        if isinstance(exp, int) and isinstance(got, int):
            return exp == got
        a, b = float(exp), float(got)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        if math.isinf(a) or math.isinf(b):
            return a == b
        return abs(a - b) <= max(REL_TOL * max(abs(a), abs(b)), ABS_TOL)
    return exp == got


def _sort_key_value(v):
    """A key that orders any JSON-ish value, tolerant of float noise."""
    if v is None:
        return (0, 0)
    if isinstance(v, bool):
        return (1, int(v))
    if _num(v):
        f = float(v)
        if math.isnan(f) or math.isinf(f):
            return (2, str(f))
        return (2, float("%.9g" % f))
    return (3, str(v))


class Expected:
    """DuckDB's answer in Vigil's terms: output column names, per-column kinds, and
    rows as dicts without NULLs (ts values as Ts)."""

    def __init__(self, names, kinds, rows):
        self.names = names
        self.kinds = dict(zip(names, kinds))
        self.rows = [{n: v for n, v in zip(names, r) if v is not None} for r in rows]


def normalize_got(row, kinds):
    """Vigil's row with timestamps (of columns DuckDB says are timestamps) as Ts."""
    out = {}
    for k, v in row.items():
        if kinds.get(k) == "ts":
            ns = parse_ts(v)
            out[k] = Ts(ns) if ns is not None else v
        else:
            out[k] = v
    return out


def _row_key(row, names):
    return tuple(_sort_key_value(row.get(n)) for n in names) + tuple(
        sorted((k, str(v)) for k, v in row.items() if k not in names))


def rows_equal(exp_row, got_row, kinds):
    if set(exp_row) != set(got_row):
        return False
    return all(values_equal(exp_row[k], got_row[k], kinds.get(k)) for k in exp_row)


def fmt_row(row):
    def f(v):
        if isinstance(v, Ts):
            return render_ts(v)
        return v
    return json.dumps({k: f(v) for k, v in row.items()}, ensure_ascii=False, default=str)


def compare(exp, got_rows, ordered, check_key_order=True, star=False, sorted_by=None):
    """Returns None when equal, else a list of lines describing the first difference.
    got_rows: Vigil's parsed JSON (a list of dicts, key order kept)."""
    problems = []
    if not isinstance(got_rows, list) or not all(isinstance(r, dict) for r in got_rows):
        return ["vigil's answer is not a JSON array of objects"]
    unknown = sorted({k for r in got_rows for k in r} - set(exp.names))
    if unknown:
        problems.append("vigil returned columns DuckDB did not: %s (expected names %s)"
                        % (unknown, exp.names))
    if check_key_order:
        order = sorted(exp.names) if star else exp.names
        for i, r in enumerate(got_rows):
            want = [n for n in order if n in r]
            if list(r.keys()) != want:
                problems.append("column order of row %d: got %s, expected %s%s" % (
                    i, list(r.keys()), want, " (SELECT * is ordered by name)" if star else ""))
                break
    got = [normalize_got(r, exp.kinds) for r in got_rows]
    if len(got) != len(exp.rows):
        problems.append("row count: vigil %d, duckdb %d" % (len(got), len(exp.rows)))
    if sorted_by:
        for i in range(1, len(got)):
            for col, desc in sorted_by:
                a, b = _sort_key_value(got[i - 1].get(col)), _sort_key_value(got[i].get(col))
                if a == b:
                    continue
                if (a > b) != desc:
                    problems.append("vigil rows %d and %d are out of order on %s" % (i - 1, i, col))
                break
    if ordered:
        e_rows, g_rows = exp.rows, got
    else:
        e_rows = sorted(exp.rows, key=lambda r: _row_key(r, exp.names))
        g_rows = sorted(got, key=lambda r: _row_key(r, exp.names))
    for i in range(min(len(e_rows), len(g_rows))):
        if not rows_equal(e_rows[i], g_rows[i], exp.kinds):
            problems.append("first differing row: #%d%s" % (i, "" if ordered else " (both sorted)"))
            lo = max(0, i - 1)
            for j in range(lo, min(i + 3, max(len(e_rows), len(g_rows)))):
                mark = "*" if j == i else " "
                if j < len(g_rows):
                    problems.append("%s vigil  #%d %s" % (mark, j, fmt_row(g_rows[j])))
                if j < len(e_rows):
                    problems.append("%s duckdb #%d %s" % (mark, j, fmt_row(e_rows[j])))
            break
    else:
        if len(e_rows) != len(g_rows):
            n = min(len(e_rows), len(g_rows))
            extra = g_rows[n:n + 3] if len(g_rows) > n else e_rows[n:n + 3]
            who = "vigil" if len(g_rows) > n else "duckdb"
            for j, r in enumerate(extra):
                problems.append("  only in %s #%d %s" % (who, n + j, fmt_row(r)))
    return problems or None
