#!/usr/bin/env bash
# bench/buffer/run.sh: builds the write-buffer append benchmark at -O2 from the base,
# catalog and buffer sources and runs it. Arguments go to the benchmark:
# [rows] [passes] (default 10,000,000 rows, 3 passes; needs about 1.1 GB of memory).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${BENCH_OUT:-build/bench}
mkdir -p "$out"
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -Isrc \
    bench/buffer/buffer_bench.c src/base/*.c src/catalog/*.c src/buffer/*.c \
    -o "$out/buffer_bench" -lxxhash -lpthread -lm
"$out/buffer_bench" "$@"
