"""The model-run manifest ``run.json``: what a run directory holds (docs/model-runs.md).

Validated completely before any netCDF is opened: a typo in a key, a missing field or a file
the manifest names but the directory lacks is reported with the manifest path and the field
(``outputs[2].posterior``), and nothing is read.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ecobrain.model_adapters.errors import ManifestError
from ecobrain.model_adapters.files.run_paths import confined_file, run_roots

MANIFEST_NAME = "run.json"
_REGION_RE = re.compile(r"^\d{6}$")


class TagSpec(BaseModel):
    """What an ISAM user tag stands for: a source region and a sector."""

    model_config = ConfigDict(extra="forbid")

    region: str = Field(description="GB/T 2260 code of the source region, or 'outside'")
    sector: str | None = Field(
        default=None, description="ontology sector id (IronSteel, Power...) or a coarse label"
    )
    description: str | None = None

    @field_validator("region")
    @classmethod
    def _region(cls, v: str) -> str:
        if v != "outside" and not _REGION_RE.match(v):
            raise ValueError(f"region {v!r} is neither a 6-digit GB/T 2260 code nor 'outside'")
        return v


class OutputSpec(BaseModel):
    """One output of the run: a forecast, an ISAM attribution or an inversion."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["forecast", "attribution", "inversion"]
    format: str
    path: str | None = None
    prior: str | None = None
    posterior: str | None = None
    posterior_kind: Literal["absolute", "multiplier"] = Field(
        default="absolute",
        description="'multiplier': the posterior file holds posterior/prior scaling factors",
    )
    posterior_group: str | None = Field(default=None, description="netCDF4 group of posterior")
    tags: dict[str, TagSpec] = Field(default_factory=dict)
    variables: dict[str, str | list[str]] = Field(
        default_factory=dict,
        description="pollutant/species id -> variable name(s) in the file, overriding aliases",
    )
    timestamp: Literal["begin", "instant", "end"] | None = Field(
        default=None, description="override what the file's time stamps mean"
    )
    layer: int = Field(default=0, ge=0, description="model layer to read (0 = surface)")
    bulk: Literal["auto", "file", "forecast"] = Field(
        default="auto", description="attribution: where the bulk concentration comes from"
    )
    description: str | None = None

    @model_validator(mode="after")
    def _files_for_kind(self) -> OutputSpec:
        if self.kind in ("forecast", "attribution") and not self.path:
            raise ValueError(f"a {self.kind} output needs 'path'")
        if self.kind == "inversion" and (not self.prior or not self.posterior):
            raise ValueError("an inversion output needs 'prior' and 'posterior'")
        if self.kind != "attribution" and self.tags:
            raise ValueError("'tags' only belong to attribution outputs")
        return self

    def files(self) -> dict[str, str]:
        """field name -> relative path, for every file this output names."""
        return {k: v for k in ("path", "prior", "posterior") if (v := getattr(self, k))}


class RunManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    model: str | None = None
    init_time: dt.datetime | None = None
    description: str | None = None
    outputs: list[OutputSpec] = Field(min_length=1)

    @field_validator("init_time")
    @classmethod
    def _aware(cls, v: dt.datetime | None) -> dt.datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("init_time needs a UTC offset, e.g. 2026-11-25T12:00:00+08:00")
        return v


@dataclass
class ModelRun:
    """A run directory whose manifest is valid and whose files all exist."""

    run_dir: Path
    manifest: RunManifest

    @property
    def id(self) -> str:
        return self.manifest.id

    def outputs(self, kind: str) -> list[OutputSpec]:
        return [o for o in self.manifest.outputs if o.kind == kind]

    def file(self, rel: str) -> Path:
        return self.run_dir / rel


def _format_validation(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ""
        for p in err["loc"]:
            loc += f"[{p}]" if isinstance(p, int) else (f".{p}" if loc else str(p))
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc or '(top level)'}: {msg}")
    return "; ".join(parts)


def parse_manifest(text: str, where: str) -> RunManifest:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(where, f"is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                            f"{exc.msg})") from exc
    try:
        return RunManifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(where, _format_validation(exc)) from exc


def load_run(run_dir: str | Path) -> ModelRun:
    """Read and check ``RUN_DIR/run.json``: manifest valid, every named file present."""
    run_dir = Path(run_dir)
    path = run_dir / MANIFEST_NAME
    if not run_dir.is_dir():
        raise ManifestError(str(run_dir), "is not a directory")
    if not path.is_file():
        raise ManifestError(str(path), "does not exist; a run directory needs a run.json manifest "
                            "(docs/model-runs.md)")
    manifest = parse_manifest(path.read_text(encoding="utf-8"), str(path))
    missing = []
    where = "the run directory" + (" and the run roots" if run_roots() else "")
    for i, out in enumerate(manifest.outputs):
        for field_name, rel in out.files().items():
            if confined_file(run_dir, rel) is None:
                missing.append(f"outputs[{i}].{field_name}: file {rel!r} is outside {where}")
            elif not (run_dir / rel).is_file():
                missing.append(f"outputs[{i}].{field_name}: file {rel!r} is not in {run_dir}")
    if missing:
        raise ManifestError(str(path), "; ".join(missing))
    return ModelRun(run_dir=run_dir, manifest=manifest)
