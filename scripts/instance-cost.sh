#!/usr/bin/env bash
# What a second `eid serve` instance on the same cores costs and gives (issue 17: "two instances
# on the same 2 cores are not faster; say so, and show the per-instance cost instead"). On
# PostgreSQL as deployed (its own cluster, durable settings printed): instance A seeds POPULATION
# citizens and `eid load-prep` activates them and signs one sync request each; wrk replays them
# (full pages) from two wrk processes with half the connections each: both against A, then one
# against A and one against B (the signed requests are valid on any instance of the database), so
# the load generator is the same in both runs.
# Prints one JSON object: both rates and tails, and per instance its start time, resident memory,
# PostgreSQL connections and CPU while idle.
#
#   scripts/instance-cost.sh                  # 10 s per wrk run, 32 connections, 400 citizens
#   DURATION=20 CONNECTIONS=64 scripts/instance-cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
POPULATION="${POPULATION:-400}"

# shellcheck source=scripts/load-common.sh
. scripts/load-common.sh
export PG_STATE_DIR="${TMPDIR:-/tmp}/eid-postgres-instances-$$"
# shellcheck source=scripts/postgres-env.sh
. scripts/postgres-env.sh
export PG_DURABLE=1
pg_start >/dev/null
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; cleanup' EXIT

client_backends() {
  pg_sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
}
rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# idle_cpu PID: CPU milliseconds per second of process PID over 5 s with no requests.
idle_cpu() {
  local t0 t1 hz
  hz="$(getconf CLK_TCK)"
  t0="$(cpu_ticks "$1")"; sleep 5; t1="$(cpu_ticks "$1")"
  awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) * 1000 / hz / 5 }'
}
# start NAME [ARGS...]: an instance; sets $url, $server_pid and the seconds it took to listen.
start() {
  local t0
  t0="$(date +%s.%N)"
  serve "$@"
  started="$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')"
  pids+=("$server_pid")
}

before="$(client_backends)"
start a "$EID_TEST_POSTGRES_URL" --population "$POPULATION" --client-rate 0 --global-rate 0
url_a="$url"; pid_a="$server_pid"; started_a="$started"
"$EID" load-prep --backend "$url_a" --lua "$work/sync.lua" --population "$POPULATION" \
  --concurrency 8 >/dev/null
sleep 1
conns_a=$(( $(client_backends) - before ))
idle_a="$(idle_cpu "$pid_a")"
half=$(( CONNECTIONS / 2 ))
# pair URL1 URL2 OUT: two wrk processes at once, half the connections each.
pair() {
  CONNECTIONS="$half" EID_IF_NONE_MATCH=0 wrk_json "$1" "$work/sync.lua" >"$3.1" &
  local w=$!
  CONNECTIONS="$half" EID_IF_NONE_MATCH=0 wrk_json "$2" "$work/sync.lua" >"$3.2"
  wait "$w"
}
pair "$url_a" "$url_a" "$work/one"
rss_a="$(rss_mb "$pid_a")"

start b "$EID_TEST_POSTGRES_URL" --client-rate 0 --global-rate 0
url_b="$url"; pid_b="$server_pid"; started_b="$started"
sleep 1
conns_b=$(( $(client_backends) - before - conns_a ))
idle_b="$(idle_cpu "$pid_b")"
pair "$url_a" "$url_b" "$work/two"
rss_b="$(rss_mb "$pid_b")"

python3 - "{$(cat "$work/one.1")}" "{$(cat "$work/one.2")}" "{$(cat "$work/two.1")}" \
  "{$(cat "$work/two.2")}" "$(pg_settings_json)" <<PY
import json, sys
one_1, one_2, a, b, settings = (json.loads(x) for x in sys.argv[1:6])
def both(x, y):
    return {
        "requests_per_s": round(x["requests_per_s"] + y["requests_per_s"], 1),
        "p99_ms_worst": max(x["p99_ms"], y["p99_ms"]),
        "non_2xx_or_3xx": x["non_2xx_or_3xx"] + y["non_2xx_or_3xx"],
        "per_wrk": [x, y],
    }
print(json.dumps({
    "sync_full_pages_one_instance": both(one_1, one_2),
    "sync_full_pages_two_instances": both(a, b),
    "per_instance": {
        "a": {"start_seconds": $started_a, "rss_mb_after_load": $rss_a,
              "postgres_connections": $conns_a, "idle_cpu_ms_per_s": $idle_a,
              "note": "seeded the population at start"},
        "b": {"start_seconds": $started_b, "rss_mb_after_load": $rss_b,
              "postgres_connections": $conns_b, "idle_cpu_ms_per_s": $idle_b},
    },
    "connections_total": $CONNECTIONS, "seconds": $DURATION, "cores": $(nproc),
    "settings": settings,
}))
PY
