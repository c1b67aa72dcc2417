"""The rule folder written into the graph: one ``Rule`` node per version, with its edges.

``load_rules_into_graph`` writes each version as a ``(:Rule {id: "<rule_id>@<version>"})`` node
with its YAML source text and checksum, ``CITES`` its articles, ``CONCERNS`` its pollutants and
``TARGETS`` its sectors, so an investigator can ask which rules rest on an article. It checks
the whole folder first and writes nothing if anything is wrong; reloading is idempotent.

Apart from :mod:`.rulebase` because the check (:mod:`.check`) reads rule bases from there: the
writer needs the check, the rule base does not.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ecobrain.ontology.legal import split_citation
from ecobrain.reasoning.authoring.check import check_rules
from ecobrain.reasoning.authoring.rulebase import RuleBase
from ecobrain.reasoning.language.dsl import checksum
from ecobrain.reasoning.language.errors import RuleError

_MERGE_RULES = (
    "UNWIND $rows AS r MERGE (n:Rule {id: r.id}) "
    "SET n.rule_id = r.rule_id, n.version = r.version, n.title = r.title, "
    "n.title_en = r.title_en, n.family = r.family, n.effective_from = r.effective_from, "
    "n.effective_to = r.effective_to, n.priority = r.priority, n.status = r.status, "
    "n.active = r.active, n.legal_basis = r.legal_basis, n.concerns = r.concerns, "
    "n.targets = r.targets, n.note = r.note, n.source_quality = r.source_quality, "
    "n.yaml = r.yaml, n.checksum = r.checksum, n.file = r.file, "
    "n.file_yaml = r.file_yaml, n.loaded_at = r.loaded_at, n.table = r.table"
)
_DROP_EDGES = (
    "UNWIND $rows AS r MATCH (n:Rule {id: r.id})-[e]->() "
    "WHERE type(e) IN ['CITES', 'CONCERNS', 'TARGETS'] DELETE e"
)
_CITES = (
    "UNWIND $rows AS r MATCH (n:Rule {id: r.rule}) MATCH (a:Article {id: r.article}) "
    "MERGE (n)-[e:CITES {citation: r.citation}]->(a) SET e.role = r.role"
)
_CONCERNS = (
    "UNWIND $rows AS r MATCH (n:Rule {id: r.rule}) MATCH (c:Concept {id: r.concept}) "
    "MERGE (n)-[:CONCERNS]->(c)"
)
_TARGETS = (
    "UNWIND $rows AS r MATCH (n:Rule {id: r.rule}) MATCH (c:Concept {id: r.concept}) "
    "MERGE (n)-[:TARGETS]->(c)"
)


def rule_rows(base: RuleBase) -> list[dict[str, Any]]:
    rows = []
    for e in base.entries:
        r = e.rule
        model = e.file.model
        rows.append({
            "id": r.key, "rule_id": r.id, "version": r.version, "title": r.title,
            "title_en": r.title_en or "", "family": (model.family if model else None) or "",
            "effective_from": r.effective_from.isoformat() if r.effective_from else "",
            "effective_to": r.effective_to.isoformat() if r.effective_to else "",
            "priority": r.priority, "status": r.status, "active": r.status == "active",
            "legal_basis": list(r.legal_basis), "concerns": list(r.concerns),
            "targets": list(r.targets), "note": r.note or "",
            "source_quality": r.source_quality or "", "yaml": e.source,
            "checksum": checksum(e.source), "file": e.file.display, "file_yaml": e.file.text,
            "loaded_at": "", "table": e.table_key or "",
        })
    return rows


def load_rules_into_graph(store: Any, path: str | Path | None = None) -> dict[str, Any]:
    """Check the rule folder against the graph, then write Rule nodes and edges (idempotent).

    Raises RuleError (nothing written) when the check finds errors. Returns counts.
    """
    started = time.perf_counter()
    report = check_rules(path, store=store)
    if report.errors:
        raise RuleError(report.errors)
    base = report.rule_base
    rows = rule_rows(base)
    cites, concerns, targets = [], [], []
    for e in base.entries:
        r = e.rule
        for cid in r.legal_basis:
            cites.append({"rule": r.key, "article": split_citation(cid)[0], "citation": cid,
                          "role": "basis"})
        for a in r.then:
            esc = getattr(a.spec, "escalation", None)
            for cid in (esc.legal_basis if esc else []):
                cites.append({"rule": r.key, "article": split_citation(cid)[0],
                              "citation": cid, "role": "escalation"})
        concerns += [{"rule": r.key, "concept": c} for c in r.concerns]
        targets += [{"rule": r.key, "concept": c} for c in r.targets]
    # de-duplicate (a citation used as basis and escalation keeps 'basis')
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for c in cites:
        seen.setdefault((c["rule"], c["citation"]), c)
    statements = [(_MERGE_RULES, {"rows": rows}), (_DROP_EDGES, {"rows": rows})]
    if seen:
        statements.append((_CITES, {"rows": list(seen.values())}))
    if concerns:
        statements.append((_CONCERNS, {"rows": concerns}))
    if targets:
        statements.append((_TARGETS, {"rows": targets}))
    summary = store.write_all(statements)
    return {"rules": len(rows), "cites": len(seen), "concerns": len(concerns),
            "targets": len(targets), "files": len(base.files),
            "seconds": round(time.perf_counter() - started, 3), "written": summary.as_dict()}
