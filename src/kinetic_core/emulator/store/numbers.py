"""Exact number, currency and percent values: stored forms, text forms and their SQL order.

Salesforce stores what the API client sends at full precision (even with more decimals than the
field's scale) and the API carries the value as an ``xsd:double`` lexical form with those digits. The
emulator keeps each value exactly, in the cheapest SQLite form that holds it:

* an integral value that fits in 64 bits is an INTEGER (every number(18,0) value);
* a value whose shortest double form gives back the same decimal (``1234.56``) is a REAL;
* any other value is its canonical decimal TEXT (``1222333444555666.88``).

The number columns have no type affinity, so SQLite keeps the form it is given (files made by earlier
versions had REAL columns: ``migrate`` rebuilds them on open). Every value has one stored form, so
equality is plain SQL equality. Ordering and ``<``/``>`` go through :func:`order_key` (the nearest
double, then the exact remainder) because SQLite would sort TEXT after every number.

JSON and CSV carry the same text. Salesforce writes these fields in its JSON as in its CSV and SOAP:
``1234567.0`` but ``1.2345678E7`` (help articles 000221617 and 000385889 say so of "Rest API or SOQL as
well"). That is Java's ``Double.toString`` layout, plain for 1e-3 <= |x| < 1e7 and ``d.dddE±n``
outside. The upper bound is documented; the lower one (``5.0E-4``, ``1.0E-5``) is inferred from the same
Java rule, no sample of a small value having been found.

Example:
    >>> stored_decimal(Decimal("123456789012345678")), stored_decimal(Decimal("1234.560"))
    (123456789012345678, 1234.56)
    >>> java_text("1222333444555666.88"), json_text(Decimal("123456789012345678"))
    ('1.22233344455566688E15', '1.23456789012345678E17')
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from kinetic_core.emulator.store.formats import java_double

_INT64 = 1 << 63
_EXACT_INT = 1 << 53
_PLAIN_LOW = 1e-3
"""Below this, ``d.dddE-n``: inferred from Java's ``Double.toString``, no Salesforce sample seen. [I]"""
_PLAIN_HIGH = 10_000_000
"""From this up, ``d.dddE+n`` (``1.2345678E7``: help articles 000221617, 000385889). Between the two
bounds Java and Python print a double the same way."""

Stored = int | float | str
"""A stored number: INTEGER, REAL or canonical decimal TEXT."""


class JsonFloat(float):
    """A JSON number with a fraction or exponent: the nearest double, remembering the text it came from.

    ``json.loads(raw, parse_float=JsonFloat)`` gives values that behave as floats everywhere, while the
    number fields read their exact decimal from :attr:`text`.

    Example:
        >>> value = json.loads("1222333444555666.88", parse_float=JsonFloat)
        >>> value == 1222333444555666.88, value.text
        (True, '1222333444555666.88')
    """

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> JsonFloat:
        value = super().__new__(cls, text)
        value.text = text
        return value


def stored_decimal(value: Decimal) -> Stored:
    """The stored form of a finite decimal (see the module docstring)."""
    if value == value.to_integral_value() and -_INT64 <= value < _INT64:
        return int(value)
    number = float(value)
    if Decimal(repr(number)) == value:
        return number
    return format(value.normalize(), "f")


def stored_text(text: str) -> Stored:
    """Parse a number's text into its stored form (a text that overflows a double gives its infinity,
    which the field checks refuse).

    A text that is its own shortest double (``1234.56``) or a short integer is recognised without
    building a :class:`Decimal`.

    Raises:
        ValueError: the text is not a number.

    Example:
        >>> stored_text("1234.56"), stored_text("50000"), stored_text("1.5E3")
        (1234.56, 50000, 1500)
    """
    number = float(text)
    if repr(number) == text:
        if number.is_integer() and -_EXACT_INT < number < _EXACT_INT:
            return int(number)
        return number
    if not math.isfinite(number):
        return number
    if len(text) < 16 and text[text[:1] == "-" :].isdigit():
        return int(text)
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(text) from None
    return stored_decimal(value)


def magnitude(stored: Stored) -> int | float | Decimal:
    """The absolute value of a stored number, exactly."""
    return abs(Decimal(stored)) if isinstance(stored, str) else abs(stored)


def exact(stored: Stored) -> Decimal:
    """The decimal value of a stored number (a REAL means its shortest round-tripping decimal).

    Example:
        >>> exact(0.1), exact("1222333444555666.88")
        (Decimal('0.1'), Decimal('1222333444555666.88'))
    """
    if isinstance(stored, float):
        return Decimal(repr(stored))
    return Decimal(stored)


def _is_double(stored: Stored) -> bool:
    return isinstance(stored, float) or (isinstance(stored, int) and -_EXACT_INT <= stored <= _EXACT_INT)


def _positional(sign: str, digits: str, power: int) -> str:
    if power < 0:
        return f"{sign}0.{'0' * (-power - 1)}{digits}"
    whole, fraction = digits[: power + 1].ljust(power + 1, "0"), digits[power + 1 :]
    return f"{sign}{whole}.{fraction or '0'}"


def java_text(stored: Stored) -> str:
    """The ``xsd:double`` text of a stored number, like Java's ``Double.toString`` but with every digit.

    Example:
        >>> java_text(12000000.0), java_text(123456789012345678), java_text("0.10000000000000000001")
        ('1.2E7', '1.23456789012345678E17', '0.10000000000000000001')
    """
    if _is_double(stored):
        return java_double(float(stored))
    return json_text(exact(stored))


def json_text(value: Decimal) -> str:
    """A decimal in Java's ``Double.toString`` layout with every digit (see the module docstring).

    Example:
        >>> json_text(Decimal("1222333444555666.88")), json_text(Decimal("1E-7")), json_text(Decimal(5))
        ('1.22233344455566688E15', '1.0E-7', '5.0')
    """
    if not value:
        return "0.0"
    text = str(value)  # '-12345678.0', '1.2345678E+17', '1E-7', '0.0005': faster than as_tuple()
    sign = "-" if text[0] == "-" else ""
    mantissa, _, exponent = text[len(sign) :].partition("E")
    whole, _, fraction = mantissa.partition(".")
    every = whole + fraction
    digits = every.lstrip("0")
    power = len(whole) - 1 - (len(every) - len(digits)) + int(exponent or 0)
    digits = digits.rstrip("0")
    if -3 <= power < 7:
        return _positional(sign, digits, power)
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{power}"


class JavaDecimal(Decimal):
    """A :class:`Decimal` that knows its Java text (:attr:`text`), so :func:`dumps` writes it at once."""

    __slots__ = ("text",)
    text: str


def _java(value: int | str, text: str) -> JavaDecimal:
    out = JavaDecimal(value)
    out.text = text
    return out


def _java_float(stored: float) -> JavaDecimal:
    """A double outside 1e-3 <= |x| < 1e7 with its Java text, from its shortest digits (``repr``)."""
    shortest = repr(stored)
    unsigned = shortest.lstrip("-")
    sign = shortest[: len(shortest) - len(unsigned)]
    mantissa, _, exponent = unsigned.partition("e")
    if exponent:
        return _java(shortest, f"{sign}{mantissa if '.' in mantissa else mantissa + '.0'}E{int(exponent)}")
    whole, _, fraction = mantissa.partition(".")
    if whole != "0":
        digits = (whole + fraction).rstrip("0")
        return _java(shortest, f"{sign}{digits[0]}.{digits[1:] or '0'}E{len(whole) - 1}")
    digits = fraction.lstrip("0")
    return _java(shortest, f"{sign}{digits[0]}.{digits[1:] or '0'}E{len(digits) - len(fraction) - 1}")


def _java_int(stored: int) -> JavaDecimal:
    """An integer of 8 digits or more with its Java text."""
    text = str(stored)
    unsigned = text.lstrip("-")
    digits = unsigned.rstrip("0")
    return _java(
        stored, f"{text[: len(text) - len(unsigned)]}{digits[0]}.{digits[1:] or '0'}E{len(unsigned) - 1}"
    )


def json_value(stored: Stored) -> float | Decimal:
    """The API value of a stored number: a float when Python's JSON writes it as Salesforce does (an exact
    double with 1e-3 <= |x| < 1e7, or zero), else a :class:`Decimal` that :func:`dumps` writes in
    Java's notation with every digit.

    Example:
        >>> json_value(1234.5), json_value(12345678).text, json_value(0.0005).text
        (1234.5, '1.2345678E7', '5.0E-4')
    """
    if isinstance(stored, float):
        if _PLAIN_LOW <= abs(stored) < _PLAIN_HIGH or stored == 0:
            return stored
        return _java_float(stored)
    if isinstance(stored, int):
        if -_PLAIN_HIGH < stored < _PLAIN_HIGH:
            return float(stored)
        return _java_int(stored)
    return Decimal(stored)


_MARK, _END = "\x00kcnum:", "\x00kcend"
_OPEN, _CLOSE = '"\\u0000kcnum:', '\\u0000kcend"'
"""A marked number as ``json.dumps`` writes it: ``"\\u0000kcnum:1.2E7\\u0000kcend"``."""
_MARKED = re.compile(r'"\\u0000kcnum:([-.0-9E]+)\\u0000kcend"')


def dumps(body: Any, **options: Any) -> str:
    """``json.dumps`` that writes :class:`Decimal` values as JSON numbers in Java's notation with every
    digit (:func:`json_text`); floats keep Python's notation, the same as Java's for the values
    :func:`json_value` leaves as floats.

    Example:
        >>> dumps({"a": Decimal("123456789012345678"), "b": 1.5}, separators=(",", ":"))
        '{"a":1.23456789012345678E17,"b":1.5}'
    """
    marked = 0

    def default(value: Any) -> Any:
        nonlocal marked
        if isinstance(value, Decimal):
            marked += 1
            return _MARK + (value.text if type(value) is JavaDecimal else json_text(value)) + _END
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    text = json.dumps(body, default=default, **options)
    if not marked:
        return text
    if text.count(_OPEN) == marked == text.count(_CLOSE):  # no string of the data looks like a mark
        return text.replace(_OPEN, "").replace(_CLOSE, "")
    return _MARKED.sub(lambda match: match.group(1), text)


def _exact_float(text: str) -> float | Decimal:
    number = float(text)
    return number if repr(number) == text else Decimal(text)


def loads(raw: str | bytes, *, exact: bool = False) -> Any:
    """``json.loads`` keeping the text of fractional numbers (see :class:`JsonFloat`); with ``exact``,
    a number that is not its own shortest double becomes a :class:`Decimal` (:func:`dumps` writes it
    back digit for digit)."""
    return json.loads(raw, parse_float=_exact_float if exact else JsonFloat)


def nearest(stored: Stored | None) -> float | None:
    """SQL function ``kc_numreal(x)``: the double nearest to a stored number, correctly rounded (SQLite's
    own text-to-real conversion is off by one unit in the last place for some 17-digit texts)."""
    return None if stored is None else float(stored)


def order_tie(stored: Stored | None) -> float | None:
    """SQL function ``kc_numtie(x)``: a stored number's exact value minus the shortest decimal of its
    nearest double (zero for every REAL and every integer a double holds).

    Values with the same nearest double differ by this remainder in the order of their exact values, so
    the nearest double first and this second order every stored form exactly (see :func:`order_key`).
    """
    if stored is None:
        return None
    if isinstance(stored, float):
        return 0.0
    if isinstance(stored, int):
        if -_EXACT_INT <= stored <= _EXACT_INT:
            return 0.0
        return float(stored - int(Decimal(repr(float(stored)))))
    return float(Decimal(stored) - Decimal(repr(float(stored))))


def order_key(sql: str) -> tuple[str, str]:
    """The two SQL expressions that order a number expression exactly: its nearest double (SQLite's
    for INTEGER and REAL, ``kc_numreal`` for the rare decimal TEXT), then the remainder of
    :func:`order_tie`, computed in SQL as zero for REALs and for integers a double holds.

    Example:
        >>> order_key("t1.amount")[1]  # doctest: +ELLIPSIS
        "CASE typeof(t1.amount) WHEN 'real' THEN 0.0 ... ELSE kc_numtie(t1.amount) END"
    """
    double = f"CASE typeof({sql}) WHEN 'text' THEN kc_numreal({sql}) ELSE CAST({sql} AS REAL) END"
    tie = (
        f"CASE typeof({sql}) WHEN 'real' THEN 0.0 WHEN 'text' THEN kc_numtie({sql}) "
        f"WHEN 'integer' THEN IIF({sql} BETWEEN -{_EXACT_INT} AND {_EXACT_INT}, 0.0, kc_numtie({sql})) "
        f"ELSE kc_numtie({sql}) END"
    )
    return double, tie
