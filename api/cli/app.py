"""The `ecobrain` command line: one Typer app, each area in its own module.

Every command fails with one readable line on stderr and a non-zero exit: the modules turn the
errors they expect (a bad file, a rule base that does not compile) into messages themselves,
and :class:`OneLineErrors` catches whatever else escapes — the graph going away in the middle
of ``ecobrain decide`` printed a 238-line traceback. ``ecobrain --debug …`` (or
``ECOBRAIN_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from ecobrain.api.cli.commands import decide as cli_decide
from ecobrain.api.cli.commands import demo as cli_demo
from ecobrain.api.cli.commands import evaluate as cli_evaluate
from ecobrain.api.cli.commands import explain as cli_explain
from ecobrain.api.cli.commands import findings as cli_findings
from ecobrain.api.cli.commands import jobs as cli_jobs
from ecobrain.api.cli.commands import review as cli_review
from ecobrain.api.cli.commands import rsm as cli_rsm
from ecobrain.api.cli.commands import rules as cli_rules
from ecobrain.api.cli.commands import serve as cli_serve
from ecobrain.api.cli.commands import vocab as cli_vocab
from ecobrain.api.cli.commands.graph import graph_app
from ecobrain.api.cli.commands.kb import kb_app
from ecobrain.api.cli.common import fail, one_line


class OneLineErrors(TyperGroup):
    """The root group: an unexpected exception becomes one line (exit 1) unless --debug."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            # Typer's and Click's own exceptions are control flow (exit codes, usage errors):
            # Typer vendors Click, so they are told by module, not by class.
            if type(exc).__module__.split(".")[0] in ("typer", "click") \
                    or ctx.params.get("debug"):
                raise
            raise fail(one_line(exc) + "  (ecobrain --debug … shows the traceback)") from exc


app = typer.Typer(
    name="ecobrain",
    cls=OneLineErrors,
    help="ecobrain: knowledge graph, model findings, rules and task lists for air quality.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _root(debug: Annotated[bool, typer.Option(
        "--debug", envvar="ECOBRAIN_DEBUG",
        help="On an unexpected error, show the traceback instead of one line.")] = False
          ) -> None:
    """ecobrain: knowledge graph, model findings, rules and task lists for air quality."""


app.add_typer(graph_app, name="graph")
app.add_typer(kb_app, name="kb")
cli_demo.register(app)
cli_decide.register(app)
cli_review.register(app)
cli_evaluate.register(app)
cli_explain.register(app)
cli_findings.register(app)
cli_rules.register(app)
cli_rsm.register(app)
cli_jobs.register(app)
cli_serve.register(app)
cli_vocab.register(app)


def main() -> None:  # pragma: no cover - console entry point
    app()
