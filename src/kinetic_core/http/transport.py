"""The httpx clients of the sessions: timeouts, TLS verification, pooled transports per scheme.

Both sessions use the same pieces: ``build_http_client`` (``httpx.Client``) and
``build_async_http_client`` (``httpx.AsyncClient``) make a pooled client whose transports are
built per URL scheme at first use and whose connections keep the session's per-call deadline
(``DeadlineBook``, and the stream wrappers of ``kinetic_core.http.deadline``).
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kinetic_core._httpx import httpx

logger = logging.getLogger(__name__)

Verify = bool | str | Path | ssl.SSLContext


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for a connection, between bytes read/written, and for a pooled connection."""

    connect: float = 10.0
    read: float = 120.0
    write: float = 120.0
    pool: float = 60.0

    def to_httpx(self) -> httpx.Timeout:
        """The httpx equivalent."""
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


def tls_verify(verify: Verify = True) -> bool | ssl.SSLContext:
    """An httpx ``verify`` value: True/False, or an SSL context trusting a CA bundle file."""
    if isinstance(verify, str | Path):
        return ssl.create_default_context(cafile=str(verify))
    if verify is False:
        logger.warning(
            "TLS certificate verification is OFF: the org's identity is not checked and traffic "
            "can be intercepted. Use a CA bundle (SF_CA_BUNDLE) instead where you can."
        )
    return verify


class DeadlineBook:
    """Deadlines (monotonic seconds) of the calls in flight, one per caller (thread or task).

    Example:
        >>> book = DeadlineBook(key=lambda: "me", monotonic=lambda: 100.0)
        >>> book.arm(102.5)
        >>> book.bound(30.0, TimeoutError)
        2.5
        >>> book.disarm()
        >>> book.bound(30.0, TimeoutError)
        30.0

    Args:
        key: names the current caller (``threading.get_ident`` or ``asyncio.current_task``).
        monotonic: the clock the deadlines are in.
    """

    def __init__(self, key: Callable[[], object], monotonic: Callable[[], float]) -> None:
        self._key = key
        self._monotonic = monotonic
        self._until: dict[object, float] = {}
        self._lock = threading.Lock()

    def arm(self, until: float) -> None:
        """The current caller's call must be answered by ``until``."""
        key = self._key()
        with self._lock:
            self._until[key] = until

    def disarm(self) -> None:
        """The current caller's call is answered (or over)."""
        key = self._key()
        with self._lock:
            self._until.pop(key, None)

    def left(self) -> float | None:
        """Seconds left to the current caller's deadline; None when it has none."""
        key = self._key()
        with self._lock:
            until = self._until.get(key)
        return None if until is None else until - self._monotonic()

    def bound(self, timeout: float | None, expired: type[Exception]) -> float | None:
        """``timeout`` cut to the time left; ``expired`` raised when no time is left."""
        left = self.left()
        if left is None:
            return timeout
        if left <= 0:
            raise expired("the call's deadline passed while waiting for the server")
        return left if timeout is None else min(timeout, left)


def _scheme_verify(verify: bool | ssl.SSLContext, scheme: str) -> bool | ssl.SSLContext:
    """The https transport verifies with ``verify``; the http one trusts no certificate at all."""
    return verify if scheme == "https" else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _limits(max_connections: int) -> httpx.Limits:
    if max_connections < 1:
        raise ValueError("max_connections must be at least 1")
    return httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)


def build_http_client(
    *,
    verify: Verify = True,
    timeouts: Timeouts | None = None,
    transport: httpx.BaseTransport | None = None,
    max_connections: int = 20,
    deadlines: DeadlineBook | None = None,
) -> httpx.Client:
    """The pooled ``httpx.Client`` one ``SalesforceClient`` uses for all its calls.

    Example:
        >>> with build_http_client(timeouts=Timeouts(connect=5)) as c:
        ...     c.timeout.connect
        5
    """
    limits = _limits(max_connections)
    checked = tls_verify(verify)
    return httpx.Client(
        timeout=(timeouts or Timeouts()).to_httpx(),
        verify=checked,  # used by httpx only for proxies named in the environment
        limits=limits,
        transport=transport if transport is not None else SchemeTransports(checked, limits, deadlines),
        follow_redirects=False,
    )


def build_async_http_client(
    *,
    verify: Verify = True,
    timeouts: Timeouts | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    max_connections: int = 20,
    deadlines: DeadlineBook | None = None,
) -> httpx.AsyncClient:
    """The pooled ``httpx.AsyncClient`` of an ``AsyncHttpSession``: at most ``max_connections`` open.

    Example:
        >>> build_async_http_client(max_connections=5).timeout.read
        120.0
    """
    limits = _limits(max_connections)
    checked = tls_verify(verify)
    return httpx.AsyncClient(
        timeout=(timeouts or Timeouts()).to_httpx(),
        verify=checked,
        limits=limits,
        transport=transport if transport is not None else AsyncSchemeTransports(checked, limits, deadlines),
        follow_redirects=False,
    )


class SchemeTransports(httpx.BaseTransport):
    """The default transport: one ``httpx.HTTPTransport`` per URL scheme, each built at first use.

    httpx builds a TLS context (loading the CA bundle, about 20 ms of CPU) whenever it builds a
    transport. Here the https transport, with ``verify``, is built at the first https request,
    so a process that only talks plain http (the local emulator) never pays for it. The http
    transport gets a TLS context that trusts no certificate at all: it never does TLS, and if it
    were ever asked to, verification would fail rather than pass.
    """

    def __init__(
        self, verify: bool | ssl.SSLContext, limits: httpx.Limits, deadlines: DeadlineBook | None = None
    ) -> None:
        self._verify = verify
        self._limits = limits
        self._deadlines = deadlines
        self._transports: dict[str, httpx.HTTPTransport] = {}
        self._lock = threading.Lock()

    def _for(self, scheme: str) -> httpx.HTTPTransport:
        transport = self._transports.get(scheme)
        if transport is None:
            with self._lock:
                transport = self._transports.get(scheme)
                if transport is None:
                    transport = httpx.HTTPTransport(
                        verify=_scheme_verify(self._verify, scheme), limits=self._limits
                    )
                    if self._deadlines is not None:
                        from kinetic_core.http.deadline import hold_deadlines

                        hold_deadlines(transport, self._deadlines)
                    self._transports[scheme] = transport
        return transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._for(request.url.scheme).handle_request(request)

    def close(self) -> None:
        with self._lock:
            transports = list(self._transports.values())
            self._transports.clear()
        for transport in transports:
            transport.close()


class AsyncSchemeTransports(httpx.AsyncBaseTransport):
    """``SchemeTransports`` for ``httpx.AsyncClient``: one ``AsyncHTTPTransport`` per scheme."""

    def __init__(
        self, verify: bool | ssl.SSLContext, limits: httpx.Limits, deadlines: DeadlineBook | None = None
    ) -> None:
        self._verify = verify
        self._limits = limits
        self._deadlines = deadlines
        self._transports: dict[str, httpx.AsyncHTTPTransport] = {}

    def _for(self, scheme: str) -> httpx.AsyncHTTPTransport:
        transport = self._transports.get(scheme)
        if transport is None:  # no await between the look-up and the store: one per scheme
            verify = _scheme_verify(self._verify, scheme)
            transport = httpx.AsyncHTTPTransport(verify=verify, limits=self._limits)
            if self._deadlines is not None:
                from kinetic_core.http.deadline import hold_deadlines

                hold_deadlines(transport, self._deadlines)
            self._transports[scheme] = transport
        return transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._for(request.url.scheme).handle_async_request(request)

    async def aclose(self) -> None:
        transports = list(self._transports.values())
        self._transports.clear()
        for transport in transports:
            await transport.aclose()
