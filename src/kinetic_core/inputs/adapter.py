"""The one input adapter: what kind of input a load was given, and how to read it.

Every way into Salesforce (Bulk API 2.0 jobs, the router's REST and Composite paths, sync pipelines)
accepts the same inputs and asks this module what they are:

==========================  ====================================================================
Input                       :class:`InputKind`
==========================  ====================================================================
``str`` / ``Path``          ``CSV_PATH``: a CSV file, streamed as it is to Bulk
an open file object         ``FILE_OBJECT``: CSV text or bytes; copied once to a file
                            (:func:`spool_file_object`), then read as a CSV file
pandas / polars DataFrame   ``FRAME`` (:func:`frame_kind` says which library)
pyarrow ``Table``           ``FRAME`` (``"arrow"``)
iterable of dicts / ids     ``RECORDS``
==========================  ====================================================================

A frame is detected from its type's module, so neither pandas, polars nor pyarrow is imported here.
Values keep the meaning of :mod:`kinetic_core.inputs.normalise`, whatever the kind.

:data:`LoadInput` is the same table as a type, for the signatures of the calls that take an input
(``SalesforceClient.load``): the frames and the file object are the protocols of what is read of
them, so a type checker accepts a pandas or polars DataFrame, an Arrow table, ``open(...)``,
``io.StringIO`` or ``io.BytesIO`` without this module importing any of them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeAlias

from kinetic_core.inputs.normalise import clean_columns, load_record

SPOOL_CHUNK = 1024 * 1024
"""Bytes copied at a time from a file object to its spool file."""


class InputKind(enum.StrEnum):
    """The kinds of input every load accepts."""

    CSV_PATH = "csv_path"
    FILE_OBJECT = "file_object"
    FRAME = "frame"
    RECORDS = "records"


class ReadableFile(Protocol):
    """An open file object of CSV text or bytes: what a load reads of it is ``read(size)``."""

    def read(self, size: int = ..., /) -> str | bytes: ...


class PandasFrame(Protocol):
    """A pandas DataFrame, as a load reads it (its columns, its rows as tuples)."""

    @property
    def columns(self) -> Iterable[Any]: ...

    def itertuples(self) -> Iterable[tuple[Any, ...]]: ...


class PolarsFrame(Protocol):
    """A polars DataFrame, as a load reads it (its columns, its rows as tuples)."""

    @property
    def columns(self) -> Iterable[Any]: ...

    def iter_rows(self) -> Iterable[tuple[Any, ...]]: ...


class ArrowTable(Protocol):
    """A pyarrow Table, as a load reads it (its column names, its record batches)."""

    @property
    def column_names(self) -> Iterable[Any]: ...

    def to_batches(self) -> Iterable[Any]: ...


LoadInput: TypeAlias = (
    str
    | Path
    | ReadableFile
    | PandasFrame
    | PolarsFrame
    | ArrowTable
    | Iterable[Mapping[str, Any]]
    | Iterable[str]
)
"""What a load accepts (see the table above): a CSV path, an open CSV file, a DataFrame or Arrow
table, records as mappings of field -> value, or record ids (deletes).

Example:
    >>> def nightly(client: "SalesforceClient", rows: LoadInput) -> None:  # doctest: +SKIP
    ...     client.load("Contact", rows, operation="upsert", external_id_field="Ext__c")
"""


def frame_kind(obj: Any) -> str | None:
    """``"pandas"``, ``"polars"`` or ``"arrow"`` for a DataFrame or Arrow table, else None.

    The one DataFrame detector of the library (no import of pandas, polars or pyarrow).

    Example:
        >>> frame_kind([{"Name": "Acme"}]) is None
        True
    """
    module = type(obj).__module__ or ""
    if module.startswith("pandas") and hasattr(obj, "itertuples") and hasattr(obj, "columns"):
        return "pandas"
    if module.startswith("polars") and hasattr(obj, "iter_rows") and hasattr(obj, "columns"):
        return "polars"
    if module.startswith("pyarrow") and hasattr(obj, "to_batches") and hasattr(obj, "column_names"):
        return "arrow"
    return None


def is_dataframe(obj: Any) -> bool:
    """True for a pandas or polars DataFrame or a pyarrow Table."""
    return frame_kind(obj) is not None


def is_file_object(obj: Any) -> bool:
    """True for an open file object (text or binary) read with ``read()``."""
    return callable(getattr(obj, "read", None)) and not isinstance(obj, str | bytes | Path)


def input_kind(obj: Any) -> InputKind:
    """What ``obj`` is as a load's input.

    Raises:
        TypeError: a single dict (a load takes an iterable of records), or something not iterable.

    Example:
        >>> input_kind("contacts.csv"), input_kind([{"LastName": "Ng"}])
        (<InputKind.CSV_PATH: 'csv_path'>, <InputKind.RECORDS: 'records'>)
    """
    if isinstance(obj, str | Path):
        return InputKind.CSV_PATH
    if frame_kind(obj) is not None:
        return InputKind.FRAME
    if is_file_object(obj):
        return InputKind.FILE_OBJECT
    if isinstance(obj, Mapping):
        raise TypeError("pass an iterable of records, not a single dict")
    if isinstance(obj, Iterable) and not isinstance(obj, bytes):
        return InputKind.RECORDS
    raise TypeError(f"cannot read records from {type(obj).__name__}")


def spool_file_object(handle: Any, path: Path) -> Path:
    """Copy an open file object (text or bytes) to ``path`` as UTF-8 bytes; returns ``path``.

    Example:
        >>> import io, tempfile                                                  # doctest: +SKIP
        >>> spool_file_object(io.StringIO("LastName\\nNg\\n"), Path(tmp, "in.csv"))  # doctest: +SKIP
    """
    with path.open("wb") as out:
        while chunk := handle.read(SPOOL_CHUNK):
            out.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
    return path


def frame_length(frame: Any) -> int:
    """Rows of a DataFrame or Arrow table."""
    return int(frame.num_rows) if frame_kind(frame) == "arrow" else len(frame)


def frame_rows(frame: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of a DataFrame or Arrow table as tuples of Python values, in column order."""
    kind = frame_kind(frame)
    if kind == "pandas":
        yield from frame.itertuples(index=False, name=None)
    elif kind == "polars":
        yield from frame.iter_rows()
    elif kind == "arrow":
        for batch in frame.to_batches():
            yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)
    else:
        raise TypeError(f"{type(frame).__name__} is not a DataFrame")


def frame_column_names(frame: Any) -> list[str]:
    """A frame's column labels as text."""
    labels = frame.column_names if frame_kind(frame) == "arrow" else frame.columns
    return [str(c) for c in labels]


def frame_columns(frame: Any) -> Any:
    """The frame with its columns trimmed and our result files' columns left out (a copy if needed)."""
    labels = list(frame.column_names if frame_kind(frame) == "arrow" else frame.columns)
    header = clean_columns(labels)
    if header.names == tuple(labels) and not header.dropped:
        return frame
    kept = [labels[i] for i in header.keep]
    kind = frame_kind(frame)
    if kind == "polars":
        return frame.select(kept).rename(dict(zip(kept, header.names, strict=True)))
    if kind == "arrow":
        return frame.select(kept).rename_columns(list(header.names))
    out = frame[kept].copy()
    out.columns = list(header.names)
    return out


def frame_records(frame: Any) -> Iterator[dict[str, Any]]:
    """Frame rows as the records REST and Composite send (:func:`load_record`, dotted columns nested)."""
    names = frame_column_names(frame)
    for values in frame_rows(frame):
        yield nest(load_record(dict(zip(names, values, strict=True))))


def frame_index_labels(records: Any) -> list[Any] | None:
    """A pandas DataFrame's index labels when its index is not the default ``RangeIndex(0, n, 1)``.

    polars frames and Arrow tables (no index), other inputs and default indexes give None: there the
    1-based row number says it all.

    Example:
        >>> import pandas as pd  # doctest: +SKIP
        >>> frame_index_labels(pd.DataFrame({"Name": ["a", "b"]}, index=[10, 20]))  # doctest: +SKIP
        [10, 20]
    """
    if frame_kind(records) != "pandas":
        return None
    index = records.index
    if type(index).__name__ == "RangeIndex" and index.start == 0 and index.step == 1:
        return None
    return [label.item() if hasattr(label, "item") else label for label in index]


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Turn relationship columns (``Account.External_Id__c``) into the nested form REST expects.

    A dotted key whose parent already holds a plain value is kept as it is (nothing is overwritten).

    Example:
        >>> nest({"LastName": "Ng", "Account.External_Id__c": "A1"})
        {'LastName': 'Ng', 'Account': {'External_Id__c': 'A1'}}
    """
    out: dict[str, Any] = {}
    for name, value in flat.items():
        parts = name.split(".")
        if len(parts) < 2 or not all(parts):
            out[name] = value
            continue
        node: Any = out
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                node = None
                break
            node = child
        if node is None:
            out[name] = value
        else:
            node[parts[-1]] = value
    return out


__all__ = [
    "ArrowTable",
    "InputKind",
    "LoadInput",
    "PandasFrame",
    "PolarsFrame",
    "ReadableFile",
    "frame_column_names",
    "frame_columns",
    "frame_index_labels",
    "frame_kind",
    "frame_length",
    "frame_records",
    "frame_rows",
    "input_kind",
    "is_dataframe",
    "is_file_object",
    "nest",
    "spool_file_object",
]
