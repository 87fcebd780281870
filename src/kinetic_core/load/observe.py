"""What the router knows of the org right now: the per-call latency its session sees, and its allowances.

:class:`CallTimer` is installed once on a client's HTTP connection pool as a pair of event hooks (the
session's own send path is untouched): it times each answer's arrival (request sent to headers
received) and keeps the last few. The per-call latency is the median of the recent calls that carry
no record payload (Composite and Bulk uploads are left out: their time grows with the records).

:func:`org_view` gathers what :func:`~kinetic_core.load.decide.decide` needs: latency (observed, or
measured with the one ``limits`` call whose answer also gives the Bulk batches left), API calls left
(from the session's last ``Sforce-Limit-Info``) and Bulk batches left.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from kinetic_core._httpx import httpx
from kinetic_core.errors import KineticError
from kinetic_core.load.decide import CostModel, Strategy, poll_wait, predict
from kinetic_core.load.plan import ClientCall, Plan, run_plan

logger = logging.getLogger(__name__)

KEEP = 64
"""Answers remembered per client."""
PAYLOAD_PATHS = ("/composite/", "/batches", "/oauth2/")
"""Paths not counted as plain call latency: those whose time depends on the records they carry,
logins (the org's password and signature checks), and the result files of Bulk jobs
(:data:`RESULT_FILES`)."""
RESULT_FILES = ("successfulResults", "failedResults", "unprocessedrecords")
PENDING_LIMIT = 1_000
"""Requests timed but never answered (a dropped connection) that are remembered at most."""
BULK_SAMPLE_RECORDS = 2_000
"""Bulk loads smaller than this say little of the per-record cost (the fixed costs dominate)."""
LATENCY_BOUNDS = (0.001, 2.0)
"""The per-call latencies between which the router checks whether its choice would change."""


class CallTimer:
    """Times a client's API calls, from the request leaving to the answer's headers.

    Example:
        >>> timer = CallTimer.install(client)   # doctest: +SKIP
        >>> timer.call_seconds()                # doctest: +SKIP
        0.052
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, keep: int = KEEP) -> None:
        self._clock = clock
        self._started: dict[int, float] = {}
        self._plain: deque[float] = deque(maxlen=keep)
        self._loads: deque[tuple[Strategy, float, int, int]] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def now(self) -> float:
        """The timer's clock."""
        return self._clock()

    def on_request(self, request: Any) -> None:
        """httpx request hook."""
        with self._lock:
            if len(self._started) >= PENDING_LIMIT:
                self._started.clear()  # requests that never got an answer
            self._started[id(request)] = self._clock()

    def on_response(self, response: Any) -> None:
        """httpx response hook (the body is not read yet: the time is the answer's arrival)."""
        request = response.request
        with self._lock:
            started = self._started.pop(id(request), None)
            if started is None:
                return
            path = str(request.url.path)
            if not any(part in path for part in PAYLOAD_PATHS) and not path.rstrip("/").endswith(
                RESULT_FILES
            ):
                self._plain.append(self._clock() - started)

    def note_load(self, strategy: Strategy, seconds: float, records: int, *, jobs: int = 1) -> None:
        """Note a whole load's time (the router times the loads it runs)."""
        if records > 0 and strategy is not Strategy.AUTO:
            with self._lock:
                self._loads.append((strategy, seconds, records, jobs))

    def refine(self, model: CostModel) -> tuple[CostModel, bool]:
        """``model`` with the figures observed so far: the per-call latency, and the per-record
        costs of the loads noted (each a median; a cost never goes below zero). Returns the model and
        whether the latency was observed."""
        latency = self.call_seconds()
        if latency is None:
            return model, False
        with self._lock:
            loads = list(self._loads)
        m = replace(model, call_seconds=latency)
        rest = [s / n - latency for k, s, n, _ in loads if k is Strategy.REST]
        composite = [
            (s - math.ceil(n / m.composite_batch) * latency) / n
            for k, s, n, _ in loads
            if k is Strategy.COMPOSITE and n >= m.composite_batch
        ]
        bulk = [
            (s - _bulk_fixed(m, n, jobs)) / n
            for k, s, n, jobs in loads
            if k is Strategy.BULK and n >= BULK_SAMPLE_RECORDS
        ]
        return (
            replace(
                m,
                rest_record_seconds=_median_or(rest, m.rest_record_seconds),
                composite_record_seconds=_median_or(composite, m.composite_record_seconds),
                bulk_record_seconds=_median_or(bulk, m.bulk_record_seconds),
            ),
            True,
        )

    def call_seconds(self) -> float | None:
        """The median round trip of the recent plain calls, or None before the first."""
        with self._lock:
            samples = list(self._plain)
        return statistics.median(samples) if samples else None

    @classmethod
    def install(cls, client: Any) -> CallTimer | None:
        """The timer of ``client``'s connection pool (``httpx.Client`` or ``httpx.AsyncClient``),
        installed on first use; None when the client has no httpx pool to hook into (a test double,
        another transport)."""
        session = getattr(client, "http", None)
        pool = getattr(session, "http_client", None)
        if not isinstance(pool, httpx.Client | httpx.AsyncClient):
            return None
        hooks = pool.event_hooks
        for hook in hooks.get("response", []):
            owner = getattr(hook, "__self__", None)
            if isinstance(owner, CallTimer):
                return owner
        timer = cls()
        on_request: Any = timer.on_request
        on_response: Any = timer.on_response
        if isinstance(pool, httpx.AsyncClient):  # an asyncio pool awaits its hooks
            on_request, on_response = _Awaited(on_request), _Awaited(on_response)
        pool.event_hooks = {
            "request": [*hooks.get("request", []), on_request],
            "response": [*hooks.get("response", []), on_response],
        }
        return timer


class _Awaited:
    """A timer hook for an ``httpx.AsyncClient``: awaited, it calls the plain hook."""

    def __init__(self, hook: Callable[[Any], None]) -> None:
        self.hook = hook
        self.__self__ = getattr(hook, "__self__", None)

    async def __call__(self, message: Any) -> None:
        self.hook(message)


def _bulk_fixed(model: CostModel, records: int, jobs: int) -> float:
    """The part of a Bulk load's time that is not per record on the client: calls, queue, processing."""
    server = model.bulk_job_seconds + records / jobs / model.bulk_records_per_second
    return jobs * (model.bulk_calls_per_job * model.call_seconds + poll_wait(model, server))


def _median_or(samples: list[float], default: float) -> float:
    return max(0.0, statistics.median(samples)) if samples else default


@dataclass(frozen=True)
class OrgView:
    """What :func:`decide` is given about the org.

    Attributes:
        model: the cost model, ``call_seconds`` replaced by the observed latency when there is one.
        observed: whether the latency was observed.
        api_remaining: API calls left today (None: unknown).
        bulk_batches_remaining: Bulk batches left today (None: not read).
    """

    model: CostModel
    observed: bool
    api_remaining: int | None
    bulk_batches_remaining: int | None


def _choice_depends_on_latency(record_count: int, encoded_bytes: int, model: CostModel) -> bool:
    picks = set()
    for latency in LATENCY_BOUNDS:
        times = predict(record_count, encoded_bytes, replace(model, call_seconds=latency))
        picks.add(min(times, key=lambda s: (times[s], s is not Strategy.REST)))
    return len(picks) > 1


def default_model(client: Any) -> CostModel:
    """The emulator's defaults for the built-in local org or an org on a loopback address, else
    Salesforce's."""
    if getattr(client, "org_local", False) is True:
        return CostModel.emulator()
    try:
        host = urlsplit(str(getattr(client, "instance_url", ""))).hostname or ""
    except ValueError:
        return CostModel.salesforce()
    if host == "localhost":
        return CostModel.emulator()
    try:
        return CostModel.emulator() if ipaddress.ip_address(host).is_loopback else CostModel.salesforce()
    except ValueError:
        return CostModel.salesforce()


def org_view(
    client: Any,
    record_count: int,
    encoded_bytes: int,
    model: CostModel | None = None,
    *,
    timer: CallTimer | None = None,
) -> OrgView:
    """Latency, per-record costs, API calls and Bulk batches left, at the cost of at most one
    ``limits`` call (:func:`org_view_plan` on a sync client).
    """
    return run_plan(client, org_view_plan(client, record_count, encoded_bytes, model, timer=timer))


def org_view_plan(
    client: Any,
    record_count: int,
    encoded_bytes: int,
    model: CostModel | None = None,
    *,
    timer: CallTimer | None = None,
) -> Plan[OrgView]:
    """What :func:`org_view` gives, as a plan (``kinetic_core.load.plan``) for either client.

    The ``limits`` call is made only when the choice depends on what it tells: when the latency is
    not yet known and the choice would change with it, or when Bulk is predicted the fastest (its
    batches left may rule it out).
    """
    base = model or default_model(client)
    timer = timer or CallTimer.install(client)
    current, observed = timer.refine(base) if timer is not None else (base, False)
    times = predict(record_count, encoded_bytes, current)
    # the Bulk batches left matter only when Bulk is the fastest: they can rule it out
    bulk_fastest = times[Strategy.BULK] <= min(times[Strategy.COMPOSITE], times[Strategy.REST])
    batches = None
    if bulk_fastest or (not observed and _choice_depends_on_latency(record_count, encoded_bytes, base)):
        batches = yield from bulk_batches_plan()
        if not observed and timer is not None:
            current, observed = timer.refine(base)  # the limits call was timed
    usage = getattr(client, "api_usage", None)
    remaining = usage.remaining if usage is not None else None
    return OrgView(current, observed, remaining, batches)


def bulk_batches_left(client: Any) -> int | None:
    """Remaining ``DailyBulkApiBatches`` of the org, or None when it cannot be read (one API call)."""
    return run_plan(client, bulk_batches_plan())


def bulk_batches_plan() -> Plan[int | None]:
    """What :func:`bulk_batches_left` gives, as a plan for either client."""
    try:
        limits = yield ClientCall("limits")
        return int(limits["DailyBulkApiBatches"]["Remaining"])
    except (KineticError, KeyError, TypeError, ValueError, AttributeError) as exc:
        logger.info("daily bulk allowance unknown: %s", exc)
        return None


__all__ = [
    "CallTimer",
    "OrgView",
    "bulk_batches_left",
    "bulk_batches_plan",
    "default_model",
    "org_view",
    "org_view_plan",
]
