"""Sending one batch: map its rows, load them through the router, record the outcome in the journal."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kinetic_core.bulk.events import BulkEvent, JobCreated, JobStateChanged, RowsUploaded
from kinetic_core.bulk.poller import PollPolicy
from kinetic_core.errors import ApiError, MappingError, TransportError
from kinetic_core.inputs import nest
from kinetic_core.load import RowOutcome, Strategy, Thresholds
from kinetic_core.load import load as load_records
from kinetic_core.mapping import FieldMapper
from kinetic_core.pipeline.csvsource import RawRow
from kinetic_core.pipeline.journal import BatchCounts, FailureRow, Journal
from kinetic_core.pipeline.report import BatchSummary, RecordError

logger = logging.getLogger(__name__)

INVALID_ROW = "INVALID_ROW"
MAPPING_ERROR = "MAPPING_ERROR"
MISSING_KEY = "MISSING_KEY"
IN_DOUBT = "IN_DOUBT"
IN_DOUBT_MESSAGE = (
    "the run stopped while this insert was in flight; it may or may not have been saved: "
    "check the org before loading the row again"
)


@dataclass(frozen=True)
class Item:
    """A source row that mapped: its number, its source record and the record to send."""

    row_number: int
    source: dict[str, Any]
    record: dict[str, Any]


@dataclass
class Prepared:
    """A batch's rows after mapping: what to send and what already failed."""

    rows: int
    first_row: int
    last_row: int
    items: list[Item] = field(default_factory=list)
    failures: list[FailureRow] = field(default_factory=list)


Outcomes = list[tuple[Item, RowOutcome]]


@dataclass
class Callbacks:
    """User callbacks (see ``SyncPipeline``)."""

    on_record_success: Callable[[int, Mapping[str, Any], str | None], None] | None = None
    on_record_error: Callable[[RecordError], None] | None = None
    on_batch_complete: Callable[[BatchSummary], None] | None = None
    on_event: Callable[[Any], None] | None = None


class BatchRunner:
    """Everything a batch needs: client, object, operation, mapper, journal and callbacks."""

    def __init__(
        self,
        *,
        client: Any,
        sobject: str,
        operation: str,
        external_id_field: str | None,
        mapper: FieldMapper | None,
        journal: Journal | None,
        callbacks: Callbacks,
        bulk_options: Mapping[str, Any],
        thresholds: Thresholds | None,
        checkpoint: Callable[[str], None] | None,
    ) -> None:
        self.client = client
        self.sobject = sobject
        self.operation = operation
        self.external_id_field = external_id_field
        self.mapper = mapper
        self._journal = journal
        self.callbacks = callbacks
        self.bulk_options = dict(bulk_options)
        self.thresholds = thresholds
        self.checkpoint = checkpoint

    @property
    def journal(self) -> Journal:
        """The run's journal (a dry run has none and never sends)."""
        if self._journal is None:
            raise RuntimeError("this runner has no journal: it cannot send")
        return self._journal

    # ------------------------------------------------------------------ mapping
    def map_row(self, raw: RawRow) -> Item | FailureRow:
        """Map one source row, or say why it cannot be sent."""
        if raw.cells is None:
            return FailureRow(raw.number, "failed", INVALID_ROW, raw.error or "unreadable row")
        source = dict(raw.cells)
        try:
            record = self.mapper.map(source, raw.number) if self.mapper is not None else nest(source)
        except MappingError as exc:
            return FailureRow(raw.number, "failed", MAPPING_ERROR, str(exc), (), source)
        key = None
        if self.operation in ("update", "delete"):
            key = "Id"
        elif self.operation == "upsert":
            key = self.external_id_field
        if key is not None and record.get(key) in (None, ""):
            return FailureRow(
                raw.number, "failed", MISSING_KEY, f"the mapped record has no {key}", (key,), source
            )
        if self.operation == "delete":
            record = {"Id": record["Id"]}
        return Item(raw.number, source, record)

    def prepare(self, raws: Sequence[RawRow]) -> Prepared:
        """Map a batch's rows."""
        prepared = Prepared(len(raws), raws[0].number if raws else 0, raws[-1].number if raws else 0)
        for raw in raws:
            mapped = self.map_row(raw)
            if isinstance(mapped, Item):
                prepared.items.append(mapped)
            else:
                prepared.failures.append(mapped)
        return prepared

    # ------------------------------------------------------------------ sending
    def _step(self, name: str) -> None:
        if self.checkpoint is not None:
            self.checkpoint(name)

    def _listener(self, batch_no: int) -> Callable[[BulkEvent], None]:
        seen_states: set[tuple[str, str]] = set()

        def on_event(event: BulkEvent) -> None:
            if isinstance(event, JobCreated):
                self.journal.add_job(batch_no, event.job_id, event.part)
            elif isinstance(event, RowsUploaded):
                self._step("rows_uploaded")
            elif isinstance(event, JobStateChanged) and (event.job_id, event.state.value) not in seen_states:
                seen_states.add((event.job_id, event.state.value))
                self._step("job_state")
            if self.callbacks.on_event is not None:
                self.callbacks.on_event(event)

        return on_event

    def send(self, batch_no: int, items: Sequence[Item], strategy: str) -> Outcomes:
        """Load ``items`` through the router with ``strategy``; one outcome per item."""
        if not items:
            return []
        opts: dict[str, Any] = {}
        if strategy == Strategy.BULK:
            opts = {**self.bulk_options, "on_event": self._listener(batch_no)}
        result = load_records(
            self.client,
            self.sobject,
            [item.record for item in items],
            operation=self.operation,
            strategy=strategy,
            external_id_field=self.external_id_field,
            thresholds=self.thresholds,
            **opts,
        )
        try:
            outcomes = [(items[o.row_number - 1], o) for o in result]
        finally:
            result.close()
        self._step("batch_sent")
        return outcomes

    def send_batch(self, prepared: Prepared, strategy: str) -> BatchSummary:
        """Journal, send and complete one batch (the normal path)."""
        batch_no = self.journal.begin_batch(prepared.first_row, prepared.last_row, prepared.rows, strategy)
        try:
            outcomes = self.send(batch_no, prepared.items, strategy)
        except (ApiError, TransportError) as exc:
            refused = isinstance(exc, ApiError) or not exc.in_doubt
            if strategy != Strategy.BULK and refused:
                # a REST/Composite call refused as a whole (or never delivered) saved nothing
                self.journal.abandon_batch(batch_no)
            raise
        return self.complete(batch_no, strategy, prepared, outcomes)

    # ------------------------------------------------------------------ completing
    def complete(
        self, batch_no: int, strategy: str, prepared: Prepared, outcomes: Outcomes, *, recovered: bool = False
    ) -> BatchSummary:
        """Record a batch's outcome in the journal, then run the callbacks."""
        failures = list(prepared.failures)
        successes: list[tuple[Item, RowOutcome]] = []
        counts = {"successful": 0, "failed": len(failures), "unprocessed": 0, "in_doubt": 0}
        for item, outcome in outcomes:
            if outcome.status == "success":
                counts["successful"] += 1
                successes.append((item, outcome))
                continue
            status = outcome.status if outcome.status in ("unprocessed", "in_doubt") else "failed"
            counts["failed" if status == "failed" else status] += 1
            failures.append(
                FailureRow(
                    item.row_number,
                    status,
                    outcome.error_code,
                    outcome.error_message,
                    tuple(outcome.error_fields),
                    item.source,
                )
            )
        failures.sort(key=lambda f: f.row_number)
        self.journal.complete_batch(batch_no, BatchCounts(**counts), failures, recovered=recovered)
        summary = BatchSummary(
            batch_no,
            prepared.first_row,
            prepared.last_row,
            prepared.rows,
            strategy,
            job_ids=tuple(self.journal.jobs(batch_no)),
            recovered=recovered,
            **counts,
        )
        self._run_callbacks(successes, failures, summary)
        return summary

    def _run_callbacks(
        self, successes: Outcomes, failures: Sequence[FailureRow], summary: BatchSummary
    ) -> None:
        cb = self.callbacks
        if cb.on_record_success is not None:
            for item, outcome in successes:
                cb.on_record_success(item.row_number, item.source, outcome.id)
        if cb.on_record_error is not None:
            for failure in failures:
                cb.on_record_error(
                    RecordError(
                        failure.row_number,
                        failure.status,
                        failure.error_code,
                        failure.error_message,
                        failure.record,
                    )
                )
        if cb.on_batch_complete is not None:
            cb.on_batch_complete(summary)
        if cb.on_event is not None:
            cb.on_event(summary)


def in_doubt(item: Item) -> RowOutcome:
    """The outcome of an insert row whose call was in flight at a crash."""
    return RowOutcome(item.row_number, "in_doubt", None, False, IN_DOUBT, IN_DOUBT_MESSAGE)


def default_bulk_options(
    max_records_per_job: int, concurrency: int, poll: PollPolicy | None
) -> dict[str, Any]:
    """Options the pipeline passes to Bulk loads."""
    opts: dict[str, Any] = {"max_records_per_job": max_records_per_job, "max_concurrent_jobs": concurrency}
    if poll is not None:
        opts["poll"] = poll
    return opts
