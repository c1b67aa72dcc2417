"""Does durable_rules accept a compiled rule? Asked of the engine itself, before a decision.

durable_rules refuses some conditions only when a ruleset is created: one block's condition
becomes a sequence of at most 32 expressions in its C core (``MAX_SEQUENCE_EXPRESSIONS``),
and how many a condition needs depends on its and/or shape, not only on its size. Counting
them here would be a second, drifting model of the engine; creating (and deleting) a
one-rule ruleset gives the engine's own answer, so ``rules check`` reports what the worker
would otherwise fail on mid-decision ("Could not create ruleset, error code: 113").
"""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any

import durable_rules_engine as dre

ENGINE_ERRORS = {
    "113": "the condition is too large for the engine (durable_rules allows 32 expressions "
           "per condition block, counting each and/or)",
}
_names = itertools.count()
# the binding keeps rulesets in one process-wide handle table: probes from API threads queue
_LOCK = threading.Lock()


def engine_refusal(rule_name: str, definition: dict[str, Any]) -> str | None:
    """None when the engine accepts the rule, else why it does not."""
    text = json.dumps({rule_name: definition}, ensure_ascii=False)
    with _LOCK:
        try:
            handle = dre.create_ruleset(f"eb_probe_{next(_names)}", text)
        except Exception as exc:  # the binding raises a plain Exception with the error code
            code = str(exc).rsplit(":", 1)[-1].strip()
            return ENGINE_ERRORS.get(code, f"the engine refuses the rule ({exc})")
        dre.delete_ruleset(handle)
    return None
