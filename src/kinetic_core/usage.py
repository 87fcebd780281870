"""API usage of the org's rolling 24-hour window, as Salesforce reports it (a plain value).

It sits on the ground floor so that errors (``RequestLimitExceeded.api_usage``) and the send path
(``kinetic_core.http.limits`` reads it from the ``Sforce-Limit-Info`` header) can both name it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ApiUsage:
    """API requests used and allowed in the org's rolling 24-hour window.

    Attributes:
        used: requests counted so far.
        max: the allowance (``DailyApiRequests`` Max).
        per_app: ``appName -> (used, max)`` when the org reports per-app usage.

    Example:
        >>> ApiUsage(used=18, max=5000).remaining
        4982
    """

    used: int
    max: int
    per_app: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def remaining(self) -> int:
        """Requests left in the window (never negative)."""
        return max(self.max - self.used, 0)


__all__ = ["ApiUsage"]
