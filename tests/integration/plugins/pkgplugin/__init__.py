# A multi-file plugin: the package's entry point uses a helper module beside it.
from . import helper


def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):
    return {"answer": helper.answer(), "module": __name__}
