"""A batch of plain dicts to Bulk CSV text, a column at a time.

The common input of a load is a run of dicts with the same keys and plain values. Such a batch is
encoded column by column, with no Python code per record: each column's values are picked from every
dict by ``map`` (``operator.itemgetter``, or ``dict.get`` with an empty cell for an absent key), their
types are checked with one ``set(map(type, ...))``, and then, by the column's types:

* text: kept as it is when the column's joined text holds no delimiter, ``"``, CR or LF (one ``in``
  test per special character over the whole column); else the cells holding one are quoted with
  ``"`` doubled. In a one-column file an empty cell is written ``""`` (a blank line is no row);
* ``int``: ``str``; ``float``: ``repr`` when every value is finite (NaN is ``#N/A``);
* ``None``: ``#N/A``; any other value: :func:`~kinetic_core.bulk.codec.encode_value`, an error
  naming the record (1-based) and the field.

The rows are then joined with the delimiter and the line ending (``zip`` and ``str.join``). The text
is exactly what ``csv.writer`` writes of the encoded values (a property test compares them), except
that a lone CR in a value is quoted whatever the line ending (Salesforce reads CR as a line break).
A batch of other items (not dicts, nested relationship values, keys outside the columns) is left to
the record-by-record encoder: :func:`batch_text` returns None.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from itertools import repeat
from operator import itemgetter
from typing import Any

from kinetic_core.bulk.codec import NULL_CELL, RowEncoder, encode_value

_INT = frozenset({int})
_FLOAT = frozenset({float})


class RecordValueError(ValueError):
    """A value of a record cannot be written to a Bulk CSV cell.

    Attributes:
        record: the record's 1-based position in the input.
        field: the field (column) name.
    """

    def __init__(self, record: int, field: str, reason: str) -> None:
        super().__init__(f"record {record}, field {field}: {reason}")
        self.record = record
        self.field = field


def batch_text(
    batch: list[Any], cols: Sequence[str], known: set[str], encoder: RowEncoder, first: int
) -> str | None:
    """The CSV lines of ``batch`` (records ``first``, ``first + 1``... of the input) in the order of
    ``cols``, or None when the batch is not plain dicts with keys among ``known``.

    Raises:
        RecordValueError: a value cannot be encoded (an infinity, bytes), naming record and field.
    """
    if not cols or set(map(type, batch)) != {dict}:
        return None
    columns = _exact_columns(batch, cols)
    if columns is None:
        if not all(map(known.issuperset, batch)):
            return None  # a new key: the column list grows, record by record
        columns = [list(map(dict.get, batch, repeat(c), repeat(""))) for c in cols]
    search = re.compile("[" + re.escape("".join(_specials(encoder))) + "]").search
    specials = _specials(encoder)
    alone = len(cols) == 1
    cells: list[Sequence[str]] = []
    for name, values in zip(cols, columns, strict=True):
        text = _column_cells(values, specials, search, alone, name, first)
        if text is None:
            return None
        cells.append(text)
    eol = encoder.line_ending.chars
    return eol.join(map(encoder.delimiter.char.join, zip(*cells, strict=True))) + eol


def _exact_columns(batch: list[dict[str, Any]], cols: Sequence[str]) -> list[list[Any]] | None:
    """Every column picked by ``itemgetter`` when each dict has exactly the keys ``cols``; else None."""
    if set(map(len, batch)) != {len(cols)}:
        return None
    try:
        return [list(map(itemgetter(c), batch)) for c in cols]
    except KeyError:
        return None


def _specials(encoder: RowEncoder) -> tuple[str, ...]:
    return (encoder.delimiter.char, '"', "\r", "\n")


def _column_cells(
    values: Sequence[Any],
    specials: tuple[str, ...],
    search: Callable[[str], object],
    alone: bool,
    name: str,
    first: int,
) -> Sequence[str] | None:
    try:
        joined = "".join(values)  # only text joins: no type test needed for a text column
    except TypeError:
        kinds = set(map(type, values))
        if kinds == _INT:
            return list(map(str, values))
        if any(issubclass(kind, dict) for kind in kinds):
            return None  # nested relationships: flattened record by record
        values = _encoded(values, kinds, name, first)
        joined = "".join(values)
    if not any(special in joined for special in specials) and not (alone and "" in values):
        return values
    found = list(map(search, values))  # a match object for each cell that needs quotes
    if alone:
        found = [m or not v for m, v in zip(found, values, strict=True)]
    return ['"' + v.replace('"', '""') + '"' if m else v for v, m in zip(values, found, strict=True)]


def _encoded(values: Sequence[Any], kinds: set[type], name: str, first: int) -> list[str]:
    """The text of a column holding other than only text or only ints."""
    if kinds == _FLOAT and all(map(math.isfinite, values)):
        return list(map(repr, values))
    encode: Callable[[Any], str] = encode_value
    out: list[str] = []
    for number, value in enumerate(values, first):
        if value is None:
            out.append(NULL_CELL)
        elif type(value) is str:
            out.append(value)
        else:
            try:
                out.append(encode(value))
            except (ValueError, TypeError) as exc:
                raise RecordValueError(number, name, str(exc)) from None
    return out
