"""`ecobrain rules table ...`: a decision table to a spreadsheet and back.

``export`` writes one table's rows as CSV or XLSX; ``import`` puts a sheet's rows back into the
rule file (the rest of the file untouched) after checking the result like ``rules check``
(gaps, overlaps, rows that never match, every cell's type): nothing is written while there
are errors. ``show`` prints the table as a grid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ecobrain.api.cli.common import console, err_console, fail, graph_store
from ecobrain.reasoning.authoring.table_edit import import_rows, load_text
from ecobrain.reasoning.authoring.table_io import find_table, grid, to_csv, to_xlsx
from ecobrain.reasoning.language.dsl import LoadedFile
from ecobrain.reasoning.language.errors import RuleError

table_app = typer.Typer(help="Decision tables: show, export to CSV/XLSX, import from a sheet.",
                        no_args_is_help=True)

RuleFileArg = Annotated[Path, typer.Argument(help="The rule file (YAML) holding the table.",
                                             exists=True, dir_okay=False)]
TableId = Annotated[str, typer.Argument(help="The table's id, e.g. alert.heavy-pollution.grading")]
VersionOpt = Annotated[int | None, typer.Option("--version", help="The table version (default: "
                                                "the highest in the file).")]


def register(rules_app: typer.Typer) -> None:
    rules_app.add_typer(table_app, name="table")


def _loaded(path: Path) -> LoadedFile:
    try:
        return load_text(path.read_text(encoding="utf-8"), str(path))
    except RuleError as exc:
        raise fail(f"the rule file does not load (run `ecobrain rules check`):\n{exc}") from exc


@table_app.command("show")
def show(path: RuleFileArg, table_id: TableId, version: VersionOpt = None) -> None:
    """Print the table: one line per row, its cells and conclusions."""
    loaded = _loaded(path)
    try:
        _, table = find_table(loaded, table_id, version)
    except RuleError as exc:
        raise fail(str(exc)) from exc
    header, rows = grid(table)
    keep = [j for j, h in enumerate(header) if h in ("id", "priority")
            or h in {c.field for c in table.inputs} or h in table.outputs]
    header = [header[j] for j in keep]
    rows = [[r[j] for j in keep] for r in rows]
    out = Table(title=f"{table.key} {table.title} (hit policy {table.hit_policy})",
                show_lines=True)
    for h in header:
        out.add_column(h, overflow="fold")
    for r in rows:
        out.add_row(*(escape(c) for c in r))
    console.print(out)


@table_app.command("export")
def export(path: RuleFileArg, table_id: TableId,
           out: Annotated[Path, typer.Option("--out", "-o", help="A .csv or .xlsx file.")],
           version: VersionOpt = None) -> None:
    """Write the table's rows to a CSV (UTF-8 with BOM, opens in Excel/WPS) or XLSX sheet."""
    loaded = _loaded(path)
    try:
        _, table = find_table(loaded, table_id, version)
    except RuleError as exc:
        raise fail(str(exc)) from exc
    suffix = out.suffix.lower()
    if suffix == ".csv":
        out.write_text(to_csv(table), encoding="utf-8")
    elif suffix == ".xlsx":
        out.write_bytes(to_xlsx(table))
    else:
        raise fail(f"--out {out}: a .csv or .xlsx file")
    console.print(f"{table.key}: {len(table.rows)} row(s) written to {out}", highlight=False)


@table_app.command("import")
def import_(path: RuleFileArg, table_id: TableId,
            sheet: Annotated[Path, typer.Argument(help="The edited .csv or .xlsx sheet.",
                                                  exists=True, dir_okay=False)],
            version: VersionOpt = None,
            dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only; do not write "
                                                  "the rule file.")] = False,
            offline: Annotated[bool, typer.Option("--offline", help="Concepts from the ontology "
                                                  "file, articles not checked.")] = False,
            ) -> None:
    """Replace the table's rows with the sheet's, if the result passes `rules check`."""
    text = path.read_text(encoding="utf-8")

    def run(store: object) -> None:
        try:
            result = import_rows(text, str(path), table_id, sheet.name, sheet.read_bytes(),
                                 version=version, store=store)
        except RuleError as exc:
            raise fail(f"{sheet}: {exc}") from exc
        for p in result.report.errors:
            err_console.print(f"[bold red]error[/] {escape(str(p))}", highlight=False,
                              soft_wrap=True)
        for p in result.report.warnings:
            err_console.print(f"[yellow]warning[/] {escape(str(p))}", highlight=False,
                              soft_wrap=True)
        if not result.ok:
            raise fail(f"{path} not changed: {len(result.report.errors)} error(s)")
        if dry_run:
            console.print(f"{result.table}: {result.rows} row(s) check clean (dry run, "
                          "nothing written)", highlight=False)
            return
        path.write_text(result.text, encoding="utf-8")
        console.print(f"{result.table}: {result.rows} row(s) imported into {path}; "
                      "0 error(s)", highlight=False)

    if offline:
        run(None)
    else:
        with graph_store() as store:
            run(store)
