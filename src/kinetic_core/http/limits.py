"""The ``Sforce-Limit-Info`` response header: API usage of the rolling 24-hour window."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_API_USAGE = re.compile(r"(?<![-\w])api-usage=(\d+)/(\d+)")
_PER_APP = re.compile(r"per-app-api-usage=(\d+)/(\d+)\(appName=([^)]*)\)")


@dataclass(frozen=True)
class ApiUsage:
    """API requests used and allowed in the org's rolling 24-hour window.

    Attributes:
        used: requests counted so far.
        max: the allowance (``DailyApiRequests`` Max).
        per_app: ``appName -> (used, max)`` when the org reports per-app usage.

    Example:
        >>> parse_limit_info("api-usage=18/5000")
        ApiUsage(used=18, max=5000, per_app={})
    """

    used: int
    max: int
    per_app: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def remaining(self) -> int:
        """Requests left in the window (never negative)."""
        return max(self.max - self.used, 0)


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
