"""The smart router: pick REST, Composite or Bulk API 2.0 for a load, then run it.

Two halves:

* :func:`decide` is pure: from the record count, the encoded size, the API calls left
  today and the Bulk batches left, it returns a :class:`Decision` (strategy + reason).
  The thresholds live in :class:`Thresholds` (one obvious place to tune them; defaults
  from ``benchmarks/router.py``, see ``docs/benchmarks.md``).
* :func:`load` counts the input (materialising at most ``Thresholds.bulk_min_records``
  records of a one-shot iterator, streaming the rest), asks :func:`decide`, dispatches,
  and returns a :class:`LoadResult` whose shape does not depend on the strategy: one
  outcome per input row (1-based ``row_number``), totals, the strategy used and why.

If Bulk is chosen but the org refuses it (``FEATURENOTENABLED``,
``API_DISABLED_FOR_ORG``), the load falls back to Composite and the reason says so.
"""

from __future__ import annotations

import enum
import heapq
import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kinetic_core.bulk.models import Operation
from kinetic_core.bulk.results import BulkResult, RowResult
from kinetic_core.bulk.sources import frame_index_labels
from kinetic_core.errors import ApiError, KineticError, RequestLimitExceeded, TransportError
from kinetic_core.loadinput import KeptBack, OneShot, as_records, measure
from kinetic_core.normalise import INVALID_ROW
from kinetic_core.runfiles import check_writable

logger = logging.getLogger(__name__)

BULK_UNAVAILABLE = frozenset({"FEATURENOTENABLED", "API_DISABLED_FOR_ORG"})


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


# ---------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class RowOutcome:
    """One input row's outcome, whatever the API used.

    Attributes:
        row_number: 1-based position in the input.
        status: ``success``, ``failed`` or ``unprocessed``.
        id: record id when known. created: inserted (not updated).
        error_code / error_message / error_fields: why it failed.
        index_label: the row's label in a pandas DataFrame input whose index is not the default
            ``RangeIndex`` (``row_number`` stays the 1-based position); else None.
    """

    row_number: int
    status: str
    id: str | None = None
    created: bool = False
    error_code: str | None = None
    error_message: str | None = None
    error_fields: tuple[str, ...] = ()
    index_label: Any = None

    @property
    def success(self) -> bool:
        """True when the row was saved."""
        return self.status == "success"


@dataclass
class LoadResult:
    """Outcome of :func:`load`: same shape for every strategy.

    Iterating yields one :class:`RowOutcome` per input row in input order (lazily for Bulk).

    Example:
        >>> result = client.load("Contact", rows)                     # doctest: +SKIP
        >>> result.strategy, result.reason, result.successful         # doctest: +SKIP
    """

    strategy: Strategy
    reason: str
    total: int
    successful: int
    failed: int
    unprocessed: int
    job_ids: tuple[str, ...] = ()
    bulk: BulkResult | None = None
    _outcomes: list[RowOutcome] = field(default_factory=list, repr=False)
    _numbers: list[int] | None = field(default=None, repr=False)
    _rejected: list[RowOutcome] = field(default_factory=list, repr=False)

    @property
    def renumbered(self) -> bool:
        """True when the API saw fewer rows than the input had (unreadable rows were kept back), so
        ``bulk`` numbers its rows among those sent; iterate this result for the input's numbers."""
        return self._numbers is not None

    def __iter__(self) -> Iterator[RowOutcome]:
        if self.bulk is None:
            yield from self._outcomes
            return
        streams = [self.bulk.successful_rows(), self.bulk.failed_rows(), self.bulk.unprocessed_rows()]
        numbers = self._numbers
        sent = (_from_bulk(row, numbers) for row in heapq.merge(*streams, key=lambda r: r.row_number or 0))
        yield from heapq.merge(sent, self._rejected, key=lambda o: o.row_number)

    @property
    def outcomes(self) -> list[RowOutcome]:
        """Every outcome as a list (materialised; prefer iterating for big Bulk loads)."""
        return list(self)

    def failures(self) -> list[RowOutcome]:
        """Failed and unprocessed rows."""
        return [o for o in self if not o.success]

    def close(self) -> None:
        """Release the Bulk result store, if any."""
        if self.bulk is not None:
            self.bulk.close()


def _from_bulk(row: RowResult, numbers: list[int] | None = None) -> RowOutcome:
    number = row.row_number or 0
    if numbers is not None and 0 < number <= len(numbers):
        number = numbers[number - 1]
    return RowOutcome(
        row_number=number,
        status=row.status.value,
        id=row.id,
        created=bool(row.created),
        error_code=row.error_code,
        error_message=row.error_message,
        error_fields=row.error_fields,
        index_label=row.index_label,
    )


def bulk_batches_left(client: Any) -> int | None:
    """Remaining ``DailyBulkApiBatches`` of the org, or None when it cannot be read (one API call)."""
    try:
        limits = client.limits()
        return int(limits["DailyBulkApiBatches"]["Remaining"])
    except (KineticError, KeyError, TypeError, ValueError, AttributeError) as exc:
        logger.info("daily bulk allowance unknown: %s", exc)
        return None


@dataclass
class _Renumber:
    """Input rows kept back before the API (unreadable CSV rows): the numbers of the rows sent, and
    the outcomes of the rows kept back."""

    numbers: list[int]
    rejected: list[RowOutcome]

    @classmethod
    def of(cls, kept: KeptBack | None) -> _Renumber | None:
        if kept is None:
            return None
        rejected = [
            RowOutcome(n, "failed", None, False, INVALID_ROW, message) for n, message in kept.rejected
        ]
        return cls(kept.numbers, rejected)

    def apply(self, outcomes: list[RowOutcome]) -> list[RowOutcome]:
        fixed = [_renumbered(o, self.numbers[o.row_number - 1]) for o in outcomes]
        return sorted(fixed + self.rejected, key=lambda o: o.row_number)


def _renumbered(outcome: RowOutcome, number: int) -> RowOutcome:
    return RowOutcome(
        number,
        outcome.status,
        outcome.id,
        outcome.created,
        outcome.error_code,
        outcome.error_message,
        outcome.error_fields,
    )


# ---------------------------------------------------------------------------------------------- load
def load(
    client: Any,
    sobject: str,
    records: Any,
    operation: str = "insert",
    strategy: str | Strategy = "auto",
    external_id_field: str | None = None,
    *,
    thresholds: Thresholds | None = None,
    **opts: Any,
) -> LoadResult:
    """Load records through REST, Composite or Bulk API 2.0 (``strategy="auto"`` decides).

    Args:
        client: a ``SalesforceClient``.
        sobject: object API name.
        records: iterable of dicts (or id strings for deletes), a CSV path, or a DataFrame.
        operation: ``insert``, ``update``, ``upsert``, ``delete`` or ``hard_delete`` (Bulk only).
        strategy: ``auto``, ``rest``, ``composite`` or ``bulk``.
        external_id_field: the upsert key.
        thresholds: override the switch points.
        **opts: passed to ``BulkClient`` loads (``results_dir``, ``timeout``, ``on_event``...).
            ``results_dir`` is checked first, for every strategy: ``OutputNotWritableError``
            (nothing sent) when it is a file, read-only or full.

    Example:
        >>> result = load(client, "Contact", [{"LastName": "Ng"}])  # doctest: +SKIP
        >>> result.strategy                                          # doctest: +SKIP
        <Strategy.REST: 'rest'>
    """
    t = thresholds or Thresholds()
    op = Operation.parse(operation)
    if op is Operation.UPSERT and not external_id_field:
        raise ValueError("upsert needs external_id_field")
    if opts.get("results_dir") is not None:
        check_writable(Path(opts["results_dir"]))  # before the first record is sent, whatever the API
    chosen = Strategy(strategy)
    count, size, source, kept = measure(records, t.bulk_min_records)
    renumber = _Renumber.of(kept)
    if chosen is Strategy.AUTO:
        usage = getattr(client, "api_usage", None)
        remaining = usage.remaining if usage is not None else None
        batches_left = bulk_batches_left(client) if count >= t.bulk_min_records else None
        decision = decide(count, size, remaining, batches_left, t)
        if isinstance(source, OneShot):
            # counting stopped at the threshold: the input has at least that many records
            decision = Decision(decision.strategy, f"at least {decision.reason}")
        if op is Operation.HARD_DELETE and decision.strategy is not Strategy.BULK:
            decision = Decision(Strategy.BULK, "hard delete exists only in Bulk API 2.0")
    else:
        decision = Decision(chosen, f"strategy={chosen.value} requested")
    if decision.strategy is Strategy.BULK:
        if renumber is not None and "results_dir" in opts:
            # the jobs number the rows sent; the caller writes files from this result's outcomes
            logger.info("some input rows were kept back: no Bulk result files are written")
            opts = {k: v for k, v in opts.items() if k != "results_dir"}
        try:
            result = _run_bulk(client, sobject, source, op, external_id_field, decision, opts)
        except ApiError as exc:
            # An explicit strategy="bulk" is honoured: only "auto" may switch API behind the caller.
            if (
                exc.error_code not in BULK_UNAVAILABLE
                or op is Operation.HARD_DELETE
                or chosen is not Strategy.AUTO
            ):
                raise
            logger.warning("Bulk API unavailable (%s); falling back to Composite", exc.error_code)
            if isinstance(source, OneShot) and source.consumed:
                raise
            decision = Decision(
                Strategy.COMPOSITE,
                f"{decision.reason}; Bulk unavailable ({exc.error_code}): Composite instead",
            )
        else:
            if result.bulk is not None:
                result.bulk.index_labels = frame_index_labels(records)  # the frame itself was not sent
            if renumber is not None:
                result._numbers = renumber.numbers
                result._rejected = renumber.rejected
                result.total += len(renumber.rejected)
                result.failed += len(renumber.rejected)
            return result
    rows = as_records(source)
    if decision.strategy is Strategy.REST:
        outcomes = _run_rest(client, sobject, rows, op, external_id_field)
    else:
        outcomes = _run_composite(client, sobject, rows, op, external_id_field)
    if renumber is not None:
        outcomes = renumber.apply(outcomes)
    labels = frame_index_labels(records)
    if labels is not None:
        outcomes = [replace(o, index_label=labels[o.row_number - 1]) for o in outcomes]
    return _summarise(decision, outcomes)


def _run_bulk(
    client: Any,
    sobject: str,
    source: Any,
    op: Operation,
    external_id_field: str | None,
    decision: Decision,
    opts: Mapping[str, Any],
) -> LoadResult:
    bulk = client.bulk
    if isinstance(source, OneShot):
        # probe first: a refused Bulk must not consume a one-shot input
        probe = bulk.create_job(sobject, op, external_id_field=external_id_field)
        try:
            bulk.abort_job(probe.id)
            bulk.delete_job(probe.id)
        except ApiError as exc:
            logger.info("cleaning up probe job %s: %s", probe.id, exc)
    kwargs = dict(opts)
    if op is Operation.UPSERT:
        kwargs["external_id_field"] = external_id_field
    method = {
        Operation.INSERT: bulk.insert,
        Operation.UPDATE: bulk.update,
        Operation.UPSERT: bulk.upsert,
        Operation.DELETE: bulk.delete,
        Operation.HARD_DELETE: bulk.hard_delete,
    }[op]
    result: BulkResult = method(sobject, source, **kwargs)
    return LoadResult(
        strategy=Strategy.BULK,
        reason=decision.reason,
        total=result.total,
        successful=result.successful,
        failed=result.failed,
        unprocessed=result.unprocessed,
        job_ids=result.job_ids,
        bulk=result,
    )


def _error_outcome(number: int, exc: ApiError) -> RowOutcome:
    return RowOutcome(number, "failed", None, False, exc.error_code, exc.message, tuple(exc.fields))


_LIMIT_NOT_SENT = "not sent: the API request limit ran out"


def _run_rest(
    client: Any, sobject: str, rows: list[Any], op: Operation, external_id_field: str | None
) -> list[RowOutcome]:
    """One REST call per row; every row ends with an outcome, whatever goes wrong."""
    if op is Operation.HARD_DELETE:
        raise ValueError(f"{op.value} is not available through REST")
    outcomes: list[RowOutcome] = []
    for number, row in enumerate(rows, 1):
        record: Mapping[str, Any] = row if isinstance(row, Mapping) else {"Id": row}
        try:
            outcomes.append(_rest_row(client, sobject, number, record, op, external_id_field))
        except RequestLimitExceeded as exc:
            # Stop calling: this row was refused and the rest are never sent.
            outcomes.append(
                RowOutcome(number, "unprocessed", None, False, exc.error_code, exc.message, tuple(exc.fields))
            )
            outcomes.extend(
                RowOutcome(
                    n, "unprocessed", None, False, "NOT_SENT", "not sent: the API request limit ran out"
                )
                for n in range(number + 1, len(rows) + 1)
            )
            break
        except ApiError as exc:
            outcomes.append(_error_outcome(number, exc))
        except TransportError as exc:
            if op is Operation.INSERT:
                # The create may have been saved before the answer was lost: never re-sent blindly.
                outcomes.append(
                    RowOutcome(number, "failed", None, False, "IN_DOUBT", f"no answer, may be saved: {exc}")
                )
            else:
                outcomes.append(RowOutcome(number, "failed", None, False, "TRANSPORT_ERROR", str(exc)))
        except ValueError as exc:
            field = (external_id_field or "Id") if op is Operation.UPSERT else "Id"
            outcomes.append(RowOutcome(number, "failed", None, False, "MISSING_ARGUMENT", str(exc), (field,)))
    return outcomes


def _rest_row(
    client: Any,
    sobject: str,
    number: int,
    record: Mapping[str, Any],
    op: Operation,
    external_id_field: str | None,
) -> RowOutcome:
    if op is Operation.INSERT:
        return RowOutcome(number, "success", client.create(sobject, record), True)
    if op is Operation.UPSERT:
        assert external_id_field is not None
        key = record.get(external_id_field)
        if key is None or str(key).strip() == "":
            raise ValueError(f"{external_id_field} is empty: an upsert needs the external id value")
        res = client.upsert(sobject, external_id_field, str(key), record)
        return RowOutcome(number, "success", res.id, bool(res.created))
    record_id = record.get("Id")
    if record_id is None or str(record_id).strip() == "":
        raise ValueError(f"Id is empty: {op.value} needs the record id")
    if op is Operation.UPDATE:
        client.update(sobject, str(record_id), record)
    else:
        client.delete(sobject, str(record_id))
    return RowOutcome(number, "success", str(record_id))


def _run_composite(
    client: Any, sobject: str, rows: list[Any], op: Operation, external_id_field: str | None
) -> list[RowOutcome]:
    records = [row if isinstance(row, Mapping) else {"Id": row} for row in rows]
    if op is Operation.INSERT:
        results = client.create_batch(sobject, records)
    elif op is Operation.UPDATE:
        results = client.update_batch(sobject, records)
    elif op is Operation.UPSERT:
        results = client.upsert_batch(sobject, records, external_id_field)
    elif op is Operation.DELETE:
        results = client.delete_batch([str(r["Id"]) for r in records])
    else:
        raise ValueError(f"{op.value} is not available through Composite")
    outcomes: list[RowOutcome] = []
    for res in results:
        number = int(res.index) + 1
        if res.success:
            outcomes.append(RowOutcome(number, "success", res.id, bool(res.created)))
            continue
        first = res.errors[0] if res.errors else None
        code = first.code if first else "UNKNOWN_EXCEPTION"
        status = "unprocessed" if code == "NOT_SENT" else "failed"
        outcomes.append(
            RowOutcome(
                number,
                status,
                res.id,
                False,
                code,
                first.message if first else None,
                tuple(first.fields) if first else (),
            )
        )
    outcomes.sort(key=lambda o: o.row_number)
    return outcomes


def _summarise(decision: Decision, outcomes: list[RowOutcome]) -> LoadResult:
    return LoadResult(
        strategy=decision.strategy,
        reason=decision.reason,
        total=len(outcomes),
        successful=sum(o.status == "success" for o in outcomes),
        failed=sum(o.status == "failed" for o in outcomes),
        unprocessed=sum(o.status == "unprocessed" for o in outcomes),
        _outcomes=outcomes,
    )


__all__ = ["Decision", "LoadResult", "RowOutcome", "Strategy", "Thresholds", "decide", "load"]
