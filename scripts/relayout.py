"""Move the flat packages into sub-packages by job, and rewrite every reference.

The map below is the one source of the layout moves (README "Layout"): the first gave the
flat packages sub-packages by job; the second gave the command groups (``api/cli/commands``)
and the HTTP routers (``api/http/routes``) their own, so that no folder holds more than ~15
modules. Run from the checkout:

    python scripts/relayout.py              # git mv the modules, then rewrite references
    python scripts/relayout.py --rewrite-only
                                            # only rewrite references (a branch that merged the
                                            # move and still has files written against the old
                                            # names)

References rewritten: dotted names (``ecobrain.api.cli_decide`` and
``ecobrain.api.cli.decide`` → ``ecobrain.api.cli.commands.decide``, also inside strings such as
``python -m`` lines and monkeypatch targets), ``from ecobrain.api import cli_decide`` statements
(→ ``from ecobrain.api.cli.commands import decide as cli_decide``) and repository paths in text
(``api/cli_decide.py`` → ``api/cli/commands/decide.py``). Names already in the new layout are
left alone, so running it twice changes nothing.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

# old module (folder.module) → new module (folder.sub.module)
MOVES: dict[str, str] = {
    # api: the command line, the HTTP API, the web pages and the generated documents
    "api.cli": "api.cli.app",
    "api.cli_common": "api.cli.common",
    "api.cli_decide": "api.cli.commands.decide",
    "api.cli_demo": "api.cli.commands.demo",
    "api.cli_findings": "api.cli.commands.findings",
    "api.cli_graph": "api.cli.commands.graph",
    "api.cli_jobs": "api.cli.commands.jobs",
    "api.cli_kb": "api.cli.commands.kb",
    "api.cli_review": "api.cli.commands.review",
    "api.cli_rules": "api.cli.commands.rules",
    "api.cli_serve": "api.cli.commands.serve",
    "api.http_app": "api.http.app",
    "api.http_cache": "api.http.cache",
    "api.http_common": "api.http.common",
    "api.http_decisions": "api.http.routes.decisions",
    "api.http_errors": "api.http.errors",
    "api.http_evidence": "api.http.routes.evidence",
    "api.http_graph": "api.http.routes.graph",
    "api.http_jobs": "api.http.routes.jobs",
    "api.http_limits": "api.http.limits",
    "api.http_review": "api.http.routes.review",
    "api.http_rules": "api.http.routes.rules",
    "api.http_runs": "api.http.routes.runs",
    "api.http_system": "api.http.routes.system",
    "api.http_tasks": "api.http.routes.tasks",
    "api.http_web": "api.web.pages",
    "api.http_map": "api.web.map",
    "api.map_data": "api.web.map_data",
    "api.documents": "api.documents.task_list",
    "api.documents_overview": "api.documents.overview",
    "api.documents_pictures": "api.documents.pictures",
    "api.documents_text": "api.documents.text",
    "api.charts": "api.documents.charts",
    # the second move: command groups and routers into their own sub-packages
    "api.cli.decide": "api.cli.commands.decide",
    "api.cli.demo": "api.cli.commands.demo",
    "api.cli.evaluate": "api.cli.commands.evaluate",
    "api.cli.explain": "api.cli.commands.explain",
    "api.cli.findings": "api.cli.commands.findings",
    "api.cli.graph": "api.cli.commands.graph",
    "api.cli.jobs": "api.cli.commands.jobs",
    "api.cli.kb": "api.cli.commands.kb",
    "api.cli.review": "api.cli.commands.review",
    "api.cli.rsm": "api.cli.commands.rsm",
    "api.cli.rule_tables": "api.cli.commands.rule_tables",
    "api.cli.rules": "api.cli.commands.rules",
    "api.cli.serve": "api.cli.commands.serve",
    "api.cli.vocab": "api.cli.commands.vocab",
    "api.http.decisions": "api.http.routes.decisions",
    "api.http.evaluations": "api.http.routes.evaluations",
    "api.http.evidence": "api.http.routes.evidence",
    "api.http.graph": "api.http.routes.graph",
    "api.http.jobs": "api.http.routes.jobs",
    "api.http.review": "api.http.routes.review",
    "api.http.rule_tables": "api.http.routes.rule_tables",
    "api.http.rules": "api.http.routes.rules",
    "api.http.runs": "api.http.routes.runs",
    "api.http.system": "api.http.routes.system",
    "api.http.tasks": "api.http.routes.tasks",
    "api.http.why_not": "api.http.routes.why_not",
    # reasoning: the rule language, the rule base an expert authors, the engine, the decisions
    "reasoning.dsl": "reasoning.language.dsl",
    "reasoning.expressions": "reasoning.language.expressions",
    "reasoning.compiler": "reasoning.language.compiler",
    "reasoning.schema": "reasoning.language.schema",
    "reasoning.fact_types": "reasoning.language.fact_types",
    "reasoning.concept_index": "reasoning.language.concept_index",
    "reasoning.templates": "reasoning.language.templates",
    "reasoning.errors": "reasoning.language.errors",
    "reasoning.rulebase": "reasoning.authoring.rulebase",
    "reasoning.rule_store": "reasoning.authoring.rule_store",
    "reasoning.check": "reasoning.authoring.check",
    "reasoning.testing": "reasoning.authoring.testing",
    "reasoning.legal_coverage": "reasoning.authoring.legal_coverage",
    "reasoning.text_lint": "reasoning.authoring.text_lint",
    "reasoning.engine": "reasoning.engine.runner",
    "reasoning.engine_worker": "reasoning.engine.worker",
    "reasoning.facts": "reasoning.engine.facts",
    "reasoning.derived": "reasoning.engine.derived",
    "reasoning.synthetic_load": "reasoning.engine.synthetic_load",
    "reasoning.pipeline": "reasoning.decisions.pipeline",
    "reasoning.conclusions": "reasoning.decisions.conclusions",
    "reasoning.decision_store": "reasoning.decisions.store",
    "reasoning.decision_trace": "reasoning.decisions.trace",
    "reasoning.explain": "reasoning.decisions.explain",
    "reasoning.ground_selection": "reasoning.decisions.ground_selection",
    "reasoning.horizon": "reasoning.decisions.horizon",
    "reasoning.legal_grounds": "reasoning.decisions.legal_grounds",
    "reasoning.persist": "reasoning.decisions.persist",
    "reasoning.review": "reasoning.decisions.review",
    "reasoning.run_decision": "reasoning.decisions.run_decision",
    "reasoning.task_status": "reasoning.decisions.task_status",
    # kb_loaders: legal texts, places, the ontology's semantics
    "kb_loaders.statutes": "kb_loaders.legal.statutes",
    "kb_loaders.statute_parser": "kb_loaders.legal.statute_parser",
    "kb_loaders.statute_meta": "kb_loaders.legal.statute_meta",
    "kb_loaders.standards": "kb_loaders.legal.standards",
    "kb_loaders.regions": "kb_loaders.places.regions",
    "kb_loaders.grid_cells": "kb_loaders.places.grid_cells",
    "kb_loaders.sites": "kb_loaders.places.sites",
    "kb_loaders.stations": "kb_loaders.places.stations",
    "kb_loaders.enterprises": "kb_loaders.places.enterprises",
    "kb_loaders.ontology_loader": "kb_loaders.semantics.ontology_loader",
    "kb_loaders.rdf_view": "kb_loaders.semantics.rdf_view",
    "kb_loaders.concept_linker": "kb_loaders.semantics.concept_linker",
    # ontology: the graph stores apart from the domain model
    "ontology.store": "ontology.graph.store",
    "ontology.falkordb_store": "ontology.graph.falkordb_store",
    "ontology.neo4j_store": "ontology.graph.neo4j_store",
    "ontology.embedded": "ontology.graph.embedded",
    "ontology.dialect": "ontology.graph.dialect",
    "ontology.config": "ontology.graph.config",
    "ontology.schema": "ontology.graph.schema",
    # model_adapters: the file formats apart from the products read from them
    "model_adapters.ioapi": "model_adapters.files.ioapi",
    "model_adapters.ioapi_writer": "model_adapters.files.ioapi_writer",
    "model_adapters.cf": "model_adapters.files.cf",
    "model_adapters.gridfile": "model_adapters.files.gridfile",
    "model_adapters.manifest": "model_adapters.files.manifest",
    "model_adapters.run": "model_adapters.files.run",
    "model_adapters.run_paths": "model_adapters.files.run_paths",
    "model_adapters.registry": "model_adapters.files.registry",
    "model_adapters.units": "model_adapters.files.units",
    "model_adapters.emission_species": "model_adapters.files.emission_species",
}

PACKAGE_DOCS: dict[str, str] = {
    "api.cli": "The command line (`ecobrain …`): one module per command group.",
    "api.http": "The decision-advice HTTP API (FastAPI): one router module per resource.",
    "api.http.routes": "The HTTP API's routers: one module per resource (decisions, tasks, "
                       "rules, graph, runs, jobs …).",
    "api.cli.commands": "The command groups of `ecobrain …`: one module per group (decide, kb, "
                        "rules, graph, jobs …).",
    "api.web": "The web workbench's pages and the data they draw, served by the same app.",
    "api.documents": "The generated task-list documents (Word, HTML, Markdown) and their "
                     "pictures.",
    "reasoning.language": "The rule language: the YAML form, expressions, fact types, the "
                          "compiler to durable_rules.",
    "reasoning.authoring": "The rule base as experts author it: files, versions in the graph, "
                           "checks, tests, legal coverage.",
    "reasoning.engine": "The engine: facts from findings and the graph, forward chaining on "
                        "durable_rules.",
    "reasoning.decisions": "Decisions: conclusions, legal grounds, saving, review and task "
                           "status.",
    "kb_loaders.legal": "Loaders of laws, regulations, plans and standards (dated, to the "
                        "article).",
    "kb_loaders.places": "Loaders of regions, grid cells, sites, stations and enterprises.",
    "kb_loaders.semantics": "The OWL ontology into the graph, its RDF view and concept links.",
    "ontology.graph": "Graph stores: the interface, FalkorDB (embedded or remote) and Neo4j.",
    "model_adapters.files": "Model-output files: IOAPI and CF readers, the run manifest, "
                            "units and species.",
}

ROOT = Path(__file__).resolve().parents[1]
TOP = ("api", "reasoning", "kb_loaders", "ontology", "model_adapters", "hpc_jobs")
TEXT_SUFFIXES = {".py", ".md", ".sh", ".toml", ".yaml", ".yml", ".j2", ".txt", ".cfg", ".ini",
                 ".html", ".js", ".json", ".rst"}
SKIP_DIRS = {".git", ".venv", "node_modules", "vendor", "__pycache__", "ecobrain.egg-info"}

OLD = {f"ecobrain.{k}": f"ecobrain.{v}" for k, v in MOVES.items()}
NEW_NAMES = set(OLD.values()) | {f"ecobrain.{p}" for p in PACKAGE_DOCS}
_TOPS = "|".join(TOP)
DOTTED = re.compile(rf"ecobrain\.(?:{_TOPS})(?:\.[A-Za-z_]\w*)+")
PATHS = re.compile(rf"(?<![\w/])({_TOPS})/(\w+)\.py\b")


# old modules that became packages of the same name (api.cli, api.documents, reasoning.engine):
# the bare name means the old module unless what follows is a module of the new package
AMBIGUOUS = set(OLD) & NEW_NAMES
# names of an old module that are also modules of the package it became: always the old name
OLD_ATTRS = {("ecobrain.api.cli", "app")}
IMPORTED = re.compile(r"\s+import\s+\(?\s*(\w+)")


def _module_file(name: str) -> bool:
    """A module added to a new package after the move (not in the map) is new too."""
    rel = name.removeprefix("ecobrain.").replace(".", "/")
    return (ROOT / f"{rel}.py").exists() or (ROOT / rel / "__init__.py").exists()


def _is_new(name: str) -> bool:
    parts = name.split(".")
    heads = [".".join(parts[:i]) for i in range(3, len(parts) + 1)]
    if any(h in OLD and h not in AMBIGUOUS for h in heads[1:]):
        return False  # a module of the first move's layout that the second move moved on
    return any(h in NEW_NAMES - AMBIGUOUS or (h not in OLD and _module_file(h)) for h in heads)


def rewrite_dotted(token: str, after: str = "") -> str:
    if _is_new(token):
        return token
    if token in AMBIGUOUS:
        if after[:1] in {'"', "'"}:  # a quoted package name (pyproject's package list)
            return token
        m = IMPORTED.match(after)
        if m and (token, m.group(1)) not in OLD_ATTRS and (
                f"{token}.{m.group(1)}" in NEW_NAMES or _module_file(f"{token}.{m.group(1)}")):
            return token
    parts = token.split(".")
    for i in range(len(parts), 1, -1):
        head = ".".join(parts[:i])
        if head in OLD:
            return ".".join([OLD[head], *parts[i:]])
    return token


def rewrite_path(m: re.Match[str]) -> str:
    key = f"{m.group(1)}.{m.group(2)}"
    if key in MOVES:
        return MOVES[key].replace(".", "/") + ".py"
    return m.group(0)


def rewrite_import_from(src: str) -> str:
    """``from ecobrain.api import cli_decide, x`` → one statement per new parent."""
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return src
    lines = src.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or not node.module or node.level:
            continue
        if not any(f"{node.module}.{a.name}" in OLD for a in node.names):
            continue
        indent = re.match(r"\s*", lines[node.lineno - 1]).group(0)
        groups: dict[str, list[str]] = {}
        for a in node.names:
            full = f"{node.module}.{a.name}"
            if full in OLD:
                parent, _, leaf = OLD[full].rpartition(".")
                alias = a.asname or a.name
                groups.setdefault(parent, []).append(
                    leaf if alias == leaf else f"{leaf} as {alias}")
            else:
                groups.setdefault(node.module, []).append(
                    a.name if not a.asname else f"{a.name} as {a.asname}")
        new = "".join(f"{indent}from {parent} import {', '.join(names)}\n"
                      for parent, names in groups.items())
        edits.append((node.lineno - 1, node.end_lineno or node.lineno, new))
    for start, end, new in sorted(edits, reverse=True):
        lines[start:end] = [new]
    return "".join(lines)


def rewrite_text(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return False
    new = DOTTED.sub(lambda m: rewrite_dotted(m.group(0), m.string[m.end():m.end() + 80]), text)
    if path.suffix == ".py":
        new = rewrite_import_from(new)
    new = PATHS.sub(rewrite_path, new)
    if new != text:
        path.write_text(new, encoding="utf-8")
        return True
    return False


def text_files(root: Path) -> list[Path]:
    out = []
    for p in root.rglob("*"):
        if any(part in SKIP_DIRS for part in p.relative_to(root).parts):
            continue
        if p.is_file() and (p.suffix in TEXT_SUFFIXES or p.name in {"run", "Makefile"}):
            out.append(p)
    return out


def move(root: Path) -> None:
    for pkg, doc in PACKAGE_DOCS.items():
        d = root / pkg.replace(".", "/")
        d.mkdir(parents=True, exist_ok=True)
        init = d / "__init__.py"
        if not init.exists():
            init.write_text(f'"""{doc}"""\n', encoding="utf-8")
            subprocess.run(["git", "add", str(init)], cwd=root, check=True)
    for old, new in MOVES.items():
        src = root / (old.replace(".", "/") + ".py")
        dst = root / (new.replace(".", "/") + ".py")
        if src.exists() and not dst.exists():
            subprocess.run(["git", "mv", str(src), str(dst)], cwd=root, check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rewrite-only", action="store_true")
    args = ap.parse_args()
    root = ROOT
    if not args.rewrite_only:
        move(root)
    # the tool and its test hold old names on purpose
    own = {Path(__file__).resolve(), root / "tests" / "test_relayout.py"}
    changed = [p for p in text_files(root) if p.resolve() not in own and rewrite_text(p)]
    for p in changed:
        print(p.relative_to(root))
    print(f"{len(changed)} files rewritten", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
