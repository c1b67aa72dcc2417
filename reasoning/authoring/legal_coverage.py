"""Legal coverage of the rule base on a date: does every rule still rest on law in force?

When a law is repealed (the 2018 Air Law on 2026-08-15, reportedly), every rule citing only it
would produce conclusions that need legal review. ``ecobrain rules check --on DATE`` and
``GET /rules/coverage?on=DATE`` list, for every active rule version in force on that date, the
status of each ground it cites (in the order decisions show them, :mod:`.ground_selection`),
and warn for each rule left without a ground in force. A rule is *covered* when at least one
ground is in force on the date and applies province-wide (national, or of the provincial
jurisdiction): a municipal regulation alone covers only its city. Escalation (penalty) grounds
are reported too, as gaps, without making the rule uncovered: the task itself still stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ecobrain.reasoning.authoring.rulebase import RuleBase, RuleEntry
from ecobrain.reasoning.decisions.ground_selection import hierarchy_key, scope_prefix
from ecobrain.reasoning.decisions.legal_grounds import LegalGround, resolve_grounds

PROVINCE_WIDE = 2  # length of a province's code prefix (330000 -> "33")


@dataclass(frozen=True)
class GroundLine:
    """One cited ground of a rule on the date."""

    citation_id: str
    citation: str
    status: str
    in_force: bool
    regulation_kind: str | None
    jurisdiction: str | None
    remark_zh: str

    @classmethod
    def of(cls, g: LegalGround) -> GroundLine:
        return cls(g.citation_id, g.citation, g.status, g.in_force, g.regulation_kind,
                   g.jurisdiction, g.remark_zh or g.remark)


@dataclass(frozen=True)
class RuleCoverage:
    key: str
    title: str
    file: str
    grounds: tuple[GroundLine, ...]  # in force first (hierarchy order), then the others
    escalation_gaps: tuple[str, ...]  # escalation texts with no ground in force
    covered: bool

    @property
    def in_force(self) -> tuple[GroundLine, ...]:
        return tuple(g for g in self.grounds if g.in_force)


@dataclass
class CoverageReport:
    on: str
    rules: list[RuleCoverage] = field(default_factory=list)

    @property
    def uncovered(self) -> list[RuleCoverage]:
        return [r for r in self.rules if not r.covered]

    @property
    def warnings(self) -> list[str]:
        out = []
        for r in self.uncovered:
            missing = "；".join(f"{g.citation}（{g.remark_zh}）" for g in r.grounds) or "无"
            out.append(f"{r.file}: {r.key} has no legal ground in force province-wide on "
                       f"{self.on}: {missing}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "on": self.on, "rules": len(self.rules), "uncovered": [r.key for r in self.uncovered],
            "warnings": self.warnings,
            "coverage": [{
                "rule": r.key, "title": r.title, "file": r.file, "covered": r.covered,
                "grounds": [g.__dict__ for g in r.grounds],
                "escalation_gaps": list(r.escalation_gaps)} for r in self.rules]}


def legal_coverage(base: RuleBase, store: Any, on: date) -> CoverageReport:
    """The coverage of every active rule version in force on `on` (grounds resolved at once)."""
    entries = base.in_force(on)
    cited = {c for e in entries for c in _citations(e)}
    grounds = resolve_grounds(store, cited, on)
    report = CoverageReport(on=on.isoformat())
    for e in entries:
        report.rules.append(_coverage(e, grounds))
    return report


def _citations(e: RuleEntry) -> list[str]:
    out = list(e.rule.legal_basis)
    for a in e.rule.then:
        esc = getattr(a.spec, "escalation", None)
        if esc is not None:
            out += esc.legal_basis
    return out


def _coverage(e: RuleEntry, grounds: dict[str, LegalGround]) -> RuleCoverage:
    basis = [grounds[c] for c in e.rule.legal_basis]
    ordered = sorted((g for g in basis if g.in_force), key=hierarchy_key) + \
        sorted((g for g in basis if not g.in_force), key=hierarchy_key)
    covered = any(g.in_force and len(scope_prefix(g.jurisdiction)) <= PROVINCE_WIDE
                  for g in basis)
    gaps = []
    for a in e.rule.then:
        esc = getattr(a.spec, "escalation", None)
        if esc is not None and not any(grounds[c].in_force for c in esc.legal_basis):
            gaps.append(esc.text)
    return RuleCoverage(key=e.rule.key, title=e.rule.title, file=e.file.display,
                        grounds=tuple(GroundLine.of(g) for g in ordered),
                        escalation_gaps=tuple(dict.fromkeys(gaps)), covered=covered)
