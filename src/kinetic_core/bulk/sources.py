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

A DataFrame is encoded by pyarrow when it is installed (:func:`_write_frame_arrow`): the frame
becomes an Arrow table (zero-copy for polars), each column is put in its Salesforce form with Arrow
compute functions (booleans ``true``/``false``, dates ``YYYY-MM-DD``, datetimes
``YYYY-MM-DDTHH:MM:SS.fffZ`` in UTC, NaN -> null, infinities refused), and ``pyarrow.csv`` writes
the rows with ``#N/A`` for every null. String cells are all quoted when any cell of the frame needs
quotes (pyarrow quotes every string then), bare otherwise; either way the file is valid CSV and its
bytes are counted exactly like any other spool. A frame holding a type the Arrow path does not
handle (times, lists, mixed objects) falls back to the per-value encoder.

Records are encoded (see :mod:`.codec`) a batch of a few thousand at a time by a
``csv.writer`` (``writerows``) into an in-memory buffer written to a spool file. A batch
of plain records (``dict``s with known keys and ``str``/``int``/``None`` values) takes a
fast path: values in column order by ``operator.itemgetter``, types checked with one
``set(map(type, ...))``, no per-record Python code; other values of a batch go through
:func:`~kinetic_core.bulk.codec.encode_value`, and a batch with unknown keys, nested
relationships or non-dict items record by record through
:func:`~kinetic_core.bulk.codec.encode_record`. Bytes are counted later, exactly, on the
spool file (see :mod:`.split`). The result is a :class:`PreparedInput`
whose ``layout`` describes a CSV file (the caller's or the spool).
"""

from __future__ import annotations

import csv
import importlib.util
import os
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from itertools import chain, islice, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

from kinetic_core.bulk.codec import NULL_CELL, RowEncoder, encode_record, encode_value, flatten_record
from kinetic_core.bulk.csvfile import CsvLayout, sniff
from kinetic_core.bulk.models import ColumnDelimiter, LineEnding
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
_PLAIN = frozenset({str, int})
_PLAIN_OR_NONE = frozenset({str, int, type(None)})


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

    def write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        self.writer.writerows(rows)
        text = "".join(self.parts)
        self.parts.clear()
        if self.check_cr and "\r" in text:
            text = "".join(self.encoder.line([str(v) for v in row]) for row in rows)
        self.handle.write(text)

    def close(self) -> None:
        self.handle.close()


def _plain_rows(batch: list[Any], cols: list[str], known: set[str]) -> list[Sequence[Any]] | None:
    """Value rows of a batch of plain dicts with known keys, built with C-level helpers; else None."""
    if not cols or set(map(type, batch)) != {dict}:
        return None
    get = itemgetter(*cols) if len(cols) > 1 else lambda item: (item[cols[0]],)
    rows: list[Sequence[Any]] | None = None
    if set(map(len, batch)) == {len(cols)}:
        # as many keys as columns and every column found (no KeyError): exactly the columns
        with suppress(KeyError):
            rows = list(map(get, batch))
    if rows is None:
        if not all(map(known.issuperset, batch)):
            return None  # a new key: the column list grows, record by record
        try:
            rows = list(map(get, batch))
        except KeyError:  # some record lacks a column: an empty cell
            rows = [tuple(map(item.get, cols, repeat(""))) for item in batch]
    kinds = set(map(type, chain.from_iterable(rows)))
    if kinds <= _PLAIN:
        return rows
    if kinds <= _PLAIN_OR_NONE:
        return [[NULL_CELL if v is None else v for v in row] for row in rows]
    if any(issubclass(kind, Mapping) for kind in kinds):
        return None  # nested relationships: flattened record by record
    return [[v if type(v) is str else encode_value(v) for v in row] for row in rows]


def _write_records(
    records: Iterable[Any], writer: _SpoolWriter, cols: list[str], declared: bool
) -> tuple[int, bool]:
    """Encode every record; returns (records written, whether early rows are narrower than ``cols``)."""
    known = set(cols)
    narrow = False
    number = 0
    source = iter(records)
    while batch := list(islice(source, FLUSH_ROWS)):
        rows = _plain_rows(batch, cols, known)
        if rows is not None:
            number += len(batch)
            writer.write_rows(rows)
            continue
        rows = []
        for item in batch:
            number += 1
            encoded = encode_record(_as_record(item, number))
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
        written = _write_frame_arrow(records, flavour, spool, encoder)
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
    for number, item in enumerate(records, 1):
        if type(item) is dict and item.keys() <= seen.keys():
            continue
        seen.update(dict.fromkeys(flatten_record(_as_record(item, number))))
    return list(seen)


def _write_frame(frame: Any, writer: _SpoolWriter) -> int:
    iterator = frame_rows(frame)
    written = 0
    while batch := list(islice(iterator, FLUSH_ROWS)):
        writer.write_rows([[NULL_CELL if _is_missing(v) else encode_value(v) for v in row] for row in batch])
        written += len(batch)
    return written


ARROW_BATCH_ROWS = 16_384
"""Rows converted and written per pyarrow call (bounds the extra memory next to the frame)."""
ARROW_THREADS = 4
"""At most this many slices are encoded at once (and never more than the CPUs)."""


def _write_frame_arrow(frame: Any, kind: str, path: Path, encoder: RowEncoder) -> int | None:
    """Encode ``frame`` with pyarrow into ``path``; None (nothing written) when pyarrow cannot."""
    if importlib.util.find_spec("pyarrow") is None:
        return None
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        if kind == "arrow":
            table = frame
        elif kind == "polars":
            table = frame.to_arrow()
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if not all(_arrow_supported(pa, field.type) for field in table.schema):
        return None
    table = table.rename_columns(frame_column_names(frame))
    style = "needed" if _needs_quotes(pa, table, encoder) else "none"
    options = pacsv.WriteOptions(
        include_header=False,
        delimiter=encoder.delimiter.char,
        eol=encoder.line_ending.chars,
        null_string=NULL_CELL,
        quoting_style=style,
    )

    def encode(start: int) -> Any:
        part = table.slice(start, ARROW_BATCH_ROWS)
        columns = [_arrow_cell_text(pa, column) for column in part.columns]
        buffer = pa.BufferOutputStream()
        pacsv.write_csv(pa.Table.from_arrays(columns, names=part.column_names), buffer, options)
        return buffer.getvalue()

    # Arrow releases the GIL: slices are encoded on a few threads, written in order; a bounded
    # window of slices in flight keeps the extra memory small whatever the frame's size.
    workers = max(1, min(ARROW_THREADS, os.cpu_count() or 1))
    starts = iter(range(0, table.num_rows, ARROW_BATCH_ROWS))
    with pa.OSFile(str(path), "wb") as sink, ThreadPoolExecutor(workers) as pool:
        pending = deque(pool.submit(encode, start) for start in islice(starts, 2 * workers))
        while pending:
            sink.write(pending.popleft().result())
            for start in islice(starts, 1):
                pending.append(pool.submit(encode, start))
    return int(table.num_rows)


def _arrow_supported(pa: Any, kind: Any) -> bool:
    types = pa.types
    if types.is_dictionary(kind):
        return bool(types.is_string(kind.value_type) or types.is_large_string(kind.value_type))
    return bool(
        types.is_string(kind)
        or types.is_large_string(kind)
        or getattr(types, "is_string_view", lambda _: False)(kind)
        or types.is_integer(kind)
        or types.is_floating(kind)
        or types.is_boolean(kind)
        or types.is_date(kind)
        or types.is_timestamp(kind)
        or types.is_decimal(kind)
        or types.is_null(kind)
    )


def _needs_quotes(pa: Any, table: Any, encoder: RowEncoder) -> bool:
    """Whether any text cell may hold the delimiter, a quote, CR or LF.

    The raw character data of each text column is searched (``bytes`` ``in``, no per-cell work);
    bytes outside the cells (a slice's neighbours) can only answer yes, which is merely cautious.
    """
    specials = [c.encode() for c in (encoder.delimiter.char, '"', "\r", "\n")]
    for column in table.columns:
        kind = column.type
        if pa.types.is_dictionary(kind):
            column = pa.chunked_array([chunk.dictionary for chunk in column.chunks], kind.value_type)
            kind = kind.value_type
        if str(kind) == "string_view":
            column, kind = column.cast(pa.large_string()), pa.large_string()
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            continue
        for chunk in column.chunks:
            data = chunk.buffers()[2]
            if data is None:
                continue
            raw = memoryview(data).tobytes()
            if any(special in raw for special in specials):
                return True
    return False


def _arrow_cell_text(pa: Any, column: Any) -> Any:
    """One column in the form ``pyarrow.csv`` should write (nulls stay null: written as ``#N/A``)."""
    import pyarrow.compute as pc

    kind = column.type
    types = pa.types
    if types.is_dictionary(kind) or str(kind) == "string_view":
        return column.cast(pa.large_string())
    if types.is_floating(kind):
        if pc.any(pc.is_inf(column)).as_py():
            raise ValueError("cannot encode non-finite float inf")
        if pc.any(pc.is_nan(column)).as_py():
            return pc.if_else(pc.is_nan(column), pa.scalar(None, kind), column)
        return column
    if types.is_timestamp(kind):
        instants = column.cast(pa.int64())  # the UTC instant (any zone dropped); naive values are UTC
        naive = instants.cast(pa.timestamp(kind.unit))
        if (pc.min(instants).as_py() or 0) < 0:  # before 1970: truncation would round toward zero
            millis = pc.floor_temporal(naive, 1, "millisecond").cast(pa.timestamp("ms"))
        else:
            millis = naive.cast(pa.timestamp("ms"), safe=False)
        text = pc.utf8_replace_slice(millis.cast(pa.string()), 10, 11, "T")  # "YYYY-MM-DD HH:..." -> T
        return pc.binary_join_element_wise(text, "Z", "")
    if types.is_date(kind) or types.is_decimal(kind):
        return column.cast(pa.string())
    if types.is_null(kind):
        return column.cast(pa.string())
    return column
