"""``JobControl``: Bulk API 2.0 jobs one by one: create, upload, close, abort, delete, read, list, wait,
and the results of a finished job (with input row numbers when this process or another one loaded it).

``BulkClient`` adds the whole-load operations (ingest split into jobs, queries) on top. What a
method does is the steps of :class:`JobSteps` (``kinetic_core.http.steps``), shared with the async
client (``kinetic_core.bulk.aclient``); ``JobControl`` runs them on a sync session.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from kinetic_core.bulk.events import BulkEvent, Emitter, JobStateChanged
from kinetic_core.bulk.jobs import (
    HttpLike,
    JobsApi,
    create_ingest_steps,
    create_query_steps,
    find_job_steps,
    get_job_steps,
    run_on,
)
from kinetic_core.bulk.models import ColumnDelimiter, JobInfo, JobKind, LineEnding, Operation
from kinetic_core.bulk.poller import JobWaitTimeout, PollPolicy, poll_steps
from kinetic_core.errors import BulkTimeoutError
from kinetic_core.http.paths import check_id
from kinetic_core.http.steps import Flow

if TYPE_CHECKING:
    from kinetic_core.bulk.manifest import ManifestStore
    from kinetic_core.bulk.results import BulkResult

# The ingest side (manifests, result mapping) is imported on first use, so a program that only
# queries does not load it.

logger = logging.getLogger(__name__)


class JobSteps:
    """What the sync and async job controls share: the manifest store, the poll policy and the steps
    of the operations that take more than one call (create, wait, results).

    ``http`` is the session; ``clock`` a monotonic clock; ``poll`` the polling policy; ``state_dir``
    where job manifests live (see :class:`~kinetic_core.bulk.client.BulkClient`).
    """

    def __init__(
        self,
        http: Any,
        *,
        clock: Callable[[], float] = time.monotonic,
        poll: PollPolicy | None = None,
        state_dir: str | Path | Literal[False] | None = None,
    ) -> None:
        self.http = http
        self.clock = clock
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
        from kinetic_core.home import kinetic_home

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

    def create_job_steps(
        self,
        sobject: str,
        operation: Operation | str,
        *,
        external_id_field: str | None = None,
        column_delimiter: ColumnDelimiter | str = ColumnDelimiter.COMMA,
        line_ending: LineEnding | str = LineEnding.LF,
    ) -> Flow[JobInfo]:
        """The steps of ``create_job``."""
        op = Operation.parse(operation)
        delim = ColumnDelimiter.parse(column_delimiter)
        ending = LineEnding.parse(line_ending)
        if op in (Operation.QUERY, Operation.QUERY_ALL):
            return (yield from create_query_steps(sobject, operation=op, delimiter=delim, line_ending=ending))
        return (
            yield from create_ingest_steps(
                sobject, op, external_id_field=external_id_field, delimiter=delim, line_ending=ending
            )
        )

    def get_job_steps(self, job_id: str, kind: JobKind | str | None = None) -> Flow[JobInfo]:
        """The steps of ``get_job``."""
        if kind is None:
            return (yield from find_job_steps(job_id))
        return (yield from get_job_steps(job_id, JobKind(kind)))

    def wait_steps(
        self, job_id: str, timeout: float | None, on_event: Callable[[BulkEvent], None] | None
    ) -> Flow[JobInfo]:
        """The steps of ``wait``."""
        check_id(job_id, "job id")
        store = self.manifests
        if store is not None and store.read(job_id):
            kind = JobKind.INGEST
        else:
            kind = (yield from find_job_steps(job_id)).kind
        emit = Emitter(on_event)
        deadline = self.clock() + timeout if timeout is not None else None
        try:
            return (
                yield from poll_steps(
                    job_id,
                    lambda jid: get_job_steps(jid, kind),
                    policy=self.poll,
                    clock=self.clock,
                    deadline=deadline,
                    on_change=lambda i: emit(
                        JobStateChanged(i.id, i.state, i.records_processed, i.records_failed)
                    ),
                )
            )
        except JobWaitTimeout:
            raise BulkTimeoutError([job_id]) from None

    def results_steps(self, job_id: str, results_dir: str | Path | None) -> Flow[BulkResult]:
        """The steps of ``get_results``."""
        from kinetic_core.bulk.resume import results_steps
        from kinetic_core.runfiles import check_writable

        check_id(job_id, "job id")
        target = check_writable(Path(results_dir)) if results_dir is not None else None
        return (yield from results_steps(self.manifests, job_id, target))


class JobControl(JobSteps):
    """Low-level control of Bulk API 2.0 jobs through the client's shared HTTP session.

    See :class:`~kinetic_core.bulk.client.BulkClient` (which is a ``JobControl``) for the
    arguments and for how job manifests let any process resume a job.

    Example:
        >>> jobs = client.bulk                                 # doctest: +SKIP
        >>> job = jobs.create_job("Account", "insert")         # doctest: +SKIP
        >>> jobs.upload_data(job.id, b"Name\\nAcme\\n")        # doctest: +SKIP
        >>> jobs.close_job(job.id); jobs.wait(job.id).state    # doctest: +SKIP
        <JobState.JOB_COMPLETE: 'JobComplete'>
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
        super().__init__(http, clock=clock, poll=poll, state_dir=state_dir)
        self.http: HttpLike = http
        self.api = JobsApi(http)
        self.sleep = sleep

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
        steps = self.create_job_steps(
            sobject,
            operation,
            external_id_field=external_id_field,
            column_delimiter=column_delimiter,
            line_ending=line_ending,
        )
        return run_on(self.http, steps)

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
        return run_on(self.http, self.get_job_steps(job_id, kind))

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
        return run_on(self.http, self.wait_steps(job_id, timeout, on_event), sleep=self.sleep)

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
        return run_on(self.http, self.results_steps(job_id, results_dir))
