#!/usr/bin/env bash
# Load measurement of the reference backend on loopback, on SQLite and on PostgreSQL:
# - activations/s: POPULATION synthetic citizens (the backend is seeded with as many, see
#   `eid serve --population`), CONCURRENCY activations in flight, with p50/p99 per activation;
# - device-signed sync requests/s (GET /v1/documents) with p50/p99 from wrk, once with full
#   pages and once with If-None-Match (304), as phones send after their first sync.
# Bounded: DURATION seconds per wrk run. Prints one JSON object per database.
#
#   scripts/load.sh            # 10 s per run, 32 connections, 400 citizens, 8 in flight
#   DURATION=30 CONNECTIONS=64 POPULATION=1000 CONCURRENCY=16 scripts/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
POPULATION="${POPULATION:-400}"
CONCURRENCY="${CONCURRENCY:-8}"

if ! command -v wrk >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi
# The server profile: opt-level 3 without fat LTO (the release profile is tuned for size, for
# the mobile library; see docs/adr/0010).
cargo build --profile server -q -p eid-cli
EID="$PWD/target/server/eid"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  if declare -F pg_stop >/dev/null; then pg_stop >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

ms() { # wrk latency like 1.23ms / 456.00us / 1.2s -> milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}

wrk_json() { # $1 = url, $2 = lua, $3 = EID_IF_NONE_MATCH value -> {"requests_per_s":...}
  local out rps p50 p99 non2xx
  out="$(EID_IF_NONE_MATCH="$3" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$2" "$1")"
  rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  p50="$(ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")"
  p99="$(ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")"
  non2xx="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
  printf '{"requests_per_s":%s,"p50_ms":%s,"p99_ms":%s,"non_2xx_or_3xx":%s}' \
    "$rps" "$p50" "$p99" "${non2xx:-0}"
}

measure() { # $1 = name, $2 = database URL
  local name="$1" db="$2" url prep full cond
  "$EID" serve --addr 127.0.0.1:0 --db "$db" --population "$POPULATION" --log warn \
    >"$work/$name.out" 2>"$work/$name.err" &
  server_pid=$!
  # Seeding a larger population signs its records first: allow a minute.
  for _ in $(seq 600); do grep -q "listening on" "$work/$name.out" 2>/dev/null && break; sleep 0.1; done
  url="$(sed -n 's/^listening on //p' "$work/$name.out" | head -1)"
  prep="$("$EID" load-prep --backend "$url" --lua "$work/$name.lua" \
    --population "$POPULATION" --concurrency "$CONCURRENCY")"
  full="$(wrk_json "$url" "$work/$name.lua" 0)"
  cond="$(wrk_json "$url" "$work/$name.lua" 1)"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  printf '{"database":"%s","activation":%s,"sync_full_pages":%s,"sync_304":%s,"seconds":%s,"connections":%s}\n' \
    "$name" "$(tr -d '\n' <<<"$prep")" "$full" "$cond" "$DURATION" "$CONNECTIONS"
}

measure sqlite "sqlite://$work/load.db"
# shellcheck source=scripts/postgres-env.sh
. scripts/postgres-env.sh
pg_start >/dev/null
measure postgres "$EID_TEST_POSTGRES_URL"
