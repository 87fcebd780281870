"""The OAuth 2.0 flows: JWT bearer, username-password, refresh token, client credentials, static token.

Each flow only *builds* its token request (pure); the HTTP session sends it and parses the answer.
Secrets are held in attributes excluded from ``repr``.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kinetic_core.auth.base import (
    Authenticator,
    AuthFlow,
    Token,
    TokenRequest,
    basic_auth_header,
    token_url,
)
from kinetic_core.errors import ConfigError, SessionExpiredError

PRODUCTION_LOGIN = "https://login.salesforce.com"
SANDBOX_LOGIN = "https://test.salesforce.com"
JWT_LIFETIME_SECONDS = 180


def jwt_audience(login_url: str) -> str:
    """The ``aud`` claim for a login URL.

    ``login.salesforce.com`` and ``test.salesforce.com`` (and their ``*.my.salesforce.com`` production/
    sandbox My Domains) use the host family; any other login URL (an emulator, an Experience Cloud
    site) is its own audience.

    Example:
        >>> jwt_audience("https://acme.my.salesforce.com")
        'https://login.salesforce.com'
        >>> jwt_audience("https://acme--dev.sandbox.my.salesforce.com")
        'https://test.salesforce.com'
        >>> jwt_audience("http://127.0.0.1:8443/")
        'http://127.0.0.1:8443'
    """
    host = (urlsplit(login_url).hostname or "").lower()
    if host == "test.salesforce.com" or host.endswith(".sandbox.my.salesforce.com"):
        return SANDBOX_LOGIN
    if host == "login.salesforce.com" or host.endswith(".my.salesforce.com"):
        return PRODUCTION_LOGIN
    return login_url.rstrip("/")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def rsa_key_consistent(numbers: Any) -> bool:
    """Whether an RSA private key's numbers agree with each other (``numbers``: cryptography's
    ``RSAPrivateNumbers``): n = pq, e and d inverse modulo lcm(p-1, q-1), the CRT values derived
    from them. Everything OpenSSL checks on loading but the primality of p and q, which a damaged
    or hand-made key fails on these equalities anyway.
    """
    p, q, d = numbers.p, numbers.q, numbers.d
    n, e = numbers.public_numbers.n, numbers.public_numbers.e
    if min(p, q) < 3 or not 1 < e < n or not 1 < d < n or p * q != n:
        return False
    lam = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1)
    return bool(
        (e * d) % lam == 1
        and numbers.dmp1 == d % (p - 1)
        and numbers.dmq1 == d % (q - 1)
        and (numbers.iqmp * q) % p == 1
    )


def sign_rs256(claims: Mapping[str, Any], private_key_pem: str | bytes) -> str:
    """A compact JWS of ``claims``, RS256 (RSASSA-PKCS1-v1_5 with SHA-256), as PyJWT encodes it.

    Signed with cryptography's RSA primitives alone: PyJWT would also import every algorithm it
    knows and cryptography's X.509 modules (about 30 ms more), for a single signature.

    Raises:
        ConfigError: the key is not a PEM RSA private key without a passphrase.
    """
    # cryptography is imported here: only JWT logins pay for it (~25 ms)
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    header = {"alg": "RS256", "typ": "JWT"}
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode("utf-8")) for part in (header, claims)
    )
    pem = private_key_pem.encode("utf-8") if isinstance(private_key_pem, str) else private_key_pem
    try:
        # OpenSSL's own check of an RSA key tests p and q for primality: ~30 ms, as much as the
        # rest of a login. The key is checked below instead, in integer arithmetic (microseconds).
        key = serialization.load_pem_private_key(pem, password=None, unsafe_skip_rsa_key_validation=True)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ConfigError(f"cannot sign the JWT assertion: {type(exc).__name__}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"cannot sign the JWT assertion: RS256 needs an RSA key, not {type(key).__name__}")
    if not rsa_key_consistent(key.private_numbers()):
        raise ConfigError("cannot sign the JWT assertion: the RSA key's numbers do not agree (a damaged key)")
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


class _Flow:
    flow: AuthFlow

    def __init__(self, login_url: str) -> None:
        self.login_url = login_url.rstrip("/")

    def initial_token(self) -> Token | None:
        return None

    def accept(self, token: Token) -> None:
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(login_url={self.login_url!r})"


class JwtBearerAuth(_Flow):
    """JWT bearer flow: an RS256 assertion signed with the connected app's private key.

    Example:
        >>> auth = JwtBearerAuth("https://login.salesforce.com", "client-id", "me@x.com", private_key="...")
        >>> auth
        JwtBearerAuth(login_url='https://login.salesforce.com')
    """

    flow = AuthFlow.JWT

    def __init__(
        self,
        login_url: str,
        client_id: str,
        username: str,
        *,
        private_key: str | bytes | None = None,
        private_key_path: str | Path | None = None,
        audience: str | None = None,
    ) -> None:
        super().__init__(login_url)
        if private_key is None and private_key_path is None:
            raise ConfigError("JWT flow needs a private key (SF_PRIVATE_KEY_PATH or SF_PRIVATE_KEY)")
        self.client_id = client_id
        self.username = username
        self._private_key = private_key
        self._private_key_path = Path(private_key_path).expanduser() if private_key_path else None
        self.audience = audience or jwt_audience(login_url)

    def _key(self) -> str | bytes:
        if self._private_key is not None:
            return self._private_key
        assert self._private_key_path is not None
        try:
            return self._private_key_path.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the private key file {self._private_key_path}: {exc.strerror}"
            ) from None

    def assertion(self, now: float) -> str:
        """The signed JWT (``exp`` in whole seconds, three minutes ahead)."""
        claims = {
            "iss": self.client_id,
            "sub": self.username,
            "aud": self.audience,
            "exp": int(now) + JWT_LIFETIME_SECONDS,
        }
        return sign_rs256(claims, self._key())

    def token_request(self, now: float) -> TokenRequest:
        form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": self.assertion(now)}
        return TokenRequest(token_url(self.login_url), form)


class PasswordAuth(_Flow):
    """Username-password flow; the security token, if any, is appended to the password.

    Example:
        >>> PasswordAuth("https://login.salesforce.com", "id", "secret", "me@x.com", "pw", "tok")
        PasswordAuth(login_url='https://login.salesforce.com')
    """

    flow = AuthFlow.PASSWORD

    def __init__(
        self,
        login_url: str,
        client_id: str,
        client_secret: str | None,
        username: str,
        password: str,
        security_token: str | None = None,
    ) -> None:
        super().__init__(login_url)
        self.client_id = client_id
        self._client_secret = client_secret
        self.username = username
        self._password = password + (security_token or "")

    def token_request(self, now: float) -> TokenRequest:
        form = {
            "grant_type": "password",
            "client_id": self.client_id,
            "username": self.username,
            "password": self._password,
        }
        if self._client_secret:
            form["client_secret"] = self._client_secret
        return TokenRequest(token_url(self.login_url), form)


class RefreshTokenAuth(_Flow):
    """Refresh-token flow; a rotated refresh token in the answer replaces the old one.

    Example:
        >>> RefreshTokenAuth("https://login.salesforce.com", "id", "5Aep...", client_secret=None)
        RefreshTokenAuth(login_url='https://login.salesforce.com')
    """

    flow = AuthFlow.REFRESH_TOKEN

    def __init__(
        self, login_url: str, client_id: str, refresh_token: str, *, client_secret: str | None = None
    ) -> None:
        super().__init__(login_url)
        self.client_id = client_id
        self._refresh_token = refresh_token
        self._client_secret = client_secret

    def token_request(self, now: float) -> TokenRequest:
        form = {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "refresh_token": self._refresh_token,
        }
        if self._client_secret:
            form["client_secret"] = self._client_secret
        return TokenRequest(token_url(self.login_url), form)

    def accept(self, token: Token) -> None:
        if token.refresh_token:
            self._refresh_token = token.refresh_token


class ClientCredentialsAuth(_Flow):
    """Client-credentials flow (My Domain login URL); credentials go in a Basic header.

    Example:
        >>> ClientCredentialsAuth("https://acme.my.salesforce.com", "id", "secret")
        ClientCredentialsAuth(login_url='https://acme.my.salesforce.com')
    """

    flow = AuthFlow.CLIENT_CREDENTIALS

    def __init__(self, login_url: str, client_id: str, client_secret: str) -> None:
        super().__init__(login_url)
        self.client_id = client_id
        self._client_secret = client_secret

    def token_request(self, now: float) -> TokenRequest:
        headers = {"Authorization": basic_auth_header(self.client_id, self._client_secret)}
        return TokenRequest(token_url(self.login_url), {"grant_type": "client_credentials"}, headers)


class StaticTokenAuth(_Flow):
    """A session given as instance URL + access token; it cannot be renewed.

    Example:
        >>> StaticTokenAuth("https://acme.my.salesforce.com", "00D!abc").initial_token().instance_url
        'https://acme.my.salesforce.com'
    """

    flow = AuthFlow.STATIC

    def __init__(self, instance_url: str, access_token: str) -> None:
        super().__init__(instance_url)
        self._token = Token(access_token, instance_url.rstrip("/"))

    def initial_token(self) -> Token | None:
        return self._token

    def token_request(self, now: float) -> TokenRequest:
        raise SessionExpiredError(
            "the session expired and was given as a static access token: "
            "configure credentials (JWT, password, refresh token or client credentials) to renew it"
        )


class SeededAuth:
    """Start from a known access token, renew through another flow when it expires.

    Used when both a session (instance URL + access token) and credentials are configured.

    Example:
        >>> inner = ClientCredentialsAuth("https://acme.my.salesforce.com", "id", "secret")
        >>> SeededAuth(inner, Token("00D!t", "https://acme.my.salesforce.com")).flow
        <AuthFlow.CLIENT_CREDENTIALS: 'client_credentials'>
    """

    def __init__(self, inner: Authenticator, token: Token) -> None:
        self.inner = inner
        self.flow = inner.flow
        self.login_url = inner.login_url
        self._token = token

    def initial_token(self) -> Token | None:
        return self._token

    def token_request(self, now: float) -> TokenRequest:
        return self.inner.token_request(now)

    def accept(self, token: Token) -> None:
        self.inner.accept(token)

    def __repr__(self) -> str:
        return f"SeededAuth({self.inner!r})"
