# Benchmark plugin: notes when each written row (tag `id`) reached the plugin, and
# answers those times on request.
import time


def process_writes(influxdb3_local, table_batches, args=None):
    now = time.time_ns()
    seen = influxdb3_local.cache.get("seen", None, use_global=True) or {}
    for batch in table_batches:
        for row in batch["rows"]:
            seen[row["id"]] = now
    influxdb3_local.cache.put("seen", seen, use_global=True)


def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):
    return influxdb3_local.cache.get("seen", {}, use_global=True)
