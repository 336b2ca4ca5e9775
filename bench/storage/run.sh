#!/usr/bin/env bash
# bench/storage/run.sh: the storage-footprint benchmark of issue 4. For two data sets,
# C-MAPSS FD001 (tests/data/cmapss/train_FD001.txt, 20,631 rows x 25 fields) and the IoT
# fleet of bench/query (gen_load.c, 10 float fields a row), measures the bytes on disk
# per field value of
#   - Vigil: its Parquet files after POST /api/v3/persist and POST /api/v3/compact,
#   - Debian's InfluxDB 1.x: its data directory (TSM files, series file) after a full
#     compaction (compact-full-write-cold-duration = 1s, waited for),
#   - DuckDB (@duckdb/node-api): COPY t TO 'x.parquet' (FORMAT parquet, COMPRESSION zstd)
#     of the same rows, plus three variants (sorted like Vigil, PARQUET_VERSION V2),
# checks that every system holds exactly the rows loaded, and prints one table per data
# set with the Vigil/peer ratios and whether the target (smaller than both) is met.
# Each server runs on a free 127.0.0.1 port with a temporary directory and is stopped
# when its data set is done (and on any exit); the temporary directory is removed.
#
#   bench/storage/run.sh               # fleet: 10 million rows (scale 1), ~4-5 min
#   bench/storage/run.sh --scale 0.1   # fleet: 1 million rows, ~1 min
#
# Knobs (environment): DATASETS ("cmapss fleet"), SKIP_INFLUX=1, INFLUX_COMPACT_TIMEOUT
# (900 s), CONNS (2 load connections), VIGIL (a vigil binary to use instead of building
# build/vigil), VIGIL_ARGS (extra `vigil serve` flags, e.g. "--parquet-row-group-rows
# 131072" to try a writer setting), KEEP=1 (keep the temporary directory).
# Exit status: 0 when every correctness check passed (row counts, DuckDB's spot checks
# against Vigil's), whether or not the target was met; non-zero otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."

SCALE=1
while [ $# -gt 0 ]; do
    case "$1" in
    --scale) SCALE=$2; shift 2 ;;
    *) echo "usage: bench/storage/run.sh [--scale S]" >&2; exit 2 ;;
    esac
done
DEVICES=1000
FLEET_ROWS=$(awk -v s="$SCALE" -v d=$DEVICES 'BEGIN { n = int(s * 10000000 / d) * d; if (n < d) n = d; print n }')
DATASETS=${DATASETS:-cmapss fleet}
SKIP_INFLUX=${SKIP_INFLUX:-0}
INFLUX_COMPACT_TIMEOUT=${INFLUX_COMPACT_TIMEOUT:-900}
CONNS=${CONNS:-2}
CMAPSS=tests/data/cmapss/train_FD001.txt
BASE_NS=1767225600000000000 # 2026-01-01T00:00:00Z, for both data sets
PY=/usr/bin/python3
HELPER=bench/storage/storage.py

log() { printf '== %s\n' "$*" >&2; }

if [ -z "${VIGIL:-}" ]; then
    make --no-print-directory build/vigil >&2
    VIGIL=build/vigil
fi
if ! cmp -s tests/differential/package-lock.json tests/differential/node_modules/.vigil-lock; then
    tools/install-deps.sh test >&2
fi
if [ "$SKIP_INFLUX" != 1 ] && ! command -v influxd >/dev/null; then
    tools/install-deps.sh bench >&2
fi

WORK=$(mktemp -d /tmp/vigil-storage.XXXXXX)
VPID=""
IPID=""
stop() { # stop PID: TERM, then KILL after 30 s
    local pid=$1
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        timeout 30 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}
cleanup() {
    stop "$VPID"
    stop "$IPID"
    if [ "${KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# the fleet loader, built here rather than in build/bench where other benchmarks
# running at the same time rebuild theirs
cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread bench/query/gen_load.c \
    -o "$WORK/gen_load"

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_http() { # wait_http URL STATUS: polls for up to 15 s
    local i
    for i in $(seq 300); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" = "$2" ] && return 0
        sleep 0.05
    done
    echo "run.sh: $1 did not answer $2" >&2
    return 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
put() { echo "$1=$2" >>"$WORK/results"; } # put KEY VALUE
sum_sizes() { # sum_sizes DIR [find args]: apparent bytes of the matching files
    local dir=$1; shift
    find "$dir" -type f "$@" -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'
}
# load_lp DS PORT PATH: writes data set DS through a line-protocol endpoint
load_lp() {
    if [ "$1" = fleet ]; then
        timeout 1800 "$WORK/gen_load" --port "$2" --path "$3" --rows "$FLEET_ROWS" \
            --devices $DEVICES --connections "$CONNS" >"$WORK/load.out"
    else
        timeout 300 $PY $HELPER post --port "$2" --path "$3" --file "$WORK/cmapss.lp" >"$WORK/load.out"
    fi
}

: >"$WORK/results"
if [ "$SKIP_INFLUX" != 1 ]; then
    put influx_version "$(influxd version 2>/dev/null | sed -n 's/^InfluxDB v\([^ ]*\).*/\1/p')"
fi

for DS in $DATASETS; do
    case "$DS" in
    cmapss)
        ROWS=$($PY $HELPER cmapss-lp --input "$CMAPSS" --base-ns $BASE_NS --out "$WORK/cmapss.lp" \
            --csv "$WORK/cmapss.csv")
        ;;
    fleet) ROWS=$FLEET_ROWS ;;
    *) echo "run.sh: unknown data set $DS (cmapss, fleet)" >&2; exit 2 ;;
    esac
    put "$DS.rows" "$ROWS"

    # ---- Vigil ----
    VPORT=$(free_port)
    VD="$WORK/vigil-$DS"
    NODE="$VD/bench"
    log "$DS: vigil on 127.0.0.1:$VPORT, $ROWS rows"
    "$VIGIL" serve --node-id bench --data-dir "$VD" --http-bind "127.0.0.1:$VPORT" --without-auth \
        --compaction-interval 0 --max-http-request-size 67108864 ${VIGIL_ARGS:-} \
        >"$WORK/vigil-$DS.log" 2>&1 &
    VPID=$!
    wait_http "http://127.0.0.1:$VPORT/health" 200
    T=$(now)
    load_lp "$DS" "$VPORT" "/api/v3/write_lp?db=$DS&precision=ns"
    put "$DS.vigil.load_s" "$(since "$T")"
    T=$(now)
    timeout 1800 curl -sf -X POST "http://127.0.0.1:$VPORT/api/v3/persist" >"$WORK/persist.json"
    put "$DS.vigil.persist_s" "$(since "$T")"
    log "$DS: vigil persist $(cat "$WORK/persist.json")"
    T=$(now)
    timeout 1800 curl -sf -X POST "http://127.0.0.1:$VPORT/api/v3/compact" >"$WORK/compact.json"
    put "$DS.vigil.compact_s" "$(since "$T")"
    log "$DS: vigil compact $(cat "$WORK/compact.json")"
    timeout 600 $PY $HELPER vigil-check --port "$VPORT" --db "$DS" --dataset "$DS" \
        --out "$WORK/$DS.vigil.json" >&2
    # compaction's inputs are deleted once no query holds them: wait until the files on
    # disk are the ones the catalog lists (at most 10 s)
    CAT_BYTES=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["catalog_bytes"])' "$WORK/$DS.vigil.json")
    for _ in $(seq 100); do
        [ "$(sum_sizes "$NODE/dbs" -name '*.parquet')" = "$CAT_BYTES" ] && break
        sleep 0.1
    done
    put "$DS.vigil.parquet_bytes" "$(sum_sizes "$NODE/dbs" -name '*.parquet')"
    put "$DS.vigil.files" "$(find "$NODE/dbs" -name '*.parquet' | wc -l)"
    put "$DS.vigil.node_bytes" "$(sum_sizes "$NODE")"
    put "$DS.vigil.wal_bytes" "$(sum_sizes "$NODE/wal")"
    put "$DS.vigil.catalog_dir_bytes" "$(sum_sizes "$NODE/catalog")"
    $PY -c 'import json,sys
d = json.load(open(sys.argv[1]))
for k in ("count", "catalog_rows", "catalog_bytes"):
    print("%s.vigil.%s=%s" % (sys.argv[2], k, d["n" if k == "count" else k]))' \
        "$WORK/$DS.vigil.json" "$DS" >>"$WORK/results"
    find "$NODE/dbs" -name '*.parquet' | sort >"$WORK/$DS.vigil.files"
    # DuckDB reads Vigil's files for the per-column breakdown: copy them out of the way
    # before Vigil stops (a clean stop may not rewrite them, but keep it simple)
    mkdir -p "$WORK/$DS.vigil-files"
    i=0
    while read -r f; do cp "$f" "$WORK/$DS.vigil-files/$i.parquet"; i=$((i + 1)); done <"$WORK/$DS.vigil.files"
    stop "$VPID"
    VPID=""
    rm -rf "$VD"

    # ---- InfluxDB 1.x ----
    if [ "$SKIP_INFLUX" != 1 ]; then
        IPORT=$(free_port)
        RPORT=$(free_port)
        ID="$WORK/influx-$DS"
        mkdir -p "$ID"
        cat >"$ID/influxdb.conf" <<EOF
reporting-enabled = false
bind-address = "127.0.0.1:$RPORT"
[meta]
  dir = "$ID/meta"
[data]
  dir = "$ID/data"
  wal-dir = "$ID/wal"
  query-log-enabled = false
  cache-max-memory-size = 0
  cache-snapshot-write-cold-duration = "1s"
  compact-full-write-cold-duration = "1s"
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
        log "$DS: influxd on 127.0.0.1:$IPORT"
        influxd run -config "$ID/influxdb.conf" >"$WORK/influxd-$DS.log" 2>&1 &
        IPID=$!
        wait_http "http://127.0.0.1:$IPORT/ping" 204
        curl -sf -o /dev/null -XPOST "http://127.0.0.1:$IPORT/query" --data-urlencode "q=CREATE DATABASE $DS"
        T=$(now)
        load_lp "$DS" "$IPORT" "/write?db=$DS&precision=ns"
        put "$DS.influx.load_s" "$(since "$T")"
        log "$DS: influxd loaded in $(since "$T") s; waiting for a full compaction (at most ${INFLUX_COMPACT_TIMEOUT} s)"
        W=$(timeout $((INFLUX_COMPACT_TIMEOUT + 60)) $PY $HELPER influx-wait --port "$IPORT" --db "$DS" \
            --data "$ID/data" --wal "$ID/wal" --timeout "$INFLUX_COMPACT_TIMEOUT" --stable 5)
        put "$DS.influx.converged" "$(sed -n 's/.*converged=\([01]\).*/\1/p' <<<"$W")"
        put "$DS.influx.wait_s" "$(sed -n 's/.*wait_s=\([^ ]*\).*/\1/p' <<<"$W")"
        put "$DS.influx.count" "$(timeout 600 $PY $HELPER influx-count --port "$IPORT" --db "$DS" --dataset "$DS")"
        # on-disk (allocated) bytes: the series file's segments are sparse 4 MB files
        put "$DS.influx.data_bytes" "$(du -s -B1 "$ID/data" | cut -f1)"
        put "$DS.influx.data_apparent" "$(du -sb "$ID/data" | cut -f1)"
        put "$DS.influx.tsm_bytes" "$(sum_sizes "$ID/data" -name '*.tsm')"
        put "$DS.influx.tsm_files" "$(find "$ID/data" -name '*.tsm' | wc -l)"
        put "$DS.influx.wal_bytes" "$(du -s -B1 "$ID/wal" | cut -f1)"
        stop "$IPID"
        IPID=""
        rm -rf "$ID"
    fi

    # ---- DuckDB ----
    log "$DS: duckdb"
    if [ "$DS" = fleet ]; then
        DARGS=(--rows "$ROWS" --devices $DEVICES --start-ns $BASE_NS)
    else
        DARGS=(--csv "$WORK/cmapss.csv" --base-ns $BASE_NS)
    fi
    timeout 1800 $PY $HELPER duck --dataset "$DS" "${DARGS[@]}" --dir "$WORK/duck" \
        --vigil-files "$WORK/$DS.vigil-files"/*.parquet --vigil-check "$WORK/$DS.vigil.json" \
        --out "$WORK/$DS.duck.json" >&2
    rm -rf "$WORK/$DS.vigil-files"
done

echo
echo "Storage benchmark, $(date -u +%Y-%m-%d), $(nproc) vCPU; bytes per field value on disk" \
     "(fleet scale $SCALE)${VIGIL_ARGS:+; vigil serve $VIGIL_ARGS}"
RC=0
$PY $HELPER report --results "$WORK/results" --columns-dir "$WORK" || RC=$?
exit $RC
