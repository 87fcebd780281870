"""DataFrames to Bulk CSV with the libraries' own writers.

A pandas or polars DataFrame or a pyarrow Table is written by polars' ``write_csv`` (Rust, whole
columns at a time) when polars is installed: a polars frame as it is, a pandas frame or an Arrow
table through ``polars.from_pandas`` / ``polars.from_arrow`` (no copy for Arrow-backed columns).
Each column is first put in the form whose text is the Salesforce form, by polars expressions:

==============================  ================================================================
column                          cell
==============================  ================================================================
text (string, categorical)      as it is; a cell holding the delimiter, ``"``, CR or LF is quoted
                                with ``"`` doubled (the only cells quoted; with a single column an
                                empty cell is written ``""``, so that no row is a blank line)
integer, decimal                digits, by the writer
float                           shortest round-trip digits, as Python's ``repr`` writes them (the
                                writer's own text, except below 1e-4 where Python's is put in);
                                NaN is null; an infinity is refused, naming its row and column
boolean                         ``true`` / ``false``
date / time                     ``YYYY-MM-DD`` / ``HH:MM:SS.fffZ``
datetime                        ``YYYY-MM-DDTHH:MM:SS.fffZ`` in UTC (a zone is converted, naive is
                                taken as UTC; milliseconds truncated)
null of any type                ``#N/A``
==============================  ================================================================

The writer then writes the rows unquoted (the quoting above is already in the cells), with the
job's delimiter and line ending, a slice of rows at a time. The text is byte for byte the text
of the per-value encoder (:func:`kinetic_core.inputs.normalise.salesforce_text` through
``csv.writer``), which a property test checks on generated frames.

A frame holding a column of another type (durations, lists, structs, Python objects, binary)
or one polars cannot read is left to that per-value encoder (:func:`write_frame` returns None).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from kinetic_core.bulk.codec import NULL_CELL, RowEncoder

SLICE_ROWS = 262_144
"""Rows converted and written per ``write_csv`` call (bounds the memory next to the frame)."""
SMALLEST_PLAIN = 1e-4
"""Below this magnitude Python writes a float with an exponent (``1e-05``) and polars does not."""
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.3fZ"
TIME_FORMAT = "%H:%M:%S%.3fZ"


class NonFiniteValueError(ValueError):
    """A float column holds an infinity, which no Salesforce field can store.

    Attributes:
        row: the 1-based row of the frame.
        column: the column's name.
    """

    def __init__(self, row: int, column: str, value: float, label: Any = None) -> None:
        where = f"row {row}" + (f" (index {label!r})" if label is not None else "")
        super().__init__(
            f"{where}, column {column}: cannot encode non-finite float {value!r}"
            " (Salesforce numbers are finite: make it null or a number)"
        )
        self.row = row
        self.column = column


def polars_frame(frame: Any, kind: str) -> Any | None:
    """``frame`` as a polars DataFrame (None when polars is missing or cannot read it)."""
    if importlib.util.find_spec("polars") is None:
        return None
    import polars as pl

    try:
        if kind == "polars":
            return frame
        if kind == "pandas":
            return pl.from_pandas(frame, include_index=False)
        if kind == "arrow":
            return pl.from_arrow(frame)
    except (pl.exceptions.PolarsError, TypeError, ValueError, ImportError, OverflowError):
        return None
    except Exception as exc:  # pyarrow's conversion errors, without importing pyarrow here
        if type(exc).__module__.startswith("pyarrow"):
            return None
        raise
    return None


def write_frame(frame: Any, kind: str, names: list[str], path: Path, encoder: RowEncoder) -> int | None:
    """Write the rows of ``frame`` (no header) to ``path``; returns the rows written, or None (nothing
    written) when the frame is not for this writer (see the module docstring).

    Raises:
        NonFiniteValueError: a float column holds an infinity.
    """
    df = polars_frame(frame, kind)
    if df is None:
        return None
    import polars as pl

    if len(set(names)) != len(names) or len(names) != df.width:
        return None
    df = df.rename(dict(zip(df.columns, names, strict=True)))
    if not all(_supported(pl, dtype) for dtype in df.dtypes):
        return None
    options = {
        "include_header": False,
        "separator": encoder.delimiter.char,
        "line_terminator": encoder.line_ending.chars,
        "quote_style": "never",
        "null_value": NULL_CELL,
        "datetime_format": DATETIME_FORMAT,
        "time_format": TIME_FORMAT,
    }
    labels = _index_labels(frame, kind)
    with path.open("wb") as sink:
        for start in range(0, df.height, SLICE_ROWS):
            part = _cells(pl, df.slice(start, SLICE_ROWS), encoder, start, labels)
            part.write_csv(sink, **options)
    return int(df.height)


def _supported(pl: Any, dtype: Any) -> bool:
    return bool(
        dtype == pl.String
        or dtype == pl.Categorical
        or isinstance(dtype, pl.Enum)
        or dtype.is_integer()
        or dtype.is_float()
        or isinstance(dtype, pl.Decimal)
        or dtype == pl.Boolean
        or dtype == pl.Date
        or dtype == pl.Time
        or isinstance(dtype, pl.Datetime)
        or dtype == pl.Null
    )


def _index_labels(frame: Any, kind: str) -> Any:
    """A pandas frame's index when it is not the default range (to name a row in an error)."""
    if kind != "pandas":
        return None
    index = frame.index
    if type(index).__name__ == "RangeIndex" and index.start == 0 and index.step == 1:
        return None
    return index


def _cells(pl: Any, part: Any, encoder: RowEncoder, offset: int, labels: Any) -> Any:
    """One slice with every column in the form the writer writes as its Salesforce text."""
    specials = [encoder.delimiter.char, '"', "\r", "\n"]
    alone = part.width == 1
    floats = [name for name, dtype in part.schema.items() if dtype.is_float()]
    if floats:
        _refuse_infinities(pl, part, floats, offset, labels)
    changed: list[Any] = []
    for name, dtype in part.schema.items():
        if dtype == pl.String or dtype == pl.Categorical or isinstance(dtype, pl.Enum):
            text = part[name].cast(pl.String)
            quoted = _quoted(pl, text, specials, alone)
            if quoted is not None:
                changed.append(quoted.alias(name))
            elif dtype != pl.String:
                changed.append(text.alias(name))
        elif dtype.is_float():
            changed.append(_float_cells(pl, part[name]).alias(name))
        elif isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            changed.append(pl.col(name).dt.convert_time_zone("UTC").dt.replace_time_zone(None))
    return part.with_columns(changed) if changed else part


def _quoted(pl: Any, values: Any, specials: list[str], alone: bool) -> Any | None:
    """A copy of a text column with the cells that need it quoted; None when none does."""
    # one join of the column, searched with ``in`` (memchr), is quicker than a test per cell
    joined = values.str.join("").item()
    if not any(special in joined for special in specials) and not (alone and values.eq("").any()):
        return None
    need = values.str.contains_any(specials)
    if alone:
        need = need | (values == "")
    where = need.arg_true()
    picked = pl.DataFrame({"v": values.gather(where)})
    quoted = pl.concat_str([pl.lit('"'), pl.col("v").str.replace_all('"', '""', literal=True), pl.lit('"')])
    out = values.clone()
    out.scatter(where, picked.select(quoted).to_series())
    return out


def _refuse_infinities(pl: Any, part: Any, floats: list[str], offset: int, labels: Any) -> None:
    found = part.select(pl.col(floats).is_infinite().any()).row(0)
    for name, bad in zip(floats, found, strict=True):
        if bad:
            at = int(part[name].is_infinite().arg_max())
            row = offset + at
            label = labels[row] if labels is not None else None
            raise NonFiniteValueError(row + 1, name, float(part[name][at]), label)


def _float_cells(pl: Any, values: Any) -> Any:
    """A float column whose text is Python's ``repr``: NaN null; values below 1e-4 put in as text."""
    values = values.cast(pl.Float64).fill_nan(None)
    tiny = (values.abs() < SMALLEST_PLAIN) & (values != 0)
    if not tiny.any():
        return values
    where = tiny.arg_true()
    text = values.cast(pl.String)
    text.scatter(where, pl.Series([repr(v) for v in values.gather(where)], dtype=pl.String))
    return text
