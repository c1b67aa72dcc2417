#!/usr/bin/env python
"""Benchmark: 200 jobs submitted and tracked through the Slurm executor.

On the one-node test cluster (``scripts/slurm-test-cluster.sh start``; its ``env`` file or
``SLURM_CONF`` says where), with the graph on an embedded FalkorDB in a temporary directory:

1. **submit**: N run requests through :meth:`JobTracker.submit` — validation, request id,
   duplicate check, script rendering, the ModelRun node, ``sbatch --parsable`` — timed as a
   whole and per part (sbatch alone is timed by wrapping the executor);
2. **track**: :meth:`JobTracker.refresh` in a loop until every job is registered, timing each
   poll: one ``squeue`` for all active jobs, one ``scontrol`` per job that finished, the
   graph reads and compare-and-set writes, the check of each finished job's run.json.

The jobs are trivial (``benchmarks/templates/bench.sh.j2`` writes a run.json), so the figures
are ecobrain's and Slurm's overhead, not a model's. Run as root with the cluster up:

    .venv/bin/python benchmarks/bench_slurm.py [--jobs 200] [--interval 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from ecobrain.hpc_jobs.executors import SlurmExecutor
from ecobrain.hpc_jobs.request import parse_request
from ecobrain.hpc_jobs.settings import JobsSettings, SlurmSettings
from ecobrain.hpc_jobs.tracker import JobTracker
from ecobrain.ontology.graph.config import GraphSettings
from ecobrain.ontology.graph.connect import open_store
from ecobrain.ontology.graph.embedded import EmbeddedServer

HERE = Path(__file__).resolve().parent


def slurm_conf() -> str:
    env = Path(os.environ.get("ECOBRAIN_SLURM_DIR", "/tmp/ecobrain-slurm")) / "env"
    if env.is_file():
        for line in env.read_text().splitlines():
            if line.startswith("export SLURM_CONF="):
                return line.split("=", 1)[1]
    if os.environ.get("SLURM_CONF"):
        return os.environ["SLURM_CONF"]
    sys.exit("no test cluster: run scripts/slurm-test-cluster.sh start (as root)")


class TimedExecutor:
    """The Slurm executor, with the time spent in its commands recorded."""

    def __init__(self, inner):  # type: ignore[no-untyped-def]
        self.inner = inner
        self.name = inner.name
        self.submit_s: list[float] = []
        self.poll_s: list[float] = []

    def submit(self, script, workdir):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return self.inner.submit(script, workdir)
        finally:
            self.submit_s.append(time.perf_counter() - t)

    def poll(self, ids):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return self.inner.poll(ids)
        finally:
            self.poll_s.append(time.perf_counter() - t)

    def cancel(self, job_id):  # type: ignore[no-untyped-def]
        return self.inner.cancel(job_id)

    def final_state(self, job_id):  # type: ignore[no-untyped-def]
        return self.inner.final_state(job_id)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--interval", type=float, default=2.0, help="seconds between polls")
    ap.add_argument("--timeout", type=float, default=1200.0)
    ap.add_argument("--json", type=Path, help="write the figures here too")
    a = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ecobrain-bench-slurm-"))
    server = EmbeddedServer(tmp / "graph")
    server.ensure_running()
    gs = GraphSettings(uri=None, user=None, password=None, database="bench",
                       data_dir=tmp / "graph")
    store = open_store(gs, graph=f"bench_{uuid.uuid4().hex[:8]}")
    slurm = SlurmSettings(slurm_conf=slurm_conf())
    settings = JobsSettings(executor="slurm", jobs_dir=tmp / "jobs", slurm=slurm,
                            templates_dir=HERE / "templates")
    raw = SlurmExecutor(slurm)
    if raw.ping() != "UP":
        sys.exit(f"slurmctld not reachable: {raw.ping()}")
    ex = TimedExecutor(raw)
    tracker = JobTracker(store, settings, executor=ex)  # type: ignore[arg-type]
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    requests = [parse_request(json.dumps({
        "kind": "forecast", "model": "bench", "hours": 24,
        "start": (start + dt.timedelta(hours=i)).isoformat(),
        "resources": {"time_limit": "00:05:00", "memory": "64M"}})) for i in range(a.jobs)]
    try:
        t0 = time.perf_counter()
        ids = []
        for req in requests:
            res = tracker.submit(req)
            assert res.record.state == "PENDING", res.message
            ids.append(res.record.id)
        submit_s = time.perf_counter() - t0
        raw.calls.clear()
        polls = []
        t1 = time.perf_counter()
        while True:
            active_before = len(tracker.list(active=True, limit=100000))
            tp = time.perf_counter()
            changed = tracker.refresh()
            dtp = time.perf_counter() - tp
            polls.append({"active": active_before, "changed": len(changed), "s": dtp})
            left = len(tracker.list(active=True, limit=100000))
            if left == 0 or time.perf_counter() - t1 > a.timeout:
                break
            time.sleep(a.interval)
        track_s = time.perf_counter() - t1
        states: dict[str, int] = {}
        for r in tracker.list(limit=100000):
            states[r.state] = states.get(r.state, 0) + 1
        per_job = [p["s"] / p["active"] for p in polls if p["active"]]
        steady = [p for p in polls if p["active"] and p["changed"] == 0]
        steady_per_job = statistics.median([p["s"] / p["active"] for p in steady]) \
            if steady else 0.0
        out = {
            "date": dt.date.today().isoformat(),
            "machine": f"{os.cpu_count()} CPU, {platform.platform()}, Python "
                       f"{platform.python_version()}",
            "jobs": a.jobs,
            "submit_total_s": round(submit_s, 2),
            "submissions_per_s": round(a.jobs / submit_s, 1),
            "sbatch_median_ms": round(statistics.median(ex.submit_s) * 1000, 1),
            "tracker_overhead_per_submit_ms": round(
                (submit_s - sum(ex.submit_s)) / a.jobs * 1000, 1),
            "track_until_all_registered_s": round(track_s, 1),
            "polls": len(polls),
            "poll_s_first": round(polls[0]["s"], 3),
            "poll_per_active_job_ms_median": round(statistics.median(per_job) * 1000, 2),
            "poll_per_active_job_ms_steady_median": round(statistics.median(
                [p["s"] / p["active"] for p in steady]) * 1000, 2) if steady else None,
            "steady_poll_s_at_max_active": round(max(
                (p for p in steady), key=lambda p: p["active"])["s"], 3) if steady else None,
            "executor_poll_s_median": round(statistics.median(ex.poll_s), 3),
            "registration_ms_median": round(statistics.median(
                [(p["s"] - steady_per_job * p["active"]) / p["changed"] * 1000
                 for p in polls if p["changed"]]), 1) if steady else None,
            "slurm_commands_while_tracking": dict(raw.calls),
            "final_states": states,
        }
    finally:
        store.drop_graph()
        store.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out, indent=2))
    if a.json:
        a.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0 if states == {"REGISTERED": a.jobs} else 1


if __name__ == "__main__":
    sys.exit(main())
