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
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
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
from kinetic_core.bulk.jobs import JobsApi, is_transient
from kinetic_core.bulk.manifest import FILE_INPUT, SPOOL_INPUT, JobManifest, ManifestStore, stat_file
from kinetic_core.bulk.models import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_CONCURRENT_JOBS,
    DEFAULT_MAX_RECORDS,
    ColumnDelimiter,
    JobInfo,
    JobKind,
    LineEnding,
    Operation,
)
from kinetic_core.bulk.poller import JobWaitCancelled, JobWaitTimeout, PollPolicy, wait_for_job
from kinetic_core.bulk.resultfiles import RESULT_FILES
from kinetic_core.bulk.results import BulkResult
from kinetic_core.bulk.rowmap import JobPart, RowMap, totals_from_jobs
from kinetic_core.bulk.sources import PreparedInput, prepare_input
from kinetic_core.bulk.split import Chunk, split_file
from kinetic_core.errors import BulkTimeoutError, KineticError, ResultsNotSavedError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadOptions:
    """Everything that shapes one ingest load (see ``BulkClient.insert`` for the meaning)."""

    sobject: str
    operation: Operation
    external_id_field: str | None = None
    max_bytes_per_job: int = DEFAULT_MAX_BYTES
    max_records_per_job: int = DEFAULT_MAX_RECORDS
    max_concurrent_jobs: int = DEFAULT_MAX_CONCURRENT_JOBS
    column_delimiter: ColumnDelimiter | str | None = None
    line_ending: LineEnding | str | None = None
    columns: Sequence[str] | None = None
    results_dir: Path | None = None
    timeout: float | None = None
    on_event: Callable[[BulkEvent], None] | None = None
    poll: PollPolicy = field(default_factory=PollPolicy)
    assignment_rule_id: str | None = None
    upload_attempts: int = 3
    manifests: ManifestStore | None = None


@dataclass
class _Outcome:
    chunk: Chunk
    info: JobInfo
    files: dict[str, Path]


class IngestLoad:
    """One load; call :meth:`run` once."""

    def __init__(
        self,
        api: JobsApi,
        options: LoadOptions,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.api = api
        self.opts = options
        self.clock = clock
        self.sleep = sleep
        self.emit = Emitter(options.on_event)
        self.cancel = threading.Event()
        self._lock = threading.Lock()
        self._jobs: dict[int, str] = {}
        self._finished: set[str] = set()
        self._deadline = clock() + options.timeout if options.timeout is not None else None
        self._slots = threading.BoundedSemaphore(max(1, options.max_concurrent_jobs))
        self._fatal: BaseException | None = None
        self._prep: PreparedInput | None = None
        self._manifested: list[str] = []
        self._unaborted: list[str] = []

    # -- worker side -------------------------------------------------------------------------
    def _register(self, part: int, job_id: str) -> None:
        with self._lock:
            self._jobs[part] = job_id

    def _safe_abort(self, job_id: str) -> None:
        try:
            self.api.abort_job(job_id)
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
            return self._write_manifest(store, prep, info, chunk)
        except OSError as exc:
            logger.warning("job %s: cannot write its manifest in %s (%s)", info.id, store.directory, exc)
            store.let_go(info.id)
            if not chunk.path.exists() and store.spool_path(info.id).exists():
                shutil.move(str(store.spool_path(info.id)), str(chunk.path))
            return chunk.path

    def _write_manifest(self, store: ManifestStore, prep: PreparedInput, info: JobInfo, chunk: Chunk) -> Path:
        store.ensure_directory()
        store.hold(info.id, f"bulk {self.opts.operation.value} of {self.opts.sobject}")
        if prep.is_file:
            source, kind, start, end = prep.layout.path.resolve(), FILE_INPUT, chunk.start, chunk.end
            upload = chunk.path
        else:
            source = upload = store.spool_path(info.id)
            try:
                os.replace(chunk.path, source)
            except OSError:  # another file system
                shutil.move(str(chunk.path), str(source))
            kind, start, end = SPOOL_INPUT, len(prep.header), chunk.bytes
        size, mtime_ns = stat_file(source)
        store.write(
            JobManifest(
                job_id=info.id,
                org=store.org,
                object=self.opts.sobject,
                operation=self.opts.operation.value,
                external_id_field=self.opts.external_id_field,
                created_date=info.created_date,
                input_kind=kind,
                path=str(source),
                size=size,
                mtime_ns=mtime_ns,
                start=start,
                end=end,
                first_row=chunk.first_row,
                rows=chunk.rows,
                delimiter=prep.delimiter.value,
                line_ending=prep.line_ending.value,
                header=tuple(prep.columns),
                columns=tuple(prep.columns),
            )
        )
        with self._lock:
            self._manifested.append(info.id)
        return upload

    def _create_and_upload(self, chunk: Chunk, delimiter: ColumnDelimiter, ending: LineEnding) -> JobInfo:
        attempts = max(1, self.opts.upload_attempts)
        for attempt in range(1, attempts + 1):
            if self.cancel.is_set():
                raise JobWaitCancelled(f"part {chunk.part}")
            info = self.api.create_ingest(
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
                self.api.upload(info.id, upload)
            except Exception as exc:
                if upload != chunk.path:  # give the spool back for the next attempt
                    shutil.move(str(upload), str(chunk.path))
                self._safe_abort(info.id)
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
            closed = self.api.close_job(info.id)
            chunk.path.unlink(missing_ok=True)
            return closed
        raise AssertionError("unreachable")

    def _on_change(self, info: JobInfo) -> None:
        self.emit(JobStateChanged(info.id, info.state, info.records_processed, info.records_failed))

    def _run_job(
        self, chunk: Chunk, delimiter: ColumnDelimiter, ending: LineEnding, workdir: Path
    ) -> _Outcome:
        try:
            info = self._create_and_upload(chunk, delimiter, ending)
            try:
                final = wait_for_job(
                    info.id,
                    self.api.get_job,
                    policy=self.opts.poll,
                    clock=self.clock,
                    sleep=self.sleep,
                    deadline=self._deadline,
                    on_change=self._on_change,
                    cancel=self.cancel,
                    total=chunk.rows,
                )
            except JobWaitTimeout:
                raise  # the job keeps running: the caller picks it up by id
            except Exception:  # cancelled by another job's error, or this job's own polling failed
                self._safe_abort(info.id)
                raise
            files: dict[str, Path] = {}
            for label, resource in RESULT_FILES.items():
                target = workdir / f"part-{chunk.part:05d}-{label}.csv"
                self.api.download(self.api.ingest_results_url(final.id, resource), target)
                files[label] = target
            with self._lock:
                self._finished.add(final.id)
            return _Outcome(chunk, final, files)
        finally:
            self._slots.release()

    def _done(self, future: Future[_Outcome]) -> None:
        exc = future.exception()
        if exc is not None and not isinstance(exc, JobWaitTimeout | JobWaitCancelled):
            with self._lock:
                if self._fatal is None:
                    self._fatal = exc
            self.cancel.set()

    # -- reader side ---------------------------------------------------------------------------
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

    def _let_go_all(self) -> None:
        store = self.opts.manifests
        if store is None:
            return
        with self._lock:
            held = list(self._manifested)
        for job_id in held:
            store.let_go(job_id)

    def _run(self, records: Any, workdir: Path) -> BulkResult:
        opts = self.opts
        prep = prepare_input(
            records,
            workdir,
            columns=opts.columns,
            delimiter=opts.column_delimiter,
            line_ending=opts.line_ending,
        )
        self._prep = prep
        futures: list[Future[_Outcome]] = []
        never_sent = 0
        timed_out = False
        executor = ThreadPoolExecutor(max_workers=max(1, opts.max_concurrent_jobs), thread_name_prefix="bulk")
        try:
            if not prep.columns and prep.records:
                raise ValueError("the records have no fields: nothing to load")
            chunks = split_file(
                prep.layout,
                workdir,
                max_bytes=opts.max_bytes_per_job,
                max_records=opts.max_records_per_job,
            )
            for chunk in chunks:
                if self._deadline is not None and self.clock() >= self._deadline:
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
        if self._fatal is not None:
            self._name_unaborted(self._fatal)
            raise self._fatal
        outcomes: list[_Outcome] = []
        for future in futures:
            exc = future.exception()
            if isinstance(exc, JobWaitTimeout):
                timed_out = True
            elif exc is not None:
                raise exc
            else:
                outcomes.append(future.result())
        if timed_out:
            with self._lock:
                running = [j for _, j in sorted(self._jobs.items()) if j not in self._finished]
            note = f"; {never_sent} row(s) were never uploaded" if never_sent else ""
            raise BulkTimeoutError(running, f"bulk load of {opts.sobject} timed out{note}")
        return self._merge(prep, outcomes, workdir)

    def _merge(self, prep: PreparedInput, outcomes: list[_Outcome], workdir: Path) -> BulkResult:
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


def fetch_job_results(api: JobsApi, job_id: str, results_dir: Path | None = None) -> BulkResult:
    """Results of one existing ingest job, without the original input (row numbers are None).

    Example:
        >>> result = fetch_job_results(JobsApi(client.http), "750...")  # doctest: +SKIP
    """
    workdir = Path(tempfile.mkdtemp(prefix="kinetic-bulk-"))
    try:
        info = api.get_job(job_id, JobKind.INGEST)
        files: dict[str, Path] = {}
        for label, resource in RESULT_FILES.items():
            target = workdir / f"{label}.csv"
            api.download(api.ingest_results_url(job_id, resource), target)
            files[label] = target
        part = JobPart(1, info, files, 1, 0, 0, 0)
        rows = RowMap(workdir, None, [part], ())
        totals = rows.build()
        columns = rows.columns_seen()
        result = BulkResult(workdir=workdir, totals=totals, jobs=[info], columns=columns, rows=rows)
        if results_dir is not None:
            result.write_files(Path(results_dir), info.id)
        return result
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
