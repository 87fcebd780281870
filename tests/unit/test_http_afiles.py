"""Async file I/O helpers: uploads read and downloads written in 1 MiB blocks, in worker threads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

from kinetic_core.http.afiles import BLOCK, BlockWriter, ThreadedBody
from kinetic_core.http.bodies import FileBody


def test_a_file_body_is_read_in_blocks_again_at_each_iteration(tmp_path: Path) -> None:
    path = tmp_path / "body.csv"
    data = bytes(range(256)) * (BLOCK // 256 * 2 + 3)
    path.write_bytes(data)
    body = ThreadedBody(FileBody(path))

    async def read() -> list[bytes]:
        return [block async for block in body]

    async def twice() -> tuple[list[bytes], list[bytes]]:
        return await read(), await read()

    first, second = asyncio.run(twice())
    assert first == second
    assert [len(b) for b in first] == [BLOCK, BLOCK, 768]
    assert b"".join(first) == data


def test_any_other_iterable_is_advanced_in_a_worker_thread() -> None:
    threads: set[int] = set()

    def blocks() -> list[bytes]:
        threads.add(threading.get_ident())
        return [b"a", b"", b"b"]

    class Body:
        def __iter__(self) -> Iterator[bytes]:
            return iter(blocks())

    async def read() -> tuple[list[bytes], int]:
        return [block async for block in ThreadedBody(Body())], threading.get_ident()

    got, loop_thread = asyncio.run(read())
    assert got == [b"a", b"", b"b"]
    assert loop_thread not in threads


class Recorder:
    def __init__(self) -> None:
        self.writes: list[tuple[int, int]] = []

    def start(self, headers: Mapping[str, str]) -> None:
        pass

    def write(self, chunk: bytes) -> None:
        self.writes.append((len(chunk), threading.get_ident()))

    def reset(self) -> None:
        pass


def test_a_download_is_written_in_blocks_off_the_loop() -> None:
    sink = Recorder()

    async def pump() -> int:
        writer = BlockWriter(sink)
        for _ in range(40):
            await writer.add(b"x" * 65536)
        await writer.flush()
        await writer.flush()  # nothing held: no write
        return threading.get_ident()

    loop_thread = asyncio.run(pump())
    assert [size for size, _ in sink.writes] == [BLOCK, BLOCK, 40 * 65536 - 2 * BLOCK]
    assert loop_thread not in {thread for _, thread in sink.writes}
