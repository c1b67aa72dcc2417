"""Running compiled rules on durable_rules: forward chaining by strata, with a full trace.

How a run goes (per partition, see below):

1. the input facts are asserted into the rulesets that mention their type, in batches
   (``assert_facts``); durable_rules' Rete network (C) matches them, joins included;
2. the matches (rule + the facts of each block) are drained from the engine and each rule's
   actions are rendered in Python into conclusion facts (``alert``, ``measure``, ``task``,
   ``advice``) — the action itself only records; objects are built after the run;
3. the new conclusions are asserted back, lowest stratum first: all alerts of the partition
   together, after keeping one per region (the highest level; the others are kept in the trace
   as superseded), then the measures those alerts produce, then tasks and advice. A context
   provider may add facts when conclusions appear (the enterprises of an alerted region);
4. until no new conclusion appears.

Every match is a :class:`Firing` (rule version, the fact id per block, what it concluded), so
a decision can say for each task which rule made it from which facts.

**Partitions.** Facts carry a partition key (``sid``; ecobrain uses the city code): each
partition runs on its own engine state, one after the other, and its state is deleted before
the next, so memory is bounded by the largest city and the engine's per-state indexes stay
small. Joins therefore see the facts of one partition; a fact whose partition is ``"*"``
(province-wide) is asserted into every partition.

**The C binding.** The engine calls ``durable_rules_engine`` directly (create_ruleset,
assert_facts, start_action, complete_and_start_action, retract_facts, get_facts) rather than
``durable.engine.Host``: the Host starts timer threads that may run actions concurrently and
raises on unmatched facts. Directly, an unmatched fact is a status code and matches are drained
deterministically.

**Memory and isolation.** durable_rules 2.0.28 cannot free an engine state: ``delete_state``
frees pointers it never initialised (it crashes at random — seen here, reproduced under gdb:
``free()`` of a pointer made of JSON text) and ``delete_ruleset`` frees the ruleset but not its
states, so creating and deleting rulesets per run leaks every run's facts (~5 KB per fact,
measured). So each run, at the end of each partition, retracts every fact it asserted (the
state is then empty — checked with ``get_facts``) and returns the rulesets to a small pool
keyed by the compiled rule base; the next run with the same rules reuses them. Memory stays
at the high-water mark instead of growing per run, and no run sees another's facts: a ruleset
whose state is not empty after retraction is never reused. Rulesets have unique names
(``eb_<uuid>_<n>``), one run uses a set exclusively, and concurrent runs get different sets.

**Duplicates.** durable_rules fires a single-block rule once per satisfied ``$or`` branch; the
engine keeps one firing per (rule, facts).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

import durable_rules_engine as dre

from ecobrain.reasoning.compiler import CompiledAction, CompiledRule, CompiledRuleBase
from ecobrain.reasoning.fact_types import FACT_TYPES, stratum
from ecobrain.reasoning.templates import Template

ALL_PARTITIONS = "*"
DEFAULT_PARTITION = "0"
_ERR_NOT_HANDLED = 1
_ERR_OBSERVED = 2


class EngineError(RuntimeError):
    """The engine refused something (a malformed fact, a rule that rendered nothing ...)."""


class ContextProvider(Protocol):
    """Adds facts when conclusions appear (lazily assembled graph context)."""

    def expand(self, partition: str, facts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        ...


@dataclass(frozen=True)
class RegionInfo:
    code: str
    name: str | None
    level: str
    city_code: str | None


def region_from_code(code: str) -> RegionInfo:
    """GB/T 2260 structure: xx0000 province, xxxx00 city, else county (its city xxxx00)."""
    if code.endswith("0000"):
        return RegionInfo(code, None, "province", None)
    if code.endswith("00"):
        return RegionInfo(code, None, "city", code)
    return RegionInfo(code, None, "county", code[:4] + "00")


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a run allocates its facts and firings.

    A big run creates millions of small dicts, lists and records and no reference cycles; with
    the collector on, every few thousand allocations trigger a scan of everything alive, which
    measured here more than doubled the time of building a 100k-fact decision. Reference
    counting still frees everything; the collector resumes (if it was on) afterwards.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


@dataclass
class Firing:
    """One match of a rule: the rule version, the fact of each block, what it concluded."""

    rule_key: str
    facts: dict[str, str]  # alias -> fact id
    partition: str
    round: int
    conclusions: list[str] = field(default_factory=list)
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            self.id = "f." + _digest(self.rule_key,
                                     *(f"{a}={i}" for a, i in sorted(self.facts.items())))


@dataclass
class Concluded:
    """A conclusion fact made by one action of one firing (before merging)."""

    kind: str
    fact: dict[str, Any]  # what the engine sees (type, id, the kind's fields)
    payload: dict[str, Any]  # texts and extras (description, action text, escalation ...)
    rule_key: str
    action_index: int
    firing: Firing
    superseded_by: str | None = None  # an alert kept out because a higher one won

    @property
    def id(self) -> str:
        return self.fact["id"]


@dataclass
class EngineResult:
    firings: list[Firing]
    conclusions: list[Concluded]
    facts: dict[str, dict[str, Any]]  # every fact asserted, by id (inputs, context, conclusions)
    stats: dict[str, Any]


def _clean(fact: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fact.items() if v is not None and v != [] and v != ""}


def _project(fact: Mapping[str, Any], fields: frozenset[str] | None) -> dict[str, Any]:
    """The part of a fact the conditions read (no nulls, no empty lists or texts)."""
    if fields is None:
        return _clean(dict(fact))
    out = {}
    for k in fields:
        v = fact.get(k)
        if v is not None and v != [] and v != "":
            out[k] = v
    return out


class Engine:
    """Runs one compiled rule base over facts. Create one per run (or reuse: runs are isolated)."""

    def __init__(self, compiled: CompiledRuleBase, *, batch_size: int = 1000):
        self.compiled = compiled
        self.batch_size = batch_size

    def run(self, facts: Iterable[Mapping[str, Any]], *, decision_date: date,
            context: ContextProvider | None = None,
            regions: Mapping[str, RegionInfo] | None = None,
            partitions: Iterable[str] = ()) -> EngineResult:
        """Run the rules over `facts`.

        `partitions` names partitions to run even without facts of their own, so that
        province-wide facts (``sid: "*"``) reach them (every city of the province: a province
        alert must reach the enterprises of a city that has no other fact).
        """
        started = time.perf_counter()
        run = _Run(self.compiled, decision_date, context, regions or {}, self.batch_size)
        try:
            with paused_gc():
                run.execute(facts, partitions)
        finally:
            run.close()
        run.stats["seconds"] = round(time.perf_counter() - started, 4)
        return EngineResult(run.firings, run.conclusions, run.facts, run.stats)


class _Run:
    def __init__(self, compiled: CompiledRuleBase, decision_date: date,
                 context: ContextProvider | None, regions: Mapping[str, RegionInfo],
                 batch_size: int):
        self.c = compiled
        self.day = decision_date
        self.context = context
        self.regions = regions
        self.batch_size = batch_size
        self.handles: list[int] = []
        self._chunks: dict[int, list[str]] = {}  # per ruleset: JSON batches asserted
        self.firings: list[Firing] = []
        self.conclusions: list[Concluded] = []
        self.facts: dict[str, dict[str, Any]] = {}
        self.stats: dict[str, Any] = {"facts_in": 0, "asserted": 0, "not_routed": 0,
                                      "firings": 0, "duplicate_matches": 0, "partitions": 0,
                                      "rounds": 0, "conclusions": 0}
        self.handles = _POOL.acquire(compiled)
        self._clean = True
        self._plans: dict[tuple[str, int], tuple[tuple[str, Any, bool, bool], ...]] = {}
        self._region_cache: dict[str, RegionInfo | None] = {}
        self._deadlines: dict[tuple[str, int], str] = {}
        self._order = {k: -r.rule.priority for k, r in compiled.rules.items()}

    def close(self) -> None:
        _POOL.release(self.c, self.handles, clean=self._clean)
        self.handles = []

    # -- driving ---------------------------------------------------------------------------

    def execute(self, facts: Iterable[Mapping[str, Any]], extra: Iterable[str] = ()) -> None:
        by_partition: dict[str, list[dict[str, Any]]] = {}
        shared: list[dict[str, Any]] = []
        for fact in facts:
            if "id" not in fact or "type" not in fact:
                raise EngineError(f"a fact needs 'id' and 'type': {fact}")
            if fact["type"] not in FACT_TYPES:
                raise EngineError(f"unknown fact type {fact['type']!r} (fact {fact['id']})")
            if fact["id"] in self.facts:
                raise EngineError(f"two facts have the id {fact['id']!r}")
            self.facts[fact["id"]] = fact
            self.stats["facts_in"] += 1
            part = str(fact.get("sid") or DEFAULT_PARTITION)
            if part == ALL_PARTITIONS:
                shared.append(fact)
            else:
                by_partition.setdefault(part, []).append(fact)
        names = set(by_partition)
        if shared:
            names |= {p for p in extra if p != ALL_PARTITIONS}
            names = names or {DEFAULT_PARTITION}
        partitions = sorted(names)
        for p in partitions:
            self._partition(p, shared + by_partition.get(p, []))
        self.stats["partitions"] = len(partitions)
        self.stats["firings"] = len(self.firings)
        self.stats["conclusions"] = len(self.conclusions)

    def _partition(self, part: str, facts: list[dict[str, Any]]) -> None:
        self._chunks = {}
        try:
            self._chain(part, facts)
        except BaseException:
            self._clean = False
            raise
        finally:
            self._empty(part)

    def _empty(self, part: str) -> None:
        """Retract every fact the partition asserted, leaving its states empty for reuse."""
        started = time.perf_counter()
        for idx, chunks in self._chunks.items():
            h = self.handles[idx]
            try:
                for chunk in chunks:
                    dre.retract_facts(h, chunk)
                self._drain_quietly(h)
                if dre.get_facts(h, part) not in ("[]", None):
                    self._clean = False
            except Exception:
                self._clean = False
        self._chunks = {}
        self.stats["retract_s"] = round(self.stats.get("retract_s", 0.0)
                                        + time.perf_counter() - started, 4)

    @staticmethod
    def _drain_quietly(h: int) -> None:
        """Consume anything a retraction queued (nothing, with the rules ecobrain compiles)."""
        while True:
            started = dre.start_action(h)
            if not started:
                return
            _state, messages, offset = started
            while messages:
                messages = dre.complete_and_start_action(h, offset)

    def _chain(self, part: str, facts: list[dict[str, Any]]) -> None:
        asserted: set[str] = set()
        rnd = 0
        self._assert(part, facts, asserted, rnd)
        pending: dict[int, list[Concluded]] = {}
        self._collect(part, rnd, pending)
        while pending:
            rnd += 1
            level = min(pending)
            batch = pending.pop(level)
            if level == stratum("alert"):
                batch = self._one_alert_per_region(batch)
            new_facts = [c.fact for c in batch if c.superseded_by is None]
            for f in new_facts:
                self.facts.setdefault(f["id"], f)
            if self.context is not None and new_facts:
                extra = [dict(x) for x in self.context.expand(part, new_facts)]
                for f in extra:
                    self.facts.setdefault(f["id"], f)
                new_facts = extra + new_facts
            self._assert(part, new_facts, asserted, rnd)
            self._collect(part, rnd, pending)
        self.stats["rounds"] = max(self.stats["rounds"], rnd + 1)

    def _assert(self, part: str, facts: list[dict[str, Any]], asserted: set[str],
                rnd: int) -> None:
        per_ruleset: dict[int, list[dict[str, Any]]] = {}
        for f in facts:
            if f["id"] in asserted:
                continue
            asserted.add(f["id"])
            targets = self.c.routing.get(f["type"])
            if not targets:
                self.stats["not_routed"] += 1
                continue
            body = _project(f, self.c.fields_by_type.get(f["type"]))
            body["sid"] = part
            for t in targets:
                per_ruleset.setdefault(t, []).append(body)
        for idx, items in per_ruleset.items():
            h = self.handles[idx]
            for start in range(0, len(items), self.batch_size):
                chunk = items[start:start + self.batch_size]
                text = json.dumps(chunk, ensure_ascii=False)
                self._chunks.setdefault(idx, []).append(text)
                code, _ = dre.assert_facts(h, text)
                if code not in (0, _ERR_NOT_HANDLED, _ERR_OBSERVED):  # pragma: no cover
                    raise EngineError(f"durable_rules refused facts (code {code})")
                self.stats["asserted"] += len(chunk)

    def _drain(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for h in self.handles:
            while True:
                started = dre.start_action(h)
                if not started:
                    break
                _state, messages, offset = started
                while messages:
                    out.append(json.loads(messages))
                    messages = dre.complete_and_start_action(h, offset)
        return out

    def _collect(self, part: str, rnd: int, pending: dict[int, list[Concluded]]) -> None:
        seen: set[tuple[str, tuple[str, ...]]] = set()
        matches: list[tuple[int, str, tuple[str, ...], CompiledRule]] = []
        order = self._order
        for message in self._drain():
            for rule_key, bound in message.items():
                if rule_key.startswith("_catch."):
                    continue
                rule = self.c.rules[rule_key]
                ids = tuple(bound[a]["id"] for a in rule.aliases)
                key = (rule_key, ids)
                if key in seen:
                    self.stats["duplicate_matches"] += 1
                    continue
                seen.add(key)
                matches.append((order[rule_key], rule_key, ids, rule))
        matches.sort(key=lambda m: m[:3])  # priority, rule, facts: a stable order
        facts = self.facts
        firings = self.firings
        conclusions = self.conclusions
        for _, rule_key, ids, rule in matches:
            named = dict(zip(rule.aliases, ids, strict=True))
            bindings = {a: facts[i] for a, i in named.items()}
            firing = Firing(rule_key, named, part, rnd)
            firings.append(firing)
            for action in rule.actions:
                concluded = self._conclude(rule, action, bindings, firing)
                firing.conclusions.append(concluded.id)
                conclusions.append(concluded)
                pending.setdefault(stratum(concluded.kind), []).append(concluded)

    # -- conclusions -----------------------------------------------------------------------

    def _one_alert_per_region(self, batch: list[Concluded]) -> list[Concluded]:
        best: dict[str, Concluded] = {}
        for c in batch:
            if c.kind != "alert":
                continue
            region = c.fact["region_code"]
            cur = best.get(region)
            if cur is None or _alert_rank(c) > _alert_rank(cur):
                best[region] = c
        for c in batch:
            if c.kind == "alert":
                winner = best[c.fact["region_code"]]
                if winner is not c:
                    c.superseded_by = winner.id
        return batch

    def _region(self, code: str | None) -> RegionInfo | None:
        if not code:
            return None
        info = self._region_cache.get(code)
        if info is None:
            info = self._region_cache[code] = self.regions.get(code) or region_from_code(code)
        return info

    def _conclude(self, rule: CompiledRule, action: CompiledAction,
                  bindings: Mapping[str, Mapping[str, Any]], firing: Firing) -> Concluded:
        params = rule.params
        concepts = self.c.concepts
        day = self.day

        def r(value: Any) -> Any:
            if value.__class__ is Template:
                return value.render(bindings, params, concepts, day)
            return value

        plan = self._plans.get((rule.key, action.index))
        if plan is None:
            kind_fields = FACT_TYPES[action.kind].fields
            plan = self._plans[(rule.key, action.index)] = tuple(
                (k, v, v.__class__ is Template, k in kind_fields)
                for k, v in action.fields.items() if v is not None)
        fact: dict[str, Any] = {"type": action.kind, "rule_id": rule.rule.id}
        payload: dict[str, Any] = {}
        for name, value, is_template, in_fact in plan:
            if is_template:
                value = value.render(bindings, params, concepts, day)
            if in_fact:
                fact[name] = value
            else:
                payload[name] = value
        region_code = fact.get("region_code")
        if not region_code:
            raise EngineError(f"rule {rule.key}: action {action.index + 1} ({action.kind}) "
                              f"rendered no region_code from facts {firing.facts}")
        region_code = fact["region_code"] = str(region_code)
        info = self._region(region_code)
        if info is not None:
            fact["region_name"] = info.name
            fact["region_level"] = info.level
            fact["city_code"] = info.city_code
        if action.kind == "alert":
            fact["severity_rank"] = int(concepts.prop(str(fact["level"]), "severity_rank", 0))
        if action.kind == "measure":
            if isinstance(fact.get("pollutants"), str):
                fact["pollutants"] = [fact["pollutants"]]
            if fact.get("reduction_ratio") is not None:
                fact["reduction_ratio"] = float(fact["reduction_ratio"])
        if action.kind == "task":
            subject = action.subject or {}
            fact["subject_kind"] = subject.get("kind")
            fact["subject_id"] = str(r(subject.get("id")) or "")
            fact["subject_name"] = r(subject.get("name")) if subject.get("name") else None
            if not fact["subject_id"]:
                raise EngineError(f"rule {rule.key}: task subject id rendered empty from "
                                  f"facts {firing.facts}")
            prio = r(action.priority) if action.priority is not None else rule.rule.priority
            fact["priority"] = int(prio)
            fact["deadline"] = self._deadline(action, r)
            if action.escalation_text is not None:
                payload["escalation"] = {"text": r(action.escalation_text),
                                         "legal_basis": list(action.escalation_basis)}
        fact["id"] = f"{action.kind}.{_digest(firing.id, str(action.index))}"
        return Concluded(kind=action.kind,
                         fact={k: v for k, v in fact.items() if v is not None and v != ""},
                         payload=payload, rule_key=rule.key, action_index=action.index,
                         firing=firing)

    def _deadline(self, action: CompiledAction, r: Any) -> str | None:
        d = action.deadline
        if d is None:
            return None
        if d.absolute is not None:
            value = r(d.absolute)
            return str(value) if value else None
        base_text = self.day.isoformat()
        if d.base is not None:
            value = r(d.base)
            if not value:
                return None
            base_text = str(value)[:10]
        days = r(d.offset_days)
        if days is None:
            return None
        key = (base_text, d.sign * int(days))
        out = self._deadlines.get(key)
        if out is None:
            out = self._deadlines[key] = (date.fromisoformat(base_text)
                                          + timedelta(days=key[1])).isoformat()
        return out


class _RulesetPool:
    """Idle durable_rules rulesets per compiled rule base, emptied and ready for another run."""

    MAX_IDLE = 2  # idle handle sets kept per rule base
    MAX_BASES = 8

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[str, list[list[int]]] = {}
        self.created = 0

    def _key(self, compiled: CompiledRuleBase) -> str:
        """Rulesets with the same definitions are interchangeable, whatever the date."""
        key = getattr(compiled, "_pool_key", None)
        if key is None:
            key = json.dumps(compiled.rulesets, sort_keys=True, ensure_ascii=False)
            compiled._pool_key = key  # type: ignore[attr-defined]
        return key

    def acquire(self, compiled: CompiledRuleBase) -> list[int]:
        key = self._key(compiled)
        with self._lock:
            sets = self._idle.get(key)
            if sets:
                return sets.pop()
        tag = uuid.uuid4().hex[:12]
        handles = []
        for i, definition in enumerate(compiled.rulesets):
            handles.append(dre.create_ruleset(f"eb_{tag}_{i}",
                                              json.dumps(definition, ensure_ascii=False)))
        self.created += len(handles)
        return handles

    def release(self, compiled: CompiledRuleBase, handles: list[int], *, clean: bool) -> None:
        if not handles:
            return
        key = self._key(compiled)
        with self._lock:
            if clean:
                sets = self._idle.setdefault(key, [])
                if len(sets) < self.MAX_IDLE:
                    sets.append(handles)
                    self._idle[key] = self._idle.pop(key)  # most recently used last
                    handles = []
                while len(self._idle) > self.MAX_BASES:
                    # the oldest rule base's sets go; their (empty) states are not freed by
                    # durable_rules, so this is kept rare
                    for old in self._idle.pop(next(iter(self._idle))):
                        _delete(old)
        _delete(handles)


def _delete(handles: list[int]) -> None:
    for h in handles:
        with contextlib.suppress(Exception):
            dre.delete_ruleset(h)


_POOL = _RulesetPool()


def _alert_rank(c: Concluded) -> tuple[int, str]:
    # the highest level wins; between rules concluding the same level, a stable order
    return (int(c.fact.get("severity_rank", 0)), c.rule_key)
