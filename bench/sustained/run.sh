#!/usr/bin/env bash
# bench/sustained/run.sh: issue 4's sustained-ingest benchmark. Measures Vigil's
# maximum ingest rate (a short unpaced load), then loads the IoT fleet rows of
# bench/query/gen_load.c at half that rate for DURATION seconds with
# --max-buffer-bytes MAX_BUFFER, sampling the server's RSS every second (snapshots to
# Parquet keep memory bounded). Then it persists what is left, lets compaction finish
# (POST /api/v3/compact, timed; RSS still sampled) and runs the seven queries of
# bench/query over the persisted rows, next to DuckDB reading its own zstd Parquet
# export of the same rows (bench/query/driver.py --duck-parquet).
#
#   bench/sustained/run.sh                         # 10 minutes, --max-buffer-bytes 512M
#   DURATION=60 MAX_BUFFER=256M bench/sustained/run.sh
#
# Pass: peak RSS <= MAX_BUFFER + OVERHEAD (MAX_BUFFER/2 + 850 MB by default, see
# OVERHEAD_MB below and bench/README.md), and every query within 2x of DuckDB.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-600}
MAX_BUFFER=${MAX_BUFFER:-512M}
# The documented overhead over --max-buffer-bytes (bench/README.md): writers are held
# back at 1.5x the buffer limit, a compaction merge decodes up to
# --compaction-mem-bytes (256M by default, ~1.3x with its output), and the server's base (~150 MB).
OVERHEAD_MB=${OVERHEAD_MB:-}
RUNS=${RUNS:-5}
PY=/usr/bin/python3
make --no-print-directory build/vigil >&2
if ! cmp -s tests/differential/package-lock.json tests/differential/node_modules/.vigil-lock; then
    tools/install-deps.sh test >&2
fi
mkdir -p build/bench
cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread bench/query/gen_load.c \
    -o build/bench/gen_load
WORK=$(mktemp -d /tmp/vigil-sustained.XXXXXX)
VPID=""
SPID=""
cleanup() {
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null || true
    if [ -n "$VPID" ] && kill -0 "$VPID" 2>/dev/null; then
        kill -TERM "$VPID" 2>/dev/null || true
        timeout 60 tail --pid="$VPID" -f /dev/null 2>/dev/null || kill -KILL "$VPID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
log() { printf '== %s\n' "$*" >&2; }
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
start() {
    build/vigil serve --node-id bench --data-dir "$WORK/$1" --http-bind "127.0.0.1:$PORT" \
        --without-auth --max-buffer-bytes "$MAX_BUFFER" --max-http-request-size 67108864 \
        --exec-mem-pool-bytes 8589934592 >>"$WORK/vigil.log" 2>&1 &
    VPID=$!
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health" || true)" = 200 ]; do
        sleep 0.02
    done
}
stop() { kill -TERM "$VPID"; wait "$VPID" || true; VPID=""; }

log "measuring the maximum ingest rate (2M rows, unpaced)"
start probe
MAX=$(build/bench/gen_load --port "$PORT" --rows 2000000 | sed -n 's/.*rows_per_s=\([0-9]*\).*/\1/p')
stop
RATE=$((MAX / 2))
DEVICES=1000
ROWS=$(( (RATE * DURATION / DEVICES) * DEVICES ))
log "max ${MAX} rows/s; loading ${ROWS} rows at ${RATE} rows/s for ${DURATION} s, --max-buffer-bytes $MAX_BUFFER"

start run
( peak=0; while kill -0 "$VPID" 2>/dev/null; do
      r=$(awk '/^VmRSS:/ {print $2}' "/proc/$VPID/status" 2>/dev/null || echo 0)
      [ "${r:-0}" -gt "$peak" ] && peak=$r && echo "$peak" >"$WORK/peak_kb"
      sleep 1
  done ) &
SPID=$!
build/bench/gen_load --port "$PORT" --rows "$ROWS" --rate "$RATE" | tee "$WORK/load.out" >&2
curl -s -X POST "$URL/api/v3/persist" >&2; echo >&2
# Let compaction finish what the load left (the days still going cold) before the
# queries, so they measure the persisted data at rest and neither system's timings
# include a merge running beside them; how long that took is reported.
C0=$(date +%s.%N)
COMPACT=$(curl -s -X POST "$URL/api/v3/compact")
C1=$(date +%s.%N)
log "compaction after the load: $COMPACT in $($PY -c "print('%.1f s' % ($C1 - $C0))")"
sleep 1
kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; SPID=""  # queries not counted
SNAPS=$(grep -c "persist: snapshot" "$WORK/vigil.log" || true)
COMPACTIONS=$(grep -c "persist: compaction: db" "$WORK/vigil.log" || true)
PEAK_MB=$(( $(cat "$WORK/peak_kb") / 1024 ))
BUF_MB=$($PY -c "
s='$MAX_BUFFER'; m={'k':1/1024,'K':1/1024,'M':1,'G':1024}
print(int(float(s[:-1])*m[s[-1]]) if s[-1] in m else int(s)//(1<<20))")
[ -n "$OVERHEAD_MB" ] || OVERHEAD_MB=$((BUF_MB / 2 + 700 + 150))
log "peak RSS ${PEAK_MB} MB (limit ${BUF_MB} MB + ${OVERHEAD_MB} MB overhead); ${SNAPS} snapshot(s), ${COMPACTIONS} compaction merge(s)"
log "files: $(curl -s -G "$URL/api/v3/query_sql" --data-urlencode db=bench \
    --data-urlencode 'q=SELECT count(*) AS files, sum(row_count) AS rows, sum(size_bytes) AS bytes FROM system.parquet_files')"

mkdir -p "$WORK/duck"
timeout 3600 $PY bench/query/driver.py --port "$PORT" --rows "$ROWS" --devices "$DEVICES" \
    --runs "$RUNS" --duck-parquet "$WORK/duck"
echo
echo "Sustained ingest: ${ROWS} rows at ${RATE} rows/s (half of ${MAX}) for ${DURATION} s"
echo "peak RSS ${PEAK_MB} MB, limit ${BUF_MB} MB + ${OVERHEAD_MB} MB: $([ "$PEAK_MB" -le $((BUF_MB + OVERHEAD_MB)) ] && echo ok || echo MISSED)"
stop
