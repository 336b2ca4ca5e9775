#!/usr/bin/env bash
# bench/ingest/run.sh: end-to-end ingest benchmark. Builds the load client, runs the
# same load against build/vigil (v3 write_lp, durable WAL, default flags) and against
# Debian's InfluxDB 1.x (/write, precision=ns), records each server's peak RSS
# (VmHWM), and prints both results and the Vigil/InfluxDB ratio. Both servers run on
# free loopback ports with temporary directories and are stopped at the end.
#
# Knobs (environment): DURATION (15 s), CONNS (2), LINES (5000 lines/request),
# SINGLE_DURATION (5 s, one-line latency run), SKIP_INFLUX=1 (Vigil only).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

DURATION=${DURATION:-15}
CONNS=${CONNS:-2}
LINES=${LINES:-5000}
SINGLE_DURATION=${SINGLE_DURATION:-5}
SKIP_INFLUX=${SKIP_INFLUX:-0}

log() { printf '== %s\n' "$*" >&2; }

make --no-print-directory build/vigil >&2
if [ "$SKIP_INFLUX" != 1 ] && ! command -v influxd >/dev/null; then
    tools/install-deps.sh bench
fi
mkdir -p build/bench
cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread bench/ingest/load.c \
    -o build/bench/load

WORK=$(mktemp -d /tmp/vigil-bench.XXXXXX)
VPID=""
IPID=""
cleanup() {
    for pid in $VPID $IPID; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            timeout 20 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_http URL STATUS: polls for up to 15 s.
wait_http() {
    local i
    for i in $(seq 300); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" = "$2" ]; then return 0; fi
        sleep 0.05
    done
    echo "run.sh: $1 did not answer $2" >&2
    return 1
}

peak_rss_mb() { awk '/^VmHWM:/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

# result FILE KEY: a value from the load client's RESULT line.
result() { sed -n 's/^RESULT .*\b'"$2"'=\([^ ]*\).*/\1/p' "$1"; }

load() { # load PORT PATH OUT [extra args]
    local port=$1 path=$2 out=$3; shift 3
    timeout $((DURATION + SINGLE_DURATION + 60)) build/bench/load --port "$port" --path "$path" \
        --connections "$CONNS" --lines "$LINES" "$@" | tee "$out" >&2
}

# ---- Vigil ----
VPORT=$(free_port)
log "vigil on 127.0.0.1:$VPORT ($WORK/vigil)"
build/vigil serve --node-id bench --data-dir "$WORK/vigil" --http-bind "127.0.0.1:$VPORT" \
    --without-auth >"$WORK/vigil.log" 2>&1 &
VPID=$!
wait_http "http://127.0.0.1:$VPORT/health" 200
VPATH="/api/v3/write_lp?db=bench&precision=ns"
load "$VPORT" "$VPATH" "$WORK/v_batch" --duration "$DURATION"
load "$VPORT" "$VPATH" "$WORK/v_single" --duration "$SINGLE_DURATION" --mode single
V_RSS=$(peak_rss_mb "$VPID")
V_WAL=$(du -sm "$WORK/vigil" | cut -f1)
kill -TERM "$VPID"; wait "$VPID" || { echo "run.sh: vigil exited with $?" >&2; }
VPID=""

# ---- InfluxDB 1.x ----
if [ "$SKIP_INFLUX" != 1 ]; then
    IPORT=$(free_port)
    RPORT=$(free_port)
    mkdir -p "$WORK/influx"
    cat >"$WORK/influx/influxdb.conf" <<EOF
reporting-enabled = false
bind-address = "127.0.0.1:$RPORT"
[meta]
  dir = "$WORK/influx/meta"
[data]
  dir = "$WORK/influx/data"
  wal-dir = "$WORK/influx/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:$IPORT"
  log-enabled = false
  pprof-enabled = false
[ifql]
  enabled = false
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
EOF
    log "influxd $(influxd version 2>/dev/null | head -1) on 127.0.0.1:$IPORT"
    influxd run -config "$WORK/influx/influxdb.conf" >"$WORK/influxd.log" 2>&1 &
    IPID=$!
    wait_http "http://127.0.0.1:$IPORT/ping" 204
    curl -s -o /dev/null -XPOST "http://127.0.0.1:$IPORT/query" --data-urlencode 'q=CREATE DATABASE bench'
    IPATH="/write?db=bench&precision=ns"
    load "$IPORT" "$IPATH" "$WORK/i_batch" --duration "$DURATION"
    load "$IPORT" "$IPATH" "$WORK/i_single" --duration "$SINGLE_DURATION" --mode single
    I_RSS=$(peak_rss_mb "$IPID")
    I_DISK=$(du -sm "$WORK/influx" | cut -f1)
    kill -TERM "$IPID"; wait "$IPID" || true
    IPID=""
fi

# ---- report ----
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
echo
echo "Ingest benchmark: $CONNS connections x $LINES lines/request, ${DURATION} s;" \
     "single-line run ${SINGLE_DURATION} s; 10 float fields per line"
printf '%-28s %14s %14s %10s\n' "" "Vigil" "InfluxDB 1.x" "ratio"
row() { # row LABEL KEY FILE_SUFFIX [invert]
    local v i
    v=$(result "$WORK/v_$3" "$2")
    if [ "$SKIP_INFLUX" = 1 ]; then i="-"; else i=$(result "$WORK/i_$3" "$2"); fi
    if [ "$SKIP_INFLUX" = 1 ]; then r="-"; else r=$(ratio "$v" "$i"); fi
    printf '%-28s %14s %14s %10s\n' "$1" "$v" "$i" "$r"
}
row "batch lines/s" lines_per_s batch
row "batch field values/s" fields_per_s batch
row "batch MB/s" mb_per_s batch
row "batch p50 ms" p50_ms batch
row "batch p99 ms" p99_ms batch
row "batch errors" errors batch
row "single-line p50 ms" p50_ms single
row "single-line p99 ms" p99_ms single
row "single-line writes/s" lines_per_s single
if [ "$SKIP_INFLUX" = 1 ]; then
    printf '%-28s %14s %14s %10s\n' "peak RSS MB (VmHWM)" "$V_RSS" "-" "-"
else
    printf '%-28s %14s %14s %10s\n' "peak RSS MB (VmHWM)" "$V_RSS" "$I_RSS" "$(ratio "$V_RSS" "$I_RSS")"
    printf '%-28s %14s %14s %10s\n' "data dir MB after run" "$V_WAL" "$I_DISK" "$(ratio "$V_WAL" "$I_DISK")"
fi
