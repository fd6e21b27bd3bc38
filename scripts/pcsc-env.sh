# shellcheck shell=bash
# Source me: a private pcscd with the vsmartcard virtual reader (vpcd), for the PC/SC tests and
# for trying `eid` against the simulated card without a real reader. No systemd needed.
#
#   . scripts/pcsc-env.sh
#   pcsc_start          # pcscd in the background, readers "Virtual PCD 00 00" (TCP 35963) and
#                       # "Virtual PCD 00 01" (35964) waiting for a virtual card
#   ...                 # a vpcd bridge (eid_fixtures::vpcd::serve) plugs the simulated card in
#   pcsc_stop
#
# Both are idempotent. pcsc_start reuses a pcscd that is already running (it then only warns if
# that one was not started here); pcsc_stop stops only the pcscd that pcsc_start started.
#
# vpcd's ports (35963, 35964) lie in Linux's ephemeral port range (32768-60999): any outgoing
# TCP connection, a test's HTTP client or PostgreSQL client, may be given one as its local port,
# and vpcd then cannot listen there ("Address already in use"): pcscd runs with no reader at all
# (SCARD_E_NO_READERS_AVAILABLE). So pcsc_start asks the kernel to keep the two ports out of that
# range when it may (root), checks that pcscd brought up the readers, and otherwise starts it
# again until the ports are free (a closed connection holds its port at most 60 s, in TIME_WAIT).
# Needs the Debian packages pcscd and vsmartcard-vpcd. Works as root with no standard input.
# The daemon's log goes to $PCSC_LOG (a temporary file unless set).

PCSC_STATE_DIR="${PCSC_STATE_DIR:-${TMPDIR:-/tmp}/eid-pcscd}"
PCSC_VPCD_DRIVER="${PCSC_VPCD_DRIVER:-/usr/lib/pcsc/drivers/serial/libifdvpcd.so}"
# pcscd's socket and pid file (pcsc-lite's default run directory on Debian).
PCSC_RUN_DIR="${PCSC_RUN_DIR:-/run/pcscd}"
# vpcd's first reader listens on this port, its second on the next (vsmartcard's default).
PCSC_VPCD_PORT="${PCSC_VPCD_PORT:-35963}"
# How long pcsc_start waits for a vpcd port that another socket holds.
PCSC_PORT_WAIT="${PCSC_PORT_WAIT:-75}"

_pcsc_log() { printf 'pcsc-env: %s\n' "$*" >&2; }

# True when process $1 exists and is not a zombie.
_pcsc_pid_alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 0
  [ "$state" != "Z" ]
}

# True when a pcscd answers on this machine (ours or another one).
_pcsc_daemon_alive() {
  local pid
  [ -S "$PCSC_RUN_DIR/pcscd.comm" ] || return 1
  pid="$(tr -dc '0-9' <"$PCSC_RUN_DIR/pcscd.pid" 2>/dev/null)" || return 1
  [ -n "$pid" ] && _pcsc_pid_alive "$pid"
}

_pcsc_our_pid() {
  local pid
  pid="$(cat "$PCSC_STATE_DIR/pid" 2>/dev/null)" || return 1
  [ -n "$pid" ] && _pcsc_pid_alive "$pid" && printf '%s' "$pid"
}

# Keeps vpcd's two ports out of the kernel's ephemeral range, so that no outgoing connection is
# given them. Machine-wide until reboot, and harmless; needs root, and is skipped without it.
_pcsc_reserve_ports() {
  local f=/proc/sys/net/ipv4/ip_local_reserved_ports ports current
  ports="$PCSC_VPCD_PORT-$((PCSC_VPCD_PORT + 1))"
  [ -w "$f" ] || return 0
  current="$(tr -d ' \n' <"$f" 2>/dev/null)" || return 0
  case ",$current," in *",$ports,"*) return 0 ;; esac
  printf '%s\n' "${current:+$current,}$ports" >"$f" 2>/dev/null ||
    _pcsc_log "could not reserve ports $ports (vpcd may find them taken)"
}

# Starts one pcscd and waits until it is ready. Returns 0 when both vpcd readers came up, 2 when
# pcscd ran without them (a vpcd port was taken; it is stopped again), 1 when it did not start.
_pcsc_start_once() {
  local from pid new
  # The log is kept across restarts (scripts/test.sh starts pcscd again for later steps): only
  # what this pcscd writes may say it is ready, not an earlier one's "daemon ready".
  from=$(($( (wc -c <"$PCSC_LOG") 2>/dev/null || echo 0) + 1))
  # A pcscd killed earlier may have left its pid file and socket behind; pcscd would refuse to
  # start on a pid file whose process is gone only on some versions, so clear them.
  rm -f "$PCSC_RUN_DIR/pcscd.pid" "$PCSC_RUN_DIR/pcscd.comm"
  # -f: stay in the foreground (no fork, so the pid is ours); -i: info-level log.
  pcscd --foreground --info --config "$PCSC_STATE_DIR/reader.conf.d" \
    </dev/null >>"$PCSC_LOG" 2>&1 &
  pid=$!
  printf '%s' "$pid" >"$PCSC_STATE_DIR/pid"
  for _ in $(seq 1 100); do
    new="$(tail -c "+$from" "$PCSC_LOG" 2>/dev/null)" || new=""
    if grep -q "daemon ready" <<<"$new" && [ -S "$PCSC_RUN_DIR/pcscd.comm" ]; then
      # pcscd adds the readers of its configuration before it says it is ready; vpcd logs
      # "Could not initialize connection" when it cannot listen on its port.
      if grep -q "Could not initialize connection\|init failed" <<<"$new"; then
        pcsc_stop
        return 2
      fi
      return 0
    fi
    _pcsc_pid_alive "$pid" || break
    sleep 0.1
  done
  _pcsc_log "pcscd did not start; its log ($PCSC_LOG):"
  tail -n 20 "$PCSC_LOG" >&2 || true
  pcsc_stop
  return 1
}

pcsc_start() {
  if _pcsc_our_pid >/dev/null; then
    return 0
  fi
  if _pcsc_daemon_alive; then
    _pcsc_log "reusing the pcscd already running (its configuration decides whether vpcd is there)"
    return 0
  fi
  if ! command -v pcscd >/dev/null 2>&1; then
    _pcsc_log "pcscd not installed (apt-get install pcscd vsmartcard-vpcd)"
    return 1
  fi
  if [ ! -e "$PCSC_VPCD_DRIVER" ]; then
    _pcsc_log "vpcd driver $PCSC_VPCD_DRIVER missing (apt-get install vsmartcard-vpcd)"
    return 1
  fi
  mkdir -p "$PCSC_STATE_DIR"
  # Our own reader configuration: only the virtual reader, whatever /etc/reader.conf.d holds.
  # vpcd takes its first port from the channel id.
  local channel
  channel="$(printf '0x%X' "$PCSC_VPCD_PORT")"
  mkdir -p "$PCSC_STATE_DIR/reader.conf.d"
  cat >"$PCSC_STATE_DIR/reader.conf.d/vpcd" <<EOF
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:$channel
LIBPATH      $PCSC_VPCD_DRIVER
CHANNELID    $channel
EOF
  PCSC_LOG="${PCSC_LOG:-$(mktemp "${TMPDIR:-/tmp}/pcscd.XXXXXX.log")}"
  export PCSC_LOG
  _pcsc_reserve_ports
  local deadline rc said=0
  deadline=$(($(date +%s) + PCSC_PORT_WAIT))
  while :; do
    rc=0
    _pcsc_start_once || rc=$?
    [ "$rc" = 2 ] || return "$rc"
    if [ "$said" = 0 ]; then
      _pcsc_log "vpcd could not listen on port $PCSC_VPCD_PORT or $((PCSC_VPCD_PORT + 1)); the sockets that hold them:"
      ss -tanp "( sport = :$PCSC_VPCD_PORT or sport = :$((PCSC_VPCD_PORT + 1)) )" >&2 || true
      _pcsc_log "starting pcscd again until they are free (at most $PCSC_PORT_WAIT s)"
      said=1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      _pcsc_log "vpcd's ports stayed taken for $PCSC_PORT_WAIT s; pcscd's log ($PCSC_LOG):"
      tail -n 20 "$PCSC_LOG" >&2 || true
      return 1
    fi
    sleep 1
  done
}

pcsc_stop() {
  local pid
  pid="$(_pcsc_our_pid)" || {
    rm -f "$PCSC_STATE_DIR/pid"
    return 0
  }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    _pcsc_pid_alive "$pid" || break
    sleep 0.1
  done
  if _pcsc_pid_alive "$pid"; then
    _pcsc_log "pcscd (pid $pid) ignored SIGTERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$PCSC_RUN_DIR/pcscd.pid" "$PCSC_RUN_DIR/pcscd.comm"
  fi
  # Reap it when it is our child (it is unless pcsc_start ran in another shell).
  wait "$pid" 2>/dev/null || true
  rm -f "$PCSC_STATE_DIR/pid"
  return 0
}
