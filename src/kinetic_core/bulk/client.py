"""``BulkClient``: Bulk API 2.0 ingest and query for one ``SalesforceClient``."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from kinetic_core.bulk.events import BulkEvent, Emitter, JobStateChanged
from kinetic_core.bulk.frames import (
    column_kinds,
    query_object,
    require_frame_library,
    type_pandas,
    type_polars,
)
from kinetic_core.bulk.jobs import HttpLike, JobsApi
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
from kinetic_core.bulk.poller import JobWaitTimeout, PollPolicy, wait_for_job
from kinetic_core.bulk.query import QueryExport, export_to_file, iter_records, run_query_job, to_dataframe
from kinetic_core.errors import BulkTimeoutError
from kinetic_core.http.paths import check_id

if TYPE_CHECKING:
    from kinetic_core.bulk.manifest import ManifestStore
    from kinetic_core.bulk.results import BulkResult

# The ingest side (splitting, spooling, manifests, result mapping) is imported on first use,
# so a program that only queries does not load it.

logger = logging.getLogger(__name__)

Records = Any
"""An iterable of dicts, a CSV path (str/Path) or a pandas/polars DataFrame."""


class BulkClient:
    """Bulk API 2.0 through the client's shared HTTP session (re-authentication and retries included).

    Resuming jobs: before a load uploads a job it writes a small JSON manifest for it in
    ``state_dir`` (``<job id>.json``, written atomically). It names the job, the org (scheme and
    host only: never a token, password or other secret), the object and operation, the columns,
    and where the job's rows came from: for a CSV file, the file's absolute path, size and
    ``mtime_ns`` and the job's byte range and first row number (the file itself is not copied,
    and must not change until the results are read); for records or DataFrames, the job's
    spooled CSV, moved next to the manifest as ``<job id>.csv``. So :meth:`wait` and
    :meth:`get_results` can be called later from this process or any other (after a
    ``BulkTimeoutError``, a crash, an interrupted ``--wait``) and every result row still gets its
    input row number, matched by content exactly as in the loading process. If the input
    changed (size or modification time) or the spool is gone, the rows get ``row_number=None``
    and a :class:`~kinetic_core.bulk.manifest.BulkResumeWarning` says why: never a wrong number.

    Lifecycle and disk use: a manifest is well under 1 KB; a kept spool is as large as the
    job's upload (up to ``max_bytes_per_job``), so a record load keeps about the size of its
    CSV on disk until released. They are removed (and the directory too, if this client
    created it and it is empty) when the ``BulkResult`` a load returns is closed or garbage
    collected, when a result from :meth:`get_results` whose rows were read is closed, by
    :meth:`forget`, and for jobs the load aborts itself. So they outlive only loads that did
    not return (a timeout, a crash, a fatal error) and results fetched by id whose rows were
    not read: :meth:`forget` them (or delete the files) when those jobs are not wanted.

    Args:
        client: a ``SalesforceClient`` (its ``.http`` is used) or an ``HttpSession`` itself.
        clock: monotonic clock in seconds (injected for tests).
        sleep: sleep function (injected for tests).
        poll: polling back-off policy.
        state_dir: where job manifests live; default ``<KINETIC_HOME or ~/.kinetic>/bulk-jobs``
            (resolved at first use); ``False`` records none (jobs can then be resumed, but their
            rows get no row numbers in another process).

    Example:
        >>> bulk = client.bulk                                               # doctest: +SKIP
        >>> result = bulk.insert("Account", [{"Name": "Acme"}])              # doctest: +SKIP
        >>> result.successful, next(result.successful_rows()).id             # doctest: +SKIP
        (1, '001...')
        >>> for rec in bulk.query("SELECT Id, Name FROM Account"):           # doctest: +SKIP
        ...     print(rec["Name"])
    """

    def __init__(
        self,
        client: Any,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        poll: PollPolicy | None = None,
        state_dir: str | Path | Literal[False] | None = None,
    ) -> None:
        http: HttpLike = client.http if hasattr(client, "http") else client
        self.http = http
        self.api = JobsApi(http)
        self.clock = clock
        self.sleep = sleep
        self.poll = poll or PollPolicy()
        self.state_dir: Path | Literal[False] | None = (
            False if state_dir is False else (Path(state_dir) if state_dir is not None else None)
        )
        self._stores: dict[tuple[Path, str], ManifestStore] = {}

    @property
    def manifests(self) -> ManifestStore | None:
        """The job manifest store for this org (None when ``state_dir=False``)."""
        if self.state_dir is False:
            return None
        from kinetic_core.bulk.manifest import ManifestStore, org_key
        from kinetic_core.config import kinetic_home

        directory = self.state_dir if self.state_dir is not None else kinetic_home() / "bulk-jobs"
        key = (directory, org_key(self.http))
        store = self._stores.get(key)
        if store is None:
            store = self._stores.setdefault(key, ManifestStore(*key))
        return store

    def forget(self, job_id: str) -> bool:
        """Remove the manifest (and kept spool) of ``job_id``; True if there was one.

        The job itself is untouched on the server (see :meth:`delete_job`).

        Example:
            >>> client.bulk.forget("7505g00000AbCdE")  # doctest: +SKIP
            True
        """
        store = self.manifests
        return store.forget(check_id(job_id, "job id")) if store is not None else False

    # -- ingest ------------------------------------------------------------------------------
    def _load(
        self,
        operation: Operation,
        sobject: str,
        records: Records,
        *,
        external_id_field: str | None = None,
        max_bytes_per_job: int = DEFAULT_MAX_BYTES,
        max_records_per_job: int = DEFAULT_MAX_RECORDS,
        max_concurrent_jobs: int = DEFAULT_MAX_CONCURRENT_JOBS,
        column_delimiter: ColumnDelimiter | str | None = None,
        line_ending: LineEnding | str | None = None,
        columns: Sequence[str] | None = None,
        results_dir: str | Path | None = None,
        timeout: float | None = None,
        on_event: Callable[[BulkEvent], None] | None = None,
        poll: PollPolicy | None = None,
        assignment_rule_id: str | None = None,
    ) -> BulkResult:
        from kinetic_core.bulk.ingest import IngestLoad, LoadOptions
        from kinetic_core.inputs import frame_index_labels
        from kinetic_core.runfiles import check_writable

        if results_dir is not None:  # before anything is sent: a load must not end unable to say what it did
            check_writable(Path(results_dir))
        options = LoadOptions(
            sobject=sobject,
            operation=operation,
            external_id_field=external_id_field,
            max_bytes_per_job=max_bytes_per_job,
            max_records_per_job=max_records_per_job,
            max_concurrent_jobs=max_concurrent_jobs,
            column_delimiter=column_delimiter,
            line_ending=line_ending,
            columns=columns,
            results_dir=Path(results_dir) if results_dir is not None else None,
            timeout=timeout,
            on_event=on_event,
            poll=poll or self.poll,
            assignment_rule_id=assignment_rule_id,
            manifests=self.manifests,
        )
        result = IngestLoad(self.api, options, clock=self.clock, sleep=self.sleep).run(records)
        result.index_labels = frame_index_labels(records)
        return result

    def insert(self, sobject: str, records: Records, **options: Any) -> BulkResult:
        """Insert records with one or more Bulk API 2.0 jobs.

        Args:
            sobject: object API name.
            records: iterable of dicts, CSV path, or pandas/polars DataFrame. In dicts ``None``
                clears a field (``#N/A``) and an absent key leaves it unchanged; in DataFrames a
                null cell (None/NaN/NaT/NA) clears the field too. A CSV file is sent byte for byte.
            **options: ``max_bytes_per_job`` (100,000,000), ``max_records_per_job``,
                ``max_concurrent_jobs`` (4), ``column_delimiter`` (detected for files, else COMMA),
                ``line_ending`` (detected for files, else LF), ``columns`` (declared header for dicts),
                ``results_dir`` (write CLI-style result CSVs), ``timeout`` (seconds, whole load),
                ``on_event`` (progress callback), ``poll`` (``PollPolicy``), ``assignment_rule_id``.

        Returns:
            A ``BulkResult`` covering every input row: totals from the jobs' counters at once,
            row-level outcomes (with input row numbers) mapped on first use.

        Raises:
            OutputNotWritableError: ``results_dir`` is a file, read-only or full (checked before
                anything is sent).
            BulkTimeoutError: ``timeout`` passed; names every job still running.
            ApiError: a job could not be created or uploaded (e.g. unknown object).
            ResultsNotSavedError: the rows were loaded but the result files could not be written;
                names the jobs, the counts and how to fetch the files again (manifests are kept).

        Example:
            >>> client.bulk.insert("Contact", "contacts.csv", results_dir="out")  # doctest: +SKIP
        """
        return self._load(Operation.INSERT, sobject, records, **options)

    def update(self, sobject: str, records: Records, **options: Any) -> BulkResult:
        """Update records (each needs ``Id``); options as for :meth:`insert`.

        Example:
            >>> client.bulk.update("Account", [{"Id": "001...", "Phone": None}])  # doctest: +SKIP
        """
        return self._load(Operation.UPDATE, sobject, records, **options)

    def upsert(self, sobject: str, records: Records, *, external_id_field: str, **options: Any) -> BulkResult:
        """Upsert records on ``external_id_field`` (``Id`` allowed); options as for :meth:`insert`.

        Example:
            >>> client.bulk.upsert("Account", rows, external_id_field="External_Id__c")  # doctest: +SKIP
        """
        return self._load(Operation.UPSERT, sobject, records, external_id_field=external_id_field, **options)

    def delete(self, sobject: str, records: Records, **options: Any) -> BulkResult:
        """Delete records (dicts with ``Id``, or plain id strings); options as for :meth:`insert`.

        Example:
            >>> client.bulk.delete("Account", ["001...", "001..."])  # doctest: +SKIP
        """
        return self._load(Operation.DELETE, sobject, records, **options)

    def hard_delete(self, sobject: str, records: Records, **options: Any) -> BulkResult:
        """Delete records bypassing the recycle bin (needs the "Bulk API Hard Delete" permission).

        Example:
            >>> client.bulk.hard_delete("Account", ["001..."])  # doctest: +SKIP
        """
        return self._load(Operation.HARD_DELETE, sobject, records, **options)

    # -- query -------------------------------------------------------------------------------
    def _query(
        self,
        soql: str,
        operation: Operation,
        out: str | Path | None,
        max_records: int | None,
        as_dataframe: bool | str | None,
        column_delimiter: ColumnDelimiter | str,
        line_ending: LineEnding | str,
        timeout: float | None,
        on_event: Callable[[BulkEvent], None] | None,
        typed: bool = True,
    ) -> Any:
        flavour = None
        if as_dataframe and out is None:
            flavour = as_dataframe if isinstance(as_dataframe, str) else "pandas"
            require_frame_library(flavour)  # before any job starts
        job = run_query_job(
            self.api,
            soql,
            operation=operation,
            delimiter=ColumnDelimiter.parse(column_delimiter),
            line_ending=LineEnding.parse(line_ending),
            poll=self.poll,
            clock=self.clock,
            sleep=self.sleep,
            timeout=timeout,
            on_event=on_event,
        )
        if out is not None:
            return export_to_file(self.api, job, Path(out), max_records)
        if flavour is not None:
            frame = to_dataframe(self.api, job, flavour, max_records)
            if not typed or not len(frame.columns):
                return frame
            kinds = column_kinds(query_object(soql), [str(c) for c in frame.columns], self.describe)
            return type_polars(frame, kinds) if flavour == "polars" else type_pandas(frame, kinds)
        return iter_records(self.api, job, max_records)

    def describe(self, sobject: str) -> dict[str, Any]:
        """``GET .../sobjects/NAME/describe`` (types the columns of ``as_dataframe`` results)."""
        url = self.http.data_url(f"sobjects/{sobject}/describe")
        body: dict[str, Any] = self.http.request("GET", url, retry=True).json()
        return body

    def query(
        self,
        soql: str,
        *,
        out: str | Path | None = None,
        max_records: int | None = None,
        as_dataframe: bool | str | None = None,
        column_delimiter: ColumnDelimiter | str = ColumnDelimiter.COMMA,
        line_ending: LineEnding | str = LineEnding.LF,
        timeout: float | None = None,
        on_event: Callable[[BulkEvent], None] | None = None,
        typed: bool = True,
    ) -> Any:
        """Run a Bulk API 2.0 query; the job is created and awaited before this returns.

        Args:
            soql: the query.
            out: write the CSV (header once) to this path and return a ``QueryExport``.
            max_records: page size sent as ``maxRecords`` (None: the server's default).
            as_dataframe: ``True``/``"pandas"`` or ``"polars"``: return a DataFrame, its columns typed
                from describe (numbers, booleans, dates, UTC datetimes; see
                :mod:`kinetic_core.bulk.frames`). Without the library installed this raises
                ``ImportError`` before any job starts.
            typed: ``False`` keeps every DataFrame column as text (no describe call).
            column_delimiter / line_ending: the dialect of the result CSV.
            timeout: seconds to wait for the job (``BulkTimeoutError`` names it).
            on_event: progress callback.

        Returns:
            A lazy iterator of dicts (default), a ``QueryExport`` or a DataFrame.

        Example:
            >>> client.bulk.query("SELECT Id FROM Account", out="accounts.csv").rows  # doctest: +SKIP
            1200000
        """
        return self._query(
            soql,
            Operation.QUERY,
            out,
            max_records,
            as_dataframe,
            column_delimiter,
            line_ending,
            timeout,
            on_event,
            typed,
        )

    def query_all(
        self,
        soql: str,
        *,
        out: str | Path | None = None,
        max_records: int | None = None,
        as_dataframe: bool | str | None = None,
        column_delimiter: ColumnDelimiter | str = ColumnDelimiter.COMMA,
        line_ending: LineEnding | str = LineEnding.LF,
        timeout: float | None = None,
        on_event: Callable[[BulkEvent], None] | None = None,
        typed: bool = True,
    ) -> Any:
        """Like :meth:`query` with ``queryAll`` (deleted and archived records included).

        Example:
            >>> list(client.bulk.query_all("SELECT Id, IsDeleted FROM Account"))  # doctest: +SKIP
        """
        return self._query(
            soql,
            Operation.QUERY_ALL,
            out,
            max_records,
            as_dataframe,
            column_delimiter,
            line_ending,
            timeout,
            on_event,
            typed,
        )

    # -- low level ---------------------------------------------------------------------------
    def create_job(
        self,
        sobject: str,
        operation: Operation | str,
        *,
        external_id_field: str | None = None,
        column_delimiter: ColumnDelimiter | str = ColumnDelimiter.COMMA,
        line_ending: LineEnding | str = LineEnding.LF,
    ) -> JobInfo:
        """Create an ingest job (``Open``).

        For a query job pass ``operation="query"`` and the SOQL as ``sobject``.

        Example:
            >>> job = client.bulk.create_job("Account", "insert")  # doctest: +SKIP
        """
        op = Operation.parse(operation)
        delim = ColumnDelimiter.parse(column_delimiter)
        ending = LineEnding.parse(line_ending)
        if op in (Operation.QUERY, Operation.QUERY_ALL):
            return self.api.create_query(sobject, operation=op, delimiter=delim, line_ending=ending)
        return self.api.create_ingest(
            sobject, op, external_id_field=external_id_field, delimiter=delim, line_ending=ending
        )

    def upload_data(self, job_id: str, data: str | Path | bytes) -> None:
        """Upload CSV to an ``Open`` job: a file path (streamed) or bytes.

        Example:
            >>> client.bulk.upload_data(job.id, b"Name\\nAcme\\n")  # doctest: +SKIP
        """
        self.api.upload(job_id, data if isinstance(data, bytes) else Path(data))

    def close_job(self, job_id: str) -> JobInfo:
        """Mark the upload complete so processing starts."""
        return self.api.close_job(job_id)

    def abort_job(self, job_id: str, *, kind: JobKind | str = JobKind.INGEST) -> JobInfo:
        """Abort a job."""
        return self.api.abort_job(job_id, JobKind(kind))

    def delete_job(self, job_id: str, *, kind: JobKind | str = JobKind.INGEST) -> None:
        """Delete a terminal job and its data."""
        self.api.delete_job(job_id, JobKind(kind))

    def get_job(self, job_id: str, *, kind: JobKind | str | None = None) -> JobInfo:
        """Read a job (ingest or query; tried in that order when ``kind`` is None)."""
        if kind is None:
            return self.api.find_job(job_id)
        return self.api.get_job(job_id, JobKind(kind))

    def list_jobs(self, *, kind: JobKind | str = JobKind.INGEST, **filters: Any) -> Iterator[JobInfo]:
        """Every job of ``kind`` (all pages)."""
        return self.api.list_jobs(JobKind(kind), **filters)

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_event: Callable[[BulkEvent], None] | None = None,
    ) -> JobInfo:
        """Wait for any job (e.g. one left running by a timed-out load) to finish.

        Raises:
            BulkTimeoutError: ``timeout`` passed first.

        Example:
            >>> client.bulk.wait("7505g00000AbCdE").state  # doctest: +SKIP
            <JobState.JOB_COMPLETE: 'JobComplete'>
        """
        check_id(job_id, "job id")
        store = self.manifests
        kind = JobKind.INGEST if store is not None and store.read(job_id) else self.api.find_job(job_id).kind
        emit = Emitter(on_event)
        deadline = self.clock() + timeout if timeout is not None else None
        try:
            return wait_for_job(
                job_id,
                lambda jid: self.api.get_job(jid, kind),
                policy=self.poll,
                clock=self.clock,
                sleep=self.sleep,
                deadline=deadline,
                on_change=lambda i: emit(
                    JobStateChanged(i.id, i.state, i.records_processed, i.records_failed)
                ),
            )
        except JobWaitTimeout:
            raise BulkTimeoutError([job_id]) from None

    def get_results(self, job_id: str, *, results_dir: str | Path | None = None) -> BulkResult:
        """Results of a finished ingest job, e.g. one left running by a load in another process.

        When the job's manifest is in ``state_dir`` (the job was uploaded by a load) and its input
        is unchanged, every row carries its input row number, the same as in the loading process
        (while the result is open this process holds the job's manifest lock: a process that loads
        or reads the same job meanwhile is refused with ``RunLockedError``, and so is this call
        while another one holds it);
        closing the result after reading its rows removes the manifest (unless the job was still
        running: rows not yet processed then show as unprocessed, and the manifest stays).
        Otherwise (a job driven by hand, a changed input: then a ``BulkResumeWarning`` says why)
        ``row_number`` is None.

        Example:
            >>> with client.bulk.get_results("7505g00000AbCdE") as res:  # doctest: +SKIP
            ...     bad = [(r.row_number, r.error_message) for r in res.failed_rows()]
        """
        from kinetic_core.bulk.ingest import fetch_job_results
        from kinetic_core.bulk.manifest import BulkResumeWarning
        from kinetic_core.bulk.resume import fetch_resumed_results
        from kinetic_core.runfiles import check_writable

        check_id(job_id, "job id")
        target = check_writable(Path(results_dir)) if results_dir is not None else None
        store = self.manifests
        manifest = store.read(job_id) if store is not None else None
        if store is None or manifest is None:
            return fetch_job_results(self.api, job_id, target)
        store.hold(job_id, f"reading the results of bulk job {job_id}")
        try:
            info = self.api.get_job(job_id, JobKind.INGEST)
            problem = store.problem(manifest, info)
            if problem is not None:
                store.let_go(job_id)
                message = f"bulk job {job_id}: result rows get no input row numbers: {problem}"
                logger.warning("%s", message)
                warnings.warn(message, BulkResumeWarning, stacklevel=2)
                return fetch_job_results(self.api, job_id, target)
            # a job still running has partial result files: keep its manifest for a later read
            release = (lambda: store.forget(job_id)) if info.state.terminal else None
            return fetch_resumed_results(
                self.api, info, manifest, target, release=release, unlock=lambda: store.let_go(job_id)
            )
        except BaseException:
            store.let_go(job_id)
            raise


__all__ = ["BulkClient", "QueryExport"]
