"""Settling the batch that was in flight when a run stopped (``--resume``).

* **Bulk** (any operation): the jobs recorded in the journal are re-attached by id. An ``Open`` job
  never received all its data and never runs: it is aborted. A running job is awaited
  (``client.bulk.wait``). The results of finished jobs (``client.bulk.get_results``) are matched back
  to the batch's rows by their cell values, the same digest the bulk client uses. Rows that no job
  processed are sent again (as new jobs of the same batch); processed rows never are. The batch's
  rows are indexed by content once per column set, so settling costs time in proportion to its rows.
* **REST / Composite insert**: the call may or may not have been saved. When the rows carry an
  external id, the org is asked which of them it holds (:mod:`kinetic_core.pipeline.indoubt`): rows
  found are successes with the found Id, rows absent are sent again. Rows with no way to tell are
  reported as ``in_doubt`` (error code ``IN_DOUBT``), never re-sent.
* **REST / Composite update, upsert, delete**: sent again; setting the same values twice leaves one
  record, and a delete that finds the record already deleted (``ENTITY_IS_DELETED``) counts as done.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator, Sequence
from itertools import chain
from typing import Any

from kinetic_core.bulk.codec import cells_for, encode_record, row_key
from kinetic_core.bulk.models import JobState, Operation
from kinetic_core.bulk.results import RowResult
from kinetic_core.errors import ApiError, NotFoundError
from kinetic_core.load import RowOutcome, Strategy
from kinetic_core.pipeline.csvsource import RawRow
from kinetic_core.pipeline.indoubt import settle_inserts
from kinetic_core.pipeline.journal import BatchRecord
from kinetic_core.pipeline.report import BatchSummary
from kinetic_core.pipeline.runner import BatchRunner, Item, Outcomes, in_doubt

logger = logging.getLogger(__name__)

ALREADY_DELETED = frozenset({"ENTITY_IS_DELETED"})


def _outcome(item: Item, row: RowResult) -> RowOutcome:
    return RowOutcome(
        item.row_number,
        row.status.value,
        row.id,
        bool(row.created),
        row.error_code,
        row.error_message,
        tuple(row.error_fields),
    )


def _key_index(items: Sequence[Item], columns: Sequence[str]) -> dict[bytes, deque[int]]:
    index: dict[bytes, deque[int]] = {}
    for position, item in enumerate(items):
        key = row_key(cells_for(columns, encode_record(item.record)))
        index.setdefault(key, deque()).append(position)
    return index


def _job_rows(bulk: Any, job_id: str) -> Iterator[tuple[list[str], RowResult]]:
    """Processed rows (successes and failures) of one finished job, with the job's columns."""
    result = bulk.get_results(job_id)
    try:
        columns = list(result.columns)
        for row in chain(result.successful_rows(), result.failed_rows()):
            yield columns, row
    finally:
        result.close()


def _settle_job(bulk: Any, job_id: str) -> bool:
    """Bring one recorded job to a terminal state; False when it carries no processed rows."""
    try:
        info = bulk.get_job(job_id)
    except NotFoundError:
        logger.warning("bulk job %s recorded in the journal no longer exists", job_id)
        return False
    if info.operation in (Operation.QUERY, Operation.QUERY_ALL):
        return False
    if info.state is JobState.OPEN:
        # the upload never completed, so the job never ran: abort it and send its rows again
        try:
            bulk.abort_job(job_id)
        except ApiError as exc:
            logger.info("aborting the unfinished job %s: %s", job_id, exc)
        return False
    if not info.state.terminal:
        logger.info("re-attaching to bulk job %s (%s)", job_id, info.state.value)
        bulk.wait(job_id)
    return True


def recover_bulk(runner: BatchRunner, batch_no: int, items: Sequence[Item]) -> Outcomes:
    """Re-attach a Bulk batch's jobs; send only the rows no job processed."""
    bulk = runner.client.bulk
    settled: dict[int, RowOutcome] = {}
    indexes: dict[tuple[str, ...], dict[bytes, deque[int]]] = {}
    unmatched = 0
    for job_id in runner.journal.jobs(batch_no):
        if not _settle_job(bulk, job_id):
            continue
        for columns, row in _job_rows(bulk, job_id):
            index = indexes.get(tuple(columns))
            if index is None:  # once per column set: building it per row made resume quadratic
                index = indexes[tuple(columns)] = _key_index(items, columns)
            queue = index.get(row_key([row.record.get(c, "") for c in columns]))
            while queue and queue[0] in settled:
                queue.popleft()
            if queue:
                position = queue.popleft()
                settled[position] = _outcome(items[position], row)
            else:
                unmatched += 1
    if unmatched:
        logger.warning("%d result row(s) of batch %d matched no source row", unmatched, batch_no)
    rest = [item for position, item in enumerate(items) if position not in settled]
    outcomes: Outcomes = [(items[p], o) for p, o in settled.items()]
    if rest:
        logger.info("batch %d: %d row(s) were never processed; sending them now", batch_no, len(rest))
        outcomes += runner.send(batch_no, rest, Strategy.BULK)
    outcomes.sort(key=lambda pair: pair[0].row_number)
    return outcomes


def recover_inserts(runner: BatchRunner, batch_no: int, items: Sequence[Item], strategy: str) -> Outcomes:
    """Settle a REST/Composite insert batch by its external ids (see :mod:`.indoubt`)."""
    if not items:
        return []
    settled = settle_inserts(runner.client, runner.sobject, runner.external_id_field, items)
    outcomes: Outcomes = [
        (item, RowOutcome(item.row_number, "success", settled.loaded[item.row_number], True))
        for item in items
        if item.row_number in settled.loaded
    ]
    outcomes += [(item, in_doubt(item)) for item in settled.doubtful]
    if settled.resend:
        outcomes += runner.send(batch_no, settled.resend, strategy)
    outcomes.sort(key=lambda pair: pair[0].row_number)
    return outcomes


def recover_sync(runner: BatchRunner, batch_no: int, items: Sequence[Item], strategy: str) -> Outcomes:
    """Settle a REST/Composite batch (see the module docstring)."""
    if runner.operation == "insert":
        return recover_inserts(runner, batch_no, items, strategy)
    outcomes = runner.send(batch_no, items, strategy)
    if runner.operation != "delete":
        return outcomes
    fixed: Outcomes = []
    for item, outcome in outcomes:
        if outcome.status != "success" and outcome.error_code in ALREADY_DELETED:
            outcome = RowOutcome(outcome.row_number, "success", item.record.get("Id"))
        fixed.append((item, outcome))
    return fixed


def recover_batch(runner: BatchRunner, batch: BatchRecord, raws: Sequence[RawRow]) -> BatchSummary:
    """Settle the in-flight ``batch`` whose source rows are ``raws``, then mark it done.

    Example:
        >>> recover_batch(runner, journal.inflight(), rows)  # doctest: +SKIP
    """
    prepared = runner.prepare(raws)
    prepared.first_row, prepared.last_row, prepared.rows = batch.first_row, batch.last_row, batch.row_count
    if batch.strategy == Strategy.BULK:
        outcomes = recover_bulk(runner, batch.batch_no, prepared.items)
    else:
        outcomes = recover_sync(runner, batch.batch_no, prepared.items, batch.strategy)
    return runner.complete(batch.batch_no, batch.strategy, prepared, outcomes, recovered=True)
