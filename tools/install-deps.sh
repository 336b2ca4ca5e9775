#!/usr/bin/env bash
# Installs the Debian packages Vigil needs, only those missing, so it is idempotent.
#   install-deps.sh run   - to build and run the server
#   install-deps.sh test  - also what the tests need
#   install-deps.sh bench - also the peers the benchmarks compare against
set -eu
mode=${1:-run}
pkgs="build-essential pkg-config libmicrohttpd-dev libjansson-dev zlib1g-dev libxxhash-dev"
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
[ -z "$missing" ] && exit 0
echo "install-deps: installing$missing"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
