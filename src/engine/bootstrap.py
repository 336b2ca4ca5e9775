# engine/bootstrap.py: the Python half of Vigil's plugin API, run once inside the
# embedded interpreter as module `_vigil` (py.c embeds this file in the binary).
#
# It owns what is simplest in Python: LineBuilder and its exceptions (as InfluxDB 3
# plugins expect them), the influxdb3_local object (whose query/write/log methods are
# the C functions of module _vigil_c), the in-memory cache, loading plugin code (a
# single file executed in fresh globals per call, as Core does, or a package imported
# once and re-imported when its files change), turning process_request's return value
# into an HTTP response, and formatting tracebacks. Nothing here is plugin-visible
# beyond LineBuilder (in builtins) and the objects passed to the entry points.

import builtins
import datetime
import importlib
import json
import os
import sys
import time
import traceback

import _vigil_c


class InfluxDBError(Exception):
    """Base class of LineBuilder's errors."""


class InvalidMeasurementError(InfluxDBError):
    """The measurement name is not usable."""


class InvalidKeyError(InfluxDBError):
    """A tag or field key is empty or holds a space, comma or equals sign."""


class InvalidLineError(InfluxDBError):
    """A line without fields."""


class QueryError(Exception):
    """influxdb3_local.query failed (bad SQL, unknown database, ...)."""


class PluginTimeout(BaseException):
    """Raised into a plugin that ran past --plugin-timeout. A BaseException, so that a
    plugin's `except Exception` does not swallow it."""


# ---- LineBuilder ---------------------------------------------------------------

def _esc(value, chars):
    out = value.replace("\\", "\\\\") if "\\" in chars else value
    for c in chars:
        if c != "\\":
            out = out.replace(c, "\\" + c)
    return out


class LineBuilder:
    """Builds one line of line protocol. Methods chain: LineBuilder("cpu").tag(...)."""

    def __init__(self, measurement):
        if " " in measurement:
            raise InvalidMeasurementError("Measurement name cannot contain spaces")
        self.measurement = measurement
        self.tags = {}
        self.fields = {}
        self._timestamp_ns = None

    @staticmethod
    def _check_key(key, kind):
        if not key:
            raise InvalidKeyError(f"{kind} key cannot be empty")
        for ch, what in ((" ", "spaces"), (",", "commas"), ("=", "equals signs")):
            if ch in key:
                raise InvalidKeyError(f"{kind} key '{key}' cannot contain {what}")

    def tag(self, key, value):
        self._check_key(key, "tag")
        self.tags[key] = str(value)
        return self

    def int64_field(self, key, value):
        self._check_key(key, "field")
        self.fields[key] = f"{value}i"
        return self

    def uint64_field(self, key, value):
        self._check_key(key, "field")
        if value < 0:
            raise ValueError(f"uint64 field '{key}' cannot be negative")
        self.fields[key] = f"{value}u"
        return self

    def float64_field(self, key, value):
        self._check_key(key, "field")
        # An integral float keeps a ".0" so that the column stays a float.
        self.fields[key] = f"{int(value)}.0" if value % 1 == 0 else str(value)
        return self

    def string_field(self, key, value):
        self._check_key(key, "field")
        self.fields[key] = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return self

    def bool_field(self, key, value):
        self._check_key(key, "field")
        self.fields[key] = "t" if value else "f"
        return self

    def time_ns(self, timestamp_ns):
        self._timestamp_ns = timestamp_ns
        return self

    def build(self):
        line = _esc(self.measurement, ", ")
        if self.tags:
            line += "," + ",".join(f"{k}={_esc(v, chr(92) + ',= ')}" for k, v in self.tags.items())
        if not self.fields:
            raise InvalidLineError(f"At least one field is required: {line}")
        line += " " + ",".join(f"{_esc(k, chr(92) + ',= ')}={v}" for k, v in self.fields.items())
        if self._timestamp_ns is not None:
            line += f" {self._timestamp_ns}"
        return line


# ---- the cache -------------------------------------------------------------------

_store = {}            # namespace -> {key: (value, expires_at or None)}
_default_ttl = {}      # namespace -> seconds (dry-run caches expire after 30 minutes)
_last_sweep = [0.0]
_SWEEP_EVERY = 10.0


def _sweep(now):
    if now - _last_sweep[0] < _SWEEP_EVERY:
        return
    _last_sweep[0] = now
    for ns in list(_store):
        entries = _store[ns]
        for k in [k for k, (_, exp) in entries.items() if exp is not None and exp <= now]:
            del entries[k]
        if not entries:
            del _store[ns]


class _Cache:
    __slots__ = ("_local", "_global")

    def __init__(self, local_ns, global_ns):
        self._local = local_ns
        self._global = global_ns

    def _ns(self, use_global):
        return self._global if use_global else self._local

    def put(self, key, value, ttl=None, use_global=False):
        ns = self._ns(use_global)
        now = time.monotonic()
        if ttl is None:
            ttl = _default_ttl.get(ns)
        if ttl is not None and ttl < 0:
            raise ValueError("ttl cannot be negative")
        _store.setdefault(ns, {})[str(key)] = (value, None if ttl is None else now + ttl)
        _sweep(now)

    def get(self, key, default=None, use_global=False):
        entries = _store.get(self._ns(use_global))
        if not entries:
            return default
        item = entries.get(str(key))
        if item is None:
            return default
        value, exp = item
        if exp is not None and exp <= time.monotonic():
            del entries[str(key)]
            return default
        return value

    def delete(self, key, use_global=False):
        entries = _store.get(self._ns(use_global))
        if not entries or str(key) not in entries:
            return False
        del entries[str(key)]
        return True


def _drop_ns(ns):
    _store.pop(ns, None)
    _default_ttl.pop(ns, None)


# ---- influxdb3_local ---------------------------------------------------------------

def _log_text(args):
    return " ".join(str(a) for a in args)


class PluginApi:
    """The `influxdb3_local` object handed to a plugin for one call."""

    __slots__ = ("_h", "_cache")
    QueryError = QueryError

    def __init__(self, handle, cache):
        self._h = handle
        self._cache = cache

    def info(self, *args):
        _vigil_c.log(self._h, 0, _log_text(args))

    def warn(self, *args):
        _vigil_c.log(self._h, 1, _log_text(args))

    def error(self, *args):
        _vigil_c.log(self._h, 2, _log_text(args))

    def write(self, line_builder):
        _vigil_c.write(self._h, None, line_builder.build())

    def write_to_db(self, db_name, line_builder):
        _vigil_c.write(self._h, db_name, line_builder.build())

    def write_sync(self, line_builder, no_sync):
        _vigil_c.write_sync(self._h, None, line_builder.build(), bool(no_sync))

    def write_sync_to_db(self, db_name, line_builder, no_sync):
        _vigil_c.write_sync(self._h, db_name, line_builder.build(), bool(no_sync))

    def query(self, query, args=None, database=None):
        if args is not None:
            if not isinstance(args, dict):
                raise TypeError("query args must be a dict of str to str")
            for k, v in args.items():
                if not isinstance(k, str) or not isinstance(v, str):
                    raise TypeError("query args must be a dict of str to str")
        if database is not None and not isinstance(database, str):
            raise TypeError("database must be a str")
        return _vigil_c.query(self._h, query, args, database)

    @property
    def cache(self):
        return self._cache


def _api(handle, local_ns, global_ns, default_ttl):
    if default_ttl is not None:
        _default_ttl[local_ns] = default_ttl
        _default_ttl[global_ns] = default_ttl
    return PluginApi(handle, _Cache(local_ns, global_ns))


# ---- loading plugins -----------------------------------------------------------------

_code_cache = {}   # path -> (stat key, code object)
_pkg_cache = {}    # root -> (stamp, module)


class MissingEntryPoint(Exception):
    pass


def _stat_key(path):
    st = os.stat(path)
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


def _load_file(path, entry):
    key = _stat_key(path)
    cached = _code_cache.get(path)
    if cached is None or cached[0] != key:
        with open(path, encoding="utf-8") as f:
            source = f.read()
        cached = (key, compile(source, path, "exec"))
        _code_cache[path] = cached
    # Fresh globals for every call, as Core runs single-file plugins: module-level
    # state does not survive between calls (that is what the cache is for).
    scope = {"__name__": "__plugin__", "__file__": path, "__builtins__": builtins}
    exec(cached[1], scope)
    fn = scope.get(entry)
    if fn is None:
        raise MissingEntryPoint(f"the plugin {os.path.basename(path)} defines no {entry} function")
    return fn


def _tree_stamp(root):
    stamp = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x != "__pycache__")
        for f in sorted(files):
            if f.endswith(".py"):
                p = os.path.join(d, f)
                stamp.append((p, _stat_key(p)))
    return tuple(stamp)


def _load_dir(root, entry):
    name = os.path.basename(root)
    stamp = _tree_stamp(root)
    cached = _pkg_cache.get(root)
    if cached is None or cached[0] != stamp:
        for k in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[k]
        parent = os.path.dirname(root)
        sys.path.insert(0, parent)
        try:
            importlib.invalidate_caches()
            module = importlib.import_module(name)
        finally:
            try:
                sys.path.remove(parent)
            except ValueError:
                pass
        cached = (stamp, module)
        _pkg_cache[root] = cached
    fn = getattr(cached[1], entry, None)
    if fn is None:
        raise MissingEntryPoint(f"the plugin {name} defines no {entry} function")
    return fn


def _load(path, is_dir, entry):
    return _load_dir(path, entry) if is_dir else _load_file(path, entry)


def _call_time(secs):
    # Core passes a naive datetime in the server's local time, whole seconds.
    return datetime.datetime.fromtimestamp(secs)


# ---- process_request's return value ---------------------------------------------------

def _part(body):
    if isinstance(body, str):
        return body, {"Content-Type": "text/html"}
    if isinstance(body, (dict, list)):
        return json.dumps(body), {"Content-Type": "application/json"}
    if isinstance(body, (bytes, bytearray)):
        return bytes(body), {"Content-Type": "application/octet-stream"}
    return str(body), {"Content-Type": "text/plain"}


def _headers(h):
    if not isinstance(h, dict):
        raise TypeError("expected a dictionary in header item")
    return {str(k): str(v) for k, v in h.items()}


def _response(result):
    """(status, [(name, value), ...], body as str or bytes), Flask-style."""
    flask = getattr(result, "__flask_response__", None)
    if callable(flask) and flask() is True:
        data = result.get_data()
        return int(result.status_code), list(_headers(dict(result.headers)).items()), data
    if isinstance(result, tuple) and 0 < len(result) <= 3:
        body, headers = _part(result[0])
        status = 200
        if len(result) >= 2:
            second = result[1]
            if isinstance(second, int) and not isinstance(second, bool):
                status = second
            elif isinstance(second, dict):
                headers.update(_headers(second))
            else:
                raise TypeError("the second item of a response tuple must be a status or headers")
        if len(result) == 3:
            headers.update(_headers(result[2]))
        return status, list(headers.items()), body
    if isinstance(result, str):
        return 200, [("Content-Type", "text/html")], result
    if isinstance(result, (dict, list)):
        return 200, [("Content-Type", "application/json")], json.dumps(result)
    if isinstance(result, (bytes, bytearray)):
        return 200, [("Content-Type", "application/octet-stream")], bytes(result)
    if result is not None and hasattr(result, "__iter__"):
        chunks = []
        for item in result:
            if isinstance(item, str):
                chunks.append(item)
            elif isinstance(item, (bytes, bytearray)):
                chunks.append(bytes(item).decode("utf-8", "replace"))
        return 200, [("Content-Type", "text/html")], "".join(chunks)
    raise TypeError("Unsupported return type from Python function")


# ---- errors ---------------------------------------------------------------------------

def _format_exc(etype, value, tb):
    if etype is MissingEntryPoint:
        return str(value)
    return "".join(traceback.format_exception(etype, value, tb)).rstrip("\n")


def _setup():
    builtins.LineBuilder = LineBuilder
    # A plugin that sleeps must still be interruptible by its timeout: the C sleep
    # waits in short slices and checks whether the call was cancelled.
    time.sleep = _vigil_c.sleep
    sys.dont_write_bytecode = True
    if not sys.argv:
        sys.argv = [""]


_setup()
