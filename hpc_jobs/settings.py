"""Where and how model-run jobs run: the executor, its cluster settings, the models' paths.

Operators configure this once per site, in a YAML file (``ECOBRAIN_JOBS_CONFIG``, default
``<data dir>/jobs.yaml`` when it exists) with environment variables on top, so a systemd unit
or a CI job can switch the executor without editing files (docs/hpc-jobs.md):

- ``ECOBRAIN_JOBS_EXECUTOR``: ``local`` (default; a subprocess on this machine) or ``slurm``;
- ``ECOBRAIN_JOBS_DIR``: where each job gets its work directory (default ``<data dir>/jobs``);
- ``ECOBRAIN_JOBS_TEMPLATES``: a directory of site templates searched before the built-in ones;
- ``ECOBRAIN_JOBS_PYTHON``: the Python that batch scripts run ecobrain with (default: this one);
- ``ECOBRAIN_SLURM_PARTITION``, ``ECOBRAIN_SLURM_ACCOUNT``, ``ECOBRAIN_SLURM_QOS``,
  ``ECOBRAIN_SLURM_BIN`` (directory of sbatch & co. when not on PATH) and ``SLURM_CONF``.

Everything is validated when read: an unknown key in the file is an error naming it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ecobrain import safe_yaml
from ecobrain.ontology.graph.config import default_data_dir
from ecobrain.yaml12 import Yaml12Loader


class JobsConfigError(ValueError):
    """The jobs configuration is unreadable or invalid (names the file and key)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SlurmSettings(_Strict):
    """How to reach the cluster and what every batch script needs there."""

    partition: str | None = Field(default=None, description="default partition (#SBATCH -p)")
    account: str | None = Field(default=None, description="default account (#SBATCH -A)")
    qos: str | None = None
    bin_dir: str | None = Field(
        default=None, description="directory holding sbatch/squeue/scontrol/scancel, if not on PATH"
    )
    slurm_conf: str | None = Field(default=None, description="SLURM_CONF for the client commands")
    extra_directives: list[str] = Field(
        default_factory=list, description="more #SBATCH lines, e.g. '--exclusive'"
    )
    modules: list[str] = Field(default_factory=list, description="`module load` names")
    setup: list[str] = Field(
        default_factory=list, description="shell lines run before the model (source ..., export)"
    )
    command_timeout_s: float = Field(default=30.0, gt=0, description="limit per Slurm command")


class CMAQSettings(_Strict):
    """The site's CMAQ build and inputs: what the CCTM template needs and cannot guess."""

    cctm_exe: str = Field(default="${CMAQ_HOME}/CCTM/scripts/BLD_CCTM/CCTM.exe")
    launcher: str = Field(default="srun", description="how to start the MPI executable")
    mechanism: str = Field(default="cb6r5_ae7_aq")
    site_env: str | None = Field(
        default=None,
        description="a bash file sourced for every day, setting the inputs (met, emissions, "
        "IC/BC, GRIDDESC, namelists) from the variables the template exports",
    )
    desid_ctrl_nml: str | None = Field(
        default=None, description="the build's CMAQ_Control_DESID.nml (regions are added to it)"
    )
    desid_chem_nml: str | None = Field(
        default=None,
        description="the build's CMAQ_Control_DESID_<MECH>.nml (scaling rules are appended)",
    )
    npcol_nprow: str = Field(default="", description="NPCOL_NPROW; empty: tasks as 1 x N")
    ncrcat: str = Field(default="ncrcat", description="NCO's record concatenator")
    isam_control: str | None = Field(default=None, description="SA_IOLIST for attribution runs")
    isam_regions: str | None = Field(default=None, description="ISAM_REGIONS mask file")


class GridSettings(_Strict):
    """A site grid in IOAPI terms (ZJ3KM is built in)."""

    gdtyp: int
    p_alp: float
    p_bet: float
    p_gam: float
    xcent: float
    ycent: float
    xorig: float
    yorig: float
    xcell: float
    ycell: float
    ncols: int
    nrows: int


class JobsSettings(_Strict):
    executor: Literal["local", "slurm"] = "local"
    jobs_dir: Path = Field(default_factory=lambda: default_data_dir() / "jobs")
    templates_dir: Path | None = None
    python: str = Field(default_factory=lambda: sys.executable)
    poll_interval_s: float = Field(default=10.0, gt=0)
    slurm: SlurmSettings = Field(default_factory=SlurmSettings)
    cmaq: CMAQSettings = Field(default_factory=CMAQSettings)
    grids: dict[str, GridSettings] = Field(default_factory=dict)
    source: str | None = Field(default=None, description="the file these settings came from")


def default_config_path(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ if env is None else env)
    if p := env.get("ECOBRAIN_JOBS_CONFIG"):
        return Path(p).expanduser()
    data = Path(env["ECOBRAIN_DATA_DIR"]).expanduser() if env.get("ECOBRAIN_DATA_DIR") else (
        default_data_dir())
    return data / "jobs.yaml"


def _set(doc: dict[str, Any], dotted: str, value: Any) -> None:
    node = doc
    *parents, leaf = dotted.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value


_ENV_KEYS = {
    "ECOBRAIN_JOBS_EXECUTOR": "executor",
    "ECOBRAIN_JOBS_DIR": "jobs_dir",
    "ECOBRAIN_JOBS_TEMPLATES": "templates_dir",
    "ECOBRAIN_JOBS_PYTHON": "python",
    "ECOBRAIN_SLURM_PARTITION": "slurm.partition",
    "ECOBRAIN_SLURM_ACCOUNT": "slurm.account",
    "ECOBRAIN_SLURM_QOS": "slurm.qos",
    "ECOBRAIN_SLURM_BIN": "slurm.bin_dir",
    "SLURM_CONF": "slurm.slurm_conf",
}


def jobs_settings(env: dict[str, str] | None = None, *, path: Path | None = None) -> JobsSettings:
    """The settings: the YAML file (if any), then the environment on top."""
    env = dict(os.environ if env is None else env)
    path = path or default_config_path(env)
    doc: dict[str, Any] = {}
    explicit = path is not None and ("ECOBRAIN_JOBS_CONFIG" in env)
    if path.is_file():
        try:
            loaded = safe_yaml.load(path.read_text(encoding="utf-8"), Yaml12Loader)
        except yaml.YAMLError as exc:
            raise JobsConfigError(f"{path}: not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise JobsConfigError(f"{path}: the top level must be a mapping of settings")
        doc = dict(loaded or {})
        doc["source"] = str(path)
    elif explicit:
        raise JobsConfigError(f"{path}: ECOBRAIN_JOBS_CONFIG names a file that does not exist")
    if "ECOBRAIN_DATA_DIR" in env and "jobs_dir" not in doc:
        doc["jobs_dir"] = str(Path(env["ECOBRAIN_DATA_DIR"]).expanduser() / "jobs")
    for var, key in _ENV_KEYS.items():
        if env.get(var):
            _set(doc, key, env[var])
    try:
        return JobsSettings.model_validate(doc)
    except ValidationError as exc:
        where = str(path) if path.is_file() else "environment"
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            parts.append(f"{loc}: {err['msg']}")
        raise JobsConfigError(f"{where}: " + "; ".join(parts)) from exc
