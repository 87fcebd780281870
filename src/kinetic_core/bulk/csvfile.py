"""Reading a caller's CSV file for upload without re-encoding it.

The file is read as bytes: a UTF-8 BOM is stripped, the delimiter (one of the
six Bulk delimiters) and the line ending are detected from the header, and rows
are split on quote-aware boundaries (a newline inside a quoted value does not end
a row). Each row's raw bytes are copied to the upload as they are; the cells are
parsed only to index the row for mapping results back to it. Blank lines are
skipped and do not count as rows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from kinetic_core.bulk.models import ColumnDelimiter, LineEnding

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class CsvLayout:
    """What :func:`sniff` found out about a CSV file."""

    path: Path
    delimiter: ColumnDelimiter
    line_ending: LineEnding
    header: tuple[str, ...]
    header_bytes: bytes
    data_offset: int


def _logical_records(stream: Iterator[bytes]) -> Iterator[bytes]:
    """Group physical lines into CSV records by double-quote parity."""
    pending: list[bytes] = []
    quotes = 0
    for line in stream:
        pending.append(line)
        quotes += line.count(b'"')
        if quotes % 2 == 0:
            yield b"".join(pending)
            pending = []
            quotes = 0
    if pending:
        yield b"".join(pending)


def _strip_eol(raw: bytes) -> bytes:
    if raw.endswith(b"\r\n"):
        return raw[:-2]
    if raw.endswith(b"\n"):
        return raw[:-1]
    return raw


def _count_outside_quotes(text: str, char: str) -> int:
    count = 0
    quoted = False
    for c in text:
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            count += 1
    return count


def sniff(
    path: str | Path,
    delimiter: ColumnDelimiter | str | None = None,
    line_ending: LineEnding | str | None = None,
) -> CsvLayout:
    """Detect the layout of ``path`` (explicit ``delimiter``/``line_ending`` win).

    Example:
        >>> layout = sniff("accounts.csv")   # doctest: +SKIP
        >>> layout.delimiter, layout.header  # doctest: +SKIP
        (<ColumnDelimiter.COMMA: 'COMMA'>, ('Name', 'Phone'))
    """
    file_path = Path(path)
    with file_path.open("rb") as handle:
        start = handle.read(3)
        offset = 3 if start == BOM else 0
        handle.seek(offset)
        raw_header = next(_logical_records(iter(handle)), b"")
    if not _strip_eol(raw_header).strip():
        raise ValueError(f"{file_path}: the CSV file has no header row")
    text = _strip_eol(raw_header).decode("utf-8")
    if delimiter is None:
        counts = {d: _count_outside_quotes(text, d.char) for d in ColumnDelimiter}
        best = max(counts.values())
        delim = ColumnDelimiter.COMMA if best == 0 or counts[ColumnDelimiter.COMMA] == best else None
        if delim is None:
            delim = next(d for d, n in counts.items() if n == best)
    else:
        delim = ColumnDelimiter.parse(delimiter)
    if line_ending is None:
        ending = LineEnding.CRLF if raw_header.endswith(b"\r\n") else LineEnding.LF
    else:
        ending = LineEnding.parse(line_ending)
    header = tuple(next(csv.reader([text], delimiter=delim.char)))
    header_bytes = _strip_eol(raw_header) + ending.chars.encode()
    return CsvLayout(file_path, delim, ending, header, header_bytes, offset + len(raw_header))


def iter_rows(layout: CsvLayout) -> Iterator[tuple[bytes, list[str]]]:
    """Yield ``(raw_bytes, cells)`` for each data row; raw bytes end with the line ending.

    A final row without a line ending gets one; blank lines are skipped.
    """
    eol = layout.line_ending.chars.encode()
    width = len(layout.header)
    pending: list[bytes] = []

    def texts(handle: BinaryIO) -> Iterator[str]:
        for raw in _logical_records(iter(handle)):
            body = _strip_eol(raw)
            if not body.strip(b"\r\n"):
                continue
            pending.append(raw if raw.endswith(b"\n") else body + eol)
            yield body.decode("utf-8")

    with layout.path.open("rb") as handle:
        handle.seek(layout.data_offset)
        # one reader for the whole file; each item it is fed is one complete record
        for cells in csv.reader(texts(handle), delimiter=layout.delimiter.char):
            if len(cells) < width:
                cells.extend([""] * (width - len(cells)))
            yield pending.pop(), cells
