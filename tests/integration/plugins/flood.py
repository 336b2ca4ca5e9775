# Floods writes: `lines` rows in one call, to `table`. With the default table
# (`flood_in`) the plugin also writes to the table that triggers it, so the chain of
# plugin writes must stop at the engine's depth limit. With `huge` it buffers 1 MB lines
# until the engine refuses more.
def process_writes(influxdb3_local, table_batches, args=None):
    args = args or {}
    if args.get("huge"):
        # 1 MB lines until the engine refuses: a call may buffer only so much.
        big = "x" * 1_000_000
        for i in range(1000):
            influxdb3_local.write(LineBuilder("huge").int64_field("i", i).string_field("s", big))
    table = args.get("table", "flood_out")
    n = int(args.get("lines", "1"))
    depth = 0
    for b in table_batches:
        for row in b["rows"]:
            depth = max(depth, int(row.get("depth", 0)))
    for i in range(n):
        influxdb3_local.write(LineBuilder(table).tag("k", str(i % 100)).int64_field("depth", depth + 1)
                              .int64_field("i", i).time_ns(1_000_000_000 + depth * 1_000_000 + i))
