"""Shared pieces of the HPC-jobs tests: a baseline run, settings, site templates, waiting.

The baseline is the model adapters' sample run (real IOAPI files on the ZJ3KM grid, ISAM tags
for Hangzhou/Jiaxing/Huzhou industry, Hangzhou vehicles, Ningbo power, outside Zhejiang), two
days long, written once per test process.
"""

from __future__ import annotations

import atexit
import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from ecobrain.hpc_jobs.settings import JobsSettings, SlurmSettings

BASELINE_START = dt.date(2026, 11, 26)
TEMPLATES = Path(__file__).with_name("data") / "hpc_templates"


@cache
def baseline_run() -> Path:
    """A 2-day sample run (written once per process, removed at exit)."""
    from ecobrain.model_adapters.sample_run import write_sample_run

    root = Path(tempfile.mkdtemp(prefix="ecobrain-hpc-baseline-"))
    atexit.register(shutil.rmtree, root, True)
    return write_sample_run(root / "baseline", days=2, seed=0, start=BASELINE_START)


def settings(tmp: Path, *, executor: str = "local", slurm: SlurmSettings | None = None,
             templates: bool = True) -> JobsSettings:
    return JobsSettings(executor=executor, jobs_dir=tmp / "jobs",
                        templates_dir=TEMPLATES if templates else None,
                        poll_interval_s=0.5, slurm=slurm or SlurmSettings())


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.2,
             what: str = "condition") -> Any:
    """Poll `predicate` until truthy; fail with `what` after `timeout` seconds."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def test_request(model: str, *, start_hour: int = 0, **resources: Any) -> dict[str, Any]:
    """A minimal forecast request for a site test model (distinct per start hour)."""
    return {
        "kind": "forecast", "model": model,
        "start": f"2026-11-26T{start_hour:02d}:00:00+08:00", "hours": 24,
        "resources": {"time_limit": "00:05:00", **resources},
    }


test_request.__test__ = False  # type: ignore[attr-defined]  # not a test, despite its name
