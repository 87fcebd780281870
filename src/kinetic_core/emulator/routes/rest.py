"""REST handlers that need more than an operation: versions (no session) and sObject rows (a body only
where one is expected). Conditional GETs live in :mod:`kinetic_core.emulator.service.conditional`, so
sub-requests honour them too; the other REST endpoints are served by the URL table's generic handler.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from kinetic_core.emulator.routing import call_of
from kinetic_core.emulator.service import conditional, org_info
from kinetic_core.emulator.web import json_response, read_json, render, require_session


async def versions(request: Request) -> Response:
    """``GET /services/data`` (no auth, no limit header)."""
    return json_response(org_info.versions_body())


async def sobject_row(request: Request) -> Response:
    """``/sobjects/{sobject}/{rid}``: :func:`conditional.op_row`; a body only where one is expected."""
    session = require_session(request)
    creates = request.method == "POST" and request.path_params["rid"].lower() == "id"
    body = await read_json(request) if request.method == "PATCH" or creates else None
    return render(conditional.op_row(call_of(request, session.user_id, body)))


__all__ = ["sobject_row", "versions"]
