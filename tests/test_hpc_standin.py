"""The stand-in model: a scenario run that responds linearly to the DESID factors by ISAM tag."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np
import pytest
from hpc_helpers import baseline_run

from ecobrain.hpc_jobs import desid
from ecobrain.hpc_jobs.standin_model import (
    RESPONSE,
    StandinError,
    concentration_factors,
    run_standin,
    tag_emission_factors,
)
from ecobrain.model_adapters import collect_findings, load_run
from ecobrain.model_adapters.files.manifest import TagSpec
from ecobrain.ontology.concepts import Ontology

MECH = "cb6r5_ae7_aq"


@dataclass
class F:
    region: str
    sector: str
    species: str
    factor: float


def _rules(*factors: F) -> list[desid.ScalingRule]:
    onto = Ontology()
    return desid.rules_for_factors(factors, desid.load_mapping(), MECH,
                                   {f.sector: onto.descendants(f.sector) for f in factors})


TAGS = {
    "HZIND": TagSpec(region="330100", sector="industry"),
    "HZMOB": TagSpec(region="330100", sector="MobileSource"),
    "NBPWR": TagSpec(region="330200", sector="Power"),
    "OUTZJ": TagSpec(region="outside", sector="regional"),
}


def test_factors_reach_only_the_matching_tags() -> None:
    rules = _rules(F("330100", "IndustrialSource", "NOx", 0.5),
                   F("330100", "IndustrialSource", "VOCs", 0.5))
    e, unmatched = tag_emission_factors(TAGS, rules, desid.load_mapping(), MECH)
    assert e["HZIND"]["NOx"] == pytest.approx(0.5) and e["HZIND"]["VOCs"] == pytest.approx(0.5)
    assert e["HZIND"]["PM2_5"] == 1.0
    for other in ("HZMOB", "NBPWR", "OUTZJ"):
        assert all(v == 1.0 for v in e[other].values()), other
    assert unmatched == []
    c = concentration_factors(e)
    assert c["HZIND"]["O3"] == pytest.approx(0.5)  # O3: half NOx, half VOCs
    assert c["HZIND"]["PM2_5"] == pytest.approx(1 - 0.5 * (RESPONSE["PM2_5"]["NOx"]
                                                           + RESPONSE["PM2_5"]["VOCs"]))


def test_partial_streams_and_sub_regions_are_weighted() -> None:
    # One industrial sub-sector of a tag that covers all industry: a share of its streams.
    rules = _rules(F("330100", "Petrochemical", "NOx", 0.0))
    e, _ = tag_emission_factors(TAGS, rules, desid.load_mapping(), MECH)
    n_streams = len(desid.load_mapping().streams_for(
        "IndustrialSource", Ontology().descendants("IndustrialSource")))
    assert e["HZIND"]["NOx"] == pytest.approx(1 - 1 / n_streams)
    # A county of the tag's city: its area share.
    rules = _rules(F("330102", "IndustrialSource", "NOx", 0.0))
    e, _ = tag_emission_factors(TAGS, rules, desid.load_mapping(), MECH)
    assert 0.9 < e["HZIND"]["NOx"] < 1.0
    # A rule on the whole province reaches every Zhejiang tag but not transport from outside.
    rules = _rules(F("330000", "MobileSource", "NOx", 0.6))
    e, _ = tag_emission_factors(TAGS, rules, desid.load_mapping(), MECH)
    assert e["HZMOB"]["NOx"] == pytest.approx(0.6) and e["OUTZJ"]["NOx"] == 1.0


def test_rules_matching_no_tag_are_reported() -> None:
    rules = _rules(F("330300", "Power", "SO2", 0.5))  # Wenzhou power: no tag for it
    e, unmatched = tag_emission_factors(TAGS, rules, desid.load_mapping(), MECH)
    assert all(v == 1.0 for f in e.values() for v in f.values())
    assert unmatched == ["R330300 PT_POWER SO2 GAS x0.5"]


def test_only_multiply_rules() -> None:
    rules = [desid.ScalingRule("EVERYWHERE", "ALL", "NO", "NO", "GAS", 2.0, "UNIT", "o")]
    with pytest.raises(StandinError, match="only applies multiply"):
        tag_emission_factors(TAGS, rules, desid.load_mapping(), MECH)


@pytest.fixture(scope="module")
def scenario_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("standin")
    rules = _rules(F("330100", "IndustrialSource", "PM2_5", 0.5),
                   F("330100", "IndustrialSource", "SO2", 0.5),
                   F("330100", "IndustrialSource", "NOx", 0.5),
                   F("330100", "IndustrialSource", "VOCs", 0.5))
    nml = tmp / "rules.nml"
    nml.write_text(desid.render_chem_namelist(rules, "test"), encoding="utf-8")
    # As a batch job would: the module's command line.
    cp = subprocess.run([sys.executable, "-m", "ecobrain.hpc_jobs.standin_model", "--baseline",
                         str(baseline_run()), "--rules", str(nml), "--out", str(tmp / "run"),
                         "--run-id", "scenario-test-1"], capture_output=True, text=True)
    assert cp.returncode == 0, cp.stderr
    return tmp / "run"


def test_scenario_run_is_a_valid_run_whose_tags_still_close(scenario_run: Path) -> None:
    run = load_run(scenario_run)
    assert run.id == "scenario-test-1" and "stand-in" in (run.manifest.model or "")
    base = load_run(baseline_run())
    assert [o.kind for o in run.manifest.outputs] == ["forecast", "attribution"]
    assert run.outputs("attribution")[0].tags.keys() == base.outputs("attribution")[0].tags.keys()
    # The adapters read it, including the ISAM closure check (tags sum to the bulk).
    found = collect_findings(run, kinds=["forecast", "attribution"], stations=[],
                             include_hourly=False)
    assert found.daily_aqi and found.attribution
    report = json.loads((scenario_run / "standin-report.json").read_text())
    assert report["tag_concentration_factors"]["HZIND"]["PM2_5"] == pytest.approx(0.55)


def test_concentrations_respond_linearly_to_tag_contributions(scenario_run: Path) -> None:
    base = baseline_run()
    with netCDF4.Dataset(base / "CCTM_ACONC_zj3km.nc") as b, \
            netCDF4.Dataset(scenario_run / "CCTM_ACONC_zj3km.nc") as s, \
            netCDF4.Dataset(base / "CCTM_SA_ACONC_zj3km.nc") as sa:
        pm_b = b.variables["PM25"][:].astype(float)
        pm_s = s.variables["PM25"][:].astype(float)
        hz = sa.variables["PM25_HZIND"][:].astype(float)
        total = sum(sa.variables[v][:].astype(float) for v in sa.variables
                    if v.startswith("PM25_"))
        expected = pm_b * (1 - 0.45 * hz / total)  # f = 0.55 on the HZIND tag
        np.testing.assert_allclose(pm_s, expected, rtol=2e-4, atol=1e-3)
        o3_b, o3_s = b.variables["O3"][:], s.variables["O3"][:]
        assert (o3_s <= o3_b + 1e-9).all() and (o3_s < o3_b).any()
        np.testing.assert_array_equal(b.variables["NO2"][:], s.variables["NO2"][:])
        pm10_drop = b.variables["PM10"][:].astype(float) - s.variables["PM10"][:]
        np.testing.assert_allclose(pm10_drop, pm_b - pm_s, atol=2e-3)


def test_bad_baseline_is_a_clear_error(tmp_path: Path) -> None:
    nml = tmp_path / "rules.nml"
    nml.write_text(desid.render_chem_namelist(_rules(F("330100", "Power", "NOx", 0.5)), "t"))
    cp = subprocess.run([sys.executable, "-m", "ecobrain.hpc_jobs.standin_model", "--baseline",
                         str(tmp_path / "nothing"), "--rules", str(nml), "--out",
                         str(tmp_path / "o"), "--run-id", "x"], capture_output=True, text=True)
    assert cp.returncode == 1
    assert "ecobrain stand-in model: ManifestError" in cp.stderr and "not a directory" in cp.stderr
    assert not (tmp_path / "o" / "run.json").exists()
    forecast_only = tmp_path / "fc"
    forecast_only.mkdir()
    (forecast_only / "f.nc").write_bytes(b"")
    (forecast_only / "run.json").write_text(json.dumps({"id": "b", "outputs": [
        {"kind": "forecast", "format": "ioapi", "path": "f.nc"}]}))
    with pytest.raises(StandinError, match="needs the baseline's ISAM attribution"):
        run_standin(forecast_only, nml, tmp_path / "o2", "x")
