"""Batch scripts from templates, checked against golden files (UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path

import pytest

from ecobrain.hpc_jobs.executors import script_directives
from ecobrain.hpc_jobs.render import (
    JobContext,
    RenderError,
    available_models,
    cctm_manifest,
    render_script,
)
from ecobrain.hpc_jobs.request import parse_request
from ecobrain.hpc_jobs.settings import CMAQSettings, JobsSettings, SlurmSettings

GOLDEN = Path(__file__).with_name("golden")
CREATED = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)


def _settings(**cmaq: str) -> JobsSettings:
    return JobsSettings(
        executor="slurm", jobs_dir=Path("/scratch/ecobrain/jobs"),
        python="/opt/ecobrain/.venv/bin/python",
        slurm=SlurmSettings(partition="hpc", account="zj-aq", modules=["netcdf/4.9", "cmaq/5.4"],
                            setup=["export OMP_NUM_THREADS=1"],
                            extra_directives=["--exclusive"]),
        cmaq=CMAQSettings(cctm_exe="${CMAQ_HOME}/CCTM/scripts/BLD_CCTM_v54/CCTM_v54.exe",
                          site_env="/share/cmaq/zj3km/site_env.sh", **cmaq))


def _ctx(run_id: str, *, baseline: bool = False, desid: bool = False) -> JobContext:
    work = Path("/scratch/ecobrain/jobs") / run_id
    ctx = JobContext(run_id=run_id, request_id="req-0123456789abcdef", workdir=work,
                     outdir=work / "run", created=CREATED,
                     baseline_dir=Path("/data/runs/zj3km-2026112512") if baseline else None)
    if desid:
        ctx.desid = {"chem": str(work / "desid/CMAQ_Control_DESID_cb6r5_ae7_aq.nml"),
                     "ctrl": str(work / "desid/CMAQ_Control_DESID.nml"),
                     "masks": str(work / "desid/ecobrain_regions.nc"),
                     "file_label": "ECOBRAIN_REGIONS"}
    return ctx


SCENARIO = {
    "kind": "scenario", "name": "Ningbo petrochemical VOCs -20 %",
    "start": "2026-11-26T00:00:00+08:00", "hours": 72,
    "resources": {"nodes": 2, "tasks": 64, "time_limit": "06:00:00", "memory": "120G"},
    "scenario": {"baseline_run": "/data/runs/zj3km-2026112512",
                 "measure": "LDAR at petrochemical plants",
                 "factors": [{"region": "330200", "sector": "Petrochemical", "species": "VOCs",
                              "factor": 0.8}]},
}


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1" or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"
    # And it is valid bash.
    subprocess.run(["bash", "-n", str(path)], check=True)


def test_standin_scenario_script() -> None:
    req = parse_request(json.dumps({**SCENARIO, "model": "standin",
                                    "resources": {"time_limit": "00:20:00"}}))
    ctx = _ctx("scenario-0123456789ab-1", baseline=True, desid=True)
    text = render_script(req, ctx, _settings())
    _check_golden("hpc_standin_scenario.sh", text)
    assert "STAND-IN MODEL" in text
    d = script_directives(text)
    assert d["time"] == "00:20:00" and d["partition"] == "hpc" and d["account"] == "zj-aq"
    assert d["output"] == "/scratch/ecobrain/jobs/scenario-0123456789ab-1/job.out"


def test_cctm_scenario_script() -> None:
    req = parse_request(json.dumps({**SCENARIO, "model": "cmaq"}))
    ctx = _ctx("scenario-0123456789ab-1", baseline=True, desid=True)
    ctx.manifest = cctm_manifest(req, ctx)
    text = render_script(req, ctx, _settings(desid_chem_nml="/share/cmaq/BLD/chem.nml",
                                             desid_ctrl_nml="/share/cmaq/BLD/ctrl.nml"))
    _check_golden("hpc_cctm_scenario.sh", text)
    assert "export DESID_CHEM_CTRL_NML=" in text and "export ECOBRAIN_REGIONS=" in text
    d = script_directives(text)
    assert d["nodes"] == "2" and d["ntasks"] == "64" and d["mem"] == "120G"
    assert d["time"] == "06:00:00" and "exclusive" in d


def test_cctm_forecast_and_attribution_scripts() -> None:
    base = {"kind": "forecast", "model": "cmaq", "start": "2026-11-26T08:00:00+08:00",
            "hours": 36, "resources": {"tasks": 32, "time_limit": "03:00:00"}}
    req = parse_request(json.dumps(base))
    ctx = _ctx("forecast-0123456789ab-1")
    ctx.manifest = cctm_manifest(req, ctx)
    text = render_script(req, ctx, _settings())
    _check_golden("hpc_cctm_forecast.sh", text)
    assert "export CTM_ISAM=N" in text and "START_DATE=2026-11-26" in text
    assert "STTIME=000000" in text and "NCHUNKS=2" in text  # 08:00 Beijing = 00:00 UTC
    assert '"path": "CCTM_ACONC_forecast-0123456789ab-1.nc"' in text

    req = parse_request(json.dumps({**base, "kind": "attribution"}))
    ctx = _ctx("attribution-0123456789ab-1")
    ctx.manifest = cctm_manifest(req, ctx, tags={"NBPWR": {"region": "330200",
                                                           "sector": "Power"}})
    text = render_script(req, ctx, _settings(isam_control="/share/cmaq/isam_control.txt"))
    _check_golden("hpc_cctm_attribution.sh", text)
    assert "export CTM_ISAM=Y" in text and "SA_ACONC_1" in text
    assert '"kind": "attribution"' in text


def test_cctm_says_what_the_site_must_configure() -> None:
    req = parse_request(json.dumps({**SCENARIO, "model": "cmaq"}))
    ctx = _ctx("scenario-0123456789ab-1", baseline=True, desid=True)
    with pytest.raises(RenderError) as ei:
        render_script(req, ctx, JobsSettings())
    msg = str(ei.value)
    assert "cmaq.site_env" in msg and "cmaq.desid_chem_nml" in msg
    req = parse_request(json.dumps({"kind": "attribution", "model": "cmaq", "hours": 24,
                                    "start": "2026-11-26T00:00:00+08:00"}))
    with pytest.raises(RenderError, match=r"cmaq\.isam_control"):
        render_script(req, _ctx("a-1"), _settings())


def test_site_templates_add_models(tmp_path: Path) -> None:
    (tmp_path / "wrfchem.sh.j2").write_text(
        "#!/bin/bash\n{% for d in directives %}#SBATCH {{ d }}\n{% endfor %}"
        "echo {{ req.model }} {{ ctx.run_id }}\n", encoding="utf-8")
    s = JobsSettings(templates_dir=tmp_path)
    models = available_models(s)
    assert models["wrfchem"] is None and "cmaq" in models and "standin" in models
    req = parse_request(json.dumps({"kind": "forecast", "model": "wrfchem", "hours": 24,
                                    "start": "2026-11-26T00:00:00+08:00"}))
    text = render_script(req, _ctx("forecast-x-1"), s)
    assert text.endswith("echo wrfchem forecast-x-1\n")
    (tmp_path / "broken.sh.j2").write_text("{{ req.nosuchfield }}", encoding="utf-8")
    req = parse_request(json.dumps({"kind": "forecast", "model": "broken", "hours": 24,
                                    "start": "2026-11-26T00:00:00+08:00"}))
    with pytest.raises(RenderError, match=r"broken\.sh\.j2"):
        render_script(req, _ctx("forecast-x-1"), s)


def test_cctm_script_logic_runs_chunk_by_chunk(tmp_path: Path) -> None:
    """Run the CCTM script with stand-ins for srun, CCTM and ncrcat (no CMAQ here)."""
    log = tmp_path / "cctm.log"
    site = tmp_path / "site_env.sh"
    site.write_text('export INIT_CONC_1=${INIT_CONC_1:-/ic/ICON_${YYYYMMDD}.nc}\n'
                    'export BNDY_CONC_1=/bc/BCON_${YYYYMMDD}.nc\n', encoding="utf-8")
    launcher = tmp_path / "fake_srun"
    launcher.write_text('#!/bin/bash\nshift 2\nexec "$@"\n', encoding="utf-8")
    cctm = tmp_path / "fake_cctm"
    cctm.write_text(
        '#!/bin/bash\n'
        'echo "$CTM_STDATE $CTM_STTIME $CTM_RUNLEN $NEW_START $INIT_CONC_1" >> ' + str(log) + '\n'
        ': > "$OUTDIR/CCTM_CGRID_${CTM_APPL}.nc"\n'
        'echo "$CTM_APPL" > "${A_CONC_1% -v}"\n', encoding="utf-8")
    ncrcat = tmp_path / "fake_ncrcat"
    ncrcat.write_text('#!/bin/bash\nshift\nout="${@: -1}"\nset -- "${@:1:$#-1}"\n'
                      'cat "$@" > "$out"\n', encoding="utf-8")
    for p in (launcher, cctm, ncrcat):
        p.chmod(0o755)
    req = parse_request(json.dumps({"kind": "forecast", "model": "cmaq", "hours": 60,
                                    "start": "2026-11-26T08:00:00+08:00"}))
    work = tmp_path / "job"
    work.mkdir()
    ctx = JobContext(run_id="forecast-t-1", request_id="req-t", workdir=work,
                     outdir=work / "run", created=CREATED)
    ctx.manifest = cctm_manifest(req, ctx)
    s = JobsSettings(cmaq=CMAQSettings(cctm_exe=str(cctm), launcher=str(launcher),
                                       ncrcat=str(ncrcat), site_env=str(site)))
    script = work / "job.sh"
    script.write_text(render_script(req, ctx, s), encoding="utf-8")
    subprocess.run(["bash", str(script)], check=True, capture_output=True, cwd=work)
    assert log.read_text().splitlines() == [
        "2026330 000000 240000 TRUE /ic/ICON_20261126.nc",
        f"2026331 000000 240000 FALSE {work}/run/CCTM_CGRID_forecast-t-1_20261126.nc",
        f"2026332 000000 120000 FALSE {work}/run/CCTM_CGRID_forecast-t-1_20261127.nc",
    ]
    merged = (work / "run" / "CCTM_ACONC_forecast-t-1.nc").read_text().split()
    assert merged == ["forecast-t-1_20261126", "forecast-t-1_20261127", "forecast-t-1_20261128"]
    manifest = json.loads((work / "run" / "run.json").read_text())
    assert manifest["id"] == "forecast-t-1"
    assert manifest["outputs"][0]["path"] == "CCTM_ACONC_forecast-t-1.nc"


def test_request_text_cannot_escape_into_the_script() -> None:
    doc = {**SCENARIO, "model": "standin", "name": "x\nrm -rf /tmp/everything",
           "scenario": {**SCENARIO["scenario"], "measure": "LDAR\r\ntouch /tmp/owned"}}
    req = parse_request(json.dumps(doc))
    ctx = _ctx("scenario-0123456789ab-1", baseline=True, desid=True)
    text = render_script(req, ctx, _settings())
    assert not any(line.startswith(("rm -rf /tmp", "touch /tmp")) for line in text.splitlines())
    assert "# request:  req-0123456789abcdef (x rm -rf /tmp/everything)" in text
    assert "# measure:  LDAR touch /tmp/owned" in text
    bad = {**SCENARIO, "model": "standin", "resources": {"partition": "hpc\n#SBATCH --uid=0"}}
    with pytest.raises(Exception, match="not a Slurm name"):
        parse_request(json.dumps(bad))
