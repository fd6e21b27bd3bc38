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
# Needs the Debian packages pcscd and vsmartcard-vpcd. Works as root with no standard input.
# The daemon's log goes to $PCSC_LOG (a temporary file unless set).

PCSC_STATE_DIR="${PCSC_STATE_DIR:-${TMPDIR:-/tmp}/eid-pcscd}"
PCSC_VPCD_DRIVER="${PCSC_VPCD_DRIVER:-/usr/lib/pcsc/drivers/serial/libifdvpcd.so}"
# pcscd's socket and pid file (pcsc-lite's default run directory on Debian).
PCSC_RUN_DIR="${PCSC_RUN_DIR:-/run/pcscd}"

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
  mkdir -p "$PCSC_STATE_DIR/reader.conf.d"
  cat >"$PCSC_STATE_DIR/reader.conf.d/vpcd" <<EOF
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:0x8C7B
LIBPATH      $PCSC_VPCD_DRIVER
CHANNELID    0x8C7B
EOF
  PCSC_LOG="${PCSC_LOG:-$(mktemp "${TMPDIR:-/tmp}/pcscd.XXXXXX.log")}"
  export PCSC_LOG
  # The log is kept across restarts (scripts/test.sh starts pcscd again for later steps): only
  # what this pcscd writes may say it is ready, not an earlier one's "daemon ready".
  local from
  from=$(($( (wc -c <"$PCSC_LOG") 2>/dev/null || echo 0) + 1))
  # A pcscd killed earlier may have left its pid file and socket behind; pcscd would refuse to
  # start on a pid file whose process is gone only on some versions, so clear them.
  rm -f "$PCSC_RUN_DIR/pcscd.pid" "$PCSC_RUN_DIR/pcscd.comm"
  # -f: stay in the foreground (no fork, so the pid is ours); -i: info-level log.
  pcscd --foreground --info --config "$PCSC_STATE_DIR/reader.conf.d" \
    </dev/null >>"$PCSC_LOG" 2>&1 &
  local pid=$!
  printf '%s' "$pid" >"$PCSC_STATE_DIR/pid"
  local i
  for i in $(seq 1 100); do
    if tail -c "+$from" "$PCSC_LOG" 2>/dev/null | grep -q "daemon ready" &&
      [ -S "$PCSC_RUN_DIR/pcscd.comm" ]; then
      return 0
    fi
    if ! _pcsc_pid_alive "$pid"; then
      break
    fi
    sleep 0.1
  done
  _pcsc_log "pcscd did not start; its log ($PCSC_LOG):"
  tail -n 20 "$PCSC_LOG" >&2 || true
  pcsc_stop
  return 1
}

pcsc_stop() {
  local pid i
  pid="$(_pcsc_our_pid)" || {
    rm -f "$PCSC_STATE_DIR/pid"
    return 0
  }
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
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
