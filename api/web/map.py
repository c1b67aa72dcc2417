"""The command-centre map's data: a decision's counties with their daily AQI forecast and the
HJ 633 colour bands (:mod:`ecobrain.api.web.map_data`). Alerts, review and approval come from the
existing routes; this adds only what no route had — the county outlines with the forecast."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI

from ecobrain.api.auth import Principal, require
from ecobrain.api.http.common import ERROR_RESPONSES, DecisionId, Message, Store, register_errors
from ecobrain.api.web.map_data import decision_map

router = APIRouter(tags=["command centre"], responses=ERROR_RESPONSES)
Commander = Annotated[Principal, Depends(require("commander"))]


@router.get("/decisions/{decision_id}/map",
            summary="A decision's counties (GeoJSON) with their daily AQI forecast and the "
                    "AQI colour bands",
            responses={404: {"model": Message, "description": "unknown id"}})
def county_map(decision_id: DecisionId, _: Commander, store: Store) -> dict[str, Any]:
    """The whole province, as every commander key sees the decision (not region-scoped)."""
    return decision_map(store, decision_id)


def include(app: FastAPI) -> None:
    register_errors(app)
    app.include_router(router)
