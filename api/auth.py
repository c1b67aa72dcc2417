"""API keys with roles: who may call which endpoint of the decision-advice API.

Keys are random tokens shown once at creation; only their SHA-256 is stored, in
``api_keys.json`` in the data directory (or ``ECOBRAIN_API_KEYS_FILE``), with a name, roles
and the time of creation. A missing or unknown key is 401 (who are you?), a known key without
the role is 403 (you may not) — clients and operators need to tell the two apart.

Roles: ``commander`` (command centre: runs, decisions, tasks, jobs), ``expert`` (rule
authoring), ``investigator`` (read-only graph exploration), ``admin`` (everything, key
management). A key may be scoped to regions (GB/T 2260 codes): a county bureau's key then
only updates the status of tasks assigned to its regions.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader
from filelock import FileLock

from ecobrain.ontology.graph.config import default_data_dir

ROLES = ("commander", "expert", "investigator", "admin")
HEADER = "X-API-Key"
REGION_CODE = re.compile(r"\d{6}")

_api_key_header = APIKeyHeader(name=HEADER, auto_error=False,
                               description="An ecobrain API key (`ecobrain api-keys create`).")


@dataclass(frozen=True)
class Principal:
    """The caller behind a key."""

    name: str
    roles: tuple[str, ...]
    regions: tuple[str, ...] = ()

    def has_any(self, roles: Iterable[str]) -> bool:
        return "admin" in self.roles or any(r in self.roles for r in roles)

    def may_act_for(self, region_code: str | None, region_chain: Iterable[str] = ()) -> bool:
        """Unscoped keys act everywhere; scoped keys for their regions and what lies inside."""
        if not self.regions or "admin" in self.roles:
            return True
        codes = {region_code, *region_chain} - {None}
        return any(c in self.regions for c in codes)


@dataclass
class KeyRecord:
    name: str
    roles: list[str]
    sha256: str
    created_at: float
    regions: list[str] = field(default_factory=list)


def region_codes(codes: Iterable[str]) -> list[str]:
    """The codes, de-duplicated; ValueError unless each is a 6-digit GB/T 2260 code (a key
    scoped to ``abc`` would act for nothing, silently)."""
    codes = list(dict.fromkeys(codes))
    bad = [c for c in codes if not REGION_CODE.fullmatch(c)]
    if bad:
        raise ValueError(f"--region {', '.join(bad)}: a region is a 6-digit GB/T 2260 code "
                         "(e.g. 330100)")
    return codes


def keys_file() -> Path:
    env = os.environ.get("ECOBRAIN_API_KEYS_FILE")
    return Path(env) if env else default_data_dir() / "api_keys.json"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class KeyStore:
    """The key file: create, list, revoke, verify.

    :meth:`verify` runs on every request; it keeps the file's keys by digest in memory, read
    again whenever the file's identity changes (inode, size, mtime, ctime: saving replaces the
    file), so a key created or revoked by ``ecobrain api-keys`` in another process counts from
    the next request, for the cost of one ``stat`` instead of reading and parsing the file.
    """

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else keys_file()
        self._by_digest: dict[str, Principal] = {}
        self._seen: tuple[int, int, int, int] | None = None
        self._lock = threading.Lock()

    def _load(self) -> list[KeyRecord]:
        if not self.path.exists():
            return []
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return [KeyRecord(**r) for r in raw]
        except (ValueError, TypeError) as exc:
            raise RuntimeError(f"{self.path}: not a valid API key file ({exc})") from exc

    def _save(self, records: list[KeyRecord]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps([asdict(r) for r in records], indent=2), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)

    def _locked(self) -> FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.path) + ".lock", timeout=10)

    def create(self, name: str, roles: Iterable[str], regions: Iterable[str] = ()) -> str:
        """Create a key and return its token (the only time it is visible)."""
        roles = list(dict.fromkeys(roles))
        unknown = [r for r in roles if r not in ROLES]
        if not roles or unknown:
            raise ValueError(f"roles must be some of {', '.join(ROLES)}; got {roles}")
        regions = region_codes(regions)
        token = "eb_" + secrets.token_urlsafe(32)
        with self._locked():
            records = self._load()
            if any(r.name == name for r in records):
                raise ValueError(f"a key named {name!r} exists; revoke it first")
            records.append(KeyRecord(name=name, roles=roles, sha256=_hash(token),
                                     created_at=time.time(), regions=regions))
            self._save(records)
        return token

    def revoke(self, name: str) -> bool:
        with self._locked():
            records = self._load()
            kept = [r for r in records if r.name != name]
            self._save(kept)
        return len(kept) != len(records)

    def list(self) -> list[KeyRecord]:
        return self._load()

    def verify(self, token: str) -> Principal | None:
        # Looked up by the SHA-256 of the token: a lookup's timing could at most tell an
        # attacker about digests of tokens they chose, not about a stored token.
        return self._principals().get(_hash(token))

    def _principals(self) -> dict[str, Principal]:
        try:
            st = os.stat(self.path)
            seen = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        except FileNotFoundError:
            seen = None
        with self._lock:
            if seen != self._seen or seen is None:
                self._by_digest = {r.sha256: Principal(r.name, tuple(r.roles), tuple(r.regions))
                                   for r in self._load()}
                self._seen = seen
            return self._by_digest


# Dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in its thread
# pool, one thread hop per dependency per request (measured ~40% of a task read's CPU under load).
# They only read a small key file and app state, which does not block the event loop.
async def get_key_store(request: Request) -> KeyStore:
    return request.app.state.key_store


async def current_principal(
    request: Request, token: Annotated[str | None, Depends(_api_key_header)]
) -> Principal:
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"missing API key (header {HEADER})",
                            headers={"WWW-Authenticate": "ApiKey"})
    principal = request.app.state.key_store.verify(token)
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked API key",
                            headers={"WWW-Authenticate": "ApiKey"})
    return principal


def require(*roles: str) -> Callable[..., Principal]:
    """A dependency that lets through callers holding one of `roles` (admin always)."""
    for r in roles:
        if r not in ROLES:
            raise ValueError(f"unknown role {r!r}")

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]
                         ) -> Principal:
        if not principal.has_any(roles):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"key {principal.name!r} (roles: {', '.join(principal.roles)}) may not do this; "
                f"needs one of: {', '.join(roles)}",
            )
        return principal

    dependency.__name__ = f"require_{'_or_'.join(roles)}"
    return dependency
