"""Measuring a load's input for the router, read once for every API: CSV files, frames, records.

What an input is comes from the one adapter, :mod:`kinetic_core.inputs`; this module counts it.

:func:`measure` counts the input for the router's decision and gives back a source that can be read
again; :func:`as_records` turns it into the records the REST and Composite paths send. Both follow
:mod:`kinetic_core.inputs.normalise`, so a Bulk job and a REST call read the same input the same way: a CSV
file whose rows all read is streamed to Bulk as it is; a file with unreadable rows (a wrong number of
cells, an unbalanced quote) or with the columns of our result files is read into records, its
unreadable rows kept back (:class:`KeptBack`) and reported as failed rows, whatever the API.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kinetic_core.bulk.codec import encode_record
from kinetic_core.bulk.csvfile import iter_row_runs, sniff
from kinetic_core.inputs.adapter import (
    InputKind,
    frame_columns,
    frame_length,
    frame_records,
    input_kind,
    nest,
)
from kinetic_core.inputs.normalise import CsvRow, Header, clean_header, csv_rows, load_record

logger = logging.getLogger(__name__)


def read_csv(path: Path, *, log: bool = False, records: bool = True) -> tuple[Header, Iterator[CsvRow]]:
    """The header and data rows of a CSV file, read as a Bulk job reads it (UTF-8, a BOM, any Bulk
    delimiter), with the rules of :mod:`kinetic_core.inputs.normalise` (shared by every API).

    Raises:
        ValueError: a line that is not valid UTF-8 (named by its line number).
    """
    layout = sniff(path)
    header = clean_header(list(layout.header), str(path) if log else None)

    def lines() -> Iterator[str]:
        with path.open("rb") as handle:
            handle.seek(layout.data_offset)
            for lineno, raw in enumerate(handle, 2):
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ValueError(f"{path}: line {lineno} is not valid UTF-8 ({exc.reason})") from None

    return header, csv_rows(lines(), layout.delimiter.char, header, records=records)


@dataclass(frozen=True)
class KeptBack:
    """Input rows kept back before the API.

    Attributes:
        numbers: the input row number of each record sent, in order.
        rejected: ``(row number, reason)`` of each row kept back.
    """

    numbers: list[int]
    rejected: list[tuple[int, str]]


def scan_file(path: Path) -> tuple[int, list[dict[str, Any]] | None, KeptBack | None]:
    """Read a CSV file through once: (rows, records, rows kept back).

    A file whose rows all read and whose header needs no column left out is sent as it is
    (``records`` None: a Bulk load streams the file). Otherwise the readable rows become records and
    the others are kept back, whatever the API.
    """
    header, rows = read_csv(path, log=True, records=False)
    if not header.changed:
        quick = count_readable(path, header.width)
        if quick is not None:
            return quick, None, None
    count = 0
    bad: list[tuple[int, str]] = []
    for row in rows:
        count += 1
        if row.error is not None:
            bad.append((row.number, f"row {row.number}: {row.error}"))
    if not bad and not header.changed:
        return count, None, None
    if bad:
        logger.warning("%s: %d row(s) cannot be read; they are reported as failed", path, len(bad))
    records: list[dict[str, Any]] = []
    numbers: list[int] = []
    for row in read_csv(path)[1]:
        if isinstance(row.record, dict):
            records.append(row.record)
            numbers.append(row.number)
    return count, records, KeptBack(numbers, bad)


def count_readable(path: Path, width: int) -> int | None:
    """The data rows of a CSV file when every one of them reads (valid UTF-8, ``width`` cells,
    balanced quotes), counted at C speed; None when one may not (the row-by-row pass of
    :func:`read_csv` then finds which, and why).

    Two counts must agree: the quote-aware block scanner's (the rows a Bulk job is split into) and
    the ``csv`` module's C reader's, which also checks every row's width and decodes the file. A
    stray quote inside an unquoted value makes them differ.
    """
    layout = sniff(path)
    try:
        rows = sum(run.rows for run in iter_row_runs(layout))
    except ValueError:  # an unbalanced quote
        return None
    with path.open("rb") as raw:
        raw.seek(layout.data_offset)
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", newline="")
        try:  # the widths of the rows, counted by C code alone (blank rows have none)
            widths = Counter(map(len, csv.reader(text, delimiter=layout.delimiter.char, strict=True)))
        except (csv.Error, UnicodeDecodeError):
            return None
        finally:
            text.detach()
    if not widths.keys() <= {width, 0}:
        return None
    return rows if widths[width] == rows else None


class OneShot:
    """A one-shot iterator: the materialised head plus the rest, consumable once."""

    def __init__(self, head: list[Any], rest: Iterator[Any]) -> None:
        self._items = itertools.chain(head, rest)
        self.consumed = False

    def __iter__(self) -> OneShot:
        return self

    def __next__(self) -> Any:
        self.consumed = True
        return next(self._items)


def measure(records: Any, limit: int) -> tuple[int, int, Any, KeptBack | None]:
    """(record count, encoded bytes estimate, re-usable source, rows kept back); a one-shot iterator
    is counted up to ``limit`` records (the rest is streamed)."""
    kind = input_kind(records)
    if kind is InputKind.FILE_OBJECT:
        raise TypeError("spool a file object first (kinetic_core.inputs.spool_file_object)")
    if kind is InputKind.CSV_PATH:
        path = Path(records)
        count, parsed, kept = scan_file(path)
        if parsed is None:
            return count, path.stat().st_size, path, None
        return len(parsed), path.stat().st_size, parsed, kept
    if kind is InputKind.FRAME:
        return frame_length(records), 0, frame_columns(records), None
    return (*_measure_records(records, limit), None)


def _measure_records(records: Any, limit: int) -> tuple[int, int, Any]:
    """(record count, encoded bytes estimate, re-usable source) of dicts or ids."""
    if isinstance(records, Sequence):
        head = list(records[:limit])
        return len(records), _encoded_size(head), records
    if iter(records) is not records:  # re-iterable (a set, a dict view...): count on a first pass
        return _measure_iterable(records, limit)
    head = list(itertools.islice(records, limit))
    if len(head) < limit:
        return len(head), _encoded_size(head), head
    return limit, _encoded_size(head), OneShot(head, records)


def _measure_iterable(records: Iterable[Any], limit: int) -> tuple[int, int, Any]:
    count = sum(1 for _ in itertools.islice(records, limit))
    head = list(itertools.islice(records, min(count, 200)))
    return count, _encoded_size(head), records


def _encoded_size(head: Sequence[Any]) -> int:
    total = 0
    for item in head:
        if isinstance(item, Mapping):
            total += sum(len(v) + 1 for v in encode_record(item).values()) + 1
    return total


def as_records(source: Any) -> list[Any]:
    """The records the REST and Composite paths send (:func:`kinetic_core.inputs.normalise.load_record`,
    relationship columns nested), as a Bulk job would read the same input."""
    if isinstance(source, Path):
        rows = read_csv(source)[1]
        return [nest(load_record(row.record)) for row in rows if isinstance(row.record, dict)]
    if input_kind(source) is InputKind.FRAME:
        return list(frame_records(source))
    return [nest(load_record(row)) if isinstance(row, Mapping) else row for row in source]
