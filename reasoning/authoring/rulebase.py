"""The rule base: rule files from a folder (or from the graph), the versions in force on a date.

A rule keeps its ``id`` across versions; each version has an effective period. On a decision
date the rule base offers, per rule id, the one active version in force that day (the checker
refuses overlapping versions), so the same episode is graded by the 2017 rules on 2023-12-01
and by the 2024 rules on 2024-03-01 without anyone editing a rule.

Writing the versions into the graph is :mod:`.rule_graph`'s job: it checks the folder first
(:mod:`.check`, which reads the rule base from here), so the dependency runs one way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from ecobrain.reasoning.language.decision_table import validate_file
from ecobrain.reasoning.language.dsl import (
    LoadedFile,
    Rule,
    checksum,
    display_name,
    parse_rule_file,
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
        return self.file.rule_source(self.index)

    @property
    def from_table(self) -> bool:
        return self.file.rule_path(self.index)[0] == "tables"

    @property
    def table_key(self) -> str | None:
        """``<table id>@<version>`` of the decision table this version was made from."""
        where = self.file.rule_path(self.index)
        if where[0] != "tables" or self.file.model is None:
            return None
        return self.file.model.tables[int(where[1])].key

    def path(self, *rest: str | int) -> tuple[str | int, ...]:
        where = self.file.rule_path(self.index)
        # a rule made from a decision table is located at its table (its rows, when the
        # problem is in a condition; the table's own field otherwise)
        return (*where, *rest) if where[0] == "rules" else (*where, *_table_field(rest))

    def problem(self, message: str, *rest: str | int, severity: str = "error") -> RuleProblem:
        return self.file.problem(message, *self.path(*rest), severity=severity)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.file.model.parameters) if self.file.model else {}


def _table_field(rest: tuple[str | int, ...]) -> tuple[str | int, ...]:
    if rest[:1] == ("when",):
        return ("rows",)
    if rest[:1] == ("then",):
        return ("then", *rest[1:2])
    return rest


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
        errs = validate_file(loaded)
        problems.extend(errs)
        if not errs:
            base.files.append(loaded)
    if strict and problems:
        raise RuleError(problems)
    return base, problems


# -- the graph ---------------------------------------------------------------------------------

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
        problems = validate_file(loaded)
        if problems:
            raise RuleError(problems)
        base.files.append(loaded)
    return base


def rule_nodes(store: Any) -> list[dict[str, Any]]:
    return store.read(
        "MATCH (n:Rule) OPTIONAL MATCH (n)-[c:CITES]->(a:Article) "
        "RETURN n.id AS id, n.title AS title, n.effective_from AS effective_from, "
        "n.effective_to AS effective_to, coalesce(n.status_override, n.status) AS status, "
        "n.priority AS priority, collect(c.citation) AS cites ORDER BY id")


def state_on(status: str, start: date | str | None, end: date | str | None, on: date) -> str:
    """What a version is on a day: in force, expired, not yet in force, draft or retired.

    The YAML's ``status: active`` only says the version may be used; whether it is used on a
    day depends on its period (the 2017 grading is ``active`` and ended on 2024-01-22).
    """
    if status != "active":
        return status
    first = _day_or(start, date.min)
    last = _day_or(end, date.max)
    if on < first:
        return "not yet in force"
    if on > last:
        return "expired"
    return "in force"


def _day_or(v: date | str | None, default: date) -> date:
    if v is None or v == "":
        return default
    return v if isinstance(v, date) else date.fromisoformat(str(v))


def as_of(value: date | str | None) -> date:
    if value is None:
        return date.today()
    return value if isinstance(value, date) else date.fromisoformat(str(value))
