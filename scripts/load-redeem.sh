#!/usr/bin/env bash
# Load measurement of online token redemption (POST /v1/presentations/redeem) on loopback, on
# SQLite and on PostgreSQL: `eid load-prep-redeem` registers a verifier, activates the synthetic
# citizens and pre-makes TOKENS unique tokens with verifier signatures; wrk posts each once.
# Bounded: DURATION seconds per database. Prints one JSON object per database.
#
#   scripts/load-redeem.sh                 # 10 s per database, 32 connections, 60000 tokens
#   DURATION=5 CONNECTIONS=64 TOKENS=30000 scripts/load-redeem.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
TOKENS="${TOKENS:-60000}"

# shellcheck source=scripts/load-common.sh
. scripts/load-common.sh

measure() { # $1 = name, $2 = database URL, $3 = its durability settings (JSON)
  local name="$1" db="$2" settings="$3" token stats
  token="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  # One loopback client activates the whole population: no activation throttles (ADR 0019).
  EID_ADMIN_TOKEN="$token" serve "$name" "$db" --client-rate 0 --global-rate 0
  EID_ADMIN_TOKEN="$token" "$EID" load-prep-redeem --backend "$url" --lua "$work/$name.lua" \
    --tokens "$TOKENS" --threads 2 >"$work/$name.prep"
  stats="$(wrk_json "$url" "$work/$name.lua")"
  stop_server
  grep -q '"non_2xx_or_3xx":0' <<<"$stats" ||
    echo "load-redeem: refused requests: tokens ran out (raise TOKENS) or the backend failed" >&2
  printf '{"database":"%s",%s,"tokens":%s,"seconds":%s,"connections":%s,"settings":%s}\n' \
    "$name" "$stats" "$TOKENS" "$DURATION" "$CONNECTIONS" "$settings"
}

# sqlx opens SQLite with synchronous=FULL; the backend sets WAL.
measure sqlite "sqlite://$work/load.db" '{"journal_mode":"wal","synchronous":"full"}'
# Its own cluster directory: other runs on this machine may use the default one.
# A cluster of this run's own, always (not an inherited PG_STATE_DIR: pg_start would reuse that
# cluster, whatever its settings, and the exit would delete it).
export PG_STATE_DIR="${TMPDIR:-/tmp}/eid-postgres-redeem-$$"
# shellcheck source=scripts/postgres-env.sh
. scripts/postgres-env.sh
# Durable, as deployed (not the test suite's fast throwaway settings): see postgres-env.sh.
export PG_DURABLE=1
pg_start >/dev/null
measure postgres "$EID_TEST_POSTGRES_URL" "$(pg_settings_json)"
