"""Streamed bodies through the one send path: a cut-off page is requested again from the same locator.

A small real HTTP server on 127.0.0.1 serves Bulk query result pages. The first answer for each
locator announces its full ``Content-Length``, sends half the body and closes the connection (a
body cut off midway); the second is whole. An expired session answers 401 ``INVALID_SESSION_ID``
first, so renewal during a download is covered too. Token requests are counted at the server.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from kinetic_core.auth import ClientCredentialsAuth, SeededAuth, Token, TokenProvider
from kinetic_core.bulk.jobs import JobsApi
from kinetic_core.bulk.models import JobInfo
from kinetic_core.bulk.query import export_to_file, iter_records
from kinetic_core.http import AsyncHttpSession, HttpSession, RetryPolicy
from kinetic_core.http.sinks import MemorySink

JOB = "750000000000001AAA"
RESULTS = f"/services/data/v62.0/jobs/query/{JOB}/results"
HEADER = b'"Id","Name"\n'


def page(locator: int) -> bytes:
    start = locator * 3
    return HEADER + b"".join(b'"001%05d","Row %d"\n' % (i, i) for i in range(start, start + 3))


class PageServer:
    """Three result pages; the first answer of each page is cut off halfway."""

    def __init__(self, *, stale_token: str | None = None) -> None:
        self.requests: list[tuple[str, str | None, str]] = []  # (path, locator, Authorization)
        self.token_requests = 0
        self.stale_token = stale_token
        self.cut: set[str] = set()
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                """Quiet."""

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # the token endpoint
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server.lock:
                    server.token_requests += 1
                body = json.dumps({"access_token": "00D!fresh", "instance_url": server.url}).encode()
                self._send(200, body, {"Content-Type": "application/json"})

            def do_GET(self) -> None:
                split = urlsplit(self.path)
                locator = parse_qs(split.query).get("locator", [""])[0] or None
                auth = self.headers.get("Authorization", "")
                with server.lock:
                    server.requests.append((split.path, locator, auth))
                if server.stale_token and auth == f"Bearer {server.stale_token}":
                    body = b'[{"errorCode":"INVALID_SESSION_ID","message":"Session expired or invalid"}]'
                    self._send(401, body, {"Content-Type": "application/json"})
                    return
                number = int(locator or 0)
                data = page(number)
                headers = {
                    "Content-Type": "text/csv",
                    "Sforce-Locator": str(number + 1) if number < 2 else "null",
                    "Sforce-NumberOfRecords": "3",
                }
                key = locator or "0"
                with server.lock:
                    first = key not in server.cut
                    server.cut.add(key)
                if first:  # announce the whole body, send half of it, hang up
                    self.send_response(200)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self._send(200, data, headers)

        return Handler

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def pages() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.close()


@pytest.fixture
def stale_pages() -> Iterator[PageServer]:
    server = PageServer(stale_token="00D!stale")
    yield server
    server.close()


def job() -> JobInfo:
    return JobInfo.from_api(
        {
            "id": JOB,
            "state": "JobComplete",
            "object": "Account",
            "operation": "query",
            "numberRecordsProcessed": 9,
        }
    )


def seeded(server: PageServer, token: str) -> SeededAuth:
    return SeededAuth(ClientCredentialsAuth(server.url, "id", "secret"), Token(token, server.url))


def test_export_requests_each_cut_off_page_once_more_by_its_locator(
    pages: PageServer, tmp_path: Path
) -> None:
    waits: list[float] = []
    policy = RetryPolicy(base_delay=1.0)
    with HttpSession(seeded(pages, "00D!ok"), retry=policy, sleep=waits.append) as session:
        export = export_to_file(JobsApi(session), job(), tmp_path / "out.csv", None)
    parsed = list(csv.reader(io.StringIO((tmp_path / "out.csv").read_text())))
    ids = [row[0] for row in parsed[1:]]
    assert parsed[0] == ["Id", "Name"]
    assert ids == [f"001{i:05d}" for i in range(9)]  # every row once: no duplicate, none lost
    assert export.rows == 9
    assert [locator for _, locator, _ in pages.requests] == [None, None, "1", "1", "2", "2"]
    assert {path for path, _, _ in pages.requests} == {RESULTS}
    assert len(waits) == 3  # one backoff per cut-off page, under the policy's first ceiling
    assert all(0.0 <= w <= 1.0 for w in waits)


def test_records_survive_cut_offs_and_an_expired_session(stale_pages: PageServer) -> None:
    with HttpSession(seeded(stale_pages, "00D!stale"), sleep=lambda s: None) as session:
        ids = [r["Id"] for r in iter_records(JobsApi(session), job(), None)]
        renewals = session.refresh_count
    assert ids == [f"001{i:05d}" for i in range(9)]
    assert stale_pages.token_requests == 1  # 401 renewed once, then every page with the new token
    assert renewals == 1
    assert [auth for _, _, auth in stale_pages.requests][1:] == ["Bearer 00D!fresh"] * 6


def test_async_download_requests_a_cut_off_body_again(stale_pages: PageServer) -> None:
    provider = TokenProvider(seeded(stale_pages, "00D!stale"))

    async def main() -> tuple[bytes, dict[str, str], list[float]]:
        waits: list[float] = []

        async def sleep(seconds: float) -> None:
            waits.append(seconds)

        async with AsyncHttpSession(provider, sleep=sleep) as session:
            sink = MemorySink()
            headers = await session.download("GET", RESULTS, sink, params={"locator": "1"})
            return sink.data(), headers, waits

    data, headers, waits = asyncio.run(main())
    assert data == page(1)
    assert headers["sforce-locator"] == "2"
    assert len(waits) == 1
    assert stale_pages.token_requests == 1
    assert [(loc, auth) for _, loc, auth in stale_pages.requests] == [
        ("1", "Bearer 00D!stale"),
        ("1", "Bearer 00D!fresh"),
        ("1", "Bearer 00D!fresh"),
    ]
