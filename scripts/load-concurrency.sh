#!/usr/bin/env bash
# 30,000 phones (issue 17): PHONES keep-alive connections, each syncing with If-None-Match every
# PHONE_INTERVAL seconds (304 from memory), while FULL connections do full syncs back to back,
# for HOLD seconds after a RAMP in which the phones connect. The backend runs as deployed:
# `eid serve` (server profile) on durable PostgreSQL (fsync, synchronous_commit,
# full_page_writes on). Prints one JSON object: connections held, errors, p50/p99 of both
# groups, server memory per connection and open files, the limits and the load average.
#
#   scripts/load-concurrency.sh
#   PHONES=5000 HOLD=20 RAMP=10 scripts/load-concurrency.sh      # a quicker look
#
# Limits are raised here, not by hand: the open-file limit as far as the hard limit allows
# (a process holds at most that many sockets: when PHONES+FULL does not fit in one, the run
# uses several backend instances on the one database and one client process per instance,
# and says so); somaxconn, the SYN backlog and the local port range when sysctl is allowed
# (else their values are reported). The client binds several loopback source addresses
# (127.0.0.x), so its sockets never run out of source ports.
set -euo pipefail
cd "$(dirname "$0")/.."
PHONES="${PHONES:-30000}"
FULL="${FULL:-32}"
PHONE_INTERVAL="${PHONE_INTERVAL:-30}"
RAMP="${RAMP:-30}"
HOLD="${HOLD:-60}"
POPULATION="${POPULATION:-100}"

# --- Limits -----------------------------------------------------------------------------------
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
nofile="$(ulimit -n)"
sysctl -q -w net.core.somaxconn=65535 >/dev/null 2>&1 || true
sysctl -q -w net.ipv4.tcp_max_syn_backlog=65535 >/dev/null 2>&1 || true
sysctl -q -w net.ipv4.ip_local_port_range="1024 65000" >/dev/null 2>&1 || true
somaxconn="$(cat /proc/sys/net/core/somaxconn)"
port_range="$(tr '\t' ' ' </proc/sys/net/ipv4/ip_local_port_range)"
# Sockets per process: the limit less room for the runtime, the database and the log.
per_process=$((nofile - 500))
instances=$(((PHONES + FULL + per_process - 1) / per_process))
[ "$instances" -ge 1 ] || instances=1

# --- Build ------------------------------------------------------------------------------------
cargo build --profile server -q -p eid-cli
EID="$PWD/target/server/eid"
# The client: Go, standard library only (scripts/load-phones).
(cd scripts/load-phones && GOFLAGS=-mod=mod GOCACHE="$PWD/../../target/go/cache" \
  go build -o ../../target/load-phones .)
CLIENT="$PWD/target/load-phones"

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if declare -F pg_stop >/dev/null; then pg_stop >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=scripts/postgres-env.sh
. scripts/postgres-env.sh
PG_STATE_DIR="${TMPDIR:-/tmp}/eid-postgres-concurrency-$$"
export PG_DURABLE=1
pg_start >/dev/null

# --- Backend instances ------------------------------------------------------------------------
# A keep-alive connection may wait PHONE_INTERVAL between requests: the header timeout (how long
# a connection may wait for its next request) is set above it. No per-client cap: the phones
# come from a few loopback addresses, as from behind a proxy.
addrs=()
for i in $(seq 0 $((instances - 1))); do
  "$EID" serve --dev --addr 127.0.0.1:0 --db "$EID_TEST_POSTGRES_URL" --log warn \
    --population "$POPULATION" --client-rate 0 --global-rate 0 \
    --max-connections "$per_process" --max-connections-per-client 0 \
    --header-timeout $((PHONE_INTERVAL + 15)) --idle-timeout $((2 * PHONE_INTERVAL + 30)) \
    >"$work/serve$i.out" 2>"$work/serve$i.err" &
  pids+=($!)
  for _ in $(seq 600); do grep -q "listening on" "$work/serve$i.out" 2>/dev/null && break; sleep 0.1; done
  url="$(sed -n 's/^listening on //p' "$work/serve$i.out" | head -1)"
  [ -n "$url" ] || { cat "$work/serve$i.err" >&2; exit 1; }
  addrs+=("${url#http://}")
done

# Activated devices and their signed syncs (valid for the backend's ±300 s window).
"$EID" load-prep --backend "http://${addrs[0]}" --lua "$work/sync.lua" \
  --population "$POPULATION" --concurrency 8 >"$work/prep.json"

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
workers=()
for i in $(seq 0 $((instances - 1))); do
  sources="127.0.$((i + 1)).2,127.0.$((i + 1)).3,127.0.$((i + 1)).4,127.0.$((i + 1)).5"
  "$CLIENT" -addr "${addrs[$i]}" -lua "$work/sync.lua" \
    -phones $((PHONES / instances)) -full $((FULL / instances)) \
    -interval "${PHONE_INTERVAL}s" -ramp "${RAMP}s" -hold "${HOLD}s" \
    -sources "$sources" -server-pid "${pids[$i]}" >"$work/worker$i.json" &
  workers+=($!)
done
for w in "${workers[@]}"; do wait "$w"; done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

for i in "${!pids[@]}"; do
  kill -0 "${pids[$i]}" 2>/dev/null || { echo "instance $i died" >&2; exit 1; }
done
# The instances' warnings, kept for a look (target/load-concurrency/serveN.err).
mkdir -p target/load-concurrency
cp "$work"/serve*.err target/load-concurrency/
warnings="$(cat "$work"/serve*.err | grep -c " WARN " || true)"
EID_LOAD_SETTINGS="$(printf '{"phones":%s,"full_sync_connections":%s,"phone_interval_s":%s,"ramp_s":%s,"hold_s":%s,"backend_instances":%s,"open_file_limit":%s,"somaxconn":%s,"local_port_range":"%s","cores":%s,"load_average_before":"%s","load_average_after":"%s","postgres":%s,"server_warnings":%s}' \
  "$PHONES" "$FULL" "$PHONE_INTERVAL" "$RAMP" "$HOLD" "$instances" "$nofile" "$somaxconn" \
  "$port_range" "$(nproc)" "$load_before" "$load_after" "$(pg_settings_json)" "$warnings")" \
  "$CLIENT" -merge "$work"/worker*.json
