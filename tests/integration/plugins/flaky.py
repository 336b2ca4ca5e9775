# Fails until its `fail_times` argument is used up (counted in the trigger's cache),
# then writes one `recovered` row: for the "retry" error behaviour.
def process_writes(influxdb3_local, table_batches, args=None):
    n = influxdb3_local.cache.get("attempt", 0) + 1
    influxdb3_local.cache.put("attempt", n)
    if n <= int(args["fail_times"]):
        raise RuntimeError(f"attempt {n} fails")
    rows = sum(len(b["rows"]) for b in table_batches)
    influxdb3_local.write(LineBuilder("recovered").int64_field("attempt", n).int64_field("rows", rows))
