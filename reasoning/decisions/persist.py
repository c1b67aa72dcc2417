"""A decision into the graph: what was decided, for which run, on what grounds and evidence.

``save_decision(store, decision)`` writes::

    (:Decision {id, run_id, date, rule_versions, facts_digest, legal_review_required, ...})
        -[:DECIDED_ON]->(:ModelRun {id})
    (:Decision)-[:HAS_ALERT|HAS_MEASURE|HAS_TASK|HAS_ADVICE]->(:Alert|Measure|Task|Advice)
    (conclusion)-[:ASSIGNED_TO]->(:AdminRegion)        the region (bureau) it is for
    (:Task)-[:ABOUT]->(:Enterprise | :GridCell | :Concept | :AdminRegion)   its subject
    (conclusion)-[:GROUNDED_IN {citation, role, status, in_force, on}]->(:Article)
    (conclusion)-[:EVIDENCED_BY]->(:Finding {id, kind, run_id, json})
    (conclusion)-[:MADE_BY]->(:Rule {id: "<rule_id>@<version>"})

Every node is MERGEd on its content-derived id and every edge MERGEd, all in one unit, so
saving the same decision twice changes nothing. Each conclusion node also keeps its full JSON
(``json``), so documents can be rendered from the graph alone.

The decision also carries a ``revision``: a new random token with every write unit that
changes what a reader of the decision gets (this save, the trace and task actions written after
it, :func:`revision_statement`), and a ``status_version`` counter that each
task status change increments in the same write (:mod:`.task_status`). Together they stamp
everything read from the decision, so an API process may keep a serialised response for as
long as the stamp it read with it is the graph's (``ecobrain.api.http.cache``). The revision
is set by the *last* statement of each unit: a reader that sees a new revision sees the whole
unit. A token rather than a counter: a graph emptied and loaded again cannot repeat one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from ecobrain.ontology.graph.statement_size import row_batches
from ecobrain.ontology.graph.store import GraphStore, Statement, WriteSummary
from ecobrain.reasoning.decisions.conclusions import Conclusion, Decision

BATCH = 2000

_LABELS = {"alert": ("Alert", "HAS_ALERT"), "measure": ("Measure", "HAS_MEASURE"),
           "task": ("Task", "HAS_TASK"), "advice": ("Advice", "HAS_ADVICE")}
CONCLUSION_LABELS = {kind: label for kind, (label, _) in _LABELS.items()}

_DECISION = (
    "MERGE (m:ModelRun {id: $d.run_id}) "
    "MERGE (d:Decision {id: $d.id}) "
    "SET d.run_id = $d.run_id, d.date = $d.date, d.rule_versions = $d.rule_versions, "
    "d.facts_digest = $d.facts_digest, d.legal_review_required = $d.legal_review_required, "
    "d.created_from = $d.created_from, d.alerts = $d.alerts, d.measures = $d.measures, "
    "d.tasks = $d.tasks, d.advice = $d.advice, d.notes = $d.notes, "
    "d.warnings = $d.warnings, d.warnings_json = $d.warnings_json, d.incomplete = $d.incomplete "
    "MERGE (d)-[:DECIDED_ON]->(m)"
)


_REVISION = "MATCH (d:Decision {id: $id}) SET d.revision = $revision"


def revision_statement(decision_id: str) -> Statement:
    """A new revision of the decision: the last statement of a unit that changes what readers
    of the decision (its tasks, alerts, advice, trace, statuses) get."""
    return (_REVISION, {"id": decision_id, "revision": uuid.uuid4().hex})


def _conclusion_query(label: str, rel: str) -> str:
    # `+=`, not `=`: a conclusion's id is derived from its content, so saving it again brings
    # the same properties, and what was added to the node since (the bureau's status and its
    # status_version, the task's actions) stays — saving a decision again never undoes work.
    return (
        f"UNWIND $rows AS r MATCH (d:Decision {{id: r.decision_id}}) "
        f"MERGE (c:{label} {{id: r.id}}) SET c += r.props "
        f"MERGE (d)-[:{rel}]->(c)"
    )


_CONCLUSION_QUERIES = {k: _conclusion_query(*v) for k, v in _LABELS.items()}

def _per_label(template: str) -> dict[str, str]:
    """One constant query per conclusion label (labels cannot be parameters)."""
    return {kind: template.replace("LABEL", label) for kind, (label, _) in _LABELS.items()}


_ASSIGNED = _per_label(
    "UNWIND $rows AS r MATCH (c:LABEL {id: r.id}) "
    "MATCH (g:AdminRegion {code: r.region_code}) MERGE (c)-[:ASSIGNED_TO]->(g)"
)
_ABOUT = {
    "enterprise": "UNWIND $rows AS r MATCH (c:Task {id: r.id}) "
                  "MATCH (s:Enterprise {id: r.subject}) MERGE (c)-[:ABOUT]->(s)",
    "grid_cell": "UNWIND $rows AS r MATCH (c:Task {id: r.id}) "
                 "MATCH (s:GridCell {id: r.subject}) MERGE (c)-[:ABOUT]->(s)",
    "sector": "UNWIND $rows AS r MATCH (c:Task {id: r.id}) "
              "MATCH (s:Concept {id: r.subject}) MERGE (c)-[:ABOUT]->(s)",
    "region": "UNWIND $rows AS r MATCH (c:Task {id: r.id}) "
              "MATCH (s:AdminRegion {code: r.subject}) MERGE (c)-[:ABOUT]->(s)",
}
_GROUNDED = _per_label(
    "UNWIND $rows AS r MATCH (c:LABEL {id: r.id}) "
    "MATCH (a:Article {id: r.article}) "
    "MERGE (c)-[g:GROUNDED_IN {citation: r.citation, role: r.role}]->(a) "
    "SET g.status = r.status, g.in_force = r.in_force, g.on = r.on"
)
_FINDINGS = (
    "UNWIND $rows AS r MERGE (f:Finding {id: r.id}) "
    "SET f.kind = r.kind, f.run_id = r.run_id, f.json = r.payload"
)
# one row per conclusion with all its findings: a conclusion rests on ~40 findings, and a row
# per edge looked the conclusion up (and sent its id) once per finding
_EVIDENCED = _per_label(
    "UNWIND $rows AS r MATCH (c:LABEL {id: r.id}) UNWIND r.findings AS fid "
    "MATCH (f:Finding {id: fid}) MERGE (c)-[:EVIDENCED_BY]->(f)"
)
_RULES = (
    "UNWIND $rows AS r MERGE (n:Rule {id: r.key}) "
    "ON CREATE SET n.rule_id = r.rule_id, n.version = r.version, n.title = r.title"
)
_MADE_BY = _per_label(
    "UNWIND $rows AS r MATCH (c:LABEL {id: r.id}) "
    "MATCH (n:Rule {id: r.rule}) MERGE (c)-[:MADE_BY]->(n)"
)


def _batches(query: str, rows: Sequence[dict[str, Any]]) -> list[Statement]:
    """Cut by count and by encoded size: a long run's conclusions carry large JSON (a 15-day
    run's 1,900 tasks were 17 MB in one batch, over a Bolt server's message limit)."""
    return [(query, {"rows": batch}) for batch in row_batches(rows, max_rows=BATCH)]


def _props(c: Conclusion, decision: Decision) -> dict[str, Any]:
    props: dict[str, Any] = {
        "id": c.id, "kind": c.kind, "decision_id": decision.id, "run_id": decision.run_id,
        "date": decision.decision_date, "region_code": c.region_code,
        "region_name": c.region_name or "", "priority": c.priority,
        "legal_review_required": c.legal_review_required,
        "rule_keys": c.rule_keys, "json": c.model_dump_json(),
    }
    data = c.model_dump()
    for k in ("level", "level_label", "start", "end", "driver", "measure_type", "measure_label",
              "reduction_ratio", "pollutant", "deadline"):
        if data.get(k) is not None:
            props[k] = data[k]
    if c.kind == "task":
        props.update(subject_kind=data["subject"]["kind"], subject_id=data["subject"]["id"],
                     subject_name=data["subject"].get("name") or "",
                     measure_types=data["measure_types"])
    if c.kind == "measure":
        props["pollutants"] = data["pollutants"]
    return props


def save_decision(store: GraphStore, decision: Decision) -> WriteSummary:
    """Write the decision and its conclusions, grounds, evidence and rules (idempotent)."""
    return store.write_all(decision_statements(decision))


def decision_statements(decision: Decision) -> list[Statement]:
    """The statements of :func:`save_decision`, in order (the revision last)."""
    d = decision
    statements: list[Statement] = [(_DECISION, {"d": {
        "id": d.id, "run_id": d.run_id, "date": d.decision_date,
        "rule_versions": d.rule_versions, "facts_digest": d.facts_digest,
        "legal_review_required": d.legal_review_required,
        "created_from": json.dumps(d.created_from, ensure_ascii=False, sort_keys=True),
        "alerts": len(d.alerts), "measures": len(d.measures), "tasks": len(d.tasks),
        "advice": len(d.advice), "notes": d.notes,
        "warnings": [w.message_zh for w in d.warnings],
        "warnings_json": json.dumps([w.model_dump() for w in d.warnings], ensure_ascii=False),
        "incomplete": d.incomplete,
    }})]
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in _LABELS}
    assigned: dict[str, list[dict[str, Any]]] = {k: [] for k in _LABELS}
    grounded: dict[str, list[dict[str, Any]]] = {k: [] for k in _LABELS}
    evidenced: dict[str, list[dict[str, Any]]] = {k: [] for k in _LABELS}
    made_by: dict[str, list[dict[str, Any]]] = {k: [] for k in _LABELS}
    about: dict[str, list[dict[str, Any]]] = {k: [] for k in _ABOUT}
    used_findings: set[str] = set()
    for c in d.conclusions():
        k = c.kind
        rows[k].append({"id": c.id, "decision_id": d.id, "props": _props(c, d)})
        assigned[k].append({"id": c.id, "region_code": c.region_code})
        for g in c.legal_grounds:
            if g.status in ("not_in_graph", "unresolved"):
                continue
            grounded[k].append({"id": c.id, "article": g.article_id,
                             "citation": g.citation_id, "role": g.role, "status": g.status,
                             "in_force": g.in_force, "on": d.decision_date})
        used = [fid for fid in c.evidence if fid in d.findings]
        if used:
            used_findings.update(used)
            evidenced[k].append({"id": c.id, "findings": used})
        for key in c.rule_keys:
            made_by[k].append({"id": c.id, "rule": key})
        if c.kind == "task" and c.subject.kind in about:  # type: ignore[attr-defined]
            about[c.subject.kind].append({"id": c.id, "subject": c.subject.id})  # type: ignore[attr-defined]
    for kind, query in _CONCLUSION_QUERIES.items():
        statements += _batches(query, rows[kind])
    for kind in _LABELS:
        statements += _batches(_ASSIGNED[kind], assigned[kind])
    for kind, query in _ABOUT.items():
        statements += _batches(query, about[kind])
    for kind in _LABELS:
        statements += _batches(_GROUNDED[kind], grounded[kind])
    statements += _batches(_FINDINGS, [d.findings[f].model_dump() for f in sorted(used_findings)])
    for kind in _LABELS:
        statements += _batches(_EVIDENCED[kind], evidenced[kind])
    rule_rows = [{"key": k, "rule_id": info.id, "version": info.version, "title": info.title}
                 for k, info in sorted(d.rules.items())]
    statements += _batches(_RULES, rule_rows)
    for kind in _LABELS:
        statements += _batches(_MADE_BY[kind], made_by[kind])
    statements.append(revision_statement(d.id))
    return statements


def load_decision_conclusions(store: GraphStore, decision_id: str) -> list[dict[str, Any]]:
    """The conclusions of a saved decision as stored (kind, id, json), sorted by id."""
    return store.read(
        "MATCH (d:Decision {id: $id})-[r]->(c) WHERE type(r) IN "
        "['HAS_ALERT', 'HAS_MEASURE', 'HAS_TASK', 'HAS_ADVICE'] "
        "RETURN c.kind AS kind, c.id AS id, c.json AS json ORDER BY id", {"id": decision_id})
