"""The enterprise and station registers' validated rows, kept between loads
(kb_loaders/places/registers.py): an unchanged file is validated once; a change to the file,
its sidecar, the ontology, a boundary or the checking code validates it again; a bad row in a
changed file is refused with its file, line and field, and nothing is kept for it. And the
first load into a graph without sites (CREATE) gives the graph a reload (MERGE) keeps."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from graph_fingerprint import fingerprint

from ecobrain.kb_loaders.errors import LoadError
from ecobrain.kb_loaders.places import enterprises, registers, stations
from ecobrain.kb_loaders.places.enterprises import load_enterprises, validated_enterprises
from ecobrain.kb_loaders.places.grid_cells import load_grid
from ecobrain.kb_loaders.places.regions import load_regions
from ecobrain.kb_loaders.places.stations import load_stations, validated_stations
from ecobrain.kb_loaders.semantics import ontology_loader
from ecobrain.kb_loaders.semantics.ontology_loader import load_ontology
from ecobrain.ontology import geography
from ecobrain.ontology.concepts import OntologyError, default_ontology_path
from ecobrain.ontology.graph.store import GraphStore

HEADER = "id,name,kind,county_code,lon,lat"
XIHU = "S1,西湖站,national,330106,120.15,30.25"        # Xihu district, Hangzhou
SHANGCHENG = "S2,上城站,city,330102,120.19684,30.29741"  # Shangcheng district, Hangzhou


@pytest.fixture
def kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ECOBRAIN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "prepared"


def _counted(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[str]:
    """Replace module.name with a wrapper that records each call (the real check still runs)."""
    calls: list[str] = []
    real = getattr(module, name)

    def wrapper(*args: object, **kwargs: object) -> object:
        calls.append(str(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def _write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _entries(kept: Path, kind: str) -> int:
    return len(list(kept.glob(f"{kind}-rows-*.json")))


def test_an_unchanged_station_file_is_validated_once(kept: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "stations.csv", HEADER, XIHU, SHANGCHENG)
    calls = _counted(monkeypatch, stations, "read_stations")
    first, notes = validated_stations(path)
    again, notes_again = validated_stations(path)
    assert len(calls) == 1 and _entries(kept, "stations") == 1
    assert again == first and notes_again == notes
    # the kept rows are what the check gives (worked out: ids, kinds, counties, cities, lines)
    assert [(r.id, r.kind, r.county_code, r.city_code, r.lon, r.lat, r.line, r.synthetic)
            for r in again] == [("S1", "national", "330106", "330100", 120.15, 30.25, 2, False),
                                ("S2", "city", "330102", "330100", 120.19684, 30.29741, 3,
                                 False)]
    assert again == stations.read_stations(path)[0]


def test_each_input_change_validates_again(kept: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "stations.csv", HEADER, XIHU)
    calls = _counted(monkeypatch, stations, "read_stations")
    validated_stations(path)
    assert len(calls) == 1

    # one character of the file
    _write(path, HEADER, XIHU.replace("西湖站", "西湖站二"))
    (record,), _ = validated_stations(path)
    assert len(calls) == 2 and record.name == "西湖站二"

    # the sidecar appears (synthetic data), then changes
    sidecar = _write(tmp_path / "stations.meta.yaml", "synthetic: true")
    (record,), _ = validated_stations(path)
    assert len(calls) == 3 and record.synthetic is True
    _write(sidecar, "synthetic: false")
    (record,), _ = validated_stations(path)
    assert len(calls) == 4 and record.synthetic is False

    # a boundary file: its level's digest changes
    real = geography.boundary_version
    monkeypatch.setattr(geography, "boundary_version",
                        lambda level: "edited" + real(level) if level == "county" else real(level))
    validated_stations(path)
    assert len(calls) == 5
    monkeypatch.setattr(geography, "boundary_version", real)
    validated_stations(path)  # the boundaries as they were: their entry is still there
    assert len(calls) == 5

    # the checking code: a source file the key reads, edited
    code = _write(tmp_path / "check_code.py", "TOLERANCE = 1000")
    monkeypatch.setattr(registers, "CHECK_SOURCES", (*registers.CHECK_SOURCES, str(code)))
    validated_stations(path)
    assert len(calls) == 6
    validated_stations(path)
    assert len(calls) == 6
    _write(code, "TOLERANCE = 2000")
    validated_stations(path)
    assert len(calls) == 7
    # entries: the file before and after, the sidecar twice, the edited boundary, the code
    # before and after its edit (the boundary put back found its entry)
    assert _entries(kept, "stations") == 7


def test_a_changed_ontology_validates_enterprises_again(kept: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    lines = enterprises.bundled_path().read_text(encoding="utf-8").splitlines()[:3]
    path = _write(tmp_path / "enterprises.csv", *lines)
    calls = _counted(monkeypatch, enterprises, "read_enterprises")
    first, _ = validated_enterprises(path)
    validated_enterprises(path)
    assert len(calls) == 1 and len(first) == 2
    edited = tmp_path / "ecobrain.ttl"
    shutil.copy(default_ontology_path(), edited)
    with edited.open("a", encoding="utf-8") as f:
        f.write("\n# a trial edit\n")
    monkeypatch.setenv("ECOBRAIN_ONTOLOGY", str(edited))
    again, _ = validated_enterprises(path)
    assert len(calls) == 2 and again == first


@pytest.mark.parametrize(("row", "field", "text"), [
    ("S3,x,county,330100,120.15,30.25", "county_code", "city"),
    ("S3,x,国控,330106,121.47,31.23", "lon/lat", "outside Zhejiang"),   # Shanghai
    ("S1,y,county,330106,120.15,30.25", "id", "first on line 2"),
])
def test_a_bad_row_in_a_changed_register_is_refused_every_time(
        kept: Path, tmp_path: Path, row: str, field: str, text: str) -> None:
    path = _write(tmp_path / "stations.csv", HEADER, XIHU)
    validated_stations(path)
    assert _entries(kept, "stations") == 1
    _write(path, HEADER, XIHU, row)
    for _ in range(2):  # nothing kept for the bad file: refused again, the same way
        with pytest.raises(LoadError) as exc:
            validated_stations(path)
        assert f"{path}:3 [{field}]" in str(exc.value) and text in str(exc.value)
    assert _entries(kept, "stations") == 1


def test_a_missing_file_is_named(kept: Path, tmp_path: Path) -> None:
    with pytest.raises(LoadError, match=r"no_such\.csv"):
        validated_stations(tmp_path / "no_such.csv")


# -- first load (CREATE into empty labels) and reload (MERGE) -----------------------------------

def test_a_first_load_writes_the_graph_a_reload_keeps(store: GraphStore, tmp_path: Path
                                                      ) -> None:
    lines = enterprises.bundled_path().read_text(encoding="utf-8").splitlines()
    e_path = _write(tmp_path / "enterprises.csv", *lines[:41])  # 40 enterprises
    s_path = _write(tmp_path / "stations.csv", HEADER, XIHU, SHANGCHENG)
    steps: list[Callable[[GraphStore], object]] = [
        load_ontology, load_regions, load_grid,
        lambda s: load_enterprises(s, e_path), lambda s: load_stations(s, s_path)]
    first = [step(store) for step in steps]
    after_first = fingerprint(store)
    records, _ = validated_enterprises(e_path)
    # per enterprise: IN_SECTOR, IN_REGION, one EMITS per pollutant, IN_CELL when its cell
    # is a GridCell node; per station IN_REGION and IN_CELL (both in-province cells)
    expected_rels = sum(2 + len(r.pollutants) + r.cell_in_graph for r in records)
    assert (first[3].nodes_created, first[3].relationships_created) == (40, expected_rels)
    assert (first[4].nodes_created, first[4].relationships_created) == (2, 4)
    assert (first[2].nodes_created, first[2].relationships_created) == (11762, 23522)
    again = [step(store) for step in steps[2:]]
    assert [(r.nodes_created, r.relationships_created) for r in again] == [(0, 0)] * 3
    assert fingerprint(store) == after_first



def test_the_ontology_plan_is_kept_for_the_same_turtle(kept: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ttl = tmp_path / "ecobrain.ttl"
    shutil.copy(default_ontology_path(), ttl)
    calls = _counted(monkeypatch, ontology_loader, "_planned")
    first = ontology_loader.kept_plan(ttl)
    assert ontology_loader.kept_plan(ttl) == first and len(calls) == 1
    assert first == ontology_loader._planned(ttl)  # kept = parsed now (JSON keeps it whole)
    with ttl.open("a", encoding="utf-8") as f:
        f.write("\n# an edit\n")
    ontology_loader.kept_plan(ttl)
    assert len(calls) == 3  # the direct call above, and the edited file parsed again
    with ttl.open("a", encoding="utf-8") as f:
        f.write("eb:Broken a \n")  # not Turtle
    for _ in range(2):
        with pytest.raises(OntologyError):
            ontology_loader.kept_plan(ttl)
    assert len(list(kept.glob("ontology-plan-*.json"))) == 2
