# Benchmark plugin: one scheduled call that runs one query over the whole `big` table,
# and remembers how long the query and the whole call took.
import time


def process_scheduled_call(influxdb3_local, call_time, args=None):
    t0 = time.perf_counter()
    rows = influxdb3_local.query(
        "SELECT count(*) AS n, avg(f0) AS f0, min(f1) AS f1, max(f2) AS f2 FROM big")
    t1 = time.perf_counter()
    runs = influxdb3_local.cache.get("runs", [], use_global=True)
    runs.append({"query_s": t1 - t0, "rows": rows[0]["n"]})
    influxdb3_local.cache.put("runs", runs, use_global=True)


def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):
    return influxdb3_local.cache.get("runs", [], use_global=True)
