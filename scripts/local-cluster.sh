#!/usr/bin/env bash
# Runs the production topology on this machine, loopback only, from the Release build output:
# a throw-away PostgreSQL (migrated with `Loom.Silo migrate`), Redis with appendonly and a password,
# N silo processes and a gateway in redis mode with one API key.
#
#   scripts/local-cluster.sh start [SILOS]   # default 2; prints the gateway URL, the API key and the pids
#   scripts/local-cluster.sh stop            # SIGTERM everything it started, then removes its directory
#   scripts/local-cluster.sh add             # one more silo (scale out); prints its name
#   scripts/local-cluster.sh remove N        # SIGTERM silo-N and wait until it has handed its sessions over (scale in)
#   scripts/local-cluster.sh surge-gateway   # start a second gateway like the first; it becomes gateway.pid, the old one
#                                            # gateway-retiring.pid (move clients to the new URL it prints, then:)
#   scripts/local-cluster.sh retire-gateway  # SIGTERM the retiring gateway and wait until its requests have finished
#   scripts/local-cluster.sh status          # per process: pid, RSS, CPU seconds, active sessions (silos' /metrics)
#
# The silos narrate offline by default. LOOM_FAKE_LLM=1 points them at an OpenAI-compatible model on a reserved
# loopback port (written to $DIR/fake-llm-port) that the load runner serves when given --cluster-dir, so cluster
# runs at a latency L (e.g. e2e at L = 1.5 s) compare with embedded ones. LOOM_LLM_ENDPOINT=URL uses another
# OpenAI-compatible endpoint instead (with LOOM_LLM_MODEL and LOOM_LLM_API_KEY).
# LOOM_PG_STATEMENTS=1 loads pg_stat_statements into PostgreSQL (per-statement calls and server time, database loom).
#
# State lives in ${LOOM_CLUSTER_DIR:-/tmp/loom-local-cluster}, a directory owned by the user running this (mode 711; only
# its pg/ and sock/ belong to postgres), which the script refuses to use when anyone else owns it or may write to it.
# Needs root (PostgreSQL runs as user postgres), PostgreSQL binaries, redis-server, curl and python3; build first:
# dotnet build Loom.Orleans.sln -c Release
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${LOOM_CLUSTER_DIR:-/tmp/loom-local-cluster}
# LOOM_SILO_DLL: another silo build for the silos this call starts (e.g. `add` during a rolling upgrade to a new release).
SILO_DLL=${LOOM_SILO_DLL:-"$ROOT/Silo/bin/Release/net10.0/Loom.Silo.dll"}
GATEWAY_DLL="$ROOT/Gateway/bin/Release/net10.0/Loom.Gateway.dll"
PG_BIN=$( (ls -d /usr/lib/postgresql/*/bin 2>/dev/null || true) | sort -V | tail -n 1)

# What start needs, each missing piece named on one line.
require() {
  local missing=0
  [ "$(id -u)" = 0 ] || { echo "run as root (PostgreSQL is started as user postgres)" >&2; missing=1; }
  [ -n "$PG_BIN" ] || { echo "PostgreSQL binaries not found under /usr/lib/postgresql: apt-get install -y postgresql" >&2; missing=1; }
  for tool in redis-server curl python3; do
    command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install -y $tool" >&2; missing=1; }
  done
  [ "$missing" = 0 ] || exit 1
}

# The state directory is trusted (its env files are sourced, its pid files killed) only when it is ours and nobody
# else may write to it: a directory under /tmp could have been made, or filled, by another user.
trusted_dir() {
  [ -d "$DIR" ] && [ ! -L "$DIR" ] || return 1
  [ "$(stat -c %u "$DIR")" = "$(id -u)" ] || { echo "$DIR is not owned by $(id -un): refusing to use it" >&2; exit 1; }
  case "$(stat -c %A "$DIR")" in ?????w????|????????w?) echo "$DIR is writable by others: refusing to use it" >&2; exit 1 ;; esac
}

# A pid file's number, only when it is one (a pid file holding -1 would make kill signal every process).
pid_of() {
  local pid; pid=$(cat "$1" 2>/dev/null || true)
  [[ "$pid" =~ ^[1-9][0-9]*$ ]] && echo "$pid"
}

# A port nothing listens on now and that this script has not handed out before (the kernel may offer a released port
# again before the process it was meant for binds it).
free_port() {
  local port
  while :; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
    if ! grep -qx "$port" "$DIR/ports" 2>/dev/null; then echo "$port" >>"$DIR/ports"; echo "$port"; return; fi
  done
}

wait_for() { # what, deadline seconds, command...
  local what=$1 deadline=$(( $(date +%s) + $2 )); shift 2
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then echo "timed out waiting for $what" >&2; return 1; fi
    sleep 0.3
  done
}

start() {
  local silos=${1:-2}
  [ -f "$SILO_DLL" ] && [ -f "$GATEWAY_DLL" ] || { echo "build first: dotnet build Loom.Orleans.sln -c Release" >&2; exit 1; }
  require
  [ -e "$DIR" ] && { echo "$DIR exists: run '$0 stop' first" >&2; exit 1; }
  mkdir -m 711 "$DIR"
  mkdir -m 700 "$DIR/pg" "$DIR/sock" && chown postgres:postgres "$DIR/pg" "$DIR/sock"

  local pg_port redis_port gw_port cluster redis_pw key hash
  pg_port=$(free_port); redis_port=$(free_port); gw_port=$(free_port)
  cluster="local$(date +%s)"
  redis_pw=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')

  runuser -u postgres -- "$PG_BIN/initdb" -D "$DIR/pg" -U postgres -A trust -E UTF8 --no-locale >"$DIR/initdb.log"
  # LOOM_PG_STATEMENTS=1: PostgreSQL keeps per-statement figures (pg_stat_statements in database loom): what each
  # statement costs the server, beside what the silos see (loom_storage_transaction_duration_seconds).
  local pg_extra=()
  if [ "${LOOM_PG_STATEMENTS:-0}" = 1 ]; then pg_extra=(-c shared_preload_libraries=pg_stat_statements); fi
  runuser -u postgres -- "$PG_BIN/postgres" -D "$DIR/pg" -p "$pg_port" -k "$DIR/sock" -c listen_addresses=127.0.0.1 "${pg_extra[@]}" >"$DIR/postgres.log" 2>&1 &
  echo $! >"$DIR/postgres.pid"
  wait_for postgres 30 runuser -u postgres -- "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$pg_port"
  runuser -u postgres -- "$PG_BIN/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE loom" >/dev/null
  if [ "${LOOM_PG_STATEMENTS:-0}" = 1 ]; then
    runuser -u postgres -- "$PG_BIN/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d loom -qc "CREATE EXTENSION pg_stat_statements" >/dev/null
  fi

  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$DIR" --appendonly yes --save "" --requirepass "$redis_pw" >"$DIR/redis.log" 2>&1 &
  echo $! >"$DIR/redis.pid"
  wait_for redis 20 sh -c "redis-cli -p $redis_port -a '$redis_pw' --no-auth-warning ping | grep -q PONG"

  export Loom__Cluster__Mode=redis Loom__Cluster__ClusterId="$cluster" Loom__Cluster__ServiceId=loom
  export Loom__Cluster__RedisConnectionString="127.0.0.1:$redis_port,password=$redis_pw"
  # The cache tiers' second tier and invalidation channel: the same Redis, database 1 (LOOM_CACHE_REDIS=0: first tier only).
  if [ "${LOOM_CACHE_REDIS:-1}" = 1 ]; then export Loom__Cache__Redis="127.0.0.1:$redis_port,password=$redis_pw,defaultDatabase=1"; fi
  export Loom__Storage__Provider=postgres Loom__Storage__ConnectionString="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=loom"
  if [ "${LOOM_FAKE_LLM:-0}" = 1 ] && [ -z "${LOOM_LLM_ENDPOINT:-}" ]; then
    local llm_port; llm_port=$(free_port); echo "$llm_port" >"$DIR/fake-llm-port"
    LOOM_LLM_ENDPOINT="http://127.0.0.1:$llm_port/v1"
  fi
  if [ -n "${LOOM_LLM_ENDPOINT:-}" ]; then
    # The same limits the load runner gives an embedded gateway: the model, not the client, bounds concurrency.
    export Loom__Llm__Provider=openai Loom__Llm__Endpoint="$LOOM_LLM_ENDPOINT" Loom__Llm__Model="${LOOM_LLM_MODEL:-fake-model}" \
      Loom__Llm__ApiKey="${LOOM_LLM_API_KEY:-fake}" Loom__Llm__Resilience__MaxConcurrency=2000 Loom__Llm__Resilience__QueueLimit=4000
  else
    export Loom__Llm__Provider=offline Loom__Llm__Offline__ChunkDelayMs=${LOOM_CHUNK_DELAY_MS:-0}
  fi
  export Logging__LogLevel__Default=Warning

  (cd "$(dirname "$SILO_DLL")" && dotnet "$SILO_DLL" migrate) >"$DIR/migrate.log" 2>&1 || { cat "$DIR/migrate.log" >&2; exit 1; }
  # What `add` needs to start more silos like these (it holds the Redis password: owner-only).
  (umask 077; env | grep -E '^(Loom__|Logging__)' | sed "s/'/'\\\\''/g; s/=\(.*\)/='\1'/; s/^/export /" >"$DIR/silo.env")

  for i in $(seq 0 $((silos - 1))); do start_silo "$i"; done

  key=$(cd "$(dirname "$GATEWAY_DLL")" && dotnet "$GATEWAY_DLL" keys add --owner local | grep -o 'loom_[A-Za-z0-9_-]*')
  hash=$(printf '%s\n' "$key" | (cd "$(dirname "$GATEWAY_DLL")" && dotnet "$GATEWAY_DLL" keys hash))
  (umask 077; echo "export Loom__Auth__Keys__0__Owner=local Loom__Auth__Keys__0__Sha256='$hash'" >"$DIR/gateway.env")
  start_gateway "$gw_port" gateway.pid gateway.log
  echo "$key" >"$DIR/api-key"; chmod 600 "$DIR/api-key"
  echo "gateway: http://127.0.0.1:$gw_port (pid $(cat "$DIR/gateway.pid")); API key in $DIR/api-key"
}

start_gateway() { # port, pid file, log file (the environment: silo.env and gateway.env, exported)
  local port=$1
  # shellcheck disable=SC1091
  (. "$DIR/gateway.env" && cd "$(dirname "$GATEWAY_DLL")" && exec dotnet "$GATEWAY_DLL" --urls "http://127.0.0.1:$port") >"$DIR/$3" 2>&1 &
  echo $! >"$DIR/$2"
  wait_for "the gateway on port $port to be ready" 120 curl -fs "http://127.0.0.1:$port/readyz"
}

start_silo() { # index
  local i=$1 http_port; http_port=$(free_port)
  (cd "$(dirname "$SILO_DLL")" && Loom__Cluster__SiloPort=$(free_port) Loom__Cluster__GatewayPort=$(free_port) \
    Loom__Cluster__AdvertisedAddress=127.0.0.1 Loom__Cluster__SiloName="silo-$i" \
    exec dotnet "$SILO_DLL" --urls "http://127.0.0.1:$http_port") >"$DIR/silo-$i.log" 2>&1 &
  echo $! >"$DIR/silo-$i.pid"
  echo "http://127.0.0.1:$http_port" >"$DIR/silo-$i.url"
  echo "silo-$i: pid $(cat "$DIR/silo-$i.pid"), health http://127.0.0.1:$http_port/readyz"
}

add() {
  [ -f "$DIR/silo.env" ] || { echo "no cluster in $DIR: run '$0 start' first" >&2; exit 1; }
  # shellcheck disable=SC1091
  trusted_dir || { echo "no cluster in $DIR: run '$0 start' first" >&2; exit 1; }
  . "$DIR/silo.env"
  local i=0
  while [ -e "$DIR/silo-$i.pid" ]; do i=$((i + 1)); done
  start_silo "$i"
  wait_for "silo-$i to be ready" 120 curl -fs "$(cat "$DIR/silo-$i.url")/readyz"
}

remove() { # index
  local f="$DIR/silo-$1.pid"
  trusted_dir && [ -f "$f" ] || { echo "no silo-$1 in $DIR" >&2; exit 1; }
  local pid started; pid=$(pid_of "$f") || { echo "$f holds no pid" >&2; exit 1; }; started=$(date +%s.%N)
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  mv "$f" "$DIR/silo-$1.removed"
  echo "silo-$1: stopped after $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s"
}

surge_gateway() {
  trusted_dir && [ -f "$DIR/gateway.env" ] || { echo "no cluster in $DIR: run '$0 start' first" >&2; exit 1; }
  [ -e "$DIR/gateway-retiring.pid" ] && { echo "a gateway is still retiring: run '$0 retire-gateway' first" >&2; exit 1; }
  # shellcheck disable=SC1091
  . "$DIR/silo.env"
  local n=1 port; while [ -e "$DIR/gateway-$n.log" ]; do n=$((n + 1)); done
  port=$(free_port)
  start_gateway "$port" gateway-next.pid "gateway-$n.log"
  mv "$DIR/gateway.pid" "$DIR/gateway-retiring.pid"
  mv "$DIR/gateway-next.pid" "$DIR/gateway.pid"
  echo "gateway: http://127.0.0.1:$port (pid $(cat "$DIR/gateway.pid")); retiring: pid $(cat "$DIR/gateway-retiring.pid")"
}

retire_gateway() {
  local f="$DIR/gateway-retiring.pid"
  trusted_dir && [ -f "$f" ] || { echo "no gateway is retiring in $DIR" >&2; exit 1; }
  local pid started; pid=$(pid_of "$f") || { echo "$f holds no pid" >&2; exit 1; }; started=$(date +%s.%N)
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  rm -f "$f"
  echo "gateway pid $pid: stopped after $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s"
}

status() {
  printf '%-10s %8s %8s %8s %8s\n' process pid rss_mb cpu_s sessions
  trusted_dir || return 0
  for f in "$DIR"/gateway.pid "$DIR"/gateway-retiring.pid "$DIR"/silo-*.pid; do
    [ -f "$f" ] || continue
    local name pid rss cpu active=-
    name=$(basename "$f" .pid); pid=$(pid_of "$f") || continue
    kill -0 "$pid" 2>/dev/null || { printf '%-10s %8s %8s\n' "$name" "$pid" gone; continue; }
    rss=$(awk '/VmRSS/ {printf "%d", $2 / 1024}' "/proc/$pid/status")
    cpu=$(awk -v t="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / t}' "/proc/$pid/stat")
    if [ -f "$DIR/$name.url" ]; then
      active=$(curl -fs "$(cat "$DIR/$name.url")/metrics" | awk '/^loom_sessions_active[{ ]/ {s += $NF} END {print s + 0}' || echo "?")
    fi
    printf '%-10s %8s %8s %8s %8s\n' "$name" "$pid" "$rss" "$cpu" "$active"
  done
}

stop() {
  trusted_dir || return 0
  for f in "$DIR"/gateway.pid "$DIR"/gateway-retiring.pid "$DIR"/gateway-next.pid "$DIR"/silo-*.pid "$DIR"/redis.pid "$DIR"/postgres.pid; do
    [ -f "$f" ] || continue
    local pid; pid=$(pid_of "$f") || continue
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$DIR"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  add) add ;;
  remove) shift; remove "${1:?usage: $0 remove N}" ;;
  surge-gateway) surge_gateway ;;
  retire-gateway) retire_gateway ;;
  status) status ;;
  *) echo "usage: $0 start [SILOS] | add | remove N | surge-gateway | retire-gateway | status | stop" >&2; exit 2 ;;
esac
