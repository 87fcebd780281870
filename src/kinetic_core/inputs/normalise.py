"""One meaning for load input, whatever API carries it: the normalisation rules in one place.

A load's input is CSV text (a file) or Python values (dicts, DataFrame cells). Before the router
picks REST, Composite or Bulk API 2.0, both are given the meaning a Bulk API 2.0 job gives its CSV,
so that the same input has the same outcome through every API:

=============================  ==================================================================
Input                          Meaning
=============================  ==================================================================
header name `` Name ``         ``Name``: spaces around a column name are removed
header ``sf__*``, ``kc__*``    dropped (columns our result files add), with an INFO log
empty CSV cell, ``""`` value   absent: the field is left unchanged
``#N/A`` (cell or value)       null: the field is cleared
None, NaN, NaT, NA             null
``True`` / ``False``           ``true`` / ``false``
datetime                       ``YYYY-MM-DDTHH:MM:SS.fffZ`` in UTC; a naive datetime is taken as UTC
date / time                    ``YYYY-MM-DD`` / ``HH:MM:SS.fffZ``
Decimal, float, int            plain digits (a float by ``repr``); infinities are refused
numpy / pandas scalars         their Python value
other text                     as it is (not trimmed)
row with too few/many cells    a row error ``INVALID_ROW`` naming the row and the counts
quote never closed             a row error ``INVALID_ROW`` for the row it opens (it runs to the end)
=============================  ==================================================================

:func:`salesforce_text` is the text of a value in a Bulk CSV cell (the Bulk codec writes it);
:func:`load_value` is the value the REST and Composite paths send, which Salesforce reads exactly as
it reads that text. CSV readers share :func:`clean_header` and :func:`csv_record`.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kinetic_core.csvread import read_rows

logger = logging.getLogger(__name__)

NULL_TEXT = "#N/A"
"""The Bulk API 2.0 cell that sets a field to null."""
RESULT_PREFIXES = ("sf__", "kc__")
"""Columns our result files add to the input's columns (``sf__Id``, ``sf__Error``, ``kc__RowNumber``)."""
INVALID_ROW = "INVALID_ROW"
"""The error code of a row that cannot be read (wrong number of cells, a quote never closed)."""


class _Absent:
    """The marker of a value that means "leave the field unchanged" (the key is dropped)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


def is_missing(value: Any) -> bool:
    """True for None, NaN and pandas' NaT / NA (without importing pandas or numpy).

    Example:
        >>> [is_missing(v) for v in (None, float("nan"), 0, "")]
        [True, True, False, False]
    """
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str | int):
        return False
    if type(value).__name__ in ("NaTType", "NAType"):
        return True
    try:
        return bool(value != value)  # numpy NaN, NaT
    except (TypeError, ValueError):
        return False


def python_value(value: Any) -> Any:
    """A numpy or pandas scalar as its Python value (a pandas ``Timestamp`` as a ``datetime``)."""
    to_py = getattr(value, "to_pydatetime", None)
    if callable(to_py):
        return to_py()
    module = type(value).__module__ or ""
    item = getattr(value, "item", None)
    if callable(item) and module.startswith("numpy"):
        return item()
    return value


def _datetime_text(value: dt.datetime) -> str:
    if value.tzinfo is not None and value.utcoffset() is not None:
        value = value.astimezone(dt.UTC)
    # isoformat pads the year to four digits (strftime does not, on every platform) and truncates
    # to milliseconds
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def salesforce_text(value: Any) -> str:
    """The text of one value in a Bulk API 2.0 CSV cell (before quoting).

    Raises:
        ValueError: a non-finite number. TypeError: bytes (binary values cannot be loaded as CSV).

    Example:
        >>> salesforce_text(None), salesforce_text(True), salesforce_text(dt.date(2024, 2, 29))
        ('#N/A', 'true', '2024-02-29')
        >>> salesforce_text(float("nan")), salesforce_text(""), salesforce_text(Decimal("1E+2"))
        ('#N/A', '', '100')
        >>> salesforce_text(dt.datetime(2024, 1, 31, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))))
        '2024-01-31T10:00:00.000Z'
    """
    if isinstance(value, str):
        return value
    if is_missing(value):
        return NULL_TEXT
    if isinstance(value, enum.Enum):
        return salesforce_text(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, dt.datetime):
        return _datetime_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot encode non-finite Decimal {value!r}")
        return format(value, "f")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot encode non-finite float {value!r}")
        return repr(value)
    if isinstance(value, bytes | bytearray):
        raise TypeError("binary values cannot be loaded through Bulk API 2.0 CSV")
    plain = python_value(value)
    if plain is not value:
        return salesforce_text(plain)
    return str(value)


def load_value(value: Any) -> Any:
    """The value a REST or Composite load sends for ``value``: what a Bulk job reads from its cell.

    ``ABSENT`` means "leave the field out". Booleans, whole numbers and finite floats stay JSON
    values; dates, datetimes (naive taken as UTC), times and decimals become their Salesforce text.

    Example:
        >>> load_value(""), load_value("#N/A"), load_value(float("nan")), load_value(1.5)
        (ABSENT, None, None, 1.5)
        >>> load_value(dt.datetime(2024, 1, 31, 10, 0))
        '2024-01-31T10:00:00.000Z'
    """
    if isinstance(value, str):
        if value == "":
            return ABSENT
        return None if value == NULL_TEXT else value
    if is_missing(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        salesforce_text(value)  # refuses infinities
        return value
    if isinstance(value, Mapping):
        return load_record(value)
    plain = python_value(value)
    if plain is not value:
        return load_value(plain)
    return load_value(salesforce_text(value))


def load_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`load_value` applied to every value; absent values are left out (nested mappings too).

    Example:
        >>> load_record({"Name": "A", "Phone": "", "Fax": "#N/A", "Account": {"Ext__c": "X1"}})
        {'Name': 'A', 'Fax': None, 'Account': {'Ext__c': 'X1'}}
    """
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        normal = load_value(value)
        if normal is not ABSENT:
            out[str(key)] = normal
    return out


@dataclass(frozen=True)
class Header:
    """A CSV header after :func:`clean_header`.

    Attributes:
        names: the kept column names, trimmed.
        keep: the position of each kept column in the file's rows.
        width: the number of columns in the file (kept or not).
        dropped: the result columns left out.
    """

    names: tuple[str, ...]
    keep: tuple[int, ...]
    width: int
    dropped: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """True when rows must be rewritten to match the names (a column was dropped)."""
        return bool(self.dropped)


def is_result_column(name: str) -> bool:
    """True for the columns our result files add (``sf__*``, ``kc__*``).

    Example:
        >>> is_result_column("kc__RowNumber"), is_result_column("Name")
        (True, False)
    """
    return name.strip().startswith(RESULT_PREFIXES)


def clean_header(names: Sequence[str], where: str | None = None) -> Header:
    """Trim the column names and drop the columns of our result files (logged at INFO, naming
    ``where``, when it is given).

    Example:
        >>> clean_header(["sf__Id", "sf__Error", " Name ", "kc__RowNumber"]).names
        ('Name',)
    """
    kept: list[str] = []
    keep: list[int] = []
    dropped: list[str] = []
    for position, name in enumerate(names):
        if is_result_column(name):
            dropped.append(name.strip())
            continue
        kept.append(name.strip())
        keep.append(position)
    if dropped and where is not None:
        logger.info(
            "%s: ignoring column(s) %s added by an earlier load's result file", where, ", ".join(dropped)
        )
    return Header(tuple(kept), tuple(keep), len(names), tuple(dropped))


def shape_problem(cells: Sequence[str], width: int) -> str | None:
    """Why a CSV row cannot be read against a header of ``width`` columns (None when it can).

    Example:
        >>> shape_problem(["a"], 2)
        'the row has 1 cell(s), the header has 2 column(s)'
    """
    if len(cells) != width:
        return f"the row has {len(cells)} cell(s), the header has {width} column(s)"
    return None


UNBALANCED_QUOTE = "the row has an unbalanced double quote (a quoted value is never closed)"


def csv_record(header: Header, cells: Sequence[str]) -> dict[str, str | None] | str:
    """One CSV row as a record (empty cell: absent, ``#N/A``: None), or why it cannot be read.

    Example:
        >>> csv_record(clean_header(["Name", "Phone", "Fax"]), ["A", "", "#N/A"])
        {'Name': 'A', 'Fax': None}
        >>> csv_record(clean_header(["Name", "Phone"]), ["A"])
        'the row has 1 cell(s), the header has 2 column(s)'
    """
    problem = shape_problem(cells, header.width)
    if problem is not None:
        return problem
    record: dict[str, str | None] = {}
    for name, position in zip(header.names, header.keep, strict=True):
        value = cells[position]
        if value != "":
            record[name] = None if value == NULL_TEXT else value
    return record


def clean_columns(columns: Iterable[Any], where: str = "the DataFrame") -> Header:
    """:func:`clean_header` for a DataFrame's columns (any column labels, as text)."""
    return clean_header([str(c) for c in columns], where)


@dataclass(frozen=True)
class CsvRow:
    """One data row of a CSV file, read by :func:`csv_rows`.

    Attributes:
        number: 1-based data row (blank lines are not counted).
        cells: the row's cells as parsed.
        record: the record (:func:`csv_record`), or the reason the row cannot be read.
    """

    number: int
    cells: list[str]
    record: dict[str, str | None] | str

    @property
    def error(self) -> str | None:
        """Why the row cannot be read (None when it can)."""
        return self.record if isinstance(self.record, str) else None


def csv_rows(
    lines: Iterable[str], delimiter: str, header: Header, *, records: bool = True
) -> Iterator[CsvRow]:
    r"""Read the data rows from ``lines`` (the text after the header line, line endings kept).

    Empty lines are skipped and not counted. A row whose number of cells differs from the header's
    comes with that reason instead of a record. So does a row with an unbalanced double quote (an odd
    number of them): when its quoted value ran on over the following lines, only its first line is
    that row, and the lines after it are read again as rows of their own. With ``records=False`` a
    readable row's record is left empty (a quicker pass that only checks the rows).

    Example:
        >>> lines = ["A,1\n", "\n", "B\n", 'C,"3\n', "D,4\n"]
        >>> [r.record for r in csv_rows(lines, ",", clean_header(["N", "P"]))]  # doctest: +ELLIPSIS
        [{'N': 'A', 'P': '1'}, 'the row has 1 cell(s), ...', 'the row has an unbalanced...', {'N': 'D', ...}]
    """
    source = iter(lines)
    again: list[str] = []  # lines to read again (after a row with an unbalanced quote)
    taken: list[str] = []  # the lines of the record being read

    def feed() -> Iterator[str]:
        while True:
            line = again.pop(0) if again else next(source, None)
            if line is None:
                return
            taken.append(line)
            yield line

    number = 0
    restart = True
    while restart:
        restart = False
        taken.clear()
        for cells in read_rows(feed(), delimiter):
            record_lines = taken[:]
            taken.clear()
            if not cells:
                continue
            number += 1
            quotes = (
                record_lines[0].count('"')
                if len(record_lines) == 1
                else sum(line.count('"') for line in record_lines)
            )
            if quotes % 2 == 0:
                if records:
                    yield CsvRow(number, cells, csv_record(header, cells))
                else:
                    problem = shape_problem(cells, header.width)
                    yield CsvRow(number, cells, problem if problem is not None else {})
                continue
            if len(record_lines) > 1:  # its own cells: those of its first line
                cells = next(read_rows([record_lines[0].rstrip("\r\n")], delimiter), cells)
            yield CsvRow(number, cells, UNBALANCED_QUOTE)
            if len(record_lines) > 1:
                again[:0] = record_lines[1:]
                restart = True
                break
