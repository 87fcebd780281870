"""DataFrames to Bulk CSV with the libraries' own writers.

A pandas or polars DataFrame or a pyarrow Table is written by polars' CSV writer (Rust, a plan
ending in ``sink_csv``: the rows go straight to the file on polars' threads) when polars is
installed: a polars frame as it is, a pandas frame or an Arrow table through ``polars.from_pandas``
/ ``polars.from_arrow`` (no copy for Arrow-backed columns). Each column is first put in the form
whose text is the Salesforce form, by polars expressions:

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
datetime                        ``YYYY-MM-DDTHH:MM:SS.fffZ`` in UTC (a zoned column's stored instant,
                                which is UTC; naive is taken as UTC; milliseconds truncated);
                                in a frame of 16,384 rows or more, from tables of the text of the
                                column's days and of the parts of a day (see :func:`_calendar_text`)
null of any type                ``#N/A``
==============================  ================================================================

What depends on the data (an infinity, floats below 1e-4, empty text cells, cells to quote) is found
first, by ``select`` calls over blocks of rows (no Python value per cell); the conversions then run
inside the writer's plan, with the job's delimiter and line ending, a slice of rows at a time, in
one pass (no copy of the frame, and the file is written once: its rows are the frame's). The cells
are quoted by the writer itself when its rule gives the same bytes, else by expressions (see
:func:`_cells`). The text is byte for byte the text of the per-value encoder
(:func:`kinetic_core.inputs.normalise.salesforce_text` through ``csv.writer``), which a property
test checks on generated frames.

A frame holding a column of another type (durations, lists, structs, Python objects, binary)
or one polars cannot read is left to that per-value encoder (:func:`write_frame` returns None).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kinetic_core.bulk.codec import NULL_CELL, RowEncoder

PROBE_ROWS = 1 << 16
"""Rows searched per ``select`` before writing (bounds the copy of a text column's bytes)."""
TABLE_ROWS = 1 << 14
"""From this many rows, dates and datetimes are written from tables of their parts' text (see
:func:`_calendar_text`) rather than formatted cell by cell by the writer."""
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
    cells, quoting = _cells(pl, df, encoder, _index_labels(frame, kind))
    df.lazy().select(cells).sink_csv(
        path,
        include_header=False,
        separator=encoder.delimiter.char,
        line_terminator=encoder.line_ending.chars,
        quote_style=quoting,
        null_value=NULL_CELL,
        datetime_format=DATETIME_FORMAT,
        time_format=TIME_FORMAT,
    )
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


def _is_text(pl: Any, dtype: Any) -> bool:
    return bool(dtype == pl.String or dtype == pl.Categorical or isinstance(dtype, pl.Enum))


def _cells(pl: Any, df: Any, encoder: RowEncoder, labels: Any) -> tuple[list[Any], str]:
    """One expression per column giving the form the writer writes as its Salesforce text, and the
    writer's quote style.

    What the data decides (an infinity, floats below 1e-4, empty text, text cells to quote) is found
    first by :func:`_probe`; the expressions then run inside the writer, a slice of rows at a time.

    The writer's own quoting (``necessary``) quotes the cells holding the delimiter, ``"``, CR or LF
    as ``csv.writer`` does, but also every empty text cell (``csv.writer`` quotes one only when it is
    the row's one cell) and every decimal. So it is used when neither can differ: no decimal column,
    and no empty text cell or a single column. Otherwise the writer quotes nothing and the cells to
    quote are quoted by expressions.
    """
    special = _special_class(encoder)
    alone = df.width == 1
    decimals = any(isinstance(dtype, pl.Decimal) for dtype in df.dtypes)
    found = _probe(pl, df, special, alone, search=decimals)
    if found.infinite:
        _refuse_infinity(df[found.infinite], labels)
    quoting = "necessary"
    if decimals or (found.empty and not alone):
        quoting = "never"
        if not found.searched:
            found = _probe(pl, df, special, alone, search=True)
    spans = _day_spans(pl, df)
    cells: list[Any] = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if _is_text(pl, dtype):
            text = col.cast(pl.String)
            quote = quoting == "never" and name in found.quote
            cells.append(_quoted(pl, text, special, alone).alias(name) if quote else text)
        elif dtype.is_float():
            cells.append(
                _float_text(pl, df[name]) if name in found.tiny else col.cast(pl.Float64).fill_nan(None)
            )
        elif name in spans:
            cells.append(_calendar_text(pl, col, dtype, spans[name]).alias(name))
        elif isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            # the stored instant is UTC: dropping the zone without converting keeps it, as UTC
            cells.append(col.to_physical().cast(pl.Datetime(dtype.time_unit)).alias(name))
        else:
            cells.append(col)
    return cells, quoting


@dataclass
class _Found:
    """What :func:`_probe` found in a frame."""

    searched: bool
    empty: bool = False
    infinite: str | None = None
    quote: set[str] = field(default_factory=set)
    tiny: set[str] = field(default_factory=set)


def _probe(pl: Any, df: Any, special: str, alone: bool, *, search: bool) -> _Found:
    """Whether a text cell is empty, the first float column holding an infinity, the float columns
    with values below 1e-4 and (``search``) the text columns with a cell to quote: one ``select``
    per block of rows, the columns in parallel, no Python value per cell.

    A text column is searched as one string, its cells joined (a copy of its bytes and one regex
    scan: much quicker than a search per cell); a special character is a single character, so no
    match can straddle two cells. Blocks bound that copy; a column answered is not probed again.
    """
    text = [name for name, dtype in df.schema.items() if _is_text(pl, dtype)]
    floats = [name for name, dtype in df.schema.items() if dtype.is_float()]
    found = _Found(searched=search)
    # blocks bound the copy a search makes of a text column; without a search one select does
    step = PROBE_ROWS if search and text else max(df.height, 1)
    for start in range(0, df.height, step):
        probes: dict[str, Any] = {}
        for name in text:
            cell = pl.col(name).cast(pl.String)
            if not found.empty:
                probes[f"e{name}"] = cell.str.len_bytes().eq(0).any()
            if search and name not in found.quote:
                probes[f"q{name}"] = cell.str.join("").str.contains(special).fill_null(False).any()
        for name in floats:
            col = pl.col(name)
            probes[f"i{name}"] = col.is_infinite().any()
            if name not in found.tiny:
                probes[f"t{name}"] = ((col.abs() < SMALLEST_PLAIN) & (col != 0)).any()
        if not probes:
            break
        block = df.slice(start, step)
        flags = block.select(p.alias(key) for key, p in probes.items()).row(0, named=True)
        hits = [key for key, flag in flags.items() if flag]
        found.empty = found.empty or any(key[0] == "e" for key in hits)
        found.quote.update(key[1:] for key in hits if key[0] == "q")
        found.tiny.update(key[1:] for key in hits if key[0] == "t")
        infinite = [key[1:] for key in hits if key[0] == "i"]
        if infinite:
            found.infinite = infinite[0]
            break
    return found


def _special_class(encoder: RowEncoder) -> str:
    """A regex class of the characters that make a cell quoted (hex escapes: any delimiter is safe)."""
    return "[" + "".join(f"\\x{ord(c):02X}" for c in (encoder.delimiter.char, '"', "\r", "\n")) + "]"


def _quoted(pl: Any, text: Any, special: str, alone: bool) -> Any:
    """``text`` with the cells holding a special character quoted (``"`` doubled inside); with a
    single column an empty cell too, so that no row is a blank line."""
    need = text.str.contains(special)
    if alone:
        need = need | text.str.len_bytes().eq(0)
    quoted = pl.concat_str([pl.lit('"'), text.str.replace_all('"', '""', literal=True), pl.lit('"')])
    return pl.when(need).then(quoted).otherwise(text)


def _refuse_infinity(values: Any, labels: Any) -> None:
    """Raise :class:`NonFiniteValueError` for the first infinity of ``values``."""
    at = int(values.is_infinite().arg_max())
    label = labels[at] if labels is not None else None
    raise NonFiniteValueError(at + 1, values.name, float(values[at]), label)


def _float_text(pl: Any, values: Any) -> Any:
    """A float column whose text is Python's ``repr``: NaN null; values below 1e-4 put in as text."""
    values = values.cast(pl.Float64).fill_nan(None)
    where = ((values.abs() < SMALLEST_PLAIN) & (values != 0)).arg_true()
    text = values.cast(pl.String)
    text.scatter(where, pl.Series([repr(v) for v in values.gather(where)], dtype=pl.String))
    return pl.lit(text)


MS_PER_DAY = 86_400_000


def _units_per_ms(unit: str) -> int:
    return {"ms": 1, "us": 1_000, "ns": 1_000_000}[unit]


def _day_spans(pl: Any, df: Any) -> dict[str, tuple[int, int]]:
    """The first and last day (days since 1970-01-01) of each date and datetime column whose text
    is put together from tables: a frame of at least :data:`TABLE_ROWS` rows, a column spanning no
    more days than the frame has rows (so that the table of days costs less than the cells)."""
    days: dict[str, Any] = {}
    for name, dtype in df.schema.items():
        if dtype == pl.Date:
            days[name] = pl.col(name).to_physical()
        elif isinstance(dtype, pl.Datetime):
            days[name] = pl.col(name).to_physical() // (_units_per_ms(dtype.time_unit) * MS_PER_DAY)
    if df.height < TABLE_ROWS or not days:
        return {}
    ends = df.select(
        [day.min().alias(f"<{name}") for name, day in days.items()]
        + [day.max().alias(f">{name}") for name, day in days.items()]
    ).row(0, named=True)
    spans = {name: (ends[f"<{name}"], ends[f">{name}"]) for name in days}
    return {name: (lo, hi) for name, (lo, hi) in spans.items() if lo is not None and hi - lo < df.height}


def _calendar_text(pl: Any, col: Any, dtype: Any, span: tuple[int, int]) -> Any:
    """A date or datetime column's text by table look-ups (much quicker than the writer's formatting
    of each cell): the days of the column's span formatted once, by polars' own formatting (so the
    same text as the writer's), and for a datetime the minute of the day, the second and the
    millisecond (truncated, as ``%.3f`` does) from tables of their text, joined."""
    lo, hi = span
    days = pl.int_range(lo, hi + 1, eager=True).cast(pl.Int32).cast(pl.Date)
    if dtype == pl.Date:
        return pl.lit(days.dt.to_string("%Y-%m-%d")).gather(col.to_physical() - lo)
    ms = col.to_physical() // _units_per_ms(dtype.time_unit)
    day = ms // MS_PER_DAY
    of_day = ms - day * MS_PER_DAY
    minutes = pl.Series([f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)], dtype=pl.String)
    seconds = pl.Series([f"{s:02d}." for s in range(60)], dtype=pl.String)
    millis = pl.Series([f"{m:03d}Z" for m in range(1000)], dtype=pl.String)
    within = pl.int_range(60_000, eager=True)  # the milliseconds of a minute: "SS.fffZ"
    of_minute = pl.select(
        pl.concat_str(pl.lit(seconds).gather(within // 1000), pl.lit(millis).gather(within % 1000))
    )
    return pl.concat_str(
        pl.lit(days.dt.to_string("%Y-%m-%dT")).gather(day - lo),
        pl.lit(minutes).gather(of_day // 60_000),
        pl.lit(of_minute.to_series()).gather(of_day % 60_000),
    )
