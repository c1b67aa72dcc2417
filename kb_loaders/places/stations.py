"""Air-quality monitoring stations from CSV, each in its county and grid cell.

The contract (``docs/reference-data.md``)::

    id,name,kind,county_code,lon,lat

``kind`` is one of :data:`STATION_KINDS` (English id or its Chinese name). Forecast findings
are reported at stations, so a station must sit in the county it claims; the file is validated
whole before anything is written, and loading is idempotent (MERGE on ``id``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from ecobrain.kb_loaders.csv_contract import (
    Problems,
    RowReader,
    check_unique,
    parse_choice,
    parse_county_code,
    parse_id,
    parse_latitude,
    parse_longitude,
    parse_text,
    read_meta,
    read_table,
)
from ecobrain.kb_loaders.places.registers import kept_register
from ecobrain.kb_loaders.places.sites import (
    COORD_DECIMALS,
    SITE_STALE_EDGES,
    batches,
    check_places,
    drop_stale_query,
    holds_any,
    link_cell_query,
    place_on_grid,
    require_nodes,
    slim,
)
from ecobrain.kb_loaders.report import LoadReport
from ecobrain.ontology.geography import city_of
from ecobrain.ontology.graph.store import GraphStore

COLUMNS = ("id", "name", "kind", "county_code", "lon", "lat")

# Station kinds by who runs them and what they are for (English id: Chinese names accepted).
STATION_KINDS: dict[str, tuple[str, ...]] = {
    "national": ("国控", "国控站", "国控点"),  # national network, used for city rankings
    "provincial": ("省控", "省控站"),  # provincial network, county assessment
    "city": ("市控", "市控站"),  # city network
    "county": ("县控", "县控站"),  # county network
    "township": ("乡镇", "乡镇站", "街道", "微站"),  # township/street stations, micro stations
    "industrial_park": ("园区", "园区站", "工业园区"),  # industrial-park boundary stations
    "roadside": ("路边", "路边站", "交通站"),  # traffic stations
}
_KIND_WORDS: dict[str, str] = {
    word: kind for kind, words in STATION_KINDS.items() for word in (kind, *words)
}

BUNDLED = Path(str(files("ecobrain.knowledge") / "reference" / "stations.csv"))


@dataclass(frozen=True)
class StationRecord:
    id: str
    name: str
    kind: str
    county_code: str
    city_code: str
    lon: float
    lat: float
    grid_row: int | None
    grid_col: int | None
    cell_id: str | None
    synthetic: bool
    line: int
    cell_in_graph: bool

    def properties(self) -> dict[str, Any]:
        # the fields as they are (asdict's deep copy of every value costs more than the write)
        return {k: v for k, v in vars(self).items() if k not in ("line", "cell_in_graph")}


def bundled_path() -> Path:
    return BUNDLED


def read_stations(path: str | Path) -> tuple[list[StationRecord], list[str]]:
    """Validate a whole station file; returns the records and notes, or raises LoadErrors."""
    path = Path(path)
    problems = Problems(path)
    table = read_table(path, COLUMNS, problems)
    synthetic = bool(read_meta(path).get("synthetic", False))
    parsed: list[dict[str, Any]] = []
    for row in table.rows:
        rd = RowReader(row, problems)
        parsed.append({
            "line": row.line,
            "id": rd.get("id", parse_id),
            "name": rd.get("name", parse_text),
            "kind": rd.get("kind", parse_choice, _KIND_WORDS),
            "county_code": rd.get("county_code", parse_county_code),
            "lon": rd.get("lon", parse_longitude),
            "lat": rd.get("lat", parse_latitude),
        })
    check_unique(((r["line"], r["id"]) for r in parsed if r["id"]), problems)
    placeable = [r for r in parsed if None not in (r["county_code"], r["lon"], r["lat"])]
    check_places([r["line"] for r in placeable], [r["county_code"] for r in placeable],
                 [r["lon"] for r in placeable], [r["lat"] for r in placeable], problems)
    problems.raise_if_any()

    cells = place_on_grid([r["lon"] for r in parsed], [r["lat"] for r in parsed])
    records = [
        StationRecord(
            id=r["id"], name=r["name"], kind=r["kind"], county_code=r["county_code"],
            city_code=city_of(r["county_code"]),
            lon=round(r["lon"], COORD_DECIMALS), lat=round(r["lat"], COORD_DECIMALS),
            synthetic=synthetic, line=r["line"], **cell,
        )
        for r, cell in zip(parsed, cells, strict=True)
    ]
    notes = []
    if table.ignored_columns:
        notes.append(f"ignored column(s) not in the contract: {', '.join(table.ignored_columns)}")
    border = [r for r in records if not r.cell_in_graph]
    if border:
        notes.append(
            f"{len(border)} station(s) lie in a border cell whose centre is outside the province "
            f"(no IN_CELL edge; cell_id kept), e.g. {border[0].id} (line {border[0].line})"
        )
    return records, notes


def validated_stations(path: str | Path) -> tuple[list[StationRecord], list[str]]:
    """:func:`read_stations`, its rows kept for an unchanged file, boundaries and code
    (:mod:`~ecobrain.kb_loaders.places.registers`); a file that fails is checked anew."""
    path = Path(path)
    return kept_register("stations", path, StationRecord, [__file__],
                         lambda: read_stations(path))


_MERGE = (
    "UNWIND $rows AS r MERGE (s:MonitoringStation {id: r.id}) "
    "SET s.name = r.name, s.kind = r.kind, s.county_code = r.county_code, "
    "s.city_code = r.city_code, s.lon = r.lon, s.lat = r.lat, s.grid_row = r.grid_row, "
    "s.grid_col = r.grid_col, s.cell_id = r.cell_id, s.synthetic = r.synthetic "
    "WITH s, r MATCH (k:County {id: r.county_code}) MERGE (s)-[:IN_REGION]->(k)"
)
# The same into a graph without MonitoringStation nodes (ids checked unique): CREATE.
_CREATE = (
    "UNWIND $rows AS r CREATE (s:MonitoringStation {id: r.id, name: r.name, kind: r.kind, "
    "county_code: r.county_code, city_code: r.city_code, lon: r.lon, lat: r.lat, "
    "grid_row: r.grid_row, grid_col: r.grid_col, cell_id: r.cell_id, synthetic: r.synthetic}) "
    "WITH s, r MATCH (k:County {id: r.county_code}) CREATE (s)-[:IN_REGION]->(k)"
)
BATCH = 5000


def load_stations(store: GraphStore, path: str | Path | None = None) -> LoadReport:
    """Validate then MERGE a station file (None = the bundled synthetic sample)."""
    started = time.perf_counter()
    path = Path(path) if path is not None else bundled_path()
    records, notes = validated_stations(path)
    file = str(path)
    require_nodes(store, "County", [r.county_code for r in records], what="county node(s)",
                  load_hint="load the regions first", file=file)
    require_nodes(store, "GridCell", [r.cell_id for r in records if r.cell_in_graph],
                  what="grid cell(s)", load_hint="load the grid first", file=file)
    rows = [r.properties() for r in records]
    with store.atomic():
        reload = holds_any(store, "MonitoringStation")
        statements: list[tuple[str, dict[str, Any]]] = []
        for batch in batches(rows, BATCH):
            if reload:
                statements.append((drop_stale_query("MonitoringStation", SITE_STALE_EDGES),
                                   {"rows": slim(batch, "id", "county_code", "cell_id")}))
            statements += [
                (_MERGE if reload else _CREATE, {"rows": batch}),
                (link_cell_query("MonitoringStation", new=not reload),
                 {"rows": slim(batch, "id", "cell_id")}),
            ]
        written = store.write_all(statements)
    report = LoadReport(source=f"stations {path.name}", records=len(records), written=written,
                        notes=notes)
    if records and records[0].synthetic:
        report.notes.append("SYNTHETIC sample data (see knowledge/reference/README.md)")
    report.seconds = time.perf_counter() - started
    return report
