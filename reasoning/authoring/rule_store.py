"""Rule versions in the graph: the rule base decisions use, authored and activated by experts.

The graph holds every rule version as a ``(:Rule {id: "<rule_id>@<version>"})`` node with its
YAML (:func:`ecobrain.reasoning.authoring.rule_graph.load_rules_into_graph` writes the bundled
ones at ``ecobrain kb load``). This module adds what rule authoring needs on top of that:

- **the graph's rule base** (:func:`graph_rule_base`): each node's version parsed from the file
  text it was stored with, its lifecycle applied. A version's YAML is immutable once stored;
  its *lifecycle* lives in node properties an expert changes through the API
  (``status_override``: ``active`` / ``retired``), which ``kb load`` never touches, so
  reloading the bundle does not undo an expert's deactivation;
- **validation** of submitted YAML (a rule, or a whole rule file) with the real checker
  (:mod:`.check`): schema, expressions, concepts and cited articles against the graph, every
  problem with its line (counted in the text the author sent) and field;
- **dry runs**: the submitted rule (alone, or with the graph's active rules) on given facts
  through the real engine and merge, nothing saved;
- **new versions** (:func:`save_rule_version`): validated, refused when the id and version
  exist or when an active version of the same rule would be in force on the same days
  (:class:`RuleConflict`), stored as a Rule node with ``CITES``/``CONCERNS``/``TARGETS``;
- **activation and deactivation**, each checked the same way;
- an **audit trail**: every change is an ``(:AuditEvent {id, action, target, by, at,
  detail})`` linked ``-[:ABOUT]->`` the Rule node.

A new version submitted as a single rule inherits the ``parameters`` and ``family`` of the
file its rule id came from (a rule may read ``{param.inspection_days}``), so an expert edits
one rule without copying its whole file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tempfile
import textwrap
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from ecobrain import safe_yaml
from ecobrain.reasoning.authoring.check import check_rules
from ecobrain.reasoning.authoring.contradictions import find_contradictions
from ecobrain.reasoning.authoring.rule_graph import load_rules_into_graph
from ecobrain.reasoning.authoring.rulebase import RuleBase, RuleEntry, state_on
from ecobrain.reasoning.authoring.testing import run_case, run_rule_tests
from ecobrain.reasoning.decisions.conclusions import short_hash
from ecobrain.reasoning.language.concept_index import ConceptIndex
from ecobrain.reasoning.language.decision_table import validate_file
from ecobrain.reasoning.language.dsl import LoadedFile, TestCase, checksum, parse_rule_file
from ecobrain.reasoning.language.errors import RuleError, RuleProblem
from ecobrain.reasoning.language.fact_types import FACT_TYPES, field_spec
from ecobrain.yaml12 import Yaml12Loader

API_FOLDER = "api"  # Rule nodes saved through the API have file "api/<rule_id>@<version>.yaml"
LIFECYCLE = ("active", "retired")
SUBMITTED = "submitted.yaml"


class RuleConflict(RuntimeError):
    """The change would leave the rule base inconsistent (HTTP 409)."""


class RuleNotFound(LookupError):
    """No such rule id or version in the graph (HTTP 404)."""


class RuleInvalid(ValueError):
    """Submitted YAML with errors (HTTP 422); `problems` carry line and field."""

    def __init__(self, problems: Sequence[RuleProblem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems[:10]))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


# -- the graph's rule base -------------------------------------------------------------------------

_RULE_ROWS = (
    "MATCH (n:Rule) WHERE n.file_yaml IS NOT NULL "
    "RETURN n.id AS key, n.file AS file, n.file_yaml AS text, n.status AS status, "
    "n.status_override AS override ORDER BY file, key"
)

_PARSED: dict[tuple[str, str], LoadedFile] = {}


def _parsed(display: str, text: str) -> LoadedFile:
    key = (display, checksum(text))
    if key not in _PARSED:
        loaded = parse_rule_file(Path(display), text=text, display=f"graph:{display}")
        problems = validate_file(loaded)
        if problems:
            raise RuleError(problems)
        if len(_PARSED) > 64:
            _PARSED.clear()
        _PARSED[key] = loaded
    return _PARSED[key]


def has_graph_rules(store: Any) -> bool:
    return store.read_one("MATCH (n:Rule) WHERE n.file_yaml IS NOT NULL RETURN n.id AS id "
                          "LIMIT 1") is not None


def graph_rule_base(store: Any) -> RuleBase | None:
    """The rule versions stored in the graph with their lifecycle, or None if there are none.

    Each node's version comes from the file text stored on that node; a version that is in a
    file text but has no node of its own (removed from the graph) never runs.
    """
    rows = store.read(_RULE_ROWS)
    if not rows:
        return None
    by_text: dict[tuple[str, str], dict[str, Mapping[str, Any]]] = defaultdict(dict)
    texts: dict[tuple[str, str], str] = {}
    for r in rows:
        k = (r["file"], checksum(r["text"]))
        by_text[k][r["key"]] = r
        texts[k] = r["text"]
    base = RuleBase(origin="graph")
    for k in sorted(by_text):
        loaded = _parsed(k[0], texts[k])
        assert loaded.model is not None
        owned = by_text[k]
        rules = [_lifecycle(r, owned) for r in loaded.model.rules]
        from_tables = [(_lifecycle(r, owned), t) for r, t in loaded.table_rules]
        base.files.append(dataclasses.replace(
            loaded, model=loaded.model.model_copy(update={"rules": rules}),
            table_rules=from_tables))
    return base


def _lifecycle(rule: Any, owned: Mapping[str, Mapping[str, Any]]) -> Any:
    """The version with the status its graph node gives it (an expert's (de)activation)."""
    node = owned.get(rule.key)
    # no node: this text has the version, but its node points elsewhere
    status = "retired" if node is None else (node["override"] or node["status"] or rule.status)
    return rule if status == rule.status else rule.model_copy(update={"status": status})


# -- reading versions ------------------------------------------------------------------------------

_VERSION_COLUMNS = (
    "n.id AS key, n.rule_id AS rule_id, n.version AS version, n.title AS title, "
    "n.title_en AS title_en, n.family AS family, n.effective_from AS effective_from, "
    "n.effective_to AS effective_to, n.priority AS priority, n.status AS declared_status, "
    "coalesce(n.status_override, n.status) AS status, n.legal_basis AS legal_basis, "
    "n.concerns AS concerns, n.targets AS targets, n.note AS note, "
    "n.source_quality AS source_quality, n.file AS file, n.yaml AS yaml, "
    "n.created_by AS created_by, n.created_at AS created_at, n.changed_by AS changed_by, "
    "n.changed_at AS changed_at, n.table AS table"
)


def _version_row(r: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(r)
    for k in ("effective_from", "effective_to"):
        out[k] = out.get(k) or None
    for k in ("legal_basis", "concerns", "targets"):
        out[k] = list(out.get(k) or [])
    out["origin"] = "api" if str(out.get("file") or "").startswith(f"{API_FOLDER}/") \
        else "bundle"
    return out


def list_rules(store: Any, on: dt.date | None = None) -> list[dict[str, Any]]:
    """One entry per rule id: its versions (number, status, period, state on `on`), title."""
    day = on or dt.date.today()
    rows = store.read(f"MATCH (n:Rule) WHERE n.yaml IS NOT NULL RETURN {_VERSION_COLUMNS} "
                      "ORDER BY rule_id, version")
    out: dict[str, dict[str, Any]] = {}
    for r in map(_version_row, rows):
        e = out.setdefault(r["rule_id"], {"rule_id": r["rule_id"], "family": r["family"],
                                          "versions": []})
        e["title"] = r["title"]
        e["versions"].append({**{k: r[k] for k in ("key", "version", "status", "effective_from",
                                                   "effective_to", "title", "origin", "table")},
                              "state": state_on(r["status"] or "", r["effective_from"],
                                                r["effective_to"], day)})
    return list(out.values())


def rule_versions(store: Any, rule_id: str) -> list[dict[str, Any]]:
    rows = store.read(f"MATCH (n:Rule) WHERE n.rule_id = $rid AND n.yaml IS NOT NULL "
                      f"RETURN {_VERSION_COLUMNS} ORDER BY version", {"rid": rule_id})
    if not rows:
        raise RuleNotFound(f"no rule {rule_id!r} in the graph")
    return [_version_row(r) for r in rows]


def rule_version(store: Any, rule_id: str, version: int) -> dict[str, Any]:
    row = store.read_one(f"MATCH (n:Rule {{id: $key}}) WHERE n.yaml IS NOT NULL "
                         f"RETURN {_VERSION_COLUMNS}", {"key": f"{rule_id}@{version}"})
    if row is None:
        raise RuleNotFound(f"no version {version} of rule {rule_id!r} in the graph")
    return _version_row(row)


# -- submitted YAML --------------------------------------------------------------------------------

@dataclasses.dataclass
class Submission:
    """Submitted YAML as a rule file: the text checked, and how to map its lines back."""

    text: str  # the file text that is checked and stored
    line_offset: int  # line in `text` minus line in what the author sent
    author_lines: int  # number of lines the author sent
    single_rule: bool
    inherited_from: str | None = None


def _family_file(store: Any, rule_id: str) -> Mapping[str, Any] | None:
    if store is None:
        return None
    return store.read_one("MATCH (n:Rule) WHERE n.rule_id = $rid AND n.file_yaml IS NOT NULL "
                          "RETURN n.file AS file, n.file_yaml AS text ORDER BY n.version DESC "
                          "LIMIT 1", {"rid": rule_id})


def as_rule_file(text: str, store: Any = None) -> Submission:
    """A rule file from what an author sent: a whole file (with ``rules:``) or one rule.

    One rule is wrapped into a file that carries the ``family`` and ``parameters`` of the
    file its rule id already lives in (if any); problem lines still count in the author's text.
    """
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    try:
        data = safe_yaml.load(text, Yaml12Loader, aliases=False)
    except yaml.YAMLError:
        data = None  # the checker reports the syntax error with its line
    if not isinstance(data, dict) or "rules" in data or "tables" in data or "id" not in data:
        return Submission(text=text, line_offset=0, author_lines=lines, single_rule=False)
    body = textwrap.indent(text.rstrip("\n"), "    ")
    key = "tables" if "rows" in data and "hit_policy" in data else "rules"  # one table
    wrapped = f"{key}:\n  - " + body[4:] + "\n"
    inherited = None
    family = _family_file(store, str(data.get("id")))
    if family is not None:
        try:
            source = safe_yaml.load(family["text"], Yaml12Loader, aliases=False) or {}
        except yaml.YAMLError:
            source = {}
        extra = {k: source[k] for k in ("family", "parameters") if source.get(k)}
        if extra:
            wrapped += yaml.safe_dump(extra, allow_unicode=True, sort_keys=False)
            inherited = family["file"]
    return Submission(text=wrapped, line_offset=1, author_lines=lines, single_rule=True,
                      inherited_from=inherited)


def _author_problem(p: RuleProblem, sub: Submission) -> RuleProblem:
    line = p.line
    if line is not None:
        line -= sub.line_offset
        if sub.single_rule:
            line = max(1, line)
            if line > sub.author_lines:
                line = None  # in the inherited parameters
    field = p.field
    if sub.single_rule and field and field.startswith("rules[0]"):
        field = field[len("rules[0]"):].lstrip(".") or None
    message = p.message
    if sub.single_rule and line is None and sub.inherited_from:
        message += f" (in the parameters inherited from {sub.inherited_from})"
    return dataclasses.replace(p, file=SUBMITTED, line=line, field=field, message=message)


@dataclasses.dataclass
class Validation:
    ok: bool
    errors: list[RuleProblem]
    warnings: list[RuleProblem]
    rules: list[str]  # id@version of the submitted versions
    tests: list[dict[str, Any]]
    submission: Submission
    base: RuleBase | None = None


def validate_rule_text(store: Any, text: str, *, run_tests: bool = True,
                       folder_name: str = "submitted") -> Validation:
    """Every static check of :mod:`.check` on the submitted text (+ its test cases)."""
    sub = as_rule_file(text, store)
    with tempfile.TemporaryDirectory(prefix="ecobrain-rule-") as tmp:
        folder = Path(tmp) / folder_name
        folder.mkdir()
        path = folder / SUBMITTED
        path.write_text(sub.text, encoding="utf-8")
        report = check_rules(path, store=store)
        if store is not None and not report.errors:
            for p in _contradictions_with_graph(store, report.rule_base):
                report.add(p)
        errors = [_author_problem(p, sub) for p in report.errors]
        warnings = [_author_problem(p, sub) for p in report.warnings]
        keys = [e.key for e in report.rule_base.entries]
        tests: list[dict[str, Any]] = []
        if not errors and run_tests and any(f.model and f.model.tests
                                            for f in report.rule_base.files):
            for res in run_rule_tests(base=report.rule_base, store=store):
                tests.append({"name": res.name, "on": res.on, "passed": res.passed,
                              "failures": res.failures, "conclusions": res.conclusions,
                              "texts": res.texts})
    if not keys and not errors:
        errors.append(RuleProblem("no rule in the submitted text", file=SUBMITTED))
    return Validation(ok=not errors, errors=errors, warnings=warnings, rules=keys, tests=tests,
                      submission=sub, base=report.rule_base)


def _contradictions_with_graph(store: Any, submitted: RuleBase) -> list[RuleProblem]:
    """Contradictions between the submitted versions and the graph's active ones (the graph's
    versions of the same rule ids left out: the submission is their next version)."""
    graph = graph_rule_base(store)
    if graph is None:
        return []
    mine = {e.rule.id for e in submitted.entries}
    kept = []
    for f in graph.files:
        assert f.model is not None
        keep = [r for r in f.model.rules if r.id not in mine]
        kept.append(dataclasses.replace(
            f, model=f.model.model_copy(update={"rules": keep}),
            table_rules=[(r, t) for r, t in f.table_rules if r.id not in mine]))
    files = set(map(id, submitted.files))
    combined = RuleBase(files=[*submitted.files, *kept], origin="graph+submitted")
    return find_contradictions(combined, ConceptIndex.for_store(store),
                               focus=lambda e: id(e.file) in files)


# -- dry run ---------------------------------------------------------------------------------------

def dry_run(store: Any, text: str, facts: Sequence[Mapping[str, Any]], *,
            on: dt.date | None = None, scope: str = "rule") -> dict[str, Any]:
    """The submitted rule(s) on the given facts through the real engine; nothing is saved.

    ``scope="all"``: together with the graph's active versions in force on ``on`` (the
    submitted versions replace those of the same rule ids), so a task rule can react to the
    alerts the current rules conclude.
    """
    check = validate_rule_text(store, text, run_tests=False)
    if not check.ok:
        raise RuleInvalid(check.errors)
    _check_facts(facts)
    base = check.base
    assert base is not None and base.files
    submitted = base.files[0]
    today = dt.date.today()
    day = on or (today if any(e.rule.in_force(today) for e in base.entries) else
                 min((e.rule.starts for e in base.entries if e.rule.effective_from),
                     default=today))
    notes = []
    if scope == "all":
        graph = graph_rule_base(store) if store is not None else None
        if graph is not None:
            mine = {e.rule.id for e in base.entries}
            kept = []
            def keep(r: Any) -> Any:
                if r.id in mine or r.status != "active":
                    return r.model_copy(update={"status": "retired"})
                return r

            for f in graph.files:
                assert f.model is not None
                kept.append(dataclasses.replace(
                    f, model=f.model.model_copy(update={"rules": [keep(r)
                                                                  for r in f.model.rules]}),
                    table_rules=[(keep(r), t) for r, t in f.table_rules]))
            base = RuleBase(files=[submitted, *kept], origin="graph+submitted")
        else:
            notes.append("the graph holds no rules: only the submitted ones ran")
    in_force = [e.key for e in base.in_force(day, include_drafts=True)]
    if not any(k in in_force for k in check.rules):
        notes.append(f"no submitted version is in force on {day.isoformat()} "
                     "(see effective_from / effective_to / status)")
    case = TestCase(name="dry-run", on=day, given=[dict(f) for f in facts],
                    scope="all")
    concepts = ConceptIndex.for_store(store)
    result = run_case(base, submitted, 0, case, concepts, store)
    if result.failures:
        raise RuleInvalid([RuleProblem(f, file="facts") for f in result.failures])
    decision = result.decision
    assert decision is not None
    return {"on": day.isoformat(), "rules_in_force": in_force,
            "conclusions": [c.model_dump(mode="json") for c in decision.conclusions()],
            "firings": len(decision.firings), "summary": result.conclusions, "notes": notes}


def _check_facts(facts: Sequence[Mapping[str, Any]]) -> None:
    problems = []
    for i, fact in enumerate(facts):
        ftype = fact.get("type")
        if ftype not in FACT_TYPES:
            problems.append(RuleProblem(f"unknown fact type {ftype!r} (known: "
                                        f"{', '.join(FACT_TYPES)})", file="facts",
                                        field=f"facts[{i}].type"))
            continue
        for name in fact:
            if name in ("id", "type", "sid"):
                continue
            if field_spec(ftype, name) is None:
                problems.append(RuleProblem(f"unknown field '{name}' of {ftype}", file="facts",
                                            field=f"facts[{i}].{name}"))
    if problems:
        raise RuleInvalid(problems)


# -- changes ---------------------------------------------------------------------------------------

def _audit_statement(action: str, target: str, by: str, detail: Mapping[str, Any]
                     ) -> tuple[str, dict[str, Any]]:
    at = _now()
    body = json.dumps(dict(detail), ensure_ascii=False, sort_keys=True, default=str)
    event = {"id": "audit-" + short_hash(action, target, by, at, body, _now_ns()),
             "action": action, "target": target, "by": by, "at": at, "detail": body}
    return ("MERGE (a:AuditEvent {id: $e.id}) SET a += $e WITH a "
            "MATCH (n:Rule {id: $e.target}) MERGE (a)-[:ABOUT]->(n)", {"e": event})


def _now_ns() -> int:
    import time

    return time.time_ns()


def audit_events(store: Any, rule_id: str | None = None, limit: int = 200
                 ) -> list[dict[str, Any]]:
    rows = store.read(
        "MATCH (a:AuditEvent) WHERE $rid IS NULL OR a.target STARTS WITH $prefix "
        "RETURN a.id AS id, a.action AS action, a.target AS target, a.by AS by, a.at AS at, "
        "a.detail AS detail ORDER BY at DESC, id LIMIT $limit",
        {"rid": rule_id, "prefix": f"{rule_id}@" if rule_id else "", "limit": int(limit)})
    for r in rows:
        r["detail"] = json.loads(r["detail"]) if r.get("detail") else {}
    return rows


def _active_periods(store: Any, rule_id: str, exclude: str | None = None
                    ) -> list[Mapping[str, Any]]:
    return [r for r in store.read(
        "MATCH (n:Rule) WHERE n.rule_id = $rid AND n.yaml IS NOT NULL AND "
        "coalesce(n.status_override, n.status) = 'active' RETURN n.id AS key, "
        "n.effective_from AS f, n.effective_to AS t", {"rid": rule_id})
        if r["key"] != exclude]


def _d(v: Any, default: dt.date) -> dt.date:
    return dt.date.fromisoformat(v) if v else default


def _overlapping(store: Any, rule_id: str, key: str, start: str | None, end: str | None
                 ) -> list[str]:
    a0, a1 = _d(start, dt.date.min), _d(end, dt.date.max)
    out = []
    for r in _active_periods(store, rule_id, exclude=key):
        b0, b1 = _d(r["f"], dt.date.min), _d(r["t"], dt.date.max)
        if a0 <= b1 and b0 <= a1:
            out.append(f"{r['key']} ({r['f'] or '…'} to {r['t'] or '…'})")
    return out


def save_rule_version(store: Any, text: str, *, by: str, activate: bool | None = None
                      ) -> dict[str, Any]:
    """Validate and store a new rule version (one rule); RuleInvalid / RuleConflict otherwise.

    ``activate``: None keeps the status written in the YAML; True/False sets the lifecycle.
    """
    check = _checked(store, text)
    assert check.base is not None
    entries = check.base.entries
    if len(entries) != 1 or entries[0].from_table:
        raise RuleInvalid([RuleProblem(f"save one rule version at a time ({len(entries)} "
                                       "in the text; a decision table: POST /rules/tables)",
                                       file=SUBMITTED)])
    _save_entries(store, check, entries, by=by, activate=activate, action="rule.create")
    rule = entries[0].rule
    out = rule_version(store, rule.id, rule.version)
    out["warnings"] = [str(w) for w in check.warnings]
    return out


def save_table_version(store: Any, text: str, *, by: str, activate: bool | None = None
                       ) -> list[dict[str, Any]]:
    """Validate and store a new version of one decision table: every rule its rows make.

    The rows' versions are saved together (one write) and share the table's lifecycle; each
    is refused like a single rule (an existing id@version, an active version of the same rule
    in force on the same days).
    """
    check = _checked(store, text)
    assert check.base is not None
    files = check.base.files
    tables = [t for f in files for t in (f.model.tables if f.model else [])]
    entries = check.base.entries
    if len(tables) != 1 or any(not e.from_table for e in entries):
        raise RuleInvalid([RuleProblem("save one decision table (one item of tables:, no "
                                       f"rules:) at a time ({len(tables)} table(s), "
                                       f"{sum(not e.from_table for e in entries)} rule(s))",
                                       file=SUBMITTED)])
    if not entries:
        raise RuleInvalid([RuleProblem("the table concludes nothing in any row",
                                       file=SUBMITTED)])
    _save_entries(store, check, entries, by=by, activate=activate, action="table.create")
    out = []
    for e in entries:
        row = rule_version(store, e.rule.id, e.rule.version)
        row["warnings"] = [str(w) for w in check.warnings]
        out.append(row)
    return out


def _checked(store: Any, text: str) -> Validation:
    check = validate_rule_text(store, text, run_tests=True)
    if not check.ok:
        raise RuleInvalid(check.errors)
    failed = [t for t in check.tests if not t["passed"]]
    if failed:
        raise RuleInvalid([RuleProblem(f"test case {t['name']!r} fails: "
                                       + "; ".join(t["failures"]), file=SUBMITTED)
                           for t in failed])
    return check


def _save_entries(store: Any, check: Validation, entries: Sequence[RuleEntry], *, by: str,
                  activate: bool | None, action: str) -> None:
    plans = []
    for entry in entries:
        rule = entry.rule
        key = rule.key
        if store.read_one("MATCH (n:Rule {id: $key}) WHERE n.yaml IS NOT NULL "
                          "RETURN n.id AS id", {"key": key}) is not None:
            raise RuleConflict(f"{key} exists; versions are immutable: save version "
                               f"{_next_version(store, rule.id)} instead")
        status = rule.status if activate is None else ("active" if activate else "draft")
        start = rule.effective_from.isoformat() if rule.effective_from else None
        end = rule.effective_to.isoformat() if rule.effective_to else None
        if status == "active":
            clash = _overlapping(store, rule.id, key, start, end)
            if clash:
                raise RuleConflict(
                    f"{key} would be in force on the same days as active {', '.join(clash)}: "
                    "deactivate that version first, or save this one inactive "
                    "(activate: false) and activate it when the other is retired")
        plans.append((entry, status, start, end))
    name = entries[0].table_key or entries[0].key
    with tempfile.TemporaryDirectory(prefix="ecobrain-rule-") as tmp:
        folder = Path(tmp) / API_FOLDER
        folder.mkdir()
        (folder / f"{name}.yaml").write_text(check.submission.text, encoding="utf-8")
        load_rules_into_graph(store, folder)
    now = _now()
    statements = []
    for entry, status, start, end in plans:
        key = entry.rule.key
        statements += [
            ("MATCH (n:Rule {id: $key}) SET n.created_by = $by, n.created_at = $at, "
             "n.status_override = $override, n.changed_by = $by, n.changed_at = $at",
             {"key": key, "by": by, "at": now,
              "override": status if status != entry.rule.status else None}),
            _audit_statement(action, key, by, {
                "status": status, "effective_from": start, "effective_to": end,
                "table": entry.table_key, "checksum": checksum(entry.source),
                "inherited_parameters_from": check.submission.inherited_from,
                "warnings": [str(w) for w in check.warnings]}),
        ]
    store.write_all(statements)


def _next_version(store: Any, rule_id: str) -> int:
    row = store.read_one("MATCH (n:Rule) WHERE n.rule_id = $rid RETURN max(n.version) AS v",
                         {"rid": rule_id})
    return int((row or {}).get("v") or 0) + 1


def set_rule_status(store: Any, rule_id: str, version: int, active: bool, *, by: str,
                    impact_report: str | None = None, supersede: Sequence[str] = ()
                    ) -> dict[str, Any]:
    """Activate or deactivate a stored version (idempotent); RuleConflict on an overlap.

    ``supersede``: active versions of the same rule this activation retires in the same write
    (those an impact report named); any other overlap is still a conflict.
    """
    current = rule_version(store, rule_id, version)
    key = current["key"]
    want = "active" if active else "retired"
    if current["status"] == want:
        current["changed"] = False
        return current
    retire: list[dict[str, Any]] = []
    if active:
        overlaps = _overlapping(store, rule_id, key, current["effective_from"],
                                current["effective_to"])  # "<key> (<from> to <to>)"
        clash = [c for c in overlaps if c.split(" ", 1)[0] not in supersede]
        if clash:
            raise RuleConflict(f"{key} would be in force on the same days as active "
                               f"{', '.join(clash)}: deactivate that version first")
        for other in overlaps:
            rid, v = other.split(" ", 1)[0].rsplit("@", 1)
            retire.append(rule_version(store, rid, int(v)))
    now = _now()
    override = None if want == current["declared_status"] else want
    store.write_all([
        *[s for old in retire for s in (
            ("MATCH (n:Rule {id: $key}) SET n.status_override = $override, n.changed_by = $by, "
             "n.changed_at = $at", {"key": old["key"], "by": by, "at": now, "override": (
                 None if old["declared_status"] == "retired" else "retired")}),
            _audit_statement("rule.deactivate", old["key"], by,
                             {"from": "active", "to": "retired", "superseded_by": key}))],
        ("MATCH (n:Rule {id: $key}) SET n.status_override = $override, n.changed_by = $by, "
         "n.changed_at = $at", {"key": key, "override": override, "by": by, "at": now}),
        _audit_statement("rule.activate" if active else "rule.deactivate", key, by,
                         {"from": current["status"], "to": want,
                          **({"impact_report": impact_report} if impact_report else {})}),
    ])
    out = rule_version(store, rule_id, version)
    out["changed"] = True
    return out
