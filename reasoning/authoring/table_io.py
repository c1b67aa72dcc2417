"""Decision tables to and from spreadsheets (CSV, XLSX), so experts edit rows where they work.

The sheet has one header row of column names and one row per table row, in order:

    id | title | priority | note | 绩效分级 (grade) ... | <output columns...>

(an input column with a label shows it, the field in parentheses; a bare field name is read
too)
(plus ``title_en``, ``source_quality``, ``legal_basis``, ``targets`` when a row uses them;
lists are written ``a, b``). A cell holds what the YAML row holds: empty or ``-`` for any
value, ``>= 3``, ``1..3``, ``GradeA, GradeLeading``, ``not true`` (:mod:`.decision_table`).
CSV is read and written as UTF-8 with a byte-order mark, which Excel and WPS need to show
Chinese text; XLSX through openpyxl (numbers typed in a cell stay numbers).

Importing replaces the rows of one table *in the YAML text*, leaving everything else of the
file as written (comments included); the table's columns, conclusions, dates and legal basis
are edited in the YAML, not the sheet. An unknown column or a bad value is an error naming
the sheet's row and column (``rows.csv:4 column 'levl'``, ``Sheet1!C4``); the new text is
then checked like any rule file before anyone writes it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import yaml
from openpyxl.utils import get_column_letter
from pydantic import ValidationError

from ecobrain import safe_yaml
from ecobrain.reasoning.language.dsl import DecisionTable, LoadedFile, TableRow
from ecobrain.reasoning.language.errors import RuleError, RuleProblem
from ecobrain.yaml12 import Yaml12NoDatesLoader

META = ("id", "title", "title_en", "priority", "source_quality", "legal_basis", "targets",
        "note")
LIST_META = ("legal_basis", "targets")
ALWAYS = ("id", "title", "priority", "note")


def find_table(loaded: LoadedFile, table_id: str, version: int | None = None
               ) -> tuple[int, DecisionTable]:
    """The table with that id (the highest version unless one is named)."""
    tables = list(enumerate(loaded.model.tables if loaded.model else []))
    found = [(i, t) for i, t in tables if t.id == table_id
             and (version is None or t.version == version)]
    if not found:
        known = ", ".join(sorted({t.key for _, t in tables})) or "none"
        want = table_id + (f"@{version}" if version is not None else "")
        raise RuleError(RuleProblem(f"no table {want} in this file (tables: {known})",
                                    file=loaded.display))
    return max(found, key=lambda it: it[1].version)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def grid(table: DecisionTable, *, labels: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the table as a sheet shows them.

    With `labels`, an input column with a label is headed ``label (field)``, e.g.
    ``AQI>200最长连续天数 (longest_run_over_200)``: the reader sees the Chinese name, the import
    reads the field in the parentheses.
    """
    used = [m for m in META if m in ALWAYS or any(
        getattr(r, m) not in (None, [], "") for r in table.rows)]
    names = used + [c.field for c in table.inputs] + list(table.outputs)
    rows = []
    for row in table.rows:
        cells = row.cells
        line = [_text(getattr(row, m)) for m in used]
        line += [_text(cells.get(name)) for name in names[len(used):]]
        rows.append(line)
    if labels:
        shown = {c.field: f"{c.label} ({c.field})" for c in table.inputs if c.label}
        names = [shown.get(n, n) for n in names]
    return names, rows


_HEADING = re.compile(r"\(([A-Za-z_][A-Za-z0-9_]*)\)\s*$")


def column_name(heading: str) -> str:
    """The column a heading names: ``label (field)`` or the bare name."""
    m = _HEADING.search(heading)
    return m.group(1) if m else heading.strip()


def to_csv(table: DecisionTable) -> str:
    header, rows = grid(table, labels=True)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return "\ufeff" + out.getvalue()


def to_xlsx(table: DecisionTable) -> bytes:
    header, rows = grid(table, labels=True)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = table.id[:31]
    sheet.append(header)
    for line in rows:
        sheet.append([_typed(v) for v in line])
    for j, _name in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(j)].width = 20
    sheet.freeze_panes = "A2"
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _typed(v: str) -> Any:
    """A number stays a number in the sheet (so Excel sorts and sums it)."""
    try:
        return int(v)
    except ValueError:
        return v


# -- reading a sheet ------------------------------------------------------------------------

Cells = list[tuple[str, Any, str]]  # (column name, value, where: "rows.csv:4" / "Sheet!C4")


def read_csv(data: str | bytes, name: str = "sheet.csv") -> tuple[list[str], list[Cells]]:
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    lines = [r for r in reader]
    if not lines:
        raise RuleError(RuleProblem("the sheet is empty (no header row)", file=name))
    header = [column_name(h) for h in lines[0]]
    rows: list[Cells] = []
    for n, line in enumerate(lines[1:], start=2):
        if not any(c.strip() for c in line):
            continue
        if len(line) > len(header):
            raise RuleError(RuleProblem(f"row has {len(line)} cells, the header "
                                        f"{len(header)}", file=name, line=n))
        rows.append([(header[j], v.strip(), f"{name}:{n}") for j, v in enumerate(line)])
    return header, rows


def read_xlsx(data: bytes, name: str = "sheet.xlsx") -> tuple[list[str], list[Cells]]:
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not XLSX
        raise RuleError(RuleProblem(f"not an XLSX workbook: {exc}", file=name)) from None
    sheet = book.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    if not values:
        raise RuleError(RuleProblem("the sheet is empty (no header row)", file=name))
    header = [column_name(_text(h)) for h in values[0]]
    while header and not header[-1]:
        header.pop()
    rows: list[Cells] = []
    for n, line in enumerate(values[1:], start=2):
        if all(v is None or _text(v).strip() == "" for v in line):
            continue
        cells: Cells = []
        for j, v in enumerate(line):
            where = f"{name}!{sheet.title}!{get_column_letter(j + 1)}{n}"
            if j >= len(header):
                if v not in (None, ""):
                    raise RuleError(RuleProblem(f"{where}: a value outside the header's "
                                                "columns", file=name))
                continue
            cells.append((header[j], v.strip() if isinstance(v, str) else v, where))
        rows.append(cells)
    return header, rows


def read_sheet(path: str | Path, data: bytes | None = None) -> tuple[list[str], list[Cells]]:
    p = Path(path)
    raw = data if data is not None else p.read_bytes()
    if p.suffix.lower() == ".xlsx":
        return read_xlsx(raw, p.name)
    if p.suffix.lower() == ".csv":
        return read_csv(raw, p.name)
    raise RuleError(RuleProblem("a sheet is .csv or .xlsx", file=str(p)))


def rows_from_sheet(table: DecisionTable, header: Sequence[str], rows: Sequence[Cells]
                    ) -> list[dict[str, Any]]:
    """Table rows (as YAML mappings) from a sheet; unknown columns are errors."""
    inputs = [c.field for c in table.inputs]
    known = [*META, *inputs, *table.outputs]
    problems = []
    for h in header:
        if h and h not in known:
            problems.append(RuleProblem(
                f"unknown column '{h}' (columns of {table.key}: {', '.join(known)})"))
    if problems:
        raise RuleError(problems)
    out: list[dict[str, Any]] = []
    for cells in rows:
        row: dict[str, Any] = {}
        for name, value, where in cells:
            if value is None or (isinstance(value, str) and value == ""):
                continue
            if name in LIST_META:
                row[name] = [v.strip() for v in str(value).split(",") if v.strip()]
            elif name == "priority":
                try:
                    row[name] = int(str(value))
                except ValueError:
                    problems.append(RuleProblem(f"{where}: priority is a whole number 0-100, "
                                                f"not {value!r}"))
            elif isinstance(value, float) and value.is_integer():
                row[name] = int(value)
            else:
                row[name] = value
        try:
            TableRow.model_validate(row)
        except ValidationError as exc:  # a bad id or priority, named with the sheet row
            where = cells[0][2] if cells else "?"
            for err in exc.errors():
                name = ".".join(str(x) for x in err["loc"])
                problems.append(RuleProblem(f"{where} column {name}: {err['msg']} "
                                            f"({err.get('input')!r})"))
        out.append(row)
    if problems:
        raise RuleError(problems)
    return out


# -- writing the rows back into the YAML text ---------------------------------------------

def _rows_node(text: str, table_index: int) -> yaml.Node:
    root = safe_yaml.compose(text, Yaml12NoDatesLoader, aliases=False)
    for key, value in root.value:
        if key.value == "tables":
            for k, v in value.value[table_index].value:
                if k.value == "rows":
                    return v
    raise RuleError(RuleProblem("the table has no rows: to replace"))


def dump_row(row: dict[str, Any]) -> str:
    return yaml.safe_dump(row, default_flow_style=True, allow_unicode=True, sort_keys=False,
                          width=10**6).strip()


def replace_rows(text: str, table_index: int, rows: Sequence[dict[str, Any]]) -> str:
    """The file text with the table's rows replaced (one flow mapping per row)."""
    node = _rows_node(text, table_index)
    start, end = node.start_mark.index, node.end_mark.index
    segment = text[start:end]
    trailing = segment[len(segment.rstrip()):]
    pad = " " * node.start_mark.column
    body = f"\n{pad}".join(f"- {dump_row(r)}" for r in rows)
    return text[:start] + body + (trailing or "\n") + text[end:]
