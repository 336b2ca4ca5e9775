#!/usr/bin/env bash
# bench/startup/run.sh: start-up time of issue 4 ("10 million persisted rows and 1
# million rows in the WAL, target under 2 s"). Loads the IoT fleet rows of
# bench/query/gen_load.c through HTTP, persists them (POST /api/v3/persist, timed),
# loads 1 million more rows (a later day, left in the WAL), kills the server with
# SIGKILL, and times a restart until /health answers and until a first query over
# all rows returns; then a clean stop (which persists) and a second, clean restart.
#
#   bench/startup/run.sh              # 10M persisted + 1M in the WAL
#   bench/startup/run.sh --scale 0.1  # 1M + 100k
set -euo pipefail
cd "$(dirname "$0")/../.."
SCALE=1
while [ $# -gt 0 ]; do
    case "$1" in
    --scale) SCALE=$2; shift 2 ;;
    *) echo "usage: bench/startup/run.sh [--scale N]" >&2; exit 2 ;;
    esac
done
ROWS=$(awk -v s="$SCALE" 'BEGIN { printf "%d", s * 10000000 }')
WAL_ROWS=$(awk -v s="$SCALE" 'BEGIN { printf "%d", s * 1000000 }')
make --no-print-directory build/vigil >&2
mkdir -p build/bench
cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread bench/query/gen_load.c \
    -o build/bench/gen_load
WORK=$(mktemp -d /tmp/vigil-startup.XXXXXX)
VPID=""
cleanup() {
    [ -n "$VPID" ] && kill -KILL "$VPID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.3f", b - a}'; }
start() {
    build/vigil serve --node-id bench --data-dir "$WORK" --http-bind "127.0.0.1:$PORT" \
        --without-auth --compaction-interval 0 --max-http-request-size 67108864 \
        --exec-mem-pool-bytes 8589934592 >>"$WORK/vigil.log" 2>&1 &
    VPID=$!
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health" || true)" = 200 ]; do
        sleep 0.005
    done
}
count() { curl -s "$URL/api/v3/query_sql?db=bench&q=SELECT%20count(*)%20AS%20n%20FROM%20fleet"; }

start
echo "== loading $ROWS rows"
build/bench/gen_load --port "$PORT" --rows "$ROWS" | tail -1
T=$(now); curl -s -X POST "$URL/api/v3/persist"; echo " (persist: $(since "$T") s)"
echo "== loading $WAL_ROWS rows into the WAL"
# a later start so these rows are new, not upserts
build/bench/gen_load --port "$PORT" --rows "$WAL_ROWS" --start-ns 1767830400000000000 | tail -1
echo "WAL: $(du -sb "$WORK/bench/wal" | cut -f1) bytes, Parquet: $(du -sb "$WORK/bench/dbs" | cut -f1) bytes"
kill -KILL "$VPID"; wait "$VPID" 2>/dev/null || true; VPID=""

T=$(now); start; HEALTH=$(since "$T")
FIRST=$(count); QUERY=$(since "$T")
echo "restart after SIGKILL: healthy in $HEALTH s, first count(*) at $QUERY s: $FIRST"
grep "replayed" "$WORK/vigil.log" | tail -1
kill -TERM "$VPID"; wait "$VPID" || true; VPID=""
T=$(now); start; HEALTH2=$(since "$T")
echo "restart after a clean stop: healthy in $HEALTH2 s; $(grep "replayed" "$WORK/vigil.log" | tail -1)"
kill -TERM "$VPID"; wait "$VPID" || true; VPID=""
