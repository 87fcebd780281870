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
import itertools
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
from kinetic_core.load.decide import COMPOSITE_BATCH, CostModel, Strategy, poll_wait, predict
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
MIN_LOADS = 3
"""Loads of a kind (REST; Composite calls of about one size) before their cost is learnt: the
median of three is not one slow first load."""
BUCKET_KEEP = 16
"""Composite loads remembered per size of call (records per call, in powers of two)."""
FIT_SPREAD = 10
"""Records per call by which Composite loads must differ to tell the per-call cost from the
per-record one."""
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
        self._keep = keep
        self._plain: deque[float] = deque(maxlen=keep)
        self._loads: dict[tuple[Strategy, int], deque[tuple[float, int, int]]] = {}
        self._lock = threading.Lock()
        self._seen = 0  # answers and loads noted: a refined model is reused until it changes
        self._refined: tuple[int, CostModel, tuple[CostModel, bool]] | None = None

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
                self._seen += 1

    def note_load(self, strategy: Strategy, seconds: float, records: int, *, jobs: int = 1) -> None:
        """Note a whole load's time (the router times the loads it runs)."""
        if records > 0 and strategy is not Strategy.AUTO:
            # Composite loads are kept apart by records per call (1, 2-3, 4-7... 128-255): the
            # per-call and per-record costs are told apart only by calls of different sizes
            group = 0
            if strategy is Strategy.COMPOSITE:
                group = (records // math.ceil(records / COMPOSITE_BATCH)).bit_length()
            key = (strategy, group)
            with self._lock:
                kept = self._loads.setdefault(key, deque(maxlen=BUCKET_KEEP if group else self._keep))
                kept.append((seconds, records, jobs))
                self._seen += 1

    def refine(self, model: CostModel) -> tuple[CostModel, bool]:
        """``model`` with the figures observed so far: the per-call latency, and the costs of the
        loads noted (each a median, or a robust line through them; a cost never goes below zero).
        Returns the model and whether the latency was observed.

        A Composite call's cost beyond the round trip is fitted as ``per call + records x per
        record`` over the Composite loads seen (:func:`fit_composite`); a call of one record is never
        taken for cheaper than a REST call: a Collections call saves its records in one transaction,
        as a create saves one, and does more. A cost is learnt from :data:`MIN_LOADS` loads on (a
        client's first loads also pay for its imports and connections).
        """
        with self._lock:
            seen, cached = self._seen, self._refined
            if cached is not None and cached[0] == seen and cached[1] == model:
                return cached[2]
            loads = {key: list(kept) for key, kept in self._loads.items()}
        refined = self._refine(model, loads)
        with self._lock:
            self._refined = (seen, model, refined)
        return refined

    def _refine(
        self, model: CostModel, loads: dict[tuple[Strategy, int], list[tuple[float, int, int]]]
    ) -> tuple[CostModel, bool]:
        latency = self.call_seconds()
        if latency is None:
            return model, False
        m = replace(model, call_seconds=latency)

        def of(strategy: Strategy) -> list[tuple[float, int, int]]:
            return [load for (kind, _), kept in loads.items() if kind is strategy for load in kept]

        rest_loads = of(Strategy.REST)
        rest = m.rest_record_seconds
        if len(rest_loads) >= MIN_LOADS:
            rest = _median_or([s / n - latency for s, n, _ in rest_loads], rest)
        per_call, per_record = fit_composite(
            [(s - math.ceil(n / m.composite_batch) * latency, math.ceil(n / m.composite_batch), n)
             for s, n, _ in of(Strategy.COMPOSITE)],
            m.composite_call_seconds,
            m.composite_record_seconds,
        )  # fmt: skip
        bulk = [
            (s - _bulk_fixed(m, n, jobs)) / n for s, n, jobs in of(Strategy.BULK) if n >= BULK_SAMPLE_RECORDS
        ]
        return (
            replace(
                m,
                rest_record_seconds=rest,
                composite_call_seconds=max(per_call, rest - per_record),
                composite_record_seconds=per_record,
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


def fit_composite(
    loads: list[tuple[float, int, int]], per_call: float, per_record: float
) -> tuple[float, float]:
    """Composite's cost beyond the round trips, ``(per call, per record)``, from loads seen.

    Each load is ``(seconds beyond its round trips, calls, records)``; its time per call is a point
    on the line ``per call + records per call x per record``. The points are grouped by records per
    call (1, 2-3, 4-7... 128-255), each group its median point; the slope is the median of the
    slopes between groups (Theil-Sen: a few slow loads do not move it), the intercept the median of
    what is left. When the calls all carry about as many records (less than :data:`FIT_SPREAD`
    apart), the two cannot be told apart: the cost that weighs most at that size is refitted, the
    other one kept (``per_call`` and ``per_record`` given). A group of fewer than
    :data:`MIN_LOADS` loads is not used.

    Example:
        >>> fit_composite([(0.0011, 1, 1), (0.0021, 1, 11), (0.0201, 1, 191)] * 3, 0.0, 0.0)
        (0.001, 0.0001)
    """
    groups: dict[int, list[tuple[float, float]]] = {}
    for seconds, calls, n in loads:
        if calls > 0 and n > 0:
            groups.setdefault((n // calls).bit_length(), []).append((n / calls, seconds / calls))
    groups = {key: group for key, group in groups.items() if len(group) >= MIN_LOADS}
    if not groups:
        return per_call, per_record
    points = [
        (statistics.median(k for k, _ in group), statistics.median(z for _, z in group))
        for group in groups.values()
    ]
    sizes = [k for k, _ in points]
    if max(sizes) - min(sizes) < FIT_SPREAD:
        if statistics.fmean(sizes) < COMPOSITE_BATCH / 2:  # small calls: their fixed cost
            return _median_or([z - k * per_record for k, z in points], per_call), per_record
        return per_call, _median_or([(z - per_call) / k for k, z in points], per_record)
    slopes = [
        (z2 - z1) / (k2 - k1)
        for (k1, z1), (k2, z2) in itertools.combinations(points, 2)
        if abs(k2 - k1) >= FIT_SPREAD
    ]
    slope = _median_or(slopes, per_record)
    return round(_median_or([z - k * slope for k, z in points], per_call), 9), round(slope, 9)


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
    "fit_composite",
    "org_view",
    "org_view_plan",
]
