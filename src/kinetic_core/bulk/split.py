"""Splitting a load into jobs: byte ranges of a CSV file are copied to one spool file per job.

The input is always a CSV file by now (the caller's own, or the spool written from
records, see :mod:`.sources`). Row boundaries come from :func:`.csvfile.iter_row_runs`
(quote-aware, a block at a time); each job file starts with the header and stays
below ``max_bytes`` (exact bytes, header and line endings included) and
``max_records`` data rows. Whole runs of rows are copied with one ``write``; only at
a cap is the cut point looked up (a bisection over the row end offsets). Nothing is
hashed or parsed here: each :class:`Chunk` remembers the byte range of the source it
came from, so rows can be parsed later, only if results are mapped back to them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from kinetic_core.bulk.csvfile import CsvLayout, RowRun, UnbalancedQuoteError, iter_row_runs
from kinetic_core.bulk.models import DEFAULT_MAX_BYTES, DEFAULT_MAX_RECORDS


@dataclass(frozen=True)
class Chunk:
    """One job's worth of spooled CSV.

    Attributes:
        part: 1-based position of the job in the load.
        path: the spooled CSV (header + rows).
        rows: data rows in the file.
        bytes: exact size of the file.
        first_row: input row number (1-based) of the first data row.
        start: offset in the source file of the first row's bytes.
        end: offset in the source file just past the last row's bytes (blank lines in
            between are skipped when parsing, as they were when counting).
        segments: what the scan found while splitting, kept so that nothing scans these rows
            again: ``(start, end, rows)`` for each stretch of whole rows without a blank line
            between them, in file order (see :func:`.rowmerge.replay_runs`).
    """

    part: int
    path: Path
    rows: int
    bytes: int
    first_row: int
    start: int
    end: int
    segments: tuple[tuple[int, int, int], ...] = ()


class _Spool:
    def __init__(self, path: Path, header: bytes, part: int, first_row: int, start: int) -> None:
        self.path = path
        self.part = part
        self.first_row = first_row
        self.start = start
        self.end = start
        self.handle: BinaryIO = path.open("wb")
        self.handle.write(header)
        self.bytes = len(header)
        self.rows = 0
        self.segments: list[tuple[int, int, int]] = []

    def add(self, view: memoryview, offset: int, begin: int, end: int, rows: int) -> None:
        """Copy rows ``begin``..``end`` of a block read at ``offset`` of the source."""
        self.handle.write(view[begin:end])
        self.bytes += end - begin
        self.rows += rows
        self.end = offset + end
        self.segments.append((offset + begin, offset + end, rows))

    def close(self) -> Chunk:
        self.handle.close()
        return Chunk(
            self.part,
            self.path,
            self.rows,
            self.bytes,
            self.first_row,
            self.start,
            self.end,
            tuple(self.segments),
        )


def _check_utf8(layout: CsvLayout, run: RowRun, done: int) -> None:
    try:
        str(memoryview(run.data)[run.begin : run.stop], "utf-8")
    except UnicodeDecodeError as exc:
        bad = run.begin + exc.start
        row = done + 1 + bisect_right(run.ends, bad)
        raise ValueError(
            f"{layout.path}: row {row} is not valid UTF-8 (byte {run.offset + bad}); Bulk API 2.0 reads UTF-8"
        ) from None


def split_file(
    layout: CsvLayout,
    directory: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_records: int = DEFAULT_MAX_RECORDS,
) -> Iterator[Chunk]:
    """Spool the data rows of ``layout`` into job files, yielding each one when it is full.

    Rows are numbered 1, 2, 3... in file order (blank lines do not count); each chunk
    says which rows it holds (``first_row``, ``rows``) and where they are in the source.

    Example:
        >>> chunks = list(split_file(sniff("in.csv"), tmp, max_bytes=1_000))  # doctest: +SKIP
    """
    header = layout.header_bytes
    if max_records < 1:
        raise ValueError("max_records_per_job must be at least 1")
    if max_bytes <= len(header):
        raise ValueError(f"max_bytes_per_job={max_bytes} leaves no room after the {len(header)}-byte header")
    spool: _Spool | None = None
    part = 0
    done = 0  # rows already spooled
    try:
        runs = iter_row_runs(layout, max_row=max_bytes - len(header))
        while True:
            try:
                run = next(runs, None)
            except UnbalancedQuoteError:
                raise ValueError(
                    f"{layout.path}: row {done + 1} has an unbalanced double quote (a quoted value is never"
                    " closed, or a quote stands inside an unquoted value)"
                ) from None
            if run is None:
                break
            _check_utf8(layout, run, done)
            pos = run.begin
            if spool is None:
                part += 1
                spool = _Spool(directory / f"part-{part:05d}.csv", header, part, done + 1, run.offset + pos)
            with memoryview(run.data) as view:
                if spool.bytes + run.stop - pos <= max_bytes and spool.rows + run.rows <= max_records:
                    # the whole run fits in the current job: no per-row offsets needed
                    spool.add(view, run.offset, pos, run.stop, run.rows)
                    done += run.rows
                    continue
                ends = run.ends
                count = len(ends)
                i = 0
                while i < count:
                    if spool is None:
                        part += 1
                        spool = _Spool(
                            directory / f"part-{part:05d}.csv", header, part, done + 1, run.offset + pos
                        )
                    row_cap = min(count, i + max_records - spool.rows)
                    limit = bisect_right(ends, pos + max_bytes - spool.bytes, i, row_cap)
                    if limit == i:
                        if spool.rows == 0:
                            raise ValueError(
                                f"row {done + 1} is {ends[i] - pos} bytes: it cannot fit in a job of "
                                f"max_bytes_per_job={max_bytes}"
                            )
                        full, spool = spool, None
                        yield full.close()
                        continue
                    end = ends[limit - 1]
                    spool.add(view, run.offset, pos, end, limit - i)
                    done += limit - i
                    pos, i = end, limit
                    if i < count:
                        full, spool = spool, None
                        yield full.close()
        if spool is not None:
            full, spool = spool, None
            yield full.close()
    finally:
        if spool is not None:
            spool.handle.close()
