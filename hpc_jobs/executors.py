"""Executors: where a batch script runs. One interface, two implementations.

- :class:`SlurmExecutor` drives a real cluster through its command-line clients (``sbatch
  --parsable``, ``squeue``, ``scontrol``, ``scancel``, and ``sacct`` when the cluster keeps
  accounting). Polling is batched: one ``squeue`` for every active job; a job squeue no longer
  lists (slurmctld forgets finished jobs after ``MinJobAge``) is looked up once with
  ``scontrol``, then ``sacct``, then the job-completion log (``jobcomp/filetxt``), so a final
  state is read even on clusters without a database daemon.
- :class:`LocalExecutor` runs the script as a detached subprocess on this machine (the default,
  for one-machine users and tests), supervised by :mod:`ecobrain.hpc_jobs.local_runner`, which
  keeps a state file per job so that ``ecobrain jobs watch`` in another process sees it, and
  enforces the script's ``#SBATCH --time`` limit.

Job states are Slurm's own names (:class:`JobState`), mapped faithfully: a TIMEOUT stays a
TIMEOUT, an OUT_OF_MEMORY an OUT_OF_MEMORY. Nothing here touches the graph; the tracker does.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from filelock import FileLock

from ecobrain.hpc_jobs.request import parse_time_limit
from ecobrain.hpc_jobs.settings import JobsSettings, SlurmSettings


class JobState(StrEnum):
    # ecobrain's own, before and after the scheduler
    SUBMITTED = "SUBMITTED"  # node written, scheduler not yet answered
    SUBMIT_FAILED = "SUBMIT_FAILED"  # the scheduler refused the job (or is unreachable)
    LOST = "LOST"  # the scheduler has no trace of the job any more
    REGISTERED = "REGISTERED"  # completed, outputs checked against run.json and registered
    OUTPUTS_INVALID = "OUTPUTS_INVALID"  # completed without the outputs its manifest promises
    # Slurm's job states (squeue/scontrol names)
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUSPENDED = "SUSPENDED"
    COMPLETING = "COMPLETING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMEOUT = "TIMEOUT"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    NODE_FAIL = "NODE_FAIL"
    PREEMPTED = "PREEMPTED"
    BOOT_FAIL = "BOOT_FAIL"
    DEADLINE = "DEADLINE"
    UNKNOWN = "UNKNOWN"  # a state name this version does not know (kept, polled again)


ACTIVE = frozenset({JobState.SUBMITTED, JobState.PENDING, JobState.RUNNING, JobState.SUSPENDED,
                    JobState.COMPLETING, JobState.UNKNOWN})
# Slurm base states and flags (slurm.h job_state_string) -> ecobrain state.
_SLURM_STATES: dict[str, JobState] = {
    "PENDING": JobState.PENDING,
    "CONFIGURING": JobState.PENDING,  # nodes allocated and booting
    "REQUEUED": JobState.PENDING,
    "REQUEUE_HOLD": JobState.PENDING,
    "REQUEUE_FED": JobState.PENDING,
    "RESV_DEL_HOLD": JobState.PENDING,
    "SPECIAL_EXIT": JobState.PENDING,  # held after a special exit code
    "RUNNING": JobState.RUNNING,
    "RESIZING": JobState.RUNNING,
    "SIGNALING": JobState.RUNNING,
    "STAGE_OUT": JobState.COMPLETING,
    "COMPLETING": JobState.COMPLETING,
    "SUSPENDED": JobState.SUSPENDED,
    "STOPPED": JobState.SUSPENDED,
    "COMPLETED": JobState.COMPLETED,
    "FAILED": JobState.FAILED,
    "CANCELLED": JobState.CANCELLED,
    "REVOKED": JobState.CANCELLED,  # federation: run on a sibling cluster
    "TIMEOUT": JobState.TIMEOUT,
    "OUT_OF_MEMORY": JobState.OUT_OF_MEMORY,
    "NODE_FAIL": JobState.NODE_FAIL,
    "PREEMPTED": JobState.PREEMPTED,
    "BOOT_FAIL": JobState.BOOT_FAIL,
    "DEADLINE": JobState.DEADLINE,
}
_ABBREV = {"PD": "PENDING", "R": "RUNNING", "CG": "COMPLETING", "CD": "COMPLETED",
           "F": "FAILED", "CA": "CANCELLED", "TO": "TIMEOUT", "OOM": "OUT_OF_MEMORY",
           "NF": "NODE_FAIL", "PR": "PREEMPTED", "BF": "BOOT_FAIL", "DL": "DEADLINE",
           "S": "SUSPENDED", "ST": "STOPPED", "CF": "CONFIGURING", "RQ": "REQUEUED",
           "RS": "RESIZING", "RV": "REVOKED", "SI": "SIGNALING", "SE": "SPECIAL_EXIT",
           "SO": "STAGE_OUT", "RH": "REQUEUE_HOLD", "RF": "REQUEUE_FED",
           "RD": "RESV_DEL_HOLD"}


def map_slurm_state(raw: str) -> JobState:
    """A Slurm state string ('CANCELLED by 0', 'CANCELLED+', 'TO', ...) -> JobState."""
    word = raw.strip().split(" ")[0].rstrip("+").upper()
    word = _ABBREV.get(word, word)
    return _SLURM_STATES.get(word, JobState.UNKNOWN)


class ExecutorError(RuntimeError):
    """The scheduler could not be asked (command missing, timed out, refused)."""


class SubmitError(ExecutorError):
    """The job was not accepted; the message is the scheduler's own."""


@dataclass
class JobStatus:
    job_id: str
    state: JobState
    scheduler_state: str | None = None  # the scheduler's word, as it said it
    reason: str | None = None
    exit_code: str | None = None  # "code:signal" as Slurm prints it
    source: str | None = None  # squeue | scontrol | sacct | jobcomp | local
    start_time: str | None = None
    end_time: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["state"] = str(self.state)
        return d


class Executor(Protocol):
    """Where scripts run. Implementations must never block on a job's completion."""

    name: str

    def submit(self, script: Path, workdir: Path) -> str:
        """Queue `script` to run in `workdir`; returns the job id (raises SubmitError)."""
        ...

    def poll(self, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        """Current state of each job (batched: one scheduler query for all)."""
        ...

    def cancel(self, job_id: str) -> None:
        """Ask the scheduler to stop the job (raises ExecutorError if it refuses)."""
        ...

    def final_state(self, job_id: str) -> JobStatus:
        """The state of one job, also after the scheduler stopped listing it."""
        ...


# --------------------------------------------------------------------------- Slurm


_KV = re.compile(r"(\w+)=(\S*)")


def parse_key_values(text: str) -> dict[str, str]:
    """``Key=Value Key2=Value2`` (scontrol -o, jobcomp/filetxt) -> dict (values without spaces)."""
    return {k: v for k, v in _KV.findall(text)}


class SlurmExecutor:
    """Slurm through its CLIs. Needs only the client commands and a reachable slurmctld."""

    name = "slurm"

    def __init__(self, settings: SlurmSettings | None = None):
        self.settings = settings or SlurmSettings()
        self._config: dict[str, str] | None = None
        self._jobcomp: dict[str, dict[str, str]] = {}
        self._jobcomp_pos = 0
        self._jobcomp_ino: tuple[int, int] | None = None
        self.calls: dict[str, int] = {}  # command -> count (benchmarks, tests)

    # -- plumbing
    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.settings.slurm_conf:
            env["SLURM_CONF"] = self.settings.slurm_conf
        if self.settings.bin_dir:
            env["PATH"] = self.settings.bin_dir + os.pathsep + env.get("PATH", "")
        return env

    def _run(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        self.calls[args[0]] = self.calls.get(args[0], 0) + 1
        try:
            return subprocess.run(list(args), capture_output=True, text=True, env=self._env(),
                                  timeout=self.settings.command_timeout_s, check=False)
        except FileNotFoundError as exc:
            where = f" (looked in {self.settings.bin_dir} and PATH)" if self.settings.bin_dir \
                else " on PATH"
            raise ExecutorError(f"'{args[0]}' not found{where}: install the Slurm client "
                                "commands (Debian: slurm-client) or set ECOBRAIN_SLURM_BIN"
                                ) from exc
        except subprocess.TimeoutExpired as exc:
            raise ExecutorError(f"'{' '.join(args)}' did not answer within "
                                f"{self.settings.command_timeout_s:g} s (is slurmctld up?)"
                                ) from exc

    def config(self) -> dict[str, str]:
        """``scontrol show config`` as a dict (cached): jobcomp location, accounting type."""
        if self._config is None:
            cp = self._run(["scontrol", "show", "config"])
            if cp.returncode != 0:
                raise ExecutorError(f"scontrol show config failed: {_msg(cp)}")
            cfg = {}
            for line in cp.stdout.splitlines():
                if " = " in line:
                    k, v = line.split(" = ", 1)
                    cfg[k.strip()] = v.strip()
            self._config = cfg
        return self._config

    def ping(self) -> str:
        """'UP' or the reason slurmctld cannot be reached (tests, `jobs` status lines)."""
        cp = self._run(["scontrol", "ping"])
        if cp.returncode == 0 and "UP" in cp.stdout:
            return "UP"
        return _msg(cp) or cp.stdout.strip() or f"scontrol ping exited {cp.returncode}"

    # -- the interface
    def submit(self, script: Path, workdir: Path) -> str:
        cp = self._run(["sbatch", "--parsable", f"--chdir={workdir}", str(script)])
        if cp.returncode != 0:
            raise SubmitError(f"sbatch refused the job: {_msg(cp) or 'exit ' + str(cp.returncode)}")
        out = cp.stdout.strip().splitlines()
        job_id = out[-1].split(";")[0].strip() if out else ""
        if not re.fullmatch(r"\d+", job_id):
            raise SubmitError(f"sbatch answered {cp.stdout.strip()!r}, not a job id")
        return job_id

    def poll(self, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        ids = [str(j) for j in job_ids]
        if not ids:
            return {}
        out: dict[str, JobStatus] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            cp = self._run(["squeue", "-h", "-t", "all", f"--jobs={','.join(chunk)},",
                            "-o", "%i|%T|%r|%S|%e"])
            if cp.returncode != 0 and "Invalid job id" not in cp.stderr:
                raise ExecutorError(f"squeue failed: {_msg(cp)}")
            for line in cp.stdout.splitlines():
                parts = line.strip().split("|")
                if len(parts) < 3:
                    continue
                jid, raw, reason = parts[0], parts[1], parts[2]
                if jid not in chunk:
                    continue
                st = map_slurm_state(raw)
                out[jid] = JobStatus(jid, st, raw, None if reason in ("None", "") else reason,
                                     source="squeue",
                                     start_time=_time_or_none(parts[3] if len(parts) > 3 else ""),
                                     end_time=_time_or_none(parts[4] if len(parts) > 4 else ""))
        for jid in ids:
            st = out.get(jid)
            # Gone from squeue, or finished: one detailed look for the exit code and reason.
            if st is None or st.state not in ACTIVE:
                out[jid] = self.final_state(jid)
        return out

    def cancel(self, job_id: str) -> None:
        cp = self._run(["scancel", str(job_id)])
        if cp.returncode != 0:
            raise ExecutorError(f"scancel {job_id} failed: {_msg(cp)}")

    def final_state(self, job_id: str) -> JobStatus:
        st = self._scontrol(job_id)
        if st is not None:
            return st
        st = self._sacct(job_id)
        if st is not None:
            return st
        st = self._from_jobcomp(job_id)
        if st is not None:
            return st
        return JobStatus(job_id, JobState.LOST, None,
                         "not known to slurmctld (purged after MinJobAge), not in accounting and "
                         "not in the job-completion log", source="none")

    # -- lookups for finished jobs
    def _scontrol(self, job_id: str) -> JobStatus | None:
        cp = self._run(["scontrol", "-o", "show", "job", str(job_id)])
        if cp.returncode != 0:
            if "Invalid job id" in cp.stderr:
                return None
            raise ExecutorError(f"scontrol show job {job_id} failed: {_msg(cp)}")
        kv = parse_key_values(cp.stdout)
        if "JobState" not in kv:
            return None
        return _status_from_kv(job_id, kv, "scontrol")

    def _sacct(self, job_id: str) -> JobStatus | None:
        try:
            acct = self.config().get("AccountingStorageType", "accounting_storage/none")
        except ExecutorError:
            return None
        if acct.endswith("/none"):
            return None
        cp = self._run(["sacct", "-X", "-n", "-P", "-j", str(job_id),
                        "-o", "JobID,State,ExitCode,Reason,Start,End"])
        if cp.returncode != 0:
            return None
        for line in cp.stdout.splitlines():
            p = line.split("|")
            if p and p[0] == str(job_id) and len(p) >= 3:
                reason = p[3] if len(p) > 3 and p[3] not in ("None", "") else None
                return JobStatus(job_id, map_slurm_state(p[1]), p[1], reason, p[2], "sacct",
                                 _time_or_none(p[4] if len(p) > 4 else ""),
                                 _time_or_none(p[5] if len(p) > 5 else ""))
        return None

    def _from_jobcomp(self, job_id: str) -> JobStatus | None:
        try:
            cfg = self.config()
        except ExecutorError:
            return None
        if cfg.get("JobCompType", "").lower() != "jobcomp/filetxt":
            return None
        loc = cfg.get("JobCompLoc")
        if not loc or not os.path.isfile(loc):
            return None
        self._read_jobcomp(Path(loc))
        kv = self._jobcomp.get(str(job_id))
        return _status_from_kv(job_id, kv, "jobcomp") if kv else None

    def _read_jobcomp(self, path: Path) -> None:
        """Read the log incrementally: only the lines added since the last call."""
        stat = path.stat()
        ino = (stat.st_dev, stat.st_ino)
        if ino != self._jobcomp_ino or stat.st_size < self._jobcomp_pos:
            self._jobcomp_ino, self._jobcomp_pos = ino, 0  # new or rotated file
        if stat.st_size == self._jobcomp_pos:
            return
        with path.open("rb") as fh:
            fh.seek(self._jobcomp_pos)
            data = fh.read()
        end = data.rfind(b"\n") + 1  # a line being written stays for next time
        self._jobcomp_pos += end
        for line in data[:end].decode("utf-8", "replace").splitlines():
            kv = parse_key_values(line)
            if "JobId" in kv:
                self._jobcomp[kv["JobId"]] = kv  # the last record of an id wins


def _msg(cp: subprocess.CompletedProcess[str]) -> str:
    lines = [x.strip() for x in (cp.stderr or "").splitlines() if x.strip()]
    lines = [x.removeprefix("sbatch: error: ").removeprefix("squeue: error: ") for x in lines]
    return "; ".join(lines[-3:])


def _time_or_none(v: str) -> str | None:
    v = v.strip()
    return None if v in ("", "N/A", "Unknown", "None") else v


def _status_from_kv(job_id: str, kv: Mapping[str, str], source: str) -> JobStatus:
    raw = kv.get("JobState", "")
    reason = kv.get("Reason")
    return JobStatus(job_id, map_slurm_state(raw), raw,
                     None if reason in (None, "", "None") else reason,
                     kv.get("ExitCode"), source, _time_or_none(kv.get("StartTime", "")),
                     _time_or_none(kv.get("EndTime", "")),
                     {k: kv[k] for k in ("StdErr", "StdOut", "DerivedExitCode") if k in kv})


# --------------------------------------------------------------------------- local


_DIRECTIVE = re.compile(r"^#SBATCH\s+(.*)$")


def script_directives(script_text: str) -> dict[str, str]:
    """``#SBATCH --key=value`` / ``-t value`` lines of a script (long names as keys)."""
    short = {"-t": "time", "-o": "output", "-e": "error", "-J": "job-name", "-p": "partition"}
    out: dict[str, str] = {}
    for line in script_text.splitlines():
        m = _DIRECTIVE.match(line.strip())
        if not m:
            if line.strip() and not line.startswith("#"):
                break  # sbatch stops reading directives at the first command
            continue
        arg = m.group(1).strip()
        if arg.startswith("--"):
            k, _, v = arg[2:].partition("=")
            out[k] = v
        else:
            k, _, v = arg.partition(" ")
            if k in short:
                out[short[k]] = v.strip()
    return out


def _write_json_atomic(path: Path, doc: dict[str, object]) -> None:
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, object] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def pid_alive(pid: int | None, started: float | None = None) -> bool:
    """The process exists (and, if `started` is given, is the one that started then)."""
    if not pid:
        return False
    try:
        import psutil

        p = psutil.Process(int(pid))
        if p.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(p.create_time() - float(started)) < 1.0
    except Exception:
        return False


class LocalExecutor:
    """Scripts as detached processes on this machine, one state file per job."""

    name = "local"

    def __init__(self, jobs_dir: Path):
        self.state_dir = Path(jobs_dir) / "local"
        self.state_dir.mkdir(parents=True, exist_ok=True)

    def state_file(self, job_id: str) -> Path:
        if not re.fullmatch(r"local-[0-9a-f]{12}", job_id):
            raise ExecutorError(f"{job_id!r} is not a local job id")
        return self.state_dir / f"{job_id}.json"

    def lock(self, job_id: str) -> FileLock:
        return FileLock(str(self.state_file(job_id)) + ".lock", timeout=10)

    def submit(self, script: Path, workdir: Path) -> str:
        script, workdir = Path(script).resolve(), Path(workdir).resolve()
        if not script.is_file():
            raise SubmitError(f"script {script} does not exist")

        d = script_directives(script.read_text(encoding="utf-8"))
        try:
            limit = parse_time_limit(d["time"]) if d.get("time") else None
        except ValueError as exc:
            raise SubmitError(f"{script}: #SBATCH --time: {exc}") from exc
        job_id = f"local-{uuid.uuid4().hex[:12]}"
        state = {
            "job_id": job_id, "state": "PENDING", "script": str(script), "workdir": str(workdir),
            "stdout": d.get("output") or str(workdir / f"{job_id}.out"),
            "stderr": d.get("error") or str(workdir / f"{job_id}.err"),
            "time_limit_s": limit, "submitted_at": time.time(), "runner_pid": None,
            "runner_started": None, "child_pid": None, "exit_code": None, "reason": None,
        }
        path = self.state_file(job_id)
        _write_json_atomic(path, state)
        try:
            subprocess.Popen(
                [sys.executable, "-m", "ecobrain.hpc_jobs.local_runner", str(path)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, close_fds=True, cwd=str(workdir))
        except OSError as exc:
            state.update(state="FAILED", reason=f"could not start the local runner: {exc}")
            _write_json_atomic(path, state)
            raise SubmitError(f"could not start the local runner: {exc}") from exc
        return job_id

    def _status(self, job_id: str) -> JobStatus:
        path = self.state_file(job_id)
        doc = _read_json(path)
        if doc is None:
            return JobStatus(job_id, JobState.LOST, None, f"no state file {path}", source="local")
        raw = str(doc.get("state"))
        st = JobState(raw) if raw in JobState.__members__ else JobState.UNKNOWN
        reason = doc.get("reason")
        if st in ACTIVE:
            pid, started = doc.get("runner_pid"), doc.get("runner_started")
            age = time.time() - float(doc.get("submitted_at") or 0)
            if (pid and not pid_alive(int(pid), started)) or (not pid and age > 60):
                # The supervisor died without writing a final state (machine restarted,
                # killed): say so rather than report RUNNING for ever.
                with self.lock(job_id):
                    doc = _read_json(path) or doc
                    if str(doc.get("state")) == raw:
                        doc.update(state="LOST", reason="the local runner "
                                   f"(pid {pid or 'never started'}) is gone without a final state")
                        _write_json_atomic(path, doc)
                st, reason = JobState(str(doc["state"])), doc.get("reason")
        ec = doc.get("exit_code")
        return JobStatus(job_id, st, str(doc.get("state")), str(reason) if reason else None,
                         None if ec is None else str(ec), "local",
                         _iso(doc.get("started_at")), _iso(doc.get("ended_at")))

    def poll(self, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        return {j: self._status(j) for j in job_ids}

    def final_state(self, job_id: str) -> JobStatus:
        return self._status(job_id)

    def cancel(self, job_id: str) -> None:
        path = self.state_file(job_id)
        with self.lock(job_id):
            doc = _read_json(path)
            if doc is None:
                raise ExecutorError(f"unknown local job {job_id}")
            state = str(doc.get("state"))
            if state not in ("PENDING", "RUNNING"):
                raise ExecutorError(f"local job {job_id} is already {state}")
            pid = doc.get("runner_pid")
            if not pid:
                # Not started yet: the runner sees CANCELLED and never starts the script.
                doc.update(state="CANCELLED", reason="cancelled before it started",
                           ended_at=time.time())
                _write_json_atomic(path, doc)
                return
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGTERM)  # the runner stops the script's process group
        deadline = time.time() + 15
        while time.time() < deadline:
            if str((_read_json(path) or {}).get("state")) not in ("PENDING", "RUNNING"):
                return
            time.sleep(0.05)
        raise ExecutorError(f"local job {job_id} did not stop within 15 s")


def _iso(t: object) -> str | None:
    if not t:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(float(t)))  # type: ignore[arg-type]


def make_executor(settings: JobsSettings, name: str | None = None) -> Executor:
    """The configured executor (or the one named, for jobs submitted under another setting)."""
    which = name or settings.executor
    if which == "slurm":
        return SlurmExecutor(settings.slurm)
    if which == "local":
        return LocalExecutor(settings.jobs_dir)
    raise ExecutorError(f"unknown executor {which!r} (local or slurm)")
