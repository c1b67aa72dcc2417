"""Region and grid-cell rows kept on disk between processes (ecobrain.ontology.prepared): a
load from kept rows gives the same graph as one that prepares them, a damaged entry is
prepared again, other inputs or code make another entry, and the boundaries parsed by GEOS
are those the GeoJSON reader made before."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely
from graph_fingerprint import fingerprint
from shapely.geometry import shape

from ecobrain.kb_loaders.places import grid_cells, regions
from ecobrain.kb_loaders.places.grid_cells import load_grid
from ecobrain.kb_loaders.places.regions import load_regions
from ecobrain.ontology import geography, prepared
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.ontology.grid import ZJ3KM


def _forget_in_process() -> None:
    geography.zhejiang_regions.cache_clear()
    geography.regions_by_code.cache_clear()
    geography.RegionIndex.counties.__func__.cache_clear()  # type: ignore[attr-defined]
    regions.region_rows.cache_clear()
    regions.county_codes.cache_clear()
    grid_cells._cell_rows.cache_clear()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ECOBRAIN_CACHE_DIR", str(tmp_path / "cache"))
    _forget_in_process()
    yield tmp_path / "cache" / "prepared"
    _forget_in_process()


def _load(store: GraphStore) -> str:
    load_regions(store)
    load_grid(store)
    return fingerprint(store)


def test_a_load_from_kept_rows_is_the_same_graph(cache: Path, store: GraphStore) -> None:
    assert not cache.exists()
    prepared_now = _load(store)  # rows prepared (and kept)
    kept = sorted(p.name for p in cache.glob("*.json"))
    assert [k.split("-")[0] for k in kept] == ["boundaries", "grid", "regions"]
    _forget_in_process()
    store.write("MATCH (n) DETACH DELETE n")
    assert _load(store) == prepared_now  # rows read from the kept files
    assert prepared_now.startswith(f"{len(regions.compute_region_rows()) + 1 + 11761}n/")


def test_kept_rows_equal_rows_prepared_again(cache: Path) -> None:
    assert list(regions.region_rows()) == regions.compute_region_rows()
    assert grid_cells.grid_cell_rows() == grid_cells.compute_cell_rows(ZJ3KM)
    _forget_in_process()  # now from disk
    assert list(regions.region_rows()) == regions.compute_region_rows()
    assert grid_cells.grid_cell_rows() == grid_cells.compute_cell_rows(ZJ3KM)


def test_a_damaged_entry_is_prepared_again(cache: Path) -> None:
    rows = list(regions.region_rows())
    entry = next(cache.glob("regions-*.json"))
    entry.write_text('[{"id": "330', encoding="utf-8")  # cut short
    _forget_in_process()
    assert list(regions.region_rows()) == rows
    assert json.loads(entry.read_text(encoding="utf-8")) == rows  # written again whole


def test_other_inputs_or_code_make_another_entry(tmp_path: Path) -> None:
    code = tmp_path / "loader.py"
    code.write_text("x = 1\n", encoding="utf-8")
    first = prepared.digest(["regions", 0.001], [code])
    assert prepared.digest(["regions", 0.001], [code]) == first
    assert prepared.digest(["regions", 0.002], [code]) != first
    code.write_text("x = 2\n", encoding="utf-8")
    assert prepared.digest(["regions", 0.001], [code]) != first


def test_an_unwritable_cache_still_gives_the_rows(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("ECOBRAIN_CACHE_DIR", str(blocker))
    rows = prepared.prepared_rows("t", [1], [], lambda: [{"a": 1.5, "b": None, "c": "区"}])
    assert rows == [{"a": 1.5, "b": None, "c": "区"}]


def test_boundaries_parsed_by_geos_are_those_of_the_geojson_reader(cache: Path) -> None:
    """The boundaries were read with shape(json.loads(...)) before: the same geometries,
    parsed now and read back from the kept WKB."""
    root = geography._cnmaps_root()
    db = sqlite3.connect(f"file:{root / 'index' / 'administrative.db'}?mode=ro", uri=True)
    try:
        paths = {Path(p).stem: p for (p,) in db.execute(
            "SELECT path FROM ADMINISTRATIVE WHERE province = ? AND source = '高德' "
            "AND kind = '陆地'", (geography.PROVINCE_NAME,))}
    finally:
        db.close()
    checked = 0
    parsed = geography.zhejiang_regions()
    _forget_in_process()
    kept = geography.zhejiang_regions()
    assert [r.code for r in kept] == [r.code for r in parsed]
    for region, again in zip(parsed, kept, strict=True):
        assert shapely.to_wkb(region.geometry) == shapely.to_wkb(again.geometry)
        assert (region.name_zh, region.level, region.parent_code) == (
            again.name_zh, again.level, again.parent_code)
        text = (root / "datasets" / paths[region.code]).read_text(encoding="utf-8")
        before = shape(json.loads(text))
        if not before.is_valid:
            before = shapely.make_valid(before)
        assert shapely.to_wkb(region.geometry) == shapely.to_wkb(before), region.code
        checked += 1
    assert checked == 102
