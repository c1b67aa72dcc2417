"""Zhejiang reference data in a real graph: regions, grid, enterprises, stations.

One module-wide graph holds the whole bundled reference data (loaded once, ~4 s); the tests
that only read it, and the bad-input tests (which must leave it unchanged), share it. Tests
that change data get their own graph from the ``store`` fixture.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import shapely
from bolt_server import drop_new_graph, open_new_graph
from typer.testing import CliRunner

from ecobrain.api.cli.app import app
from ecobrain.kb_loaders.bundle import graph_stats
from ecobrain.kb_loaders.errors import LoadError, LoadErrors
from ecobrain.kb_loaders.places.enterprises import COLUMNS as E_COLUMNS
from ecobrain.kb_loaders.places.enterprises import bundled_path as enterprises_csv
from ecobrain.kb_loaders.places.enterprises import load_enterprises
from ecobrain.kb_loaders.places.grid_cells import grid_cell_rows, load_grid, neighbours
from ecobrain.kb_loaders.places.regions import _distance_m, load_regions
from ecobrain.kb_loaders.places.stations import bundled_path as stations_csv
from ecobrain.kb_loaders.places.stations import load_stations
from ecobrain.ontology.geography import RegionIndex, regions_by_code
from ecobrain.ontology.graph.config import GraphSettings
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.ontology.grid import ZJ3KM

ROOT = Path(__file__).resolve().parent.parent
Stats = tuple[dict[str, int], dict[str, int]]


def load_concepts(store: GraphStore) -> None:
    """The ontology's concept nodes, which enterprise edges MATCH (the real loader)."""
    loader = pytest.importorskip("ecobrain.kb_loaders.semantics.ontology_loader",
                                 reason="the ontology loader is not in this checkout yet")
    loader.load_ontology(store)


def load_reference(store: GraphStore) -> dict[str, object]:
    return {
        "regions": load_regions(store),
        "grid": load_grid(store),
        "enterprises": load_enterprises(store),
        "stations": load_stations(store),
    }


@pytest.fixture(scope="module")
def loaded(graph_settings: GraphSettings) -> Iterator[tuple[GraphStore, dict[str, object]]]:
    store = open_new_graph(graph_settings, f"test_ref_{uuid.uuid4().hex[:10]}")
    try:
        load_concepts(store)
        reports = load_reference(store)
        yield store, reports
    finally:
        drop_new_graph(store)


@pytest.fixture
def ref_store(loaded: tuple[GraphStore, dict[str, object]]) -> GraphStore:
    return loaded[0]


def count(store: GraphStore, cypher: str, params: dict | None = None) -> int:
    return store.read(cypher, params)[0]["n"]


# ---------------------------------------------------------------------------------------------
# Regions


def test_province_cities_counties_and_part_of_chain(ref_store: GraphStore) -> None:
    s = ref_store
    assert count(s, "MATCH (p:AdminRegion:Province) RETURN count(p) AS n") == 1
    assert count(s, "MATCH (c:AdminRegion:City) RETURN count(c) AS n") == 11
    assert count(s, "MATCH (c:AdminRegion:County) RETURN count(c) AS n") == 90
    chain = s.read("MATCH (k:County)-[:PART_OF]->(c:City)-[:PART_OF]->(p:Province) "
                   "RETURN k.id AS k, c.id AS c, p.id AS p")
    assert len(chain) == 90
    assert all(r["p"] == "330000" and r["c"] == r["k"][:4] + "00" for r in chain)
    west_lake = s.read_one("MATCH (k:County {id: '330106'}) RETURN k.name_zh AS name, "
                           "k.code AS code, k.level AS level, k.parent_code AS parent")
    assert west_lake == {"name": "西湖区", "code": "330106", "level": "county",
                         "parent": "330100"}
    ningbo = s.read_one("MATCH (c:City {id: '330200'})<-[:PART_OF]-(k:County) "
                        "RETURN c.name_zh AS name, count(k) AS n")
    assert ningbo == {"name": "宁波市", "n": 10}


def test_region_boundaries_areas_and_centroids(ref_store: GraphStore) -> None:
    rows = ref_store.read("MATCH (r:AdminRegion) RETURN r.id AS id, r.boundary_wkt AS wkt, "
                          "r.area_km2 AS area, r.centroid_lon AS lon, r.centroid_lat AS lat")
    assert len(rows) == 102
    total = sum(len(r["wkt"].encode()) for r in rows)
    assert total < 3_000_000  # the maps' boundaries stay small
    by_id = {r["id"]: r for r in rows}
    # Zhejiang's land area is about 105,500 km² (islands included).
    assert 100_000 < by_id["330000"]["area"] < 110_000
    counties = sum(r["area"] for r in rows if r["id"][4:] != "00")
    assert counties == pytest.approx(by_id["330000"]["area"], rel=0.01)
    for r in rows:
        geom = shapely.from_wkt(r["wkt"])
        assert geom.is_valid and not geom.is_empty
        # the label point lies in the (full-resolution) region
        assert regions_by_code()[r["id"]].geometry.contains(shapely.Point(r["lon"], r["lat"]))


# ---------------------------------------------------------------------------------------------
# Grid


def test_grid_node_and_cells(ref_store: GraphStore) -> None:
    s = ref_store
    grid = s.read_one("MATCH (g:ModelGrid {id: 'ZJ3KM'}) RETURN g AS g")["g"]["properties"]
    for attr in ("gdtyp", "p_alp", "p_bet", "p_gam", "xcent", "ycent", "xorig", "yorig",
                 "xcell", "ycell", "ncols", "nrows"):
        assert grid[attr] == getattr(ZJ3KM, attr)
    expected = len(grid_cell_rows())
    assert 11_000 < expected < 12_500
    assert grid["ncells_in_province"] == expected
    assert count(s, "MATCH (c:GridCell) RETURN count(c) AS n") == expected
    assert count(s, "MATCH (c:GridCell)-[:PART_OF]->(:ModelGrid {id: 'ZJ3KM'}) "
                    "RETURN count(c) AS n") == expected
    # every cell is in exactly one county, the one its county_code names
    assert count(s, "MATCH (c:GridCell)-[:IN_REGION]->(k:County) WHERE k.id = c.county_code "
                    "RETURN count(DISTINCT c) AS n") == expected
    assert count(s, "MATCH (c:GridCell)-[:IN_REGION]->(k) RETURN count(k) AS n") == expected


@pytest.mark.parametrize("lon,lat,county", [
    (120.15, 30.25, "330106"),  # West Lake, Hangzhou: 西湖区
    (121.70, 29.96, "330211"),  # Zhenhai, Ningbo: 镇海区
    (122.20, 30.00, "330902"),  # Dinghai, Zhoushan island: 定海区
])
def test_cell_at_a_known_place_is_in_the_right_county(ref_store: GraphStore, lon: float,
                                                      lat: float, county: str) -> None:
    row, col = (int(v) for v in ZJ3KM.lonlat_to_rowcol(lon, lat))
    cell = ref_store.read_one(
        "MATCH (c:GridCell {id: $id})-[:IN_REGION]->(k:County) RETURN c.row AS row, "
        "c.col AS col, c.lon AS lon, c.lat AS lat, k.id AS county, c.city_code AS city",
        {"id": ZJ3KM.cell_id(row, col)})
    assert cell is not None
    assert (cell["row"], cell["col"], cell["county"]) == (row, col, county)
    assert cell["city"] == county[:4] + "00"
    # the stored centre is the cell's centre, within 3 km of the place
    assert abs(cell["lon"] - lon) < 0.03 and abs(cell["lat"] - lat) < 0.03


def test_neighbours_follow_from_row_and_col() -> None:
    assert len(neighbours(50, 50)) == 8
    assert sorted(neighbours(0, 0)) == [(0, 1), (1, 0), (1, 1)]
    assert len(neighbours(50, 50, ring=2)) == 24


# ---------------------------------------------------------------------------------------------
# Enterprises and stations


def test_bundled_enterprises_are_placed_and_linked(ref_store: GraphStore) -> None:
    s = ref_store
    n = count(s, "MATCH (e:Enterprise) RETURN count(e) AS n")
    assert n == sum(1 for _ in enterprises_csv().open(encoding="utf-8")) - 1
    assert 3_500 <= n <= 3_700
    assert count(s, "MATCH (e:Enterprise) WHERE e.synthetic = true RETURN count(e) AS n") == n
    assert count(s, "MATCH (e:Enterprise)-[:IN_REGION]->(k:County) WHERE k.id = e.county_code "
                    "RETURN count(e) AS n") == n
    assert count(s, "MATCH (e:Enterprise)-[:IN_SECTOR]->(c:Sector) WHERE c.id = e.sector "
                    "RETURN count(e) AS n") == n
    assert count(s, "MATCH (e:Enterprise)-[:EMITS]->(p:Pollutant) RETURN count(p) AS n") == \
        count(s, "MATCH (e:Enterprise) RETURN sum(size(e.pollutants)) AS n")
    assert count(s, "MATCH (e:Enterprise)-[:IN_CELL]->(c:GridCell) WHERE c.id = e.cell_id "
                    "RETURN count(e) AS n") == n
    # the cell is the one the coordinates fall in, and the point is in (or within 1 km of)
    # the stated county
    rows = s.read("MATCH (e:Enterprise) RETURN e.lon AS lon, e.lat AS lat, "
                  "e.grid_row AS row, e.grid_col AS col, e.county_code AS county")
    rr, cc = ZJ3KM.lonlat_to_rowcol([r["lon"] for r in rows], [r["lat"] for r in rows])
    assert [(r["row"], r["col"]) for r in rows] == list(zip(rr.tolist(), cc.tolist(),
                                                             strict=True))
    located = RegionIndex.counties().locate([r["lon"] for r in rows], [r["lat"] for r in rows])
    assert (located == [r["county"] for r in rows]).mean() > 0.99
    grades = {r["g"]: r["n"] for r in s.read(
        "MATCH (e:Enterprise) RETURN e.performance_grade AS g, count(*) AS n")}
    assert set(grades) <= {"A", "B", "C", "D", "leading", None}
    assert grades["C"] > grades["B"] > grades["D"] > grades["A"]


def test_bundled_stations_are_placed_and_linked(ref_store: GraphStore) -> None:
    s = ref_store
    n = count(s, "MATCH (m:MonitoringStation) RETURN count(m) AS n")
    assert n == sum(1 for _ in stations_csv().open(encoding="utf-8")) - 1
    kinds = {r["k"]: r["n"] for r in s.read(
        "MATCH (m:MonitoringStation) RETURN m.kind AS k, count(*) AS n")}
    assert kinds["industrial_park"] == 100
    assert n - kinds["industrial_park"] == 1737
    assert kinds["national"] >= 11
    assert count(s, "MATCH (m:MonitoringStation)-[:IN_REGION]->(k:County) "
                    "WHERE k.id = m.county_code RETURN count(m) AS n") == n
    assert count(s, "MATCH (m:MonitoringStation)-[:IN_CELL]->(c:GridCell) "
                    "WHERE c.id = m.cell_id RETURN count(m) AS n") == n
    # every county has stations, every city national ones
    assert count(s, "MATCH (k:County)<-[:IN_REGION]-(:MonitoringStation) "
                    "RETURN count(DISTINCT k) AS n") == 90
    assert count(s, "MATCH (m:MonitoringStation {kind: 'national'}) "
                    "RETURN count(DISTINCT m.city_code) AS n") == 11


def test_loading_everything_again_changes_nothing(ref_store: GraphStore) -> None:
    before = graph_stats(ref_store)
    reports = load_reference(ref_store)
    assert graph_stats(ref_store) == before
    assert all(r.nodes_created == 0 and r.relationships_created == 0 for r in reports.values())


# ---------------------------------------------------------------------------------------------
# Bad input: a located error, and nothing written


def bundled_lines(path: Path, n: int) -> list[str]:
    with path.open(encoding="utf-8") as f:
        return [next(f).rstrip("\n") for _ in range(n + 1)]


def set_field(line: str, columns: tuple[str, ...], field: str, value: str) -> str:
    values = line.split(",")
    values[columns.index(field)] = value
    return ",".join(values)


def enterprise_file(tmp_path: Path, edit: Callable[[list[str]], list[str]]) -> Path:
    lines = edit(bundled_lines(enterprises_csv(), 3))
    path = tmp_path / "my_enterprises.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def field_edit(line_no: int, field: str, value: str) -> Callable[[list[str]], list[str]]:
    """Change one field of file line `line_no` (1 = header)."""
    def edit(lines: list[str]) -> list[str]:
        lines[line_no - 1] = set_field(lines[line_no - 1], E_COLUMNS, field, value)
        return lines
    return edit


def _drop_values(lines: list[str]) -> list[str]:
    lines[2] = ",".join(lines[2].split(",")[:-2])
    return lines


def _drop_sector_column(lines: list[str]) -> list[str]:
    i = E_COLUMNS.index("sector")
    return [",".join(v for j, v in enumerate(line.split(",")) if j != i) for line in lines]


def _duplicate_id(lines: list[str]) -> list[str]:
    first_id = lines[1].split(",")[0]
    lines[3] = set_field(lines[3], E_COLUMNS, "id", first_id)
    return lines


def _outside_province(lines: list[str]) -> list[str]:
    line = set_field(lines[1], E_COLUMNS, "lon", "121.47")  # Shanghai
    lines[1] = set_field(line, E_COLUMNS, "lat", "31.23")
    return lines


def _wrong_county(lines: list[str]) -> list[str]:
    line = set_field(lines[2], E_COLUMNS, "lon", "120.15")  # West Lake, Hangzhou
    line = set_field(line, E_COLUMNS, "lat", "30.25")
    lines[2] = set_field(line, E_COLUMNS, "county_code", "330212")  # stated: Yinzhou, Ningbo
    return lines


ENTERPRISE_CASES = {
    "wrong column count": (_drop_values, 3, "key_enterprise", "values, but the header has"),
    "missing header column": (_drop_sector_column, 1, "sector", "lacks column(s) sector"),
    "unknown county code": (field_edit(2, "county_code", "339999"), 2, "county_code",
                            "not a county-level code"),
    "city code as county": (field_edit(4, "county_code", "330100"), 4, "county_code",
                             "city 杭州市, not a county"),
    "unknown sector": (field_edit(3, "sector", "Steelmaking"), 3, "sector",
                       "unknown sector 'Steelmaking'"),
    "sector named in Chinese": (field_edit(3, "sector", "纺织印染"), 3, "sector",
                                "did you mean 'TextileDyeing'"),
    "pollutant as sector": (field_edit(2, "sector", "SO2"), 2, "sector", "not a Sector"),
    "unknown pollutant": (field_edit(2, "pollutants", "SO2;Smoke"), 2, "pollutants",
                          "unknown pollutant 'Smoke'"),
    "no pollutant": (field_edit(2, "pollutants", ""), 2, "pollutants", "no pollutant"),
    "outside the province": (_outside_province, 2, "lon/lat", "outside Zhejiang province"),
    "in another county": (_wrong_county, 3, "county_code", "lies in 330106 西湖区"),
    "bad latitude": (field_edit(2, "lat", "north"), 2, "lat", "not a number"),
    "bad grade": (field_edit(3, "performance_grade", "E"), 3, "performance_grade",
                  "'E' is not allowed"),
    "bad boolean": (field_edit(4, "online_monitoring", "maybe"), 4, "online_monitoring",
                    "not a boolean"),
    "duplicate id": (_duplicate_id, 4, "id", "first on line 2, again on line 4"),
}


@pytest.mark.parametrize("case", list(ENTERPRISE_CASES))
def test_bad_enterprise_file_names_file_line_field_and_writes_nothing(
    ref_store: GraphStore, tmp_path: Path, case: str
) -> None:
    edit, line, field, text = ENTERPRISE_CASES[case]
    path = enterprise_file(tmp_path, edit)
    before = graph_stats(ref_store)
    with pytest.raises(LoadError) as exc:
        load_enterprises(ref_store, path)
    errors = exc.value.errors if isinstance(exc.value, LoadErrors) else [exc.value]
    hits = [e for e in errors if (e.line, e.field) == (line, field)]
    assert hits, f"no error at line {line} [{field}] in:\n{exc.value}"
    assert text in str(hits[0])
    assert hits[0].file == str(path)
    assert f"{path}:{line} [{field}]" in str(exc.value)
    assert graph_stats(ref_store) == before


def test_all_problems_of_a_file_are_reported_together(ref_store: GraphStore,
                                                      tmp_path: Path) -> None:
    def edit(lines: list[str]) -> list[str]:
        lines = field_edit(2, "sector", "Nope")(lines)
        lines = field_edit(3, "performance_grade", "F")(lines)
        return field_edit(4, "county_code", "123")(lines)
    with pytest.raises(LoadErrors) as exc:
        load_enterprises(ref_store, enterprise_file(tmp_path, edit))
    assert [(e.line, e.field) for e in exc.value.errors] == [
        (2, "sector"), (3, "performance_grade"), (4, "county_code")]


def station_file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "my_stations.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_station_files(ref_store: GraphStore, tmp_path: Path) -> None:
    header = "id,name,kind,county_code,lon,lat"
    good = "S1,西湖站,national,330106,120.15,30.25"
    before = graph_stats(ref_store)
    cases = [
        ([header, good, "S2,x,satellite,330106,120.15,30.25"], 3, "kind", "'satellite'"),
        ([header, good, "S2,x,国控,330106,121.47,31.23"], 3, "lon/lat", "outside Zhejiang"),
        ([header, good, "S1,y,county,330106,120.15,30.25"], 3, "id", "first on line 2"),
        ([header, good, "S2,x,county,330100,120.15,30.25"], 3, "county_code", "city"),
        (["id,name,county_code,lon,lat", "S1,x,330106,120.15,30.25"], 1, "kind", "lacks"),
    ]
    for lines, line, field, text in cases:
        path = station_file(tmp_path, lines)
        with pytest.raises(LoadError) as exc:
            load_stations(ref_store, path)
        assert f"{path}:{line} [{field}]" in str(exc.value)
        assert text in str(exc.value)
    assert graph_stats(ref_store) == before


# ---------------------------------------------------------------------------------------------
# Border tolerance (GCJ-02 boundaries): within 1 km of the stated county is accepted


def _point_past_border(inside: str, outside: str, metres: float) -> tuple[float, float]:
    """A point in county `outside`, `metres` from county `inside`."""
    a = regions_by_code()[inside].geometry.representative_point()
    b = regions_by_code()[outside].geometry.representative_point()
    idx = RegionIndex.counties()
    lo, hi = 0.0, 1.0  # binary search the border crossing on the segment a -> b
    for _ in range(40):
        mid = (lo + hi) / 2
        here = idx.locate_one(a.x + (b.x - a.x) * mid, a.y + (b.y - a.y) * mid)
        lo, hi = (mid, hi) if here == inside else (lo, mid)
    for step in range(4000):
        t = hi + step * 0.0005
        lon, lat = a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t
        if _distance_m(inside, lon, lat) >= metres:
            return round(lon, 6), round(lat, 6)
    raise AssertionError(f"no point {metres} m past the border of {inside}")


def test_points_near_the_stated_county_are_accepted_far_ones_refused(
    ref_store: GraphStore, tmp_path: Path
) -> None:
    header = "id,name,kind,county_code,lon,lat"
    near = _point_past_border("330106", "330102", 400)
    far = _point_past_border("330106", "330102", 2500)
    assert RegionIndex.counties().locate_one(*near) == "330102"
    ok = station_file(tmp_path, [header, f"SYN-T-NEAR,x,county,330106,{near[0]},{near[1]}"])
    from ecobrain.kb_loaders.places.stations import read_stations

    (record,), _ = read_stations(ok)
    assert record.county_code == "330106"
    bad = station_file(tmp_path, [header, f"SYN-T-FAR,x,county,330106,{far[0]},{far[1]}"])
    with pytest.raises(LoadErrors,
                       match=r"lies in 3301\d\d \S+, 2\.[45] km from the stated county 330106"):
        read_stations(bad)


# ---------------------------------------------------------------------------------------------
# Loads into a graph of their own


def test_enterprises_need_the_ontology_regions_and_grid_first(store: GraphStore,
                                                              tmp_path: Path) -> None:
    path = enterprise_file(tmp_path, lambda lines: lines)
    with pytest.raises(LoadError, match="load the ontology first"):
        load_enterprises(store, path)
    with pytest.raises(LoadError, match="load the regions first"):
        load_stations(store, station_file(tmp_path, [
            "id,name,kind,county_code,lon,lat", "S1,x,national,330106,120.15,30.25"]))
    assert graph_stats(store) == ({}, {})


def test_reload_with_changes_moves_edges_and_keeps_counts(store: GraphStore,
                                                         tmp_path: Path) -> None:
    load_concepts(store)
    load_regions(store)
    load_grid(store)
    header = ",".join(E_COLUMNS)
    first = [header,
             "E1,甲公司,330106,120.15,30.25,Coating,Toluene;VOCs,B,true,是",
             "E2,乙公司,330211,121.70,29.96,Petrochemical,SO2;NOx;VOCs,引领性,1,0"]
    path = tmp_path / "mine.csv"
    path.write_text("\n".join(first) + "\n", encoding="utf-8")
    report = load_enterprises(store, path)
    assert report.records == 2 and report.nodes_created == 2
    e2 = store.read_one("MATCH (e:Enterprise {id: 'E2'}) RETURN e AS e")["e"]["properties"]
    assert e2["performance_grade"] == "leading"
    assert (e2["key_enterprise"], e2["online_monitoring"], e2["synthetic"]) == (True, False, False)
    # E1 moves to Ningbo, changes sector and pollutants and loses its grade
    second = [header, first[2],
              "E1,甲公司,330212,121.55,29.82,TextileDyeing,VOCs;NOx,,yes,no"]
    path.write_text("\n".join(second) + "\n", encoding="utf-8")
    load_enterprises(store, path)
    e1 = store.read_one(
        "MATCH (e:Enterprise {id: 'E1'}) "
        "OPTIONAL MATCH (e)-[:IN_REGION]->(k) WITH e, collect(k.id) AS counties "
        "OPTIONAL MATCH (e)-[:IN_SECTOR]->(s) WITH e, counties, collect(s.id) AS sectors "
        "OPTIONAL MATCH (e)-[:EMITS]->(p) WITH e, counties, sectors, collect(p.id) AS emits "
        "OPTIONAL MATCH (e)-[:IN_CELL]->(c) "
        "RETURN counties, sectors, emits, collect(c.id) AS cells, e.cell_id AS cell_id, "
        "e.performance_grade AS grade")
    row, col = (int(v) for v in ZJ3KM.lonlat_to_rowcol(121.55, 29.82))
    assert e1["counties"] == ["330212"]
    assert e1["sectors"] == ["TextileDyeing"]
    assert sorted(e1["emits"]) == ["NOx", "VOCs"]
    assert e1["cells"] == [ZJ3KM.cell_id(row, col)] == [e1["cell_id"]]
    assert e1["grade"] is None
    assert count(store, "MATCH (e:Enterprise) RETURN count(e) AS n") == 2
    assert count(store, "MATCH (:Enterprise)-[r]->() RETURN count(r) AS n") == 2 * 3 + 2 + 3


def test_cli_loads_a_users_files_and_reports_bad_ones(store: GraphStore, tmp_path: Path) -> None:
    load_concepts(store)
    load_regions(store)
    load_grid(store)
    runner = CliRunner()
    good = enterprise_file(tmp_path, lambda lines: lines)
    stations = station_file(tmp_path, ["id,name,kind,county_code,lon,lat",
                                       "S1,西湖站,国控,330106,120.15,30.25"])
    result = runner.invoke(app, ["kb", "load", "--only", "--enterprises", str(good),
                                 "--stations", str(stations)])
    assert result.exit_code == 0, result.output
    assert count(store, "MATCH (e:Enterprise) RETURN count(e) AS n") == 3
    assert store.read_one("MATCH (m:MonitoringStation) RETURN m.kind AS k") == {"k": "national"}
    bad = enterprise_file(tmp_path, field_edit(3, "sector", "Steelmaking"))
    result = runner.invoke(app, ["kb", "load", "--only", "--enterprises", str(bad)])
    assert result.exit_code != 0
    output = result.output.replace("\n", "")
    assert "my_enterprises.csv:3" in output and "unknown sector 'Steelmaking'" in output


# ---------------------------------------------------------------------------------------------
# The synthetic sample is generated deterministically


def _generator():
    path = ROOT / "scripts" / "generate_sample_dataset.py"
    spec = importlib.util.spec_from_file_location("generate_sample_dataset", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_generation_is_deterministic_and_matches_the_bundled_files(tmp_path: Path) -> None:
    gen = _generator()
    a = gen.generate(tmp_path / "a")
    b = gen.generate(tmp_path / "b")
    bundled = enterprises_csv().parent
    for name, path in a.items():
        assert path.read_bytes() == b[name].read_bytes(), name
        assert path.read_bytes() == (bundled / name).read_bytes(), (
            f"{name} differs from the bundled copy: rerun scripts/generate_sample_dataset.py")
    meta = (bundled / "enterprises.meta.yaml").read_text(encoding="utf-8")
    assert "synthetic: true" in meta
    assert "SYNTHETIC" in (bundled / "README.md").read_text(encoding="utf-8")
