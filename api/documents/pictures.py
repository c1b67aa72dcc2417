"""The two pictures of a task list, from a decision's data: what the map and the AQI chart
show (:class:`ChartInputs`, plain data a worker process can draw) and the calls into
``api/documents/charts.py`` that draw them.

The map's points carry the row numbers of their tasks in the document's table (one numbering
through the document), so a reader finds a numbered point in the table and a row on the map;
counties are named, and every list is drawn in a defined order (the same decision, the same
picture).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ecobrain.api.documents.charts import (
    AqiBand,
    AqiDay,
    MapEnterprise,
    MapHotspot,
    MapPlace,
    aqi_chart,
    region_map,
)
from ecobrain.model_adapters.aqi import StandardSet
from ecobrain.model_adapters.findings import GridInfo, grid_spec
from ecobrain.ontology.grid import ZJ3KM, parse_cell_id
from ecobrain.reasoning.decisions.store import region_prefix

if TYPE_CHECKING:
    from ecobrain.api.documents.task_list import DecisionData


def cell_centre(cell_id: str) -> tuple[float, float] | None:
    poly = _cell_polygon(cell_id)
    if not poly:
        return None
    return (sum(p[0] for p in poly[:4]) / 4, sum(p[1] for p in poly[:4]) / 4)


def _hotspot_polygon(h: dict[str, Any]) -> list[tuple[float, float]] | None:
    """The hotspot's cell on its own grid (the finding records the grid)."""
    info = h.get("grid")
    spec = grid_spec(GridInfo(**info)) if info else None
    if spec is None:
        return _cell_polygon(h["cell_id"])
    return [tuple(p) for p in spec.cell_polygon_lonlat(h["row"], h["col"])]  # type: ignore[misc]


def _cell_polygon(cell_id: str) -> list[tuple[float, float]] | None:
    try:
        grid, row, col = parse_cell_id(cell_id)
    except ValueError:
        return None
    if grid != ZJ3KM.name:
        return None
    return [tuple(p) for p in ZJ3KM.cell_polygon_lonlat(row, col)]  # type: ignore[misc]


def _geometry(wkt: str | None) -> Any:
    if not wkt:
        return None
    from shapely import wkt as shapely_wkt

    return shapely_wkt.loads(wkt)


@dataclass
class ChartInputs:
    """What the two pictures of a region need: plain data, so another process can draw them.

    ``enterprises``: (lon, lat, priority, name, row number); ``hotspots`` carry the row number
    of the grid-cell task on them (or None); ``place_labels``: (name, lon, lat) of the counties
    (a city's map) or of the county itself."""

    map_title: str
    boundary_wkt: str | None
    inner_wkt: list[str]
    hotspots: list[dict[str, Any]]
    enterprises: list[tuple[float, float, int, str, int | None]]
    place_labels: list[tuple[str, float, float]] = field(default_factory=list)
    aqi_title: str | None = None
    aqi_days: list[dict[str, Any]] = field(default_factory=list)
    aqi_bands: list[tuple[int, int | None, str, str, str]] = field(default_factory=list)
    alert_period: tuple[str, str] | None = None


def _label_point(wkt: str | None) -> tuple[float, float] | None:
    geom = _geometry(wkt)
    if geom is None or geom.is_empty:
        return None
    p = geom.representative_point()
    return (p.x, p.y)


def chart_inputs(data: DecisionData, code: str, counties: Sequence[str],
                 alert: dict[str, Any] | None, forecast: Sequence[dict[str, Any]],
                 numbers: dict[str, int] | None = None) -> ChartInputs:
    """`numbers`: task id -> its row number in the document, drawn beside its point."""
    numbers = numbers or {}
    region = data.regions.get(code)
    name = region.name if region else code
    prefix = region_prefix(code)
    children = [r for c, r in sorted(data.regions.items())
                if region is not None and region.level == "city" and r.parent_code == code
                and r.boundary_wkt]
    inner = [r.boundary_wkt for r in children if r.boundary_wkt]
    labelled = children or ([region] if region is not None else [])
    places = []
    for r in labelled:
        pt = _label_point(r.boundary_wkt)
        if pt is not None:
            places.append((r.name, pt[0], pt[1]))
    scope = [code, *counties]
    cell_numbers: dict[str, int] = {}
    ents = []
    for c in scope:
        for t in data.tasks.get(c, []):
            sid = t["subject"]["id"]
            no = numbers.get(t["id"])
            if t["subject"]["kind"] == "grid_cell" and no is not None:
                cell_numbers[sid] = min(no, cell_numbers.get(sid, no))
            if t["subject"]["kind"] == "enterprise" and sid in data.enterprises:
                lon, lat = data.enterprises[sid]
                ents.append((lon, lat, t.get("priority", 0), t["subject"].get("name") or sid,
                             no))
    ents.sort(key=lambda e: (e[4] is None, e[4] or 0, e[3]))
    hotspots = [{"cell_polygon": _hotspot_polygon(h), "lon": h["lon"], "lat": h["lat"],
                 "species": h["species"], "excess": h["excess"],
                 "number": cell_numbers.get(h.get("cell_id") or "")}
                for h in sorted(data.hotspots, key=lambda h: (h.get("cell_id") or "",
                                                              h.get("species") or ""))
                if (h.get("county_code") or "").startswith(prefix)]
    out = ChartInputs(f"{name}：排放热点与任务企业", region.boundary_wkt if region else None,
                      inner, hotspots, ents, places)
    if forecast:
        std = StandardSet.load().nearest(dt.date.fromisoformat(forecast[0]["date"]))
        out.aqi_title = f"{name}：逐日AQI预报（{std.id}）"
        out.aqi_days = [{"date": d["date"], "aqi": round(d["aqi"]), "colour": d["colour"]}
                        for d in forecast]
        out.aqi_bands = [(c.aqi_min, c.aqi_max, c.colour, c.category_zh, c.category_en)
                         for c in std.categories]
        if alert and alert.get("start") and alert.get("end"):
            out.alert_period = (alert["start"], alert["end"])
    return out


def draw_map(ci: ChartInputs) -> bytes:
    inner = [g for g in (_geometry(w) for w in ci.inner_wkt) if g is not None]
    return region_map(ci.map_title, _geometry(ci.boundary_wkt), inner,
                      [MapHotspot(h["cell_polygon"], h["lon"], h["lat"], h["species"],
                                  h["excess"], h.get("number")) for h in ci.hotspots],
                      [MapEnterprise(*e) for e in ci.enterprises],
                      [MapPlace(*p) for p in ci.place_labels])


def draw_aqi(ci: ChartInputs) -> bytes | None:
    if not ci.aqi_days or ci.aqi_title is None:
        return None
    return aqi_chart(ci.aqi_title, [AqiDay(**d) for d in ci.aqi_days],
                     [AqiBand(*b) for b in ci.aqi_bands], ci.alert_period)


