"""The rule file format: a pydantic model of the YAML experts write, loaded with line numbers.

A rule file holds one *family* of rules (one file per family, e.g. ``rules/alerts.yaml``), its
dated parameters, and the family's test cases::

    family: alert.heavy-pollution
    title: 重污染天气预警分级
    parameters:
      reduction_ratio: {description: ..., source_quality: SECONDARY, values: [...]}
    rules:
      - id: alert.heavy-pollution.red        # stable across versions
        version: 2
        title: 红色预警（细颗粒物主导）
        effective_from: 2024-01-23
        effective_to: null
        priority: 90
        legal_basis: [cn.mee.2024-6.grading, cn.mee.2024-6.differentiated]
        concerns: [PM2_5]
        when:
          - {fact: alert_assessment, as: a, if: "longest_run_over_200 >= 3 and ..."}
        then:
          - alert: {level: AlertRed, region_code: "{a.region_code}", start: "{a.alert_start}"}
    tests:
      - name: 三天 >200 且一天 >300 → 红色
        on: 2024-03-01
        given: [{type: alert_assessment, region_code: "330100", ...}]
        expect: [{alert: {level: AlertRed, region_code: "330100"}}]

The YAML is read with PyYAML's composer so every value keeps its line; validation errors name
the file, the line and the field path (``rules[1].when[0].if``). YAML 1.1's surprises are off:
dates stay the strings the author wrote (pydantic parses them), and only ``true``/``false``
are booleans (``on:`` is a key, not ``True``).
"""

from __future__ import annotations

import contextlib
import hashlib
import textwrap
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ecobrain import safe_yaml
from ecobrain.reasoning.language.errors import RuleError, RuleProblem
from ecobrain.yaml12 import Yaml12NoDatesLoader

SourceQuality = Literal["PRIMARY", "SECONDARY", "CODE", "UNCONFIRMED"]
SubjectKind = Literal["enterprise", "grid_cell", "sector", "road", "region"]
RULE_ID = r"^[a-z0-9][a-z0-9_\-]*(\.[a-z0-9][a-z0-9_\-]*)+$"
ALIAS = r"^[a-z][a-z0-9_]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


# -- conditions ----------------------------------------------------------------------------------

class Block(_Model):
    """One condition block: facts of one type that satisfy `if` (joined to earlier blocks)."""

    fact: str = Field(description="fact type, e.g. alert_assessment, hotspot, alert")
    as_: str | None = Field(default=None, alias="as", pattern=ALIAS,
                            description="name of the block, for joins and templates")
    if_: str | None = Field(default=None, alias="if",
                            description="condition (expression language, docs/rules.md)")


# -- actions -------------------------------------------------------------------------------------

class AlertAction(_Model):
    level: str = Field(description="EmergencyLevel concept: AlertBlue..AlertRed")
    region_code: str = Field(description="template, e.g. '{a.region_code}'")
    start: str | None = Field(default=None, description="first day (template)")
    end: str | None = Field(default=None, description="last day (template)")
    driver: str | None = Field(default=None, description="driving pollutant (template)")
    note: str | None = Field(default=None, description="text shown with the alert")


class MeasureAction(_Model):
    measure_type: str = Field(description="MeasureType concept")
    region_code: str
    level: str | None = Field(default=None, description="alert level (template or concept)")
    reduction_ratio: float | str | None = Field(
        default=None, description="0-1 or a template such as '{param.reduction_ratio[a.level]}'")
    pollutants: list[str] | str | None = None
    start: str | None = None
    end: str | None = None
    description: str = Field(description="what the measure is (template)")


class Subject(_Model):
    kind: SubjectKind
    id: str = Field(description="template, e.g. '{e.enterprise_id}'")
    name: str | None = None


class Escalation(_Model):
    """What may follow if the inspection finds a violation (cited, dated like any ground)."""

    text: str
    legal_basis: list[str] = Field(min_length=1)


class TaskAction(_Model):
    subject: Subject
    region_code: str = Field(description="the region bureau the task is assigned to")
    measure_type: str = Field(description="MeasureType concept")
    action: str = Field(description="what to do (template)")
    deadline: str | None = Field(
        default=None, description="'+Nd' from the decision date, or '{a.start}+Nd' / "
        "'{a.start}-Nd' from a date field")
    priority: int | str | None = Field(default=None, description="0-100; default the rule's")
    escalation: Escalation | None = None


class AdviceAction(_Model):
    region_code: str
    measure_type: str = Field(description="MeasureType concept")
    pollutant: str | None = Field(default=None, description="Pollutant concept (template)")
    text: str = Field(description="the advice (template)")
    rationale: str | None = Field(default=None, description="why (template)")


class Action(_Model):
    alert: AlertAction | None = None
    measure: MeasureAction | None = None
    task: TaskAction | None = None
    advice: AdviceAction | None = None

    @model_validator(mode="after")
    def _one(self) -> Action:
        given = [k for k in ("alert", "measure", "task", "advice") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("an action is exactly one of alert, measure, task, advice")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("alert", "measure", "task", "advice") if getattr(self, k))

    @property
    def spec(self) -> AlertAction | MeasureAction | TaskAction | AdviceAction:
        return getattr(self, self.kind)


# -- parameters, tests, rules ------------------------------------------------------------------

class DatedValue(_Model):
    from_: date | None = Field(default=None, alias="from", description="first day (inclusive)")
    to: date | None = Field(default=None, description="last day (inclusive)")
    value: Any


class Parameter(_Model):
    """A value that changes by date (OpenFisca-style), with its source and how sure it is."""

    description: str
    unit: str | None = None
    source: str = Field(description="where the value comes from")
    source_quality: SourceQuality
    values: list[DatedValue] = Field(min_length=1)

    def value_on(self, on: date) -> Any:
        for v in self.values:
            if (v.from_ is None or v.from_ <= on) and (v.to is None or on <= v.to):
                return v.value
        return None


class TestCase(_Model):
    __test__ = False  # not a pytest class

    name: str
    on: date = Field(description="decision date: selects the rule versions in force")
    given: list[dict[str, Any]] = Field(description="input facts (type + fields; id optional)")
    expect: list[dict[str, dict[str, Any]]] = Field(
        default_factory=list, description="each must match a conclusion: {kind: {field: value}}")
    forbid: list[dict[str, dict[str, Any]]] = Field(
        default_factory=list, description="none may match a conclusion")
    scope: Literal["file", "all"] = Field(
        default="file", description="rules of this file, or all rules of the folder")
    note: str | None = None


class Rule(_Model):
    id: str = Field(pattern=RULE_ID, description="stable id across versions, dotted")
    version: int = Field(ge=1)
    title: str = Field(min_length=1, description="Chinese title")
    title_en: str | None = None
    status: Literal["active", "draft", "retired"] = "active"
    effective_from: date | None = Field(
        description="first day in force; null = start not recorded (in force before "
        "effective_to)")
    effective_to: date | None = None
    priority: int = Field(default=50, ge=0, le=100)
    legal_basis: list[str] = Field(default_factory=list,
                                   description="citation ids of articles in the graph")
    concerns: list[str] = Field(default_factory=list, description="Pollutant concepts")
    targets: list[str] = Field(default_factory=list, description="Sector/SourceCategory concepts")
    source_quality: SourceQuality | None = Field(
        default=None, description="how sure the rule's content is (weakest source it uses)")
    note: str | None = None
    when: list[Block] = Field(min_length=1)
    then: list[Action] = Field(min_length=1)

    @field_validator("when", mode="before")
    @classmethod
    def _one_block(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def starts(self) -> date:
        """effective_from, or the earliest date when the start is not recorded."""
        return self.effective_from or date.min

    def in_force(self, on: date) -> bool:
        return self.starts <= on and (self.effective_to is None or on <= self.effective_to)

    def aliases(self) -> list[str]:
        """Block names in order (unnamed blocks get b1, b2, ...)."""
        return [b.as_ or f"b{i + 1}" for i, b in enumerate(self.when)]


class RuleFile(_Model):
    family: str | None = Field(default=None, description="family id, e.g. alert.heavy-pollution")
    title: str | None = None
    title_en: str | None = None
    description: str | None = None
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    rules: list[Rule] = Field(min_length=1)
    tests: list[TestCase] = Field(default_factory=list)


# -- YAML with lines -----------------------------------------------------------------------------

class _Loader(Yaml12NoDatesLoader):
    """YAML 1.2 booleans and no implicit timestamps (:mod:`ecobrain.yaml12`)."""


YamlPath = tuple[str | int, ...]


@dataclass
class LoadedFile:
    """A rule file: its text, plain data, the line of every value, and the validated model."""

    path: Path
    text: str
    data: Any
    lines: dict[YamlPath, int]
    model: RuleFile | None = None
    rule_sources: list[str] = field(default_factory=list)  # YAML text of each rule item
    display: str = ""

    def line(self, *path: str | int) -> int | None:
        """Line of the value at `path` (or of the nearest enclosing one that has a line).

        A path through a one-item list the author wrote as a plain mapping (``when: {...}``
        normalised to ``when: [{...}]``) skips the index.
        """
        real: list[str | int] = []
        node = self.data
        for step in path:
            in_dict = isinstance(node, dict) and step in node
            in_list = isinstance(node, list) and isinstance(step, int) and step < len(node)
            if in_dict or in_list:
                node = node[step]
                real.append(step)
            elif isinstance(node, dict) and step == 0:
                continue
            else:
                real.append(step)
                node = None
        p: YamlPath = tuple(real)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get(())

    def problem(self, message: str, *path: str | int, severity: str = "error") -> RuleProblem:
        return RuleProblem(message, file=self.display, line=self.line(*path),
                           field=field_path(path) or None, severity=severity)

    @property
    def rules(self) -> list[Rule]:
        return list(self.model.rules) if self.model else []


def field_path(path: YamlPath | list[str | int]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _walk(node: yaml.Node, path: YamlPath, lines: dict[YamlPath, int], loader: _Loader) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(loader.construct_object(key_node, deep=True))
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _walk(value_node, (*path, key), lines, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(child, (*path, i), lines, loader) for i, child in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _rule_sources(text: str, root: yaml.Node) -> list[str]:
    """The exact YAML text of each item of `rules:` (stored with the Rule node)."""
    if not isinstance(root, yaml.MappingNode):
        return []
    for key_node, value_node in root.value:
        if key_node.value == "rules" and isinstance(value_node, yaml.SequenceNode):
            out = []
            for item in value_node.value:
                start, end = item.start_mark, item.end_mark
                lines = (" " * start.column + text[start.index:end.index]).split("\n")
                while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
                    lines.pop()  # blank lines and comments before the next item
                out.append(textwrap.dedent("\n".join(lines)) + "\n")
            return out
    return []


def display_name(path: Path, root: Path | None = None) -> str:
    if root is not None:
        with contextlib.suppress(ValueError):  # a file outside root: named as given
            return str(path.resolve().relative_to(root.resolve()))
    return str(path)


def read_rule_file(path: str | Path, *, display: str | None = None) -> LoadedFile:
    """Parse and validate one rule file; raise RuleError with every problem located."""
    loaded = parse_rule_file(path, display=display)
    problems = validate_model(loaded)
    if problems:
        raise RuleError(problems)
    return loaded


def parse_rule_file(path: str | Path, *, text: str | None = None,
                    display: str | None = None) -> LoadedFile:
    """YAML only (syntax errors raise RuleError with the line YAML reports)."""
    p = Path(path)
    shown = display or str(p)
    if text is None:
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise RuleError(RuleProblem(f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                                        file=shown)) from None
        except OSError as exc:
            raise RuleError(RuleProblem(f"cannot read: {exc.strerror}", file=shown)) from None
    try:
        root = safe_yaml.compose(text, _Loader, aliases=False)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        msg = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
        raise RuleError(RuleProblem(msg, file=shown, line=line)) from None
    lines: dict[YamlPath, int] = {}
    data = None if root is None else _walk(root, (), lines, _Loader(""))
    loaded = LoadedFile(path=p, text=text, data=data, lines=lines, display=shown)
    if root is not None:
        loaded.rule_sources = _rule_sources(text, root)
    return loaded


def validate_model(loaded: LoadedFile) -> list[RuleProblem]:
    """Validate the data against the file model; problems carry line and field path."""
    if not isinstance(loaded.data, dict):
        return [loaded.problem("a rule file is a mapping with 'rules:' (and optionally "
                               "family, title, parameters, tests)")]
    try:
        loaded.model = RuleFile.model_validate(loaded.data)
    except ValidationError as exc:
        return [_problem_from_pydantic(loaded, err) for err in exc.errors()]
    return []


def _problem_from_pydantic(loaded: LoadedFile, err: dict[str, Any]) -> RuleProblem:
    loc = [p for p in err["loc"] if isinstance(p, int) or not _is_type_name(p)]
    path: list[str | int] = []
    node: Any = loaded.data
    for p in loc:  # keep the path that exists in the YAML (for its line)
        in_dict = isinstance(node, dict) and p in node
        in_list = isinstance(node, list) and isinstance(p, int) and p < len(node)
        if in_dict or in_list:
            node = node[p]
            path.append(p)
        else:
            path.append(p)
            break
    kind = err.get("type", "")
    msg = err.get("msg", "invalid")
    last = loc[-1] if loc else None
    if kind == "extra_forbidden":
        msg = f"unknown field '{last}'" + _known_fields_hint(loc[:-1])
    elif kind == "missing":
        msg = f"missing required field '{last}'"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return RuleProblem(msg, file=loaded.display, line=loaded.line(*path),
                       field=field_path(loc) or None)


def _is_type_name(p: Any) -> bool:
    return isinstance(p, str) and (p[:1].isupper() or "[" in p or p in
                                   ("function-after", "function-before", "int", "str",
                                    "float", "list", "dict", "none", "date"))


_FIELDS_BY_CONTAINER: dict[str, type[BaseModel]] = {
    "rules": Rule, "when": Block, "tests": TestCase, "parameters": Parameter,
    "alert": AlertAction, "measure": MeasureAction, "task": TaskAction, "advice": AdviceAction,
    "subject": Subject, "escalation": Escalation, "values": DatedValue,
}


def _known_fields_hint(container: list[Any]) -> str:
    names = [p for p in container if isinstance(p, str)]
    model: type[BaseModel] = RuleFile
    if names:
        last = names[-1]
        if last in _FIELDS_BY_CONTAINER:
            model = _FIELDS_BY_CONTAINER[last]
        elif last == "then":
            return " (an action is one of: alert, measure, task, advice)"
        elif len(names) >= 2 and names[-2] == "parameters":
            model = Parameter
    allowed = sorted((f.alias or n) for n, f in model.model_fields.items())
    return f" (allowed: {', '.join(allowed)})"


def checksum(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
