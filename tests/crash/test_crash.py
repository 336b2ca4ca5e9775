# Crash-recovery tests (STYLE.md 19): kill the server with SIGKILL mid-ingest and
# check that every acknowledged line survives with exact values; damage the WAL tail
# (truncated record, flipped byte, empty segment file) and check that the server
# starts, says where it cut, keeps the earlier records and accepts new writes.
# Data is read back with build/tests/crash_dump after a clean stop.
import http.client
import os
import random
import re
import threading
import time

import vigil_harness as vh
from vigil_harness import canon

LINES_PER_REQUEST = 200
CONNECTIONS = 2
ROUNDS = 3


class Writer(threading.Thread):
    """Sends batches on one keep-alive connection until the server goes away.
    `acked` gets the canonical lines of every request answered 204; `sent` those of
    every request sent (acknowledged or not)."""

    def __init__(self, port, conn_no, round_no):
        super().__init__(daemon=True)
        self.port = port
        self.conn_no = conn_no
        self.round_no = round_no
        self.acked = []
        self.sent = []
        self.requests = 0
        self.unexpected = None
        self.stop = False

    def batch(self, b):
        lines, canons = [], []
        base = 1_700_000_000_000_000_000 + self.round_no * 10**15 + self.conn_no * 10**13
        for j in range(LINES_PER_REQUEST):
            n = b * LINES_PER_REQUEST + j
            ts = base + n * 1000
            tags = {"conn": "c%d" % self.conn_no, "s": "s%d" % (j % 10)}
            v = n / 7.0 + self.round_no
            fields = {"v": v, "i": ("i", -n), "u": ("u", n * 3), "b": n % 2 == 0,
                      "str": "r%db%dj%d" % (self.round_no, b, j)}
            lines.append('crash,conn=c%d,s=s%d v=%r,i=%di,u=%du,b=%s,str="%s" %d' % (
                self.conn_no, j % 10, v, -n, n * 3, "true" if n % 2 == 0 else "false",
                fields["str"], ts))
            canons.append(canon("crash", "crash", tags, fields, ts))
        return "\n".join(lines).encode(), canons

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        b = 0
        try:
            while not self.stop:
                body, canons = self.batch(b)
                b += 1
                self.sent.extend(canons)
                conn.request("POST", "/api/v3/write_lp?db=crash&precision=ns", body=body)
                r = conn.getresponse()
                data = r.read()
                self.requests += 1
                if r.status != 204:
                    self.unexpected = (r.status, data)
                    return
                self.acked.extend(canons)
        except (OSError, http.client.HTTPException):
            return  # the server was killed
        finally:
            conn.close()


def test_kill_during_ingest(server_factory):
    s = server_factory()
    acked, sent = set(), set()
    rng = random.Random(os.getpid())
    for round_no in range(ROUNDS):
        writers = [Writer(s.port, c, round_no) for c in range(CONNECTIONS)]
        for w in writers:
            w.start()
        time.sleep(rng.uniform(0.5, 2.0))
        s.kill()
        for w in writers:
            w.stop = True
            w.join(timeout=15)
            assert not w.is_alive()
            assert w.unexpected is None, w.unexpected
            acked.update(w.acked)
            sent.update(w.sent)
        assert sum(len(w.acked) for w in writers) > 0, "no request was acknowledged"
        s.start()
        got = vh.dump_server(s)
        got_set = set(got)
        assert len(got_set) == len(got), "crash_dump printed a row twice"
        missing = acked - got_set
        assert not missing, "%d acknowledged lines lost, e.g. %s" % (
            len(missing), sorted(missing)[:3])
        garbage = got_set - sent
        assert not garbage, "rows nobody wrote: %s" % sorted(garbage)[:3]
        print("round %d: %d lines acknowledged, %d sent, %d rows recovered" % (
            round_no, len(acked), len(sent), len(got_set)))
        s.start()
    s.stop()


def write_ok(s, body):
    r = s.write("walt", body, precision="ns")
    assert (r.status, r.body) == (204, b""), r


def phase_rows(tag, n, base):
    return [canon("walt", "w", {"s": tag}, {"v": float(base + i)}, base + i) for i in range(n)]


def setup_two_phases(s):
    """Writes 5 records, notes the last segment's size, writes one more record. Returns
    (segment path, size before the last record, size after it)."""
    for i in range(5):
        write_ok(s, "w,s=a v=%d %d" % (100 + i, 100 + i))
    segs = s.wal_segments()
    assert segs, "no WAL segment under %s" % s.wal_dir
    seg = segs[-1]
    s1 = os.path.getsize(seg)
    write_ok(s, "w,s=b v=200 200")
    assert s.wal_segments()[-1] == seg, "the last record went to a new segment"
    s2 = os.path.getsize(seg)
    assert s2 > s1
    return seg, s1, s2


def log_names_cut(s, seg, offset):
    """The start-up log names the segment and the offset where the log was cut."""
    name = os.path.basename(seg)
    text = s.stderr_text()
    lines = [l for l in text.splitlines() if name in l]
    assert lines, "no log line names %s:\n%s" % (name, text)
    assert any(re.search(r"(?<!\d)%d(?!\d)" % offset, l) for l in lines), (
        "no log line names %s with offset %d:\n%s" % (name, offset, "\n".join(lines)))


def check_after_damage(s, seg, s1):
    log_names_cut(s, seg, s1)
    write_ok(s, "w,s=c v=300 300")
    got = vh.dump_server(s)
    expected = phase_rows("a", 5, 100) + phase_rows("c", 1, 300)
    assert got == expected


def test_wal_truncated_mid_record(server_factory):
    s = server_factory()
    seg, s1, s2 = setup_two_phases(s)
    s.kill()
    with open(seg, "r+b") as f:
        f.truncate(s2 - 3)
    s.start()
    check_after_damage(s, seg, s1)
    # a second restart finds a clean log
    s.start()
    assert s.write("walt", "w,s=d v=400 400", precision="ns").status == 204
    assert vh.dump_server(s) == (phase_rows("a", 5, 100) + phase_rows("c", 1, 300)
                                 + phase_rows("d", 1, 400))


def test_wal_truncated_inside_record_header(server_factory):
    s = server_factory()
    seg, s1, s2 = setup_two_phases(s)
    s.kill()
    with open(seg, "r+b") as f:
        f.truncate(s1 + 5)
    s.start()
    check_after_damage(s, seg, s1)


def test_wal_flipped_byte_in_last_record(server_factory):
    s = server_factory()
    seg, s1, s2 = setup_two_phases(s)
    s.kill()
    with open(seg, "r+b") as f:
        pos = s1 + (s2 - s1) // 2
        f.seek(pos)
        b = f.read(1)
        f.seek(pos)
        f.write(bytes([b[0] ^ 0x5A]))
    s.start()
    check_after_damage(s, seg, s1)


def test_wal_flipped_byte_in_last_record_header(server_factory):
    s = server_factory()
    seg, s1, s2 = setup_two_phases(s)
    s.kill()
    with open(seg, "r+b") as f:
        f.seek(s1 + 1)  # inside the length field: a length past the end of the file
        b = f.read(1)
        f.seek(s1 + 1)
        f.write(bytes([b[0] ^ 0x01]))
    s.start()
    check_after_damage(s, seg, s1)


def test_wal_empty_segment_added(server_factory):
    s = server_factory()
    for i in range(5):
        write_ok(s, "w,s=a v=%d %d" % (100 + i, 100 + i))
    s.kill()
    segs = s.wal_segments()
    last_first_seq = int(os.path.basename(segs[-1])[:20])
    # five records so far, one per request, the first with seq 1
    empty = os.path.join(s.wal_dir, "%020d.wal" % 6)
    assert last_first_seq <= 6 and empty not in segs
    open(empty, "wb").close()
    s.start()
    write_ok(s, "w,s=c v=300 300")
    s.restart()
    write_ok(s, "w,s=d v=400 400")
    assert vh.dump_server(s) == (phase_rows("a", 5, 100) + phase_rows("c", 1, 300)
                                 + phase_rows("d", 1, 400))


def test_kill_right_after_ack_then_restart_twice(server_factory):
    s = server_factory()
    expected = []
    for i in range(20):
        write_ok(s, "w,s=k v=%d %d" % (i, i))
        expected += [canon("walt", "w", {"s": "k"}, {"v": float(i)}, i)]
    s.kill()
    s.start()
    s.kill()
    s.start()
    assert vh.dump_server(s) == expected
