"""Sinks for ``download``: where a streamed answer goes, and how a cut-off attempt is forgotten.

Example:
    >>> sink = MemorySink()
    >>> sink.start({}); sink.write(b"Id\\n"); sink.reset(); sink.write(b"Id\\n1\\n")
    >>> sink.data()
    b'Id\\n1\\n'
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO


class MemorySink:
    """Holds the answer in memory (small answers only: ``limit`` the download)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def start(self, headers: Mapping[str, str]) -> None:
        self._chunks = []

    def write(self, chunk: bytes) -> None:
        self._chunks.append(chunk)

    def reset(self) -> None:
        self._chunks = []

    def data(self) -> bytes:
        """The bytes of the answer that completed."""
        return b"".join(self._chunks)


class FileSink:
    """Writes the answer to ``path`` (created or truncated at each attempt); a context manager.

    Example:
        >>> with FileSink(Path(tmp) / "results.csv") as sink:                  # doctest: +SKIP
        ...     session.download("GET", url, sink)
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._out: BinaryIO | None = None

    def start(self, headers: Mapping[str, str]) -> None:
        if self._out is None:
            self._out = self.path.open("wb")
        else:
            self.reset()

    def write(self, chunk: bytes) -> None:
        if self._out is None:
            self._out = self.path.open("wb")
        self._out.write(chunk)

    def reset(self) -> None:
        if self._out is not None:
            self._out.seek(0)
            self._out.truncate()

    def close(self) -> None:
        """Close the file (what was written stays)."""
        if self._out is not None:
            self._out.close()
            self._out = None

    def __enter__(self) -> FileSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
