#!/usr/bin/env bash
# Load measurement of online token redemption (POST /v1/presentations/redeem) on loopback, on
# SQLite and on PostgreSQL: `eid load-prep-redeem` registers a verifier, activates the synthetic
# citizens and pre-makes TOKENS unique tokens with verifier signatures; wrk posts each once.
# Bounded: DURATION seconds per database. Prints one JSON object per database.
#
#   scripts/load-redeem.sh                 # 10 s per database, 32 connections, 40000 tokens
#   DURATION=5 CONNECTIONS=64 TOKENS=30000 scripts/load-redeem.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
TOKENS="${TOKENS:-40000}"
THREADS=2

if ! command -v wrk >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi
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

measure() { # $1 = name, $2 = database URL
  local name="$1" db="$2" url out rps p50 p99 non2xx token
  token="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  EID_ADMIN_TOKEN="$token" "$EID" serve --addr 127.0.0.1:0 --db "$db" --log warn \
    >"$work/$name.out" 2>"$work/$name.err" &
  server_pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$work/$name.out" 2>/dev/null && break; sleep 0.1; done
  url="$(sed -n 's/^listening on //p' "$work/$name.out" | head -1)"
  EID_ADMIN_TOKEN="$token" "$EID" load-prep-redeem --backend "$url" --lua "$work/$name.lua" \
    --tokens "$TOKENS" --threads "$THREADS" >"$work/$name.prep"
  out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/$name.lua" "$url")"
  rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  p50="$(ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")"
  p99="$(ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")"
  non2xx="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  printf '{"database":"%s","requests_per_s":%s,"p50_ms":%s,"p99_ms":%s,"non_2xx":%s,"tokens":%s,"seconds":%s,"connections":%s}\n' \
    "$name" "$rps" "$p50" "$p99" "${non2xx:-0}" "$TOKENS" "$DURATION" "$CONNECTIONS"
}

measure sqlite "sqlite://$work/load.db"
# Its own cluster directory: other runs on this machine may use the default one.
export PG_STATE_DIR="${PG_STATE_DIR:-${TMPDIR:-/tmp}/eid-postgres-redeem-$$}"
# shellcheck source=scripts/postgres-env.sh
. scripts/postgres-env.sh
pg_start >/dev/null
measure postgres "$EID_TEST_POSTGRES_URL"
