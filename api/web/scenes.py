"""Saved explorer scenes, per API key: an investigator names a scene and opens it again later
(or from another machine with the same key).

Kept in a JSON file beside the API key file (``workbench_scenes.json``), keyed by the key's
name, written whole under a file lock like the key file: scenes are the workbench's state, not
knowledge, so they stay out of the graph (no query or export of the graph meets them). A scene
is what a deep link holds — node ids, layout, pins, mode — capped in size so that one user
cannot fill the disk.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from filelock import FileLock

MAX_SCENE_BYTES = 512 * 1024
MAX_SCENES_PER_KEY = 200


class SceneError(ValueError):
    """A scene too large, or too many scenes for one key."""


class SceneStore:
    def __init__(self, path: Path):
        self.path = Path(path)

    def _lock(self) -> FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.path) + ".lock", timeout=10)

    def _load(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise RuntimeError(f"{self.path}: not a valid scene file ({exc})") from exc
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, dict[str, Any]]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)

    def list(self, owner: str) -> list[dict[str, Any]]:
        scenes = self._load().get(owner, {})
        return [{"name": n, "saved_at": s["saved_at"], "nodes": len(s["state"].get("nodes", []))}
                for n, s in sorted(scenes.items(), key=lambda x: -x[1]["saved_at"])]

    def get(self, owner: str, name: str) -> dict[str, Any] | None:
        return self._load().get(owner, {}).get(name)

    def put(self, owner: str, name: str, state: dict[str, Any]) -> dict[str, Any]:
        size = len(json.dumps(state, ensure_ascii=False).encode("utf-8"))
        if size > MAX_SCENE_BYTES:
            raise SceneError(f"scene {name!r} is {size // 1024} KiB; at most "
                             f"{MAX_SCENE_BYTES // 1024} KiB")
        with self._lock():
            data = self._load()
            mine = data.setdefault(owner, {})
            if name not in mine and len(mine) >= MAX_SCENES_PER_KEY:
                raise SceneError(f"key {owner!r} has {len(mine)} scenes, the most kept; "
                                 "delete one first")
            mine[name] = {"saved_at": time.time(), "state": state}
            self._save(data)
            return mine[name]

    def delete(self, owner: str, name: str) -> bool:
        with self._lock():
            data = self._load()
            if name not in data.get(owner, {}):
                return False
            del data[owner][name]
            self._save(data)
            return True


def scenes_file(keys_path: Path) -> Path:
    return keys_path.parent / "workbench_scenes.json"
