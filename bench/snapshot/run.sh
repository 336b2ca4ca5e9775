#!/usr/bin/env bash
# bench/snapshot/run.sh: how long one snapshot of 10M buffered rows takes (issue 4: the
# snapshot thread has to keep up with sustained ingest). Loads the IoT fleet rows of
# bench/query/gen_load.c (1000 devices x 10 float fields, 10 s apart: 27.8 hours) into
# a fresh server and times POST /api/v3/persist, wall clock and the server's CPU time
# (utime + stime from /proc, less disturbed by other work on a shared machine), for
# two shapes of the data:
#
#   one-file   --gen1-duration 100000h: every row in one partition, one file
#   10m        the default --gen1-duration 10m: 167 files (automatic snapshots may
#              take some rows during the load; the timed persist writes the rest)
#
#   bench/snapshot/run.sh                 # 10M rows, both shapes
#   bench/snapshot/run.sh --rows 2000000 --runs 3 --shape 10m
#   VIGIL=/path/to/vigil bench/snapshot/run.sh   # another build, for A/B comparisons
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=10000000
RUNS=1
SHAPES="one-file 10m"
while [ $# -gt 0 ]; do
    case "$1" in
    --rows) ROWS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --shape) SHAPES=$2; shift 2 ;;
    *) echo "usage: bench/snapshot/run.sh [--rows N] [--runs N] [--shape one-file|10m]" >&2; exit 2 ;;
    esac
done
VIGIL=${VIGIL:-build/vigil}
[ "$VIGIL" = build/vigil ] && make --no-print-directory build/vigil >&2
mkdir -p build/bench
cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread bench/query/gen_load.c \
    -o build/bench/gen_load
WORK=""
VPID=""
cleanup() {
    [ -n "$VPID" ] && kill -KILL "$VPID" 2>/dev/null || true
    [ -n "$WORK" ] && rm -rf "$WORK"
}
trap cleanup EXIT
now() { date +%s.%N; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$VPID/stat"; }

one_run() { # shape
    WORK=$(mktemp -d /tmp/vigil-snapshot.XXXXXX)
    local port flags=() ticks_per_s
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    [ "$1" = one-file ] && flags=(--gen1-duration 100000h)
    "$VIGIL" serve --node-id bench --data-dir "$WORK" --http-bind "127.0.0.1:$port" \
        --compaction-interval 0 "${flags[@]}" >>"$WORK/vigil.log" 2>&1 &
    VPID=$!
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$port/health" || true)" = 200 ]; do
        sleep 0.02
    done
    curl -s -XPOST "127.0.0.1:$port/api/v3/configure/database" \
        -H 'content-type: application/json' -d '{"db":"bench"}' >/dev/null
    build/bench/gen_load --port "$port" --rows "$ROWS" >/dev/null
    ticks_per_s=$(getconf CLK_TCK)
    local c0 t0 res
    c0=$(cpu_ticks); t0=$(now)
    res=$(curl -s -XPOST "127.0.0.1:$port/api/v3/persist")
    awk -v t0="$t0" -v t1="$(now)" -v c0="$c0" -v c1="$(cpu_ticks)" -v hz="$ticks_per_s" \
        -v shape="$1" -v res="$res" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
        'BEGIN { printf "%-8s persist %6.2f s wall, %6.2f s cpu (load %s) %s\n",
                 shape, t1 - t0, (c1 - c0) / hz, load, res }'
    kill "$VPID"; wait "$VPID" 2>/dev/null || true; VPID=""
    rm -rf "$WORK"; WORK=""
}

echo "== $ROWS rows, $VIGIL"
for shape in $SHAPES; do
    for _ in $(seq "$RUNS"); do one_run "$shape"; done
done
