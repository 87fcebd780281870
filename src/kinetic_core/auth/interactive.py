"""Interactive logins: the OAuth 2.0 web server flow with PKCE, and the device flow.

Both end with a refresh token that an org profile keeps (by reference) and ``RefreshTokenAuth`` uses
from then on. Everything here builds requests and reads answers; the caller sends them (a ``Send``
callable), so the rules are tested without a network and the sending stays in the HTTP layer.

Web server flow (Salesforce help, "OAuth 2.0 Web Server Flow for Web App Integration"; PKCE, RFC 7636):
``GET {login}/services/oauth2/authorize?response_type=code&client_id&redirect_uri&code_challenge&state``
in the user's browser; Salesforce redirects to ``redirect_uri?code=..&state=..``; the app posts
``grant_type=authorization_code``, ``code``, ``client_id``, ``redirect_uri`` and ``code_verifier`` (and
``client_secret`` when the connected app requires one) to ``/services/oauth2/token``. The challenge is
base64url(SHA-256(verifier)) without padding; the verifier is 43 to 128 unreserved characters.

Device flow (Salesforce help, "OAuth 2.0 Device Flow for IoT Integration"): post
``response_type=device_code``, ``client_id``, ``scope`` to ``/services/oauth2/token``; show the answer's
``user_code`` and ``verification_uri``; poll with ``grant_type=device``, ``client_id``,
``code=<device_code>`` every ``interval`` seconds while the answer is ``authorization_pending``, five
seconds slower after each ``slow_down`` (RFC 8628), until approval, refusal or ``expires_in``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from kinetic_core.auth.base import Token, TokenRequest, parse_token_response, token_url
from kinetic_core.errors import AuthenticationError

logger = logging.getLogger(__name__)

AUTHORIZE_PATH = "/services/oauth2/authorize"
DEFAULT_CALLBACK_PORT = 1717
CALLBACK_PATH = "/OauthRedirect"
"""The Salesforce CLI's callback (``http://localhost:1717/OauthRedirect``), registered on many apps."""
DEFAULT_SCOPE = "api web refresh_token"
DEVICE_GRANT = "device"
SLOW_DOWN_STEP_SECONDS = 5
DEFAULT_DEVICE_INTERVAL_SECONDS = 5
DEFAULT_DEVICE_EXPIRY_SECONDS = 600
"""[I] How long to poll when the device answer gives no ``expires_in``."""

Send = Callable[[TokenRequest], tuple[int, bytes]]
"""Posts one token-endpoint request and returns (status, body)."""


@dataclass(frozen=True)
class Pkce:
    """A PKCE pair: the secret verifier (kept) and its S256 challenge (sent with the authorize URL).

    Example:
        >>> pair = Pkce.from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        >>> pair.challenge
        'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
    """

    verifier: str = field(repr=False)
    challenge: str
    method: str = "S256"

    @classmethod
    def from_verifier(cls, verifier: str) -> Pkce:
        """The pair for a given verifier (43 to 128 characters of ``A-Z a-z 0-9 - . _ ~``)."""
        allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        if not 43 <= len(verifier) <= 128 or not set(verifier) <= allowed:
            raise ValueError("a PKCE verifier has 43 to 128 unreserved characters")
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))

    @classmethod
    def generate(cls, token_bytes: Callable[[int], bytes] = secrets.token_bytes) -> Pkce:
        """A fresh pair from 32 random bytes (a 43-character verifier)."""
        verifier = base64.urlsafe_b64encode(token_bytes(32)).rstrip(b"=").decode("ascii")
        return cls.from_verifier(verifier)


def callback_url(port: int) -> str:
    """The loopback callback for a port.

    Example:
        >>> callback_url(1717)
        'http://localhost:1717/OauthRedirect'
    """
    return f"http://localhost:{port}{CALLBACK_PATH}"


def authorize_url(
    login_url: str,
    client_id: str,
    redirect_uri: str,
    pkce: Pkce,
    state: str,
    scope: str | None = DEFAULT_SCOPE,
) -> str:
    """The URL the user opens to log in and allow access.

    Example:
        >>> url = authorize_url("https://login.salesforce.com", "id", "http://localhost:1717/OauthRedirect",
        ...                     Pkce.from_verifier("a" * 43), "s1")
        >>> url.split("?")[0]
        'https://login.salesforce.com/services/oauth2/authorize'
    """
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_challenge": pkce.challenge,
        "code_challenge_method": pkce.method,
        "state": state,
    }
    if scope:
        params["scope"] = scope
    return f"{login_url.rstrip('/')}{AUTHORIZE_PATH}?{urlencode(params)}"


def code_exchange_request(
    login_url: str,
    client_id: str,
    code: str,
    redirect_uri: str,
    pkce: Pkce,
    client_secret: str | None = None,
) -> TokenRequest:
    """The token request that trades an authorization code (and the PKCE verifier) for tokens."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_verifier": pkce.verifier,
    }
    if client_secret:
        form["client_secret"] = client_secret
    return TokenRequest(token_url(login_url), form)


def check_callback(params: Mapping[str, str], expected_state: str) -> str:
    """The authorization code of a callback's query, after checking its ``state``.

    Raises:
        AuthenticationError: the state does not match (a forged or stale redirect), the user or the
            org refused (``error`` in the query), or there is no code.

    Example:
        >>> check_callback({"code": "aPrx", "state": "s1"}, "s1")
        'aPrx'
    """
    given = params.get("state", "").encode("utf-8", "surrogatepass")
    if not secrets.compare_digest(given, expected_state.encode("utf-8", "surrogatepass")):
        raise AuthenticationError(
            "state_mismatch", "the callback's state does not match this login: ignored", status=400
        )
    if params.get("error"):
        raise AuthenticationError(params["error"], params.get("error_description", ""), status=400)
    code = params.get("code", "")
    if not code:
        raise AuthenticationError("missing_code", "the callback carries no authorization code", status=400)
    return code


def exchange_code(send: Send, request: TokenRequest) -> Token:
    """Send the code exchange and parse the tokens (``AuthenticationError`` on refusal)."""
    status, body = send(request)
    return parse_token_response(status, body, request.url)


@dataclass(frozen=True)
class DeviceAuthorization:
    """The answer to a device-code request. The device code is a secret and stays out of ``repr``."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    interval: int = DEFAULT_DEVICE_INTERVAL_SECONDS
    expires_in: int | None = None


def device_code_request(login_url: str, client_id: str, scope: str | None = DEFAULT_SCOPE) -> TokenRequest:
    """The request that starts the device flow.

    Example:
        >>> dict(device_code_request("https://login.salesforce.com", "id").form)["response_type"]
        'device_code'
    """
    form = {"response_type": "device_code", "client_id": client_id}
    if scope:
        form["scope"] = scope
    return TokenRequest(token_url(login_url), form)


def _json(content: bytes) -> Any:
    try:
        return json.loads(content) if content.strip() else None
    except ValueError:
        return None


def parse_device_authorization(status: int, content: bytes, url: str) -> DeviceAuthorization:
    """Read a device-code answer, or raise ``AuthenticationError`` with the org's error."""
    body = _json(content)
    if status == 200 and isinstance(body, Mapping):
        try:
            interval = int(body.get("interval") or DEFAULT_DEVICE_INTERVAL_SECONDS)
            expires = body.get("expires_in")
            return DeviceAuthorization(
                device_code=str(body["device_code"]),
                user_code=str(body["user_code"]),
                verification_uri=str(body["verification_uri"]),
                interval=max(interval, 1),
                expires_in=int(expires) if expires is not None else None,
            )
        except (KeyError, TypeError, ValueError):
            pass
    if isinstance(body, Mapping) and "error" in body:
        raise AuthenticationError(
            str(body["error"]), str(body.get("error_description") or ""), status=status, url=url
        )
    raise AuthenticationError(
        f"ERROR_HTTP_{status}", "unexpected answer to the device-code request", status=status, url=url
    )


def device_poll_request(
    login_url: str, client_id: str, device: DeviceAuthorization, client_secret: str | None = None
) -> TokenRequest:
    """One poll of the token endpoint for a device code."""
    form = {"grant_type": DEVICE_GRANT, "client_id": client_id, "code": device.device_code}
    if client_secret:
        form["client_secret"] = client_secret
    return TokenRequest(token_url(login_url), form)


def poll_device(
    send: Send,
    request: TokenRequest,
    device: DeviceAuthorization,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Token:
    """Poll until the user approves: honours ``interval``, ``slow_down`` (+5 s) and the code's expiry.

    Raises:
        AuthenticationError: ``expired_token`` when the code expires first (from the org, or by its
            ``expires_in``), ``access_denied`` when the user refuses, or any other refusal.
    """
    interval = float(device.interval)
    lifetime = device.expires_in if device.expires_in is not None else DEFAULT_DEVICE_EXPIRY_SECONDS
    deadline = clock() + lifetime
    while True:
        sleep(interval)
        status, content = send(request)
        try:
            return parse_token_response(status, content, request.url)
        except AuthenticationError as exc:
            if exc.error == "authorization_pending":
                logger.debug("device authorization pending; next poll in %.0f s", interval)
            elif exc.error == "slow_down":
                interval += SLOW_DOWN_STEP_SECONDS
                logger.debug("asked to slow down; polling every %.0f s", interval)
            else:
                raise
        if clock() + interval > deadline:
            raise AuthenticationError(
                "expired_token",
                f"the user code {device.user_code} was not approved within {lifetime} s; start again",
                status=400,
                url=request.url,
            )
