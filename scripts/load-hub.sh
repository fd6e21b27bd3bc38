#!/usr/bin/env bash
# The relying-party hub under load on PostgreSQL as deployed (fsync, synchronous_commit,
# full_page_writes on; issue 16): `eid serve` (server profile) and `eid load-hub` on loopback.
#
#   1. baseline: full-page syncs (`eid load-prep` + wrk, as scripts/load.sh) on a database of
#      its own, DURATION seconds;
#   2. "Log in with e-ID" logins: the RP's authorize with PKCE → the hub's signed OpenID4VP
#      request → the wallet's answer (POST /v1/oidc/response) → the browser's poll → the token
#      exchange → the ID token checked; wallets activated and their SD-JWT VCs taken before the
#      clock (POPULATION wallets x 8 x ROUNDS logins), the wallet's per-login crypto (request
#      verification, KB-JWT, JWE) and the RP's ID token check timed on their own;
#   3. bank eKYC by chip: POST /v1/ekyc/challenges, the simulated chip's active-authentication
#      signature (timed on its own), POST /v1/ekyc/checks; chips read before the clock, CHECKS
#      checks round-robin over POPULATION citizens.
#
# Prints one JSON object: each figure with p50/p99 (per flow and per step), errors, the load
# average before it, the backend's, the client's and PostgreSQL's CPU per flow (/proc),
# PostgreSQL commits, WAL fsyncs (pg_stat_wal.wal_sync) and WAL bytes per flow, the ratios to the baseline, the
# settings.
#
#   scripts/load-hub.sh                                  # 250 wallets (2 000 logins), 3 000 checks
#   POPULATION=400 CHECKS=5000 CONCURRENCY=16 scripts/load-hub.sh
set -euo pipefail
cd "$(dirname "$0")/.."
POPULATION="${POPULATION:-250}"
ROUNDS="${ROUNDS:-1}"
CHECKS="${CHECKS:-3000}"
CONCURRENCY="${CONCURRENCY:-8}"
DURATION="${DURATION:-5}"
CONNECTIONS="${CONNECTIONS:-32}"
BASE_POPULATION="${BASE_POPULATION:-100}"
export DURATION CONNECTIONS

# shellcheck source=scripts/load-common.sh
. scripts/load-common.sh
# A cluster of this run's own, always (see load-redeem.sh).
export PG_STATE_DIR="${TMPDIR:-/tmp}/eid-postgres-hub-$$"
# shellcheck source=scripts/postgres-env.sh
. scripts/postgres-env.sh
export PG_DURABLE=1
pg_start >/dev/null
chmod 755 "$work"
token="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export EID_ADMIN_TOKEN="$token"
loadavg() { cut -d' ' -f1 /proc/loadavg; }

# 1. The baseline, on a database of its own (its activations must not revoke the hub run's).
pg_sql "CREATE DATABASE eid_base" >/dev/null
serve base "${EID_TEST_POSTGRES_URL%/*}/eid_base" --population "$BASE_POPULATION" \
  --client-rate 0 --global-rate 0
"$EID" load-prep --backend "$url" --lua "$work/base.lua" --population "$BASE_POPULATION" \
  --concurrency 8 >/dev/null
base_load="$(loadavg)"
base="{$(wrk_json "$url" "$work/base.lua"),\"load_average_before\":$base_load}"
stop_server

# 2 and 3. The hub on a fixed free port: its public URL (the OpenID4VP request's address and
# the hub's client id) is the listening address in development mode.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$EID" serve --dev --addr "127.0.0.1:$port" --db "$EID_TEST_POSTGRES_URL" --log warn \
  --population "$POPULATION" --client-rate 0 --global-rate 0 >"$work/hub.out" 2>"$work/hub.err" &
server_pid=$!
for _ in $(seq 600); do grep -q "listening on" "$work/hub.out" 2>/dev/null && break; sleep 0.1; done
url="$(sed -n 's/^listening on //p' "$work/hub.out" | head -1)"
[ -n "$url" ] || { echo "load-hub: eid serve did not start:" >&2; tail -5 "$work/hub.err" >&2; exit 1; }
# Called by `eid load-hub` right before and after its clock: PostgreSQL's counters then.
cat >"$work/hook.sh" <<SH
#!/usr/bin/env bash
set -euo pipefail
cd "$PWD"
. scripts/postgres-env.sh
pg_sql "SELECT json_build_object('commits', (SELECT xact_commit FROM pg_stat_database \\
  WHERE datname = current_database()), 'wal_sync', wal_sync, 'wal_bytes', wal_bytes) \\
  FROM pg_stat_wal" >"$work/counters.\$1"
# CPU ticks (utime + stime) of this cluster's postmaster and its children (backends, WAL writer,
# checkpointer): PostgreSQL's own CPU, beside the backend's and the client's.
main="\$(head -1 "\$PG_STATE_DIR/cluster/data/postmaster.pid")"
ticks=0
for p in "\$main" \$(pgrep -P "\$main"); do
  t="\$(cut -d')' -f2 "/proc/\$p/stat" 2>/dev/null | awk '{print \$12 + \$13}')" || t=0
  ticks=\$((ticks + \${t:-0}))
done
echo "\$ticks" >"$work/pgcpu.\$1"
SH
chmod 755 "$work/hook.sh"
# measure MODE ARGS...: one `eid load-hub` run, the counters of its timed part.
measure() {
  local mode="$1" result
  shift
  result="$("$EID" load-hub --backend "$url" --mode "$mode" --concurrency "$CONCURRENCY" \
    --server-pid "$server_pid" --population "$POPULATION" --hook "$work/hook.sh" "$@")"
  printf '{"result":%s,"before":%s,"after":%s,"pg_cpu_ticks":%s}' "$result" \
    "$(cat "$work/counters.before")" "$(cat "$work/counters.after")" \
    "$(($(cat "$work/pgcpu.after") - $(cat "$work/pgcpu.before")))"
}
logins="$(measure logins --rounds "$ROUNDS")"
ekyc="$(measure ekyc --checks "$CHECKS")"
stop_server

python3 - "$base" "$logins" "$ekyc" "$(pg_settings_json)" "$(getconf CLK_TCK)" <<'PY'
import json, sys
ticks_per_s = int(sys.argv[5])
base, settings = json.loads(sys.argv[1]), json.loads(sys.argv[4])
out = {"baseline_sync_full_pages": base}
for name, arg in (("hub_logins", sys.argv[2]), ("ekyc_checks", sys.argv[3])):
    m = json.loads(arg)
    r, b, a = m["result"], m["before"], m["after"]
    n = max(r["flows"], 1)
    r["postgres_per_flow"] = {k: round((a[v] - b[v]) / n, 2) for k, v in
                              (("commits", "commits"), ("wal_fsyncs", "wal_sync"), ("wal_bytes", "wal_bytes"))}
    r["postgres_per_flow"]["cpu_ms"] = round(m["pg_cpu_ticks"] * 1000 / ticks_per_s / n, 2)
    r["ratio_to_baseline_sync"] = round(r["per_s"] / base["requests_per_s"], 4) if base["requests_per_s"] else None
    out[name] = r
out["settings"] = settings
out["note"] = ("PostgreSQL counters are cluster-wide commits of the hub's database and WAL of the "
               "cluster over each run; per_s over wall time with the client on the same cores; "
               "client_* steps are the wallet's, the RP's or the chip's own work")
print(json.dumps(out))
PY
