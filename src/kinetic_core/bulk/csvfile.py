"""Reading a caller's CSV file for upload without re-encoding it.

The file is read as bytes: a UTF-8 BOM is stripped, the delimiter (one of the
six Bulk delimiters) and the line ending are detected from the header, and rows
are split on quote-aware boundaries (a newline inside a quoted value does not end
a row). Uploads use :func:`iter_row_runs`, which finds row boundaries a block at a
time with bulk byte operations (no decoding, no per-row parsing); the raw bytes are
copied to the upload as they are. Cells are parsed (:func:`parse_range`,
:func:`iter_rows`) only when results are mapped back to input rows. Blank lines are
skipped and do not count as rows.
"""

from __future__ import annotations

import csv
import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate, compress, count, repeat
from operator import add
from pathlib import Path
from typing import BinaryIO

from kinetic_core.bulk.models import ColumnDelimiter, LineEnding
from kinetic_core.csvread import read_rows

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


def likeliest_delimiter(header_line: str, candidates: Sequence[str]) -> str:
    """The candidate found most often outside quotes in a header line; a comma on a tie with it or
    when none is found, else the first of the tied candidates in ``candidates`` order.

    Example:
        >>> likeliest_delimiter('"a;b",c|d|e', [",", ";", "|"]), likeliest_delimiter("Name", [";", ","])
        ('|', ',')
    """
    counts = {c: _count_outside_quotes(header_line, c) for c in candidates}
    best = max(counts.values())
    if best == 0 or counts.get(",") == best:
        return ","
    return next(c for c in candidates if counts[c] == best)


def _refuse_cr_only(path: Path, header: bytes) -> None:
    """A carriage return outside quotes in the first record: CR-only (classic Mac) line endings."""
    cr = header.find(b"\r")
    if cr >= 0 and header[:cr].count(b'"') % 2 == 0:
        raise ValueError(
            f"{path}: the file ends its lines with CR only (classic Mac OS); Salesforce reads LF or CRLF "
            "line endings: convert the file (for example: tr '\\r' '\\n' < old.csv > new.csv)"
        )


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
    _refuse_cr_only(file_path, _strip_eol(raw_header))
    text = _strip_eol(raw_header).decode("utf-8")
    if delimiter is None:
        char = likeliest_delimiter(text, [d.char for d in ColumnDelimiter])
        delim = next(d for d in ColumnDelimiter if d.char == char)
    else:
        delim = ColumnDelimiter.parse(delimiter)
    if line_ending is None:
        ending = LineEnding.CRLF if raw_header.endswith(b"\r\n") else LineEnding.LF
    else:
        ending = LineEnding.parse(line_ending)
    raw_names = next(csv.reader([text], delimiter=delim.char))
    header = tuple(name.strip() for name in raw_names)
    header_line = _strip_eol(raw_header)
    if list(header) != raw_names:
        # spaces around a name are not part of it (kinetic_core.normalise): the header is re-written
        header_line = delim.char.join(_quoted(name, delim.char) for name in header).encode("utf-8")
    header_bytes = header_line + ending.chars.encode()
    return CsvLayout(file_path, delim, ending, header, header_bytes, offset + len(raw_header))


def _quoted(name: str, delimiter: str) -> str:
    if any(c in name for c in (delimiter, '"', "\r", "\n")):
        return '"' + name.replace('"', '""') + '"'
    return name


def iter_rows(layout: CsvLayout) -> Iterator[tuple[bytes, list[str]]]:
    """Yield ``(raw_bytes, cells)`` for each data row; raw bytes end with the line ending.

    A final row without a line ending gets one; blank lines are skipped.
    """
    eol = layout.line_ending.chars.encode()
    width = len(layout.header)
    pending: list[bytes] = []

    def texts(handle: BinaryIO) -> Iterator[str]:
        row = 0
        for raw in _logical_records(iter(handle)):
            body = _strip_eol(raw)
            if not body.strip(b"\r\n"):
                continue
            row += 1
            if body.count(b'"') % 2:
                # only the end of the file stops a quoted value that is never closed
                raise ValueError(f"{layout.path}: row {row} has an unbalanced double quote (never closed)")
            pending.append(raw if raw.endswith(b"\n") else body + eol)
            try:
                yield body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(f"{layout.path}: row {row} is not valid UTF-8 ({exc.reason})") from None

    with layout.path.open("rb") as handle:
        handle.seek(layout.data_offset)
        # one reader for the whole file; each item it is fed is one complete record
        for cells in read_rows(texts(handle), layout.delimiter.char):
            if len(cells) < width:
                cells.extend([""] * (width - len(cells)))
            yield pending.pop(), cells


BLOCK_SIZE = 4 * 1024 * 1024
"""Bytes read per block when scanning a file for row boundaries."""


class UnbalancedQuoteError(ValueError):
    """The file ends inside a quoted value: a double quote is never closed.

    Attributes:
        offset: position in the file where the row holding that quote starts.
    """

    def __init__(self, path: Path, offset: int) -> None:
        super().__init__(f"{path}: the row at byte {offset} has an unbalanced double quote")
        self.offset = offset


class RowRun:
    """Consecutive complete, non-blank rows of one block.

    Attributes:
        data: the block's bytes.
        begin: offset in ``data`` where the first row starts.
        stop: offset in ``data`` just past the last row.
        rows: how many rows.
        offset: position of ``data[0]`` in the file.
    """

    __slots__ = ("_cursor", "_ends", "_inside", "begin", "data", "offset", "rows", "stop")

    def __init__(
        self,
        data: bytes,
        begin: int,
        stop: int,
        rows: int,
        offset: int,
        ends: list[int] | None = None,
        inside: Sequence[int] | None = None,
    ) -> None:
        self.data = data
        self.begin = begin
        self.stop = stop
        self.rows = rows
        self.offset = offset
        self._ends = ends
        self._inside = inside  # None: not known yet (found from the bytes when the ends are asked for)
        # (offset, rows before it, inside a quoted value there): counting resumes from it
        self._cursor = (begin, 0, False)

    @property
    def ends(self) -> list[int]:
        """Offset in ``data`` just past each row, ascending (computed on first use)."""
        if self._ends is None:
            if self._inside is None:
                self._inside = _quoted_feeds(self.data, self.begin, self.stop)
            self._ends = _row_ends(self.data, self.begin, self.stop, self._inside)
        return self._ends

    def row_index(self, pos: int) -> int | None:
        """The index in this run of the row that starts at offset ``pos`` of ``data`` (the number of
        rows before it); None when no row starts there.

        Without the row ends listed, the bytes before ``pos`` are read (from the previous call's
        offset when ``pos`` lies after it) as :func:`_scan_block` reads a block: the line feeds
        outside quoted values are the rows, and the parity of the double quotes says whether
        ``pos`` is inside a value. Work in proportion to the bytes passed over, at C speed, and
        no list of the block's rows.
        """
        if self._ends is not None:
            ends = self._ends
            i = bisect_right(ends, pos)
            return i if (ends[i - 1] if i else self.begin) == pos and i < len(ends) else None
        if pos == self.begin:
            return 0
        data = self.data
        if not self.begin < pos < self.stop or data[pos - 1] != 0x0A:
            return None
        at, rows, quoted = self._cursor
        if pos < at:
            at, rows, quoted = self.begin, 0, False
        marks = data[at:pos].translate(None, _ALL_BUT_QUOTES_AND_LF)
        if b'"' not in marks:
            rows += 0 if quoted else len(marks)
        else:
            pieces = marks.split(b'"')
            rows += b"".join(pieces[1 if quoted else 0 :: 2]).count(b"\n")
            quoted ^= len(pieces) % 2 == 0
        self._cursor = (pos, rows, quoted)
        return None if quoted else rows

    def row_spanning(self, pos: int, length: int) -> int | None:
        """The index in this run of the row that is exactly bytes ``pos``..``pos + length`` of
        ``data`` (its line ending included), from the listed row ends; None when no row is."""
        ends = self.ends
        i = bisect_right(ends, pos)
        if i < len(ends) and (ends[i - 1] if i else self.begin) == pos and ends[i] == pos + length:
            return i
        return None


def _line_ends(buf: bytes, begin: int, stop: int) -> list[int]:
    """Offsets just past each ``\n`` in ``buf[begin:stop]`` (which ends with one)."""
    lines = buf[begin:stop].split(b"\n")
    lines.pop()
    return list(map(add, accumulate(map(len, lines)), count(begin + 1)))


def _row_ends(buf: bytes, begin: int, stop: int, inside: Sequence[int]) -> list[int]:
    """:func:`_line_ends` without the line feeds numbered in ``inside`` (0-based, inside quoted values)."""
    ends = _line_ends(buf, begin, stop)
    if not inside:
        return ends
    keep = bytearray(b"\x01") * len(ends)
    for ordinal in inside:
        keep[ordinal] = 0
    return list(compress(ends, keep))


_ALL_BUT_QUOTES_AND_LF = bytes(c for c in range(256) if c not in (0x22, 0x0A))
_BLANK_LINE = re.compile(rb"\n\r?\n")


def _quoted_feeds(buf: bytes, begin: int, stop: int) -> list[int]:
    """Which line feeds of ``buf[begin:stop]`` (whole rows) lie inside quoted values: their 0-based
    ordinals among the range's line feeds. Only the quoted pieces holding line feeds are looked at."""
    pieces = buf[begin:stop].translate(None, _ALL_BUT_QUOTES_AND_LF).split(b'"')
    if len(pieces) < 2:
        return []
    feeds = list(map(bytes.count, pieces, repeat(b"\n")))
    through = list(accumulate(feeds))  # line feeds up to the end of each piece
    return [
        ordinal
        for i in compress(range(1, len(pieces), 2), feeds[1::2])
        for ordinal in range(through[i] - feeds[i], through[i])
    ]


def _scan_block(buf: bytes) -> tuple[int, int]:
    """Where the complete rows of ``buf`` (starting at a row boundary) stop, and how many there are.

    Everything but double quotes and line feeds is dropped first (``bytes.translate``, C speed:
    a few bytes per row remain). Quoted values are the odd pieces of that between quotes, so a
    block with no quoted line break is settled by one ``in`` test; otherwise the rows are the
    line feeds of the even pieces, counted in one go, never each row (a quoted ``""`` closes and
    reopens a value: its empty piece changes nothing). Which line feeds lie inside quoted values
    is worked out only if a run's row ends are asked for (:func:`_quoted_feeds`).
    """
    last = buf.rfind(b"\n")
    if last < 0:
        return 0, 0
    marks = buf.translate(None, _ALL_BUT_QUOTES_AND_LF)
    if b'"' not in marks:
        return last + 1, len(marks)
    pieces = marks.split(b'"')
    if b"\n" not in b"".join(pieces[1::2]):
        return last + 1, marks.count(b"\n")
    # the stop is the last line feed of the last piece outside quotes that has one
    j = len(pieces) - 1 - (len(pieces) - 1) % 2
    while j >= 0 and b"\n" not in pieces[j]:
        j -= 2
    if j < 0:
        return 0, 0
    stop = last
    for _ in range(b"".join(pieces[j + 1 :]).count(b"\n")):  # line feeds inside the open last row
        stop = buf.rfind(b"\n", 0, stop)
    return stop + 1, b"".join(pieces[0 : j + 1 : 2]).count(b"\n")


def _has_blank(buf: bytes, begin: int, stop: int) -> bool:
    return _BLANK_LINE.search(buf, begin, stop) is not None or buf.startswith((b"\n", b"\r\n"), begin)


def _runs(buf: bytes, begin: int, ends: list[int], offset: int) -> Iterator[RowRun]:
    """Split ``ends`` into runs around blank rows (rare: checked per row only when one may exist)."""
    if not ends:
        return
    if not _has_blank(buf, begin, ends[-1]):
        yield RowRun(buf, begin, ends[-1], len(ends), offset, ends)
        return
    start = run_start = begin
    run: list[int] = []
    for end in ends:
        if end - start <= 2 and not buf[start:end].strip(b"\r\n"):
            if run:
                yield RowRun(buf, run_start, run[-1], len(run), offset, run)
                run = []
        else:
            if not run:
                run_start = start
            run.append(end)
        start = end
    if run:
        yield RowRun(buf, run_start, run[-1], len(run), offset, run)


def iter_row_runs(
    layout: CsvLayout, *, max_row: int | None = None, start: int | None = None, end: int | None = None
) -> Iterator[RowRun]:
    """Scan the data rows of ``layout`` in large blocks, yielding runs of complete rows.

    Quote-aware (a line ending inside a quoted value does not end a row), blank lines
    are skipped, a final row without a line ending gets the layout's. ``max_row``
    bounds the bytes of one row (a longer row raises ``ValueError``), which also
    bounds memory on a file with an unbalanced quote; a file that ends inside a quoted
    value raises :class:`UnbalancedQuoteError`. ``start``/``end`` bound the bytes scanned
    (a range of whole rows; by default from the first data row to the end of the file).

    Example:
        >>> sum(len(run.ends) for run in iter_row_runs(sniff("accounts.csv")))  # doctest: +SKIP
        1000
    """
    eol = layout.line_ending.chars.encode()
    with layout.path.open("rb", buffering=0) as handle:
        position = layout.data_offset if start is None else start
        handle.seek(position)
        left = -1 if end is None else end - position
        carry = b""
        while left and (block := handle.read(BLOCK_SIZE if left < 0 else min(BLOCK_SIZE, left))):
            left = left - len(block) if left > 0 else left
            buf = carry + block if carry else block
            consumed, rows = _scan_block(buf)
            if not _has_blank(buf, 0, consumed):
                if rows:
                    yield RowRun(buf, 0, consumed, rows, position)
            elif consumed:
                ends = _row_ends(buf, 0, consumed, _quoted_feeds(buf, 0, consumed))
                yield from _runs(buf, 0, ends, position)
            carry = buf[consumed:]
            position += consumed
            if max_row is not None and len(carry) > max(max_row, BLOCK_SIZE):
                raise ValueError(
                    f"{layout.path}: a row starting at byte {position} is over {max_row} bytes"
                    " (or has an unbalanced quote): it cannot fit in a job"
                )
        if carry.strip(b"\r\n"):
            if carry.count(b'"') % 2:
                raise UnbalancedQuoteError(layout.path, position)
            last = carry if carry.endswith(b"\n") else carry + eol
            yield RowRun(last, 0, len(last), 1, position, [len(last)])


def parse_range(layout: CsvLayout, start: int, end: int) -> Iterator[list[str]]:
    """Parse the data rows between byte ``start`` and ``end`` of the file into cells.

    Blank lines are skipped and short rows padded to the header's width (as the
    rows were counted when they were uploaded).
    """
    width = len(layout.header)

    def lines(handle: BinaryIO) -> Iterator[str]:
        remaining = end - start
        for line in handle:
            if remaining <= 0:
                return
            if len(line) > remaining:
                line = line[:remaining]
            remaining -= len(line)
            yield line.decode("utf-8")

    with layout.path.open("rb") as handle:
        handle.seek(start)
        reader = read_rows(lines(handle), layout.delimiter.char)
        try:
            for cells in reader:
                if not cells:
                    continue
                if len(cells) < width:
                    cells.extend([""] * (width - len(cells)))
                yield cells
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ValueError(f"{layout.path}: cannot read back the row near byte {start}: {exc}") from exc
