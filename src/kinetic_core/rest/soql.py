"""A SOQL builder whose values cannot change the shape of the query.

``soql(template, *values)`` replaces each ``{}`` with a SOQL literal. Strings are quoted with backslash
escapes, so no value can close its literal; other types are rendered from their Python type, never
from text. Literal braces are written ``{{`` and ``}}``.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
import sys
from collections.abc import Iterable
from typing import Any

_STRING_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_ESCAPE_RE = re.compile("|".join(re.escape(k) for k in _STRING_ESCAPES))
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{\}|\{|\}")


def quote_string(value: str) -> str:
    """A SOQL string literal.

    Example:
        >>> print(quote_string("O'Brien \\\\ Co"))
        'O\\'Brien \\\\ Co'
    """
    return "'" + _ESCAPE_RE.sub(lambda m: _STRING_ESCAPES[m.group(0)], value) + "'"


def _datetime(value: dt.datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: give it a time zone so its instant is unambiguous")
    utc = value.astimezone(dt.UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond // 1000:03d}"
    return text + "Z"


def _is_numpy_bool(value: Any) -> bool:
    dtype = getattr(value, "dtype", None)
    return getattr(dtype, "kind", None) == "b" and getattr(value, "shape", None) == ()


def _is_decimal(value: Any) -> bool:
    """Whether ``value`` is a ``decimal.Decimal``; a Decimal exists only once decimal was imported."""
    decimal = sys.modules.get("decimal")
    return decimal is not None and isinstance(value, decimal.Decimal)


def literal(value: Any) -> str:
    """The SOQL literal for a Python value.

    Strings are quoted and escaped; ``bool`` -> ``TRUE``/``FALSE``; ``None`` -> ``NULL``; ints, finite
    floats and decimals as numbers (NumPy's scalar ints, floats and bools too); ``date`` ->
    ``YYYY-MM-DD``; aware ``datetime`` -> UTC ``YYYY-MM-DDTHH:MM:SSZ``; lists, tuples, sets ->
    ``(a, b, ...)`` for ``IN``.

    Raises:
        ValueError: naive datetimes, NaN/infinity, empty or nested collections.
        TypeError: any other type.

    Example:
        >>> literal(["a", 1, None])
        "('a', 1, NULL)"
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool) or _is_numpy_bool(value):
        return "TRUE" if value else "FALSE"
    if isinstance(value, numbers.Integral):  # int and NumPy's integer scalars
        return str(int(value))
    if isinstance(value, float | numbers.Real) and not _is_decimal(value):
        number = float(value)  # NumPy's float64 is a float whose repr is "np.float64(1.5)"
        if not math.isfinite(number):
            raise ValueError("SOQL has no literal for NaN or infinity")
        return repr(number)
    if _is_decimal(value):
        if not value.is_finite():
            raise ValueError("SOQL has no literal for NaN or infinity")
        return format(value, "f")
    if isinstance(value, str):
        return quote_string(value)
    if isinstance(value, dt.datetime):
        return _datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else list(value)
        if not items:
            raise ValueError("an empty list has no SOQL literal (IN () is invalid)")
        if any(isinstance(v, list | tuple | set | frozenset) for v in items):
            raise ValueError("nested collections have no SOQL literal")
        return "(" + ", ".join(literal(v) for v in items) + ")"
    raise TypeError(f"no SOQL literal for a value of type {type(value).__name__}")


def soql(template: str, *values: Any) -> str:
    """Fill each ``{}`` of ``template`` with the literal of the next value.

    Raises:
        ValueError: more or fewer values than placeholders, a lone brace, or a value without literal.

    Example:
        >>> soql("SELECT Id FROM Account WHERE Name = {} AND IsDeleted = {}", "Bob's", False)
        "SELECT Id FROM Account WHERE Name = 'Bob\\\\'s' AND IsDeleted = FALSE"
    """
    pending = iter(values)
    used = 0

    def fill(match: re.Match[str]) -> str:
        nonlocal used
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        if token != "{}":
            raise ValueError("lone brace in a SOQL template: write {{ or }} for a literal brace")
        try:
            value = next(pending)
        except StopIteration:
            raise ValueError("fewer values than {} placeholders") from None
        used += 1
        return literal(value)

    text = _PLACEHOLDER.sub(fill, template)
    if used != len(values):
        raise ValueError(f"{len(values)} values for {used} {{}} placeholders")
    return text


def select(sobject: str, fields: Iterable[str], where: str | None = None, *values: Any) -> str:
    """``SELECT f1, f2 FROM sobject [WHERE ...]`` with the WHERE clause filled by ``soql``.

    Example:
        >>> select("Contact", ["Id", "Email"], "Email = {}", "a@b.c")
        "SELECT Id, Email FROM Contact WHERE Email = 'a@b.c'"
    """
    names = list(fields)
    for name in [sobject, *names]:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*", name):
            raise ValueError(f"not a field or object name: {name!r}")
    text = f"SELECT {', '.join(names)} FROM {sobject}"
    if where:
        text += " WHERE " + soql(where, *values)
    return text
