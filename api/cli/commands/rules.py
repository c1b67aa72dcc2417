"""`ecobrain rules ...`: check, test, load and list the rule base.

Wire it with ``cli_rules.register(app)`` (adds the ``rules`` group). Every command works on
the bundled ``rules/`` folder unless given a folder or one file.
"""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ecobrain.api.cli.commands import rule_tables as cli_rule_tables
from ecobrain.api.cli.common import console, err_console, fail, graph_store, to_json
from ecobrain.reasoning.authoring import impact as change_impact
from ecobrain.reasoning.authoring.check import check_rules
from ecobrain.reasoning.authoring.legal_coverage import CoverageReport, legal_coverage
from ecobrain.reasoning.authoring.rule_graph import load_rules_into_graph
from ecobrain.reasoning.authoring.rule_store import RuleNotFound
from ecobrain.reasoning.authoring.rulebase import (
    load_rule_base,
    rule_nodes,
    state_on,
)
from ecobrain.reasoning.authoring.testing import run_rule_tests
from ecobrain.reasoning.language.errors import RuleError

rules_app = typer.Typer(help="Rules: check, test, load into the graph, list versions.",
                        no_args_is_help=True)

PathArg = Annotated[Path | None, typer.Argument(
    help="A rule folder or one rule file (default: the bundled rules/).", exists=True)]
Offline = Annotated[bool, typer.Option(
    "--offline", help="Do not use the graph: concepts from the bundled ontology file, "
    "articles not checked.")]


def register(app: typer.Typer) -> None:
    cli_rule_tables.register(rules_app)
    app.add_typer(rules_app, name="rules")


def _problems(problems: list, label: str, style: str) -> None:
    for p in problems:
        err_console.print(f"[{style}]{label}[/] {escape(str(p))}", highlight=False,
                          soft_wrap=True)


def _coverage_lines(cov: CoverageReport) -> None:
    """Per rule version in force: its grounds' status on the date, in force first."""
    console.print(f"legal coverage on {cov.on}: {len(cov.rules)} rule version(s) in force, "
                  f"{len(cov.uncovered)} without a ground in force", highlight=False)
    for r in cov.rules:
        mark = "[green]ok[/]" if r.covered else "[bold yellow]NO GROUND IN FORCE[/]"
        console.print(f"  {escape(r.key)} {mark}", highlight=False)
        for g in r.grounds:
            state = "in force" if g.in_force else g.status
            console.print(f"      {state:<17} {escape(g.citation)}", highlight=False,
                          style=None if g.in_force else "dim")
        for text in r.escalation_gaps:
            console.print(f"      escalation without a ground in force: {escape(text)}",
                          highlight=False, style="dim")


def _day(on: str | None) -> date | None:
    """The --on date, or None; a bad one is a one-line error."""
    if not on:
        return None
    try:
        return date.fromisoformat(on)
    except ValueError as exc:
        raise fail(f"--on {on!r}: not a date (YYYY-MM-DD)") from exc


@rules_app.command("check")
def check(path: PathArg = None, offline: Offline = False,
          as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
          = False,
          on: Annotated[str | None, typer.Option(
              "--on", help="Also report legal coverage on this date (YYYY-MM-DD): each rule "
              "version in force, its grounds' status, a warning per rule without a ground "
              "in force.")] = None) -> None:
    """Validate schema, expressions, concepts and cited articles; errors name file:line."""
    day = _day(on)
    if day is not None and offline:
        raise fail("--on needs the graph (the grounds' validity is there); drop --offline")

    def run(store: object) -> None:
        report = check_rules(path, store=store)
        cov = legal_coverage(report.rule_base, store, day) if day and report.ok else None
        if as_json:
            console.print_json(to_json({
                "ok": report.ok, "files": report.files, "rules": report.rule_count,
                "concepts": report.concepts_source, "articles_checked": report.articles_checked,
                "errors": [str(p) for p in report.errors],
                "warnings": [str(p) for p in report.warnings]
                + (cov.warnings if cov else []),
                **({"legal_coverage": cov.as_dict()} if cov else {})}))
        else:
            if cov is not None:
                _coverage_lines(cov)
                _problems(cov.warnings, "warning", "yellow")
            _problems(report.errors, "error", "bold red")
            _problems(report.warnings, "warning", "yellow")
            articles = "articles checked against the graph" if report.articles_checked \
                else "articles NOT checked (--offline)"
            console.print(f"{len(report.files)} file(s), {report.rule_count} rule version(s); "
                          f"concepts from {report.concepts_source}; {articles}: "
                          f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
        if not report.ok:
            raise typer.Exit(1)

    if offline:
        run(None)
    else:
        with graph_store() as store:
            run(store)


@rules_app.command("test")
def test(path: PathArg = None, offline: Offline = False,
         verbose: Annotated[bool, typer.Option("-v", "--verbose",
                                               help="Show every case, its conclusions and the "
                                               "Chinese text each generates.")]
         = False) -> None:
    """Run the test cases written in the rule files."""
    def run(store: object) -> None:
        try:
            results = run_rule_tests(path, store=store)
        except RuleError as exc:
            raise fail(f"the rule files do not load (run `ecobrain rules check`):\n{exc}"
                       ) from exc
        failed = [r for r in results if not r.passed]
        for r in results:
            if r.passed and not verbose:
                continue
            mark = "[green]PASS[/]" if r.passed else "[bold red]FAIL[/]"
            console.print(f"{mark} {escape(r.where)} {escape(r.name)} (on {r.on})",
                          highlight=False)
            for f in r.failures:
                console.print(f"    {escape(f)}", highlight=False)
            if verbose or not r.passed:
                for c, text in zip(r.conclusions, r.texts or [""] * len(r.conclusions),
                                   strict=True):
                    console.print(f"    · {escape(c)}", highlight=False)
                    for t in text.splitlines() if verbose else []:
                        console.print(f"        {escape(t)}", highlight=False, soft_wrap=True,
                                      style="cyan")
        console.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
        if failed:
            raise typer.Exit(1)

    if offline:
        run(None)
    else:
        with graph_store() as store:
            run(store)


@rules_app.command("load")
def load(path: PathArg = None) -> None:
    """Check the rules against the graph, then write them as Rule nodes (idempotent)."""
    with graph_store() as store:
        try:
            counts = load_rules_into_graph(store, path)
        except RuleError as exc:
            raise fail(f"nothing loaded:\n{exc}") from exc
        console.print(f"loaded {counts['rules']} rule version(s) from {counts['files']} file(s): "
                      f"{counts['cites']} CITES, {counts['concerns']} CONCERNS, "
                      f"{counts['targets']} TARGETS ({counts['seconds']} s)")


@rules_app.command("list")
def list_rules(
    path: PathArg = None,
    on: Annotated[str | None, typer.Option(help="The date the status is shown on (YYYY-MM-DD; "
                                                "default today).")] = None,
    in_force: Annotated[bool, typer.Option("--in-force", help="Only the versions in force on "
                                                               "that date.")] = False,
    graph: Annotated[bool, typer.Option("--graph", help="List the Rule nodes in the graph "
                                                        "instead of the files.")] = False,
) -> None:
    """List rule versions: id@version, period, status on the date, title, cited provisions."""
    day = _day(on) or date.today()
    console.print(f"status on {day}", highlight=False, style="dim")

    def line(key: str, start: object, end: object, status: str, title: str,
             cites: list[str]) -> None:
        period = f"{start or '…'} – {end or '…'}"
        state = state_on(status, start, end, day)  # type: ignore[arg-type]
        console.print(f"{escape(key):<44} {period:<25} {state:<16} {escape(title)}",
                      soft_wrap=True, highlight=False)
        console.print(f"{'':<44} cites: {', '.join(cites)}", soft_wrap=True, highlight=False,
                      style="dim")

    if graph:
        with graph_store() as store:
            for r in rule_nodes(store):
                if in_force and state_on(r["status"] or "", r["effective_from"],
                                         r["effective_to"], day) != "in force":
                    continue
                line(r["id"], r["effective_from"], r["effective_to"], r["status"] or "",
                     r["title"] or "", sorted(r["cites"]))
        return
    try:
        base, _ = load_rule_base(path)
    except RuleError as exc:
        raise fail(str(exc)) from exc
    entries = base.in_force(day, include_drafts=True) if in_force else base.entries
    for e in sorted(entries, key=lambda e: (e.rule.id, e.rule.version)):
        r = e.rule
        line(r.key, r.effective_from, r.effective_to, r.status, r.title, list(r.legal_basis))


@rules_app.command("impact")
def impact(
    rule_id: Annotated[str, typer.Argument(help="the rule id, e.g. alert.heavy-pollution.orange")],
    version: Annotated[int, typer.Argument(help="the version to assess (a draft)")],
    last: Annotated[int, typer.Option(help="how many recent decisions to re-run")]
    = change_impact.DEFAULT_LAST,
    by: Annotated[str, typer.Option(help="who asks (recorded with the report)")] = "",
    json_out: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """What activating a rule version would change: alerts, measures, tasks and advice added,
    removed or changed, by region, on the last decisions' stored facts. The report is stored;
    activation through the API names its id."""
    with graph_store() as store:
        try:
            report = change_impact.impact_report(store, rule_id, version,
                                                 by=by or getpass.getuser(), last=last)
        except (RuleNotFound, ValueError) as exc:
            raise fail(str(exc).strip("'\"")) from exc
    if json_out:
        console.print(to_json(report), highlight=False, soft_wrap=True)
        return
    for line in change_impact.summary_lines(report):
        console.print(escape(line), highlight=False, soft_wrap=True)
