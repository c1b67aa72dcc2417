"""Texts a rule produces carry no hard-coded article numbers or fine ranges.

A task's action, a measure's description, an advice's text or rationale and an escalation's
text are shown to bureaus as they are. If they name an article (（大气法第九十六条）) or a fine
(依法处一万元以上十万元以下罚款), a change of law leaves them wrong while the grounds beside them
are right. Legal references belong in ``legal_basis``, whose in-force provisions the decision
renders on the decision date (``ecobrain.reasoning.decisions.ground_selection``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

NUMERAL = "零一二三四五六七八九十百千万两〇0-9"
ARTICLE = re.compile(rf"第[{NUMERAL}]+条")
FINE_RANGE = re.compile(rf"[{NUMERAL}]+(?:元)?以上[{NUMERAL}]+元以下")
FINE = re.compile(rf"处[{NUMERAL}]+元")
CHECKED_FIELDS = ("action", "description", "text", "rationale", "note")


def hard_coded(text: str) -> str | None:
    """The first article number or fine range in `text`, or None."""
    m = ARTICLE.search(text) or FINE_RANGE.search(text) or FINE.search(text)
    return m.group(0) if m else None


def output_texts(action: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    """(path inside the action, text) for every text the action puts in front of a reader."""
    spec = action.spec
    for name in CHECKED_FIELDS:
        value = getattr(spec, name, None)
        if isinstance(value, str):
            yield (name,), value
    escalation = getattr(spec, "escalation", None)
    if escalation is not None:
        yield ("escalation", "text"), escalation.text
