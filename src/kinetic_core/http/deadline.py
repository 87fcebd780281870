"""The per-call deadline, held while a status line and headers arrive (sync and async).

httpx bounds each read by the read timeout, not a whole answer: a server that trickles its status
line one byte at a time keeps every read short and the call alive for ever (only httpcore's
100 KiB header limit would end it). The sessions therefore arm a ``DeadlineBook`` with the
monotonic time by which their call must be answered, and the network streams of their pools,
wrapped here, read and write with a timeout of at most the time left. Past it, the next read
fails at once with a read timeout, which the session reports as its ``request_deadline`` error.

The book is keyed by the caller (its thread, or its asyncio task), because httpcore reads the
answer of a request in the caller's thread or task, on whichever pooled connection it got; the
wrapper works the same for a new connection and for a reused one.

The book itself (``kinetic_core.http.transport.DeadlineBook``) imports nothing of httpcore;
this module is loaded when a session builds its first transport, and knows the book only by the
one method it calls (``Deadlines``), so it imports nothing of the transport module.
"""

from __future__ import annotations

import logging
import ssl
import typing
from collections.abc import Callable, Iterable
from typing import Protocol

import httpcore

from kinetic_core._httpx import httpx

logger = logging.getLogger(__name__)

SocketOptions = Iterable[typing.Any] | None


class Deadlines(Protocol):
    """What the wrappers need of a ``DeadlineBook``: a timeout cut to the caller's time left."""

    def bound(self, timeout: float | None, expired: type[Exception]) -> float | None:
        """``timeout`` cut to the time left; ``expired`` raised when no time is left."""
        ...


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose reads and writes wait at most until the caller's deadline.

    Over TLS a socket read returns one TLS record at most (16 KiB), so a large answer would pass
    through httpcore and h11 once per record. After a read, the records already received are taken
    in the same call, without waiting, up to ``max_bytes`` (httpcore asks for 64 KiB).
    """

    def __init__(self, inner: httpcore.NetworkStream, book: Deadlines) -> None:
        self._inner = inner
        self._book = book
        sock = inner.get_extra_info("socket")
        self._tls: ssl.SSLSocket | None = sock if isinstance(sock, ssl.SSLSocket) else None

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._inner.read(max_bytes, self._book.bound(timeout, httpcore.ReadTimeout))
        tls = self._tls
        if tls is None or not data or len(data) >= max_bytes:
            return data
        return _more_records(tls, data, max_bytes)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._book.bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout), self._book)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


def _more_records(sock: ssl.SSLSocket, data: bytes, max_bytes: int) -> bytes:
    """``data`` followed by what ``sock`` can give at once (records already received), up to
    ``max_bytes`` in all. Any error is left for the next read, which meets it through httpcore."""
    timeout = sock.gettimeout()
    try:
        sock.settimeout(0.0)
        return _read_held(sock.recv, data, max_bytes)
    finally:
        try:
            sock.settimeout(timeout)
        except OSError:  # closed by an error while reading: the next read reports it
            pass


def _read_held(read: Callable[[int], bytes], data: bytes, max_bytes: int) -> bytes:
    """``data`` followed by what ``read`` gives without waiting, up to ``max_bytes`` in all; stops at
    the first empty read or error (nothing more held yet: ``SSLWantReadError``), which is left for
    the next read."""
    chunks = [data]
    size = len(data)
    try:
        while size < max_bytes:
            more = read(max_bytes - size)
            if not more:
                break
            chunks.append(more)
            size += len(more)
    except (OSError, ValueError):  # ssl.SSLError is an OSError
        pass
    return b"".join(chunks) if len(chunks) > 1 else data


class DeadlineBackend(httpcore.NetworkBackend):
    """Opens connections through ``inner`` and wraps their streams in ``DeadlineStream``."""

    def __init__(self, inner: httpcore.NetworkBackend, book: Deadlines) -> None:
        self._inner = inner
        self._book = book

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: SocketOptions = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return DeadlineStream(stream, self._book)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: SocketOptions = None
    ) -> httpcore.NetworkStream:
        return DeadlineStream(self._inner.connect_unix_socket(path, timeout, socket_options), self._book)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class AsyncDeadlineStream(httpcore.AsyncNetworkStream):
    """``DeadlineStream`` for asyncio connections.

    Over TLS the records already received sit in the connection's TLS object, which hands out one
    record per read: after a read, the rest of them are taken in the same call (no I/O, no wait).
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream, book: Deadlines) -> None:
        self._inner = inner
        self._book = book
        tls = inner.get_extra_info("ssl_object")
        self._tls: ssl.SSLObject | None = tls if isinstance(tls, ssl.SSLObject) else None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = await self._inner.read(max_bytes, self._book.bound(timeout, httpcore.ReadTimeout))
        tls = self._tls
        if tls is None or not data or len(data) >= max_bytes:
            return data
        return _read_held(tls.read, data, max_bytes)  # the TLS object holds them: no I/O

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, self._book.bound(timeout, httpcore.WriteTimeout))

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        inner = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        return AsyncDeadlineStream(inner, self._book)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class AsyncDeadlineBackend(httpcore.AsyncNetworkBackend):
    """``DeadlineBackend`` for asyncio connections."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend, book: Deadlines) -> None:
        self._inner = inner
        self._book = book

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: SocketOptions = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return AsyncDeadlineStream(stream, self._book)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: SocketOptions = None
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_unix_socket(path, timeout, socket_options)
        return AsyncDeadlineStream(stream, self._book)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def hold_deadlines(transport: httpx.HTTPTransport | httpx.AsyncHTTPTransport, book: Deadlines) -> bool:
    """Make the connections of ``transport``'s pool keep ``book``'s deadlines; False if it cannot.

    httpx builds its connection pool without a way to pass a network backend, so the pool's
    backend is wrapped in place (the pool opens every connection through it).
    """
    pool = getattr(transport, "_pool", None)
    if isinstance(pool, httpcore.ConnectionPool):
        pool._network_backend = DeadlineBackend(pool._network_backend, book)
        return True
    if isinstance(pool, httpcore.AsyncConnectionPool):
        pool._network_backend = AsyncDeadlineBackend(pool._network_backend, book)
        return True
    logger.warning("this httpx version hides its connection pool: the deadline does not bound headers")
    return False
