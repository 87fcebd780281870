"""Turning the caller's input into CSV rows ready to spool.

Accepted inputs:

* a CSV file (``str`` or ``Path``): sent as is, never re-encoded (see :mod:`.csvfile`);
  its header is the column list;
* a pandas or polars DataFrame: its columns; null cells (None/NaN/NaT) become empty
  cells, i.e. *leave the field unchanged* (put the string ``"#N/A"`` in a cell to clear it);
* an iterable of dicts (or of id strings, read as ``{"Id": ...}``, handy for deletes).
  The columns are the union of every record's (flattened) keys in first-seen order:

  - with ``columns=`` declared, one pass; a record with a key outside them is an error
    (nothing is dropped silently);
  - a re-iterable input (list, tuple, any object whose ``iter()`` returns a fresh iterator)
    is read twice: once for the keys, once to encode;
  - a one-shot iterator (generator) is encoded once and spooled to a temporary
    JSON-lines file while the keys are collected, then read back from disk.

Each row comes out as ``(csv_bytes, key)``, ``key`` being the digest used to map
results back to it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kinetic_core.bulk.codec import (
    RowEncoder,
    cells_for,
    encode_record,
    encode_value,
    flatten_record,
    row_key,
)
from kinetic_core.bulk.csvfile import iter_rows, sniff
from kinetic_core.bulk.models import ColumnDelimiter, LineEnding


@dataclass
class PreparedInput:
    """The columns, CSV dialect and the lazy row stream of one load."""

    columns: tuple[str, ...]
    header: bytes
    delimiter: ColumnDelimiter
    line_ending: LineEnding
    rows: Iterator[tuple[bytes, bytes]]
    is_file: bool = False
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Release spool files held by the row stream."""
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
        rows = ((raw, row_key(cells)) for raw, cells in iter_rows(layout))
        return PreparedInput(
            layout.header, layout.header_bytes, layout.delimiter, layout.line_ending, rows, is_file=True
        )
    delim = ColumnDelimiter.parse(delimiter) if delimiter is not None else ColumnDelimiter.COMMA
    ending = LineEnding.parse(line_ending) if line_ending is not None else LineEnding.LF
    encoder = RowEncoder(delim, ending)
    kind = _dataframe_kind(records)
    if kind is not None:
        cols = tuple(str(c) for c in records.columns)
        return _from_cells(cols, encoder, _dataframe_cells(records, kind))
    if isinstance(records, Mapping):
        raise TypeError("pass an iterable of records, not a single dict")
    if columns is not None:
        cols = tuple(columns)
        return _from_cells(cols, encoder, _declared_cells(records, cols))
    if iter(records) is not records:
        seen: dict[str, None] = {}
        for number, item in enumerate(records, 1):
            seen.update(dict.fromkeys(flatten_record(_as_record(item, number))))
        cols = tuple(seen)
        encoded = (encode_record(_as_record(item, n)) for n, item in enumerate(records, 1))
        return _from_cells(cols, encoder, (cells_for(cols, e) for e in encoded))
    return _spooled(records, workdir, encoder)


def _from_cells(
    cols: tuple[str, ...],
    encoder: RowEncoder,
    cells: Iterator[list[str]],
    closers: list[Callable[[], None]] | None = None,
) -> PreparedInput:
    if not cols:
        cols = ()
    header = encoder.encode(cols) if cols else b""
    rows = ((encoder.encode(c), row_key(c)) for c in cells)
    return PreparedInput(cols, header, encoder.delimiter, encoder.line_ending, rows, _closers=closers or [])


def _dataframe_cells(frame: Any, kind: str) -> Iterator[list[str]]:
    iterator = frame.itertuples(index=False, name=None) if kind == "pandas" else frame.iter_rows()
    for values in iterator:
        yield ["" if _is_missing(v) else encode_value(v) for v in values]


def _declared_cells(records: Iterable[Any], cols: tuple[str, ...]) -> Iterator[list[str]]:
    known = set(cols)
    for number, item in enumerate(records, 1):
        encoded = encode_record(_as_record(item, number))
        extra = [k for k in encoded if k not in known]
        if extra:
            raise ValueError(f"record {number} has key(s) {extra} outside the declared columns")
        yield cells_for(cols, encoded)


def _spooled(records: Iterable[Any], workdir: Path, encoder: RowEncoder) -> PreparedInput:
    spool = workdir / "records.jsonl"
    seen: dict[str, None] = {}
    with spool.open("w", encoding="utf-8") as out:
        for number, item in enumerate(records, 1):
            encoded = encode_record(_as_record(item, number))
            seen.update(dict.fromkeys(encoded))
            out.write(json.dumps(encoded, ensure_ascii=False))
            out.write("\n")
    cols = tuple(seen)
    handle = spool.open("r", encoding="utf-8")

    def cells() -> Iterator[list[str]]:
        for line in handle:
            yield cells_for(cols, json.loads(line))

    return _from_cells(cols, encoder, cells(), [handle.close])
