# The differential tests' queries: a seeded generator of Case objects over the tables
# of diff_data.py, covering the SQL surface of issue 3. Each query is written once in
# Vigil's dialect; to_duck() translates the spellings DuckDB does not share (see
# README.md: "Translations"), and the few that no rewrite rule covers (integer
# division, float-to-integer casts, round(x, n), to_timestamp(int)) carry their
# DuckDB text explicitly, built by the typed expression helpers below.
import random
import re

SEED = 3


class Case:
    """One query. ordered: compare rows in order (the ORDER BY is total), else as
    multisets. star: `SELECT *` from a table (Vigil orders those columns by name).
    names: Vigil's expected column names when they differ from DuckDB's (unaliased
    expressions), matched by position. sorted_by: [(column, desc)] that Vigil's rows
    must be sorted on when the ORDER BY is not total (the rows are then compared as a
    multiset). now: the query calls now() (compared against DuckDB at the instants
    bracketing Vigil's request). probe: a feature outside issue 3's surface; Vigil may
    answer 405 (not implemented), which is an expected failure, not an error.
    asan: also run against the sanitizer build."""

    def __init__(self, cid, vigil, duck=None, ordered=None, star=False, names=None,
                 sorted_by=None, note="", probe=False):
        self.id = cid
        self.vigil = " ".join(vigil.split())
        self.duck = " ".join((duck if duck is not None else to_duck(vigil)).split())
        if ordered is None:
            ordered = bool(re.search(r"\bORDER\s+BY\b", vigil, re.I)) and not sorted_by
        self.ordered = ordered
        self.star = star
        self.names = names
        self.sorted_by = sorted_by
        self.now = "now()" in vigil.lower()
        self.note = note
        self.probe = probe
        self.asan = False
        self.method = "POST"

    def __repr__(self):
        return "Case(%s: %s)" % (self.id, self.vigil)


# ---------------------------------------------------------------- translation

_SHORT_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _split_strings(sql):
    """[(is_literal, text)]: single-quoted strings and double-quoted identifiers are
    literal segments, everything else is code."""
    out = []
    i = 0
    buf = ""
    while i < len(sql):
        c = sql[i]
        if c in "'\"":
            j = i + 1
            while j < len(sql):
                if sql[j] == c:
                    if j + 1 < len(sql) and sql[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            if buf:
                out.append((False, buf))
                buf = ""
            out.append((True, sql[i:j + 1]))
            i = j + 1
        else:
            buf += c
            i += 1
    if buf:
        out.append((False, buf))
    return out


def _args_at(sql, open_idx):
    """Splits the parenthesized argument list starting at sql[open_idx] == '(' into
    top-level arguments; returns (args, index after the closing paren)."""
    depth = 0
    args = []
    cur = ""
    i = open_idx
    quote = None
    while i < len(sql):
        c = sql[i]
        if quote:
            cur += c
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
            cur += c
        elif c == "(":
            depth += 1
            if depth > 1:
                cur += c
        elif c == ")":
            depth -= 1
            if depth == 0:
                args.append(cur.strip())
                return args, i + 1
            cur += c
        elif c == "," and depth == 1:
            args.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    raise ValueError("unbalanced parentheses in %r" % sql)


def _rewrite_calls(sql, name, fn):
    """Replaces every call name(args...) (case-insensitive) by fn(args)."""
    pat = re.compile(r"\b%s\s*\(" % name, re.I)
    out = ""
    pos = 0
    while True:
        m = pat.search(sql, pos)
        if not m:
            return out + sql[pos:]
        args, end = _args_at(sql, m.end() - 1)
        out += sql[pos:m.start()] + fn([_rewrite_calls(a, name, fn) for a in args])
        pos = end


def _date_bin(args):
    width = args[0]
    if width.startswith("'"):
        width = "INTERVAL " + width
    origin = args[2] if len(args) > 2 else "TIMESTAMP '1970-01-01 00:00:00'"
    return "time_bucket(%s, %s, %s)" % (width, args[1], origin)


_SEL = {
    ("first", "value"): "arg_min({x}, time)",
    ("first", "time"): "min(time) FILTER (WHERE {x} IS NOT NULL)",
    ("last", "value"): "arg_max({x}, time)",
    ("last", "time"): "max(time) FILTER (WHERE {x} IS NOT NULL)",
    ("min", "value"): "min({x})",
    ("min", "time"): "arg_min(time, ({x}, epoch_ns(time))) FILTER (WHERE {x} IS NOT NULL)",
    ("max", "value"): "max({x})",
    ("max", "time"): "arg_max(time, ({x}, -epoch_ns(time))) FILTER (WHERE {x} IS NOT NULL)",
}


def to_duck(sql):
    """Vigil's dialect to DuckDB's, by rules that hold for every query here."""
    # INTERVAL '10m' short forms
    sql = re.sub(r"INTERVAL\s+'(\d+)\s*([smhd])'",
                 lambda m: "INTERVAL '%s %s'" % (m.group(1), _SHORT_UNITS[m.group(2)]), sql)
    # selector_x(v, time)['value'|'time']
    sql = re.sub(r"selector_(first|last|min|max)\(\s*([^,()]+?)\s*,\s*time\s*\)\[\s*'(value|time)'\s*\]",
                 lambda m: _SEL[(m.group(1), m.group(3))].format(x=m.group(2)), sql)
    sql = _rewrite_calls(sql, "date_bin", _date_bin)
    # upper('ß') is 'SS' in DataFusion (Rust's full case mapping), 'ẞ' in DuckDB
    sql = _rewrite_calls(sql, "upper", lambda a: "upper(replace(%s, 'ß', 'ss'))" % a[0])
    parts = []
    for lit, text in _split_strings(sql):
        if not lit:
            text = re.sub(r"\bapprox_percentile_cont\s*\(", "quantile_cont(", text, flags=re.I)
            text = re.sub(r"\bBIGINT\s+UNSIGNED\b", "UBIGINT", text, flags=re.I)
            # Float literals are DOUBLE in Vigil (DataFusion), DECIMAL in DuckDB.
            text = re.sub(r"(?<![\w.])(\d+\.\d*(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\.\d+(?:[eE][+-]?\d+)?)(?![\w.])",
                          r"CAST(\1 AS DOUBLE)", text)
            # default NULL order of DESC: NULLS FIRST in Vigil, NULLS LAST in DuckDB
            text = re.sub(r"\bDESC\b(?!\s+NULLS)", "DESC NULLS FIRST", text, flags=re.I)
            text = re.sub(r"\bnow\(\)", "{NOW}", text, flags=re.I)
        parts.append(text)
    return "".join(parts)


# ---------------------------------------------------------------- typed expressions

class X:
    """An expression in both dialects with its type: f(loat), i(nt), u(int), b(ool),
    s(tring), t(imestamp)."""

    def __init__(self, v, d, t):
        self.v, self.d, self.t = v, d, t


def col(name, t):
    return X(name, name, t)


def lit(text, t):
    return X(text, to_duck(text), t)


def op(a, o, b, t=None):
    """Binary operator; `/` between integers is integer division (`//` in DuckDB)."""
    if t is None:
        t = "f" if "f" in (a.t, b.t) else ("i" if "i" in (a.t, b.t) else a.t)
    dop = "//" if o == "/" and t in ("i", "u") else o
    return X("(%s %s %s)" % (a.v, o, b.v), "(%s %s %s)" % (a.d, dop, b.d), t)


def fn(name, *args, t=None):
    v = "%s(%s)" % (name, ", ".join(a.v for a in args))
    d = "%s(%s)" % (name, ", ".join(a.d for a in args))
    if name == "upper":
        d = "upper(replace(%s, 'ß', 'ss'))" % args[0].d  # see to_duck
    return X(v, d, t or args[0].t)


def cast(a, typ):
    t = {"DOUBLE": "f", "BIGINT": "i", "BIGINT UNSIGNED": "u", "VARCHAR": "s", "BOOLEAN": "b",
         "TIMESTAMP": "t"}[typ]
    dtyp = "UBIGINT" if typ == "BIGINT UNSIGNED" else typ
    inner = a.d
    if a.t == "f" and t in ("i", "u"):
        inner = "trunc(%s)" % a.d  # DataFusion truncates, DuckDB rounds
    return X("CAST(%s AS %s)" % (a.v, typ), "CAST(%s AS %s)" % (inner, dtyp), t)


def round_n(a, n):
    """round(x, n): DataFusion computes round(x * 10^n) / 10^n in float64."""
    return X("round(%s, %d)" % (a.v, n),
             "(round(%s * power(10, %d)) / power(10, %d))" % (a.d, n, n), "f")


# ---------------------------------------------------------------- the generator

KEY = "time, site, device"  # unique in readings: (tag set, time)
R = "readings"

FLOATS = ["temp", "hum", "power"]
INTS = ["cnt", "code", "big"]
UINTS = ["ucnt", "ubig"]
STRINGS = ["status", "note"]
TAGS = ["site", "device"]
ALL_COLS = ["time"] + TAGS + FLOATS + INTS + UINTS + ["ok"] + STRINGS


class Gen:
    def __init__(self):
        self.cases = []
        self.counters = {}

    def add(self, cat, vigil, duck=None, **kw):
        n = self.counters.get(cat, 0) + 1
        self.counters[cat] = n
        c = Case("%s-%03d" % (cat, n), vigil, duck, **kw)
        self.cases.append(c)
        return c

    def sel(self, cat, exprs, where=None, table=R, limit=None, order=KEY):
        """SELECT <key columns>, e1 AS c1, ... FROM table [WHERE] ORDER BY key."""
        v_items = ["time", "site", "device"] + ["%s AS c%d" % (e.v, i + 1) for i, e in enumerate(exprs)]
        d_items = ["time", "site", "device"] + ["%s AS c%d" % (e.d, i + 1) for i, e in enumerate(exprs)]
        tail_v = tail_d = ""
        if where is not None:
            tail_v += " WHERE " + where.v
            tail_d += " WHERE " + where.d
        tail_v += " ORDER BY " + order
        tail_d += " " + to_duck("ORDER BY " + order)
        if limit:
            tail_v += " LIMIT %d" % limit
            tail_d += " LIMIT %d" % limit
        return self.add(cat, "SELECT %s FROM %s%s" % (", ".join(v_items), table, tail_v),
                        "SELECT %s FROM %s%s" % (", ".join(d_items), table, tail_d))


def _projection(g):
    for c in ALL_COLS:
        g.add("proj", "SELECT %s FROM readings ORDER BY time, site, device" % (
            c if c in ("time", "site", "device") else "time, site, device, " + c))
    g.add("proj", "SELECT * FROM readings ORDER BY time, site, device", star=True)
    g.add("proj", "SELECT * FROM events ORDER BY time, site, kind", star=True)
    g.add("proj", "SELECT * FROM ticks ORDER BY time, src", star=True)
    g.add("proj", "SELECT * FROM readings WHERE device = 'd03' AND site = 'east' ORDER BY time", star=True)
    g.add("proj", "SELECT site AS s, device AS d, temp AS t, time AS ts FROM readings ORDER BY ts, s, d")
    g.add("proj", "SELECT readings.temp, readings.site FROM readings WHERE readings.code = 3 ORDER BY readings.time, readings.site, readings.device")
    g.add("proj", "SELECT r.temp, r.site, r.time FROM readings r WHERE r.code = 4 ORDER BY r.time, r.site, r.device")
    g.add("proj", "SELECT r.hum FROM readings AS r WHERE r.code = 5 ORDER BY r.time, r.site, r.device")
    g.add("proj", 'SELECT "temp", "site" AS "Site Name" FROM "readings" WHERE code = 6 ORDER BY time, site, device')
    g.add("proj", "SELECT time, temp, temp AS t2, temp * 2 AS t3 FROM readings WHERE code = 7 ORDER BY time, site, device")
    g.add("proj", "SELECT status, note FROM readings WHERE code = 8")
    g.add("proj", "SELECT * FROM readings WHERE code = 9 AND ok", star=True, ordered=False)
    g.add("proj", "SELECT DISTINCT site FROM readings")
    g.add("proj", "SELECT DISTINCT site, device FROM readings")
    g.add("proj", "SELECT DISTINCT code FROM readings ORDER BY code NULLS FIRST")
    g.add("proj", "SELECT DISTINCT status FROM readings ORDER BY status NULLS LAST")
    g.add("proj", "SELECT DISTINCT ok FROM readings ORDER BY ok NULLS FIRST")
    g.add("proj", "SELECT DISTINCT ok, code FROM readings")
    g.add("proj", "SELECT DISTINCT date_trunc('day', time) AS d FROM readings ORDER BY d")
    g.add("proj", "SELECT DISTINCT lower(status) AS s FROM readings")
    g.add("proj", "SELECT DISTINCT kind, site FROM events ORDER BY kind, site")
    g.add("proj", "SELECT time, v FROM ticks ORDER BY time DESC")
    g.add("proj", "SELECT src, x FROM ticks ORDER BY x DESC, src")
    g.add("proj", "SELECT src, x FROM ticks ORDER BY x, time")


def _literals(g):
    one = "FROM ticks WHERE v = 0"
    for text in ["1", "-1", "0", "42", "9223372036854775807", "1.5", "-0.25", "1e3", "2.5e-3",
                 "0.1 + 0.2", "'str'", "'it''s'", "''", "'üñí 温度'", "TRUE", "FALSE",
                 "NULL", "1 + 2 * 3", "(1 + 2) * 3", "-(4 - 6)", "10 - 2 - 3", "2 * 3.5",
                 "'a' || 'b'", "TRUE AND NULL", "FALSE AND NULL", "TRUE OR NULL", "NOT FALSE",
                 "1 = 1", "'a' < 'b'", "NULL IS NULL", "1.0 = 1"]:
        g.add("lit", "SELECT %s AS v %s" % (text, one))
    ts_lits = ["TIMESTAMP '2026-01-05T10:00:00Z'", "TIMESTAMP '2026-01-05 10:00:00'",
               "CAST('2026-01-05T10:00:00Z' AS TIMESTAMP)", "'2026-01-06T00:00:00Z'::TIMESTAMP",
               "TIMESTAMP '2026-01-05T10:00:00.250Z'", "TIMESTAMP '1999-12-31T23:59:59.999999Z'"]
    for text in ts_lits:
        g.add("lit", "SELECT %s AS v %s" % (text, one))
    for iv in ["INTERVAL '90 minutes'", "INTERVAL '1 hour'", "INTERVAL '2 days'",
               "INTERVAL '30 seconds'", "INTERVAL '10m'", "INTERVAL '1h'", "INTERVAL '7d'",
               "INTERVAL '45s'", "INTERVAL '1 day 2 hours'", "INTERVAL '500 milliseconds'"]:
        g.add("lit", "SELECT TIMESTAMP '2026-01-05T10:00:00Z' + %s AS plus, "
                     "TIMESTAMP '2026-01-05T10:00:00Z' - %s AS minus %s" % (iv, iv, one))
    g.add("lit", "SELECT 1 AS a, 'x' AS b, 2.5 AS c, TRUE AS d")
    g.add("lit", "SELECT count(*) AS n FROM readings WHERE time >= '2026-01-06T00:00:00Z' AND time < '2026-01-06T06:00:00Z'")
    g.add("lit", "SELECT count(*) AS n FROM readings WHERE time > TIMESTAMP '2026-01-07T12:00:00Z'")
    g.add("lit", "SELECT count(*) AS n FROM readings WHERE time BETWEEN '2026-01-05T06:00:00Z' AND '2026-01-05T07:00:00Z'")
    g.add("lit", "SELECT time, site, device FROM readings WHERE time >= '2026-01-05T12:00:00.5Z' AND time < '2026-01-05T12:30:00Z' ORDER BY time, site, device")
    g.add("lit", "SELECT count(*) AS n FROM readings WHERE time >= TIMESTAMP '2026-01-06T00:00:00Z' - INTERVAL '90 minutes' AND time < TIMESTAMP '2026-01-06T00:00:00Z'")
    g.add("lit", "SELECT count(*) AS n FROM readings WHERE time < now()")
    g.add("lit", "SELECT count(*) AS n FROM readings WHERE time > now() - INTERVAL '10000 days'")
    g.add("lit", "SELECT count(*) AS n FROM readings WHERE time = '2026-01-05T00:00:13Z'")
    g.add("lit", "SELECT time + INTERVAL '10m' AS t, time - INTERVAL '1h' AS u FROM readings WHERE code = 2 ORDER BY time, site, device")
    g.add("lit", "SELECT min(time) - INTERVAL '1 day' AS a, max(time) + INTERVAL '36 hours' AS b FROM readings")


def _arith(g):
    F = [col(c, "f") for c in FLOATS]
    I = [col("cnt", "i"), col("code", "i")]
    temp, hum, power = F
    cnt, code = I
    big = col("big", "i")
    ucnt = col("ucnt", "u")
    fl = [lit("1.5", "f"), lit("-2.25", "f"), lit("100.0", "f"), lit("0.0", "f")]
    il = [lit("3", "i"), lit("-7", "i"), lit("0", "i"), lit("1000", "i")]
    for o in "+-*":
        g.sel("arith", [op(temp, o, hum), op(temp, o, cnt), op(cnt, o, code), op(code, o, temp)])
        g.sel("arith", [op(temp, o, fl[0]), op(fl[1], o, hum), op(cnt, o, il[0]), op(il[1], o, code)])
        u2 = op(op(ucnt, "+", lit("2", "i"), "u"), o, lit("2", "i"), "u")  # no uint underflow
        g.sel("arith", [op(power, o, il[3]), op(cnt, o, fl[2]), u2, op(cnt, o, ucnt, "i")])
    one = lit("1", "i")
    nz_code = op(code, "+", one)
    # division: float, mixed, and integer (truncating) division
    g.sel("arith", [op(temp, "/", op(fn("abs", hum), "+", one)), op(cnt, "/", lit("4.0", "f")),
                    op(temp, "/", lit("3", "i"))])
    g.sel("arith", [op(cnt, "/", nz_code), op(cnt, "/", lit("7", "i")), op(cnt, "/", lit("-7", "i")),
                    op(lit("1000", "i"), "/", nz_code)])
    g.sel("arith", [op(ucnt, "/", lit("7", "i"), "u"), op(big, "/", lit("1000000", "i")),
                    op(op(cnt, "/", lit("3", "i")), "*", lit("3", "i"))])
    g.sel("arith", [op(cnt, "%", nz_code), op(cnt, "%", lit("7", "i")), op(cnt, "%", lit("-7", "i")),
                    op(ucnt, "%", lit("13", "i"), "u")])
    g.sel("arith", [op(temp, "%", lit("7.5", "f")), op(power, "%", lit("1000", "i")),
                    op(temp, "%", op(fn("abs", hum), "+", one))])
    g.sel("arith", [X("-temp", "-temp", "f"), X("-cnt", "-cnt", "i"), X("-(cnt + code)", "-(cnt + code)", "i"),
                    X("- -code", "- -code", "i")])
    g.sel("arith", [X("temp + cnt * 2", "temp + cnt * 2", "f"), X("(temp + cnt) * 2", "(temp + cnt) * 2", "f"),
                    X("cnt - code - 1", "cnt - code - 1", "i"), X("cnt * 2 % 7", "cnt * 2 % 7", "i")])
    g.sel("arith", [X("cnt / 3 * 3 + cnt % 3", "cnt // 3 * 3 + cnt % 3", "i"),
                    X("code * code * code - 1", "code * code * code - 1", "i"),
                    X("1 - -1", "1 - -1", "i")])
    g.sel("arith", [op(big, "+", cnt), op(big, "-", lit("1000000000000", "i")), op(big, "*", lit("10", "i"))])
    g.sel("arith", [op(col("ubig", "u"), "/", lit("2", "i"), "u"), op(col("ubig", "u"), "%", lit("1000", "i"), "u")])
    g.add("arith", "SELECT 7 / 2 AS a, -7 / 2 AS b, 7 % -2 AS c, -7 % 2 AS d, 7.0 / 2 AS e, 1 / 3 AS f",
          "SELECT 7 // 2 AS a, -7 // 2 AS b, 7 % -2 AS c, -7 % 2 AS d, CAST(7.0 AS DOUBLE) / 2 AS e, 1 // 3 AS f")
    g.add("arith", "SELECT sum(cnt) / count(cnt) AS a, sum(temp) / count(temp) AS b FROM readings",
          "SELECT sum(cnt) // count(cnt) AS a, sum(temp) / count(temp) AS b FROM readings")
    g.add("arith", "SELECT site, sum(code * 2 + 1) AS s, max(cnt - code) AS m FROM readings GROUP BY site")


def _logic(g):
    cmp_ops = ["=", "<>", "!=", "<", "<=", ">", ">="]
    pairs = [("temp", "20.5"), ("temp", "hum"), ("cnt", "0"), ("cnt", "code"), ("code", "temp"),
             ("ucnt", "2500"), ("ubig", "9223372036854775807"), ("status", "'ok'"),
             ("status", "note"), ("site", "'north'"), ("device", "'d05'"), ("ok", "TRUE"),
             ("time", "'2026-01-06T12:00:00Z'"), ("big", "0"), ("power", "cnt")]
    for i, (a, b) in enumerate(pairs):
        ops_here = cmp_ops if i % 2 == 0 else cmp_ops[::2]
        exprs = [X("%s %s %s" % (a, o, b), to_duck("%s %s %s" % (a, o, b)), "b") for o in ops_here]
        g.sel("cmp", exprs[:4])
        if len(exprs) > 4:
            g.sel("cmp", exprs[4:])
    for a, b in pairs:
        g.add("cmp", "SELECT count(*) AS n FROM readings WHERE %s > %s" % (a, b))
        g.add("cmp", "SELECT count(*) AS n FROM readings WHERE NOT (%s = %s)" % (a, b))
    three = ["temp > 0 AND hum > 50", "temp > 0 OR hum > 50", "NOT (temp > 0)",
             "NOT (temp > 0 AND hum > 50)", "NOT (temp > 0 OR hum > 50)", "ok AND temp > 0",
             "ok OR temp > 0", "NOT ok", "ok AND NULL", "ok OR NULL", "(temp > 0) = (hum > 50)",
             "(temp > 0) IS NULL", "(temp > 0 AND ok) IS NOT NULL", "temp > 0 AND hum > 50 OR ok",
             "temp > 0 AND (hum > 50 OR ok)", "NOT NOT ok", "ok = (cnt > 0)", "ok <> (code > 4)"]
    for i in range(0, len(three), 3):
        g.sel("logic", [X(e, e, "b") for e in three[i:i + 3]])
    for e in three:
        g.add("logic", "SELECT count(*) AS n FROM readings WHERE %s" % e)
    g.add("logic", "SELECT count(*) AS n FROM readings WHERE NULL")
    g.add("logic", "SELECT count(*) AS n FROM readings WHERE NOT (NULL AND FALSE)")
    g.add("logic", "SELECT count(*) AS n FROM readings WHERE TRUE OR NULL")
    for c in ALL_COLS:
        g.add("null", "SELECT count(*) AS n FROM readings WHERE %s IS NULL" % c)
        g.add("null", "SELECT count(*) AS n FROM readings WHERE %s IS NOT NULL" % c)
    g.sel("null", [X("temp IS NULL", "temp IS NULL", "b"), X("site IS NOT NULL", "site IS NOT NULL", "b"),
                   X("status IS NULL", "status IS NULL", "b")])
    ins = ["code IN (1, 2, 3)", "code NOT IN (1, 2, 3)", "code IN (1, NULL)", "code NOT IN (1, 2, NULL)",
           "site IN ('north', 'zürich-1')", "site NOT IN ('north')", "status IN ('ok', 'OK', '')",
           "device IN ('d01')", "temp IN (0.0, 2.8)", "cnt IN (0, -1, 1)", "ok IN (TRUE)",
           "ucnt IN (0, 5000)", "status NOT IN ('ok', 'warn')", "code + 1 IN (code * 2, 5)"]
    for e in ins:
        g.add("in", "SELECT count(*) AS n FROM readings WHERE %s" % e)
    for i in range(0, len(ins), 4):
        g.sel("in", [X(e, to_duck(e), "b") for e in ins[i:i + 4]])
    btw = ["temp BETWEEN -5 AND 5", "cnt NOT BETWEEN -100 AND 100", "status BETWEEN 'a' AND 'p'",
           "time BETWEEN '2026-01-06T00:00:00Z' AND '2026-01-06T01:00:00Z'", "code BETWEEN 3 AND 3",
           "code BETWEEN 5 AND 2", "temp BETWEEN hum AND power", "cnt BETWEEN NULL AND 10",
           "ucnt BETWEEN 100 AND 200", "device NOT BETWEEN 'd02' AND 'd10'"]
    for e in btw:
        g.add("between", "SELECT count(*) AS n FROM readings WHERE %s" % e)
    g.sel("between", [X(e, to_duck(e), "b") for e in btw[:5]])
    g.sel("between", [X(e, to_duck(e), "b") for e in btw[5:]])
    likes = ["status LIKE 'o%'", "status LIKE '%k'", "status LIKE '_K'", "status LIKE 'a_b%'",
             "status LIKE '%'", "status LIKE ''", "status NOT LIKE '%a%'", "status ILIKE 'ok%'",
             "status ILIKE 'ÜBER%'", "status NOT ILIKE 'W%'", "note LIKE '%,%'", "note LIKE '% %'",
             "note ILIKE '%alarm%'", "device LIKE 'd0_'", "site LIKE '%ü%'", "site ILIKE 'N%'",
             "note LIKE '%日本%'", "status LIKE 'it''s'", "status LIKE '%\"%'", "note LIKE 'x'"]
    for e in likes:
        g.add("like", "SELECT count(*) AS n FROM readings WHERE %s" % e)
    for i in range(0, len(likes), 5):
        g.sel("like", [X(e, to_duck(e), "b") for e in likes[i:i + 5]])


def _conditional(g):
    exprs = [
        "CASE WHEN temp > 50 THEN 'hot' WHEN temp > 0 THEN 'warm' ELSE 'cold' END",
        "CASE WHEN temp > 50 THEN 'hot' END",
        "CASE code WHEN 1 THEN 'one' WHEN 2 THEN 'two' ELSE 'many' END",
        "CASE code WHEN 1 THEN 'one' END",
        "CASE WHEN ok THEN 1 ELSE 1.5 END",
        "CASE WHEN NULL THEN 1 ELSE 2 END",
        "CASE WHEN ok THEN CASE WHEN temp > 0 THEN 'a' ELSE 'b' END ELSE 'c' END",
        "CASE site WHEN 'north' THEN 1 WHEN 'south' THEN 2 END",
        "CASE WHEN status = '' THEN 'empty' WHEN status IS NULL THEN 'null' ELSE status END",
        "CASE WHEN cnt > 0 THEN cnt ELSE -cnt END",
        "COALESCE(temp, hum, 0.0)",
        "COALESCE(status, note, '?')",
        "COALESCE(site, 'none')",
        "COALESCE(cnt, code)",
        "COALESCE(NULL, 1)",
        "COALESCE(temp, cnt)",
        "COALESCE(ok, FALSE)",
        "NULLIF(code, 0)",
        "NULLIF(status, '')",
        "NULLIF(site, 'north')",
        "NULLIF(temp, 0.0)",
        "NULLIF(cnt, code)",
    ]
    for i in range(0, len(exprs), 3):
        g.sel("cond", [X(e, to_duck(e), "?") for e in exprs[i:i + 3]])
    g.add("cond", "SELECT CASE WHEN code < 3 THEN 'low' WHEN code < 7 THEN 'mid' ELSE 'high' END AS band, count(*) AS n FROM readings GROUP BY 1")
    g.add("cond", "SELECT sum(CASE WHEN ok THEN 1 ELSE 0 END) AS n_ok, sum(CASE WHEN NOT ok THEN 1 END) AS n_not FROM readings")
    g.add("cond", "SELECT COALESCE(site, '?') AS s, count(*) AS n FROM readings GROUP BY COALESCE(site, '?')")
    g.add("cond", "SELECT count(NULLIF(code, 0)) AS a, count(code) AS b FROM readings")


def _casts(g):
    temp, cnt, code, ucnt = col("temp", "f"), col("cnt", "i"), col("code", "i"), col("ucnt", "u")
    okc = col("ok", "b")
    g.sel("cast", [cast(cnt, "DOUBLE"), cast(code, "VARCHAR"), cast(temp, "BIGINT"), cast(ucnt, "BIGINT")])
    g.sel("cast", [cast(okc, "BIGINT"), cast(code, "BOOLEAN"), cast(cnt, "VARCHAR"), cast(ucnt, "DOUBLE")])
    g.sel("cast", [cast(col("hum", "f"), "BIGINT"), cast(col("power", "f"), "BIGINT"),
                   cast(X("temp * -1", "temp * -1", "f"), "BIGINT")])
    g.sel("cast", [cast(code, "BIGINT UNSIGNED"), cast(col("site", "s"), "VARCHAR")],
          where=X("code IS NOT NULL", "code IS NOT NULL", "b"))
    g.add("cast", "SELECT time, site, device, cnt::DOUBLE AS a, code::VARCHAR AS b, ucnt::BIGINT AS c FROM readings ORDER BY time, site, device")
    g.add("cast", "SELECT time, site, device, temp::BIGINT AS a FROM readings ORDER BY time, site, device",
          "SELECT time, site, device, CAST(trunc(temp) AS BIGINT) AS a FROM readings ORDER BY time, site, device")
    for v, d in [("CAST('42' AS BIGINT)", None), ("CAST('-42' AS BIGINT)", None),
                 ("CAST('2.5' AS DOUBLE)", None), ("CAST('true' AS BOOLEAN)", None),
                 ("CAST('false' AS BOOLEAN)", None), ("CAST(42 AS VARCHAR)", None),
                 ("CAST(42 AS DOUBLE)", None), ("CAST(2.7 AS BIGINT)", "CAST(trunc(2.7) AS BIGINT)"),
                 ("CAST(-2.7 AS BIGINT)", "CAST(trunc(-2.7) AS BIGINT)"),
                 ("CAST(1.5 AS VARCHAR)", None), ("CAST(TRUE AS VARCHAR)", None),
                 ("CAST(0 AS BOOLEAN)", None), ("'17'::BIGINT + 1", None),
                 ("CAST(1767571200000000000 AS TIMESTAMP)", "make_timestamp_ns(1767571200000000000)"),
                 ("to_timestamp('2026-01-05T10:00:00Z')", "CAST('2026-01-05T10:00:00Z' AS TIMESTAMP)"),
                 ("to_timestamp('2026-01-05T10:00:00.123456Z')", "CAST('2026-01-05T10:00:00.123456Z' AS TIMESTAMP)"),
                 ("to_timestamp(1767571200000000000)", "make_timestamp_ns(1767571200000000000)")]:
        dd = d if d is not None else to_duck(v)
        g.add("cast", "SELECT %s AS v FROM ticks WHERE v = 0" % v, "SELECT %s AS v FROM ticks WHERE v = 0" % dd)
    g.add("cast", "SELECT time, CAST(time AS BIGINT) AS ns FROM readings WHERE code = 1 ORDER BY time, site, device",
          "SELECT time, epoch_ns(time) AS ns FROM readings WHERE code = 1 ORDER BY time, site, device")
    g.add("cast", "SELECT count(*) AS n FROM readings WHERE CAST(code AS VARCHAR) = '3'")
    g.add("cast", "SELECT count(*) AS n FROM readings WHERE time > CAST('2026-01-06T00:00:00Z' AS TIMESTAMP)")


def _math(g):
    temp, hum, power = (col(c, "f") for c in FLOATS)
    cnt, code, ucnt = col("cnt", "i"), col("code", "i"), col("ucnt", "u")
    one = lit("1", "i")
    g.sel("math", [fn("abs", temp), fn("abs", cnt), fn("abs", power), fn("abs", ucnt)])
    g.sel("math", [fn("round", temp), round_n(temp, 1), round_n(power, 2), round_n(power, -2)])
    g.sel("math", [fn("floor", temp), fn("ceil", temp), fn("floor", power), fn("ceil", hum)])
    g.sel("math", [fn("round", cnt, t="f"), fn("floor", cnt, t="f"), fn("ceil", code, t="f")])
    g.sel("math", [fn("sqrt", fn("abs", temp)), fn("sqrt", ucnt, t="f"), fn("sqrt", hum)])
    g.sel("math", [fn("ln", op(fn("abs", temp), "+", one)), fn("log10", op(fn("abs", power), "+", one)),
                   fn("ln", op(ucnt, "+", one, "u"), t="f")])
    g.sel("math", [fn("power", temp, lit("2", "i"), t="f"), fn("power", fn("abs", temp), lit("0.5", "f"), t="f"),
                   fn("power", lit("2", "i"), code, t="f"), fn("power", hum, lit("1.5", "f"), t="f")])
    g.sel("math", [fn("greatest", temp, hum), fn("greatest", temp, hum, lit("0.0", "f")),
                   fn("least", cnt, code), fn("least", temp, cnt, t="f")])
    g.sel("math", [fn("greatest", col("status", "s"), col("note", "s")), fn("least", col("site", "s"), lit("'m'", "s")),
                   fn("greatest", col("time", "t"), lit("TIMESTAMP '2026-01-06T00:00:00Z'", "t"))])
    g.sel("math", [op(round_n(op(fn("sqrt", fn("abs", temp)), "*", lit("100", "i")), 0), "/", lit("100", "i")),
                   fn("abs", op(temp, "-", hum)), fn("floor", op(temp, "/", lit("10", "i")))])
    for v, d in [("abs(-3)", None), ("abs(-2.5)", None), ("round(2.5)", None), ("round(-2.5)", None),
                 ("round(2.345, 2)", "round(CAST(2.345 AS DOUBLE) * 100) / 100"),
                 ("round(1234.5, -2)", "round(CAST(1234.5 AS DOUBLE) / 100) * 100"),
                 ("floor(-1.5)", None), ("ceil(-1.5)", None), ("sqrt(2)", None), ("ln(10)", None),
                 ("log10(1000)", None), ("power(2, 10)", None), ("power(2.0, -1)", None),
                 ("greatest(1, 5, 3)", None), ("least(1, NULL, 3)", None), ("greatest(NULL, NULL)", None),
                 ("sqrt(0.0)", None), ("ceil(3)", None)]:
        g.add("math", "SELECT %s AS v" % v, "SELECT %s AS v" % (d if d else to_duck(v)))


def _strings(g):
    S = col("status", "s")
    N = col("note", "s")
    site, dev = col("site", "s"), col("device", "s")
    g.sel("str", [fn("lower", S), fn("upper", S), fn("length", S, t="i"), fn("length", N, t="i")])
    g.sel("str", [fn("lower", site), fn("upper", dev), fn("length", site, t="i"), fn("upper", N)])
    g.sel("str", [fn("concat", site, lit("'-'", "s"), dev), fn("concat", S, N), fn("concat", S, lit("'!'", "s"))])
    g.sel("str", [X("site || '/' || device", "site || '/' || device", "s"), X("status || note", "status || note", "s"),
                  X("'[' || status || ']'", "'[' || status || ']'", "s")])
    g.sel("str", [fn("substr", S, lit("2", "i")), fn("substr", S, lit("1", "i"), lit("3", "i")),
                  fn("substr", N, lit("2", "i"), lit("4", "i")), fn("substr", S, lit("0", "i"), lit("2", "i"))])
    g.sel("str", [fn("substr", site, lit("3", "i")), fn("substr", N, lit("5", "i"), lit("100", "i")),
                  fn("substr", S, lit("20", "i"))])
    g.sel("str", [fn("replace", S, lit("'o'", "s"), lit("'0'", "s")), fn("replace", N, lit("' '", "s"), lit("''", "s")),
                  fn("replace", site, lit("'ü'", "s"), lit("'ue'", "s"))])
    g.sel("str", [fn("starts_with", S, lit("'o'", "s"), t="b"), fn("starts_with", N, lit("'AL'", "s"), t="b"),
                  fn("starts_with", site, lit("'n'", "s"), t="b"), fn("starts_with", S, lit("''", "s"), t="b")])
    g.sel("str", [fn("length", fn("concat", S, N), t="i"), fn("upper", fn("substr", S, lit("1", "i"), lit("2", "i"))),
                  fn("lower", fn("replace", N, lit("'a'", "s"), lit("'A'", "s")))])
    for v in ["lower('ÄÖÜ ABC')", "upper('straße')", "length('温度高')", "length('')", "concat('a', NULL, 'b')",
              "'a' || NULL", "substr('alphabet', 3, 2)", "substr('héllo', 2, 3)", "replace('aaa', 'a', 'bb')",
              "starts_with('vigil', 'vi')", "upper('ß')"]:
        g.add("str", "SELECT %s AS v" % v)
    g.add("str", "SELECT lower(status) AS s, count(*) AS n FROM readings GROUP BY lower(status)")
    g.add("str", "SELECT length(note) AS l, count(*) AS n FROM readings GROUP BY 1 ORDER BY 1 NULLS LAST")
    g.add("str", "SELECT count(*) AS n FROM readings WHERE starts_with(note, 'pump')")
    g.add("str", "SELECT count(*) AS n FROM readings WHERE upper(status) = 'OK'")


def _time_funcs(g):
    t = col("time", "t")
    units = ["second", "minute", "hour", "day", "week", "month", "year"]
    g.sel("time", [fn("date_trunc", lit("'%s'" % u, "s"), t, t="t") for u in units[:4]])
    g.sel("time", [fn("date_trunc", lit("'%s'" % u, "s"), t, t="t") for u in units[4:]])
    parts = ["year", "month", "day", "hour", "minute", "second", "dow", "doy", "week", "quarter",
             "epoch", "millisecond", "microsecond"]
    for i in range(0, len(parts), 4):
        g.sel("time", [fn("date_part", lit("'%s'" % p, "s"), t, t="f") for p in parts[i:i + 4]])
    for i in range(0, 8, 4):
        g.sel("time", [X("extract(%s FROM time)" % p, "extract(%s FROM time)" % p, "f") for p in parts[i:i + 4]])
    bins = ["INTERVAL '1 second'", "INTERVAL '90 seconds'", "INTERVAL '15 minutes'", "INTERVAL '1 hour'",
            "INTERVAL '6 hours'", "INTERVAL '1 day'", "INTERVAL '7 days'", "INTERVAL '10m'", "'30 minutes'"]
    for b in bins:
        g.add("time", "SELECT time, site, device, date_bin(%s, time) AS b FROM readings WHERE code = 3 ORDER BY time, site, device" % b)
    origins = ["TIMESTAMP '2026-01-05T00:07:00Z'", "TIMESTAMP '2001-01-01T00:00:00Z'",
               "TIMESTAMP '2026-02-01T00:00:00Z'"]
    for o in origins:
        g.add("time", "SELECT time, site, device, date_bin(INTERVAL '1 hour', time, %s) AS b FROM readings WHERE code = 4 ORDER BY time, site, device" % o)
        g.add("time", "SELECT date_bin(INTERVAL '1 day', time, %s) AS b, count(*) AS n FROM readings GROUP BY 1 ORDER BY 1" % o)
    for b in bins[2:7]:
        g.add("time", "SELECT date_bin(%s, time) AS b, count(*) AS n, avg(temp) AS t FROM readings GROUP BY 1 ORDER BY 1" % b)
    g.add("time", "SELECT date_trunc('hour', time) AS h, site, count(*) AS n, max(temp) AS mx FROM readings WHERE site IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2")
    g.add("time", "SELECT date_part('hour', time) AS h, count(*) AS n FROM readings GROUP BY 1 ORDER BY 1")
    g.add("time", "SELECT extract(dow FROM time) AS d, avg(hum) AS h FROM readings GROUP BY 1 ORDER BY 1")
    g.add("time", "SELECT count(*) AS n FROM readings WHERE date_part('hour', time) BETWEEN 9 AND 17")
    g.add("time", "SELECT count(*) AS n FROM readings WHERE date_trunc('day', time) = TIMESTAMP '2026-01-06T00:00:00Z'")
    g.add("time", "SELECT time, site, device FROM readings WHERE time + INTERVAL '1 day' < '2026-01-06T00:30:00Z' ORDER BY time, site, device")
    g.add("time", "SELECT time, site, device, date_trunc('minute', time + INTERVAL '30 seconds') AS m FROM readings WHERE code = 5 ORDER BY time, site, device")
    g.add("time", "SELECT to_timestamp('2026-01-05T10:00:00Z') + INTERVAL '1h' AS v",
          "SELECT CAST('2026-01-05T10:00:00Z' AS TIMESTAMP) + INTERVAL '1 hours' AS v")
    g.add("time", "SELECT date_bin(INTERVAL '1 hour', TIMESTAMP '2026-01-05T10:37:00Z') AS v")
    g.add("time", "SELECT date_bin(INTERVAL '1 hour', TIMESTAMP '1969-12-31T22:37:00Z') AS v")


def _aggregates(g):
    num = FLOATS + ["cnt", "code", "ucnt"]
    for c in num:
        g.add("agg", "SELECT count(%s) AS n, sum(%s) AS s, avg(%s) AS a, min(%s) AS lo, max(%s) AS hi FROM readings"
              % ((c,) * 5))
        g.add("agg", "SELECT stddev(%s) AS sd, variance(%s) AS var, median(%s) AS med FROM readings" % ((c,) * 3))
        g.add("agg", "SELECT approx_percentile_cont(%s, 0.1) AS p10, approx_percentile_cont(%s, 0.5) AS p50, "
                     "approx_percentile_cont(%s, 0.9) AS p90 FROM readings" % ((c,) * 3))
        g.add("agg", "SELECT count(DISTINCT %s) AS n FROM readings" % c)
        g.add("agg", "SELECT site, avg(%s) AS a, stddev(%s) AS sd, median(%s) AS med FROM readings GROUP BY site" % ((c,) * 3))
    g.add("agg", "SELECT approx_percentile_cont(temp, 0.0) AS p0, approx_percentile_cont(temp, 1.0) AS p100, approx_percentile_cont(temp, 0.25) AS p25 FROM readings")
    g.add("agg", "SELECT count(big) AS n, sum(big) AS s, min(big) AS lo, max(big) AS hi, avg(big) AS a FROM readings")
    g.add("agg", "SELECT count(ubig) AS n, min(ubig) AS lo, max(ubig) AS hi, avg(ubig) AS a, count(DISTINCT ubig) AS d FROM readings")
    for c in STRINGS + TAGS:
        g.add("agg", "SELECT count(%s) AS n, count(DISTINCT %s) AS d, min(%s) AS lo, max(%s) AS hi FROM readings" % ((c,) * 4))
    g.add("agg", "SELECT count(ok) AS n, count(DISTINCT ok) AS d, min(ok) AS lo, max(ok) AS hi FROM readings")
    g.add("agg", "SELECT count(time) AS n, min(time) AS lo, max(time) AS hi, count(DISTINCT time) AS d FROM readings")
    g.add("agg", "SELECT count(*) AS n FROM readings")
    g.add("agg", "SELECT count(*) AS n, count(temp) AS c, sum(temp) AS s, avg(temp) AS a, min(status) AS m, stddev(temp) AS sd FROM readings WHERE temp > 1000")
    g.add("agg", "SELECT stddev(temp) AS sd, variance(temp) AS v, median(temp) AS m FROM readings WHERE code = 3 AND device = 'd01' AND site = 'north'")
    g.add("agg", "SELECT count(*) AS n, count(DISTINCT site) AS s, count(DISTINCT device) AS d, count(DISTINCT status) AS st FROM readings")
    g.add("agg", "SELECT avg(temp * 2 + 1) AS a, sum(cnt * code) AS s, max(length(status)) AS l, min(temp - hum) AS d FROM readings")
    g.add("agg", "SELECT count(DISTINCT site || device) AS n, count(DISTINCT code % 3) AS m FROM readings")
    g.add("agg", "SELECT sum(temp) + sum(hum) AS a, count(*) - count(temp) AS b, max(cnt) - min(cnt) AS c FROM readings")
    g.add("agg", "SELECT avg(value) AS a, sum(sev) AS s, count(msg) AS m, median(sev) AS med FROM events")
    g.add("agg", "SELECT kind, count(*) AS n, approx_percentile_cont(value, 0.75) AS p FROM events GROUP BY kind")
    for c in ["temp", "cnt", "status", "ok", "hum"]:
        g.add("sel", "SELECT selector_first(%s, time)['value'] AS v, selector_first(%s, time)['time'] AS t FROM readings" % (c, c))
        g.add("sel", "SELECT selector_last(%s, time)['value'] AS v, selector_last(%s, time)['time'] AS t FROM readings" % (c, c))
    for c in ["temp", "cnt", "ucnt", "hum"]:
        g.add("sel", "SELECT selector_min(%s, time)['value'] AS v, selector_min(%s, time)['time'] AS t FROM readings" % (c, c))
        g.add("sel", "SELECT selector_max(%s, time)['value'] AS v, selector_max(%s, time)['time'] AS t FROM readings" % (c, c))
    for c in ["temp", "status"]:
        g.add("sel", "SELECT site, device, selector_last(%s, time)['value'] AS v, selector_last(%s, time)['time'] AS t FROM readings GROUP BY site, device" % (c, c))
        g.add("sel", "SELECT site, device, selector_first(%s, time)['value'] AS v FROM readings GROUP BY site, device" % c)
    g.add("sel", "SELECT site, device, selector_max(temp, time)['value'] AS v, selector_max(temp, time)['time'] AS t FROM readings GROUP BY site, device")
    g.add("sel", "SELECT site, device, selector_min(cnt, time)['value'] AS v, selector_min(cnt, time)['time'] AS t FROM readings GROUP BY site, device")


def _group_by(g):
    g.add("grp", "SELECT site, count(*) AS n, avg(temp) AS t FROM readings GROUP BY site")
    g.add("grp", "SELECT site, device, count(*) AS n, max(hum) AS h, min(cnt) AS c FROM readings GROUP BY site, device")
    g.add("grp", "SELECT device, count(*) AS n FROM readings GROUP BY device ORDER BY device NULLS FIRST")
    g.add("grp", "SELECT code, count(*) AS n, sum(ucnt) AS s FROM readings GROUP BY code ORDER BY code NULLS LAST")
    g.add("grp", "SELECT ok, count(*) AS n, avg(power) AS p FROM readings GROUP BY ok")
    g.add("grp", "SELECT status, count(*) AS n FROM readings GROUP BY status")
    g.add("grp", "SELECT note, count(*) AS n FROM readings GROUP BY note")
    g.add("grp", "SELECT site AS s, count(*) AS n FROM readings GROUP BY s")
    g.add("grp", "SELECT date_trunc('hour', time) AS h, count(*) AS n FROM readings GROUP BY h ORDER BY h")
    g.add("grp", "SELECT site, device, count(*) AS n FROM readings GROUP BY 1, 2 ORDER BY 1 NULLS FIRST, 2 NULLS FIRST")
    g.add("grp", "SELECT count(*) AS n FROM readings GROUP BY code % 3")
    g.add("grp", "SELECT code % 3 AS m, count(*) AS n FROM readings GROUP BY code % 3")
    g.add("grp", "SELECT code % 3 AS m, count(*) AS n FROM readings GROUP BY m")
    g.add("grp", "SELECT lower(status) AS s, count(*) AS n FROM readings GROUP BY 1")
    g.add("grp", "SELECT site, ok, code, count(*) AS n FROM readings GROUP BY site, ok, code")
    g.add("grp", "SELECT site, count(*) AS n FROM readings GROUP BY site HAVING count(*) > 1100")
    g.add("grp", "SELECT site, avg(temp) AS t FROM readings GROUP BY site HAVING avg(temp) > 13.5")
    g.add("grp", "SELECT device, max(cnt) - min(cnt) AS r FROM readings GROUP BY device HAVING max(cnt) - min(cnt) > 1900")
    g.add("grp", "SELECT site FROM readings GROUP BY site HAVING sum(code) > 4000")
    g.add("grp", "SELECT site, count(*) AS n FROM readings GROUP BY site HAVING site <> 'north'")
    g.add("grp", "SELECT code, count(*) AS n FROM readings WHERE ok GROUP BY code HAVING count(*) BETWEEN 200 AND 400")
    g.add("grp", "SELECT site, count(*) AS n FROM readings GROUP BY site HAVING min(time) < '2026-01-05T00:10:00Z'")
    g.add("grp", "SELECT site, count(*) AS n FROM readings GROUP BY site ORDER BY n DESC, site")
    g.add("grp", "SELECT device, avg(temp) AS a FROM readings WHERE device IS NOT NULL GROUP BY device ORDER BY a DESC, device LIMIT 5")
    g.add("grp", "SELECT site, count(*) AS n FROM readings GROUP BY site ORDER BY count(*), site NULLS FIRST")
    g.add("grp", "SELECT CASE WHEN temp > 0 THEN 'pos' ELSE 'nonpos' END AS k, count(*) AS n FROM readings GROUP BY 1")
    g.add("grp", "SELECT date_bin(INTERVAL '6 hours', time) AS b, site, avg(temp) AS t, count(*) AS n FROM readings GROUP BY 1, 2")
    g.add("grp", "SELECT kind, site, sum(sev) AS s, count(msg) AS m FROM events GROUP BY kind, site")
    g.add("grp", "SELECT site, count(DISTINCT device) AS d, count(DISTINCT code) AS c FROM readings GROUP BY site")
    g.add("grp", "SELECT site, device, selector_last(temp, time)['value'] AS last_temp, max(time) AS t FROM readings WHERE site IS NOT NULL AND device IS NOT NULL GROUP BY site, device ORDER BY site, device")
    g.add("grp", "SELECT code FROM readings GROUP BY code")
    g.add("grp", "SELECT site, device FROM readings GROUP BY site, device HAVING count(*) > 60")


def _order_limit(g):
    for c in FLOATS + INTS + UINTS + STRINGS + ["ok", "site", "device"]:
        for d, n in [("ASC", "NULLS FIRST"), ("ASC", "NULLS LAST"), ("DESC", "NULLS FIRST"), ("DESC", "NULLS LAST")]:
            if c in ("hum", "cnt", "code", "ucnt", "note") and (d, n) in (("ASC", "NULLS LAST"), ("DESC", "NULLS FIRST")):
                continue
            extra = "" if c in TAGS else ", " + c
            g.add("ord", "SELECT time, site, device%s FROM readings ORDER BY %s %s %s, time, site, device LIMIT 40"
                  % (extra, c, d, n))
    # defaults: NULLS LAST for ASC, NULLS FIRST for DESC (Vigil = DataFusion)
    for c in ["temp", "status", "ubig", "site"]:
        extra = "" if c in TAGS else ", " + c
        g.add("ord", "SELECT time, site, device%s FROM readings ORDER BY %s, time, site, device LIMIT 30 OFFSET 5" % (extra, c))
        g.add("ord", "SELECT time, site, device%s FROM readings ORDER BY %s DESC, time, site, device LIMIT 30" % (extra, c))
    g.add("ord", "SELECT time, site, device FROM readings ORDER BY time DESC, site DESC, device DESC LIMIT 50")
    g.add("ord", "SELECT time, site, device, temp * -1 AS neg FROM readings ORDER BY temp * -1 NULLS FIRST, time, site, device LIMIT 25")
    g.add("ord", "SELECT time, site, device, temp AS t FROM readings ORDER BY t DESC NULLS LAST, time, site, device LIMIT 25")
    g.add("ord", "SELECT time, site, device, temp FROM readings ORDER BY 4 NULLS LAST, 1, 2, 3 LIMIT 25")
    g.add("ord", "SELECT time, site, device FROM readings ORDER BY hum NULLS LAST, time, site, device LIMIT 10")
    g.add("ord", "SELECT time, site, device FROM readings ORDER BY lower(status) NULLS FIRST, length(note) DESC NULLS LAST, time, site, device LIMIT 40")
    g.add("ord", "SELECT time, site, device FROM readings ORDER BY time, site, device LIMIT 0")
    g.add("ord", "SELECT time, site, device FROM readings ORDER BY time, site, device LIMIT 5 OFFSET 10")
    g.add("ord", "SELECT time, site, device FROM readings ORDER BY time, site, device LIMIT 10 OFFSET 5995")
    g.add("ord", "SELECT time, site, device FROM readings ORDER BY time, site, device OFFSET 5990")
    g.add("ord", "SELECT time, site, device FROM readings ORDER BY time, site, device LIMIT 10 OFFSET 100000")
    g.add("ord", "SELECT time, site, device, power FROM readings ORDER BY power DESC NULLS LAST, time, site, device LIMIT 5")
    g.add("ord", "SELECT time, site, device, power FROM readings WHERE site = 'south' ORDER BY power NULLS LAST, time, device LIMIT 7")
    g.add("ord", "SELECT time, site, device FROM readings ORDER BY time DESC, site, device LIMIT 1")
    g.add("ord", "SELECT count(*) AS n FROM (SELECT time FROM readings LIMIT 10) s")
    g.add("ord", "SELECT count(*) AS n FROM (SELECT time FROM readings LIMIT 10 OFFSET 5995) s")
    g.add("ord", "SELECT time, site, device, temp FROM readings WHERE temp IS NOT NULL ORDER BY temp, time, site, device LIMIT 3000")
    g.add("ord", "SELECT time, src, v FROM ticks ORDER BY v DESC LIMIT 10 OFFSET 3")


def _sets(g):
    g.add("union", "SELECT site, temp AS v FROM readings WHERE code = 1 UNION ALL SELECT site, value AS v FROM events WHERE sev = 1")
    g.add("union", "SELECT cnt AS v FROM readings WHERE code = 2 UNION ALL SELECT temp AS v FROM readings WHERE code = 2")
    g.add("union", "SELECT 'r' AS src, count(*) AS n FROM readings UNION ALL SELECT 'e' AS src, count(*) AS n FROM events UNION ALL SELECT 't' AS src, count(*) AS n FROM ticks")
    g.add("union", "SELECT site FROM readings WHERE code = 1 UNION ALL SELECT site FROM readings WHERE code = 1")
    g.add("union", "SELECT time, site, device FROM readings WHERE code = 1 UNION ALL SELECT time, site, kind FROM events WHERE sev = 2 ORDER BY 1, 2, 3")
    g.add("union", "SELECT site, avg(temp) AS a FROM readings GROUP BY site UNION ALL SELECT site, avg(value) AS a FROM events GROUP BY site")
    g.add("union", "SELECT status AS s FROM readings WHERE code = 0 UNION ALL SELECT msg AS s FROM events WHERE kind = 'info'")
    g.add("union", "SELECT 1 AS a UNION ALL SELECT 2 AS a UNION ALL SELECT NULL AS a")
    g.add("union", "SELECT count(*) AS n FROM (SELECT site FROM readings UNION ALL SELECT site FROM events) u")
    g.add("union", "SELECT site, count(*) AS n FROM (SELECT site FROM readings UNION ALL SELECT site FROM events) u GROUP BY site")
    g.add("union", "SELECT DISTINCT site FROM (SELECT site FROM readings WHERE code = 1 UNION ALL SELECT site FROM events) u")
    g.add("union", "SELECT time, site, device, temp FROM readings WHERE code = 3 UNION ALL SELECT time, site, device, temp FROM readings WHERE code = 4 ORDER BY 4 NULLS FIRST, 1, 2, 3 LIMIT 20")
    # subqueries in FROM
    g.add("sub", "SELECT avg(t) AS a FROM (SELECT temp AS t FROM readings WHERE site = 'north') sub")
    g.add("sub", "SELECT max(c) AS m, min(c) AS l FROM (SELECT site, count(*) AS c FROM readings GROUP BY site) s")
    g.add("sub", "SELECT sum(temp) AS s FROM (SELECT temp FROM readings ORDER BY time, site, device LIMIT 100) x")
    g.add("sub", "SELECT s.site, s.n FROM (SELECT site, count(*) AS n FROM readings GROUP BY site) s WHERE s.n > 1000")
    g.add("sub", "SELECT * FROM (SELECT device, temp, site FROM readings WHERE code = 5) s ORDER BY temp NULLS FIRST, site, device")
    g.add("sub", "SELECT x.a + 1 AS b FROM (SELECT cnt AS a FROM readings WHERE code = 6) x")
    g.add("sub", "SELECT site, h FROM (SELECT site, date_trunc('day', time) AS h, avg(temp) AS t FROM readings GROUP BY 1, 2) q WHERE t > 15")
    g.add("sub", "SELECT count(*) AS n FROM (SELECT DISTINCT site, device FROM readings) d")
    g.add("sub", "SELECT band, count(*) AS n FROM (SELECT CASE WHEN hum < 33 THEN 'dry' WHEN hum < 66 THEN 'ok' ELSE 'wet' END AS band FROM readings) b GROUP BY band")
    g.add("sub", "SELECT avg(m) AS a FROM (SELECT device, max(temp) AS m FROM readings GROUP BY device) d")
    g.add("sub", "SELECT * FROM (SELECT * FROM (SELECT site, code FROM readings WHERE code = 9) a WHERE site IS NOT NULL) b")
    g.add("sub", "SELECT site, n FROM (SELECT site, count(*) AS n FROM readings WHERE ok GROUP BY site) t ORDER BY n DESC, site LIMIT 3")
    # WITH
    g.add("cte", "WITH h AS (SELECT date_bin(INTERVAL '1 hour', time) AS b, avg(temp) AS a FROM readings GROUP BY 1) SELECT count(*) AS n, max(a) AS m FROM h")
    g.add("cte", "WITH n AS (SELECT * FROM readings WHERE site = 'north') SELECT device, count(*) AS c FROM n GROUP BY device")
    g.add("cte", "WITH a AS (SELECT site, count(*) AS c FROM readings GROUP BY site), b AS (SELECT site, count(*) AS c FROM events GROUP BY site) SELECT a.site, a.c AS rc FROM a WHERE a.c > 1000")
    g.add("cte", "WITH a AS (SELECT temp, hum FROM readings WHERE code = 1), b AS (SELECT temp FROM a WHERE hum > 50) SELECT count(*) AS n, avg(temp) AS t FROM b")
    g.add("cte", "WITH a AS (SELECT site, temp FROM readings WHERE code = 2) SELECT site, temp FROM a UNION ALL SELECT site, temp FROM a")
    g.add("cte", "WITH d AS (SELECT device, max(time) AS t FROM readings GROUP BY device) SELECT device, t FROM d ORDER BY t DESC, device NULLS FIRST")
    g.add("cte", "WITH x AS (SELECT cnt / 10 AS b FROM readings) SELECT b, count(*) AS n FROM x GROUP BY b ORDER BY b NULLS FIRST",
          "WITH x AS (SELECT cnt // 10 AS b FROM readings) SELECT b, count(*) AS n FROM x GROUP BY b ORDER BY b NULLS FIRST")
    g.add("cte", "WITH s AS (SELECT site, avg(temp) AS t FROM readings GROUP BY site) SELECT site FROM s WHERE t = (SELECT max(t) FROM s)",
          note="scalar subquery", probe=True)
    g.add("cte", "WITH recent AS (SELECT * FROM readings WHERE time >= '2026-01-07T00:00:00Z') SELECT site, device, count(*) AS n, avg(temp) AS t FROM recent GROUP BY site, device")
    g.add("cte", "WITH e AS (SELECT kind, value FROM events) SELECT kind, median(value) AS m, stddev(value) AS s FROM e GROUP BY kind")


class _Rand:
    """Random typed expressions over readings, kept inside the region where Vigil and
    DuckDB must agree: no integer overflow (small int columns, bounded depth), no
    division by a possible zero, no float-to-text, no domain errors."""

    def __init__(self, rng):
        self.r = rng

    def leaf(self, t):
        r = self.r
        if t == "f":
            if r.random() < 0.75:
                return col(r.choice(["temp", "hum", "temp"]), "f")
            return lit(r.choice(["1.5", "-2.25", "0.0", "100.0"]), "f")
        if t == "i":
            if r.random() < 0.75:
                return col(r.choice(["cnt", "code", "code"]), "i")
            return lit(r.choice(["3", "-7", "0", "12"]), "i")
        if t == "s":
            if r.random() < 0.75:
                return col(r.choice(["status", "note", "site", "device"]), "s")
            return lit(r.choice(["'ok'", "''", "'Über'"]), "s")
        if t == "b":
            return r.choice([col("ok", "b"), self.cmp(0)])
        raise ValueError(t)

    def cmp(self, depth):
        r = self.r
        t = r.choice("ffiis")
        o = r.choice(["=", "<>", "<", "<=", ">", ">="])
        a, b = self.expr(t, depth + 1), self.expr(t, depth + 1)
        return X("(%s %s %s)" % (a.v, o, b.v), "(%s %s %s)" % (a.d, o, b.d), "b")

    def expr(self, t, depth=0):
        r = self.r
        if depth >= 3 or r.random() < 0.3:
            return self.leaf(t)
        d = depth + 1
        if t == "f":
            k = r.randrange(11)
            if k == 0:
                return op(self.expr("f", d), r.choice("+-*"), self.expr(r.choice("fi"), d), "f")
            if k == 1:
                return op(self.expr("f", d), "/", op(fn("abs", self.expr("f", d)), "+", lit("1", "i"), "f"), "f")
            if k == 2:
                return fn(r.choice(["abs", "floor", "ceil", "round"]), self.expr("f", d))
            if k == 3:
                return fn("sqrt", fn("abs", self.expr("f", d)))
            if k == 4:
                return fn(r.choice(["greatest", "least"]), self.expr("f", d), self.expr(r.choice("fi"), d), t="f")
            if k == 5:
                return fn("COALESCE", self.expr("f", d), self.expr("f", d))
            if k == 6:
                c, a, b = self.expr("b", d), self.expr("f", d), self.expr(r.choice("fi"), d)
                return X("CASE WHEN %s THEN %s ELSE %s END" % (c.v, a.v, b.v),
                         "CASE WHEN %s THEN %s ELSE %s END" % (c.d, a.d, b.d), "f")
            if k == 7:
                return cast(self.expr("i", d), "DOUBLE")
            if k == 8:
                return fn("NULLIF", self.expr("f", d), lit("0.0", "f"))
            if k == 9:
                a = self.expr("f", d)
                return X("(-(%s))" % a.v, "(-(%s))" % a.d, "f")
            return fn("ln", op(fn("abs", self.expr("f", d)), "+", lit("1", "i"), "f"))
        if t == "i":
            k = r.randrange(9)
            if k == 0:
                return op(self.expr("i", d), r.choice("+-"), self.expr("i", d), "i")
            if k == 1:
                return op(self.leaf("i"), "*", self.leaf("i"), "i")
            if k == 2:
                return op(self.expr("i", d), "/", op(fn("abs", self.expr("i", d)), "+", lit("1", "i"), "i"), "i")
            if k == 3:
                return op(self.expr("i", d), "%", op(fn("abs", self.expr("i", d)), "+", lit("1", "i"), "i"), "i")
            if k == 4:
                return fn("abs", self.expr("i", d))
            if k == 5:
                return fn("length", self.expr("s", d), t="i")
            if k == 6:
                c, a, b = self.expr("b", d), self.expr("i", d), self.expr("i", d)
                return X("CASE WHEN %s THEN %s ELSE %s END" % (c.v, a.v, b.v),
                         "CASE WHEN %s THEN %s ELSE %s END" % (c.d, a.d, b.d), "i")
            if k == 7:
                return fn("COALESCE", self.expr("i", d), self.expr("i", d))
            return cast(self.leaf("f"), "BIGINT")
        if t == "s":
            k = r.randrange(6)
            if k == 0:
                return fn(r.choice(["lower", "upper"]), self.expr("s", d))
            if k == 1:
                return fn("concat", self.expr("s", d), self.expr("s", d))
            if k == 2:
                a, b = self.expr("s", d), self.expr("s", d)
                return X("(%s || %s)" % (a.v, b.v), "(%s || %s)" % (a.d, b.d), "s")
            if k == 3:
                return fn("substr", self.expr("s", d), lit(str(r.randrange(1, 4)), "i"), lit(str(r.randrange(0, 5)), "i"))
            if k == 4:
                return fn("COALESCE", self.expr("s", d), lit("'none'", "s"))
            return cast(self.expr("i", d), "VARCHAR")
        if t == "b":
            k = r.randrange(9)
            if k <= 1:
                return self.cmp(d)
            if k == 2:
                a, b = self.expr("b", d), self.expr("b", d)
                o = r.choice(["AND", "OR"])
                return X("(%s %s %s)" % (a.v, o, b.v), "(%s %s %s)" % (a.d, o, b.d), "b")
            if k == 3:
                a = self.expr("b", d)
                return X("(NOT %s)" % a.v, "(NOT %s)" % a.d, "b")
            if k == 4:
                a = self.expr(r.choice("fis"), d)
                n = r.choice(["IS NULL", "IS NOT NULL"])
                return X("(%s %s)" % (a.v, n), "(%s %s)" % (a.d, n), "b")
            if k == 5:
                a = self.expr("i", d)
                lst = ", ".join(str(r.randrange(-3, 10)) for _ in range(r.randrange(1, 4)))
                if r.random() < 0.2:
                    lst += ", NULL"
                neg = r.choice(["", "NOT "])
                return X("(%s %sIN (%s))" % (a.v, neg, lst), "(%s %sIN (%s))" % (a.d, neg, lst), "b")
            if k == 6:
                a = self.expr("f", d)
                neg = r.choice(["", "NOT "])
                return self._between(a, neg, r.randrange(-20, 40), r.randrange(60))
            if k == 7:
                a = self.expr("s", d)
                pat = r.choice(["'%o%'", "'o%'", "'%k'", "'_'", "'%a_%'", "'%'", "'Ü%'", "''"])
                o = r.choice(["LIKE", "NOT LIKE", "ILIKE", "NOT ILIKE"])
                return X("(%s %s %s)" % (a.v, o, pat), "(%s %s %s)" % (a.d, o, pat), "b")
            return self.leaf("b")
        raise ValueError(t)

    @staticmethod
    def _between(a, neg, lo, width):
        text = "(%%s %sBETWEEN %d AND %d)" % (neg, lo, lo + width)
        return X(text % a.v, text % a.d, "b")


def _pushdown(g):
    """Predicates an optimizer pushes into the scan (time ranges, tag equality) or must
    not: the answers have to be those of a plain filter."""
    cnt = "SELECT count(*) AS n, sum(cnt) AS s FROM readings WHERE "
    for w in ["site = 'north'", "'north' = site", "site = 'north' AND device = 'd03'",
              "site = 'north' OR site = 'south'", "NOT site = 'north'", "site <> 'north'",
              "site = 'nowhere'", "site = 'north' AND site = 'south'", "site IS NULL AND device = 'd01'",
              "device IN ('d01', 'd02') AND site = 'zürich-1'", "site = 'north' OR temp > 100",
              "time >= '2026-01-06T00:00:00Z' AND time < '2026-01-06T01:00:00Z' AND site = 'east'",
              "'2026-01-06T00:00:00Z' <= time AND '2026-01-06T01:00:00Z' > time",
              "time > '2026-01-07T00:00:00Z' AND time < '2026-01-06T00:00:00Z'",
              "time >= '2026-01-06T00:00:00Z' OR temp > 100",
              "time < TIMESTAMP '2026-01-05T00:00:00Z' + INTERVAL '2 hours'",
              "time >= '2026-01-07T23:00:00Z' AND device = 'd07'",
              "time > '2030-01-01T00:00:00Z'", "time < '2020-01-01T00:00:00Z'",
              "time >= '2026-01-05T00:00:13Z' AND time <= '2026-01-05T00:00:13Z'",
              "NOT (time < '2026-01-07T00:00:00Z')", "time IN ('2026-01-05T00:00:13Z', '2026-01-05T00:00:53Z')",
              "date_trunc('hour', time) = TIMESTAMP '2026-01-06T05:00:00Z'",
              "site = lower('NORTH')", "device = 'd0' || '3'"]:
        g.add("push", cnt + w)
    g.add("push", "SELECT time, site, device, temp FROM readings WHERE site = 'west' AND device = 'd11' AND time >= '2026-01-06T00:00:00Z' ORDER BY time DESC LIMIT 20")
    g.add("push", "SELECT site, device, count(*) AS n FROM readings WHERE time >= '2026-01-06T00:00:00Z' AND time < '2026-01-07T00:00:00Z' GROUP BY site, device")
    g.add("push", "SELECT date_bin(INTERVAL '1 hour', time) AS h, count(*) AS n FROM readings WHERE site = 'south' AND time >= '2026-01-05T12:00:00Z' AND time < '2026-01-06T12:00:00Z' GROUP BY 1 ORDER BY 1")


def _more(g):
    """Aggregates inside expressions, ORDER BY on aggregates not selected, empty groups,
    top-K on strings."""
    g.add("more", "SELECT site, round(avg(temp), 2) AS a, avg(temp) * 2 AS b, max(temp) - min(temp) AS r FROM readings GROUP BY site",
          "SELECT site, round(avg(temp) * 100) / 100 AS a, avg(temp) * 2 AS b, max(temp) - min(temp) AS r FROM readings GROUP BY site")
    g.add("more", "SELECT site FROM readings GROUP BY site ORDER BY count(*) DESC, site")
    g.add("more", "SELECT device FROM readings WHERE device IS NOT NULL GROUP BY device ORDER BY max(temp) DESC, device LIMIT 3")
    g.add("more", "SELECT site, count(*) AS n FROM readings WHERE temp > 1000 GROUP BY site")
    g.add("more", "SELECT count(*) AS n, max(temp) AS m FROM readings WHERE temp > 1000 GROUP BY site")
    g.add("more", "SELECT code * 10 AS c, count(*) AS n FROM readings GROUP BY code * 10 ORDER BY c NULLS FIRST")
    g.add("more", "SELECT status FROM readings WHERE status IS NOT NULL ORDER BY status DESC, time, site, device LIMIT 12")
    g.add("more", "SELECT note FROM readings ORDER BY note NULLS FIRST, time, site, device LIMIT 15 OFFSET 1700")
    g.add("more", "SELECT DISTINCT site, ok FROM readings ORDER BY site NULLS FIRST, ok NULLS LAST LIMIT 7")
    g.add("more", "SELECT count(*) AS n FROM (SELECT DISTINCT status FROM readings) d")
    g.add("more", "SELECT avg(cnt) AS a, sum(ucnt) AS s, count(DISTINCT big) AS d FROM readings WHERE site = 'east' AND ok")
    g.add("more", "SELECT site, device, avg(hum) AS h FROM readings GROUP BY site, device HAVING count(temp) >= 70 AND avg(hum) > 48")
    g.add("more", "SELECT ok, avg(temp) AS t, count(*) AS n FROM readings GROUP BY ok ORDER BY ok NULLS FIRST")
    g.add("more", "SELECT site, sum(cnt) AS s FROM readings GROUP BY site HAVING sum(cnt) IS NOT NULL ORDER BY s, site NULLS LAST")


def _random(g, n_select=70, n_where=70, n_agg=30):
    rr = _Rand(random.Random(SEED))
    for _ in range(n_select):
        exprs = [rr.expr(t) for t in rr.r.sample("fisb", 3)]
        where = rr.expr("b") if rr.r.random() < 0.5 else None
        g.sel("rand", exprs, where=where, limit=300)
    for _ in range(n_where):
        w = rr.expr("b")
        g.add("randw", "SELECT count(*) AS n, sum(cnt) AS s, min(time) AS t FROM readings WHERE %s" % w.v,
              "SELECT count(*) AS n, sum(cnt) AS s, min(time) AS t FROM readings WHERE %s" % w.d)
    for _ in range(n_agg):
        e = rr.expr(rr.r.choice("fi"))
        agg = rr.r.choice(["sum", "avg", "min", "max", "count", "median", "stddev"])
        key = rr.r.choice(["site", "device", "code", "ok"])
        g.add("randg", "SELECT %s, %s(%s) AS a, count(*) AS n FROM readings GROUP BY %s" % (key, agg, e.v, key),
              "SELECT %s, %s(%s) AS a, count(*) AS n FROM readings GROUP BY %s" % (key, agg, e.d, key))


def _names(g):
    """Unaliased output names follow DataFusion (README: deliberate differences)."""
    g.add("names", "SELECT count(*) FROM readings", names=["count(*)"])
    g.add("names", "SELECT avg(temp), max(cnt) FROM readings", names=["avg(readings.temp)", "max(readings.cnt)"])
    g.add("names", "SELECT site, count(*) FROM readings GROUP BY site", names=["site", "count(*)"])
    g.add("names", "SELECT min(time), sum(code) FROM readings", names=["min(readings.time)", "sum(readings.code)"])
    g.add("names", "SELECT count(temp), median(hum) FROM readings", names=["count(readings.temp)", "median(readings.hum)"])


def _pdm(g):
    """Predictive maintenance over C-MAPSS FD001 (sensors), as the issue writes them."""
    g.add("pdm", "SELECT AVG(s_2) AS s_2 FROM sensors WHERE time_cycles <= 15")
    g.add("pdm", "SELECT * FROM sensors WHERE time >= now() - INTERVAL '10m' ORDER BY time DESC",
          star=True, sorted_by=[("time", True)])
    g.add("pdm", "SELECT unit_number, time_cycles, s_2, s_11 FROM sensors WHERE time >= now() - INTERVAL '1m' ORDER BY time DESC, unit_number")
    g.add("pdm", "SELECT unit_number, count(*) AS n FROM sensors WHERE time >= now() - INTERVAL '3 minutes' GROUP BY unit_number")
    g.add("pdm", "SELECT unit_number, max(time_cycles) FROM sensors GROUP BY unit_number",
          names=["unit_number", "max(sensors.time_cycles)"])
    g.add("pdm", "SELECT unit_number, max(time_cycles) AS life FROM sensors GROUP BY unit_number ORDER BY life DESC, unit_number LIMIT 10")
    g.add("pdm", "SELECT unit_number, avg(s_4) AS s_4, stddev(s_4) AS sd, approx_percentile_cont(s_7, 0.5) AS p50 FROM sensors GROUP BY unit_number")
    g.add("pdm", "SELECT date_bin(INTERVAL '1 minute', time) AS m, avg(s_11) AS s_11, count(*) AS n FROM sensors WHERE unit_number = '1' GROUP BY 1 ORDER BY 1")
    g.add("pdm", "SELECT unit_number, selector_last(s_9, time)['value'] AS last_s9 FROM sensors GROUP BY unit_number")
    g.add("pdm", "SELECT count(*) AS n, min(time_cycles) AS lo, max(time_cycles) AS hi FROM sensors WHERE s_3 > 1590 AND s_4 > 1400")


def generate():
    g = Gen()
    # _pdm first: its now() windows are relative to when the data was generated
    for part in (_pdm, _projection, _literals, _arith, _logic, _conditional, _casts, _math, _strings,
                 _time_funcs, _aggregates, _group_by, _order_limit, _sets, _pushdown, _more,
                 _random, _names):
        part(g)
    # every 7th query goes through GET instead of POST; ~100 run on the ASan build too
    for i, c in enumerate(g.cases):
        if i % 7 == 3:
            c.method = "GET"
        c.asan = (i % 9 == 0) or c.id.startswith(("pdm", "names"))
    return g.cases


if __name__ == "__main__":
    cases = generate()
    cats = {}
    for c in cases:
        cats[c.id.split("-")[0]] = cats.get(c.id.split("-")[0], 0) + 1
    print(len(cases), "cases;", sum(c.asan for c in cases), "on ASan;", cats)
    for c in cases:
        print(c.id, "|", c.vigil)
        if c.duck != c.vigil:
            print("   duck |", c.duck)
