"""Java date patterns, as Data Loader users write them (``dd/MM/yyyy``), read into Salesforce's formats."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from kinetic_core.errors import ConfigError


class DatePatternError(ConfigError):
    """A ``--date-format`` pattern that cannot be read."""


_JAVA_TOKENS = {
    "yyyy": "%Y",
    "yy": "%y",
    "MMMM": "%B",
    "MMM": "%b",
    "MM": "%m",
    "M": "%m",
    "dd": "%d",
    "d": "%d",
    "HH": "%H",
    "H": "%H",
    "hh": "%I",
    "h": "%I",
    "mm": "%M",
    "m": "%M",
    "ss": "%S",
    "s": "%S",
    "SSS": "%f",
    "a": "%p",
    "EEEE": "%A",
    "EEE": "%a",
    "XXX": "%z",
    "XX": "%z",
    "X": "%z",
    "Z": "%z",
    "z": "%Z",
}
_TOKEN = re.compile("|".join(sorted((re.escape(t) for t in _JAVA_TOKENS), key=len, reverse=True)))


def strptime_format(pattern: str) -> str:
    """A Java date pattern (as Data Loader users write them) as a ``strptime`` format.

    Letters in single quotes are literal (``''`` is a quote); other letters must be pattern letters.

    Example:
        >>> strptime_format("dd/MM/yyyy"), strptime_format("yyyy-MM-dd'T'HH:mm:ss.SSSZ")
        ('%d/%m/%Y', '%Y-%m-%dT%H:%M:%S.%f%z')
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            end = pattern.find("'", i + 1)
            if end == -1:
                raise DatePatternError(f"--date-format {pattern!r}: a quote is never closed")
            out.append("'" if end == i + 1 else pattern[i + 1 : end].replace("%", "%%"))
            i = end + 1
            continue
        if char.isalpha():
            match = _TOKEN.match(pattern, i)
            if match is None or (match.end() < len(pattern) and pattern[match.end()] == char):
                run = re.match(f"{re.escape(char)}+", pattern[i:])
                letters = run.group(0) if run else char
                raise DatePatternError(
                    f"--date-format {pattern!r}: {letters!r} is not a supported pattern letter"
                )
            out.append(_JAVA_TOKENS[match.group(0)])
            i = match.end()
            continue
        out.append("%%" if char == "%" else char)
        i += 1
    return "".join(out)


def date_converter(pattern: str, kind: str) -> Callable[[str], str]:
    """A function turning ``pattern`` text into a Salesforce ``date`` or ``datetime`` value.

    A datetime without a zone is taken as UTC; one with a zone is converted to UTC.

    Example:
        >>> date_converter("dd/MM/yyyy", "date")("31/01/2024")
        '2024-01-31'
        >>> date_converter("dd/MM/yyyy HH:mm", "datetime")("31/01/2024 09:30")
        '2024-01-31T09:30:00Z'
    """
    fmt = strptime_format(pattern)

    def convert(text: str) -> str:
        try:
            value = dt.datetime.strptime(text.strip(), fmt)
        except ValueError:
            raise ValueError(f"{text!r} is not a date in the --date-format {pattern}") from None
        if kind == "date":
            return value.date().isoformat()
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return (
            value.strftime("%Y-%m-%dT%H:%M:%S")
            + ("" if not value.microsecond else f".{value.microsecond // 1000:03d}")
            + "Z"
        )

    return convert


__all__ = ["DatePatternError", "date_converter", "strptime_format"]
