"""`ecobrain serve` and `ecobrain api-keys ...`: run the HTTP API and manage its keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ecobrain.api.auth import ROLES, KeyStore, region_codes
from ecobrain.api.cli.common import console, fail, graph_store

keys_app = typer.Typer(help="API keys for the HTTP API (roles: " + ", ".join(ROLES) + ").",
                       no_args_is_help=True)


@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="Who the key is for, e.g. 'hz-command-centre'.")],
    role: Annotated[list[str], typer.Option("--role", "-r", help="Repeat for several roles.")],
    region: Annotated[list[str] | None, typer.Option(
        "--region", help="Limit task-status updates to these GB/T 2260 codes.")] = None,
) -> None:
    """Create a key; the token is printed once and never stored. Regions are checked against
    the graph (`ecobrain kb load` puts them there): a key for a code that names no region
    would silently act for nothing."""
    if region:
        unknown_regions(region)
    try:
        token = KeyStore().create(name, role, region or [])
    except (ValueError, RuntimeError) as exc:
        raise fail(str(exc)) from exc
    console.print(f"key for {name!r} ({', '.join(role)}):")
    console.print(token, highlight=False)


def unknown_regions(codes: list[str]) -> None:
    """Fail (one line) unless every code is an AdminRegion in the graph."""
    try:
        codes = region_codes(codes)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    with graph_store() as store:
        rows = store.read("MATCH (g:AdminRegion) WHERE g.code IN $codes RETURN g.code AS code",
                          {"codes": list(codes)})
    missing = sorted(set(codes) - {r["code"] for r in rows})
    if missing:
        raise fail(f"--region {', '.join(missing)}: no such region in the graph "
                   "(ecobrain kb load adds the Zhejiang regions)")


@keys_app.command("list")
def list_keys() -> None:
    """The keys that exist (names and roles; tokens are not stored)."""
    table = Table("name", "roles", "regions")
    for r in KeyStore().list():
        table.add_row(r.name, ", ".join(r.roles), ", ".join(r.regions) or "all")
    console.print(table)


@keys_app.command("revoke")
def revoke_key(name: str) -> None:
    """Revoke a key by name."""
    if not KeyStore().revoke(name):
        raise fail(f"no key named {name!r}")
    console.print(f"revoked {name!r}")


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    access_log: Annotated[bool, typer.Option(
        help="Log every request (uvicorn's access log; off for load tests).")] = True,
) -> None:
    """Run the decision-advice HTTP API (OpenAPI at /docs)."""
    import uvicorn

    if not KeyStore().list():
        console.print("[yellow]no API keys yet[/]: create one with "
                      "`ecobrain api-keys create NAME --role commander`")
    uvicorn.run("ecobrain.api.http.app:create_app", factory=True, host=host, port=port,
                workers=workers, log_level="info", access_log=access_log)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="api-keys")
    app.command("serve")(serve)
