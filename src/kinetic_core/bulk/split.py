"""Splitting a load into jobs: rows are spooled to one temp file per job.

Each job file starts with the header and stays below ``max_bytes`` (exact UTF-8
bytes, header and line endings included) and ``max_records`` data rows. Files are
closed as soon as they are full, so only the current one is open and nothing but
the current row is held in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from kinetic_core.bulk.rowindex import RowIndex

DEFAULT_MAX_BYTES = 100_000_000
"""Raw bytes per job: Salesforce caps an upload at 150 MB after base64 (~100 MB raw)."""
DEFAULT_MAX_RECORDS = 150_000_000
"""Records per job: the rolling 24 h record allowance is the only per-job ceiling documented."""


@dataclass(frozen=True)
class Chunk:
    """One job's worth of spooled CSV.

    Attributes:
        part: 1-based position of the job in the load.
        path: the spooled CSV (header + rows).
        rows: data rows in the file.
        bytes: exact size of the file.
        first_row: input row number (1-based) of the first data row.
    """

    part: int
    path: Path
    rows: int
    bytes: int
    first_row: int


class _Spool:
    def __init__(self, path: Path, header: bytes, part: int, first_row: int) -> None:
        self.path = path
        self.part = part
        self.first_row = first_row
        self.handle: BinaryIO = path.open("wb")
        self.handle.write(header)
        self.bytes = len(header)
        self.rows = 0

    def close(self) -> Chunk:
        self.handle.close()
        return Chunk(self.part, self.path, self.rows, self.bytes, self.first_row)


def split_rows(
    rows: Iterable[tuple[bytes, bytes]],
    header: bytes,
    directory: Path,
    index: RowIndex,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_records: int = DEFAULT_MAX_RECORDS,
) -> Iterator[Chunk]:
    """Spool ``(row_bytes, row_key)`` pairs into job files, yielding each one when it is full.

    Row numbers are assigned 1, 2, 3... in input order and recorded in ``index``
    (part, key, row number) for mapping results back.

    Example:
        >>> chunks = list(split_rows(rows, b"Name\\n", tmp, index, max_bytes=1_000))  # doctest: +SKIP
    """
    if max_records < 1:
        raise ValueError("max_records_per_job must be at least 1")
    if max_bytes <= len(header):
        raise ValueError(f"max_bytes_per_job={max_bytes} leaves no room after the {len(header)}-byte header")
    spool: _Spool | None = None
    part = 0
    row_number = 0
    pending: list[tuple[int, bytes, int]] = []
    try:
        for raw, key in rows:
            row_number += 1
            size = len(raw)
            if len(header) + size > max_bytes:
                raise ValueError(
                    f"row {row_number} is {size} bytes: it cannot fit in a job of "
                    f"max_bytes_per_job={max_bytes}"
                )
            if spool is not None and (spool.bytes + size > max_bytes or spool.rows >= max_records):
                index.add_many(pending)
                pending = []
                yield spool.close()
                spool = None
            if spool is None:
                part += 1
                spool = _Spool(directory / f"part-{part:05d}.csv", header, part, row_number)
            spool.handle.write(raw)
            spool.bytes += size
            spool.rows += 1
            pending.append((part, key, row_number))
            if len(pending) >= 10_000:
                index.add_many(pending)
                pending = []
        if spool is not None:
            index.add_many(pending)
            pending = []
            yield spool.close()
            spool = None
    finally:
        if spool is not None:
            spool.handle.close()
