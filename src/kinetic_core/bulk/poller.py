"""Polling a job until it reaches a terminal state, with exponential backoff.

Delays start at ``PollPolicy.initial`` (1 s) and grow by ``factor`` up to
``maximum`` (30 s). The clock and the sleep function are parameters, so tests
drive the poller with a fake clock and never sleep.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kinetic_core.bulk.models import JobInfo
from kinetic_core.errors import ApiError, ServerUnavailableError, TransportError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollPolicy:
    """Backoff between status checks.

    Example:
        >>> list(PollPolicy(initial=1, maximum=30).delays())[:7]
        [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    """

    initial: float = 1.0
    maximum: float = 30.0
    factor: float = 2.0
    max_status_failures: int = 5
    """Consecutive failed status checks (after the HTTP layer's own retries) before giving up."""

    def delays(self) -> Iterator[float]:
        """The endless sequence of waits."""
        delay = float(self.initial)
        while True:
            yield min(delay, float(self.maximum))
            delay = min(delay * self.factor, float(self.maximum))


class JobWaitTimeout(Exception):
    """Internal: the deadline passed while ``job_id`` was still running."""

    def __init__(self, job_id: str, info: JobInfo | None) -> None:
        super().__init__(job_id)
        self.job_id = job_id
        self.info = info


class JobWaitCancelled(Exception):
    """Internal: another part of the load failed; this wait was abandoned."""


def wait_for_job(
    job_id: str,
    get_job: Callable[[str], JobInfo],
    *,
    policy: PollPolicy,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    deadline: float | None = None,
    on_change: Callable[[JobInfo], None] | None = None,
    cancel: threading.Event | None = None,
) -> JobInfo:
    """Poll ``get_job(job_id)`` until the job is terminal; return its last :class:`JobInfo`.

    Raises:
        JobWaitTimeout: ``clock()`` passed ``deadline`` first.
        JobWaitCancelled: ``cancel`` was set.

    Example:
        >>> info = wait_for_job("750...", api.get_job, policy=PollPolicy(), clock=time.monotonic,
        ...                     sleep=time.sleep)  # doctest: +SKIP
    """
    last: JobInfo | None = None
    failures = 0
    delays = policy.delays()
    while True:
        if cancel is not None and cancel.is_set():
            raise JobWaitCancelled(job_id)
        info: JobInfo | None
        try:
            info = get_job(job_id)
            failures = 0
        except (TransportError, ServerUnavailableError) as exc:
            failures += 1
            logger.warning("status check %d of job %s failed: %s", failures, job_id, exc)
            if failures >= policy.max_status_failures:
                raise
            info = last
        except ApiError as exc:
            if exc.status in (429, 500, 502, 503, 504) and failures + 1 < policy.max_status_failures:
                failures += 1
                info = last
            else:
                raise
        if info is not None:
            changed = last is None or (
                (info.state, info.records_processed, info.records_failed)
                != (last.state, last.records_processed, last.records_failed)
            )
            last = info
            if changed and on_change is not None:
                on_change(info)
            if info.state.terminal:
                return info
        delay = next(delays)
        if deadline is not None:
            remaining = deadline - clock()
            if remaining <= 0:
                raise JobWaitTimeout(job_id, last)
            delay = min(delay, remaining)
        sleep(delay)
        if deadline is not None and clock() >= deadline:
            # one last look, so a job that finished during the final wait is not reported as running
            try:
                info = get_job(job_id)
            except (TransportError, ApiError):
                raise JobWaitTimeout(job_id, last) from None
            if on_change is not None and (last is None or info.state != last.state):
                on_change(info)
            if info.state.terminal:
                return info
            raise JobWaitTimeout(job_id, info)
