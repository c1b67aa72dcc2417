"""Which ontology concepts each article mentions: ``(:Article)-[:MENTIONS {start, end, term}]->``.

A blank Chinese spaCy pipeline with the ``char`` segmenter and an EntityRuler whose phrase
patterns are every label and alias of the ontology (both languages, ``Ontology().terms()``).
No model download. Why ``char`` and not jieba: jieba makes ``可吸入颗粒物`` one token, so a
dictionary term nested in a longer word can be missed (STACK-NOTES.md §3); with one token per
character every occurrence is found.

Nested and overlapping terms: the EntityRuler keeps the **longest** match (then the earliest).
So ``可吸入颗粒物`` links to PM10, not also to ParticulateMatter (``颗粒物``), and
``挥发性有机物重点行业`` to VOCsKeyIndustry, not VOCs: the longer term is the more specific
concept the text actually names, and the rule engine gets the general one back through the
subclass hierarchy. Terms made of ASCII letters/digits (``NO``, ``PM``, ``CO``) only count on
ASCII word boundaries, so ``NO`` is not found inside ``NOx``.

Some names contain a one-character term but name a different substance (``苯并[a]芘``
contains ``苯`` benzene; ``氨氮`` contains ``氨`` ammonia). They are added as *shadow* patterns:
as the longer match they win over the short term, and are then dropped, so no link is made.

Offsets are Python string indices (Unicode code points) into ``Article.text``.

What a text mentions depends only on the text, the terms and this code (and spaCy's
version), so :func:`kept_mentions` keeps the mentions of a set of texts between processes
(:mod:`ecobrain.ontology.prepared`): loading unchanged statutes with an unchanged ontology
builds no pipeline and runs none; any other text, term or code finds them again.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from ecobrain.kb_loaders.report import LoadReport
from ecobrain.ontology.graph.store import GraphStore, WriteSummary
from ecobrain.ontology.kept_concepts import concept_summary
from ecobrain.ontology.prepared import prepared

if TYPE_CHECKING:
    from spacy.language import Language

# Names that contain an ontology term but are not that concept (see the module docstring).
SHADOW_TERMS: tuple[str, ...] = (
    "苯并[a]芘", "苯并(a)芘", "苯并芘", "乙苯", "苯乙烯", "苯酚", "氯苯", "硝基苯", "苯胺", "氨氮",
)
_SHADOW = "__shadow__"

_CACHE: dict[str, Language] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Mention:
    concept_id: str
    term: str
    start: int
    end: int


def _ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def build_pipeline(terms: dict[str, str], kinds: dict[str, str] | None = None) -> Language:
    """``spacy.blank("zh")`` (char segmenter) + an EntityRuler: term -> concept id (ent_id_)."""
    key = hashlib.sha256(repr(sorted(terms.items())).encode()).hexdigest()
    with _LOCK:
        nlp = _CACHE.get(key)
        if nlp is not None:
            return nlp
        # spaCy (a third-party library, ~0.4 s to import) only when a pipeline is built: the
        # CLI imports this module at start, and a load whose mentions are kept needs none
        import spacy

        nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {
            "@tokenizers": "spacy.zh.ChineseTokenizer", "segmenter": "char"}}})
        ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "ORTH",
                                                     "overwrite_ents": True})
        ruler.add_patterns([  # type: ignore[attr-defined]
            {"label": (kinds or {}).get(cid, "Concept"), "pattern": term, "id": cid}
            for term, cid in sorted(terms.items()) if term.strip()
        ] + [{"label": _SHADOW, "pattern": t, "id": _SHADOW}
             for t in SHADOW_TERMS if t not in terms])
        _CACHE[key] = nlp
        return nlp


def _mentions(doc: Any) -> list[Mention]:
    text = doc.text
    out: list[Mention] = []
    for ent in doc.ents:
        if ent.ent_id_ == _SHADOW:
            continue
        start, end = ent.start_char, ent.end_char
        if _ascii_alnum(text[start]) and start > 0 and _ascii_alnum(text[start - 1]):
            continue
        if _ascii_alnum(text[end - 1]) and end < len(text) and _ascii_alnum(text[end]):
            continue
        out.append(Mention(concept_id=ent.ent_id_, term=ent.text, start=start, end=end))
    return out


def _ontology_terms() -> tuple[dict[str, str], dict[str, str]]:
    """The ontology's terms and each concept's kind (kept: ontology/kept_concepts.py)."""
    summary = concept_summary()
    return summary["terms"], summary["kind"]


def find_mentions(texts: Iterable[str], terms: dict[str, str] | None = None,
                  kinds: dict[str, str] | None = None) -> list[list[Mention]]:
    """Mentions in each text (terms default to the ontology's); one ``nlp.pipe`` pass."""
    if terms is None:
        terms, kinds = _ontology_terms()
    nlp = build_pipeline(terms, kinds)
    return [_mentions(doc) for doc in nlp.pipe(texts, batch_size=64)]


def kept_mentions(texts: list[str], terms: dict[str, str],
                  kinds: dict[str, str] | None) -> list[list[Mention]]:
    """:func:`find_mentions`, kept for the same texts, terms, kinds, spaCy and code."""
    found = prepared("mentions", [texts, terms, kinds, f"spacy {version('spacy')}"],
                     [__file__], lambda: [[asdict(m) for m in ms]
                                          for ms in find_mentions(texts, terms, kinds)])
    return [[Mention(**m) for m in ms] for ms in found]


_READ_ARTICLES = """
MATCH (a:Article)
WHERE $ids IS NULL OR a.id IN $ids
RETURN a.id AS id, a.text AS text
ORDER BY id
"""

_DROP_STALE = """
UNWIND $rows AS r
MATCH (a:Article {id: r.id})-[m:MENTIONS]->(:Concept)
WHERE NOT m.key IN r.keys
DELETE m
"""

_MERGE = """
UNWIND $rows AS r
MATCH (a:Article {id: r.article}), (c:Concept {id: r.concept})
MERGE (a)-[m:MENTIONS {key: r.key}]->(c)
SET m.start = r.start, m.end = r.end, m.term = r.term
"""


def link_concepts(store: GraphStore, article_ids: list[str] | None = None,
                  terms: dict[str, str] | None = None) -> LoadReport:
    """Link articles (all, or `article_ids`) to the concepts they mention; idempotent.

    Reads the article texts from the graph, so it links whatever statutes were loaded (bundled
    or a user's). Links go to `Concept` nodes already in the graph (the ontology loader writes
    them); a mention of a concept missing there is counted in the report's notes.
    """
    started = time.perf_counter()
    kinds: dict[str, str] | None = None
    if terms is None:
        terms, kinds = _ontology_terms()
    articles = store.read(_READ_ARTICLES, {"ids": article_ids})
    found = kept_mentions([a["text"] or "" for a in articles], terms, kinds)
    concept_ids = sorted({m.concept_id for ms in found for m in ms})
    present = {r["id"] for r in store.read(
        "MATCH (c:Concept) WHERE c.id IN $ids RETURN c.id AS id", {"ids": concept_ids})}
    rows: list[dict[str, Any]] = []
    keep: list[dict[str, Any]] = []
    missing: dict[str, int] = {}
    for art, mentions in zip(articles, found, strict=True):
        keys = []
        for m in mentions:
            if m.concept_id not in present:
                missing[m.concept_id] = missing.get(m.concept_id, 0) + 1
                continue
            key = f"{m.start}:{m.end}:{m.concept_id}"
            keys.append(key)
            rows.append({"article": art["id"], "concept": m.concept_id, "key": key,
                         "start": m.start, "end": m.end, "term": m.term})
        keep.append({"id": art["id"], "keys": keys})
    written = WriteSummary()
    with store.atomic():  # all of it or none of it (docs/graph-server.md)
        written.add(store.write_rows(_DROP_STALE, keep))
        written.add(store.write_rows(_MERGE, rows))
    report = LoadReport(source="concept links", records=len(rows), written=written,
                        seconds=time.perf_counter() - started)
    report.notes.append(f"{len(rows)} mentions of {len({r['concept'] for r in rows})} concepts "
                        f"in {len(articles)} articles")
    if missing:
        report.notes.append("concepts mentioned but not in the graph (load the ontology first): "
                            + ", ".join(f"{k}×{v}" for k, v in sorted(missing.items())))
    return report
