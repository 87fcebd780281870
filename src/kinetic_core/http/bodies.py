"""Upload bodies read from files: re-iterable, so an upload may be sent again after a renewal.

Example:
    >>> from pathlib import Path
    >>> body = FileBody(Path(__file__), chunk=16)
    >>> first = next(iter(body)); first == next(iter(body)) and len(first)
    16
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

UPLOAD_CHUNK = 1 << 16
"""Bytes per read of an upload on a sync session. Kept under glibc's mmap threshold (128 KiB): larger
buffers, allocated in several upload threads, fragment one malloc arena per thread and made peak memory
grow with the number of jobs (measured with four upload threads: 64 -> 81 MB from 1 M to 5 M rows with
1 MiB reads, 64 -> 74 MB with 64 KiB). The async session reads a ``FileBody`` in larger blocks of its
own (``kinetic_core.http.afiles``), allocated on the event loop's thread only."""


class FileBody:
    """A re-iterable upload body: every ``iter()`` re-reads the file from the start.

    httpx streams it with chunked encoding; because it is not a generator, the HTTP
    layer may send it again after renewing an expired session.
    """

    def __init__(self, path: Path, chunk: int = UPLOAD_CHUNK) -> None:
        self.path = path
        self.chunk = chunk

    def __iter__(self) -> Iterator[bytes]:
        with self.path.open("rb") as handle:
            while block := handle.read(self.chunk):
                yield block
