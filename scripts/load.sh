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

# shellcheck source=scripts/load-common.sh
. scripts/load-common.sh

measure() { # $1 = name, $2 = database URL, $3 = its durability settings (JSON)
  local name="$1" db="$2" settings="$3" prep full cond
  # One loopback client activates the whole population: no activation throttles (ADR 0019).
  serve "$name" "$db" --population "$POPULATION" --client-rate 0 --global-rate 0
  prep="$("$EID" load-prep --backend "$url" --lua "$work/$name.lua" \
    --population "$POPULATION" --concurrency "$CONCURRENCY")"
  full="{$(EID_IF_NONE_MATCH=0 wrk_json "$url" "$work/$name.lua")}"
  cond="{$(EID_IF_NONE_MATCH=1 wrk_json "$url" "$work/$name.lua")}"
  stop_server
  printf '{"database":"%s","activation":%s,"sync_full_pages":%s,"sync_304":%s,"seconds":%s,"connections":%s,"settings":%s}\n' \
    "$name" "$(tr -d '\n' <<<"$prep")" "$full" "$cond" "$DURATION" "$CONNECTIONS" "$settings"
}

# sqlx opens SQLite with synchronous=FULL; the backend sets WAL.
measure sqlite "sqlite://$work/load.db" '{"journal_mode":"wal","synchronous":"full"}'
# A cluster of this run's own, always: pg_start reuses a running cluster in PG_STATE_DIR (the
# default one may be another user's test cluster, fast and not durable) and the exit deletes it.
export PG_STATE_DIR="${TMPDIR:-/tmp}/eid-postgres-load-$$"
# shellcheck source=scripts/postgres-env.sh
. scripts/postgres-env.sh
# Durable, as deployed (not the test suite's fast throwaway settings): see postgres-env.sh.
export PG_DURABLE=1
pg_start >/dev/null
measure postgres "$EID_TEST_POSTGRES_URL" "$(pg_settings_json)"
