"""`ecobrain vocab ...`: list and add terms (measure types, sectors, ...) as graph data.

A new term is validated against the ontology's kinds and the parent's kind, gets what the
graph's SHACL shapes require, and is audited
(:mod:`ecobrain.kb_loaders.semantics.vocabulary`); rules may use it at once. The OWL file is
not touched.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.markup import escape

from ecobrain.api.cli.common import console, fail, graph_store
from ecobrain.kb_loaders.semantics.vocabulary import (
    KINDS,
    NewTerm,
    VocabularyError,
    add_term,
    terms,
)

vocab_app = typer.Typer(help="Vocabulary as data: list and add terms (e.g. measure types).",
                        no_args_is_help=True)
KindArg = Annotated[str, typer.Argument(help=f"One of: {', '.join(KINDS)}.")]


def register(app: typer.Typer) -> None:
    app.add_typer(vocab_app, name="vocab")


@vocab_app.command("list")
def list_terms(kind: KindArg) -> None:
    """The terms of a kind: id, parents, Chinese and English name, origin."""
    with graph_store() as store:
        try:
            rows = terms(store, kind)
        except VocabularyError as exc:
            raise fail(str(exc)) from exc
        for r in rows:
            console.print(f"{escape(r['id']):<32} {escape(','.join(r['parents'])):<28} "
                          f"{r['origin']:<8} {escape(r['label_zh'] or '')} "
                          f"({escape(r['label_en'] or '')})", highlight=False, soft_wrap=True)


@vocab_app.command("add")
def add(kind: KindArg,
        term_id: Annotated[str, typer.Argument(help="The new id, e.g. RestrictShipEmissions.")],
        parent: Annotated[str, typer.Option(help="The concept it is a kind of, e.g. "
                                                  "EmergencyMeasure.")],
        zh: Annotated[str, typer.Option("--zh", help="Chinese name.")],
        en: Annotated[str, typer.Option("--en", help="English name.")],
        comment: Annotated[str | None, typer.Option(help="What it means (Chinese).")] = None,
        alias: Annotated[list[str] | None, typer.Option(help="Another name (repeatable).")]
        = None,
        by: Annotated[str | None, typer.Option(help="Who adds it (default: the OS user).")]
        = None) -> None:
    """Add a term under a parent of the same kind (validated; audited)."""
    term = NewTerm(kind=kind, id=term_id, label_zh=zh, label_en=en, parent=parent,
                   comment_zh=comment, aliases=tuple(alias or ()))
    with graph_store() as store:
        try:
            out = add_term(store, term, by=by or getpass.getuser())
        except VocabularyError as exc:
            raise fail(f"{exc.field}: {exc}" if exc.field else str(exc)) from exc
    console.print(f"added {out['id']} ({':'.join(out['labels'])}) under {parent}",
                  highlight=False)
