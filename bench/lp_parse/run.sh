#!/usr/bin/env bash
# bench/lp_parse/run.sh: builds the line-protocol parser benchmark at -O2 from the
# base and lineproto sources and runs it from the repository root (so the C-MAPSS
# file is found at tests/data/cmapss/train_FD001.txt). Extra arguments go to the
# benchmark: [cmapss-file] [body-bytes] [passes].
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${BENCH_OUT:-build/bench}
mkdir -p "$out"
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -Isrc \
    bench/lp_parse/lp_parse_bench.c src/base/*.c src/lineproto/*.c \
    -o "$out/lp_parse_bench" -lxxhash -lm
"$out/lp_parse_bench" "$@"
