"""The episode library and analogue search.

The planted past episode is the sample run's real PM2.5 episode, decided, approved and
evaluated here; 48 other episodes (PM2.5, and a few O3) fill the library to 50 with
plausible signatures (random county sets of Zhejiang, durations, peaks, attribution and regime
mixes, start dates 2019-2026). The new episode is the planted one a year later, with a county
more, a county less and its shares moved a little: it must find the planted one first, with
what was done then and how it evaluated.
"""

from __future__ import annotations

import datetime as dt

import netCDF4
import numpy as np
import pytest
from api_helpers import api_client
from evaluation_runs import base_field, write_inversion_run
from kb_fixture import issue_all
from typer.testing import CliRunner

from ecobrain.api.cli.app import app
from ecobrain.model_adapters.daily import BEIJING
from ecobrain.model_adapters.files.ioapi_writer import IOAPIWriter, VarSpec
from ecobrain.model_adapters.files.manifest import load_run
from ecobrain.model_adapters.files.registry import open_gridded
from ecobrain.model_adapters.meteorology import file_meteorology, run_meteorology
from ecobrain.ontology.geography import RegionIndex, zhejiang_regions
from ecobrain.ontology.grid import ZJ3KM
from ecobrain.reasoning.evaluation.analogues import (
    components,
    distance,
    find_analogues,
    load_analogue_config,
    rank,
)
from ecobrain.reasoning.evaluation.episodes import (
    EpisodeSignature,
    episodes_of,
    library,
    save_episodes,
)
from ecobrain.reasoning.evaluation.evaluation_store import evaluate_decision
from ecobrain.reasoning.evaluation.post_measure import load_evaluation_config

REAL = "/work/shared/data/real/mcip/openmethane_METCRO3D_220701_aust-test"


def _sig(**kw) -> EpisodeSignature:
    base = {"id": "ep-x", "run_id": "r", "pollutant": "PM2_5", "start": dt.date(2026, 1, 10),
            "end": dt.date(2026, 1, 12), "duration_days": 3, "peak_aqi": 200,
            "counties": ["330102"], "cities": ["330100"]}
    return EpisodeSignature(**{**base, **kw})


def test_distance_by_hand():
    cfg = load_analogue_config()
    a = _sig(id="a", duration_days=4, peak_aqi=300, counties=["330102", "330105", "330106"],
             attribution_region={"330100": 0.6, "outside": 0.4},
             attribution_sector={"industry": 1.0}, start=dt.date(2026, 1, 10),
             meteorology={"pbl_m": 400.0, "wind_m_s": 1.0})
    b = _sig(id="b", duration_days=2, peak_aqi=150, counties=["330105", "330106", "330108"],
             attribution_region={"330100": 0.3, "outside": 0.5, "boundary": 0.2},
             start=dt.date(2025, 12, 31), meteorology={"pbl_m": 650.0, "temp_k": 280.0})
    comp = components(a, b, cfg)
    # duration 2/4, peak 150/300, counties 2 shared of 4, TV ½(0.3+0.1+0.2), 10 days apart,
    # PBL 250/500 (wind and temperature are on one side only; sector and regime too)
    assert comp == pytest.approx({"duration": 0.5, "peak": 0.5, "regions": 0.5,
                                  "attribution_region": 0.3, "season": 10 / 182.5,
                                  "meteorology": 0.5})
    w = {"duration": 1, "peak": 1, "regions": 2, "attribution_region": 2, "season": 1,
         "meteorology": 2}
    expected = (0.5 + 0.5 + 2 * 0.5 + 2 * 0.3 + 10 / 182.5 + 2 * 0.5) / sum(w.values())
    assert distance(a, b, cfg) == pytest.approx(expected)
    assert distance(a, a, cfg) == 0.0
    assert distance(a, b.model_copy(update={"pollutant": "O3"}), cfg) == 1.0
    assert distance(a, b, cfg) == pytest.approx(distance(b, a, cfg))


def _random_library(rng: np.random.Generator, n: int, start_id: int) -> list[EpisodeSignature]:
    counties = sorted(r.code for r in zhejiang_regions() if r.level == "county")
    region_keys = ["330100", "330200", "330400", "330500", "outside", "boundary", "initial",
                   "other"]
    sector_keys = ["industry", "MobileSource", "Power", "regional", "boundary", "initial",
                   "other"]
    out = []
    for i in range(n):
        pollutant = "O3" if i % 10 == 9 else "PM2_5"
        k = int(rng.integers(3, 35))
        cs = sorted(rng.choice(counties, size=k, replace=False).tolist())
        start = dt.date(2019, 1, 1) + dt.timedelta(days=int(rng.integers(0, 8 * 365)))
        dur = int(rng.integers(1, 8))
        ra = rng.dirichlet(np.ones(len(region_keys)))
        sa = rng.dirichlet(np.ones(len(sector_keys)))
        rg = rng.dirichlet(np.ones(3))
        out.append(EpisodeSignature(
            id=f"ep-lib-{start_id + i:03d}", decision_id=None, run_id=f"lib-{i}",
            pollutant=pollutant, start=start, end=start + dt.timedelta(days=dur - 1),
            duration_days=dur, peak_aqi=int(rng.integers(101, 420)), counties=cs,
            cities=sorted({c[:4] + "00" for c in cs}),
            attribution_region=dict(zip(region_keys, np.round(ra, 4).tolist(), strict=True)),
            attribution_sector=dict(zip(sector_keys, np.round(sa, 4).tolist(), strict=True)),
            regime=dict(zip(["NOxLimited", "Transitional", "VOCLimited"],
                            np.round(rg, 4).tolist(), strict=True))))
    return out


@pytest.fixture(scope="module")
def decided_library(module_decided, tmp_path_factory):
    d = module_decided
    issue_all(d)
    # a later inversion with a 30 % cut everywhere during the measure: the past decision's
    # evaluation, shown beside its episode
    first = dt.date(2026, 11, 24)
    prior, post = {}, {}
    for sp, scale in {"NOx": 1.0, "SO2": 0.5, "VOCs": 2.0, "PM2_5": 0.3}.items():
        b = base_field(scale=scale)
        prior[sp] = np.stack([b] * 4)
        post[sp] = np.stack([b, b, b * 0.7, b * 0.7])
    run = write_inversion_run(tmp_path_factory.mktemp("later") / "run", "inv-lib", first,
                              prior, post)
    ev = evaluate_decision(d.store, d.decision_id, run)
    past = next(e for e in episodes_of(d.store, d.decision_id) if e.pollutant == "PM2_5")
    distractors = _random_library(np.random.default_rng(17), 48, 0)
    save_episodes(d.store, distractors)
    return d, past, ev


def test_decided_episode_has_its_signature(decided_library):
    d, past, _ev = decided_library
    eps = {e.pollutant: e for e in episodes_of(d.store, d.decision_id)}
    assert set(eps) == {"PM2_5", "O3"}
    # the sample run plants its PM2.5 episode over Hangzhou, Huzhou, Jiaxing and Shaoxing
    assert {"330100", "330400", "330500", "330600"} <= set(past.cities)
    assert past.start == dt.date(2026, 11, 26) and past.duration_days == 2
    assert past.peak_aqi > 200
    assert sum(past.attribution_region.values()) == pytest.approx(1.0, abs=2e-3)
    assert sum(past.attribution_sector.values()) == pytest.approx(1.0, abs=2e-3)
    assert set(past.regime) <= {"NOxLimited", "Transitional", "VOCLimited"}
    assert past.meteorology == {}  # the sample run names no MCIP files
    n = d.store.read_one("MATCH (e:PollutionEpisode {id: $id})-[:AFFECTS]->(g:AdminRegion) "
                         "RETURN count(g) AS n", {"id": past.id})
    assert n == {"n": len(past.counties)}


def test_planted_past_episode_comes_first_of_50(decided_library):
    d, past, ev = decided_library
    lib = library(d.store, "PM2_5") + library(d.store, "O3")
    assert len(lib) == 50  # 48 distractors + the decision's PM2.5 and O3 episodes
    rng = np.random.default_rng(3)
    counties = [c for c in past.counties if c != past.counties[0]] + ["330782"]
    shares = {k: max(0.0, v + float(rng.normal(0, 0.02)))
              for k, v in past.attribution_region.items()}
    new = past.model_copy(update={
        "id": "ep-new", "decision_id": None, "run_id": "zj3km-2027112312",
        "start": past.start.replace(year=2027), "end": past.end.replace(year=2027),
        "duration_days": 3, "peak_aqi": past.peak_aqi - 20, "counties": sorted(counties),
        "attribution_region": {k: v / sum(shares.values()) for k, v in shares.items()}})
    found = find_analogues(d.store, new, k=5)
    assert found[0].episode.id == past.id
    assert found[0].distance < found[1].distance
    assert all(a.episode.pollutant == "PM2_5" for a in found)
    done = found[0].done
    assert done["decision_id"] == d.decision_id and done["review_status"] == "approved"
    assert done["tasks_by_measure"]["StopPartialLines"] > 0
    assert done["alerts_by_level"]["AlertOrange"] > 0
    assert [e["id"] for e in found[0].evaluations] == [ev.id]
    assert found[0].evaluations[0]["summary"]["counties"] == ev.summary.counties
    # a query from the past decision itself never returns its own episode
    assert all(c.id != past.id for _dist, c in rank(past, lib, k=50))


def test_analogues_api_and_cli(decided_library, tmp_path):
    d, past, _ev = decided_library
    with api_client(d.store, tmp_path) as api:
        r = api.get(f"/decisions/{d.decision_id}/episodes", "commander")
        assert r.status_code == 200, r.text
        assert {e["pollutant"] for e in r.json()} == {"PM2_5", "O3"}
        r = api.get(f"/episodes/{past.id}/analogues?k=3", "commander")
        assert r.status_code == 200, r.text
        assert len(r.json()) == 3 and all(a["episode"]["id"] != past.id for a in r.json())
        assert api.get("/episodes/ep-0000000000000000/analogues", "commander").status_code \
            == 404
    out = CliRunner().invoke(app, ["episodes", "analogues", past.id, "--k", "3"])
    assert out.exit_code == 0, out.output
    assert out.output.count("ep-lib-") == 3


# --------------------------------------------------------------------------- meteorology


def test_meteorology_of_a_real_mcip_file():
    """openmethane's METCRO3D (southern-hemisphere Lambert, instants): TA's lowest layer."""
    f = open_gridded(REAL, "ioapi", label="METCRO3D", timestamp="instant")
    try:
        m = file_meteorology(f, [], None)
    finally:
        f.close()
    with netCDF4.Dataset(REAL) as nc:
        ta = np.asarray(nc.variables["TA"][:, 0], dtype=np.float64)
    assert m.values == {"temp_k": pytest.approx(round(float(ta.mean()), 3))}
    assert m.sources == {"temp_k": "METCRO3D:TA (layer 1)"}


def test_meteorology_over_the_episode_counties(tmp_path):
    """A METCRO2D on the province grid: PBL, WSPD10 and TEMP2 known per county and hour."""
    county = RegionIndex.counties().locate(*ZJ3KM.cell_centers_lonlat())
    inside = county == "330502"
    start = dt.datetime(2026, 11, 25, 8, tzinfo=dt.UTC).astimezone(BEIJING)  # 16:00 BJT
    hours = 40  # 16:00 of 11-25 to 07:00 of 11-27 (Beijing)
    specs = [VarSpec("PBL", "M", "PBL height"), VarSpec("WSPD10", "M/S", "wind speed 10 m"),
             VarSpec("TEMP2", "K", "temperature 2 m")]
    path = tmp_path / "METCRO2D_zj3km"
    with IOAPIWriter(path, ZJ3KM, specs, start, 3600, upnam="MCIP") as w:
        for h in range(hours):
            pbl = np.where(inside, 300.0 + 10 * h, 900.0)
            w.write(h, {"PBL": pbl[None], "WSPD10": np.full((1, *pbl.shape), 2.0),
                        "TEMP2": np.where(inside, 280.0, 290.0)[None]})
    (tmp_path / "run.json").write_text(
        '{"id": "met", "outputs": [{"kind": "meteorology", "format": "ioapi", '
        '"path": "METCRO2D_zj3km"}]}', encoding="utf-8")
    m = run_meteorology(load_run(tmp_path), [dt.date(2026, 11, 26)], ["330502"])
    assert m is not None
    # 11-26 (Beijing) is hours 8..31 of the file: PBL 300 + 10 h, mean over h = 8..31
    assert m.values["pbl_m"] == pytest.approx(300 + 10 * np.mean(np.arange(8, 32)))
    assert m.values["wind_m_s"] == pytest.approx(2.0)
    assert m.values["temp_k"] == pytest.approx(280.0)


def test_a_bad_configuration_names_its_file(tmp_path):
    bad = tmp_path / "analogues.yaml"
    bad.write_text("weights: {duration: one}\nmeteorology_scales: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"analogues.yaml: ValueError"):
        load_analogue_config(str(bad))
    bad = tmp_path / "evaluation.yaml"
    bad.write_text("unchanged_below: 0.05\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"evaluation.yaml: KeyError: 'species_of_pollutant'"):
        load_evaluation_config(str(bad))
