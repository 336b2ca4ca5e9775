#!/usr/bin/env bash
# bench/query/run.sh: the query benchmark of issue 3. Builds build/vigil and the loader
# (bench/query/gen_load.c), starts Vigil on a free loopback port with a temporary data
# dir and a memory budget large enough for the data set, loads the IoT fleet table
# through the HTTP write API (timed), builds the same rows in an in-memory DuckDB
# (@duckdb/node-api), runs the seven queries on both (driver.py) and prints each
# query's median latency, the Vigil/DuckDB ratio and whether both answers agree.
# Vigil is stopped at the end, whatever happens.
#
#   bench/query/run.sh                 # 10 million rows (1,000 devices x 10,000 points)
#   bench/query/run.sh --scale 0.1     # 1 million rows; --scale 3 for 30 million
#
# Knobs (environment): RUNS (5 timed runs per query), CONNS (2 load connections),
# MEM_POOL (--exec-mem-pool-bytes, default 8 GiB), QUERY_TIMEOUT (300s),
# PERSIST=1 (snapshot the loaded rows to Parquet before querying, timed, so the
# queries read the persisted files instead of the write buffer),
# VIGIL (a vigil binary to use instead of building build/vigil).
set -euo pipefail
cd "$(dirname "$0")/../.."

SCALE=1
while [ $# -gt 0 ]; do
    case "$1" in
    --scale) SCALE=$2; shift 2 ;;
    *) echo "usage: bench/query/run.sh [--scale N]" >&2; exit 2 ;;
    esac
done
DEVICES=1000
ROWS=$(awk -v s="$SCALE" -v d=$DEVICES 'BEGIN { n = int(s * 10000000 / d) * d; if (n < d) n = d; print n }')
RUNS=${RUNS:-5}
CONNS=${CONNS:-2}
MEM_POOL=${MEM_POOL:-8589934592}
QUERY_TIMEOUT=${QUERY_TIMEOUT:-300s}
PY=/usr/bin/python3

log() { printf '== %s\n' "$*" >&2; }

if [ -z "${VIGIL:-}" ]; then
    make --no-print-directory build/vigil >&2
    VIGIL=build/vigil
fi
if ! cmp -s tests/differential/package-lock.json tests/differential/node_modules/.vigil-lock; then
    tools/install-deps.sh test >&2
fi
mkdir -p build/bench
cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread bench/query/gen_load.c \
    -o build/bench/gen_load

WORK=$(mktemp -d /tmp/vigil-qbench.XXXXXX)
VPID=""
cleanup() {
    if [ -n "$VPID" ] && kill -0 "$VPID" 2>/dev/null; then
        kill -TERM "$VPID" 2>/dev/null || true
        timeout 30 tail --pid="$VPID" -f /dev/null 2>/dev/null || kill -KILL "$VPID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log "vigil on 127.0.0.1:$PORT ($WORK), $ROWS rows"
"$VIGIL" serve --node-id bench --data-dir "$WORK/vigil" --http-bind "127.0.0.1:$PORT" \
    --without-auth --exec-mem-pool-bytes "$MEM_POOL" --query-timeout "$QUERY_TIMEOUT" \
    --max-http-request-size 67108864 >"$WORK/vigil.log" 2>&1 &
VPID=$!
for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health" || true)" = 200 ] && break
    sleep 0.05
done

log "loading through /api/v3/write_lp ($CONNS connections)"
timeout 1800 build/bench/gen_load --port "$PORT" --rows "$ROWS" --devices "$DEVICES" \
    --connections "$CONNS" | tee "$WORK/load.out" >&2
LOAD_S=$(sed -n 's/^RESULT .*elapsed_s=\([^ ]*\).*/\1/p' "$WORK/load.out")
RSS_LOADED=$(awk '/^VmRSS:/ {printf "%.0f", $2/1024}' "/proc/$VPID/status")
if [ "${PERSIST:-0}" = 1 ]; then
    T0=$(date +%s.%N)
    curl -s -X POST "http://127.0.0.1:$PORT/api/v3/persist" >&2; echo >&2
    log "snapshot to Parquet: $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}') s, $(du -sb "$WORK/vigil/bench/dbs" | cut -f1) bytes on disk"
fi

timeout 3600 $PY bench/query/driver.py --port "$PORT" --rows "$ROWS" --devices "$DEVICES" \
    --runs "$RUNS" --load-s "$LOAD_S"
echo "Vigil RSS after load: ${RSS_LOADED} MB; peak (VmHWM): $(awk '/^VmHWM:/ {printf "%.0f", $2/1024}' "/proc/$VPID/status") MB"

kill -TERM "$VPID"
wait "$VPID" || log "vigil exited with $?; its log:"$'\n'"$(tail -20 "$WORK/vigil.log")"
VPID=""
