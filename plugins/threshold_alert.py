"""Threshold alerts on writes (process_writes).

Trigger: table:<table> or all_tables, e.g.

    vigil create trigger -d factory --trigger-spec table:vibration \
        --path threshold_alert.py --trigger-arguments field=rms,max=0.8,min=0 vib_alert

For every written row whose `field` is above `max` or below `min`, writes a row to
`alert_table` (default `alerts`) with the row's tags, the value, the limit it crossed
and the source table, at the row's time. Arguments: field (required), max, min,
alert_table, level (default "warning").
"""


def process_writes(influxdb3_local, table_batches, args=None):
    args = args or {}
    field = args.get("field")
    if not field:
        influxdb3_local.error("threshold_alert needs a `field` argument")
        return
    hi = float(args["max"]) if "max" in args else None
    lo = float(args["min"]) if "min" in args else None
    out = args.get("alert_table", "alerts")
    level = args.get("level", "warning")
    count = 0
    for batch in table_batches:
        if batch["table_name"] == out:
            continue  # never alert on our own alerts
        for row in batch["rows"]:
            v = row.get(field)
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                continue
            crossed = "max" if hi is not None and v > hi else "min" if lo is not None and v < lo else None
            if not crossed:
                continue
            lb = LineBuilder(out).tag("source", batch["table_name"]).tag("level", level)
            for k, tv in row.items():
                if isinstance(tv, str) and k not in ("source", "level"):
                    lb.tag(k, tv)  # strings (tags, and string fields) identify the series
            lb.float64_field("value", float(v)).float64_field("limit", hi if crossed == "max" else lo)
            lb.string_field("crossed", crossed).time_ns(row["time"])
            influxdb3_local.write(lb)
            count += 1
    if count:
        influxdb3_local.info(f"{count} {field} values outside the limits")
