"""The one send path: pooled httpx transport, safe retries, 401 renewal, API-usage tracking.

Example:
    >>> from kinetic_core.http import HttpSession, RetryPolicy
    >>> RetryPolicy.never().max_attempts
    1
"""

from __future__ import annotations

from kinetic_core.http.bounds import ResponseBounds
from kinetic_core.http.limits import ApiUsage, parse_limit_info
from kinetic_core.http.retry import Failure, RetryDecision, RetryPolicy, backoff_delay, decide
from kinetic_core.http.session import HttpSession, Timeouts, build_http_client

__all__ = [
    "ApiUsage",
    "Failure",
    "HttpSession",
    "ResponseBounds",
    "RetryDecision",
    "RetryPolicy",
    "Timeouts",
    "backoff_delay",
    "build_http_client",
    "decide",
    "parse_limit_info",
]
