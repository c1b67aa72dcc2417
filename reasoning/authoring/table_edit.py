"""A decision table's rows replaced from a sheet, checked before anyone keeps the result.

Shared by ``ecobrain rules table import`` and ``POST /rules/tables/import``: the rule file's
text and a sheet in, the new text and the full check report (:mod:`.check`, with the
table verification) out. Nothing is written here; the caller writes the file (CLI) or saves
a new version (API) only when the report has no errors.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecobrain.reasoning.authoring.check import CheckReport, check_rules
from ecobrain.reasoning.authoring.table_io import (
    find_table,
    read_sheet,
    replace_rows,
    rows_from_sheet,
)
from ecobrain.reasoning.language.concept_index import ConceptIndex
from ecobrain.reasoning.language.decision_table import validate_file
from ecobrain.reasoning.language.dsl import LoadedFile, parse_rule_file
from ecobrain.reasoning.language.errors import RuleError, RuleProblem


def _named(p: RuleProblem, display: str) -> RuleProblem:
    """A problem of the checked copy, named after the file the author has."""
    return dataclasses.replace(p, file=display) if p.file else p


@dataclass
class ImportResult:
    text: str  # the rule file with the new rows
    table: str  # <id>@<version>
    rows: int
    report: CheckReport

    @property
    def ok(self) -> bool:
        return self.report.ok


def load_text(text: str, display: str) -> LoadedFile:
    """Parse and expand a rule file's text; RuleError with every problem located."""
    loaded = parse_rule_file(Path(display), text=text, display=display)
    problems = validate_file(loaded)
    if problems:
        raise RuleError(problems)
    return loaded


def import_rows(text: str, display: str, table_id: str, sheet_name: str, sheet: bytes, *,
                version: int | None = None, store: Any = None,
                concepts: ConceptIndex | None = None) -> ImportResult:
    loaded = load_text(text, display)
    index, table = find_table(loaded, table_id, version)
    header, cells = read_sheet(sheet_name, sheet)
    rows = rows_from_sheet(table, header, cells)
    new_text = replace_rows(text, index, rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(display).name
        path.write_text(new_text, encoding="utf-8")
        report = check_rules(path, store=store, concepts=concepts,
                             check_articles=store is not None)
    report.errors = [_named(p, display) for p in report.errors]
    report.warnings = [_named(p, display) for p in report.warnings]
    return ImportResult(text=new_text, table=table.key, rows=len(rows), report=report)
