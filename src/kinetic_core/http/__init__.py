"""The one send path: pooled httpx transport, safe retries, 401 renewal, API-usage tracking.

``HttpSession`` (threads) and ``AsyncHttpSession`` (asyncio) drive the same protocol
(``kinetic_core.http.core``); ``AsyncHttpSession`` is loaded at first use, so a program that never
uses asyncio does not import it.

Example:
    >>> from kinetic_core.http import HttpSession, RetryPolicy
    >>> RetryPolicy.never().max_attempts
    1
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kinetic_core.http.bounds import ResponseBounds
from kinetic_core.http.limits import ApiUsage, parse_limit_info
from kinetic_core.http.ops import BodySink
from kinetic_core.http.retry import Failure, RetryDecision, RetryPolicy, backoff_delay, decide
from kinetic_core.http.session import HttpSession
from kinetic_core.http.transport import Timeouts, build_async_http_client, build_http_client

if TYPE_CHECKING:
    from kinetic_core.http.asession import AsyncHttpSession

__all__ = [
    "ApiUsage",
    "AsyncHttpSession",
    "BodySink",
    "Failure",
    "HttpSession",
    "ResponseBounds",
    "RetryDecision",
    "RetryPolicy",
    "Timeouts",
    "backoff_delay",
    "build_async_http_client",
    "build_http_client",
    "decide",
    "parse_limit_info",
]


def __getattr__(name: str) -> Any:
    if name == "AsyncHttpSession":
        from kinetic_core.http.asession import AsyncHttpSession

        return AsyncHttpSession
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
