#!/usr/bin/env python
"""Why durable_rules 2.0.28 loses matches in a large engine state — reproduced in seconds.

durable_rules identifies a fact inside one engine state (one ruleset, one ``sid``) by the
32-bit FNV-1a hash of its ``id`` text, and nothing else (``state.c`` ``storeMessage``: the
message index is looked up by hash, and a hit returns ``ERR_EVENT_OBSERVED``). Two facts
whose different ids hash alike: the second is taken for the first asserted again and
dropped — never matched. ``assert_facts`` reports one status for a whole batch (the last
non-zero one), so that code hides behind the "no rule matched" code of any other fact of
the batch. By the birthday bound a state of n facts holds about n²/2³³ such pairs: ~1 at
90k facts, ~0.05 at 20k, ~116 at 1M.

Partitions (``sid``) are found the same way (``getStateNode``: FNV-1a of the sid), so two
partition names that hash alike would share one state; and a ruleset holds at most 1,024
states (``createStateNode``: error 101, "out of memory", for the 1,025th).

This script, against the C binding directly (no ecobrain code):

1. finds two ids of the form ``fact-<n>`` with the same FNV-1a hash (pure Python, ~0.5 s);
2. asserts both, one rule matching every fact: one match comes back, not two;
3. asserts the pair into two different sids: both match (the hash is per state);
3b. the same pair with a fact no rule reads: the batch says only "not handled";
4. creates states until the 1,025th is refused.

    .venv/bin/python scripts/durable_rules_collisions.py
"""

from __future__ import annotations

import json

import durable_rules_engine as dre

FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 16777619


def fnv1a_32(text: str) -> int:
    """durable_rules' ``fnv1Hash32`` (despite its name FNV-1a: XOR, then multiply) over the
    UTF-8 bytes, each read as a signed ``char`` (x86-64): a byte ≥ 0x80 is sign-extended."""
    h = FNV_OFFSET
    for b in text.encode("utf-8"):
        h ^= b if b < 0x80 else (b - 0x100) & 0xFFFFFFFF
        h = (h * FNV_PRIME) & 0xFFFFFFFF
    return h


def colliding_ids() -> tuple[str, str]:
    seen: dict[int, str] = {}
    n = 0
    while True:
        fid = f"fact-{n}"
        h = fnv1a_32(fid)
        if h in seen:
            return seen[h], fid
        seen[h] = fid
        n += 1


def drain(handle: int) -> list[dict]:
    out = []
    while True:
        started = dre.start_action(handle)
        if not started:
            return out
        _state, messages, offset = started
        while messages:
            out.append(json.loads(messages))
            messages = dre.complete_and_start_action(handle, offset)


def ruleset(name: str) -> int:
    return dre.create_ruleset(name, json.dumps(
        {"every_fact": {"all": [{"m": {"type": "fact"}}]}}))


def main() -> None:
    a, b = colliding_ids()
    print(f"ids {a!r} and {b!r}: FNV-1a {fnv1a_32(a):#010x} and {fnv1a_32(b):#010x}")

    h = ruleset("collide_one_state")
    batch = [{"id": a, "type": "fact"}, {"id": b, "type": "fact"}]
    code = dre.assert_facts(h, json.dumps(batch))[0]
    matched = sorted(m["every_fact"]["m"]["id"] for m in drain(h))
    print(f"one state:  asserted 2 facts, status {code}, matches {len(matched)}: {matched}")
    hm = ruleset("collide_masked")
    code = dre.assert_facts(hm, json.dumps([*batch, {"id": "other", "type": "unmatched"}]))[0]
    matched = sorted(m["every_fact"]["m"]["id"] for m in drain(hm))
    print(f"            the same pair and a fact no rule reads, in one batch: status {code} "
          f"('not handled'), matches {len(matched)}: the drop is not reported at all")

    h2 = ruleset("collide_two_states")
    dre.assert_facts(h2, json.dumps([{"id": a, "type": "fact", "sid": "s1"},
                                     {"id": b, "type": "fact", "sid": "s2"}]))
    matched = sorted(m["every_fact"]["m"]["id"] for m in drain(h2))
    print(f"two states: matches {len(matched)}: {matched}")

    h3 = ruleset("many_states")
    refused = None
    for i in range(1, 1100):
        try:
            dre.assert_facts(h3, json.dumps([{"id": "x", "type": "fact", "sid": f"p{i}"}]))
        except MemoryError as exc:  # the binding's translation of error 101
            refused = (i, exc)
            break
    print(f"states per ruleset: state {refused[0]} refused ({type(refused[1]).__name__})"
          if refused else "states per ruleset: 1,099 accepted")
    for handle in (h, hm, h2, h3):
        dre.delete_ruleset(handle)


if __name__ == "__main__":
    main()
