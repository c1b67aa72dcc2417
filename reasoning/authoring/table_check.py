"""Static verification of decision tables: gaps, overlaps, rows that can never match.

Each input column's values are cut into *pieces* on which every cell of the column is either
true or false: for a number, the constants the cells compare with split the line into points
and the stretches between them (an integer column: only the stretches that hold an integer;
bounded below by the field's minimum, e.g. 0 for a count); for a concept, each member of its
enumeration (the ontology's leaves of the field's kind: AlertBlue..AlertRed); for true/false,
both; for text, each value a cell names and "any other text"; and "missing" where the column
says the input may lack the field. A cell is compiled exactly as the engine gets it
(:mod:`.decision_table`, :mod:`.expressions`) and evaluated on one value of each piece, so
the verdicts are those of the real conditions, not of a second reading of the cells.

Every combination of pieces is then an input class; for each, the rows that match it:

- none: a **gap** (an error when the table is ``complete``);
- two rows with different conclusions under hit policy ``unique``: an **overlap**;
- a row matching no class at all, or (``first``/``priority``) only classes an earlier row
  takes: a row that **can never match**.

Limits: the table's shared ``if`` and its joins are not part of the analysis (they hold or
fail for every row alike), nor are dependencies between columns (a run of 3 days above 200
implies 3 days above 150): a gap may be reported for inputs that cannot occur — cover it with
a row that concludes nothing. A table whose classes exceed :data:`MAX_CLASSES` is reported
as not verified.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from ecobrain.reasoning.language.concept_index import ConceptIndex
from ecobrain.reasoning.language.decision_table import (
    CellError,
    cell_condition,
    is_any,
    outputs_of,
    policy_order,
    row_actions,
)
from ecobrain.reasoning.language.dsl import DecisionTable, LoadedFile, TableColumn
from ecobrain.reasoning.language.errors import ExpressionError, RuleProblem
from ecobrain.reasoning.language.expressions import (
    AnyOf,
    Compare,
    Context,
    ListHas,
    compile_condition,
    enum_members,
    evaluate,
    walk,
)
from ecobrain.reasoning.language.fact_types import FieldSpec, field_spec

MAX_CLASSES = 2_000_000
MISSING = object()
OTHER_TEXT = "«other text»"
MAX_EXAMPLES = 3


@dataclass(frozen=True)
class Piece:
    value: Any  # a representative value (MISSING: the field is absent)
    text: str  # how a reader sees the piece: "= 2", "3..5", "> 4", "missing"
    span: tuple[float | None, float | None] | None = None  # integers: lowest, highest held


def _span_text(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"= {_fmt(lo)}" if lo == hi else f"{_fmt(lo)}..{_fmt(hi)}"
    if lo is None and hi is None:
        return "any value"
    return f">= {_fmt(lo)}" if hi is None else f"<= {_fmt(hi)}"  # type: ignore[arg-type]


@dataclass
class TableVerdict:
    """What the verification found in one table (problems carry file, line and field)."""

    table: str
    classes: int = 0
    problems: list[RuleProblem] = field(default_factory=list)
    verified: bool = True


def _numbers(trees: list[Any]) -> list[float]:
    out: set[float] = set()

    def visit(node: Any) -> None:
        if isinstance(node, Compare) and node.ref is None and isinstance(node.value, int | float) \
                and not isinstance(node.value, bool):
            out.add(node.value)
        if isinstance(node, AnyOf):
            out.update(v for v in node.values if isinstance(v, int | float)
                       and not isinstance(v, bool))

    for t in trees:
        walk(t, visit)
    return sorted(out)


def _texts(trees: list[Any]) -> list[str]:
    out: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, Compare) and node.ref is None and isinstance(node.value, str):
            out.add(node.value)
        if isinstance(node, AnyOf | ListHas):
            out.update(v for v in node.values if isinstance(v, str))

    for t in trees:
        walk(t, visit)
    return sorted(out)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _number_pieces(points: list[float], integer: bool, lo: float | None,
                   hi: float | None) -> list[Piece]:
    cuts = sorted(set(points) | {p for p in (lo, hi) if p is not None})
    out: list[Piece] = []

    def ok(v: float) -> bool:
        return (lo is None or v >= lo) and (hi is None or v <= hi)

    if not cuts:
        return [Piece(0, "any value")]
    first, last = cuts[0], cuts[-1]
    def span(a: float | None, b: float | None) -> tuple[float | None, float | None] | None:
        return (a, b) if integer else None

    if lo is None:
        out.append(Piece(first - 1, f"< {_fmt(first)}", span(None, first - 1)))
    for a, b in itertools.pairwise(cuts):
        if ok(a):
            out.append(Piece(a, f"= {_fmt(a)}", span(a, a)))
        if integer:
            n0, n1 = int(a) + 1, int(-(-b // 1)) - 1  # integers strictly between a and b
            if n0 <= n1:
                out.append(Piece(n0, _span_text(n0, n1), span(n0, n1)))
        else:
            out.append(Piece((a + b) / 2, f"between {_fmt(a)} and {_fmt(b)}"))
    if ok(last):
        out.append(Piece(last, f"= {_fmt(last)}", span(last, last)))
    if hi is None:
        out.append(Piece(last + 1, f"> {_fmt(last)}", span(last + 1, None)))
    return [p for p in out if ok(p.value)]


def column_pieces(col: TableColumn, spec: FieldSpec, trees: list[Any],
                  concepts: ConceptIndex) -> list[Piece]:
    if spec.type in ("int", "float"):
        lo, hi = col.range if col.range is not None else (spec.minimum, None)
        pieces = _number_pieces(_numbers(trees), spec.type == "int", lo, hi)
    elif spec.type == "bool":
        pieces = [Piece(True, "true"), Piece(False, "false")]
    elif spec.type == "concept":
        members = enum_members(concepts, spec.kinds) if spec.kinds else _texts(trees)
        pieces = [Piece(m, m) for m in [*members, *spec.extra_values]]
    elif spec.type == "concept_list":
        members = enum_members(concepts, spec.kinds) if spec.kinds else _texts(trees)
        pieces = [Piece([m], f"[{m}]") for m in members] + [Piece([], "[] (none)")]
    elif spec.type == "str_list":
        pieces = [Piece([t], f"[{t}]") for t in _texts(trees)] + [
            Piece([OTHER_TEXT], "[other text]"), Piece([], "[] (none)")]
    else:  # str, date
        pieces = [Piece(t, f"= {t}") for t in _texts(trees)] + [Piece(OTHER_TEXT,
                                                                       "any other value")]
    if col.missing:
        pieces.append(Piece(MISSING, "missing"))
    return pieces


def _row_label(table: DecisionTable, r: int) -> str:
    rid = table.rows[r].id
    return f"row {r + 1}" + (f" ({rid})" if rid else " (no conclusion)")


@dataclass(frozen=True)
class Group:
    """Pieces of one column that every row treats alike (one input class per group)."""

    pieces: tuple[Piece, ...]
    mask: int  # the rows whose cell holds on these pieces

    @property
    def text(self) -> str:
        words = [p.text for p in self.pieces]
        if len(words) == 1:
            return words[0]
        if all(p.span is not None for p in self.pieces):  # integers: join adjacent stretches
            merged: list[list[float | None]] = []
            for p in self.pieces:
                lo, hi = p.span  # type: ignore[misc]
                if merged and merged[-1][1] is not None and lo is not None \
                        and merged[-1][1] + 1 == lo:
                    merged[-1][1] = hi
                else:
                    merged.append([lo, hi])
            return " or ".join(_span_text(a, b) for a, b in merged)
        if all(not (w[:1] in "=<>[" or w[:1].isdigit()) and w != "missing" for w in words):
            shown = words[:6] + (["…"] if len(words) > 6 else [])
            return f"in [{', '.join(shown)}]"
        return " or ".join(words)


def _groups(pieces: list[Piece], masks: list[int]) -> list[Group]:
    by_mask: dict[int, list[Piece]] = {}
    for piece, m in zip(pieces, masks, strict=True):
        by_mask.setdefault(m, []).append(piece)
    return [Group(tuple(ps), m) for m, ps in by_mask.items()]


def _describe(cols: list[TableColumn], groups: list[list[Group]], combo: tuple[int, ...]
              ) -> str:
    parts = []
    for c, i in enumerate(combo):
        if len(groups[c]) > 1:
            text = groups[c][i].text
            if not (text[:1] in "=<>[" or text[:1].isdigit() or text.startswith("in [")
                    or text in ("missing", "any other value", "true", "false")):
                text = f"= {text}"
            parts.append(f"{cols[c].field} {text}")
    return ", ".join(parts) or "every input"


def verify_table(table: DecisionTable, t: int, loaded: LoadedFile,
                 concepts: ConceptIndex) -> TableVerdict:
    """Gaps, overlaps (unique) and rows that can never match, each a located problem."""
    verdict = TableVerdict(table=table.key)
    here = ("tables", t)
    cols = list(table.inputs)
    specs: list[FieldSpec] = []
    for col in cols:
        spec = field_spec(table.fact, col.field)
        if spec is None:
            verdict.verified = False
            return verdict  # reported by the expansion
        specs.append(spec)
    # cell trees: tree[r][c] (None = any value)
    trees: list[list[Any]] = []
    for r, row in enumerate(table.rows):
        cells = row.cells
        line: list[Any] = []
        for col in cols:
            cell = cells.get(col.field)
            if is_any(cell):
                line.append(None)
                continue
            try:
                cond = cell_condition(col.field, cell, table.fact)
                tree = compile_condition(cond, Context(fact_type=table.fact,
                                                       concepts=concepts)).tree
            except (CellError, ExpressionError) as exc:
                reason = exc.reason if isinstance(exc, ExpressionError) else str(exc)
                verdict.problems.append(loaded.problem(
                    f"{_row_label(table, r)}, column {col.field}: {reason} (cell: {cell!r})",
                    *here, "rows", r, col.field))
                line.append(None)
                verdict.verified = False
                continue
            line.append(tree)
        trees.append(line)
    if not verdict.verified:
        return verdict
    pieces = [column_pieces(col, specs[c], [trees[r][c] for r in range(len(trees))
                                             if trees[r][c] is not None], concepts)
              for c, col in enumerate(cols)]
    # masks per piece: rows whose cell in the column holds on it; pieces alike are grouped
    groups: list[list[Group]] = []
    for c, col in enumerate(cols):
        per_piece = []
        for piece in pieces[c]:
            fact = {} if piece.value is MISSING else {col.field: piece.value}
            m = 0
            for r in range(len(table.rows)):
                tree = trees[r][c]
                if tree is None or evaluate(tree, fact):
                    m |= 1 << r
            per_piece.append(m)
        groups.append(_groups(pieces[c], per_piece))
    total = 1
    for g in groups:
        total *= len(g)
    verdict.classes = total
    if total > MAX_CLASSES:
        verdict.verified = False
        verdict.problems.append(loaded.problem(
            f"table {table.key} not verified: {total} input classes (more than {MAX_CLASSES}); "
            "split it or give columns a range", *here, severity="warning"))
        return verdict
    order = policy_order(table)
    rank = {r: k for k, r in enumerate(order)}
    everything = (1 << len(table.rows)) - 1
    gaps: list[tuple[int, ...]] = []
    gap_count = 0
    overlaps: dict[tuple[int, int], tuple[int, ...]] = {}
    won = 0  # rows that win (first/priority) or match (unique/collect) some class
    matched = 0
    outs = [outputs_of(table, r) for r in range(len(table.rows))]
    shadow = [0] * len(table.rows)  # per row: the rows that take its inputs first

    def prio(r: int) -> int:
        p = table.rows[r].priority
        return table.priority if p is None else p
    acts = [row_actions(table, r) for r in range(len(table.rows))]
    for combo in itertools.product(*(range(len(g)) for g in groups)):
        m = everything
        for c, i in enumerate(combo):
            m &= groups[c][i].mask
            if not m:
                break
        if not m:
            gap_count += 1
            if len(gaps) < MAX_EXAMPLES:
                gaps.append(combo)
            continue
        matched |= m
        rows = [r for r in range(len(table.rows)) if m >> r & 1]
        if table.hit_policy in ("first", "priority"):
            winner = min(rows, key=rank.__getitem__)
            won |= 1 << winner
            for r in rows:
                shadow[r] |= 1 << winner
        else:
            won |= m
        if table.hit_policy in ("unique", "priority") and len(rows) > 1:
            for a, b in itertools.combinations(rows, 2):
                if table.hit_policy == "priority" and prio(a) != prio(b):
                    continue  # the higher priority decides: intended
                if acts[a] != acts[b] or outs[a] != outs[b]:
                    overlaps.setdefault((a, b), combo)
    if gap_count and table.complete:
        examples = "; ".join(_describe(cols, groups, g) for g in gaps)
        more = f" (and {gap_count - len(gaps)} more input classes)" if gap_count > len(gaps) \
            else ""
        verdict.problems.append(loaded.problem(
            f"gap in table {table.key}: no row covers {examples}{more}; add a row for these "
            "inputs (a row with empty conclusions says 'nothing'), or set complete: false",
            *here, "rows"))
    for (a, b), combo in sorted(overlaps.items()):
        if table.hit_policy == "priority":  # decided by row order: say so, not an error
            verdict.problems.append(loaded.problem(
                f"{_row_label(table, a)} and {_row_label(table, b)} of table {table.key} have "
                f"the same priority {prio(a)} and both match "
                f"{_describe(cols, groups, combo)}: the upper row wins; give them different "
                "priorities to say which", *here, "rows", b, severity="warning"))
            continue
        verdict.problems.append(loaded.problem(
            f"overlap in table {table.key} (hit policy unique): {_row_label(table, a)} and "
            f"{_row_label(table, b)} both match {_describe(cols, groups, combo)} and conclude "
            "different things; narrow one of them, or choose hit policy first/priority/"
            "collect", *here, "rows", b))
    for r in range(len(table.rows)):
        bit = 1 << r
        if not matched & bit:
            verdict.problems.append(loaded.problem(
                f"{_row_label(table, r)} of table {table.key} can never match: its cells "
                "exclude every input", *here, "rows", r))
        elif not won & bit:
            above = [w + 1 for w in range(len(table.rows)) if shadow[r] >> w & 1]
            verdict.problems.append(loaded.problem(
                f"{_row_label(table, r)} of table {table.key} can never match: every input "
                f"it covers is taken first by row(s) {', '.join(map(str, above))} (hit "
                f"policy {table.hit_policy})", *here, "rows", r))
    return verdict


def verify_file_tables(loaded: LoadedFile, concepts: ConceptIndex) -> list[TableVerdict]:
    if loaded.model is None:
        return []
    return [verify_table(tab, t, loaded, concepts) for t, tab in enumerate(loaded.model.tables)]
