# Plugins that do not return on their own: a busy loop (interrupted by the timeout
# exception), a long sleep (time.sleep is interruptible), and a loop that swallows
# ordinary exceptions.
import time


def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):
    mode = query_parameters.get("mode", "spin")
    if mode == "quick":
        return "quick"
    if mode == "sleep":
        time.sleep(1000)
    if mode == "swallow":
        while True:
            try:
                while True:
                    pass
            except Exception:  # noqa: BLE001 - the timeout is a BaseException: not caught
                pass
    while True:
        pass


def process_scheduled_call(influxdb3_local, call_time, args=None):
    influxdb3_local.info("sleeping")
    time.sleep(1000)


def process_writes(influxdb3_local, table_batches, args=None):
    time.sleep(float((args or {}).get("sleep", "1000")))
