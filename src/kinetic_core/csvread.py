"""CSV reading without the standard module's per-field size limit.

Python's ``csv`` module refuses any field longer than ``csv.field_size_limit()`` (131,072
characters by default). Salesforce long text areas hold exactly that much, and a longer value
must end as a clear row error, not as a parser exception that loses the rest of the file. The
limit is process-wide state that belongs to the caller's program, so it is left alone: rows go
through the fast C reader, and only a record holding an oversized field is re-read by a small
pure-Python parser, after which the C reader carries on with the next record.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from itertools import islice, tee

_TOO_LARGE = "field larger than field limit"


_SYNC_LINES = 16
"""How far the copy of the input kept for re-reading may lag behind the C reader, in lines (kept
small: a line may hold fields of up to the module's limit, 131,072 characters, each)."""


def read_rows(lines: Iterable[str], delimiter: str = ",") -> Iterator[list[str]]:
    """Parse CSV records from ``lines`` (each ending with its line break, as files yield them).

    Same results as ``csv.reader(lines, delimiter=delimiter)`` (RFC 4180 quoting, ``""``
    escapes, quoted line breaks), with no limit on the size of a field.

    The C reader reads one side of an :func:`itertools.tee`; the other side trails it, dropped
    every few lines up to the end of the last complete record (``line_num``), so it holds
    at most the lines of one record plus that margin. When a record is refused as too large,
    its lines are taken from the trailing side and parsed by the pure-Python reader.

    Example:
        >>> big = "x" * 200_000
        >>> [len(r[1]) for r in read_rows(["a,b\\n", "c," + big + "\\n"])]
        [1, 200000]
    """
    source = iter(lines)
    while True:
        ahead, behind = tee(source)
        reader = csv.reader(ahead, delimiter=delimiter)
        dropped = done = 0  # lines dropped from ``behind``; lines of the records read so far
        try:
            for row in reader:
                yield row
                done = reader.line_num
                if done - dropped >= _SYNC_LINES:
                    _drop(behind, done - dropped)
                    dropped = done
            return
        except csv.Error as exc:
            if _TOO_LARGE not in str(exc):
                raise
            _drop(behind, done - dropped)
            head = list(islice(behind, reader.line_num - done))
        del ahead, behind
        yield _slow_record(head, source, delimiter)


def _drop(lines: Iterator[str], count: int) -> None:
    """Advance ``lines`` by ``count`` items (C-level)."""
    next(islice(lines, count, count), None)


def _slow_record(head: list[str], more: Iterator[str], delimiter: str) -> list[str]:
    """Finish reading one record from the lines already taken (``head``) and, if a quoted
    value is still open at their end, from the following lines."""
    cells: list[str] = []
    field: list[str] = []
    quoted = False
    at_start = True
    pending = list(head)
    while pending:
        text = pending.pop(0)
        i, n = 0, len(text)
        while i < n:
            ch = text[i]
            if quoted:
                if ch == '"':
                    if i + 1 < n and text[i + 1] == '"':
                        field.append('"')
                        i += 2
                        continue
                    quoted = False
                else:
                    field.append(ch)
            elif ch == '"' and at_start:
                quoted = True
                at_start = False
            elif ch == delimiter:
                cells.append("".join(field))
                field, at_start = [], True
            elif ch in "\r\n":
                cells.append("".join(field))
                return cells
            else:
                field.append(ch)
                at_start = False
            i += 1
        if quoted and not pending:
            nxt = next(more, None)
            if nxt is not None:
                pending.append(nxt)
    cells.append("".join(field))
    return cells
