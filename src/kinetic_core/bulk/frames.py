"""Typed Bulk query results: column types from describe, for pandas, polars and Parquet.

A Bulk API 2.0 query answers CSV, where every value is text. The column's field in describe says
what it holds, and the frame gets that type:

=============================================  ==========================================================
describe ``type``                              pandas / polars / Arrow (Parquet)
=============================================  ==========================================================
``int``, ``long``; ``double``, ``currency``,   ``Int64`` / ``Int64`` / ``int64`` (in a frame, a value
``percent`` with ``scale`` 0                   with a fraction makes the column ``Float64`` rather than
                                               being cut; Parquet refuses it, naming the column)
``double``, ``currency``, ``percent``          ``float64`` / ``Float64`` / ``double``
``boolean``                                    ``boolean`` / ``Boolean`` / ``bool``
``date``                                       ``date32[pyarrow]`` (``datetime.date`` objects without
                                               pyarrow) / ``Date`` / ``date32``
``datetime``                                   ``datetime64[.., UTC]`` / ``Datetime(UTC)`` /
                                               ``timestamp[ms, UTC]``
anything else (text, ids, picklists, ``time``)  text, as before
=============================================  ==========================================================

Relationship columns (``Account.Name``, ``Owner.Profile.Name``) are followed through describe's
``relationshipName`` and ``referenceTo`` (the first target of a polymorphic lookup). A column
describe does not know (an alias, a field the user cannot see) stays text. Empty cells are null.
"""

from __future__ import annotations

import csv
import enum
import importlib
import importlib.util
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

Describe = Callable[[str], Mapping[str, Any]]
"""Returns an object's describe (``GET .../sobjects/NAME/describe``)."""

_FROM = re.compile(r"\bFROM\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


class ColumnKind(enum.StrEnum):
    """What a query column holds, as far as the frame's type is concerned."""

    TEXT = "text"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"


def require_frame_library(flavour: str) -> None:
    """Fail before any job starts when the DataFrame library ``flavour`` is not installed.

    Raises:
        ValueError: ``flavour`` is neither ``pandas`` nor ``polars``.
        ImportError: the library is missing (the message names the extra to install).
    """
    if flavour not in ("pandas", "polars"):
        raise ValueError(f"as_dataframe must be True, 'pandas' or 'polars', not {flavour!r}")
    try:
        importlib.import_module(flavour)
    except ImportError:
        raise ImportError(
            f"as_dataframe needs {flavour}, which is not installed: pip install 'kinetic-core[{flavour}]' "
            "(no query job was started)"
        ) from None


def query_object(soql: str) -> str | None:
    """The object a query reads (its first ``FROM``).

    Example:
        >>> query_object("SELECT Id, Account.Name FROM Contact WHERE Email != null")
        'Contact'
    """
    found = _FROM.search(soql)
    return found.group(1) if found else None


def kind_of(field: Mapping[str, Any] | None) -> ColumnKind:
    """The column kind of one describe field (None: unknown, text).

    Example:
        >>> kind_of({"type": "currency", "scale": 0}), kind_of({"type": "currency", "scale": 2})
        (<ColumnKind.INTEGER: 'integer'>, <ColumnKind.FLOAT: 'float'>)
    """
    if field is None:
        return ColumnKind.TEXT
    kind = str(field.get("type") or "").lower()
    if kind in ("int", "long"):
        return ColumnKind.INTEGER
    if kind in ("double", "currency", "percent"):
        return ColumnKind.INTEGER if field.get("scale") == 0 else ColumnKind.FLOAT
    if kind == "boolean":
        return ColumnKind.BOOLEAN
    if kind == "date":
        return ColumnKind.DATE
    if kind == "datetime":
        return ColumnKind.DATETIME
    return ColumnKind.TEXT


def column_kinds(sobject: str | None, columns: Sequence[str], describe: Describe) -> dict[str, ColumnKind]:
    """The kind of every column of a query on ``sobject``; describe is called once per object."""
    cache: dict[str, tuple[dict[str, Mapping[str, Any]], dict[str, Mapping[str, Any]]]] = {}

    def fields_of(name: str) -> tuple[dict[str, Mapping[str, Any]], dict[str, Mapping[str, Any]]]:
        key = name.lower()
        if key not in cache:
            fields = [f for f in describe(name).get("fields") or [] if isinstance(f, Mapping)]
            by_name = {str(f.get("name")).lower(): f for f in fields}
            by_relationship = {
                str(f["relationshipName"]).lower(): f for f in fields if f.get("relationshipName")
            }
            cache[key] = (by_name, by_relationship)
        return cache[key]

    kinds: dict[str, ColumnKind] = {}
    for column in columns:
        kind = ColumnKind.TEXT
        target = sobject
        parts = column.split(".")
        for n, part in enumerate(parts):
            if target is None:
                break
            by_name, by_relationship = fields_of(target)
            if n == len(parts) - 1:
                kind = kind_of(by_name.get(part.lower()))
                break
            lookup = by_relationship.get(part.lower())
            targets = (lookup or {}).get("referenceTo") or []
            target = str(targets[0]) if targets else None
        kinds[column] = kind
    return kinds


def _fail(column: str, kind: ColumnKind, exc: Exception) -> ValueError:
    return ValueError(f"column {column} ({kind.value} in describe): a value does not convert: {exc}")


def type_pandas(frame: Any, kinds: Mapping[str, ColumnKind]) -> Any:
    """Give a pandas frame of strings the types of ``kinds`` (see the module docstring)."""
    import pandas as pd

    arrow = importlib.util.find_spec("pyarrow") is not None
    for column, kind in kinds.items():
        if kind is ColumnKind.TEXT or column not in frame.columns:
            continue
        values = frame[column]
        try:
            if kind is ColumnKind.INTEGER:
                frame[column] = pd.to_numeric(values, dtype_backend="numpy_nullable")
            elif kind is ColumnKind.FLOAT:
                frame[column] = pd.to_numeric(values).astype("float64")
            elif kind is ColumnKind.BOOLEAN:
                lowered = values.str.lower()
                if not lowered.dropna().isin(["true", "false"]).all():
                    raise ValueError("expected true or false")
                frame[column] = lowered.map({"true": True, "false": False}).astype("boolean")
            elif kind is ColumnKind.DATE:
                dates = pd.to_datetime(values, format="%Y-%m-%d")
                if arrow:
                    import pyarrow as pa

                    frame[column] = dates.astype(pd.ArrowDtype(pa.timestamp("s"))).astype(
                        pd.ArrowDtype(pa.date32())
                    )
                else:
                    frame[column] = dates.dt.date.where(values.notna(), None)
            elif kind is ColumnKind.DATETIME:
                frame[column] = pd.to_datetime(values, utc=True, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise _fail(column, kind, exc) from None
    return frame


def type_polars(frame: Any, kinds: Mapping[str, ColumnKind]) -> Any:
    """Give a polars frame of strings the types of ``kinds`` (see the module docstring)."""
    import polars as pl

    for column, kind in kinds.items():
        if kind is ColumnKind.TEXT or column not in frame.columns:
            continue
        col = pl.col(column)
        try:
            if kind is ColumnKind.INTEGER:
                try:
                    frame = frame.with_columns(col.cast(pl.Int64))
                except pl.exceptions.InvalidOperationError:
                    frame = frame.with_columns(col.cast(pl.Float64))
            elif kind is ColumnKind.FLOAT:
                frame = frame.with_columns(col.cast(pl.Float64))
            elif kind is ColumnKind.BOOLEAN:
                lowered = frame[column].str.to_lowercase()
                if not lowered.drop_nulls().is_in(["true", "false"]).all():
                    raise ValueError("expected true or false")
                frame = frame.with_columns(col.str.to_lowercase().eq("true").alias(column))
            elif kind is ColumnKind.DATE:
                frame = frame.with_columns(col.str.to_date("%Y-%m-%d"))
            elif kind is ColumnKind.DATETIME:
                frame = frame.with_columns(col.str.to_datetime(time_zone="UTC", time_unit="ms"))
        except (ValueError, pl.exceptions.PolarsError) as exc:
            raise _fail(column, kind, exc) from None
    return frame


def _arrow_column(array: Any, kind: ColumnKind, column: str) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        if kind is ColumnKind.INTEGER:
            return pc.cast(array, pa.int64())
        if kind is ColumnKind.FLOAT:
            return pc.cast(array, pa.float64())
        if kind is ColumnKind.BOOLEAN:
            return pc.equal(pc.utf8_lower(array), "true")
        if kind is ColumnKind.DATE:
            return pc.cast(array, pa.date32())
        if kind is ColumnKind.DATETIME:
            return pc.cast(array, pa.timestamp("ms", tz="UTC"))
    except pa.ArrowInvalid as exc:
        raise _fail(column, kind, exc) from None
    return array


def csv_to_parquet(
    source: Path,
    target: Path,
    kinds_for: Callable[[Sequence[str]], Mapping[str, ColumnKind]],
    delimiter: str = ",",
) -> int:
    """Convert a Bulk query CSV into a typed Parquet file, block by block; returns the rows written.

    ``kinds_for`` gets the header and returns the column kinds. Needs pyarrow.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    target.parent.mkdir(parents=True, exist_ok=True)
    if source.stat().st_size == 0:
        pq.write_table(pa.table({}), target)
        return 0
    with source.open("r", encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle, delimiter=delimiter), [])
    kinds = kinds_for(header)
    reader = pacsv.open_csv(
        source,
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    rows = 0
    writer: Any = None
    try:
        for batch in reader:
            columns = [
                _arrow_column(batch.column(i), kinds.get(name, ColumnKind.TEXT), name)
                for i, name in enumerate(header)
            ]
            table = pa.Table.from_arrays(columns, names=list(header))
            if writer is None:
                schema = pa.schema(
                    [pa.field(name, _arrow_type(kinds.get(name, ColumnKind.TEXT))) for name in header]
                )
                writer = pq.ParquetWriter(target, schema)
            writer.write_table(table.cast(writer.schema))
            rows += table.num_rows
        if writer is None:
            schema = pa.schema(
                [pa.field(name, _arrow_type(kinds.get(name, ColumnKind.TEXT))) for name in header]
            )
            writer = pq.ParquetWriter(target, schema)
    finally:
        if writer is not None:
            writer.close()
    return rows


def _arrow_type(kind: ColumnKind) -> Any:
    import pyarrow as pa

    return {
        ColumnKind.TEXT: pa.string(),
        ColumnKind.INTEGER: pa.int64(),
        ColumnKind.FLOAT: pa.float64(),
        ColumnKind.BOOLEAN: pa.bool_(),
        ColumnKind.DATE: pa.date32(),
        ColumnKind.DATETIME: pa.timestamp("ms", tz="UTC"),
    }[kind]
