# Integration tests for the common HTTP behaviour of docs/http-api.md: /health, /ping,
# 404 for unknown paths and methods, OPTIONS/CORS, and the cluster-uuid header
# (present on every response, stable across restarts).
import json
import re
import time

import pytest

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
UUID7_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def assert_uuid(v):
    assert v is not None and UUID_RE.match(v.lower()), v


@pytest.mark.parametrize("path", ["/health", "/api/v1/health"])
def test_health(shared_server, path):
    r = shared_server.request("GET", path)
    assert r.status == 200, r
    assert r.body == b"OK"
    assert r.header("Content-Type") == "text/plain; charset=utf-8"
    assert r.header("Access-Control-Allow-Origin") == "*"
    assert_uuid(r.header("cluster-uuid"))


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_ping(shared_server, method):
    r = shared_server.request(method, "/ping")
    assert r.status == 200, r
    assert r.header("Content-Type") == "application/json"
    body = r.json()
    assert list(body.keys()) == ["product_name", "version", "revision", "process_id"]
    assert body["product_name"] == "Vigil"
    assert body["version"] == "0.1.0"
    assert isinstance(body["revision"], str) and body["revision"] != ""
    assert_uuid(body["process_id"])
    assert r.header("X-Influxdb-Version") == "3.10.0"
    assert r.header("X-Influxdb-Build") == "Core"
    assert r.header("X-Vigil-Version") == "0.1.0"
    rid = r.header("Request-Id")
    assert rid is not None and UUID7_RE.match(rid), rid
    assert r.header("X-Request-Id") == rid
    assert r.header("Access-Control-Allow-Origin") == "*"
    assert_uuid(r.header("cluster-uuid"))


def test_ping_ids(shared_server):
    a = shared_server.request("GET", "/ping")
    b = shared_server.request("GET", "/ping")
    assert a.header("Request-Id") != b.header("Request-Id")
    assert a.json()["process_id"] == b.json()["process_id"]
    # UUIDv7 starts with a 48-bit millisecond timestamp: ids are ordered in time.
    assert a.header("Request-Id")[:13] <= b.header("Request-Id")[:13]
    ms = int(b.header("Request-Id")[:13].replace("-", ""), 16)
    assert abs(ms - time.time() * 1000) < 60_000


@pytest.mark.parametrize("method,path", [
    ("GET", "/nope"),
    ("GET", "/"),
    ("POST", "/api/v3/nope"),
    ("GET", "/api/v3/write_lp"),
    ("PUT", "/api/v3/write_lp"),
    ("GET", "/write"),
    ("GET", "/api/v2/write"),
    ("DELETE", "/health"),
    ("POST", "/health"),
    ("PUT", "/ping"),
    ("PATCH", "/api/v3/configure/database"),
    ("GET", "/api/v3/configure/database/x"),
    ("GET", "/health/"),
])
def test_not_found(shared_server, method, path):
    r = shared_server.request(method, path)
    assert r.status == 404, r
    assert r.body == b"Not found"
    assert_uuid(r.header("cluster-uuid"))


def test_head_ping_is_404(shared_server):
    r = shared_server.request("HEAD", "/ping")
    assert r.status == 404, r


@pytest.mark.parametrize("path", ["/api/v3/write_lp?db=x", "/nope", "/health", "/ping",
                                  "/api/v3/configure/database", "/write", "*"])
def test_options_cors(shared_server, path):
    r = shared_server.request("OPTIONS", path)
    assert r.status == 204, r
    assert r.body == b""
    assert r.header("Access-Control-Allow-Origin") == "*"
    assert r.header("Access-Control-Allow-Methods") == "*"
    assert r.header("Access-Control-Allow-Headers") == "*"
    assert r.header("Access-Control-Max-Age") == "86400"
    assert_uuid(r.header("cluster-uuid"))


def test_cluster_uuid_everywhere_and_stable(server_factory):
    s = server_factory()
    uuid = s.cluster_uuid()
    assert_uuid(uuid)
    responses = [
        s.request("GET", "/ping"),
        s.request("GET", "/nope"),
        s.request("POST", "/api/v3/write_lp"),                        # 400
        s.write("cu", "m v=1 1"),                                     # 204
        s.request("GET", "/api/v3/configure/database?format=json"),   # 200
        s.request("OPTIONS", "/x"),                                   # 204
    ]
    for r in responses:
        assert r.header("cluster-uuid") == uuid, r
    s.restart()
    assert s.cluster_uuid() == uuid
    s.restart(extra_args=["--wal-flush-interval", "0"])
    assert s.cluster_uuid() == uuid
    # another data dir is another catalog
    other = server_factory()
    assert_uuid(other.cluster_uuid())
    assert other.cluster_uuid() != uuid


def test_process_id_changes_on_restart(server):
    a = server.request("GET", "/ping").json()["process_id"]
    server.restart()
    b = server.request("GET", "/ping").json()["process_id"]
    assert a != b


def test_keep_alive(shared_server):
    """Several requests on one HTTP/1.1 connection."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", shared_server.port, timeout=10)
    try:
        for i in range(5):
            conn.request("POST", "/api/v3/write_lp?db=keepalive", body=b"m v=%d %d" % (i, i + 1))
            r = conn.getresponse()
            assert r.status == 204
            assert r.read() == b""
        conn.request("GET", "/health")
        r = conn.getresponse()
        assert (r.status, r.read()) == (200, b"OK")
    finally:
        conn.close()


def test_ping_body_is_compact_json(shared_server):
    r = shared_server.request("GET", "/ping")
    body = r.json()
    assert r.body == json.dumps(body, separators=(",", ":")).encode()
