"""OAuth 2.0 routes (``/services/oauth2/...``): read the form, call the org's grants, render.

The rules (grant types, codes, refresh tokens, JWT checks) live in
:mod:`kinetic_core.emulator.service.oauth`. Errors answer ``{"error", "error_description"}`` with
status 400, whatever the input (a non-ASCII password or secret included).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kinetic_core.emulator.routes.common import bearer_token, get_org, json_response
from kinetic_core.emulator.service.oauth import OAuthError


def _response(err: OAuthError) -> Response:
    return json_response({"error": err.error, "error_description": err.description}, err.status)


async def _form(request: Request) -> dict[str, str]:
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise OAuthError("invalid_request", "the request body must be UTF-8 form data") from None
    params = dict(request.query_params)
    params.update(parse_qsl(text, keep_blank_values=True))
    return params


async def token(request: Request) -> Response:
    """``POST /services/oauth2/token``."""
    org = get_org(request)
    try:
        body = org.oauth.token(await _form(request), request.headers.get("authorization", ""))
    except OAuthError as err:
        return _response(err)
    return json_response(body)


async def revoke(request: Request) -> Response:
    """``POST /services/oauth2/revoke`` (``token=`` in the body or query)."""
    org = get_org(request)
    try:
        params = await _form(request)
        org.oauth.revoke(params.get("token") or bearer_token(request.headers.get("authorization")))
    except OAuthError as err:
        return _response(err)
    return Response(b"", status_code=200)


async def authorize(request: Request) -> Response:
    """``GET /services/oauth2/authorize``: approves at once and redirects with a code."""
    try:
        target = get_org(request).oauth.authorize(dict(request.query_params))
    except OAuthError as err:
        return _response(err)
    return RedirectResponse(target, status_code=302)


__all__ = ["authorize", "revoke", "token"]
