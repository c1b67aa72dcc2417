"""The local executor and the job tracker end to end, on a real graph and real processes.

advice -> scenario request -> job (stand-in model, a real subprocess) -> outputs checked and
registered -> comparison with the baseline saved with the decision; and every fault: a job that
fails, times out, is cancelled, completes without outputs, a runner that dies, a scheduler that
is missing, an invalid request, the same request twice.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
import typer
from hpc_helpers import baseline_run, settings, test_request, wait_for
from typer.testing import CliRunner

from ecobrain.api.cli.commands.jobs import register
from ecobrain.hpc_jobs.compare import expected_effect_rows
from ecobrain.hpc_jobs.executors import JobState, LocalExecutor
from ecobrain.hpc_jobs.request import RequestError, parse_request
from ecobrain.hpc_jobs.scenario import ScenarioError, scenario_request
from ecobrain.hpc_jobs.settings import SlurmSettings
from ecobrain.hpc_jobs.tracker import JobError, JobTracker
from ecobrain.ontology.graph.store import GraphStore


def _script(tmp: Path, name: str, body: str, time_limit: str | None = None) -> Path:
    lines = ["#!/bin/bash", f"#SBATCH --output={tmp}/{name}.out",
             f"#SBATCH --error={tmp}/{name}.err"]
    if time_limit:
        lines.append(f"#SBATCH --time={time_limit}")
    p = tmp / f"{name}.sh"
    p.write_text("\n".join([*lines, body, ""]), encoding="utf-8")
    return p


def _final(ex: LocalExecutor, job: str, timeout: float = 30) -> object:
    return wait_for(lambda: (s := ex.poll([job])[job]) and s.state not in
                    (JobState.PENDING, JobState.RUNNING) and s, timeout, what=f"{job} to end")


# --------------------------------------------------------------------------- executor


def test_local_executor_states(tmp_path: Path) -> None:
    ex = LocalExecutor(tmp_path / "jobs")
    ok = ex.submit(_script(tmp_path, "ok", "echo hello; echo note >&2"), tmp_path)
    bad = ex.submit(_script(tmp_path, "bad", "echo boom >&2; exit 3"), tmp_path)
    slow = ex.submit(_script(tmp_path, "slow", "sleep 60", time_limit="00:00:01"), tmp_path)
    s = _final(ex, ok)
    assert (s.state, s.exit_code, s.source) == (JobState.COMPLETED, "0:0", "local")
    assert (tmp_path / "ok.out").read_text() == "hello\n"
    s = _final(ex, bad)
    assert (s.state, s.exit_code, s.reason) == (JobState.FAILED, "3:0", "NonZeroExitCode")
    s = _final(ex, slow)
    assert s.state == JobState.TIMEOUT and "time limit of 1 s" in s.reason
    assert "over its time limit" in (tmp_path / "slow.err").read_text()


def test_local_cancel_running_and_finished(tmp_path: Path) -> None:
    ex = LocalExecutor(tmp_path / "jobs")
    job = ex.submit(_script(tmp_path, "long", "echo started; sleep 60"), tmp_path)
    wait_for(lambda: (tmp_path / "long.out").exists() and
             (tmp_path / "long.out").read_text() == "started\n", 15, what="the job to start")
    ex.cancel(job)
    s = ex.poll([job])[job]
    assert s.state == JobState.CANCELLED and s.exit_code == "0:15"
    child = json.loads(ex.state_file(job).read_text())["child_pid"]
    wait_for(lambda: not _alive(child), 10, what="the script's process to be gone")
    with pytest.raises(Exception, match="already CANCELLED"):
        ex.cancel(job)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_local_runner_killed_is_lost_not_running_for_ever(tmp_path: Path) -> None:
    ex = LocalExecutor(tmp_path / "jobs")
    job = ex.submit(_script(tmp_path, "orphan", "sleep 30"), tmp_path)
    doc = wait_for(lambda: (d := json.loads(ex.state_file(job).read_text())).get("child_pid")
                   and d, 15, what="the runner to start the script")
    os.kill(doc["runner_pid"], signal.SIGKILL)
    wait_for(lambda: not _alive(doc["runner_pid"]) or _zombie(doc["runner_pid"]), 10,
             what="the runner to die")
    s = ex.poll([job])[job]
    assert s.state == JobState.LOST and "local runner" in s.reason
    os.killpg(doc["child_pid"], signal.SIGKILL)


def _zombie(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_local_submit_of_a_missing_script(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="does not exist"):
        LocalExecutor(tmp_path).submit(tmp_path / "none.sh", tmp_path)


# --------------------------------------------------------------------------- tracker


ADVICE = [
    {"id": "adv-1", "region_code": "330100", "pollutant": "PM2_5", "sector": "IndustrialSource",
     "reduction_pct": 50, "measure": "industrial curtailment (orange alert)"},
    {"id": "adv-2", "region_code": "330100", "pollutant": "O3", "sector": "IndustrialSource",
     "reduction_pct": 30, "measure": "VOCs and NOx cuts at industry"},
]


def test_advice_to_scenario_to_outputs_to_comparison(store: GraphStore, tmp_path: Path) -> None:
    store.write("MERGE (d:Decision {id: 'dec-2026-11-25'}) SET d.date = '2026-11-25'")
    calls = []

    def decide(rec):  # stands for `ecobrain decide RUN_DIR` (wired by the API layer)
        calls.append(rec.output_dir)
        return {"decision_id": f"dec-{rec.id}"}

    tracker = JobTracker(store, settings(tmp_path), on_registered=decide)
    req = scenario_request(ADVICE, baseline_run(), decision_id="dec-2026-11-25", decide=True)
    assert {(f.species, f.factor) for f in req.scenario.factors} == {
        ("PM2_5", 0.5), ("NOx", 0.7), ("VOCs", 0.7)}
    result = tracker.submit(req)
    assert result.created and result.record.state == "PENDING"
    rec = result.record
    assert rec.job_id.startswith("local-") and rec.executor == "local"
    assert Path(rec.script_path).read_text() == rec.script
    rules = Path(rec.workdir, "desid", "CMAQ_Control_DESID_cb6r5_ae7_aq.nml").read_text()
    assert "'R330100', 'PT_PETROCHEM', 'All', 'TOL', 'GAS', 0.7, 'UNIT', 'm'," in rules

    tracker.watch(interval=0.3, timeout=120)
    rec = tracker.get(rec.id)
    assert rec.state == "REGISTERED", (rec.reason, rec.error_tail)
    assert rec.outputs_checked and rec.registered
    assert [h["state"] for h in rec.history] == [
        "SUBMITTED", "PENDING", "RUNNING", "COMPLETED", "REGISTERED"] or \
        [h["state"] for h in rec.history] == ["SUBMITTED", "PENDING", "COMPLETED", "REGISTERED"]
    assert calls == [rec.output_dir]
    assert rec.followup["decide"] == {"decision_id": f"dec-{rec.id}"}
    summary = rec.followup["comparison"]["summary"]
    assert summary["regions_improved"] > 0
    # The graph: the scenario run, its baseline, the comparison, the decision's expected effect.
    row = store.read_one(
        "MATCH (d:Decision {id: 'dec-2026-11-25'})-[:TESTED_BY]->(s:ModelRun {id: $id}) "
        "MATCH (s)-[:SCENARIO_OF]->(b:ModelRun) "
        "MATCH (d)-[:EXPECTED_EFFECT]->(c:ScenarioComparison)<-[:HAS_COMPARISON]-(s) "
        "RETURN b.id AS b, b.origin AS origin, c.id AS c", {"id": rec.id})
    assert row == {"b": "zj3km-2026112512", "origin": "external", "c": f"cmp-{rec.id}"}
    hz = expected_effect_rows(store, "dec-2026-11-25", "330100")
    assert len(hz) == 1 and hz[0]["peak_change"] < 0
    assert all(d["change"] <= 0 for d in hz[0]["days"])
    assert hz[0]["measure"] == ("industrial curtailment (orange alert); "
                                "VOCs and NOx cuts at industry")


def test_same_request_twice_needs_force(store: GraphStore, tmp_path: Path) -> None:
    tracker = JobTracker(store, settings(tmp_path))
    req = parse_request(json.dumps(test_request("quick")))
    first = tracker.submit(req)
    again = tracker.submit(req)
    assert not again.created and again.record.id == first.record.id
    assert "already submitted" in again.message and "--force" in again.message
    forced = tracker.submit(req, force=True)
    assert forced.created and forced.record.id != first.record.id
    assert forced.record.attempt == 2 and forced.record.request_id == first.record.request_id
    tracker.watch(interval=0.2, timeout=60)
    assert {r.state for r in tracker.list()} == {"REGISTERED"}
    assert len(tracker.list(state="REGISTERED", kind="forecast")) == 2


def test_failed_job_keeps_its_error_log(store: GraphStore, tmp_path: Path) -> None:
    tracker = JobTracker(store, settings(tmp_path))
    rec = tracker.submit(parse_request(json.dumps(test_request("failer")))).record
    tracker.watch(interval=0.2, timeout=60)
    rec = tracker.get(rec.id)
    assert rec.state == "FAILED" and rec.reason == "FAILED exit code 3 (NonZeroExitCode)"
    assert "could not open MET_CRO_3D" in rec.error_tail and "model crashed" in rec.error_tail
    assert rec.finished_at and not rec.registered


def test_job_without_outputs_is_not_registered(store: GraphStore, tmp_path: Path) -> None:
    tracker = JobTracker(store, settings(tmp_path))
    rec = tracker.submit(parse_request(json.dumps(test_request("nooutput")))).record
    tracker.watch(interval=0.2, timeout=60)
    rec = tracker.get(rec.id)
    assert rec.state == "OUTPUTS_INVALID"
    assert "completed without its outputs" in rec.reason and "run.json" in rec.reason
    assert [h["state"] for h in rec.history][-2:] == ["COMPLETED", "OUTPUTS_INVALID"]


def test_timeout_and_cancel(store: GraphStore, tmp_path: Path) -> None:
    tracker = JobTracker(store, settings(tmp_path))
    slow = tracker.submit(parse_request(json.dumps(
        test_request("sleeper", time_limit="00:00:02")))).record
    long = tracker.submit(parse_request(json.dumps(test_request("sleeper", start_hour=1)))).record
    wait_for(lambda: tracker.refresh() is not None and tracker.get(long.id).state == "RUNNING",
             15, what="the job to run")
    cancelled = tracker.cancel(long.id)
    assert cancelled.state == "CANCELLED" and cancelled.reason.startswith("cancelled")
    with pytest.raises(JobError, match="already CANCELLED"):
        tracker.cancel(long.id)
    tracker.watch(interval=0.2, timeout=60)
    slow = tracker.get(slow.id)
    assert slow.state == "TIMEOUT" and slow.reason.startswith("time limit 00:00:02 reached")
    assert "over its time limit" in slow.error_tail


def test_missing_sbatch_is_a_clear_submit_failure(store: GraphStore, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    tracker = JobTracker(store, settings(tmp_path, executor="slurm",
                                         slurm=SlurmSettings(slurm_conf="/nonexistent")))
    result = tracker.submit(parse_request(json.dumps(test_request("quick"))))
    rec = tracker.get(result.record.id)
    assert rec.state == "SUBMIT_FAILED" and rec.job_id is None
    assert "'sbatch' not found on PATH" in rec.reason and "slurm-client" in rec.reason
    assert tracker.refresh() == []  # nothing left to poll


def test_invalid_request_writes_nothing(store: GraphStore, tmp_path: Path) -> None:
    tracker = JobTracker(store, settings(tmp_path))
    bad = {"kind": "scenario", "model": "standin",
           "scenario": {"baseline_run": str(tmp_path / "none"),
                        "factors": [{"region": "330200", "sector": "Petrochemical",
                                     "species": "VOCs", "factor": 0.8}]}}
    with pytest.raises(RequestError, match=r"baseline run .* not found"):
        tracker.submit(parse_request(json.dumps(bad)))
    assert tracker.list() == []
    assert not (tmp_path / "jobs").exists() or not any((tmp_path / "jobs").iterdir())


def test_advice_that_cannot_become_a_scenario() -> None:
    with pytest.raises(ScenarioError, match="no sector"):
        scenario_request([{"region": "330100", "pollutant": "NOx", "reduction_pct": 10}], "/b")
    with pytest.raises(ScenarioError, match="no suggested reduction"):
        scenario_request([{"region": "330100", "pollutant": "NOx", "sector": "Power"}], "/b")
    with pytest.raises(ScenarioError, match=r"not within 0\.\.100"):
        scenario_request([{"region": "330100", "pollutant": "NOx", "sector": "Power",
                           "reduction_pct": 120}], "/b")
    req = scenario_request([{"region": "330100", "pollutant": "NOx", "sector": "Power"}], "/b",
                           default_reduction_pct=15)
    assert req.scenario.factors[0].factor == 0.85
    assert "default reduction 15 %" in req.scenario.factors[0].note


# --------------------------------------------------------------------------- CLI


def test_cli_submit_list_show_watch_cancel(store: GraphStore, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from hpc_helpers import TEMPLATES

    monkeypatch.setenv("ECOBRAIN_JOBS_DIR", str(tmp_path / "jobs"))
    monkeypatch.setenv("ECOBRAIN_JOBS_TEMPLATES", str(TEMPLATES))
    monkeypatch.setenv("ECOBRAIN_JOBS_EXECUTOR", "local")
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    req = tmp_path / "req.yaml"
    req.write_text(json.dumps(test_request("quick")), encoding="utf-8")
    r = runner.invoke(app, ["jobs", "submit", str(req), "--wait", "--interval", "0.2"])
    assert r.exit_code == 0, r.output
    assert "submitted forecast-" in r.output and "REGISTERED" in r.output
    r = runner.invoke(app, ["jobs", "submit", str(req)])
    assert r.exit_code == 0 and "already submitted" in r.output
    r = runner.invoke(app, ["jobs", "list", "-f", "json"])
    jobs = json.loads(r.output)
    assert len(jobs) == 1 and jobs[0]["state"] == "REGISTERED"
    job_id = jobs[0]["id"]
    r = runner.invoke(app, ["jobs", "show", job_id, "--script"])
    assert r.exit_code == 0 and "#SBATCH --time=00:05:00" in r.output and "history" in r.output

    long = tmp_path / "long.yaml"
    long.write_text(json.dumps(test_request("sleeper")), encoding="utf-8")
    r = runner.invoke(app, ["jobs", "submit", str(long), "-f", "json"])
    sleeper = json.loads(r.output)["job"]["id"]
    r = runner.invoke(app, ["jobs", "cancel", sleeper])
    assert r.exit_code == 0 and "CANCELLED" in r.output
    r = runner.invoke(app, ["jobs", "watch", "--interval", "0.2"])
    assert r.exit_code == 0 and "no active jobs" in r.output
    r = runner.invoke(app, ["jobs", "show", "nope"])
    assert r.exit_code == 1 and "no job 'nope'" in r.output

    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: forecast\nmodel: quick\nhours: -1\n", encoding="utf-8")
    r = runner.invoke(app, ["jobs", "submit", str(bad)])
    assert r.exit_code == 2 and "line 3" in r.output and "hours" in r.output


def test_cli_scenario_from_advice(store: GraphStore, tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    advice = tmp_path / "advice.yaml"
    advice.write_text(json.dumps(ADVICE), encoding="utf-8")
    r = CliRunner().invoke(app, ["jobs", "scenario", str(advice), "--baseline",
                                 str(baseline_run()), "--decision", "dec-1"])
    assert r.exit_code == 0, r.output
    assert "kind: scenario" in r.output and "decision_id: dec-1" in r.output
    assert "species: VOCs" in r.output and "factor: 0.7" in r.output
    time.sleep(0)  # nothing submitted without --submit
    assert store.read_one("MATCH (r:ModelRun) RETURN count(r) AS n")["n"] == 0
