#!/usr/bin/env bash
# Checks scripts/pcsc-env.sh against the fault that failed CI runs: vpcd's ports (35963, 35964)
# lie in the kernel's ephemeral range, an outgoing connection was given one as its local port,
# and pcscd came up with no reader (SCARD_E_NO_READERS_AVAILABLE in every NFC test after it).
# Here a socket holds the first port for 2 s while pcsc_start runs: pcsc_start must see that
# vpcd could not listen, say so, start pcscd again once the port is free, and come up with both
# readers. Run by scripts/test.sh before it starts the pcscd of the tests (about 3 s).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/pcsc-env.sh
. scripts/pcsc-env.sh

fail() { printf 'pcsc-env check: FAILED: %s\n' "$*" >&2; exit 1; }

if _pcsc_daemon_alive; then
  # It would be reused, and the fault could not be staged.
  [ "${CI:-}" = true ] && fail "a pcscd runs already"
  echo "pcsc-env check: not run, a pcscd runs already"
  exit 0
fi
work="$(mktemp -d)"
trap 'pcsc_stop; rm -rf "$work"' EXIT
export PCSC_LOG="$work/pcscd.log" PCSC_PORT_WAIT=20

# The socket that holds the port: connected from 127.0.0.1:$PCSC_VPCD_PORT, as an outgoing
# connection given that port would be. Its peer closes first, so no TIME_WAIT stays behind
# on the port (that would hold it 60 s more, which pcsc_start would also wait out).
python3 - "$PCSC_VPCD_PORT" "$work/held" <<'PY' &
import socket, sys, time
port, flag = int(sys.argv[1]), sys.argv[2]
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
client = socket.socket()
client.bind(("127.0.0.1", port))
client.connect(server.getsockname())
peer, _ = server.accept()
open(flag, "w").close()
time.sleep(2)
peer.close()
time.sleep(0.2)
client.close()
PY
holder=$!
for _ in $(seq 1 50); do [ -e "$work/held" ] && break; sleep 0.1; done
[ -e "$work/held" ] || fail "could not hold port $PCSC_VPCD_PORT for the check"

t0=$(date +%s%N)
pcsc_start 2>"$work/stderr" || { cat "$work/stderr" >&2; fail "pcsc_start gave up"; }
ms=$((($(date +%s%N) - t0) / 1000000))
wait "$holder"
grep -q "vpcd could not listen on port $PCSC_VPCD_PORT" "$work/stderr" ||
  { cat "$work/stderr" >&2; fail "pcsc_start did not say that vpcd's port was taken"; }
grep -q "Address already in use" "$PCSC_LOG" ||
  fail "the first pcscd did find the port free: the fault was not staged"
# The pcscd running now: its part of the log, from its start on.
last="$(awk '/using new config directory/ { n = NR } END { print n }' "$PCSC_LOG")"
now="$(tail -n "+$last" "$PCSC_LOG")"
[ "$(grep -c "Waiting for virtual ICC on port" <<<"$now")" = 2 ] ||
  { printf '%s\n' "$now" >&2; fail "the pcscd running now has not both vpcd readers"; }
! grep -q "init failed" <<<"$now" || fail "the pcscd running now lost a reader"
reserved=""
if [ -w /proc/sys/net/ipv4/ip_local_reserved_ports ]; then
  grep -q "$PCSC_VPCD_PORT-$((PCSC_VPCD_PORT + 1))" /proc/sys/net/ipv4/ip_local_reserved_ports ||
    fail "vpcd's ports were not reserved although the kernel setting is writable"
  reserved=", the ports kept out of the ephemeral range"
fi
echo "pcsc-env check: port $PCSC_VPCD_PORT taken for 2 s; pcscd up with both readers after $ms ms$reserved"
