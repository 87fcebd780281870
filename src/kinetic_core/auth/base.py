"""Tokens, token requests and token-response parsing shared by every OAuth flow (no I/O)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

from kinetic_core.errors import AuthenticationError

TOKEN_PATH = "/services/oauth2/token"


class AuthFlow(StrEnum):
    """The OAuth 2.0 flows Kinetic Core speaks."""

    JWT = "jwt"
    PASSWORD = "password"
    REFRESH_TOKEN = "refresh_token"
    CLIENT_CREDENTIALS = "client_credentials"
    STATIC = "static"


@dataclass(frozen=True)
class Token:
    """An issued session. The access and refresh tokens never show in ``repr``.

    Example:
        >>> "secret" in repr(Token("00D!secret", "https://x.my.salesforce.com"))
        False
    """

    access_token: str = field(repr=False)
    instance_url: str
    id_url: str = ""
    token_type: str = "Bearer"
    issued_at: str = ""
    scope: str = ""
    refresh_token: str | None = field(default=None, repr=False)

    @property
    def org_id(self) -> str | None:
        """Organization id from the identity URL (``.../id/{orgId}/{userId}``)."""
        parts = [p for p in urlsplit(self.id_url).path.split("/") if p]
        return parts[-2] if len(parts) >= 3 and parts[-3] == "id" else None

    @property
    def user_id(self) -> str | None:
        """User id from the identity URL."""
        parts = [p for p in urlsplit(self.id_url).path.split("/") if p]
        return parts[-1] if len(parts) >= 3 and parts[-3] == "id" else None


@dataclass(frozen=True)
class TokenRequest:
    """One POST to the token endpoint: URL, form fields and headers. Its repr hides the form.

    Example:
        >>> TokenRequest("https://login.salesforce.com/services/oauth2/token", {"password": "p"})
        TokenRequest(url='https://login.salesforce.com/services/oauth2/token')
    """

    url: str
    form: Mapping[str, str] = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


class Authenticator(Protocol):
    """What the HTTP session needs from an OAuth flow."""

    flow: AuthFlow
    login_url: str

    def initial_token(self) -> Token | None:
        """A token known without a request (static sessions), else None."""
        ...

    def token_request(self, now: float) -> TokenRequest:
        """The request that obtains a fresh token at time ``now`` (epoch seconds).

        Raises ``SessionExpiredError`` when the flow cannot obtain one (static tokens).
        """
        ...

    def accept(self, token: Token) -> None:
        """Note a freshly issued token (e.g. a rotated refresh token)."""
        ...


def token_url(login_url: str) -> str:
    """``{login_url}/services/oauth2/token`` without doubled slashes.

    Example:
        >>> token_url("https://login.salesforce.com/")
        'https://login.salesforce.com/services/oauth2/token'
    """
    return login_url.rstrip("/") + TOKEN_PATH


def basic_auth_header(client_id: str, client_secret: str) -> str:
    """``Basic base64(client_id:client_secret)``."""
    raw = f"{client_id}:{client_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def parse_token_response(status: int, content: bytes, url: str) -> Token:
    """Turn a token-endpoint answer into a ``Token`` or raise ``AuthenticationError``.

    Example:
        >>> body = b'{"access_token":"00D!x","instance_url":"https://a.my.salesforce.com"}'
        >>> parse_token_response(200, body, "https://login.salesforce.com/services/oauth2/token").instance_url
        'https://a.my.salesforce.com'
    """
    try:
        body: Any = json.loads(content) if content.strip() else None
    except ValueError:
        body = None
    if status != 200 or not isinstance(body, Mapping) or "access_token" not in body:
        if isinstance(body, Mapping) and "error" in body:
            raise AuthenticationError(
                str(body["error"]), str(body.get("error_description") or ""), status=status, url=url
            )
        if isinstance(body, list) and body and isinstance(body[0], Mapping) and "errorCode" in body[0]:
            raise AuthenticationError(
                str(body[0]["errorCode"]), str(body[0].get("message") or ""), status=status, url=url
            )
        raise AuthenticationError(
            f"ERROR_HTTP_{status}", "unexpected token endpoint answer", status=status, url=url
        )
    instance = str(body.get("instance_url") or "").rstrip("/")
    if not instance:
        raise AuthenticationError(
            "invalid_response", "token response has no instance_url", status=status, url=url
        )
    refresh = body.get("refresh_token")
    return Token(
        access_token=str(body["access_token"]),
        instance_url=instance,
        id_url=str(body.get("id") or ""),
        token_type=str(body.get("token_type") or "Bearer"),
        issued_at=str(body.get("issued_at") or ""),
        scope=str(body.get("scope") or ""),
        refresh_token=str(refresh) if refresh else None,
    )
