"""Running an ingest load: stream, split, upload jobs in parallel, poll, merge results.

The reading thread turns the input into one CSV file (the caller's own, or a spool
written from records, see :mod:`.sources`) and copies its rows into job files (see
:mod:`.split`); each full file is handed to a worker thread that creates the job,
uploads the file (streamed), closes the job, polls it and downloads its three result
files (as bytes, unparsed). At most ``max_concurrent_jobs`` jobs are in flight; the
reader waits for a free slot before handing over the next file, so at most
``max_concurrent_jobs + 1`` job files exist on disk at a time. Nothing is hashed or
indexed while loading: the returned :class:`BulkResult` has the totals from the jobs'
counters and maps rows back to input row numbers only when asked (``results_dir=``
asks at once).

Failure rules:

* an upload that fails (including one whose answer was lost) is not sent again to the
  same job: that job is aborted and a new one is created for the same rows (up to
  ``upload_attempts`` times);
* a non-transient error (bad object, missing permission, bad input, the API request
  limit) aborts every job of the load that has not finished and is raised; jobs whose
  abort failed too (on REQUEST_LIMIT_EXCEEDED it usually does) are named on the error
  (``unaborted_jobs`` and a note), since they may still be running;
* ``timeout`` (seconds, for the whole load) raises ``BulkTimeoutError`` naming every job
  still running; those jobs keep running on the server: pick them up with
  ``BulkClient.wait(job_id)`` / ``BulkClient.get_results(job_id)``.

With a :class:`~.manifest.ManifestStore` (``LoadOptions.manifests``), each job's manifest
is written before its upload starts (for record inputs the job's spooled CSV is moved
next to it and kept), so the rows can be numbered later from any process; a job the
load aborts itself loses its manifest. The returned result removes the manifests of its
jobs when it is closed after its rows were read.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kinetic_core.bulk.events import (
    BulkEvent,
    Emitter,
    JobCreated,
    JobStateChanged,
    LoadDone,
    ResultRowsWritten,
    RowsUploaded,
)
from kinetic_core.bulk.jobs import (
    JobsApi,
    abort_job_steps,
    close_job_steps,
    create_ingest_steps,
    download_steps,
    get_job_steps,
    ingest_results_path,
    is_transient,
    run_on,
    upload_steps,
)
from kinetic_core.bulk.loadopts import LoadOptions
from kinetic_core.bulk.manifest import write_job_manifest
from kinetic_core.bulk.models import (
    ColumnDelimiter,
    JobInfo,
    LineEnding,
)
from kinetic_core.bulk.poller import JobWaitCancelled, JobWaitTimeout, poll_steps
from kinetic_core.bulk.resultfiles import RESULT_FILES
from kinetic_core.bulk.results import BulkResult
from kinetic_core.bulk.rowmap import JobPart, RowMap, totals_from_jobs
from kinetic_core.bulk.sources import PreparedInput, prepare_input
from kinetic_core.bulk.split import Chunk, split_file
from kinetic_core.errors import BulkTimeoutError, KineticError, ResultsNotSavedError
from kinetic_core.http.steps import Flow

logger = logging.getLogger(__name__)


@dataclass
class JobOutcome:
    """One job of a load, ended: its rows (``chunk``), its last info and its three result files."""

    chunk: Chunk
    info: JobInfo
    files: dict[str, Path]


class IngestPlan:
    """The steps of one load (each job: create, upload, close, poll, download its results) and its
    bookkeeping, shared by the drivers: :class:`IngestLoad` runs the jobs on threads over an
    ``HttpSession``, ``kinetic_core.bulk.aingest.AsyncIngestLoad`` as tasks over an
    ``AsyncHttpSession``."""

    def __init__(
        self,
        options: LoadOptions,
        *,
        clock: Callable[[], float],
        emit: Callable[[BulkEvent], None] | None = None,
    ) -> None:
        self.opts = options
        self.clock = clock
        self.emit = emit or Emitter(options.on_event)
        self.cancel = threading.Event()
        self._lock = threading.Lock()
        self._jobs: dict[int, str] = {}
        self._finished: set[str] = set()
        self._deadline = clock() + options.timeout if options.timeout is not None else None
        self._fatal: BaseException | None = None
        self._prep: PreparedInput | None = None
        self._manifested: list[str] = []
        self._unaborted: list[str] = []

    # -- worker side -------------------------------------------------------------------------
    def _register(self, part: int, job_id: str) -> None:
        with self._lock:
            self._jobs[part] = job_id

    def _safe_abort(self, job_id: str) -> Flow[None]:
        try:
            yield from abort_job_steps(job_id)
        except KineticError as exc:
            if getattr(exc, "error_code", None) == "INVALIDJOBSTATE":  # already ended: nothing runs
                logger.info("abort of job %s: %s", job_id, exc)
            else:
                logger.warning("job %s could not be aborted and may still be running: %s", job_id, exc)
                with self._lock:
                    self._unaborted.append(job_id)
        self._unrecord(job_id)

    def _name_unaborted(self, exc: BaseException) -> None:
        """Tell the caller which jobs may still run: ``unaborted_jobs`` and a note on ``exc``."""
        with self._lock:
            ids = tuple(self._unaborted)
        if not ids:
            return
        if isinstance(exc, KineticError):
            exc.unaborted_jobs = ids
        exc.add_note(f"bulk job(s) that could not be aborted and may still be running: {', '.join(ids)}")

    def _unrecord(self, job_id: str) -> None:
        store = self.opts.manifests
        if store is None:
            return
        with self._lock:
            if job_id not in self._manifested:
                return
            self._manifested.remove(job_id)
        store.forget(job_id)

    def _record(self, info: JobInfo, chunk: Chunk) -> Path:
        """Write the job's manifest before its upload; returns the file to upload."""
        store, prep = self.opts.manifests, self._prep
        if store is None or prep is None:
            return chunk.path
        try:
            opts = self.opts
            upload = write_job_manifest(
                store, prep, info, chunk, opts.sobject, opts.operation.value, opts.external_id_field
            )
        except OSError as exc:
            logger.warning("job %s: cannot write its manifest in %s (%s)", info.id, store.directory, exc)
            store.let_go(info.id)
            if not chunk.path.exists() and store.spool_path(info.id).exists():
                shutil.move(str(store.spool_path(info.id)), str(chunk.path))
            return chunk.path
        with self._lock:
            self._manifested.append(info.id)
        return upload

    def _create_and_upload(
        self, chunk: Chunk, delimiter: ColumnDelimiter, ending: LineEnding
    ) -> Flow[JobInfo]:
        attempts = max(1, self.opts.upload_attempts)
        for attempt in range(1, attempts + 1):
            if self.cancel.is_set():
                raise JobWaitCancelled(f"part {chunk.part}")
            info = yield from create_ingest_steps(
                self.opts.sobject,
                self.opts.operation,
                external_id_field=self.opts.external_id_field,
                delimiter=delimiter,
                line_ending=ending,
                assignment_rule_id=self.opts.assignment_rule_id,
            )
            self._register(chunk.part, info.id)
            upload = chunk.path
            try:
                # inside the try: if the callback fails (a journal that cannot record the id),
                # the job is aborted before any data reaches it
                self.emit(JobCreated(info.id, chunk.part, self.opts.sobject, self.opts.operation.value))
                upload = self._record(info, chunk)
                yield from upload_steps(info.id, upload)
            except Exception as exc:
                if upload != chunk.path:  # give the spool back for the next attempt
                    shutil.move(str(upload), str(chunk.path))
                yield from self._safe_abort(info.id)
                with self._lock:
                    self._finished.add(info.id)
                if is_transient(exc) and attempt < attempts:
                    logger.warning(
                        "upload to job %s failed (%s): aborted it, re-creating the job for part %d",
                        info.id,
                        exc,
                        chunk.part,
                    )
                    continue
                raise
            self.emit(RowsUploaded(info.id, chunk.rows, chunk.bytes))
            closed = yield from close_job_steps(info.id)
            chunk.path.unlink(missing_ok=True)
            return closed
        raise AssertionError("unreachable")

    def _on_change(self, info: JobInfo) -> None:
        self.emit(JobStateChanged(info.id, info.state, info.records_processed, info.records_failed))

    def job_steps(
        self, chunk: Chunk, delimiter: ColumnDelimiter, ending: LineEnding, workdir: Path
    ) -> Flow[JobOutcome]:
        """One job of the load, from its creation to its three result files."""
        info = yield from self._create_and_upload(chunk, delimiter, ending)
        try:
            final = yield from poll_steps(
                info.id,
                get_job_steps,
                policy=self.opts.poll,
                clock=self.clock,
                deadline=self._deadline,
                on_change=self._on_change,
                cancel=self.cancel,
                total=chunk.rows,
            )
        except JobWaitTimeout:
            raise  # the job keeps running: the caller picks it up by id
        except Exception:  # cancelled by another job's error, or this job's own polling failed
            yield from self._safe_abort(info.id)
            raise
        files: dict[str, Path] = {}
        for label, resource in RESULT_FILES.items():
            target = workdir / f"part-{chunk.part:05d}-{label}.csv"
            yield from download_steps(ingest_results_path(final.id, resource), target)
            files[label] = target
        with self._lock:
            self._finished.add(final.id)
        return JobOutcome(chunk, final, files)

    def job_failed(self, exc: BaseException | None) -> None:
        """A job ended with ``exc``: a fatal error stops the others (they abort their jobs)."""
        if exc is not None and not isinstance(exc, JobWaitTimeout | JobWaitCancelled):
            with self._lock:
                if self._fatal is None:
                    self._fatal = exc
            self.cancel.set()

    def open_jobs(self) -> list[str]:
        """The jobs created and not yet finished (nor aborted), in part order."""
        with self._lock:
            return [j for _, j in sorted(self._jobs.items()) if j not in self._finished]

    def abandon(self) -> Flow[None]:
        """Abort every job still open (the load was stopped from outside: cancelled, interrupted)."""
        for job_id in self.open_jobs():
            with self._lock:
                self._finished.add(job_id)
            yield from self._safe_abort(job_id)

    def prepare(self, records: Any, workdir: Path) -> tuple[PreparedInput, Iterator[Chunk]]:
        """The input as one CSV (``PreparedInput``) and its job files, split lazily (CPU and disk)."""
        opts = self.opts
        prep = prepare_input(
            records,
            workdir,
            columns=opts.columns,
            delimiter=opts.column_delimiter,
            line_ending=opts.line_ending,
        )
        self._prep = prep
        if not prep.columns and prep.records:
            prep.close()
            raise ValueError("the records have no fields: nothing to load")
        chunks = split_file(
            prep.layout,
            workdir,
            max_bytes=opts.max_bytes_per_job,
            max_records=opts.max_records_per_job,
        )
        return prep, chunks

    def past_deadline(self) -> bool:
        """Whether the load's ``timeout`` has passed."""
        return self._deadline is not None and self.clock() >= self._deadline

    def settle(
        self, ended: Sequence[JobOutcome | BaseException], timed_out: bool, never_sent: int
    ) -> list[JobOutcome]:
        """The jobs' outcomes once every job ended; raises the load's error if there is one."""
        if self._fatal is not None:
            self._name_unaborted(self._fatal)
            raise self._fatal
        outcomes: list[JobOutcome] = []
        for item in ended:
            if isinstance(item, JobWaitTimeout):
                timed_out = True
            elif isinstance(item, BaseException):
                raise item
            else:
                outcomes.append(item)
        if timed_out:
            note = f"; {never_sent} row(s) were never uploaded" if never_sent else ""
            raise BulkTimeoutError(self.open_jobs(), f"bulk load of {self.opts.sobject} timed out{note}")
        return outcomes

    def _let_go_all(self) -> None:
        store = self.opts.manifests
        if store is None:
            return
        with self._lock:
            held = list(self._manifested)
        for job_id in held:
            store.let_go(job_id)

    def merge(self, prep: PreparedInput, outcomes: list[JobOutcome], workdir: Path) -> BulkResult:
        """The load's result: its jobs' totals at once, row outcomes mapped on first use; result files
        written when ``results_dir`` was given."""
        outcomes.sort(key=lambda o: o.chunk.part)
        parts = [
            JobPart(c.part, o.info, o.files, c.first_row, c.rows, c.start, c.end, c.segments)
            for o in outcomes
            for c in (o.chunk,)
        ]
        jobs = [o.info for o in outcomes]
        result = BulkResult(
            workdir=workdir,
            totals=totals_from_jobs(parts),
            jobs=jobs,
            columns=prep.columns,
            rows=RowMap(workdir, prep.layout, parts, prep.columns),
            release=self._releaser([o.info.id for o in outcomes]),
            unlock=self._releaser([o.info.id for o in outcomes], forget=False),
        )
        if self.opts.results_dir is not None and jobs:
            name = jobs[0].id if len(jobs) == 1 else f"load-{jobs[0].id}"
            self._write_files(result, Path(self.opts.results_dir), name)
        self.emit(
            LoadDone(result.job_ids, result.total, result.successful, result.failed, result.unprocessed)
        )
        return result

    def _write_files(self, result: BulkResult, directory: Path, name: str) -> None:
        """Write the result files; when that fails, keep the manifests and say how to get the files."""
        try:
            total = result.total
            result.write_files(directory, name, on_rows=lambda n: self.emit(ResultRowsWritten(n, total)))
        except OSError as exc:
            result.keep_manifests()
            raise results_not_saved(
                result, directory, exc, f"the bulk {self.opts.operation.value} of {self.opts.sobject} ran"
            ) from exc

    def _releaser(self, job_ids: Sequence[str], *, forget: bool = True) -> Callable[[], None] | None:
        """Forget the manifests of the load's jobs (or, ``forget=False``, only give up their locks)."""
        store = self.opts.manifests
        if store is None:
            return None
        with self._lock:
            owned = [j for j in job_ids if j in self._manifested]

        def release() -> None:
            for job_id in owned:
                if forget:
                    store.forget(job_id)
                else:
                    store.let_go(job_id)

        return release


class IngestLoad(IngestPlan):
    """One load on a sync session: the reading thread splits, worker threads run the jobs. Call
    :meth:`run` once."""

    def __init__(
        self,
        api: JobsApi,
        options: LoadOptions,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        super().__init__(options, clock=clock)
        self.api = api
        self.sleep = sleep
        self._slots = threading.BoundedSemaphore(max(1, options.max_concurrent_jobs))

    def _run_job(
        self, chunk: Chunk, delimiter: ColumnDelimiter, ending: LineEnding, workdir: Path
    ) -> JobOutcome:
        try:
            return run_on(self.api.http, self.job_steps(chunk, delimiter, ending, workdir), sleep=self.sleep)
        finally:
            self._slots.release()

    def _done(self, future: Future[JobOutcome]) -> None:
        self.job_failed(future.exception())

    def _acquire_slot(self) -> bool:
        while not self._slots.acquire(timeout=0.05):
            if self.cancel.is_set():
                return False
        if self.cancel.is_set():
            self._slots.release()
            return False
        return True

    def run(self, records: Any) -> BulkResult:
        """Load ``records``; return the merged result or raise (see the module docstring)."""
        workdir = Path(tempfile.mkdtemp(prefix="kinetic-bulk-"))
        try:
            return self._run(records, workdir)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            self._let_go_all()  # manifests stay for a later pickup by job id, from any process
            raise

    def _run(self, records: Any, workdir: Path) -> BulkResult:
        prep, chunks = self.prepare(records, workdir)
        futures: list[Future[JobOutcome]] = []
        never_sent = 0
        timed_out = False
        executor = ThreadPoolExecutor(
            max_workers=max(1, self.opts.max_concurrent_jobs), thread_name_prefix="bulk"
        )
        try:
            for chunk in chunks:
                if self.past_deadline():
                    timed_out = True
                    never_sent += chunk.rows
                    chunk.path.unlink(missing_ok=True)
                    continue
                if not self._acquire_slot():
                    break
                future = executor.submit(self._run_job, chunk, prep.delimiter, prep.line_ending, workdir)
                future.add_done_callback(self._done)
                futures.append(future)
        except BaseException as stopped:
            self.cancel.set()
            executor.shutdown(wait=True)  # the workers abort their jobs first
            self._name_unaborted(stopped)
            raise
        finally:
            executor.shutdown(wait=True)
            prep.close()
        ended = [f.exception() or f.result() for f in futures]
        return self.merge(prep, self.settle(ended, timed_out, never_sent), workdir)


def results_not_saved(result: BulkResult, directory: Path, exc: OSError, what: str) -> ResultsNotSavedError:
    """The error for result files that could not be written after the rows were loaded."""
    fetch = "; ".join(f"kinetic jobs results {j} --results-dir OTHER_DIR" for j in result.job_ids)
    return ResultsNotSavedError(
        f"{what}, but its result files could not be written to {directory} ({exc.strerror or exc}); "
        "do not load the rows again",
        path=directory,
        job_ids=result.job_ids,
        counts={
            "total": result.total,
            "successful": result.successful,
            "failed": result.failed,
            "unprocessed": result.unprocessed,
        },
        next_step=f"get the files without sending anything: {fetch} (or client.bulk.get_results(job_id, "
        "results_dir=...))",
    )
