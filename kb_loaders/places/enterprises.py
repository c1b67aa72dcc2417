"""Enterprises from CSV: the key polluters a task list names, each in its county and grid cell.

The contract (``docs/reference-data.md``)::

    id,name,county_code,lon,lat,sector,pollutants,performance_grade,key_enterprise,online_monitoring

``sector`` is an ontology concept of kind Sector, ``pollutants`` ``;``-separated concepts of
kind Pollutant, ``performance_grade`` A/B/C/D, ``leading`` (引领性) or empty. The whole file is
validated — fields, ids, codes, concepts, coordinates against the stated county — before any
of it is written; the graph must already hold the ontology, regions and grid the enterprises
link to. Loading is idempotent: MERGE on ``id``, edges that no longer hold are removed.
"""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from ecobrain.kb_loaders.csv_contract import (
    Problems,
    RowReader,
    check_unique,
    parse_bool,
    parse_choice,
    parse_county_code,
    parse_id,
    parse_latitude,
    parse_list,
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
from ecobrain.ontology.concepts import Ontology, default_ontology_path
from ecobrain.ontology.geography import city_of
from ecobrain.ontology.graph.store import GraphStore

COLUMNS = (
    "id", "name", "county_code", "lon", "lat", "sector", "pollutants", "performance_grade",
    "key_enterprise", "online_monitoring",
)

# Emergency-performance grades (重点行业绩效分级). "leading" (引领性) is the class that industries
# without an A-D scheme use instead of a grade, treated like A during alerts (FACTS §3.E), so it
# is a value of the same field: an enterprise has one or the other, never both.
GRADES: dict[str, str] = {
    "A": "A", "B": "B", "C": "C", "D": "D",
    "leading": "leading", "引领性": "leading",
    "A级": "A", "B级": "B", "C级": "C", "D级": "D",
}

BUNDLED = Path(str(files("ecobrain.knowledge") / "reference" / "enterprises.csv"))


@dataclass(frozen=True)
class EnterpriseRecord:
    """One validated row, placed on the grid: exactly the Enterprise node's properties."""

    id: str
    name: str
    county_code: str
    city_code: str
    lon: float
    lat: float
    sector: str
    pollutants: list[str]
    performance_grade: str | None
    key_enterprise: bool
    online_monitoring: bool
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


def _ontology() -> Any:
    return Ontology()


def concept_problem(ontology: Any, concept_id: str, kind: str) -> str | None:
    """Why `concept_id` is not a concept of `kind`, or None when it is."""
    concept = ontology.concepts.get(concept_id)
    if concept is None:
        named = ontology.lookup(concept_id)
        if named is not None and ontology.is_kind(named, kind):
            hint = f"; did you mean {named!r} ({ontology.concepts[named].label_zh})?"
        else:
            close = difflib.get_close_matches(concept_id, ontology.of_kind(kind), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
        return f"unknown {kind.lower()} {concept_id!r}: not an ontology concept id{hint}"
    if kind not in concept.kinds:
        kinds = ", ".join(sorted(concept.kinds)) or "no kind"
        return f"{concept_id!r} is a concept of kind {kinds}, not a {kind}"
    return None


def read_enterprises(path: str | Path, ontology: Any = None) -> tuple[list[EnterpriseRecord],
                                                                     list[str]]:
    """Validate a whole enterprise file; returns the records and notes, or raises LoadErrors."""
    path = Path(path)
    ontology = ontology if ontology is not None else _ontology()
    problems = Problems(path)
    table = read_table(path, COLUMNS, problems)
    synthetic = bool(read_meta(path).get("synthetic", False))
    parsed: list[dict[str, Any]] = []
    for row in table.rows:
        rd = RowReader(row, problems)
        rec = {
            "line": row.line,
            "id": rd.get("id", parse_id),
            "name": rd.get("name", parse_text),
            "county_code": rd.get("county_code", parse_county_code),
            "lon": rd.get("lon", parse_longitude),
            "lat": rd.get("lat", parse_latitude),
            "sector": rd.get("sector", parse_text),
            "pollutants": rd.get("pollutants", parse_list),
            "performance_grade": rd.get("performance_grade", parse_choice, GRADES, empty=None),
            "key_enterprise": rd.get("key_enterprise", parse_bool),
            "online_monitoring": rd.get("online_monitoring", parse_bool),
        }
        if rec["sector"] is not None:
            why = concept_problem(ontology, rec["sector"], "Sector")
            if why:
                rd.fail("sector", why)
        if rec["pollutants"] is not None:
            if not rec["pollutants"]:
                rd.fail("pollutants", "no pollutant given (ontology ids separated by ';')")
            for pid in rec["pollutants"]:
                why = concept_problem(ontology, pid, "Pollutant")
                if why:
                    rd.fail("pollutants", why)
        rec["ok"] = rd.ok
        parsed.append(rec)
    check_unique(((r["line"], r["id"]) for r in parsed if r["id"]), problems)
    placeable = [r for r in parsed
                 if None not in (r["county_code"], r["lon"], r["lat"])]
    check_places([r["line"] for r in placeable], [r["county_code"] for r in placeable],
                 [r["lon"] for r in placeable], [r["lat"] for r in placeable], problems)
    problems.raise_if_any()

    cells = place_on_grid([r["lon"] for r in parsed], [r["lat"] for r in parsed])
    records = [
        EnterpriseRecord(
            id=r["id"], name=r["name"], county_code=r["county_code"],
            city_code=city_of(r["county_code"]),
            lon=round(r["lon"], COORD_DECIMALS), lat=round(r["lat"], COORD_DECIMALS),
            sector=r["sector"], pollutants=r["pollutants"],
            performance_grade=r["performance_grade"], key_enterprise=r["key_enterprise"],
            online_monitoring=r["online_monitoring"], synthetic=synthetic, line=r["line"],
            **cell,
        )
        for r, cell in zip(parsed, cells, strict=True)
    ]
    notes = []
    if table.ignored_columns:
        notes.append(f"ignored column(s) not in the contract: {', '.join(table.ignored_columns)}")
    border = [r for r in records if not r.cell_in_graph]
    if border:
        notes.append(
            f"{len(border)} enterprise(s) lie in a border cell whose centre is outside the "
            f"province (no GridCell node, no IN_CELL edge; cell_id kept), e.g. "
            f"{border[0].id} (line {border[0].line}, {border[0].cell_id})"
        )
    return records, notes


def validated_enterprises(path: str | Path, ontology: Any = None
                          ) -> tuple[list[EnterpriseRecord], list[str]]:
    """:func:`read_enterprises`, its rows kept for an unchanged file, ontology, boundaries and
    code (:mod:`~ecobrain.kb_loaders.places.registers`); a file that fails is checked anew."""
    path = Path(path)
    ontology_file = ontology.path if ontology is not None else default_ontology_path()
    return kept_register("enterprises", path, EnterpriseRecord, [ontology_file, __file__],
                         lambda: read_enterprises(path, ontology))


# The node, its sector and its county in one statement (parameters are serialised once).
_MERGE = (
    "UNWIND $rows AS r MERGE (e:Enterprise {id: r.id}) "
    "SET e.name = r.name, e.county_code = r.county_code, e.city_code = r.city_code, "
    "e.lon = r.lon, e.lat = r.lat, e.sector = r.sector, e.pollutants = r.pollutants, "
    "e.performance_grade = r.performance_grade, e.key_enterprise = r.key_enterprise, "
    "e.online_monitoring = r.online_monitoring, e.grid_row = r.grid_row, "
    "e.grid_col = r.grid_col, e.cell_id = r.cell_id, e.synthetic = r.synthetic "
    "WITH e, r MATCH (s:Sector {id: r.sector}) MERGE (e)-[:IN_SECTOR]->(s) "
    "WITH e, r MATCH (k:County {id: r.county_code}) MERGE (e)-[:IN_REGION]->(k)"
)
# The same into a graph without Enterprise nodes: ids are unique (checked), so every row is a
# new node without edges, and CREATE writes what MERGE would without looking each one up.
_CREATE = (
    "UNWIND $rows AS r CREATE (e:Enterprise {id: r.id, name: r.name, "
    "county_code: r.county_code, city_code: r.city_code, lon: r.lon, lat: r.lat, "
    "sector: r.sector, pollutants: r.pollutants, performance_grade: r.performance_grade, "
    "key_enterprise: r.key_enterprise, online_monitoring: r.online_monitoring, "
    "grid_row: r.grid_row, grid_col: r.grid_col, cell_id: r.cell_id, synthetic: r.synthetic}) "
    "WITH e, r MATCH (s:Sector {id: r.sector}) CREATE (e)-[:IN_SECTOR]->(s) "
    "WITH e, r MATCH (k:County {id: r.county_code}) CREATE (e)-[:IN_REGION]->(k)"
)
_CREATE_EMITS = (
    "UNWIND $rows AS r MATCH (e:Enterprise {id: r.id}) UNWIND r.pollutants AS pid "
    "MATCH (p:Pollutant {id: pid}) CREATE (e)-[:EMITS]->(p)"
)
_EMITS = (
    "UNWIND $rows AS r MATCH (e:Enterprise {id: r.id}) UNWIND r.pollutants AS pid "
    "MATCH (p:Pollutant {id: pid}) MERGE (e)-[:EMITS]->(p)"
)
_STALE = {
    **SITE_STALE_EDGES,
    "IN_SECTOR": "t.id <> r.sector",
    "EMITS": "NOT t.id IN r.pollutants",
}
BATCH = 5000


def load_enterprises(store: GraphStore, path: str | Path | None = None, *,
                     ontology: Any = None) -> LoadReport:
    """Validate then MERGE an enterprise file (None = the bundled synthetic sample)."""
    started = time.perf_counter()
    path = Path(path) if path is not None else bundled_path()
    records, notes = validated_enterprises(path, ontology)
    file = str(path)
    hint_onto = "load the ontology first (ecobrain kb load)"
    require_nodes(store, "Sector", [r.sector for r in records], what="sector concept(s)",
                  load_hint=hint_onto, file=file)
    require_nodes(store, "Pollutant", [p for r in records for p in r.pollutants],
                  what="pollutant concept(s)", load_hint=hint_onto, file=file)
    require_nodes(store, "County", [r.county_code for r in records], what="county node(s)",
                  load_hint="load the regions first", file=file)
    require_nodes(store, "GridCell", [r.cell_id for r in records if r.cell_in_graph],
                  what="grid cell(s)", load_hint="load the grid first", file=file)
    rows = [r.properties() for r in records]
    with store.atomic():
        reload = holds_any(store, "Enterprise")
        statements: list[tuple[str, dict[str, Any]]] = []
        for batch in batches(rows, BATCH):
            if reload:
                statements.append((drop_stale_query("Enterprise", _STALE), {"rows": slim(
                    batch, "id", "sector", "pollutants", "county_code", "cell_id")}))
            statements += [
                (_MERGE if reload else _CREATE, {"rows": batch}),
                (_EMITS if reload else _CREATE_EMITS, {"rows": slim(batch, "id", "pollutants")}),
                (link_cell_query("Enterprise", new=not reload),
                 {"rows": slim(batch, "id", "cell_id")}),
            ]
        written = store.write_all(statements)
    report = LoadReport(source=f"enterprises {path.name}", records=len(records), written=written,
                        notes=notes)
    if records and records[0].synthetic:
        report.notes.append("SYNTHETIC sample data (see knowledge/reference/README.md)")
    report.seconds = time.perf_counter() - started
    return report
