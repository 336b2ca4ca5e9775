# Benchmark plugin: counts the rows an all_tables trigger receives (in the global
# cache), and answers the count on request, so the driver can check that the plugin
# saw every row and when it caught up.
import time


def process_writes(influxdb3_local, table_batches, args=None):
    n = 0
    for batch in table_batches:
        n += len(batch["rows"])
    cache = influxdb3_local.cache
    cache.put("rows", cache.get("rows", 0, use_global=True) + n, use_global=True)
    cache.put("calls", cache.get("calls", 0, use_global=True) + 1, use_global=True)
    cache.put("last_ns", time.time_ns(), use_global=True)


def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):
    cache = influxdb3_local.cache
    return {k: cache.get(k, 0, use_global=True) for k in ("rows", "calls", "last_ns")}
