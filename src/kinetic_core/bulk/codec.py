"""CSV encoding of records for Bulk API 2.0 ingest.

Value rules (the Salesforce formats, see ``salesforce-api.md`` E.9; defined once, for every API, in
:mod:`kinetic_core.inputs.normalise`):

* ``None`` (and NaN, NaT, NA) -> ``#N/A`` (sets the field to null); a key that is absent from a
  record -> an empty cell (field left unchanged). An empty string is also an
  empty cell: Bulk API 2.0 cannot express "set to empty string".
* ``True``/``False`` -> ``true``/``false``.
* ``date`` -> ``YYYY-MM-DD``; ``datetime`` -> ``YYYY-MM-DDTHH:MM:SS.fffZ`` in UTC.
  Aware datetimes are converted to UTC; **naive datetimes are taken as UTC**.
  ``time`` -> ``HH:MM:SS.fffZ``.
* ``Decimal`` -> plain notation (no exponent); ``int`` as is; ``float`` by
  ``repr`` (NaN is null; infinities are refused).
* Nested mappings become dotted columns: ``{"Account": {"External_Id__c": "A1"}}``
  -> column ``Account.External_Id__c``. ``attributes`` keys (REST record
  metadata) are dropped.
* Anything else goes through ``str()`` (str Enums through their value).

A cell is quoted only when it contains the delimiter, a double quote, CR or LF;
quotes are doubled. Byte counts are the length of the exact UTF-8 bytes written,
quotes, delimiters and line endings included.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kinetic_core.bulk.models import ColumnDelimiter, LineEnding
from kinetic_core.inputs.normalise import NULL_TEXT, salesforce_text

NULL_CELL = NULL_TEXT


encode_value = salesforce_text
"""Encode one Python value as the text of a Bulk CSV cell (before quoting); the rules are those of
:mod:`kinetic_core.inputs.normalise`, shared with the REST and Composite paths."""


def flatten_record(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested relationship mappings into dotted keys.

    Example:
        >>> flatten_record({"Name": "A", "Account": {"External_Id__c": "A1"}})
        {'Name': 'A', 'Account.External_Id__c': 'A1'}
    """
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_record(value, name + "."))
        else:
            flat[name] = value
    return flat


def encode_record(record: Mapping[str, Any]) -> dict[str, str]:
    """Flatten and encode every value of one record (absent keys stay absent)."""
    return {key: encode_value(value) for key, value in flatten_record(record).items()}


def row_key(cells: Sequence[str]) -> bytes:
    """A 16-byte digest identifying a row by its cell values (used to map results back).

    ``["a,b"]`` and ``["a", "b"]`` differ: cells are joined with a unit separator, and when a
    cell itself contains one the cells are length-prefixed instead.
    """
    return packed_key(pack_cells(cells))


def packed_key(packed: str) -> bytes:
    """:func:`row_key` of cells already packed by :func:`pack_cells`."""
    return hashlib.blake2b(packed.encode("utf-8", "surrogatepass"), digest_size=16).digest()


_SEP = "\x1f"
_JSON_MARK = "\x1e"


def pack_cells(cells: Sequence[str]) -> str:
    """An unambiguous one-string form of a cell list (see :func:`unpack_cells`)."""
    joined = _SEP.join(cells)
    if joined.count(_SEP) == len(cells) - 1 and not joined.startswith(_JSON_MARK) and cells:
        return joined
    return _JSON_MARK + json.dumps(list(cells), ensure_ascii=False)


def unpack_cells(text: str) -> list[str]:
    """The inverse of :func:`pack_cells`."""
    if text.startswith(_JSON_MARK):
        return list(json.loads(text[1:]))
    return text.split(_SEP)


class RowEncoder:
    """Turns cell lists into CSV lines for one delimiter and line ending.

    Example:
        >>> enc = RowEncoder(ColumnDelimiter.COMMA, LineEnding.LF)
        >>> enc.line(["a", "x,y"])
        'a,"x,y"\\n'
    """

    def __init__(self, delimiter: ColumnDelimiter, line_ending: LineEnding) -> None:
        self.delimiter = delimiter
        self.line_ending = line_ending
        self._sep = delimiter.char
        self._eol = line_ending.chars
        self._specials = (self._sep, '"', "\r", "\n")

    def cell(self, text: str) -> str:
        """Quote ``text`` if it needs it."""
        for special in self._specials:
            if special in text:
                return '"' + text.replace('"', '""') + '"'
        return text

    def line(self, cells: Iterable[str]) -> str:
        """One CSV line, line ending included (a lone empty cell is written ``""``: a blank line is
        no row)."""
        text = self._sep.join(self.cell(c) for c in cells)
        return (text or '""') + self._eol

    def encode(self, cells: Iterable[str]) -> bytes:
        """The exact UTF-8 bytes of :meth:`line`."""
        return self.line(cells).encode("utf-8")


def cells_for(columns: Sequence[str], encoded: Mapping[str, str]) -> list[str]:
    """Cells of an encoded record in column order (absent -> empty cell)."""
    return [encoded.get(column, "") for column in columns]
