"""Fleet health index and remaining useful life (a scheduled plugin).

Trigger: every:<interval> or cron:<expr>, e.g.

    vigil create trigger -d factory --trigger-spec every:1m \
        --path predictive_maintenance/health_rul.py health

Each run:
  1. learns two fleet baselines from the sensor table, per sensor:
       healthy = AVG(sensor) over readings with cycle <= healthy_max_cycle (early life)
       worn    = AVG(sensor) over readings with cycle >= worn_min_cycle (late life)
  2. takes the newest reading of every machine seen within `window`;
  3. scores each machine: a sensor's degradation is how far its value has moved from
     the healthy baseline towards the worn one (0 = healthy, 1 = worn, beyond 1 =
     past the fleet's late-life average); the health index is 1 minus the mean
     degradation over the sensors, so 1 is healthy and 0 is worn;
  4. estimates the remaining useful life in cycles: the fleet loses one unit of health
     index between the two baselines, so a machine with health h has about
     h * (worn_min_cycle - healthy_max_cycle) cycles left (h clipped to 0..1);
  5. writes one row per machine to `rul_table` and one row per machine below the
     `warning` / `critical` health index to `alert_table`, stamped with the call time.

Arguments (all optional; lists are separated by ';' because ',' separates arguments):
  table=sensors  unit_tag=unit_number  cycle_field=time_cycles
  sensors=s_2;s_3;s_4;s_7;s_11;s_12;s_15;s_17;s_20;s_21   (C-MAPSS FD001's informative ones)
  healthy_max_cycle=15  worn_min_cycle=175  window=10 minutes
  warning=0.5  critical=0.2  rul_table=rul_estimates  alert_table=maintenance_alerts

Uses pandas and numpy (Debian's python3-pandas and python3-numpy).
"""
import numpy as np
import pandas as pd

DEFAULT_SENSORS = "s_2;s_3;s_4;s_7;s_11;s_12;s_15;s_17;s_20;s_21"


def _settings(args):
    a = dict(args or {})
    return {
        "table": a.get("table", "sensors"),
        "unit": a.get("unit_tag", "unit_number"),
        "cycle": a.get("cycle_field", "time_cycles"),
        "sensors": [s for s in a.get("sensors", DEFAULT_SENSORS).split(";") if s],
        "healthy_max": int(a.get("healthy_max_cycle", "15")),
        "worn_min": int(a.get("worn_min_cycle", "175")),
        "window": a.get("window", "10 minutes"),
        "warning": float(a.get("warning", "0.5")),
        "critical": float(a.get("critical", "0.2")),
        "rul_table": a.get("rul_table", "rul_estimates"),
        "alert_table": a.get("alert_table", "maintenance_alerts"),
    }


def _baseline(influxdb3_local, cfg, condition):
    cols = ", ".join(f"AVG({s}) AS {s}" for s in cfg["sensors"])
    rows = influxdb3_local.query(f"SELECT {cols} FROM {cfg['table']} WHERE {condition}")
    return pd.Series(rows[0], dtype="float64")[cfg["sensors"]]


def health_index(latest, healthy, worn, sensors):
    """Health index of each row of `latest` (a DataFrame of sensor columns)."""
    span = (worn - healthy).replace(0.0, np.nan)  # a sensor that does not move tells nothing
    degradation = (latest[sensors] - healthy) / span
    return 1.0 - degradation.mean(axis=1, skipna=True)


def process_scheduled_call(influxdb3_local, call_time, args=None):
    cfg = _settings(args)
    healthy = _baseline(influxdb3_local, cfg, f"{cfg['cycle']} <= {cfg['healthy_max']}")
    worn = _baseline(influxdb3_local, cfg, f"{cfg['cycle']} >= {cfg['worn_min']}")
    recent = influxdb3_local.query(
        f"SELECT * FROM {cfg['table']} WHERE time >= now() - INTERVAL '{cfg['window']}'")
    if not recent:
        influxdb3_local.info("no readings within", cfg["window"])
        return
    df = pd.DataFrame(recent)
    latest = df.sort_values("time").groupby(cfg["unit"], sort=False).tail(1)
    latest = latest.set_index(cfg["unit"])
    hi = health_index(latest, healthy, worn, cfg["sensors"])
    span = cfg["worn_min"] - cfg["healthy_max"]
    rul = np.rint(np.clip(hi.to_numpy(), 0.0, 1.0) * span).astype(np.int64)
    now_ns = int(call_time.timestamp()) * 1_000_000_000
    alerts = 0
    for (unit, h), r, cycle in zip(hi.items(), rul, latest[cfg["cycle"]]):
        h = float(h)
        influxdb3_local.write(
            LineBuilder(cfg["rul_table"]).tag(cfg["unit"], str(unit))
            .float64_field("health_index", h).int64_field("rul_cycles", int(r))
            .int64_field("cycle", int(cycle)).time_ns(now_ns))
        severity = ("critical" if h < cfg["critical"] else
                    "warning" if h < cfg["warning"] else None)
        if severity:
            alerts += 1
            influxdb3_local.write(
                LineBuilder(cfg["alert_table"]).tag(cfg["unit"], str(unit)).tag("severity", severity)
                .float64_field("health_index", h)
                .string_field("message", f"unit {unit}: health index {h:.3f}, "
                                         f"about {int(r)} cycles left")
                .time_ns(now_ns))
    influxdb3_local.info(f"scored {len(hi)} units, {alerts} alerts")
