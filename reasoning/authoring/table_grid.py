"""A decision table as the editor's grid, and the grid's edits written back into the YAML.

The rule editor (/ui/rules) shows a table version as rows × columns of text cells; the expert
edits cells, adds or removes rows and bumps the version, and the server (not the browser)
writes that back into the YAML text, with the same row reader as a sheet import
(:func:`.table_io.rows_from_sheet`: unknown columns and bad values are errors naming the row
and column) and the same writer (:func:`.table_io.replace_rows`: the rest of the text stays as
written, comments included). The text a version page shows is one table without the
``tables:`` key; the grid's edits come back as a rule file (``tables:`` with that one table),
so that the expert can put the new version's ``tests:`` beside it and run them before saving.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from ecobrain import safe_yaml
from ecobrain.reasoning.authoring.table_edit import load_text
from ecobrain.reasoning.authoring.table_io import (
    META,
    Cells,
    find_table,
    grid,
    replace_rows,
    rows_from_sheet,
)
from ecobrain.reasoning.language.dsl import DecisionTable
from ecobrain.reasoning.language.errors import RuleError, RuleProblem
from ecobrain.yaml12 import Yaml12NoDatesLoader

_PREFIX = "tables:\n  - "


@dataclass
class Column:
    name: str  # field or output name, or a row's meta key (id, title, priority, note ...)
    kind: str  # meta, input or output
    label: str  # what the grid's heading shows


@dataclass
class Grid:
    table: str  # id
    version: int
    title: str
    hit_policy: str
    fact: str
    columns: list[Column]
    rows: list[list[str]]
    yaml: str  # the text the grid was read from (or written into)


def _is_single_table(text: str) -> bool:
    try:
        data = safe_yaml.load(text, Yaml12NoDatesLoader, aliases=False)
    except yaml.YAMLError:
        return False  # the loader reports the syntax error with its line
    return isinstance(data, dict) and "rows" in data and "hit_policy" in data \
        and "tables" not in data


def _wrap(text: str) -> str:
    return _PREFIX + textwrap.indent(text.rstrip("\n"), "    ")[4:] + "\n"


def _table(text: str, table_id: str | None, version: int | None
           ) -> tuple[int, DecisionTable]:
    loaded = load_text(text, "submitted.yaml")
    if table_id is None:
        tables = loaded.model.tables if loaded.model else []
        if len(tables) != 1:
            raise RuleError(RuleProblem("name the table: this text has "
                                        f"{len(tables)} tables", file="submitted.yaml"))
        table_id = tables[0].id
    return find_table(loaded, table_id, version)


def _grid(table: DecisionTable, text: str) -> Grid:
    names, rows = grid(table)
    labels = {c.field: c.label or c.field for c in table.inputs}
    inputs = set(labels)
    columns = [Column(n, "meta" if n in META and n not in inputs and n not in table.outputs
                      else "input" if n in inputs else "output", labels.get(n, n))
               for n in names]
    return Grid(table=table.id, version=table.version, title=table.title,
                hit_policy=table.hit_policy, fact=table.fact, columns=columns, rows=rows,
                yaml=text)


def read_grid(text: str, table_id: str | None = None, version: int | None = None) -> Grid:
    """The grid of a table in a rule file's text, or of the one table a version page shows."""
    single = _is_single_table(text)
    full = _wrap(text) if single else text
    _, table = _table(full, table_id, version)
    return _grid(table, text)


def _set_version(text: str, table_index: int, version: int) -> str:
    root = safe_yaml.compose(text, Yaml12NoDatesLoader, aliases=False)
    for key, value in root.value:
        if key.value == "tables":
            for k, v in value.value[table_index].value:
                if k.value == "version":
                    return text[:v.start_mark.index] + str(version) + text[v.end_mark.index:]
    raise RuleError(RuleProblem("the table has no version: to change"))


def write_grid(text: str, columns: Sequence[str], rows: Sequence[Sequence[str]], *,
               table_id: str | None = None, version: int | None = None,
               new_version: int | None = None) -> Grid:
    """The text with the table's rows replaced by the grid's (and its version bumped).

    A cell that is empty means "any value" for an input, and is left out for the others,
    as in a sheet; a row with every cell empty is dropped.
    """
    single = _is_single_table(text)
    full = _wrap(text) if single else text
    index, table = _table(full, table_id, version)
    cells: list[Cells] = []
    for n, row in enumerate(rows, start=1):
        if len(row) != len(columns):
            raise RuleError(RuleProblem(f"grid row {n} has {len(row)} cells, the header "
                                        f"{len(columns)}"))
        if any(str(v).strip() for v in row):
            cells.append([(c, str(v).strip(), f"grid row {n}") for c, v in zip(columns, row,
                                                                               strict=True)])
    new = replace_rows(full, index, rows_from_sheet(table, list(columns), cells))
    if new_version is not None and new_version != table.version:
        new = _set_version(new, index, new_version)
    _, changed = _table(new, table.id, new_version or table.version)
    return _grid(changed, new)
