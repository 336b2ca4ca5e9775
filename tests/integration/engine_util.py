# Helpers shared by the processing engine's integration tests (test_engine*.py): a
# server with a private copy of the test plugins as its --plugin-dir, trigger calls
# over the HTTP API, SQL over /api/v3/query_sql, the plugin logs table, and polling.
import json
import os
import shutil
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
TEST_PLUGINS = os.path.join(HERE, "plugins")
REPO = os.path.dirname(os.path.dirname(HERE))
BUNDLED_PLUGINS = os.path.join(REPO, "plugins")


def plugin_dir(tmp_path_factory, extra=()):
    """A fresh plugin directory holding the test plugins (and `extra` bundled ones)."""
    d = str(tmp_path_factory.mktemp("plugins"))
    for name in os.listdir(TEST_PLUGINS):
        src = os.path.join(TEST_PLUGINS, name)
        if name.endswith(".md") or name == "__pycache__":
            continue
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(d, name),
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, d)
    for name in extra:
        src = os.path.join(BUNDLED_PLUGINS, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(d, name),
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, d)
    return d


def engine_server(server_factory, tmp_path_factory, timeout="5s", extra_args=(), extra=()):
    d = plugin_dir(tmp_path_factory, extra)
    s = server_factory(extra_args=["--plugin-dir", d, "--plugin-timeout", timeout] + list(extra_args))
    s.plugin_dir = d
    return s


def create_trigger(s, db, name, plugin, spec, args=None, error_behavior=None, run_async=False,
                   disabled=False):
    body = {"db": db, "plugin_filename": plugin, "trigger_name": name,
            "trigger_specification": spec, "disabled": disabled,
            "trigger_settings": {"run_async": run_async,
                                 "error_behavior": error_behavior or "log"}}
    if args is not None:
        body["trigger_arguments"] = args
    return s.post_json("/api/v3/configure/processing_engine_trigger", body)


def must_create(s, db, name, plugin, spec, **kw):
    r = create_trigger(s, db, name, plugin, spec, **kw)
    assert r.status == 200, r
    return r


def trigger_action(s, action, db, name, force=None):
    q = {"db": db, "trigger_name": name}
    if force is not None:
        q["force"] = "true" if force else "false"
    qs = urllib.parse.urlencode(q)
    if action == "delete":
        return s.request("DELETE", "/api/v3/configure/processing_engine_trigger?" + qs)
    return s.request("POST", "/api/v3/configure/processing_engine_trigger/%s?%s" % (action, qs))


def sql(s, db, q):
    """Rows of a query as dicts (JSON format)."""
    r = s.request("GET", "/api/v3/query_sql?" + urllib.parse.urlencode(
        {"db": db, "q": q, "format": "json"}))
    assert r.status == 200, (q, r)
    return r.json()


def sql_maybe(s, db, q):
    """Rows, or [] while the table does not exist yet."""
    r = s.request("GET", "/api/v3/query_sql?" + urllib.parse.urlencode(
        {"db": db, "q": q, "format": "json"}))
    if r.status != 200:
        return []
    return r.json()


def logs(s, trigger=None, level=None):
    """Rows of system.processing_engine_logs, oldest first."""
    rows = sql(s, "_internal", "SELECT * FROM system.processing_engine_logs")
    if trigger is not None:
        rows = [r for r in rows if r["trigger_name"] == trigger]
    if level is not None:
        rows = [r for r in rows if r["log_level"] == level]
    return rows


def texts(s, trigger, level=None, skip_engine_lines=True):
    """The log texts of a trigger, without the engine's start/finish lines."""
    out = []
    for r in logs(s, trigger, level):
        t = r["log_text"]
        if skip_engine_lines and (t.startswith("starting execution") or
                                  t.startswith("finished execution")):
            continue
        out.append(t)
    return out


def wait_for(fn, timeout=15.0, interval=0.05, what="condition"):
    """Polls fn until it returns something truthy; returns it."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def engine_get(s, path, params=None, headers=None, method="GET", body=None):
    url = "/api/v3/engine/" + path
    if params:
        url += "?" + urllib.parse.urlencode(params)
    return s.request(method, url, body=body, headers=headers)


def jdump(o):
    return json.dumps(o, sort_keys=True)
