"""The ``Sforce-Limit-Info`` response header: API usage of the rolling 24-hour window."""

from __future__ import annotations

import re

from kinetic_core.usage import ApiUsage

_API_USAGE = re.compile(r"(?<![-\w])api-usage=(\d+)/(\d+)")
_PER_APP = re.compile(r"per-app-api-usage=(\d+)/(\d+)\(appName=([^)]*)\)")


def parse_limit_info(value: str | None) -> ApiUsage | None:
    """Parse a ``Sforce-Limit-Info`` header value; None when absent or unreadable.

    Example:
        >>> parse_limit_info("api-usage=2/15000; per-app-api-usage=1/250(appName=demo)").per_app
        {'demo': (1, 250)}
    """
    if not value:
        return None
    match = _API_USAGE.search(value)
    if match is None:
        return None
    per_app = {m.group(3): (int(m.group(1)), int(m.group(2))) for m in _PER_APP.finditer(value)}
    return ApiUsage(int(match.group(1)), int(match.group(2)), per_app)


__all__ = ["ApiUsage", "parse_limit_info"]
