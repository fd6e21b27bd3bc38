#!/usr/bin/env bash
# Activations on PostgreSQL as deployed (fsync, synchronous_commit, full_page_writes on), issue 17:
# `eid serve --population N` and `eid load-activate` on loopback, the chips read before the clock
# (the client's chip simulation is not on the measured cores; its active-authentication answer to
# each activation's challenge is). Prints one JSON object: the rate and p50/p99, the backend's and
# the client's CPU per activation, and from PostgreSQL per activation: commits, WAL fsyncs
# (pg_stat_wal.wal_sync), WAL bytes, and the mean number of client backends waiting on a lock,
# an LWLock or IO, sampled every 100 ms — what bounds the rate.
#
#   scripts/load-activation.sh                       # 200 citizens, 8 in flight
#   POPULATION=400 CONCURRENCY=16 scripts/load-activation.sh
#   THROTTLE=1 scripts/load-activation.sh            # the shared throttles on (docs/adr/0052), at
#                                                    # rates that never refuse: what they cost
set -euo pipefail
cd "$(dirname "$0")/.."
POPULATION="${POPULATION:-200}"
CONCURRENCY="${CONCURRENCY:-8}"
# load-common.sh's wrk runner is not used here.
DURATION=0
CONNECTIONS=0
export DURATION CONNECTIONS

# shellcheck source=scripts/load-common.sh
. scripts/load-common.sh
export PG_STATE_DIR="${TMPDIR:-/tmp}/eid-postgres-activation-$$"
# shellcheck source=scripts/postgres-env.sh
. scripts/postgres-env.sh
export PG_DURABLE=1
pg_start >/dev/null
chmod 755 "$work"

# The load comes from one address: with THROTTLE=1 both buckets are taken on every start and
# complete (a database round trip each) but never run dry.
RATE=0
[ "${THROTTLE:-0}" = 1 ] && RATE=100000000
serve postgres "$EID_TEST_POSTGRES_URL" --population "$POPULATION" --client-rate "$RATE" \
  --global-rate "$RATE"
counters() {
  pg_sql "SELECT json_build_object('commits', (SELECT xact_commit FROM pg_stat_database \
    WHERE datname = current_database()), 'wal_sync', wal_sync, 'wal_bytes', wal_bytes) FROM pg_stat_wal"
}
cat >"$work/waits.sql" <<'SQL'
SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) FILTER (WHERE wait_event_type = 'LWLock'),
       count(*) FILTER (WHERE wait_event_type = 'IO'), count(*) FILTER (WHERE state = 'active')
FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
\watch 0.1
SQL
chmod 644 "$work/waits.sql"
before="$(counters)"
pg_sql -f "$work/waits.sql" >"$work/waits.txt" 2>/dev/null &
sampler=$!
result="$("$EID" load-activate --backend "$url" --population "$POPULATION" \
  --concurrency "$CONCURRENCY" --server-pid "$server_pid")"
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
after="$(counters)"
stop_server

python3 - "$before" "$after" "$work/waits.txt" "$result" "$(pg_settings_json)" "$RATE" <<'PY'
import json, sys
before, after = json.loads(sys.argv[1]), json.loads(sys.argv[2])
result, settings = json.loads(sys.argv[4]), json.loads(sys.argv[5])
rows = [l.split("|") for l in open(sys.argv[3]) if l.count("|") == 3]
mean = lambda i: round(sum(int(r[i]) for r in rows) / max(len(rows), 1), 2)
n = max(result["activations"], 1)
per = lambda k: round((after[k] - before[k]) / n, 2)
result["postgres_per_activation"] = {
    "commits": per("commits"), "wal_fsyncs": per("wal_sync"), "wal_bytes": per("wal_bytes"),
}
result["postgres_backends_waiting_mean"] = {
    "samples": len(rows), "lock": mean(0), "lwlock": mean(1), "io": mean(2), "active": mean(3),
}
result["settings"] = settings
result["throttles"] = "on, never refusing" if sys.argv[6] != "0" else "off"
print(json.dumps(result))
PY
