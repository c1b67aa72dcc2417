#!/usr/bin/env bash
# ecobrain's set-up and run script: the two commands in the README.
#
#   ./dev.sh demo   install (once) and run the main job on the embedded default graph
#   ./dev.sh test   install (once, with test tools) and run the whole test suite on the
#                   embedded FalkorDB, and alongside it the graph-touching tests again over
#                   Bolt (ECOBRAIN_TEST_BOLT_PASS=after: one after the other; =0: not at all;
#                   see docs/neo4j.md)
#   ./dev.sh setup  only install
#
# Installs into ./.venv with the system's Python 3.11+, and — when run as root on Debian —
# the few system packages ecobrain uses (ncdump for model files, CJK fonts for documents,
# a Java runtime for the HermiT OWL reasoner, Slurm + munge for the HPC tests). Without root,
# those are skipped and the features that need them say so.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

log() { printf '\033[1m[dev.sh]\033[0m %s\n' "$*" >&2; }

pick_python() {
  for c in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 &&
       "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$c"; return 0
    fi
  done
  log "Python 3.11 or newer is required (set PYTHON=/path/to/python3.11)"; exit 1
}

SYSTEM_PACKAGES_RUN=(netcdf-bin fonts-wqy-zenhei)
# libreoffice-writer-nogui + poppler-utils: the Word layout test renders the .docx to PDF and
# measures its columns; fonts-liberation2: Times New Roman metrics, as Word lays the text out;
# chromium: the task list's HTML rendered at a phone's width, and the web workbench driven through
# Playwright (pip, dev extra) with this browser (tests skip without them).
SYSTEM_PACKAGES_TEST=(default-jre-headless slurmctld slurmd slurm-client munge
                      libreoffice-writer-nogui poppler-utils fonts-liberation2 chromium)

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "not root or no apt-get: skipping system packages ${missing[*]}"
    return 0
  fi
  log "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d keeps Debian from auto-starting slurm/munge services; ecobrain starts its own.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' RETURN
  fi
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
    apt-get update >/dev/null 2>&1 || true
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
      log "could not install ${missing[*]}; the features that need them will say so"
  }
}

setup() {
  local extras=${1:-}
  apt_install "${SYSTEM_PACKAGES_RUN[@]}"
  [ "$extras" = dev ] && apt_install "${SYSTEM_PACKAGES_TEST[@]}"
  if [ ! -x .venv/bin/python ]; then
    local py; py=$(pick_python)
    log "creating .venv with $py"
    "$py" -m venv .venv
  fi
  local stamp=".venv/.ecobrain-installed${extras:+-$extras}"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    log "installing ecobrain${extras:+ with [$extras]} into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
    touch "$stamp"
  fi
}

case "${1:-}" in
  setup)
    setup dev ;;
  demo)
    setup
    shift
    exec .venv/bin/ecobrain demo "$@" ;;
  test)
    setup dev
    shift
    slurm_script="$ROOT/scripts/slurm-test-cluster.sh"
    # ECOBRAIN_TEST_SLURM=0: leave the Slurm cluster alone (a run nested in another run's tests
    # must not stop the cluster the outer run uses)
    slurm_ours=0
    if [ -x "$slurm_script" ] && [ "${ECOBRAIN_TEST_SLURM:-1}" != 0 ]; then
      slurm_ours=1
      "$slurm_script" start || log "test Slurm cluster did not start; Slurm tests will skip with the reason"
      trap '"$slurm_script" stop >/dev/null 2>&1 || true' EXIT
    fi
    bolt_script="$ROOT/scripts/bolt-test-server.sh"
    bolt_up=0
    # this run holds the checkout's own server (its own state folder and free ports: other
    # checkouts' runs are unaffected); a second run here shares it, the last one stops it
    if "$bolt_script" start --holder $$ >/dev/null; then
      bolt_up=1
      eval "$("$bolt_script" env)"
      # every command here must succeed or be "|| true": under set -e a failing one (kill of a
      # Bolt pass that has already finished) becomes the script's exit status
      trap '[ -z "${bolt_pid:-}" ] || kill "$bolt_pid" 2>/dev/null || true
            "$bolt_script" release $$ >/dev/null 2>&1 || true
            [ "$slurm_ours" = 0 ] || "$slurm_script" stop >/dev/null 2>&1 || true' EXIT
    else
      log "test Bolt server did not start; the Neo4j-store tests will skip"
    fi
    # The Bolt pass: the graph-touching tests again, over Bolt (tests/conftest.py picks them).
    # By default it runs alongside the first pass: each pass keeps about one core busy (pytest
    # and its graph server take turns), so on 2 cores the two together take little longer
    # than the first alone. Its output is shown when both are done.
    bolt_mode=${ECOBRAIN_TEST_BOLT_PASS:-parallel}
    bolt_pid='' bolt_log=''
    bolt_cache=.pytest_cache/bolt-pass   # its own --lf/--ff record: the passes write at once
    if [ "$bolt_up" = 1 ] && [ "$bolt_mode" = parallel ]; then
      bolt_log=$(mktemp "${TMPDIR:-/tmp}/ecobrain-bolt-pass.XXXXXX")
      log "Bolt pass: the graph-touching tests over $ECOBRAIN_TEST_BOLT_URI, alongside"
      ECOBRAIN_TEST_BACKEND=bolt .venv/bin/python -m pytest -o cache_dir="$bolt_cache" "$@" \
        > "$bolt_log" 2>&1 &
      bolt_pid=$!
    fi
    status=0
    .venv/bin/python -m pytest "$@" || status=$?
    bolt_status=0
    if [ -n "$bolt_pid" ]; then
      wait "$bolt_pid" || bolt_status=$?
      log "Bolt pass (ran alongside), its output:"
      cat "$bolt_log"; rm -f "$bolt_log"
    elif [ "$bolt_up" = 1 ] && [ "$bolt_mode" = after ]; then
      log "Bolt pass: the graph-touching tests over $ECOBRAIN_TEST_BOLT_URI"
      ECOBRAIN_TEST_BACKEND=bolt .venv/bin/python -m pytest -o cache_dir="$bolt_cache" "$@" ||
        bolt_status=$?
    elif [ "$bolt_mode" != 0 ]; then
      log "no Bolt pass: the test Bolt server did not start (see above)"
      [ "${CI:-}" = true ] && status=1   # CI must not pass without it
    fi
    # 5 = no test collected: the arguments chose none that touches the graph
    if [ "$bolt_status" != 0 ] && [ "$bolt_status" != 5 ]; then
      log "Bolt pass failed (exit $bolt_status)"
      [ "$status" != 0 ] || status=$bolt_status
    fi
    exit "$status" ;;
  *)
    sed -n '2,12p' "$0"; exit 2 ;;
esac
