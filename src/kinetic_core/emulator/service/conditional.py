"""Conditional GETs as Salesforce's REST API documents them, for direct requests and sub-requests alike.

- Describe and Describe Global answer with ``Last-Modified`` (when the org's schema was built) and
  honour ``If-Modified-Since`` with ``304 Not Modified``.
- sObject Rows honour ``If-Modified-Since`` against the record's ``LastModifiedDate``; Account rows
  also carry an ``ETag`` (a hash of the record's JSON, ``"...--gzip"`` like Salesforce's) and honour
  ``If-None-Match``. Salesforce documents ETags on Account rows only, so other objects get none.

A 304 has no body; inside ``/composite`` it is a sub-response with ``httpStatusCode`` 304, ``body``
null and the validators in ``httpHeaders``, the shape recorded from Salesforce. Unparseable dates are
ignored (the request is answered in full), as HTTP prescribes for GET.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from kinetic_core.emulator.service import org_info, records
from kinetic_core.emulator.service.calls import Call, Reply
from kinetic_core.emulator.store import numbers

ETAG_OBJECTS = frozenset({"Account"})
_STAMP = "%Y-%m-%dT%H:%M:%S.%f%z"


def if_modified_since(headers: Mapping[str, str]) -> datetime | None:
    """``If-Modified-Since`` (lower-case header names) as an aware datetime, or None (absent or unparseable).

    Example:
        >>> if_modified_since({"if-modified-since": "Thu, 03 Sep 2020 21:35:07 GMT"}).year
        2020
    """
    raw = headers.get("if-modified-since")
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
    text = numbers.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    digest = base64.b64encode(hashlib.sha256(text).digest()).decode("ascii")
    return f'"{digest}--gzip"'


def etag_matches(headers: Mapping[str, str], etag: str) -> bool:
    """True when ``If-None-Match`` (lower-case header names) lists ``etag`` (or is ``*``)."""
    raw = headers.get("if-none-match")
    if not raw:
        return False
    tags = {t.strip().removeprefix("W/") for t in raw.split(",")}
    return "*" in tags or etag in tags


def _schema_conditional(call: Call, answer: Callable[[Call], Reply]) -> Reply:
    """A describe with ``Last-Modified`` (when the org's schema was built), or 304 when unchanged."""
    modified = call.org.schema_modified.astimezone(UTC).replace(microsecond=0)
    validators = {"Last-Modified": format_datetime(modified, usegmt=True)}
    if unchanged_since(call.org.schema_modified, if_modified_since(call.headers)):
        return Reply(304, None, validators)
    reply = answer(call)
    return Reply(reply.status, reply.body, {**reply.headers, **validators})


def op_describe_global(call: Call) -> Reply:
    """Describe Global, conditional on ``If-Modified-Since``."""
    return _schema_conditional(call, org_info.op_describe_global)


def op_describe(call: Call) -> Reply:
    """An sObject describe, conditional on ``If-Modified-Since``; an unknown object is 404 before any 304."""
    records.object_def(call.org, call.param("sobject"))
    return _schema_conditional(call, org_info.op_describe)


def op_row(call: Call) -> Reply:
    """``/sobjects/{sobject}/{rid}`` (:func:`records.op_row`); a GET is conditional."""
    reply = records.op_row(call)
    if call.method not in ("GET", "HEAD") or reply.status != 200:
        return reply
    body = reply.body
    sobject = body["attributes"]["type"]
    headers = dict(reply.headers)
    if sobject in ETAG_OBJECTS:
        headers["ETag"] = etag_of(body)
        if etag_matches(call.headers, headers["ETag"]):
            return Reply(304, None, headers)
    since = if_modified_since(call.headers)
    if since is not None:
        rid = body["attributes"]["url"].rsplit("/", 1)[-1]
        stamp = call.org.store.get(sobject, rid, ["LastModifiedDate"]).get("LastModifiedDate")
        if stamp and unchanged_since(datetime.strptime(stamp, _STAMP), since):
            return Reply(304, None, headers)
    return Reply(reply.status, body, headers)


__all__ = [
    "ETAG_OBJECTS",
    "etag_matches",
    "etag_of",
    "if_modified_since",
    "op_describe",
    "op_describe_global",
    "op_row",
    "unchanged_since",
]
