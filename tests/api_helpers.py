"""Shared helpers for HTTP API tests: an app on the test's own graph, keys for every role."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from ecobrain.api.auth import ROLES, KeyStore
from ecobrain.api.http.app import create_app
from ecobrain.ontology.graph.store import GraphStore


class _SharedStore:
    """Hands the test's store to the app without letting the app close it."""

    def __init__(self, store: GraphStore):
        self._store = store

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._store, name)

    def close(self) -> None:
        pass


@dataclass
class ApiClient:
    client: TestClient
    keys: dict[str, str]

    def headers(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}

    def get(self, url: str, role: str | None = None, **kw):  # type: ignore[no-untyped-def]
        return self.client.get(url, headers=self.headers(role) if role else {}, **kw)

    def post(self, url: str, role: str | None = None, **kw):  # type: ignore[no-untyped-def]
        return self.client.post(url, headers=self.headers(role) if role else {}, **kw)

    def patch(self, url: str, role: str | None = None, **kw):  # type: ignore[no-untyped-def]
        return self.client.patch(url, headers=self.headers(role) if role else {}, **kw)

    def delete(self, url: str, role: str | None = None, **kw):  # type: ignore[no-untyped-def]
        return self.client.delete(url, headers=self.headers(role) if role else {}, **kw)


@contextmanager
def api_client(store: GraphStore, tmp_path: Path) -> Iterator[ApiClient]:
    keys = KeyStore(tmp_path / "keys.json")
    tokens = {role: keys.create(f"test-{role}", [role]) for role in ROLES}
    app = create_app(store_factory=lambda: _SharedStore(store), key_store=keys)  # type: ignore[arg-type,return-value]
    with TestClient(app) as client:
        yield ApiClient(client, tokens)


@contextmanager
def jobs_client(store: GraphStore, tmp_path: Path, jobs_settings: Any
                ) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    """An app for the jobs routes: keys for every role and a Ningbo-scoped commander."""
    keys = KeyStore(tmp_path / "keys.json")
    tokens = {role: keys.create(f"test-{role}", [role]) for role in ROLES}
    tokens["ningbo"] = keys.create("ningbo-commander", ["commander"], regions=["330200"])
    app = create_app(store_factory=lambda: _SharedStore(store), key_store=keys)  # type: ignore[arg-type,return-value]
    app.state.jobs_settings = jobs_settings
    with TestClient(app) as client:
        yield client, {k: {"X-API-Key": v} for k, v in tokens.items()}
