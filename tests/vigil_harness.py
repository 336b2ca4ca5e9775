# Test harness shared by tests/integration and tests/crash: starts the real `vigil`
# binary on a free loopback port with a temporary data dir, talks HTTP to it with the
# standard library only (http.client and raw sockets), stops it and checks its exit
# status and sanitizer output, and runs build/tests/crash_dump to read data back.
import gzip
import http.client
import json
import os
import signal
import socket
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BIN = os.path.join(REPO, "build", "vigil")
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
HEALTH_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 20.0


def vigil_bins():
    """Binaries to test: env VIGIL_BINS (space-separated), default build/vigil."""
    env = os.environ.get("VIGIL_BINS", "").split()
    return env if env else [DEFAULT_BIN]


def bin_id(path):
    """A short test id for a binary: 'asan' for the sanitizer build, else 'vigil'."""
    return "asan" if "asan" in path else "vigil"


def crash_dump_bin():
    return os.environ.get("VIGIL_CRASH_DUMP",
                          os.path.join(REPO, "build", "tests", "crash_dump"))


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body

    def header(self, name):
        """Value of the header (case-insensitive), or None. Repeats are joined by ', '."""
        vals = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(vals) if vals else None

    @property
    def text(self):
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "Response(%d, %r, %r)" % (self.status, self.headers, self.body[:2000])


def _read_response(sock_file):
    """Parses one HTTP/1.1 response from a binary file object (Content-Length,
    chunked, or until close)."""
    status_line = sock_file.readline()
    if not status_line:
        raise ConnectionError("connection closed before a response arrived")
    parts = status_line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    status = int(parts[1])
    headers = []
    while True:
        line = sock_file.readline()
        if not line or line in (b"\r\n", b"\n"):
            break
        k, _, v = line.decode("latin-1").partition(":")
        headers.append((k.strip(), v.strip()))
    hmap = {k.lower(): v for k, v in headers}
    body = b""
    if status in (204, 304) or 100 <= status < 200:
        pass
    elif "content-length" in hmap:
        n = int(hmap["content-length"])
        while len(body) < n:
            chunk = sock_file.read(n - len(body))
            if not chunk:
                break
            body += chunk
    elif hmap.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int(sock_file.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while sock_file.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            body += sock_file.read(size)
            sock_file.readline()
    else:
        body = sock_file.read()
    return Response(status, headers, body)


def raw_request(port, data, timeout=10.0):
    """Sends raw bytes (a whole request) on a new connection and reads one response.
    Tolerates the server closing or resetting the connection while we still send
    (a server may answer 413 before it has read the whole body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        f = s.makefile("rb")
        return _read_response(f)
    finally:
        s.close()


class Server:
    """One `vigil serve` process. start() may be called again after stop()/kill()
    (same data dir, a new port)."""

    def __init__(self, binary, data_dir, node_id="test", extra_args=(), stderr_dir=None):
        self.binary = binary
        self.data_dir = data_dir
        self.node_id = node_id
        self.extra_args = list(extra_args)
        self.stderr_dir = stderr_dir or data_dir + ".logs"
        os.makedirs(self.stderr_dir, exist_ok=True)
        self.proc = None
        self.port = None
        self.starts = 0
        self.stderr_path = None
        self._stderr_file = None
        self.all_stderr_paths = []

    # ---- process control ----
    def command(self):
        return [self.binary, "serve", "--node-id", self.node_id, "--data-dir", self.data_dir,
                "--http-bind", "127.0.0.1:%d" % self.port, "--without-auth"] + self.extra_args

    def start(self, extra_args=None, wait=True):
        assert self.proc is None, "server already running"
        if extra_args is not None:
            self.extra_args = list(extra_args)
        self.port = free_port()
        self.starts += 1
        self.stderr_path = os.path.join(self.stderr_dir, "stderr.%d.log" % self.starts)
        self.all_stderr_paths.append(self.stderr_path)
        self._stderr_file = open(self.stderr_path, "wb")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=self._stderr_file, stderr=self._stderr_file,
                                     env=env)
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout=HEALTH_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self._close_stderr()
                raise AssertionError("vigil exited with %d during start-up; stderr:\n%s"
                                     % (rc, self.stderr_text()))
            try:
                r = self.request("GET", "/health", timeout=1.0)
                if r.status == 200:
                    return
                last = r
            except OSError as e:
                last = e
            time.sleep(0.02)
        self.kill()
        raise AssertionError("vigil not healthy within %.0f s (last: %r); stderr:\n%s"
                             % (timeout, last, self.stderr_text()))

    def _close_stderr(self):
        if self._stderr_file:
            self._stderr_file.close()
            self._stderr_file = None

    def stop(self, check=True):
        """SIGTERM, wait; asserts exit status 0 and no sanitizer report."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            self._close_stderr()
            raise AssertionError("vigil did not stop within %.0f s of SIGTERM; stderr:\n%s"
                                 % (STOP_TIMEOUT_S, self.stderr_text()))
        self.proc = None
        self._close_stderr()
        if check:
            self.check_stderr()
            assert rc == 0, "vigil exited with %d after SIGTERM; stderr:\n%s" % (
                rc, self.stderr_text())
        return rc

    def kill(self):
        """SIGKILL (a crash); no checks."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        self._close_stderr()

    def restart(self, extra_args=None):
        self.stop()
        return self.start(extra_args)

    def stderr_text(self, which=None):
        path = which or self.stderr_path
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def check_stderr(self):
        for p in self.all_stderr_paths:
            text = self.stderr_text(p)
            for mark in SANITIZER_MARKS:
                assert mark not in text, "sanitizer report (%s) in %s:\n%s" % (mark, p, text)

    # ---- paths ----
    @property
    def node_dir(self):
        return os.path.join(self.data_dir, self.node_id)

    @property
    def wal_dir(self):
        return os.path.join(self.node_dir, "wal")

    def wal_segments(self):
        try:
            names = sorted(n for n in os.listdir(self.wal_dir) if n.endswith(".wal"))
        except FileNotFoundError:
            return []
        return [os.path.join(self.wal_dir, n) for n in names]

    # ---- HTTP ----
    def request(self, method, path, body=None, headers=None, timeout=30.0):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            hdrs = dict(headers or {})
            if body is not None and isinstance(body, str):
                body = body.encode("utf-8")
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, r.getheaders(), data)
        finally:
            conn.close()

    def raw(self, data, timeout=10.0):
        return raw_request(self.port, data, timeout)

    def write(self, db, body, precision=None, endpoint="v3", params=None, headers=None):
        """POSTs line protocol. endpoint: v3 (/api/v3/write_lp?db=), v2
        (/api/v2/write?bucket=), v1 (/write?db=)."""
        q = []
        if endpoint == "v3":
            path, key = "/api/v3/write_lp", "db"
        elif endpoint == "v2":
            path, key = "/api/v2/write", "bucket"
        else:
            path, key = "/write", "db"
        if db is not None:
            q.append((key, db))
        if precision is not None:
            q.append(("precision", precision))
        for k, v in (params or {}).items():
            q.append((k, v))
        from urllib.parse import urlencode
        full = path + ("?" + urlencode(q) if q else "")
        return self.request("POST", full, body=body, headers=headers)

    def post_json(self, path, obj, method="POST", content_type="application/json"):
        body = obj if isinstance(obj, (bytes, str)) else json.dumps(obj)
        hdrs = {"Content-Type": content_type} if content_type else {}
        return self.request(method, path, body=body, headers=hdrs)

    def create_db(self, name, retention=None):
        obj = {"db": name}
        if retention is not None:
            obj["retention_period"] = retention
        return self.post_json("/api/v3/configure/database", obj)

    def list_dbs(self, show_deleted=False):
        path = "/api/v3/configure/database?format=json"
        if show_deleted:
            path += "&show_deleted=true"
        r = self.request("GET", path)
        assert r.status == 200, r
        return r.json()

    def db_names(self):
        return [row["iox::database"] for row in self.list_dbs()]

    def cluster_uuid(self):
        return self.request("GET", "/health").header("cluster-uuid")


def gz(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return gzip.compress(data)


def crash_dump(data_dir, node_id="test"):
    """Runs crash_dump on a stopped server's data; returns its output lines."""
    exe = crash_dump_bin()
    assert os.path.exists(exe), ("%s is missing: build it with `make build/tests/crash_dump`"
                                 % exe)
    p = subprocess.run([exe, "--data-dir", data_dir, "--node-id", node_id],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert p.returncode == 0, "crash_dump failed (%d): %s" % (
        p.returncode, p.stderr.decode("utf-8", "replace"))
    out = p.stdout.decode("utf-8")
    return [l for l in out.split("\n") if l]


class RowSet(list):
    """crash_dump output lines; compares equal to any list holding the same lines in
    any order (crash_dump's own order is by db, table, tag set, time)."""

    def __eq__(self, other):
        return sorted(self) == sorted(other)

    def __ne__(self, other):
        return not self.__eq__(other)


def dump_server(server):
    """Stops the server cleanly (if running) and dumps its data."""
    server.stop()
    return RowSet(crash_dump(server.data_dir, server.node_id))


def fmt_float(v):
    """A float as crash_dump prints it (C's %.17g)."""
    return "%.17g" % v


def canon(db, table, tags, fields, time_ns):
    """The canonical crash_dump line for one row. tags: dict str->str; fields: dict
    name -> python value (float, int via ('i', n), uint via ('u', n), str, bool)."""
    def esc_name(s):
        return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")

    def fval(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, tuple):
            kind, n = v
            return "%d%s" % (n, kind)
        if isinstance(v, float):
            return fmt_float(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        raise TypeError(v)

    head = table.replace("\\", "\\\\").replace(",", "\\,").replace(" ", "\\ ")
    for k in sorted(tags):
        head += "," + esc_name(k) + "=" + esc_name(tags[k])
    fs = ",".join(esc_name(k) + "=" + fval(fields[k]) for k in sorted(fields))
    return "%s\t%s %s %d" % (db, head, fs, time_ns)
