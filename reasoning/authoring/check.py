"""Static checks of a rule folder: everything that can be wrong before a rule ever runs.

``ecobrain rules check [PATH]`` reports, each as ``file:line [field]: message``:

- YAML syntax and the file format (unknown fields, wrong types, missing fields);
- conditions: syntax, unknown fact types and fields, type mismatches, unknown concepts or
  concepts of the wrong kind, joins to unknown blocks; templates: unknown blocks, fields,
  parameters and filters; deadlines and priorities; conclusions that would chain backwards;
- every concept in ``concerns``/``targets`` and in actions, against the graph's ontology;
- every cited provision (``legal_basis``, escalations) against the graph's articles, and a
  warning when a cited provision is never in force while the rule version is;
- texts shown to readers (actions, descriptions, advice, escalations) that hard-code an
  article number or a fine range (:mod:`.text_lint`): those are rendered from the grounds;
- versions: a duplicate ``id@version``, ``effective_to`` before ``effective_from``, two active
  versions of one rule in force on the same day;
- parameters without a value on a day a rule using them is in force;
- test cases: given facts of unknown types or with unknown fields or concepts, expectations of
  unknown conclusion kinds or fields.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ecobrain.ontology.legal import CitationError, resolve_citation, split_citation
from ecobrain.reasoning.authoring.contradictions import find_contradictions
from ecobrain.reasoning.authoring.rulebase import RuleBase, RuleEntry, load_rule_base
from ecobrain.reasoning.authoring.table_check import verify_file_tables
from ecobrain.reasoning.authoring.text_lint import hard_coded, output_texts
from ecobrain.reasoning.decisions.conclusions import Advice, Alert, Measure, Task
from ecobrain.reasoning.language.compiler import compile_entry
from ecobrain.reasoning.language.concept_index import ConceptIndex
from ecobrain.reasoning.language.dsl import LoadedFile
from ecobrain.reasoning.language.errors import RuleProblem
from ecobrain.reasoning.language.fact_types import CONCLUSION_KINDS, FACT_TYPES, field_spec

CONCLUSION_MODELS = {"alert": Alert, "measure": Measure, "task": Task, "advice": Advice}
EXPECT_EXTRA = ("subject_kind", "subject_id", "subject_name", "rule", "text_contains")


@dataclass
class CheckReport:
    rule_base: RuleBase
    errors: list[RuleProblem] = field(default_factory=list)
    warnings: list[RuleProblem] = field(default_factory=list)
    concepts_source: str = ""
    articles_checked: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def files(self) -> list[str]:
        return [f.display for f in self.rule_base.files]

    @property
    def rule_count(self) -> int:
        return len(self.rule_base.entries)

    def add(self, p: RuleProblem) -> None:
        (self.errors if p.severity == "error" else self.warnings).append(p)


def check_rules(path: str | Path | None = None, store: Any = None, *,
                concepts: ConceptIndex | None = None,
                check_articles: bool = True) -> CheckReport:
    base, problems = load_rule_base(path, strict=False)
    report = CheckReport(rule_base=base)
    for p in problems:
        report.add(p)
    concepts = concepts or ConceptIndex.for_store(store)
    report.concepts_source = concepts.source
    bad_cells: set[tuple[str, str]] = set()  # (file, "tables[i].rows"): cells reported
    for f in base.files:
        for t, verdict in enumerate(verify_file_tables(f, concepts)):
            for p in verdict.problems:
                report.add(p)
            if not verdict.verified:
                bad_cells.add((f.display, f"tables[{t}].rows"))
    for e in base.entries:
        _check_entry(e, concepts, report, skip=bad_cells)
    _check_versions(base, report)
    for p in find_contradictions(base, concepts):
        report.add(p)
    if check_articles and store is not None:
        _check_articles(base, store, report)
        report.articles_checked = True
    for f in base.files:
        _check_tests(f, concepts, report)
    report.errors.sort(key=_order)
    report.warnings.sort(key=_order)
    return report


def _order(p: RuleProblem) -> tuple[str, int, str]:
    return (p.file or "", p.line or 0, p.message)


def _check_entry(e: RuleEntry, concepts: ConceptIndex, report: CheckReport,
                 skip: set[tuple[str, str]] = frozenset()) -> None:  # type: ignore[assignment]
    r = e.rule
    if r.effective_to is not None and r.effective_to < r.starts:
        report.add(e.problem(f"effective_to {r.effective_to} is before effective_from "
                             f"{r.effective_from}", "effective_to"))
    if r.status == "active" and not r.legal_basis:
        report.add(e.problem("an active rule cites at least one provision", "legal_basis"))
    for i, c in enumerate(r.concerns):
        _concept(e, concepts, c, ("Pollutant",), report, "concerns", i)
    for i, c in enumerate(r.targets):
        _concept(e, concepts, c, ("SourceCategory", "Sector"), report, "targets", i)
    for j, a in enumerate(r.then):
        for path, text in output_texts(a):
            found = hard_coded(text)
            if found:
                report.add(e.problem(
                    f"{'.'.join(path)} hard-codes {found!r}: legal references and fines are "
                    "rendered from the grounds in force on the decision date; cite the "
                    "provision in legal_basis instead", "then", j, a.kind, *path))
    _, probs = compile_entry(e, concepts, r.starts)
    for p in probs:
        if (p.file or "", p.field or "") not in skip:  # a table's cells: reported per cell
            report.add(p)
    for name, param in e.params.items():
        used = f"param.{name}" in (e.source or "")
        if used and param.value_on(r.starts) is None:
            report.add(e.problem(f"parameter '{name}' has no value on {r.effective_from} "
                                 "(the rule's first day)", "effective_from"))


def _concept(e: RuleEntry, concepts: ConceptIndex, cid: str, kinds: tuple[str, ...],
             report: CheckReport, *path: str | int) -> None:
    if cid not in concepts:
        report.add(e.problem(f"unknown concept '{cid}'" + concepts.suggest(cid, kinds), *path))
    elif not any(concepts.has_kind(cid, k) for k in kinds):
        report.add(e.problem(f"'{cid}' is not a {'/'.join(kinds)}", *path))


def _check_versions(base: RuleBase, report: CheckReport) -> None:
    by_id: dict[str, list[RuleEntry]] = defaultdict(list)
    for e in base.entries:
        by_id[e.rule.id].append(e)
    for rid, entries in sorted(by_id.items()):
        seen: dict[int, RuleEntry] = {}
        for e in entries:
            if e.rule.version in seen:
                first = seen[e.rule.version]
                report.add(e.problem(f"{rid} version {e.rule.version} is defined twice (also "
                                     f"{first.file.display}:{first.file.line(*first.path())})",
                                     "version"))
            seen[e.rule.version] = e
        active = sorted((e for e in entries if e.rule.status == "active"),
                        key=lambda e: e.rule.version)
        for i, a in enumerate(active):
            for b in active[i + 1:]:
                if _overlap(a.rule.starts, a.rule.effective_to, b.rule.starts,
                            b.rule.effective_to):
                    first = max(a.rule.starts, b.rule.starts)
                    fix = (f": end version {a.rule.version} the day before (effective_to: "
                           f"{b.rule.starts - timedelta(days=1)})"
                           if b.rule.effective_from else "")
                    report.add(b.problem(
                        f"{rid} versions {a.rule.version} and {b.rule.version} are both in "
                        f"force on {first if first != date.min else 'the same days'}{fix}",
                        "effective_from"))


def _overlap(a0: date, a1: date | None, b0: date, b1: date | None) -> bool:
    return a0 <= (b1 or date.max) and b0 <= (a1 or date.max)


def _check_articles(base: RuleBase, store: Any, report: CheckReport) -> None:
    cited: dict[str, list[tuple[RuleEntry, tuple[str | int, ...]]]] = defaultdict(list)
    for e in base.entries:
        for i, cid in enumerate(e.rule.legal_basis):
            cited[cid].append((e, ("legal_basis", i)))
        for j, a in enumerate(e.rule.then):
            esc = getattr(a.spec, "escalation", None)
            for i, cid in enumerate(esc.legal_basis if esc else []):
                cited[cid].append((e, ("then", j, a.kind, "escalation", "legal_basis", i)))
    if not cited:
        return
    article_ids = sorted({split_citation(c)[0] for c in cited if _parsable(c)})
    rows = store.read("MATCH (a:Article) WHERE a.id IN $ids RETURN a.id AS id, "
                      "a.valid_from AS valid_from, a.valid_to AS valid_to", {"ids": article_ids})
    known = {r["id"]: r for r in rows}
    if not store.read("MATCH (a:Article) RETURN a.id AS id LIMIT 1"):
        first = next(iter(cited.values()))[0]
        report.add(first[0].problem("the graph holds no articles: load the regulations first "
                                    "(ecobrain kb load)", "legal_basis"))
        return
    for cid, uses in sorted(cited.items()):
        if not _parsable(cid):
            for e, path in uses:
                report.add(e.problem(f"not a citation id: {cid!r}", *path))
            continue
        art = split_citation(cid)[0]
        message = None
        if art not in known:
            message = f"cites {cid}: no article {art!r} in the graph" + _near(art, store)
        elif cid != art:
            try:
                resolve_citation(store, cid)
            except CitationError as exc:
                message = str(exc)
        for e, path in uses:
            if message:
                report.add(e.problem(message, *path))
                continue
            row = known[art]
            vf = date.fromisoformat(row["valid_from"]) if row.get("valid_from") else date.min
            vt = date.fromisoformat(row["valid_to"]) if row.get("valid_to") else date.max
            r = e.rule
            if not _overlap(vf, vt, r.starts, r.effective_to):
                report.add(e.problem(
                    f"cites {cid}, which is never in force while this version is "
                    f"({r.effective_from} to {r.effective_to or '…'}; the provision: "
                    f"{row.get('valid_from') or '…'} to {row.get('valid_to') or '…'})",
                    *path, severity="warning"))


def _parsable(cid: str) -> bool:
    try:
        split_citation(cid)
        return True
    except CitationError:
        return False


def _near(article_id: str, store: Any) -> str:
    import difflib

    prefix = article_id.rsplit(".", 1)[0]
    rows = store.read("MATCH (a:Article) WHERE a.regulation_id = $r RETURN a.id AS id",
                      {"r": prefix})
    close = difflib.get_close_matches(article_id, [r["id"] for r in rows], n=3, cutoff=0.8)
    return f"; did you mean {', '.join(close)}?" if close else ""


def _check_tests(f: LoadedFile, concepts: ConceptIndex, report: CheckReport) -> None:
    if f.model is None:
        return
    for t, case in enumerate(f.model.tests):
        ids: set[str] = set()
        for g, fact in enumerate(case.given):
            path = ("tests", t, "given", g)
            ftype = fact.get("type")
            if ftype not in FACT_TYPES:
                report.add(f.problem(f"unknown fact type {ftype!r} (known: "
                                     f"{', '.join(FACT_TYPES)})", *path, "type"))
                continue
            fid = fact.get("id")
            if fid is not None:
                if fid in ids:
                    report.add(f.problem(f"two given facts have the id {fid!r}", *path, "id"))
                ids.add(str(fid))
            for name, value in fact.items():
                spec = field_spec(ftype, name)
                if name == "sid":
                    continue
                if spec is None:
                    report.add(f.problem(f"unknown field '{name}' of {ftype}", *path, name))
                    continue
                vals = value if isinstance(value, list) else [value]
                if spec.type in ("concept", "concept_list"):
                    for v in vals:
                        if v in spec.extra_values:
                            continue
                        if v not in concepts:
                            report.add(f.problem(f"unknown concept {v!r}"
                                                 + concepts.suggest(str(v), spec.kinds),
                                                 *path, name))
        for key in ("expect", "forbid"):
            for x, exp in enumerate(getattr(case, key)):
                path = ("tests", t, key, x)
                if len(exp) != 1:
                    report.add(f.problem("an expectation is {kind: {field: value}}", *path))
                    continue
                kind, fields = next(iter(exp.items()))
                if kind not in CONCLUSION_KINDS:
                    report.add(f.problem(f"unknown conclusion kind {kind!r} (one of "
                                         f"{', '.join(CONCLUSION_KINDS)})", *path))
                    continue
                allowed = set(CONCLUSION_MODELS[kind].model_fields) | set(EXPECT_EXTRA)
                for name in fields or {}:
                    if name not in allowed:
                        report.add(f.problem(f"{kind} has no field '{name}' (fields: "
                                             f"{', '.join(sorted(allowed))})", *path, kind,
                                             name))
