"""Bulk query results: materialised once to disk, then served in locator pages.

The worker writes every record (all values double-quoted, the job's delimiter and
line ending) to ``query.csv`` and the byte offset of each record to ``query.idx``,
so any page is one contiguous byte range: pages are stable and cheap to serve.
"""

from __future__ import annotations

import base64
import binascii
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kinetic_core.emulator.bulk.csvio import encode_quoted
from kinetic_core.emulator.bulk.files import JobFiles, iter_file
from kinetic_core.emulator.bulk.models import client_input
from kinetic_core.emulator.private import private_opener


def encode_locator(offset: int) -> str:
    """Opaque locator for a record offset (base64 of the number, unpadded, as Salesforce does).

    Example:
        >>> encode_locator(10000)
        'MTAwMDA'
    """
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def decode_locator(locator: str, total: int) -> int:
    """The record offset a locator stands for; ``CLIENTINPUTERROR`` when it is not one of ours."""
    try:
        raw = base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True).decode()
        offset = int(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise client_input(f"Invalid locator: {locator}") from None
    if offset < 0 or offset > total:
        raise client_input(f"Invalid locator: {locator}")
    return offset


def materialize(
    files: JobFiles,
    header: list[str],
    rows: Iterator[list[str]],
    delimiter: str,
    line_ending: str,
    chunk_rows: int,
    on_chunk: Callable[[int], bool],
) -> int | None:
    """Write the result file and index; ``on_chunk(rows_so_far)`` returning False stops (None returned)."""
    files.ensure()
    head = files.dir / "query.head"
    with open(head, "wb", opener=private_opener) as out:
        out.write((encode_quoted(header, delimiter) + line_ending).encode("utf-8"))
    offsets = array("Q")
    pos = 0
    count = 0
    with (
        open(files.query_data, "wb", opener=private_opener) as data,
        open(files.query_index, "wb", opener=private_opener) as index,
    ):
        buf: list[bytes] = []
        for row in rows:
            line = (encode_quoted(row, delimiter) + line_ending).encode("utf-8")
            offsets.append(pos)
            pos += len(line)
            buf.append(line)
            count += 1
            if count % chunk_rows == 0:
                data.write(b"".join(buf))
                offsets.tofile(index)
                buf.clear()
                del offsets[:]
                if not on_chunk(count):
                    return None
        data.write(b"".join(buf))
        offsets.tofile(index)
    return count


@dataclass(frozen=True)
class ResultPage:
    """One page of query results: the record count, the next locator (``None`` = last) and the body."""

    number_of_records: int
    next_locator: str | None
    chunks: Iterator[bytes]


def read_page(
    files: JobFiles, total: int, locator: str | None, max_records: int, chunk_bytes: int
) -> ResultPage:
    """The page starting at ``locator`` with at most ``max_records`` records, header first."""
    start = decode_locator(locator, total) if locator else 0
    stop = min(total, start + max_records)
    header = (files.dir / "query.head").read_bytes()
    if stop <= start:
        return ResultPage(0, None, iter([header]))
    begin, end = files.record_offsets(start, stop if stop < total else None)
    next_locator = encode_locator(stop) if stop < total else None
    return ResultPage(
        stop - start, next_locator, iter_file(files.query_data, chunk_bytes, begin, end, header)
    )
