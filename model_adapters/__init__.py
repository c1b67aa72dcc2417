"""Model adapters: CMAQ-class HPC outputs (IOAPI / CF netCDF) -> typed findings.

Public entry points (see docs/model-runs.md)::

    from ecobrain.model_adapters import load_run, collect_findings
    run = load_run("runs/zj3km-2026112512")          # manifest checked, files present
    found = collect_findings(run, kinds=["forecast", "attribution"], stations=stations)
    found.daily_aqi, found.episodes, found.hotspots, found.attribution, found.regimes

Nothing in this package touches the knowledge graph.
"""

from ecobrain.model_adapters.errors import (
    AdapterError,
    AttributionClosureError,
    BadValueError,
    DimensionError,
    GridMismatchError,
    ManifestError,
    MissingVariableError,
    TimeAxisError,
    TruncatedFileError,
    UnitError,
)
from ecobrain.model_adapters.files.manifest import ModelRun, load_run
from ecobrain.model_adapters.files.run import ALL_KINDS, collect_findings
from ecobrain.model_adapters.regions import Station

__all__ = [
    "ALL_KINDS",
    "AdapterError",
    "AttributionClosureError",
    "BadValueError",
    "DimensionError",
    "GridMismatchError",
    "ManifestError",
    "MissingVariableError",
    "ModelRun",
    "Station",
    "TimeAxisError",
    "TruncatedFileError",
    "UnitError",
    "collect_findings",
    "load_run",
]
