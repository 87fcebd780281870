"""File I/O of the async session, off the event loop: a slow disk never stalls the other tasks.

* An upload read from a file (``FileBody``) is read in blocks of :data:`BLOCK` bytes in a worker
  thread (``readinto`` a buffer of the body's own), each block copied on the loop's thread before
  it is sent: one buffer per upload in flight, all allocated on the loop's thread.
* A download is gathered into blocks of up to :data:`BLOCK` bytes and each block is handed to its
  sink (a result file, an export, a spilled query page) in a worker thread: one block per download
  in flight. The sink is written by one thread at a time, in order.

A worker thread is always waited for, even when the task is cancelled meanwhile (see
:func:`off_loop`), so no thread is still writing a file that the cancelled task then removes.

Example:
    >>> import asyncio
import io
    >>> asyncio.run(off_loop(sum, [1, 2, 3]))
    6
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from kinetic_core.http.bodies import FileBody
from kinetic_core.http.ops import BodySink

T = TypeVar("T")

BLOCK = 1 << 20
"""Bytes per file read or write done in a worker thread (one thread hop each)."""


async def off_loop(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a worker thread. If the task is cancelled meanwhile, the thread is
    waited for before ``CancelledError`` goes on (it may be writing files the caller then removes)."""
    future = asyncio.get_running_loop().run_in_executor(None, function, *args)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


def _open(path: Path) -> io.BufferedReader:
    return path.open("rb")


class ThreadedBody:
    """An upload body for ``httpx.AsyncClient`` whose reads happen in worker threads.

    Re-iterable like the body it wraps (each ``async for`` starts again from the start), so the
    session may send it again after a renewal. A ``FileBody`` is read in blocks of ``block`` bytes;
    any other iterable of bytes is advanced in a worker thread, one item at a time.
    """

    def __init__(self, body: Iterable[bytes], block: int = BLOCK) -> None:
        self.body = body
        self.block = block

    def __aiter__(self) -> AsyncIterator[bytes]:
        if isinstance(self.body, FileBody):
            return self._file_blocks(self.body)
        return self._items(self.body)

    async def _file_blocks(self, body: FileBody) -> AsyncIterator[bytes]:
        handle = await off_loop(_open, body.path)
        try:
            view = memoryview(bytearray(self.block))
            while size := await off_loop(handle.readinto, view):
                yield bytes(view[:size])
        finally:
            handle.close()

    @staticmethod
    async def _items(body: Iterable[bytes]) -> AsyncIterator[bytes]:
        items = await off_loop(iter, body)
        while (item := await off_loop(next, items, None)) is not None:
            yield item


class BlockWriter:
    """Gathers the chunks of a download and writes them to ``sink`` in blocks, in a worker thread.

    ``await add(chunk)`` for each chunk, then ``await flush()`` once the answer is complete; what
    was gathered but not flushed when the answer is cut off is dropped with the attempt.
    """

    def __init__(self, sink: BodySink, block: int = BLOCK) -> None:
        self.sink = sink
        self.block = block
        self._held: list[bytes] = []
        self._size = 0

    async def add(self, chunk: bytes) -> None:
        self._held.append(chunk)
        self._size += len(chunk)
        if self._size >= self.block:
            await self.flush()

    async def flush(self) -> None:
        if not self._held:
            return
        data = self._held[0] if len(self._held) == 1 else b"".join(self._held)
        self._held, self._size = [], 0
        await off_loop(self.sink.write, data)
