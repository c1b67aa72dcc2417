"""The rule base: rule files from a folder (or from the graph), the versions in force on a date.

A rule keeps its ``id`` across versions; each version has an effective period. On a decision
date the rule base offers, per rule id, the one active version in force that day (the checker
refuses overlapping versions), so the same episode is graded by the 2017 rules on 2023-12-01
and by the 2024 rules on 2024-03-01 without anyone editing a rule.

``load_rules_into_graph`` writes each version as a ``(:Rule {id: "<rule_id>@<version>"})`` node
with its YAML source text and checksum, ``CITES`` its articles, ``CONCERNS`` its pollutants and
``TARGETS`` its sectors, so an investigator can ask which rules rest on an article. It checks
the whole folder first and writes nothing if anything is wrong; reloading is idempotent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from ecobrain.reasoning.language.dsl import (
    LoadedFile,
    Rule,
    checksum,
    display_name,
    parse_rule_file,
    validate_model,
)
from ecobrain.reasoning.language.errors import RuleError, RuleProblem


def bundled_rules_dir() -> Path:
    """The rule base v1 shipped with ecobrain (``rules/`` -> ``ecobrain.rules``)."""
    return Path(str(resources.files("ecobrain.rules")))


@dataclass(frozen=True)
class RuleEntry:
    """A rule version with where it came from (for errors and for the graph)."""

    rule: Rule
    file: LoadedFile
    index: int  # position in the file's `rules:` list

    @property
    def key(self) -> str:
        return self.rule.key

    @property
    def source(self) -> str:
        srcs = self.file.rule_sources
        return srcs[self.index] if self.index < len(srcs) else ""

    def path(self, *rest: str | int) -> tuple[str | int, ...]:
        return ("rules", self.index, *rest)

    def problem(self, message: str, *rest: str | int, severity: str = "error") -> RuleProblem:
        return self.file.problem(message, *self.path(*rest), severity=severity)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.file.model.parameters) if self.file.model else {}


@dataclass
class RuleBase:
    """Rule files and their rules (all versions)."""

    files: list[LoadedFile] = field(default_factory=list)
    root: Path | None = None
    origin: str = "folder"

    @property
    def entries(self) -> list[RuleEntry]:
        return [RuleEntry(r, f, i) for f in self.files for i, r in enumerate(f.rules)]

    def entry(self, key: str) -> RuleEntry:
        for e in self.entries:
            if e.key == key:
                return e
        raise KeyError(key)

    def in_force(self, on: date, *, include_drafts: bool = False) -> list[RuleEntry]:
        """Per rule id, the version in force on `on` (active ones; drafts on request)."""
        allowed = {"active", "draft"} if include_drafts else {"active"}
        chosen: dict[str, RuleEntry] = {}
        for e in self.entries:
            r = e.rule
            if r.status in allowed and r.in_force(on):
                prev = chosen.get(r.id)
                if prev is None or r.version > prev.rule.version:
                    chosen[r.id] = e
        return [chosen[k] for k in sorted(chosen)]

    def for_file(self, file: LoadedFile) -> RuleBase:
        return RuleBase([file], self.root, self.origin)

    @property
    def fingerprint(self) -> str:
        return checksum("\n".join(f"{f.display}:{checksum(f.text)}" for f in self.files))[:16]


def rule_files(path: str | Path | None = None) -> tuple[list[Path], Path]:
    """The ``*.yaml``/``*.yml`` files under `path` (a folder or one file), sorted."""
    p = Path(path) if path is not None else bundled_rules_dir()
    if p.is_file():
        return [p], p.parent
    if not p.is_dir():
        raise RuleError(RuleProblem(f"no such rule file or folder: {p}"))
    files = sorted(x for x in p.rglob("*") if x.suffix in (".yaml", ".yml") and x.is_file())
    return files, p


def load_rule_base(path: str | Path | None = None, *, strict: bool = True
                   ) -> tuple[RuleBase, list[RuleProblem]]:
    """Read and validate the files (schema only; :mod:`.check` does the deep checks).

    With `strict`, any problem raises RuleError; otherwise the problems are returned and the
    files that validated are kept.
    """
    files, root = rule_files(path)
    base = RuleBase(root=root)
    problems: list[RuleProblem] = []
    single = path is not None and Path(path).is_file()
    for f in files:
        shown = str(path) if single else display_name(f, root.parent)
        try:
            loaded = parse_rule_file(f, display=shown)
        except RuleError as exc:
            problems.extend(exc.problems)
            continue
        errs = validate_model(loaded)
        problems.extend(errs)
        if not errs:
            base.files.append(loaded)
    if strict and problems:
        raise RuleError(problems)
    return base, problems


# -- the graph ---------------------------------------------------------------------------------

_MERGE_RULES = (
    "UNWIND $rows AS r MERGE (n:Rule {id: r.id}) "
    "SET n.rule_id = r.rule_id, n.version = r.version, n.title = r.title, "
    "n.title_en = r.title_en, n.family = r.family, n.effective_from = r.effective_from, "
    "n.effective_to = r.effective_to, n.priority = r.priority, n.status = r.status, "
    "n.active = r.active, n.legal_basis = r.legal_basis, n.concerns = r.concerns, "
    "n.targets = r.targets, n.note = r.note, n.source_quality = r.source_quality, "
    "n.yaml = r.yaml, n.checksum = r.checksum, n.file = r.file, "
    "n.file_yaml = r.file_yaml, n.loaded_at = r.loaded_at"
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
            "loaded_at": "",
        })
    return rows


def load_rules_into_graph(store: Any, path: str | Path | None = None) -> dict[str, Any]:
    """Check the rule folder against the graph, then write Rule nodes and edges (idempotent).

    Raises RuleError (nothing written) when the check finds errors. Returns counts.
    """
    from ecobrain.ontology.legal import split_citation
    from ecobrain.reasoning.authoring.check import check_rules

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


def rules_from_graph(store: Any) -> RuleBase:
    """The rule base as stored in the graph (each file's text as it was loaded)."""
    rows = store.read("MATCH (n:Rule) WHERE n.file_yaml IS NOT NULL "
                      "RETURN n.file AS file, n.file_yaml AS text ORDER BY file")
    base = RuleBase(origin="graph")
    seen: set[str] = set()
    for r in rows:
        if r["file"] in seen:
            continue
        seen.add(r["file"])
        loaded = parse_rule_file(Path(r["file"]), text=r["text"], display=f"graph:{r['file']}")
        problems = validate_model(loaded)
        if problems:
            raise RuleError(problems)
        base.files.append(loaded)
    return base


def rule_nodes(store: Any) -> list[dict[str, Any]]:
    return store.read(
        "MATCH (n:Rule) OPTIONAL MATCH (n)-[c:CITES]->(a:Article) "
        "RETURN n.id AS id, n.title AS title, n.effective_from AS effective_from, "
        "n.effective_to AS effective_to, n.status AS status, n.priority AS priority, "
        "collect(c.citation) AS cites ORDER BY id")


def as_of(value: date | str | None) -> date:
    if value is None:
        return date.today()
    return value if isinstance(value, date) else date.fromisoformat(str(value))
