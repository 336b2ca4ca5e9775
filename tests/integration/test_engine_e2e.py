# End to end, in the style of a predictive-maintenance tutorial: the NASA C-MAPSS
# FD001 training set (tests/data/cmapss/train_FD001.txt: 100 turbofan engines run to
# failure) is written as table `sensors` (tag unit_number; fields time_cycles,
# setting_1..3, s_1..s_21), each engine's last cycle at "now", one cycle per second.
# The bundled scheduled plugin plugins/predictive_maintenance/health_rul.py (pandas and
# numpy) learns fleet baselines with SQL (AVG ... WHERE time_cycles <= 15 / >= 175),
# scores the newest reading of every engine of the last 10 minutes, and writes
# rul_estimates and maintenance_alerts. The test recomputes every value independently
# in plain Python and compares. Also: the other bundled plugins on real triggers.
import math
import os
import time

import pytest

from engine_util import engine_server, must_create, sql, sql_maybe, texts, trigger_action, wait_for

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "data", "cmapss", "train_FD001.txt")
SENSORS = ["s_2", "s_3", "s_4", "s_7", "s_11", "s_12", "s_15", "s_17", "s_20", "s_21"]
COLS = ["setting_1", "setting_2", "setting_3"] + ["s_%d" % i for i in range(1, 22)]


def load_cmapss():
    rows = []
    with open(DATA) as f:
        for line in f:
            p = line.split()
            if p:
                rows.append((int(p[0]), int(p[1]), p[2:]))
    return rows


def to_lp(rows, end_ns, unit_override=None):
    """Line protocol: each unit's last cycle at end_ns, one cycle per second."""
    last = {}
    for u, c, _ in rows:
        last[u] = max(last.get(u, 0), c)
    out = []
    for u, c, vals in rows:
        unit = unit_override or u
        fields = ",".join("%s=%s" % (k, v) for k, v in zip(COLS, vals))
        ts = end_ns - (last[u] - c) * 1_000_000_000
        out.append("sensors,unit_number=%d time_cycles=%di,%s %d" % (unit, c, fields, ts))
    return "\n".join(out)


def expected(rows):
    """What the plugin must find: per unit, (health index, RUL, last cycle, severity)."""
    def mean(vals):
        return math.fsum(vals) / len(vals)

    idx = {name: i for i, name in enumerate(COLS)}
    healthy = {s: mean([float(v[idx[s]]) for _, c, v in rows if c <= 15]) for s in SENSORS}
    worn = {s: mean([float(v[idx[s]]) for _, c, v in rows if c >= 175]) for s in SENSORS}
    newest = {}
    for u, c, v in rows:
        if u not in newest or c > newest[u][0]:
            newest[u] = (c, v)
    out = {}
    for u, (c, v) in newest.items():
        d = [(float(v[idx[s]]) - healthy[s]) / (worn[s] - healthy[s]) for s in SENSORS]
        hi = 1.0 - math.fsum(d) / len(d)
        rul = round(min(max(hi, 0.0), 1.0) * (175 - 15))
        sev = "critical" if hi < 0.2 else "warning" if hi < 0.5 else None
        out[str(u)] = (hi, rul, c, sev)
    return out


def latest_run(s, db, table):
    rows = sql_maybe(s, db, "SELECT * FROM %s ORDER BY time" % table)
    if not rows:
        return None, []
    t = rows[-1]["time"]
    return t, [r for r in rows if r["time"] == t]


def check_run(s, db, want):
    t, rul = latest_run(s, db, "rul_estimates")
    assert len(rul) == len(want)
    got = {r["unit_number"]: r for r in rul}
    assert sorted(got) == sorted(want)
    for u, (hi, r, c, _) in want.items():
        assert math.isclose(got[u]["health_index"], hi, rel_tol=1e-9, abs_tol=1e-9), u
        assert (got[u]["rul_cycles"], got[u]["cycle"]) == (r, c), u
    alerts = [a for a in sql(s, db, "SELECT * FROM maintenance_alerts ORDER BY time")
              if a["time"] == t]
    assert sorted((a["unit_number"], a["severity"]) for a in alerts) == sorted(
        (u, w[3]) for u, w in want.items() if w[3])
    for a in alerts:
        hi, r, _, _ = want[a["unit_number"]]
        assert math.isclose(a["health_index"], hi, rel_tol=1e-9, abs_tol=1e-9)
        assert a["message"] == "unit %s: health index %.3f, about %d cycles left" % (
            a["unit_number"], hi, r)
    return t


def test_predictive_maintenance_on_cmapss(server_factory, tmp_path_factory, dbname):
    s = engine_server(server_factory, tmp_path_factory, timeout="60s",
                      extra=["predictive_maintenance"])
    rows = load_cmapss()
    assert len(rows) == 20631
    now = time.time_ns() // 1_000_000_000 * 1_000_000_000
    assert s.write(dbname, to_lp(rows, now), precision="ns").status == 204
    assert sql(s, dbname, "SELECT count(*) AS n, count(DISTINCT unit_number) AS u FROM sensors") \
        == [{"n": 20631, "u": 100}]
    must_create(s, dbname, "health", "predictive_maintenance/health_rul.py", "every:1s",
                args={"window": "10 minutes", "warning": "0.5", "critical": "0.2"})
    want = expected(rows)
    wait_for(lambda: len(latest_run(s, dbname, "rul_estimates")[1]) == 100, timeout=60,
             what="a run scoring 100 engines")
    assert trigger_action(s, "disable", dbname, "health").status == 200
    time.sleep(0.3)
    first = check_run(s, dbname, want)
    # The training engines all ran to failure: every one is past its worn baseline.
    assert all(w[3] == "critical" and w[1] == 0 for w in want.values())
    assert len({round(w[0], 6) for w in want.values()}) == 100
    assert texts(s, "health", "INFO")[0] == "scored 100 units, 100 alerts"

    # A new engine early in its life (unit 1's first 30 cycles as unit 101): healthy,
    # long life left, no alert; it also joins the healthy baseline.
    new = [(101, c, v) for u, c, v in rows if u == 1 and c <= 30]
    now2 = time.time_ns() // 1_000_000_000 * 1_000_000_000
    assert s.write(dbname, to_lp(new, now2, unit_override=101), precision="ns").status == 204
    assert trigger_action(s, "enable", dbname, "health").status == 200
    wait_for(lambda: len(latest_run(s, dbname, "rul_estimates")[1]) == 101, timeout=60,
             what="a run scoring 101 engines")
    assert trigger_action(s, "disable", dbname, "health").status == 200
    time.sleep(0.3)
    want2 = expected(rows + new)
    assert check_run(s, dbname, want2) > first
    hi, rul, cycle, sev = want2["101"]
    assert hi > 0.5 and rul > 100 and cycle == 30 and sev is None


def test_threshold_alert_and_downsample_plugins(server_factory, tmp_path_factory, dbname):
    s = engine_server(server_factory, tmp_path_factory,
                      extra=["threshold_alert.py", "downsample.py"])
    assert s.write(dbname, "vibration,machine=p1 rms=0.1 1", precision="ns").status == 204
    must_create(s, dbname, "vib", "threshold_alert.py", "table:vibration",
                args={"field": "rms", "max": "0.8", "min": "0.05"})
    assert s.write(dbname, "vibration,machine=p1 rms=0.5 1000\n"
                           "vibration,machine=p2 rms=0.9 2000\n"
                           "vibration,machine=p3 rms=0.01 3000", precision="ns").status == 204
    alerts = wait_for(lambda: sql_maybe(s, dbname, "SELECT * FROM alerts ORDER BY time"))
    assert alerts == [
        {"crossed": "max", "level": "warning", "limit": 0.8, "machine": "p2",
         "source": "vibration", "time": "1970-01-01T00:00:00.000002", "value": 0.9},
        {"crossed": "min", "level": "warning", "limit": 0.05, "machine": "p3",
         "source": "vibration", "time": "1970-01-01T00:00:00.000003", "value": 0.01}]
    assert texts(s, "vib", "INFO") == ["2 rms values outside the limits"]

    # downsample: the previous whole second, per machine.
    base = time.time_ns() // 1_000_000_000 * 1_000_000_000
    lines = ["temps,machine=m%d t=%d %d" % (i % 2, i, base + 1_000_000_000 + i * 1_000_000)
             for i in range(10)]
    assert s.write(dbname, "\n".join(lines), precision="ns").status == 204
    must_create(s, dbname, "ds", "downsample.py", "every:1s",
                args={"source": "temps", "target": "temps_1s", "interval": "1s",
                      "fields": "t", "group_by": "machine"})
    rows = wait_for(lambda: [r for r in sql_maybe(s, dbname, "SELECT * FROM temps_1s ORDER BY machine")
                             if r["n"] == 5], timeout=10)
    assert [(r["machine"], r["n"], r["t_mean"], r["t_min"], r["t_max"]) for r in rows] == [
        ("m0", 5, 4.0, 0.0, 8.0), ("m1", 5, 5.0, 1.0, 9.0)]
