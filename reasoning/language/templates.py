"""Templated action fields: ``"{e.enterprise_name}：检查VOCs治理设施"``.

A placeholder names a field of a matched block (``{a.region_code}``; a rule with one block may
write ``{region_code}``), a dated rule parameter (``{param.reduction_ratio}``, or one entry of
a mapping parameter chosen by a field: ``{param.reduction_ratio[a.level]}``), or the decision
date (``{decision_date}``). Filters after ``|`` format it for people: ``label`` (the concept's
Chinese label), ``label_en``, ``pct`` (0.2 → 20%); a Python format spec after ``:`` is allowed
(``{h.excess:.2f}``). ``{{`` and ``}}`` are literal braces.

A field whose whole value is one placeholder keeps the value's type (a number stays a number,
a list a list); anything else renders to text. Templates are parsed and checked when the rules
compile, so a typo is reported with the rule's file and line, not when a decision runs.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from ecobrain.reasoning.language.errors import ExpressionError
from ecobrain.reasoning.language.expressions import _suggest_field
from ecobrain.reasoning.language.fact_types import field_spec

_PATH = re.compile(
    r"^(?:(?P<head>[A-Za-z_]\w*)\.)?(?P<name>[A-Za-z_]\w*)"
    r"(?:\[(?:(?P<kalias>[A-Za-z_]\w*)\.)?(?P<kfield>[A-Za-z_]\w*)\])?$")
FILTERS = ("label", "label_en", "pct")


@dataclass(frozen=True)
class Placeholder:
    kind: str  # "field" | "param" | "decision_date"
    alias: str | None
    name: str
    key_alias: str | None = None
    key_field: str | None = None
    filters: tuple[str, ...] = ()
    spec: str = ""

    @property
    def text(self) -> str:
        head = {"field": f"{self.alias}.{self.name}", "param": f"param.{self.name}",
                "decision_date": "decision_date"}[self.kind]
        if self.key_field:
            head += f"[{self.key_alias}.{self.key_field}]"
        return "{" + "|".join((head, *self.filters)) + (f":{self.spec}" if self.spec else "") + "}"


@dataclass(frozen=True)
class Template:
    source: str
    parts: tuple[str | Placeholder, ...]

    def __post_init__(self) -> None:
        # render runs once per action field per rule firing (hundreds of thousands of times
        # in a big run): each placeholder becomes one specialised function, made once here
        fns = tuple(p if isinstance(p, str) else _compile(p) for p in self.parts)
        object.__setattr__(self, "_fns", fns)
        single = self.single
        object.__setattr__(self, "_single", _getter(single) if single is not None else None)

    @property
    def single(self) -> Placeholder | None:
        """The placeholder when the template is exactly one, unfiltered (keeps its type)."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Placeholder):
            p = self.parts[0]
            if not p.filters and not p.spec:
                return p
        return None

    @property
    def aliases(self) -> set[str]:
        out: set[str] = set()
        for p in self.parts:
            if isinstance(p, Placeholder):
                if p.alias:
                    out.add(p.alias)
                if p.key_alias:
                    out.add(p.key_alias)
        return out

    def render(self, bindings: Mapping[str, Mapping[str, Any]], params: Mapping[str, Any],
               concepts: Any = None, decision_date: date | None = None) -> Any:
        single = self._single  # type: ignore[attr-defined]
        if single is not None:
            return single(bindings, params, decision_date)
        return "".join([f if f.__class__ is str else f(bindings, params, concepts, decision_date)
                        for f in self._fns])  # type: ignore[attr-defined]


_EMPTY: Mapping[str, Any] = {}


def _getter(p: Placeholder) -> Any:
    """(bindings, params, decision_date) -> the raw value of the placeholder."""
    if p.kind == "decision_date":
        return lambda b, prm, d: d.isoformat() if d else None
    if p.kind == "field":
        alias, name = p.alias or "", p.name
        return lambda b, prm, d: b.get(alias, _EMPTY).get(name)
    pname, kalias, kfield = p.name, p.key_alias or "", p.key_field
    if kfield is None:
        return lambda b, prm, d: prm.get(pname)

    def keyed(b: Mapping[str, Mapping[str, Any]], prm: Mapping[str, Any], d: Any) -> Any:
        value = prm.get(pname)
        key = b.get(kalias, _EMPTY).get(kfield)
        return value.get(key) if isinstance(value, Mapping) else None

    return keyed


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if value.__class__ is str:
        return value
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _compile(p: Placeholder) -> Any:
    """(bindings, params, concepts, decision_date) -> the placeholder's text."""
    get = _getter(p)
    if not p.filters and not p.spec:
        return lambda b, prm, c, d: _plain(get(b, prm, d))
    return lambda b, prm, c, d: _format(p, get(b, prm, d), c)


def _format(p: Placeholder, value: Any, concepts: Any) -> str:
    if value is None:
        return ""
    for f in p.filters:
        if f in ("label", "label_en"):
            lang = "zh" if f == "label" else "en"
            if isinstance(value, list):
                sep = "、" if lang == "zh" else ", "
                value = sep.join(concepts.label(v, lang) if concepts else str(v) for v in value)
            else:
                value = concepts.label(str(value), lang) if concepts else str(value)
        elif f == "pct":
            value = f"{float(value) * 100:g}%"
    if p.spec:
        return format(value, p.spec)
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def parse_template(source: str, aliases: Mapping[str, str], params: Mapping[str, Any],
                   default_alias: str | None = None) -> Template:
    """Parse and check a template against the rule's blocks (alias -> fact type) and params."""
    parts: list[str | Placeholder] = []
    try:
        pieces = list(string.Formatter().parse(source))
    except ValueError as exc:
        raise ExpressionError(f"bad template: {exc} (write {{{{ and }}}} for literal braces)"
                              ) from None
    for literal, field_name, spec, conversion in pieces:
        if literal:
            parts.append(literal)
        if field_name is None:
            continue
        if conversion:
            raise ExpressionError(f"'!{conversion}' is not allowed in {{{field_name}}}")
        path, *filters = field_name.split("|")
        path = path.strip()
        filters = [f.strip() for f in filters]
        for f in filters:
            if f not in FILTERS:
                raise ExpressionError(f"unknown filter '|{f}' in {{{field_name}}} "
                                      f"(allowed: {', '.join(FILTERS)})")
        if path == "decision_date":
            parts.append(Placeholder("decision_date", None, "decision_date",
                                     filters=tuple(filters), spec=spec or ""))
            continue
        m = _PATH.match(path)
        if not m:
            raise ExpressionError(f"bad placeholder {{{field_name}}}: write "
                                  "{block.field}, {param.name} or {decision_date}")
        head, name = m.group("head"), m.group("name")
        kalias, kfield = m.group("kalias"), m.group("kfield")
        if head == "param":
            if name not in params:
                known = ", ".join(sorted(params)) or "none"
                raise ExpressionError(f"unknown parameter param.{name} in {{{field_name}}} "
                                      f"(parameters of this file: {known})")
            if kfield is not None:
                kalias = _alias(kalias, aliases, default_alias, field_name)
                _check_field(aliases[kalias], kfield, kalias, field_name)
            parts.append(Placeholder("param", None, name, kalias, kfield, tuple(filters),
                                     spec or ""))
            continue
        if kfield is not None:
            raise ExpressionError(f"only parameters take [..]: {{{field_name}}}")
        alias = _alias(head, aliases, default_alias, field_name)
        _check_field(aliases[alias], name, alias, field_name)
        parts.append(Placeholder("field", alias, name, filters=tuple(filters), spec=spec or ""))
    return Template(source, tuple(parts))


def _alias(head: str | None, aliases: Mapping[str, str], default: str | None,
           field_name: str) -> str:
    if head is None:
        if default is None:
            raise ExpressionError(f"{{{field_name}}}: this rule has several blocks; name "
                                  f"one: {', '.join('{' + a + '.…}' for a in sorted(aliases))}")
        return default
    if head not in aliases:
        raise ExpressionError(f"unknown block '{head}' in {{{field_name}}} (blocks: "
                              f"{', '.join(sorted(aliases))})")
    return head


def _check_field(fact_type: str, name: str, alias: str, field_name: str) -> None:
    if field_spec(fact_type, name) is None:
        raise ExpressionError(f"unknown field '{name}' of {fact_type} (block '{alias}') in "
                              f"{{{field_name}}}" + _suggest_field(fact_type, name))
