"""Which of a conclusion's cited grounds to show on the decision date, in which order.

A rule may cite several grounds for the same duty: the 2018 Air Law article, the Zhejiang
regulation's parallel article, the Hangzhou regulation's, a clause of the MEE guidance. Laws
change by date, so on a decision date the conclusion shows

1. the grounds **in force** that day that apply in its region (a Hangzhou regulation only in
   Hangzhou), in the order of the legal hierarchy: national law first, then provincial and
   municipal regulations, then plans and guidance;
2. grounds no longer in force that day (repealed, expired) only as **history** (原依据…，已废止)
   beside an in-force ground; a ground not yet in force is not shown beside one at all (it is
   neither law that day nor its history);
3. and only when no in-force ground remains, the cited grounds as **missing**: the conclusion
   is flagged for legal review, and the flag names each missing ground and why.

Everything here is pure: the validity and the hierarchy rank come from the graph (each
ground's ``status``, ``regulation_kind``, ``jurisdiction``), never from constants about laws.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ecobrain.reasoning.decisions.legal_grounds import LegalGround, review_reason

# rank of each kind of instrument in the hierarchy of grounds (lower = shown first)
KIND_RANK = {"code": 0, "law": 0, "regulation": 1, "policy": 2, "standard": 3}
UNKNOWN_RANK = 4
_NUMBERS = re.compile(r"\.(?:art|p|i)(\d+)")


def scope_prefix(jurisdiction: str | None) -> str:
    """``330000`` -> ``33`` (Zhejiang), ``330100`` -> ``3301`` (Hangzhou), None -> ``""``."""
    code = jurisdiction or ""
    while code.endswith("00"):
        code = code[:-2]
    return code


def applies_in(ground: LegalGround, region_code: str | None) -> bool:
    """A national ground applies everywhere; a local one in the regions of its jurisdiction."""
    prefix = scope_prefix(ground.jurisdiction)
    return not prefix or (region_code or "").startswith(prefix)


def hierarchy_key(ground: LegalGround) -> tuple[int, int, str, tuple[int, ...], str]:
    """National law, then provincial before municipal regulations, then plans and guidance;
    within one regulation in article order (art. 20 before art. 100)."""
    return (KIND_RANK.get(ground.regulation_kind or "", UNKNOWN_RANK),
            len(scope_prefix(ground.jurisdiction)), ground.regulation_id or "",
            tuple(int(n) for n in _NUMBERS.findall(ground.citation_id)), ground.citation_id)


@dataclass(frozen=True)
class Selection:
    """The grounds of one conclusion (or one escalation) as shown on the decision date."""

    grounds: tuple[LegalGround, ...]  # in force (hierarchy order), then history or missing
    review_required: bool
    reasons: tuple[str, ...]

    @property
    def in_force(self) -> tuple[LegalGround, ...]:
        return tuple(g for g in self.grounds if g.shown_as == "in_force")


def select(grounds: Iterable[LegalGround], region_code: str | None, day: str) -> Selection:
    """Order `grounds` for a conclusion in `region_code` on `day` and decide the review flag.

    Grounds of another jurisdiction are dropped (they do not apply there at all). The review
    flag is raised only when no applicable ground is in force; its reasons name each cited
    ground and what happened to it.
    """
    applicable = [g for g in grounds if applies_in(g, region_code)]
    current = sorted((g for g in applicable if g.in_force), key=hierarchy_key)
    others = sorted((g for g in applicable if not g.in_force), key=hierarchy_key)
    if current:
        shown = [*current, *(_as(g, "history") for g in others
                             if g.status != "not_yet_in_force")]
        return Selection(tuple(shown), False, ())
    missing = [_as(g, "missing") for g in others]
    if not missing:
        return Selection((), True, (f"决策日（{day}）无适用的法律依据：未引用本地区适用的条款",))
    reasons = tuple(f"决策日（{day}）无有效法律依据——{review_reason(g)}" for g in missing)
    return Selection(tuple(missing), True, reasons)


def _as(g: LegalGround, shown_as: str) -> LegalGround:
    return g if g.shown_as == shown_as else g.model_copy(update={"shown_as": shown_as})


def history_note(g: LegalGround) -> str:
    """原依据《…》第X条，已于…废止 — a ground not in force, shown beside an in-force one."""
    return f"原依据{g.citation}，{g.remark_zh.split('；')[0] if g.remark_zh else g.status}"
