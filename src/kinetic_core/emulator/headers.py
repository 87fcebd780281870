"""Response header names as Salesforce writes them on an HTTP/1.1 connection.

Starlette (and ASGI in general) carries header names in lower case, but Salesforce answers
HTTP/1.1 clients with ``Content-Type``, ``Sforce-Locator``, ``Sforce-NumberOfRecords``,
``Sforce-Limit-Info`` and so on. HTTP says names are case-insensitive, yet some clients
copy the headers into a plain ``dict`` and look keys up by their usual spelling, so the
emulator sends the usual spelling. :class:`CanonicalHeaders` rewrites the names of every
``http.response.start`` message and adds the ``Date`` header (the server's own ``date``
and ``server`` headers are switched off in :mod:`kinetic_core.emulator.server`, since
uvicorn writes them in lower case). The case survives only on uvicorn's h11 protocol,
which writes the names it is given; its httptools protocol lower-cases them, which is why
the server pins ``http="h11"``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from types import MappingProxyType

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Names whose usual spelling is not "each dash-separated word capitalised".
_SPECIAL = MappingProxyType(
    {
        b"etag": b"ETag",
        b"sforce-numberofrecords": b"Sforce-NumberOfRecords",
        b"www-authenticate": b"WWW-Authenticate",
        b"content-md5": b"Content-MD5",
        b"x-xss-protection": b"X-XSS-Protection",
        b"x-sfdc-request-id": b"X-SFDC-Request-Id",
    }
)


def canonical_header_name(name: bytes) -> bytes:
    """The usual spelling of a header name.

    Example:
        >>> canonical_header_name(b"sforce-limit-info")
        b'Sforce-Limit-Info'
        >>> canonical_header_name(b"sforce-numberofrecords")
        b'Sforce-NumberOfRecords'
        >>> canonical_header_name(b"etag")
        b'ETag'
    """
    lowered = name.lower()
    special = _SPECIAL.get(lowered)
    if special is not None:
        return special
    return b"-".join(part[:1].upper() + part[1:] for part in lowered.split(b"-"))


def http_date(moment: datetime) -> str:
    """An IMF-fixdate (``Fri, 04 Dec 2026 15:38:48 GMT``) for ``Date``/``Last-Modified``.

    Example:
        >>> http_date(datetime(2026, 12, 4, 15, 38, 48, tzinfo=UTC))
        'Fri, 04 Dec 2026 15:38:48 GMT'
    """
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


class CanonicalHeaders:
    """Pure ASGI middleware: canonical response header names plus a ``Date`` header.

    It must be the outermost middleware of the app, so that headers added by the inner ones
    (``Sforce-Limit-Info``, gzip's ``Content-Encoding``) are rewritten too.

    Args:
        app: the wrapped ASGI app.
        clock: the current time (UTC), for ``Date``.
    """

    def __init__(self, app: ASGIApp, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.clock = clock
        self._names: dict[bytes, bytes] = {}

    def _canonical(self, name: bytes) -> bytes:
        found = self._names.get(name)
        if found is None:
            found = canonical_header_name(name)
            if len(self._names) < 1024:  # bounded: header names come from the app, not from clients
                self._names[name] = found
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def canonical_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(self._canonical(k), v) for k, v in message.get("headers", [])]
                if not any(k == b"Date" for k, _ in headers):
                    headers.append((b"Date", http_date(self.clock()).encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, canonical_send)


__all__ = ["CanonicalHeaders", "canonical_header_name", "http_date"]
