"""The background worker: runs closed ingest jobs batch by batch and materialises query jobs.

Exactly-once across restarts: each internal batch's store writes, the job's progress
counters and the daily-limit counters commit in one ``Store.transaction()``; the
batch's result records are written to temp files before the commit and renamed
after it, and :meth:`JobFiles.recover` sorts the leftovers out on the next start.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Protocol

from kinetic_core.emulator.bulk.csvio import BadRecord, InputReader, JobFailure, encode_minimal, plan_header
from kinetic_core.emulator.bulk.files import JobFiles
from kinetic_core.emulator.bulk.ingest import BatchApplier, result_header
from kinetic_core.emulator.bulk.models import (
    COUNTER_BATCHES,
    COUNTER_RECORDS,
    BulkLimits,
    Job,
    JobKind,
    JobState,
    Operation,
    ResultKind,
)
from kinetic_core.emulator.bulk.ports import QueryEngineLike, StoreLike
from kinetic_core.emulator.bulk.query import materialize
from kinetic_core.emulator.bulk.repo import JobRepo
from kinetic_core.emulator.errors import ApiError

logger = logging.getLogger(__name__)


class EngineLike(Protocol):
    """What the worker uses of the engine that owns it (``BulkEngine``; this module never imports it)."""

    @property
    def store(self) -> StoreLike: ...

    @property
    def query_engine(self) -> QueryEngineLike | None: ...

    @property
    def limits(self) -> BulkLimits: ...

    @property
    def repo(self) -> JobRepo: ...

    @property
    def lock(self) -> threading.RLock: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    @property
    def workloads(self) -> list[Callable[[], int]]:
        """Other work run on each pass (Bulk API 1.0 batches); each returns the items it touched."""
        ...

    def files(self, job_id: str) -> JobFiles: ...


@dataclass
class _Budget:
    batches: int | None

    def spend(self) -> bool:
        """Count one batch; True when the budget is exhausted."""
        if self.batches is None:
            return False
        self.batches -= 1
        return self.batches <= 0


class Worker:
    """Processes pending jobs of a bulk engine (:class:`EngineLike`), in a thread or on demand.

    Example:
        >>> engine.worker.run_pending()  # doctest: +SKIP
        1
    """

    def __init__(
        self,
        engine: EngineLike,
        *,
        rate: float | None,
        job_delay: float,
        shuffle: bool,
        sleep: Callable[[float], None] | None,
        rng: random.Random,
    ) -> None:
        self._engine = engine
        self._rate = rate
        self._job_delay = job_delay
        self._shuffle = shuffle
        self._rng = rng
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._sleep = sleep or self._interruptible_sleep
        self._thread: threading.Thread | None = None
        self._run_lock = threading.Lock()
        self._recover()

    def _interruptible_sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def _pause(self, seconds: float) -> None:
        """Sleep in short slices so that :meth:`stop` is never kept waiting long."""
        remaining = seconds
        while remaining > 0 and not (self._stop.is_set() and self._thread is not None):
            step = min(remaining, 0.25)
            self._sleep(step)
            remaining -= step

    def _recover(self) -> None:
        eng = self._engine
        for job in eng.repo.pending():
            if job.kind is JobKind.INGEST:
                eng.files(job.id).recover(job.batches_done)

    # thread ------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="kinetic-bulk-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                worked = self.run_pending()
            except Exception:
                logger.exception("bulk worker iteration failed")
                worked = 0
            if not worked:
                self._wake.wait(0.5)

    # processing --------------------------------------------------------------------------------

    def run_pending(self, max_batches: int | None = None) -> int:
        """Process every pending job once (or until ``max_batches`` batches ran); one caller at a time."""
        with self._run_lock:
            return self._run_pending(_Budget(max_batches))

    def _run_pending(self, budget: _Budget) -> int:
        touched = 0
        for job in self._engine.repo.pending():
            if self._stop.is_set() and self._thread is not None:
                break
            touched += 1
            if job.state.terminal:
                self.finalize(job.id)
                continue
            if self._process(job, budget):
                break
        for workload in list(self._engine.workloads):
            if self._stop.is_set() and self._thread is not None:
                break
            try:
                touched += workload()
            except Exception:
                logger.exception("bulk workload %s failed", getattr(workload, "__qualname__", workload))
        return touched

    def _process(self, job: Job, budget: _Budget) -> bool:
        """Run one job; True when the batch budget ran out."""
        eng = self._engine
        if job.state is JobState.UPLOAD_COMPLETE:
            if self._job_delay:
                self._pause(self._job_delay)
            with eng.lock:
                current = eng.repo.get(job.id)
                if current is None or current.state is not JobState.UPLOAD_COMPLETE:
                    return False
                eng.repo.update(job.id, state=JobState.IN_PROGRESS, modstamp=eng.clock())
            job = current
        try:
            if job.kind is JobKind.INGEST:
                return self._run_ingest(job, budget)
            self._run_query(job)
        except Exception as exc:
            logger.exception("bulk job %s failed unexpectedly", job.id)
            self._finish(job.id, JobState.FAILED, f"Unknown : {exc}")
        return False

    def _finish(self, job_id: str, state: JobState, error: str | None = None, **values: int) -> None:
        eng = self._engine
        with eng.lock:
            current = eng.repo.get(job_id)
            if current is None or current.state is not JobState.IN_PROGRESS:
                return
            eng.repo.update(job_id, state=state, error_message=error, modstamp=eng.clock(), **values)
        logger.info("bulk job %s finished: %s %s", job_id, state.value, error or "")
        self.finalize(job_id)

    def quota_problem(self, records: int) -> str | None:
        eng = self._engine
        lim = eng.limits
        if eng.store.count_last_24h(COUNTER_BATCHES) + 1 > lim.daily_batches:
            return f"ExceededQuota : The limit of {lim.daily_batches} batches per 24 hours was reached"
        if eng.store.count_last_24h(COUNTER_RECORDS) + records > lim.daily_records:
            return f"ExceededQuota : The limit of {lim.daily_records} records per 24 hours was reached"
        return None

    def _run_ingest(self, job: Job, budget: _Budget) -> bool:
        eng = self._engine
        files = eng.files(job.id)
        delim = job.column_delimiter.char
        try:
            reader = InputReader(files.parts(job.parts), delim, job.line_ending)
        except JobFailure as failure:
            self._finish(job.id, JobState.FAILED, failure.message)
            return False
        with reader:
            if reader.header is None:
                self._finish(job.id, JobState.JOB_COMPLETE)
                return False
            obj = eng.store.schema.get(job.object)
            if obj is None:
                self._finish(
                    job.id, JobState.FAILED, f"InvalidBatch : Entity '{job.object}' no longer exists"
                )
                return False
            try:
                plan = plan_header(eng.store.schema, obj, reader.header, job.operation, job.external_id_field)
            except JobFailure as failure:
                self._finish(job.id, JobState.FAILED, failure.message)
                return False
            applier = BatchApplier(eng.store, job, plan, eng.limits, job.created_by)
            records = reader.records()
            for _ in islice(records, job.rows_done):
                pass
            return self._ingest_batches(job, applier, records, budget)

    def _ingest_batches(
        self, job: Job, applier: BatchApplier, records: Iterator[object], budget: _Budget
    ) -> bool:
        eng = self._engine
        store, files = eng.store, eng.files(job.id)
        size = eng.limits.batch_size
        number, rows_done, failed, spent_ms = job.batches_done, job.rows_done, job.failed, job.processing_ms
        while True:
            if self._stop.is_set() and self._thread is not None:
                return True
            batch = list(islice(records, size))
            if not batch:
                self._finish(job.id, JobState.JOB_COMPLETE)
                return False
            quota = self.quota_problem(len(batch))
            if quota:
                self._finish(job.id, JobState.FAILED, quota)
                return False
            started = time.perf_counter()
            with store.transaction():
                current = eng.repo.get(job.id)
                if current is None or current.state is not JobState.IN_PROGRESS:
                    return False
                out = applier.apply(batch)  # type: ignore[arg-type]
                files.write_batch(number, out.ok, out.fail, job.line_ending.chars)
                rows_done += len(batch)
                failed += len(out.fail)
                spent_ms += int((time.perf_counter() - started) * 1000)
                eng.repo.update(
                    job.id,
                    rows_done=rows_done,
                    processed=rows_done,
                    failed=failed,
                    batches_done=number + 1,
                    processing_ms=spent_ms,
                    modstamp=eng.clock(),
                )
                store.increment(COUNTER_RECORDS, len(batch))
                store.increment(COUNTER_BATCHES)
            with eng.lock:
                files.commit_batch(number)
            number += 1
            if self._rate:
                self._pause(len(batch) / self._rate)
            if budget.spend():
                return True

    def _run_query(self, job: Job) -> None:
        eng = self._engine
        qe = eng.query_engine
        if qe is None:
            self._finish(job.id, JobState.FAILED, "Unknown : the SOQL engine is not available")
            return
        try:
            plan = qe.validate_bulk(job.query or "")
            header, rows = qe.iter_csv_rows(plan, include_deleted=job.operation is Operation.QUERY_ALL)
        except ApiError as err:
            self._finish(job.id, JobState.FAILED, f"{err.error_code} : {err.message}")
            return
        chunk = eng.limits.batch_size
        started = time.perf_counter()

        def on_chunk(count: int) -> bool:
            eng.repo.update(job.id, processed=count, modstamp=eng.clock())
            if self._rate:
                self._pause(chunk / self._rate)
            current = eng.repo.get(job.id)
            stopping = self._stop.is_set() and self._thread is not None
            return current is not None and current.state is JobState.IN_PROGRESS and not stopping

        try:
            total = materialize(
                eng.files(job.id),
                header,
                rows,
                job.column_delimiter.char,
                job.line_ending.chars,
                chunk,
                on_chunk,
            )
        finally:
            close = getattr(rows, "close", None)
            if callable(close):
                close()
        if total is None:
            return
        elapsed = int((time.perf_counter() - started) * 1000)
        self._finish(job.id, JobState.JOB_COMPLETE, processed=total, processing_ms=elapsed)

    # finalisation ------------------------------------------------------------------------------

    def finalize(self, job_id: str) -> None:
        """Write the final result files of a terminal job (idempotent)."""
        eng = self._engine
        with eng.lock:
            job = eng.repo.get(job_id)
            if job is None or job.finalized or not job.state.terminal:
                return
            files = eng.files(job.id)
            if job.kind is JobKind.INGEST:
                files.recover(job.batches_done)
                self._write_ingest_results(job)
                files.drop_batches()
                files.drop_parts()
            elif job.state is not JobState.JOB_COMPLETE:
                files.remove()
            eng.repo.update(job.id, finalized=True)

    def _write_ingest_results(self, job: Job) -> None:
        eng = self._engine
        files = eng.files(job.id)
        delim, ending = job.column_delimiter.char, job.line_ending.chars
        rng = self._rng if self._shuffle else None
        with InputReader.unchecked(files.parts(job.parts), delim, job.line_ending) as reader:
            columns = reader.header or []
            files.write_result(
                ResultKind.SUCCESSFUL,
                result_header(("sf__Id", "sf__Created"), columns, delim),
                "ok",
                job.batches_done,
                ending,
                rng,
            )
            files.write_result(
                ResultKind.FAILED,
                result_header(("sf__Id", "sf__Error"), columns, delim),
                "fail",
                job.batches_done,
                ending,
                rng,
            )
            unprocessed: Iterator[str] = iter(())
            if job.state is not JobState.JOB_COMPLETE and reader.header is not None:
                rest = islice(reader.records(), job.rows_done, None)
                unprocessed = (encode_minimal(r, delim) for r in rest if not isinstance(r, BadRecord))
            header = encode_minimal(columns, delim) if reader.header is not None else None
            files.write_result(ResultKind.UNPROCESSED, header, None, 0, ending, None, unprocessed)
