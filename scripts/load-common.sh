# Shared by scripts/load.sh and scripts/load-redeem.sh (sourced, not run): installs wrk, builds
# `eid` with the server profile (opt-level 3 without fat LTO; the release profile is tuned for the
# mobile library's size, see docs/adr/0010), and gives a work directory, a server starter and a
# wrk runner. Expects DURATION and CONNECTIONS to be set.

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

# serve NAME DB [ARGS...]: starts `eid serve` on a free loopback port and sets $url; allows a
# minute for seeding a large population.
serve() {
  local name="$1" db="$2"
  shift 2
  "$EID" serve --dev --addr 127.0.0.1:0 --db "$db" --log warn "$@" \
    >"$work/$name.out" 2>"$work/$name.err" &
  server_pid=$!
  for _ in $(seq 600); do grep -q "listening on" "$work/$name.out" 2>/dev/null && break; sleep 0.1; done
  url="$(sed -n 's/^listening on //p' "$work/$name.out" | head -1)"
}

stop_server() {
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}

# wrk_json URL LUA -> "requests_per_s":...,"p50_ms":...,"p99_ms":...,"non_2xx":... (2 threads)
wrk_json() {
  local out rps p50 p99 non2xx
  out="$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$2" "$1")"
  rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  p50="$(ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")"
  p99="$(ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")"
  non2xx="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
  printf '"requests_per_s":%s,"p50_ms":%s,"p99_ms":%s,"non_2xx_or_3xx":%s' "$rps" "$p50" "$p99" "${non2xx:-0}"
}
