"""Value transforms for ``FieldMapper``: built-ins by name, parameterised factories, any callable.

A transform takes one value and returns the new value, or raises ``ValueError``/``TypeError`` (the
mapper reports it as a ``MappingError`` naming the record and field). ``None`` passes through every
built-in unchanged (it means "set the field to null").
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Transform = Callable[[Any], Any]

_TRUE = frozenset({"true", "t", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "off", ""})
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE_CHARS = re.compile(r"[\s().\-/]")


def _none_safe(fn: Transform) -> Transform:
    def wrapped(value: Any) -> Any:
        return None if value is None else fn(value)

    wrapped.__name__ = getattr(fn, "__name__", "transform")
    return wrapped


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


def to_int(value: Any) -> int:
    """Whole numbers from ints, integral floats/decimals or text (``"1,234"`` is refused)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float | decimal.Decimal):
        if value != int(value):
            raise ValueError(f"{value!r} is not a whole number")
        return int(value)
    return int(_text(value).strip())


def to_float(value: Any) -> float:
    """Floats from numbers or text."""
    if isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool):
        return float(value)
    return float(_text(value).strip())


def to_decimal(value: Any) -> decimal.Decimal:
    """Exact decimals from numbers or text."""
    if isinstance(value, float):
        return decimal.Decimal(repr(value))
    if isinstance(value, int | decimal.Decimal) and not isinstance(value, bool):
        return decimal.Decimal(value)
    try:
        return decimal.Decimal(_text(value).strip())
    except decimal.InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None


def to_bool(value: Any) -> bool:
    """Booleans from bools, 0/1 and the words true/false, yes/no, y/n, t/f, on/off (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = _text(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{value!r} is not a boolean")


def normalise_email(value: Any) -> str:
    """Trimmed, lower-cased e-mail address; raises when it does not look like one."""
    text = _text(value).strip().lower()
    if not _EMAIL.fullmatch(text):
        raise ValueError(f"{value!r} is not an e-mail address")
    return text


def normalise_phone(value: Any) -> str:
    """Phone numbers without spaces, dots, dashes, slashes and brackets; a leading ``+``/``00`` kept as ``+``.

    Raises when fewer than 6 or more than 15 digits remain, or other characters are present.
    """
    text = _PHONE_CHARS.sub("", str(value).strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    digits = text[1:] if text.startswith("+") else text
    if not digits.isdigit() or not 6 <= len(digits) <= 15:
        raise ValueError(f"{value!r} is not a phone number")
    return text


def _zone(tz: str | dt.tzinfo | None) -> dt.tzinfo | None:
    if tz is None or isinstance(tz, dt.tzinfo):
        return tz
    if tz.upper() in ("UTC", "Z"):
        return dt.UTC
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r}") from None


def date(fmt: str = "%Y-%m-%d") -> Transform:
    """A transform parsing text with ``fmt`` into a ``datetime.date`` (dates and datetimes pass through).

    Example:
        >>> date("%d/%m/%Y")("31/01/2024")
        datetime.date(2024, 1, 31)
    """

    def parse_date(value: Any) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        return dt.datetime.strptime(_text(value).strip(), fmt).date()

    return _none_safe(parse_date)


def datetime(fmt: str = "%Y-%m-%dT%H:%M:%S%z", tz: str | dt.tzinfo | None = None) -> Transform:
    """A transform parsing text with ``fmt`` into an aware ``datetime``.

    Text without an offset is read in ``tz`` (an IANA name such as ``"Europe/Rome"``, or ``"UTC"``);
    without ``tz`` such text is an error, never silently taken as local or UTC time.

    Example:
        >>> datetime("%d/%m/%Y %H:%M", tz="UTC")("31/01/2024 10:30").isoformat()
        '2024-01-31T10:30:00+00:00'
    """
    zone = _zone(tz)

    def parse_datetime(value: Any) -> dt.datetime:
        parsed = value if isinstance(value, dt.datetime) else dt.datetime.strptime(_text(value).strip(), fmt)
        if parsed.tzinfo is None:
            if zone is None:
                raise ValueError(f"{value!r} has no time zone and none was configured")
            parsed = parsed.replace(tzinfo=zone)
        return parsed

    return _none_safe(parse_datetime)


def _str_method(name: str) -> Transform:
    def method(value: Any) -> Any:
        return getattr(_text(value), name)()

    method.__name__ = name
    return _none_safe(method)


BUILTINS: Mapping[str, Transform] = {
    "strip": _str_method("strip"),
    "lower": _str_method("lower"),
    "upper": _str_method("upper"),
    "title": _str_method("title"),
    "int": _none_safe(to_int),
    "float": _none_safe(to_float),
    "decimal": _none_safe(to_decimal),
    "bool": _none_safe(to_bool),
    "date": date(),
    "datetime": datetime("%Y-%m-%dT%H:%M:%S%z"),
    "email": _none_safe(normalise_email),
    "phone": _none_safe(normalise_phone),
    "empty_to_none": lambda v: None if isinstance(v, str) and not v.strip() else v,
}
"""Transforms by name (YAML ``transform: [strip, lower]``)."""

FACTORIES: Mapping[str, Callable[..., Transform]] = {"date": date, "datetime": datetime}
"""Parameterised transforms (YAML ``{date: {format: "%d/%m/%Y"}}``)."""


def resolve(spec: Any) -> Transform:
    """A transform from a name, a ``{name: {params}}`` mapping, or a callable.

    Example:
        >>> parse = resolve({"datetime": {"format": "%Y-%m-%d %H:%M", "tz": "Europe/Rome"}})
        >>> parse("2024-07-01 12:00").utcoffset()
        datetime.timedelta(seconds=7200)
    """
    if callable(spec):
        return spec  # type: ignore[no-any-return]
    if isinstance(spec, str):
        try:
            return BUILTINS[spec]
        except KeyError:
            raise ValueError(f"unknown transform {spec!r} (known: {', '.join(sorted(BUILTINS))})") from None
    if isinstance(spec, Mapping) and len(spec) == 1:
        name, params = next(iter(spec.items()))
        factory = FACTORIES.get(str(name))
        if factory is None:
            raise ValueError(f"transform {name!r} takes no parameters")
        kwargs = dict(params or {})
        if "format" in kwargs:
            kwargs["fmt"] = kwargs.pop("format")
        return factory(**kwargs)
    raise ValueError(f"not a transform: {spec!r}")
