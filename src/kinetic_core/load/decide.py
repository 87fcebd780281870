"""The router's decision, pure: predict each API's time for a load, pick the fastest the org allows.

No I/O: every figure comes in as an argument (:class:`CostModel` holds the org's speeds, the caller
measures the per-call latency), so the choice can be tested and explained. :func:`predict` gives the
predicted wall time of a whole load through each API:

* REST: one call per record, ``n x call``;
* Composite sObject Collections: ``ceil(n / 200)`` calls, each ``call + records x per-record cost``;
* Bulk API 2.0: per job (one per 100 MB of CSV) the create, upload, close, poll and result calls, the
  org's queue time and ``n / rate`` of processing, seen through the poll schedule (the job is found
  finished at the first poll after it ends), plus the client's per-record cost (CSV and result files).

:func:`decide` picks the minimum, within what the org allows today (API calls and Bulk batches
left, with reserves), and says so in the reason with the predicted figures. :class:`Thresholds`
set explicitly override the model's switch points.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

COMPOSITE_BATCH = 200
"""Records per sObject Collections call (Salesforce's limit)."""
BULK_BATCH_RECORDS = 10_000
"""Records per internal Bulk batch, the unit of the daily ``DailyBulkApiBatches`` allowance."""
BULK_JOB_BYTES = 100_000_000
"""Encoded CSV bytes per Bulk job (the client splits below the 150 MB upload cap)."""


class Strategy(enum.StrEnum):
    """Which API carries a load."""

    AUTO = "auto"
    REST = "rest"
    COMPOSITE = "composite"
    BULK = "bulk"


LABELS = {Strategy.REST: "REST", Strategy.COMPOSITE: "Composite", Strategy.BULK: "Bulk API 2.0"}


@dataclass(frozen=True)
class CostModel:
    """The speeds the router predicts from. [I] Our figures, in one place; every one is settable.

    Two sets of defaults (:meth:`salesforce`, :meth:`emulator`); the figures the session observes
    replace them as loads run (:mod:`kinetic_core.load.observe`). Salesforce documents no speed:
    only Bulk API 2.0's 10,000-record internal batches, a 5-minute limit per batch, the advice that
    "more than 2,000 records" suits Bulk API 2.0 and fewer suit Composite, and that an sObject
    Collections request is one API call saving its records in one transaction, as a single-record
    create saves its one: so a Composite call costs the server at least what a REST create does,
    plus its records. The Salesforce defaults put the two APIs' predicted times level near 2,000
    records with the Bulk figures a production org commonly shows (5 s queued, 5,000 records/s);
    the emulator's are its own settings (no queue, no rate limit) and its per-call and per-record
    costs measured on the benchmark machine (a REST create 0.02 ms over a plain call, a Composite
    call 0.15 ms over one, plus 0.1 ms per record).

    Attributes:
        call_seconds: one API call's round trip when the session has observed none.
        rest_record_seconds: server time of a REST call (one record), beyond the round trip.
        composite_call_seconds: server time of a Composite call beyond the round trip, whatever
            its records (envelope, transaction, response): at N=1 it decides REST against Composite.
        composite_record_seconds: client and server time per record of a Composite call.
        composite_batch: records per Composite call.
        bulk_calls_per_job: calls per Bulk job besides polls: create, upload, close, and the
            successful, failed and unprocessed result files.
        bulk_job_seconds: the org's time from close to the start of processing, per job.
        bulk_records_per_second: the org's Bulk processing rate.
        bulk_record_seconds: client and server time per record of a Bulk load beyond that rate
            (encoding the CSV, uploading it, reading the result files back).
        poll_delays: seconds between status polls of a job, when the caller sets the poll policy;
            empty: the router polls every :attr:`poll_overshoot` of the job's predicted time
            (:attr:`poll_floor` to :attr:`poll_ceiling` seconds apart), and a finished job is seen
            half an interval late (at the first poll, when it finishes before it).
        poll_overshoot / poll_floor / poll_ceiling: see ``poll_delays``.
    """

    call_seconds: float = 0.1
    rest_record_seconds: float = 0.05
    composite_call_seconds: float = 0.05
    composite_record_seconds: float = 0.003
    composite_batch: int = COMPOSITE_BATCH
    bulk_calls_per_job: int = 6
    bulk_job_seconds: float = 5.0
    bulk_records_per_second: float = 5_000.0
    bulk_record_seconds: float = 0.00005
    poll_delays: tuple[float, ...] = field(default=())
    poll_overshoot: float = 0.1
    poll_floor: float = 0.1
    poll_ceiling: float = 5.0

    @classmethod
    def salesforce(cls) -> CostModel:
        """The defaults for a Salesforce org."""
        return cls()

    @classmethod
    def emulator(cls) -> CostModel:
        """The defaults for the local emulator: no queue, no rate limit, loopback calls."""
        return cls(
            call_seconds=0.002,
            rest_record_seconds=0.00002,
            composite_call_seconds=0.00015,
            composite_record_seconds=0.0001,
            bulk_job_seconds=0.0,
            bulk_records_per_second=1_000_000.0,
            bulk_record_seconds=0.00002,
        )

    def with_poll_schedule(self, delays: Iterable[float], horizon: float = 3_600.0) -> CostModel:
        """This model with a poll schedule (the first delays of a policy, up to ``horizon`` seconds)."""
        kept: list[float] = []
        total = 0.0
        for delay in itertools.islice(delays, 1_000):
            kept.append(float(delay))
            total += float(delay)
            if total >= horizon:
                break
        return replace(self, poll_delays=tuple(kept))

    def describe(self, observed: bool) -> str:
        """The figures of a reason: ``observed 52 ms per call, REST +50 ms and Composite +50 ms per
        call, 3.00 ms per Composite record, Bulk 5,000 records/s + 5.0 s per job``."""
        return (
            f"{'observed' if observed else 'assumed'} {self.call_seconds * 1000:,.0f} ms per call, REST "
            f"+{_ms(self.rest_record_seconds)} and Composite +{_ms(self.composite_call_seconds)} per call, "
            f"{_ms(self.composite_record_seconds)} per Composite record, Bulk "
            f"{self.bulk_records_per_second:,.0f} records/s "
            + (f"+ {_seconds(self.bulk_job_seconds)} per job" if self.bulk_job_seconds else "with no queue")
        )


@dataclass(frozen=True)
class Thresholds:
    """Overrides of the model's switch points, and the allowances kept in reserve.

    A switch point left at None is the cost model's to decide; one that is set wins over the model.

    Attributes:
        rest_max_records: up to this many records, one REST call each (and never REST above).
        bulk_min_records: from this many records on, Bulk (and never Bulk below, unless the API
            allowance runs short).
        bulk_min_bytes: from this encoded size on, Bulk whatever the count.
        api_reserve: API calls to leave untouched: a synchronous load that would eat into them goes
            Bulk instead (Bulk needs a handful of calls per job).
        bulk_batch_reserve: Bulk batches (10,000 records each) to leave untouched.
    """

    rest_max_records: int | None = None
    bulk_min_records: int | None = None
    bulk_min_bytes: int | None = None
    api_reserve: int = 500
    bulk_batch_reserve: int = 10


@dataclass(frozen=True)
class Decision:
    """The strategy chosen, a human-readable reason and the predicted seconds of each API."""

    strategy: Strategy
    reason: str
    predicted: Mapping[Strategy, float] = field(default_factory=dict, compare=False)


def bulk_jobs(encoded_bytes: int) -> int:
    """Bulk jobs a load of ``encoded_bytes`` of CSV is split into."""
    return max(1, math.ceil(encoded_bytes / BULK_JOB_BYTES)) if encoded_bytes else 1


def poll_interval(model: CostModel, seconds: float) -> float:
    """The router's own poll interval for a job that takes ``seconds`` after its close."""
    return min(model.poll_ceiling, max(model.poll_floor, seconds * model.poll_overshoot))


def poll_wait(model: CostModel, seconds: float) -> float:
    """When a job that takes ``seconds`` after its close is seen finished by the poll schedule."""
    if not model.poll_delays:
        interval = poll_interval(model, seconds)
        return max(interval, seconds + interval / 2)
    waited = 0.0
    for delay in model.poll_delays:
        waited += delay
        if waited >= seconds:
            return waited
    last = model.poll_delays[-1] or 1.0
    return waited + math.ceil((seconds - waited) / last) * last


def predict(record_count: int, encoded_bytes: int, model: CostModel) -> dict[Strategy, float]:
    """Predicted wall seconds of a whole load through each API. Pure.

    Example:
        >>> times = predict(30_000, 0, CostModel())
        >>> times[Strategy.BULK] < times[Strategy.COMPOSITE] < times[Strategy.REST]
        True
    """
    n = max(0, record_count)
    call = model.call_seconds
    rest = n * (call + model.rest_record_seconds)
    composite_calls = math.ceil(n / model.composite_batch)
    composite = composite_calls * (call + model.composite_call_seconds) + n * model.composite_record_seconds
    jobs = bulk_jobs(encoded_bytes)
    per_job = n / jobs
    server = model.bulk_job_seconds + per_job / model.bulk_records_per_second
    bulk = jobs * (model.bulk_calls_per_job * call + poll_wait(model, server)) + n * model.bulk_record_seconds
    return {Strategy.REST: rest, Strategy.COMPOSITE: composite, Strategy.BULK: bulk}


def _ms(value: float) -> str:
    """``0.15 ms``, ``3.00 ms``, ``50 ms``: milliseconds, two decimals under 10."""
    ms = value * 1000
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:,.0f} ms"


def _seconds(value: float) -> str:
    """``4.25 ms``, ``52.3 ms``, ``520 ms``, ``9.1 s``, ``1,204.5 s``: close predictions stay apart."""
    ms = value * 1000
    if ms < 10:
        return f"{ms:.2f} ms"
    if ms < 100:
        return f"{ms:.1f} ms"
    return f"{ms:,.0f} ms" if value < 1 else f"{value:,.1f} s"


def _plural(count: int, noun: str) -> str:
    """``1 record``, ``30,000 records``."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def _calls(strategy: Strategy, record_count: int, encoded_bytes: int, model: CostModel) -> int:
    if strategy is Strategy.REST:
        return record_count
    if strategy is Strategy.COMPOSITE:
        return math.ceil(record_count / model.composite_batch)
    return bulk_jobs(encoded_bytes) * (model.bulk_calls_per_job + 4)


def _forced(record_count: int, encoded_bytes: int, t: Thresholds) -> tuple[Strategy, str] | None:
    """The strategy a set threshold imposes, with its reason, if any."""
    records = _plural(record_count, "record")
    if t.bulk_min_records is not None and record_count >= t.bulk_min_records:
        return Strategy.BULK, f"{records}: Bulk API 2.0, used from {t.bulk_min_records:,} records"
    if t.bulk_min_bytes is not None and encoded_bytes >= t.bulk_min_bytes:
        return (
            Strategy.BULK,
            f"{encoded_bytes:,} bytes of CSV: Bulk API 2.0, used from {t.bulk_min_bytes:,} bytes",
        )
    if t.rest_max_records is not None and record_count <= t.rest_max_records:
        return Strategy.REST, f"{records}: one REST call per record (up to {t.rest_max_records:,} records)"
    return None


def decide(
    record_count: int,
    encoded_bytes: int,
    api_remaining: int | None,
    bulk_batches_remaining: int | None,
    thresholds: Thresholds | None = None,
    model: CostModel | None = None,
    *,
    observed: bool = False,
) -> Decision:
    """Choose the API for a load: the least predicted time the org's allowances permit. Pure: no I/O.

    Args:
        record_count: input records.
        encoded_bytes: their CSV size (0 if unknown).
        api_remaining: REST API calls left in the rolling 24 h window (None: unknown).
        bulk_batches_remaining: Bulk batches left in the window (None: unknown).
        thresholds: switch points that override the model, and the reserves.
        model: the speeds to predict from (:class:`CostModel` defaults when None).
        observed: whether ``model.call_seconds`` was observed (said in the reason).

    Example:
        >>> decide(2, 100, None, None).strategy, decide(500, 0, None, None).strategy
        (<Strategy.COMPOSITE: 'composite'>, <Strategy.COMPOSITE: 'composite'>)
        >>> decide(100_000, 0, None, None).reason.split(", predicted")[0]
        '100,000 records: Bulk API 2.0'
    """
    t = thresholds or Thresholds()
    m = model or CostModel()
    if record_count <= 0:
        return Decision(Strategy.REST, "no records: nothing to send")
    predicted = predict(record_count, encoded_bytes, m)
    batches_needed = max(1, math.ceil(record_count / BULK_BATCH_RECORDS))
    bulk_ok = (
        bulk_batches_remaining is None or bulk_batches_remaining - batches_needed >= t.bulk_batch_reserve
    )
    forced = _forced(record_count, encoded_bytes, t)
    if forced is not None and (forced[0] is Strategy.REST or bulk_ok):
        return Decision(forced[0], forced[1], predicted)
    candidates = [Strategy.REST, Strategy.COMPOSITE, Strategy.BULK]
    if t.rest_max_records is not None:
        candidates.remove(Strategy.REST)
    if t.bulk_min_records is not None or forced is not None:
        candidates.remove(Strategy.BULK)
    notes: list[str] = []
    if not bulk_ok and Strategy.BULK in candidates:
        candidates.remove(Strategy.BULK)
    if not bulk_ok:
        notes.append(
            f"only {bulk_batches_remaining:,} Bulk batches are left today ({batches_needed:,} needed, "
            f"{t.bulk_batch_reserve:,} kept in reserve)"
        )
    best = min(candidates, key=lambda s: (predicted[s], s is not Strategy.REST))
    bulk_calls = _calls(Strategy.BULK, record_count, encoded_bytes, m)
    if (
        best is not Strategy.BULK
        and api_remaining is not None
        and api_remaining - _calls(best, record_count, encoded_bytes, m) < t.api_reserve
        and bulk_ok
        and api_remaining >= bulk_calls
    ):
        calls = _plural(_calls(best, record_count, encoded_bytes, m), "call")
        reason = (
            f"{_plural(record_count, 'record')}: {LABELS[best]} would take {calls} and cut into the "
            f"{t.api_reserve:,}-call reserve ({api_remaining:,} calls left today): Bulk API 2.0"
        )
        return Decision(Strategy.BULK, reason, predicted)
    records = _plural(record_count, "record")
    if candidates == [Strategy.COMPOSITE] and t.bulk_min_records is not None and not notes:
        # every switch point was set: the thresholds decided, not the model
        calls = _plural(_calls(best, record_count, encoded_bytes, m), "call")
        reason = f"{records}: Composite, {calls} of up to {m.composite_batch} records"
        return Decision(best, f"{reason} (Bulk from {t.bulk_min_records:,} records)", predicted)
    reason = f"{records}: {_versus(best, predicted, candidates)}"
    if best is Strategy.COMPOSITE:
        calls = _plural(_calls(best, record_count, encoded_bytes, m), "call")
        reason += f"; {calls} of up to {m.composite_batch} records"
    reason += f" ({m.describe(observed)})"
    return Decision(best, "; ".join([reason, *notes]), predicted)


def _versus(best: Strategy, predicted: Mapping[Strategy, float], candidates: list[Strategy]) -> str:
    """``Bulk API 2.0, predicted 9.1 s vs Composite 14.2 s and REST 1,650.0 s``."""
    others = []
    for other in (Strategy.BULK, Strategy.COMPOSITE, Strategy.REST):
        if other is not best:
            barred = "" if other in candidates else " (ruled out)"
            others.append(f"{LABELS[other]} {_seconds(predicted[other])}{barred}")
    return f"{LABELS[best]}, predicted {_seconds(predicted[best])} vs {' and '.join(others)}"


def count_limit(thresholds: Thresholds | None, model: CostModel | None = None) -> int:
    """How many records of a one-shot input to read ahead before the choice is certain to be Bulk.

    ``thresholds.bulk_min_records`` when set; else the smallest count from which the model predicts
    Bulk faster than Composite, bounded to [2,000, 100,000]: past it the load goes Bulk, whatever
    its true size.
    """
    if thresholds is not None and thresholds.bulk_min_records is not None:
        return thresholds.bulk_min_records
    m = model or CostModel()
    low, high = 2_000, 100_000
    while low < high:
        mid = (low + high) // 2
        times = predict(mid, 0, m)
        if times[Strategy.BULK] < times[Strategy.COMPOSITE]:
            high = mid
        else:
            low = mid + 1
    return low


__all__ = [
    "CostModel",
    "Decision",
    "Strategy",
    "Thresholds",
    "count_limit",
    "decide",
    "poll_interval",
    "poll_wait",
    "predict",
]
