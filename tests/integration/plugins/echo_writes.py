# process_writes that reports exactly what it received: the table batches as JSON,
# the Python type of every value, and its arguments. With args {"copy": "<table>"} it
# also writes each row's fields back, doubled, to that table; with {"sleep": "<s>"} it
# takes that long (so that writes pile up behind it).
import json
import time


def process_writes(influxdb3_local, table_batches, args=None):
    types = [
        {"table_name": b["table_name"],
         "types": [{k: type(v).__name__ for k, v in row.items()} for row in b["rows"]]}
        for b in table_batches
    ]
    influxdb3_local.info("batches " + json.dumps(table_batches, sort_keys=True))
    influxdb3_local.info("types " + json.dumps(types, sort_keys=True))
    influxdb3_local.info("args " + json.dumps(args, sort_keys=True))
    if args and "sleep" in args:
        time.sleep(float(args["sleep"]))
    if args and "copy" in args:
        for b in table_batches:
            for row in b["rows"]:
                lb = LineBuilder(args["copy"]).tag("source", b["table_name"])
                for k, v in sorted(row.items()):
                    if k == "time":
                        continue
                    if isinstance(v, bool):
                        lb.bool_field(k, v)
                    elif isinstance(v, int):
                        lb.int64_field(k, v * 2)
                    elif isinstance(v, float):
                        lb.float64_field(k, v * 2)
                    else:
                        lb.string_field(k, v)
                lb.time_ns(row["time"])
                influxdb3_local.write(lb)
