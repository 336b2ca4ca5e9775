"""Downsampling on a schedule (process_scheduled_call).

Trigger: every:<interval>, e.g.

    vigil create trigger -d factory --trigger-spec every:1m --path downsample.py \
        --trigger-arguments source=vibration,target=vibration_1m,interval=1 minute,fields=rms;temp

Each run aggregates the last complete `interval` before the call time (so every run
covers exactly one bucket, and data is never counted twice) into `target`: for each
series (the `group_by` tags) and each field of `fields`, the mean, min and max, and
the number of rows. Arguments: source, target, interval (default 1 minute), fields
(';'-separated, required), group_by (';'-separated tags, optional).
"""


def process_scheduled_call(influxdb3_local, call_time, args=None):
    args = args or {}
    source, target = args["source"], args["target"]
    interval = args.get("interval", "1 minute")
    fields = [f for f in args["fields"].split(";") if f]
    group = [g for g in args.get("group_by", "").split(";") if g]
    end = f"TIMESTAMP '{call_time.astimezone().isoformat()}'"
    aggs = ", ".join(f"avg({f}) AS {f}_mean, min({f}) AS {f}_min, max({f}) AS {f}_max"
                     for f in fields)
    keys = ", ".join(group)
    sql = (f"SELECT {keys + ', ' if keys else ''}{aggs}, count(*) AS n FROM {source} "
           f"WHERE time >= {end} - INTERVAL '{interval}' AND time < {end}"
           f"{' GROUP BY ' + keys if keys else ''}")
    rows = influxdb3_local.query(sql)
    bucket_ns = int(call_time.timestamp()) * 1_000_000_000
    written = 0
    for r in rows:
        if not r.get("n"):
            continue
        lb = LineBuilder(target)
        for g in group:
            if r.get(g) is not None:
                lb.tag(g, str(r[g]))
        for f in fields:
            for suffix in ("mean", "min", "max"):
                v = r.get(f"{f}_{suffix}")
                if v is not None:
                    lb.float64_field(f"{f}_{suffix}", float(v))
        lb.int64_field("n", int(r["n"])).time_ns(bucket_ns)
        influxdb3_local.write(lb)
        written += 1
    influxdb3_local.info(f"downsampled {source} into {written} {target} rows")
