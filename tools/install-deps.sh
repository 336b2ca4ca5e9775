#!/usr/bin/env bash
# Installs the Debian packages Vigil needs, only those missing, so it is idempotent.
#   install-deps.sh run   - to build and run the server
#   install-deps.sh test  - also what the tests need
#   install-deps.sh bench - also the peers the benchmarks compare against
set -eu
mode=${1:-run}
pkgs="build-essential pkg-config libmicrohttpd-dev libjansson-dev zlib1g-dev libxxhash-dev"
# Parquet page compression (src/parquet): zstd, snappy (its C API), lz4.
pkgs="$pkgs libzstd-dev libsnappy-dev liblz4-dev"
# The processing engine (src/engine) embeds CPython; plugins may use these libraries.
pkgs="$pkgs python3-dev python3-numpy python3-pandas python3-sklearn python3-statsmodels"
if [ "$mode" = test ] || [ "$mode" = bench ]; then
  pkgs="$pkgs python3 python3-pytest clang-14 libclang-rt-14-dev"
fi
if [ "$mode" = bench ]; then
  pkgs="$pkgs influxdb influxdb-client wrk hyperfine"
fi
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Node.js and npm, for DuckDB (@duckdb/node-api) in tests/differential and bench/query.
# Checked by command rather than by package: a nodejs build that bundles npm conflicts
# with Debian's separate npm package.
if [ "$mode" = test ] || [ "$mode" = bench ]; then
  { command -v node && command -v npm; } >/dev/null 2>&1 || missing="$missing nodejs npm"
fi
if [ -n "$missing" ]; then
  echo "install-deps: installing$missing"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
# The npm packages pinned in tests/differential/package-lock.json, installed with
# `npm ci` only when node_modules is missing or was installed from another lock file
# (a copy of the lock file it came from is kept inside node_modules as the stamp).
if [ "$mode" = test ] || [ "$mode" = bench ]; then
  diff_dir="$(dirname "$0")/../tests/differential"
  if ! cmp -s "$diff_dir/package-lock.json" "$diff_dir/node_modules/.vigil-lock"; then
    echo "install-deps: npm ci --prefix tests/differential"
    npm ci --prefix "$diff_dir" --no-audit --no-fund --loglevel=error
    cp "$diff_dir/package-lock.json" "$diff_dir/node_modules/.vigil-lock"
  fi
fi
# The same for tests/interop (DuckDB and hyparquet read our Parquet files), pinned in
# tests/interop/package-lock.json.
if [ "$mode" = test ] || [ "$mode" = bench ]; then
  interop_dir="$(dirname "$0")/../tests/interop"
  if ! cmp -s "$interop_dir/package-lock.json" "$interop_dir/node_modules/.vigil-lock"; then
    echo "install-deps: npm ci --prefix tests/interop"
    npm ci --prefix "$interop_dir" --no-audit --no-fund --loglevel=error
    cp "$interop_dir/package-lock.json" "$interop_dir/node_modules/.vigil-lock"
  fi
fi
