#!/usr/bin/env bash
# bench/engine/run.sh: the processing engine's benchmark (README.md here): ingest with
# and without an all_tables trigger, write-to-trigger latency, and a scheduled call
# querying 1M rows. Builds build/vigil and the load client, then runs driver.py, which
# starts and stops its own server on a free loopback port with a temporary directory.
#
# Knobs (environment): ROUNDS (3), DURATION (5 s per round), CONNS (2), LINES (5000
# lines/request), LAT_WRITES (300), BIG_ROWS (1000000).
set -euo pipefail
cd "$(dirname "$0")/../.."
make --no-print-directory build/vigil >&2
mkdir -p build/bench
cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread bench/ingest/load.c \
    -o build/bench/load
exec /usr/bin/python3 bench/engine/driver.py
