"""The API's documentation works offline: /docs (Swagger UI) and /redoc load only vendored
assets from this server, and chromium draws Swagger UI's operations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from api_helpers import api_client
from web_helpers import browser_page, live_server, skip_without_browser

from ecobrain.api.web.pages import WEBUI_DIR
from ecobrain.ontology.graph.store import GraphStore

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


@pytest.mark.parametrize("page", ["/docs", "/redoc", "/ui", "/ui/tasks"])
def test_pages_reference_no_external_host(store: GraphStore, tmp_path: Path, page: str) -> None:
    with api_client(store, tmp_path) as api:
        r = api.get(page)
        assert r.status_code == 200 and "text/html" in r.headers["content-type"]
        assert not EXTERNAL.search(r.text), EXTERNAL.search(r.text)
        assert "cdn" not in r.text.lower() and "fonts.googleapis" not in r.text
        for asset in re.findall(r"""(?:src|href)=["']?(/[^"' >]+)""", r.text):
            if asset.startswith("/ui/static/"):
                assert api.get(asset).status_code == 200, asset


def test_every_vendored_asset_has_its_licence_and_is_listed() -> None:
    vendor = WEBUI_DIR / "vendor"
    notice = (vendor / "README.md").read_text(encoding="utf-8")
    for folder in (p for p in vendor.iterdir() if p.is_dir()):
        assert (folder / "LICENSE").is_file(), folder
        assert f"`{folder.name}/`" in notice, folder.name


def test_chromium_draws_swagger_uis_operations_and_redoc(store: GraphStore,
                                                          tmp_path: Path) -> None:
    skip_without_browser()
    with live_server(store, tmp_path) as server, browser_page() as page:
        # ReDoc's badge names a logo on cdn.redoc.ly: the pages' Content-Security-Policy stops
        # it in the browser (a failed request); nothing may get an answer from elsewhere.
        outside: list[str] = []
        blocked: list[str] = []
        page.on("response", lambda r: None if r.url.removeprefix("blob:").startswith(
            server.url) or r.url.startswith("data:") else outside.append(r.url))
        page.on("requestfailed", lambda r: blocked.append(f"{r.url} {r.failure}"))
        page.goto(f"{server.url}/docs")
        page.wait_for_selector(".opblock-summary", timeout=15000)
        operations = page.locator(".opblock").count()
        assert operations >= 30  # every route of the API, drawn by Swagger UI
        assert page.get_by_text("/decisions/{decision_id}/approve").count() >= 1
        page.screenshot(path=str(tmp_path / "docs.png"))
        assert (tmp_path / "docs.png").stat().st_size > 20_000
        page.goto(f"{server.url}/redoc")
        page.wait_for_selector("[role=menuitem], .menu-content", timeout=20000)
        assert page.get_by_text("Report a task's progress").count() >= 1
        assert outside == [], outside
        assert all(b.endswith(" csp") for b in blocked), blocked
