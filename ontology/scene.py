"""What the graph explorer draws for a set of node ids: captions, kinds, the relationships among
them, and where on the map they lie.

The explorer keeps its scene as a list of ids (a deep link or a saved scene is that list), so
restoring a scene, captioning an expansion and laying nodes on the map all start from ids.
Every query is one per id label (``MATCH (n:Label) WHERE n.id IN $ids``: index-backed on Neo4j,
no full scan), read-only, with the ids as parameters.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from shapely import wkt as shapely_wkt
from shapely.geometry import mapping

from ecobrain.ontology import plain_words
from ecobrain.ontology.graph.schema import ID_LABELS
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.ontology.graph_paths import id_label

MAX_IDS = 5_000
SIMPLIFY_DEG = 0.01  # ~1 km: finer than a county map of the province can show
DECIMALS = 3
CELL_HALF_DEG = 0.0135  # half a 3-km cell in latitude: a cell is drawn as its square

_NODES = "MATCH (n:{label}) WHERE n.id IN $ids RETURN labels(n) AS labels, properties(n) AS p"
_RELS = ("MATCH (a:{label})-[r]->(b) WHERE a.id IN $ids AND b.id IN $present "
         "RETURN a.id AS source, type(r) AS type, b.id AS target")
_CONCEPTS = ("MATCH (c:Concept) WHERE c.id IN $ids RETURN c.id AS id, c.label_zh AS zh, "
             "c.label_en AS en")
_REGION_NAMES = "MATCH (g:AdminRegion) RETURN g.code AS code, g.name_zh AS name"


def _unique(ids: Sequence[str]) -> list[str]:
    ids = list(dict.fromkeys(str(i) for i in ids))
    if len(ids) > MAX_IDS:
        raise ValueError(f"{len(ids)} ids; a scene holds at most {MAX_IDS}")
    return ids


def _read_nodes(store: GraphStore, ids: list[str]) -> dict[str, tuple[list[str], dict[str, Any]]]:
    """id → (labels, properties), each node read once under its own id label."""
    found: dict[str, tuple[list[str], dict[str, Any]]] = {}
    for label in ID_LABELS:
        missing = [i for i in ids if i not in found]
        if not missing:
            break
        for row in store.read(_NODES.format(label=label), {"ids": missing}):
            if id_label(row["labels"]) == label:
                found[row["p"]["id"]] = (sorted(row["labels"]), row["p"])
    return found


def region_names(store: GraphStore) -> dict[str, str]:
    return {r["code"]: r["name"] for r in store.read(_REGION_NAMES) if r["code"]}


def subgraph(store: GraphStore, ids: Sequence[str], lang: str = "zh") -> dict[str, Any]:
    """The nodes (kind, caption, whether they can be placed on the map) and every relationship
    between two of them; ids with no node are listed in ``missing``."""
    wanted = _unique(ids)
    found = _read_nodes(store, wanted)
    nodes = []
    for node_id in wanted:
        if node_id not in found:
            continue
        labels, props = found[node_id]
        kind = plain_words.kind_of(labels)
        nodes.append({"id": node_id, "labels": labels, "kind": kind,
                      "kind_name": plain_words.kind_name(kind, lang),
                      "caption": plain_words.caption(labels, props, lang),
                      "placed": _geometry(labels, props) is not None})
    rels: set[tuple[str, str, str]] = set()
    present = [n["id"] for n in nodes]
    by_label: dict[str, list[str]] = {}
    for n in nodes:
        by_label.setdefault(id_label(n["labels"]) or n["kind"], []).append(n["id"])
    for label, members in by_label.items():
        if label not in ID_LABELS:
            continue
        for row in store.read(_RELS.format(label=label), {"ids": members, "present": present}):
            rels.add((row["source"], row["type"], row["target"]))
    return {"nodes": nodes,
            "relationships": [{"source": a, "type": t, "target": b} for a, t, b in sorted(rels)],
            "missing": [i for i in wanted if i not in found]}


def _rounded(coordinates: Any) -> Any:
    """GeoJSON coordinates with DECIMALS places (a tenth of the simplification)."""
    if isinstance(coordinates, list | tuple):
        if coordinates and isinstance(coordinates[0], float | int):
            return [round(float(c), DECIMALS) for c in coordinates]
        return [_rounded(c) for c in coordinates]
    return coordinates


def outline(wkt: str, tolerance: float = SIMPLIFY_DEG) -> dict[str, Any]:
    """A region's boundary as GeoJSON, simplified to ~1 km (the graph holds ~100 m): a
    province of 90 counties is then a few hundred kB for a browser to draw."""
    geo = mapping(shapely_wkt.loads(wkt).simplify(tolerance, preserve_topology=True))
    return {"type": geo["type"], "coordinates": _rounded(geo["coordinates"])}


def _point(lon: Any, lat: Any) -> dict[str, Any] | None:
    try:
        return {"type": "Point", "coordinates": [round(float(lon), 5), round(float(lat), 5)]}
    except (TypeError, ValueError):
        return None


def _square(lon: float, lat: float, half_lat: float) -> dict[str, Any]:
    half_lon = half_lat / max(0.2, math.cos(math.radians(lat)))
    ring = [[lon - half_lon, lat - half_lat], [lon + half_lon, lat - half_lat],
            [lon + half_lon, lat + half_lat], [lon - half_lon, lat + half_lat],
            [lon - half_lon, lat - half_lat]]
    return {"type": "Polygon", "coordinates": [[[round(x, 5), round(y, 5)] for x, y in ring]]}


def _geometry(labels: list[str], props: dict[str, Any]) -> dict[str, Any] | None:
    """Where a node lies: a point for enterprises, stations and hotspots, a square for a grid
    cell, the outline for a region; None for what has no place (a rule, an article)."""
    if "AdminRegion" in labels:
        return outline(props["boundary_wkt"]) if props.get("boundary_wkt") else None
    if "GridCell" in labels and props.get("lon") is not None:
        return _square(float(props["lon"]), float(props["lat"]), CELL_HALF_DEG)
    if props.get("lon") is not None and props.get("lat") is not None:
        return _point(props["lon"], props["lat"])
    if "Finding" in labels and isinstance(props.get("json"), str):
        try:
            f = json.loads(props["json"])
        except ValueError:
            return None
        if isinstance(f, dict) and f.get("lon") is not None:
            return _point(f["lon"], f["lat"])
    return None


_COUNTY_OUTLINES = ("MATCH (g:AdminRegion) WHERE g.level = 'county' AND g.boundary_wkt IS NOT "
                    "NULL RETURN g.code AS code, g.name_zh AS name, g.parent_code AS city, "
                    "g.boundary_wkt AS wkt ORDER BY code")


def county_outlines(store: GraphStore) -> dict[str, Any]:
    """Every county of the graph as a GeoJSON feature: the map mode's base layer."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": r["code"], "geometry": outline(r["wkt"]),
         "properties": {"code": r["code"], "name": r["name"], "city_code": r["city"]}}
        for r in store.read(_COUNTY_OUTLINES)]}


def placed(store: GraphStore, ids: Sequence[str], lang: str = "zh") -> dict[str, Any]:
    """The nodes that have a place, as GeoJSON features (kind and caption in properties);
    the others are listed in ``unplaced``."""
    wanted = _unique(ids)
    found = _read_nodes(store, wanted)
    features, unplaced = [], []
    for node_id in wanted:
        if node_id not in found:
            continue
        labels, props = found[node_id]
        geometry = _geometry(labels, props)
        if geometry is None:
            unplaced.append(node_id)
            continue
        kind = plain_words.kind_of(labels)
        features.append({"type": "Feature", "id": node_id, "geometry": geometry,
                         "properties": {"id": node_id, "kind": kind,
                                        "kind_name": plain_words.kind_name(kind, lang),
                                        "caption": plain_words.caption(labels, props, lang)}})
    return {"type": "FeatureCollection", "features": features, "unplaced": unplaced}


def plain_node(store: GraphStore, node_id: str, lang: str = "zh") -> dict[str, Any] | None:
    """One node in plain words (:mod:`plain_words`), or None when there is no such node."""
    found = _read_nodes(store, [node_id])
    if node_id not in found:
        return None
    labels, props = found[node_id]
    codes = sorted(plain_words.concept_codes(props))
    concepts = {r["id"]: (r["zh"] or r["id"], r["en"] or r["zh"] or r["id"])
                for r in store.read(_CONCEPTS, {"ids": codes})} if codes else {}
    return plain_words.plain(labels, props, region_names(store), lang, concepts)
