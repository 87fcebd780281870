"""Turning the caller's input into one CSV file ready to split into jobs.

Accepted inputs:

* a CSV file (``str`` or ``Path``): sent as is, never re-encoded (see :mod:`.csvfile`);
  its header is the column list;
* an open file object holding CSV (text or bytes): copied once to the job's work directory, then
  read as a CSV file;
* a pandas or polars DataFrame, or a pyarrow Table (:func:`kinetic_core.inputs.frame_kind`, the
  one detector): its columns; a null cell (None, NaN, NaT, NA) means
  *null* and is sent as ``#N/A``, like a ``None`` value in a dict (an empty string
  stays an empty cell, i.e. *leave the field unchanged*);
* an iterable of dicts (or of id strings, read as ``{"Id": ...}``, handy for deletes).
  The columns are the union of every record's (flattened) keys in first-seen order:

  - with ``columns=`` declared, one pass; a record with a key outside them is an error
    (nothing is dropped silently);
  - a re-iterable input (list, tuple, any object whose ``iter()`` returns a fresh iterator)
    is read twice: once for the keys, once to encode;
  - a one-shot iterator (generator) is encoded in one pass, new keys adding columns at
    the end; if a key first appears after some rows were written, the spool is
    rewritten once at the end with the earlier rows padded.

A DataFrame is encoded by polars' CSV writer when polars is installed (:mod:`.framecsv`: pandas
frames and Arrow tables are read by polars without copying Arrow-backed columns), else by pyarrow
(:mod:`.arrowcsv`); a frame holding a type neither handles (lists, mixed objects) goes value by
value through :func:`~kinetic_core.bulk.codec.encode_value` and ``csv.writer``, the reference whose
bytes the polars path reproduces exactly. An infinity is refused naming its row and column.

Records are encoded a batch of a few thousand at a time. A batch of plain dicts (known keys, no
nested mappings) is encoded a column at a time by :func:`~kinetic_core.bulk.recordcsv.batch_text`,
with no Python code per record; a batch with unknown keys, nested relationships or non-dict items
goes record by record through :func:`~kinetic_core.bulk.codec.encode_record` and ``csv.writer``.
A value that cannot be encoded is an error naming the record (1-based) and the field. Bytes are
counted later, exactly, on the
spool file (see :mod:`.split`). The result is a :class:`PreparedInput`
whose ``layout`` describes a CSV file (the caller's or the spool).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from kinetic_core.bulk.arrowcsv import write_frame_arrow
from kinetic_core.bulk.codec import NULL_CELL, RowEncoder, encode_record, encode_value, flatten_record
from kinetic_core.bulk.csvfile import CsvLayout, sniff
from kinetic_core.bulk.framecsv import write_frame
from kinetic_core.bulk.models import ColumnDelimiter, LineEnding
from kinetic_core.bulk.recordcsv import RecordValueError, batch_text
from kinetic_core.csvread import read_rows
from kinetic_core.inputs.adapter import (
    InputKind,
    frame_column_names,
    frame_kind,
    frame_rows,
    input_kind,
    spool_file_object,
)
from kinetic_core.inputs.normalise import is_missing

FLUSH_ROWS = 4096
"""Rows encoded in memory between two writes to the spool file."""


@dataclass
class PreparedInput:
    """The columns and the CSV file of one load.

    Attributes:
        columns: the column names, in order.
        layout: the CSV file to split (header bytes, dialect, where the data rows start).
        is_file: True when ``layout`` is the caller's own file.
        records: records written to the spool (None for the caller's file).
    """

    columns: tuple[str, ...]
    layout: CsvLayout
    is_file: bool = False
    records: int | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def header(self) -> bytes:
        """The header line, line ending included."""
        return self.layout.header_bytes

    @property
    def delimiter(self) -> ColumnDelimiter:
        """The column delimiter of the CSV."""
        return self.layout.delimiter

    @property
    def line_ending(self) -> LineEnding:
        """The line ending of the CSV."""
        return self.layout.line_ending

    def close(self) -> None:
        """Release anything held open for the input."""
        for closer in self._closers:
            closer()


_is_missing = is_missing
"""None, NaN, NaT, NA: null (the one rule of :mod:`kinetic_core.inputs.normalise`)."""


def _as_record(item: Any, number: int) -> Mapping[str, Any]:
    if isinstance(item, Mapping):
        return item
    if isinstance(item, str):
        return {"Id": item}
    raise TypeError(f"record {number} is a {type(item).__name__}, expected a dict (or an id string)")


class _Appender:
    """A ``write`` target for ``csv.writer`` that appends to a list."""

    __slots__ = ("write",)

    def __init__(self, parts: list[str]) -> None:
        self.write = parts.append


class _SpoolWriter:
    """Encodes batches of rows with ``csv.writer`` into a buffer written to the spool file per batch."""

    def __init__(self, path: Path, encoder: RowEncoder) -> None:
        self.path = path
        self.encoder = encoder
        # csv.writer writes each row through ``write``: a list's append keeps that at C level and
        # one join per batch is cheaper than a StringIO's getvalue and truncate
        self.parts: list[str] = []
        self.writer = csv.writer(
            _Appender(self.parts), delimiter=encoder.delimiter.char, lineterminator=encoder.line_ending.chars
        )
        self.handle = path.open("w", encoding="utf-8", newline="")
        # csv.writer quotes CR only when it is part of the line terminator: check LF blocks for it
        self.check_cr = "\r" not in encoder.line_ending.chars

    def write_text(self, text: str) -> None:
        """Write lines already encoded (by :func:`~kinetic_core.bulk.recordcsv.batch_text`)."""
        self.handle.write(text)

    def write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        self.writer.writerows(rows)
        text = "".join(self.parts)
        self.parts.clear()
        if self.check_cr and "\r" in text:
            text = "".join(self.encoder.line([str(v) for v in row]) for row in rows)
        self.handle.write(text)

    def close(self) -> None:
        self.handle.close()


def _write_records(
    records: Iterable[Any], writer: _SpoolWriter, cols: list[str], declared: bool
) -> tuple[int, bool]:
    """Encode every record; returns (records written, whether early rows are narrower than ``cols``)."""
    known = set(cols)
    narrow = False
    number = 0
    source = iter(records)
    while batch := list(islice(source, FLUSH_ROWS)):
        text = batch_text(batch, cols, known, writer.encoder, number + 1)
        if text is not None:
            number += len(batch)
            writer.write_text(text)
            continue
        rows = []
        for item in batch:
            number += 1
            encoded = _encoded_record(_as_record(item, number), number)
            if not encoded.keys() <= known:
                extra = [k for k in encoded if k not in known]
                if declared:
                    raise ValueError(f"record {number} has key(s) {extra} outside the declared columns")
                cols.extend(extra)
                known.update(extra)
                narrow = narrow or number > 1
            rows.append([encoded.get(c, "") for c in cols])
        writer.write_rows(rows)
    return number, narrow


def _encoded_record(record: Mapping[str, Any], number: int) -> dict[str, str]:
    """:func:`~kinetic_core.bulk.codec.encode_record`, an error naming the record and the field."""
    try:
        return encode_record(record)
    except (ValueError, TypeError):
        for key, value in flatten_record(record).items():
            try:
                encode_value(value)
            except (ValueError, TypeError) as exc:
                raise RecordValueError(number, key, str(exc)) from None
        raise


def _widen(path: Path, width: int, encoder: RowEncoder) -> None:
    """Pad rows written before a late column appeared (rare: a per-row pass)."""
    wide = path.with_name(path.name + ".wide")
    out = _SpoolWriter(wide, encoder)
    with path.open("r", encoding="utf-8", newline="") as handle:
        reader = read_rows(handle, encoder.delimiter.char)
        while batch := list(islice(reader, FLUSH_ROWS)):
            out.write_rows([row + [""] * (width - len(row)) for row in batch])
    out.close()
    wide.replace(path)


def prepare_input(
    records: Any,
    workdir: Path,
    *,
    columns: Iterable[str] | None = None,
    delimiter: ColumnDelimiter | str | None = None,
    line_ending: LineEnding | str | None = None,
) -> PreparedInput:
    """Normalise ``records`` (see the module docstring) into a :class:`PreparedInput`.

    Example:
        >>> prep = prepare_input([{"Name": "A"}, {"Phone": None}], Path("/tmp"))  # doctest: +SKIP
        >>> prep.columns                                                        # doctest: +SKIP
        ('Name', 'Phone')
    """
    kind = input_kind(records)
    if kind in (InputKind.CSV_PATH, InputKind.FILE_OBJECT):
        if columns is not None:
            raise ValueError("columns= cannot be combined with a CSV file: the file's header is used")
        if kind is InputKind.FILE_OBJECT:
            records = spool_file_object(records, workdir / "input.csv")
        layout = sniff(records, delimiter, line_ending)
        return PreparedInput(layout.header, layout, is_file=kind is InputKind.CSV_PATH)
    delim = ColumnDelimiter.parse(delimiter) if delimiter is not None else ColumnDelimiter.COMMA
    ending = LineEnding.parse(line_ending) if line_ending is not None else LineEnding.LF
    encoder = RowEncoder(delim, ending)
    spool = workdir / "records.csv"
    flavour = frame_kind(records)
    if flavour is not None:
        cols = frame_column_names(records)
        written = write_frame(records, flavour, cols, spool, encoder)
        if written is None:
            written = write_frame_arrow(records, flavour, cols, spool, encoder)
        if written is None:
            writer = _SpoolWriter(spool, encoder)
            try:
                written = _write_frame(records, writer)
            finally:
                writer.close()
        header = encoder.encode(cols) if cols else b""
        return PreparedInput(
            tuple(cols), CsvLayout(spool, delim, ending, tuple(cols), header, 0), records=written
        )
    writer = _SpoolWriter(spool, encoder)
    try:
        if columns is not None:
            cols = list(columns)
            written, narrow = _write_records(records, writer, cols, declared=True)
        else:
            cols = _union_of_keys(records) if iter(records) is not records else []
            written, narrow = _write_records(records, writer, cols, declared=False)
    finally:
        writer.close()
    if narrow:
        _widen(spool, len(cols), encoder)
    header = encoder.encode(cols) if cols else b""
    layout = CsvLayout(spool, delim, ending, tuple(cols), header, 0)
    return PreparedInput(tuple(cols), layout, records=written)


def _union_of_keys(records: Iterable[Any]) -> list[str]:
    seen: dict[str, None] = {}
    known: set[str] = set()
    number = 0
    source = iter(records)
    while batch := list(islice(source, FLUSH_ROWS)):
        if set(map(type, batch)) == {dict} and all(map(known.issuperset, batch)):
            number += len(batch)  # nothing new: no per-record work
            continue
        for item in batch:
            number += 1
            if type(item) is dict and item.keys() <= seen.keys():
                continue
            seen.update(dict.fromkeys(flatten_record(_as_record(item, number))))
        known = set(seen)
    return list(seen)


def _write_frame(frame: Any, writer: _SpoolWriter) -> int:
    iterator = frame_rows(frame)
    written = 0
    while batch := list(islice(iterator, FLUSH_ROWS)):
        writer.write_rows([[NULL_CELL if _is_missing(v) else encode_value(v) for v in row] for row in batch])
        written += len(batch)
    return written
