"""Conversions between stored values (see ``schema``) and API values: REST JSON and Bulk CSV.

Inbound (``from_json`` / ``from_csv``) validate and raise :class:`ApiError` with Salesforce's codes;
outbound (``to_json`` / ``to_csv``) never fail. For the store's hot loops, ``json_converter`` and
``csv_converter`` return the per-field function once, so a 100,000-row load does not re-dispatch on
the field type for every cell.

Formats: JSON datetime ``2021-11-06T17:38:40.000+0000``; CSV datetime ``2021-11-06T17:38:40.000Z``;
dates ``YYYY-MM-DD``; times ``HH:MM:SS.fffZ``; booleans ``true``/``false``. An empty CSV cell means
"leave unchanged" (:data:`UNCHANGED`), ``#N/A`` means null. Empty strings in text fields are null.

Decisions marked [I] (leniency of the JSON reader, CSV booleans ``1``/``0``, Java-style doubles in CSV):
JSON strings are accepted for numbers and booleans (``"12"``, ``"true"``) and numbers/booleans for text
fields, as Salesforce's deserializer does; CSV numbers print like Java's ``Double.toString``, with every
digit of the exact value (see :mod:`numbers`: number, currency and percent values are kept as sent).

Example:
    >>> from kinetic_core.emulator.store.schema import FieldDef, FieldType
    >>> f = FieldDef("CreatedDate", FieldType.DATETIME)
    >>> to_json(f, from_csv(f, "2021-11-06T19:38:40+02:00"))
    '2021-11-06T17:38:40.000+0000'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.store import ids, messages, numbers
from kinetic_core.emulator.store.formats import format_datetime as format_datetime
from kinetic_core.emulator.store.formats import java_double as java_double
from kinetic_core.emulator.store.formats import parse_date as parse_date
from kinetic_core.emulator.store.formats import parse_datetime as parse_datetime
from kinetic_core.emulator.store.formats import parse_time as parse_time
from kinetic_core.emulator.store.schema import FieldDef, FieldType


class _Unchanged:
    """Type of the :data:`UNCHANGED` sentinel."""

    def __repr__(self) -> str:
        return "UNCHANGED"

    def __bool__(self) -> bool:
        return False


UNCHANGED: Final = _Unchanged()
"""Returned by :func:`from_csv` for an empty cell: the field is left as it is."""

NULL_MARKER = "#N/A"

_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
_NUMBER_TYPES = frozenset({FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT})
_INT_TYPES = frozenset({FieldType.INT, FieldType.LONG})
_JAVA_TYPES: dict[FieldType, str] = {
    FieldType.BOOLEAN: "boolean",
    FieldType.INT: "int",
    FieldType.LONG: "long",
    FieldType.DOUBLE: "double",
    FieldType.CURRENCY: "double",
    FieldType.PERCENT: "double",
    FieldType.DATE: "date",
    FieldType.DATETIME: "datetime",
    FieldType.TIME: "time",
}

Converter = Callable[[Any], Any]


# ------------------------------------------------------------------------------------------- text checks


def _text_checker(field: FieldDef) -> Callable[[str], str | None]:
    """Validate a text value: length, e-mail syntax, restricted picklist values."""
    label = field.label or field.name
    name = field.name
    length = field.length
    kind = field.type
    allowed_lower = {v.lower(): v for v in field.picklist_values}
    restricted = field.restricted_picklist and bool(allowed_lower)
    if kind not in (FieldType.MULTIPICKLIST, FieldType.EMAIL) and not (
        kind is FieldType.PICKLIST and restricted
    ):

        def check_length(value: str) -> str | None:
            if not value:
                return None
            if "\x00" in value:
                raise messages.nul_character(label, name)
            if length and len(value) > length:
                raise messages.string_too_long(label, name, value, length)
            return value

        return check_length

    def check(value: str) -> str | None:
        if value == "":
            return None
        if "\x00" in value:
            raise messages.nul_character(label, name)
        if kind is FieldType.MULTIPICKLIST:
            parts = [p.strip() for p in value.split(";") if p.strip()]
            if restricted:
                for part in parts:
                    if part.lower() not in allowed_lower:
                        raise messages.bad_restricted_picklist(label, name, part)
                parts = [allowed_lower[p.lower()] for p in parts]
            value = ";".join(dict.fromkeys(parts))
        elif kind is FieldType.PICKLIST and restricted:
            canonical = allowed_lower.get(value.lower())
            if canonical is None:
                raise messages.bad_restricted_picklist(label, name, value)
            value = canonical
        elif kind is FieldType.EMAIL and not _EMAIL_RE.match(value):
            raise messages.invalid_email(label, name, value)
        if length and len(value) > length:
            raise messages.string_too_long(label, name, value, length)
        return value

    return check


def _number_checker(field: FieldDef) -> Callable[[numbers.Stored], numbers.Stored]:
    """Enforce the field's integer digits; the value itself is kept as sent, at full precision (as
    Salesforce stores API values, even with more decimals than the field's scale)."""
    limit = 10 ** (field.precision - field.scale) if field.precision else None
    label = field.label or field.name

    def check(value: numbers.Stored) -> numbers.Stored:
        if isinstance(value, float) and not math.isfinite(value):
            shown = repr(value).replace("inf", "Infinity").replace("nan", "NaN")
            raise messages.number_too_large(label, field.name, shown)
        if limit is not None and numbers.magnitude(value) >= limit:
            raise messages.number_too_large(label, field.name, numbers.java_text(value))
        return value

    return check


def _id_checker(field: FieldDef) -> Callable[[str], str | None]:
    label = field.label or field.name

    def check(value: str) -> str | None:
        if value == "":
            return None
        if not ids.is_well_formed(value):
            raise messages.malformed_id(label, value, field.name)
        return ids.to18(value)

    return check


# --------------------------------------------------------------------------------------------- JSON in


def _token(value: Any) -> tuple[str, object]:
    if isinstance(value, bool):
        return ("VALUE_TRUE" if value else "VALUE_FALSE"), str(value).lower()
    if isinstance(value, int):
        return "VALUE_NUMBER_INT", value
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT", value
    if isinstance(value, dict):
        return "START_OBJECT", "{"
    if isinstance(value, list):
        return "START_ARRAY", "["
    return "VALUE_STRING", value


def _json_bool(fail: Callable[[Any], ApiError]) -> Converter:
    def conv_bool(value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return None if value is None else int(value)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return int(value.lower() == "true")
        raise fail(value)

    return conv_bool


def _json_int(fail: Callable[[Any], ApiError]) -> Converter:
    def conv_int(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise fail(value)

    return conv_int


def _json_number(field: FieldDef, fail: Callable[[Any], ApiError]) -> Converter:
    check_number = _number_checker(field)

    def conv_number(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool):
            raise fail(value)
        if isinstance(value, numbers.JsonFloat):
            return check_number(numbers.stored_text(value.text))
        if isinstance(value, float):
            return check_number(numbers.stored_text(repr(value)))
        if isinstance(value, int):
            return check_number(numbers.stored_decimal(Decimal(value)))
        if isinstance(value, Decimal) and value.is_finite():  # a value taken from an earlier reply
            return check_number(numbers.stored_decimal(value))
        if isinstance(value, str):
            try:
                number = numbers.stored_text(value.strip())
            except ValueError:
                raise fail(value) from None
            return check_number(number)
        raise fail(value)

    return conv_number


def _json_temporal(parse: Callable[[str], Any], fail: Callable[[Any], ApiError]) -> Converter:
    def conv_temporal(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            parsed = parse(value)
            if parsed is not None:
                return parsed
        raise fail(value)

    return conv_temporal


def _json_text(field: FieldDef, fail: Callable[[Any], ApiError]) -> Converter:
    check: Callable[[str], str | None] = (
        _id_checker(field) if field.type in (FieldType.ID, FieldType.REFERENCE) else _text_checker(field)
    )

    def conv_text(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            return check(value)
        if isinstance(value, bool):
            return check(str(value).lower())
        if isinstance(value, int | float):
            return check(str(value))
        raise fail(value)

    return conv_text


def json_converter(field: FieldDef) -> Converter:
    """The JSON-to-stored function of one field (see :func:`from_json`)."""
    kind = field.type
    java = _JAVA_TYPES.get(kind, "string")

    def fail(value: Any) -> ApiError:
        token, shown = _token(value)
        return messages.json_type_error(java, token, shown)

    if kind is FieldType.BOOLEAN:
        return _json_bool(fail)
    if kind in _INT_TYPES:
        return _json_int(fail)
    if kind in _NUMBER_TYPES:
        return _json_number(field, fail)
    parser = {FieldType.DATE: parse_date, FieldType.DATETIME: parse_datetime, FieldType.TIME: parse_time}.get(
        kind
    )
    if parser is not None:
        return _json_temporal(parser, fail)
    return _json_text(field, fail)


def from_json(field: FieldDef, value: Any) -> Any:
    """Convert a REST JSON value to its stored form.

    Raises:
        ApiError: JSON_PARSER_ERROR for a wrong JSON type, or the field-level validation codes
            (STRING_TOO_LONG, INVALID_EMAIL_ADDRESS, INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, MALFORMED_ID).

    Example:
        >>> from_json(FieldDef("IsActive", FieldType.BOOLEAN), True)
        1
    """
    return json_converter(field)(value)


# ---------------------------------------------------------------------------------------------- CSV in


def csv_converter(field: FieldDef) -> Converter:
    """The CSV-to-stored function of one field (see :func:`from_csv`); expects a non-empty cell."""
    kind = field.type
    soap = field.soap_type
    name = field.name

    def fail(text: str) -> ApiError:
        return messages.csv_type_error(text, soap, name)

    if kind is FieldType.BOOLEAN:

        def conv_bool(text: str) -> Any:
            low = text.lower()
            if low in ("true", "1"):
                return 1
            if low in ("false", "0"):
                return 0
            raise fail(text)

        return conv_bool
    if kind in _INT_TYPES:

        def conv_int(text: str) -> Any:
            try:
                return int(text)
            except ValueError:
                try:
                    number = float(text)
                except ValueError:
                    raise fail(text) from None
                if not number.is_integer():
                    raise fail(text) from None
                return int(number)

        return conv_int
    if kind in _NUMBER_TYPES:
        check_number = _number_checker(field)

        def conv_number(text: str) -> Any:
            try:
                number = numbers.stored_text(text)
            except ValueError:
                raise fail(text) from None
            return check_number(number)

        return conv_number
    parser = {FieldType.DATE: parse_date, FieldType.DATETIME: parse_datetime, FieldType.TIME: parse_time}.get(
        kind
    )
    if parser is not None:
        parse = parser

        def conv_temporal(text: str) -> Any:
            parsed = parse(text)
            if parsed is None:
                raise fail(text)
            return parsed

        return conv_temporal
    if kind in (FieldType.ID, FieldType.REFERENCE):
        return _id_checker(field)
    return _text_checker(field)


def emails_as_given(field: FieldDef, cells: list[str]) -> bool:
    """Whether the CSV converter of an e-mail ``field`` gives back every cell unchanged (a column
    check: empty and ``#N/A`` cells are the caller's; any other cell must be a valid address).

    Example:
        >>> emails_as_given(FieldDef("Email", FieldType.EMAIL, length=80), ["a@b.co", "", "#N/A"])
        True
    """
    present = [c for c in cells if c and c != NULL_MARKER]
    if not present:
        return True
    joined = "\x01".join(present)
    if "\x00" in joined or (field.length and max(map(len, present)) > field.length):
        return False
    return all(map(_EMAIL_RE.match, present))


def plain_text_limit(field: FieldDef) -> int | None:
    """The length limit when the CSV converter of ``field`` returns a non-empty cell unchanged within it.

    0 means "no limit"; None means the converter does real work (numbers, dates, ids, e-mail, restricted
    picklists, multi-select picklists), so callers with a fast path for plain text must not skip it.

    Example:
        >>> plain_text_limit(FieldDef("Phone", FieldType.PHONE, length=40))
        40
    """
    kind = field.type
    if kind is FieldType.BOOLEAN or kind in _INT_TYPES or kind in _NUMBER_TYPES:
        return None
    if kind in (FieldType.DATE, FieldType.DATETIME, FieldType.TIME, FieldType.ID, FieldType.REFERENCE):
        return None
    if kind in (FieldType.MULTIPICKLIST, FieldType.EMAIL):
        return None
    if kind is FieldType.PICKLIST and field.restricted_picklist and field.picklist_values:
        return None
    return field.length or 0


def from_csv(field: FieldDef, text: str) -> Any:
    """Convert one Bulk CSV cell to its stored form.

    Returns :data:`UNCHANGED` for an empty cell and None for ``#N/A``.

    Raises:
        ApiError: INVALID_FIELD (``'x' is not a valid value for the type xsd:date``) for cells that do
            not parse, or the field-level validation codes.

    Example:
        >>> from_csv(FieldDef("CloseDate", FieldType.DATE), "2024-02-29")
        '2024-02-29'
    """
    if text == "":
        return UNCHANGED
    if text == NULL_MARKER:
        return None
    return csv_converter(field)(text)


# ------------------------------------------------------------------------------------------------- out


def to_json(field: FieldDef, stored: Any) -> Any:
    """The REST JSON value of a stored value.

    Example:
        >>> to_json(FieldDef("IsDeleted", FieldType.BOOLEAN), 0)
        False
    """
    if stored is None:
        return None
    kind = field.type
    if kind is FieldType.BOOLEAN:
        return bool(stored)
    if kind in _INT_TYPES:
        return int(stored)
    if kind in _NUMBER_TYPES:
        return numbers.json_value(stored)
    if kind is FieldType.DATETIME:
        text = str(stored)
        return text[:-1] + "+0000" if text.endswith("Z") else text
    if kind is FieldType.TIME:
        return f"{stored}Z"
    return stored if isinstance(stored, str) else str(stored)


def to_csv(field: FieldDef, stored: Any) -> str:
    """The Bulk CSV text of a stored value (None -> empty string).

    Example:
        >>> to_csv(FieldDef("AnnualRevenue", FieldType.CURRENCY), 12000000.0)
        '1.2E7'
    """
    if stored is None:
        return ""
    kind = field.type
    if kind is FieldType.BOOLEAN:
        return "true" if stored else "false"
    if kind in _INT_TYPES:
        return str(int(stored))
    if kind in _NUMBER_TYPES:
        return numbers.java_text(stored)
    if kind is FieldType.TIME:
        return f"{stored}Z"
    return str(stored)
