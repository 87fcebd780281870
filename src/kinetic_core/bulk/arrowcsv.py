"""DataFrames to Bulk CSV with pyarrow alone, when polars is not installed.

The frame becomes an Arrow table (:func:`write_frame_arrow`); each column is put in its Salesforce
form with Arrow compute functions (booleans ``true``/``false``, dates ``YYYY-MM-DD``, datetimes
``YYYY-MM-DDTHH:MM:SS.fffZ`` in UTC, NaN -> null, infinities refused), and ``pyarrow.csv`` writes
the rows with ``#N/A`` for every null, a few slices at once on threads (Arrow releases the GIL).

The file is valid CSV with the same values as the per-value encoder's, but not always the same
bytes: string cells are all quoted when any cell of the frame needs quotes (pyarrow quotes every
string then), and floats take Arrow's shortest form (``1`` for ``1.0``, ``1e+15``). With polars
installed, :mod:`.framecsv` writes exactly the per-value encoder's bytes instead. A frame holding a
type this path does not handle (times, lists, mixed objects) is left to the per-value encoder.
"""

from __future__ import annotations

import importlib.util
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Any

from kinetic_core.bulk.codec import NULL_CELL, RowEncoder

ARROW_BATCH_ROWS = 16_384
"""Rows converted and written per pyarrow call (bounds the extra memory next to the frame)."""
ARROW_THREADS = 4
"""At most this many slices are encoded at once (and never more than the CPUs)."""


def write_frame_arrow(frame: Any, kind: str, names: list[str], path: Path, encoder: RowEncoder) -> int | None:
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
    table = table.rename_columns(names)
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
