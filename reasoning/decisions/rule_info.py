"""What a decision keeps of each rule version, so it can be explained without the rule files.

Apart from :mod:`.conclusions` because :mod:`.explain` needs it too, and the decision
(``Decision.explain``) needs the explanation: both import it from here, the dependency runs
one way.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class RuleInfo(BaseModel):
    """What a decision needs to explain a rule without the rule files."""

    model_config = ConfigDict(extra="forbid")

    key: str
    id: str
    version: int
    title: str
    title_en: str | None = None
    note: str | None = None
    effective_from: str | None = None
    effective_to: str | None = None
    priority: int
    source_quality: str | None = None
    legal_basis: list[str]
    conditions: list[dict[str, str]]
    file: str


def rule_info(entry: Any, compiled_rule: Any) -> RuleInfo:
    r = entry.rule
    return RuleInfo(
        key=r.key, id=r.id, version=r.version, title=r.title, title_en=r.title_en,
        note=r.note, effective_from=r.effective_from.isoformat() if r.effective_from else None,
        effective_to=r.effective_to.isoformat() if r.effective_to else None,
        priority=r.priority, source_quality=r.source_quality, legal_basis=list(r.legal_basis),
        conditions=[{"block": a, "fact": b.fact, "if": b.if_ or ""}
                    for a, b in zip(compiled_rule.aliases, r.when, strict=True)],
        file=entry.file.display)
