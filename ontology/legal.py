"""Legal grounds, read side: which provision a citation names, and whether it is law on a date.

Rules cite provisions by id (``cn.air-law.2018.art96``, a paragraph ``….art115.p2``, an item
``….art99.i3``, a quoted policy clause ``cn.mee.2024-6.grading``). Laws change: the 2018 Air
Law is reported repealed by the Ecological Environment Code from 2026-08-15. So the rule engine
never shows a provision as current law without asking :func:`provision_status` for the
decision date; a provision not in force comes back with ``in_force=False``, the repeal, the
successor articles experts have recorded (``SUCCEEDED_BY``), and ``needs_legal_review``.

Read-only queries (the loaders in ``ecobrain.kb_loaders.legal.statutes`` write this data).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from ecobrain.ontology.cn_numerals import format_cn_int
from ecobrain.ontology.graph.store import GraphStore

REPEAL_STATUSES = ("repealed", "reported_repealed", "superseded")
_CITATION = re.compile(r"^(?P<article>.+?)(?:\.p(?P<p>\d+))?(?:\.i(?P<i>\d+))?$")


class CitationError(LookupError):
    """A citation names no provision in the graph (or an ambiguous or missing part of one)."""


@dataclass(frozen=True)
class ArticleItem:
    number: int
    paragraph: int
    text: str


@dataclass(frozen=True)
class ArticleRecord:
    """An `Article` node as the rule engine and documents use it."""

    id: str
    regulation_id: str
    regulation_title: str
    kind: str  # "article" (numbered, from a statute text) or "provision" (quoted clause)
    number: int | None
    number_zh: str | None
    title: str | None
    chapter: int | None
    chapter_title: str | None
    section: int | None
    section_title: str | None
    text: str
    paragraphs: tuple[str, ...]
    items: tuple[ArticleItem, ...]
    valid_from: str | None
    valid_to: str | None
    source_quality: str | None
    citation: str

    def items_of(self, paragraph: int) -> tuple[ArticleItem, ...]:
        return tuple(i for i in self.items if i.paragraph == paragraph)


@dataclass(frozen=True)
class ResolvedCitation:
    """What a citation id points at: the article and, if given, its paragraph or item."""

    citation_id: str
    article: ArticleRecord
    paragraph: int | None
    item: int | None
    text: str  # the cited part, verbatim (a paragraph includes its items)
    lead_in: str | None  # for an item: the paragraph it is listed under
    label: str  # 《中华人民共和国大气污染防治法》第九十九条第（三）项

    @property
    def regulation_id(self) -> str:
        return self.article.regulation_id

    @property
    def regulation_title(self) -> str:
        return self.article.regulation_title


@dataclass(frozen=True)
class Successor:
    article_id: str
    citation: str
    text: str
    valid_from: str | None  # when the succession takes effect (SUCCEEDED_BY.from)
    note: str | None
    source_quality: str | None


@dataclass(frozen=True)
class ProvisionStatus:
    """Whether a cited provision is law on `on`, and what to show when it is not."""

    citation_id: str
    article_id: str
    on: str
    in_force: bool
    status: str  # in_force | not_yet_in_force | repealed | reported_repealed | superseded | expired
    valid_from: str | None
    valid_to: str | None
    regulation_id: str
    regulation_title: str
    repealed_by: str | None
    repealed_by_title: str | None
    repealed_from: str | None
    repeal_source_quality: str | None
    successors: tuple[Successor, ...]
    text: str
    citation: str
    source_quality: str | None
    needs_legal_review: bool
    remark: str
    remark_zh: str
    regulation_kind: str | None = None  # law | code | regulation | policy | standard
    jurisdiction: str | None = None  # division code the regulation applies in; None = national


def _iso(on: date | str) -> str:
    text = on.isoformat() if isinstance(on, date) else str(on)
    date.fromisoformat(text)  # raises ValueError on a bad date
    return text


def _record(node: dict[str, Any], regulation_title: str) -> ArticleRecord:
    p = node["properties"]
    items = tuple(ArticleItem(number=n, paragraph=pi, text=t) for n, pi, t in zip(
        p.get("item_numbers") or [], p.get("item_paragraphs") or [], p.get("items") or [],
        strict=True))
    return ArticleRecord(
        id=p["id"], regulation_id=p["regulation_id"], regulation_title=regulation_title,
        kind=p.get("kind") or "article", number=p.get("number"), number_zh=p.get("number_zh"),
        title=p.get("title"), chapter=p.get("chapter"), chapter_title=p.get("chapter_title"),
        section=p.get("section"), section_title=p.get("section_title"), text=p["text"],
        paragraphs=tuple(p.get("paragraphs") or [p["text"]]), items=items,
        valid_from=p.get("valid_from"), valid_to=p.get("valid_to"),
        source_quality=p.get("source_quality"), citation=p.get("citation") or p["id"])


_ARTICLES_BY_ID = """
MATCH (a:Article)-[:PART_OF]->(g:Regulation)
WHERE a.id IN $ids
OPTIONAL MATCH (g)-[rep:REPEALED_BY]->(h:Regulation)
RETURN a AS article, g.title AS regulation_title, g.status AS regulation_status,
       g.kind AS regulation_kind, g.jurisdiction AS jurisdiction, h.id AS repealed_by,
       h.title AS repealed_by_title, rep.from AS repealed_from,
       rep.source_quality AS repeal_source_quality
"""

_SUCCESSORS = """
MATCH (a:Article)-[s:SUCCEEDED_BY]->(b:Article)-[:PART_OF]->(g:Regulation)
WHERE a.id IN $ids
RETURN a.id AS old, b AS article, g.title AS regulation_title, s.from AS from,
       s.note AS note, s.source_quality AS source_quality
ORDER BY old, b.id
"""


def get_article(store: GraphStore, article_id: str) -> ArticleRecord | None:
    rows = store.read(_ARTICLES_BY_ID, {"ids": [article_id]})
    return _record(rows[0]["article"], rows[0]["regulation_title"]) if rows else None


def article_by_number(store: GraphStore, regulation_id: str, number: int) -> ArticleRecord | None:
    """Article `number` (an int: 96, not 第九十六条) of a regulation, or None."""
    rows = store.read(
        "MATCH (a:Article)-[:PART_OF]->(g:Regulation {id: $rid}) WHERE a.number = $n "
        "RETURN a AS article, g.title AS regulation_title", {"rid": regulation_id, "n": number})
    return _record(rows[0]["article"], rows[0]["regulation_title"]) if rows else None


def articles_of(store: GraphStore, regulation_id: str) -> list[ArticleRecord]:
    """All articles and quoted provisions of a regulation, numbered ones first in order."""
    rows = store.read(
        "MATCH (a:Article)-[:PART_OF]->(g:Regulation {id: $rid}) "
        "RETURN a AS article, g.title AS regulation_title "
        "ORDER BY coalesce(a.number, 1000000), a.id", {"rid": regulation_id})
    return [_record(r["article"], r["regulation_title"]) for r in rows]


def split_citation(citation_id: str) -> tuple[str, int | None, int | None]:
    """``cn.air-law.2018.art115.p1.i2`` -> (``cn.air-law.2018.art115``, 1, 2)."""
    m = _CITATION.match(citation_id.strip())
    if not m:
        raise CitationError(f"not a citation id: {citation_id!r}")
    p, i = m.group("p"), m.group("i")
    return m.group("article"), int(p) if p else None, int(i) if i else None


def _resolve(citation_id: str, article: ArticleRecord, p: int | None,
             i: int | None) -> ResolvedCitation:
    label = article.citation
    paragraphs = article.paragraphs
    multi = len(paragraphs) > 1
    if i is None and p is None:
        return ResolvedCitation(citation_id, article, None, None, article.text, None, label)
    if p is not None and not 1 <= p <= len(paragraphs):
        raise CitationError(f"{citation_id}: {article.id} has {len(paragraphs)} paragraph(s), "
                            f"not {p}")
    if i is None:
        assert p is not None
        items = article.items_of(p)
        text = "\n".join([paragraphs[p - 1], *(it.text for it in items)])
        return ResolvedCitation(citation_id, article, p, None, text, None,
                                f"{label}第{format_cn_int(p)}款")
    candidates = [it for it in article.items if it.number == i and (p is None or it.paragraph == p)]
    if not candidates:
        raise CitationError(f"{citation_id}: {article.id} has no item {i}"
                            + (f" in paragraph {p}" if p else ""))
    if len(candidates) > 1:
        raise CitationError(f"{citation_id}: item {i} is listed in several paragraphs of "
                            f"{article.id}; cite it as .p<k>.i{i}")
    item = candidates[0]
    para_label = f"第{format_cn_int(item.paragraph)}款" if multi else ""
    return ResolvedCitation(citation_id, article, item.paragraph, i, item.text,
                            paragraphs[item.paragraph - 1],
                            f"{label}{para_label}第（{format_cn_int(i)}）项")


def resolve_citation(store: GraphStore, citation_id: str) -> ResolvedCitation:
    """Resolve ``<article id>[.p<k>][.i<k>]``; raise CitationError if it names nothing."""
    art_id, p, i = split_citation(citation_id)
    article = get_article(store, art_id)
    if article is None:
        raise CitationError(f"{citation_id}: no article {art_id!r} in the graph")
    return _resolve(citation_id, article, p, i)


def provision_status(store: GraphStore, citation_id: str, on: date | str) -> ProvisionStatus:
    """Is the cited provision law on `on`? (see :func:`provision_statuses`)."""
    return provision_statuses(store, [citation_id], on)[citation_id]


def provision_statuses(store: GraphStore, citation_ids: Iterable[str],
                       on: date | str) -> dict[str, ProvisionStatus]:
    """The status of each cited provision on the decision date `on`, in two queries.

    Validity is the article's period (``valid_from``..``valid_to``, both inclusive). After it
    ends, the status is the regulation's recorded one (``reported_repealed`` when the repeal is
    known only from weaker sources), with the repealing regulation and the successor articles
    recorded for it; a successor is listed whatever its date, and the remark says whether it is
    in force on `on`. Raises CitationError for an id that names nothing.
    """
    day = _iso(on)
    wanted = {cid: split_citation(cid) for cid in citation_ids}
    art_ids = sorted({a for a, _, _ in wanted.values()})
    rows = {r["article"]["properties"]["id"]: r
            for r in store.read(_ARTICLES_BY_ID, {"ids": art_ids})}
    succ: dict[str, list[Successor]] = {}
    for r in store.read(_SUCCESSORS, {"ids": art_ids}):
        rec = _record(r["article"], r["regulation_title"])
        succ.setdefault(r["old"], []).append(Successor(
            article_id=rec.id, citation=rec.citation, text=rec.text, valid_from=r["from"],
            note=r["note"], source_quality=r["source_quality"]))
    out: dict[str, ProvisionStatus] = {}
    for cid, (art_id, p, i) in wanted.items():
        row = rows.get(art_id)
        if row is None:
            raise CitationError(f"{cid}: no article {art_id!r} in the graph")
        article = _record(row["article"], row["regulation_title"])
        resolved = _resolve(cid, article, p, i)
        out[cid] = _status(resolved, row, succ.get(art_id, []), day)
    return out


def _status(c: ResolvedCitation, row: dict[str, Any], successors: list[Successor],
            day: str) -> ProvisionStatus:
    a = c.article
    if a.valid_from and day < a.valid_from:
        status = "not_yet_in_force"
    elif a.valid_to and day > a.valid_to:
        recorded = row.get("regulation_status")
        status = recorded if recorded in REPEAL_STATUSES else "expired"
    else:
        status = "in_force"
    in_force = status == "in_force"
    repealed_by = row.get("repealed_by") if not in_force and status != "not_yet_in_force" else None
    remark, remark_zh = _remarks(status, a, row if repealed_by else {}, successors, day)
    return ProvisionStatus(
        citation_id=c.citation_id, article_id=a.id, on=day, in_force=in_force, status=status,
        valid_from=a.valid_from, valid_to=a.valid_to, regulation_id=a.regulation_id,
        regulation_title=a.regulation_title, repealed_by=repealed_by,
        repealed_by_title=row.get("repealed_by_title") if repealed_by else None,
        repealed_from=row.get("repealed_from") if repealed_by else None,
        repeal_source_quality=row.get("repeal_source_quality") if repealed_by else None,
        successors=tuple(successors), text=c.text, citation=c.label,
        source_quality=a.source_quality, needs_legal_review=not in_force,
        remark=remark, remark_zh=remark_zh, regulation_kind=row.get("regulation_kind"),
        jurisdiction=row.get("jurisdiction"))


def _remarks(status: str, a: ArticleRecord, repeal: dict[str, Any],
             successors: list[Successor], day: str) -> tuple[str, str]:
    if status == "in_force":
        return (f"in force on {day}", f"{day}有效")
    if status == "not_yet_in_force":
        return (f"not yet in force on {day} (from {a.valid_from})",
                f"{day}尚未施行（自{a.valid_from}起施行）")
    ended = repeal.get("repealed_from") or a.valid_to
    words = {"repealed": ("repealed", "废止"), "reported_repealed": ("reported repealed", "废止"),
             "superseded": ("superseded", "替代"), "expired": ("expired", "失效")}[status]
    by = repeal.get("repealed_by_title")
    if repeal.get("repealed_from"):
        en = f"{words[0]} on {ended}"
        zh = f"已于{ended}" + (f"被《{by}》{words[1]}" if by else f"{words[1]}")
    else:
        en = f"{words[0]} after {a.valid_to}"
        zh = f"{a.valid_to}后已{words[1]}"
    if by:
        en += f" by 《{by}》"
    if status == "reported_repealed":
        quality = repeal.get("repeal_source_quality")
        en += f" (reported; source quality {quality})"
        zh += f"（废止信息来源等级{quality}，待核实）"
    if successors:
        names = "; ".join(s.citation for s in successors)
        en += f"; successor provision(s): {names}"
        zh += f"；后继条款：{'；'.join(s.citation for s in successors)}"
    else:
        en += "; successor provision not yet recorded"
        zh += "；后继条款尚未录入"
    en += "; needs legal review"
    zh += "；需法务复核"
    return en, zh
