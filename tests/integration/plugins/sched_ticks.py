# process_scheduled_call that records each call: a `ticks` row whose time is the call
# time, with the call time's seconds and the trigger's `name` argument.
def process_scheduled_call(influxdb3_local, call_time, args=None):
    secs = int(call_time.timestamp())
    influxdb3_local.info(f"tick {secs} {call_time.microsecond}")
    influxdb3_local.write(
        LineBuilder("ticks")
        .tag("trigger", (args or {}).get("name", "none"))
        .int64_field("call_time", secs)
        .time_ns(secs * 1_000_000_000)
    )
