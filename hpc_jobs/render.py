"""Batch scripts from Jinja2 templates: one template per model, readable by the operators.

A script is what an operator would have written by hand: ``#SBATCH`` lines for the resources,
the site's ``module load`` and setup lines, the model's environment, the model, and as its last
step the run's ``run.json`` manifest — so a finished job hands over a run directory the model
adapters can read. The same script runs under Slurm and under the local executor (which reads
its ``--time``, ``--output`` and ``--error`` lines).

Built-in templates (``hpc_jobs/templates``): ``cmaq`` -> ``cctm.sh.j2`` (CMAQ CCTM: forecast,
attribution with ISAM, scenario with DESID scaling), ``standin`` -> ``standin.sh.j2`` (the
stand-in model, scenarios only). A site adds or overrides models by putting ``<model>.sh.j2``
in ``ECOBRAIN_JOBS_TEMPLATES``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import shlex
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from ecobrain.hpc_jobs.request import RunRequest
from ecobrain.hpc_jobs.settings import JobsSettings

BUILTIN_DIR = Path(__file__).with_name("templates")
# model -> (template file, kinds it runs; None = any)
BUILTIN_MODELS: dict[str, tuple[str, frozenset[str] | None]] = {
    "cmaq": ("cctm.sh.j2", frozenset({"forecast", "attribution", "scenario"})),
    "standin": ("standin.sh.j2", frozenset({"scenario"})),
}


class RenderError(ValueError):
    """A script cannot be written for this request with these settings (says what is missing)."""


@dataclass
class JobContext:
    """What a template needs besides the request and the settings."""

    run_id: str
    request_id: str
    workdir: Path
    outdir: Path
    created: dt.datetime
    baseline_dir: Path | None = None
    desid: dict[str, str] = field(default_factory=dict)  # files written for the job
    manifest: dict[str, Any] | None = None  # run.json the script writes (CCTM)

    @property
    def stdout(self) -> Path:
        return self.workdir / "job.out"

    @property
    def stderr(self) -> Path:
        return self.workdir / "job.err"


def available_models(settings: JobsSettings) -> dict[str, frozenset[str] | None]:
    models = {name: kinds for name, (_, kinds) in BUILTIN_MODELS.items()}
    if settings.templates_dir and Path(settings.templates_dir).is_dir():
        for p in Path(settings.templates_dir).glob("*.sh.j2"):
            name = p.name.removesuffix(".sh.j2")
            builtin = next((m for m, (f, _) in BUILTIN_MODELS.items() if f == p.name), None)
            models[builtin or name] = models.get(builtin or name) if builtin else None
    return models


def _template_name(model: str, settings: JobsSettings) -> str:
    if settings.templates_dir and (Path(settings.templates_dir) / f"{model}.sh.j2").is_file():
        return f"{model}.sh.j2"
    if model in BUILTIN_MODELS:
        return BUILTIN_MODELS[model][0]
    raise RenderError(f"no template for model {model!r}")


def _environment(settings: JobsSettings) -> jinja2.Environment:
    return _environment_for(str(settings.templates_dir) if settings.templates_dir else None)


@cache
def _environment_for(templates_dir: str | None) -> jinja2.Environment:
    """One environment per template path: compiled templates are cached (and reloaded when a
    template file changes), which halves the cost of a submission."""
    paths = [str(BUILTIN_DIR)]
    if templates_dir:
        paths.insert(0, templates_dir)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # shell, not HTML
    )
    env.filters["sh"] = lambda v: shlex.quote(str(v))
    env.filters["oneline"] = oneline
    return env


def oneline(value: object) -> str:
    """Text safe inside a shell comment: control characters (newlines above all) -> spaces."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", str(value))


def _directives(req: RunRequest, ctx: JobContext, settings: JobsSettings) -> list[str]:
    r = req.resources
    out = [f"--job-name=eb-{ctx.run_id}"[:64],
           f"--output={ctx.stdout}",
           f"--error={ctx.stderr}",
           f"--time={_slurm_time(r.time_limit_seconds)}",
           f"--nodes={r.nodes}",
           f"--ntasks={r.tasks}",
           f"--cpus-per-task={r.cpus_per_task}"]
    if r.memory:
        out.append(f"--mem={r.memory}")
    for flag, value in (("--partition", r.partition or settings.slurm.partition),
                        ("--account", r.account or settings.slurm.account),
                        ("--qos", r.qos or settings.slurm.qos)):
        if value:
            out.append(f"{flag}={value}")
    out.extend(settings.slurm.extra_directives)
    return out


def _slurm_time(seconds: int) -> str:
    """Seconds -> D-HH:MM:SS (Slurm keeps minutes; the local executor keeps seconds)."""
    d, rem = divmod(int(seconds), 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    return (f"{d}-" if d else "") + f"{h:02d}:{m:02d}:{s:02d}"


def render_script(req: RunRequest, ctx: JobContext, settings: JobsSettings) -> str:
    """The batch script for `req` (raises RenderError with what is missing)."""
    name = _template_name(req.model, settings)
    env = _environment(settings)
    start_utc = req.start.astimezone(dt.UTC) if req.start else None
    days = math.ceil(req.hours / 24) if req.hours else None
    values = {
        "req": req,
        "ctx": ctx,
        "settings": settings,
        "slurm": settings.slurm,
        "cmaq": settings.cmaq,
        "directives": _directives(req, ctx, settings),
        "python": settings.python,
        "start_utc": start_utc,
        "days": days,
        "manifest_json": json.dumps(ctx.manifest, ensure_ascii=False, indent=2)
        if ctx.manifest is not None else None,
        "created": ctx.created.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if name == "cctm.sh.j2":
        _check_cctm(req, ctx, settings)
    try:
        return env.get_template(name).render(**values)
    except jinja2.UndefinedError as exc:
        raise RenderError(f"template {name}: {exc}") from exc
    except jinja2.TemplateError as exc:
        raise RenderError(f"template {name}: {exc}") from exc


def _check_cctm(req: RunRequest, ctx: JobContext, settings: JobsSettings) -> None:
    missing = []
    if req.start is None or req.hours is None:
        missing.append("the request's start and hours (CCTM runs a set period)")
    if not settings.cmaq.site_env:
        missing.append("cmaq.site_env (the site file that sets met, emissions, IC/BC inputs)")
    if req.kind == "scenario" and not (settings.cmaq.desid_chem_nml
                                       and settings.cmaq.desid_ctrl_nml):
        missing.append("cmaq.desid_chem_nml and cmaq.desid_ctrl_nml (the build's DESID "
                       "namelists that the scenario's rules and regions are added to)")
    if req.kind == "attribution" and not settings.cmaq.isam_control:
        missing.append("cmaq.isam_control (the ISAM control file, SA_IOLIST)")
    if missing:
        raise RenderError("a CMAQ " + req.kind + " run needs " + "; ".join(missing) +
                          " in the jobs configuration (docs/hpc-jobs.md)")


def cctm_manifest(req: RunRequest, ctx: JobContext, tags: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """The run.json a CCTM job writes at its end (files merged over the run's days)."""
    outputs: list[dict[str, Any]] = [{"kind": "forecast", "format": "ioapi",
                                      "path": f"CCTM_ACONC_{ctx.run_id}.nc"}]
    if req.kind == "attribution":
        outputs.append({"kind": "attribution", "format": "ioapi",
                        "path": f"CCTM_SA_ACONC_{ctx.run_id}.nc", "tags": tags or {}})
    desc = f"CMAQ CCTM {req.kind} run submitted by ecobrain (request {ctx.request_id})"
    if req.scenario is not None and req.scenario.measure:
        desc += f"; scenario: {req.scenario.measure}"
    return {
        "id": ctx.run_id,
        "model": "CMAQ CCTM",
        "init_time": req.start.isoformat() if req.start else None,
        "description": desc,
        "outputs": outputs,
    }
