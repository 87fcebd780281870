"""The ASGI app of one emulated org: routes, error rendering and the request middleware.

The middleware does, in order: the ``Host`` check (``emulator/hostcheck.py``: a request for
another name, as DNS rebinding sends, answers 421), path normalisation (``//`` collapsed, trailing ``/``
dropped), the ``_HttpMethod`` override, request statistics, fault injection (only on
``/services``), API version checks, request-body decompression and size limit, session
resolution, API request counting (403 ``REQUEST_LIMIT_EXCEEDED`` once exhausted), the
``Sforce-Limit-Info`` header and ``X-PrettyPrint``. Any exception that escapes a handler
becomes a Salesforce-shaped 500 without a traceback. Outside it, :class:`CanonicalHeaders`
gives every response header its usual spelling (``Content-Type``, ``Sforce-Locator``).
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import re
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kinetic_core.emulator.bulk.v1_models import V1Error
from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.faults import FaultKind, fault_error
from kinetic_core.emulator.headers import CanonicalHeaders
from kinetic_core.emulator.hostcheck import HostPolicy
from kinetic_core.emulator.org import Org
from kinetic_core.emulator.routes.bulk_v1 import error_response as v1_error_response
from kinetic_core.emulator.routing import UrlTable, check_version
from kinetic_core.emulator.store import numbers
from kinetic_core.emulator.urls import url_table
from kinetic_core.emulator.web import SESSION_STATE_KEY, dumps, error_response, session_or_none

logger = logging.getLogger(__name__)

REST_BODY_LIMIT = 50 * 1024 * 1024
BULK_BODY_LIMIT = 200 * 1024 * 1024
_SLASHES = re.compile(r"/{2,}")
BULK_V1_PREFIX = "/services/async/"


def normalise_path(path: str) -> str:
    """Collapse repeated slashes and drop a trailing one.

    Example:
        >>> normalise_path("/services//data/v62.0/sobjects/")
        '/services/data/v62.0/sobjects'
    """
    path = _SLASHES.sub("/", path)
    return path.rstrip("/") or "/"


def _limit_refusal(scope: Scope, *, bulk_v1: bool) -> Response:
    """The answer to a request over the daily API limit: REST's error array, or Bulk API 1.0's error."""
    if bulk_v1:
        # [I] Bulk API 1.0's code and status for an exhausted daily limit are not documented.
        refused = V1Error(403, "ExceededQuota", "TotalRequests Limit exceeded.")
        return v1_error_response(Request(scope), refused)
    return error_response(ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."))


async def _send_response(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
    await response(scope, receive, send)


class KineticMiddleware:
    """Pure ASGI middleware applying the org-wide rules (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        org: Org,
        urls: UrlTable,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.app = app
        self.org = org
        self.urls = urls
        self.sleep = sleep
        self._hosts: tuple[str, HostPolicy] | None = None

    def _host_policy(self) -> HostPolicy:
        """The accepted ``Host`` values, for the URL the org advertises now (set once the port is bound)."""
        url = self.org.base_url
        if self._hosts is None or self._hosts[0] != url:
            self._hosts = (url, HostPolicy(url, self.org.settings.host))
        return self._hosts[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = next((v for k, v in scope.get("headers", []) if k == b"host"), None)
        if not self._host_policy().allows(None if host is None else host.decode("latin-1")):
            message = "This server only answers requests addressed to its own host and port"
            refused = ApiError(421, "MISDIRECTED_REQUEST", message)
            await _send_response(error_response(refused), scope, receive, send)
            return
        scope = dict(scope)
        path = normalise_path(scope["path"])
        scope["path"] = path
        scope["raw_path"] = path.encode("utf-8", "surrogateescape")
        self._override_method(scope)
        self.org.count_request(self.urls.kind_of(path))
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self._handle(scope, receive, tracking_send, path)
        except Exception as exc:
            if isinstance(exc, ApiError):
                err = exc
            else:
                logger.error("unhandled %s in %s %s: %s", type(exc).__name__, scope["method"], path, exc)
                err = ApiError(
                    500, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please retry the request."
                )
            if not started:
                await _send_response(error_response(err), scope, receive, send)

    @staticmethod
    def _override_method(scope: MutableMapping[str, Any]) -> None:
        if scope["method"] != "POST" or b"_HttpMethod=" not in scope.get("query_string", b""):
            return
        params = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        override = params.get("_HttpMethod", "").upper()
        if override in ("PATCH", "DELETE", "GET", "PUT", "HEAD"):
            scope["method"] = override

    async def _handle(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        org = self.org
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if path.startswith("/services"):
            decision = org.faults.decide(scope["method"], path)
            if decision.drop_response:
                send = self._losing_sender(send)
            if decision.delay_seconds:
                await self.sleep(decision.delay_seconds)
            if decision.drop:
                await self._drop(send)
                return
            if decision.error_status:
                await _send_response(error_response(fault_error(decision.error_status)), scope, receive, send)
                return
        api_path = path.startswith("/services/data/v")
        bulk_v1 = path.startswith(BULK_V1_PREFIX)
        if api_path:
            check_version(path)
        receive = await self._body_receiver(scope, receive, headers, path)
        if headers.get("x-prettyprint", "").lower() in ("1", "true"):
            # Pretty printing changes JSON bodies only; compression is still what Accept-Encoding
            # asks for (a CSV download with the header is gzipped like any other).
            send = self._pretty_sender(send)
        if not (api_path or bulk_v1):
            await self.app(scope, receive, send)
            return
        # Every authenticated REST and Bulk API 1.0 request counts against the daily API limit [D].
        limit = org.api_request_limit()
        if bulk_v1:
            token = headers.get("x-sfdc-session", "").strip()
            session = session_or_none(org, f"Bearer {token}") if token else None
        else:
            session = session_or_none(org, headers.get("authorization"))
        used = org.api_counter.used()
        if session is not None:
            if not bulk_v1:
                scope.setdefault("state", {})[SESSION_STATE_KEY] = session
            if used >= limit:
                org.faults.record(FaultKind.LIMIT)
                response = _limit_refusal(scope, bulk_v1=bulk_v1)
                response.headers["Sforce-Limit-Info"] = f"api-usage={used}/{limit}"
                await _send_response(response, scope, receive, send)
                return
            used = org.api_counter.add()
        limit_header = f"api-usage={used}/{limit}".encode()

        async def limit_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), (b"sforce-limit-info", limit_header)]
            await send(message)

        await self.app(scope, receive, limit_send)

    def _losing_sender(self, send: Send) -> Send:
        """Let the request take effect, then lose its answer: the connection breaks mid-body."""
        dropped = False

        async def losing_send(message: Message) -> None:
            nonlocal dropped
            if message["type"] == "http.response.start" and not dropped:
                dropped = True
                await self._drop(send)
            # everything else of the real answer is swallowed

        return losing_send

    @staticmethod
    async def _drop(send: Send) -> None:
        """Start a response that never completes: the server closes the connection mid-body."""
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"1024")],
            }
        )
        await send({"type": "http.response.body", "body": b"[", "more_body": True})

    async def _body_receiver(
        self, scope: Scope, receive: Receive, headers: dict[str, str], path: str
    ) -> Receive:
        limit = BULK_BODY_LIMIT if "/jobs/" in path else REST_BODY_LIMIT
        too_large = ApiError(
            413,
            "REQUEST_ENTITY_TOO_LARGE",
            f"The request body exceeds the limit of {limit // (1024 * 1024)} MB",
        )
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        encoding = headers.get("content-encoding", "").strip().lower()
        if encoding in ("gzip", "deflate"):
            chunks: list[bytes] = []
            more = True
            total = 0
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    break
                chunks.append(message.get("body", b""))
                total += len(chunks[-1])
                if total > limit:
                    raise too_large
                more = message.get("more_body", False)
            body = self._decompress(b"".join(chunks), encoding, limit, too_large)
            delivered = False

            async def replay() -> Message:
                nonlocal delivered
                if delivered:
                    return await receive()
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}

            return replay
        seen = 0

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise too_large
            return message

        return counting

    @staticmethod
    def _decompress(data: bytes, encoding: str, limit: int, too_large: ApiError) -> bytes:
        wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
        try:
            inflater = zlib.decompressobj(wbits)
            out = inflater.decompress(data, limit + 1)
            if len(out) > limit or inflater.unconsumed_tail:
                raise too_large
            return out + inflater.flush()
        except zlib.error:
            if encoding == "deflate":  # some clients send raw deflate
                try:
                    return zlib.decompress(data, -zlib.MAX_WBITS)
                except zlib.error:
                    pass
            raise ApiError(
                400, "JSON_PARSER_ERROR", f"The request body is not valid {encoding} data"
            ) from None

    @staticmethod
    def _pretty_sender(send: Send) -> Send:
        start: Message | None = None
        chunks: list[bytes] = []

        async def pretty(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if b"json" not in content_type:
                    await send(message)
                    return
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            zipped = dict(start.get("headers", [])).get(b"content-encoding", b"") == b"gzip"
            try:
                parsed = numbers.loads(gzip.decompress(body) if zipped else body, exact=True)
                body = numbers.dumps(parsed, indent=2, ensure_ascii=False).encode("utf-8")
                if zipped:
                    body = gzip.compress(body, compresslevel=5, mtime=0)
            except (ValueError, OSError, EOFError):
                pass  # not JSON after all (or not the gzip it claims): sent as it came
            headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})

        return pretty


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:  # no route: an endpoint this emulator does not serve
        message = (
            "The requested resource does not exist or is not supported by this emulator: "
            f"{request.method} {request.url.path}"
        )
        return error_response(ApiError(404, "NOT_FOUND", message))
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        message = f"HTTP Method '{request.method}' not allowed. Allowed are {allowed.replace(', ', ',')}"
        response = error_response(ApiError(405, "METHOD_NOT_ALLOWED", message))
        if allowed:
            response.headers["Allow"] = allowed
        return response
    return error_response(ApiError(exc.status_code, "INVALID_REQUEST", str(exc.detail)))


def create_app(org: Org) -> Starlette:
    """The ASGI app serving ``org`` (no globals: one app per org).

    Example:
        >>> app = create_app(org)  # doctest: +SKIP
        >>> TestClient(app).get("/services/data").status_code  # doctest: +SKIP
        200
    """
    urls = url_table()
    app = Starlette(
        routes=urls.routes(),
        middleware=[
            Middleware(CanonicalHeaders, clock=org.clock),  # outermost: sees every header
            Middleware(KineticMiddleware, org=org, urls=urls),
            Middleware(GZipMiddleware, minimum_size=1024, compresslevel=5),
        ],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )
    app.router.redirect_slashes = False
    app.state.org = org
    app.state.urls = urls
    return app


__all__ = ["KineticMiddleware", "check_version", "create_app", "dumps", "normalise_path"]
