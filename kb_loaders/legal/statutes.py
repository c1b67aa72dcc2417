"""Statute folder -> `Regulation` and `Article` nodes, validity, repeal and succession edges.

``load_regulations(store, directory)`` reads a folder of statute texts (``.txt``/``.md``), each
with its metadata sidecar ``<stem>.meta.yaml``, plus sidecars of documents we only have quoted
provisions of, plus an optional ``succession.yaml`` (old article -> new article). It parses and
validates *everything* first and writes only when the whole folder is clean, so a bad file
leaves the graph as it was. Writes are MERGEs on stable ids (``cn.air-law.2018.art96``), so
loading the same folder again changes nothing.

Graph written (docs/regulations.md):
``(:Regulation)``, ``(:Article)-[:PART_OF]->(:Regulation)``,
``(:Regulation)-[:REPEALED_BY {from, source_quality}]->(:Regulation)``,
``(:Article)-[:SUCCEEDED_BY {from, note, source_quality, mapping}]->(:Article)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ecobrain.knowledge
from ecobrain.kb_loaders.errors import LoadError, LoadErrors
from ecobrain.kb_loaders.legal.statute_meta import (
    ID_RE,
    SOURCE_QUALITIES,
    Provision,
    RegulationMeta,
    check_date,
    read_meta,
)
from ecobrain.kb_loaders.legal.statute_parser import (
    TEXT_SUFFIXES,
    ParsedArticle,
    ParsedStatute,
    parse_statute,
)
from ecobrain.kb_loaders.report import LoadReport
from ecobrain.kb_loaders.yaml_lines import YamlDoc, read_yaml
from ecobrain.ontology.graph.store import GraphStore, WriteSummary

META_SUFFIX = ".meta.yaml"
SUCCESSION_FILE = "succession.yaml"


def bundled_statutes_dir() -> Path:
    return Path(ecobrain.knowledge.__file__).parent / "statutes"


@dataclass
class StatuteDoc:
    """One regulation of the folder: its sidecar and, when it has one, its parsed text."""

    meta: RegulationMeta
    text_file: Path | None = None
    parsed: ParsedStatute | None = None


@dataclass
class Succession:
    old: str
    new: str
    from_: str | None
    source_quality: str
    source_urls: list[str]
    note: str | None
    line: int | None


@dataclass
class StatuteFolder:
    directory: Path
    docs: list[StatuteDoc] = field(default_factory=list)
    successions: list[Succession] = field(default_factory=list)
    succession_doc: YamlDoc | None = None


def citation_label(meta_title: str, number_zh: str) -> str:
    return f"《{meta_title}》{number_zh}"


def article_id(regulation_id: str, number: int) -> str:
    return f"{regulation_id}.art{number}"


def read_folder(directory: Path) -> StatuteFolder:
    """Parse and validate every file of the folder; raise one LoadError listing all problems."""
    directory = Path(directory)
    if not directory.is_dir():
        raise LoadError("not a folder of statute files", file=directory, field="directory")
    folder = StatuteFolder(directory=directory)
    errors: list[LoadError] = []
    files = sorted(p for p in directory.iterdir() if p.is_file())
    sidecars = [p for p in files if p.name.endswith(META_SUFFIX)]
    texts = {p.name[: -len(p.suffix)]: p for p in files
             if p.suffix.lower() in TEXT_SUFFIXES and not p.name.startswith(".")}
    stems_with_meta = {p.name[: -len(META_SUFFIX)] for p in sidecars}
    for stem, text_file in texts.items():
        if stem not in stems_with_meta:
            errors.append(LoadError(
                f"statute text without its metadata sidecar {stem}{META_SUFFIX} "
                "(id, title, issuer, validity: docs/regulations.md)",
                file=text_file, line=1, field="meta"))
    seen_ids: dict[str, Path] = {}
    for sidecar in sidecars:
        stem = sidecar.name[: -len(META_SUFFIX)]
        try:
            meta = read_meta(sidecar)
            if meta.id in seen_ids:
                other = seen_ids[meta.id].name
                raise LoadError(f"regulation id {meta.id!r} is also used by {other}",
                                file=sidecar, line=meta.line("id"), field="id")
            seen_ids[meta.id] = sidecar
            doc = StatuteDoc(meta=meta, text_file=texts.get(stem))
            if meta.text_available and doc.text_file is None:
                raise LoadError(f"no statute text {stem}.txt or {stem}.md beside this sidecar "
                                "(set text_available: false for a document without text)",
                                file=sidecar, line=meta.line("id"), field="text_available")
            if not meta.text_available and doc.text_file is not None:
                raise LoadError(f"text_available is false but {doc.text_file.name} exists",
                                file=sidecar, line=meta.line("text_available"),
                                field="text_available")
            if doc.text_file is not None:
                doc.parsed = parse_statute(doc.text_file)
            folder.docs.append(doc)
        except LoadErrors as exc:
            errors.extend(exc.errors)
        except LoadError as exc:
            errors.append(exc)
    succession_file = directory / SUCCESSION_FILE
    if succession_file.exists():
        try:
            folder.succession_doc, folder.successions = read_succession(succession_file)
        except LoadError as exc:
            errors.append(exc)
    if not folder.docs and not errors:
        errors.append(LoadError(f"no statute sidecars (*{META_SUFFIX}) in this folder",
                                file=directory, field="meta"))
    _raise(errors, directory)
    return folder


def _raise(errors: list[LoadError], where: Path) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise LoadErrors(errors, file=where)


def read_succession(file: Path) -> tuple[YamlDoc, list[Succession]]:
    doc = read_yaml(file)
    data = doc.data
    if data is None:
        return doc, []
    if not isinstance(data, dict) or not isinstance(data.get("successions", []), list):
        raise LoadError("expected a mapping with a list 'successions:'", file=file, line=1,
                        field="successions")
    out: list[Succession] = []
    pairs: set[tuple[str, str]] = set()
    for i, entry in enumerate(data.get("successions") or []):
        path = ("successions", i)
        if not isinstance(entry, dict):
            raise doc.error("each succession is a mapping (old, new, source_quality…)", *path)
        unknown = sorted(set(entry) - {"old", "new", "from", "source_quality", "source_urls",
                                       "note"})
        if unknown:
            raise doc.error(f"unknown field {unknown[0]!r}", *path, unknown[0])
        for key in ("old", "new", "source_quality"):
            if not entry.get(key):
                raise doc.error(f"missing required field {key!r}", *path, field=key)
        old, new = str(entry["old"]), str(entry["new"])
        for key, value in (("old", old), ("new", new)):
            if not ID_RE.match(value) or ".art" not in value or not value.rsplit(".", 1)[
                    1].startswith("art"):
                raise doc.error(f"{key}: {value!r} is not an article id (<regulation>.art<N>)",
                                *path, key)
        if (old, new) in pairs:
            raise doc.error(f"duplicate succession {old} -> {new}", *path)
        pairs.add((old, new))
        quality = str(entry["source_quality"])
        if quality not in SOURCE_QUALITIES:
            raise doc.error(f"{quality!r} is not one of {', '.join(SOURCE_QUALITIES)}",
                            *path, "source_quality")
        urls = entry.get("source_urls") or []
        out.append(Succession(
            old=old, new=new, from_=check_date(doc, entry.get("from"), *path, "from"),
            source_quality=quality, source_urls=[urls] if isinstance(urls, str) else list(urls),
            note=str(entry["note"]) if entry.get("note") else None, line=doc.line(*path)))
    return doc, out


def article_row(meta: RegulationMeta, a: ParsedArticle, source_file: str) -> dict[str, Any]:
    items = [(pi + 1, it) for pi, p in enumerate(a.paragraphs) for it in p.items]
    return {
        "id": article_id(meta.id, a.number),
        "regulation_id": meta.id,
        "props": {
            "regulation_id": meta.id,
            "kind": "article",
            "number": a.number,
            "number_zh": a.number_zh,
            "title": None,
            "part": a.part, "part_title": a.part_title,
            "subpart": a.subpart, "subpart_title": a.subpart_title,
            "chapter": a.chapter, "chapter_title": a.chapter_title,
            "section": a.section, "section_title": a.section_title,
            "text": a.text,
            "paragraphs": [p.text for p in a.paragraphs],
            "items": [it.text for _, it in items],
            "item_numbers": [it.number for _, it in items],
            "item_paragraphs": [pi for pi, _ in items],
            "valid_from": meta.valid_from,
            "valid_to": meta.valid_to,
            "source_quality": meta.source_quality,
            "source_file": source_file,
            "source_line": a.line,
            "citation": citation_label(meta.title, a.number_zh),
            "note": None,
        },
    }


def provision_row(regulation_id: str, regulation_title: str, doc_number: str | None,
                  p: Provision, valid_from: str | None, valid_to: str | None,
                  source_file: str) -> dict[str, Any]:
    """A quoted provision as an `Article` (kind "provision", id ``<regulation>.<key>``)."""
    default_citation = f"《{regulation_title}》" + (f"（{doc_number}）" if doc_number else "") \
        + p.title
    return {
        "id": f"{regulation_id}.{p.key}",
        "regulation_id": regulation_id,
        "props": {
            "regulation_id": regulation_id,
            "kind": "provision",
            "number": None, "number_zh": None,
            "title": p.title,
            "part": None, "part_title": None, "subpart": None, "subpart_title": None,
            "chapter": None, "chapter_title": None, "section": None, "section_title": None,
            "text": p.text,
            "paragraphs": [p.text],
            "items": [], "item_numbers": [], "item_paragraphs": [],
            "valid_from": p.valid_from or valid_from,
            "valid_to": p.valid_to or valid_to,
            "source_quality": p.source_quality,
            "source_urls": p.source_urls,
            "source_file": source_file,
            "source_line": p.line,
            "citation": p.citation or default_citation,
            "note": p.note,
        },
    }


# --- Cypher (parameterised, portable to FalkorDB and Neo4j 5) -----------------------------

MERGE_REGULATIONS = """
UNWIND $rows AS r
MERGE (g:Regulation {id: r.id})
SET g += r.props
"""

DROP_STALE_REPEALS = """
UNWIND $rows AS r
MATCH (g:Regulation {id: r.id})-[x:REPEALED_BY]->(h:Regulation)
WHERE r.repealed_by IS NULL OR h.id <> r.repealed_by
DELETE x
"""

MERGE_REPEALS = """
UNWIND $rows AS r
MATCH (g:Regulation {id: r.id}), (h:Regulation {id: r.repealed_by})
MERGE (g)-[x:REPEALED_BY]->(h)
SET x.from = r.from, x.source_quality = r.source_quality
"""

MERGE_ARTICLES = """
UNWIND $rows AS r
MATCH (g:Regulation {id: r.regulation_id})
MERGE (a:Article {id: r.id})
SET a += r.props
MERGE (a)-[:PART_OF]->(g)
"""

# Articles of a regulation that the new input no longer has (a text file is the whole truth
# about its regulation's articles; a sidecar only about its quoted provisions).
DROP_STALE_ARTICLES = """
UNWIND $rows AS r
MATCH (a:Article)-[:PART_OF]->(g:Regulation {id: r.regulation_id})
WHERE NOT a.id IN r.keep AND (r.all_kinds OR a.kind = 'provision')
DETACH DELETE a
"""

DROP_STALE_SUCCESSIONS = """
MATCH (:Article)-[x:SUCCEEDED_BY]->(:Article)
WHERE x.mapping = $mapping AND NOT (x.pair IN $pairs)
DELETE x
"""

MERGE_SUCCESSIONS = """
UNWIND $rows AS r
MATCH (a:Article {id: r.old}), (b:Article {id: r.new})
MERGE (a)-[x:SUCCEEDED_BY]->(b)
SET x.from = r.from, x.note = r.note, x.source_quality = r.source_quality,
    x.source_urls = r.source_urls, x.mapping = r.mapping, x.pair = r.pair
"""


def write_articles(store: GraphStore, rows: list[dict[str, Any]]) -> WriteSummary:
    return store.write_rows(MERGE_ARTICLES, rows)


def load_regulations(store: GraphStore, directory: str | Path | None = None) -> LoadReport:
    """Load a statute folder (None = the bundled ``knowledge/statutes``); idempotent.

    Raises LoadError (naming file, line and field) before writing anything if any file of the
    folder is bad, or if a repeal or succession points at something neither in the folder nor
    already in the graph.
    """
    started = time.perf_counter()
    bundled = directory is None
    folder = read_folder(bundled_statutes_dir() if bundled else Path(directory))
    report = LoadReport(source=f"regulations ({'bundled' if bundled else folder.directory})")

    reg_rows: list[dict[str, Any]] = []
    article_rows: list[dict[str, Any]] = []
    prune_rows: list[dict[str, Any]] = []
    for doc in folder.docs:
        m = doc.meta
        props = m.node_properties()
        props["source_file"] = (doc.text_file or m.file).name
        props["article_count"] = len(doc.parsed.articles) if doc.parsed else 0
        reg_rows.append({"id": m.id, "props": props, "repealed_by": m.repealed_by,
                         "from": m.repealed_from, "source_quality": m.repeal_source_quality})
        rows: list[dict[str, Any]] = []
        if doc.parsed and doc.text_file:
            rows += [article_row(m, a, doc.text_file.name) for a in doc.parsed.articles]
            numbers = [a.number for a in doc.parsed.articles]
            gaps = len(range(numbers[0], numbers[-1] + 1)) - len(numbers)
            if gaps:
                report.notes.append(f"{m.id}: {gaps} article number(s) missing between "
                                    f"{numbers[0]} and {numbers[-1]} (an excerpt?)")
        else:
            report.notes.append(f"{m.id}: no statute text; {len(m.provisions)} quoted "
                                "provision(s)")
        rows += [provision_row(m.id, m.title, m.doc_number, p, m.valid_from, m.valid_to,
                               m.file.name) for p in m.provisions]
        article_rows += rows
        prune_rows.append({"regulation_id": m.id, "keep": [r["id"] for r in rows],
                           "all_kinds": doc.parsed is not None})

    _check_references(store, folder, article_rows)
    succession_rows = _succession_rows(store, folder, article_rows, bundled)

    written = WriteSummary()
    with store.atomic():  # all of it or none of it (docs/graph-server.md)
        written.add(store.write_rows(MERGE_REGULATIONS, reg_rows))
        written.add(store.write_rows(DROP_STALE_REPEALS, reg_rows))
        written.add(store.write_rows(MERGE_REPEALS, [r for r in reg_rows if r["repealed_by"]]))
        written.add(store.write_rows(DROP_STALE_ARTICLES, prune_rows))
        written.add(write_articles(store, article_rows))
        if folder.succession_doc is not None:
            mapping = _mapping_name(folder, bundled)
            written.add(store.write(DROP_STALE_SUCCESSIONS, {
                "mapping": mapping, "pairs": [r["pair"] for r in succession_rows]}))
            written.add(store.write_rows(MERGE_SUCCESSIONS, succession_rows))
    report.records = len(reg_rows) + len(article_rows) + len(succession_rows)
    report.written = written
    report.seconds = time.perf_counter() - started
    return report


def _mapping_name(folder: StatuteFolder, bundled: bool) -> str:
    return "bundled" if bundled else str((folder.directory / SUCCESSION_FILE).resolve())


def _known_in_store(store: GraphStore, label: str, ids: list[str]) -> dict[str, dict]:
    if not ids:
        return {}
    rows = store.read(f"MATCH (n:{label}) WHERE n.id IN $ids "
                      "RETURN n.id AS id, n.valid_from AS valid_from, "
                      "n.regulation_id AS regulation_id", {"ids": ids})
    return {r["id"]: r for r in rows}


def _check_references(store: GraphStore, folder: StatuteFolder,
                      article_rows: list[dict[str, Any]]) -> None:
    """repealed_by must name a regulation in this folder or already in the graph."""
    local = {d.meta.id for d in folder.docs}
    wanted = sorted({d.meta.repealed_by for d in folder.docs
                     if d.meta.repealed_by and d.meta.repealed_by not in local})
    known = _known_in_store(store, "Regulation", wanted)
    errors = [LoadError(f"repealed_by {d.meta.repealed_by!r}: no such regulation in this folder "
                        "or in the graph (load it first, or fix the id)",
                        file=d.meta.file, line=d.meta.line("repealed_by"), field="repealed_by")
              for d in folder.docs
              if d.meta.repealed_by and d.meta.repealed_by not in local
              and d.meta.repealed_by not in known]
    _raise(errors, folder.directory)


def _succession_rows(store: GraphStore, folder: StatuteFolder,
                     article_rows: list[dict[str, Any]], bundled: bool) -> list[dict[str, Any]]:
    if not folder.successions:
        return []
    local = {r["id"]: r for r in article_rows}
    reg_from = {d.meta.id: d.meta.valid_from for d in folder.docs}
    outside = sorted({x for s in folder.successions for x in (s.old, s.new) if x not in local})
    in_store = _known_in_store(store, "Article", outside)
    reg_ids = sorted({r["regulation_id"] for r in in_store.values()} - set(reg_from))
    reg_from.update({k: v["valid_from"] for k, v in
                     _known_in_store(store, "Regulation", reg_ids).items()})
    errors: list[LoadError] = []
    rows: list[dict[str, Any]] = []
    file = folder.directory / SUCCESSION_FILE
    for s in folder.successions:
        missing = [(k, x) for k, x in (("old", s.old), ("new", s.new))
                   if x not in local and x not in in_store]
        if missing:
            key, value = missing[0]
            errors.append(LoadError(f"{key}: article {value!r} is not in this folder nor in the "
                                    "graph (load its statute text first)",
                                    file=file, line=s.line, field=key))
            continue
        new_reg = (local.get(s.new) or in_store[s.new])["regulation_id"]
        start = s.from_ or reg_from.get(new_reg)
        if start is None:
            errors.append(LoadError("from: no date given and the new article's regulation has "
                                    "no valid_from", file=file, line=s.line, field="from"))
            continue
        rows.append({"old": s.old, "new": s.new, "from": start, "note": s.note,
                     "source_quality": s.source_quality, "source_urls": s.source_urls,
                     "mapping": _mapping_name(folder, bundled), "pair": f"{s.old}->{s.new}"})
    _raise(errors, file)
    return rows
