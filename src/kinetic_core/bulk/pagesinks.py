"""Sinks of query result pages: counting records in a byte stream, appending pages to an export file.

Example:
    >>> counter = RowCounter()
    >>> counter.feed(b'a,b\\n"x\\ny",2\\n')
    >>> counter.records()
    2
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import repeat
from typing import BinaryIO


class RowCounter:
    """Counts CSV records in a byte stream without parsing cells.

    A line ending ends a record unless it is inside quotes. A block without any quote is
    counted with one ``bytes.count``; otherwise the block is split on quotes and only the
    unquoted stretches are counted (the quote parity carries over between blocks).

    Example:
        >>> counter = RowCounter()
        >>> counter.feed(b'a,b\n"x\ny",2\n3,')
        >>> counter.feed(b"4")
        >>> counter.records()
        3
    """

    def __init__(self) -> None:
        self.ends = 0
        self.quoted = False
        self.last = b"\n"

    def feed(self, block: bytes) -> None:
        """Count the record ends in the next ``block`` of the stream."""
        if not block:
            return
        if b'"' not in block:
            if not self.quoted:
                self.ends += block.count(b"\n")
        else:
            parts = block.split(b'"')
            outside = parts[1::2] if self.quoted else parts[0::2]
            self.ends += sum(map(bytes.count, outside, repeat(b"\n")))
            self.quoted ^= (len(parts) - 1) % 2 == 1
        self.last = block[-1:]

    def records(self) -> int:
        """Records seen so far (a last record without a line ending included)."""
        return self.ends + (0 if self.last == b"\n" else 1)


class AppendSink:
    """Appends a result page to an export file as bytes arrive.

    The first page keeps its header (a UTF-8 BOM dropped); later pages lose their first line,
    the repeated header, found by the first line ending (column names never hold one). A
    cut-off attempt is truncated away (``reset``) before the page is requested again.
    """

    def __init__(
        self,
        out: BinaryIO,
        *,
        first: bool,
        count_rows: bool,
        page_count: Callable[[Mapping[str, str]], int | None],
    ) -> None:
        self.out = out
        self.page_count = page_count
        self.first = first
        self.count_rows = count_rows
        self.mark = out.tell()
        self.counter: RowCounter | None = None
        self.lead = b""
        self.skipping = True

    def start(self, headers: Mapping[str, str]) -> None:
        if self.count_rows and self.page_count(headers) is None:
            self.counter = RowCounter()  # no Sforce-NumberOfRecords: count while copying
        self.lead = b""
        self.skipping = True

    def write(self, block: bytes) -> None:
        if self.skipping:
            self.lead += block
            if self.first:
                if len(self.lead) < 3 and self.lead == b"\xef\xbb\xbf"[: len(self.lead)]:
                    return
                block = self.lead[3:] if self.lead.startswith(b"\xef\xbb\xbf") else self.lead
            else:
                cut = self.lead.find(b"\n")
                if cut < 0:
                    return
                block = self.lead[cut + 1 :]
            self.skipping = False
            self.lead = b""
        if self.counter is not None:
            self.counter.feed(block)
        self.out.write(block)

    def finish(self) -> None:
        if self.skipping and self.first and self.lead:  # a page shorter than a BOM
            self.out.write(self.lead)

    def reset(self) -> None:
        self.out.seek(self.mark)
        self.out.truncate()
        self.counter = None
