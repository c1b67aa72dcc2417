"""Legal grounds of a conclusion, as they stand on the decision date.

A rule cites provisions by id; the grounds of a conclusion are those provisions *on the
decision date*, read from the graph with their exact text (``ecobrain.ontology.legal``). A
provision not in force that day — the 2018 Air Law after its reported repeal by the
Ecological Environment Code on 2026-08-15, a policy clause before it was issued — carries its
status, the repeal and the successor provisions experts recorded; it is never presented as
current law. Which grounds a conclusion shows, in which order, and whether it needs legal
review (only when none is in force) is decided in ``ecobrain.reasoning.decisions.ground_selection``.

Grounds are resolved once per decision for all cited ids (two queries), not per conclusion.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ecobrain.ontology.legal import CitationError, ProvisionStatus, provision_statuses

GroundStatus = Literal["in_force", "not_yet_in_force", "repealed", "reported_repealed",
                       "superseded", "expired", "not_in_graph", "unresolved"]


class SuccessorRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    article_id: str
    citation: str
    text: str
    valid_from: str | None = None
    note: str | None = None


class LegalGround(BaseModel):
    """One cited provision as it stands on the decision date, with its exact text."""

    model_config = ConfigDict(frozen=True)

    citation_id: str = Field(description="what the rule cites, e.g. cn.air-law.2018.art96")
    article_id: str
    role: Literal["basis", "escalation"] = "basis"
    citation: str = Field(description="label, e.g. 《中华人民共和国大气污染防治法》第九十六条")
    regulation_id: str | None = None
    regulation_title: str | None = None
    text: str = Field(description="exact text of the cited provision, from the graph")
    status: GroundStatus
    in_force: bool
    valid_from: str | None = None
    valid_to: str | None = None
    repealed_by: str | None = None
    repealed_by_title: str | None = None
    repealed_from: str | None = None
    successors: list[SuccessorRef] = Field(default_factory=list)
    source_quality: str | None = None
    regulation_kind: str | None = Field(default=None, description="law, code, regulation, policy "
                                        "or standard: its rank in the hierarchy of grounds")
    jurisdiction: str | None = Field(default=None, description="division code the regulation "
                                     "applies in (330000 Zhejiang); None = national")
    shown_as: Literal["in_force", "history", "missing"] = Field(
        default="in_force", description="in force on the decision date; history (not in force, "
        "shown beside an in-force ground as 原依据); missing (no in-force ground remains)")
    remark: str = ""
    remark_zh: str = ""
    rules: list[str] = Field(default_factory=list, description="rule versions citing it here")

    @property
    def needs_review(self) -> bool:
        return not self.in_force


def _from_status(s: ProvisionStatus) -> LegalGround:
    return LegalGround(
        citation_id=s.citation_id, article_id=s.article_id, citation=s.citation,
        regulation_id=s.regulation_id, regulation_title=s.regulation_title, text=s.text,
        status=s.status, in_force=s.in_force, valid_from=s.valid_from, valid_to=s.valid_to,
        repealed_by=s.repealed_by, repealed_by_title=s.repealed_by_title,
        repealed_from=s.repealed_from,
        successors=[SuccessorRef(article_id=x.article_id, citation=x.citation, text=x.text,
                                 valid_from=x.valid_from, note=x.note) for x in s.successors],
        source_quality=s.source_quality, regulation_kind=s.regulation_kind,
        jurisdiction=s.jurisdiction, shown_as="in_force" if s.in_force else "missing",
        remark=s.remark, remark_zh=s.remark_zh)


def _missing(cid: str, why: str, status: GroundStatus) -> LegalGround:
    return LegalGround(citation_id=cid, article_id=cid, citation=cid, text="", status=status,
                       in_force=False, shown_as="missing", remark=f"{why}; needs legal review",
                       remark_zh=("图谱中没有该条款；需法务复核" if status == "not_in_graph"
                                  else "未连接图谱，无法核对条款；需法务复核"))


def resolve_grounds(store: Any, citation_ids: Iterable[str], on: date
                    ) -> dict[str, LegalGround]:
    """Every cited provision on `on`, by citation id (a missing one is flagged, not raised)."""
    ids = sorted(set(citation_ids))
    if not ids:
        return {}
    if store is None:
        return {c: _missing(c, "no graph to resolve the citation", "unresolved") for c in ids}
    try:
        statuses = provision_statuses(store, ids, on)  # one query for all, the usual case
    except CitationError:
        return _isolating_missing(store, ids, on)
    return {c: _from_status(statuses[c]) for c in ids}


def _isolating_missing(store: Any, ids: list[str], on: date) -> dict[str, LegalGround]:
    """Some citation is not in the graph: resolve one by one, flagging only the missing ones
    (rare: `ecobrain rules check` refuses such rules before they are loaded)."""
    out: dict[str, LegalGround] = {}
    for c in ids:
        try:
            out[c] = _from_status(provision_statuses(store, [c], on)[c])
        except CitationError as exc:
            out[c] = _missing(c, str(exc), "not_in_graph")
    return out


def review_reason(g: LegalGround) -> str:
    """One line for a reviewer: which provision, what happened to it, in Chinese."""
    return f"{g.citation}：{g.remark_zh or g.remark}"
