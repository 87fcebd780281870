"""OAuth 2.0 grants, authorization codes and revocation: the rules behind ``/services/oauth2/...``.

Grant types: JWT bearer, password (with or without security token), refresh_token,
client_credentials, authorization_code (the web server flow, with PKCE) and device (the device flow, in
:mod:`.oauth_device`). Errors answer ``{"error", "error_description"}`` with status 400, whatever the
input (a non-ASCII password or secret included).

Web server flow: ``/services/oauth2/authorize`` shows a login-and-approve page; the user's approval
(:func:`approve`, with the org's username and password) redirects to the callback with
``code`` and ``state``, a denial with ``error=access_denied``. It only ever redirects to one of the
connected app's callback URLs (``OrgSettings.callback_urls``, exact match). PKCE: a ``code_challenge``
(base64url SHA-256 of the verifier) given at authorize must be answered by its ``code_verifier`` at the
token endpoint: a missing verifier is ``invalid_grant``, a wrong one ``invalid_request`` (Salesforce
help, "OAuth 2.0 Web Server Flow"). A code is single-use and lives 10 minutes.

Only the authorization-code and device flows issue a refresh token (and only for a ``refresh_token``,
``offline_access`` or ``full`` scope); the access tokens minted with or from a refresh token die with it
when it is revoked. A JWT assertion must be signed with RS256 by a trusted key, name the connected app,
a known user and an accepted audience, and have a finite ``exp`` no more than 3 minutes ahead (plus
the clock skew) and not in the past (minus the skew), and an ``nbf``, when present, not in the future.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jwt

from kinetic_core.emulator.credentials import password_matches
from kinetic_core.emulator.grants import CodeGrant
from kinetic_core.emulator.service import oauth_device
from kinetic_core.emulator.service.oauth_device import DEVICE_GRANT, DEVICE_RESPONSE_TYPE, DeviceFlowError
from kinetic_core.emulator.tokens import Session

if TYPE_CHECKING:
    from kinetic_core.emulator.org import Org

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# [I] Audiences accepted for JWT bearer besides the emulator's own base URL.
PUBLIC_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
CLOCK_SKEW_SECONDS = 180
# Salesforce: the assertion's exp must lie within 3 minutes. [I] The same skew is tolerated both ways.
MAX_ASSERTION_LIFETIME_SECONDS = 180
REFRESH_SCOPES = frozenset({"refresh_token", "offline_access", "full"})
DEFAULT_SCOPE = "api web"
_CODE_TTL_SECONDS = 600.0


class OAuthError(Exception):
    """An OAuth failure: ``{"error": code, "error_description": description}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


def token_body(org: Org, session: Session, *, refresh_token: str | None = None) -> dict[str, Any]:
    """The success body of the token endpoint (A.7 field set)."""
    issued_at = str(int(session.issued_at * 1000))
    id_url = org.identity_url(session.user_id)
    digest = hmac.new(org.settings.client_secret.encode(), (id_url + issued_at).encode(), hashlib.sha256)
    body: dict[str, Any] = {"access_token": session.token}
    if refresh_token:
        body["refresh_token"] = refresh_token
    body.update(
        {
            "signature": base64.b64encode(digest.digest()).decode(),
            "scope": session.scope,
            "instance_url": org.base_url,
            "id": id_url,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }
    )
    return body


def _bad_credentials() -> OAuthError:
    return OAuthError("invalid_grant", "authentication failure")


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison of two texts (any characters: compared as UTF-8 bytes)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def _check_client(org: Org, params: dict[str, str], *, secret_required: bool) -> None:
    client_id = params.get("client_id")
    if not client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if client_id != org.settings.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    secret = params.get("client_secret")
    if (secret_required and secret is None) or (
        secret is not None and not _same(secret, org.settings.client_secret)
    ):
        raise OAuthError("invalid_client", "invalid client credentials")


def _user(org: Org, username: str) -> tuple[str, str]:
    user = org.store.user_by_username(username)
    if not user:
        raise _bad_credentials()
    return str(user.get("Id")), str(user.get("Username", username))


def _issue(org: Org, user_id: str, username: str, scope: str) -> Session:
    return org.tokens.issue_access(user_id, username, scope, ttl_seconds=org.settings.token_ttl_seconds)


def _password(org: Org, params: dict[str, str]) -> dict[str, Any]:
    _check_client(org, params, secret_required=True)
    username, password = params.get("username"), params.get("password")
    if not username or password is None:
        raise OAuthError("invalid_request", "username and password are required")
    if not password_matches(org, password):
        raise _bad_credentials()
    user_id, name = _user(org, username)
    # The username-password flow never issues a refresh token, whatever the scope asks.
    return token_body(org, _issue(org, user_id, name, params.get("scope") or DEFAULT_SCOPE))


def _refresh(org: Org, params: dict[str, str]) -> dict[str, Any]:
    _check_client(org, params, secret_required=False)
    refresh_token = params.get("refresh_token", "")
    grant = org.tokens.refresh_grant(refresh_token)
    if grant is None:
        raise OAuthError("invalid_grant", "expired access/refresh token")
    session = org.tokens.issue_access(
        grant.user_id,
        grant.username,
        grant.scope,
        ttl_seconds=org.settings.token_ttl_seconds,
        refresh_token=refresh_token,
    )
    return token_body(org, session)


def _client_credentials(org: Org, params: dict[str, str], header: str) -> dict[str, Any]:
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("invalid_client", "invalid client credentials") from None
        cid, _, secret = decoded.partition(":")
        params = {**params, "client_id": cid, "client_secret": secret}
    _check_client(org, params, secret_required=True)
    admin = org.store.get("User", org.admin_user_id, ["Id", "Username"])
    session = _issue(org, org.admin_user_id, str(admin.get("Username", org.settings.username)), "api")
    return token_body(org, session)


def _audiences(org: Org) -> set[str]:
    return {org.base_url.rstrip("/"), *PUBLIC_AUDIENCES}


def _numeric_date(raw: Any) -> float:
    """A NumericDate claim (number or numeric string) in seconds; NaN, infinities and junk are refused."""
    if isinstance(raw, bool):
        raise OAuthError("invalid_grant", "invalid assertion")
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError):
        raise OAuthError("invalid_grant", "invalid assertion") from None
    if not math.isfinite(value):
        raise OAuthError("invalid_grant", "invalid assertion")
    return value / 1000.0 if value > 1e11 else value  # sfdx-core sends milliseconds


def _check_validity(org: Org, claims: dict[str, Any]) -> None:
    """``exp`` present, not past and at most 3 minutes ahead; ``nbf`` (optional) not in the future."""
    if "exp" not in claims:
        raise OAuthError("invalid_grant", "invalid assertion")
    now = org.clock().timestamp()
    exp = _numeric_date(claims["exp"])
    if exp < now - CLOCK_SKEW_SECONDS or exp > now + MAX_ASSERTION_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS:
        raise OAuthError("invalid_grant", "invalid assertion")
    if "nbf" in claims and _numeric_date(claims["nbf"]) > now + CLOCK_SKEW_SECONDS:
        raise OAuthError("invalid_grant", "invalid assertion")


def _jwt_bearer(org: Org, params: dict[str, str]) -> dict[str, Any]:
    assertion = params.get("assertion")
    if not assertion:
        raise OAuthError("invalid_request", "assertion is required")
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise OAuthError("invalid_grant", "invalid assertion") from None
    if header.get("alg") != "RS256":
        raise OAuthError("invalid_grant", "invalid assertion")
    claims: dict[str, Any] | None = None
    options: Any = {"verify_exp": False, "verify_aud": False, "verify_iat": False, "verify_nbf": False}
    for key in org.trusted_jwt_keys:
        try:
            claims = jwt.decode(assertion, key, algorithms=["RS256"], options=options)
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            raise OAuthError("invalid_grant", "invalid assertion") from None
    if claims is None:
        raise OAuthError("invalid_grant", "invalid assertion")
    if claims.get("iss") != org.settings.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    if not any(isinstance(a, str) and a.rstrip("/") in _audiences(org) for a in auds):
        raise OAuthError("invalid_grant", "audience is invalid")
    _check_validity(org, claims)
    subject = claims.get("prn") or claims.get("sub")
    if not isinstance(subject, str) or not org.store.user_by_username(subject):
        raise OAuthError("invalid_grant", "invalid assertion")
    user_id, name = _user(org, subject)
    return token_body(org, _issue(org, user_id, name, params.get("scope") or DEFAULT_SCOPE))


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier: base64url(SHA-256(verifier)) without padding.

    Example:
        >>> pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
    """
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def issue_for_user(org: Org, user_id: str, username: str, scope: str) -> dict[str, Any]:
    """The token body for an approved interactive grant; a refresh token when the scope asks for one."""
    refresh = None
    if REFRESH_SCOPES & set(scope.split()):
        refresh = org.tokens.issue_refresh(user_id, username, org.settings.client_id, scope)
    session = org.tokens.issue_access(
        user_id, username, scope, ttl_seconds=org.settings.token_ttl_seconds, refresh_token=refresh
    )
    return token_body(org, session, refresh_token=refresh)


def _authorization_code(org: Org, codes: dict[str, CodeGrant], params: dict[str, str]) -> dict[str, Any]:
    _check_client(org, params, secret_required=False)
    grant = codes.pop(params.get("code", ""), None)
    if grant is None or grant.expires_at < org.clock().timestamp():
        raise OAuthError("invalid_grant", "invalid authorization code")
    if params.get("redirect_uri") != grant.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri must match configuration")
    if grant.code_challenge is not None:
        verifier = params.get("code_verifier")
        if not verifier:
            raise OAuthError("invalid_grant", "invalid code verifier")  # [I] wording
        if not _same(pkce_challenge(verifier), grant.code_challenge):
            raise OAuthError("invalid_request", "invalid code verifier")  # [I] wording
    return issue_for_user(org, grant.user_id, grant.username, grant.scope or "api web refresh_token")


def _with_query(redirect_uri: str, query: dict[str, str]) -> str:
    sep = "&" if "?" in redirect_uri else "?"
    return f"{redirect_uri}{sep}{urlencode(query)}"


def token(org: Org, params: dict[str, str], authorization: str = "") -> dict[str, Any]:
    """The token endpoint: the success body for ``params`` (``grant_type`` and its parameters).

    Example:
        >>> params = {"grant_type": "password", "username": "admin@kinetic.local",  # doctest: +SKIP
        ...           "password": "kinetic", "client_id": org.settings.client_id,
        ...           "client_secret": org.settings.client_secret}
        >>> token(org, params)["token_type"]  # doctest: +SKIP
        'Bearer'

    Raises:
        OAuthError: whatever the grant refuses.
    """
    grant = params.get("grant_type", "")
    if grant == "password":
        return _password(org, params)
    if grant == JWT_GRANT:
        return _jwt_bearer(org, params)
    if grant == "refresh_token":
        return _refresh(org, params)
    if grant == "client_credentials":
        return _client_credentials(org, params, authorization)
    if grant == "authorization_code":
        with org.grants.lock:
            return _authorization_code(org, org.grants.codes, params)
    try:
        if grant == DEVICE_GRANT:
            _check_client(org, params, secret_required=False)
            return issue_for_user(org, *oauth_device.poll(org, params))
        if not grant and params.get("response_type") == DEVICE_RESPONSE_TYPE:
            _check_client(org, params, secret_required=False)
            return oauth_device.start(org, params)
    except DeviceFlowError as err:
        raise OAuthError(err.error, err.description) from None
    raise OAuthError("unsupported_grant_type", "grant type not supported")


def check_authorize(org: Org, params: dict[str, str]) -> None:
    """Check an authorize request before showing its login page or acting on it.

    Raises:
        OAuthError: an unknown client, a redirect URI that is not a callback URL (never redirected
            to), a response type other than ``code``, a challenge method other than ``S256``.
    """
    if params.get("client_id") != org.settings.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri or redirect_uri not in org.settings.callback_urls:
        raise OAuthError("redirect_uri_mismatch", "redirect_uri must match configuration")
    if params.get("response_type") != "code":
        raise OAuthError("unsupported_response_type", "response type not supported")
    if params.get("code_challenge_method", "S256") != "S256":
        # [I] Salesforce documents only the SHA-256 challenge.
        raise OAuthError("invalid_request", "code_challenge_method must be S256")


def deny(org: Org, params: dict[str, str]) -> str:
    """The user refused: the callback URL carrying ``error=access_denied`` (and ``state``)."""
    check_authorize(org, params)
    query = {"error": "access_denied", "error_description": "end-user denied authorization"}
    if "state" in params:
        query["state"] = params["state"]
    return _with_query(params["redirect_uri"], query)


def approve(org: Org, params: dict[str, str], user_id: str, username: str) -> str:
    """The user logged in and allowed access: the callback URL carrying a new code (and ``state``).

    Raises:
        OAuthError: as :func:`check_authorize`.
    """
    check_authorize(org, params)
    redirect_uri = params["redirect_uri"]
    grants = org.grants
    code = grants.new_code(24)
    with grants.lock:
        grants.codes[code] = CodeGrant(
            expires_at=org.clock().timestamp() + _CODE_TTL_SECONDS,
            scope=params.get("scope", ""),
            redirect_uri=redirect_uri,
            user_id=user_id,
            username=username,
            code_challenge=params.get("code_challenge") or None,
        )
    query = {"code": code, **({"state": params["state"]} if "state" in params else {})}
    return _with_query(redirect_uri, query)


def revoke(org: Org, token: str | None) -> None:
    """Revoke an access or refresh token.

    Raises:
        OAuthError: ``unsupported_token_type`` for an unknown token.
    """
    if not token or not org.tokens.revoke(token):
        raise OAuthError("unsupported_token_type", "this token type is not supported")


__all__ = [
    "JWT_GRANT",
    "OAuthError",
    "approve",
    "check_authorize",
    "deny",
    "issue_for_user",
    "pkce_challenge",
    "revoke",
    "token",
    "token_body",
]
