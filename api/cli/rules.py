"""`ecobrain rules ...`: check, test, load and list the rule base.

Wire it with ``cli_rules.register(app)`` (adds the ``rules`` group). Every command works on
the bundled ``rules/`` folder unless given a folder or one file.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ecobrain.api.cli.common import console, err_console, fail, graph_store, to_json
from ecobrain.reasoning.authoring.legal_coverage import CoverageReport, legal_coverage
from ecobrain.reasoning.language.errors import RuleError

rules_app = typer.Typer(help="Rules: check, test, load into the graph, list versions.",
                        no_args_is_help=True)

PathArg = Annotated[Path | None, typer.Argument(
    help="A rule folder or one rule file (default: the bundled rules/).", exists=True)]
Offline = Annotated[bool, typer.Option(
    "--offline", help="Do not use the graph: concepts from the bundled ontology file, "
    "articles not checked.")]


def register(app: typer.Typer) -> None:
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
    from ecobrain.reasoning.authoring.check import check_rules

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
                                               help="Show every case and its conclusions.")]
         = False) -> None:
    """Run the test cases written in the rule files."""
    from ecobrain.reasoning.authoring.testing import run_rule_tests

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
                for c in r.conclusions:
                    console.print(f"    · {escape(c)}", highlight=False)
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
    from ecobrain.reasoning.authoring.rulebase import load_rules_into_graph

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
    on: Annotated[str | None, typer.Option(help="Only the versions in force on this date "
                                                "(YYYY-MM-DD).")] = None,
    graph: Annotated[bool, typer.Option("--graph", help="List the Rule nodes in the graph "
                                                        "instead of the files.")] = False,
) -> None:
    """List rule versions (id@version, period in force, status, title, cited provisions)."""
    from ecobrain.reasoning.authoring.rulebase import load_rule_base, rule_nodes

    def line(key: str, start: object, end: object, status: str, title: str,
             cites: list[str]) -> None:
        period = f"{start or '…'} – {end or '…'}"
        console.print(f"{escape(key):<44} {period:<25} {status:<7} {escape(title)}",
                      soft_wrap=True, highlight=False)
        console.print(f"{'':<44} cites: {', '.join(cites)}", soft_wrap=True, highlight=False,
                      style="dim")

    if graph:
        with graph_store() as store:
            for r in rule_nodes(store):
                line(r["id"], r["effective_from"], r["effective_to"], r["status"] or "",
                     r["title"] or "", sorted(r["cites"]))
        return
    try:
        base, _ = load_rule_base(path)
    except RuleError as exc:
        raise fail(str(exc)) from exc
    day = _day(on)
    entries = base.in_force(day, include_drafts=True) if day else base.entries
    for e in sorted(entries, key=lambda e: (e.rule.id, e.rule.version)):
        r = e.rule
        line(r.key, r.effective_from, r.effective_to, r.status, r.title, list(r.legal_basis))
