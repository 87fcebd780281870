"""``AsyncHttpSession`` against the emulator: calls, retries with backoff, one renewal for N tasks.

The emulator runs in-process (a real HTTP server on 127.0.0.1); token requests are counted at the
server (``/_emulator/stats``, route kind ``oauth``), not by the client.
"""

from __future__ import annotations

import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kinetic_core.auth import PasswordAuth, StaticTokenAuth, TokenProvider
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.errors import ServerUnavailableError
from kinetic_core.http import AsyncHttpSession, HttpSession, RetryPolicy


def password(org: LocalOrg) -> PasswordAuth:
    return PasswordAuth(org.login_url, org.client_id, org.client_secret, org.username, org.password)


def token_requests(org: LocalOrg) -> int:
    return int(org.admin("stats")["requests"].get("oauth", 0))


class Sleeps:
    """An async sleep that records its waits and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def test_async_session_creates_reads_and_tracks_limits(local_org: LocalOrg) -> None:
    async def main() -> tuple[Any, Any, Any]:
        async with AsyncHttpSession(password(local_org), max_connections=4) as session:
            created = await asyncio.gather(
                *(session.request("POST", "sobjects/Account", json={"Name": f"A{i}"}) for i in range(40))
            )
            ids = [r.json()["id"] for r in created]
            one = await session.get_json(f"sobjects/Account/{ids[0]}")
            count = await session.get_json("query", params={"q": "SELECT COUNT() FROM Account"})
            return ids, (one, count), session.api_usage

    ids, (one, count), usage = asyncio.run(main())
    assert len(set(ids)) == 40
    assert one["Name"].startswith("A")
    assert count["totalSize"] == 40
    assert usage is not None
    assert usage.used >= 42
    assert local_org.org.store.record_counts()["Account"] == 40
    assert token_requests(local_org) == 1


def test_async_get_retried_with_backoff_then_gives_up(local_org: LocalOrg) -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=30.0)

    async def main() -> None:
        async with AsyncHttpSession(password(local_org), retry=policy, sleep=sleeps) as session:
            await session.login()
            local_org.admin("faults", {"error_rate": 1.0, "error_status": 503, "path_contains": "/limits"})
            with pytest.raises(ServerUnavailableError):
                await session.request("GET", "limits")

    asyncio.run(main())
    local_org.admin("faults", {})
    assert len(sleeps.waits) == 3  # 4 attempts, 3 waits
    for attempt, wait in enumerate(sleeps.waits, start=1):
        assert 0.0 <= wait <= 1.0 * 2 ** (attempt - 1)  # full jitter under the exponential ceiling
    assert local_org.admin("faults")["injected"]["error"] == 4


def test_concurrent_tasks_share_one_renewal(local_org: LocalOrg) -> None:
    async def main() -> tuple[int, int, list[str]]:
        async with AsyncHttpSession(password(local_org), max_connections=8) as session:
            await session.login()
            local_org.admin("faults", {"session_ttl_seconds": 1.5})
            await asyncio.sleep(1.6)  # the session is now expired on the server (a real server thread)
            before = token_requests(local_org)
            answers = await asyncio.gather(
                *(session.request("POST", "sobjects/Account", json={"Name": f"T{n}"}) for n in range(16))
            )
            after = token_requests(local_org)
            local_org.admin("faults", {})
            return after - before, session.refresh_count, [a.json()["id"] for a in answers]

    renewals_at_server, refreshes, ids = asyncio.run(main())
    assert renewals_at_server == 1
    assert refreshes == 1
    assert len(set(ids)) == 16
    assert local_org.org.store.record_counts()["Account"] == 16


def test_threads_and_tasks_share_one_provider(local_org: LocalOrg) -> None:
    provider = TokenProvider(password(local_org))
    with HttpSession(provider) as sync_session:
        sync_session.request("GET", "limits")
        local_org.admin("faults", {"session_ttl_seconds": 1.5})
        time.sleep(1.6)
        before = token_requests(local_org)
        barrier = threading.Barrier(6)
        errors: list[BaseException] = []

        def worker() -> None:
            barrier.wait()
            try:
                sync_session.request("GET", "limits")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        renewed = token_requests(local_org) - before

        async def tasks() -> None:
            async with AsyncHttpSession(provider) as async_session:
                await asyncio.gather(*(async_session.request("GET", "limits") for _ in range(6)))

        asyncio.run(tasks())  # the session renewed by the threads serves the tasks as well
        local_org.admin("faults", {})
    assert errors == []
    assert renewed == 1
    assert token_requests(local_org) - before == 1
    assert provider.refresh_count == 1
    assert provider.auth_count == 2


class InFlightServer:
    """Answers every GET after 50 ms and records the most requests it held at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.served = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                """Quiet."""

            def do_GET(self) -> None:
                with server.lock:
                    server.now += 1
                    server.most = max(server.most, server.now)
                time.sleep(0.05)
                with server.lock:
                    server.now -= 1
                    server.served += 1
                body = b'{"ok":true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_connection_pool_is_bounded_and_closed() -> None:
    server = InFlightServer()
    try:

        async def main() -> AsyncHttpSession:
            session = AsyncHttpSession(StaticTokenAuth(server.url, "00D!t"), max_connections=4)
            async with session:
                answers = await asyncio.gather(*(session.get_json("limits") for _ in range(40)))
            assert answers == [{"ok": True}] * 40
            return session

        session = asyncio.run(main())
    finally:
        server.close()
    assert server.served == 40
    assert 2 <= server.most <= 4  # never more than max_connections at once
    assert session.http_client.is_closed
