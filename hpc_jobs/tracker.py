"""Model-run jobs in the graph: submit, follow, register — every job a ``(:ModelRun)`` node.

A job's node is MERGEd on the id of the run it will produce (the id its ``run.json`` carries), so
the decision pipeline later finds the same node. It holds the request (JSON) and its content id,
the executor and job id, the rendered script, the work and output directories, the state with its
history (JSON list of {state, at, reason}), and on failure the tail of the job's error log.

States (see :class:`~ecobrain.hpc_jobs.executors.JobState`): SUBMITTED -> PENDING -> RUNNING ->
COMPLETED -> REGISTERED (outputs checked against run.json) or OUTPUTS_INVALID; or one of the
scheduler's failures (FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, PREEMPTED, BOOT_FAIL,
DEADLINE), SUBMIT_FAILED (the scheduler refused or could not be reached) or LOST (it forgot the
job). Every end state carries its reason; nothing waits for ever. A state only moves forward:
each transition is a compare-and-set on the old state, so two ``jobs watch`` processes never
register a run twice.

The same request (same :func:`~ecobrain.hpc_jobs.request.request_id`) is not run twice unless
``force`` is given. When a scenario run is registered its comparison with the baseline is saved
(:mod:`ecobrain.hpc_jobs.compare`); when the request asks for it, ``on_registered`` runs the
decision pipeline — a callback, so this package never imports the API layer.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecobrain.hpc_jobs import desid
from ecobrain.hpc_jobs.compare import compare_runs, save_comparison
from ecobrain.hpc_jobs.executors import (
    ACTIVE,
    Executor,
    ExecutorError,
    JobState,
    JobStatus,
    make_executor,
)
from ecobrain.hpc_jobs.render import (
    JobContext,
    RenderError,
    available_models,
    cctm_manifest,
    render_script,
)
from ecobrain.hpc_jobs.request import (
    RequestError,
    RunRequest,
    check_request,
    load_request,
    parse_request,
    request_id,
)
from ecobrain.hpc_jobs.settings import JobsSettings, jobs_settings
from ecobrain.model_adapters import collect_findings
from ecobrain.model_adapters.errors import ManifestError
from ecobrain.model_adapters.files.manifest import load_run
from ecobrain.ontology.concepts import Ontology
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.ontology.grid import ZJ3KM, GridSpec

ERROR_TAIL_LINES = 40
ERROR_TAIL_BYTES = 8000
STALE_SUBMIT_S = 300.0
_OOM_MARKERS = ("Exceeded job memory limit", "oom-kill", "oom_kill", "Out Of Memory",
                "out of memory", "MemoryError")

Callback = Callable[["ModelRunRecord"], dict[str, Any] | str | None]


class JobNotFound(LookupError):
    """No job with that run id: the API answers 404, the CLI names `ecobrain jobs list`."""


class JobError(RuntimeError):
    """A job operation that cannot be done (cancel a finished job, ...)."""


@dataclass
class ModelRunRecord:
    """A job's ModelRun node, with its JSON fields decoded."""

    id: str
    kind: str
    model: str
    state: str
    request_id: str
    request: dict[str, Any]
    executor: str
    job_id: str | None = None
    scheduler_state: str | None = None
    reason: str | None = None
    exit_code: str | None = None
    name: str | None = None
    script: str | None = None
    script_path: str | None = None
    workdir: str | None = None
    output_dir: str | None = None
    submitted_at: str | None = None
    updated_at: str | None = None
    finished_at: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    error_tail: str | None = None
    outputs_checked: bool = False
    registered: bool = False
    attempt: int = 1
    baseline_run_id: str | None = None
    baseline_dir: str | None = None
    decision_id: str | None = None
    comparison_id: str | None = None
    followup: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def run_request(self) -> RunRequest:
        return RunRequest.model_validate(self.request)

    def as_dict(self, *, with_script: bool = True) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        if not with_script:
            d.pop("script")
        d["active"] = self.active
        return d

    @classmethod
    def from_props(cls, p: dict[str, Any]) -> ModelRunRecord:
        return cls(
            id=p["id"], kind=p.get("kind", ""), model=p.get("model", ""),
            state=p.get("state", "UNKNOWN"), request_id=p.get("request_id", ""),
            request=json.loads(p.get("request_json") or "{}"),
            executor=p.get("executor", ""), job_id=p.get("job_id"),
            scheduler_state=p.get("scheduler_state"), reason=p.get("reason"),
            exit_code=p.get("exit_code"), name=p.get("name"), script=p.get("script"),
            script_path=p.get("script_path"), workdir=p.get("workdir"),
            output_dir=p.get("output_dir"), submitted_at=p.get("submitted_at"),
            updated_at=p.get("updated_at"), finished_at=p.get("finished_at"),
            history=json.loads(p.get("state_history_json") or "[]"),
            error_tail=p.get("error_tail"), outputs_checked=bool(p.get("outputs_checked")),
            registered=bool(p.get("registered")), attempt=int(p.get("attempt") or 1),
            baseline_run_id=p.get("baseline_run_id"), baseline_dir=p.get("baseline_dir"),
            decision_id=p.get("decision_id"), comparison_id=p.get("comparison_id"),
            followup=json.loads(p.get("followup_json") or "{}"),
        )


@dataclass
class SubmitResult:
    record: ModelRunRecord
    created: bool
    message: str


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _age_s(iso: str | None) -> float:
    if not iso:
        return 0.0
    t = dt.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    return (dt.datetime.now(dt.UTC) - t).total_seconds()


def read_error_tail(path: Path | str | None, lines: int = ERROR_TAIL_LINES) -> str | None:
    """The last lines of a job's error log (None when there is none or it is empty)."""
    if not path:
        return None
    p = Path(path)
    try:
        size = p.stat().st_size
        with p.open("rb") as fh:
            fh.seek(max(0, size - ERROR_TAIL_BYTES))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return None
    tail = "\n".join(data.splitlines()[-lines:]).strip()
    return tail or None


class JobTracker:
    """Submit and follow model-run jobs; the graph is the record."""

    def __init__(
        self,
        store: GraphStore,
        settings: JobsSettings | None = None,
        *,
        executor: Executor | None = None,
        on_registered: Callback | None = None,
        compare_scenarios: bool = True,
    ):
        self.store = store
        self.settings = settings or jobs_settings()
        self._executors: dict[str, Executor] = {}
        if executor is not None:
            self._executors[executor.name] = executor
        self.default_executor = executor.name if executor is not None else self.settings.executor
        self.on_registered = on_registered
        self.compare_scenarios = compare_scenarios

    # ------------------------------------------------------------------ helpers
    def executor(self, name: str | None = None) -> Executor:
        name = name or self.default_executor
        if name not in self._executors:
            self._executors[name] = make_executor(self.settings, name)
        return self._executors[name]

    def _grids(self) -> list[str]:
        return ["ZJ3KM", *self.settings.grids]

    def _resolve_baseline(self, ref: str) -> Path | None:
        row = self.store.read_one(
            "MATCH (r:ModelRun {id: $id}) RETURN r.output_dir AS o, r.run_dir AS d",
            {"id": ref})
        if not row:
            return None
        return Path(row["o"] or row["d"]) if (row["o"] or row["d"]) else None

    def get(self, run_id: str) -> ModelRunRecord:
        row = self.store.read_one("MATCH (r:ModelRun {id: $id}) RETURN r", {"id": run_id})
        if not row or not row["r"]["properties"].get("request_id"):
            raise JobNotFound(f"no job {run_id!r} (ecobrain jobs list shows the jobs)")
        return ModelRunRecord.from_props(row["r"]["properties"])

    def list(self, *, state: str | Sequence[str] | None = None, kind: str | None = None,
             active: bool | None = None, limit: int = 200) -> list[ModelRunRecord]:
        where = ["r.request_id IS NOT NULL"]
        params: dict[str, Any] = {"limit": int(limit)}
        if state:
            params["states"] = [state] if isinstance(state, str) else list(state)
            where.append("r.state IN $states")
        if active is not None:
            params["active"] = sorted(str(s) for s in ACTIVE)
            where.append("r.state IN $active" if active else "NOT r.state IN $active")
        if kind:
            params["kind"] = kind
            where.append("r.kind = $kind")
        rows = self.store.read(
            f"MATCH (r:ModelRun) WHERE {' AND '.join(where)} RETURN r "
            "ORDER BY r.submitted_at DESC, r.id LIMIT $limit", params)
        return [ModelRunRecord.from_props(x["r"]["properties"]) for x in rows]

    def _cas(self, run_id: str, old_state: str, props: dict[str, Any]) -> bool:
        """Set `props` only if the node is still in `old_state` (one writer wins)."""
        summary = self.store.write(
            "MATCH (r:ModelRun {id: $id}) WHERE r.state = $old SET r += $props",
            {"id": run_id, "old": old_state, "props": props})
        return summary.properties_set > 0

    def _transition(self, rec: ModelRunRecord, new_state: str, reason: str | None,
                    extra: dict[str, Any] | None = None,
                    history: Iterable[tuple[str, str | None]] | None = None) -> bool:
        now = _now()
        hist = list(rec.history)
        for st, why in (history or [(new_state, reason)]):
            hist.append({"state": st, "at": now, "reason": why})
        props: dict[str, Any] = {"state": new_state, "reason": reason, "updated_at": now,
                                 "state_history_json": json.dumps(hist, ensure_ascii=False)}
        if new_state not in ACTIVE:
            props["finished_at"] = now
        props.update(extra or {})
        ok = self._cas(rec.id, rec.state, props)
        if ok:
            rec.state, rec.reason, rec.history, rec.updated_at = new_state, reason, hist, now
            for k, v in (extra or {}).items():
                if k in rec.__dataclass_fields__:
                    setattr(rec, k, v)
        return ok

    # ------------------------------------------------------------------ submit
    def validate(self, req: RunRequest, source: str = "request") -> tuple[RunRequest, Path | None]:
        """Check the request's meaning; returns it with the baseline as an absolute path."""
        baseline = check_request(
            req, source, models=available_models(self.settings), grids=self._grids(),
            mechanism=self.settings.cmaq.mechanism, resolve_baseline=self._resolve_baseline)
        if req.scenario is not None and baseline is not None:
            req = req.model_copy(update={"scenario": req.scenario.model_copy(
                update={"baseline_run": str(baseline)})})
        return req, baseline

    def submit(self, request: RunRequest | str | Path, *, source: str | None = None,
               force: bool = False) -> SubmitResult:
        """Validate, write the job's files, record the ModelRun, hand the script to the executor.

        Raises RequestError for an invalid request (nothing written). A refused submission is
        not an exception: the ModelRun ends SUBMIT_FAILED with the scheduler's reason.
        """
        if isinstance(request, RunRequest):
            req, src = request, source or "request"
        elif isinstance(request, Path) or (isinstance(request, str) and "\n" not in request
                                           and Path(request).is_file()):
            req, src = load_request(request), str(request)
        else:
            req, src = parse_request(str(request), source or "request"), source or "request"
        req, baseline = self.validate(req, src)
        rid = request_id(req)
        existing = self.store.read(
            "MATCH (r:ModelRun) WHERE r.request_id = $rid RETURN r ORDER BY r.attempt DESC",
            {"rid": rid})
        if existing and not force:
            rec = ModelRunRecord.from_props(existing[0]["r"]["properties"])
            return SubmitResult(rec, False, f"request {rid} was already submitted as {rec.id} "
                                f"(state {rec.state}); use --force to run it again")
        attempt = (max(int(x["r"]["properties"].get("attempt") or 1) for x in existing) + 1
                   if existing else 1)
        run_id = f"{req.kind}-{rid[4:16]}-{attempt}"
        workdir = (Path(self.settings.jobs_dir) / run_id).resolve()
        if workdir.exists():
            shutil.rmtree(workdir)  # left by a submission that died before recording the job
        outdir = workdir / "run"
        workdir.mkdir(parents=True)
        ctx = JobContext(run_id=run_id, request_id=rid, workdir=workdir, outdir=outdir,
                         created=dt.datetime.now(dt.UTC), baseline_dir=baseline)
        try:
            self._write_inputs(req, ctx)
            script = render_script(req, ctx, self.settings)
        except (RenderError, desid.DesidError) as exc:
            shutil.rmtree(workdir, ignore_errors=True)
            raise RequestError(src, [("", str(exc), None)]) from exc
        script_path = workdir / "job.sh"
        script_path.write_text(script, encoding="utf-8")
        script_path.chmod(0o755)
        (workdir / "request.json").write_text(
            json.dumps({"request_id": rid, "name": req.name, **req.canonical()}, indent=2,
                       ensure_ascii=False) + "\n", encoding="utf-8")
        executor = self.executor()
        now = _now()
        baseline_id = None
        if baseline is not None:
            baseline_id = load_run(baseline).id
        props = {
            "kind": req.kind, "model": req.model, "name": req.name, "state": "SUBMITTED",
            "reason": None, "request_id": rid,
            "request_json": req.model_dump_json(), "executor": executor.name,
            "job_id": None, "script": script, "script_path": str(script_path),
            "workdir": str(workdir), "output_dir": str(outdir), "submitted_at": now,
            "updated_at": now, "attempt": attempt, "outputs_checked": False,
            "registered": False, "baseline_run_id": baseline_id,
            "baseline_dir": str(baseline) if baseline else None,
            "decision_id": req.scenario.decision_id if req.scenario else None,
            "state_history_json": json.dumps([{"state": "SUBMITTED", "at": now,
                                               "reason": f"executor {executor.name}"}]),
        }
        statements: list[tuple[str, dict[str, Any]]] = [
            ("MERGE (r:ModelRun {id: $id}) SET r += $props", {"id": run_id, "props": props})]
        if baseline_id:
            statements.append((
                "MATCH (r:ModelRun {id: $id}) MERGE (b:ModelRun {id: $bid}) "
                "SET b.run_dir = coalesce(b.run_dir, $bdir), b.origin = coalesce(b.origin, "
                "'external') MERGE (r)-[:SCENARIO_OF]->(b)",
                {"id": run_id, "bid": baseline_id, "bdir": str(baseline)}))
        if req.scenario is not None and req.scenario.decision_id:
            statements.append((
                "MATCH (r:ModelRun {id: $id}) MATCH (d:Decision {id: $did}) "
                "MERGE (d)-[:TESTED_BY]->(r)", {"id": run_id, "did": req.scenario.decision_id}))
        self.store.write_all(statements)
        rec = self.get(run_id)
        try:
            job_id = executor.submit(script_path, workdir)
        except ExecutorError as exc:
            self._transition(rec, JobState.SUBMIT_FAILED, str(exc))
            return SubmitResult(rec, True, f"{run_id}: submission failed: {exc}")
        self._transition(rec, JobState.PENDING, f"{executor.name} job {job_id}",
                         extra={"job_id": job_id, "scheduler_state": "PENDING"})
        return SubmitResult(rec, True, f"submitted {run_id} as {executor.name} job {job_id}")

    def _write_inputs(self, req: RunRequest, ctx: JobContext) -> None:
        """The DESID files of a scenario; the manifest a CCTM script writes."""
        if req.model == "cmaq":
            ctx.manifest = cctm_manifest(req, ctx)
        if req.scenario is None:
            return

        onto = Ontology()
        mapping = desid.load_mapping()
        mech = self.settings.cmaq.mechanism
        factors = req.scenario.factors
        rules = desid.rules_for_factors(
            factors, mapping, mech, {f.sector: onto.descendants(f.sector) for f in factors})
        ddir = ctx.workdir / "desid"
        ddir.mkdir(parents=True, exist_ok=True)
        title = (f"ecobrain scenario {ctx.run_id} (request {ctx.request_id})"
                 + (f": {req.scenario.measure}" if req.scenario.measure else ""))
        defs = desid.region_defs([f.region for f in factors], mapping)
        cm = self.settings.cmaq
        if req.model == "cmaq":
            assert cm.desid_chem_nml and cm.desid_ctrl_nml  # checked by the renderer first
            chem = desid.merge_chem_namelist(Path(cm.desid_chem_nml).read_text(), rules, title,
                                             cm.desid_chem_nml)
            ctrl = desid.merge_ctrl_namelist(Path(cm.desid_ctrl_nml).read_text(), defs,
                                             cm.desid_ctrl_nml)
            grid = self._grid_spec(req.domain.grid)
            masks = desid.write_region_masks(ddir / "ecobrain_regions.nc", grid,
                                             [f.region for f in factors], mapping)
            ctx.desid["masks"] = str(masks)
        else:
            chem = desid.render_chem_namelist(rules, title)
            ctrl = desid.render_region_namelist(defs, title)
        (ddir / f"CMAQ_Control_DESID_{mech}.nml").write_text(chem, encoding="utf-8")
        (ddir / "CMAQ_Control_DESID.nml").write_text(ctrl, encoding="utf-8")
        ctx.desid.update(chem=str(ddir / f"CMAQ_Control_DESID_{mech}.nml"),
                         ctrl=str(ddir / "CMAQ_Control_DESID.nml"),
                         file_label=mapping.region_file_label)

    def _grid_spec(self, name: str) -> Any:
        if name == "ZJ3KM":
            return ZJ3KM
        g = self.settings.grids[name]
        return GridSpec(name=name, **g.model_dump())

    # ------------------------------------------------------------------ follow
    def refresh(self, run_ids: Sequence[str] | None = None) -> list[ModelRunRecord]:
        """Poll the executors once for the active jobs; apply every change. Returns changed."""
        recs = [self.get(r) for r in run_ids] if run_ids else self.list(active=True, limit=100000)
        recs = [r for r in recs if r.active]
        changed: list[ModelRunRecord] = []
        by_exec: dict[str, list[ModelRunRecord]] = {}
        for r in recs:
            if not r.job_id:
                stale = r.state == JobState.SUBMITTED and _age_s(r.submitted_at) > STALE_SUBMIT_S
                if stale and self._transition(r, JobState.SUBMIT_FAILED, "the submission did "
                                              "not complete (no job id recorded)"):
                    changed.append(r)
                continue
            by_exec.setdefault(r.executor, []).append(r)
        for name, group in by_exec.items():
            try:
                statuses = self.executor(name).poll([r.job_id for r in group if r.job_id])
            except ExecutorError as exc:
                for r in group:  # the scheduler is unreachable: say so, keep the state
                    self.store.write("MATCH (r:ModelRun {id: $id}) SET r.poll_error = $e, "
                                     "r.updated_at = $t", {"id": r.id, "e": str(exc), "t": _now()})
                continue
            for r in group:
                st = statuses.get(r.job_id or "")
                if st is not None and self._apply(r, st):
                    changed.append(r)
        return changed

    def _apply(self, rec: ModelRunRecord, st: JobStatus) -> bool:
        new = str(st.state)
        extra: dict[str, Any] = {"scheduler_state": st.scheduler_state,
                                 "exit_code": st.exit_code, "poll_error": None}
        if new == rec.state and st.scheduler_state == rec.scheduler_state:
            return False
        if st.state in ACTIVE:
            if new == rec.state:  # only the scheduler's word changed (PENDING/CONFIGURING)
                extra.update(reason=st.reason, updated_at=_now())
                if self._cas(rec.id, rec.state, extra):
                    rec.scheduler_state, rec.reason = st.scheduler_state, st.reason
                return False
            return self._transition(rec, new, st.reason, extra)
        if st.state == JobState.COMPLETED:
            return self._complete(rec, st, extra)
        # A failure: keep the error log's tail and say why in one line.
        tail = read_error_tail(Path(rec.workdir or ".") / "job.err")
        reason = _failure_reason(st, rec)
        if st.state == JobState.FAILED and tail and any(m in tail for m in _OOM_MARKERS):
            marker = next(m for m in _OOM_MARKERS if m in tail)
            new = str(JobState.OUT_OF_MEMORY)
            reason = (f"out of memory: the job's error log says '{marker}' (the scheduler "
                      f"reported {st.scheduler_state}, exit {st.exit_code})")
        extra["error_tail"] = tail
        return self._transition(rec, new, reason, extra)

    def _complete(self, rec: ModelRunRecord, st: JobStatus, extra: dict[str, Any]) -> bool:
        outdir = Path(rec.output_dir or "")
        problem = None
        manifest = None
        try:
            run = load_run(outdir)
            manifest = run.manifest
            if manifest.id != rec.id:
                problem = (f"{outdir}/run.json names run {manifest.id!r}, not this job's run "
                           f"{rec.id!r}")
        except ManifestError as exc:
            problem = f"completed without its outputs: {exc}"
        if problem:
            extra["error_tail"] = read_error_tail(Path(rec.workdir or ".") / "job.err")
            return self._transition(rec, JobState.OUTPUTS_INVALID, problem, extra,
                                    history=[("COMPLETED", st.reason),
                                             ("OUTPUTS_INVALID", problem)])
        assert manifest is not None
        extra.update(outputs_checked=True, registered=True, run_dir=str(outdir),
                     run_model=manifest.model,
                     init_time=manifest.init_time.isoformat() if manifest.init_time else None,
                     outputs_json=json.dumps([o.model_dump(exclude_none=True)
                                              for o in manifest.outputs], ensure_ascii=False))
        kinds = sorted({o.kind for o in manifest.outputs})
        why = f"outputs checked against run.json ({', '.join(kinds)})"
        if not self._transition(rec, JobState.REGISTERED, why, extra,
                                history=[("COMPLETED", st.reason), ("REGISTERED", why)]):
            return False
        self._follow_up(rec)
        return True

    def _follow_up(self, rec: ModelRunRecord) -> None:
        """After registration: the scenario comparison, then the decision pipeline if asked."""
        followup: dict[str, Any] = {}
        req = rec.run_request()
        if rec.kind == "scenario" and self.compare_scenarios and rec.baseline_dir:
            try:
                cmp = self.compare(rec)
                followup["comparison"] = {"id": cmp.id, "summary": cmp.summary.model_dump()}
                rec.comparison_id = cmp.id
            except Exception as exc:  # recorded on the node, the run stays registered
                followup["comparison_error"] = f"{type(exc).__name__}: {exc}"
        if req.decide:
            if self.on_registered is None:
                followup["decide_error"] = ("the request asks for the decision pipeline but this "
                                            "process has none configured")
            else:
                try:
                    result = self.on_registered(rec)
                    followup["decide"] = result if isinstance(result, dict) else {
                        "result": result}
                except Exception as exc:
                    followup["decide_error"] = f"{type(exc).__name__}: {exc}"
        if followup:
            rec.followup = followup
            self.store.write(
                "MATCH (r:ModelRun {id: $id}) SET r.followup_json = $f, r.comparison_id = $c",
                {"id": rec.id, "f": json.dumps(followup, ensure_ascii=False, default=str),
                 "c": rec.comparison_id})

    def compare(self, rec: ModelRunRecord) -> Any:
        """Baseline vs this scenario run; saved in the graph (and linked to the decision)."""
        req = rec.run_request()
        base = collect_findings(rec.baseline_dir or "", kinds=["forecast"], stations=[],
                                include_hourly=False)
        scn = collect_findings(rec.output_dir or "", kinds=["forecast"], stations=[],
                               include_hourly=False)
        cmp = compare_runs(base, scn, decision_id=rec.decision_id,
                           measure=req.scenario.measure if req.scenario else None)
        save_comparison(self.store, cmp)
        return cmp

    def cancel(self, run_id: str) -> ModelRunRecord:
        rec = self.get(run_id)
        if not rec.active:
            raise JobError(f"{run_id} is already {rec.state}; nothing to cancel")
        if not rec.job_id:
            self._transition(rec, JobState.CANCELLED, "cancelled before it reached the scheduler")
            return rec
        self.executor(rec.executor).cancel(rec.job_id)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            self.refresh([run_id])
            rec = self.get(run_id)
            if not rec.active:
                break
            time.sleep(0.2)
        return rec

    def watch(self, *, interval: float | None = None, timeout: float | None = None,
              until_idle: bool = True, run_ids: Sequence[str] | None = None,
              on_change: Callable[[ModelRunRecord], None] | None = None) -> list[ModelRunRecord]:
        """Poll until no job is active (or `timeout`); returns every change seen."""
        interval = self.settings.poll_interval_s if interval is None else interval
        start = time.monotonic()
        seen: list[ModelRunRecord] = []
        while True:
            for rec in self.refresh(run_ids):
                seen.append(rec)
                if on_change is not None:
                    on_change(rec)
            active = [r for r in (self.list(active=True, limit=100000) if not run_ids
                                  else [self.get(i) for i in run_ids]) if r.active]
            if until_idle and not active:
                return seen
            if timeout is not None and time.monotonic() - start >= timeout:
                return seen
            time.sleep(interval)


def _failure_reason(st: JobStatus, rec: ModelRunRecord) -> str:
    state = str(st.state)
    code = st.exit_code
    if st.state == JobState.TIMEOUT:
        limit = rec.request.get("resources", {}).get("time_limit")
        return f"time limit {limit} reached" + (f" ({st.reason})" if st.reason else "")
    if st.state == JobState.CANCELLED:
        return "cancelled" + (f" ({st.reason})" if st.reason else "")
    if st.state == JobState.LOST:
        return st.reason or "the scheduler has no trace of the job"
    parts = [state]
    if code:
        rc, _, sig = code.partition(":")
        if rc not in ("", "0"):
            parts.append(f"exit code {rc}")
        if sig not in ("", "0"):
            parts.append(f"signal {sig}")
    if st.reason:
        parts.append(f"({st.reason})")
    return " ".join(parts)
