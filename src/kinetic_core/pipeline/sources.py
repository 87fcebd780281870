"""Pipeline sources: CSV, JSON lines, iterables of dicts, pandas/polars DataFrames, SQL (SQLAlchemy).

Every source streams :class:`~kinetic_core.pipeline.csvsource.RawRow` items: a 1-based row number and
a dict (or the reason the row is unusable). Nothing is read whole into memory.

Values follow :mod:`kinetic_core.inputs.normalise`, the one set of rules of every load: CSV cells follow the
Bulk convention (empty = leave unchanged, ``#N/A`` = clear), column names are trimmed and the columns
our result files add (``sf__*``, ``kc__*``) are left out. For sources with real nulls (JSON ``null``,
SQL ``NULL``, DataFrame NaN/NaT/None) ``nulls="absent"`` (the default) drops the key, so the field is
left unchanged; ``nulls="null"`` keeps ``None``, which clears it.

A resumed run reads its source again from the start and skips the rows already done, so the source
must give the same rows in the same order (for SQL: use ``ORDER BY``).
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from kinetic_core.inputs import (
    InputKind,
    frame_column_names,
    frame_kind,
    frame_length,
    frame_rows,
    input_kind,
)
from kinetic_core.inputs.normalise import clean_columns, is_missing, python_value
from kinetic_core.pipeline.config import SourceConfig
from kinetic_core.pipeline.csvsource import CsvLayout, RawRow, SourceError, inspect_csv, iter_csv


class Source(Protocol):
    """What the pipeline needs from a source."""

    columns: tuple[str, ...] | None
    """The known column names (CSV header), or None."""

    def rows(self) -> Iterator[RawRow]:
        """Stream the rows from the start."""
        ...

    def identity(self) -> dict[str, Any]:
        """A JSON-ready description used to check that a resumed run reads the same source."""
        ...

    def describe(self) -> str:
        """A short human description."""
        ...


def clean_record(record: Mapping[str, Any], nulls: str = "absent") -> dict[str, Any]:
    """Apply the null rule to one record and turn numpy/pandas scalars into Python values.

    Example:
        >>> clean_record({"a": 1, "b": None}), clean_record({"a": 1, "b": None}, "null")
        ({'a': 1}, {'a': 1, 'b': None})
    """
    out: dict[str, Any] = {}
    for key, value in record.items():
        if is_missing(value):
            if nulls == "null":
                out[str(key)] = None
            continue
        out[str(key)] = python_value(value)
    return out


def _file_identity(path: Path) -> dict[str, Any]:
    digest = hashlib.blake2b(digest_size=12)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            digest.update(handle.read(64 * 1024))
    except OSError:
        size = -1
    return {"path": str(path.resolve()), "size": size, "head": digest.hexdigest()}


class CsvSource:
    """A CSV file (see :mod:`kinetic_core.pipeline.csvsource`).

    Example:
        >>> source = CsvSource(Path("contacts.csv"), required_columns=("email",))  # doctest: +SKIP
        >>> source.columns                                                          # doctest: +SKIP
        ('first_name', 'last_name', 'email')
    """

    def __init__(
        self,
        path: Path,
        *,
        encoding: str = "auto",
        delimiter: str = "auto",
        required_columns: tuple[str, ...] = (),
    ) -> None:
        self.path = Path(path)
        self.layout: CsvLayout = inspect_csv(self.path, encoding, delimiter, required_columns)
        self.columns: tuple[str, ...] | None = self.layout.columns

    def rows(self) -> Iterator[RawRow]:
        return iter_csv(self.layout)

    def identity(self) -> dict[str, Any]:
        return {"type": "csv", **_file_identity(self.path)}

    def describe(self) -> str:
        delim = {"\t": "tab"}.get(self.layout.delimiter, repr(self.layout.delimiter))
        return (
            f"CSV {self.path} ({self.layout.encoding}, delimiter {delim}, {len(self.layout.columns)} columns)"
        )


class JsonLinesSource:
    """A JSON-lines file: one object per line; the row number is the line number."""

    def __init__(self, path: Path, *, nulls: str = "absent") -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"source file not found: {self.path}")
        self.nulls = nulls
        self.columns: tuple[str, ...] | None = None

    def rows(self) -> Iterator[RawRow]:
        with self.path.open("r", encoding="utf-8-sig") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except ValueError as exc:
                    yield RawRow(number, None, f"invalid JSON: {exc}")
                    continue
                if not isinstance(value, Mapping):
                    yield RawRow(number, None, f"expected a JSON object, got {type(value).__name__}")
                    continue
                yield RawRow(number, clean_record(value, self.nulls))

    def identity(self) -> dict[str, Any]:
        return {"type": "jsonl", **_file_identity(self.path)}

    def describe(self) -> str:
        return f"JSON lines {self.path}"


class IterableSource:
    """Any iterable of dicts. Resuming needs an iterable that can be read again in the same order."""

    def __init__(self, records: Iterable[Mapping[str, Any]], *, nulls: str = "absent") -> None:
        self.records = records
        self.nulls = nulls
        self.columns: tuple[str, ...] | None = None
        self.reiterable = iter(records) is not records

    def rows(self) -> Iterator[RawRow]:
        for number, record in enumerate(self.records, 1):
            if not isinstance(record, Mapping):
                yield RawRow(number, None, f"expected a dict, got {type(record).__name__}")
                continue
            yield RawRow(number, clean_record(record, self.nulls))

    def identity(self) -> dict[str, Any]:
        return {"type": "iterable", "class": type(self.records).__name__}

    def describe(self) -> str:
        return f"{type(self.records).__name__} of records"


class DataFrameSource:
    """A pandas or polars DataFrame or a pyarrow Table, read row by row."""

    def __init__(self, frame: Any, *, nulls: str = "absent") -> None:
        self.frame = frame
        self.nulls = nulls
        self.header = clean_columns(frame_column_names(frame))
        self.columns: tuple[str, ...] | None = self.header.names
        self.flavour = frame_kind(frame) or "pandas"

    def rows(self) -> Iterator[RawRow]:
        names, keep = self.header.names, self.header.keep
        for number, values in enumerate(frame_rows(self.frame), 1):
            record = {name: values[position] for name, position in zip(names, keep, strict=True)}
            yield RawRow(number, clean_record(record, self.nulls))

    def identity(self) -> dict[str, Any]:
        return {"type": self.flavour, "columns": list(self.columns or ()), "rows": frame_length(self.frame)}

    def describe(self) -> str:
        rows, columns = frame_length(self.frame), len(self.columns or ())
        what = "table" if self.flavour == "arrow" else "DataFrame"
        return f"{self.flavour} {what} ({rows} rows, {columns} columns)"


class SqlSource:
    """The rows of a SQL query through SQLAlchemy (``pip install kinetic-core[sql]``), streamed.

    Example:
        >>> SqlSource("sqlite:///crm.db", "SELECT * FROM people ORDER BY id")  # doctest: +SKIP
    """

    def __init__(self, url: str, query: str, *, nulls: str = "absent") -> None:
        try:
            self._sa = importlib.import_module("sqlalchemy")
        except ImportError:
            raise SourceError("a sql source needs SQLAlchemy: pip install 'kinetic-core[sql]'") from None
        self.url = url
        self.query = query
        self.nulls = nulls
        self.columns: tuple[str, ...] | None = None

    def rows(self) -> Iterator[RawRow]:
        sa = self._sa
        try:
            engine = sa.create_engine(self.url)
        except Exception as exc:
            raise SourceError(f"sql source: cannot use {self._safe_url()}: {exc}") from None
        try:
            with engine.connect() as conn:
                try:
                    result = conn.execution_options(stream_results=True).execute(sa.text(self.query))
                except sa.exc.SQLAlchemyError as exc:
                    raise SourceError(f"sql source: {type(exc).__name__}: {exc.args[0]}") from None
                for number, mapping in enumerate(result.mappings(), 1):
                    yield RawRow(number, clean_record(dict(mapping), self.nulls))
        finally:
            engine.dispose()

    def _safe_url(self) -> str:
        try:
            return str(self._sa.engine.make_url(self.url).render_as_string(hide_password=True))
        except Exception:
            return "the database URL"

    def identity(self) -> dict[str, Any]:
        return {"type": "sql", "url": self._safe_url(), "query": self.query}

    def describe(self) -> str:
        return f"SQL query on {self._safe_url()}"


def source_from_config(config: SourceConfig) -> Source:
    """Open the source a ``SourceConfig`` describes (the header is checked now)."""
    if config.type == "csv":
        assert config.path is not None
        return CsvSource(
            config.path,
            encoding=config.encoding,
            delimiter=config.delimiter,
            required_columns=config.required_columns,
        )
    if config.type == "jsonl":
        assert config.path is not None
        return JsonLinesSource(config.path, nulls=config.nulls)
    assert config.url is not None
    assert config.query is not None
    return SqlSource(config.url, config.query, nulls=config.nulls)


def open_source(obj: Any) -> Source:
    """A source from a ``SourceConfig``, a file path (``.csv``, ``.jsonl``), a DataFrame or an iterable.

    Example:
        >>> open_source([{"Name": "Acme"}]).describe()
        'list of records'
    """
    if isinstance(obj, SourceConfig):
        return source_from_config(obj)
    if hasattr(obj, "rows") and hasattr(obj, "identity"):
        source: Source = obj
        return source
    kind = input_kind(obj)
    if kind is InputKind.CSV_PATH:
        path = Path(obj)
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            return JsonLinesSource(path)
        return CsvSource(path)
    if kind is InputKind.FRAME:
        return DataFrameSource(obj)
    if kind is InputKind.FILE_OBJECT:
        raise TypeError("a pipeline reads its source again to resume: pass the file's path, not an open file")
    return IterableSource(obj)
