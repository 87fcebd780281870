"""Retry decisions: which failures may be repeated, and how long to wait. Pure functions, no I/O.

The one rule that matters: a call may be repeated only when repeating it cannot do the work twice.

* A call marked *idempotent* (GET, HEAD, DELETE, PATCH of a record by id or by external id, creating
  a bulk job: an orphan job left Open by a lost answer never runs) is repeated on every transient
  failure: connection errors, timeouts, dropped connections and the statuses in
  ``RetryPolicy.retry_statuses``.
* A call that is *not* idempotent (POST create, composite create, the upload of a bulk job's data,
  which the bulk layer re-sends only to a new job) is repeated only when the failure proves the server
  never acted on it:

  - the connection could not be opened (``httpx.ConnectError``, ``ConnectTimeout``, ``PoolTimeout``):
    no byte of the request left the process;
  - the answer was one of ``RetryPolicy.refused_statuses`` (429 Too Many Requests, 503 Service
    Unavailable): by HTTP semantics the server refused the request before handling it. [I] This is our
    decision; Salesforce documents 503 as "unavailable/overloaded/maintenance". Drop 503 from
    ``refused_statuses`` to be stricter.

  A lost answer (read timeout, connection dropped after sending, 500/502/504) leaves such a call *in
  doubt*: it is never re-sent blindly. The caller gets ``TransportError(in_doubt=True)`` or the
  ``ApiError`` and decides (composite creates report those rows as failed "in doubt").
* 401 ``INVALID_SESSION_ID`` is not a retry: the session renews the token once and re-sends (the server
  rejected the call before doing anything). 403 ``REQUEST_LIMIT_EXCEEDED`` is never retried.

Backoff is exponential with full jitter: ``delay = U(0, min(max_delay, base_delay * 2**(attempt-1)))``,
raised to a server's ``Retry-After`` when that is longer (still capped at ``max_delay``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from kinetic_core._httpx import httpx

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})
"""Methods repeated on any transient failure unless the caller says otherwise. POST and PATCH are not:
PATCH is idempotent only for updates and upserts, whose callers pass ``retry=True`` explicitly."""


class Failure(StrEnum):
    """How a call failed without an HTTP answer."""

    NOT_SENT = "not_sent"
    """The connection was never established: the server cannot have seen the request."""
    IN_DOUBT = "in_doubt"
    """The request may have been received and processed; only its answer is missing."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and on what a call is repeated.

    Attributes:
        max_attempts: total tries including the first (1 = never repeat).
        idempotent: whether repeating the call is harmless (see the module docstring).
        base_delay: first backoff ceiling in seconds.
        max_delay: cap of any single wait in seconds.
        retry_statuses: statuses repeated for idempotent calls.
        refused_statuses: statuses repeated even for non-idempotent calls.

    Example:
        >>> RetryPolicy(idempotent=False).max_attempts
        5
    """

    max_attempts: int = 5
    idempotent: bool = True
    base_delay: float = 0.5
    max_delay: float = 30.0
    retry_statuses: frozenset[int] = field(default=frozenset({429, 500, 502, 503, 504}))
    refused_statuses: frozenset[int] = field(default=frozenset({429, 503}))

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that sends exactly once."""
        return cls(max_attempts=1)


@dataclass(frozen=True)
class RetryDecision:
    """The answer of ``decide``: repeat or not, after how long, and why (for the log)."""

    retry: bool
    delay: float = 0.0
    reason: str = ""


def resolve_policy(method: str, retry: RetryPolicy | bool | None, base: RetryPolicy) -> RetryPolicy:
    """The policy for one call.

    ``retry=True`` marks the call idempotent, ``False`` marks it not idempotent (it is then repeated only
    when provably not processed), ``None`` decides by method, a ``RetryPolicy`` is used as is.

    Example:
        >>> resolve_policy("POST", None, RetryPolicy()).idempotent
        False
    """
    if isinstance(retry, RetryPolicy):
        return retry
    if retry is None:
        return replace(base, idempotent=method.upper() in IDEMPOTENT_METHODS)
    return replace(base, idempotent=bool(retry))


def classify_exception(exc: Exception) -> Failure:
    """Whether an httpx exception means the request never left (NOT_SENT) or may have been processed.

    Example:
        >>> classify_exception(httpx.ConnectError("refused"))
        <Failure.NOT_SENT: 'not_sent'>
    """
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return Failure.NOT_SENT
    return Failure.IN_DOUBT


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a numeric ``Retry-After`` header (HTTP dates are ignored)."""
    value = headers.get("retry-after") or headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def backoff_delay(
    policy: RetryPolicy, attempt: int, rng_value: float, retry_after: float | None = None
) -> float:
    """Full-jitter exponential delay before try ``attempt + 1``; ``rng_value`` is uniform in [0, 1).

    Example:
        >>> backoff_delay(RetryPolicy(base_delay=1.0), 3, 0.5)
        2.0
    """
    ceiling = min(policy.max_delay, policy.base_delay * float(2 ** (attempt - 1)))
    delay: float = rng_value * ceiling
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.max_delay))
    return delay


def decide(
    policy: RetryPolicy,
    attempt: int,
    *,
    status: int | None = None,
    error_code: str | None = None,
    failure: Failure | None = None,
    rng_value: float = 0.0,
    retry_after: float | None = None,
) -> RetryDecision:
    """Decide whether try number ``attempt`` (1-based) that just failed is repeated.

    Pass either ``status`` (with the body's ``error_code``) for an HTTP answer or ``failure`` for none.

    Example:
        >>> decide(RetryPolicy(idempotent=False), 1, failure=Failure.IN_DOUBT).retry
        False
        >>> decide(RetryPolicy(), 1, status=503, rng_value=0.0).retry
        True
    """
    if attempt >= policy.max_attempts:
        return RetryDecision(False, reason=f"gave up after {attempt} attempts")
    if error_code == "REQUEST_LIMIT_EXCEEDED":
        return RetryDecision(False, reason="REQUEST_LIMIT_EXCEEDED is never retried")
    if failure is not None:
        if failure is Failure.NOT_SENT or policy.idempotent:
            return RetryDecision(True, backoff_delay(policy, attempt, rng_value), f"transport {failure}")
        return RetryDecision(False, reason="answer lost for a call that is not safe to repeat")
    if status is None:
        return RetryDecision(False, reason="nothing to decide on")
    if status in policy.refused_statuses or (policy.idempotent and status in policy.retry_statuses):
        return RetryDecision(True, backoff_delay(policy, attempt, rng_value, retry_after), f"HTTP {status}")
    return RetryDecision(False, reason=f"HTTP {status} is final for this call")
