"""Decision tables → rules: each row (or rows sharing an id) becomes one rule version.

A table (``tables:`` in a rule file, :class:`.dsl.DecisionTable`) is what an expert keeps in a
spreadsheet: one column per input field of a fact, one per conclusion, one row per case::

    | longest_run_over_200 | longest_run_over_300 | driver | level       |
    | >= 3                 | >= 1                 | PM2_5  | AlertRed    |
    | >= 2                 |                      | PM2_5  | AlertOrange |
    | -                    | -                    | -      |             |   ← nothing

A cell is a *unary test* on its column's field, written the way a spreadsheet user would:
empty or ``-`` (any value), a value (``PM2_5``, ``3``, ``true``, ``"city"``), a list
(``GradeA, GradeLeading``), a comparison (``>= 3``, ``< AlertOrange`` — enumerations by their
rank), a range ``1..3`` (both ends included), ``null`` (the field is missing), ``is_a Class``,
``has_a Class``, and ``not <test>`` (true negation: also holds when the field is missing). The
cell becomes ``<field> <test>`` in the condition language (:mod:`.expressions`), so it is
type-checked exactly like a hand-written condition; text fields need no quotes in a cell.

The hit policy is compiled into the conditions, so the engine needs nothing new:
``unique`` and ``collect`` keep each row's condition; ``first`` adds ``not (<earlier row>)``
for every earlier row (a row concluding nothing included: it stops the rows below);
``priority`` does the same in the order of the rows' priorities (highest first). Conclusions:
the table's ``then`` actions with ``{out.<column>}`` replaced by the row's cell (a cell that
is the whole value keeps its type: a number stays a number); an action whose output cell is
empty in the row is left out, and a row with every output empty concludes nothing and makes
no rule.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from ecobrain.reasoning.language.dsl import (
    Action,
    Block,
    DecisionTable,
    LoadedFile,
    Rule,
    validate_model,
)
from ecobrain.reasoning.language.errors import RuleProblem
from ecobrain.reasoning.language.fact_types import FACT_TYPES, field_spec

_OP = re.compile(r"^(>=|<=|==|!=|>|<)\s*(.+)$")
_RANGE = re.compile(r"^\[?\s*(-?\d+(?:\.\d+)?)\s*\.\.\s*(-?\d+(?:\.\d+)?)\s*\]?$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_OUT = re.compile(r"\{out\.([A-Za-z_][A-Za-z0-9_]*)\}")
ANY = ("", "-", "—", "any", "*")


class CellError(ValueError):
    """A cell that cannot be read as a test (the message says how to write it)."""


def is_any(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and cell.strip() in ANY) or cell == []


def _literal(item: Any, text_field: bool) -> str:
    """One value of a cell as the condition language writes it."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int | float):
        return repr(item)
    s = str(item).strip()
    if not s:
        raise CellError("an empty value in a list")
    if s[0] in "\"'":
        return s
    if text_field:
        return json.dumps(s, ensure_ascii=False)
    return s


def cell_condition(fname: str, cell: Any, fact_type: str) -> str | None:
    """The condition a cell stands for (None: any value)."""
    if is_any(cell):
        return None
    spec = field_spec(fact_type, fname)
    text_field = spec is not None and spec.type in ("str", "str_list", "date")
    if isinstance(cell, list):
        return f"{fname} in [{', '.join(_literal(v, text_field) for v in cell)}]"
    if not isinstance(cell, str):
        return f"{fname} == {_literal(cell, text_field)}"
    s = " ".join(cell.split())
    if s.startswith("not "):
        inner = cell_condition(fname, s[4:], fact_type)
        if inner is None:
            raise CellError(f"'{s}' excludes every value")
        return f"not ({inner})"
    if s in ("null", "missing", "None"):
        return f"{fname} == null"
    m = _RANGE.match(s)
    if m:
        return f"{fname} >= {m.group(1)} and {fname} <= {m.group(2)}"
    m = _OP.match(s)
    if m:
        return f"{fname} {m.group(1)} {_literal(m.group(2), text_field)}"
    for word in ("is_a ", "has_a ", "in ["):
        if s.startswith(word):
            return f"{fname} {s}"
    if "," in s:
        items = [p for p in (x.strip() for x in s.strip("[]").split(",")) if p]
        return f"{fname} in [{', '.join(_literal(v, text_field) for v in items)}]"
    if s in ("true", "false") and not text_field:
        return f"{fname} == {s}"
    return f"{fname} == {_literal(s, text_field)}"


def row_condition(table: DecisionTable, row_index: int, *, given: list[int] | None = None
                  ) -> str | None:
    """The row's cells joined with `and` (None: the row matches every input).

    With `given` (rows of which one holds, all with the same cell in some columns), the
    cells equal to those are left out: they hold already, and the shorter negation keeps
    the compiled condition small (the engine limits the size of one rule's condition).
    """
    row = table.rows[row_index]
    cells = row.cells
    parts = []
    for col in table.inputs:
        cell = cells.get(col.field)
        if given and not is_any(cell) and all(
                _same(cell, table.rows[g].cells.get(col.field)) for g in given):
            continue
        cond = cell_condition(col.field, cell, table.fact)
        if cond is not None:
            parts.append(f"({cond})")
    return " and ".join(parts) or None


def _norm(v: Any) -> Any:
    return " ".join(v.split()) if isinstance(v, str) else v


def _same(a: Any, b: Any) -> bool:
    return _norm(a) == _norm(b)


def policy_order(table: DecisionTable) -> list[int]:
    """Row indexes in the order the hit policy tries them."""
    order = list(range(len(table.rows)))
    if table.hit_policy == "priority":
        order.sort(key=lambda i: -(table.rows[i].priority
                                   if table.rows[i].priority is not None else table.priority))
    return order


def _substitute(value: Any, outs: dict[str, Any]) -> tuple[Any, bool]:
    """(value with {out.x} replaced, whether every output it names is filled in the row)."""
    if isinstance(value, dict):
        out, ok = {}, True
        for k, v in value.items():
            out[k], good = _substitute(v, outs)
            ok = ok and good
        return out, ok
    if isinstance(value, list):
        items = [_substitute(v, outs) for v in value]
        return [v for v, _ in items], all(ok for _, ok in items)
    if not isinstance(value, str):
        return value, True
    names = _OUT.findall(value)
    if any(is_any(outs.get(n)) for n in names):
        return value, False
    whole = _OUT.fullmatch(value.strip())
    if whole:
        return outs[whole.group(1)], True
    return _OUT.sub(lambda m: str(outs[m.group(1)]), value), True


def outputs_of(table: DecisionTable, row_index: int) -> dict[str, Any]:
    cells = table.rows[row_index].cells
    return {name: cells.get(name) for name in table.outputs}


def row_actions(table: DecisionTable, row_index: int) -> list[dict[str, Any]]:
    """The row's actions (``then`` with its output cells), empty when it concludes nothing."""
    outs = outputs_of(table, row_index)
    if all(is_any(v) for v in outs.values()) and table.outputs:
        return []
    actions = []
    for action in table.then:
        done, complete = _substitute(action, outs)
        if complete:
            actions.append(done)
    return actions


def group_condition(table: DecisionTable, rows: list[int], conds: list[str | None]
                    ) -> str | None:
    """The condition of one rule: any of its rows, none of the rows the policy tries first.

    Rows of the same rule do not exclude each other (they conclude the same thing). When
    every row of the rule comes after the same other rows, the exclusion is written once.
    """
    own = [conds[r] for r in rows]
    either = None if any(c is None for c in own) else (
        own[0] if len(own) == 1 else " or ".join(f"({c})" for c in own))
    if table.hit_policy not in ("first", "priority"):
        return either
    order = policy_order(table)
    before = {r: [e for e in order[:order.index(r)] if e not in rows] for r in rows}
    if len({tuple(v) for v in before.values()}) == 1:
        negs = [row_condition(table, e, given=rows) for e in before[rows[0]]]
        if any(n is None for n in negs):
            return "false"  # a row above takes every input this rule covers
        parts = ([f"({either})"] if either else []) + [f"not ({n})" for n in negs]
        return " and ".join(parts) or None
    branches = []
    for r in rows:
        negs = [row_condition(table, e, given=[r]) for e in before[r]]
        if any(n is None for n in negs):
            continue
        parts = ([f"({conds[r]})"] if conds[r] else []) + [f"not ({n})" for n in negs]
        branches.append(" and ".join(parts) or "true")
    if not branches:
        return "false"
    return branches[0] if len(branches) == 1 else " or ".join(f"({b})" for b in branches)


def expand_table(table: DecisionTable, t: int, loaded: LoadedFile
                 ) -> tuple[list[Rule], list[RuleProblem]]:
    """The rules of one table, or the problems (row and column located) that prevent them."""
    problems: list[RuleProblem] = []
    here = ("tables", t)
    if table.fact not in FACT_TYPES:
        return [], [loaded.problem(f"unknown fact type '{table.fact}' (known: "
                                   f"{', '.join(FACT_TYPES)})", *here, "fact")]
    known_cols = {c.field for c in table.inputs} | set(table.outputs)
    for c, col in enumerate(table.inputs):
        if field_spec(table.fact, col.field) is None:
            problems.append(loaded.problem(
                f"unknown field '{col.field}' of {table.fact} (fields: "
                f"{', '.join(FACT_TYPES[table.fact].fields)})", *here, "inputs", c))
    clash = sorted({c.field for c in table.inputs} & set(table.outputs))
    if clash:
        problems.append(loaded.problem(f"{', '.join(clash)} is both an input and an output",
                                       *here, "outputs"))
    used = set()
    for action in table.then:
        used |= set(_OUT.findall(json.dumps(action, ensure_ascii=False)))
    for name in sorted(used - set(table.outputs)):
        problems.append(loaded.problem(f"then uses {{out.{name}}}, which is not an output "
                                       f"column (outputs: {', '.join(table.outputs)})",
                                       *here, "then"))
    conds: list[str | None] = []
    for r, row in enumerate(table.rows):
        for name in row.cells:
            if name not in known_cols:
                problems.append(loaded.problem(
                    f"row {r + 1}: unknown column '{name}' (inputs: "
                    f"{', '.join(c.field for c in table.inputs)}; outputs: "
                    f"{', '.join(table.outputs) or 'none'})", *here, "rows", r, name))
        try:
            conds.append(row_condition(table, r))
        except CellError as exc:
            problems.append(loaded.problem(f"row {r + 1}: {exc}", *here, "rows", r))
            conds.append(None)
    if problems:
        return [], problems
    groups: dict[str, list[int]] = {}
    for r, row in enumerate(table.rows):
        if not row_actions(table, r):
            continue
        if row.id is None:
            problems.append(loaded.problem(
                f"row {r + 1} concludes something: give it an id (the rule id of its "
                "conclusion, e.g. alert.heavy-pollution.red)", *here, "rows", r))
            continue
        groups.setdefault(row.id, []).append(r)
    rules: list[Rule] = []
    for rid, rows in groups.items():
        first = rows[0]
        actions = row_actions(table, first)
        for r in rows[1:]:
            if row_actions(table, r) != actions:
                problems.append(loaded.problem(
                    f"rows {first + 1} and {r + 1} share the id {rid} but conclude different "
                    "things: give each its own id", *here, "rows", r, "id"))
        cond = group_condition(table, rows, conds)
        if table.if_:
            cond = f"({table.if_})" + (f" and ({cond})" if cond else "")
        row = table.rows[first]
        try:
            then = [Action.model_validate(a) for a in actions]
        except ValidationError as exc:
            for err in exc.errors():
                problems.append(loaded.problem(
                    f"row {first + 1}: {err.get('msg')} (at "
                    f"{'.'.join(str(x) for x in err['loc'])} of its action)", *here, "rows",
                    first))
            continue
        rules.append(Rule(
            id=rid, version=table.version,
            title=row.title or f"{table.title}（{rid.rsplit('.', 1)[-1]}）",
            title_en=row.title_en or table.title_en, status=table.status,
            effective_from=table.effective_from, effective_to=table.effective_to,
            priority=row.priority if row.priority is not None else table.priority,
            legal_basis=list(dict.fromkeys([*table.legal_basis, *row.legal_basis])),
            concerns=list(table.concerns),
            targets=list(dict.fromkeys([*table.targets, *row.targets])),
            source_quality=row.source_quality or table.source_quality,
            note=row.note or table.note,
            when=[*table.given, Block.model_validate(
                {"fact": table.fact, "as": table.as_, "if": cond})],
            then=then))
    return rules, problems


def expand_tables(loaded: LoadedFile) -> list[RuleProblem]:
    """Fill ``loaded.table_rules`` from the file's tables; the problems found doing so."""
    loaded.table_rules = []
    if loaded.model is None:
        return []
    problems: list[RuleProblem] = []
    for t, table in enumerate(loaded.model.tables):
        rules, probs = expand_table(table, t, loaded)
        problems += probs
        loaded.table_rules += [(r, t) for r in rules]
    return problems


def validate_file(loaded: LoadedFile) -> list[RuleProblem]:
    """The file format, then its decision tables expanded to rules."""
    problems = validate_model(loaded)
    if problems:
        return problems
    return expand_tables(loaded)
