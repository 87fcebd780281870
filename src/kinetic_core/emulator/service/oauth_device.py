"""The OAuth 2.0 device flow's rules: device codes, user codes, polling, approval.

Device flow (Salesforce help, "OAuth 2.0 Device Flow for IoT Integration"): the device posts
``response_type=device_code`` with its ``client_id`` and ``scope`` to ``/services/oauth2/token`` and gets
``device_code``, ``user_code``, ``verification_uri`` and ``interval``. The user opens the verification
URL (here ``/setup/connect``), enters the user code, logs in and allows access. Meanwhile the device
polls the token endpoint with ``grant_type=device``, ``client_id`` and ``code=<device_code>``: until
approval it gets 400 ``authorization_pending``; then the token body (with a refresh token when the scope
asks for one). [I] A poll sooner than ``interval`` after the previous one answers ``slow_down``; a code
past its lifetime answers ``expired_token``; a denial ``access_denied``; the answers also carry
``expires_in`` (RFC 8628), which the Salesforce help does not show.

No HTTP here: the token route and the verification page (``routes.oauth_device``) call these.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from kinetic_core.emulator.credentials import password_matches
from kinetic_core.emulator.grants import DeviceGrant

if TYPE_CHECKING:
    from kinetic_core.emulator.org import Org

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


def normal_user_code(user_code: str) -> str:
    """A user code as typed, upper-cased, without separators.

    Example:
        >>> normal_user_code("abcd-efgh")
        'ABCDEFGH'
    """
    return "".join(ch for ch in user_code.upper() if ch.isalnum())


def approving_user(org: Org, params: dict[str, str]) -> tuple[str, str] | None:
    """The (user id, username) whose credentials a login form carries; None when they are wrong."""
    username, password = params.get("username", ""), params.get("password", "")
    user = org.store.user_by_username(username) if username else None
    if not user or not password_matches(org, password):
        return None
    return str(user.get("Id")), str(user.get("Username", username))


def start(org: Org, params: dict[str, str]) -> dict[str, Any]:
    """A new device authorization (the client id has been checked by the caller)."""
    now = org.clock().timestamp()
    user_code = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(_USER_CODE_LENGTH))
    grant = DeviceGrant(
        device_code=secrets.token_urlsafe(32),
        user_code=user_code,
        scope=params.get("scope") or DEFAULT_DEVICE_SCOPE,
        expires_at=now + org.settings.device_code_ttl_seconds,
        interval=org.settings.device_poll_interval_seconds,
    )
    grants = org.grants
    with grants.device_lock:
        for code, old in list(grants.devices.items()):
            if old.expires_at < now:
                del grants.devices[code]
        grants.devices[grant.device_code] = grant
    return {
        "device_code": grant.device_code,
        "user_code": grant.user_code,
        "verification_uri": org.base_url.rstrip("/") + VERIFICATION_PATH,
        "interval": grant.interval,
        "expires_in": int(org.settings.device_code_ttl_seconds),
    }


def poll(org: Org, params: dict[str, str]) -> tuple[str, str, str]:
    """One poll: the approving (user id, username, scope), or a ``DeviceFlowError`` to answer."""
    now = org.clock().timestamp()
    devices = org.grants.devices
    with org.grants.device_lock:
        grant = devices.get(params.get("code", ""))
        if grant is None:
            raise DeviceFlowError("invalid_grant", "invalid device code")  # [I] wording
        if grant.expires_at < now:
            del devices[grant.device_code]
            raise DeviceFlowError("expired_token", "the device code has expired")
        if grant.decision == "denied":
            del devices[grant.device_code]
            raise DeviceFlowError("access_denied", "end-user denied authorization")
        too_soon = grant.last_poll is not None and now - grant.last_poll < grant.interval
        grant.last_poll = now
        if too_soon and grant.decision == "pending":
            raise DeviceFlowError("slow_down", "polling too frequently")
        if grant.decision == "pending":
            raise DeviceFlowError("authorization_pending", "authorization pending")
        del devices[grant.device_code]
        return grant.user_id, grant.username, grant.scope


def decide(org: Org, user_code: str, form: dict[str, str]) -> str:
    """Approve or deny a pending user code from the verification form.

    Returns ``approved``, ``denied``, ``unknown_code`` (no pending grant has that code) or
    ``bad_credentials`` (the form's username or password is wrong).
    """
    wanted = normal_user_code(user_code)
    now = org.clock().timestamp()
    with org.grants.device_lock:
        grant = next(
            (
                g
                for g in org.grants.devices.values()
                if normal_user_code(g.user_code) == wanted and g.expires_at >= now and g.decision == "pending"
            ),
            None,
        )
        if grant is None:
            return "unknown_code"
        if form.get("action") == "deny":
            grant.decision = "denied"
            return "denied"
        user = approving_user(org, form)
        if user is None:
            return "bad_credentials"
        grant.decision, grant.user_id, grant.username = "approved", user[0], user[1]
        return "approved"


__all__ = [
    "DEVICE_GRANT",
    "DEVICE_RESPONSE_TYPE",
    "VERIFICATION_PATH",
    "DeviceFlowError",
    "approving_user",
    "decide",
    "normal_user_code",
    "poll",
    "start",
]
