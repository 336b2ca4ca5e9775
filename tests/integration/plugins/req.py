# process_request with one behaviour per `mode` query parameter, for the tests of
# request triggers, influxdb3_local.query/write/cache and LineBuilder.
import json
import time


def _line_builder_cases():
    out = {}
    out["plain"] = LineBuilder("m").tag("t", "v").int64_field("i", -3).uint64_field("u", 7) \
        .float64_field("f", 2.0).float64_field("g", 0.25).string_field("s", 'a "q" \\ z') \
        .bool_field("b", True).bool_field("c", False).time_ns(123).build()
    out["escapes"] = LineBuilder("my,meas").tag("k", "a b,c=d\\e").float64_field("x\\y", 1.5).build()
    errors = {}
    for name, fn in [
        ("space_measurement", lambda: LineBuilder("a b")),
        ("empty_key", lambda: LineBuilder("m").tag("", "x")),
        ("comma_key", lambda: LineBuilder("m").int64_field("a,b", 1)),
        ("no_fields", lambda: LineBuilder("m").tag("a", "b").build()),
        ("negative_uint", lambda: LineBuilder("m").uint64_field("u", -1)),
    ]:
        try:
            fn()
            errors[name] = None
        except Exception as e:  # noqa: BLE001 - report whatever LineBuilder raised
            errors[name] = [type(e).__name__, [c.__name__ for c in type(e).__mro__[1:3]], str(e)]
    out["errors"] = errors
    return out


def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):
    mode = query_parameters.get("mode", "echo")
    if mode == "echo":
        return {"params": query_parameters,
                "headers": {k: v for k, v in request_headers.items() if k.startswith("x-")},
                "has_authorization": "authorization" in request_headers,
                "body": request_body.decode("utf-8"),
                "body_type": type(request_body).__name__,
                "args": args}
    if mode == "text":
        return "<b>hello</b>"
    if mode == "list":
        return [1, "two", None]
    if mode == "tuple":
        return {"created": True}, 201
    if mode == "tuple3":
        return "teapot", 418, {"X-Vigil-Test": "yes"}
    if mode == "tuple_headers":
        return "with headers", {"X-Only": "headers"}
    if mode == "bad_status":
        return "odd", 70000
    if mode == "other":
        return 42
    if mode == "generator":
        return (s for s in ["a", "b", "c"])
    if mode == "raise":
        raise ValueError("bad request mode")
    if mode == "unsupported":
        return None
    if mode == "write":
        influxdb3_local.write(LineBuilder("req_writes").tag("via", "write").int64_field("n", 1))
        influxdb3_local.write_to_db(query_parameters["db"],
                                    LineBuilder("req_writes").tag("via", "write_to_db").int64_field("n", 2))
        influxdb3_local.write_sync(LineBuilder("req_writes").tag("via", "write_sync").int64_field("n", 3), False)
        influxdb3_local.write_sync_to_db(query_parameters["db"],
                                         LineBuilder("req_writes").tag("via", "write_sync_to_db").int64_field("n", 4), True)
        return "written"
    if mode == "query":
        rows = influxdb3_local.query(query_parameters["q"],
                                     json.loads(query_parameters["args"]) if "args" in query_parameters else None,
                                     query_parameters.get("database"))
        return {"rows": rows, "types": [{k: type(v).__name__ for k, v in r.items()} for r in rows]}
    if mode == "query_error":
        try:
            influxdb3_local.query("SELECT nope FROM nowhere")
        except influxdb3_local.QueryError as e:
            return {"error": str(e), "type": type(e).__name__}
        return {"error": None}
    if mode == "query_bad_args":
        try:
            influxdb3_local.query("SELECT 1", {"a": 1})
        except TypeError as e:
            return {"error": str(e)}
        return {"error": None}
    if mode == "cache":
        c = influxdb3_local.cache
        n = c.get("n", 0) + 1
        c.put("n", n)
        g = c.get("g", default=0, use_global=True) + 10
        c.put("g", g, use_global=True)
        c.put("short", "x", ttl=0.2)
        return {"n": n, "g": g, "short": c.get("short"), "missing": c.get("missing", "dflt"),
                "deleted": c.delete("nothing")}
    if mode == "cache_later":
        return {"short": influxdb3_local.cache.get("short", "expired")}
    if mode == "line_builder":
        return _line_builder_cases()
    if mode == "nap":
        time.sleep(float(query_parameters.get("s", "0.5")))
        return "rested"
    if mode == "log":
        influxdb3_local.info("info", 1, 2.5, None)
        influxdb3_local.warn("careful")
        influxdb3_local.error("broken", {"a": 1})
        return "logged"
    return {"unknown mode": mode}
