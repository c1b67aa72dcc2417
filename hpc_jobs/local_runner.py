"""The local executor's supervisor: runs one batch script and keeps its state file true.

``python -m ecobrain.hpc_jobs.local_runner STATE_FILE`` is started detached by
:class:`~ecobrain.hpc_jobs.executors.LocalExecutor`. It plays the part of slurmd for one job:
RUNNING with its pid, the script's output and errors to the ``#SBATCH --output/--error`` files,
the ``--time`` limit enforced (TERM to the script's process group, KILL 5 s later -> TIMEOUT),
SIGTERM from a cancel -> CANCELLED, and the exit code -> COMPLETED or FAILED. Every write is
atomic and under the job's lock, so ``jobs watch`` in another process reads whole states.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from filelock import FileLock

from ecobrain.hpc_jobs.executors import _read_json, _write_json_atomic

KILL_WAIT_S = 5.0


def _update(path: Path, lock: FileLock, **changes: object) -> dict[str, object]:
    with lock:
        doc = _read_json(path) or {}
        doc.update(changes)
        _write_json_atomic(path, doc)
        return doc


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """TERM the script's process group, then KILL what is left after KILL_WAIT_S."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=KILL_WAIT_S)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def run(state_path: Path) -> int:
    import psutil

    lock = FileLock(str(state_path) + ".lock", timeout=10)
    cancelled = False
    proc: subprocess.Popen[bytes] | None = None

    def on_term(signum: int, frame: object) -> None:
        nonlocal cancelled
        cancelled = True
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_term)  # before RUNNING is visible to a canceller
    me = psutil.Process(os.getpid())
    with lock:
        doc = _read_json(state_path)
        if doc is None:
            return 2
        if doc.get("state") != "PENDING":
            return 0  # cancelled before it started
        doc.update(state="RUNNING", runner_pid=os.getpid(), runner_started=me.create_time(),
                   started_at=time.time())
        _write_json_atomic(state_path, doc)

    workdir = Path(str(doc["workdir"]))
    limit = doc.get("time_limit_s")
    out_path, err_path = Path(str(doc["stdout"])), Path(str(doc["stderr"]))
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        err_path.parent.mkdir(parents=True, exist_ok=True)
        with out_path.open("ab") as out, err_path.open("ab") as err:
            env = dict(os.environ, ECOBRAIN_JOB_ID=str(doc["job_id"]))
            if not cancelled:
                proc = subprocess.Popen(["bash", str(doc["script"])], cwd=str(workdir),
                                        stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                        start_new_session=True, env=env)
                _update(state_path, lock, child_pid=proc.pid)
            timed_out = False
            rc = 0
            if proc is not None:
                deadline = time.monotonic() + float(limit) if limit else None
                while True:
                    try:
                        left = None if deadline is None else max(0.0, deadline - time.monotonic())
                        rc = proc.wait(timeout=left)
                        break
                    except subprocess.TimeoutExpired:
                        timed_out = True
                        err.write(f"ecobrain local executor: job over its time limit of {limit} s;"
                                  " stopped\n".encode())
                        err.flush()
                        _stop_group(proc)
                        rc = proc.returncode
                        break
                if cancelled:
                    _stop_group(proc)  # leftovers of the group, after KILL_WAIT_S
    except OSError as exc:
        _update(state_path, lock, state="FAILED", exit_code="1:0",
                reason=f"could not start the script: {exc}", ended_at=time.time())
        return 0
    now = time.time()
    if cancelled:
        _update(state_path, lock, state="CANCELLED", exit_code="0:15",
                reason="cancelled (TERM to the job's processes)", ended_at=now)
    elif timed_out:
        _update(state_path, lock, state="TIMEOUT", exit_code="0:15",
                reason=f"time limit of {limit:g} s reached", ended_at=now)
    elif rc == 0:
        _update(state_path, lock, state="COMPLETED", exit_code="0:0", ended_at=now)
    elif rc < 0:
        _update(state_path, lock, state="FAILED", exit_code=f"0:{-rc}",
                reason=f"killed by signal {signal.Signals(-rc).name}", ended_at=now)
    else:
        _update(state_path, lock, state="FAILED", exit_code=f"{rc}:0",
                reason="NonZeroExitCode", ended_at=now)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m ecobrain.hpc_jobs.local_runner STATE_FILE", file=sys.stderr)
        return 2
    return run(Path(args[0]))


if __name__ == "__main__":
    sys.exit(main())
