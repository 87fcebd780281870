"""The OAuth 2.0 device flow and the login-and-approve pages of the interactive flows.

Device flow (Salesforce help, "OAuth 2.0 Device Flow for IoT Integration"): the device posts
``response_type=device_code`` with its ``client_id`` and ``scope`` to ``/services/oauth2/token`` and gets
``device_code``, ``user_code``, ``verification_uri`` and ``interval``. The user opens the verification
URL (here ``/setup/connect``), enters the user code, logs in and allows access. Meanwhile the device
polls the token endpoint with ``grant_type=device``, ``client_id`` and ``code=<device_code>``: until
approval it gets 400 ``authorization_pending``; then the token body (with a refresh token when the scope
asks for one). [I] A poll sooner than ``interval`` after the previous one answers ``slow_down``; a code
past its lifetime answers ``expired_token``; a denial ``access_denied``; the answers also carry
``expires_in`` (RFC 8628), which the Salesforce help does not show.

The store of pending grants lives on the app's state (one app is one org); nothing here knows HTTP
beyond the two page handlers.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from kinetic_core.emulator.credentials import password_matches
from kinetic_core.emulator.org import Org
from kinetic_core.emulator.routes.common import get_org

DEVICE_RESPONSE_TYPE = "device_code"
DEVICE_GRANT = "device"
VERIFICATION_PATH = "/setup/connect"  # [I] the path of Salesforce's device verification page
DEFAULT_DEVICE_SCOPE = "api web refresh_token"
_USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by people
_USER_CODE_LENGTH = 8


class DeviceFlowError(Exception):
    """A device-flow refusal, answered as ``{"error", "error_description"}`` with status 400."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


@dataclass
class DeviceGrant:
    """One device authorization: pending until its user code is approved or denied, or it expires."""

    device_code: str
    user_code: str
    scope: str
    expires_at: float
    interval: int
    last_poll: float | None = None
    decision: str = "pending"  # pending | approved | denied
    user_id: str = ""
    username: str = ""


def _grants(state: Any) -> dict[str, DeviceGrant]:
    """The app's pending device grants by device code (made on first use)."""
    grants: dict[str, DeviceGrant] | None = getattr(state, "oauth_devices", None)
    if grants is None:
        grants = {}
        state.oauth_devices = grants
    return grants


def _normal(user_code: str) -> str:
    return "".join(ch for ch in user_code.upper() if ch.isalnum())


def start(org: Org, state: Any, params: dict[str, str]) -> dict[str, Any]:
    """A new device authorization (the client id has been checked by the caller)."""
    now = org.clock().timestamp()
    grants = _grants(state)
    for code, grant in list(grants.items()):
        if grant.expires_at < now:
            del grants[code]
    user_code = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(_USER_CODE_LENGTH))
    grant = DeviceGrant(
        device_code=secrets.token_urlsafe(32),
        user_code=user_code,
        scope=params.get("scope") or DEFAULT_DEVICE_SCOPE,
        expires_at=now + org.settings.device_code_ttl_seconds,
        interval=org.settings.device_poll_interval_seconds,
    )
    grants[grant.device_code] = grant
    return {
        "device_code": grant.device_code,
        "user_code": grant.user_code,
        "verification_uri": org.base_url.rstrip("/") + VERIFICATION_PATH,
        "interval": grant.interval,
        "expires_in": int(org.settings.device_code_ttl_seconds),
    }


def poll(org: Org, state: Any, params: dict[str, str]) -> tuple[str, str, str]:
    """One poll: the approving (user id, username, scope), or a ``DeviceFlowError`` to answer."""
    grants = _grants(state)
    grant = grants.get(params.get("code", ""))
    if grant is None:
        raise DeviceFlowError("invalid_grant", "invalid device code")  # [I] wording
    now = org.clock().timestamp()
    if grant.expires_at < now:
        del grants[grant.device_code]
        raise DeviceFlowError("expired_token", "the device code has expired")
    if grant.decision == "denied":
        del grants[grant.device_code]
        raise DeviceFlowError("access_denied", "end-user denied authorization")
    too_soon = grant.last_poll is not None and now - grant.last_poll < grant.interval
    grant.last_poll = now
    if too_soon and grant.decision == "pending":
        raise DeviceFlowError("slow_down", "polling too frequently")
    if grant.decision == "pending":
        raise DeviceFlowError("authorization_pending", "authorization pending")
    del grants[grant.device_code]
    return grant.user_id, grant.username, grant.scope


def approval_page(
    title: str,
    action: str,
    hidden: dict[str, str],
    message: str = "",
    status: int = 200,
    *,
    user_code: str | None = None,
) -> Response:
    """A minimal login-and-approve page: hidden fields, username, password, Allow and Deny buttons.

    With ``user_code`` (the device verification page) it also asks for the code shown by the device.
    """
    fields = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in hidden.items()
    )
    if user_code is not None:
        fields += f'<label>Code <input name="user_code" value="{escape(user_code)}"></label> '
    note = f'<p class="error">{escape(message)}</p>' if message else ""
    body = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title></head><body>'
        f'<h1>{escape(title)}</h1>{note}<form method="post" action="{escape(action)}">{fields}'
        '<label>Username <input name="username" autocomplete="username"></label> '
        '<label>Password <input name="password" type="password" autocomplete="current-password"></label> '
        '<button name="action" value="approve">Allow</button> '
        '<button name="action" value="deny">Deny</button>'
        "</form></body></html>"
    )
    return HTMLResponse(body, status_code=status)


def approving_user(org: Org, params: dict[str, str]) -> tuple[str, str] | None:
    """The (user id, username) whose credentials a login form carries; None when they are wrong."""
    username, password = params.get("username", ""), params.get("password", "")
    user = org.store.user_by_username(username) if username else None
    if not user or not password_matches(org, password):
        return None
    return str(user.get("Id")), str(user.get("Username", username))


def _user_code_page(user_code: str, message: str = "", status: int = 200) -> Response:
    return approval_page("Connect your device", VERIFICATION_PATH, {}, message, status, user_code=user_code)


async def verify(request: Request) -> Response:
    """``/setup/connect``: GET answers the code-and-login page, POST approves or denies a user code."""
    org = get_org(request)
    if request.method == "GET":
        return _user_code_page(request.query_params.get("user_code", ""))
    try:
        form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return _user_code_page("", "The form must be UTF-8.", 400)
    wanted = _normal(form.get("user_code", ""))
    now = org.clock().timestamp()
    grant = next(
        (
            g
            for g in _grants(request.app.state).values()
            if _normal(g.user_code) == wanted and g.expires_at >= now and g.decision == "pending"
        ),
        None,
    )
    if grant is None:
        return _user_code_page(form.get("user_code", ""), "That code is not valid or has expired.", 400)
    if form.get("action") == "deny":
        grant.decision = "denied"
        return HTMLResponse("<!doctype html><p>Access denied. You can close this window.</p>")
    user = approving_user(org, form)
    if user is None:
        return _user_code_page(form.get("user_code", ""), "Wrong username or password.", 401)
    grant.decision, grant.user_id, grant.username = "approved", user[0], user[1]
    return HTMLResponse("<!doctype html><p>Your device is connected. You can close this window.</p>")


def routes() -> list[BaseRoute]:
    """The device verification page."""
    return [Route(VERIFICATION_PATH, verify, methods=["GET", "POST"])]
