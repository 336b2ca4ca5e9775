# The differential tests' data: seeded, deterministic tables (readings, events, ticks)
# as Vigil receives them (line-protocol requests, duplicates in later requests) and as
# DuckDB receives them (the rows Vigil must show after its upsert: later write wins
# field by field, fields unioned), plus the C-MAPSS `sensors` table for the
# predictive-maintenance queries. Python only; DuckDB loads the JSON-lines files
# written here with read_json.
import json
import os
import random

NS = 1_000_000_000
T0 = 1_767_571_200 * NS  # 2026-01-05T00:00:00Z
SEED = 20260105

# Column schemas: name -> (kind, DuckDB type). kind: tag, time, float, int, uint, bool,
# string. The order is the DuckDB table's; Vigil orders `SELECT *` by name.
READINGS = {
    "time": ("time", "TIMESTAMP_NS"),
    "site": ("tag", "VARCHAR"),
    "device": ("tag", "VARCHAR"),
    "temp": ("float", "DOUBLE"),
    "hum": ("float", "DOUBLE"),
    "power": ("float", "DOUBLE"),
    "cnt": ("int", "BIGINT"),
    "code": ("int", "BIGINT"),
    "big": ("int", "BIGINT"),
    "ucnt": ("uint", "UBIGINT"),
    "ubig": ("uint", "UBIGINT"),
    "ok": ("bool", "BOOLEAN"),
    "status": ("string", "VARCHAR"),
    "note": ("string", "VARCHAR"),
}
EVENTS = {
    "time": ("time", "TIMESTAMP_NS"),
    "site": ("tag", "VARCHAR"),
    "kind": ("tag", "VARCHAR"),
    "value": ("float", "DOUBLE"),
    "sev": ("int", "BIGINT"),
    "msg": ("string", "VARCHAR"),
}
TICKS = {
    "time": ("time", "TIMESTAMP_NS"),
    "src": ("tag", "VARCHAR"),
    "v": ("int", "BIGINT"),
    "x": ("float", "DOUBLE"),
}

SITES = ["north", "south", "east", "west", "zürich-1"]
DEVICES = ["d%02d" % i for i in range(1, 13)]
STATUSES = ["ok", "warn", "fail", "OK", "Warn", "Überhitzt", "温度高", "", "a_b%c", "it's",
            "back\\slash", 'quote"d', "trailing ", " leading", "ok ok"]
WORDS = ["pump", "valve", "Motor", "über", "naïve", "", "x", "ALARM", "alarm", "ß", "日本",
         "with space", "comma,inside", "equals=sign"]


# ---------------------------------------------------------------- line protocol

def _esc_tag(s):
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _esc_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _lp_value(kind, v):
    if kind == "float":
        return repr(float(v))
    if kind == "int":
        return "%di" % v
    if kind == "uint":
        return "%du" % v
    if kind == "bool":
        return "true" if v else "false"
    if kind == "string":
        return _esc_str(v)
    raise ValueError(kind)


def lp_line(table, schema, row):
    """One line of line protocol for row (dict; absent or None = not written)."""
    head = table
    for name, (kind, _) in schema.items():
        if kind == "tag" and row.get(name) is not None:
            head += ",%s=%s" % (name, _esc_tag(row[name]))
    fields = ["%s=%s" % (name, _lp_value(kind, row[name]))
              for name, (kind, _) in schema.items()
              if kind not in ("tag", "time") and row.get(name) is not None]
    assert fields, row
    return "%s %s %d" % (head, ",".join(fields), row["time"])


# ---------------------------------------------------------------- generation

def _maybe(rng, p_null, fn):
    return None if rng.random() < p_null else fn()


def _time(rng, days):
    sec = rng.randrange(days * 86400)
    r = rng.random()
    if r < 0.6:
        frac = 0
    elif r < 0.8:
        frac = rng.randrange(1000) * 1_000_000  # milliseconds
    else:
        frac = rng.randrange(1_000_000) * 1000  # microseconds (DuckDB's interval math is us)
    return T0 + sec * NS + frac


def _reading_fields(rng):
    f = {
        "temp": _maybe(rng, 0.10, lambda: rng.choice(
            [0.0, round(rng.uniform(-40, 120), 3), round(rng.uniform(-5, 5), 1)])),
        "hum": _maybe(rng, 0.20, lambda: round(rng.uniform(0, 100), 2)),
        "power": _maybe(rng, 0.05, lambda: rng.choice(
            [round(rng.uniform(1e3, 1e6), 4), rng.uniform(1e-6, 1e-3), -round(rng.uniform(0, 500), 2)])),
        "cnt": _maybe(rng, 0.10, lambda: rng.choice([0, rng.randrange(-1000, 1001)])),
        "code": _maybe(rng, 0.05, lambda: rng.randrange(10)),
        "big": _maybe(rng, 0.30, lambda: rng.choice([-1, 1]) * rng.randrange(10**12, 10**14)),
        "ucnt": _maybe(rng, 0.10, lambda: rng.randrange(5001)),
        "ubig": _maybe(rng, 0.30, lambda: rng.choice(
            [rng.randrange(2**63, 2**64), rng.randrange(2**40), 0])),
        "ok": _maybe(rng, 0.15, lambda: rng.random() < 0.6),
        "status": _maybe(rng, 0.10, lambda: rng.choice(STATUSES)),
        "note": _maybe(rng, 0.30, lambda: " ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 4)))),
    }
    if f["temp"] is not None:
        f["temp"] += 0.0  # never -0.0: its sign is not worth a difference here
    if all(v is None for v in f.values()):
        f["code"] = 0
    return f


class Table:
    """One generated table: the write requests for Vigil (lists of LP lines, to be sent
    in order) and the final deduplicated rows for DuckDB."""

    def __init__(self, name, schema):
        self.name = name
        self.schema = schema
        self.requests = []
        self.rows = []

    def jsonl(self, path):
        """Writes the final rows as JSON lines for DuckDB's read_json; integers (uint64
        included) stay exact; time is written as integer ns."""
        with open(path, "w", encoding="utf-8") as f:
            for r in self.rows:
                f.write(json.dumps({k: r.get(k) for k in self.schema}, ensure_ascii=False))
                f.write("\n")

    def duck_load_sql(self, path):
        cols = ", ".join("%s: '%s'" % (n, "BIGINT" if k == "time" else t)
                         for n, (k, t) in self.schema.items())
        sel = ", ".join("make_timestamp_ns(%s) AS %s" % (n, n) if k == "time" else n
                        for n, (k, _) in self.schema.items())
        return ("CREATE TABLE %s AS SELECT %s FROM read_json('%s', format='newline_delimited', "
                "columns={%s})" % (self.name, sel, path, cols))


def _series_rows(rng, schema, n, tag_gen, field_gen, days):
    """n distinct (tag set, time) rows."""
    seen = set()
    out = []
    while len(out) < n:
        tags = tag_gen(rng)
        t = _time(rng, days)
        key = (tuple(sorted(tags.items())), t)
        if key in seen:
            continue
        seen.add(key)
        row = {"time": t}
        row.update(tags)
        row.update(field_gen(rng))
        out.append(row)
    return out


def _with_upserts(rng, table, base, field_gen, p_dup, batch):
    """Writes base rows in requests of `batch` lines, then rewrites a fraction p_dup of
    them (some twice) in later requests with a random subset of fields, possibly
    fields the first write lacked; computes the merged rows."""
    schema = table.schema
    tagnames = [n for n, (k, _) in schema.items() if k == "tag"]
    merged = {}
    order = []
    for r in base:
        key = (tuple((n, r.get(n)) for n in tagnames), r["time"])
        merged[key] = {k: v for k, v in r.items() if v is not None}
        order.append(key)
    lines = [lp_line(table.name, schema, r) for r in base]
    for i in range(0, len(lines), batch):
        table.requests.append(lines[i:i + batch])
    for rnd in range(2):
        upd = []
        for key in order:
            if rng.random() >= p_dup / (rnd + 1):
                continue
            fresh = field_gen(rng)
            names = [n for n in fresh if fresh[n] is not None]
            keep = rng.sample(names, max(1, len(names) // 2)) if names else []
            if not keep:
                continue
            new = {"time": key[1]}
            new.update({n: v for n, v in key[0] if v is not None})
            new.update({n: fresh[n] for n in keep})
            upd.append(new)
            merged[key].update({n: fresh[n] for n in keep})
        rng.shuffle(upd)
        ul = [lp_line(table.name, schema, r) for r in upd]
        for i in range(0, len(ul), batch):
            table.requests.append(ul[i:i + batch])
    table.rows = [merged[k] for k in order]
    return table


def readings(rng, n=6000):
    t = Table("readings", READINGS)

    def tags(rng):
        d = {}
        if rng.random() < 0.92:
            d["site"] = rng.choice(SITES)
        if rng.random() < 0.88:
            d["device"] = rng.choice(DEVICES)
        return d

    base = _series_rows(rng, READINGS, n, tags, _reading_fields, days=3)
    return _with_upserts(rng, t, base, _reading_fields, p_dup=0.06, batch=1500)


def events(rng, n=600):
    t = Table("events", EVENTS)

    def tags(rng):
        return {"site": rng.choice(SITES), "kind": rng.choice(["alarm", "info", "maint"])}

    def fields(rng):
        f = {"value": _maybe(rng, 0.1, lambda: round(rng.uniform(-10, 10), 2)),
             "sev": _maybe(rng, 0.1, lambda: rng.randrange(1, 6)),
             "msg": _maybe(rng, 0.2, lambda: rng.choice(WORDS))}
        if all(v is None for v in f.values()):
            f["sev"] = 1
        return f

    base = _series_rows(rng, EVENTS, n, tags, fields, days=3)
    return _with_upserts(rng, t, base, fields, p_dup=0.05, batch=1000)


def ticks(rng, n=60):
    """Nanosecond timestamps (and one before 1970): for rendering and ordering only,
    because DuckDB's interval arithmetic and date functions round to microseconds."""
    t = Table("ticks", TICKS)
    rows = []
    for i in range(n):
        ts = T0 + rng.randrange(86400) * NS + rng.randrange(NS)
        if i == 0:
            ts = -1_500_000_000 * NS + 123456789  # 1922-06-20
        if i == 1:
            ts = 155  # 1970-01-01T00:00:00.000000155
        rows.append({"time": ts, "src": "s%d" % (i % 3), "v": i - 20,
                     "x": None if i % 7 == 0 else (i - 30) / 4})
    t.requests.append([lp_line("ticks", TICKS, r) for r in rows])
    t.rows = rows
    return t


def all_tables():
    rng = random.Random(SEED)
    return [readings(rng), events(rng), ticks(rng)]


# ---------------------------------------------------------------- C-MAPSS sensors

SENSORS_FIELDS = ["setting_1", "setting_2", "setting_3"] + ["s_%d" % i for i in range(1, 22)]
SENSORS = {"time": ("time", "TIMESTAMP_NS"), "unit_number": ("tag", "VARCHAR"),
           "time_cycles": ("int", "BIGINT")}
SENSORS.update({n: ("float", "DOUBLE") for n in SENSORS_FIELDS})


def cmapss_path():
    """The repository's own copy (tests/data/cmapss, see SOURCE.md there), so the tests
    need nothing outside the clone."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(os.path.dirname(here), "data", "cmapss", "train_FD001.txt")


def sensors(now_ns, path=None):
    """train_FD001 as the `sensors` table: each engine's last cycle at now_ns, one
    cycle per second back from there."""
    t = Table("sensors", SENSORS)
    with open(path or cmapss_path()) as f:
        parsed = [l.split() for l in f if l.strip()]
    last = {}
    for p in parsed:
        last[p[0]] = max(last.get(p[0], 0), int(p[1]))
    for p in parsed:
        unit, cyc = p[0], int(p[1])
        row = {"time": now_ns - (last[unit] - cyc) * NS, "unit_number": unit, "time_cycles": cyc}
        for name, v in zip(SENSORS_FIELDS, p[2:]):
            row[name] = float(v)
        t.rows.append(row)
    lines = [lp_line("sensors", SENSORS, r) for r in t.rows]
    for i in range(0, len(lines), 5000):
        t.requests.append(lines[i:i + 5000])
    return t
