#!/usr/bin/env bash
# bench/sustained/mem_timeline.sh: where the server's memory goes during a paced load.
# Starts build/vigil with --max-buffer-bytes MAX_BUFFER on a temporary data directory,
# loads ROWS fleet rows at RATE rows/s (build/bench/gen_load, built by run.sh), samples
# RssAnon and RssFile every 0.2 s with the server's own count of what it allocated and
# of its write buffer (GET /metrics; RSS far above the allocated count is allocator
# waste, as session 6 found), and prints the timeline (one line a second) next to
# the snapshot and compaction log lines, then the three highest samples.
#
#   bench/sustained/mem_timeline.sh                      # 36M rows at 600k rows/s
#   ROWS=77400000 RATE=645000 bench/sustained/mem_timeline.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-36000000}
RATE=${RATE:-600000}
MAX_BUFFER=${MAX_BUFFER:-512M}
[ -x build/bench/gen_load ] || { echo "build/bench/gen_load missing: run bench/sustained/run.sh once" >&2; exit 2; }
make --no-print-directory build/vigil >&2
D=$(mktemp -d /tmp/vigil-memtl.XXXXXX)
VP=""
trap '[ -n "$VP" ] && kill "$VP" 2>/dev/null; rm -rf "$D"' EXIT
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
build/vigil serve --node-id bench --data-dir "$D/data" --http-bind "127.0.0.1:$PORT" --without-auth \
    --max-buffer-bytes "$MAX_BUFFER" --max-http-request-size 67108864 >"$D/vigil.log" 2>&1 &
VP=$!
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health" || true)" = 200 ]; do
    sleep 0.02
done
( while kill -0 "$VP" 2>/dev/null; do
      printf '%s %s%s\n' "$(date +%H:%M:%S.%N | cut -c1-12)" \
          "$(awk '/^Rss(Anon|File):/ {printf "%s %d MB ", $1, $2 / 1024}' "/proc/$VP/status" 2>/dev/null)" \
          "$(curl -s --max-time 1 "http://127.0.0.1:$PORT/metrics" | awk '
              $1 == "vigil_memory_allocated_bytes" {printf "allocated: %d MB ", $2 / 1048576}
              $1 == "vigil_write_buffer_bytes" {printf "buffer: %d MB ", $2 / 1048576}')"
      sleep 0.2
  done ) >"$D/mem.txt" &
build/bench/gen_load --port "$PORT" --rows "$ROWS" --rate "$RATE" | tail -1
sleep 2
kill "$VP"; wait "$VP" 2>/dev/null || true; VP=""
{ awk 'NR % 5 == 1' "$D/mem.txt"
  grep -E "persist: (snapshot|compaction)" "$D/vigil.log" | sed 's/^[0-9-]*T\([0-9:.]*\)Z/\1/' | cut -c1-160
} | sort
echo "highest:"; sort -k3 -n "$D/mem.txt" | tail -3
