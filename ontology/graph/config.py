"""Where the graph is: read once from the environment so every entry point agrees.

Environment variables are the contract with operators (systemd units, Slurm job
scripts, CI); nothing else decides which graph a process talks to.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_GRAPH_NAME = "ecobrain"
DEFAULT_READ_TIMEOUT_S = 30.0
DEFAULT_WRITE_TIMEOUT_S = 600.0  # a bulk load's batch or a large decision save


def default_data_dir() -> Path:
    """The embedded graph's home: ``ECOBRAIN_DATA_DIR``, else the XDG data directory."""
    if env := os.environ.get("ECOBRAIN_DATA_DIR"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ecobrain"


@dataclass(frozen=True)
class GraphSettings:
    """Connection settings; ``uri`` is None for the embedded default."""

    uri: str | None
    user: str | None
    password: str | None
    database: str
    data_dir: Path
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S
    write_timeout_s: float = DEFAULT_WRITE_TIMEOUT_S

    @property
    def transport(self) -> str:
        if self.uri is None:
            return "embedded"
        scheme = self.uri.split("://", 1)[0].lower()
        if scheme in {"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"}:
            return "neo4j"
        if scheme == "falkordb":
            return "falkordb"
        raise ValueError(
            f"ECOBRAIN_GRAPH_URI={self.uri!r}: unknown scheme {scheme!r}; use bolt://, neo4j://, "
            "neo4j+s:// (Neo4j 5) or falkordb://host:port, or leave it unset for the embedded graph"
        )


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ValueError(f"{name}={raw!r}: expected a number of seconds above 0")
    return value


def settings_from_env(env: dict[str, str] | None = None) -> GraphSettings:
    env = dict(os.environ if env is None else env)
    uri = env.get("ECOBRAIN_GRAPH_URI") or None
    data_dir = Path(env["ECOBRAIN_DATA_DIR"]).expanduser() if env.get("ECOBRAIN_DATA_DIR") else (
        default_data_dir()
    )
    settings = GraphSettings(
        uri=uri,
        user=env.get("ECOBRAIN_GRAPH_USER") or None,
        password=env.get("ECOBRAIN_GRAPH_PASSWORD") or None,
        database=env.get("ECOBRAIN_GRAPH_DATABASE") or DEFAULT_GRAPH_NAME,
        data_dir=data_dir,
        read_timeout_s=_seconds(env, "ECOBRAIN_GRAPH_READ_TIMEOUT_S", DEFAULT_READ_TIMEOUT_S),
        write_timeout_s=_seconds(env, "ECOBRAIN_GRAPH_WRITE_TIMEOUT_S", DEFAULT_WRITE_TIMEOUT_S),
    )
    settings.transport  # noqa: B018 - validate the scheme early, with a clear message
    return settings
