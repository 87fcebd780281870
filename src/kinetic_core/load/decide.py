"""The router's decision, pure: from a load's size and the org's allowances, which API carries it.

No I/O: every figure comes in as an argument, so the choice can be tested and explained.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass


class Strategy(enum.StrEnum):
    """Which API carries a load."""

    AUTO = "auto"
    REST = "rest"
    COMPOSITE = "composite"
    BULK = "bulk"


@dataclass(frozen=True)
class Thresholds:
    """Where the router switches API. [I] Our decision, tuned by ``benchmarks/router.py``.

    Attributes:
        rest_max_records: at most this many records go one REST call each.
        bulk_min_records: from this many records on, Bulk. With ~50 ms per call and Bulk at
            5,000 records/s + 5 s per job, Composite is faster up to about 20,000 records
            (10,000: 4.0 s vs 7.6 s; 100,000: 47 s vs 32 s). Composite spends one API call per
            200 records; ``api_reserve`` sends a load to Bulk whenever that would eat into the
            daily allowance, so the count threshold can follow wall time.
        bulk_min_bytes: from this encoded size on, Bulk whatever the count.
        api_reserve: API calls to leave untouched; a synchronous load that would eat into
            them goes Bulk instead (Bulk needs ~10 calls per job).
        bulk_batch_reserve: Bulk batches (10,000 records each) to leave untouched.
    """

    rest_max_records: int = 3
    bulk_min_records: int = 25_000
    bulk_min_bytes: int = 20_000_000
    api_reserve: int = 500
    bulk_batch_reserve: int = 10


@dataclass(frozen=True)
class Decision:
    """The strategy chosen and a human-readable reason."""

    strategy: Strategy
    reason: str


def decide(
    record_count: int,
    encoded_bytes: int,
    api_remaining: int | None,
    bulk_batches_remaining: int | None,
    thresholds: Thresholds | None = None,
) -> Decision:
    """Choose the API for a load. Pure: no I/O.

    Args:
        record_count: input records.
        encoded_bytes: their CSV size (0 if unknown).
        api_remaining: REST API calls left in the rolling 24 h window (None: unknown).
        bulk_batches_remaining: Bulk batches left in the window (None: unknown).
        thresholds: the switch points.

    Example:
        >>> decide(2, 100, None, None).strategy, decide(500, 0, None, None).strategy
        (<Strategy.REST: 'rest'>, <Strategy.COMPOSITE: 'composite'>)
        >>> decide(50_000, 0, None, None).strategy
        <Strategy.BULK: 'bulk'>
    """
    t = thresholds or Thresholds()
    batches_needed = max(1, math.ceil(record_count / 10_000))
    bulk_calls = 10 * max(1, math.ceil(encoded_bytes / 100_000_000) if encoded_bytes else 1)
    composite_calls = math.ceil(record_count / 200)
    bulk_ok = (
        bulk_batches_remaining is None or bulk_batches_remaining - batches_needed >= t.bulk_batch_reserve
    )
    if record_count <= 0:
        return Decision(Strategy.REST, "no records: nothing to send")
    records = _plural(record_count, "record")
    if record_count >= t.bulk_min_records or encoded_bytes >= t.bulk_min_bytes:
        size, threshold = (
            (records, f"{t.bulk_min_records:,} records")
            if record_count >= t.bulk_min_records
            else (f"{encoded_bytes:,} bytes of CSV", f"{t.bulk_min_bytes:,} bytes")
        )
        if bulk_ok:
            return Decision(Strategy.BULK, f"{size}: Bulk API 2.0, used from {threshold}")
        return Decision(
            Strategy.COMPOSITE,
            f"{size} would go to Bulk API 2.0, but only {bulk_batches_remaining:,} Bulk batches "
            f"are left today ({batches_needed:,} needed, {t.bulk_batch_reserve:,} kept in reserve): "
            "Composite",
        )
    if record_count <= t.rest_max_records:
        return Decision(
            Strategy.REST, f"{records}: one REST call per record (up to {t.rest_max_records:,} records)"
        )
    low_api = api_remaining is not None and api_remaining - composite_calls < t.api_reserve
    if low_api and bulk_ok and api_remaining is not None and api_remaining >= bulk_calls:
        return Decision(
            Strategy.BULK,
            f"{records}: Composite would take {_plural(composite_calls, 'call')} and cut into the "
            f"{t.api_reserve:,}-call reserve ({api_remaining:,} calls left today): Bulk API 2.0",
        )
    return Decision(
        Strategy.COMPOSITE,
        f"{records}: Composite, {_plural(composite_calls, 'call')} of up to 200 records "
        f"(Bulk from {t.bulk_min_records:,} records)",
    )


def _plural(count: int, noun: str) -> str:
    """``1 record``, ``30,000 records``."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


__all__ = ["Decision", "Strategy", "Thresholds", "decide"]
