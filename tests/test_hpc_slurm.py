"""The Slurm executor against a real one-node Slurm cluster (scripts/slurm-test-cluster.sh).

Submit, run, complete (a stand-in scenario, registered and compared), fail, cancel, time out,
run out of memory, complete without outputs, be refused (bad partition); batched polling; and a
finished job read back from the job-completion log after slurmctld has forgotten it.

The cluster is started by ``./dev.sh test`` (or by hand with ``scripts/slurm-test-cluster.sh
start``); when it is not up, every test here is skipped with the reason. A TIMEOUT takes Slurm
60-90 s on this cluster (one-minute limit + slurmctld's 30 s time-limit sweep), so that job is
submitted first and checked last, while the others run.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from bolt_server import drop_new_graph, open_new_graph
from hpc_helpers import baseline_run, settings, test_request, wait_for

from ecobrain.hpc_jobs.executors import JobState, SlurmExecutor
from ecobrain.hpc_jobs.request import parse_request
from ecobrain.hpc_jobs.scenario import scenario_request
from ecobrain.hpc_jobs.settings import SlurmSettings
from ecobrain.hpc_jobs.tracker import JobTracker
from ecobrain.ontology.graph.config import GraphSettings
from ecobrain.ontology.graph.store import GraphStore

pytestmark = pytest.mark.slurm

SLURM_DIR = Path(os.environ.get("ECOBRAIN_SLURM_DIR", "/tmp/ecobrain-slurm"))


def _slurm_conf() -> str:
    """SLURM_CONF of the test cluster, or skip saying why there is none."""
    env_file = SLURM_DIR / "env"
    if env_file.is_file():
        for line in env_file.read_text().splitlines():
            if line.startswith("export SLURM_CONF="):
                return line.split("=", 1)[1].strip()
    if os.environ.get("SLURM_CONF"):
        return os.environ["SLURM_CONF"]
    why = f"Slurm test cluster not started: no {env_file} and no SLURM_CONF"
    err = SLURM_DIR / "start-error"
    if err.is_file():
        why += f"; last start failed: {err.read_text().strip()}"
    else:
        why += " (run scripts/slurm-test-cluster.sh start, as root)"
    pytest.skip(why)


@pytest.fixture(scope="module")
def slurm() -> SlurmSettings:
    if shutil.which("sbatch") is None:
        pytest.skip("sbatch not installed (Debian: slurm-client; dev.sh installs it as root)")
    s = SlurmSettings(slurm_conf=_slurm_conf())
    state = SlurmExecutor(s).ping()
    if state != "UP":
        pytest.skip(f"slurmctld not reachable: {state}")
    return s


@pytest.fixture(scope="module")
def graph(graph_settings: GraphSettings) -> Iterator[GraphStore]:
    s = open_new_graph(graph_settings, f"test_slurm_{uuid.uuid4().hex[:8]}")  # Bolt: a database
    yield s
    drop_new_graph(s)


@pytest.fixture(scope="module")
def tracker(slurm: SlurmSettings, graph: GraphStore,
            tmp_path_factory: pytest.TempPathFactory) -> JobTracker:
    return JobTracker(graph, settings(tmp_path_factory.mktemp("slurm"), executor="slurm",
                                      slurm=slurm))


@pytest.fixture(scope="module")
def timeout_job(tracker: JobTracker) -> str:
    """Submitted as soon as the module starts: it needs a minute and more to time out."""
    req = parse_request(json.dumps(test_request("sleeper", start_hour=23,
                                                time_limit="00:01:00")))
    return tracker.submit(req, force=True).record.id


@pytest.fixture(scope="module")
def first_done(tracker: JobTracker) -> dict[str, float | str]:
    """A quick job that completes early; read back from the jobcomp log at the end."""
    rec = tracker.submit(parse_request(json.dumps(test_request("quick", start_hour=22))),
                         force=True).record
    tracker.watch(interval=0.5, timeout=60, run_ids=[rec.id])
    rec = tracker.get(rec.id)
    assert rec.state == "REGISTERED", rec.reason
    return {"job_id": rec.job_id or "", "done_at": time.monotonic()}


def _wait(tracker: JobTracker, run_id: str, timeout: float) -> object:
    tracker.watch(interval=0.5, timeout=timeout, run_ids=[run_id])
    return tracker.get(run_id)


def test_scenario_on_slurm_runs_completes_and_is_registered(
        tracker: JobTracker, timeout_job: str, first_done: dict) -> None:
    req = scenario_request(
        [{"id": "adv-hz", "region_code": "330100", "pollutant": "PM2_5",
          "sector": "IndustrialSource", "reduction_pct": 40, "measure": "curtailment"}],
        baseline_run(), resources={"time_limit": "00:10:00", "memory": "4G"})
    rec = tracker.submit(req).record
    assert rec.executor == "slurm" and rec.job_id.isdigit()
    assert "#SBATCH --mem=4G" in rec.script
    rec = _wait(tracker, rec.id, 180)
    assert rec.state == "REGISTERED", (rec.reason, rec.error_tail)
    states = [h["state"] for h in rec.history]
    assert states[0] == "SUBMITTED" and states[-2:] == ["COMPLETED", "REGISTERED"]
    assert rec.scheduler_state == "COMPLETED" and rec.exit_code == "0:0"
    assert rec.followup["comparison"]["summary"]["regions_improved"] > 0


def test_failing_job(tracker: JobTracker) -> None:
    rec = tracker.submit(parse_request(json.dumps(test_request("failer", start_hour=2))),
                         force=True).record
    rec = _wait(tracker, rec.id, 60)
    assert rec.state == "FAILED" and rec.scheduler_state == "FAILED"
    assert rec.exit_code == "3:0" and "exit code 3" in rec.reason
    assert "could not open MET_CRO_3D" in rec.error_tail


def test_cancel_a_running_job(tracker: JobTracker) -> None:
    rec = tracker.submit(parse_request(json.dumps(test_request("sleeper", start_hour=3))),
                         force=True).record
    wait_for(lambda: tracker.refresh([rec.id]) is not None and
             tracker.get(rec.id).state == "RUNNING", 60, interval=0.5, what="RUNNING")
    rec = tracker.cancel(rec.id)
    assert rec.state == "CANCELLED" and rec.scheduler_state.startswith("CANCELLED")
    assert rec.reason.startswith("cancelled")


def test_completed_without_outputs(tracker: JobTracker) -> None:
    rec = tracker.submit(parse_request(json.dumps(test_request("nooutput", start_hour=4))),
                         force=True).record
    rec = _wait(tracker, rec.id, 60)
    assert rec.state == "OUTPUTS_INVALID" and rec.scheduler_state == "COMPLETED"
    assert "completed without its outputs" in rec.reason


def test_out_of_memory(tracker: JobTracker) -> None:
    rec = tracker.submit(parse_request(json.dumps(
        test_request("memhog", start_hour=5, memory="100M"))), force=True).record
    rec = _wait(tracker, rec.id, 90)
    assert rec.state == "OUT_OF_MEMORY", (rec.state, rec.reason, rec.error_tail)
    assert "Exceeded job memory limit" in rec.error_tail
    assert "out of memory" in rec.reason


def test_refused_submission(tracker: JobTracker) -> None:
    rec = tracker.submit(parse_request(json.dumps(
        test_request("quick", start_hour=6, partition="no-such-partition"))), force=True).record
    assert rec.state == "SUBMIT_FAILED" and rec.job_id is None
    assert "sbatch refused the job" in rec.reason and "Invalid partition" in rec.reason


def test_polling_is_batched(slurm: SlurmSettings, tmp_path: Path) -> None:
    ex = SlurmExecutor(slurm)
    script = tmp_path / "s.sh"
    script.write_text(f"#!/bin/bash\n#SBATCH --output={tmp_path}/%j.out\nsleep 2\n")
    ids = [ex.submit(script, tmp_path) for _ in range(4)]
    ex.calls.clear()
    states = ex.poll(ids)
    assert set(states) == set(ids)
    assert all(s.state in (JobState.PENDING, JobState.RUNNING, JobState.COMPLETED)
               for s in states.values())
    assert ex.calls.get("squeue") == 1
    for j in ids:
        ex.cancel(j)


def test_timeout(tracker: JobTracker, timeout_job: str) -> None:
    rec = _wait(tracker, timeout_job, 200)
    assert rec.state == "TIMEOUT" and rec.scheduler_state == "TIMEOUT"
    assert rec.reason.startswith("time limit 00:01:00 reached")


def test_finished_job_read_from_the_jobcomp_log(slurm: SlurmSettings, first_done: dict) -> None:
    ex = SlurmExecutor(slurm)
    job = str(first_done["job_id"])
    # slurmctld forgets finished jobs MinJobAge (30 s here) after they end, at its next purge.
    wait_for(lambda: ex._scontrol(job) is None, 150, interval=2,
             what=f"slurmctld to purge job {job}")
    st = ex.final_state(job)
    assert st.state == JobState.COMPLETED and st.source == "jobcomp" and st.exit_code == "0:0"
    lost = ex.final_state("987654321")
    assert lost.state == JobState.LOST and "not known to slurmctld" in lost.reason
