"""The web workbench's pages and the API's own documentation, served offline by the API itself.

A government intranet reaches no CDN, so FastAPI's default ``/docs`` and ``/redoc`` (scripts from
jsDelivr, fonts from Google) are blank there. Here both load vendored, pinned npm builds shipped
in the package (``webui/vendor``, see its README for versions and licences), and the
workbench's pages are static files beside them. Pages need no key to load; every data call
they make carries the user's key (``X-API-Key``), so roles and region scopes are the API's.
``GET /me`` tells a page whose key it holds (its roles and regions), e.g. which county's tasks
a bureau's board shows.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from ecobrain.api.auth import Principal, current_principal
from ecobrain.api.http.common import ERROR_RESPONSES

WEBUI_DIR = Path(str(files("ecobrain.api") / "webui"))
STATIC = "/ui/static"
VENDOR = f"{STATIC}/vendor"
DOCS_URL, REDOC_URL, OAUTH2_REDIRECT_URL = "/docs", "/redoc", "/docs/oauth2-redirect"
# The workbench's pages: URL path → file in webui/.
PAGES = {"/ui": "index.html", "/ui/tasks": "tasks.html", "/ui/map": "map.html"}

# Pages may load from this server only: ReDoc's "API docs by Redocly" badge links its logo from
# cdn.redoc.ly (not configurable), and no page should ever reach out. Inline scripts and styles
# are FastAPI's docs pages and ReDoc's styled components; blob: is ReDoc's search worker.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' blob:; "
       "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; worker-src 'self' blob:; "
       "connect-src 'self'; font-src 'self' data:; frame-ancestors 'self'")
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache"}

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["system"], responses=ERROR_RESPONSES)


class Me(BaseModel):
    name: str
    roles: list[str]
    regions: list[str]


@api.get("/me", response_model=Me, summary="Who the key is: its name, roles and regions")
async def me(principal: Annotated[Principal, Depends(current_principal)]) -> Me:
    """For the workbench: a bureau's key shows that bureau's tasks (any valid key may ask)."""
    return Me(name=principal.name, roles=list(principal.roles),
              regions=list(principal.regions))


@pages.get(DOCS_URL)
async def swagger_ui() -> HTMLResponse:
    return _headed(get_swagger_ui_html(
        openapi_url="/openapi.json", title="ecobrain API — Swagger UI",
        swagger_js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
        swagger_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png",
        oauth2_redirect_url=OAUTH2_REDIRECT_URL))


@pages.get(OAUTH2_REDIRECT_URL)
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@pages.get(REDOC_URL)
async def redoc() -> HTMLResponse:
    return _headed(get_redoc_html(
        openapi_url="/openapi.json", title="ecobrain API — ReDoc",
        redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
        redoc_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png", with_google_fonts=False))


def _headed(response: HTMLResponse) -> HTMLResponse:
    response.headers.update(HEADERS)
    return response


@pages.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/ui")


def _page(file: str):  # type: ignore[no-untyped-def]
    async def page() -> FileResponse:
        # no-cache: a new release's page is fetched again (it is revalidated, not re-sent).
        return FileResponse(WEBUI_DIR / file, media_type="text/html", headers=HEADERS)

    return page


for _path, _file in PAGES.items():
    pages.add_api_route(_path, _page(_file), methods=["GET"])


def include(app: FastAPI) -> None:
    """Pages, assets and ``/me``; ``create_app`` turns FastAPI's CDN-based docs off."""
    app.include_router(pages)
    app.include_router(api)
    app.mount(STATIC, StaticFiles(directory=WEBUI_DIR), name="ui-static")
