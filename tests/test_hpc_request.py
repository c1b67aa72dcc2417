"""Run requests: shape and meaning, every bad input named with file, field and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hpc_helpers import baseline_run

from ecobrain.hpc_jobs.render import available_models
from ecobrain.hpc_jobs.request import (
    RequestError,
    RunRequest,
    check_request,
    load_request,
    parse_request,
    parse_time_limit,
    request_id,
)
from ecobrain.hpc_jobs.settings import JobsConfigError, JobsSettings, jobs_settings

SCENARIO = """\
kind: scenario
model: standin
name: Ningbo petrochemical VOCs -20 %
resources:
  time_limit: "00:30:00"
scenario:
  baseline_run: {baseline}
  measure: LDAR at petrochemical plants
  factors:
    - {{region: "330200", sector: Petrochemical, species: VOCs, factor: 0.8}}
    - {{region: "330100", sector: IndustrialSource, species: NOx, factor: 0.9}}
"""


def _models() -> dict:
    return available_models(JobsSettings())


def _problems(exc: RequestError) -> dict[str, str]:
    return {f: m for f, m, _ in exc.problems}


def test_valid_scenario_request_checks_and_resolves_baseline(tmp_path: Path) -> None:
    p = tmp_path / "req.yaml"
    p.write_text(SCENARIO.format(baseline=baseline_run()), encoding="utf-8")
    req = load_request(p)
    assert req.kind == "scenario" and req.scenario is not None
    assert [f.factor for f in req.scenario.factors] == [0.8, 0.9]
    assert req.resources.time_limit_seconds == 1800
    base = check_request(req, str(p), models=_models())
    assert base == baseline_run().resolve()


def test_json_requests_are_accepted_too(tmp_path: Path) -> None:
    doc = {"kind": "forecast", "model": "cmaq", "start": "2026-11-26T00:00:00+08:00",
           "hours": 72, "resources": {"nodes": 2, "tasks": 64, "partition": "hpc"}}
    req = parse_request(json.dumps(doc), "req.json")
    assert req.hours == 72 and req.resources.tasks == 64
    check_request(req, "req.json", models=_models())


def test_request_id_is_content_not_order_or_name() -> None:
    text = SCENARIO.format(baseline="/runs/b")
    a = parse_request(text)
    swapped = text.replace("Ningbo petrochemical VOCs -20 %", "another label")
    lines = swapped.splitlines()
    lines[-1], lines[-2] = lines[-2], lines[-1]  # factors in the other order
    b = parse_request("\n".join(lines) + "\n")
    assert request_id(a) == request_id(b)
    c = parse_request(text.replace("factor: 0.8", "factor: 0.75"))
    assert request_id(c) != request_id(a)
    assert request_id(a).startswith("req-") and len(request_id(a)) == 20


def test_shape_errors_name_field_and_line() -> None:
    text = SCENARIO.format(baseline="/runs/b").replace("factor: 0.8", "factor: -0.2")
    text = text.replace('time_limit: "00:30:00"', 'time_limit: "soon"')
    with pytest.raises(RequestError) as ei:
        parse_request(text, "req.yaml")
    exc = ei.value
    by_field = {f: (m, line) for f, m, line in exc.problems}
    assert "greater than or equal to 0" in by_field["scenario.factors[0].factor"][0]
    assert by_field["scenario.factors[0].factor"][1] == 10
    assert "'soon' is not a time limit" in by_field["resources.time_limit"][0]
    assert by_field["resources.time_limit"][1] == 5
    assert str(exc).startswith("req.yaml: invalid run request")


@pytest.mark.parametrize("doc, field, words", [
    ({"kind": "scenario", "model": "standin"}, "", "needs 'scenario'"),
    ({"kind": "forecast", "model": "cmaq"}, "", "needs 'start' and 'hours'"),
    ({"kind": "nowcast", "model": "cmaq"}, "kind", "'forecast', 'attribution'"),
    ({"kind": "forecast", "model": "cmaq", "start": "2026-11-26T00:00:00", "hours": 24},
     "start", "UTC offset"),
    ({"kind": "forecast", "model": "cmaq", "start": "2026-11-26T00:00:00+08:00", "hours": 24,
      "colour": "red"}, "colour", "Extra inputs"),
    ({"kind": "forecast", "model": "cmaq", "start": "2026-11-26T00:00:00+08:00", "hours": 24,
      "resources": {"memory": "lots"}}, "resources.memory", "not a memory size"),
])
def test_shape_problems(doc: dict, field: str, words: str) -> None:
    with pytest.raises(RequestError) as ei:
        parse_request(json.dumps(doc), "r.json")
    msgs = " | ".join(m for f, m, _ in ei.value.problems if f == (field or "(top level)")
                      or (not field and f == ""))
    assert words in msgs or words in str(ei.value), str(ei.value)


def test_not_yaml_and_not_a_mapping() -> None:
    with pytest.raises(RequestError, match="not valid YAML/JSON"):
        parse_request("kind: [unclosed", "r.yaml")
    with pytest.raises(RequestError, match="must be a mapping"):
        parse_request("- 1\n- 2\n", "r.yaml")
    with pytest.raises(RequestError, match="file not found"):
        load_request("/nonexistent/req.yaml")


def test_meaning_errors_all_reported_at_once(tmp_path: Path) -> None:
    text = (SCENARIO.format(baseline=tmp_path / "no-such-run")
            .replace('region: "330200"', 'region: "339999"')
            .replace("sector: Petrochemical", "sector: Petrochemistry")
            .replace("species: NOx", "species: Smog"))
    req = parse_request(text, "req.yaml")
    with pytest.raises(RequestError) as ei:
        check_request(req, "req.yaml", models=_models())
    p = _problems(ei.value)
    assert "not a Zhejiang region code" in p["scenario.factors[0].region"]
    assert "unknown sector 'Petrochemistry'" in p["scenario.factors[0].sector"]
    assert "did you mean Petrochemical" in p["scenario.factors[0].sector"]
    assert "unknown species 'Smog'" in p["scenario.factors[1].species"]
    assert "not found" in p["scenario.baseline_run"]


def test_kinds_of_concept_and_mapping_gaps() -> None:
    text = (SCENARIO.format(baseline=baseline_run())
            .replace("sector: Petrochemical", "sector: VOCs")  # a pollutant, not a sector
            .replace("species: NOx", "species: O3"))  # a pollutant DESID cannot scale
    req = parse_request(text)
    with pytest.raises(RequestError) as ei:
        check_request(req, models=_models())
    p = _problems(ei.value)
    assert "is a Pollutant, not a Sector" in p["scenario.factors[0].sector"]
    assert "'O3' has no CMAQ species" in p["scenario.factors[1].species"]


def test_sector_without_stream_and_duplicate_factor() -> None:
    text = SCENARIO.format(baseline=baseline_run()).replace(
        'region: "330100", sector: IndustrialSource, species: NOx',
        'region: "330200", sector: Petrochemical, species: VOCs')
    text += '    - {region: "330300", sector: Fireworks, species: PM2_5, factor: 0.5}\n'
    with pytest.raises(RequestError) as ei:
        check_request(parse_request(text), models=_models())
    p = _problems(ei.value)
    assert "same region, sector and species as factors[0]" in p["scenario.factors[1]"]
    assert "'Fireworks' has no emission stream" in p["scenario.factors[2].sector"]


def test_baseline_without_manifest_and_unknown_model(tmp_path: Path) -> None:
    empty = tmp_path / "empty-run"
    empty.mkdir()
    text = SCENARIO.format(baseline=empty).replace("model: standin", "model: wrf")
    with pytest.raises(RequestError) as ei:
        check_request(parse_request(text), models=_models())
    p = _problems(ei.value)
    assert "run.json" in p["scenario.baseline_run"]
    assert "unknown model 'wrf'" in p["model"]


def test_model_kind_and_grid_checked() -> None:
    doc = {"kind": "inversion", "model": "standin", "domain": {"grid": "D01"},
           "start": "2026-11-26T00:00:00+08:00", "hours": 24}
    with pytest.raises(RequestError) as ei:
        check_request(parse_request(json.dumps(doc)), models=_models())
    p = _problems(ei.value)
    assert "no template for inversion runs" in p["kind"]
    assert "unknown grid 'D01'" in p["domain.grid"]


def test_baseline_resolved_from_a_model_run_id() -> None:
    text = SCENARIO.format(baseline="zj3km-sample")
    seen = []

    def resolve(ref: str) -> Path | None:
        seen.append(ref)
        return baseline_run()

    assert check_request(parse_request(text), models=_models(),
                         resolve_baseline=resolve) == baseline_run().resolve()
    assert seen == ["zj3km-sample"]


@pytest.mark.parametrize("text, seconds", [
    ("90", 5400), ("10:30", 630), ("01:00:00", 3600), ("2-00:00:00", 172800), ("1-2", 93600)])
def test_time_limits_in_slurm_formats(text: str, seconds: int) -> None:
    assert parse_time_limit(text) == seconds


def test_time_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        parse_time_limit("0")


def test_request_round_trips_through_json() -> None:
    req = parse_request(SCENARIO.format(baseline="/runs/b"))
    again = RunRequest.model_validate_json(req.model_dump_json())
    assert request_id(again) == request_id(req)


def test_settings_from_file_and_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "jobs.yaml"
    cfg.write_text("executor: slurm\nslurm:\n  partition: hpc\n  modules: [cmaq/5.4]\n"
                   "cmaq:\n  site_env: /share/site.sh\n", encoding="utf-8")
    s = jobs_settings({"ECOBRAIN_JOBS_CONFIG": str(cfg), "ECOBRAIN_SLURM_ACCOUNT": "aq",
                       "ECOBRAIN_JOBS_DIR": str(tmp_path / "j")})
    assert s.executor == "slurm" and s.slurm.partition == "hpc" and s.slurm.account == "aq"
    assert s.slurm.modules == ["cmaq/5.4"] and s.cmaq.site_env == "/share/site.sh"
    assert s.jobs_dir == tmp_path / "j" and s.source == str(cfg)
    s2 = jobs_settings({"ECOBRAIN_JOBS_CONFIG": str(cfg), "ECOBRAIN_JOBS_EXECUTOR": "local"})
    assert s2.executor == "local"


def test_settings_errors_name_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "jobs.yaml"
    cfg.write_text("executor: pbs\nslurm:\n  partitoin: hpc\n", encoding="utf-8")
    with pytest.raises(JobsConfigError) as ei:
        jobs_settings({"ECOBRAIN_JOBS_CONFIG": str(cfg)})
    assert "executor" in str(ei.value) and "slurm.partitoin" in str(ei.value)
    with pytest.raises(JobsConfigError, match="does not exist"):
        jobs_settings({"ECOBRAIN_JOBS_CONFIG": str(tmp_path / "none.yaml")})


def test_unquoted_yaml_time_limit_is_refused_with_a_hint() -> None:
    text = "kind: forecast\nmodel: cmaq\nstart: 2026-11-26T00:00:00+08:00\nhours: 24\n" \
           "resources:\n  time_limit: 1:30:00\n"
    with pytest.raises(RequestError) as ei:
        parse_request(text, "r.yaml")
    (field, msg, line), = ei.value.problems
    assert field == "resources.time_limit" and line == 6
    assert "number 5400" in msg and "in quotes" in msg
