"""Decide -> approve -> a later inversion with the measures partly applied -> evaluation.

The later run is written the way an inversion system hands one over (hourly IOAPI files,
moles/s and g/s, Beijing midnight start; tests/evaluation_runs.py). Its posterior is the same
field every day with a day factor whose mean is 1, and during the measure (2026-11-26/27) it
is cut by a known factor in chosen cells and counties, so every figure the evaluation reports
is worked out here by hand: achieved = 1 - factor, target = the level's ratio (yellow 10 %,
orange 20 %: the rule's parameter), county totals summed over the cells whose centre lies in
the county (located here with the offline boundaries, not through the evaluation's mapper).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import numpy as np
import pytest
import shapely
from api_helpers import api_client
from evaluation_runs import base_field, write_daily_inversion_run, write_inversion_run
from kb_fixture import issue_all
from typer.testing import CliRunner

from ecobrain.api.auth import KeyStore
from ecobrain.api.cli.app import app
from ecobrain.api.documents.evaluation import render_report, write_reports
from ecobrain.model_adapters.emission_days import read_emission_days
from ecobrain.model_adapters.errors import ManifestError
from ecobrain.ontology.geography import RegionIndex, regions_by_code
from ecobrain.ontology.grid import ZJ3KM
from ecobrain.reasoning.decisions.task_status import update_status
from ecobrain.reasoning.evaluation.evaluation_store import (
    evaluate_decision,
    evaluations_of,
    load_evaluation,
)
from ecobrain.reasoning.evaluation.plan import NotApproved, read_plan
from ecobrain.reasoning.evaluation.post_measure import evaluate, load_evaluation_config

LEVEL_RATIO = {"AlertYellow": 0.1, "AlertOrange": 0.2, "AlertRed": 0.3}
SPECIES_SCALE = {"NOx": 1.0, "SO2": 0.5, "VOCs": 2.0, "PM2_5": 0.3}
FIRST = dt.date(2026, 11, 24)
DAYS = [FIRST + dt.timedelta(days=i) for i in range(4)]  # 24, 25 before; 26, 27 during
DAY_FACTOR = [1.04, 0.96, 1.03, 0.97]  # before mean 1, during mean 1
PLAN_SPECIES = {"NOx": "NOx", "SO2": "SO2", "VOCs": "VOCs", "PM2_5": "PM2_5",
                "PM10": "PM2_5", "ParticulateMatter": "PM2_5"}
COUNTY_CUT, COUNTY_KEEP = "330502", "330503"  # Huzhou districts under an orange alert


def _cell(lon: float, lat: float) -> tuple[int, int]:
    r, c = ZJ3KM.lonlat_to_rowcol(lon, lat)
    return int(r), int(c)


@pytest.fixture(scope="module")
def county_of_cell() -> np.ndarray:
    lon, lat = ZJ3KM.cell_centers_lonlat()
    return RegionIndex.counties().locate(lon, lat)


@pytest.fixture(scope="module")
def setup(module_decided, county_of_cell, tmp_path_factory):
    d = module_decided
    store = d.store
    with pytest.raises(NotApproved):
        read_plan(store, d.decision_id, "EmergencyEmissionReduction")
    issue_all(d)
    tasks = [dict(r, j=json.loads(r["json"])) for r in store.read(
        "MATCH (:Decision {id: $id})-[:HAS_TASK]->(t:Task) RETURN t.id AS id, t.json AS json "
        "ORDER BY id", {"id": d.decision_id})]
    ents = {r["id"]: r for r in store.read(
        "MATCH (e:Enterprise) RETURN e.id AS id, e.name AS name, e.lon AS lon, e.lat AS lat, "
        "e.pollutants AS pollutants")}
    ordered = [t for t in tasks if t["j"]["subject"]["kind"] == "enterprise"]
    cells_count: dict[tuple[int, int], int] = {}
    for t in ordered:
        e = ents[t["j"]["subject"]["id"]]
        cells_count[_cell(e["lon"], e["lat"])] = cells_count.get(_cell(e["lon"], e["lat"]),
                                                                 0) + 1
    hotspot_cells = set()
    patrols = [t for t in tasks if t["j"]["subject"]["kind"] == "grid_cell"
               and any(x.startswith("emission_hotspot.") for x in t["j"]["evidence"])]
    for t in patrols:
        for f in store.read("MATCH (:Task {id: $id})-[:EVIDENCED_BY]->(f:Finding "
                            "{kind: 'emission_hotspot'}) RETURN f.json AS json",
                            {"id": t["id"]}):
            h = json.loads(f["json"])
            hotspot_cells.add(_cell(h["lon"], h["lat"]))
    picked = []
    for t in ordered:
        e = ents[t["j"]["subject"]["id"]]
        cell = _cell(e["lon"], e["lat"])
        sched = t["j"]["schedule"]
        if (cells_count[cell] == 1 and cell not in hotspot_cells
                and county_of_cell[cell] not in (COUNTY_CUT, COUNTY_KEEP)
                and sched and all(s["level"] == "AlertOrange" for s in sched)
                and {s["date_from"] for s in sched} == {"2026-11-26"}
                and {s["date_to"] for s in sched} == {"2026-11-27"}
                and all(s["measure_type"] != "SelfDirectedReduction" for s in sched)):
            picked.append((t, e, cell))
        if len(picked) == 3:
            break
    assert len(picked) == 3, "the sample decision has orange-level enterprises in own cells"
    # two hotspot patrols: one whose hotspot stays, one whose hotspot goes
    hs = []
    for t in patrols:
        f = json.loads(store.read_one(
            "MATCH (:Task {id: $id})-[:EVIDENCED_BY]->(f:Finding {kind: 'emission_hotspot'}) "
            "RETURN f.json AS json ORDER BY f.id LIMIT 1", {"id": t["id"]})["json"])
        if county_of_cell[_cell(f["lon"], f["lat"])] not in (COUNTY_CUT, COUNTY_KEEP):
            hs.append((t, f))
    assert len(hs) >= 2
    (stay_task, stay_h), (gone_task, _gone_h) = hs[0], hs[1]

    factor = np.ones((ZJ3KM.nrows, ZJ3KM.ncols))
    factor[county_of_cell == COUNTY_CUT] = 0.75
    cut = dict(zip(("A", "B", "C"), (0.6, 0.9, 1.0), strict=True))
    for (_t, _e, cell), f in zip(picked, cut.values(), strict=True):
        factor[cell] = f
    prior, post = {}, {}
    for sp, scale in SPECIES_SCALE.items():
        base = base_field(scale=scale)
        prior[sp] = np.stack([base] * 4)
        post[sp] = np.stack([base * DAY_FACTOR[i] * (factor if i >= 2 else 1.0)
                             for i in range(4)])
    sr, sc = _cell(stay_h["lon"], stay_h["lat"])
    sp = stay_h["species"]
    for i in (2, 3):
        post[sp][i, sr, sc] = prior[sp][i, sr, sc] * 3.0 + 1.0  # the hotspot stays
    run = write_inversion_run(tmp_path_factory.mktemp("later") / "run", "inv-later-20261128",
                              FIRST, prior, post)
    # the bureaus' reports: C says done (it did nothing), the lasting hotspot's patrol says done
    for tid in (picked[2][0]["id"], stay_task["id"]):
        for to in ("received", "in_progress", "done"):
            update_status(store, tid, to, by="county-bureau",
                          note="企业已按要求落实" if to == "done" else "")
    ev = evaluate_decision(store, d.decision_id, run)
    return {"d": d, "ev": ev, "picked": picked, "cut": cut, "stay": stay_task,
            "gone": gone_task, "run": run, "county_of_cell": county_of_cell,
            "factor": factor}


def _species_of(e: dict) -> list[str]:
    sp = sorted({PLAN_SPECIES[p] for p in e["pollutants"] or [] if p in PLAN_SPECIES})
    return sp or sorted(SPECIES_SCALE)


def test_enterprises_that_did_and_did_not_reduce(setup):
    ev = setup["ev"]
    by_task = {t.task_id: t for t in ev.tasks}
    verdicts = {"A": "reduced", "B": "partly", "C": "unchanged"}
    for (t, e, cell), (name, f) in zip(setup["picked"], setup["cut"].items(), strict=True):
        te = by_task[t["id"]]
        assert te.subject_name == e["name"]
        assert te.cell == f"ZJ3KM:r{cell[0]}c{cell[1]}"
        out = te.emissions
        assert out is not None
        assert out.days == DAYS[2:] and out.before_days == DAYS[:2]
        assert out.reference == "days_before"
        assert [s.species for s in out.species] == _species_of(e)
        for s in out.species:
            base = base_field(scale=SPECIES_SCALE[s.species])[cell]
            assert s.before == pytest.approx(base, abs=2e-4)
            assert s.during == pytest.approx(base * f, abs=2e-4)
            assert s.achieved == pytest.approx(1 - f, abs=1e-3)
            assert s.target == pytest.approx(0.2)
            assert s.planned_during == pytest.approx(base * 0.8, abs=2e-4)
        assert out.verdict == verdicts[name], name
    a, c = by_task[setup["picked"][0][0]["id"]], by_task[setup["picked"][2][0]["id"]]
    assert c.reported_done and c.disagreement == "已报办结，排放未见下降"
    assert c.status_note == "企业已按要求落实"  # the bureau's words beside the model's
    assert c.disagreement_en == "reported done, emissions unchanged"
    assert not a.reported_done and a.disagreement is None and a.remark == "未报办结，排放已下降"


def area_share(code: str) -> np.ndarray:
    """Each cell's share of its area inside the county (lon/lat outlines intersected here, not
    through the adapters' weights): a county's total takes a boundary cell in part."""
    county = regions_by_code()[code].geometry
    x0, y0, x1, y1 = county.bounds
    lon, lat = ZJ3KM.cell_centers_lonlat()
    share = np.zeros((ZJ3KM.nrows, ZJ3KM.ncols))
    near = (lon > x0 - 0.05) & (lon < x1 + 0.05) & (lat > y0 - 0.05) & (lat < y1 + 0.05)
    for r, c in zip(*np.nonzero(near), strict=True):
        cell = shapely.Polygon(ZJ3KM.cell_polygon_lonlat(int(r), int(c)))
        share[r, c] = cell.intersection(county).area / cell.area
    return share


def test_counties_against_the_plan(setup):
    ev = setup["ev"]
    by_code = {c.county_code: c for c in ev.counties}
    for code, verdict in ((COUNTY_CUT, "reduced"), (COUNTY_KEEP, "unchanged")):
        c = by_code[code]
        assert c.levels == ["AlertOrange"]
        assert [s.species for s in c.emissions.species] == sorted(SPECIES_SCALE)
        share = area_share(code)
        # the cut is 25 % on the cells whose centre is in 吴兴区: its boundary cells shared with
        # a neighbour count in part, so the achieved cut is a little under 25 %
        f = float((base_field() * share * setup["factor"]).sum() / (base_field() * share).sum())
        for s in c.emissions.species:
            total = float((base_field(scale=SPECIES_SCALE[s.species]) * share).sum())
            assert s.before == pytest.approx(total, rel=2e-3)
            assert s.during == pytest.approx(total * f, rel=2e-3)
            assert s.achieved == pytest.approx(1 - f, abs=2e-3)
            assert s.target == pytest.approx(0.2)
        assert c.emissions.verdict == verdict
    cut = 1 - float((base_field() * area_share(COUNTY_CUT) * setup["factor"]).sum()
                    / (base_field() * area_share(COUNTY_CUT)).sum())
    assert 0.2 < cut <= 0.25
    # a county under a yellow city alert only: the plan's figure is 10 %
    yellow = [c for c in ev.counties if c.levels == ["AlertYellow"]]
    assert yellow and all(s.target == pytest.approx(0.1) for c in yellow
                          for s in c.emissions.species)


def test_hotspots_gone_or_still_there(setup):
    ev = setup["ev"]
    by_task = {t.task_id: t for t in ev.tasks}
    stay, gone = by_task[setup["stay"]["id"]], by_task[setup["gone"]["id"]]
    assert stay.hotspots and not stay.hotspots[0].gone
    assert stay.hotspots[0].days == DAYS[2:] and stay.hotspots[0].persisting_days == DAYS[2:]
    assert stay.disagreement == "已报办结，热点仍在"
    assert gone.hotspots and all(h.gone for h in gone.hotspots)
    assert gone.disagreement is None
    assert ev.summary.disagreements == 2


def test_in_the_graph(setup):
    d, ev = setup["d"], setup["ev"]
    store = d.store
    assert load_evaluation(store, ev.id) == ev
    assert [e["id"] for e in evaluations_of(store, d.decision_id)] == [ev.id]
    row = store.read_one(
        "MATCH (:Decision {id: $d})-[:EVALUATED_BY]->(e:Evaluation)-[:EVALUATED_ON]->"
        "(m:ModelRun) RETURN e.id AS e, m.id AS m", {"d": d.decision_id})
    assert row == {"e": ev.id, "m": "inv-later-20261128"}
    c_task = setup["picked"][2][0]["id"]
    te = store.read_one("MATCH (:Task {id: $t})-[:EVALUATED_BY]->(x:TaskEvaluation) "
                        "RETURN x.verdict AS v, x.disagreement AS dis", {"t": c_task})
    assert te == {"v": "unchanged", "dis": "已报办结，排放未见下降"}
    n = store.read_one("MATCH (:Evaluation {id: $id})-[:HAS_REGION_EVALUATION]->"
                       "(:RegionEvaluation)-[:ABOUT]->(g:AdminRegion {code: $c}) "
                       "RETURN count(g) AS n", {"id": ev.id, "c": COUNTY_CUT})
    assert n == {"n": 1}
    # evaluating the same pair again adds nothing
    before = store.read_one("MATCH (x:TaskEvaluation) RETURN count(x) AS n")
    evaluate_decision(store, d.decision_id, setup["run"])
    assert store.read_one("MATCH (x:TaskEvaluation) RETURN count(x) AS n") == before


def test_daily_fields_read_back_as_written(setup):
    days = read_emission_days(setup["run"])
    assert days.days == DAYS
    base = base_field(scale=SPECIES_SCALE["SO2"])
    np.testing.assert_allclose(days.species["SO2"].prior[0], base, rtol=1e-5)


def test_city_report_names_who_did_and_did_not_reduce(setup, tmp_path):
    ev = setup["ev"]
    huzhou = render_report(ev, "330500", "html")
    assert "湖州市重污染天气应急措施实施效果评估" in huzhou
    rows = {r.split('"')[0]: r for r in huzhou.split('data-county="')[1:]}
    share = area_share(COUNTY_CUT)
    cut = 1 - float((base_field() * share * setup["factor"]).sum() / (base_field() * share).sum())
    assert "达到计划减排" in rows[COUNTY_CUT]
    assert f"减{round(cut * 100)}%（计划20%，达标）" in rows[COUNTY_CUT]
    keep = area_share(COUNTY_KEEP)  # its boundary cells shared with 吴兴区 took the cut in part
    kept = 1 - float((base_field() * keep * setup["factor"]).sum() / (base_field() * keep).sum())
    assert "未见下降" in rows[COUNTY_KEEP]
    assert f"减{round(kept * 100)}%（计划20%，未下降）" in rows[COUNTY_KEEP]
    for (t, e, _cell), verdict in zip(setup["picked"], ("达到计划减排", "部分减排，未达计划",
                                                        "未见下降"), strict=True):
        city = next(x.city_code or x.region_code for x in ev.tasks if x.task_id == t["id"])
        md = render_report(ev, city, "md")
        section = md.split(f"### {verdict}")[1].split("###")[0].split("## 四")[0]
        assert e["name"] in section and t["id"] in section
    c_task, c_ent = setup["picked"][2][0], setup["picked"][2][1]
    city = next(x.city_code or x.region_code for x in ev.tasks if x.task_id == c_task["id"])
    md = render_report(ev, city, "md")
    first = md.split("## 一、上报与模型不一致")[1].split("## 二")[0]
    assert c_ent["name"] in first and "已报办结，排放未见下降" in first
    section = md.split("### 未见下降")[1].split("## 四")[0]
    row = next(line for line in section.splitlines() if c_task["id"] in line)
    assert "已办结：企业已按要求落实" in row and "已报办结，排放未见下降" in row
    files = write_reports(ev, tmp_path / "reports")
    assert "330500" in files and set(files["330500"]) == {"html", "md"}
    assert render_report(ev, "330500", "html") == render_report(ev, "330500", "html")


def test_api_and_cli(setup, tmp_path):
    d, ev = setup["d"], setup["ev"]
    with api_client(d.store, tmp_path) as api:
        r = api.get(f"/decisions/{d.decision_id}/evaluations", "commander")
        assert r.status_code == 200, r.text
        assert [e["id"] for e in r.json()] == [ev.id]
        assert r.json()[0]["summary"]["disagreements"] == 2
        r = api.get(f"/evaluations/{ev.id}", "commander")
        assert r.status_code == 200 and r.json()["summary"] == ev.summary.model_dump()
        r = api.get(f"/evaluations/{ev.id}/documents/330500?format=md", "commander")
        assert r.status_code == 200 and "湖州市" in r.text
        assert api.get(f"/evaluations/{ev.id}", "investigator").status_code == 403
        # a city's commander key sees its own tasks and counties only
        city = next(t.city_code for t in ev.tasks if t.task_id == setup["picked"][2][0]["id"])
        key = KeyStore(tmp_path / "keys.json").create("city-commander", ["commander"],
                                                      regions=[city])
        r = api.client.get(f"/evaluations/{ev.id}", headers={"X-API-Key": key})
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["tasks"] and all((t["city_code"] or t["region_code"]) == city
                                    or t["region_code"] == city for t in got["tasks"])
        assert all(c["city_code"] == city for c in got["counties"])
        other = "330500" if city != "330500" else "330100"
        r = api.client.get(f"/evaluations/{ev.id}/documents/{other}",
                           headers={"X-API-Key": key})
        assert r.status_code == 403
        assert api.get("/evaluations/eval-0000000000000000", "commander").status_code == 404
        r = api.post(f"/decisions/{d.decision_id}/evaluations", "commander",
                     json={"run_dir": str(setup["run"])})
        assert r.status_code == 200, r.text
        assert r.json()["id"] == ev.id
        r = api.post(f"/decisions/{d.decision_id}/evaluations", "commander",
                     json={"run_dir": str(tmp_path / "nothing")})
        assert r.status_code == 404
    out = CliRunner().invoke(app, ["decisions", "evaluate", d.decision_id, str(setup["run"]),
                                   "--out", str(tmp_path / "cli")])
    assert out.exit_code == 0, out.output
    assert f"{COUNTY_CUT}" in out.output and "已报办结，排放未见下降" in out.output
    assert (tmp_path / "cli").is_dir() and any((tmp_path / "cli").glob("*_330500_效果评估.md"))
    out = CliRunner().invoke(app, ["decisions", "evaluation", ev.id, "--city", "330500"])
    assert out.exit_code == 0 and "湖州市" in out.output


def test_a_run_without_inversion_is_refused_by_name(setup, tmp_path):
    """A forecast-only run: a clear error naming its run.json, nothing saved."""
    run = tmp_path / "fc"
    run.mkdir()
    shutil.copy(setup["run"] / "emis_prior.nc", run / "CCTM_ACONC.nc")
    (run / "run.json").write_text('{"id": "fc-only", "outputs": [{"kind": "forecast", '
                                  '"format": "ioapi", "path": "CCTM_ACONC.nc"}]}',
                                  encoding="utf-8")
    with pytest.raises(ManifestError, match=r"fc/run.json.*no inversion output"):
        read_emission_days(run)
    n = setup["d"].store.read_one("MATCH (e:Evaluation) RETURN count(e) AS n")
    with pytest.raises(ManifestError):
        evaluate_decision(setup["d"].store, setup["d"].decision_id, run)
    assert setup["d"].store.read_one("MATCH (e:Evaluation) RETURN count(e) AS n") == n


def test_without_days_before_the_inventory_is_the_reference(setup, tmp_path):
    """A later run covering only the measure days: compared with its prior, and saying so."""
    d = setup["d"]
    prior, post = {}, {}
    for sp, scale in SPECIES_SCALE.items():
        base = base_field(scale=scale)
        prior[sp] = np.stack([base] * 2)
        post[sp] = np.stack([base * 0.85] * 2)
    run = write_inversion_run(tmp_path / "run", "inv-measure-days-only", DAYS[2], prior, post)
    cfg = load_evaluation_config()
    ev = evaluate(read_plan(d.store, d.decision_id, cfg.plan_measure), read_emission_days(run),
                  cfg)
    a = next(t for t in ev.tasks if t.task_id == setup["picked"][0][0]["id"])
    assert a.emissions.reference == "prior" and a.emissions.before_days == []
    assert all(s.achieved == pytest.approx(0.15, abs=1e-3) and s.status == "short"
               for s in a.emissions.species)
    c = next(c for c in ev.counties if c.county_code == COUNTY_CUT)
    assert c.emissions.reference == "prior" and c.emissions.verdict == "partly"
    # hotspots found on 11-25 are looked for on the later days 11-26/27: none is left
    assert ev.summary.hotspots_persisting == 0 and ev.summary.hotspots_gone > 0


def test_daily_records_and_a_partial_first_day(tmp_path):
    """Inversions written one record per day read as those days; an hourly file starting at
    noon loses its half day (named in the notes), never averaging it in as a whole one."""
    base = base_field()
    prior = {sp: np.stack([base] * 3) for sp in SPECIES_SCALE}
    post = {sp: np.stack([base, base * 0.9, base * 0.8]) for sp in SPECIES_SCALE}
    days = read_emission_days(write_daily_inversion_run(tmp_path / "daily", "d", DAYS[1], prior,
                                                        post))
    assert days.days == DAYS[1:4]
    np.testing.assert_allclose(days.species["NOx"].posterior[2], base * 0.8, rtol=1e-5)
    run = write_inversion_run(tmp_path / "noon", "n", DAYS[0], prior, post, start_hour=12)
    days = read_emission_days(run)
    assert days.days == DAYS[1:3]  # 24 noon .. 27 noon: the whole days 25 and 26
    assert "emis_prior.nc: 24 record(s) outside a whole Beijing day left out" in days.notes
