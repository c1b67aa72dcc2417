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
partition runs on its own engine state, one after the other. Joins therefore see the facts of
one partition; a fact whose partition is ``"*"`` (province-wide) is asserted into every
partition.

**The C binding.** The engine calls ``durable_rules_engine`` (create_ruleset, assert_facts,
start_action, complete_and_start_action) rather than ``durable.engine.Host``: the Host starts
timer threads that may run actions concurrently and raises on unmatched facts. Directly, an
unmatched fact is a status code and matches are drained deterministically.

**A worker process** (:mod:`.engine_worker`) makes those calls, not this process, because
durable_rules 2.0.28 has no memory-safe way to empty or free a state once rules have fired:

* retracting a fact whose match was dispatched (start_action / complete_and_start_action)
  follows the fact's stale location to the freed action frame, which still has its
  ``isDispatching`` flag, and ``deleteMessageFromFrame`` then counts non-empty slots up to the
  frame's old ``messageCount`` — after the first of a join's facts has cleared its slot, the
  loop runs past the 16-slot ``messages`` array into the next frame (and beyond the pool's
  block) reading and zeroing memory (``events.c`` ``handleDeleteMessage``, ``state.c``
  ``deleteMessageFromFrame``) — read from the C source; the likely cause of the
  segmentation faults seen now and then in full test runs of the earlier in-process engine,
  which retracted every fact at the end of each partition;
* ``delete_state`` frees ``context.messages``/``context.stateFact``, which ``createStateNode``
  never initialises, and leaves a stale entry in ``reverseStateIndex``;
* ``delete_ruleset`` frees the rule network but no state: every fact asserted stays
  allocated (~8 KB each, measured).

So nothing is ever retracted or deleted state by state: each run creates fresh rulesets in a
worker (isolation: no run sees another's facts), deletes them at the end (the network only),
and a worker whose resident memory has passed :attr:`_WorkerPool.RSS_LIMIT` is retired — its
memory goes back to the system with the process — and replaced, between partitions if a run
is that big. Workers are reused by later runs, one run at a time each; runs in threads each
get their own worker, so they match in parallel. A worker that dies (a native crash) makes
the run fail with :class:`EngineError` naming the signal; this process is unaffected. One
request per round of a partition (the round's facts in, every match out) keeps the
inter-process traffic small; the next partition's first round is sent before this one's
matches are rendered, so the worker matches while this process renders (the matches are
still handled partition by partition, in the same order).

**Duplicates.** durable_rules fires a single-block rule once per satisfied ``$or`` branch; the
engine keeps one firing per (rule, facts).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import hashlib
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from ecobrain.reasoning.engine import worker as engine_worker
from ecobrain.reasoning.language.compiler import CompiledAction, CompiledRule, CompiledRuleBase
from ecobrain.reasoning.language.fact_types import FACT_TYPES, stratum
from ecobrain.reasoning.language.templates import Template

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

    What the run allocated is then handed to the oldest generation directly (freeze, then
    unfreeze: two list splices). Otherwise the millions of objects made while paused sit in
    the youngest generation and the first allocations after the pause scan them all, then
    again as they move up (0.5-2 s per phase of a 100k-fact decision, for no cycle found).
    Skipped when something is frozen already (the API freezes its start-up objects):
    unfreezing would undo that.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
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
        except BaseException:
            run.close(failed=True)
            raise
        run.close()
        run.stats["seconds"] = round(time.perf_counter() - started, 4)
        return EngineResult(run.firings, run.conclusions, run.facts, run.stats)


class _Run:
    def __init__(self, compiled: CompiledRuleBase, decision_date: date,
                 context: ContextProvider | None, regions: Mapping[str, RegionInfo],
                 batch_size: int):
        self.c = compiled
        self.day = decision_date
        self._day_text = decision_date.isoformat()
        self.context = context
        self.regions = regions
        self.batch_size = batch_size
        self.worker: _Worker | None = None
        self.handles: list[int] = []
        self.firings: list[Firing] = []
        self.conclusions: list[Concluded] = []
        self.facts: dict[str, dict[str, Any]] = {}
        self.stats: dict[str, Any] = {"facts_in": 0, "asserted": 0, "not_routed": 0,
                                      "firings": 0, "duplicate_matches": 0, "partitions": 0,
                                      "rounds": 0, "conclusions": 0}
        self._plans: dict[tuple[str, int], tuple[tuple[str, Any, bool, bool], ...]] = {}
        self._region_cache: dict[str, RegionInfo | None] = {}
        self._deadlines: dict[tuple[str, int], str] = {}
        self._order = {k: -r.rule.priority for k, r in compiled.rules.items()}
        # the next partition, whose first round was sent ahead, with its asserted ids; its
        # reply once read (a request of this partition came after it)
        self._ahead: tuple[str, set[str]] | None = None
        self._ahead_reply: list[dict[str, Any]] | None = None

    def _open(self) -> None:
        """Fresh rulesets in a worker (one from the pool, or a new one)."""
        self.worker = _WORKERS.acquire()
        try:
            self.handles = self.worker.call("open", _definitions(self.c))
        except BaseException:
            self.close(failed=True)
            raise

    def close(self, *, failed: bool = False) -> None:
        """Delete the run's rulesets and give the worker back (a failed run retires it)."""
        worker, handles = self.worker, self.handles
        self.worker, self.handles = None, []
        if worker is None:
            return
        failed = failed or worker.unanswered > 0  # a reply nobody will read: not reusable
        self._ahead, self._ahead_reply = None, None
        if handles and not failed and not worker.broken:
            try:
                worker.call("close", handles)
            except EngineError:
                failed = True
        _WORKERS.release(worker, retire=failed)

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
        for i, p in enumerate(partitions):
            nxt = partitions[i + 1] if i + 1 < len(partitions) else None
            self._partition(p, shared + by_partition.get(p, []),
                            nxt, (lambda n=nxt: shared + by_partition.get(n, [])))
        self.stats["partitions"] = len(partitions)
        self.stats["firings"] = len(self.firings)
        self.stats["conclusions"] = len(self.conclusions)

    def _partition(self, part: str, facts: list[dict[str, Any]], next_part: str | None,
                   next_facts: Any) -> None:
        # a partition whose first round was sent ahead (see _chain) stays with that worker
        sent_ahead = self._sent_ahead(part)
        if not sent_ahead and self.worker is None:
            self._open()
        elif not sent_ahead and self.worker.rss > _WorkerPool.RSS_LIMIT:
            self.close()  # the worker is past its limit: retired, a fresh one takes over
            self._open()
        self._chain(part, facts, next_part, next_facts)

    def _sent_ahead(self, part: str) -> bool:
        return self._ahead is not None and self._ahead[0] == part

    def _chain(self, part: str, facts: list[dict[str, Any]], next_part: str | None = None,
               next_facts: Any = None) -> None:
        """Run one partition round by round.

        The next partition's first round (its input facts: most of the matching) is sent to
        the worker as soon as this partition's first matches are in, so the worker matches it
        while this process renders conclusions: the two cores work at once. Partitions are
        separate engine states and the matches are handled in the same order as without the
        look-ahead, so the result is the same. Not when the worker is due to be retired.
        """
        assert self.worker is not None
        rnd = 0
        pending: dict[int, list[Concluded]] = {}
        if self._sent_ahead(part):
            assert self._ahead is not None
            asserted = self._ahead[1]
            messages = self._ahead_reply if self._ahead_reply is not None else self._receive()
            self._ahead, self._ahead_reply = None, None
        else:
            asserted = set()
            messages = self._step(self._batches(part, facts, asserted))
        if next_part is not None and self.worker.rss <= _WorkerPool.RSS_LIMIT:
            ahead: set[str] = set()
            self.worker.send("step", self._batches(next_part, next_facts(), ahead),
                             self.handles)
            self._ahead = (next_part, ahead)
        self._collect(part, rnd, pending, messages)
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
            self._collect(part, rnd, pending,
                          self._step(self._batches(part, new_facts, asserted)))
        self.stats["rounds"] = max(self.stats["rounds"], rnd + 1)

    def _batches(self, part: str, facts: list[dict[str, Any]], asserted: set[str]
                 ) -> list[tuple[int, str]]:
        """The facts not asserted yet, as JSON batches per ruleset that mentions their type."""
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
        out = []
        for idx, items in per_ruleset.items():
            h = self.handles[idx]
            for start in range(0, len(items), self.batch_size):
                chunk = items[start:start + self.batch_size]
                out.append((h, json.dumps(chunk, ensure_ascii=False)))
                self.stats["asserted"] += len(chunk)
        return out

    def _step(self, batches: list[tuple[int, str]]) -> list[dict[str, Any]]:
        """Assert the batches, then drain every match (one request to the worker)."""
        assert self.worker is not None
        if self._ahead is not None and self._ahead_reply is None:
            self._ahead_reply = self._receive()  # replies come in order: the look-ahead's first
        self.worker.send("step", batches, self.handles)
        return self._receive()

    def _receive(self) -> list[dict[str, Any]]:
        """The matches of the oldest step request not answered yet."""
        assert self.worker is not None
        codes, messages, rss = self.worker.receive()
        self.worker.rss = rss
        for code in codes:
            if code not in (0, _ERR_NOT_HANDLED, _ERR_OBSERVED):  # pragma: no cover
                raise EngineError(f"durable_rules refused facts (code {code})")
        # one parse for the whole round (each match is a small JSON object: 83k calls of
        # json.loads cost more in call overhead than in parsing)
        return json.loads("[" + ",".join(messages) + "]") if messages else []

    def _collect(self, part: str, rnd: int, pending: dict[int, list[Concluded]],
                 messages: list[dict[str, Any]]) -> None:
        seen: set[tuple[str, tuple[str, ...]]] = set()
        matches: list[tuple[int, str, tuple[str, ...], CompiledRule]] = []
        order = self._order
        for message in messages:
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
        base_text = self._day_text
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


def _definitions(compiled: CompiledRuleBase) -> list[str]:
    """The rulesets' JSON, serialised once per compiled rule base."""
    defs = getattr(compiled, "_definitions_json", None)
    if defs is None:
        defs = [json.dumps(d, ensure_ascii=False) for d in compiled.rulesets]
        compiled._definitions_json = defs  # type: ignore[attr-defined]
    return defs


class _Worker:
    """One engine process (:mod:`.engine_worker`); used by one run at a time."""

    def __init__(self) -> None:
        if not sys.executable:  # pragma: no cover - embedded interpreters
            raise EngineError("cannot start the rule engine process: no Python executable")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ecobrain.reasoning.engine.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.pid = os.getpid()  # the process that owns it (not a forked child)
        self.rss = 0
        self.broken = False
        self.unanswered = 0  # requests sent whose reply was not read

    def call(self, *request: Any) -> Any:
        self.send(*request)
        return self.receive()

    def send(self, *request: Any) -> None:
        """Send a request; its reply is read by :meth:`receive` (replies come in order).

        Only after the previous reply was read in full: the worker never writes a reply while
        this process writes a request, so neither can block the other on a full pipe.
        """
        if self.broken:
            raise EngineError("the rule engine process is unusable after an earlier failure")
        assert self.proc.stdin is not None
        self.unanswered += 1
        try:
            engine_worker.write_frame(
                self.proc.stdin, pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
        except BaseException as exc:
            self.broken = True
            if isinstance(exc, OSError):
                raise EngineError(self._death()) from exc
            raise

    def receive(self) -> Any:
        assert self.proc.stdout is not None
        try:
            frame = engine_worker.read_frame(self.proc.stdout)
        except BaseException as exc:
            # a dead worker, or an interruption between request and reply: either way the
            # next reply could not be trusted
            self.broken = True
            if isinstance(exc, OSError | EOFError):
                raise EngineError(self._death()) from exc
            raise
        if frame is None:
            self.broken = True
            raise EngineError(self._death())
        self.unanswered -= 1
        status, value = pickle.loads(frame)
        if status != "ok":
            raise EngineError(f"durable_rules: {value}")
        return value

    def _death(self) -> str:
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return "the rule engine process stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the rule engine process died ({name})"
        return f"the rule engine process exited (status {code})"

    def stop(self) -> None:
        """End the worker: it exits when its input closes (killed if it does not)."""
        if self.pid != os.getpid():
            return  # inherited through fork: the parent's to stop
        if self.broken and self.proc.poll() is None:
            self.proc.kill()  # it may be blocked writing a reply nobody will read
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.proc.kill()
            self.proc.wait()


class _WorkerPool:
    """Idle engine workers of this process, ready for the next run."""

    MAX_IDLE = 2
    # a worker past this resident size is retired (durable_rules keeps every fact it was
    # given, ~8 KB each, until its process ends)
    RSS_LIMIT = 768 * 1024 * 1024

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self.started = 0  # workers started by this process (tests, benchmarks)

    def acquire(self) -> _Worker:
        while True:
            with self._lock:
                if not self._idle:
                    self.started += 1
                    break
                worker = self._idle.pop()
            if worker.proc.poll() is None:
                return worker
            worker.stop()  # it died while idle
        return _Worker()

    def release(self, worker: _Worker, *, retire: bool = False) -> None:
        if not (retire or worker.broken or worker.rss > self.RSS_LIMIT
                or worker.proc.poll() is not None):
            with self._lock:
                if len(self._idle) < self.MAX_IDLE:
                    self._idle.append(worker)
                    return
        worker.stop()

    def close(self) -> None:
        """Stop the idle workers (at exit; running ones stop when their run releases them)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for w in idle:
            w.stop()

    def _forget(self) -> None:
        """In a forked child: the parent's workers are not ours to use."""
        self._lock = threading.Lock()
        self._idle = []


_WORKERS = _WorkerPool()
atexit.register(_WORKERS.close)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_WORKERS._forget)


def _alert_rank(c: Concluded) -> tuple[int, str]:
    # the highest level wins; between rules concluding the same level, a stable order
    return (int(c.fact.get("severity_rank", 0)), c.rule_key)
