"""The per-call deadline holds while a status line and headers trickle in, on a reused connection.

httpx bounds each read, not the answer: a server that sends its status line one byte every 0.2 s
keeps every read short. On a new connection httpx's trace hooks could reach the socket; on a
pooled, reused one nothing could, so only httpcore's 100 KiB header limit ended the call (hours).
The server here is a real socket server: the first request on a connection is answered at once
(keep-alive), the second one trickles. The client must end the call with its ``request_deadline``
error soon after the deadline, and the connection must have been reused (one accept).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from kinetic_core.auth import StaticTokenAuth
from kinetic_core.errors import ResponseLimitError
from kinetic_core.http import AsyncHttpSession, HttpSession, ResponseBounds, RetryPolicy

DEADLINE = 2.0
SLACK = 4.0  # generous: a loaded 2-core machine may be slow to schedule the client thread
TRICKLE_FOR = 40.0  # the server gives up after this long; before the fix the call lasted as long
BODY = b'{"DailyApiRequests": {"Max": 15000, "Remaining": 14999}}'


class TrickleServer:
    """Answers the first request of each connection at once, then trickles the status line."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.accepted = 0
        self.requests = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            self.accepted += 1
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _read_request(self, conn: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return False
            data += chunk
        self.requests += 1
        return True

    def _connection(self, conn: socket.socket) -> None:
        with conn:
            if not self._read_request(conn):
                return
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
            )
            if not self._read_request(conn):
                return
            line = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 10_000
            started = time.monotonic()
            try:
                for byte in line:
                    if self.stop.is_set() or time.monotonic() - started > TRICKLE_FOR:
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(0.2)
            except OSError:
                return  # the client hung up: what the deadline should make it do

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def trickle() -> Iterator[TrickleServer]:
    server = TrickleServer()
    yield server
    server.close()


def bounds() -> ResponseBounds:
    return ResponseBounds(request_deadline=DEADLINE)


def test_sync_deadline_bounds_a_trickled_status_line_on_a_pooled_connection(trickle: TrickleServer) -> None:
    auth = StaticTokenAuth(trickle.url, "00D!t")
    with HttpSession(auth, bounds=bounds(), retry=RetryPolicy.never()) as session:
        assert session.get_json("limits")["DailyApiRequests"]["Max"] == 15000
        started = time.monotonic()
        with pytest.raises(ResponseLimitError) as err:
            session.request("GET", "limits")
        took = time.monotonic() - started
    assert err.value.limit == "request_deadline"
    assert DEADLINE - 0.1 <= took < DEADLINE + SLACK
    assert trickle.accepted == 1  # the second call went out on the pooled connection
    assert trickle.requests == 2


def test_sync_deadline_error_is_final_even_for_a_call_safe_to_repeat(trickle: TrickleServer) -> None:
    auth = StaticTokenAuth(trickle.url, "00D!t")
    with HttpSession(auth, bounds=bounds(), sleep=lambda s: None) as session:
        session.get_json("limits")
        started = time.monotonic()
        with pytest.raises(ResponseLimitError):
            session.request("GET", "limits")  # GET: idempotent, yet not re-sent past the deadline
        took = time.monotonic() - started
    assert took < DEADLINE + SLACK
    assert trickle.requests == 2


def test_async_deadline_bounds_a_trickled_status_line_on_a_pooled_connection(trickle: TrickleServer) -> None:
    async def main() -> tuple[ResponseLimitError, float]:
        auth = StaticTokenAuth(trickle.url, "00D!t")
        async with AsyncHttpSession(auth, bounds=bounds(), retry=RetryPolicy.never()) as session:
            assert (await session.get_json("limits"))["DailyApiRequests"]["Max"] == 15000
            started = time.monotonic()
            try:
                await session.request("GET", "limits")
            except ResponseLimitError as exc:
                return exc, time.monotonic() - started
            raise AssertionError("the trickled answer was accepted")

    error, took = asyncio.run(main())
    assert error.limit == "request_deadline"
    assert DEADLINE - 0.1 <= took < DEADLINE + SLACK
    assert trickle.accepted == 1
    assert trickle.requests == 2
