"""Composite handlers: ``/composite`` (GET lists the resources, POST runs sub-requests),
``/composite/batch`` and ``/composite/graph`` (refused).

Sub-requests never go back through HTTP: the app's URL table (:mod:`kinetic_core.emulator.urls`)
dispatches each one to the same operation the direct route runs; the rules (references, allOrNone,
haltOnError) live in :mod:`kinetic_core.emulator.service.composite`. sObject Tree and sObject
Collections are plain operations of the table.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.routing import Sub, UrlTable
from kinetic_core.emulator.service.composite import run_batch, run_composite
from kinetic_core.emulator.web import (
    api_version_of,
    get_org,
    json_response,
    read_json,
    require_session,
)


def _table(request: Request) -> UrlTable:
    table: UrlTable = request.app.state.urls
    return table


async def composite_root(request: Request) -> Response:
    session = require_session(request)
    org, ver = get_org(request), api_version_of(request)
    if request.method == "GET":
        base = f"/services/data/v{ver}/composite"
        return json_response(
            {
                "tree": f"{base}/tree",
                "batch": f"{base}/batch",
                "sobjects": f"{base}/sobjects",
                "graph": f"{base}/graph",
            }
        )
    dispatch = _table(request).dispatcher(org, session.user_id, via=Sub.COMPOSITE)
    return json_response(run_composite(org, await read_json(request), dispatch))


async def composite_batch(request: Request) -> Response:
    session = require_session(request)
    dispatch = _table(request).dispatcher(get_org(request), session.user_id, via=Sub.BATCH)
    return json_response(run_batch(await read_json(request), dispatch))


async def composite_graph(request: Request) -> Response:
    require_session(request)
    raise ApiError(400, "FUNCTIONALITY_NOT_ENABLED", "Composite graph is not supported by this emulator")


__all__ = ["composite_batch", "composite_graph", "composite_root"]
