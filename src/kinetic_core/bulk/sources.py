"""Turning the caller's input into one CSV file ready to split into jobs.

Accepted inputs:

* a CSV file (``str`` or ``Path``): sent as is, never re-encoded (see :mod:`.csvfile`);
  its header is the column list;
* a pandas or polars DataFrame: its columns; a null cell (None, NaN, NaT, NA) means
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
import io
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

from kinetic_core.bulk.codec import NULL_CELL, RowEncoder, encode_record, encode_value, flatten_record
from kinetic_core.bulk.csvfile import CsvLayout, sniff
from kinetic_core.bulk.models import ColumnDelimiter, LineEnding
from kinetic_core.csvread import read_rows

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


def _dataframe_kind(obj: Any) -> str | None:
    module = type(obj).__module__ or ""
    if module.startswith("pandas") and hasattr(obj, "itertuples"):
        return "pandas"
    if module.startswith("polars") and hasattr(obj, "iter_rows"):
        return "polars"
    return None


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    # pandas NaT / NA and numpy NaN without importing them
    name = type(value).__name__
    if name in ("NaTType", "NAType"):
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return False


def _as_record(item: Any, number: int) -> Mapping[str, Any]:
    if isinstance(item, Mapping):
        return item
    if isinstance(item, str):
        return {"Id": item}
    raise TypeError(f"record {number} is a {type(item).__name__}, expected a dict (or an id string)")


class _SpoolWriter:
    """Encodes batches of rows with ``csv.writer`` into a buffer written to the spool file per batch."""

    def __init__(self, path: Path, encoder: RowEncoder) -> None:
        self.path = path
        self.encoder = encoder
        self.buffer = io.StringIO()
        self.writer = csv.writer(
            self.buffer, delimiter=encoder.delimiter.char, lineterminator=encoder.line_ending.chars
        )
        self.handle = path.open("w", encoding="utf-8", newline="")
        # csv.writer quotes CR only when it is part of the line terminator: check LF blocks for it
        self.check_cr = "\r" not in encoder.line_ending.chars

    def write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        self.writer.writerows(rows)
        text = self.buffer.getvalue()
        if self.check_cr and "\r" in text:
            text = "".join(self.encoder.line([str(v) for v in row]) for row in rows)
        self.handle.write(text)
        self.buffer.seek(0)
        self.buffer.truncate()

    def close(self) -> None:
        self.handle.close()


def _plain_rows(batch: list[Any], cols: list[str], known: set[str]) -> list[Sequence[Any]] | None:
    """Value rows of a batch of plain dicts with known keys, built with C-level helpers; else None."""
    if not cols or set(map(type, batch)) != {dict} or not all(map(known.issuperset, batch)):
        return None
    rows: list[Sequence[Any]]
    try:
        if len(cols) == 1:
            rows = [(v,) for v in map(itemgetter(cols[0]), batch)]
        else:
            rows = list(map(itemgetter(*cols), batch))
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
    if isinstance(records, str | Path):
        if columns is not None:
            raise ValueError("columns= cannot be combined with a CSV file: the file's header is used")
        layout = sniff(records, delimiter, line_ending)
        return PreparedInput(layout.header, layout, is_file=True)
    delim = ColumnDelimiter.parse(delimiter) if delimiter is not None else ColumnDelimiter.COMMA
    ending = LineEnding.parse(line_ending) if line_ending is not None else LineEnding.LF
    encoder = RowEncoder(delim, ending)
    spool = workdir / "records.csv"
    writer = _SpoolWriter(spool, encoder)
    try:
        kind = _dataframe_kind(records)
        if kind is not None:
            cols = [str(c) for c in records.columns]
            written = _write_frame(records, kind, writer)
            narrow = False
        elif isinstance(records, Mapping):
            raise TypeError("pass an iterable of records, not a single dict")
        elif columns is not None:
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


def _write_frame(frame: Any, kind: str, writer: _SpoolWriter) -> int:
    iterator = frame.itertuples(index=False, name=None) if kind == "pandas" else frame.iter_rows()
    written = 0
    while batch := list(islice(iterator, FLUSH_ROWS)):
        writer.write_rows([[NULL_CELL if _is_missing(v) else encode_value(v) for v in row] for row in batch])
        written += len(batch)
    return written
