#!/usr/bin/env python3
# bench/engine/driver.py: the processing engine's benchmark (see README.md here).
#
#   1. ingest throughput with an all_tables trigger whose plugin counts rows, against
#      the same load with no trigger, on one server in one run (rounds interleaved so
#      that drift on a shared machine hits both alike), and whether the plugin saw
#      every row and how long it needed to catch up;
#   2. latency from an acknowledged write to the call of its table: trigger;
#   3. the time of one scheduled call whose plugin runs one query over 1M rows.
#
# Run through run.sh, which builds build/vigil and the load client first.
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VIGIL = os.path.join(ROOT, "build", "vigil")
LOAD = os.path.join(ROOT, "build", "bench", "load")
PLUGINS = os.path.join(ROOT, "bench", "engine", "plugins")

ROUNDS = int(os.environ.get("ROUNDS", "3"))
DURATION = float(os.environ.get("DURATION", "5"))
CONNS = int(os.environ.get("CONNS", "2"))
LINES = int(os.environ.get("LINES", "5000"))
LAT_WRITES = int(os.environ.get("LAT_WRITES", "300"))
BIG_ROWS = int(os.environ.get("BIG_ROWS", "1000000"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Server:
    def __init__(self, work):
        self.port = free_port()
        self.plugins = os.path.join(work, "plugins")
        shutil.copytree(PLUGINS, self.plugins)
        self.log = open(os.path.join(work, "vigil.log"), "wb")
        self.proc = subprocess.Popen(
            [VIGIL, "serve", "--node-id", "bench", "--data-dir", os.path.join(work, "data"),
             "--http-bind", "127.0.0.1:%d" % self.port, "--without-auth",
             "--plugin-dir", self.plugins, "--plugin-timeout", "120s"],
            stdout=self.log, stderr=self.log)
        for _ in range(300):
            try:
                if self.req("GET", "/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit("driver.py: vigil did not start")

    def req(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def write(self, db, body):
        st, out = self.req("POST", "/api/v3/write_lp?db=%s&precision=ns" % db, body)
        assert st == 204, (st, out[:300])

    def trigger(self, db, name, plugin, spec):
        body = json.dumps({"db": db, "plugin_filename": plugin, "trigger_name": name,
                           "trigger_specification": spec})
        st, out = self.req("POST", "/api/v3/configure/processing_engine_trigger", body,
                           {"Content-Type": "application/json"})
        assert st == 200, (st, out)

    def engine(self, path):
        st, out = self.req("GET", "/api/v3/engine/" + path)
        assert st == 200, (st, out)
        return json.loads(out)

    def sql(self, db, q):
        st, out = self.req("GET", "/api/v3/query_sql?" + urllib.parse.urlencode(
            {"db": db, "q": q, "format": "json"}))
        assert st == 200, (st, out)
        return json.loads(out)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        self.log.close()


def load(port, db):
    out = subprocess.run(
        [LOAD, "--port", str(port), "--path", "/api/v3/write_lp?db=%s&precision=ns" % db,
         "--connections", str(CONNS), "--lines", str(LINES), "--duration", str(DURATION)],
        capture_output=True, text=True, check=True).stdout
    res = dict(kv.split("=") for kv in out.strip().splitlines()[-1].split()[1:])
    return float(res["lines_per_s"]), int(res["requests"]) * LINES


def throughput(s):
    s.write("plain", "warmup v=1 1")
    s.write("trig", "warmup v=1 1")
    s.trigger("trig", "count", "count_rows.py", "all_tables")
    s.trigger("trig", "count_read", "count_rows.py", "request:count")
    plain, trig = [], []
    written = 0  # the warm-up row came before the trigger
    catch_up = []
    for r in range(ROUNDS):
        lps, _ = load(s.port, "plain")
        plain.append(lps)
        lps, n = load(s.port, "trig")
        t_end = time.time_ns()
        trig.append(lps)
        written += n
        # The plugin must see every row; how long after the load did it catch up?
        deadline = time.time() + 300
        while True:
            got = s.engine("count")
            if time.time() > deadline:
                raise SystemExit("driver.py: the plugin counted %d of %d rows" % (got["rows"], written))
            if got["rows"] >= written:
                catch_up.append(max(0, got["last_ns"] - t_end) / 1e9)
                break
            time.sleep(0.05)
        print("  round %d: no trigger %.0f lines/s, all_tables trigger %.0f lines/s "
              "(plugin caught up %.2f s after the load)" % (r + 1, plain[-1], trig[-1],
                                                           catch_up[-1]), file=sys.stderr)
    got = s.engine("count")
    assert got["rows"] == written, (got, written)
    return plain, trig, catch_up, got


def latency(s):
    s.write("lat", "lat,id=warm v=1 1")
    s.trigger("lat", "lat", "latency.py", "table:lat")
    s.trigger("lat", "lat_read", "latency.py", "request:lat")
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
    sent, acked = {}, {}
    for i in range(LAT_WRITES):
        body = "lat,id=w%d v=%d %d" % (i, i, i + 10)
        t0 = time.time_ns()
        c.request("POST", "/api/v3/write_lp?db=lat&precision=ns", body)
        r = c.getresponse()
        r.read()
        t1 = time.time_ns()
        assert r.status == 204
        sent["w%d" % i], acked["w%d" % i] = t0, t1
        time.sleep(0.005)  # one write at a time: no piling up behind a call
    c.close()
    deadline = time.time() + 30
    while True:
        seen = s.engine("lat")
        if all(k in seen for k in acked) or time.time() > deadline:
            break
        time.sleep(0.05)
    after_ack = sorted((seen[k] - acked[k]) / 1e6 for k in acked)
    after_send = sorted((seen[k] - sent[k]) / 1e6 for k in acked)
    return after_ack, after_send


def pct(xs, p):
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def big_query(s):
    chunk = 50000
    t0 = time.time()
    for start in range(0, BIG_ROWS, chunk):
        lines = ["big,dev=d%d f0=%d.5,f1=%d,f2=%d.25 %d" % (i % 1000, i % 97, i % 89, i % 83,
                                                             1_700_000_000_000_000_000 + i)
                 for i in range(start, min(BIG_ROWS, start + chunk))]
        s.write("bigdb", "\n".join(lines))
    load_s = time.time() - t0
    s.trigger("bigdb", "bigq", "big_query.py", "every:1s")
    s.trigger("bigdb", "bigq_read", "big_query.py", "request:big")
    runs = []
    deadline = time.time() + 120
    while len(runs) < 3 and time.time() < deadline:
        runs = s.engine("big")
        time.sleep(0.2)
    st, out = s.req("POST", "/api/v3/configure/processing_engine_trigger/disable?db=bigdb&"
                            "trigger_name=bigq")
    assert st == 200
    logs = s.sql("_internal", "SELECT log_text FROM system.processing_engine_logs "
                              "WHERE trigger_name = 'bigq'")
    calls = [parse_elapsed(r["log_text"][len("finished execution in "):]) for r in logs
             if r["log_text"].startswith("finished execution in ")]
    direct = s.sql("bigdb", "SELECT count(*) AS n FROM big")[0]["n"]
    return runs, calls, load_s, direct


def parse_elapsed(text):
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
    total = 0.0
    for part in text.split():
        num = "".join(ch for ch in part if ch.isdigit())
        total += int(num) * units[part[len(num):]]
    return total


def main():
    work = tempfile.mkdtemp(prefix="vigil-engine-bench.")
    s = Server(work)
    try:
        print("== throughput: %d rounds of %.0f s each, no trigger then all_tables trigger, "
              "%d connections x %d lines/request" % (ROUNDS, DURATION, CONNS, LINES),
              file=sys.stderr)
        plain, trig, catch_up, counted = throughput(s)
        print("== latency: %d single-line writes, one at a time" % LAT_WRITES, file=sys.stderr)
        after_ack, after_send = latency(s)
        print("== scheduled query over %d rows" % BIG_ROWS, file=sys.stderr)
        runs, calls, load_s, direct = big_query(s)
    finally:
        s.stop()
        shutil.rmtree(work, ignore_errors=True)
    mp, mt = statistics.median(plain), statistics.median(trig)
    # Each round's pair ran back to back: their ratio is what drift on a shared machine
    # disturbs least.
    ratios = sorted(t / p for p, t in zip(plain, trig))
    print()
    print("Processing engine benchmark (%d CPUs)" % os.cpu_count())
    print("ingest, no trigger (median of %d)        %12.0f lines/s" % (ROUNDS, mp))
    print("ingest, all_tables counting trigger      %12.0f lines/s" % mt)
    print("  with trigger / without, per round      median %.2f (min %.2f, max %.2f)"
          % (statistics.median(ratios), ratios[0], ratios[-1]))
    print("  rows counted by the plugin             %12d (all of them; caught up %.2f s "
          "after the load at worst)" % (counted["rows"], max(catch_up)))
    print("  plugin calls                           %12d (%.0f rows per call)"
          % (counted["calls"], counted["rows"] / max(1, counted["calls"])))
    print("write acknowledged -> table: trigger call  p50 %7.2f ms   p99 %7.2f ms"
          % (pct(after_ack, 50), pct(after_ack, 99)))
    print("write sent         -> table: trigger call  p50 %7.2f ms   p99 %7.2f ms"
          % (pct(after_send, 50), pct(after_send, 99)))
    q = sorted(r["query_s"] for r in runs)
    c = sorted(calls)
    print("scheduled call, one query over %d rows: query %.1f ms (median of %d), whole call "
          "%.1f ms" % (runs[0]["rows"], statistics.median(q) * 1e3, len(q),
                       statistics.median(c) * 1e3))
    print("  (loading %d rows took %.1f s; count(*) outside the plugin: %d)"
          % (BIG_ROWS, load_s, direct))


if __name__ == "__main__":
    main()
