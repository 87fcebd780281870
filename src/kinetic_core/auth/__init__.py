"""OAuth 2.0 token flows: JWT bearer, username-password, refresh token, client credentials, static token.

Example:
    >>> from kinetic_core.auth import PasswordAuth
    >>> PasswordAuth("https://login.salesforce.com", "id", None, "me@x.com", "pw").flow
    <AuthFlow.PASSWORD: 'password'>
"""

from __future__ import annotations

from kinetic_core.auth.base import (
    Authenticator,
    AuthFlow,
    Token,
    TokenRequest,
    parse_token_response,
    token_url,
)
from kinetic_core.auth.flows import (
    ClientCredentialsAuth,
    JwtBearerAuth,
    PasswordAuth,
    RefreshTokenAuth,
    SeededAuth,
    StaticTokenAuth,
    jwt_audience,
)
from kinetic_core.auth.provider import Held, TokenProvider

__all__ = [
    "AuthFlow",
    "Authenticator",
    "ClientCredentialsAuth",
    "Held",
    "JwtBearerAuth",
    "PasswordAuth",
    "RefreshTokenAuth",
    "SeededAuth",
    "StaticTokenAuth",
    "Token",
    "TokenProvider",
    "TokenRequest",
    "jwt_audience",
    "parse_token_response",
    "token_url",
]
