"""The machinery of the URL table: :class:`Endpoint`, :class:`UrlTable` and the generic handler.

One :class:`UrlTable` (built by :func:`kinetic_core.emulator.urls.url_table`) drives three things:

* Starlette routing: :meth:`UrlTable.routes`;
* ``/composite`` and ``/composite/batch`` sub-requests: :meth:`UrlTable.dispatch` matches a sub-request's
  URL against the same routes and runs the endpoint's operation when the endpoint is marked
  composite-able (:class:`Sub`), never going back through HTTP;
* statistics: :meth:`UrlTable.kind_of` names the bucket a request path is counted in.

An endpoint either has its own Starlette handler (which may use the operation too) or only an
operation (``Call -> Reply``), served by :func:`serve`: session, JSON body, operation, render.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.org import MAX_API_VERSION, RETIRED_BELOW, Org
from kinetic_core.emulator.service.calls import Call, Reply
from kinetic_core.emulator.web import (
    api_version_of,
    get_org,
    read_json,
    render,
    require_session,
)

Handler = Callable[[Request], Awaitable[Response]]
Operation = Callable[[Call], Reply]

_VERSION = re.compile(r"^/services/data/v([^/]*)")
_SLASHES = re.compile(r"/{2,}")
_BODY_METHODS = frozenset({"POST", "PATCH", "PUT"})
OTHER_KIND = "other"


def _unserved(method: str, path: str, via: Sub) -> ApiError:
    where = "a composite batch" if via is Sub.BATCH else "a composite"
    return ApiError(
        404,
        "NOT_FOUND",
        "The requested resource does not exist or is not supported by this emulator in "
        f"{where} request: {method} {path}",
    )


class Sub(enum.Flag):
    """Where an endpoint may also be reached as a sub-request."""

    NONE = 0
    COMPOSITE = enum.auto()
    """in ``/composite``"""
    BATCH = enum.auto()
    """in ``/composite/batch``"""
    BOTH = COMPOSITE | BATCH


def check_version(path: str) -> None:
    """[I] Versions below 31.0 are retired (410); unknown or future versions are 404.

    Example:
        >>> check_version("/services/data/v62.0/sobjects")
    """
    m = _VERSION.match(path)
    if not m:
        return
    raw = m.group(1)
    if not re.fullmatch(r"\d+\.\d", raw):
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    major = int(raw.split(".")[0])
    if major < RETIRED_BELOW:
        raise ApiError(
            410,
            "UNSUPPORTED_API_VERSION",
            f"API version {raw} has been retired; use v{RETIRED_BELOW}.0 or later",
        )
    if major > MAX_API_VERSION or not raw.endswith(".0"):
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")


def serve(op: Operation) -> Handler:
    """The Starlette handler of an operation: the caller's session, the JSON body, the operation, render."""

    async def handler(request: Request) -> Response:
        session = require_session(request)
        body = await read_json(request) if request.method in _BODY_METHODS else None
        return render(op(call_of(request, session.user_id, body)))

    return handler


def call_of(request: Request, user_id: str, body: Any) -> Call:
    """The :class:`Call` of an HTTP request (path parameters, query, lower-case headers, parsed body)."""
    return Call(
        org=get_org(request),
        user_id=user_id,
        method=request.method,
        ver=api_version_of(request),
        path={k: str(v) for k, v in request.path_params.items()},
        query=tuple(request.query_params.multi_items()),
        body=body,
        headers={k.lower(): v for k, v in request.headers.items()},
    )


@dataclass(frozen=True)
class Endpoint:
    """One line of the URL table.

    Attributes:
        path: the Starlette path template (``/services/data/v{ver}/sobjects/{sobject}``).
        methods: the HTTP methods served (GET implies HEAD).
        kind: the statistics bucket of requests to this path.
        op: the transport-free operation, if the endpoint has one.
        handler: the Starlette handler; None serves ``op`` with :func:`serve`.
        sub: where it may also be reached as a sub-request (needs ``op``).
    """

    path: str
    methods: tuple[str, ...]
    kind: str
    op: Operation | None = None
    handler: Handler | None = None
    sub: Sub = Sub.NONE

    def __post_init__(self) -> None:
        if self.handler is None and self.op is None:
            raise ValueError(f"{self.path}: an endpoint needs a handler or an operation")
        if self.sub and self.op is None:
            raise ValueError(f"{self.path}: a sub-request endpoint needs an operation")

    def route(self) -> Route:
        handler = self.handler if self.handler is not None else serve(self._op())
        return Route(self.path, handler, methods=list(self.methods))

    def _op(self) -> Operation:
        assert self.op is not None
        return self.op


class UrlTable:
    """The emulator's endpoints, in matching order (the first full match wins, as in Starlette).

    Example:
        >>> table = url_table()  # doctest: +SKIP
        >>> table.kind_of("/services/data/v62.0/query")  # doctest: +SKIP
        'query'
    """

    def __init__(self, endpoints: Sequence[Endpoint]) -> None:
        self.endpoints: tuple[Endpoint, ...] = tuple(endpoints)
        self._routes: tuple[Route, ...] = tuple(e.route() for e in self.endpoints)

    def routes(self) -> list[BaseRoute]:
        """The Starlette routes, one per endpoint."""
        return list(self._routes)

    def kind_of(self, path: str) -> str:
        """The statistics bucket of a normalised request path: its endpoint's kind, else ``other``."""
        for endpoint, route in zip(self.endpoints, self._routes, strict=True):
            if route.path_regex.match(path):
                return endpoint.kind
        return OTHER_KIND

    def dispatch(
        self,
        org: Org,
        user_id: str,
        method: str,
        url: str,
        body: Any,
        headers: Mapping[str, str],
        *,
        via: Sub,
    ) -> Reply:
        """Run one sub-request; every error becomes an error :class:`Reply` (never raises ApiError)."""
        try:
            return self._run(org, user_id, method.upper(), url, body, headers, via)
        except ApiError as err:
            return Reply.error(err)

    def dispatcher(
        self, org: Org, user_id: str, *, via: Sub
    ) -> Callable[[str, str, Any, Mapping[str, str]], Reply]:
        """:meth:`dispatch` bound to one caller and one composite resource."""

        def run(method: str, url: str, body: Any, headers: Mapping[str, str]) -> Reply:
            return self.dispatch(org, user_id, method, url, body, headers, via=via)

        return run

    def _run(
        self,
        org: Org,
        user_id: str,
        method: str,
        url: str,
        body: Any,
        headers: Mapping[str, str],
        via: Sub,
    ) -> Reply:
        split = urlsplit(url)
        path = _SLASHES.sub("/", unquote(split.path)).rstrip("/")
        if not path.startswith("/services/data/v"):
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        check_version(path)
        scope = {"type": "http", "path": path, "method": method, "root_path": ""}
        partial: Endpoint | None = None
        for endpoint, route in zip(self.endpoints, self._routes, strict=True):
            match, child = route.matches(scope)
            if match is Match.FULL:
                return self._call(
                    endpoint, org, user_id, method, path, child, split.query, body, headers, via
                )
            if match is Match.PARTIAL and partial is None:
                partial = endpoint
        if partial is not None:
            allowed = ",".join(partial.methods)
            raise ApiError(
                405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed}"
            )
        raise _unserved(method, path, via)

    @staticmethod
    def _call(
        endpoint: Endpoint,
        org: Org,
        user_id: str,
        method: str,
        path: str,
        child: Mapping[str, Any],
        query: str,
        body: Any,
        headers: Mapping[str, str],
        via: Sub,
    ) -> Reply:
        if endpoint.op is None or not endpoint.sub & via:
            raise _unserved(method, path, via)
        params = {k: str(v) for k, v in child.get("path_params", {}).items()}
        call = Call(
            org=org,
            user_id=user_id,
            method=method,
            ver=params.get("ver", org.settings.api_version),
            path=params,
            query=tuple(parse_qsl(query, keep_blank_values=True)),
            body=body,
            headers=headers,
        )
        return endpoint.op(call)


__all__ = ["Endpoint", "Handler", "Operation", "Sub", "UrlTable", "call_of", "check_version", "serve"]
