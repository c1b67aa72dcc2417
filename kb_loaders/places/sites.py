"""What enterprises and monitoring stations share: a point in a county, on the model grid.

Both files give a county code and coordinates. The loader checks that the two agree
(:func:`~ecobrain.kb_loaders.places.regions.point_problems`, 1 km tolerance for the GCJ-02 boundary
datum), places the point in its ZJ3KM cell, and links the node ``IN_REGION`` its county and
``IN_CELL`` its cell. A reload moves a site whose county or cell changed: the old edge goes.

A point can lie in the province but in a border cell whose *centre* is outside it (a pier, a
small island). Such a cell is not a GridCell node (the grid holds the cells whose centre is in
the province), so the site keeps ``cell_id``/``grid_row``/``grid_col`` as properties, gets no
``IN_CELL`` edge, and the load report says how many sites that concerns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ecobrain.kb_loaders.csv_contract import Problems
from ecobrain.kb_loaders.errors import LoadError
from ecobrain.kb_loaders.places.regions import point_problems
from ecobrain.ontology.geography import RegionIndex
from ecobrain.ontology.graph.statement_size import row_batches
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.ontology.grid import ZJ3KM, GridSpec

COORD_DECIMALS = 6  # ~0.1 m; what the user gave, without float noise

# Only these labels are spliced into query text (labels cannot be parameters).
SITE_LABELS = frozenset({"Enterprise", "MonitoringStation"})


def check_places(
    lines: Sequence[int],
    county_codes: Sequence[str],
    lon: Sequence[float],
    lat: Sequence[float],
    problems: Problems,
) -> None:
    """Add a problem for each point outside the province or in another county than stated."""
    for i, (field, message) in sorted(point_problems(county_codes, lon, lat).items()):
        problems.add(message, line=lines[i], field=field)


def place_on_grid(
    lon: Sequence[float], lat: Sequence[float], grid: GridSpec = ZJ3KM
) -> list[dict[str, Any]]:
    """Each point's cell: ``grid_row``, ``grid_col``, ``cell_id``, ``cell_in_graph``.

    ``cell_in_graph`` is False for a cell whose centre lies outside the province (no GridCell
    node) and for a point outside the grid (then the cell fields are None).
    """
    rows, cols = grid.lonlat_to_rowcol(np.asarray(lon, float), np.asarray(lat, float))
    inside = rows >= 0
    centre_in = np.zeros(len(rows), dtype=bool)
    if inside.any():
        x0, y0 = grid.cell_center_xy()
        clon, clat = grid.xy_to_lonlat(x0[cols[inside]], y0[rows[inside]])
        centre_in[inside] = RegionIndex.counties().locate(clon, clat) != None  # noqa: E711
    out = []
    for r, c, ok, has_cell in zip(rows.tolist(), cols.tolist(), inside.tolist(),
                                  centre_in.tolist(), strict=True):
        out.append({
            "grid_row": r if ok else None,
            "grid_col": c if ok else None,
            "cell_id": grid.cell_id(r, c) if ok else None,
            "cell_in_graph": bool(has_cell),
        })
    return out


def require_nodes(
    store: GraphStore, label: str, ids: Sequence[str], *, what: str, load_hint: str,
    file: str | None = None,
) -> None:
    """Fail before writing when nodes that edges will MATCH are missing from the graph.

    A MATCH that finds nothing silently creates no edge, so a load run before the ontology or
    the grid would look successful and leave enterprises unlinked.
    """
    wanted = sorted(set(ids))
    if not wanted:
        return
    if label not in {"Sector", "Pollutant", "GridCell", "County"}:
        raise ValueError(f"unexpected label {label!r}")
    found = {r["id"] for r in store.read(
        f"UNWIND $ids AS wanted MATCH (n:{label} {{id: wanted}}) RETURN n.id AS id",
        {"ids": wanted})}
    missing = [i for i in wanted if i not in found]
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more"
                                          if len(missing) > 10 else "")
        raise LoadError(
            f"{len(missing)} {what} not in the graph ({shown}): {load_hint}", file=file
        )


# When an edge from a site is stale on reload: the site's row no longer names its target.
SITE_STALE_EDGES: dict[str, str] = {
    "IN_REGION": "t.id <> r.county_code",
    "IN_CELL": "r.cell_id IS NULL OR t.id <> r.cell_id",
}


def drop_stale_query(label: str, stale: dict[str, str]) -> str:
    """One statement deleting every outgoing edge of the listed types that a row no longer names.

    `stale` maps a relationship type to the condition (on edge target ``t`` and row ``r``) under
    which an existing edge is stale; both come from constants in the loaders, never from data.
    """
    if label not in SITE_LABELS:
        raise ValueError(f"unexpected site label {label!r}")
    cases = " OR ".join(f"(type(x) = '{rel}' AND ({cond}))" for rel, cond in stale.items())
    return f"UNWIND $rows AS r MATCH (s:{label} {{id: r.id}})-[x]->(t) WHERE {cases} DELETE x"


def holds_any(store: GraphStore, label: str) -> bool:
    """Whether any node of `label` is in the graph. A load into a graph without one has no
    stale edge to drop: the statement that finds them is left out (run it inside the unit
    of writes, so no other writer adds one in between)."""
    if label not in SITE_LABELS | {"GridCell"}:
        raise ValueError(f"unexpected label {label!r}")
    return bool(store.read(f"MATCH (n:{label}) RETURN 1 AS one LIMIT 1"))


def link_cell_query(label: str, *, new: bool = False) -> str:
    """IN_CELL for the sites whose cell is a GridCell node (others have none to link);
    `new`: the sites were created in this unit, so none has the edge yet (CREATE)."""
    if label not in SITE_LABELS:
        raise ValueError(f"unexpected site label {label!r}")
    return (f"UNWIND $rows AS r MATCH (s:{label} {{id: r.id}}) "
            f"MATCH (c:GridCell {{id: r.cell_id}}) {'CREATE' if new else 'MERGE'} "
            "(s)-[:IN_CELL]->(c)")



def batches(rows: Sequence[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    """At most `size` rows and a Bolt-safe encoded size per batch (graph.statement_size)."""
    return [list(b) for b in row_batches(rows, max_rows=size)]


def slim(rows: Sequence[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    """Only the keys a statement needs: parameters are serialised per statement."""
    return [{k: r[k] for k in keys} for r in rows]
