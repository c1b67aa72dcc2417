"""The app's graph store as a FastAPI dependency: how the routers reach the graph.

Apart from :mod:`.app` because the app includes the routers and the routers need this: both
import it from here, so the dependency runs one way.
"""

from __future__ import annotations

from fastapi import Request

from ecobrain.ontology.graph.store import GraphStore


async def get_store(request: Request) -> GraphStore:  # async: no thread hop (see auth.py)
    return request.app.state.store
