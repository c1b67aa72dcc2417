"""Runs that are not ecobrain's own decide correctly, end to end on the real graph.

Every run here is written by the tests on a grid that is not the project's (9 km and 12 km
Lambert grids with other projection parameters, a 1 km nest over northern Zhejiang, a CF
lat-lon grid), with CMAQ names and conventions (a ``CCTM_ACONC_*`` file whose FILEDESC does
not state its time convention, NO2-only / NO+NO2 emission inversions), and decided with
``ecobrain decide``. The expected answers are worked out here by hand: daily AQI from the
hourly values written (HJ 633-2026 PM2.5 breakpoints, :func:`foreign_runs.iaqi_pm25`), alert
levels from the 2024 grading, the hotspot's candidate enterprises by geodesic distance from the
cell centre, the hotspot's county by geodesic areas of the cell's overlap with the counties.

The knowledge graph holds the bundled knowledge with the test's own enterprise register
(placed around the 9 km hotspot cell), loaded as a user would: ``kb load --enterprises``.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyproj
import pytest
import shapely
from api_helpers import api_client
from bolt_server import open_new_graph
from foreign_runs import (
    G1,
    G9,
    G12,
    HOT9,
    by_day,
    hangzhou_mask,
    iaqi_pm25,
    manifest,
    utc,
    write_aconc,
    write_cf_forecast,
    write_inversion,
)
from kb_fixture import _drop, _name, graph_counts
from typer.testing import CliRunner

from ecobrain.api.cli.app import app
from ecobrain.kb_loaders.bundle import UserFiles, load_bundled
from ecobrain.model_adapters import collect_findings
from ecobrain.model_adapters.errors import MissingVariableError
from ecobrain.model_adapters.files.ioapi_writer import write_ioapi
from ecobrain.model_adapters.files.registry import open_gridded
from ecobrain.model_adapters.grids.overlap import cell_outline_lonlat, county_shares
from ecobrain.ontology.geography import RegionIndex, regions_by_code
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.decisions.run_decision import decide_run

runner = CliRunner()
GEOD = pyproj.Geod(ellps="WGS84")
DAY0 = dt.date(2026, 12, 7)  # first forecast day (Beijing); 2024 alert grading, HJ 633-2026
MIDNIGHT = dt.datetime.combine(DAY0, dt.time(0))

# The register: offsets (m, in the 9 km grid's projection) from the hotspot cell's centre.
#   in the cell: a NOx boiler 3.2 km away, a printer (VOCs only) and a NOx plant in the
#   cell's SW corner 5.7 km away (in the cell although beyond 5 km);
#   outside the cell: a NOx plant 4.85 km north (within 5 km), one 8.1 km west (too far).
SITES = {
    "T-IN-NOX": ((-2000, 2500), "IndustrialBoiler", "NOx;SO2", "true"),
    "T-IN-VOC": ((-3000, 1000), "Printing", "VOCs", "false"),
    "T-CORNER-NOX": ((-4000, -4000), "Glass", "NOx;PM10", "false"),
    "T-NEAR-NOX": ((0, 4800), "Cement", "NOx;PM10", "true"),
    "T-FAR-NOX": ((-8000, 0), "Power", "NOx;SO2", "false"),
}


def hot_centre() -> tuple[float, float]:
    r, c = HOT9
    lon, lat = G9.xy_to_lonlat(G9.xorig + (c + 0.5) * G9.xcell, G9.yorig + (r + 0.5) * G9.ycell)
    return float(lon), float(lat)


def site_lonlat(dx: float, dy: float) -> tuple[float, float]:
    r, c = HOT9
    lon, lat = G9.xy_to_lonlat(G9.xorig + (c + 0.5) * G9.xcell + dx,
                               G9.yorig + (r + 0.5) * G9.ycell + dy)
    return round(float(lon), 5), round(float(lat), 5)


def write_register(folder: Path) -> Path:
    path = folder / "enterprises.csv"
    counties = RegionIndex.counties()
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name", "county_code", "lon", "lat", "sector", "pollutants",
                    "performance_grade", "key_enterprise", "online_monitoring"])
        for eid, ((dx, dy), sector, pollutants, online) in SITES.items():
            lon, lat = site_lonlat(dx, dy)
            w.writerow([eid, f"测试企业{eid}", counties.locate_one(lon, lat), lon, lat, sector,
                        pollutants, "C", "true", online])
    return path


def write_stations(folder: Path) -> Path:
    path = folder / "stations.csv"
    path.write_text("id,name,kind,county_code,lon,lat\nT-S1,测试站,national,330106,120.1300,"
                    "30.2700\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def kb(graph_settings, tmp_path_factory) -> Iterator[GraphStore]:
    """The bundled knowledge with the test's register, in a graph of the module's own (also
    the CLI's graph)."""
    folder = tmp_path_factory.mktemp("register")
    store = open_new_graph(graph_settings, _name("foreign"))
    load_bundled(store, UserFiles(enterprises=write_register(folder),
                                  stations=write_stations(folder)))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ECOBRAIN_GRAPH_DATABASE", store.graph_name)
        try:
            yield store
        finally:
            _drop(store)


def decide_cli(run_dir: Path, *extra: str) -> str:
    result = runner.invoke(app, ["decide", str(run_dir), *extra])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def saved_decision_id(output: str) -> str:
    m = re.search(r"decision\s+(dec-[0-9a-f]+)", output)
    assert m, output
    return m.group(1)


def denox_text(task) -> str:
    """The denitration item of a task (tasks on one enterprise are merged into items)."""
    return next(i.text for i in task.items if i.measure_type == "DenitrationCheck")


def city_aqi(findings, code: str = "330100") -> list[int]:
    return [d.aqi for d in sorted((d for d in findings.daily_aqi if d.region_code == code),
                                  key=lambda d: d.date)]


# -- the 9 km Lambert run: CMAQ names, an ACONC that does not state its convention ----------

NINE_KM = {DAY0: 160.0, DAY0 + dt.timedelta(days=1): 260.0, DAY0 + dt.timedelta(days=2): 160.0,
           DAY0 + dt.timedelta(days=3): 100.0}


def nine_km_run(root: Path, *, timestamp: str | None = None) -> Path:
    run = root / ("zj9km" + (f"-{timestamp}" if timestamp else ""))
    run.mkdir(parents=True, exist_ok=True)
    write_aconc(run / "CCTM_ACONC_v54_ZJ9KM.nc", G9, MIDNIGHT, 96, by_day(NINE_KM))
    forecast = {"kind": "forecast", "format": "ioapi", "path": "CCTM_ACONC_v54_ZJ9KM.nc"}
    if timestamp:
        forecast["timestamp"] = timestamp
    inv = write_inversion(run, G9, DAY0 - dt.timedelta(days=1), HOT9, {"NO2": 1.0})
    return manifest(run, "zj9km-2026120612", MIDNIGHT - dt.timedelta(hours=12),
                    [forecast, inv])


def test_nine_km_hand_computed_aqi_hour_beginning_and_no_day_dropped(tmp_path: Path) -> None:
    found = collect_findings(nine_km_run(tmp_path), stations=[])
    # each Beijing day is one constant: 160 -> 200 + 10 = 210, 260 -> 310, 100 -> 100 +
    # (100 - 60) * 50 / 55 = 136.4 -> 137 (IAQI rounded up)
    assert [iaqi_pm25(v) for v in NINE_KM.values()] == [210, 310, 210, 137]
    assert city_aqi(found) == [210, 310, 210, 137]
    assert found.days == sorted(NINE_KM)
    assert found.time_conventions["CCTM_ACONC_v54_ZJ9KM.nc"].startswith("begin: CMAQ averaged")
    assert not [w for w in found.warnings if w.code == "partial-day"]
    # NO2 only: a lower bound, said so
    [lb] = [w for w in found.warnings if w.code == "lower-bound"]
    assert "NO2" in lb.message and not lb.incomplete


def test_read_as_instants_the_days_shift_and_the_partial_day_is_a_warning(tmp_path: Path
                                                                        ) -> None:
    found = collect_findings(nine_km_run(tmp_path, timestamp="instant"), stations=[])
    # record k now stands for the hour ending at its stamp, so every day's hours are read one
    # record later: day 1's last hour is record 24, day 2's first value (260):
    # (23·160 + 260)/24 = 164.17 -> 215; day 2 (23·260 + 160)/24 = 255.83 -> 306;
    # day 3 (23·160 + 100)/24 = 157.5 -> 208; day 4 has only 23 records left.
    assert city_aqi(found) == [iaqi_pm25((23 * 160 + 260) / 24),
                               iaqi_pm25((23 * 260 + 160) / 24),
                               iaqi_pm25((23 * 160 + 100) / 24)] == [215, 306, 208]
    partial = [w for w in found.warnings if w.code == "partial-day"]
    assert [w.message_zh.split("，")[0] for w in partial] == [
        f"第1天（{(DAY0 - dt.timedelta(days=1)).isoformat()}）仅1小时",
        f"第5天（{(DAY0 + dt.timedelta(days=3)).isoformat()}）仅23小时"]
    assert all(w.incomplete for w in partial) and found.incomplete
    assert found.time_conventions["CCTM_ACONC_v54_ZJ9KM.nc"].startswith("instant: the manifest")


def expected_candidates(radius_km: float = 5.0) -> dict[str, float]:
    """NOx emitters in the hot cell or within the radius of its centre, by hand: the cell by
    its row/col on the 9 km grid, the distance geodesic from the centre."""
    lon0, lat0 = hot_centre()
    out = {}
    for eid, ((dx, dy), _, pollutants, _) in SITES.items():
        if "NOx" not in pollutants.split(";"):
            continue
        lon, lat = site_lonlat(dx, dy)
        in_cell = abs(dx) < G9.xcell / 2 and abs(dy) < G9.ycell / 2
        d = GEOD.inv(round(lon0, 5), round(lat0, 5), lon, lat)[2] / 1000
        if in_cell or d <= radius_km:
            out[eid] = d
    return out


def overlap_by_geodesic_area() -> list[tuple[str, float]]:
    """The hot cell's share in each county, with geodesic areas (not the project's method)."""
    cell = cell_outline_lonlat(G9, *HOT9)
    counties = RegionIndex.counties()
    parts = []
    for r in counties.regions:
        inter = cell.intersection(r.geometry)
        if not inter.is_empty:
            area = abs(GEOD.geometry_area_perimeter(inter)[0])
            parts.append((r.code, area))
    total = sum(a for _, a in parts)
    return sorted(((c, a / total) for c, a in parts), key=lambda p: -p[1])


def test_nine_km_decides_end_to_end(kb: GraphStore, tmp_path: Path) -> None:
    run = nine_km_run(tmp_path)
    out_dir = tmp_path / "docs"
    output = decide_cli(run, "--out", str(out_dir), "--format", "html,md",
                        "--regions", "330100")
    dec_id = saved_decision_id(output)
    outcome = decide_run(kb, run)  # the same decision again, as an object
    d = outcome.decision
    assert d.id == dec_id and outcome.existed
    # Hangzhou: > 200 for 72 h and > 300 for 24 h: red (2024 grading), PM2.5-driven
    hz = next(a for a in d.alerts if a.region_code == "330100")
    assert hz.level == "AlertRed" and hz.driver == "PM2_5"
    # the hotspot: its county by area, not by the cell centre (which lies in 萧山区)
    lon0, lat0 = hot_centre()
    assert RegionIndex.counties().locate_one(lon0, lat0) == "330109"
    shares = overlap_by_geodesic_area()
    assert [c for c, s in shares if s >= 0.2] == ["330102", "330109"]
    hotspot = kb.read_one("MATCH (f:Finding) WHERE f.kind = 'emission_hotspot' AND "
                          "f.run_id = $run RETURN f.json AS json", {"run": d.run_id})
    assert hotspot is not None and '"county_code":"330102"' in hotspot["json"]
    assert '"counties":["330102","330109"]' in hotspot["json"]
    # inspection tasks for the registered NOx emitters in the cell or within 5 km, with the
    # distance in the text; none for the printer (VOCs) or the plant 8 km away
    want = expected_candidates()
    assert sorted(want) == ["T-CORNER-NOX", "T-IN-NOX", "T-NEAR-NOX"]
    denox = {t.subject.id: t for t in d.tasks if "DenitrationCheck" in t.measure_types}
    assert sorted(denox) == sorted(want)
    for eid, km in want.items():
        assert f"距网格中心{km:.1f}公里" in denox_text(denox[eid]), denox_text(denox[eid])
    assert "热点网格内" in denox_text(denox["T-CORNER-NOX"])
    assert "热点网格外" in denox_text(denox["T-NEAR-NOX"])
    assert not [t for t in d.tasks if t.subject.kind == "grid_cell"]  # emitters were found
    # the lower bound is a warning of the decision, printed, saved, in the documents
    assert any(w.code == "lower-bound" for w in d.warnings) and not d.incomplete
    assert "warning:" in output and "NO2" in output
    saved = kb.read_one("MATCH (d:Decision {id: $id}) RETURN d.warnings AS w, "
                        "d.incomplete AS inc", {"id": dec_id})
    assert saved is not None and any("下限" in w for w in saved["w"]) and not saved["inc"]
    html = next(out_dir.glob(f"{dec_id}/330100-*.html")).read_text(encoding="utf-8")
    assert html.index('id="warnings"') < html.index('id="alert"') and "下限" in html
    md = next(out_dir.glob(f"{dec_id}/330100-*.md")).read_text(encoding="utf-8")
    assert md.index("下限") < md.index("## 一、")


def test_an_incomplete_run_is_marked_everywhere(kb: GraphStore, tmp_path: Path) -> None:
    output = decide_cli(nine_km_run(tmp_path, timestamp="instant"), "--no-documents")
    dec_id = saved_decision_id(output)
    assert "INCOMPLETE DECISION" in output and "仅23小时，未计入" in output
    saved = kb.read_one("MATCH (d:Decision {id: $id}) RETURN d.incomplete AS inc, "
                        "d.warnings AS w", {"id": dec_id})
    assert saved is not None and saved["inc"] is True
    assert any("仅23小时，未计入" in w for w in saved["w"])
    # the API returns them with the decision
    with api_client(kb, tmp_path) as api:
        body = api.get(f"/decisions/{dec_id}", "commander").json()
    assert body["incomplete"] is True
    partial = [w for w in body["warnings"] if w["code"] == "partial-day"]
    assert partial and all(w["incomplete"] for w in partial)
    assert any("仅23小时，未计入" in w["message_zh"] for w in partial)


# -- a 48 h run on a 12 km grid: orange established, red not ruled out ----------------------

def test_48h_run_at_310_cannot_rule_out_red(kb: GraphStore, tmp_path: Path) -> None:
    run = tmp_path / "ec12km-48h"
    run.mkdir()
    days = {DAY0: 260.0, DAY0 + dt.timedelta(days=1): 260.0}
    write_aconc(run / "CCTM_ACONC_EC12KM.nc", G12, MIDNIGHT, 48, by_day(days))
    manifest(run, "ec12km-48h", MIDNIGHT - dt.timedelta(hours=12),
             [{"kind": "forecast", "format": "ioapi", "path": "CCTM_ACONC_EC12KM.nc"}])
    d = decide_run(kb, run).decision
    hz = next(a for a in d.alerts if a.region_code == "330100")
    # 310, 310: > 200 for 48 h -> orange; red needs > 200 for 72 h: not established, and the
    # run ends at 310, so it cannot be ruled out either
    assert [iaqi_pm25(v) for v in days.values()] == [310, 310]
    assert hz.level == "AlertOrange"
    assert "不能排除" in (hz.note or "") and "红色预警" in (hz.note or "")
    [w] = [w for w in d.warnings if w.code == "horizon" and w.message_zh.startswith("杭州市")]
    assert "红色预警" in w.message_zh and "下次运行确认" in w.message_zh
    # a clean city on the same run: nothing open
    assert not [w for w in d.warnings if w.message_zh.startswith("宁波市")]


# -- a CF lat-lon run starting at noon, with an episode across midnight ---------------------

def test_cf_latlon_noon_start_episode_across_midnight(kb: GraphStore, tmp_path: Path) -> None:
    run = tmp_path / "cf-latlon"
    run.mkdir()
    noon = MIDNIGHT + dt.timedelta(hours=12)
    start_ep, end_ep = MIDNIGHT + dt.timedelta(hours=18), MIDNIGHT + dt.timedelta(hours=30)

    def pm(t: dt.datetime) -> float:  # 300 from 18:00 on day 0 to 06:00 on day 1
        return 300.0 if start_ep <= t < end_ep else 30.0

    write_cf_forecast(run / "pm25_latlon.nc", noon, 72, pm)
    manifest(run, "cf-latlon-noon", noon,
             [{"kind": "forecast", "format": "cf", "path": "pm25_latlon.nc"}])
    found = collect_findings(run, stations=[])
    # day 1 (complete): 6 hours at 300 and 18 at 30 -> 97.5 -> 100 + 37.5·50/55 = 134.1 -> 135
    # day 2: 30 -> 30·50/35 = 42.9 -> 43; day 0 and day 3 have 12 hours each
    assert iaqi_pm25((6 * 300 + 18 * 30) / 24) == 135 and iaqi_pm25(30) == 43
    assert city_aqi(found) == [135, 43]
    assert found.days == [DAY0 + dt.timedelta(days=1), DAY0 + dt.timedelta(days=2)]
    assert [w.message_zh.split("，")[0] for w in found.warnings if w.code == "partial-day"] == [
        f"第1天（{DAY0.isoformat()}）仅12小时",
        f"第4天（{(DAY0 + dt.timedelta(days=3)).isoformat()}）仅12小时"]
    assert found.time_conventions["pm25_latlon.nc"].startswith("begin: time bounds")
    d = decide_run(kb, run).decision
    assert not [a for a in d.alerts if a.region_code.startswith("3301")]
    assert d.incomplete  # the half days are not assessed, and the decision says so


# -- a 1 km nest over northern Zhejiang with an NO + NO2 inversion ----------------------------

def test_one_km_nest_with_no_plus_no2_inversion(kb: GraphStore, tmp_path: Path) -> None:
    run = tmp_path / "nzj1km"
    run.mkdir()
    days = {DAY0: 160.0, DAY0 + dt.timedelta(days=1): 160.0}
    write_aconc(run / "CCTM_ACONC_NZJ1KM.nc", G1, MIDNIGHT, 48, by_day(days))
    lon, lat = site_lonlat(*SITES["T-IN-NOX"][0])
    r, c = (int(v) for v in G1.lonlat_to_rowcol(lon, lat))
    inv = write_inversion(run, G1, DAY0 - dt.timedelta(days=1), (r, c), {"NO": 0.2, "NO2": 0.1})
    manifest(run, "nzj1km", MIDNIGHT - dt.timedelta(hours=12),
             [{"kind": "forecast", "format": "ioapi", "path": "CCTM_ACONC_NZJ1KM.nc"}, inv])
    found = collect_findings(run, stations=[])
    assert city_aqi(found) == [210, 210]  # > 200 for 48 h: orange, red not reachable at 210
    # the nest covers only northern Zhejiang: said, with the fraction, and incomplete
    [cov] = [w for w in found.warnings if w.code == "coverage"]
    assert cov.incomplete and "仅覆盖全省面积的28%" in cov.message_zh
    [h] = found.hotspots
    # NO and NO2 moles both counted as NO2: (0.2 + 0.1) mol/s · 46.0055 g/mol · 0.0864 = 1.1925
    # t/day prior, five times that posterior
    prior = (0.2 + 0.1) * 46.0055 * 86400 / 1e6
    assert h.prior == pytest.approx(prior, rel=1e-4)
    assert h.excess == pytest.approx(4 * prior, rel=1e-4) and not h.lower_bound
    assert h.county_code == RegionIndex.counties().locate_one(h.lon, h.lat) == "330102"
    d = decide_run(kb, run).decision
    assert next(a for a in d.alerts if a.region_code == "330100").level == "AlertOrange"
    # candidates by hand: NOx emitters within 5 km of this 1 km cell's centre (or in it)
    want = {}
    for eid, ((dx, dy), _, pollutants, _) in SITES.items():
        slon, slat = site_lonlat(dx, dy)
        km = GEOD.inv(h.lon, h.lat, slon, slat)[2] / 1000
        if "NOx" in pollutants and (km <= 5.0 or eid == "T-IN-NOX"):
            want[eid] = km
    denox = {t.subject.id: t for t in d.tasks if "DenitrationCheck" in t.measure_types}
    assert sorted(denox) == sorted(want)
    for eid, km in want.items():
        assert f"距网格中心{km:.1f}公里" in denox_text(denox[eid])


# -- inversions as modelling teams write them, and a bad one ----------------------------------

@pytest.mark.parametrize(("species", "rates", "t_per_day", "lower"), [
    ("NOx", {"NOX": 1.0}, 46.0055 * 0.0864, False),
    ("NOx", {"NO": 1.0, "NO2": 0.5}, 1.5 * 46.0055 * 0.0864, False),
    ("NOx", {"NO2": 1.0}, 46.0055 * 0.0864, True),
    # CB6 species with their molecular weights: PAR 72.1 g/mol, TOL 92.1 g/mol
    ("VOCs", {"PAR": 1.0, "TOL": 0.5}, (72.1 + 0.5 * 92.1) * 0.0864, False),
])
def test_inversion_species_as_written(tmp_path: Path, species: str, rates: dict[str, float],
                                      t_per_day: float, lower: bool) -> None:
    run = tmp_path / "inv"
    run.mkdir()
    inv = write_inversion(run, G12, DAY0, (20, 20), rates, factor=3.0)
    manifest(run, "inv", MIDNIGHT, [inv])
    found = collect_findings(run, stations=[])
    [h] = [h for h in found.hotspots if h.species == species]
    assert h.prior == pytest.approx(t_per_day, rel=1e-4)
    assert h.posterior == pytest.approx(3 * t_per_day, rel=1e-4)
    assert h.lower_bound is lower
    assert any(w.code == "lower-bound" for w in found.warnings) is lower


def test_pm25_as_components_in_mass_units(tmp_path: Path) -> None:
    run = tmp_path / "pm"
    run.mkdir()
    shape = (24, G12.nrows, G12.ncols)
    start = utc(MIDNIGHT)
    desc = ["emission rates", "Timestamp represents beginning computed date/time"]
    prior = {"PEC": np.full(shape, 1.0, np.float32), "POC": np.full(shape, 2.0, np.float32),
             "PNO3": np.full(shape, 0.5, np.float32)}
    post = {k: v.copy() for k, v in prior.items()}
    for v in post.values():
        v[:, 10, 10] *= 4
    units = dict.fromkeys(prior, "g/s")
    write_ioapi(run / "p.nc", G12, prior, units, start, 3600, filedesc=desc)
    write_ioapi(run / "q.nc", G12, post, units, start, 3600, filedesc=desc)
    manifest(run, "pm", MIDNIGHT, [{"kind": "inversion", "format": "ioapi", "prior": "p.nc",
                                    "posterior": "q.nc"}])
    [h] = collect_findings(run, stations=[]).hotspots
    # (1 + 2 + 0.5) g/s · 0.0864 = 0.3024 t/day
    assert h.species == "PM2_5" and h.prior == pytest.approx(3.5 * 0.0864, rel=1e-4)


def test_bad_run_names_file_and_variables_and_writes_nothing(kb: GraphStore,
                                                             tmp_path: Path) -> None:
    run = tmp_path / "bad"
    run.mkdir()
    inv = write_inversion(run, G12, DAY0, (20, 20), {"CO": 1.0})
    manifest(run, "bad-run", MIDNIGHT, [inv])
    with pytest.raises(MissingVariableError) as err:
        collect_findings(run, stations=[])
    msg = str(err.value)
    assert msg.startswith("file emis_prior.nc:")
    assert "The file has: CO" in msg and "NO+NO2" in msg and "NO2 (lower bound)" in msg
    assert "False" not in msg  # no YAML 1.1 booleans among the names
    before = graph_counts(kb)
    result = runner.invoke(app, ["decide", str(run), "--no-documents"])
    assert result.exit_code != 0 and "emis_prior.nc" in result.output
    assert graph_counts(kb) == before


# -- the real CMAQ files, where they carry what a run needs -----------------------------------

REAL = Path("/work/shared/data/real")


@pytest.mark.skipif(not (REAL / "cmaq_conc").exists(), reason="real CMAQ samples not present")
def test_real_cmaq_files_time_conventions_and_inversion_end_to_end(tmp_path: Path) -> None:

    f = open_gridded(REAL / "cmaq_conc/openmethane_conc_template.nc", "ioapi")
    try:  # a CONC file (UPNAM WR_CONC, no averaging phrase): instants
        assert f.timestamp == "instant" and "instantaneous" in f.timestamp_reason
    finally:
        f.close()
    # the emission record (CH4, mol/s, hourly, 25 records) as prior and posterior of a run:
    # read end to end; Australia has no Zhejiang region, and nothing is in excess
    run = tmp_path / "real"
    run.mkdir()
    src = REAL / "cmaq_conc/openmethane_emis_record_2022-12-07.nc"
    (run / "prior.nc").write_bytes(src.read_bytes())
    (run / "post.nc").write_bytes(src.read_bytes())
    manifest(run, "real-emis", dt.datetime(2022, 12, 7, 8),
             [{"kind": "inversion", "format": "ioapi", "prior": "prior.nc",
               "posterior": "post.nc"}])
    found = collect_findings(run, stations=[])
    assert found.hotspots == [] and found.kinds == ["inversion"]
    assert found.time_conventions["prior.nc"].startswith("begin")


def test_overlap_shares_are_the_geodesic_shares() -> None:
    """The project's Albers areas agree with geodesic areas to 0.1 % of the cell."""
    mine = {s.county_code: s.share for s in county_shares(G9, *HOT9, min_share=0.0)}
    for code, share in overlap_by_geodesic_area():
        assert mine[code] == pytest.approx(share, abs=1e-3), regions_by_code()[code].name_zh
    assert math.isclose(sum(mine.values()), 1.0, abs_tol=1e-3)
    assert shapely.is_valid(cell_outline_lonlat(G9, *HOT9))


# -- model output sanity: never a silent all-clear ---------------------------------------------

def test_negative_values_and_a_missing_key_pollutant_mark_the_decision_incomplete(
        kb: GraphStore, tmp_path: Path) -> None:
    run = tmp_path / "insane"
    run.mkdir()
    start = utc(MIDNIGHT)
    lon, lat = G12.cell_centers_lonlat()
    r, c = np.argwhere(hangzhou_mask(lon, lat))[0]
    o3 = np.full((24, G12.nrows, G12.ncols), 0.03, dtype=np.float32)
    o3[5, r, c] = -0.002  # one negative value in a cell that feeds Hangzhou
    write_ioapi(run / "CCTM_ACONC_EC12KM.nc", G12, {"O3": o3}, {"O3": "ppmV"}, start, 3600,
                filedesc=["CMAQ output"])
    manifest(run, "insane", MIDNIGHT - dt.timedelta(hours=12),
             [{"kind": "forecast", "format": "ioapi", "path": "CCTM_ACONC_EC12KM.nc"}])
    found = collect_findings(run, stations=[])
    codes = {w.code: w for w in found.warnings}
    assert codes["missing-pollutant"].variable == "PM2_5" and codes["missing-pollutant"].incomplete
    assert "O3有1个负值（最小-0.002）" in codes["negative-values"].message_zh
    assert "coverage" not in codes  # the 12 km grid covers the whole province
    d = decide_run(kb, run).decision
    assert d.incomplete and {"missing-pollutant", "negative-values"} <= {w.code
                                                                         for w in d.warnings}
