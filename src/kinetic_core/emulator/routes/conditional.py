"""Conditional GETs as Salesforce's REST API documents them.

- Describe and Describe Global answer with ``Last-Modified`` (when the org's schema was built) and
  honour ``If-Modified-Since`` with ``304 Not Modified``.
- sObject Rows honour ``If-Modified-Since`` against the record's ``LastModifiedDate``; Account rows
  also carry an ``ETag`` (a hash of the record's JSON, ``"...--gzip"`` like Salesforce's) and honour
  ``If-None-Match``. Salesforce documents ETags on Account rows only, so other objects get none.

Unparseable dates are ignored (the request is answered in full), as HTTP prescribes for GET.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import Response

from kinetic_core.emulator.headers import http_date
from kinetic_core.emulator.routes.common import dumps

ETAG_OBJECTS = frozenset({"Account"})


def if_modified_since(request: Request) -> datetime | None:
    """The request's ``If-Modified-Since`` as an aware datetime, or None (absent or unparseable)."""
    raw = request.headers.get("if-modified-since")
    if not raw:
        return None
    try:
        since = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return since if since.tzinfo is not None else since.replace(tzinfo=UTC)


def unchanged_since(modified: datetime, since: datetime | None) -> bool:
    """True when a resource last modified at ``modified`` is unchanged after ``since`` (to the second)."""
    return since is not None and modified.astimezone(UTC).replace(microsecond=0) <= since


def etag_of(body: object) -> str:
    """The ETag of a record body.

    Example:
        >>> etag_of({"Id": "001"}).endswith('--gzip"')
        True
    """
    digest = base64.b64encode(hashlib.sha256(dumps(body)).digest()).decode("ascii")
    return f'"{digest}--gzip"'


def etag_matches(request: Request, etag: str) -> bool:
    """True when ``If-None-Match`` lists ``etag`` (or is ``*``)."""
    raw = request.headers.get("if-none-match")
    if not raw:
        return False
    tags = {t.strip().removeprefix("W/") for t in raw.split(",")}
    return "*" in tags or etag in tags


def not_modified(headers: dict[str, str]) -> Response:
    """``304 Not Modified`` without a body."""
    return Response(b"", status_code=304, headers=headers)


def last_modified_header(modified: datetime) -> dict[str, str]:
    return {"Last-Modified": http_date(modified)}


__all__ = [
    "ETAG_OBJECTS",
    "etag_matches",
    "etag_of",
    "if_modified_since",
    "last_modified_header",
    "not_modified",
    "unchanged_since",
]
