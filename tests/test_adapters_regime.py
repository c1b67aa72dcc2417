"""O3 formation regime per county from the forecast's HCHO/NO2 ratio (FACTS.md §5)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from adapters_fixtures import forecast_run

from ecobrain.model_adapters import collect_findings
from ecobrain.model_adapters.regime import load_regime_config

DAY = dt.date(2026, 7, 1)


def _regimes(tmp_path, hcho_ppb, no2_ppb, **kw):
    run = forecast_run(tmp_path / "r", day=DAY, days=1,
                       values={"FORM": np.asarray(hcho_ppb) / 1000.0,
                               "NO2": np.asarray(no2_ppb) / 1000.0, "O3": 0.05})
    return collect_findings(run, ["regime"], stations=[], **kw)


@pytest.mark.parametrize(("hcho", "no2", "regime"), [
    (2.0, 2.0, "VOCLimited"),      # 1.0 < 2.3
    (6.0, 2.0, "Transitional"),    # 3.0 in [2.3, 4.2]
    (4.62, 2.0, "Transitional"),   # 2.31
    (9.0, 2.0, "NOxLimited"),      # 4.5 > 4.2
])
def test_default_thresholds_wang_2021(tmp_path, hcho, no2, regime):
    res = _regimes(tmp_path, hcho, no2)
    r = next(x for x in res.regimes if x.region_code == "330102")
    assert r.regime == regime and r.ratio == pytest.approx(hcho / no2, rel=1e-4)
    assert r.threshold_source == "Wang2021"
    assert r.thresholds == {"voc_limited_below": 2.3, "nox_limited_above": 4.2}
    assert {x.region_level for x in res.regimes} == {"county"}
    assert len(res.regimes) == 90


def test_band_edges_are_transitional():
    cfg = load_regime_config()
    assert cfg.classify(np.array([2.2999, 2.3, 4.2, 4.2001])).tolist() == [
        "VOCLimited", "Transitional", "Transitional", "NOxLimited"]


def test_duncan_2010_is_the_documented_alternative(tmp_path):
    cfg = load_regime_config(set_id="Duncan2010")
    res = _regimes(tmp_path, 3.0, 2.0, regime_config=cfg)  # 1.5 in [1, 2]
    assert {r.regime for r in res.regimes} == {"Transitional"}
    assert res.regimes[0].threshold_source == "Duncan2010"


def test_ratio_is_taken_over_the_configured_beijing_hours(tmp_path):
    local = np.arange(24)
    hcho = np.where((local >= 12) & (local < 15), 10.0, 1.0)  # high only 12-15 h
    res = _regimes(tmp_path, hcho, 2.0)
    r = res.regimes[0]
    assert r.hours == (12, 15) and r.ratio == pytest.approx(5.0) and r.regime == "NOxLimited"
    assert r.provenance.time_index == (12, 14)
    res = _regimes(tmp_path / "b", hcho, 2.0, regime_config=load_regime_config(hours=(0, 24)))
    assert res.regimes[0].ratio == pytest.approx((3 * 10 + 21) / 24 / 2.0)


def test_no_formaldehyde_means_no_regime_and_a_note(tmp_path):
    run = forecast_run(tmp_path / "r", day=DAY, days=1, values={"NO2": 0.01, "O3": 0.05})
    res = collect_findings(run, ["regime"], stations=[])
    assert res.regimes == [] and any("no O3 regime" in n for n in res.notes)
