"""Matching a job's result rows to its input rows by merging byte streams (no index).

Salesforce echoes each row's original columns after the ``sf__`` columns of its result
files, as uploaded (``salesforce-api.md`` E.7), and promises no order. The common case is
still input order, so mapping starts with a merge that never indexes the successful rows:

1. :func:`locate` finds each failed and unprocessed row (few, in the common case) in the
   input range of its job, in file order, searching forward with ``bytes.find`` over
   blocks of complete rows (the split's runs read back, :func:`replay_runs`, or scanned when
   they are not known); a row counts as found only at a row boundary and for its whole
   length. Those rows' numbers are then known.
2. :func:`successes_in_order` checks that the successful rows, with their ``"<id>","<created>",``
   prefix cut off, are byte for byte the input rows that remain (the input minus the located
   rows): then the k-th successful row is the k-th remaining input row, and its number
   follows by counting (:func:`remaining_rows`).

Either step may fail (rows in another order, values the server re-quoted or normalised,
other line endings, rows missing from every file): the caller then falls back on the
SQLite index of :mod:`.rowindex`, which matches rows by the digest of their cells.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain
from pathlib import Path
from typing import NamedTuple

from kinetic_core.bulk.csvfile import BLOCK_SIZE, CsvLayout, RowRun, iter_row_runs, sniff
from kinetic_core.bulk.models import ColumnDelimiter


def result_layout(path: Path | None, delimiter: ColumnDelimiter) -> CsvLayout | None:
    """The layout of a downloaded result file; None when it is missing, empty or has no header."""
    if path is None or not path.exists() or path.stat().st_size == 0:
        return None
    try:
        return sniff(path, delimiter=delimiter)
    except (ValueError, UnicodeDecodeError):
        return None


def count_rows(layout: CsvLayout | None) -> int:
    """Data rows of a file (quote-aware, blank lines skipped), counted a block at a time."""
    if layout is None:
        return 0
    return sum(run.rows for run in iter_row_runs(layout))


def data_rows(layout: CsvLayout) -> Iterator[bytes]:
    """Each complete data row of ``layout``, line ending included."""
    for run in iter_row_runs(layout):
        data, start = run.data, run.begin
        for end in run.ends:
            yield data[start:end]
            start = end


def failed_tails(layout: CsvLayout) -> list[bytes] | None:
    """The failed rows with their ``"<id>","<error>",`` prefix cut off; None when a row has no such prefix."""
    d = re.escape(layout.delimiter.char.encode())
    prefix = re.compile(rb'"(?:[^"]|"")*"' + d + rb'"(?:[^"]|"")*"' + d)
    tails: list[bytes] = []
    for row in data_rows(layout):
        found = prefix.match(row)
        if found is None:
            return None
        tails.append(row[found.end() :])
    return tails


Segment = tuple[int, int, int]
"""``(start, end, rows)``: a stretch of whole rows of the input without a blank line, as the split
found it (:attr:`.split.Chunk.segments`)."""


class InputChanged(ValueError):
    """The input no longer holds the rows the split found where it found them."""


def replay_runs(layout: CsvLayout, segments: Sequence[Segment]) -> Iterator[RowRun]:
    """The runs of rows the split scanned, read back at their offsets with nothing scanned again.

    Raises:
        InputChanged: a segment is no longer there (the file was cut short).
    """
    eol = layout.line_ending.chars.encode()
    with layout.path.open("rb", buffering=0) as handle:
        for low, high, rows in segments:
            handle.seek(low)
            data = handle.read(high - low)
            if len(data) < high - low and not data.endswith(b"\n"):
                data += eol  # the last row of a file without a final line ending (the scanner adds one)
            if len(data) != high - low:
                raise InputChanged(f"{layout.path}: bytes {low}..{high} are no longer there")
            yield RowRun(data, 0, len(data), rows, low)


def _find_row(
    run: RowRun, row: bytes, pos: int, base: int, claimed: set[int], stop: int | None = None
) -> tuple[int, int] | None:
    """The first whole row of ``run`` at or after ``pos`` (and ending by ``stop``, the run's end by
    default) equal to ``row``, not claimed: (number, end).

    ``row`` is a complete row (balanced quotes, its line ending included): found where a row starts,
    it ends where that row ends, so only its start is checked (:meth:`RowRun.row_index`).
    """
    data = run.data
    whole = row.endswith(b"\n")
    stop = run.stop if stop is None else stop
    hit = data.find(row, pos, stop)
    while hit >= 0:
        if whole:
            i = run.row_index(hit)
            if i is not None and base + i not in claimed:
                return base + i, hit + len(row)
        else:
            i = run.row_spanning(hit, len(row))
            if i is not None and base + i not in claimed:
                return base + i, hit + len(row)
        hit = data.find(row, hit + 1, stop)
    return None


class Located(NamedTuple):
    """Where :func:`locate` found the rows of each stream.

    Attributes:
        rows: the input row numbers of each stream's rows.
        ambiguous: a located row is also found, whole and not taken, between itself and the next
            row located in its stream (or the range's end): these numbers are one of several
            placements, and only the success file, compared in order, can say which is right.
    """

    rows: list[list[int]]
    ambiguous: bool


def locate(
    layout: CsvLayout,
    start: int,
    end: int,
    first_row: int,
    streams: Sequence[Sequence[bytes]],
    spans: dict[int, tuple[int, int]] | None = None,
    segments: Sequence[Segment] = (),
) -> Located | None:
    """Input row numbers of the rows of each stream (each in input order), or None if one is not found.

    ``streams`` are the rows of a job's failed and unprocessed files (line endings included,
    ``sf__`` prefix cut off); the input rows are those of bytes ``start``..``end`` of
    ``layout``, numbered from ``first_row``. A row is searched from just after the previous
    row of its stream; a row already taken by another stream is passed over. Each row is taken
    at its first possible place; the same search also looks for it again up to the next row of
    its stream (to the range's end for the last one): found there, the result is
    :attr:`Located.ambiguous`. ``spans``, when given, receives each located row's byte range in
    the file by row number. With the split's ``segments`` of the range, the input is read back
    without being scanned: a row found is checked to start a row, and numbered, by reading only
    the bytes since the previous one found.
    """
    found: list[list[int]] = [[] for _ in streams]
    if not any(streams):
        return Located(found, False)
    state = _Search(streams)
    base = first_row
    runs = replay_runs(layout, segments) if segments else iter_row_runs(layout, start=start, end=end)
    try:
        for run in runs:
            base = _locate_in(run, state, found, base, spans)
            if state.done() and state.ambiguous:  # else the last rows are watched to the end
                return Located(found, state.ambiguous)
    except InputChanged:
        return None
    return Located(found, state.ambiguous) if state.done() else None


class _Search:
    """What :func:`locate` carries from one run to the next."""

    def __init__(self, streams: Sequence[Sequence[bytes]]) -> None:
        self.streams = streams
        self.heads = [0] * len(streams)  # the next row to find, by stream
        self.pending: list[bytes | None] = [None] * len(streams)  # the last row found, still watched
        self.claimed: set[int] = set()
        self.ambiguous = False

    def done(self) -> bool:
        return all(h == len(rows) for h, rows in zip(self.heads, self.streams, strict=True))

    def watch(self, run: RowRun, s: int, pos: int, stop: int, base: int) -> None:
        """Put the placement in doubt when the last row found of stream ``s`` is there again, whole
        and not taken, in ``pos``..``stop``."""
        row = self.pending[s]
        if row is not None and not self.ambiguous and stop - pos >= len(row):
            self.ambiguous = _find_row(run, row, pos, base, self.claimed, stop) is not None


def _locate_in(
    run: RowRun,
    state: _Search,
    found: list[list[int]],
    base: int,
    spans: dict[int, tuple[int, int]] | None,
) -> int:
    """:func:`locate` in one run; returns the number of the run's first row plus its rows."""
    heads, claimed = state.heads, state.claimed
    for s, rows in enumerate(state.streams):
        pos = run.begin
        while heads[s] < len(rows):
            row = rows[heads[s]]
            hit = _find_row(run, row, pos, base, claimed)
            if hit is None:
                break
            number, after = hit
            state.watch(run, s, pos, after - len(row), base)
            claimed.add(number)
            found[s].append(number)
            if spans is not None:
                spans[number] = (run.offset + after - len(row), run.offset + after)
            heads[s] += 1
            state.pending[s] = row
            pos = after
        state.watch(run, s, pos, run.stop, base)
    return base + run.rows


def _cut(layout: CsvLayout, start: int, end: int, cuts: Sequence[tuple[int, int]]) -> Iterator[bytes]:
    """Bytes ``start``..``end`` of the file without the byte ranges ``cuts`` (ascending), read in
    blocks with no scanning at all; a range that does not end with a line feed gets the layout's
    line ending (as :func:`iter_row_runs` gives its last row). Blank lines are kept: with them the
    comparison fails and the caller compares rows scanned by :func:`_kept`."""
    k = 0
    last = b""
    with layout.path.open("rb", buffering=0) as handle:
        position = start
        handle.seek(position)
        while position < end:
            block = handle.read(min(BLOCK_SIZE, end - position))
            if not block:
                break
            top = position + len(block)
            at = 0
            while k < len(cuts) and cuts[k][0] < top:
                low, high = cuts[k]
                if low - position > at:
                    yield block[at : low - position]
                if high > top:  # the cut row runs on into the next block
                    handle.seek(high)
                    block, top = b"", high
                    at = 0
                    k += 1
                    break
                at = high - position
                k += 1
            if block[at:]:
                yield block[at:]
                last = block[-1:]
            elif k and cuts[k - 1][1] == top:
                last = b"\n"
            position = top
    if last and last != b"\n":
        yield layout.line_ending.chars.encode()


def _kept(layout: CsvLayout, start: int, end: int, first_row: int, taken: Sequence[int]) -> Iterator[bytes]:
    """The input rows of the range except the rows numbered in ``taken`` (ascending), as byte chunks."""
    base, k = first_row, 0
    for run in iter_row_runs(layout, start=start, end=end):
        top = base + run.rows
        pos = run.begin
        if k < len(taken) and taken[k] < top:
            ends = run.ends
            while k < len(taken) and taken[k] < top:
                i = taken[k] - base
                yield run.data[pos : ends[i - 1] if i else run.begin]
                pos = ends[i]
                k += 1
        yield run.data[pos : run.stop]
        base = top


def success_blocks(layout: CsvLayout) -> Iterator[bytes]:
    """The data of a success file in blocks of whole rows, each cut just before a line break
    followed by a double quote (``sf__Id`` is always quoted, so every row starts with one)."""
    eol = layout.line_ending.chars.encode()
    with layout.path.open("rb", buffering=0) as handle:
        handle.seek(layout.data_offset)
        carry = b""
        while block := handle.read(BLOCK_SIZE):
            buf = carry + block if carry else block
            cut = buf.rfind(b'\n"')
            if cut < 0:
                carry = buf
                continue
            yield buf[: cut + 1]
            carry = buf[cut + 1 :]
        if carry.strip(b"\r\n"):
            yield carry if carry.endswith(b"\n") else carry + eol


def count_successes(layout: CsvLayout | None) -> int:
    """Rows of a success file, counted as the line breaks followed by a double quote (exact unless a
    line of a multi-line value starts with one: then :func:`successes_in_order` finds the rows out of
    line and the index, which parses every row, counts them again)."""
    if layout is None:
        return 0
    return sum(block.count(b'\n"') + block.startswith(b'"') for block in success_blocks(layout))


def success_rows(block: bytes) -> list[bytes] | None:
    """The rows of a block of :func:`success_blocks`, each without its first double quote and its
    last line feed; None when the block does not start a row with a quote."""
    if not block.startswith(b'"'):
        return None
    rows = block.split(b'\n"')
    rows[0] = rows[0][1:]
    return rows


def strip_prefixes(rows: list[bytes], block: bytes, delimiter: bytes) -> bytes | None:
    """The rows of :func:`success_rows` with their ``<id>","<created>",`` prefix cut off, joined
    with line feeds (as the input holds them, when in order); None when a row has no such prefix.

    Rows are cut at each line break followed by a double quote; a line of a multi-line value
    that starts with a quote is cut too, which spoils the bytes: the comparison then fails and
    the caller falls back on the index.
    """
    if not rows:
        return b""
    close, between = b'"' + delimiter, b'"' + delimiter + b'"'
    created = [b'"' + delimiter + b'"' + flag + b'"' + delimiter for flag in (b"true", b"false")]
    # the common case: ids of one length and one sf__Created value in the whole block, so every
    # prefix has one length; a row cut wrongly makes the comparison fail, never match wrongly
    text = created[created[0] not in rows[0]]
    try:
        if block.count(text) == len(rows):
            cut = rows[0].index(text) + len(text)
            return b"\n".join([r[cut:] for r in rows])
        return b"\n".join([r[r.index(close, r.index(between) + 3) + 2 :] for r in rows])
    except ValueError:
        return None


def success_cuts(layout: CsvLayout) -> Iterator[tuple[list[str], bool | list[bool], list[bytes]]]:
    """The rows of a success file whose order :func:`successes_in_order` confirmed, a block at a time,
    cut as that check cut them: their ``sf__Id`` values, their ``sf__Created`` values (one bool when
    every row of the block has the same) and the bytes of their echoed cells. No cell is parsed.

    Raises:
        ValueError: a row is not ``"<id>","<created>",...`` (the file changed since the check).
    """
    d = layout.delimiter.char.encode()
    close, between = b'"' + d, b'"' + d + b'"'
    texts = [b'"' + d + b'"' + flag + b'"' + d for flag in (b"true", b"false")]
    for block in success_blocks(layout):
        rows = success_rows(block)
        if rows is None:
            raise ValueError("a row of the success file does not start with a quoted sf__Id")
        first = texts[0] not in rows[0]
        text = texts[first]
        if block.count(text) == len(rows):  # one id length, one sf__Created: one cut for all
            cut = rows[0].index(text)
            after = cut + len(text)
            joined = b"\n".join([r[:cut] for r in rows])
            ids = joined.decode("utf-8", "replace").split("\n")
            # a quote in an id: rows whose ids and flags differ in length; a line feed: ids that
            # split apart; either way the rows are taken one by one below
            if len(ids) == len(rows) and b'"' not in joined:
                yield ids, not first, [r[after:] for r in rows]
                continue
        ids, flags, tails = [], [], []
        for r in rows:
            at = r.index(between)
            end = r.index(close, at + 3)
            flag = r[at + 3 : end].decode("utf-8", "replace")
            ids.append(r[:at].decode("utf-8", "replace"))
            flags.append(flag == "true" or (flag != "false" and flag.strip().lower() == "true"))
            tails.append(r[end + 2 :])
        yield ids, flags, tails


def _stripped_successes(layout: CsvLayout) -> Iterator[bytes]:
    """The successful rows with their prefix cut off (:func:`strip_prefixes`), as byte chunks."""
    sep = layout.delimiter.char.encode()
    for block in success_blocks(layout):
        rows = success_rows(block)
        tails = None if rows is None else strip_prefixes(rows, block, sep)
        if tails is None:
            yield b"\x00not a success row"
            return
        yield tails


class ByteStream:
    """A stream of byte chunks read in pieces of any length (for comparing it as it comes)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._data = b""
        self._at = 0

    def _fill(self) -> bool:
        while self._at == len(self._data):
            chunk = next(self._chunks, None)
            if chunk is None:
                return False
            self._data, self._at = chunk, 0
        return True

    def matches(self, data: bytes) -> bool:
        """Whether the next ``len(data)`` bytes of the stream are ``data`` (read either way)."""
        pos = 0
        while pos < len(data):
            if not self._fill():
                return False
            n = min(len(data) - pos, len(self._data) - self._at)
            if data[pos : pos + n] != self._data[self._at : self._at + n]:
                return False
            pos += n
            self._at += n
        return True

    def at_end(self) -> bool:
        """Whether the stream holds no more bytes."""
        return not self._fill()


def cut_input(
    layout: CsvLayout, start: int, end: int, spans: Mapping[int, tuple[int, int]], taken: Sequence[int]
) -> Iterable[bytes] | None:
    """The input rows of the range but the ``taken`` ones, as read (see :func:`_cut`); None when a
    taken row's byte range is not known."""
    if not all(n in spans for n in taken):
        return None
    return _cut(layout, start, end, sorted(spans[n] for n in taken))


def same_bytes(left: Iterable[bytes], right: Iterable[bytes]) -> bool:
    """Whether two streams of byte chunks hold the same bytes (chunked differently).

    Each side is compared from an offset into its current chunk, so every byte is copied at
    most once per side (a whole chunk not at all); the comparison itself is a ``memcmp``.
    """
    a, b = iter(left), iter(right)
    x = y = b""
    i = j = 0
    while True:
        if i == len(x):
            x, i = next((c for c in a if c), b""), 0
        if j == len(y):
            y, j = next((c for c in b if c), b""), 0
        if not x or not y:
            return not x and not y
        n = min(len(x) - i, len(y) - j)
        if x[i : i + n] != y[j : j + n]:
            return False
        i += n
        j += n


def successes_in_order(
    layout: CsvLayout,
    start: int,
    end: int,
    first_row: int,
    taken: Sequence[int],
    successes: CsvLayout | None,
    spans: Mapping[int, tuple[int, int]] | None = None,
) -> bool:
    """Whether the successful rows are exactly the input rows not in ``taken``, in input order.

    With the byte ``spans`` of the taken rows (from :func:`locate`) the input is compared as read,
    those ranges cut out; only if that fails (blank lines in the input, say) are its rows scanned.
    """

    def chunks() -> Iterable[bytes]:
        return _stripped_successes(successes) if successes is not None else ()

    if spans is not None and all(n in spans for n in taken):
        cuts = sorted(spans[n] for n in taken)
        if same_bytes(_cut(layout, start, end, cuts), chunks()):
            return True
    return same_bytes(_kept(layout, start, end, first_row, taken), chunks())


def remaining_rows(first_row: int, rows: int, taken: Sequence[int]) -> Iterator[int]:
    """Row numbers ``first_row`` .. ``first_row + rows - 1`` except those in ``taken`` (ascending)."""
    spans: list[range] = []
    low = first_row
    for number in taken:
        spans.append(range(low, number))
        low = number + 1
    spans.append(range(low, first_row + rows))
    return chain.from_iterable(spans)
