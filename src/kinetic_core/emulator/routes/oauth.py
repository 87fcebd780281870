"""OAuth 2.0 routes (``/services/oauth2/...``): read the form, call the org's grants, render.

The rules (grant types, codes, PKCE, the device flow, refresh tokens, JWT checks) live in
:mod:`kinetic_core.emulator.service.oauth`; the login-and-approve pages are rendered in
:mod:`.oauth_device`. Errors answer ``{"error", "error_description"}`` with
status 400, whatever the input (a non-ASCII password or secret included).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kinetic_core.emulator.routes import oauth_device
from kinetic_core.emulator.service import oauth
from kinetic_core.emulator.service.oauth import OAuthError
from kinetic_core.emulator.service.oauth_device import approving_user
from kinetic_core.emulator.web import bearer_token, get_org, json_response


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
        body = oauth.token(org, await _form(request), request.headers.get("authorization", ""))
    except OAuthError as err:
        return _response(err)
    return json_response(body)


async def revoke(request: Request) -> Response:
    """``POST /services/oauth2/revoke`` (``token=`` in the body or query)."""
    org = get_org(request)
    try:
        params = await _form(request)
        oauth.revoke(org, params.get("token") or bearer_token(request.headers.get("authorization")))
    except OAuthError as err:
        return _response(err)
    return Response(b"", status_code=200)


_AUTHORIZE_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)
"""The authorize parameters the login page carries through its form."""


async def authorize(request: Request) -> Response:
    """``/services/oauth2/authorize``: GET answers the login page, POST (the form) approves or denies.

    The code goes only to one of the connected app's callback URLs (exact match); any other
    ``redirect_uri`` is answered 400 here, never redirected to.
    """
    org = get_org(request)
    try:
        params = await _form(request) if request.method == "POST" else dict(request.query_params)
        oauth.check_authorize(org, params)
    except OAuthError as err:
        return _response(err)
    hidden = {k: params[k] for k in _AUTHORIZE_FIELDS if k in params}
    title = f"Log in to {org.settings.org_name} and allow access"
    if request.method == "GET":
        return oauth_device.approval_page(title, "/services/oauth2/authorize", hidden)
    if params.get("action") == "deny":
        return RedirectResponse(oauth.deny(org, params), status_code=302)
    user = approving_user(org, params)
    if user is None:
        wrong = "Wrong username or password."
        return oauth_device.approval_page(title, "/services/oauth2/authorize", hidden, wrong, 401)
    return RedirectResponse(oauth.approve(org, params, *user), status_code=302)


__all__ = ["authorize", "revoke", "token"]
