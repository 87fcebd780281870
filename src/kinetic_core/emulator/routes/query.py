"""The search handler that needs more than an operation: a parameterized search POST may have no body.

``/query``, ``/queryAll``, their locators and ``/search`` are served by the URL table's generic
handler; the operations live in :mod:`kinetic_core.emulator.service.queries`.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.routing import call_of
from kinetic_core.emulator.service.queries import op_parameterized_search
from kinetic_core.emulator.web import render, require_session


async def parameterized_search(request: Request) -> Response:
    """``GET /parameterizedSearch?q=...&sobject=...`` and ``POST`` with a JSON body (empty means ``{}``)."""
    session = require_session(request)
    body = None
    if request.method == "POST":
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body is not valid JSON") from None
    return render(op_parameterized_search(call_of(request, session.user_id, body)))


__all__ = ["parameterized_search"]
