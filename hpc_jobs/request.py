"""Run requests: what model run to ask the cluster for, validated before anything is submitted.

A request is a small YAML or JSON document (docs/hpc-jobs.md): the kind of run (forecast,
attribution, inversion, scenario), the model, the domain, start and length, the resources, and
for a scenario the baseline run and the emission scaling factors by region × sector × species.
Validation happens in two steps so every problem of a file is reported at once, each naming the
file, the field (``scenario.factors[2].sector``) and, for YAML, the line:

1. shape (pydantic): types, required fields, factors ≥ 0, time limits that parse;
2. meaning (:func:`check_request`): regions are Zhejiang GB/T 2260 codes, sectors and species are
   ontology concepts that the DESID mapping table can express, the baseline run exists (its
   ``run.json`` is valid), the model has a template for the kind.

:func:`request_id` is a hash of the request's content (factors in canonical order, the baseline
as an absolute path, the free-text name left out), so the same request submitted twice is
recognised and not run twice unless forced.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ecobrain import safe_yaml
from ecobrain.hpc_jobs.desid import load_mapping
from ecobrain.model_adapters.errors import ManifestError
from ecobrain.model_adapters.files.manifest import load_run
from ecobrain.ontology.concepts import Ontology
from ecobrain.ontology.geography import regions_by_code
from ecobrain.yaml12 import Yaml12Loader

RunKind = Literal["forecast", "attribution", "inversion", "scenario"]
_TIME_RE = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")
_MEM_RE = re.compile(r"^\d+[KMGT]?$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.,:+-]{1,128}$")


class RequestError(ValueError):
    """A request that cannot be run: every problem, each with file, field and line if known."""

    def __init__(self, source: str, problems: Sequence[tuple[str, str, int | None]]):
        self.source = source
        self.problems = list(problems)
        lines = []
        for field, msg, line in self.problems:
            where = f"line {line}, " if line else ""
            lines.append(f"  {where}{field or '(top level)'}: {msg}")
        super().__init__(f"{source}: invalid run request\n" + "\n".join(lines))


def parse_time_limit(value: str) -> int:
    """Slurm's time formats (minutes, MM:SS, HH:MM:SS, D-HH[:MM[:SS]]) -> seconds."""
    m = _TIME_RE.match(value.strip())
    if not m:
        raise ValueError(f"{value!r} is not a time limit (HH:MM:SS, MM, MM:SS or D-HH:MM:SS)")
    days, a, b, c = m.groups()
    nums = [int(x) for x in (a, b, c) if x is not None]
    if days is not None:
        h, mi, s = ([*nums, 0, 0])[:3]
        total = int(days) * 86400 + h * 3600 + mi * 60 + s
    elif len(nums) == 1:
        total = nums[0] * 60
    elif len(nums) == 2:
        total = nums[0] * 60 + nums[1]
    else:
        total = nums[0] * 3600 + nums[1] * 60 + nums[2]
    if total <= 0:
        raise ValueError(f"{value!r}: a time limit must be positive")
    return total


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Resources(_Strict):
    """What the batch system is asked for (#SBATCH lines; the local executor keeps the limit)."""

    nodes: int = Field(default=1, ge=1)
    tasks: int = Field(default=1, ge=1, description="MPI tasks (sbatch --ntasks)")
    cpus_per_task: int = Field(default=1, ge=1)
    memory: str | None = Field(default=None, description="per node, e.g. '64G' (sbatch --mem)")
    time_limit: str = Field(default="01:00:00", description="HH:MM:SS, MM, or D-HH:MM:SS")
    partition: str | None = None
    account: str | None = None
    qos: str | None = None

    @field_validator("time_limit", mode="before")
    @classmethod
    def _quoted(cls, v: Any) -> Any:
        if isinstance(v, int | float) and not isinstance(v, bool):
            raise ValueError(f"got the number {v}: write the time limit as text in quotes "
                             "('01:30:00', '90'); YAML reads an unquoted 1:30:00 as 5400")
        return v

    @field_validator("time_limit")
    @classmethod
    def _time(cls, v: str) -> str:
        parse_time_limit(v)
        return v

    @field_validator("partition", "account", "qos")
    @classmethod
    def _slurm_name(cls, v: str | None) -> str | None:
        if v is not None and not _NAME_RE.match(v):
            raise ValueError(f"{v!r} is not a Slurm name (letters, digits and _ . , : + -)")
        return v

    @field_validator("memory")
    @classmethod
    def _mem(cls, v: str | None) -> str | None:
        if v is not None and not _MEM_RE.match(v):
            raise ValueError(f"{v!r} is not a memory size (e.g. 4096, 500M, 64G)")
        return v

    @property
    def time_limit_seconds(self) -> int:
        return parse_time_limit(self.time_limit)


class Domain(_Strict):
    grid: str = Field(default="ZJ3KM", description="grid name (GRIDDESC / IOAPI GDNAM)")


class ScalingFactor(_Strict):
    """Emissions of `species` from `sector` in `region` are multiplied by `factor`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str = Field(description="GB/T 2260 code: the province, a city or a county")
    sector: str = Field(description="ontology Sector / SourceCategory id, e.g. Petrochemical")
    species: str = Field(description="ontology Pollutant id, e.g. VOCs, NOx, PM2_5, SO2")
    factor: float = Field(ge=0, description="1 = unchanged, 0.8 = a 20 % cut, 0 = switched off")
    note: str | None = None

    @field_validator("factor")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("the factor must be a finite number")
        return v

    @field_validator("region", mode="before")
    @classmethod
    def _code_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v


class ScenarioSpec(_Strict):
    baseline_run: str = Field(
        description="the baseline run: its run directory, or the id of a ModelRun in the graph")
    factors: list[ScalingFactor] = Field(min_length=1)
    measure: str | None = Field(default=None, description="the control measure being tested")
    decision_id: str | None = Field(default=None, description="the decision whose advice it tests")
    advice_ids: list[str] = Field(default_factory=list)


class RunRequest(_Strict):
    kind: RunKind
    model: str = Field(description="'cmaq' (CCTM), 'standin' (the stand-in model) or a site model")
    name: str | None = Field(default=None, description="a label for people; not part of the id")
    domain: Domain = Field(default_factory=Domain)
    start: dt.datetime | None = Field(default=None, description="first hour, with UTC offset")
    hours: int | None = Field(default=None, ge=1, le=24 * 60, description="run length")
    resources: Resources = Field(default_factory=Resources)
    scenario: ScenarioSpec | None = None
    decide: bool = Field(default=False, description="run the decision pipeline on the outputs")

    @field_validator("start")
    @classmethod
    def _aware(cls, v: dt.datetime | None) -> dt.datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("start needs a UTC offset, e.g. 2026-11-25T00:00:00+08:00")
        return v

    @model_validator(mode="after")
    def _kind_fields(self) -> RunRequest:
        if self.kind == "scenario" and self.scenario is None:
            raise ValueError("a scenario request needs 'scenario' (baseline_run and factors)")
        if self.kind != "scenario" and self.scenario is not None:
            raise ValueError(f"'scenario' only belongs to scenario requests, not {self.kind}")
        if self.kind != "scenario" and (self.start is None or self.hours is None):
            raise ValueError(f"a {self.kind} request needs 'start' and 'hours'")
        return self

    def canonical(self) -> dict[str, Any]:
        """The content that identifies the request (see :func:`request_id`)."""
        doc = self.model_dump(mode="json", exclude={"name"})
        sc = doc.get("scenario")
        if sc:
            sc["factors"] = sorted(sc["factors"], key=lambda f: (f["region"], f["sector"],
                                                                 f["species"], f["factor"]))
            sc["advice_ids"] = sorted(sc["advice_ids"])
        return doc


def request_id(req: RunRequest) -> str:
    text = json.dumps(req.canonical(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "req-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------- loading


def _loc(loc: Sequence[Any]) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _yaml_line(root: yaml.Node | None, loc: Sequence[Any]) -> int | None:
    """1-based line of the node at `loc` (or of its nearest existing parent)."""
    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for p in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if k.value == p:
                    nxt = v
                    line = k.start_mark.line + 1
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(p, int) and p < len(node.value):
            node = node.value[p]
            line = node.start_mark.line + 1
        else:
            break
        if node is None:
            break
    return line


def parse_request(text: str, source: str = "request") -> RunRequest:
    """Parse and shape-check a YAML/JSON request (JSON is YAML); raises RequestError."""
    try:
        root = safe_yaml.compose(text, Yaml12Loader)
        doc = safe_yaml.load(text, Yaml12Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise RequestError(source, [("", f"not valid YAML/JSON: {exc}", line)]) from exc
    if not isinstance(doc, dict):
        raise RequestError(source, [("", "the request must be a mapping of fields", None)])
    try:
        return RunRequest.model_validate(doc)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [p for p in err["loc"]]
            msg = err["msg"].removeprefix("Value error, ")
            problems.append((_loc(loc), msg, _yaml_line(root, loc)))
        raise RequestError(source, problems) from exc


def load_request(path: str | Path) -> RunRequest:
    p = Path(path)
    if not p.is_file():
        raise RequestError(str(p), [("", "file not found", None)])
    return parse_request(p.read_text(encoding="utf-8"), str(p))


# --------------------------------------------------------------------------- meaning


BaselineResolver = Callable[[str], Path | None]


def _suggest(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, options, n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def check_request(
    req: RunRequest,
    source: str = "request",
    *,
    models: dict[str, frozenset[str] | None] | None = None,
    grids: Sequence[str] = ("ZJ3KM",),
    mechanism: str = "cb6r5_ae7_aq",
    resolve_baseline: BaselineResolver | None = None,
) -> Path | None:
    """Check what the request means; returns the baseline run directory for scenarios.

    `models` maps a model name to the kinds it can run (None: any kind).
    """
    problems: list[tuple[str, str, int | None]] = []

    def bad(field: str, msg: str) -> None:
        problems.append((field, msg, None))

    if models is not None:
        if req.model not in models:
            bad("model", f"unknown model {req.model!r}; known: {', '.join(sorted(models))}")
        elif (kinds := models[req.model]) is not None and req.kind not in kinds:
            bad("kind", f"model {req.model!r} has no template for {req.kind} runs "
                f"(it runs: {', '.join(sorted(kinds))})")
    if req.domain.grid not in grids:
        bad("domain.grid", f"unknown grid {req.domain.grid!r}; known: {', '.join(grids)} "
            "(site grids are declared under 'grids' in the jobs configuration)")

    baseline: Path | None = None
    if req.scenario is not None:
        onto = Ontology()
        mapping = load_mapping()
        regions = regions_by_code()
        sectors = [c for c, k in onto.concepts.items()
                   if k.kinds & {"Sector", "SourceCategory"}]
        species = [c for c, k in onto.concepts.items() if "Pollutant" in k.kinds]
        seen: dict[tuple[str, str, str], int] = {}
        for i, f in enumerate(req.scenario.factors):
            at = f"scenario.factors[{i}]"
            if f.region not in regions:
                bad(f"{at}.region", f"{f.region!r} is not a Zhejiang region code (GB/T 2260: "
                    "330000, a city such as 330200, or a county such as 330203)")
            if f.sector not in onto.concepts:
                bad(f"{at}.sector", f"unknown sector {f.sector!r}" + _suggest(f.sector, sectors))
            elif f.sector not in sectors:
                bad(f"{at}.sector", f"{f.sector!r} is a {onto.concepts[f.sector].kind}, "
                    "not a Sector or SourceCategory")
            elif not mapping.streams_for(f.sector, onto.descendants(f.sector)):
                bad(f"{at}.sector", f"sector {f.sector!r} has no emission stream in "
                    f"{mapping.source} (add it under 'streams')")
            if f.species not in onto.concepts:
                bad(f"{at}.species", f"unknown species {f.species!r}"
                    + _suggest(f.species, species))
            elif f.species not in species:
                bad(f"{at}.species", f"{f.species!r} is a {onto.concepts[f.species].kind}, "
                    "not a Pollutant")
            elif mapping.targets(f.species, mechanism) is None:
                known = ", ".join(mapping.species_of(mechanism))
                bad(f"{at}.species", f"{f.species!r} has no CMAQ species for mechanism "
                    f"{mechanism} in {mapping.source} (mapped: {known})")
            key = (f.region, f.sector, f.species)
            if key in seen:
                bad(at, f"the same region, sector and species as factors[{seen[key]}]; give one "
                    "factor per combination")
            seen.setdefault(key, i)
        ref = req.scenario.baseline_run
        candidate = Path(ref).expanduser()
        if not candidate.exists() and resolve_baseline is not None:
            resolved = resolve_baseline(ref)
            candidate = resolved if resolved is not None else candidate
        if not candidate.exists():
            bad("scenario.baseline_run", f"baseline run {ref!r} not found: neither a run "
                "directory nor a registered ModelRun with outputs")
        else:
            try:
                baseline = load_run(candidate).run_dir.resolve()
            except ManifestError as exc:
                bad("scenario.baseline_run", f"baseline run is not usable: {exc}")
    if problems:
        raise RequestError(source, problems)
    return baseline
