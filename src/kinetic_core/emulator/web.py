"""Request and response helpers: the org, the session, JSON in and out, errors, versions.

Both the route modules (:mod:`kinetic_core.emulator.routes`) and the URL table
(:mod:`kinetic_core.emulator.routing`) use these; they sit below both and import neither.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.faults import FaultKind
from kinetic_core.emulator.service.calls import Reply
from kinetic_core.emulator.store import numbers
from kinetic_core.emulator.tokens import Session

if TYPE_CHECKING:
    from kinetic_core.emulator.org import Org

JSON_TYPE = "application/json;charset=UTF-8"
SESSION_STATE_KEY = "kinetic_session"
_VERSION_IN_PATH = re.compile(r"^/services/data/v(\d+\.\d)(?:/|$)")

__all__ = [
    "JSON_TYPE",
    "Reply",
    "Session",
    "api_version_of",
    "bearer_token",
    "dumps",
    "error_response",
    "get_org",
    "json_response",
    "no_content",
    "parse_json",
    "read_json",
    "render",
    "require_session",
    "session_or_none",
]


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON, as Salesforce sends it."""
    return numbers.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def get_org(request: Request) -> Org:
    """The org this app serves.

    Example:
        >>> org = get_org(request)  # doctest: +SKIP
    """
    org: Org = request.app.state.org
    return org


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer|OAuth <token>`` header."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() not in ("bearer", "oauth") or not token.strip():
        return None
    return token.strip()


def session_or_none(org: Org, authorization: str | None) -> Session | None:
    """Resolve a session from an Authorization header, honouring the session-TTL fault."""
    token = bearer_token(authorization)
    if token is None:
        return None
    ttl = org.faults.config.session_ttl_seconds
    session = org.tokens.lookup(token, max_age_seconds=ttl)
    if session is None and ttl is not None and org.tokens.lookup(token) is not None:
        org.faults.record(FaultKind.SESSION_EXPIRED)
    return session


def require_session(request: Request) -> Session:
    """The caller's session.

    Raises:
        ApiError: 401 INVALID_SESSION_ID when the token is missing, unknown, revoked or expired.

    Example:
        >>> session = require_session(request)  # doctest: +SKIP
        >>> session.user_id[:3]  # doctest: +SKIP
        '005'
    """
    cached = request.scope.get("state", {}).get(SESSION_STATE_KEY)
    if isinstance(cached, Session):
        return cached
    session = session_or_none(get_org(request), request.headers.get("authorization"))
    if session is None:
        raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
    return session


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response with Salesforce's content type.

    Example:
        >>> json_response({"ok": True}).media_type
        'application/json;charset=UTF-8'
    """
    return Response(dumps(body), status_code=status, headers=dict(headers or {}), media_type=JSON_TYPE)


def error_response(err: ApiError) -> Response:
    """The REST error array for ``err`` (a 300 body is the list of candidate URLs)."""
    body: Any = err.rest_body()
    candidates = getattr(err, "urls_or_ids", None)
    if err.status == 300 and isinstance(candidates, list):
        body = candidates
    return json_response(body, status=err.status)


def no_content(headers: Mapping[str, str] | None = None) -> Response:
    """204 with an empty body."""
    return Response(b"", status_code=204, headers=dict(headers or {}))


def api_version_of(request: Request) -> str:
    """The API version of the request path (``62.0``), else the org's default."""
    ver = request.path_params.get("ver")
    if isinstance(ver, str) and ver:
        return ver
    m = _VERSION_IN_PATH.match(request.url.path)
    return m.group(1) if m else get_org(request).settings.api_version


def parse_json(raw: bytes) -> Any:
    """Decode a JSON body.

    Raises:
        ApiError: 400 JSON_PARSER_ERROR for empty or malformed JSON.
    """
    if not raw.strip():
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body is empty; a JSON value was expected")
    try:
        return numbers.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        msg = str(exc).split(":")[0] if isinstance(exc, json.JSONDecodeError) else "invalid UTF-8"
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character in the JSON body ({msg})") from None


async def read_json(request: Request) -> Any:
    """Read and decode the request body as JSON (see :func:`parse_json`)."""
    return parse_json(await request.body())


def render(reply: Reply) -> Response:
    """Turn a :class:`Reply` into a Starlette response."""
    if reply.status in (204, 304) or (reply.body is None and reply.status < 300):
        return Response(b"", status_code=reply.status, headers=reply.headers)
    return json_response(reply.body, reply.status, reply.headers)
