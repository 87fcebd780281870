"""Exact number, currency and percent values: stored forms, text forms and their SQL order.

Salesforce stores what the API client sends at full precision (even with more decimals than the
field's scale) and the API carries the value as an ``xsd:double`` lexical form with those digits. The
emulator keeps each value exactly, in the cheapest SQLite form that holds it:

* an integral value that fits in 64 bits is an INTEGER (every number(18,0) value);
* a value whose shortest double form gives back the same decimal (``1234.56``) is a REAL;
* any other value is its canonical decimal TEXT (``1222333444555666.88``).

The number columns have no type affinity, so SQLite keeps the form it is given (files made by earlier
versions have REAL columns and hold REALs). Every value has one stored form, so equality is plain SQL
equality. Ordering and ``<``/``>`` go through :func:`order_key` (the nearest double, then the exact
remainder) because SQLite would sort TEXT after every number.

Example:
    >>> stored_decimal(Decimal("123456789012345678")), stored_decimal(Decimal("1234.560"))
    (123456789012345678, 1234.56)
    >>> java_text("1222333444555666.88"), json_text(Decimal("123456789012345678"))
    ('1.22233344455566688E15', '1.23456789012345678e+17')
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


def _digits(value: Decimal) -> tuple[str, str, int]:
    """Sign, significant digits and decimal exponent of the first digit of a non-zero decimal."""
    sign, digits, exponent = value.normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    return ("-" if sign else ""), text, len(text) - 1 + exponent


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
    value = exact(stored)
    if value == 0:
        return "0.0"
    sign, digits, power = _digits(value)
    if -3 <= power < 7:
        return _positional(sign, digits, power)
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{power}"


def json_text(value: Decimal) -> str:
    """A decimal as a JSON number in the style of Python's float ``repr``, with every digit.

    Example:
        >>> json_text(Decimal("1222333444555666.88")), json_text(Decimal("1E-7"))
        ('1222333444555666.88', '1e-07')
    """
    if value == 0:
        return "0.0"
    sign, digits, power = _digits(value)
    if -4 <= power < 16:
        return _positional(sign, digits, power)
    mantissa = digits[0] + (f".{digits[1:]}" if len(digits) > 1 else "")
    return f"{sign}{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"


def json_value(stored: Stored) -> float | Decimal:
    """The API value of a stored number: a float when the double is exact, else the :class:`Decimal`
    (which :func:`dumps` writes as a JSON number with every digit)."""
    if _is_double(stored):
        return float(stored)
    return exact(stored)


_MARK = "\x00kcnum:"
_MARKED = re.compile(r'"\\u0000kcnum:([-+.0-9e]+)"')


def dumps(body: Any, **options: Any) -> str:
    """``json.dumps`` that writes :class:`Decimal` values as JSON numbers with every digit.

    Example:
        >>> dumps({"a": Decimal("123456789012345678"), "b": 1.5}, separators=(",", ":"))
        '{"a":1.23456789012345678e+17,"b":1.5}'
    """
    marked = False

    def default(value: Any) -> Any:
        nonlocal marked
        if isinstance(value, Decimal):
            marked = True
            return _MARK + json_text(value)
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    text = json.dumps(body, default=default, **options)
    return _MARKED.sub(r"\1", text) if marked else text


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
