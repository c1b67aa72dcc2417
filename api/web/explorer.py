"""The graph explorer's routes (``/ui/graph``): a scene's nodes with captions and the
relationships among them, a node in plain words, where nodes lie on the map, the county
outlines under them, and saved scenes per key.

Investigators (and admins) only, like the rest of graph exploration (:mod:`http_graph`); a
scene belongs to the key that saved it (by the key's name), so a revoked and re-created key
of the same name finds its scenes again.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from ecobrain.api.auth import Principal, require
from ecobrain.api.http.common import ERROR_RESPONSES, Message, Store
from ecobrain.api.web.scenes import SceneError, SceneStore, scenes_file
from ecobrain.ontology import scene
from ecobrain.ontology.explore import NotFound

router = APIRouter(tags=["graph exploration"], responses=ERROR_RESPONSES)
Investigator = Annotated[Principal, Depends(require("investigator"))]
Lang = Annotated[Literal["zh", "en"], Query(description="language of names and words")]
SceneName = Annotated[str, PathParam(min_length=1, max_length=100,
                                     description="the scene's name, chosen by its owner")]


class IdsIn(BaseModel):
    ids: list[Annotated[str, Field(max_length=256)]] = Field(max_length=scene.MAX_IDS)
    lang: Literal["zh", "en"] = "zh"
    model_config = {"json_schema_extra": {"examples": [{"ids": ["330100", "330102"],
                                                        "lang": "zh"}]}}


class SceneNode(BaseModel):
    id: str
    labels: list[str]
    kind: str
    kind_name: str
    caption: str
    placed: bool = Field(description="the node has a place on the map")


class SceneRel(BaseModel):
    source: str
    type: str
    target: str


class SubgraphOut(BaseModel):
    nodes: list[SceneNode]
    relationships: list[SceneRel]
    missing: list[str] = Field(description="ids with no node in the graph")


class PlainRow(BaseModel):
    key: str
    name: str
    value: str


class LegendEntry(BaseModel):
    code: str
    meaning: str


class PlainOut(BaseModel):
    id: str
    labels: list[str]
    kind: str
    kind_name: str
    caption: str
    rows: list[PlainRow]
    text: str | None = Field(description="an article's text, as written")
    legend: list[LegendEntry] = Field(description="what the codes in the rows stand for")


class SceneIn(BaseModel):
    state: dict[str, Any] = Field(description="what the explorer restores: nodes, positions, "
                                  "pins, mode (the same as a deep link)")
    model_config = {"json_schema_extra": {"examples": [
        {"state": {"nodes": ["330100"], "mode": "graph"}}]}}


class SceneOut(BaseModel):
    name: str
    saved_at: float
    state: dict[str, Any]


class SceneListed(BaseModel):
    name: str
    saved_at: float
    nodes: int


def _scenes(request: Request) -> SceneStore:
    return SceneStore(scenes_file(request.app.state.key_store.path))


Scenes = Annotated[SceneStore, Depends(_scenes)]


@router.post("/graph/subgraph", response_model=SubgraphOut,
             summary="Nodes by id with their captions and kinds, and the relationships among "
                     "them")
def subgraph(body: IdsIn, _: Investigator, store: Store) -> dict[str, Any]:
    return scene.subgraph(store, body.ids, body.lang)


@router.post("/graph/placed", summary="Where nodes lie: GeoJSON of those that have a place")
def placed(body: IdsIn, _: Investigator, store: Store) -> dict[str, Any]:
    return scene.placed(store, body.ids, body.lang)


@router.get("/graph/counties", summary="Every county's outline (GeoJSON): the map's base layer")
def counties(_: Investigator, store: Store) -> dict[str, Any]:
    return scene.county_outlines(store)


@router.get("/graph/nodes/{node_id}/plain", response_model=PlainOut,
            summary="A node in plain words: named properties with units, legends, text",
            responses={404: {"model": Message, "description": "no such node"}})
def plain(node_id: Annotated[str, PathParam(max_length=256)], _: Investigator, store: Store,
          lang: Lang = "zh") -> dict[str, Any]:
    out = scene.plain_node(store, node_id, lang)
    if out is None:
        raise NotFound(f"no node with id {node_id!r}")
    return out


@router.get("/scenes", response_model=list[SceneListed], summary="This key's saved scenes")
def list_scenes(principal: Investigator, scenes: Scenes) -> list[dict[str, Any]]:
    return scenes.list(principal.name)


@router.get("/scenes/{name}", response_model=SceneOut, summary="A saved scene",
            responses={404: {"model": Message, "description": "no such scene for this key"}})
def get_scene(name: SceneName, principal: Investigator, scenes: Scenes) -> dict[str, Any]:
    found = scenes.get(principal.name, name)
    if found is None:
        raise HTTPException(404, f"key {principal.name!r} has no scene {name!r}")
    return {"name": name, **found}


@router.put("/scenes/{name}", response_model=SceneOut, summary="Save a scene under a name")
def put_scene(name: SceneName, body: SceneIn, principal: Investigator,
              scenes: Scenes) -> dict[str, Any]:
    try:
        saved = scenes.put(principal.name, name, body.state)
    except SceneError as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"name": name, **saved}


@router.delete("/scenes/{name}", response_model=Message, summary="Delete a saved scene",
               responses={404: {"model": Message, "description": "no such scene for this key"}})
def delete_scene(name: SceneName, principal: Investigator, scenes: Scenes) -> Message:
    if not scenes.delete(principal.name, name):
        raise HTTPException(404, f"key {principal.name!r} has no scene {name!r}")
    return Message(message=f"scene {name!r} of key {principal.name!r} deleted")


def include(app: FastAPI) -> None:
    app.include_router(router)
