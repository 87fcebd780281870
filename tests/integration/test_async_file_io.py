"""The async client reads and writes files off the event loop: with a disk that takes 0.6 s per
read or write, a ticker task on the same loop keeps ticking while a Bulk load reads its input file
and writes its result files, an export writes its CSV, and rows are read from a page spilled to disk."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from kinetic_core import AsyncSalesforceClient
from kinetic_core.bulk import PollPolicy, pagesinks
from kinetic_core.bulk import query as bulk_query
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.http import afiles, sinks

FAST = PollPolicy(initial=0.02, maximum=0.1)
SLOW = 0.6
"""Seconds the patched disk takes per read or write of a file: far above the ticker's gaps on a
busy machine (up to 0.25 s seen with both CPUs loaded), so a call on the loop's thread stands out."""
TICK = 0.01


class Disk:
    """Records which thread each file read or write ran on, and makes each one slow."""

    def __init__(self) -> None:
        self.threads: dict[str, set[int]] = {}

    def slow(self, what: str) -> None:
        self.threads.setdefault(what, set()).add(threading.get_ident())
        time.sleep(SLOW)


class SlowReader(io.BufferedReader):
    disk: Disk

    def readinto(self, buffer: Any) -> int:
        self.disk.slow("upload read")
        return super().readinto(buffer)


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Disk:
    disk = Disk()
    SlowReader.disk = disk

    def open_slowly(path: Path) -> io.BufferedReader:
        return SlowReader(io.FileIO(path, "rb"))

    def wrap(cls: type, what: str) -> None:
        write = cls.write

        def slow_write(self: Any, block: bytes) -> None:
            disk.slow(what)
            write(self, block)

        monkeypatch.setattr(cls, "write", slow_write)

    monkeypatch.setattr(afiles, "_open", open_slowly)
    wrap(sinks.FileSink, "result file write")
    wrap(pagesinks.AppendSink, "export write")
    open_page = bulk_query._open_page

    def open_page_slowly(page: Any) -> Any:
        disk.slow("spilled page read")
        return open_page(page)

    monkeypatch.setattr(bulk_query, "_open_page", open_page_slowly)
    monkeypatch.setattr(bulk_query, "PAGE_IN_MEMORY", 1024)  # every page of more than 1 KiB spills
    return disk


async def ticking(work: Callable[[], Awaitable[Any]]) -> tuple[Any, float, int]:
    """Run ``work`` with a ticker on the same loop; its result, the longest gap between ticks, ticks."""
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(TICK)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    try:
        result = await work()
    finally:
        stop.set()
        await task
    return result, max(gaps), len(gaps)


def test_file_io_runs_off_the_event_loop(local_org: LocalOrg, tmp_path: Path, disk: Disk) -> None:
    source = tmp_path / "accounts.csv"
    source.write_text("Name,External_Id__c\n" + "".join(f"F{i:04d},F{i}\n" for i in range(3000)))

    async def main() -> dict[str, Any]:
        loop_thread = threading.get_ident()
        seen: dict[str, Any] = {}
        async with AsyncSalesforceClient.connect(
            login_url=local_org.login_url,
            client_id=local_org.client_id,
            client_secret=local_org.client_secret,
            username=local_org.username,
            password=local_org.password,
            environ={},
            cwd=tmp_path,
            home=tmp_path / "home",
        ) as client:
            bulk = client.bulk
            bulk.poll = FAST

            async def load() -> Any:
                result = await bulk.insert("Account", source, poll=FAST, results_dir=tmp_path / "results")
                with result:
                    return result.successful

            async def export() -> Any:
                return (await bulk.query("SELECT Id, Name FROM Account", out=tmp_path / "all.csv")).rows

            async def rows() -> Any:
                return len([row async for row in await bulk.query("SELECT Id, Name FROM Account")])

            for name, work in (("load", load), ("export", export), ("rows", rows)):
                seen[name] = await ticking(work)
            # rows left unread: aclose removes the page spilled to disk, and its directory
            partial = await bulk.query("SELECT Id, Name FROM Account", max_records=1000)
            await anext(partial)
            page = partial._page
            assert isinstance(page, Path)
            assert page.exists()
            await partial.aclose()
            assert not page.exists()
            assert not page.parent.exists()
        seen["loop thread"] = loop_thread
        return seen

    seen = asyncio.run(main())
    assert [seen[name][0] for name in ("load", "export", "rows")] == [3000, 3000, 3000]
    assert set(disk.threads) == {"upload read", "result file write", "export write", "spilled page read"}
    for what, threads in disk.threads.items():
        assert seen["loop thread"] not in threads, what
    for name in ("load", "export", "rows"):
        _result, longest, ticks = seen[name]
        # Each took at least one slow disk call (SLOW s): on the loop's thread, a gap would be that long.
        assert ticks >= 10, name
        assert longest < SLOW * 0.75, (name, longest)
