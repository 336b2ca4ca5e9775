#!/usr/bin/env bash
# Checks every `#include "<module>/..."` under src/ against the dependency table of
# DESIGN.md: a module may include only its own files and the public headers
# (<module>/<module>.h) of the modules in its row. Exits 1 on any violation.
set -u
cd "$(dirname "$0")/.."

declare -A allowed=(
  [base]=""
  [lineproto]="base"
  [catalog]="base"
  [wal]="base"
  [buffer]="base catalog"
  [parquet]="base"
  [store]="base"
  [ingest]="base lineproto catalog wal buffer"
  [persist]="base catalog wal buffer parquet store"
  [query]="base catalog buffer parquet store persist"
  [auth]="base catalog"
  [engine]="base catalog ingest query"
  [http]="base ingest query persist auth engine catalog"
  [client]="base"
  [server]="base lineproto catalog wal buffer parquet store ingest persist query auth engine http"
  [cli]="base client server"
)

bad=0
for dir in src/*/; do
  mod=$(basename "$dir")
  if [ -z "${allowed[$mod]+x}" ]; then
    echo "check_deps: unknown module '$mod' (add it to DESIGN.md and this table)"; bad=1; continue
  fi
  while IFS=: read -r file line inc; do
    target=$(printf '%s' "$inc" | sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/p')
    [ -n "$target" ] || continue
    case "$target" in
      */*) tmod=${target%%/*}; thdr=${target#*/} ;;
      *) continue ;;   # a file of the same module, included by its bare name
    esac
    if [ "$tmod" = "$mod" ]; then continue; fi
    if [ "$thdr" != "$tmod.h" ]; then
      echo "check_deps: $file:$line includes $target, which is not $tmod's public header"; bad=1; continue
    fi
    case " ${allowed[$mod]} " in
      *" $tmod "*) ;;
      *) echo "check_deps: $file:$line: module '$mod' may not include '$tmod' (DESIGN.md dependency table)"; bad=1 ;;
    esac
  done < <(grep -n '#[[:space:]]*include[[:space:]]*"' "$dir"*.c "$dir"*.h 2>/dev/null)
done
if [ $bad -ne 0 ]; then echo "check_deps: 0 passed, 1 failed"; exit 1; fi
echo "check_deps: include rules hold for $(ls -d src/*/ | wc -l) modules"
