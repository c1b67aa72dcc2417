"""Reading saved decisions back: runs, decisions, tasks, alerts, advice, evidence chains.

The read side of :mod:`.persist` and :mod:`.run_decision`, for the decision-advice API, the
CLI and the task-list documents. Every query is parameterised and read-only; listings return
the small properties the nodes carry (the conclusion JSON only where one item is asked for).

Regions filter by GB/T 2260 structure: a county code is itself, a city code (``xxxx00``) is the
city and its counties, the province code (``xx0000``) everything in it — so a city commander's
filter ``region=330100`` sees Hangzhou's own tasks and its districts'.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.decisions.task_status import INITIAL


class NotFound(LookupError):
    """No run, decision or task with that id: a 404 to API callers, not a server error."""


def region_prefix(code: str) -> str:
    """The code prefix every region inside `code` shares (GB/T 2260 structure)."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def _json_list(v: Any) -> list[Any]:
    return json.loads(v) if isinstance(v, str) and v else []


# -- runs and decisions ----------------------------------------------------------------------------

_RUN_COLS = ("m.id AS id, m.model AS model, m.init_time AS init_time, m.run_dir AS run_dir, "
             "m.days AS days, m.kinds AS kinds, m.state AS state, m.output_dir AS output_dir")


def _run_row(r: dict[str, Any]) -> dict[str, Any]:
    r["days"] = list(r.get("days") or [])
    r["kinds"] = list(r.get("kinds") or [])
    r["decisions"] = sorted(d for d in r.get("decisions") or [] if d)
    return r


def list_runs(store: GraphStore, *, limit: int = 50, offset: int = 0) -> tuple[int, list[dict]]:
    total = store.read_one("MATCH (m:ModelRun) RETURN count(m) AS n")["n"]  # type: ignore[index]
    rows = store.read(
        f"MATCH (m:ModelRun) WITH m ORDER BY m.init_time DESC, m.id SKIP $offset LIMIT $limit "
        f"OPTIONAL MATCH (d:Decision)-[:DECIDED_ON]->(m) RETURN {_RUN_COLS}, "
        f"collect(d.id) AS decisions ORDER BY init_time DESC, id",
        {"offset": int(offset), "limit": int(limit)})
    return total, [_run_row(r) for r in rows]


def get_run(store: GraphStore, run_id: str) -> dict[str, Any]:
    row = store.read_one(
        f"MATCH (m:ModelRun {{id: $id}}) OPTIONAL MATCH (d:Decision)-[:DECIDED_ON]->(m) "
        f"RETURN {_RUN_COLS}, collect(d.id) AS decisions", {"id": run_id})
    if row is None or row["id"] is None:
        raise NotFound(f"no model run {run_id!r}")
    return _run_row(row)


_DEC_COLS = ("d.id AS id, d.run_id AS run_id, d.date AS decision_date, "
             "d.alerts AS alerts, d.measures AS measures, d.tasks AS tasks, "
             "d.advice AS advice, d.legal_review_required AS legal_review_required, "
             "d.rule_versions AS rule_versions, d.notes AS notes, "
             "d.warnings_json AS warnings_json, d.incomplete AS incomplete, "
             "d.created_from AS created_from")


def _dec_row(r: dict[str, Any]) -> dict[str, Any]:
    r["rule_versions"] = list(r.get("rule_versions") or [])
    r["notes"] = list(r.get("notes") or [])
    r["warnings"] = json.loads(r.pop("warnings_json", None) or "[]")
    r["incomplete"] = bool(r.get("incomplete"))
    cf = r.pop("created_from", None)
    r["model"] = (json.loads(cf) if cf else {}).get("model")
    return r


def list_decisions(store: GraphStore, *, run_id: str | None = None, date: str | None = None,
                   limit: int = 50, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    where = "($run IS NULL OR d.run_id = $run) AND ($date IS NULL OR d.date = $date)"
    params = {"run": run_id, "date": date}
    total = store.read_one(f"MATCH (d:Decision) WHERE {where} RETURN count(d) AS n",
                           params)["n"]  # type: ignore[index]
    rows = store.read(f"MATCH (d:Decision) WHERE {where} RETURN {_DEC_COLS} "
                      "ORDER BY decision_date DESC, id SKIP $offset LIMIT $limit",
                      {**params, "offset": int(offset), "limit": int(limit)})
    return total, [_dec_row(r) for r in rows]


def get_decision(store: GraphStore, decision_id: str) -> dict[str, Any]:
    row = store.read_one(f"MATCH (d:Decision {{id: $id}}) RETURN {_DEC_COLS}",
                         {"id": decision_id})
    if row is None:
        raise NotFound(f"no decision {decision_id!r}")
    out = _dec_row(row)
    regions: dict[str, dict[str, Any]] = {}

    def region(code: str, name: str | None) -> dict[str, Any]:
        return regions.setdefault(code, {"region_code": code, "region_name": name or "",
                                         "alert": None, "tasks": 0, "tasks_by_priority": {},
                                         "tasks_by_status": {}, "advice": 0})

    for r in store.read("MATCH (t:Task) WHERE t.decision_id = $id RETURN t.region_code AS code, "
                        "t.region_name AS name, t.priority AS p, coalesce(t.status, $initial) "
                        "AS s, count(*) AS n", {"id": decision_id, "initial": INITIAL}):
        g = region(r["code"], r["name"])
        g["tasks"] += r["n"]
        g["tasks_by_priority"][str(r["p"])] = g["tasks_by_priority"].get(str(r["p"]), 0) + r["n"]
        g["tasks_by_status"][r["s"]] = g["tasks_by_status"].get(r["s"], 0) + r["n"]
    for r in store.read("MATCH (a:Alert) WHERE a.decision_id = $id RETURN a.region_code AS code, "
                        "a.region_name AS name, a.level AS level, a.level_label AS label, "
                        "a.start AS start, a.end AS end, a.driver AS driver",
                        {"id": decision_id}):
        region(r["code"], r["name"])["alert"] = {k: r[k] for k in ("level", "label", "start",
                                                                   "end", "driver")}
    for r in store.read("MATCH (a:Advice) WHERE a.decision_id = $id RETURN a.region_code AS code, "
                        "a.region_name AS name, count(*) AS n", {"id": decision_id}):
        region(r["code"], r["name"])["advice"] += r["n"]
    by_status: Counter = Counter()
    for g in regions.values():
        by_status.update(g["tasks_by_status"])
        # counts keyed in a fixed order: the server's grouping order is its own
        g["tasks_by_priority"] = dict(sorted(g["tasks_by_priority"].items()))
        g["tasks_by_status"] = dict(sorted(g["tasks_by_status"].items()))
    out["regions"] = [regions[k] for k in sorted(regions)]
    out["tasks_by_status"] = dict(sorted(by_status.items()))
    return out


# -- stamps: what a reader's copy is valid for -----------------------------------------------------
# One query per stamp, read blocking (`decision_stamp`) or from async code without blocking
# its event loop (`adecision_stamp`, the API's response cache).

DECISION_STAMP = ("MATCH (d:Decision {id: $id}) RETURN d.revision AS r, "
                  "d.status_version AS v")
TASK_STAMP = ("MATCH (t:Task {id: $id}) MATCH (d:Decision {id: t.decision_id}) "
              "RETURN d.id AS d, d.revision AS r, t.status_version AS v")


def _decision_stamp(row: dict[str, Any] | None) -> str | None:
    if row is None or not row["r"]:
        return None
    return f"{row['r']}.{row['v'] or 0}"


def _task_stamp(row: dict[str, Any] | None) -> str | None:
    if row is None or not row["r"]:
        return None
    return f"{row['d']}.{row['r']}.{row['v'] or 0}"


def decision_stamp(store: GraphStore, decision_id: str) -> str | None:
    """What everything read from the decision (its summary, its task pages) depends on: its
    revision and status version (:mod:`.persist`, :mod:`.task_status`). None for an unknown
    decision or one saved before revisions existed (nothing to validate a copy with)."""
    return _decision_stamp(store.read_one(DECISION_STAMP, {"id": decision_id}))


async def adecision_stamp(store: GraphStore, decision_id: str) -> str | None:
    """:func:`decision_stamp` through the store's async read."""
    return _decision_stamp(await store.aread_one(DECISION_STAMP, {"id": decision_id}))


def task_stamp(store: GraphStore, task_id: str) -> str | None:
    """What a task read alone (with its explanation) depends on: its decision, the decision's
    revision and the task's own status version — another task's status change leaves it be."""
    return _task_stamp(store.read_one(TASK_STAMP, {"id": task_id}))


async def atask_stamp(store: GraphStore, task_id: str) -> str | None:
    """:func:`task_stamp` through the store's async read."""
    return _task_stamp(await store.aread_one(TASK_STAMP, {"id": task_id}))


# -- tasks -----------------------------------------------------------------------------------------

_TASK_COLS = (
    "t.id AS id, t.decision_id AS decision_id, t.run_id AS run_id, t.date AS decision_date, "
    "t.region_code AS region_code, t.region_name AS region_name, t.priority AS priority, "
    "t.deadline AS deadline, t.subject_kind AS subject_kind, t.subject_id AS subject_id, "
    "t.subject_name AS subject_name, t.measure_types AS measure_types, "
    "t.legal_review_required AS legal_review_required, t.rule_keys AS rule_keys, "
    "coalesce(t.status, $initial) AS status, t.status_at AS status_at"
)


def _task_row(r: dict[str, Any]) -> dict[str, Any]:
    r["subject"] = {"kind": r.pop("subject_kind"), "id": r.pop("subject_id"),
                    "name": r.pop("subject_name") or None}
    r["measure_types"] = list(r.get("measure_types") or [])
    r["rule_keys"] = list(r.get("rule_keys") or [])
    return r


def decision_tasks(store: GraphStore, decision_id: str, *, region: str | None = None,
                   priority: int | None = None, min_priority: int | None = None,
                   status: str | None = None, limit: int = 50, offset: int = 0,
                   with_actions: bool = True) -> tuple[int, list[dict[str, Any]]]:
    """A page of a decision's tasks (highest priority first) and how many match in all."""
    where = ("t.decision_id = $id AND ($prefix IS NULL OR t.region_code STARTS WITH $prefix) "
             "AND ($p IS NULL OR t.priority = $p) AND ($minp IS NULL OR t.priority >= $minp) "
             "AND ($status IS NULL OR coalesce(t.status, $initial) = $status)")
    params = {"id": decision_id, "prefix": region_prefix(region) if region else None,
              "p": priority, "minp": min_priority, "status": status, "initial": INITIAL}
    total = store.read_one(f"MATCH (t:Task) WHERE {where} RETURN count(t) AS n",
                           params)["n"]  # type: ignore[index]
    if total == 0 and store.read_one("MATCH (d:Decision {id: $id}) RETURN d.id AS id",
                                     {"id": decision_id}) is None:
        raise NotFound(f"no decision {decision_id!r}")
    # t.actions is written by decide_run; decisions saved otherwise only have the JSON
    extra = ", t.actions AS actions, CASE WHEN t.actions IS NULL THEN t.json END AS json" \
        if with_actions else ""
    rows = store.read(f"MATCH (t:Task) WHERE {where} RETURN {_TASK_COLS}{extra} "
                      "ORDER BY priority DESC, region_code, id SKIP $offset LIMIT $limit",
                      {**params, "offset": int(offset), "limit": int(limit)})
    items = []
    for r in rows:
        raw = r.pop("json", None)
        actions = r.pop("actions", None)
        row = _task_row(r)
        if with_actions:
            row["actions"] = list(actions) if actions is not None else (
                [i["text"] for i in json.loads(raw)["items"]] if raw else [])
        items.append(row)
    return total, items


def get_task(store: GraphStore, task_id: str) -> dict[str, Any]:
    """A task as saved: the summary columns and the full conclusion (reasons, grounds...)."""
    row = store.read_one(f"MATCH (t:Task {{id: $id}}) RETURN {_TASK_COLS}, t.json AS json, "
                         "t.status_by AS status_by, t.status_note AS status_note",
                         {"id": task_id, "initial": INITIAL})
    if row is None:
        raise NotFound(f"no task {task_id!r}")
    conclusion = json.loads(row.pop("json"))
    out = _task_row(row)
    out["conclusion"] = conclusion
    return out


# -- alerts and advice -----------------------------------------------------------------------------

def _conclusions(store: GraphStore, label: str, *, region: str | None, date: str | None,
                 decision_id: str | None, extra_where: str = "",
                 extra: dict[str, Any] | None = None, limit: int = 200) -> list[dict[str, Any]]:
    where = ("($prefix IS NULL OR c.region_code STARTS WITH $prefix) AND "
             "($date IS NULL OR c.date = $date) AND ($did IS NULL OR c.decision_id = $did)"
             + extra_where)
    rows = store.read(f"MATCH (c:{label}) WHERE {where} RETURN c.json AS json, "
                      "c.decision_id AS decision_id, c.date AS decision_date "
                      "ORDER BY decision_date DESC, c.region_code, c.id LIMIT $limit",
                      {"prefix": region_prefix(region) if region else None, "date": date,
                       "did": decision_id, "limit": int(limit), **(extra or {})})
    out = []
    for r in rows:
        c = json.loads(r["json"])
        c["decision_id"] = r["decision_id"]
        c["decision_date"] = r["decision_date"]
        out.append(c)
    return out


def alerts(store: GraphStore, *, region: str | None = None, date: str | None = None,
           decision_id: str | None = None, level: str | None = None,
           limit: int = 200) -> list[dict[str, Any]]:
    return _conclusions(store, "Alert", region=region, date=date, decision_id=decision_id,
                        extra_where=" AND ($level IS NULL OR c.level = $level)",
                        extra={"level": level}, limit=limit)


def advice(store: GraphStore, *, region: str | None = None, date: str | None = None,
           decision_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    return _conclusions(store, "Advice", region=region, date=date, decision_id=decision_id,
                        limit=limit)


def measures(store: GraphStore, *, decision_id: str, region: str | None = None
             ) -> list[dict[str, Any]]:
    return _conclusions(store, "Measure", region=region, date=None, decision_id=decision_id)


# -- the evidence chain of a task ------------------------------------------------------------------

_NAME = "coalesce(n.name, n.name_zh, n.label_zh, n.citation, n.title, n.id)"
EVIDENCE_QUERIES = {
    "decision": "MATCH (d:Decision)-[:HAS_TASK]->(t:Task {id: $id}) "
                "OPTIONAL MATCH (d)-[:DECIDED_ON]->(m:ModelRun) RETURN d.id AS d, m.id AS m",
    "rules": "MATCH (t:Task {id: $id})-[:MADE_BY]->(r:Rule) "
             "OPTIONAL MATCH (r)-[c:CITES]->(a:Article) RETURN r.id AS r, collect(a.id) AS a",
    "grounds": "MATCH (t:Task {id: $id})-[g:GROUNDED_IN]->(a:Article) "
               "RETURN a.id AS a, g.status AS status, g.role AS role, g.citation AS citation "
               "ORDER BY a, role",
    "findings": "MATCH (t:Task {id: $id})-[:EVIDENCED_BY]->(f:Finding) "
                "OPTIONAL MATCH (f)-[:FROM_RUN]->(m:ModelRun) "
                "OPTIONAL MATCH (f)-[:IN_CELL]->(c:GridCell) "
                "OPTIONAL MATCH (f)-[:FOR_REGION]->(g:AdminRegion) "
                "RETURN f.id AS f, m.id AS m, c.id AS c, g.id AS g",
    "subject": "MATCH (t:Task {id: $id})-[:ABOUT]->(s) OPTIONAL MATCH (s)-[:IN_CELL]->(c:GridCell) "
               "RETURN s.id AS s, c.id AS c",
    "assigned": "MATCH (t:Task {id: $id})-[:ASSIGNED_TO]->(g:AdminRegion) RETURN g.id AS g",
    "cell_enterprises": "MATCH (e:Enterprise)-[:IN_CELL]->(c:GridCell) WHERE c.id IN $cells "
                        "RETURN e.id AS e, c.id AS c ORDER BY c, e LIMIT $limit",
}
# the chain's nodes, looked up by label (an unlabelled id lookup is a full scan on Neo4j): every
# label the chain's edges reach — a task's subject is an enterprise, a cell or a sector concept
CHAIN_LABELS = ("Task", "Decision", "ModelRun", "Rule", "Article", "Finding", "GridCell",
                "AdminRegion", "Enterprise", "Concept")
_CHAIN_NODES = ("MATCH (n:{label}) WHERE n.id IN $ids RETURN n.id AS id, labels(n) AS labels, "
                f"{_NAME} AS name")
CHAIN_ENTERPRISE_LIMIT = 200


def evidence_chain(store: GraphStore, task_id: str) -> dict[str, Any]:
    """task → decision → rules → articles → findings → model run → cells → enterprises.

    Nodes (id, labels, name) and edges (source, type, target) as they are in the graph, with the
    read-only queries that produced them (``queries``), so an investigator can replay them.
    """
    p = {"id": task_id}
    if store.read_one("MATCH (t:Task {id: $id}) RETURN t.id AS id", p) is None:
        raise NotFound(f"no task {task_id!r}")
    edges: set[tuple[str, str, str]] = set()
    ids: set[str] = {task_id}

    def edge(a: str | None, rel: str, b: str | None) -> None:
        if a and b:
            edges.add((a, rel, b))
            ids.update((a, b))

    for r in store.read(EVIDENCE_QUERIES["decision"], p):
        edge(r["d"], "HAS_TASK", task_id)
        edge(r["d"], "DECIDED_ON", r["m"])
    for r in store.read(EVIDENCE_QUERIES["rules"], p):
        edge(task_id, "MADE_BY", r["r"])
        for a in r["a"]:
            edge(r["r"], "CITES", a)
    grounds = store.read(EVIDENCE_QUERIES["grounds"], p)
    for r in grounds:
        edge(task_id, "GROUNDED_IN", r["a"])
    cells: set[str] = set()
    for r in store.read(EVIDENCE_QUERIES["findings"], p):
        edge(task_id, "EVIDENCED_BY", r["f"])
        edge(r["f"], "FROM_RUN", r["m"])
        edge(r["f"], "IN_CELL", r["c"])
        edge(r["f"], "FOR_REGION", r["g"])
        if r["c"]:
            cells.add(r["c"])
    for r in store.read(EVIDENCE_QUERIES["subject"], p):
        edge(task_id, "ABOUT", r["s"])
        edge(r["s"], "IN_CELL", r["c"])
        if r["c"]:
            cells.add(r["c"])
    for r in store.read(EVIDENCE_QUERIES["assigned"], p):
        edge(task_id, "ASSIGNED_TO", r["g"])
    near = store.read(EVIDENCE_QUERIES["cell_enterprises"],
                      {"cells": sorted(cells), "limit": CHAIN_ENTERPRISE_LIMIT + 1})
    for r in near[:CHAIN_ENTERPRISE_LIMIT]:
        edge(r["e"], "IN_CELL", r["c"])
    nodes = {r["id"]: {"id": r["id"], "labels": sorted(r["labels"]), "name": r["name"]}
             for label in CHAIN_LABELS
             for r in store.read(_CHAIN_NODES.format(label=label), {"ids": sorted(ids)})}
    by_label: dict[str, int] = defaultdict(int)
    for n in nodes.values():
        for label in n["labels"]:
            by_label[label] += 1
    return {
        "task_id": task_id,
        "nodes": [nodes[k] for k in sorted(nodes, key=lambda k: (k != task_id, k))],
        "edges": [{"source": a, "type": t, "target": b} for a, t, b in sorted(edges)],
        "grounds": [{"article_id": r["a"], "citation": r["citation"], "status": r["status"],
                     "role": r["role"]} for r in grounds],
        "counts": dict(sorted(by_label.items())),
        "truncated": len(near) > CHAIN_ENTERPRISE_LIMIT,
        "queries": dict(EVIDENCE_QUERIES),
    }


# -- documents -------------------------------------------------------------------------------------

def region_forecast(store: GraphStore, run_id: str, region_code: str) -> list[dict[str, Any]]:
    row = store.read_one("MATCH (f:RegionForecast {id: $id}) RETURN f.days_json AS d",
                         {"id": f"{run_id}:{region_code}"})
    return _json_list(row["d"]) if row else []
