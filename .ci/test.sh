#!/usr/bin/env bash
# Runs every LOOM test on this machine, installing what a fresh Debian machine lacks first.
# Prints a final plain line "N passed, N failed" and exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/.ci/out"
rm -rf "$OUT" && mkdir -p "$OUT"

log() { printf '\n== %s\n' "$*"; }

# ---- 1. machine prerequisites (idempotent; apt only when something is missing)
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v ss >/dev/null 2>&1 || need+=(iproute2)         # TransportTests read the gateway's listen backlog with ss
command -v chromium >/dev/null 2>&1 || need+=(chromium)   # browser tests drive it through Playwright
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then need+=(postgresql); fi
if [ ${#need[@]} -gt 0 ]; then
  log "installing: ${need[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The Debian packages start system services we do not use; tests start their own servers.
  for svc in redis-server prometheus postgresql; do $SUDO systemctl stop "$svc" >/dev/null 2>&1 || service "$svc" stop >/dev/null 2>&1 || true; done
fi
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$PG_BIN" ] && export PATH="$PATH:$PG_BIN"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# ---- 2. build everything once
log "build"
if ! dotnet build Loom.Orleans.sln -c Release -nologo -v q 2>&1 | tee "$OUT/build.log" | grep -E "error|Build succeeded" ; then :; fi
if ! grep -q "Build succeeded" "$OUT/build.log"; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# ---- 3. tests
log "tests"
dotnet test Loom.Orleans.sln -c Release --no-build -nologo \
  --logger "trx;LogFilePrefix=loom" --results-directory "$OUT" \
  --blame-hang-timeout 15m 2>&1 | tee "$OUT/test.log"
status=${PIPESTATUS[0]}

# ---- 4. the plain summary CI reads
passed=0; failed=0; found=0
for trx in "$OUT"/*.trx; do
  [ -e "$trx" ] || continue
  found=1
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0}))
done
if [ "$found" = 0 ] || { [ "$status" != 0 ] && [ "$failed" = 0 ]; }; then
  # The runner crashed or produced no results: count that as a failure, never as a pass.
  failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
