# shellcheck shell=bash
# Source me: a throwaway PostgreSQL cluster on loopback for the backend tests.
#
#   . scripts/postgres-env.sh
#   pg_start        # initdb in a temporary directory, postgres on 127.0.0.1:<free port>,
#                   # a database "eid_test"; exports EID_TEST_POSTGRES_URL
#   ...             # cargo test: the backend suite also runs against PostgreSQL
#   pg_stop         # stops the server and deletes the cluster
#   pg_pause, pg_resume  # stop the primary (-m fast) and start it again on its port (fault tests)
#   PG_DURABLE=1    # before pg_start: fsync/synchronous_commit/full_page_writes on (load runs)
#   pg_settings_json  # those three settings of the running cluster, as JSON
#   pg_sql QUERY      # one query on the test database (psql -At)
#   pg_start_replica  # after pg_start: a streaming replica (pg_basebackup -R) on a second port,
#                   # hot standby, with pg_stat_statements loaded (the replica test counts the
#                   # statements run there); exports EID_TEST_POSTGRES_REPLICA_URL
#
# Both are idempotent. Installs nothing (scripts/test.sh installs Debian's postgresql). Works as
# root with no standard input: postgres refuses to run as root, so the cluster belongs to the
# "postgres" user (created by the Debian package) or, without it, to a system user "eidpg".
# The server's log is $PG_STATE_DIR/cluster/log while it runs.

PG_STATE_DIR="${PG_STATE_DIR:-${TMPDIR:-/tmp}/eid-postgres}"

_pg_log() { printf 'postgres-env: %s\n' "$*" >&2; }

# The newest installed server's bin directory (Debian: /usr/lib/postgresql/<major>/bin).
_pg_bindir() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$d" ] && [ -x "$d/initdb" ] && printf '%s' "$d"
}

# The user the cluster runs as, and a way to run a command as that user.
_pg_user() {
  if [ "$(id -u)" -ne 0 ]; then
    id -un
  elif id postgres >/dev/null 2>&1; then
    printf 'postgres'
  else
    id eidpg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin eidpg
    printf 'eidpg'
  fi
}

_pg_as() {
  local user="$1"
  shift
  if [ "$(id -u)" -ne 0 ]; then
    "$@"
  else
    runuser -u "$user" -- "$@" </dev/null
  fi
}

_pg_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Starts the cluster in $3/data (socket and log in $3) on a free random loopback port, waiting
# at most $4 s, with extra server options $5; prints the port. Up to five ports are tried.
_pg_start_on_free_port() {
  local user="$1" bindir="$2" dir="$3" wait="$4" extra="$5" port attempt
  for attempt in 1 2 3 4 5; do
    port=$((20000 + (RANDOM % 40000)))
    _pg_port_free "$port" || continue
    if _pg_start_on "$user" "$bindir" "$dir" "$wait" "$extra" "$port"; then
      printf '%s' "$port"
      return 0
    fi
  done
  return 1
}

# Starts the cluster in $3/data on port $6 (see _pg_start_on_free_port).
_pg_start_on() {
  local user="$1" bindir="$2" dir="$3" wait="$4" extra="$5" port="$6"
  _pg_as "$user" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t "$wait" \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 $extra $(_pg_durability)" \
    start >/dev/null 2>&1
}

# Fault tests (backend/tests/faults.rs): stops the running primary as an operator's restart
# does (pg_ctl stop -m fast: sessions are ended, new connections refused), and starts it again
# on the same port. The cluster and its data stay.
pg_pause() {
  _pg_as "$(cat "$PG_STATE_DIR/user")" "$(cat "$PG_STATE_DIR/bindir")/pg_ctl" \
    -D "$PG_STATE_DIR/cluster/data" -m fast -w stop >/dev/null
}

pg_resume() {
  local port
  port="$(cat "$PG_STATE_DIR/url")"
  port="${port##*:}"
  port="${port%%/*}"
  _pg_start_on "$(cat "$PG_STATE_DIR/user")" "$(cat "$PG_STATE_DIR/bindir")" \
    "$PG_STATE_DIR/cluster" 30 "" "$port"
}

_pg_running() {
  local bindir user
  [ -f "$PG_STATE_DIR/cluster/data/postmaster.pid" ] || return 1
  bindir="$(cat "$PG_STATE_DIR/bindir" 2>/dev/null)" || return 1
  user="$(cat "$PG_STATE_DIR/user" 2>/dev/null)" || return 1
  _pg_as "$user" "$bindir/pg_ctl" -D "$PG_STATE_DIR/cluster/data" status >/dev/null 2>&1
}

# For functional tests a throwaway loopback cluster, deleted afterwards, where durability buys
# nothing: fsync off, synchronous_commit off (a commit does not wait for its WAL flush),
# full_page_writes off (no torn-page protection after a crash). PG_DURABLE=1 keeps PostgreSQL's
# defaults (all three on), as a deployment runs: the load scripts measure with it.
_pg_durability() {
  [ "${PG_DURABLE:-0}" = 1 ] || printf '%s' "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
}

# The running cluster's durability settings as JSON, for measurements to state them.
# pg_sql QUERY | pg_sql -f FILE: runs QUERY (or the file, readable by the cluster's user, e.g. a
# query and \watch) on the test database, unaligned tuples only (-At).
pg_sql() {
  local bindir user port
  bindir="$(cat "$PG_STATE_DIR/bindir")"
  user="$(cat "$PG_STATE_DIR/user")"
  port="${EID_TEST_POSTGRES_URL##*:}"
  port="${port%%/*}"
  if [ "$1" = "-f" ]; then
    _pg_as "$user" "$bindir/psql" -h 127.0.0.1 -p "$port" -U eid -d eid_test -At -f "$2"
  else
    _pg_as "$user" "$bindir/psql" -h 127.0.0.1 -p "$port" -U eid -d eid_test -At -c "$1"
  fi
}

pg_settings_json() {
  pg_sql "SELECT json_object_agg(name, setting) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')"
}

pg_start() {
  local bindir user port attempt cluster
  if _pg_running; then
    EID_TEST_POSTGRES_URL="$(cat "$PG_STATE_DIR/url")"
    export EID_TEST_POSTGRES_URL
    return 0
  fi
  bindir="$(_pg_bindir)" || {
    _pg_log "PostgreSQL server not installed (apt-get install postgresql)"
    return 1
  }
  user="$(_pg_user)" || {
    _pg_log "no user to run postgres as"
    return 1
  }
  rm -rf "$PG_STATE_DIR"
  mkdir -p "$PG_STATE_DIR"
  cluster="$PG_STATE_DIR/cluster"
  mkdir -p "$cluster"
  chown "$user" "$cluster" 2>/dev/null || true
  chmod 700 "$cluster"
  # /tmp may be mode 1777 but PG_STATE_DIR is ours: let the cluster user through.
  chmod 755 "$PG_STATE_DIR"
  printf '%s' "$bindir" >"$PG_STATE_DIR/bindir"
  printf '%s' "$user" >"$PG_STATE_DIR/user"
  # trust on loopback only: a throwaway test cluster with no password to leak.
  if ! _pg_as "$user" "$bindir/initdb" -D "$cluster/data" -U eid --auth=trust -E UTF8 \
    --no-locale >"$cluster/initdb.log" 2>&1; then
    _pg_log "initdb failed:"
    tail -n 20 "$cluster/initdb.log" >&2
    pg_stop
    return 1
  fi
  if ! port="$(_pg_start_on_free_port "$user" "$bindir" "$cluster" 60 "")"; then
    _pg_log "postgres did not start; its log:"
    tail -n 20 "$cluster/log" >&2 2>/dev/null || true
    pg_stop
    return 1
  fi
  if ! _pg_as "$user" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U eid eid_test; then
    _pg_log "createdb failed"
    pg_stop
    return 1
  fi
  EID_TEST_POSTGRES_URL="postgres://eid@127.0.0.1:$port/eid_test"
  printf '%s' "$EID_TEST_POSTGRES_URL" >"$PG_STATE_DIR/url"
  export EID_TEST_POSTGRES_URL
  _pg_log "PostgreSQL ($(basename "$(dirname "$bindir")")) on 127.0.0.1:$port"
  return 0
}

# A streaming replica of the running cluster: a base backup of the primary with -R (standby.signal
# and primary_conninfo written for us, WAL streamed during the copy), started on a free port with
# the primary's settings (a hot standby needs max_connections >= the primary's) and
# pg_stat_statements preloaded. The extension is created on the primary first (a standby is
# read-only) and arrives with the backup.
pg_start_replica() {
  local bindir user port rport attempt replica
  [ -n "${EID_TEST_POSTGRES_URL:-}" ] || {
    _pg_log "pg_start first"
    return 1
  }
  if [ -f "$PG_STATE_DIR/replica_url" ] && [ -f "$PG_STATE_DIR/replica/data/postmaster.pid" ]; then
    EID_TEST_POSTGRES_REPLICA_URL="$(cat "$PG_STATE_DIR/replica_url")"
    export EID_TEST_POSTGRES_REPLICA_URL
    return 0
  fi
  bindir="$(cat "$PG_STATE_DIR/bindir")"
  user="$(cat "$PG_STATE_DIR/user")"
  port="${EID_TEST_POSTGRES_URL##*:}"
  port="${port%%/*}"
  replica="$PG_STATE_DIR/replica"
  rm -rf "$replica"
  mkdir -p "$replica"
  chown "$user" "$replica" 2>/dev/null || true
  chmod 700 "$replica"
  _pg_as "$user" "$bindir/psql" -h 127.0.0.1 -p "$port" -U eid -d postgres -q -c \
    "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null || {
    _pg_log "cannot create pg_stat_statements on the primary"
    return 1
  }
  # --checkpoint=fast: the backup starts at once instead of after a spread checkpoint.
  if ! _pg_as "$user" "$bindir/pg_basebackup" -h 127.0.0.1 -p "$port" -U eid -D "$replica/data" \
    -R -X stream --checkpoint=fast >"$replica/basebackup.log" 2>&1; then
    _pg_log "pg_basebackup failed:"
    tail -n 20 "$replica/basebackup.log" >&2
    return 1
  fi
  if ! rport="$(_pg_start_on_free_port "$user" "$bindir" "$replica" 30 \
    "-c hot_standby=on -c shared_preload_libraries=pg_stat_statements")"; then
    _pg_log "the replica did not start; its log:"
    tail -n 20 "$replica/log" >&2 2>/dev/null || true
    return 1
  fi
  EID_TEST_POSTGRES_REPLICA_URL="postgres://eid@127.0.0.1:$rport/eid_test"
  printf '%s' "$EID_TEST_POSTGRES_REPLICA_URL" >"$PG_STATE_DIR/replica_url"
  export EID_TEST_POSTGRES_REPLICA_URL
  _pg_log "PostgreSQL streaming replica on 127.0.0.1:$rport"
  return 0
}

pg_stop() {
  local bindir user
  if [ -f "$PG_STATE_DIR/replica/data/postmaster.pid" ]; then
    bindir="$(cat "$PG_STATE_DIR/bindir" 2>/dev/null)"
    user="$(cat "$PG_STATE_DIR/user" 2>/dev/null)"
    if [ -n "$bindir" ] && [ -n "$user" ]; then
      _pg_as "$user" "$bindir/pg_ctl" -D "$PG_STATE_DIR/replica/data" -m fast -w stop \
        >/dev/null 2>&1 || true
    fi
  fi
  unset EID_TEST_POSTGRES_REPLICA_URL
  if [ -f "$PG_STATE_DIR/cluster/data/postmaster.pid" ]; then
    bindir="$(cat "$PG_STATE_DIR/bindir" 2>/dev/null)"
    user="$(cat "$PG_STATE_DIR/user" 2>/dev/null)"
    if [ -n "$bindir" ] && [ -n "$user" ]; then
      _pg_as "$user" "$bindir/pg_ctl" -D "$PG_STATE_DIR/cluster/data" -m fast -w stop \
        >/dev/null 2>&1 || true
    fi
  fi
  rm -rf "$PG_STATE_DIR"
  unset EID_TEST_POSTGRES_URL
  return 0
}
