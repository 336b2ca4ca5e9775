# Entry points that raise, for the error tests (traceback in the logs table).
def _broken(x):
    return 1 / x


def process_writes(influxdb3_local, table_batches, args=None):
    influxdb3_local.info("about to fail")
    _broken(0)


def process_scheduled_call(influxdb3_local, call_time, args=None):
    raise RuntimeError("scheduled failure")


def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):
    _broken(0)
