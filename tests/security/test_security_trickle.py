"""A server that trickles its answer, one byte every 1.5 s, is held to a deadline per call.

Three places a trickle can hide: the status line and headers (each read is short, so the read
timeout never fires), an answer read whole (REST JSON) and the body of a streamed download (a
Bulk query page). The first two end at ``request_deadline``; a download's body at
``download_deadline`` (before it existed, only the progress rule ended it: a minute by default,
and never for a server that keeps just above ``min_download_rate``). Every case ends with a
``ResponseLimitError`` naming the bound, soon after it, and is never re-sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostile_server import API, JOB_ID, HostileServer

from kinetic_core import SalesforceClient
from kinetic_core.auth import StaticTokenAuth
from kinetic_core.bulk import BulkClient
from kinetic_core.bulk.poller import PollPolicy
from kinetic_core.errors import ResponseLimitError
from kinetic_core.http import AsyncHttpSession, HttpSession, ResponseBounds
from kinetic_core.http.sinks import MemorySink

TOKEN = "00DHOSTILE!trickle"
DELAY = 1.5  # seconds between two bytes
DEADLINE = 3.0
SLACK = 4.0  # generous: a loaded 2-core machine may be slow to schedule the client thread


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        server.trickle_delay = DELAY
        yield server


def client_for(server: HostileServer, **bounds: Any) -> SalesforceClient:
    session = HttpSession(
        StaticTokenAuth(server.url, TOKEN), bounds=ResponseBounds(**bounds), sleep=lambda _s: None
    )
    return SalesforceClient(session)


def run_call(client: SalesforceClient, call: str, tmp_path: Path) -> None:
    bulk = BulkClient(client, poll=PollPolicy(initial=0.01, maximum=0.01), state_dir=False)
    if call == "rest":
        list(client.query("SELECT Id FROM Account"))
    elif call == "records":
        list(bulk.query("SELECT Id FROM Account"))
    else:
        bulk.query("SELECT Id FROM Account", out=tmp_path / "out.csv")


def timed_error(client: SalesforceClient, call: str, tmp_path: Path) -> tuple[ResponseLimitError, float]:
    started = time.monotonic()
    with client, pytest.raises(ResponseLimitError) as info:
        run_call(client, call, tmp_path)
    return info.value, time.monotonic() - started


@pytest.mark.parametrize("call", ["rest", "records", "export"])
def test_trickled_headers_end_at_the_request_deadline(
    hostile: HostileServer, tmp_path: Path, call: str
) -> None:
    hostile.mode = "head_trickle" if call == "rest" else "bulk_head_trickle"
    error, took = timed_error(client_for(hostile, request_deadline=DEADLINE), call, tmp_path)
    assert error.limit == "request_deadline"
    assert f"request_deadline={DEADLINE}" in str(error)
    assert DEADLINE - 0.1 <= took < DEADLINE + SLACK
    assert hostile.requests_to("/query" if call == "rest" else "/results") == 1  # never re-sent


def test_a_trickled_json_body_ends_at_the_request_deadline(hostile: HostileServer, tmp_path: Path) -> None:
    hostile.mode = "trickle"
    error, took = timed_error(client_for(hostile, request_deadline=DEADLINE), "rest", tmp_path)
    assert error.limit == "request_deadline"
    assert DEADLINE - 0.1 <= took < DEADLINE + SLACK
    assert hostile.requests_to("/query") == 1


@pytest.mark.parametrize("call", ["records", "export"])
def test_a_trickled_download_body_ends_at_the_download_deadline(
    hostile: HostileServer, tmp_path: Path, call: str
) -> None:
    hostile.mode = "bulk_trickle"
    # min_download_rate=0: the progress rule is off, so only the deadline can end the download
    client = client_for(hostile, download_deadline=DEADLINE, min_download_rate=0)
    error, took = timed_error(client, call, tmp_path)
    assert error.limit == "download_deadline"
    assert f"download_deadline={DEADLINE}" in str(error)
    assert DEADLINE - 0.1 <= took < DEADLINE + SLACK
    assert hostile.requests_to("/results") == 1
    if call == "export":
        assert (tmp_path / "out.csv").stat().st_size < 10  # a byte or two, never a half page kept


def test_the_async_session_keeps_both_deadlines(hostile: HostileServer) -> None:
    bounds = ResponseBounds(request_deadline=DEADLINE, download_deadline=DEADLINE, min_download_rate=0)
    results = f"{API}/jobs/query/{JOB_ID}/results"

    async def one(session: AsyncHttpSession, mode: str) -> tuple[str, float]:
        hostile.mode = mode
        started = time.monotonic()
        try:
            await session.download("GET", results, MemorySink())
        except ResponseLimitError as exc:
            return exc.limit, time.monotonic() - started
        raise AssertionError(f"{mode}: the trickled answer was accepted")

    async def main() -> list[tuple[str, float]]:
        async with AsyncHttpSession(StaticTokenAuth(hostile.url, TOKEN), bounds=bounds) as session:
            return [await one(session, "bulk_head_trickle"), await one(session, "bulk_trickle")]

    (head, head_took), (body, body_took) = asyncio.run(main())
    assert (head, body) == ("request_deadline", "download_deadline")
    assert DEADLINE - 0.1 <= head_took < DEADLINE + SLACK
    assert DEADLINE - 0.1 <= body_took < DEADLINE + SLACK
    assert hostile.requests_to("/results") == 2


def test_the_deadlines_are_generous_by_default() -> None:
    bounds = ResponseBounds()
    assert bounds.request_deadline == 600.0
    assert bounds.download_deadline == 4 * 3600.0
    with pytest.raises(ValueError, match="download_deadline"):
        ResponseBounds(download_deadline=0)
