"""Request building and response parsing for the send path. Pure functions, no I/O.

They are shared by the synchronous ``HttpSession`` and any asynchronous twin.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Mapping
from typing import Any

from kinetic_core.errors import (
    ApiError,
    KineticError,
    MultipleRecordsError,
    RequestLimitExceeded,
    error_class_for,
)
from kinetic_core.http.limits import ApiUsage

USER_AGENT = "kinetic-core/3"
MAX_URL_IN_MESSAGE = 300


def to_json_value(value: Any) -> Any:
    """``json.dumps`` default hook: Salesforce formats for dates, datetimes, times and decimals.

    Raises:
        TypeError: for naive datetimes (their instant is ambiguous) and unsupported types.

    Example:
        >>> to_json_value(dt.datetime(2024, 1, 31, 10, 0, tzinfo=dt.UTC))
        '2024-01-31T10:00:00.000+0000'
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise TypeError("naive datetime: give it a time zone so its instant is unambiguous")
        utc = value.astimezone(dt.UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    decimal = sys.modules.get("decimal")  # a Decimal exists only once decimal was imported
    if decimal is not None and isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot send a value of type {type(value).__name__} as JSON")


def encode_json(body: Any) -> bytes:
    """Serialise a request body (UTF-8, compact, Salesforce value formats).

    Example:
        >>> encode_json({"Name": "Acme", "CloseDate": dt.date(2024, 5, 1)})
        b'{"Name":"Acme","CloseDate":"2024-05-01"}'
    """
    return json.dumps(body, default=to_json_value, separators=(",", ":"), ensure_ascii=False).encode()


def build_headers(
    access_token: str | None,
    extra: Mapping[str, str] | None = None,
    *,
    json_body: bool = False,
) -> dict[str, str]:
    """Headers of an API call: bearer token, JSON content type when there is a JSON body, extras.

    Example:
        >>> sorted(build_headers("t", json_body=True))
        ['Accept', 'Authorization', 'Content-Type', 'User-Agent']
    """
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if json_body:
        headers["Content-Type"] = "application/json"
    if extra:
        headers.update(extra)
    if access_token is not None:
        headers["Authorization"] = f"Bearer {access_token}"
    return headers


def redact_url(url: str) -> str:
    """A URL fit for messages and logs: truncated query strings (tokens never travel in URLs)."""
    if len(url) <= MAX_URL_IN_MESSAGE:
        return url
    return url[:MAX_URL_IN_MESSAGE] + "..."


def decode_body(content: bytes) -> Any:
    """JSON-decode a body; None when empty or not JSON."""
    if not content.strip():
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None


def first_error(body: Any) -> tuple[str, str, list[str]] | None:
    """``(errorCode, message, fields)`` of a Salesforce error body (array or single object)."""
    item = body[0] if isinstance(body, list) and body else body
    if isinstance(item, Mapping):
        code = item.get("errorCode") or item.get("statusCode") or item.get("error")
        if isinstance(code, str):
            message = item.get("message") or item.get("error_description") or ""
            fields = item.get("fields") or []
            return code, str(message), [str(f) for f in fields] if isinstance(fields, list) else []
    return None


def is_invalid_session(status: int, content: bytes) -> bool:
    """True for 401 answers that mean "renew the token and re-send"."""
    if status != 401:
        return False
    parsed = first_error(decode_body(content))
    return parsed is None or parsed[0] == "INVALID_SESSION_ID"


def error_code_of(content: bytes) -> str | None:
    """The first ``errorCode`` of a body, if any (for retry decisions)."""
    parsed = first_error(decode_body(content))
    return parsed[0] if parsed else None


def error_from_response(
    status: int,
    content: bytes,
    content_type: str,
    method: str,
    url: str,
    api_usage: ApiUsage | None = None,
) -> KineticError:
    """The exception for a non-2xx answer.

    Example:
        >>> err = error_from_response(404, b'[{"errorCode":"NOT_FOUND","message":"gone"}]',
        ...                           "application/json", "GET", "https://x/y")
        >>> type(err).__name__, err.message
        ('NotFoundError', 'gone')
    """
    shown = redact_url(url)
    body = decode_body(content)
    if status == 300 and isinstance(body, list):
        urls = [u if isinstance(u, str) else str(u.get("url", u)) for u in body]
        return MultipleRecordsError(urls, method, shown)
    if isinstance(body, Mapping) and isinstance(body.get("results"), list):
        # a refused /composite/tree: {"hasErrors": true, "results": [{"referenceId", "errors": [...]}]}
        body = [
            {**error, "referenceId": result.get("referenceId")}
            for result in body["results"]
            if isinstance(result, Mapping)
            for error in result.get("errors") or []
            if isinstance(error, Mapping)
        ]
    parsed = first_error(body)
    errors = [e for e in body if isinstance(e, Mapping)] if isinstance(body, list) else []
    if parsed is None:
        if content_type.split(";")[0].strip().lower() == "text/html":
            message = "HTTP response contains html content"
        else:
            message = content[:200].decode("utf-8", "replace").strip() or f"HTTP {status}"
        parsed = (f"ERROR_HTTP_{status}", message, [])
    code, message, fields = parsed
    if code == "REQUEST_LIMIT_EXCEEDED":
        return RequestLimitExceeded(
            status, code, message, fields, method, shown, errors=errors, api_usage=api_usage
        )
    cls = error_class_for(status, code)
    err: ApiError = cls(status, code, message, fields, method, shown, errors=errors)
    return err
