"""Salesforce's text forms of dates, datetimes, times and doubles (parsing and printing).

The stored form of a datetime is UTC with milliseconds and ``Z``; dates are ``YYYY-MM-DD``; times
``HH:MM:SS.fff``; doubles print like Java's ``Double.toString``. Used by :mod:`values` (conversions
between API and stored values) and the routes that read or print these forms.

Example:
    >>> parse_datetime("2021-11-06T19:38:40+02:00")
    '2021-11-06T17:38:40.000Z'
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_TIME_RE = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?Z?$")


def format_datetime(moment: datetime) -> str:
    """The stored form of a datetime: UTC, milliseconds, ``Z``.

    Example:
        >>> format_datetime(datetime(2021, 11, 6, 17, 38, 40, tzinfo=UTC))
        '2021-11-06T17:38:40.000Z'
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_datetime(text: str) -> str | None:
    """Parse an API datetime into the stored form, or None when it is not one."""
    m = _DATETIME_RE.match(text)
    if m is None:
        return None
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = int(m.group(6) or 0)
    frac = (m.group(7) or "0")[:6].ljust(6, "0")
    zone = m.group(8)
    try:
        tz = UTC
        if zone and zone != "Z":
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            tz = timezone(sign * offset)
        moment = datetime(year, month, day, hour, minute, second, int(frac), tzinfo=tz)
    except ValueError:
        return None
    return format_datetime(moment)


def parse_date(text: str) -> str | None:
    """Validate ``YYYY-MM-DD`` (a real calendar date); None when invalid."""
    m = _DATE_RE.match(text)
    if m is None:
        return None
    try:
        date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return text


def parse_time(text: str) -> str | None:
    """Parse ``HH:MM[:SS[.fff]][Z]`` into the stored ``HH:MM:SS.fff``; None when invalid."""
    m = _TIME_RE.match(text)
    if m is None:
        return None
    hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    millis = (m.group(4) or "0")[:3].ljust(3, "0")
    return f"{hour:02d}:{minute:02d}:{second:02d}.{millis}"


def java_double(value: float) -> str:
    """Render a double the way Java's ``Double.toString`` does (``5000.0``, ``1.2E7``).

    Example:
        >>> java_double(12000000.0), java_double(0.5)
        ('1.2E7', '0.5')
    """
    if value == 0:
        return "0.0"
    if 1e-3 <= abs(value) < 1e7:
        return repr(float(value))
    sign, digits, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    text = "".join(str(d) for d in digits)
    assert isinstance(exponent, int)
    power = len(text) - 1 + exponent
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"
