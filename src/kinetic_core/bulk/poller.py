"""Polling a job until it reaches a terminal state, paced by the job's own progress.

The wait after each status check (:meth:`PollPolicy.next_wait`) comes from what the
checks have seen so far, not from a fixed doubling schedule:

* **Prediction.** When the number of rows the job holds is known (an ingest job the
  load uploaded, or one a manifest describes) and ``numberRecordsProcessed`` grew
  since the previous check, the rate of that interval predicts when the job ends;
  the next check is placed just after that moment once two intervals in a row
  agreed on the rate (else half way there, to measure again). A prediction may put the next
  check no further ahead than ``(factor - 1)`` times the time waited so far, so a
  rate measured on little evidence (a slow start) cannot send the poller far past
  the real end.
* **Without a prediction** (a query job, whose count says nothing until it ends; a
  job whose count does not move; an unknown size), the wait is the overshoot the
  caller accepts: ``max(tolerance, tolerance_ratio * waited)``, so a job that ends
  just after a check is seen at most that late (the first waits grow from
  ``initial`` by ``factor`` until they reach it).
* Every wait lies between the floor (``minimum``, by default ``initial``) and the
  ceiling (``maximum``); a server hint (``Retry-After`` on a refused status check,
  carried as ``retry_after`` by the error) is a lower bound.

The result: a job is seen ended at most ``max(tolerance, tolerance_ratio * its time)``
after it ends when the rate is steady or unknown (1 s or 10 % by default). The clock and
the sleep function are parameters, so tests drive the poller with a fake clock and never
sleep (``tests/unit/test_bulk_poller.py`` runs simulated jobs through it).

The wait is written once, as steps (:func:`poll_steps`: each status check is the caller's steps,
each pause a ``Wait``), so the sync client (``wait_for_job``, or ``run`` over a session) and the
async one (``arun``) poll on the same schedule.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kinetic_core.bulk.models import JobInfo
from kinetic_core.errors import ApiError, ServerUnavailableError, TransportError
from kinetic_core.http.steps import Flow, Wait

logger = logging.getLogger(__name__)

_TRANSIENT_STATUS = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class PollPolicy:
    """How often to check a job.

    Attributes:
        initial: the wait after the first check (the job has shown nothing yet).
        maximum: the ceiling of any wait.
        factor: a prediction may look ahead at most ``(factor - 1)`` times the time waited so far.
        max_status_failures: consecutive failed status checks (after the HTTP layer's own retries)
            before giving up.
        minimum: the floor of any wait; None means ``initial``.
        tolerance: seconds a job may be seen ended late, at least.
        tolerance_ratio: ... or this share of the time waited, when that is longer.

    Example:
        >>> policy = PollPolicy()
        >>> policy.next_wait(waited=20.0, processed=0, total=None)   # nothing to predict from
        2.0
        >>> policy.next_wait(waited=4.0, processed=4000, total=16000, rate=1000.0)  # ends in 12 s
        4.0
        >>> policy.next_wait(waited=8.0, processed=8000, total=16000, rate=1000.0, steady=True)  # in 8 s
        8.4
    """

    initial: float = 1.0
    maximum: float = 30.0
    factor: float = 2.0
    max_status_failures: int = 5
    minimum: float | None = None
    tolerance: float = 1.0
    tolerance_ratio: float = 0.1

    @property
    def floor(self) -> float:
        """The shortest wait."""
        low = self.initial if self.minimum is None else self.minimum
        return max(0.0, min(float(low), float(self.maximum)))

    def slack(self, waited: float) -> float:
        """How late a job that ends now may be seen ended: ``max(tolerance, ratio * waited)``."""
        return max(float(self.tolerance), float(self.tolerance_ratio) * waited)

    def delays(self) -> Iterator[float]:
        """The endless sequence of waits for a job that shows no progress (no prediction possible):
        what :func:`wait_for_job` does for a query job, or an ingest job whose size is unknown.

        Example:
            >>> from itertools import islice
            >>> [round(d, 2) for d in islice(PollPolicy().delays(), 13)][-3:]
            [1.0, 1.1, 1.21]
        """
        waited = 0.0
        while True:
            wait = self.next_wait(waited=waited, processed=0, total=None)
            yield wait
            waited += wait

    def next_wait(
        self,
        *,
        waited: float,
        processed: int,
        total: int | None,
        rate: float | None = None,
        steady: bool = False,
        hint: float | None = None,
    ) -> float:
        """The wait before the next check.

        Args:
            waited: seconds since the first check of this job.
            processed: ``numberRecordsProcessed`` at the last check.
            total: rows the job holds, when known.
            rate: rows per second processed since the check before (None: none were).
            steady: ``rate`` is within 15 % of the rate of the interval before.
            hint: a server's ``Retry-After`` seconds, a lower bound.
        """
        reach = max(float(self.initial), (float(self.factor) - 1.0) * waited)
        wait = min(self.slack(waited), reach)
        if rate is not None and rate > 0 and total is not None:
            remaining = max(0, total - processed) / rate
            cap = max(wait, reach)
            if not steady and remaining > 2 * self.slack(waited):
                # a rate seen once (or changing) may be a slow start: look again half way
                wait = min(remaining / 2, cap)
            elif remaining <= cap:
                # land just after the predicted end
                wait = remaining + 0.25 * self.slack(waited + remaining)
            else:
                wait = cap
        wait = min(max(wait, self.floor), float(self.maximum))
        if hint is not None and hint > wait:
            wait = float(hint)
        return wait


class JobWaitTimeout(Exception):
    """Internal: the deadline passed while ``job_id`` was still running."""

    def __init__(self, job_id: str, info: JobInfo | None) -> None:
        super().__init__(job_id)
        self.job_id = job_id
        self.info = info


class JobWaitCancelled(Exception):
    """Internal: another part of the load failed; this wait was abandoned."""


def _counters(info: JobInfo) -> tuple[object, int, int]:
    return info.state, info.records_processed, info.records_failed


Look = Callable[[str], Flow[JobInfo]]
"""The steps of one status check of a job (``kinetic_core.bulk.jobs.get_job_steps``, say)."""


class _Watch:
    """The state of one wait: the last info seen, the failures in a row, the progress samples."""

    def __init__(self, job_id: str, look: Look, policy: PollPolicy) -> None:
        self.job_id = job_id
        self.get_job = look
        self.policy = policy
        self.last: JobInfo | None = None
        self.failures = 0
        self.hint: float | None = None
        self.start: float | None = None
        self.sample: tuple[float, int] | None = None  # (time, processed) at the previous check
        self.rate: float | None = None
        self.steady = False

    def look(self) -> Flow[JobInfo | None]:
        """One status check; None when it failed in a way worth another try (the last info stays)."""
        self.hint = None
        try:
            info = yield from self.get_job(self.job_id)
        except (TransportError, ServerUnavailableError) as exc:
            self._failed(exc)
            return None
        except ApiError as exc:
            if exc.status not in _TRANSIENT_STATUS:
                raise
            self._failed(exc)
            return None
        self.failures = 0
        return info

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        logger.warning("status check %d of job %s failed: %s", self.failures, self.job_id, exc)
        if self.failures >= self.policy.max_status_failures:
            raise exc
        hint = getattr(exc, "retry_after", None)
        self.hint = float(hint) if isinstance(hint, int | float) and not isinstance(hint, bool) else None

    def observe(self, info: JobInfo, now: float) -> bool:
        """Record ``info`` seen at ``now``; True when it differs from the last one."""
        changed = self.last is None or _counters(info) != _counters(self.last)
        self.last = info
        if self.start is None:
            self.start = now
        previous, before = self.sample, self.rate
        self.rate = None
        if previous is not None and info.records_processed > previous[1] and now > previous[0]:
            self.rate = (info.records_processed - previous[1]) / (now - previous[0])
        self.steady = (
            self.rate is not None and before is not None and abs(self.rate - before) <= 0.15 * before
        )
        self.sample = (now, info.records_processed)
        return changed

    def wait(self, now: float, total: int | None) -> float:
        waited = 0.0 if self.start is None else now - self.start
        processed = self.last.records_processed if self.last is not None else 0
        return self.policy.next_wait(
            waited=waited,
            processed=processed,
            total=total,
            rate=self.rate,
            steady=self.steady,
            hint=self.hint,
        )


def _last_look(watch: _Watch, on_change: Callable[[JobInfo], None] | None) -> Flow[JobInfo]:
    """At the deadline: one more check, so a job that ended during the final wait is not called running."""
    last = watch.last
    try:
        info = yield from watch.get_job(watch.job_id)
    except (TransportError, ApiError):
        raise JobWaitTimeout(watch.job_id, last) from None
    if on_change is not None and (last is None or info.state != last.state):
        on_change(info)
    if info.state.terminal:
        return info
    raise JobWaitTimeout(watch.job_id, info)


def poll_steps(
    job_id: str,
    look: Look,
    *,
    policy: PollPolicy,
    clock: Callable[[], float],
    deadline: float | None = None,
    on_change: Callable[[JobInfo], None] | None = None,
    cancel: threading.Event | None = None,
    total: int | None = None,
) -> Flow[JobInfo]:
    """Check the job with ``look`` until it is terminal, pausing (``Wait``) between checks; its last
    :class:`JobInfo`.

    ``total`` is the number of rows the job holds, when known: it lets the poller predict the
    job's end from its progress (see the module docstring). ``on_change`` is called with each
    info whose state or counters differ from the previous one.

    Raises:
        JobWaitTimeout: ``clock()`` passed ``deadline`` first.
        JobWaitCancelled: ``cancel`` was set.

    Example:
        >>> from kinetic_core.bulk.jobs import get_job_steps
        >>> steps = poll_steps("750000000000001AAA", get_job_steps, policy=PollPolicy(), clock=lambda: 0.0)
        >>> next(steps).url
        'jobs/ingest/750000000000001AAA'
    """
    watch = _Watch(job_id, look, policy)
    while True:
        if cancel is not None and cancel.is_set():
            raise JobWaitCancelled(job_id)
        info = yield from watch.look()
        now = clock()
        if info is not None:
            if watch.observe(info, now) and on_change is not None:
                on_change(info)
            if info.state.terminal:
                return info
        delay = watch.wait(now, total)
        if deadline is not None:
            remaining = deadline - now
            if remaining <= 0:
                raise JobWaitTimeout(job_id, watch.last)
            delay = min(delay, remaining)
        yield Wait(delay)
        if deadline is not None and clock() >= deadline:
            return (yield from _last_look(watch, on_change))


def _called(get_job: Callable[[str], JobInfo]) -> Look:
    """A plain status-check function as steps (that need no session)."""

    def look(job_id: str) -> Flow[JobInfo]:
        return get_job(job_id)
        yield  # a generator: makes no step of its own

    return look


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
    total: int | None = None,
) -> JobInfo:
    """Poll ``get_job(job_id)`` until the job is terminal (:func:`poll_steps`, each pause slept with
    ``sleep``); return its last :class:`JobInfo`.

    Raises:
        JobWaitTimeout: ``clock()`` passed ``deadline`` first.
        JobWaitCancelled: ``cancel`` was set.

    Example:
        >>> info = wait_for_job("750...", api.get_job, policy=PollPolicy(), clock=time.monotonic,
        ...                     sleep=time.sleep, total=10_000)  # doctest: +SKIP
    """
    steps = poll_steps(
        job_id,
        _called(get_job),
        policy=policy,
        clock=clock,
        deadline=deadline,
        on_change=on_change,
        cancel=cancel,
        total=total,
    )
    try:
        while True:
            try:
                step = next(steps)
            except StopIteration as stop:
                info: JobInfo = stop.value
                return info
            assert isinstance(step, Wait)  # the checks are plain calls: only the pauses are steps
            sleep(step.seconds)
    finally:
        steps.close()
