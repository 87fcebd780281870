"""Over TLS, the records already received are read in one call: a large answer does not pass through
httpcore and h11 one 16 KiB record at a time, and it still arrives whole, in order, or as httpx's
own error when the server breaks off."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time

import httpcore
import pytest

from kinetic_core._httpx import httpx
from kinetic_core.emulator.tls import ServerTls, ensure_server_tls
from kinetic_core.http import deadline
from kinetic_core.http.transport import AsyncSchemeTransports, DeadlineBook, SchemeTransports

RECORD = 16 * 1024


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> ServerTls:
    return ensure_server_tls(tmp_path_factory.mktemp("tls-reads"))


def serve_once(tls: ServerTls, body: bytes, *, send: int | None = None) -> int:
    """A TLS server answering one request with ``body`` in 16 KiB writes (each its own TLS record);
    with ``send`` it stops after that many bytes and drops the connection. Returns its port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.cert, tls.key)
    listener = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        with listener:
            raw, _ = listener.accept()
            with context.wrap_socket(raw, server_side=True) as conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
                end = len(body) if send is None else send
                for start in range(0, end, RECORD):
                    conn.sendall(body[start : min(start + RECORD, end)])
                if send is not None:
                    conn.shutdown(socket.SHUT_RDWR)  # cut off: no close_notify, no rest of the body
                    return
                time.sleep(0.5)  # let the client read before the close

    threading.Thread(target=run, daemon=True).start()
    return int(listener.getsockname()[1])


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every read the pool's streams return."""
    sizes: list[int] = []
    original = deadline.DeadlineStream.read

    def spy(self: deadline.DeadlineStream, max_bytes: int, timeout: float | None = None) -> bytes:
        data = original(self, max_bytes, timeout)
        sizes.append(len(data))
        return data

    monkeypatch.setattr(deadline.DeadlineStream, "read", spy)
    return sizes


def client_for(tls: ServerTls) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(tls.ca_cert))
    book = DeadlineBook(threading.get_ident, time.monotonic)
    return httpx.Client(transport=SchemeTransports(context, httpx.Limits(), book), timeout=30)


def body_of(size: int) -> bytes:
    line = 'Id,Name\n001,Zoë "quoted"\n'.encode()
    return (line * (size // len(line) + 1))[:size]


def test_records_already_received_come_in_one_read(tls: ServerTls, reads: list[int]) -> None:
    body = body_of(4 * 1024 * 1024)
    port = serve_once(tls, body)
    with client_for(tls) as client, client.stream("GET", f"https://127.0.0.1:{port}/") as response:
        time.sleep(0.3)  # the server is ahead: several records wait in the socket
        got = b"".join(response.iter_raw())
    assert got == body
    assert max(reads) > RECORD  # more than one record in a read
    assert len(reads) < len(body) // RECORD  # fewer reads than records


def test_a_cut_off_answer_is_still_httpx_error(tls: ServerTls, reads: list[int]) -> None:
    body = body_of(1024 * 1024)
    port = serve_once(tls, body, send=300 * 1024)

    def read_all(client: httpx.Client) -> None:
        with client.stream("GET", f"https://127.0.0.1:{port}/") as response:
            time.sleep(0.3)
            for _ in response.iter_raw():
                pass

    with client_for(tls) as client, pytest.raises(httpx.HTTPError):
        read_all(client)
    assert sum(reads) >= 300 * 1024  # every byte sent was read before the error


def test_plain_http_reads_are_left_alone() -> None:
    """A plain socket read already takes what was received (no record limit): no second read."""

    class Plain(httpcore.NetworkStream):
        def __init__(self) -> None:
            self.sock = socket.socket()

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return b"x" * 100

        def get_extra_info(self, info: str) -> object:
            return self.sock if info == "socket" else None

    inner = Plain()
    stream = deadline.DeadlineStream(inner, DeadlineBook(threading.get_ident, time.monotonic))
    assert stream.read(65536) == b"x" * 100  # the unconnected socket is never read
    inner.sock.close()


@pytest.fixture
def async_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    original = deadline.AsyncDeadlineStream.read

    async def spy(self: deadline.AsyncDeadlineStream, max_bytes: int, timeout: float | None = None) -> bytes:
        data = await original(self, max_bytes, timeout)
        sizes.append(len(data))
        return data

    monkeypatch.setattr(deadline.AsyncDeadlineStream, "read", spy)
    return sizes


def async_client_for(tls: ServerTls) -> httpx.AsyncClient:
    context = ssl.create_default_context(cafile=str(tls.ca_cert))
    book = DeadlineBook(lambda: asyncio.current_task(), time.monotonic)
    return httpx.AsyncClient(transport=AsyncSchemeTransports(context, httpx.Limits(), book), timeout=30)


def test_the_async_streams_read_the_held_records_together(tls: ServerTls, async_reads: list[int]) -> None:
    body = body_of(4 * 1024 * 1024)
    port = serve_once(tls, body)

    async def fetch() -> bytes:
        async with (
            async_client_for(tls) as client,
            client.stream("GET", f"https://127.0.0.1:{port}/") as response,
        ):
            await asyncio.sleep(0.3)
            return b"".join([chunk async for chunk in response.aiter_raw()])

    assert asyncio.run(fetch()) == body
    assert max(async_reads) > RECORD
    assert len(async_reads) < len(body) // RECORD


def test_a_cut_off_answer_is_still_httpx_error_for_the_async_client(
    tls: ServerTls, async_reads: list[int]
) -> None:
    port = serve_once(tls, body_of(1024 * 1024), send=300 * 1024)

    async def fetch() -> None:
        async with (
            async_client_for(tls) as client,
            client.stream("GET", f"https://127.0.0.1:{port}/") as response,
        ):
            await asyncio.sleep(0.3)
            async for _ in response.aiter_raw():
                pass

    with pytest.raises(httpx.HTTPError):
        asyncio.run(fetch())
    assert sum(async_reads) >= 300 * 1024
