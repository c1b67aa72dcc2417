#!/usr/bin/env bash
# A one-node Slurm cluster for ecobrain's tests and for users who want to try the Slurm
# executor on one machine. Fully isolated from any system Slurm: its own config directory,
# ports, munge key and socket; nothing under /etc is read or written.
#
#   scripts/slurm-test-cluster.sh start    start munged, slurmctld, slurmd (idempotent)
#   scripts/slurm-test-cluster.sh stop     stop them (by their pid files)
#   scripts/slurm-test-cluster.sh status   say whether it is up (exit 0 = up)
#   scripts/slurm-test-cluster.sh env      print the export line for SLURM_CONF
#   scripts/slurm-test-cluster.sh clean    stop, then delete the whole directory
#
# Settings (environment):
#   ECOBRAIN_SLURM_DIR        where everything lives        [/tmp/ecobrain-slurm]
#   ECOBRAIN_SLURMCTLD_PORT   slurmctld port                [16817]
#   ECOBRAIN_SLURMD_PORT      slurmd port                   [16818]
#   ECOBRAIN_SLURM_PARTITION  name of the one partition     [debug]
#
# After `start`, "$ECOBRAIN_SLURM_DIR/env" holds `export SLURM_CONF=...` (the tests read it);
# `eval "$(scripts/slurm-test-cluster.sh env)"` makes sbatch/squeue/scontrol use this cluster.
# When `start` fails, the reason is written to "$ECOBRAIN_SLURM_DIR/start-error" so the tests
# can print it when they skip.
#
# Needs root (slurmd launches jobs as their user) and Debian's slurmctld, slurmd, slurm-client
# and munge packages (22.05 tested). The configuration follows STACK-NOTES §7: no cgroup.conf,
# proctrack/linuxproc, task/none, select/cons_tres, accounting_storage/none (so no sacct: final
# job states come from `scontrol show job` and the jobcomp/filetxt log).
set -uo pipefail

S=${ECOBRAIN_SLURM_DIR:-/tmp/ecobrain-slurm}
CTLD_PORT=${ECOBRAIN_SLURMCTLD_PORT:-16817}
SLURMD_PORT=${ECOBRAIN_SLURMD_PORT:-16818}
PARTITION=${ECOBRAIN_SLURM_PARTITION:-debug}
CONF="$S/etc/slurm.conf"
SOCKET="$S/munge-run/munge.socket.2"
ENV_FILE="$S/env"
ERR_FILE="$S/start-error"

say() { printf '[slurm-test-cluster] %s\n' "$*" >&2; }

fail() {
  mkdir -p "$S" 2>/dev/null && printf '%s\n' "$*" > "$ERR_FILE"
  say "cannot start: $*"
  exit 1
}

pid_alive() {  # pid_alive FILE -> 0 when the process in FILE runs
  local f=$1 pid
  [ -s "$f" ] || return 1
  pid=$(cat "$f" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

ctl() { SLURM_CONF="$CONF" "$@"; }

node_state() { ctl sinfo -h -N -o '%T' 2>/dev/null | head -1; }

is_up() {
  pid_alive "$S/run/munged.pid" && pid_alive "$S/run/slurmctld.pid" &&
    pid_alive "$S/run/slurmd.pid" && ctl scontrol ping 2>/dev/null | grep -q 'is UP'
}

port_busy() {  # port_busy PORT -> 0 when something listens on it (TCP, IPv4 or IPv6)
  local hex; hex=$(printf '%04X' "$1")
  awk -v h="$hex" '$4 == "0A" { split($2, a, ":"); if (toupper(a[length(a)]) == h) f = 1 }
                   END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

write_env() {
  printf 'export SLURM_CONF=%s\n' "$CONF" > "$ENV_FILE"
  cat "$ENV_FILE"
}

write_conf() {
  local host cpus mem_kb mem_mb
  host=$(hostname -s)
  cpus=$(nproc --all)
  mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
  # Slurm drains a node that reports less memory than configured: stay 10 % under the total.
  mem_mb=$(( mem_kb / 1024 * 9 / 10 ))
  cat > "$CONF" <<EOF
# Written by ecobrain scripts/slurm-test-cluster.sh (one-node test cluster; see STACK-NOTES §7).
ClusterName=ecobrain-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
SlurmctldPidFile=$S/run/slurmctld.pid
SlurmdPidFile=$S/run/slurmd.pid
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=2
JobAcctGatherParams=OverMemoryKill
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$S/log/jobcomp.log
ReturnToService=2
SchedulerType=sched/backfill
# Test-cluster timings: finished jobs stay in \`scontrol show job\` for MinJobAge seconds;
# a job over its limit is signalled at once (OverTimeLimit=0) and killed KillWait s later.
MinJobAge=30
KillWait=5
OverTimeLimit=0
MessageTimeout=10
# Memory is a consumable resource (so --mem is enforced and OUT_OF_MEMORY can happen);
# jobs that ask for none get DefMemPerCPU each.
DefMemPerCPU=1024
SchedulerParameters=sched_interval=5
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
  if is_up; then
    say "already running ($CONF)"
    rm -f "$ERR_FILE"
    write_env
    return 0
  fi
  [ "$(id -u)" = 0 ] || fail "needs root (slurmd runs jobs as their user); run as root"
  local b
  for b in munged slurmctld slurmd sinfo sbatch squeue scontrol scancel; do
    command -v "$b" >/dev/null 2>&1 || fail "'$b' not found: install Debian packages slurmctld slurmd slurm-client munge"
  done
  stop_daemons quiet
  mkdir -p "$S"/{etc,munge,munge-run,run,log,state,spool} || fail "cannot create $S"
  rm -f "$ERR_FILE"
  chmod 0755 "$S" "$S/munge-run"   # munged refuses a socket directory not executable by all
  chmod 0700 "$S/munge" "$S/state"
  if [ ! -s "$S/munge/munge.key" ]; then
    dd if=/dev/urandom of="$S/munge/munge.key" bs=1024 count=1 status=none ||
      fail "cannot write the munge key"
  fi
  chmod 0400 "$S/munge/munge.key"
  write_conf
  for p in "$CTLD_PORT" "$SLURMD_PORT"; do
    port_busy "$p" && fail "port $p is in use (set ECOBRAIN_SLURMCTLD_PORT / ECOBRAIN_SLURMD_PORT)"
  done

  munged --socket="$SOCKET" --key-file="$S/munge/munge.key" --pid-file="$S/run/munged.pid" \
    --log-file="$S/log/munged.log" --seed-file="$S/munge/munged.seed" ||
    fail "munged did not start: $(tail -3 "$S/log/munged.log" 2>/dev/null)"
  slurmctld -f "$CONF" ||
    fail "slurmctld did not start: $(tail -3 "$S/log/slurmctld.log" 2>/dev/null)"
  slurmd -f "$CONF" ||
    fail "slurmd did not start: $(tail -3 "$S/log/slurmd.log" 2>/dev/null)"

  local i state=""
  for i in $(seq 1 150); do   # up to 30 s for the node to register
    state=$(node_state)
    case "$state" in idle|mixed|allocated) break ;; esac
    sleep 0.2
  done
  case "$state" in
    idle|mixed|allocated) ;;
    *) fail "node did not become idle (state '${state:-none}'); slurmctld log: $(tail -3 "$S/log/slurmctld.log" 2>/dev/null | tr '\n' ' ') slurmd log: $(tail -3 "$S/log/slurmd.log" 2>/dev/null | tr '\n' ' ')" ;;
  esac
  say "up: node $(hostname -s) $state, partition $PARTITION, config $CONF"
  write_env
}

stop_one() {  # stop_one NAME PIDFILE
  local name=$1 f=$2 pid i
  pid_alive "$f" || { rm -f "$f"; return 0; }
  pid=$(cat "$f")
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name (pid $pid) did not stop in 10 s; sending KILL"
    kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$f"
}

stop_daemons() {
  stop_one slurmd "$S/run/slurmd.pid"
  stop_one slurmctld "$S/run/slurmctld.pid"
  stop_one munged "$S/run/munged.pid"
  [ "${1:-}" = quiet ] || say "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop_daemons; rm -f "$ENV_FILE" ;;
  status)
    if is_up; then
      say "up: node $(hostname -s) $(node_state), config $CONF"
      exit 0
    fi
    say "down ($S)"
    exit 1 ;;
  env) [ -s "$ENV_FILE" ] && cat "$ENV_FILE" || { say "not started"; exit 1; } ;;
  clean) stop_daemons; rm -rf "$S" ;;
  *) sed -n '2,20p' "$0"; exit 2 ;;
esac
